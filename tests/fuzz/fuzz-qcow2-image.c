/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 images for fuzz-block-qcow2: an empty image made, an image
 * checked (see fuzz-qcow2-image.h). Written from the specification, not
 * from block/qcow2*.c, so the two cannot share a misreading.
 */
#include <stdarg.h>
#include <string.h>
#include "fuzz-qcow2-image.h"

#define HDR_V2_LEN      72
#define HDR_V3_LEN      104
#define OFFSET_MASK     0x00fffffffffffe00ull   /* L1 / L2 entries */
#define COPIED          (1ull << 63)
#define COMPRESSED      (1ull << 62)
#define ZERO            1ull

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8) {
        p[i] = v;
    }
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, v >> 32);
    put32(p + 4, v);
}

/* Entry i of a refcount block of 2^order-bit entries: big-endian, and
 * below 8 bits the first entry in the low bits of its byte. */
static uint64_t rc_get(const uint8_t *block, unsigned order, uint64_t i)
{
    unsigned bits = 1u << order;
    uint64_t v = 0;

    if (bits < 8) {
        return (block[i * bits / 8] >> (i * bits % 8)) & ((1u << bits) - 1);
    }
    for (unsigned b = 0; b < bits / 8; b++) {
        v = v << 8 | block[i * (bits / 8) + b];
    }
    return v;
}

static void rc_set1(uint8_t *block, unsigned order, uint64_t i)
{
    unsigned bits = 1u << order;

    if (bits < 8) {
        block[i * bits / 8] |= 1 << (i * bits % 8);
    } else {
        block[(i + 1) * (bits / 8) - 1] = 1;
    }
}

GByteArray *fuzz_qcow2_make(const FuzzQcow2Params *p)
{
    uint64_t cs = 1ull << p->cluster_bits;
    uint64_t l2_cover = cs << (p->cluster_bits - 3);
    uint64_t l1_size = (p->size + l2_cover - 1) / l2_cover;
    uint64_t l1_clusters = MAX(1, (l1_size * 8 + cs - 1) / cs);
    uint64_t total = 3 + l1_clusters;
    unsigned order = p->version == 2 ? 4 : p->refcount_order;
    GByteArray *img;
    uint8_t *b;

    if (total > (cs * 8) >> order) {
        return NULL;
    }
    img = g_byte_array_sized_new(total * cs);
    g_byte_array_set_size(img, total * cs);
    b = img->data;
    memset(b, 0, total * cs);
    put32(b, 0x514649fb);                   /* "QFI\xfb" */
    put32(b + 4, p->version);
    put32(b + 20, p->cluster_bits);
    put64(b + 24, p->size);
    put32(b + 36, l1_size);
    put64(b + 40, 3 * cs);                  /* L1 table */
    put64(b + 48, cs);                      /* refcount table */
    put32(b + 56, 1);
    if (p->version >= 3) {
        put32(b + 96, order);
        put32(b + 100, HDR_V3_LEN);
        /* The end-of-extensions marker after it is zero already. */
    }
    put64(b + cs, 2 * cs);                  /* refcount block 0 */
    for (uint64_t c = 0; c < total; c++) {
        rc_set1(b + 2 * cs, order, c);
    }
    return img;
}

typedef struct Check {
    const uint8_t *img;
    size_t len;
    unsigned version;
    unsigned cluster_bits;
    uint64_t cs;
    unsigned order;
    unsigned rb_bits;           /* log2 of entries per refcount block */
    uint64_t nclusters;         /* of the file, the last one partial */
    uint32_t *refs;             /* counted from the tables */
    uint64_t rt_off;
    uint64_t rt_entries;
    char *why;
} Check;

static bool check_fail(Check *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool check_fail(Check *c, const char *fmt, ...)
{
    va_list ap;

    if (!c->why) {
        va_start(ap, fmt);
        c->why = g_strdup_vprintf(fmt, ap);
        va_end(ap);
    }
    return false;
}

/* One reference to the cluster at off, by what. */
static bool check_ref(Check *c, uint64_t off, const char *what)
{
    uint64_t n = off >> c->cluster_bits;

    if (off & (c->cs - 1)) {
        return check_fail(c, "%s at 0x%" G_GINT64_MODIFIER "x is not "
                          "cluster-aligned", what, (guint64)off);
    }
    if (n >= c->nclusters) {
        return check_fail(c, "%s at 0x%" G_GINT64_MODIFIER "x is past the "
                          "end of the file (0x%zx)", what, (guint64)off,
                          c->len);
    }
    c->refs[n]++;
    return true;
}

/* Clusters [off, off + bytes): one reference each. */
static bool check_ref_range(Check *c, uint64_t off, uint64_t bytes,
                            const char *what)
{
    for (uint64_t o = off; o < off + bytes; o += c->cs) {
        if (!check_ref(c, o, what)) {
            return false;
        }
    }
    return true;
}

/* The refcount stored for cluster n (0 without a block). */
static uint64_t check_stored(Check *c, uint64_t n)
{
    uint64_t t = n >> c->rb_bits, block;

    if (t >= c->rt_entries) {
        return 0;
    }
    block = be64(c->img + c->rt_off + t * 8);
    if (!block) {
        return 0;
    }
    return rc_get(c->img + block, c->order, n & ((1ull << c->rb_bits) - 1));
}

/* An entry's COPIED flag says whether its cluster's refcount is 1. */
static bool check_copied(Check *c, uint64_t entry, const char *what,
                         uint64_t index)
{
    uint64_t off = entry & OFFSET_MASK;
    uint64_t rc = check_stored(c, off >> c->cluster_bits);

    if (off && !!(entry & COPIED) != (rc == 1)) {
        return check_fail(c, "%s %" G_GUINT64_FORMAT ": COPIED is %s, "
                          "refcount %" G_GUINT64_FORMAT, what, index,
                          entry & COPIED ? "set" : "clear", rc);
    }
    return true;
}

/* The L1 table and the L2 tables it names: references, flags. */
static bool check_tables(Check *c, uint64_t l1_off, uint64_t l1_size,
                         bool copied_pass)
{
    uint64_t per_l2 = c->cs / 8;

    for (uint64_t i = 0; i < l1_size; i++) {
        uint64_t e = be64(c->img + l1_off + i * 8);
        uint64_t l2 = e & OFFSET_MASK;

        if (e & ~(OFFSET_MASK | COPIED)) {
            return check_fail(c, "L1 entry %" G_GUINT64_FORMAT " has "
                              "reserved bits: 0x%" G_GINT64_MODIFIER "x", i,
                              (guint64)e);
        }
        if (!l2) {
            continue;
        }
        if (copied_pass ? !check_copied(c, e, "L1 entry", i)
                        : !check_ref(c, l2, "L2 table")) {
            return false;
        }
        for (uint64_t j = 0; j < per_l2; j++) {
            uint64_t d = be64(c->img + l2 + j * 8);
            uint64_t reserved = ~(OFFSET_MASK | COPIED |
                                  (c->version >= 3 ? ZERO : 0));

            if (d & COMPRESSED) {
                return check_fail(c, "L2 entry %" G_GUINT64_FORMAT "/%"
                                  G_GUINT64_FORMAT " is compressed", i, j);
            }
            if (d & reserved) {
                return check_fail(c, "L2 entry %" G_GUINT64_FORMAT "/%"
                                  G_GUINT64_FORMAT " has reserved bits: 0x%"
                                  G_GINT64_MODIFIER "x", i, j, (guint64)d);
            }
            if (!(d & OFFSET_MASK)) {
                if (d & COPIED) {
                    return check_fail(c, "L2 entry %" G_GUINT64_FORMAT "/%"
                                      G_GUINT64_FORMAT " is COPIED without "
                                      "a cluster", i, j);
                }
                continue;
            }
            if (copied_pass ? !check_copied(c, d, "L2 entry",
                                            i * per_l2 + j)
                            : !check_ref(c, d & OFFSET_MASK,
                                         "data cluster")) {
                return false;
            }
        }
    }
    return true;
}

/* One snapshot table entry: where its L1 table is, how long the entry. */
typedef struct SnapEntry {
    uint64_t l1_off;
    uint64_t l1_size;
    uint64_t len;               /* of the entry, padded to 8 bytes */
} SnapEntry;

/* The entry at off, if the file holds all of it. */
static bool snap_entry(const uint8_t *img, size_t len, uint64_t off,
                       SnapEntry *e)
{
    uint64_t body;

    if (off > len || len - off < 40) {
        return false;
    }
    e->l1_off = be64(img + off);
    e->l1_size = be32(img + off + 8);
    body = 40ull + be32(img + off + 36) + (img[off + 12] << 8 | img[off + 13])
           + (img[off + 14] << 8 | img[off + 15]);
    e->len = (body + 7) & ~7ull;
    return e->len <= len - off;
}

/* The snapshot table and each snapshot's tables: one reference each on
 * every cluster they reach (COPIED flags are the active tables' only). */
static bool check_snapshots(Check *c)
{
    uint32_t nb = be32(c->img + 60);
    uint64_t off = be64(c->img + 64), pos = off;

    for (uint32_t i = 0; i < nb; i++) {
        SnapEntry e;

        if (!snap_entry(c->img, c->len, pos, &e)) {
            return check_fail(c, "snapshot %u lies outside the file", i);
        }
        if (e.l1_size * 8 > c->len ||
            !check_ref_range(c, e.l1_off, e.l1_size * 8, "snapshot L1 "
                             "table") ||
            !check_tables(c, e.l1_off, e.l1_size, false)) {
            return check_fail(c, "snapshot %u's tables are invalid", i);
        }
        pos += e.len;
    }
    return !nb || check_ref_range(c, off, pos - off, "snapshot table");
}

bool fuzz_qcow2_read_snapshot(const uint8_t *img, size_t len, uint32_t index,
                              const uint8_t *below, uint64_t size,
                              uint8_t *out, char **why)
{
    unsigned version = be32(img + 4), cluster_bits = be32(img + 20);
    uint64_t cs = 1ull << cluster_bits, per_l2 = cs / 8;
    uint64_t pos = be64(img + 64);
    SnapEntry e = { 0 };

    *why = NULL;
    if (index >= be32(img + 60)) {
        *why = g_strdup_printf("no snapshot %u", index);
        return false;
    }
    for (uint32_t i = 0; i <= index; i++) {
        if (!snap_entry(img, len, pos, &e)) {
            *why = g_strdup_printf("snapshot %u lies outside the file", i);
            return false;
        }
        pos += e.len;
    }
    for (uint64_t off = 0; off < size; off += cs) {
        uint64_t n = MIN(cs, size - off);
        uint64_t i1 = off / cs / per_l2, i2 = off / cs % per_l2;
        uint64_t l2 = i1 < e.l1_size && e.l1_off + i1 * 8 + 8 <= len
                      ? be64(img + e.l1_off + i1 * 8) & OFFSET_MASK : 0;
        uint64_t d = l2 && l2 + cs <= len ? be64(img + l2 + i2 * 8) : 0;
        uint64_t host = d & OFFSET_MASK;

        if (l2 && l2 + cs > len) {
            *why = g_strdup_printf("snapshot %u: L2 table past the end",
                                   index);
            return false;
        }
        if (version >= 3 && (d & ZERO)) {
            memset(out + off, 0, n);
        } else if (host) {
            if (host + cs > len) {
                *why = g_strdup_printf("snapshot %u: data past the end",
                                       index);
                return false;
            }
            memcpy(out + off, img + host, n);
        } else {
            memcpy(out + off, below + off, n);
        }
    }
    return true;
}

bool fuzz_qcow2_check(const uint8_t *img, size_t len, char **why)
{
    Check c = { .img = img, .len = len };
    uint64_t l1_size, l1_off, rt_clusters;
    bool ok = false;

    *why = NULL;
    if (len < HDR_V2_LEN || be32(img) != 0x514649fb) {
        *why = g_strdup("not a qcow2 image");
        return false;
    }
    c.version = be32(img + 4);
    c.cluster_bits = be32(img + 20);
    if (c.version < 2 || c.version > 3 || c.cluster_bits < 9 ||
        c.cluster_bits > 21 || (c.version >= 3 && len < HDR_V3_LEN)) {
        *why = g_strdup("a header this checker does not read");
        return false;
    }
    c.cs = 1ull << c.cluster_bits;
    c.order = c.version >= 3 ? be32(img + 96) : 4;
    if (c.order > 6) {
        *why = g_strdup("refcount order past 6");
        return false;
    }
    c.rb_bits = c.cluster_bits + 3 - c.order;
    c.nclusters = (len + c.cs - 1) >> c.cluster_bits;
    c.refs = g_new0(uint32_t, c.nclusters);
    l1_size = be32(img + 36);
    l1_off = be64(img + 40);
    c.rt_off = be64(img + 48);
    rt_clusters = be32(img + 56);
    c.rt_entries = (rt_clusters << c.cluster_bits) / 8;

    if (len % c.cs) {
        check_fail(&c, "the file (0x%zx bytes) ends inside a cluster", len);
        goto out;
    }
    if (!check_ref(&c, 0, "header") ||
        !check_ref_range(&c, l1_off, l1_size * 8, "L1 table") ||
        !check_ref_range(&c, c.rt_off, rt_clusters << c.cluster_bits,
                         "refcount table")) {
        goto out;
    }
    for (uint64_t t = 0; t < c.rt_entries; t++) {
        uint64_t block = be64(img + c.rt_off + t * 8);

        if (block && !check_ref(&c, block, "refcount block")) {
            goto out;
        }
    }
    if (!check_tables(&c, l1_off, l1_size, false) ||
        !check_snapshots(&c)) {
        goto out;
    }
    /* Every cluster of the file, then what blocks say past its end. */
    for (uint64_t n = 0; n < c.nclusters; n++) {
        uint64_t stored = check_stored(&c, n);

        if (stored != c.refs[n]) {
            check_fail(&c, "cluster %" G_GUINT64_FORMAT ": refcount %"
                       G_GUINT64_FORMAT ", referenced %u times (%s)", n,
                       stored, c.refs[n],
                       stored < c.refs[n] ? "corrupt" : "leaked");
            goto out;
        }
    }
    for (uint64_t t = 0; t < c.rt_entries; t++) {
        uint64_t first = t << c.rb_bits, end = first + (1ull << c.rb_bits);

        if (!be64(img + c.rt_off + t * 8)) {
            continue;
        }
        /* Entry by entry up to a whole byte, then the bytes at once. */
        for (uint64_t n = MAX(first, c.nclusters); n < end; n++) {
            uint64_t byte = ((n - first) << c.order) / 8;
            const uint8_t *block = img + be64(img + c.rt_off + t * 8);

            if (!(((n - first) << c.order) % 8)) {
                const uint8_t *rest = block + byte;
                uint64_t len = c.cs - byte;

                if (len && (rest[0] || memcmp(rest, rest + 1, len - 1))) {
                    check_fail(&c, "a cluster past the end of the file, in "
                               "refcount block %" G_GUINT64_FORMAT ", has a "
                               "refcount", t);
                    goto out;
                }
                break;
            }
            if (check_stored(&c, n)) {
                check_fail(&c, "cluster %" G_GUINT64_FORMAT ", past the end "
                           "of the file, has refcount %" G_GUINT64_FORMAT,
                           n, check_stored(&c, n));
                goto out;
            }
        }
    }
    ok = check_tables(&c, l1_off, l1_size, true);
out:
    g_free(c.refs);
    *why = c.why;
    return ok;
}
