/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 internal snapshots: the snapshot table (read and checked at
 * open, rewritten whole on every change), taking a snapshot and deleting
 * one. Reverting to one is qemu-img's business, not ours.
 *
 * Snapshot table entry (8-byte aligned, big-endian):
 *    0  u64 L1 table offset        8  u32 L1 entries
 *   12  u16 id length             14  u16 name length
 *   16  u32 date (s)              20  u32 date (ns)
 *   24  u64 guest clock (ns)      32  u32 VM state size
 *   36  u32 extra data size       40  extra data, id, name, padding
 * Extra data: u64 VM state size (large), u64 virtual disk size, u64
 * icount (-1: none); longer extra data is kept as it is.
 *
 * Crash safety: the header's nb_snapshots and snapshots_offset (adjacent:
 * one 12-byte write) switch from the old table to a new one written and
 * flushed elsewhere. Taking a snapshot raises refcounts and clears COPIED
 * flags before the switch; deleting one switches first and lowers
 * refcounts after. A crash anywhere leaves refcounts too high (leaked
 * clusters, repaired by 'qemu-img check -r leaks'), never a snapshot
 * whose clusters the active image could overwrite or free.
 *
 * Called through the driver hooks with the node's lock taken here.
 */
#include <errno.h>
#include <string.h>
#include "qcow2.h"
#include "trace.h"

#define QCOW2_SN_HEADER_LEN 40
#define QCOW2_SN_EXTRA_LEN 24           /* what we write */
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_SNAPSHOT_EXTRA 1024
#define QCOW2_MAX_SNAPSHOTS_BYTES (64u << 20)

static void put_be16(uint8_t *p, uint16_t v)
{
    v = GUINT16_TO_BE(v);
    memcpy(p, &v, 2);
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

static void snapshot_clear(Qcow2Snapshot *sn)
{
    g_free(sn->id);
    g_free(sn->name);
    g_free(sn->extra);
    memset(sn, 0, sizeof(*sn));
}

void qcow2_free_snapshots(BDRVQcow2State *s)
{
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        snapshot_clear(&s->snapshots[i]);
    }
    g_clear_pointer(&s->snapshots, g_free);
    s->nb_snapshots = 0;
}

static uint64_t entry_len(const Qcow2Snapshot *sn)
{
    uint64_t len = QCOW2_SN_HEADER_LEN + sn->extra_size + strlen(sn->id) +
                   strlen(sn->name);

    return (len + 7) & ~7ull;
}

static uint64_t clusters_for(BDRVQcow2State *s, uint64_t bytes)
{
    return (bytes + s->cluster_size - 1) >> s->cluster_bits;
}

/* One entry at *off (advanced past it), checked against the file. */
static bool read_one(BlockDriverState *bs, uint64_t *off, uint64_t end,
                     uint64_t file_len, Qcow2Snapshot *sn, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t h[QCOW2_SN_HEADER_LEN];
    uint16_t id_len, name_len;
    g_autofree uint8_t *rest = NULL;
    uint64_t rest_len;

    if (end - *off < sizeof(h) ||
        bdrv_pread(bs->file->bs, *off, sizeof(h), h, NULL) < 0) {
        error_setg(errp, "Could not read the snapshot table");
        return false;
    }
    sn->l1_offset = be64_at(h);
    sn->l1_size = be32_at(h + 8);
    id_len = be16_at(h + 12);
    name_len = be16_at(h + 14);
    sn->date_sec = be32_at(h + 16);
    sn->date_nsec = be32_at(h + 20);
    sn->vm_clock_nsec = be64_at(h + 24);
    sn->vm_state_size = be32_at(h + 32);
    sn->extra_size = be32_at(h + 36);
    if (sn->extra_size > QCOW2_MAX_SNAPSHOT_EXTRA) {
        error_setg(errp, "Too much extra data in snapshot table entry "
                   "(%u bytes)", sn->extra_size);
        return false;
    }
    rest_len = (uint64_t)sn->extra_size + id_len + name_len;
    if (end - *off - sizeof(h) < rest_len) {
        error_setg(errp, "Snapshot table is larger than the image allows");
        return false;
    }
    rest = g_malloc(rest_len ? rest_len : 1);
    if (rest_len && bdrv_pread(bs->file->bs, *off + sizeof(h), rest_len,
                               rest, NULL) < 0) {
        error_setg(errp, "Could not read the snapshot table");
        return false;
    }
    sn->extra = g_memdup2(rest, sn->extra_size);
    sn->id = g_strndup((char *)rest + sn->extra_size, id_len);
    sn->name = g_strndup((char *)rest + sn->extra_size + id_len, name_len);
    if (strlen(sn->id) != id_len || strlen(sn->name) != name_len) {
        error_setg(errp, "Snapshot id or name holds a NUL byte");
        return false;
    }
    if ((sn->l1_offset & (s->cluster_size - 1)) ||
        (uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
        sn->l1_offset > file_len ||
        (uint64_t)sn->l1_size * 8 > file_len - sn->l1_offset) {
        error_setg(errp, "Snapshot '%s' has an invalid L1 table (offset "
                   "0x%" G_GINT64_MODIFIER "x, %u entries)", sn->id,
                   (guint64)sn->l1_offset, sn->l1_size);
        return false;
    }
    *off += entry_len(sn);
    return true;
}

bool qcow2_read_snapshots(BlockDriverState *bs, uint32_t nb,
                          uint64_t offset, uint64_t file_len, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off = offset, end;

    s->snapshots_offset = offset;
    s->snapshots_size = 0;
    if (!nb) {
        return true;
    }
    if (nb > QCOW2_MAX_SNAPSHOTS) {
        error_setg(errp, "Too many snapshots (%u)", nb);
        return false;
    }
    if ((offset & (s->cluster_size - 1)) || offset >= file_len) {
        error_setg(errp, "Invalid snapshot table offset 0x%"
                   G_GINT64_MODIFIER "x", (guint64)offset);
        return false;
    }
    end = offset + MIN(QCOW2_MAX_SNAPSHOTS_BYTES, file_len - offset);
    s->snapshots = g_new0(Qcow2Snapshot, nb);
    for (uint32_t i = 0; i < nb; i++) {
        s->nb_snapshots = i + 1;    /* freed whole on failure */
        if (!read_one(bs, &off, end, file_len, &s->snapshots[i], errp)) {
            error_prepend(errp, "Snapshot %u: ", i);
            return false;
        }
    }
    s->snapshots_size = off - offset;
    return true;
}

static uint64_t sn_extra64(const Qcow2Snapshot *sn, uint32_t at,
                           uint64_t dflt)
{
    return sn->extra_size >= at + 8 ? be64_at(sn->extra + at) : dflt;
}

int qcow2_snapshot_list(BlockDriverState *bs, BdrvSnapshot **list)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);
    BdrvSnapshot *l = g_new0(BdrvSnapshot, s->nb_snapshots ? s->nb_snapshots
                                                           : 1);

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        const Qcow2Snapshot *sn = &s->snapshots[i];

        l[i].id = g_strdup(sn->id);
        l[i].name = g_strdup(sn->name);
        l[i].date_sec = sn->date_sec;
        l[i].date_nsec = sn->date_nsec;
        l[i].vm_clock_nsec = sn->vm_clock_nsec;
        l[i].vm_state_size = sn_extra64(sn, 0, sn->vm_state_size);
        l[i].icount = (int64_t)sn_extra64(sn, 16, UINT64_MAX);
    }
    *list = l;
    return (int)s->nb_snapshots;
}

/*
 * Writes the table of n entries to new clusters and switches the header
 * to it; the old table's clusters are freed after. n == 0 leaves no
 * table (offset 0).
 */
static int write_table(BlockDriverState *bs, const Qcow2Snapshot *sns,
                       uint32_t n)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t size = 0, pos = 0, old_off = s->snapshots_offset;
    uint64_t old_clusters = clusters_for(s, s->snapshots_size);
    g_autofree uint8_t *buf = NULL;
    int64_t host = 0;
    uint8_t hdr[12];
    int ret;

    for (uint32_t i = 0; i < n; i++) {
        size += entry_len(&sns[i]);
    }
    if (size > QCOW2_MAX_SNAPSHOTS_BYTES) {
        return -EFBIG;
    }
    if (n) {
        buf = g_malloc0(clusters_for(s, size) << s->cluster_bits);
        for (uint32_t i = 0; i < n; i++) {
            const Qcow2Snapshot *sn = &sns[i];
            uint8_t *e = buf + pos;
            size_t id_len = strlen(sn->id), name_len = strlen(sn->name);

            put_be64(e, sn->l1_offset);
            put_be32(e + 8, sn->l1_size);
            put_be16(e + 12, id_len);
            put_be16(e + 14, name_len);
            put_be32(e + 16, sn->date_sec);
            put_be32(e + 20, sn->date_nsec);
            put_be64(e + 24, sn->vm_clock_nsec);
            put_be32(e + 32, sn->vm_state_size);
            put_be32(e + 36, sn->extra_size);
            if (sn->extra_size) {
                memcpy(e + 40, sn->extra, sn->extra_size);
            }
            memcpy(e + 40 + sn->extra_size, sn->id, id_len);
            memcpy(e + 40 + sn->extra_size + id_len, sn->name, name_len);
            pos += entry_len(sn);
        }
        host = qcow2_alloc_clusters(bs, clusters_for(s, size));
        if (host < 0) {
            return (int)host;
        }
        ret = bdrv_pwrite(bs->file->bs, host,
                          clusters_for(s, size) << s->cluster_bits, buf, 0,
                          NULL);
        if (ret < 0) {
            return ret;
        }
    }
    /* Everything the new table names must be on disk before it counts. */
    ret = bdrv_flush(bs->file->bs, NULL);
    if (ret < 0) {
        return ret;
    }
    put_be32(hdr, n);
    put_be64(hdr + 4, host);
    ret = bdrv_pwrite(bs->file->bs, QCOW2_HDR_NB_SNAPSHOTS, sizeof(hdr), hdr,
                      0, NULL);
    if (ret == 0) {
        ret = bdrv_flush(bs->file->bs, NULL);
    }
    if (ret < 0) {
        return ret;
    }
    trace_qcow2_snapshot_table(bs->node_name, n, host, size);
    s->snapshots_offset = host;
    s->snapshots_size = size;
    for (uint64_t i = 0; i < old_clusters && old_off; i++) {
        ret = qcow2_free_cluster(bs, old_off + (i << s->cluster_bits));
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/* A copy of the L2 table at off (not through the cache: the walks
 * below free and allocate while they hold it). */
static int read_l2_copy(BlockDriverState *bs, uint64_t off, uint64_t *l2)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t flen = bdrv_getlength(bs->file->bs);

    if (flen < 0) {
        return (int)flen;
    }
    if ((off & (s->cluster_size - 1)) || off >= (uint64_t)flen) {
        return qcow2_corrupt(bs, "L2 table offset invalid");
    }
    return bdrv_pread(bs->file->bs, off, s->cluster_size, l2, NULL);
}

/* The host cluster an L2 entry holds a reference to (0: none). */
static uint64_t l2_entry_host(uint64_t entry)
{
    return entry & QCOW2_OFFSET_MASK;
}

/*
 * Checks that one more reference fits every cluster the table l1 reaches,
 * and that none is compressed (their offsets name sectors, not clusters;
 * this driver does not follow them).
 */
static bool check_l1_refs(BlockDriverState *bs, const uint64_t *l1,
                          uint32_t l1_size, uint64_t addend, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t per_l2 = 1ull << s->l2_bits;
    uint64_t max = qcow2_refcount_max(s);
    g_autofree uint64_t *l2 = g_malloc(s->cluster_size);

    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t l2_off = l1[i] & QCOW2_OFFSET_MASK, rc;
        int ret;

        if (!l2_off) {
            continue;
        }
        ret = qcow2_get_refcount(bs, l2_off >> s->cluster_bits, &rc);
        if (ret == 0) {
            ret = read_l2_copy(bs, l2_off, l2);
        }
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read L2 table %u", i);
            return false;
        }
        if (rc + addend > max) {
            error_setg(errp, "Refcount of L2 table %u would overflow", i);
            return false;
        }
        for (uint64_t j = 0; j < per_l2; j++) {
            uint64_t e = GUINT64_FROM_BE(l2[j]);

            if (e & QCOW2_OFLAG_COMPRESSED) {
                error_setg(errp, "Images with compressed clusters are not "
                           "supported for internal snapshots");
                return false;
            }
            if (!addend || !l2_entry_host(e)) {
                continue;
            }
            ret = qcow2_get_refcount(bs, l2_entry_host(e) >> s->cluster_bits,
                                     &rc);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Could not read a refcount");
                return false;
            }
            if (rc + addend > max) {
                error_setg(errp, "Refcount of cluster 0x%" G_GINT64_MODIFIER
                           "x would overflow (refcount bits %d)",
                           (guint64)l2_entry_host(e), 1 << s->refcount_order);
                return false;
            }
        }
    }
    return true;
}

/* Writes a whole L2 table from l2 and forgets any cached copy. */
static int write_l2(BlockDriverState *bs, uint64_t off, const uint64_t *l2)
{
    BDRVQcow2State *s = bs->opaque;

    qcow2_cache_drop(s->l2_cache, QCOW2_L2_CACHE, off);
    return bdrv_pwrite(bs->file->bs, off, s->cluster_size, l2, 0, NULL);
}

static int write_active_l1(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *be = g_new(uint64_t, s->l1_size ? s->l1_size : 1);

    if (!s->l1_size) {
        return 0;
    }
    for (uint32_t i = 0; i < s->l1_size; i++) {
        be[i] = GUINT64_TO_BE(s->l1[i]);
    }
    return bdrv_pwrite(bs->file->bs, s->l1_offset, (uint64_t)s->l1_size * 8,
                       be, 0, NULL);
}

/*
 * A new L1 table (the snapshot's) reaches everything the active one
 * does: one more reference on each L2 table and each cluster in them,
 * and no COPIED flag left in the active tables (every cluster is shared
 * now, so the next write to it copies it first).
 */
static int share_active(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t per_l2 = 1ull << s->l2_bits;
    g_autofree uint64_t *l2 = g_malloc(s->cluster_size);
    int ret;

    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t l2_off = s->l1[i] & QCOW2_OFFSET_MASK;
        bool changed = false;

        if (!l2_off) {
            continue;
        }
        ret = qcow2_ref_cluster(bs, l2_off);
        if (ret == 0) {
            ret = read_l2_copy(bs, l2_off, l2);
        }
        if (ret < 0) {
            return ret;
        }
        for (uint64_t j = 0; j < per_l2; j++) {
            uint64_t e = GUINT64_FROM_BE(l2[j]);

            if (!l2_entry_host(e)) {
                continue;
            }
            ret = qcow2_ref_cluster(bs, l2_entry_host(e));
            if (ret < 0) {
                return ret;
            }
            if (e & QCOW2_OFLAG_COPIED) {
                l2[j] = GUINT64_TO_BE(e & ~QCOW2_OFLAG_COPIED);
                changed = true;
            }
        }
        if (changed) {
            ret = write_l2(bs, l2_off, l2);
            if (ret < 0) {
                return ret;
            }
        }
        s->l1[i] &= ~QCOW2_OFLAG_COPIED;
    }
    return write_active_l1(bs);
}

/* The lowest id above every numeric id in use, as QEMU numbers them. */
static char *next_id(BDRVQcow2State *s)
{
    uint64_t max = 0;

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        uint64_t v = g_ascii_strtoull(s->snapshots[i].id, NULL, 10);

        max = MAX(max, v);
    }
    return g_strdup_printf("%" G_GUINT64_FORMAT, max + 1);
}

static bool create_locked(BlockDriverState *bs, BdrvSnapshot *info,
                          Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l1_bytes = (uint64_t)s->l1_size * 8;
    g_autofree uint64_t *copy = g_new(uint64_t, s->l1_size ? s->l1_size : 1);
    g_autofree Qcow2Snapshot *all = NULL;
    Qcow2Snapshot sn = { 0 };
    int64_t l1_host = 0;
    int ret;

    if (s->refcount_order == 0) {
        error_setg(errp, "Internal snapshots need refcounts of 2 bits or "
                   "more (the image has 1)");
        return false;
    }
    if (strlen(info->name) > UINT16_MAX) {
        error_setg(errp, "Snapshot name is too long (%zu bytes)",
                   strlen(info->name));
        return false;
    }
    if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS) {
        error_setg(errp, "The image has the most snapshots qcow2 allows "
                   "(%u)", QCOW2_MAX_SNAPSHOTS);
        return false;
    }
    if (!check_l1_refs(bs, s->l1, s->l1_size, 1, errp)) {
        return false;
    }

    /* The snapshot's L1 table: the active one, never written in place. */
    for (uint32_t i = 0; i < s->l1_size; i++) {
        copy[i] = GUINT64_TO_BE(s->l1[i] & ~QCOW2_OFLAG_COPIED);
    }
    if (l1_bytes) {
        l1_host = qcow2_alloc_clusters(bs, clusters_for(s, l1_bytes));
        ret = l1_host < 0 ? (int)l1_host
                          : bdrv_pwrite(bs->file->bs, l1_host, l1_bytes,
                                        copy, 0, NULL);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not write the snapshot's "
                             "L1 table");
            return false;
        }
    }
    ret = share_active(bs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not update the refcounts");
        return false;
    }

    sn.l1_offset = l1_host;
    sn.l1_size = s->l1_size;
    sn.id = next_id(s);
    sn.name = g_strdup(info->name);
    sn.date_sec = info->date_sec;
    sn.date_nsec = info->date_nsec;
    sn.vm_clock_nsec = info->vm_clock_nsec;
    sn.vm_state_size = 0;
    sn.extra_size = QCOW2_SN_EXTRA_LEN;
    sn.extra = g_malloc0(QCOW2_SN_EXTRA_LEN);
    put_be64(sn.extra + 8, s->size);
    put_be64(sn.extra + 16, (uint64_t)info->icount);

    all = g_new(Qcow2Snapshot, s->nb_snapshots + 1);
    if (s->nb_snapshots) {
        memcpy(all, s->snapshots, s->nb_snapshots * sizeof(*all));
    }
    all[s->nb_snapshots] = sn;
    ret = write_table(bs, all, s->nb_snapshots + 1);
    if (ret < 0) {
        snapshot_clear(&sn);
        error_setg_errno(errp, -ret, "Could not write the snapshot table");
        return false;
    }
    g_free(s->snapshots);
    s->snapshots = g_steal_pointer(&all);
    s->nb_snapshots++;
    g_free(info->id);
    info->id = g_strdup(sn.id);
    trace_qcow2_snapshot_create(bs->node_name, sn.id, sn.name, l1_host);
    return true;
}

bool qcow2_snapshot_create(BlockDriverState *bs, BdrvSnapshot *sn,
                           Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    return create_locked(bs, sn, errp);
}

/*
 * Drops the references the snapshot's L1 table held: on every cluster
 * in its L2 tables, on the tables, and on the L1 table itself.
 */
static int release_l1(BlockDriverState *bs, const Qcow2Snapshot *sn)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t per_l2 = 1ull << s->l2_bits;
    uint64_t l1_bytes = (uint64_t)sn->l1_size * 8;
    g_autofree uint64_t *l1 = g_new(uint64_t, sn->l1_size ? sn->l1_size : 1);
    g_autofree uint64_t *l2 = g_malloc(s->cluster_size);
    int ret = l1_bytes ? bdrv_pread(bs->file->bs, sn->l1_offset, l1_bytes,
                                    l1, NULL) : 0;

    for (uint32_t i = 0; i < sn->l1_size && ret == 0; i++) {
        uint64_t l2_off = GUINT64_FROM_BE(l1[i]) & QCOW2_OFFSET_MASK;

        if (!l2_off) {
            continue;
        }
        ret = read_l2_copy(bs, l2_off, l2);
        for (uint64_t j = 0; j < per_l2 && ret == 0; j++) {
            uint64_t host = l2_entry_host(GUINT64_FROM_BE(l2[j]));

            if (host) {
                ret = qcow2_free_cluster(bs, host);
            }
        }
        if (ret == 0) {
            ret = qcow2_free_cluster(bs, l2_off);
        }
    }
    for (uint64_t c = 0; c < clusters_for(s, l1_bytes) && ret == 0; c++) {
        ret = qcow2_free_cluster(bs, sn->l1_offset + (c << s->cluster_bits));
    }
    return ret;
}

/*
 * After a snapshot is gone, clusters only the active image still uses
 * (refcount 1) get their COPIED flag back, so that writes go in place
 * again rather than copying for nothing ('qemu-img check' also counts a
 * missing flag as an error).
 */
static int restore_copied(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t per_l2 = 1ull << s->l2_bits;
    g_autofree uint64_t *l2 = g_malloc(s->cluster_size);
    bool l1_changed = false;
    int ret;

    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t l2_off = s->l1[i] & QCOW2_OFFSET_MASK, rc;
        bool changed = false;

        if (!l2_off) {
            continue;
        }
        ret = qcow2_get_refcount(bs, l2_off >> s->cluster_bits, &rc);
        if (ret < 0) {
            return ret;
        }
        if (rc != 1) {
            continue;   /* still shared: its entries are too */
        }
        if (!(s->l1[i] & QCOW2_OFLAG_COPIED)) {
            s->l1[i] |= QCOW2_OFLAG_COPIED;
            l1_changed = true;
        }
        ret = read_l2_copy(bs, l2_off, l2);
        if (ret < 0) {
            return ret;
        }
        for (uint64_t j = 0; j < per_l2; j++) {
            uint64_t e = GUINT64_FROM_BE(l2[j]);
            uint64_t host = l2_entry_host(e);

            if (!host || (e & QCOW2_OFLAG_COPIED)) {
                continue;
            }
            ret = qcow2_get_refcount(bs, host >> s->cluster_bits, &rc);
            if (ret < 0) {
                return ret;
            }
            if (rc == 1) {
                l2[j] = GUINT64_TO_BE(e | QCOW2_OFLAG_COPIED);
                changed = true;
            }
        }
        if (changed) {
            ret = write_l2(bs, l2_off, l2);
            if (ret < 0) {
                return ret;
            }
        }
    }
    return l1_changed ? write_active_l1(bs) : 0;
}

static bool delete_locked(BlockDriverState *bs, const char *id,
                          Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *l1 = NULL;
    g_autofree Qcow2Snapshot *rest = NULL;
    Qcow2Snapshot gone;
    uint32_t k, n = s->nb_snapshots;
    int ret;

    for (k = 0; k < n && strcmp(s->snapshots[k].id, id); k++) {
    }
    if (k == n) {
        error_setg(errp, "Snapshot with id '%s' does not exist", id);
        return false;
    }
    if (bs->read_only) {
        error_setg_errno(errp, EPERM, "Failed to remove snapshot from "
                         "snapshot list");
        return false;
    }
    gone = s->snapshots[k];
    l1 = g_new(uint64_t, gone.l1_size ? gone.l1_size : 1);
    ret = gone.l1_size ? bdrv_pread(bs->file->bs, gone.l1_offset,
                                    (uint64_t)gone.l1_size * 8, l1, NULL)
                       : 0;
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read the snapshot's L1 "
                         "table");
        return false;
    }
    for (uint32_t i = 0; i < gone.l1_size; i++) {
        l1[i] = GUINT64_FROM_BE(l1[i]);
    }
    /* Refuse before anything changes, not halfway through. */
    if (!check_l1_refs(bs, l1, gone.l1_size, 0, errp)) {
        return false;
    }

    rest = g_new(Qcow2Snapshot, n);
    memcpy(rest, s->snapshots, k * sizeof(*rest));
    memcpy(rest + k, s->snapshots + k + 1, (n - k - 1) * sizeof(*rest));
    ret = write_table(bs, rest, n - 1);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to remove snapshot from "
                         "snapshot list");
        return false;
    }
    g_free(s->snapshots);
    s->snapshots = g_steal_pointer(&rest);
    s->nb_snapshots--;
    trace_qcow2_snapshot_delete(bs->node_name, gone.id, gone.name);

    /* From here on a failure only leaks clusters. */
    ret = release_l1(bs, &gone);
    if (ret == 0) {
        ret = restore_copied(bs);
    }
    if (ret == 0) {
        ret = bdrv_flush(bs->file->bs, NULL);
    }
    snapshot_clear(&gone);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to free the cluster and L1 "
                         "table");
        return false;
    }
    return true;
}

bool qcow2_snapshot_delete(BlockDriverState *bs, const char *id,
                           Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    return delete_locked(bs, id, errp);
}
