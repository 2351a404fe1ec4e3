/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests for x-stream-checksum (savevm.h "Checksums"): a source with real
 * RAM (the "ram" live entry over a 64 KiB GuestMemory) and two devices
 * streams into a destination in the same process.
 *
 * - Off, the stream is byte for byte what the code wrote before checksums
 *   existed (its SHA-256 was taken from a build of the parent commit).
 * - On, it round-trips; every single-bit flip anywhere in it fails the
 *   load (without checksums many load silently: the test counts them);
 *   a flip in a device's payload is reported as a checksum mismatch
 *   naming the section and leaves the device untouched; a flip in RAM
 *   page data names the "ram" section.
 * - The destination's policy: one side on and the other set off (either
 *   way round) is an error naming the capability.
 * - COLO: a device blob is verified whole without loading anything, and
 *   a checkpoint's RAM carries its own trailer.
 */
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "migration/colo-ram-cache.h"
#include "migration/qemu-file.h"
#include "migration/ram.h"
#include "migration/savevm.h"
#include "system/memory.h"

#ifndef TANDEM_SOURCE_ROOT
#define TANDEM_SOURCE_ROOT "."
#endif

#define PAGE        GUEST_PAGE_SIZE
#define RAM_SIZE    (16 * PAGE)
#define UART_MAGIC  0xC0FFEE11u

/* ---- fixture: RAM and two devices ---- */

typedef struct Uart {
    uint8_t lcr;
    uint8_t rx_count;
    uint8_t fifo[16];
    uint32_t magic;
} Uart;

typedef struct Timer {
    uint64_t count;
} Timer;

static const VMStateDescription vmstate_uart = {
    .name = "uart",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(lcr, Uart),
        VMSTATE_UINT8_LE(rx_count, Uart, 16),
        VMSTATE_BUFFER(fifo, Uart),
        VMSTATE_UINT32(magic, Uart),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_timer = {
    .name = "timer",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(count, Timer),
        VMSTATE_END_OF_LIST()
    },
};

typedef struct Side {
    GuestMemory mem;
    SaveVMState *s;
    Uart uart;
    Timer timer;
} Side;

static void side_init(Side *side)
{
    memset(side, 0, sizeof(*side));
    side->s = savevm_state_new();
    g_assert_nonnull(guest_memory_add_ram(&side->mem, "pc.ram", 0, RAM_SIZE,
                                          &error_abort));
    g_assert_true(ram_migration_register(side->s, &side->mem, NULL,
                                         &error_abort));
    g_assert_true(savevm_register(side->s, "uart", 0, &vmstate_uart,
                                  &side->uart, &error_abort));
    g_assert_true(savevm_register(side->s, "timer", 0, &vmstate_timer,
                                  &side->timer, &error_abort));
}

static void side_free(Side *side)
{
    ram_migration_unregister(side->s);
    savevm_state_free(side->s);
    guest_memory_free(&side->mem);
}

/* Every fourth page zero; the others a pattern of 0x5a-ish bytes. */
static void side_fill(Side *side)
{
    uint8_t *host = side->mem.blocks[0].host;

    for (size_t p = 0; p < RAM_SIZE / PAGE; p++) {
        for (size_t i = 0; i < PAGE; i++) {
            host[p * PAGE + i] = p % 4 ? (uint8_t)(0x5a + p + i * 7) : 0;
        }
    }
    side->uart.lcr = 3;
    side->uart.rx_count = 5;
    memcpy(side->uart.fifo, "0123456789abcdef", 16);
    side->uart.magic = UART_MAGIC;
    side->timer.count = 0x1122334455667788ull;
}

/* A whole migration: header, setup, a command, iterations, a ping,
 * completion (END, FULL x2, EOF, description). */
static GBytes *save_stream(bool checksums)
{
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    const uint8_t *data;
    bool done = false;
    size_t len;
    Side src;

    side_init(&src);
    side_fill(&src);
    qemu_file_set_checksums(f, checksums);
    savevm_state_header(f);
    g_assert_true(savevm_state_setup(src.s, f, &error_abort));
    savevm_send_command(f, SAVEVM_CMD_OPEN_RETURN_PATH, NULL, 0);
    while (!done) {
        g_assert_true(savevm_state_iterate(src.s, f, &done, &error_abort));
    }
    savevm_send_ping(f, 7);
    g_assert_true(savevm_state_complete(src.s, f, &error_abort));
    savevm_state_cleanup(src.s);
    data = qemu_file_mem_output_data(f, &len);
    side_free(&src);
    return g_bytes_new(data, len);
}

static bool load(Side *dst, const uint8_t *data, size_t len,
                 LoadVMChecksumPolicy policy, Error **errp)
{
    g_autoptr(QEMUFile) f = qemu_file_new_mem_input(data, len, 0);

    loadvm_set_checksum_policy(dst->s, policy);
    return loadvm_state(dst->s, f, errp);
}

static void assert_loaded(Side *dst)
{
    Side want;

    side_init(&want);
    side_fill(&want);
    g_assert_cmpmem(dst->mem.blocks[0].host, RAM_SIZE,
                    want.mem.blocks[0].host, RAM_SIZE);
    g_assert_cmpmem(&dst->uart, sizeof(Uart), &want.uart, sizeof(Uart));
    g_assert_cmpuint(dst->timer.count, ==, want.timer.count);
    side_free(&want);
}

/* Offset of the only occurrence of needle in the stream. */
static size_t find_once(const uint8_t *data, size_t len, const void *needle,
                        size_t nlen)
{
    const uint8_t *hit = memmem(data, len, needle, nlen);

    g_assert_nonnull(hit);
    g_assert_null(memmem(hit + 1, len - (hit + 1 - data), needle, nlen));
    return hit - data;
}

/* ---- tests ---- */

/*
 * SHA-256 of save_stream(false) as written by the parent commit, before
 * checksums existed (the same fixture built against that tree).
 */
#define STREAM_OFF_SHA256 \
    "4666a003d6f4cf83b1ed60b4d03608cb50bd92599825c29e51fab7c423f98433"

static void test_off_unchanged(void)
{
    g_autoptr(GBytes) off = save_stream(false);
    g_autofree char *sum = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256,
                                                        off);
    g_autoptr(GBytes) on = save_stream(true);

    g_assert_cmpstr(sum, ==, STREAM_OFF_SHA256);
    /* On is a different stream: the announcement and the trailers. */
    g_assert_cmpuint(g_bytes_get_size(on), >, g_bytes_get_size(off));
}

static void test_round_trip(void)
{
    for (int on = 0; on < 2; on++) {
        g_autoptr(GBytes) bytes = save_stream(on);
        size_t len;
        const uint8_t *data = g_bytes_get_data(bytes, &len);
        Side dst;

        side_init(&dst);
        g_assert_true(load(&dst, data, len, LOADVM_CHECKSUM_AUTO,
                           &error_abort));
        assert_loaded(&dst);
        side_free(&dst);
        /* The destination that asked for what the source did. */
        side_init(&dst);
        g_assert_true(load(&dst, data, len, on ? LOADVM_CHECKSUM_REQUIRE :
                           LOADVM_CHECKSUM_REFUSE, &error_abort));
        assert_loaded(&dst);
        side_free(&dst);
    }
}

/* Flips bit (i % 8) of every byte i; returns how many loads succeeded. */
static unsigned flip_every_byte(bool checksums)
{
    g_autoptr(GBytes) bytes = save_stream(checksums);
    size_t len;
    const uint8_t *data = g_bytes_get_data(bytes, &len);
    g_autofree uint8_t *bad = g_memdup2(data, len);
    unsigned silent = 0;
    Side dst;

    side_init(&dst);
    for (size_t i = 0; i < len; i++) {
        Error *err = NULL;

        bad[i] ^= 1u << (i % 8);
        if (load(&dst, bad, len, LOADVM_CHECKSUM_AUTO, &err)) {
            if (checksums) {
                g_error("flip of bit %zu at offset %zu loaded silently",
                        i % 8, i);
            }
            silent++;
        } else {
            g_assert_nonnull(err);
            error_free(err);
        }
        bad[i] = data[i];
    }
    side_free(&dst);
    g_test_message("%s: %zu single-bit flips, %u loaded silently",
                   checksums ? "checksums" : "no checksums", len, silent);
    return silent;
}

static void test_flips_detected(void)
{
    /* Without checksums page data and device values change silently:
     * what this feature is for (and proof the flips reach the payload). */
    g_assert_cmpuint(flip_every_byte(false), >, 0);
    g_assert_cmpuint(flip_every_byte(true), ==, 0);
}

/*
 * A flip in a device value that is still valid (the UART's magic) is a
 * checksum mismatch naming the section, found before the device is
 * written; a flip in RAM page data names the "ram" section.
 */
static void test_flip_names_section(void)
{
    g_autoptr(GBytes) bytes = save_stream(true);
    size_t len;
    const uint8_t *data = g_bytes_get_data(bytes, &len);
    g_autofree uint8_t *bad = g_memdup2(data, len);
    static const uint8_t magic_be[4] = { 0xC0, 0xFF, 0xEE, 0x11 };
    static const uint8_t page1[4] = { 0x5b, 0x62, 0x69, 0x70 };
    size_t at;
    Error *err = NULL;
    Side dst;

    at = find_once(data, len, magic_be, sizeof(magic_be));
    bad[at + 3] ^= 0x10;
    side_init(&dst);
    dst.uart.magic = 0xdead;
    g_assert_false(load(&dst, bad, len, LOADVM_CHECKSUM_AUTO, &err));
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "section 'uart' instance 0 (id 1): checksum "
                            "mismatch"));
    g_assert_cmphex(dst.uart.magic, ==, 0xdead);      /* never loaded */
    g_clear_pointer(&err, error_free);
    side_free(&dst);
    bad[at + 3] = data[at + 3];

    /* Page 1 starts 0x5a + 1, then steps of 7 (the run recurs: any copy
     * is page data). */
    at = (const uint8_t *)memmem(data, len, page1, sizeof(page1)) - data;
    bad[at + 100] ^= 0x01;
    side_init(&dst);
    g_assert_false(load(&dst, bad, len, LOADVM_CHECKSUM_AUTO, &err));
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "section 'ram' instance 0 (id 0): checksum "
                            "mismatch"));
    g_clear_pointer(&err, error_free);
    side_free(&dst);
}

/*
 * The other figure: overwrites of device state (1 to 8 random
 * bytes inside the two FULL sections' payloads). Without checksums many
 * load into the devices; with them none does, and no device ever holds
 * a corrupted value (a damaged section is checked before it is loaded).
 */
static unsigned device_overwrites(bool checksums)
{
    g_autoptr(GBytes) bytes = save_stream(checksums);
    size_t len;
    const uint8_t *data = g_bytes_get_data(bytes, &len);
    g_autofree uint8_t *bad = g_memdup2(data, len);
    static const uint8_t lcr_rx[2] = { 3, 5 };      /* uart's first fields */
    size_t start = find_once(data, len, lcr_rx, sizeof(lcr_rx));
    /* uart's payload (26 bytes + subsection count) and timer's section
     * after it: headers, footers and trailers included, ~80 bytes. */
    size_t span = 80;
    GRand *r = g_rand_new_with_seed(10);
    unsigned silent = 0;

    for (int i = 0; i < 50; i++) {
        size_t at = start + g_rand_int_range(r, 0, span);
        int n = g_rand_int_range(r, 1, 9);
        Error *err = NULL;
        Side dst;

        for (int k = 0; k < n && at + k < len; k++) {
            bad[at + k] = g_rand_int(r);
        }
        if (!memcmp(bad, data, len)) {
            continue;                   /* wrote what was there */
        }
        side_init(&dst);
        dst.uart.magic = 0xdead;
        if (load(&dst, bad, len, LOADVM_CHECKSUM_AUTO, &err)) {
            g_assert_false(checksums);
            silent++;
        } else {
            error_free(err);
            /* Each device holds its old state or the source's, never a
             * corrupted one (a section before the damaged one loads). */
            if (checksums) {
                g_assert_true(dst.uart.magic == 0xdead ||
                              (dst.uart.magic == UART_MAGIC &&
                               dst.uart.lcr == 3 &&
                               dst.uart.rx_count == 5 &&
                               !memcmp(dst.uart.fifo, "0123456789abcdef",
                                       16)));
                g_assert_true(dst.timer.count == 0 ||
                              dst.timer.count == 0x1122334455667788ull);
            }
        }
        side_free(&dst);
        memcpy(bad, data, len);
    }
    g_rand_free(r);
    g_test_message("%s: 50 device-state overwrites, %u loaded",
                   checksums ? "checksums" : "no checksums", silent);
    return silent;
}

static void test_device_overwrites(void)
{
    g_assert_cmpuint(device_overwrites(false), >, 0);
    g_assert_cmpuint(device_overwrites(true), ==, 0);
}

static void test_policy_mismatch(void)
{
    g_autoptr(GBytes) on = save_stream(true);
    g_autoptr(GBytes) off = save_stream(false);
    Error *err = NULL;
    Side dst;

    side_init(&dst);
    g_assert_false(load(&dst, g_bytes_get_data(on, NULL),
                        g_bytes_get_size(on), LOADVM_CHECKSUM_REFUSE, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "the source sends checksums (x-stream-checksum is on "
                    "there), but it is off here: set it the same on both "
                    "sides");
    g_clear_pointer(&err, error_free);
    g_assert_false(load(&dst, g_bytes_get_data(off, NULL),
                        g_bytes_get_size(off), LOADVM_CHECKSUM_REQUIRE,
                        &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "the source sends no checksums, but x-stream-checksum "
                    "is on here: set it the same on both sides");
    g_clear_pointer(&err, error_free);
    side_free(&dst);
}

/* The announcement anywhere but first is refused. */
static void test_announcement_late(void)
{
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    uint8_t algo[4] = { 0, 0, 0, SAVEVM_CHECKSUM_CRC32C };
    const uint8_t *data;
    size_t len;
    Error *err = NULL;
    Side dst;

    savevm_state_header(f);
    savevm_send_ping(f, 1);
    savevm_send_command(f, SAVEVM_CMD_STREAM_CHECKSUM, algo, sizeof(algo));
    data = qemu_file_mem_output_data(f, &len);
    side_init(&dst);
    g_assert_false(load(&dst, data, len, LOADVM_CHECKSUM_AUTO, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "command 'stream-checksum' after the first record");
    g_clear_pointer(&err, error_free);
    side_free(&dst);
}

/* analyze-migration.py --verify on the stream in a file: exit status,
 * stderr in *err_out. */
static int analyze_verify(const uint8_t *data, size_t len, char **err_out)
{
    g_autofree char *dir = g_dir_make_tmp("tandem-crc-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "stream.bin", NULL);
    g_autofree char *script = g_build_filename(TANDEM_SOURCE_ROOT, "scripts",
                                               "analyze-migration.py", NULL);
    g_autofree char *out = NULL;
    char *argv[] = { "python3", script, "--verify", path, NULL };
    int status;

    g_assert_true(g_file_set_contents(path, (const char *)data, len, NULL));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                               NULL, &out, err_out, &status, NULL));
    g_unlink(path);
    g_rmdir(dir);
    return status;
}

/* The stream tool reads checksummed streams and checks their trailers. */
static void test_analyze_script(void)
{
    g_autoptr(GBytes) bytes = save_stream(true);
    size_t len;
    const uint8_t *data = g_bytes_get_data(bytes, &len);
    g_autofree uint8_t *bad = g_memdup2(data, len);
    static const uint8_t magic_be[4] = { 0xC0, 0xFF, 0xEE, 0x11 };
    char *err = NULL;

    g_assert_cmpint(analyze_verify(data, len, &err), ==, 0);
    g_free(err);
    bad[find_once(data, len, magic_be, sizeof(magic_be))] ^= 0x80;
    g_assert_cmpint(analyze_verify(bad, len, &err), !=, 0);
    g_assert_nonnull(strstr(err, "section 'uart' (id 1): checksum mismatch"));
    g_free(err);
}

/*
 * A page queued by reference changes after the writer computed its CRC
 * (chunk closed, or put outside a frame) and before the flush, as guest
 * RAM does under a running guest. While a CRC runs the page must have
 * been copied, so the trailer matches what was sent; with the stable
 * promise (nothing copied) the same change breaks the trailer, which is
 * why only a stopped guest may make it.
 */
static bool nocopy_change_matches(bool framed, bool stable)
{
    g_autoptr(QEMUFile) out = qemu_file_new_mem_output();
    g_autoptr(QEMUFile) in = NULL;
    g_autofree uint8_t *page = g_malloc(PAGE);
    uint8_t back[PAGE];
    const uint8_t *data;
    size_t len;
    uint32_t crc;

    memset(page, 0x42, PAGE);
    qemu_file_set_nocopy_stable(out, stable);
    qemu_file_crc_begin(out);
    if (framed) {
        qemu_file_frame_begin(out);
    }
    qemu_put_buffer_nocopy(out, page, PAGE);
    if (framed) {
        qemu_file_frame_end(out);
    }
    crc = qemu_file_crc_end(out);
    page[100] ^= 0xff;                  /* the guest writes */
    qemu_put_be32(out, crc);
    data = qemu_file_mem_output_data(out, &len);

    in = qemu_file_new_mem_input(data, len, 0);
    qemu_file_crc_begin(in);
    if (framed) {
        qemu_file_frame_begin(in);
    }
    g_assert_true(qemu_get_buffer(in, back, PAGE));
    if (framed) {
        g_assert_cmpuint(qemu_file_frame_end(in), ==, 0);
    }
    crc = qemu_file_crc_end(in);
    return crc == qemu_get_be32(in) && !qemu_file_get_error(in, NULL);
}

static void test_nocopy_changes(void)
{
    g_assert_true(nocopy_change_matches(true, false));
    g_assert_true(nocopy_change_matches(false, false));
    g_assert_false(nocopy_change_matches(true, true));
    g_assert_false(nocopy_change_matches(false, true));
}

/* ---- COLO ---- */

static GBytes *save_blob(bool checksums)
{
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    const uint8_t *data;
    size_t len;
    Side src;

    side_init(&src);
    side_fill(&src);
    qemu_file_set_checksums(f, checksums);
    g_assert_true(savevm_state_save_device_blob(src.s, f, true,
                                                &error_abort));
    data = qemu_file_mem_output_data(f, &len);
    side_free(&src);
    return g_bytes_new(data, len);
}

/*
 * The secondary verifies the blob before vmstate-received: every flip is
 * found there, with the section named when it is in a section's payload,
 * and nothing is loaded.
 */
static void test_colo_blob_verified(void)
{
    g_autoptr(GBytes) bytes = save_blob(true);
    size_t len;
    const uint8_t *data = g_bytes_get_data(bytes, &len);
    g_autofree uint8_t *bad = g_memdup2(data, len);
    static const uint8_t magic_be[4] = { 0xC0, 0xFF, 0xEE, 0x11 };
    size_t magic_at = find_once(data, len, magic_be, sizeof(magic_be));
    Error *err = NULL;
    Side dst;

    g_assert_true(loadvm_verify_device_blob(data, len, &error_abort));
    for (size_t i = 0; i < len; i++) {
        bad[i] ^= 1u << (i % 8);
        if (loadvm_verify_device_blob(bad, len, &err)) {
            g_error("flip at blob offset %zu passed verification", i);
        }
        if (i >= magic_at && i < magic_at + 4) {
            g_assert_nonnull(strstr(error_get_pretty(err),
                                    "section 'uart' instance 0 (id 1): "
                                    "checksum mismatch"));
        }
        g_clear_pointer(&err, error_free);
        bad[i] = data[i];
    }
    /* What verified loads, with its checksums checked again. */
    side_init(&dst);
    {
        g_autoptr(QEMUFile) in = qemu_file_new_mem_input(data, len, 0);

        qemu_file_set_checksums(in, true);
        g_assert_true(loadvm_load_device_blob(dst.s, in, &error_abort));
    }
    g_assert_cmphex(dst.uart.magic, ==, UART_MAGIC);
    side_free(&dst);
    /* A blob without checksums is not one with them. */
    {
        g_autoptr(GBytes) plain = save_blob(false);

        g_assert_false(loadvm_verify_device_blob(
            g_bytes_get_data(plain, NULL), g_bytes_get_size(plain), &err));
        g_clear_pointer(&err, error_free);
    }
}

/*
 * A checkpoint's RAM (ram_checkpoint_save/load) after an initial
 * migration: with checksums the records end with a CRC32C, a flipped page
 * byte is a checksum mismatch, and the SVM's RAM is untouched (pages go
 * to the cache, which a dropped checkpoint never commits).
 */
static void test_colo_ram_trailer(void)
{
    g_autoptr(QEMUFile) mig = qemu_file_new_mem_output();
    g_autoptr(QEMUFile) ckpt = qemu_file_new_mem_output();
    struct ColoRamCache *cache;
    const uint8_t *data;
    g_autofree uint8_t *svm_before = NULL;
    g_autofree uint8_t *bad = NULL;
    size_t len;
    uint64_t pages;
    bool done = false;
    Error *err = NULL;
    Side src, dst;

    side_init(&src);
    side_init(&dst);
    side_fill(&src);
    savevm_state_header(mig);
    g_assert_true(savevm_state_setup(src.s, mig, &error_abort));
    while (!done) {
        g_assert_true(savevm_state_iterate(src.s, mig, &done, &error_abort));
    }
    g_assert_true(savevm_state_complete(src.s, mig, &error_abort));
    data = qemu_file_mem_output_data(mig, &len);
    g_assert_true(load(&dst, data, len, LOADVM_CHECKSUM_AUTO, &error_abort));
    cache = ram_checkpoint_cache_attach(dst.s, &error_abort);
    svm_before = g_memdup2(dst.mem.blocks[0].host, RAM_SIZE);

    /* The PVM dirties page 2 (our own write, as a device would). */
    memset(src.mem.blocks[0].host + 2 * PAGE, 0xab, PAGE);
    guest_memory_mark_dirty(&src.mem, 2 * PAGE, PAGE);
    qemu_file_set_checksums(ckpt, true);
    g_assert_true(ram_checkpoint_save(src.s, ckpt, &pages, &error_abort));
    g_assert_cmpuint(pages, ==, 1);
    data = qemu_file_mem_output_data(ckpt, &len);
    /* One record and its page, EOS, the trailer. */
    g_assert_cmpuint(len, ==, 8 + PAGE + 8 + 4);

    bad = g_memdup2(data, len);
    for (size_t i = 0; i < len; i += 97) {
        g_autoptr(QEMUFile) in = NULL;

        bad[i] ^= 0x04;
        in = qemu_file_new_mem_input(bad, len, 0);
        qemu_file_set_checksums(in, true);
        g_assert_false(ram_checkpoint_load(dst.s, in, &pages, &err));
        g_assert_nonnull(err);
        g_clear_pointer(&err, error_free);
        bad[i] = data[i];
    }
    {
        g_autoptr(QEMUFile) in = NULL;

        bad[8 + 1234] ^= 0x40;          /* page data: records still valid */
        in = qemu_file_new_mem_input(bad, len, 0);
        qemu_file_set_checksums(in, true);
        g_assert_false(ram_checkpoint_load(dst.s, in, &pages, &err));
        g_assert_nonnull(strstr(error_get_pretty(err),
                                "ram: checksum mismatch"));
        g_clear_pointer(&err, error_free);
        bad[8 + 1234] = data[8 + 1234];
    }
    g_assert_cmpmem(dst.mem.blocks[0].host, RAM_SIZE, svm_before, RAM_SIZE);
    {
        g_autoptr(QEMUFile) in = qemu_file_new_mem_input(data, len, 0);

        qemu_file_set_checksums(in, true);
        g_assert_true(ram_checkpoint_load(dst.s, in, &pages, &error_abort));
        g_assert_cmpuint(pages, ==, 1);
    }
    ram_checkpoint_cache_detach(dst.s);
    colo_ram_cache_free(cache);
    savevm_state_cleanup(src.s);
    side_free(&src);
    side_free(&dst);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/stream-checksum/off-unchanged", test_off_unchanged);
    g_test_add_func("/stream-checksum/round-trip", test_round_trip);
    g_test_add_func("/stream-checksum/flips-detected", test_flips_detected);
    g_test_add_func("/stream-checksum/flip-names-section",
                    test_flip_names_section);
    g_test_add_func("/stream-checksum/device-overwrites",
                    test_device_overwrites);
    g_test_add_func("/stream-checksum/policy-mismatch", test_policy_mismatch);
    g_test_add_func("/stream-checksum/announcement-late",
                    test_announcement_late);
    g_test_add_func("/stream-checksum/analyze-script", test_analyze_script);
    g_test_add_func("/stream-checksum/nocopy-changes", test_nocopy_changes);
    g_test_add_func("/stream-checksum/colo-blob-verified",
                    test_colo_blob_verified);
    g_test_add_func("/stream-checksum/colo-ram-trailer",
                    test_colo_ram_trailer);
    return g_test_run();
}
