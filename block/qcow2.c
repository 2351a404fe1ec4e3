/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qcow2 format driver: header parsing and validation (the image is
 * untrusted input: every offset and size is checked before use), the
 * metadata caches, and the request entry points. Mapping and allocation
 * are in qcow2-cluster.c and qcow2-refcount.c; the format is summarised
 * in block/qcow2.h.
 *
 * Supported: versions 2 and 3, any cluster size from 512 B to 2 MiB, any
 * refcount width, backing files (with their format extension), zero
 * clusters, discard, write-zeroes, growing, make_empty, internal
 * snapshots (listed, taken, deleted; shared clusters copied on write). Refused with an
 * error naming the feature: encryption, external data files, extended L2
 * entries, unknown incompatible features, a dirty or corrupt image opened
 * read-write; compressed clusters fail the request that reaches them
 * (and taking or deleting a snapshot that reaches them). Internal
 * snapshots: block/qcow2-snapshot.c.
 */
#include <errno.h>
#include <string.h>
#include "qcow2.h"
#include "trace.h"

typedef struct Qcow2Header {
    uint32_t magic;
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t cluster_bits;
    uint64_t size;
    uint32_t crypt_method;
    uint32_t l1_size;
    uint64_t l1_table_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    /* version 3 */
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint32_t refcount_order;
    uint32_t header_length;
} Qcow2Header;

static void parse_header(const uint8_t *b, Qcow2Header *h)
{
    h->magic = be32_at(b + 0);
    h->version = be32_at(b + 4);
    h->backing_file_offset = be64_at(b + 8);
    h->backing_file_size = be32_at(b + 16);
    h->cluster_bits = be32_at(b + 20);
    h->size = be64_at(b + 24);
    h->crypt_method = be32_at(b + 32);
    h->l1_size = be32_at(b + 36);
    h->l1_table_offset = be64_at(b + 40);
    h->refcount_table_offset = be64_at(b + 48);
    h->refcount_table_clusters = be32_at(b + 56);
    h->nb_snapshots = be32_at(b + 60);
    h->snapshots_offset = be64_at(b + 64);
    if (h->version >= 3) {
        h->incompatible_features = be64_at(b + 72);
        h->compatible_features = be64_at(b + 80);
        h->autoclear_features = be64_at(b + 88);
        h->refcount_order = be32_at(b + 96);
        h->header_length = be32_at(b + 100);
    } else {
        h->incompatible_features = 0;
        h->compatible_features = 0;
        h->autoclear_features = 0;
        h->refcount_order = 4;
        h->header_length = QCOW2_V2_HEADER_LEN;
    }
}

int qcow2_corrupt(BlockDriverState *bs, const char *what)
{
    trace_qcow2_corrupt(bs->node_name, what);
    return -EIO;
}

void *qcow2_cache_get(BlockDriverState *bs, Qcow2CacheEntry *cache, int n,
                      uint64_t offset, bool zeroed, int *ret)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2CacheEntry *victim = &cache[0];

    *ret = 0;
    for (int i = 0; i < n; i++) {
        if (cache[i].offset == offset && cache[i].table) {
            cache[i].lru = ++s->lru_clock;
            if (zeroed) {
                memset(cache[i].table, 0, s->cluster_size);
            }
            return cache[i].table;
        }
        if (cache[i].lru < victim->lru) {
            victim = &cache[i];
        }
    }
    if (!victim->table) {
        victim->table = g_malloc(s->cluster_size);
    }
    victim->offset = 0;
    if (zeroed) {
        memset(victim->table, 0, s->cluster_size);
    } else {
        *ret = bdrv_pread(bs->file->bs, offset, s->cluster_size,
                          victim->table, NULL);
        if (*ret < 0) {
            return NULL;
        }
    }
    victim->offset = offset;
    victim->lru = ++s->lru_clock;
    return victim->table;
}

void qcow2_cache_drop(Qcow2CacheEntry *cache, int n, uint64_t offset)
{
    for (int i = 0; i < n; i++) {
        if (cache[i].offset == offset) {
            cache[i].offset = 0;
            cache[i].lru = 0;
        }
    }
}

void qcow2_cache_free(Qcow2CacheEntry *cache, int n)
{
    for (int i = 0; i < n; i++) {
        g_free(cache[i].table);
        cache[i].table = NULL;
        cache[i].offset = 0;
    }
}

/* Incompatible bits we refuse, and why (names as in the feature table). */
static bool check_incompatible(BlockDriverState *bs, uint64_t bits,
                               Error **errp)
{
    static const char *const names[] = {
        [0] = "dirty bit", [1] = "corrupt bit", [2] = "external data file",
        [3] = "compression type", [4] = "extended L2 entries",
    };
    uint64_t known_ok = QCOW2_INCOMPAT_COMPRESSION;   /* checked per cluster */

    if (bits & QCOW2_INCOMPAT_DIRTY) {
        if (!bs->read_only) {
            error_setg(errp, "qcow2 image is dirty (lazy refcounts): repair "
                       "it with 'qemu-img check -r all' or open it "
                       "read-only");
            return false;
        }
        known_ok |= QCOW2_INCOMPAT_DIRTY;
    }
    if (bits & QCOW2_INCOMPAT_CORRUPT) {
        if (!bs->read_only) {
            error_setg(errp, "qcow2 image is corrupt; cannot be opened "
                       "read/write");
            return false;
        }
        known_ok |= QCOW2_INCOMPAT_CORRUPT;
    }
    bits &= ~known_ok;
    if (bits) {
        int bit = __builtin_ctzll(bits);

        if (bit < (int)G_N_ELEMENTS(names) && names[bit]) {
            error_setg(errp, "Unsupported qcow2 feature(s): %s", names[bit]);
        } else {
            error_setg(errp, "Unsupported qcow2 feature(s): Unknown "
                       "incompatible feature: %" G_GINT64_MODIFIER "x",
                       (guint64)1 << bit);
        }
        return false;
    }
    return true;
}

/* Header extensions, bounded by header_length and the first cluster. */
static bool read_extensions(BlockDriverState *bs, const uint8_t *hdr,
                            uint64_t start, uint64_t end, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off = start;

    while (off + 8 <= end) {
        uint32_t type = be32_at(hdr + off);
        uint32_t len = be32_at(hdr + off + 4);

        off += 8;
        if (type == QCOW2_EXT_END) {
            return true;
        }
        if (len > end - off) {
            error_setg(errp, "qcow2 header extension 0x%x is too long "
                       "(%u bytes)", type, len);
            return false;
        }
        if (type == QCOW2_EXT_BACKING_FORMAT) {
            g_free(s->backing_format);
            s->backing_format = g_strndup((const char *)hdr + off,
                                          MIN(len, 15));
        }
        off += (len + 7) & ~7u;
    }
    return true;
}

static bool read_table(BlockDriverState *bs, uint64_t offset, uint64_t n,
                       uint64_t **out, const char *what, Error **errp)
{
    g_autofree uint64_t *t = g_new(uint64_t, n ? n : 1);
    int ret = n ? bdrv_pread(bs->file->bs, offset, n * 8, t, NULL) : 0;

    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read the %s", what);
        return false;
    }
    for (uint64_t i = 0; i < n; i++) {
        t[i] = GUINT64_FROM_BE(t[i]);
    }
    *out = g_steal_pointer(&t);
    return true;
}

static bool qcow2_drop_autoclear(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t zero = 0;

    if (!s->autoclear) {
        return true;
    }
    if (bdrv_pwrite(bs->file->bs, QCOW2_HDR_AUTOCLEAR, 8, &zero, 0,
                    NULL) < 0) {
        error_setg(errp, "Could not update the qcow2 header");
        return false;
    }
    s->autoclear = 0;
    return true;
}

static bool qcow2_do_open(BlockDriverState *bs, const BlockdevOptions *opts,
                          Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    const BlockdevOptionsQcow2 *o = &opts->u.qcow2;
    int64_t flen = bdrv_getlength(bs->file->bs);
    uint8_t hdr[QCOW2_V3_HEADER_LEN] = { 0 };
    g_autofree uint8_t *cluster0 = NULL;
    Qcow2Header h;
    uint64_t l2_coverage, l1_needed;

    if (flen < 0) {
        error_setg_errno(errp, (int)-flen, "Could not get the file's size");
        return false;
    }
    if (flen < QCOW2_V2_HEADER_LEN ||
        bdrv_pread(bs->file->bs, 0, sizeof(hdr), hdr, NULL) < 0) {
        error_setg(errp, "Image is not in qcow2 format");
        return false;
    }
    parse_header(hdr, &h);
    if (h.magic != QCOW2_MAGIC) {
        error_setg(errp, "Image is not in qcow2 format");
        return false;
    }
    if (h.version < 2 || h.version > 3) {
        error_setg(errp, "Unsupported qcow2 version %u", h.version);
        return false;
    }
    if (h.cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
        h.cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
        error_setg(errp, "Unsupported cluster size: 2^%u", h.cluster_bits);
        return false;
    }
    s->version = h.version;
    s->cluster_bits = h.cluster_bits;
    s->cluster_size = 1ull << h.cluster_bits;
    s->l2_bits = h.cluster_bits - 3;
    if (h.version >= 3 && (h.header_length < QCOW2_V3_HEADER_LEN ||
                           h.header_length > s->cluster_size)) {
        error_setg(errp, "qcow2 header length %u is invalid",
                   h.header_length);
        return false;
    }
    if (!check_incompatible(bs, h.incompatible_features, errp)) {
        return false;
    }
    if (h.crypt_method) {
        error_setg(errp, "encrypted images are not supported (crypt method "
                   "%u)", h.crypt_method);
        return false;
    }
    if (h.refcount_order > 6) {
        error_setg(errp, "Refcount width must be at most 64 bits (order %u)",
                   h.refcount_order);
        return false;
    }
    /* Virtual size: each L1 entry maps one L2 table's worth. */
    l2_coverage = s->cluster_size << s->l2_bits;
    if (h.size > (1ull << 62)) {
        error_setg(errp, "Image size %" G_GUINT64_FORMAT " is too large",
                   h.size);
        return false;
    }
    l1_needed = (h.size + l2_coverage - 1) / l2_coverage;
    if ((uint64_t)h.l1_size * 8 > QCOW2_MAX_L1_BYTES) {
        error_setg(errp, "Active L1 table too large (%u entries)",
                   h.l1_size);
        return false;
    }
    if (h.l1_size < l1_needed) {
        error_setg(errp, "L1 table is too small (%u entries for %"
                   G_GUINT64_FORMAT " needed)", h.l1_size, l1_needed);
        return false;
    }
    if ((h.l1_table_offset & (s->cluster_size - 1)) ||
        (h.l1_size && (h.l1_table_offset >= (uint64_t)flen ||
                       h.l1_size * 8ull > (uint64_t)flen -
                                          h.l1_table_offset))) {
        error_setg(errp, "Invalid L1 table offset 0x%" G_GINT64_MODIFIER "x",
                   (guint64)h.l1_table_offset);
        return false;
    }
    if ((h.refcount_table_offset & (s->cluster_size - 1)) ||
        h.refcount_table_clusters == 0 ||
        ((uint64_t)h.refcount_table_clusters << s->cluster_bits) >
        QCOW2_MAX_REFTABLE_BYTES ||
        h.refcount_table_offset >= (uint64_t)flen ||
        ((uint64_t)h.refcount_table_clusters << s->cluster_bits) >
        (uint64_t)flen - h.refcount_table_offset + s->cluster_size) {
        error_setg(errp, "Invalid reference count table offset 0x%"
                   G_GINT64_MODIFIER "x or size %u clusters",
                   (guint64)h.refcount_table_offset,
                   h.refcount_table_clusters);
        return false;
    }
    if (h.backing_file_offset &&
        (h.backing_file_size > 1023 ||
         h.backing_file_offset > s->cluster_size ||
         h.backing_file_size > s->cluster_size - h.backing_file_offset)) {
        error_setg(errp, "Backing file name too long or out of place");
        return false;
    }

    /* Cluster 0 holds the header, its extensions and the backing name. */
    cluster0 = g_malloc0(s->cluster_size);
    if (bdrv_pread(bs->file->bs, 0, s->cluster_size, cluster0, NULL) < 0) {
        error_setg(errp, "Could not read the qcow2 header");
        return false;
    }
    if (h.backing_file_offset && h.backing_file_size) {
        s->backing_file = g_strndup((const char *)cluster0 +
                                    h.backing_file_offset,
                                    h.backing_file_size);
    }
    if (!read_extensions(bs, cluster0, h.header_length,
                         h.backing_file_offset ? h.backing_file_offset
                                               : s->cluster_size,
                         errp)) {
        return false;
    }

    s->size = h.size;
    s->incompatible = h.incompatible_features;
    s->autoclear = h.autoclear_features;
    s->l1_size = h.l1_size;
    s->l1_offset = h.l1_table_offset;
    s->refcount_order = h.refcount_order;
    s->refblock_bits = h.cluster_bits + 3 - h.refcount_order;
    s->reftable_offset = h.refcount_table_offset;
    s->reftable_size = ((uint64_t)h.refcount_table_clusters <<
                        s->cluster_bits) / 8;
    s->pass_discard = !o->has_pass_discard_request ||
                      o->pass_discard_request;
    if (!read_table(bs, s->l1_offset, s->l1_size, &s->l1, "L1 table",
                    errp) ||
        !read_table(bs, s->reftable_offset, s->reftable_size, &s->reftable,
                    "reference count table", errp)) {
        return false;
    }
    /*
     * Tables must point inside the file: a hostile image could otherwise
     * make every walk (make_empty, allocation) read clusters of zeroes
     * from far past its end.
     */
    for (uint64_t i = 0; i < s->l1_size; i++) {
        uint64_t off = s->l1[i] & QCOW2_OFFSET_MASK;

        if ((off & (s->cluster_size - 1)) || off >= (uint64_t)flen) {
            error_setg(errp, "L1 entry %" G_GUINT64_FORMAT " is invalid "
                       "(offset 0x%" G_GINT64_MODIFIER "x): the image is "
                       "corrupt", i, (guint64)off);
            return false;
        }
    }
    for (uint64_t i = 0; i < s->reftable_size; i++) {
        uint64_t off = s->reftable[i] & QCOW2_REFT_OFFSET_MASK;

        if ((off & (s->cluster_size - 1)) || off >= (uint64_t)flen) {
            error_setg(errp, "Reference count table entry %" G_GUINT64_FORMAT
                       " is invalid (offset 0x%" G_GINT64_MODIFIER "x): the "
                       "image is corrupt", i, (guint64)off);
            return false;
        }
    }
    if (!qcow2_read_snapshots(bs, h.nb_snapshots, h.snapshots_offset,
                              (uint64_t)flen, errp)) {
        return false;
    }
    /* Autoclear bits describe data we do not keep up to date: drop them
     * (once active: an inactive node writes nothing; qcow2_activate). */
    if (!bs->read_only && !bs->inactive && !qcow2_drop_autoclear(bs, errp)) {
        return false;
    }
    trace_qcow2_open(bs->node_name, s->version, s->cluster_bits, s->size);
    return true;
}

static void qcow2_free_state(BDRVQcow2State *s)
{
    qcow2_cache_free(s->l2_cache, QCOW2_L2_CACHE);
    qcow2_cache_free(s->rb_cache, QCOW2_RB_CACHE);
    qcow2_free_snapshots(s);
    g_clear_pointer(&s->l1, g_free);
    g_clear_pointer(&s->reftable, g_free);
    g_clear_pointer(&s->backing_file, g_free);
    g_clear_pointer(&s->backing_format, g_free);
}

static bool qcow2_open(BlockDriverState *bs, const BlockdevOptions *opts,
                       Error **errp)
{
    BDRVQcow2State *s = bs->opaque;

    g_mutex_init(&s->lock);
    if (!qcow2_do_open(bs, opts, errp)) {
        qcow2_free_state(s);
        g_mutex_clear(&s->lock);
        return false;
    }
    return true;
}

static void qcow2_close(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    qcow2_free_state(s);
    g_mutex_clear(&s->lock);
}

/*
 * The image's owner (the migration peer) wrote it while this node was
 * inactive: header, L1 and refcount tables may all have moved or grown,
 * and any cached L2 or refcount block may be stale. Everything is read
 * and validated again into a fresh state, swapped in only when whole, so
 * a failure leaves the node as it was (inactive). No request is in
 * flight (block/activation.c drains first).
 */
static bool qcow2_activate(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *old = bs->opaque;
    BDRVQcow2State *s = g_new0(BDRVQcow2State, 1);
    BlockdevOptions opts = {
        .driver = BLOCKDEV_DRIVER_QCOW2,
        .u.qcow2.has_pass_discard_request = true,
        .u.qcow2.pass_discard_request = old->pass_discard,
    };
    bool ok;

    g_mutex_init(&s->lock);
    bs->opaque = s;
    /* The caller clears bs->inactive after; the autoclear write is due. */
    bs->inactive = false;
    ok = qcow2_do_open(bs, &opts, errp);
    bs->inactive = true;
    if (!ok) {
        qcow2_free_state(s);
        g_mutex_clear(&s->lock);
        g_free(s);
        bs->opaque = old;
        return false;
    }
    qcow2_free_state(old);
    g_mutex_clear(&old->lock);
    g_free(old);
    trace_qcow2_reload(bs->node_name, s->l1_size, s->reftable_size);
    return true;
}

/* Tables are written through as they change: nothing to write back, but
 * nothing cached may be trusted once the peer owns the image. */
static void qcow2_inactivate(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    qcow2_cache_free(s->l2_cache, QCOW2_L2_CACHE);
    qcow2_cache_free(s->rb_cache, QCOW2_RB_CACHE);
}

/*
 * An image opened read-only is to be written (the base of a commit):
 * what open refuses read-write is refused now, in open's words, and the
 * autoclear bits go as they would have at a read-write open.
 */
static bool qcow2_make_writable(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    if (!check_incompatible(bs, s->incompatible, errp)) {
        return false;
    }
    return qcow2_drop_autoclear(bs, errp);
}

static bool qcow2_open_default_backing(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;

    if (!s->backing_file) {
        return true;
    }
    return bdrv_open_backing_file(bs, s->backing_file, s->backing_format,
                                  errp);
}

static int qcow2_preadv(BlockDriverState *bs, uint64_t offset,
                        BlockIov *qiov, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    return qcow2_read(bs, offset, qiov);
}

static int qcow2_pwritev(BlockDriverState *bs, uint64_t offset,
                         BlockIov *qiov, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    {
        g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);
        ret = qcow2_write(bs, offset, qiov,
                          flags & BDRV_REQ_ONLY_UNALLOCATED);
    }
    if (ret == 0 && (flags & BDRV_REQ_FUA)) {
        ret = bdrv_flush(bs->file->bs, NULL);
    }
    return ret;
}

/* Writes real zeroes over [offset, +bytes) (less than two clusters). */
static int write_zero_bytes(BlockDriverState *bs, uint64_t offset,
                            uint64_t bytes)
{
    g_autofree void *zeroes = g_malloc0(bytes);
    struct iovec one;
    BlockIov q;

    if (!bytes) {
        return 0;
    }
    block_iov_init_buf(&q, &one, zeroes, bytes);
    return qcow2_write(bs, offset, &q, false);
}

/*
 * Whole clusters are remapped (zero flag, or unallocated); for
 * write-zeroes the partial clusters at either end get real zeroes, for
 * discard they are left alone (discard is advisory).
 */
static int qcow2_zero_range(BlockDriverState *bs, uint64_t offset,
                            uint64_t bytes, bool discard, bool may_unmap)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t start = (offset + s->cluster_size - 1) & ~(s->cluster_size - 1);
    uint64_t end = (offset + bytes) & ~(s->cluster_size - 1);
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);
    int ret;

    if (!discard && s->version < 3) {
        return -ENOTSUP;
    }
    if (end <= start) {
        return discard ? 0 : write_zero_bytes(bs, offset, bytes);
    }
    if (!discard) {
        ret = write_zero_bytes(bs, offset, start - offset);
        if (ret == 0) {
            ret = write_zero_bytes(bs, end, offset + bytes - end);
        }
        if (ret < 0) {
            return ret;
        }
    }
    return qcow2_zero_or_discard(bs, start, end - start, discard, may_unmap);
}

static int qcow2_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                               uint64_t bytes, int flags)
{
    int ret = qcow2_zero_range(bs, offset, bytes, false,
                               flags & BDRV_REQ_MAY_UNMAP);

    if (ret == 0 && (flags & BDRV_REQ_FUA)) {
        ret = bdrv_flush(bs->file->bs, NULL);
    }
    return ret;
}

static int qcow2_pdiscard(BlockDriverState *bs, uint64_t offset,
                          uint64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;

    if (s->version < 3 && bdrv_backing_bs(bs)) {
        return 0;   /* no zero flag to hide the backing file: ignore */
    }
    return qcow2_zero_range(bs, offset, bytes, true, true);
}

static int64_t qcow2_getlength(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    return s->size;
}

/*
 * Growing an overlay whose backing file is longer than it was: the new
 * part must read zeroes, as on any grown disk, not the backing file's
 * bytes that happen to lie there (QEMU hides them too). Real zeroes over
 * the rest of the old last cluster (its tail may hold data copied up
 * from the backing file), zero clusters from there to where the backing
 * file ends; past that the backing file shows nothing. Called before the
 * size grows, so that no crash leaves a grown image showing the backing
 * file; the L1 table already covers new_size.
 */
static int qcow2_zero_new_area(BlockDriverState *bs, uint64_t new_size,
                               uint64_t backing_len)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t mask = s->cluster_size - 1;
    uint64_t start = (s->size + mask) & ~mask;
    uint64_t end = MIN(new_size, (backing_len + mask) & ~mask);
    int ret = write_zero_bytes(bs, s->size, MIN(start, new_size) - s->size);

    if (ret == 0 && end > start) {
        ret = qcow2_zero_or_discard(bs, start, end - start, false, true);
    }
    return ret;
}

static int qcow2_truncate(BlockDriverState *bs, uint64_t size, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l2_coverage = s->cluster_size << s->l2_bits;
    uint64_t l1_needed = (size + l2_coverage - 1) / l2_coverage;
    BlockDriverState *backing = bdrv_backing_bs(bs);
    int64_t backing_len = backing ? bdrv_getlength(backing) : 0;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);
    uint64_t be;
    bool hide;
    int ret;

    if (size < s->size) {
        error_setg(errp, "qcow2 doesn't support shrinking images yet");
        return -ENOTSUP;
    }
    if (size > (1ull << 62)) {
        error_setg(errp, "Image size %" G_GUINT64_FORMAT " is too large",
                   size);
        return -EFBIG;
    }
    if (size != s->size && s->nb_snapshots && s->version < 3) {
        /* A v2 snapshot entry has no room for its own disk size. */
        error_setg(errp, "Can't resize a v2 image which has snapshots");
        return -ENOTSUP;
    }
    if (backing_len < 0) {
        error_setg_errno(errp, (int)-backing_len, "Could not get the size "
                         "of the backing file");
        return (int)backing_len;
    }
    hide = size > s->size && (uint64_t)backing_len > s->size;
    if (hide && s->version < 3) {
        /* No zero clusters to hide the backing file with; QEMU's text. */
        error_setg_errno(errp, ENOTSUP, "Failed to zero out new clusters");
        return -ENOTSUP;
    }
    if (l1_needed > s->l1_size) {
        ret = qcow2_grow_l1(bs, l1_needed);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to grow the L1 table");
            return ret;
        }
    }
    if (hide) {
        ret = qcow2_zero_new_area(bs, size, backing_len);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to zero out new clusters");
            return ret;
        }
    }
    be = GUINT64_TO_BE(size);
    ret = bdrv_pwrite(bs->file->bs, QCOW2_HDR_SIZE, 8, &be, 0, NULL);
    if (ret == 0) {
        ret = bdrv_flush(bs->file->bs, NULL);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to update the image size");
        return ret;
    }
    s->size = size;
    return 0;
}

static int qcow2_block_status(BlockDriverState *bs, uint64_t offset,
                              uint64_t bytes, uint64_t *pnum, uint64_t *map,
                              BlockDriverState **file)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);
    Qcow2ClusterType first_type = QCOW2_CLUSTER_UNALLOCATED;
    uint64_t first_host = 0, done = 0;

    while (done < bytes) {
        uint64_t off = offset + done;
        uint64_t in = off & (s->cluster_size - 1);
        uint64_t len = MIN(bytes - done, s->cluster_size - in);
        Qcow2ClusterType type;
        uint64_t host;
        int ret = qcow2_get_cluster(bs, off, &type, &host);

        if (ret < 0) {
            return ret;
        }
        if (done == 0) {
            first_type = type;
            first_host = host + in;
        } else if (type != first_type ||
                   (type == QCOW2_CLUSTER_NORMAL &&
                    host + in != first_host + done)) {
            break;
        }
        done += len;
    }
    *pnum = done;
    *map = first_host;
    *file = bs->file->bs;
    switch (first_type) {
    case QCOW2_CLUSTER_NORMAL:
        return BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED |
               BDRV_BLOCK_OFFSET_VALID;
    case QCOW2_CLUSTER_ZERO:
        return BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED;
    default:
        return bdrv_backing_bs(bs) ? 0 : BDRV_BLOCK_ZERO;
    }
}

static int qcow2_make_empty(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    return qcow2_empty(bs);
}

static int64_t qcow2_get_allocated_size(BlockDriverState *bs)
{
    const BlockDriver *d = bs->file->bs->drv;

    return d->get_allocated_size ? d->get_allocated_size(bs->file->bs)
                                 : -ENOTSUP;
}

static const char *qcow2_backing_filename(BlockDriverState *bs)
{
    return ((BDRVQcow2State *)bs->opaque)->backing_file;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, 8);
}

/*
 * The header cluster with a new backing file name: the extensions other
 * than the backing format are kept as they are, then the new format
 * extension (if fmt), the end marker and the name, all inside cluster 0
 * as the format requires. *hdr is cluster 0 as read; false when it does
 * not fit.
 */
static bool qcow2_rebuild_header(BDRVQcow2State *s, uint8_t *hdr,
                                 const char *file, const char *fmt)
{
    uint32_t hlen = s->version >= 3 ? be32_at(hdr + 100)
                                    : QCOW2_V2_HEADER_LEN;
    uint64_t old_name = be64_at(hdr + 8);
    uint64_t end = old_name ? old_name : s->cluster_size;
    g_autofree uint8_t *area = g_malloc0(s->cluster_size);
    size_t name_len = file ? strlen(file) : 0;
    uint64_t off = hlen, out = 0;

    if (fmt) {
        size_t n = strlen(fmt);

        put_be32(area, QCOW2_EXT_BACKING_FORMAT);
        put_be32(area + 4, n);
        memcpy(area + 8, fmt, n);
        out = 8 + ((n + 7) & ~(size_t)7);
    }
    /* The image was validated at open: the walk stays inside end. */
    while (off + 8 <= end) {
        uint32_t type = be32_at(hdr + off);
        uint64_t len = 8 + ((be32_at(hdr + off + 4) + 7ull) & ~7ull);

        if (type == QCOW2_EXT_END || len > end - off) {
            break;
        }
        if (type != QCOW2_EXT_BACKING_FORMAT) {
            if (hlen + out + len + 8 > s->cluster_size) {
                return false;
            }
            memcpy(area + out, hdr + off, len);
            out += len;
        }
        off += len;
    }
    out += 8;       /* the end marker: zeroes */
    if (name_len > 1023 || hlen + out + name_len > s->cluster_size) {
        return false;
    }
    memcpy(area + out, file, name_len);
    memset(hdr + hlen, 0, s->cluster_size - hlen);
    memcpy(hdr + hlen, area, out + name_len);
    put_be64(hdr + 8, name_len ? hlen + out : 0);
    put_be32(hdr + 16, name_len);
    return true;
}

/*
 * Records a new backing file (block-stream, block-commit): cluster 0 is
 * written whole in one request and flushed, so the image names either
 * the old backing file or the new one.
 */
static bool qcow2_change_backing_file(BlockDriverState *bs, const char *file,
                                      const char *fmt, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);
    g_autofree uint8_t *hdr = g_malloc(s->cluster_size);
    int ret = bdrv_pread(bs->file->bs, 0, s->cluster_size, hdr, errp);

    if (ret < 0) {
        return false;
    }
    if (!qcow2_rebuild_header(s, hdr, file, fmt)) {
        error_setg(errp, "Could not change the backing file to '%s': the "
                   "name does not fit in the image header", file);
        return false;
    }
    ret = bdrv_pwrite(bs->file->bs, 0, s->cluster_size, hdr, 0, errp);
    if (ret == 0) {
        ret = bdrv_flush(bs->file->bs, errp);
    }
    if (ret < 0) {
        return false;
    }
    g_free(s->backing_file);
    s->backing_file = file ? g_strdup(file) : NULL;
    g_free(s->backing_format);
    s->backing_format = file && fmt ? g_strdup(fmt) : NULL;
    trace_qcow2_change_backing_file(bs->node_name, file ? file : "",
                                    fmt ? fmt : "");
    return true;
}

static int qcow2_cluster_size(BlockDriverState *bs)
{
    return (int)((BDRVQcow2State *)bs->opaque)->cluster_size;
}

const BlockDriver bdrv_qcow2 = {
    .format_name = "qcow2",
    .instance_size = sizeof(BDRVQcow2State),
    .is_format = true,
    .supports_backing = true,
    .open = qcow2_open,
    .close = qcow2_close,
    .open_default_backing = qcow2_open_default_backing,
    .preadv = qcow2_preadv,
    .pwritev = qcow2_pwritev,
    .pwrite_zeroes = qcow2_pwrite_zeroes,
    .pdiscard = qcow2_pdiscard,
    .getlength = qcow2_getlength,
    .truncate = qcow2_truncate,
    .block_status = qcow2_block_status,
    .make_empty = qcow2_make_empty,
    .get_allocated_size = qcow2_get_allocated_size,
    .backing_filename = qcow2_backing_filename,
    .change_backing_file = qcow2_change_backing_file,
    .make_writable = qcow2_make_writable,
    .cluster_size = qcow2_cluster_size,
    .activate = qcow2_activate,
    .inactivate = qcow2_inactivate,
    .snapshot_list = qcow2_snapshot_list,
    .snapshot_create = qcow2_snapshot_create,
    .snapshot_delete = qcow2_snapshot_delete,
};
