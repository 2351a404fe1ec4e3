/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the stream framing (migration/savevm.c, loadvm.c): a
 * source registry with two devices and a fake live entry (three
 * iterations) streams into a second registry in the same process; each
 * failure mode of the loader gets its own error; every truncation and
 * flipped byte fails cleanly; the COLO device blob round-trips; and
 * scripts/analyze-migration.py reads a stream written to a file (and
 * rejects a corrupted one).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "migration/savevm.h"

#ifndef TANDEM_SOURCE_ROOT
#define TANDEM_SOURCE_ROOT "."
#endif

/* ---- two devices ---- */

typedef struct DevA {
    uint32_t reg;
    uint8_t fifo[8];
} DevA;

typedef struct DevB {
    uint64_t counter;
    bool extra_needed;
    uint16_t extra;
} DevB;

static const VMStateDescription vmstate_dev_a = {
    .name = "dev-a",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(reg, DevA),
        VMSTATE_BUFFER(fifo, DevA),
        VMSTATE_END_OF_LIST()
    },
};

/* A destination that only knows version 1. */
static const VMStateDescription vmstate_dev_a_v1 = {
    .name = "dev-a",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(reg, DevA),
        VMSTATE_BUFFER(fifo, DevA),
        VMSTATE_END_OF_LIST()
    },
};

static bool dev_b_extra_needed(void *opaque)
{
    return ((DevB *)opaque)->extra_needed;
}

static const VMStateDescription vmstate_dev_b_extra = {
    .name = "dev-b/extra",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = dev_b_extra_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(extra, DevB),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_dev_b = {
    .name = "dev-b",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(counter, DevB),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) {
        &vmstate_dev_b_extra,
        NULL
    },
};

/* ---- a fake live entry: setup, three iterations, completion ---- */

#define FAKE_PAGE_SIZE 100

typedef struct FakeLive {
    uint8_t page[FAKE_PAGE_SIZE];
    int iterations;             /* save side */
    int loaded_parts;           /* load side */
    int setups, cleanups;
    bool short_read;            /* load side: leaves the page unread */
    bool got_start, got_end;
    uint8_t loaded_page[FAKE_PAGE_SIZE];
} FakeLive;

static bool fake_save_setup(QEMUFile *f, void *opaque, Error **errp)
{
    qemu_put_be32(f, 0x5e7u);
    return true;
}

static bool fake_save_iterate(QEMUFile *f, void *opaque, bool *done,
                              Error **errp)
{
    FakeLive *fl = opaque;

    fl->iterations++;
    fl->page[0] = fl->iterations;
    qemu_put_byte(f, 1);
    qemu_put_be32(f, fl->iterations);
    qemu_put_buffer_nocopy(f, fl->page, FAKE_PAGE_SIZE);
    *done = fl->iterations == 3;
    return true;
}

static bool fake_save_complete(QEMUFile *f, void *opaque, Error **errp)
{
    qemu_put_byte(f, 2);
    qemu_put_be32(f, ((FakeLive *)opaque)->iterations);
    return true;
}

static uint64_t fake_save_pending(void *opaque)
{
    return (3 - ((FakeLive *)opaque)->iterations) * FAKE_PAGE_SIZE;
}

static bool fake_load_setup(void *opaque, Error **errp)
{
    ((FakeLive *)opaque)->setups++;
    return true;
}

static void fake_load_cleanup(void *opaque)
{
    ((FakeLive *)opaque)->cleanups++;
}

static bool fake_load_state(QEMUFile *f, void *opaque, int version_id,
                            Error **errp)
{
    FakeLive *fl = opaque;

    if (!fl->got_start) {
        if (qemu_get_be32(f) != 0x5e7u) {
            error_setg(errp, "bad setup payload");
            return false;
        }
        fl->got_start = true;
        return true;
    }
    switch (qemu_get_byte(f)) {
    case 1:
        if (qemu_get_be32(f) != (uint32_t)fl->loaded_parts + 1) {
            error_setg(errp, "iteration out of order");
            return false;
        }
        fl->loaded_parts++;
        if (!fl->short_read) {
            qemu_get_buffer(f, fl->loaded_page, FAKE_PAGE_SIZE);
        }
        return true;
    case 2:
        fl->got_end = qemu_get_be32(f) == 3;
        return true;
    default:
        error_setg(errp, "bad record");
        return false;
    }
}

static const SaveVMHandlers fake_live_ops = {
    .save_setup = fake_save_setup,
    .save_iterate = fake_save_iterate,
    .save_complete = fake_save_complete,
    .save_pending = fake_save_pending,
    .load_setup = fake_load_setup,
    .load_state = fake_load_state,
    .load_cleanup = fake_load_cleanup,
};

/* ---- fixtures ---- */

typedef struct Side {
    SaveVMState *s;
    DevA a;
    DevB b;
    FakeLive live;
} Side;

static void side_init(Side *side, const VMStateDescription *vmsd_a,
                      bool with_b)
{
    memset(side, 0, sizeof(*side));
    side->s = savevm_state_new();
    g_assert_true(savevm_register_live(side->s, "fake-live", 0, 1,
                                       &fake_live_ops, &side->live,
                                       &error_abort));
    g_assert_true(savevm_register(side->s, "dev-a", 0, vmsd_a, &side->a,
                                  &error_abort));
    if (with_b) {
        g_assert_true(savevm_register(side->s, "dev-b", 0, &vmstate_dev_b,
                                      &side->b, &error_abort));
    }
}

static void side_fill(Side *side)
{
    side->a.reg = 0xabcd1234;
    memcpy(side->a.fifo, "fifodata", 8);
    side->b.counter = 0x1122334455667788ull;
    side->b.extra_needed = true;
    side->b.extra = 0x7777;
    memset(side->live.page, 0x3c, FAKE_PAGE_SIZE);
}

/* The whole precopy sequence, into memory. */
static GBytes *save_full_stream(Side *src)
{
    QEMUFile *f = qemu_file_new_mem_output();
    const uint8_t *data;
    bool done = false;
    int rounds = 0;
    size_t len;
    GBytes *bytes;

    savevm_state_header(f);
    g_assert_true(savevm_state_setup(src->s, f, &error_abort));
    savevm_send_command(f, SAVEVM_CMD_OPEN_RETURN_PATH, NULL, 0);
    while (!done) {
        g_assert_cmpuint(savevm_state_pending(src->s), >, 0);
        g_assert_true(savevm_state_iterate(src->s, f, &done, &error_abort));
        rounds++;
    }
    g_assert_cmpint(rounds, ==, 3);
    g_assert_cmpuint(savevm_state_pending(src->s), ==, 0);
    savevm_send_ping(f, 42);
    g_assert_true(savevm_state_complete(src->s, f, &error_abort));
    savevm_state_cleanup(src->s);
    data = qemu_file_mem_output_data(f, &len);
    bytes = g_bytes_new(data, len);
    qemu_fclose(f);
    return bytes;
}

static bool load_stream(SaveVMState *s, const void *data, size_t len,
                        Error **errp)
{
    QEMUFile *f = qemu_file_new_mem_input(data, len, 0);
    bool ok = loadvm_state(s, f, errp);

    qemu_fclose(f);
    return ok;
}

static GBytes *full_stream(void)
{
    Side src;
    GBytes *bytes;

    side_init(&src, &vmstate_dev_a, true);
    side_fill(&src);
    bytes = save_full_stream(&src);
    savevm_state_free(src.s);
    return bytes;
}

static uint32_t ping_seen;

static LoadVMCommandResult on_ping(const uint8_t *data, uint16_t len,
                                   void *opaque, Error **errp)
{
    ping_seen = (uint32_t)data[0] << 24 | data[1] << 16 | data[2] << 8 |
                data[3];
    return LOADVM_CMD_CONTINUE;
}

/* ---- tests ---- */

static void test_full_stream(void)
{
    Side src, dst;
    g_autoptr(GBytes) bytes = NULL;
    const uint8_t *data;
    size_t len;

    side_init(&src, &vmstate_dev_a, true);
    side_fill(&src);
    bytes = save_full_stream(&src);
    data = g_bytes_get_data(bytes, &len);
    g_assert_cmpuint(((const uint32_t *)data)[0], ==,
                     GUINT32_TO_BE(SAVEVM_MAGIC));

    side_init(&dst, &vmstate_dev_a, true);
    loadvm_set_command_handler(dst.s, SAVEVM_CMD_PING, on_ping, NULL);
    g_assert_true(load_stream(dst.s, data, len, &error_abort));
    g_assert_cmpuint(ping_seen, ==, 42);
    g_assert_cmpuint(dst.a.reg, ==, src.a.reg);
    g_assert_cmpmem(dst.a.fifo, 8, src.a.fifo, 8);
    g_assert_cmpuint(dst.b.counter, ==, src.b.counter);
    g_assert_cmpuint(dst.b.extra, ==, 0x7777);
    g_assert_true(dst.live.got_start);
    g_assert_cmpint(dst.live.loaded_parts, ==, 3);
    g_assert_true(dst.live.got_end);
    g_assert_cmpuint(dst.live.loaded_page[0], ==, 3);
    g_assert_cmpuint(dst.live.loaded_page[99], ==, 0x3c);
    g_assert_cmpint(dst.live.setups, ==, 1);
    g_assert_cmpint(dst.live.cleanups, ==, 1);
    savevm_state_free(src.s);
    savevm_state_free(dst.s);
}

static void test_register_errors(void)
{
    g_autoptr(SaveVMState) s = savevm_state_new();
    DevA a1, a2, a3;
    Error *err = NULL;

    g_assert_true(savevm_register(s, "dev-a", SAVEVM_INSTANCE_ANY,
                                  &vmstate_dev_a, &a1, &error_abort));
    g_assert_true(savevm_register(s, "dev-a", SAVEVM_INSTANCE_ANY,
                                  &vmstate_dev_a, &a2, &error_abort));
    g_assert_false(savevm_register(s, "dev-a", 1, &vmstate_dev_a, &a3,
                                   &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "savevm section 'dev-a' instance 1 already registered");
    error_free(err);
    savevm_unregister(s, "dev-a", 1);
    g_assert_true(savevm_register(s, "dev-a", 1, &vmstate_dev_a, &a3,
                                  &error_abort));
    g_assert_true(savevm_default() == savevm_default());
}

/* Loads data into a fresh full destination and checks the message. */
static void expect_error_with(const VMStateDescription *vmsd_a, bool with_b,
                              const void *data, size_t len, const char *msg)
{
    Side dst;
    Error *err = NULL;

    side_init(&dst, vmsd_a, with_b);
    g_assert_false(load_stream(dst.s, data, len, &err));
    g_assert_nonnull(err);
    if (g_test_verbose()) {
        g_test_message("error: %s", error_get_pretty(err));
    }
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    g_assert_cmpint(dst.live.setups, ==, dst.live.cleanups);
    error_free(err);
    savevm_state_free(dst.s);
}

static void expect_error(const void *data, size_t len, const char *msg)
{
    expect_error_with(&vmstate_dev_a, true, data, len, msg);
}

static void test_bad_magic_and_version(void)
{
    g_autoptr(GBytes) bytes = full_stream();
    size_t len = g_bytes_get_size(bytes);
    g_autofree uint8_t *bad = g_memdup2(g_bytes_get_data(bytes, NULL), len);

    bad[0] = 'Q';
    expect_error(bad, len, "bad magic 0x51444d53: not a migration stream");
    bad[0] = 'T';
    bad[7] = 2;
    expect_error(bad, len, "unsupported stream version 2 (this build reads 1)");
    expect_error(bad, 3, "truncated stream: stream header cut short");
}

static void test_unknown_section(void)
{
    g_autoptr(GBytes) bytes = full_stream();
    size_t len;
    const void *data = g_bytes_get_data(bytes, &len);

    expect_error_with(&vmstate_dev_a, false, data, len,
                      "unknown section 'dev-b' instance 0 (id 2)");
}

static void test_section_version(void)
{
    g_autoptr(GBytes) bytes = full_stream();
    size_t len;
    const void *data = g_bytes_get_data(bytes, &len);

    expect_error_with(&vmstate_dev_a_v1, true, data, len,
                      "section 'dev-a' instance 0: unsupported version 2 "
                      "(newest supported 1)");
}

/* A handler that does not consume its whole payload. */
static void test_section_left_unread(void)
{
    g_autoptr(GBytes) bytes = full_stream();
    size_t len;
    const void *data = g_bytes_get_data(bytes, &len);
    Side dst;
    Error *err = NULL;

    side_init(&dst, &vmstate_dev_a, true);
    dst.live.short_read = true;
    g_assert_false(load_stream(dst.s, data, len, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "section 'fake-live' instance 0: 100 bytes of the "
                    "section left unread");
    error_free(err);
    savevm_state_free(dst.s);
}

/* Hand-made streams for the framing errors. */
static GBytes *craft(void (*build)(QEMUFile *f, Side *src))
{
    QEMUFile *f = qemu_file_new_mem_output();
    const uint8_t *data;
    size_t len;
    GBytes *bytes;
    Side src;

    side_init(&src, &vmstate_dev_a, true);
    side_fill(&src);
    savevm_state_header(f);
    build(f, &src);
    data = qemu_file_mem_output_data(f, &len);
    bytes = g_bytes_new(data, len);
    qemu_fclose(f);
    savevm_state_free(src.s);
    return bytes;
}

static void craft_full_dev_a(QEMUFile *f, Side *src, uint32_t id,
                             uint32_t footer_id)
{
    qemu_put_byte(f, SAVEVM_REC_FULL);
    qemu_put_be32(f, id);
    qemu_put_counted_string(f, "dev-a");
    qemu_put_be32(f, 0);
    qemu_put_be32(f, 2);
    qemu_file_frame_begin(f);
    vmstate_save(f, &vmstate_dev_a, &src->a, NULL, &error_abort);
    qemu_file_frame_end(f);
    qemu_put_byte(f, SAVEVM_REC_FOOTER);
    qemu_put_be32(f, footer_id);
}

static void build_footer_mismatch(QEMUFile *f, Side *src)
{
    craft_full_dev_a(f, src, 1, 7);
}

static void build_part_unknown(QEMUFile *f, Side *src)
{
    qemu_put_byte(f, SAVEVM_REC_PART);
    qemu_put_be32(f, 99);
}

static void build_bad_command(QEMUFile *f, Side *src)
{
    qemu_put_byte(f, SAVEVM_REC_COMMAND);
    qemu_put_be16(f, SAVEVM_CMD_PING);
    qemu_put_be16(f, 3);
}

static void build_devices_ok(QEMUFile *f, Side *src)
{
    craft_full_dev_a(f, src, 1, 1);
    qemu_put_byte(f, SAVEVM_REC_EOF);
}

static void test_framing_errors(void)
{
    g_autoptr(GBytes) footer = craft(build_footer_mismatch);
    g_autoptr(GBytes) part = craft(build_part_unknown);
    g_autoptr(GBytes) cmd = craft(build_bad_command);
    g_autoptr(GBytes) ok = craft(build_devices_ok);
    size_t len;
    const void *data;

    data = g_bytes_get_data(footer, &len);
    expect_error(data, len, "section 'dev-a' (id 1): footer mismatch: footer "
                 "names section id 7");
    data = g_bytes_get_data(part, &len);
    expect_error(data, len, "section id mismatch: 'part' record for section "
                 "id 99, which no 'start' record opened");
    data = g_bytes_get_data(cmd, &len);
    expect_error(data, len, "command 'ping': length 3, expected 4");
    /* A stream without a description is fine; garbage after EOF is not. */
    data = g_bytes_get_data(ok, &len);
    {
        Side dst;

        side_init(&dst, &vmstate_dev_a, true);
        g_assert_true(load_stream(dst.s, data, len, &error_abort));
        g_assert_cmpuint(dst.a.reg, ==, 0xabcd1234);
        savevm_state_free(dst.s);
    }
}

/* The EOF record precedes the description record (type, be32 length). */
static size_t find_eof(const uint8_t *data, size_t len)
{
    for (size_t off = len - 6; off > 8; off--) {
        uint32_t desc_len = (uint32_t)data[off + 2] << 24 |
                            data[off + 3] << 16 | data[off + 4] << 8 |
                            data[off + 5];

        if (data[off] == SAVEVM_REC_EOF &&
            data[off + 1] == SAVEVM_REC_DESCRIPTION &&
            off + 6 + desc_len == len) {
            return off;
        }
    }
    g_assert_not_reached();
}

static void test_trailing_and_unknown_record(void)
{
    g_autoptr(GBytes) bytes = full_stream();
    size_t len, eof_off;
    const uint8_t *data = g_bytes_get_data(bytes, &len);
    g_autofree uint8_t *bad = g_malloc(len + 1);

    memcpy(bad, data, len);
    bad[len] = 0;
    expect_error(bad, len + 1,
                 "trailing garbage after the description record");
    eof_off = find_eof(data, len);
    bad[eof_off] = 0x33;
    g_autofree char *msg = g_strdup_printf(
        "unknown record type 0x33 at stream offset %zu", eof_off);
    expect_error(bad, len, msg);
    bad[eof_off] = SAVEVM_REC_EOF;
    bad[eof_off + 1] = 0x44;
    expect_error(bad, len, "trailing garbage after the EOF record (byte 0x44)");
}

/* Every prefix fails with an error, except the one that ends right after
 * EOF (the description is optional); no crash, cleanup always runs. */
static void test_truncate_everywhere(void)
{
    g_autoptr(GBytes) bytes = full_stream();
    size_t len;
    const uint8_t *data = g_bytes_get_data(bytes, &len);
    size_t complete = find_eof(data, len) + 1;

    for (size_t cut = 0; cut < len; cut++) {
        Side dst;
        Error *err = NULL;

        side_init(&dst, &vmstate_dev_a, true);
        if (cut == complete) {
            g_assert_true(load_stream(dst.s, data, cut, &error_abort));
            savevm_state_free(dst.s);
            continue;
        }
        g_assert_false(load_stream(dst.s, data, cut, &err));
        g_assert_nonnull(err);
        if (!strstr(error_get_pretty(err), "truncated") &&
            !strstr(error_get_pretty(err), "cut short")) {
            g_test_message("cut %zu: %s", cut, error_get_pretty(err));
        }
        g_assert_true(strstr(error_get_pretty(err), "truncated") ||
                      strstr(error_get_pretty(err), "cut short") ||
                      strstr(error_get_pretty(err), "read past"));
        g_assert_cmpint(dst.live.setups, ==, dst.live.cleanups);
        error_free(err);
        savevm_state_free(dst.s);
    }
}

static void test_flip_every_byte(void)
{
    g_autoptr(GBytes) bytes = full_stream();
    size_t len;
    const uint8_t *data = g_bytes_get_data(bytes, &len);
    unsigned failed = 0;

    for (size_t i = 0; i < len; i++) {
        g_autofree uint8_t *bad = g_memdup2(data, len);
        Side dst;
        Error *err = NULL;

        bad[i] ^= 0xff;
        side_init(&dst, &vmstate_dev_a, true);
        if (!load_stream(dst.s, bad, len, &err)) {
            g_assert_nonnull(err);
            failed++;
            error_free(err);
        } else {
            /* Only payload bytes and the description may change freely. */
            g_assert_cmpuint(i, >=, 8);
        }
        savevm_state_free(dst.s);
    }
    g_assert_cmpuint(failed, >, 8);
}

static void test_colo_devices(void)
{
    Side src, dst;
    QEMUFile *f = qemu_file_new_mem_output();
    const uint8_t *data;
    size_t len;
    QEMUFile *in;
    Error *err = NULL;

    side_init(&src, &vmstate_dev_a, true);
    side_fill(&src);
    src.b.extra_needed = false;
    g_assert_true(savevm_state_save_device_blob(src.s, f, true, &error_abort));
    data = qemu_file_mem_output_data(f, &len);

    side_init(&dst, &vmstate_dev_a, true);
    in = qemu_file_new_mem_input(data, len, 0);
    g_assert_true(loadvm_load_device_blob(dst.s, in, &error_abort));
    qemu_fclose(in);
    g_assert_cmpuint(dst.a.reg, ==, 0xabcd1234);
    g_assert_cmpuint(dst.b.extra, ==, 0x7777);      /* send-all */
    g_assert_cmpint(dst.live.setups, ==, 0);

    /* A full stream is not a device blob. */
    {
        g_autoptr(GBytes) bytes = full_stream();
        size_t flen;
        const uint8_t *fdata = g_bytes_get_data(bytes, &flen);

        in = qemu_file_new_mem_input(fdata + 8, flen - 8, 0);
        g_assert_false(loadvm_load_device_blob(dst.s, in, &err));
        g_assert_cmpstr(error_get_pretty(err), ==,
                        "unexpected 'start' record (0x01) in a device-state "
                        "stream");
        error_free(err);
        qemu_fclose(in);
    }
    qemu_fclose(f);
    savevm_state_free(src.s);
    savevm_state_free(dst.s);
}

/* ---- scripts/analyze-migration.py ---- */

static int run_analyzer(const char *path, const char *mode, char **out)
{
    const char *script = TANDEM_SOURCE_ROOT "/scripts/analyze-migration.py";
    const char *argv[] = { "python3", script, "-d", mode, path, NULL };
    g_autofree char *err = NULL;
    int status = -1;

    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
                               NULL, NULL, out, &err, &status, NULL));
    if (g_test_verbose()) {
        g_test_message("analyze-migration.py -d %s: %s%s", mode,
                       out ? *out : "", err);
    }
    return g_spawn_check_wait_status(status, NULL) ? 0 : 1;
}

static void test_analyze_script(void)
{
    g_autoptr(GBytes) bytes = full_stream();
    g_autofree char *path = NULL;
    g_autofree char *out = NULL;
    size_t len;
    const uint8_t *data = g_bytes_get_data(bytes, &len);
    int fd = g_file_open_tmp("tandem-stream-XXXXXX", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_true(g_file_set_contents(path, (const char *)data, len, NULL));

    g_assert_cmpint(run_analyzer(path, "sections", &out), ==, 0);
    g_assert_nonnull(strstr(out, "fake-live"));
    g_assert_nonnull(strstr(out, "dev-a"));
    g_assert_nonnull(strstr(out, "dev-b"));
    g_assert_nonnull(strstr(out, "ping"));
    g_clear_pointer(&out, g_free);

    g_assert_cmpint(run_analyzer(path, "desc", &out), ==, 0);
    g_assert_nonnull(strstr(out, "\"dev-b/extra\""));
    g_clear_pointer(&out, g_free);

    g_assert_cmpint(run_analyzer(path, "state", &out), ==, 0);
    /* 0xabcd1234 and the subsection's 0x7777, in decimal. */
    g_assert_nonnull(strstr(out, "2882343476"));
    g_assert_nonnull(strstr(out, "30583"));
    g_clear_pointer(&out, g_free);

    /* Truncated and corrupted files: a non-zero exit. */
    g_assert_true(g_file_set_contents(path, (const char *)data, len / 2,
                                      NULL));
    g_assert_cmpint(run_analyzer(path, "sections", &out), !=, 0);
    g_clear_pointer(&out, g_free);
    {
        g_autofree uint8_t *bad = g_memdup2(data, len);

        bad[0] = 0;
        g_assert_true(g_file_set_contents(path, (const char *)bad, len,
                                          NULL));
        g_assert_cmpint(run_analyzer(path, "sections", &out), !=, 0);
    }
    g_unlink(path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/savevm/full-stream", test_full_stream);
    g_test_add_func("/savevm/register-errors", test_register_errors);
    g_test_add_func("/savevm/bad-magic-and-version",
                    test_bad_magic_and_version);
    g_test_add_func("/savevm/unknown-section", test_unknown_section);
    g_test_add_func("/savevm/section-version", test_section_version);
    g_test_add_func("/savevm/section-left-unread", test_section_left_unread);
    g_test_add_func("/savevm/framing-errors", test_framing_errors);
    g_test_add_func("/savevm/trailing-and-unknown-record",
                    test_trailing_and_unknown_record);
    g_test_add_func("/savevm/truncate-everywhere", test_truncate_everywhere);
    g_test_add_func("/savevm/flip-every-byte", test_flip_every_byte);
    g_test_add_func("/savevm/colo-devices", test_colo_devices);
    g_test_add_func("/savevm/analyze-script", test_analyze_script);
    return g_test_run();
}
