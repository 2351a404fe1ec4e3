/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qtest protocol end to end: Tandem boots the test guest (idle
 * workload, vCPU running under KVM) and the test pokes its I/O ports and
 * RAM through every qtest command, checks the exact reply formats, reads
 * the guest's status page and a heartbeat the guest keeps changing, sends
 * malformed commands that must FAIL without harming the connection, and
 * checks that closing the qtest socket makes Tandem exit with status 0.
 * The cases that need no guest (endianness, port I/O to the UART) run the
 * pc under -accel qtest, without KVM.
 */
#include <string.h>
#include <unistd.h>
#include "kvm-skip.h"
#include "libqtest.h"

#define SCRATCH_ADDR    0x400000ULL   /* unused by the idle test guest */
#define COM1_SCR        0x3ff         /* 16550 scratch register */

static void test_endianness(void)
{
    QTestState *s = qtest_init_accel_qtest("-serial null");
    g_autofree char *reply = qtest_raw(s, "endianness");

    g_assert_cmpstr(reply, ==, "OK little");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_pio(void)
{
    QTestState *s = qtest_init_accel_qtest("-serial null");
    g_autofree char *r1 = NULL;
    g_autofree char *r2 = NULL;
    g_autofree char *r3 = NULL;
    g_autofree char *r4 = NULL;

    qtest_outb(s, COM1_SCR, 0xa5);
    g_assert_cmphex(qtest_inb(s, COM1_SCR), ==, 0xa5);
    qtest_outb(s, COM1_SCR, 0x5a);
    g_assert_cmphex(qtest_inb(s, COM1_SCR), ==, 0x5a);
    /* Reply width follows the access size. */
    r1 = qtest_raw(s, "inb 0x3ff");
    g_assert_cmpstr(r1, ==, "OK 0x5a");
    r2 = qtest_raw(s, "outb %d 0x07", COM1_SCR);
    g_assert_cmpstr(r2, ==, "OK");
    /* COM2 does not exist with -nodefaults and one -serial. */
    r3 = qtest_raw(s, "inw 0x2f8");
    g_assert_cmpstr(r3, ==, "OK 0xffff");
    r4 = qtest_raw(s, "inl 0x2f8");
    g_assert_cmpstr(r4, ==, "OK 0xffffffff");
    g_assert_cmphex(qtest_inb(s, COM1_SCR), ==, 0x07);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_scalar_rw(void)
{
    QTestState *s = qtest_init("-serial null");
    g_autofree char *raw = NULL;
    g_autofree char *ok = NULL;

    qtest_wait_guest_boot(s);
    qtest_writeq(s, SCRATCH_ADDR, 0x1122334455667788ULL);
    g_assert_cmphex(qtest_readq(s, SCRATCH_ADDR), ==, 0x1122334455667788ULL);
    /* Little-endian byte order. */
    g_assert_cmphex(qtest_readb(s, SCRATCH_ADDR), ==, 0x88);
    g_assert_cmphex(qtest_readb(s, SCRATCH_ADDR + 7), ==, 0x11);
    g_assert_cmphex(qtest_readw(s, SCRATCH_ADDR + 2), ==, 0x5566);
    g_assert_cmphex(qtest_readl(s, SCRATCH_ADDR + 4), ==, 0x11223344);
    qtest_writeb(s, SCRATCH_ADDR, 0xab);
    qtest_writew(s, SCRATCH_ADDR + 2, 0xcdef);
    qtest_writel(s, SCRATCH_ADDR + 4, 0x01020304);
    g_assert_cmphex(qtest_readq(s, SCRATCH_ADDR), ==, 0x01020304cdef77abULL);
    /* Reads always print 16 hex digits. */
    raw = qtest_raw(s, "readb 0x%llx", SCRATCH_ADDR);
    g_assert_cmpstr(raw, ==, "OK 0x00000000000000ab");
    /* Decimal numbers are accepted too. */
    ok = qtest_raw(s, "writel %llu 4294967295", SCRATCH_ADDR);
    g_assert_cmpstr(ok, ==, "OK");
    g_assert_cmphex(qtest_readl(s, SCRATCH_ADDR), ==, 0xffffffff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    GRand *r = g_rand_new_with_seed(seed);

    for (size_t i = 0; i < len; i++) {
        buf[i] = g_rand_int(r);
    }
    g_rand_free(r);
}

static void test_bulk_rw(void)
{
    const size_t len = 65536 + 3;
    QTestState *s = qtest_init("-serial null");
    g_autofree uint8_t *a = g_malloc(len);
    g_autofree uint8_t *b = g_malloc(len);
    g_autofree uint8_t *got = g_malloc(len);
    g_autofree char *r1 = NULL;
    g_autofree char *r2 = NULL;
    g_autofree char *r3 = NULL;
    g_autofree char *r4 = NULL;

    qtest_wait_guest_boot(s);
    fill_pattern(a, len, 1);
    fill_pattern(b, len, 2);

    qtest_memwrite(s, SCRATCH_ADDR + 1, a, len);
    qtest_memread(s, SCRATCH_ADDR + 1, got, len);
    g_assert_cmpmem(got, len, a, len);
    memset(got, 0, len);
    qtest_bufread(s, SCRATCH_ADDR + 1, got, len);
    g_assert_cmpmem(got, len, a, len);

    qtest_bufwrite(s, SCRATCH_ADDR + 1, b, len);
    qtest_memread(s, SCRATCH_ADDR + 1, got, len);
    g_assert_cmpmem(got, len, b, len);

    qtest_memset(s, SCRATCH_ADDR + 100, 0x5c, 1000);
    qtest_memread(s, SCRATCH_ADDR, got, 1200);
    g_assert_cmphex(got[100], ==, 0x5c);
    g_assert_cmphex(got[1099], ==, 0x5c);
    g_assert_cmphex(got[99], ==, b[98]);
    g_assert_cmphex(got[1100], ==, b[1099]);

    /* Exact wire formats. */
    qtest_writel(s, SCRATCH_ADDR, 0xdeadbeef);
    r1 = qtest_raw(s, "read 0x%llx 4", SCRATCH_ADDR);
    g_assert_cmpstr(r1, ==, "OK 0xefbeadde");
    r2 = qtest_raw(s, "b64read 0x%llx 4", SCRATCH_ADDR);
    g_assert_cmpstr(r2, ==, "OK 776t3g==");
    /* Zero-length writes and memset are accepted no-ops. */
    r3 = qtest_raw(s, "write 0x%llx 0 0x", SCRATCH_ADDR);
    g_assert_cmpstr(r3, ==, "OK");
    r4 = qtest_raw(s, "memset 0x%llx 0 0x11", SCRATCH_ADDR);
    g_assert_cmpstr(r4, ==, "OK");
    g_assert_cmphex(qtest_readl(s, SCRATCH_ADDR), ==, 0xdeadbeef);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Multi-megabyte lines both ways, while the guest runs. */
static void test_large_transfer(void)
{
    const size_t len = 8 << 20;
    QTestState *s = qtest_init("-serial null");
    g_autofree uint8_t *a = g_malloc(len);
    g_autofree uint8_t *got = g_malloc(len);

    qtest_wait_guest_boot(s);
    fill_pattern(a, len, 3);
    qtest_bufwrite(s, 0x1000000, a, len);
    qtest_memread(s, 0x1000000, got, len);
    g_assert_cmpmem(got, len, a, len);
    fill_pattern(a, len, 4);
    qtest_memwrite(s, 0x1000000, a, len);
    qtest_bufread(s, 0x1000000, got, len);
    g_assert_cmpmem(got, len, a, len);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_status_page(void)
{
    QTestState *s = qtest_init("-serial null -append 'workload=idle smp' "
                               "-smp 2");
    char cmdline[64];

    qtest_wait_guest_boot(s);
    g_assert_cmphex(qtest_readq(s, TG_STATUS_ADDR), ==, TG_STATUS_MAGIC);
    g_assert_cmpuint(qtest_readl(s, TG_STATUS_ADDR + 0x8), ==, 1);
    g_assert_cmpuint(qtest_readl(s, TG_STATUS_ADDR + 0xc), ==, 3);
    qtest_memread(s, TG_STATUS_ADDR + 0x100, cmdline, sizeof(cmdline));
    cmdline[sizeof(cmdline) - 1] = 0;
    g_assert_nonnull(strstr(cmdline, "workload=idle"));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* The BSP's heartbeat moves while we read it: RAM access beside KVM. */
static void test_guest_running(void)
{
    QTestState *s = qtest_init("-serial null");
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    uint64_t first, now;

    qtest_wait_guest_boot(s);
    first = qtest_readq(s, TG_STATUS_ADDR + 0x200);
    do {
        g_usleep(10 * 1000);
        now = qtest_readq(s, TG_STATUS_ADDR + 0x200);
    } while (now == first && g_get_monotonic_time() < deadline);
    g_assert_cmphex(now, !=, first);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_errors(void)
{
    static const struct {
        const char *cmd;
        const char *reply;      /* a prefix of the expected reply */
    } cases[] = {
        { "frobnicate 1 2", "FAIL Unknown command 'frobnicate'" },
        { "READB 0", "FAIL Unknown command 'READB'" },
        { "readb", "FAIL readb: expected 1 argument, got 0" },
        { "readb 1 2", "FAIL readb: expected 1 argument, got 2" },
        { "endianness now", "FAIL endianness: expected 0 arguments" },
        { "readb zz", "FAIL readb: bad number 'zz'" },
        { "readb -1", "FAIL readb: bad number '-1'" },
        { "readb 0x10zz", "FAIL readb: bad number '0x10zz'" },
        { "readb 99999999999999999999999", "FAIL readb: bad number" },
        { "writeb 0x400000 0x100", "FAIL writeb: value 0x100 does not fit" },
        { "outw 0x3ff 0x10000", "FAIL outw: value 0x10000 does not fit" },
        { "outb 0x10000 0", "FAIL outb: port 0x10000 is above 0xffff" },
        { "inb 0x10000", "FAIL inb: port 0x10000 is above 0xffff" },
        { "readl 0xfee00000", "FAIL readl: guest range 0xfee00000-" },
        { "writel 0xfec00000 1", "FAIL writel: guest range 0xfec00000-" },
        { "readb 0x8000000", "FAIL readb: guest range 0x8000000-" },
        { "readq 0x7fffffc", "FAIL readq: guest range 0x7fffffc-" },
        { "read 0x7fff000 0x2000", "FAIL read: guest range 0x7fff000-" },
        { "read 0xfffffffffffff000 0x2000", "FAIL read: guest range" },
        { "read 0 0", "FAIL read: size must be at least 1" },
        { "b64read 0 0", "FAIL b64read: size must be at least 1" },
        { "read 0 0x4000001", "FAIL read: size 0x4000001 is too large" },
        { "memset 0 0x4000001 0", "FAIL memset: size 0x4000001 is too " },
        { "write 0x400000 2 0x123", "FAIL write: data must be 0x and 4 hex" },
        { "write 0x400000 2 12345", "FAIL write: data must be 0x and 4 hex" },
        { "write 0x400000 1 0xzz", "FAIL write: bad hex digit" },
        { "write 0x8000000 1 0x00", "FAIL write: guest range 0x8000000-" },
        { "b64write 0x400000 4 AAAA", "FAIL b64write: data decodes to 3 " },
        { "b64write 0x400000 3 AA*A", "FAIL b64write: data is not valid" },
        { "b64write 0x400000 1 AA=", "FAIL b64write: data is not valid" },
        { "memset 0x400000 1 0x100", "FAIL memset: value 0x100 does not " },
        { "memset 0x7ffffff 2 0", "FAIL memset: guest range 0x7ffffff-" },
    };
    QTestState *s = qtest_init("-serial null -m 128M");
    g_autofree char *last = NULL;

    qtest_wait_guest_boot(s);
    qtest_writel(s, SCRATCH_ADDR, 0x600df00d);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *reply = qtest_raw(s, "%s", cases[i].cmd);

        g_test_message("%s -> %s", cases[i].cmd, reply);
        g_assert_true(g_str_has_prefix(reply, cases[i].reply));
    }
    /* A failed write leaves RAM alone; RAM's last byte is still usable. */
    g_assert_cmphex(qtest_readl(s, SCRATCH_ADDR), ==, 0x600df00d);
    qtest_writeb(s, 0x7ffffff, 0x42);
    g_assert_cmphex(qtest_readb(s, 0x7ffffff), ==, 0x42);
    /* The connection is still in sync. */
    last = qtest_raw(s, "endianness");
    g_assert_cmpstr(last, ==, "OK little");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* A line with no newline yet, then the rest: one command. */
static void test_split_and_blank_lines(void)
{
    QTestState *s = qtest_init_accel_qtest("-serial null");
    g_autofree char *r1 = NULL;
    g_autofree char *r2 = NULL;

    /* Blank lines get no reply; "\r\n" endings and extra blanks are fine. */
    r1 = qtest_raw(s, "\n\n  endianness \t\r");
    g_assert_cmpstr(r1, ==, "OK little");
    r2 = qtest_raw(s, "outb 0x3ff 0x33\ninb 0x3ff");
    g_assert_cmpstr(r2, ==, "OK");
    g_free(r2);
    r2 = qtest_raw(s, "endianness");
    /* The inb reply was queued before this one. */
    g_assert_cmpstr(r2, ==, "OK 0x33");
    g_free(r2);
    r2 = qtest_raw(s, "endianness");
    g_assert_cmpstr(r2, ==, "OK little");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_disconnect_exits(void)
{
    QTestState *s = qtest_init("-serial null");
    json_object *ev;

    qtest_wait_guest_boot(s);
    qtest_close_qtest(s);
    ev = qtest_qmp_eventwait(s, "SHUTDOWN");
    g_assert_cmpstr(qt_json_str(qt_json_get(ev, "data"), "reason"), ==,
                    "host-signal");
    json_object_put(ev);
    g_assert_cmpint(qtest_wait_exit(s, qtest_timeout_ms()), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_log(void)
{
    g_autofree char *log = qtest_scratch_path("qtest.log");
    QTestState *s = qtest_initf_accel_qtest("-serial null -qtest-log %s", log);
    g_autofree char *r = qtest_raw(s, "inb 0x3ff");
    g_autofree char *text = NULL;

    g_assert_true(g_str_has_prefix(r, "OK 0x"));
    g_assert_cmpint(qtest_quit(s), ==, 0);
    g_assert_true(g_file_get_contents(log, &text, NULL, NULL));
    g_test_message("log:\n%s", text);
    g_assert_nonnull(strstr(text, "] endianness\n"));
    g_assert_nonnull(strstr(text, "] OK little\n"));
    g_assert_nonnull(strstr(text, "] inb 0x3ff\n"));
    g_assert_nonnull(strstr(text, "[R +"));
    g_assert_nonnull(strstr(text, "[S +"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qtest/endianness", test_endianness);
    g_test_add_func("/qtest/pio", test_pio);
    test_add_kvm_func("/qtest/mem/scalar", test_scalar_rw);
    test_add_kvm_func("/qtest/mem/bulk", test_bulk_rw);
    test_add_kvm_func("/qtest/mem/large", test_large_transfer);
    test_add_kvm_func("/qtest/mem/status-page", test_status_page);
    test_add_kvm_func("/qtest/mem/guest-running", test_guest_running);
    test_add_kvm_func("/qtest/errors", test_errors);
    g_test_add_func("/qtest/line-framing", test_split_and_blank_lines);
    test_add_kvm_func("/qtest/disconnect-exits", test_disconnect_exits);
    g_test_add_func("/qtest/log", test_log);
    return g_test_run();
}
