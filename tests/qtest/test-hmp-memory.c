/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP's guest memory commands on the real binary under -accel qtest: the
 * test writes bytes through the qtest protocol and reads them back with
 * xp in every format and size. The expected texts are what Debian's QEMU
 * 7.2 printed for the same bytes at the same addresses (its SeaBIOS reset
 * vector and the first bytes of the test guest, read with -S), so a
 * runbook's xp output compares as is. info memdev and query-memdev: the
 * text QEMU 7.2 printed for the same backends, but merge false (Tandem
 * refuses merge=on: KSM does not merge its memfd RAM).
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include "libqtest.h"

/* 48 bytes from 0xffff0, as QEMU 7.2 had them there. */
static const uint8_t bios_bytes[48] = {
    0xea, 0x5b, 0xe0, 0x00, 0xf0, 0x30, 0x36, 0x2f,
    0x32, 0x33, 0x2f, 0x39, 0x39, 0x00, 0xfc, 0x00,
    0x02, 0xb0, 0xad, 0x1b, 0x03, 0x00, 0x00, 0x00,
    0xfb, 0x4f, 0x52, 0xe4, 0x66, 0x2e, 0x0f, 0x1f,
    0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x66, 0x2e,
};

/* Bytes that QEMU's 'c' format escapes, each case it has. */
static const uint8_t char_bytes[] = "'t m\\._S\n\x00\xeb*\r.\x0c\xdb\tj\x85\xae\"%s\" [^_\x7fR\x0eQ";

static QTestState *start(void)
{
    QTestState *s = qtest_init_accel_qtest("-m 128");

    qtest_memwrite(s, 0xffff0, bios_bytes, sizeof(bios_bytes));
    qtest_memwrite(s, 0x2000, char_bytes, sizeof(char_bytes) - 1);
    return s;
}

static void hmp_is(QTestState *s, const char *cmd, const char *want)
{
    g_autofree char *out = qtest_hmp(s, "%s", cmd);
    g_auto(GStrv) lines = g_strsplit(want, "\n", -1);
    g_autofree char *crlf = g_strjoinv("\r\n", lines);

    if (strcmp(out, crlf)) {
        g_error("'%s' printed\n%s\nexpected\n%s", cmd, out, crlf);
    }
}

static void test_formats(void)
{
    QTestState *s = start();

    hmp_is(s, "xp /20xb 0xffff0",
           "00000000000ffff0: 0xea 0x5b 0xe0 0x00 0xf0 0x30 0x36 0x2f\n"
           "00000000000ffff8: 0x32 0x33 0x2f 0x39 0x39 0x00 0xfc 0x00\n"
           "0000000000100000: 0x02 0xb0 0xad 0x1b\n");
    hmp_is(s, "xp /3xh 0xffff0", "00000000000ffff0: 0x5bea 0x00e0 0x30f0\n");
    hmp_is(s, "xp /9xh 0xffff0",
           "00000000000ffff0: 0x5bea 0x00e0 0x30f0 0x2f36 0x3332 0x392f "
           "0x0039 0x00fc\n"
           "0000000000100000: 0xb002\n");
    hmp_is(s, "xp /3xg 0xffff0",
           "00000000000ffff0: 0x2f3630f000e05bea 0x00fc0039392f3332\n"
           "0000000000100000: 0x000000031badb002\n");
    hmp_is(s, "xp /5dg 0xffff0",
           "00000000000ffff0:  3401960375889976298    70931939903615794\n"
           "0000000000100000:          13349269506  2238058559278567419\n"
           "0000000000100010:  3343359773369172100\n");
    hmp_is(s, "xp /5ug 0xffff0",
           "00000000000ffff0:  3401960375889976298    70931939903615794\n"
           "0000000000100000:          13349269506  2238058559278567419\n"
           "0000000000100010:  3343359773369172100\n");
    hmp_is(s, "xp /5og 0xffff0",
           "00000000000ffff0: 0274661417000070055752   03740003447113631462\n"
           "0000000000100000:          0143353330002 0174171346334424447773\n"
           "0000000000100010: 0271460000000000000204\n");
    /* Below 8 bytes 'd' prints the value as read, zero-extended. */
    hmp_is(s, "xp /2db 0xffff0", "00000000000ffff0: 234  91\n");
    hmp_is(s, "xp /3dh 0xffff0", "00000000000ffff0: 23530   224 12528\n");
    hmp_is(s, "xp /2ob 0xffff0", "00000000000ffff0: 0352 0133\n");
    hmp_is(s, "xp /2oh 0xffff0", "00000000000ffff0: 055752   0340\n");
    hmp_is(s, "xp /2ow 0xffff0", "00000000000ffff0:   070055752 05715430360\n");
    hmp_is(s, "xp /2uw 0xffff0", "00000000000ffff0:   14703594  792080624\n");
    /* Defaults: one 4-byte hex unit; the address an expression. */
    hmp_is(s, "xp 0xffff0", "00000000000ffff0: 0x00e05bea\n");
    hmp_is(s, "xp /2x 0xfff00 + 0xf0 - 0x0",
           "00000000000ffff0: 0x00e05bea 0x2f3630f0\n");
    hmp_is(s, "xp /0x 0", "");
    qtest_quit(s);
}

static void test_chars(void)
{
    QTestState *s = start();

    hmp_is(s, "xp /2cw 0xffff0",
           "00000000000ffff0: '\\xea' '[' '\\xe0' '\\x00' '\\xf0' '0' '6' "
           "'/'\n");
    hmp_is(s, "xp /30c 0x2000",
           "0000000000002000: '\\'' 't' ' ' 'm' '\\\\' '.' '_' 'S' '\\n' "
           "'\\x00' '\\xeb' '*' '\\r' '.' '\\x0c' '\\xdb'\n"
           "0000000000002010: '\\x09' 'j' '\\x85' '\\xae' '\"' '%' 's' '\"' "
           "' ' '[' '^' '_' '\\x7f' 'R'\n");
    qtest_quit(s);
}

static void test_errors(void)
{
    QTestState *s = start();

    /* RAM ends at 128 MiB: the line that crosses it stops the dump. */
    hmp_is(s, "xp /3xg 0x7fffff0",
           "0000000007fffff0: 0x0000000000000000 0x0000000000000000\n"
           "0000000008000000: Cannot access memory\n");
    hmp_is(s, "xp /3x 0xfffffffffffffff0",
           "fffffffffffffff0: Cannot access memory\n");
    hmp_is(s, "xp /4z 0", "Error: invalid char in format: 'z'\n");
    hmp_is(s, "xp /2i 0", "Error: format 'i' (instructions) needs a "
           "disassembler, which Tandem does not have\n");
    hmp_is(s, "xp", "Error: unexpected end of expression\n");
    hmp_is(s, "xp /2x", "Error: unexpected end of expression\n");
    hmp_is(s, "xp /2x 0x10 0x20", "Error: invalid char '0' in expression\n");
    hmp_is(s, "xp /2x foo", "Error: invalid char 'f' in expression\n");
    hmp_is(s, "xp /99999999999999999999x 0",
           "Error: a dump shows at most 1024 KiB of memory (pmemsave saves "
           "more to a file)\n");
    hmp_is(s, "xp /262145xw 0",
           "Error: a dump shows at most 1024 KiB of memory (pmemsave saves "
           "more to a file)\n");
    /* -accel qtest runs no vCPU: no page tables to translate with. */
    hmp_is(s, "x /2x 0",
           "Error: x: the vCPUs of this machine have no register state to "
           "translate the address with (use xp)\n");
    /* The VMM lives on. */
    hmp_is(s, "xp /1xb 0xffff0", "00000000000ffff0: 0xea\n");
    qtest_quit(s);
}

/* pmemsave through HMP: QEMU's argument order, a quoted file name. */
static void test_pmemsave(void)
{
    QTestState *s = start();
    g_autofree char *path = qtest_scratch_path("pmemsave dump");
    g_autofree char *contents = NULL;
    gsize len;

    hmp_is(s, "pmemsave 0 8", "Error: usage: pmemsave addr size file\n");
    hmp_is(s, "pmemsave 0 8/2 x", "Error: invalid char '/' in expression\n");
    {
        g_autofree char *cmd = g_strdup_printf("pmemsave 0xffff0 48 \"%s\"",
                                               path);
        hmp_is(s, cmd, "");
    }
    g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
    g_assert_cmpuint(len, ==, sizeof(bios_bytes));
    g_assert_cmpmem(contents, len, bios_bytes, sizeof(bios_bytes));
    unlink(path);
    qtest_quit(s);
}

/* QEMU 7.2's block for one backend, merge aside. */
static char *memdev_text(const char *id, uint64_t size, bool share)
{
    return g_strdup_printf("memory backend: %s\r\n  size:  %" PRIu64
                           "\r\n  merge: false\r\n  dump: true\r\n"
                           "  prealloc: false\r\n  share: %s\r\n"
                           "  reserve: true\r\n  policy: default\r\n"
                           "  host nodes: \r\n\r\n", id, size,
                           share ? "true" : "false");
}

static void test_memdev(void)
{
    QTestState *s = qtest_init_accel_qtest(
        "-object memory-backend-ram,id=m2,size=16M,share=on "
        "-object memory-backend-ram,id=pc.ram,size=64M "
        "-machine memory-backend=pc.ram");
    g_autofree char *m2 = memdev_text("m2", 16 << 20, true);
    g_autofree char *ram = memdev_text("pc.ram", 64 << 20, false);
    g_autofree char *want = g_strconcat(m2, ram, NULL);
    g_autofree char *got = qtest_hmp(s, "info memdev");
    json_object *list;

    g_assert_cmpstr(got, ==, want);
    list = qtest_qmp_assert_success(s, "{'execute': 'query-memdev'}");
    g_assert_cmpuint(json_object_array_length(list), ==, 2);
    g_assert_cmpstr(qt_json_str(json_object_array_get_idx(list, 1), "id"),
                    ==, "pc.ram");
    g_assert_cmpstr(qt_json_str(json_object_array_get_idx(list, 1),
                                "policy"), ==, "default");
    json_object_put(list);
    qtest_quit(s);

    /* No backend: the machine's default RAM, named as QEMU's. */
    s = qtest_init_accel_qtest("-m 128");
    g_free(got);
    g_free(ram);
    got = qtest_hmp(s, "info memdev");
    ram = memdev_text("pc.ram", 128 << 20, false);
    g_assert_cmpstr(got, ==, ram);
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hmp-memory/formats", test_formats);
    g_test_add_func("/hmp-memory/chars", test_chars);
    g_test_add_func("/hmp-memory/errors", test_errors);
    g_test_add_func("/hmp-memory/pmemsave", test_pmemsave);
    g_test_add_func("/hmp-memory/memdev", test_memdev);
    return g_test_run();
}
