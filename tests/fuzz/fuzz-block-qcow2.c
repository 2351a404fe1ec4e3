/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the qcow2 driver (block/qcow2*.c), two ways.
 *
 * Hostile images (byte 0 bit 7 clear, as every qcow2 image's magic is):
 * the input is a whole image file (header, extensions, L1/L2 tables,
 * refcount table and blocks, data), held in a memfd and opened through
 * the file driver, once read-only without a backing file and once
 * writable over a raw backing node of 1 MiB (named in the options; the
 * image's own backing name is never opened, so the fuzzer reads no host
 * file). Opening may fail; when it opens, reads (falling through to the
 * backing node), block status, writes, taking and deleting internal
 * snapshots, write-zeroes, discard, growing and make_empty must fail
 * with an error or succeed, never crash, hang, leak or overflow (ASan,
 * UBSan, LeakSanitizer watch).
 *
 * A modelled overlay (byte 0 bit 7 set): the target makes a valid empty
 * image (fuzz-qcow2-image.c: cluster size, refcount width and version from
 * the input) over no backing, a raw one or a qcow2 one (itself written
 * through the driver first), and runs the input's operations against a
 * model of the disk's bytes: what the overlay wrote wins; elsewhere the
 * backing's bytes show, zeroes past its end; write-zeroes and (on v3 or
 * without a backing file) discarded whole clusters read zero; make_empty
 * shows the backing again; growing the disk shows zeroes in the new part,
 * as QEMU does, whatever the backing file holds there; an internal
 * snapshot keeps what the disk held when it was taken (read from the
 * file independently of the driver at every check). Every read must
 * match the model, block status must agree with it, and the image file
 * must pass a `qemu-img check` (refcounts, COPIED flags, nothing outside
 * the file) whenever the input asks and at the end, after a reopen when
 * asked.
 *
 * Modelled input:
 *   byte 0      bit 7 set; bits 0-2 cluster size 2^(9 + v); bit 3
 *               version 2 (else 3); bits 4-5 backing: none, raw, qcow2,
 *               raw
 *   byte 1      disk size: (v % 64 + 1) * 8 KiB + (v >> 6) * 1536
 *   byte 2      backing size, the same way
 *   byte 3      bits 0-2 refcount order (7: 4); bits 3-7 the backing's
 *               bytes
 *   then        operations of 6 bytes (see model_op)
 *
 * Seeds are written by the binary itself (FUZZ_BLOCK_SEEDS=DIR): hostile
 * ones made by qemu-img when it is installed, so they always match the
 * real format, and modelled ones.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <glib.h>
#include "block/block.h"
#include "block/internal-snapshot.h"
#include "util/main-loop.h"
#include "qapi/qapi-types.h"
#include "fuzz-qcow2-image.h"

#define HOSTILE_BACKING_SIZE    (1u << 20)
#define MODEL_HEADER            4
#define MODEL_OP                6
#define MODEL_MAX_SIZE          (1u << 20)
/* Loops over every byte of a disk: not worth the fuzzer's edge counting
 * (it made them most of the run time). */
#define NO_COVERAGE             __attribute__((no_sanitize("coverage")))
#define MODEL_OPS_MAX           64
#define MODEL_SNAPS             4

static G_NORETURN void fuzz_fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static G_NORETURN void fuzz_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "fuzz-block-qcow2: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

/* A memfd holding len bytes of data; its /proc path in path. */
static int memfd_with(const void *data, size_t len, char *path, size_t n)
{
    int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);

    if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len)) {
        abort();
    }
    snprintf(path, n, "/proc/self/fd/%d", fd);
    return fd;
}

/* A backing file's bytes from offset 0: not zeroes, and no offset's
 * byte mistaken for its neighbour's. */
static NO_COVERAGE void fill_backing(uint8_t *p, uint64_t len, uint8_t seed)
{
    for (uint64_t off = 0; off < len; off++) {
        p[off] = (uint8_t)(seed * 29 + off * 7 + (off >> 9) + 1);
    }
}

/* What a write of the input's byte d puts at [off, off + len). */
static NO_COVERAGE void fill_write(uint8_t *p, uint64_t off, uint64_t len,
                                   uint8_t d)
{
    for (uint64_t i = 0; i < len; i++) {
        p[i] = (uint8_t)(d * 31 + (off + i) * 13 + ((off + i) >> 10) + 0x80);
    }
}

static bool all_zero(const uint8_t *p, uint64_t len)
{
    return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

/* ---- options ---- */

/* A node's options with a file child (BlockdevOptions hold pointers). */
typedef struct NodeOpts {
    BlockdevOptions file;
    BlockdevRef file_ref;
    BlockdevOptions node;
} NodeOpts;

static void node_opts_file(NodeOpts *o, const char *path)
{
    memset(o, 0, sizeof(*o));
    o->file.driver = BLOCKDEV_DRIVER_FILE;
    o->file.u.file.filename = (char *)path;
    o->file_ref.type = QTYPE_QDICT;
    o->file_ref.u.definition = &o->file;
}

static BlockdevOptions *node_opts_raw(NodeOpts *o, const char *path)
{
    node_opts_file(o, path);
    o->node.driver = BLOCKDEV_DRIVER_RAW;
    o->node.has_read_only = true;
    o->node.read_only = true;
    o->node.u.raw.file = &o->file_ref;
    return &o->node;
}

static BlockdevOptions *node_opts_qcow2(NodeOpts *o, const char *path,
                                        bool read_only,
                                        BlockdevRefOrNull *backing)
{
    node_opts_file(o, path);
    o->node.driver = BLOCKDEV_DRIVER_QCOW2;
    o->node.has_read_only = true;
    o->node.read_only = read_only;
    o->node.u.qcow2.file = &o->file_ref;
    o->node.u.qcow2.backing = backing;
    return &o->node;
}

/* ---- hostile images ---- */

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
        BdrvSnapshot sn = { .name = (char *)"fuzz", .icount = -1 };
        BdrvSnapshot *list;
        int n = bdrv_snapshot_list(bs, &list);

        /* Take one, write over it, delete the image's first. */
        if (bdrv_snapshot_create(bs, &sn, NULL)) {
            g_free(sn.id);
            memset(buf, 0x7e, sizeof(buf));
            bdrv_pwrite(bs, off[2], MIN(sizeof(buf), (uint64_t)len - off[2]),
                        buf, 0, NULL);
        }
        if (n > 0) {
            bdrv_snapshot_delete(bs, list[0].id, NULL);
        }
        bdrv_snapshot_list_free(list, MAX(n, 0));
        bdrv_pwrite_zeroes(bs, off[0], MIN(70000, (uint64_t)len - off[0]),
                           BDRV_REQ_MAY_UNMAP, NULL);
        bdrv_pdiscard(bs, off[1], MIN(70000, (uint64_t)len - off[1]), NULL);
        bdrv_truncate(bs, (uint64_t)len + (1 << 20), NULL);
        bdrv_make_empty(bs, NULL);
        bdrv_pread(bs, 0, MIN(sizeof(buf), (uint64_t)len), buf, NULL);
    }
}

static void open_and_exercise(const char *path, const char *backing_path,
                              const uint8_t *data, size_t size)
{
    NodeOpts o, b;
    BlockdevRefOrNull backing = { .type = QTYPE_QNULL };
    Error *err = NULL;
    BlockDriverState *bs;

    if (backing_path) {
        backing.type = QTYPE_QDICT;
        backing.u.definition = node_opts_raw(&b, backing_path);
    }
    bs = bdrv_open_blockdev(node_opts_qcow2(&o, path, !backing_path,
                                            &backing), &err);
    if (!bs) {
        error_free(err);
        return;
    }
    exercise(bs, data, size);
    bdrv_unref(bs);
}

static void fuzz_hostile(const uint8_t *data, size_t size)
{
    /* One backing file for every input: it is only ever read. */
    static char bpath[64];
    char path[64];
    int fd;

    if (!bpath[0]) {
        g_autofree uint8_t *backing = g_malloc(HOSTILE_BACKING_SIZE);

        fill_backing(backing, HOSTILE_BACKING_SIZE, 0);
        memfd_with(backing, HOSTILE_BACKING_SIZE, bpath, sizeof(bpath));
    }
    fd = memfd_with(data, size, path, sizeof(path));
    open_and_exercise(path, NULL, data, size);
    /* The read-only pass left the memfd as it was; now write to it. */
    open_and_exercise(path, bpath, data, size);
    close(fd);
}

/* ---- the modelled overlay ---- */

typedef enum {
    BACKING_NONE, BACKING_RAW, BACKING_QCOW2,
} BackingKind;

typedef struct Model {
    FuzzQcow2Params p;
    BackingKind backing;
    uint64_t backing_len;
    uint8_t *base;              /* the backing's bytes (backing_len) */
    uint64_t size;              /* the disk's */
    uint8_t *bytes;             /* the disk's, as the model has them */
    int fd, bfd;
    char path[64], bpath[64];
    BlockDriverState *bs;
    /* Internal snapshots, in table order: their ids and what they hold. */
    unsigned nsnaps;
    char *snap_id[MODEL_SNAPS];
    uint8_t *snap_bytes[MODEL_SNAPS];
    uint64_t snap_size[MODEL_SNAPS];
} Model;

/* What a byte of the disk shows through from below: the backing file's
 * byte, zero past its end. */
static uint8_t model_below(const Model *m, uint64_t off)
{
    return off < m->backing_len ? m->base[off] : 0;
}

/* [off, off + len) of the model shows what is below. */
static void model_show_below(Model *m, uint64_t off, uint64_t len)
{
    uint64_t in = off < m->backing_len ? MIN(len, m->backing_len - off) : 0;

    if (in) {
        memcpy(m->bytes + off, m->base + off, in);
    }
    memset(m->bytes + off + in, 0, len - in);
}

/* Whether [off, off + len) of the model is what is below. */
static bool model_is_below(const Model *m, uint64_t off, uint64_t len)
{
    uint64_t in = off < m->backing_len ? MIN(len, m->backing_len - off) : 0;

    return (!in || !memcmp(m->bytes + off, m->base + off, in)) &&
           all_zero(m->bytes + off + in, len - in);
}

static uint64_t model_size_of(uint8_t v)
{
    return (uint64_t)(v % 64 + 1) * 8192 + (v >> 6) * 1536;
}

/* Each snapshot, read from the file, holds what the disk held when it
 * was taken, whatever was written since. */
static NO_COVERAGE void model_check_snapshots(Model *m, const uint8_t *img,
                                              size_t len)
{
    for (unsigned i = 0; i < m->nsnaps; i++) {
        uint64_t size = m->snap_size[i];
        g_autofree uint8_t *below = g_malloc(size);
        g_autofree uint8_t *got = g_malloc(size);
        g_autofree char *why = NULL;

        for (uint64_t off = 0; off < size; off++) {
            below[off] = model_below(m, off);
        }
        if (!fuzz_qcow2_read_snapshot(img, len, i, below, size, got,
                                      &why)) {
            fuzz_fail("snapshot %s cannot be read: %s", m->snap_id[i], why);
        }
        for (uint64_t off = 0; off < size; off++) {
            if (got[off] != m->snap_bytes[i][off]) {
                fuzz_fail("snapshot %s: byte %" PRIu64 " is 0x%02x, it "
                          "held 0x%02x", m->snap_id[i], off, got[off],
                          m->snap_bytes[i][off]);
            }
        }
    }
}

static void model_check_file(Model *m, int fd, const char *what)
{
    struct stat st;
    g_autofree uint8_t *img = NULL;
    g_autofree char *why = NULL;

    if (fstat(fd, &st) < 0) {
        abort();
    }
    img = g_malloc(st.st_size ? st.st_size : 1);
    if (pread(fd, img, st.st_size, 0) != st.st_size) {
        abort();
    }
    if (!fuzz_qcow2_check(img, st.st_size, &why)) {
        fuzz_fail("%s fails the check: %s", what, why);
    }
    if (fd == m->fd) {
        model_check_snapshots(m, img, st.st_size);
    }
}

/*
 * A qcow2 backing file: runs of clusters written through the driver
 * where the seed says, the rest left unallocated (reading zeroes), and
 * checked.
 */
static void model_make_qcow2_backing(Model *m, uint8_t seed)
{
    FuzzQcow2Params bp = { .cluster_bits = 12, .refcount_order = 4,
                           .version = 3, .size = m->backing_len };
    g_autoptr(GByteArray) img = fuzz_qcow2_make(&bp);
    NodeOpts o;
    BlockdevRefOrNull none = { .type = QTYPE_QNULL };
    BlockDriverState *bs;
    Error *err = NULL;

    m->bfd = memfd_with(img->data, img->len, m->bpath, sizeof(m->bpath));
    bs = bdrv_open_blockdev(node_opts_qcow2(&o, m->bpath, false, &none),
                            &err);
    if (!bs) {
        fuzz_fail("the backing image does not open: %s",
                  error_get_pretty(err));
    }
    /* Runs of 16 KiB, one in three left out. */
    for (uint64_t run = 0; run * 16384 < m->backing_len; run++) {
        uint64_t off = run * 16384, n = MIN(16384, m->backing_len - off);

        if ((run * 37 + seed) % 3 == 0) {
            memset(m->base + off, 0, n);
            continue;
        }
        if (bdrv_pwrite(bs, off, n, m->base + off, 0, NULL) < 0) {
            fuzz_fail("writing the backing image failed");
        }
    }
    bdrv_unref(bs);
    model_check_file(m, m->bfd, "the backing image");
}

static BlockDriverState *model_open(Model *m)
{
    NodeOpts o, b;
    BlockdevRefOrNull none = { .type = QTYPE_QNULL };
    BlockdevRefOrNull backing = { .type = QTYPE_QNULL };
    Error *err = NULL;
    BlockDriverState *bs;

    if (m->backing == BACKING_RAW) {
        backing.type = QTYPE_QDICT;
        backing.u.definition = node_opts_raw(&b, m->bpath);
    } else if (m->backing == BACKING_QCOW2) {
        backing.type = QTYPE_QDICT;
        backing.u.definition = node_opts_qcow2(&b, m->bpath, true, &none);
    }
    bs = bdrv_open_blockdev(node_opts_qcow2(&o, m->path, false, &backing),
                            &err);
    if (!bs) {
        fuzz_fail("the overlay does not open: %s", error_get_pretty(err));
    }
    return bs;
}

/* Reads [off, off + len) and compares it with the model. */
static void model_read(Model *m, uint64_t off, uint64_t len)
{
    g_autofree uint8_t *buf = g_malloc(len ? len : 1);

    if (bdrv_pread(m->bs, off, len, buf, NULL) < 0) {
        fuzz_fail("read of %" PRIu64 "+%" PRIu64 " failed", off, len);
    }
    if (memcmp(buf, m->bytes + off, len)) {
        for (uint64_t i = 0; i < len; i++) {
            if (buf[i] != m->bytes[off + i]) {
                fuzz_fail("byte %" PRIu64 " reads 0x%02x, the model says "
                          "0x%02x (backing 0x%02x)", off + i, buf[i],
                          m->bytes[off + i], model_below(m, off + i));
            }
        }
    }
}

/* Block status over the whole disk against the model: zero means zero,
 * unallocated over a backing file means the backing's bytes. */
static void model_block_status(Model *m)
{
    uint64_t off = 0;

    while (off < m->size) {
        uint64_t pnum = 0;
        int ret = bdrv_block_status(m->bs, off, m->size - off, &pnum, NULL,
                                    NULL);

        if (ret < 0 || !pnum || pnum > m->size - off) {
            fuzz_fail("block status at %" PRIu64 ": %d, %" PRIu64 " bytes",
                      off, ret, pnum);
        }
        if ((ret & BDRV_BLOCK_ZERO) && !all_zero(m->bytes + off, pnum)) {
            fuzz_fail("block status says %" PRIu64 "+%" PRIu64 " reads "
                      "zeroes; the model does not", off, pnum);
        }
        if (!(ret & BDRV_BLOCK_ALLOCATED) && m->backing &&
            !model_is_below(m, off, pnum)) {
            fuzz_fail("block status says %" PRIu64 "+%" PRIu64 " comes from "
                      "the backing file; the model does not", off, pnum);
        }
        off += pnum;
    }
}

/* Growing: the new part reads zeroes. Version 2 cannot hide a backing
 * file's bytes there and may refuse, when it has some to hide. */
static void model_grow(Model *m, uint64_t new_size)
{
    Error *err = NULL;
    int ret = bdrv_truncate(m->bs, new_size, &err);

    if (ret < 0) {
        if (m->p.version >= 3 ||
            (m->backing_len <= m->size && !m->nsnaps)) {
            fuzz_fail("growing from %" PRIu64 " to %" PRIu64 " failed: %s",
                      m->size, new_size, error_get_pretty(err));
        }
        error_free(err);
        if ((uint64_t)bdrv_getlength(m->bs) != m->size) {
            fuzz_fail("a refused resize changed the size");
        }
        return;
    }
    m->bytes = g_realloc(m->bytes, new_size);
    memset(m->bytes + m->size, 0, new_size - m->size);
    m->size = new_size;
}

/*
 * Takes a snapshot (d even, or none yet) or deletes snapshot d / 2 (mod
 * their number). Only 1- and 2-bit refcounts may refuse to take one
 * (no room for one more reference), and then nothing changes.
 */
static void model_snapshot(Model *m, uint8_t d)
{
    Error *err = NULL;

    if (m->nsnaps && (d & 1 || m->nsnaps == MODEL_SNAPS)) {
        unsigned k = (d / 2) % m->nsnaps;

        if (!bdrv_snapshot_delete(m->bs, m->snap_id[k], &err)) {
            fuzz_fail("deleting snapshot %s failed: %s", m->snap_id[k],
                      error_get_pretty(err));
        }
        g_free(m->snap_id[k]);
        g_free(m->snap_bytes[k]);
        memmove(m->snap_id + k, m->snap_id + k + 1,
                (m->nsnaps - k - 1) * sizeof(m->snap_id[0]));
        memmove(m->snap_bytes + k, m->snap_bytes + k + 1,
                (m->nsnaps - k - 1) * sizeof(m->snap_bytes[0]));
        memmove(m->snap_size + k, m->snap_size + k + 1,
                (m->nsnaps - k - 1) * sizeof(m->snap_size[0]));
        m->nsnaps--;
        return;
    }
    {
        g_autofree char *name = g_strdup_printf("s%u", d);
        BdrvSnapshot sn = { .name = name, .icount = -1 };

        if (!bdrv_snapshot_create(m->bs, &sn, &err)) {
            if (m->p.refcount_order > 1) {
                fuzz_fail("taking a snapshot failed: %s",
                          error_get_pretty(err));
            }
            error_free(err);
            return;
        }
        m->snap_id[m->nsnaps] = sn.id;
        m->snap_bytes[m->nsnaps] = g_memdup2(m->bytes, m->size);
        m->snap_size[m->nsnaps] = m->size;
        m->nsnaps++;
    }
}

/*
 * One operation, 6 bytes: kind (bits 0-3; bits 4-7 a sub-sector shift of
 * the offset, and for write-zeroes bit 4 may-unmap), le16 offset in
 * sectors (modulo the size), le16 length, data byte:
 *   0, 1      read            2, 3, 12, 13  write (bytes from the data
 *   4, 14     write-zeroes                  byte and the offset)
 *   15 take or delete an internal snapshot (model_snapshot, data byte)
 *   5  discard (length * 16)  6  make_empty      7  grow
 *   8  reopen                 9  check the file  10 read everything
 *   11 block status
 */
static void model_op(Model *m, const uint8_t *op)
{
    unsigned kind = op[0] & 15;
    uint64_t off = ((uint64_t)(op[1] | op[2] << 8) * 512 +
                    (op[0] >> 4) * 73) % m->size;
    uint64_t len = MIN((uint64_t)(op[3] | op[4] << 8), m->size - off);
    uint64_t cs = 1ull << m->p.cluster_bits;
    g_autofree uint8_t *buf = NULL;
    int flags;

    switch (kind) {
    case 0:
    case 1:
        model_read(m, off, len);
        break;
    case 15:
        model_snapshot(m, op[5]);
        break;
    case 2:
    case 3:
    case 12:
    case 13:
        buf = g_malloc(len ? len : 1);
        fill_write(buf, off, len, op[5]);
        if (bdrv_pwrite(m->bs, off, len, buf, 0, NULL) < 0) {
            fuzz_fail("write of %" PRIu64 "+%" PRIu64 " failed", off, len);
        }
        memcpy(m->bytes + off, buf, len);
        break;
    case 4:
    case 14:
        flags = kind == 4 && (op[0] & 16) ? BDRV_REQ_MAY_UNMAP : 0;
        len = MIN(len * 16, m->size - off);
        if (bdrv_pwrite_zeroes(m->bs, off, len, flags, NULL) < 0) {
            fuzz_fail("write-zeroes of %" PRIu64 "+%" PRIu64 " failed", off,
                      len);
        }
        memset(m->bytes + off, 0, len);
        break;
    case 5:
        len = MIN(len * 16, m->size - off);
        if (bdrv_pdiscard(m->bs, off, len, NULL) < 0) {
            fuzz_fail("discard of %" PRIu64 "+%" PRIu64 " failed", off, len);
        }
        if (m->p.version >= 3 || !m->backing) {
            /* Whole clusters only: discard leaves partial ones alone. */
            uint64_t s = (off + cs - 1) & ~(cs - 1);
            uint64_t e = (off + len) & ~(cs - 1);

            if (e > s) {
                memset(m->bytes + s, 0, e - s);
            }
        }
        break;
    case 6:
        if (bdrv_make_empty(m->bs, NULL) < 0) {
            fuzz_fail("make_empty failed");
        }
        model_show_below(m, 0, m->size);
        break;
    case 7:
        if (m->size + 8192 <= MODEL_MAX_SIZE) {
            model_grow(m, MIN(m->size + model_size_of(op[3]),
                              MODEL_MAX_SIZE));
        }
        break;
    case 8:
        bdrv_unref(m->bs);
        model_check_file(m, m->fd, "the overlay, closed");
        m->bs = model_open(m);
        model_read(m, 0, m->size);
        break;
    case 9:
        model_check_file(m, m->fd, "the overlay");
        break;
    case 10:
        model_read(m, 0, m->size);
        break;
    default:
        model_block_status(m);
        break;
    }
}

static void fuzz_model(const uint8_t *data, size_t size)
{
    const uint8_t *h = data;
    Model m = { .fd = -1, .bfd = -1 };
    g_autoptr(GByteArray) img = NULL;
    size_t nops;

    if (size < MODEL_HEADER) {
        return;
    }
    m.p.cluster_bits = 9 + (h[0] & 7);
    m.p.version = h[0] & 8 ? 2 : 3;
    m.p.refcount_order = (h[3] & 7) == 7 ? 4 : h[3] & 7;
    m.p.size = m.size = model_size_of(h[1]);
    m.backing = (h[0] >> 4) & 3;
    if (m.backing == 3) {
        m.backing = BACKING_RAW;
    }
    img = fuzz_qcow2_make(&m.p);
    if (!img) {
        return;
    }
    if (m.backing) {
        m.backing_len = model_size_of(h[2]);
        m.base = g_malloc(m.backing_len);
        fill_backing(m.base, m.backing_len, h[3] >> 3);
        if (m.backing == BACKING_QCOW2) {
            model_make_qcow2_backing(&m, h[3] >> 3);
        } else {
            m.bfd = memfd_with(m.base, m.backing_len, m.bpath,
                               sizeof(m.bpath));
        }
    }
    m.bytes = g_malloc(m.size);
    model_show_below(&m, 0, m.size);
    m.fd = memfd_with(img->data, img->len, m.path, sizeof(m.path));
    m.bs = model_open(&m);

    nops = MIN((size - MODEL_HEADER) / MODEL_OP, MODEL_OPS_MAX);
    for (size_t i = 0; i < nops; i++) {
        model_op(&m, data + MODEL_HEADER + i * MODEL_OP);
    }
    model_read(&m, 0, m.size);
    bdrv_unref(m.bs);
    model_check_file(&m, m.fd, "the overlay at the end");

    close(m.fd);
    for (unsigned i = 0; i < m.nsnaps; i++) {
        g_free(m.snap_id[i]);
        g_free(m.snap_bytes[i]);
    }
    if (m.bfd >= 0) {
        close(m.bfd);
    }
    g_free(m.base);
    g_free(m.bytes);
}

/* ---- seeds ---- */

static void seed_write(const char *dir, const char *name, const void *in,
                       size_t len)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);

    if (!g_file_set_contents(path, in, len, NULL)) {
        fprintf(stderr, "fuzz-block-qcow2: cannot write %s\n", path);
        exit(1);
    }
}

static void seed_op(GByteArray *in, uint8_t kind, uint16_t sector,
                    uint16_t len, uint8_t d)
{
    uint8_t op[MODEL_OP] = { kind, sector, sector >> 8, len, len >> 8, d };

    g_byte_array_append(in, op, sizeof(op));
}

/*
 * A modelled overlay (header bytes h0-h3) and a run of every operation:
 * partial and whole-cluster writes over the backing file, reads across
 * them, zeroes, discard, a check, block status, growth, a reopen,
 * make_empty.
 */
static void seed_model(const char *dir, const char *name, uint8_t h0,
                       uint8_t h1, uint8_t h2, uint8_t h3)
{
    g_autoptr(GByteArray) in = g_byte_array_new();
    uint8_t h[MODEL_HEADER] = { 0x80 | h0, h1, h2, h3 };

    g_byte_array_append(in, h, sizeof(h));
    seed_op(in, 2, 1, 700, 1);          /* inside one cluster */
    seed_op(in, 3, 7, 9000, 2);         /* across clusters */
    seed_op(in, 0, 0, 20000, 0);
    seed_op(in, 0x14, 40, 4096, 0);     /* zeroes, may unmap */
    seed_op(in, 14, 60, 100, 0);        /* zeroes, partial */
    seed_op(in, 5, 8, 2048, 0);         /* discard */
    seed_op(in, 9, 0, 0, 0);            /* check */
    seed_op(in, 11, 0, 0, 0);           /* block status */
    seed_op(in, 7, 0, 0, 0);            /* grow */
    seed_op(in, 10, 0, 0, 0);
    seed_op(in, 12, 90, 30000, 3);
    seed_op(in, 8, 0, 0, 0);            /* reopen */
    seed_op(in, 11, 0, 0, 0);
    seed_op(in, 6, 0, 0, 0);            /* make_empty */
    seed_op(in, 10, 0, 0, 0);
    seed_op(in, 13, 3, 5000, 4);
    seed_op(in, 9, 0, 0, 0);
    /* Internal snapshots: take two, write over what they share, delete
     * the first, write again. */
    seed_op(in, 15, 0, 0, 0);           /* take */
    seed_op(in, 2, 2, 3000, 5);
    seed_op(in, 15, 0, 0, 2);           /* take */
    seed_op(in, 0x14, 0, 8192, 0);      /* zeroes over shared clusters */
    seed_op(in, 9, 0, 0, 0);
    seed_op(in, 15, 0, 0, 1);           /* delete the first */
    seed_op(in, 3, 1, 6000, 6);
    seed_op(in, 8, 0, 0, 0);            /* reopen: the table is read */
    seed_op(in, 6, 0, 0, 0);            /* make_empty under a snapshot */
    seed_op(in, 9, 0, 0, 0);
    seed_write(dir, name, in->data, in->len);
}

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
    /* An image with data and zero clusters: L2 tables to walk, clusters
     * the backing node shows through between them. */
    {
        g_autofree char *cmd = g_strdup_printf(
            "qemu-img create -q -f qcow2 -o cluster_size=4096 "
            "'%s/seed-data.qcow2' 1M && qemu-io -f qcow2 "
            "-c 'write -q -P 0x11 4k 8k' -c 'write -q -z 64k 8k' "
            "-c 'write -q -P 0x22 512k 4k' '%s/seed-data.qcow2'", dir, dir);

        if (system(cmd) != 0) {
            fprintf(stderr, "could not run: %s\n", cmd);
        }
    }
    /* Snapshots qemu-img took, one over data a later write changed. */
    {
        g_autofree char *cmd = g_strdup_printf(
            "qemu-img create -q -f qcow2 -o cluster_size=4096 "
            "'%s/seed-snap.qcow2' 1M && qemu-io -f qcow2 "
            "-c 'write -q -P 0x11 4k 8k' '%s/seed-snap.qcow2' && "
            "qemu-img snapshot -c a '%s/seed-snap.qcow2' && qemu-io -f qcow2 "
            "-c 'write -q -P 0x22 8k 8k' '%s/seed-snap.qcow2' && "
            "qemu-img snapshot -c b '%s/seed-snap.qcow2'", dir, dir, dir, dir,
            dir);

        if (system(cmd) != 0) {
            fprintf(stderr, "could not run: %s\n", cmd);
        }
    }
    /* 4 KiB clusters over a raw backing file larger than the disk. */
    seed_model(dir, "seed-model-raw", 3 | (BACKING_RAW << 4), 8, 40, 4);
    /* 512-byte clusters, 1-bit refcounts, a qcow2 backing file, an odd
     * size. */
    seed_model(dir, "seed-model-qcow2", 0 | (BACKING_QCOW2 << 4), 0x47, 20,
               0 | 5 << 3);
    /* Version 2, 64 KiB clusters, over a raw backing file. */
    seed_model(dir, "seed-model-v2", 7 | 8 | (BACKING_RAW << 4), 20, 12, 4);
    /* No backing file, 1 KiB clusters, 64-bit refcounts. */
    seed_model(dir, "seed-model-none", 1, 30, 0, 6);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size && (data[0] & 0x80)) {
        fuzz_model(data, size);
    } else {
        fuzz_hostile(data, size);
    }
    return 0;
}
