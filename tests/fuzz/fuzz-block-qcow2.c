/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the qcow2 driver: the input is a whole image file
 * (header, extensions, L1/L2 tables, refcount table and blocks, data),
 * held in a memfd and opened through the file driver. Every image is
 * hostile: opening it may fail, and when it opens, reads, block status,
 * writes, write-zeroes, discard, growing and make_empty must fail with
 * an error or succeed, never crash, hang, leak or overflow (ASan, UBSan,
 * LeakSanitizer watch). The backing file is never opened (backing: null):
 * the image must not make the fuzzer read the host's files.
 *
 * Seeds are written by the binary itself (FUZZ_BLOCK_SEEDS=DIR): small
 * images made by qemu-img create when it is installed, so they always
 * match the real format.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <glib.h>
#include "block/block.h"
#include "util/main-loop.h"
#include "qapi/qapi-types.h"

static void write_seeds(const char *dir)
{
    static const char *const opts[] = {
        "-o cluster_size=512", "-o cluster_size=4096,refcount_bits=1",
        "-o compat=0.10,cluster_size=1024", "-o cluster_size=512,refcount_bits=64",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
        g_autofree char *cmd = g_strdup_printf(
            "qemu-img create -q -f qcow2 %s '%s/seed-%zu.qcow2' 1M", opts[i],
            dir, i);

        if (system(cmd) != 0) {
            fprintf(stderr, "could not run: %s\n", cmd);
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *seeds = getenv("FUZZ_BLOCK_SEEDS");

    main_loop_init();
    if (seeds) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

static void exercise(BlockDriverState *bs, const uint8_t *data, size_t size)
{
    int64_t len = bdrv_getlength(bs);
    uint8_t buf[8192];
    uint64_t pnum;
    uint64_t off[3];

    if (len <= 0) {
        return;
    }
    /* Offsets picked by the input's last bytes, inside the disk. */
    for (int i = 0; i < 3; i++) {
        uint64_t v = 0;

        for (int j = 0; j < 4 && size > (size_t)(i * 4 + j); j++) {
            v = (v << 8) | data[size - 1 - (i * 4 + j)];
        }
        off[i] = (v * 509) % (uint64_t)len;
    }
    for (int i = 0; i < 3; i++) {
        uint64_t n = MIN(sizeof(buf), (uint64_t)len - off[i]);

        bdrv_pread(bs, off[i], n, buf, NULL);
        bdrv_block_status(bs, off[i], (uint64_t)len - off[i], &pnum, NULL,
                          NULL);
        if (bdrv_is_read_only(bs)) {
            continue;
        }
        memset(buf, 0x5a + i, sizeof(buf));
        bdrv_pwrite(bs, off[i], n, buf, 0, NULL);
        bdrv_pread(bs, off[i], n, buf, NULL);
    }
    if (!bdrv_is_read_only(bs)) {
        bdrv_pwrite_zeroes(bs, off[0], MIN(70000, (uint64_t)len - off[0]),
                           BDRV_REQ_MAY_UNMAP, NULL);
        bdrv_pdiscard(bs, off[1], MIN(70000, (uint64_t)len - off[1]), NULL);
        bdrv_truncate(bs, (uint64_t)len + (1 << 20), NULL);
        bdrv_make_empty(bs, NULL);
        bdrv_pread(bs, 0, MIN(sizeof(buf), (uint64_t)len), buf, NULL);
    }
}

static void open_and_exercise(const char *path, bool read_only,
                              const uint8_t *data, size_t size)
{
    BlockdevOptions file = {
        .driver = BLOCKDEV_DRIVER_FILE,
        .u.file.filename = (char *)path,
    };
    BlockdevRef file_ref = { .type = QTYPE_QDICT, .u.definition = &file };
    BlockdevRefOrNull no_backing = { .type = QTYPE_QNULL };
    BlockdevOptions opts = {
        .driver = BLOCKDEV_DRIVER_QCOW2,
        .has_read_only = true,
        .read_only = read_only,
        .u.qcow2.file = &file_ref,
        .u.qcow2.backing = &no_backing,
    };
    Error *err = NULL;
    BlockDriverState *bs = bdrv_open_blockdev(&opts, &err);

    if (!bs) {
        error_free(err);
        return;
    }
    exercise(bs, data, size);
    bdrv_unref(bs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
    char path[64];

    if (fd < 0) {
        abort();
    }
    if (size && write(fd, data, size) != (ssize_t)size) {
        abort();
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    open_and_exercise(path, true, data, size);
    /* The read-only pass left the memfd as it was; now write to it. */
    open_and_exercise(path, false, data, size);
    close(fd);
    return 0;
}
