/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * colo-compare's comparison core (include/net/colo-compare-core.h):
 * connection table, per-connection primary and secondary queues, the
 * comparison rules per protocol, and the statistics. The rules and why
 * each header field is or is not compared: docs/devel/colo-net.md.
 *
 * TCP is compared as two byte streams, not packet by packet: each side's
 * frames are placed at their offset in that side's stream (sequence
 * number relative to the side's base) and the bytes at equal offsets are
 * compared, so the primary's 1000 + 500 bytes match the secondary's 1500.
 * SYN and FIN take one position in the stream each (as they take one
 * sequence number) and compare equal only to the same flag.
 */
#include <string.h>
#include <glib.h>
#include "net/colo-compare-core.h"

G_STATIC_ASSERT(sizeof(ColoConnKey) == 48);

const char *const colo_checkpoint_reason_names[COLO_CHECKPOINT__MAX] = {
    [COLO_CHECKPOINT_NONE] = "none",
    [COLO_CHECKPOINT_MISMATCH] = "mismatch",
    [COLO_CHECKPOINT_TIMEOUT] = "timeout",
    [COLO_CHECKPOINT_QUEUE_FULL] = "queue-full",
    [COLO_CHECKPOINT_TABLE_FULL] = "table-full",
};

enum { PRIMARY, SECONDARY };

typedef struct ColoFrame {
    uint8_t *data;
    size_t len;
    ColoPacket pkt;
    uint64_t in_time;
    /* TCP: the frame's positions [start, end) in its side's stream */
    uint64_t start, end;
    bool syn, fin;
} ColoFrame;

/*
 * One side's TCP stream position. ref_seq is the sequence number at
 * stream offset ref_off (the furthest end seen), so a frame's offset is
 * ref_off + (int32_t)(seq - ref_seq): 64-bit offsets that survive the
 * 32-bit sequence number wrapping.
 */
typedef struct ColoSide {
    GQueue q;                   /* ColoFrame *; TCP: sorted by start */
    bool known;
    uint32_t ref_seq;
    uint64_t ref_off;
    bool syn_seen;
    uint32_t syn_seq;
} ColoSide;

typedef struct ColoConn {
    ColoConnKey key;
    ColoProto proto;
    ColoSide side[2];
    uint64_t matched;           /* TCP: stream offsets compared equal */
    bool mismatch;              /* compared different: hold until flush */
} ColoConn;

struct ColoCompare {
    ColoCompareConfig cfg;
    GHashTable *conns;          /* ColoConnKey * -> ColoConn * */
    ColoCheckpointReason pending;   /* requested, not yet flushed */
    uint64_t flush_now;         /* colo_compare_flush's clock */
    bool flush_all;             /* the table is over its bound */
    ColoCompareStats stats;
};

static void frame_free(ColoFrame *f)
{
    g_free(f->data);
    g_free(f);
}

static void conn_free(gpointer p)
{
    ColoConn *c = p;
    int s;

    for (s = 0; s < 2; s++) {
        ColoFrame *f;

        while ((f = g_queue_pop_head(&c->side[s].q))) {
            frame_free(f);
        }
    }
    g_free(c);
}

ColoCompare *colo_compare_new(const ColoCompareConfig *cfg)
{
    ColoCompare *cc = g_new0(ColoCompare, 1);

    cc->cfg = *cfg;
    cc->conns = g_hash_table_new_full(colo_conn_key_hash, colo_conn_key_equal,
                                      NULL, conn_free);
    return cc;
}

void colo_compare_free(ColoCompare *cc)
{
    if (cc) {
        g_hash_table_destroy(cc->conns);
        g_free(cc);
    }
}

void colo_compare_set_vnet_hdr_len(ColoCompare *cc, size_t vnet_hdr_len)
{
    cc->cfg.vnet_hdr_len = vnet_hdr_len;
}

const ColoCompareStats *colo_compare_stats(const ColoCompare *cc)
{
    return &cc->stats;
}

size_t colo_compare_connections(const ColoCompare *cc)
{
    return g_hash_table_size(cc->conns);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

uint64_t colo_compare_latency_percentile(const ColoCompareStats *st,
                                         unsigned pct)
{
    size_t n = MIN(st->latency_count, COLO_COMPARE_LATENCY_SAMPLES);
    g_autofree uint64_t *v = NULL;

    if (n == 0) {
        return 0;
    }
    pct = MIN(pct, 100);
    v = g_memdup2(st->latency, n * sizeof(uint64_t));
    qsort(v, n, sizeof(uint64_t), cmp_u64);
    return v[(n - 1) * pct / 100];
}

/* Records a checkpoint request; the statistics count one per flush. */
static ColoCompareVerdict checkpoint(ColoCompare *cc, ColoCheckpointReason r,
                                     ColoProto proto)
{
    if (cc->pending == COLO_CHECKPOINT_NONE) {
        cc->pending = r;
        cc->stats.checkpoints[r]++;
    }
    return (ColoCompareVerdict){ COLO_COMPARE_CHECKPOINT, r, proto };
}

static void release(ColoCompare *cc, ColoFrame *f, uint64_t now)
{
    ColoCompareStats *st = &cc->stats;

    cc->cfg.release(cc->cfg.opaque, f->data, f->len, f->pkt.l2_off);
    st->latency[st->latency_count % COLO_COMPARE_LATENCY_SAMPLES] =
        now >= f->in_time ? now - f->in_time : 0;
    st->latency_count++;
    frame_free(f);
}

static void release_held(ColoCompare *cc, ColoFrame *f, uint64_t now)
{
    cc->stats.held--;
    release(cc, f, now);
}

static void count_compared(ColoCompare *cc, ColoProto p, bool equal)
{
    cc->stats.compared[p]++;
    if (equal) {
        cc->stats.matched[p]++;
    } else {
        cc->stats.mismatched[p]++;
    }
}

/* ---- TCP ---- */

/* Places f in its side's stream; false if it lies before the side's base
 * (a frame from before a re-base: nothing to compare it with). */
static bool tcp_place(ColoConn *c, ColoSide *side, ColoFrame *f)
{
    const ColoPacket *p = &f->pkt;
    int64_t off;

    f->syn = p->tcp_flags & COLO_TCP_SYN;
    f->fin = p->tcp_flags & COLO_TCP_FIN;
    if (f->syn && !(side->syn_seen && side->syn_seq == p->seq)) {
        /* a new connection on this tuple: both streams start again */
        side->known = true;
        side->ref_seq = p->seq;
        side->ref_off = 0;
        side->syn_seen = true;
        side->syn_seq = p->seq;
        c->matched = 0;
    } else if (!side->known) {
        /* first frame of a connection that started before we looked */
        side->known = true;
        side->ref_seq = p->seq;
        side->ref_off = c->matched;
    }
    off = (int64_t)side->ref_off + (int32_t)(p->seq - side->ref_seq);
    if (off < 0) {
        return false;
    }
    f->start = off;
    f->end = off + f->syn + p->payload_len + f->fin;
    if (f->end > side->ref_off) {
        side->ref_seq = p->seq + (uint32_t)(f->end - f->start);
        side->ref_off = f->end;
    }
    return true;
}

static void tcp_enqueue(ColoSide *side, ColoFrame *f)
{
    GList *l;

    /* usually in order: search from the tail */
    for (l = side->q.tail; l; l = l->prev) {
        if (((ColoFrame *)l->data)->start <= f->start) {
            g_queue_insert_after(&side->q, l, f);
            return;
        }
    }
    g_queue_push_head(&side->q, f);
}

enum { POS_DATA, POS_SYN, POS_FIN };

static int tcp_kind(const ColoFrame *f, uint64_t x)
{
    if (f->syn && x == f->start) {
        return POS_SYN;
    }
    if (x >= f->start + f->syn + f->pkt.payload_len) {
        return POS_FIN;
    }
    return POS_DATA;
}

static const uint8_t *tcp_byte(const ColoFrame *f, uint64_t x)
{
    return f->data + f->pkt.payload_off + (x - f->start - f->syn);
}

/* Are the stream positions [lo, hi) of a and b the same? Both cover them. */
static bool tcp_range_equal(const ColoFrame *a, const ColoFrame *b,
                            uint64_t lo, uint64_t hi)
{
    uint64_t x = lo;

    while (x < hi) {
        int ka = tcp_kind(a, x), kb = tcp_kind(b, x);
        uint64_t n;

        if (ka != kb) {
            return false;
        }
        if (ka != POS_DATA) {
            x++;
            continue;
        }
        n = MIN(hi, MIN(a->start + a->syn + a->pkt.payload_len,
                        b->start + b->syn + b->pkt.payload_len)) - x;
        if (memcmp(tcp_byte(a, x), tcp_byte(b, x), n) != 0) {
            return false;
        }
        x += n;
    }
    return true;
}

/* Compares what both streams have past c->matched; releases the primary
 * frames wholly covered. False on a mismatch. */
static bool tcp_compare(ColoCompare *cc, ColoConn *c, uint64_t now,
                        unsigned *released)
{
    GQueue *pq = &c->side[PRIMARY].q, *sq = &c->side[SECONDARY].q;

    for (;;) {
        ColoFrame *p = g_queue_peek_head(pq), *s = g_queue_peek_head(sq);
        uint64_t hi;

        if (p && p->end <= c->matched) {
            /* compared already (or a retransmission of compared bytes) */
            g_queue_pop_head(pq);
            count_compared(cc, COLO_PROTO_TCP, true);
            release_held(cc, p, now);
            (*released)++;
            continue;
        }
        if (s && s->end <= c->matched) {
            frame_free(g_queue_pop_head(sq));
            continue;
        }
        if (!p || !s || p->start > c->matched || s->start > c->matched) {
            return true;    /* one side has not reached this point yet */
        }
        hi = MIN(p->end, s->end);
        if (!tcp_range_equal(p, s, c->matched, hi)) {
            count_compared(cc, COLO_PROTO_TCP, false);
            return false;
        }
        c->matched = hi;
    }
}

/* ---- everything else: frame by frame, in order ---- */

static bool datagram_equal(const ColoFrame *a, const ColoFrame *b)
{
    const ColoPacket *pa = &a->pkt, *pb = &b->pkt;

    if (pa->proto != pb->proto || pa->payload_len != pb->payload_len) {
        return false;
    }
    if ((pa->proto == COLO_PROTO_ICMP || pa->proto == COLO_PROTO_ICMPV6) &&
        (pa->icmp_type != pb->icmp_type || pa->icmp_code != pb->icmp_code)) {
        return false;
    }
    return memcmp(a->data + pa->payload_off, b->data + pb->payload_off,
                  pa->payload_len) == 0;
}

static bool datagram_compare(ColoCompare *cc, ColoConn *c, uint64_t now,
                             unsigned *released)
{
    GQueue *pq = &c->side[PRIMARY].q, *sq = &c->side[SECONDARY].q;

    while (!g_queue_is_empty(pq) && !g_queue_is_empty(sq)) {
        ColoFrame *p = g_queue_peek_head(pq), *s = g_queue_peek_head(sq);
        bool eq = datagram_equal(p, s);

        count_compared(cc, p->pkt.proto, eq);
        if (!eq) {
            return false;
        }
        g_queue_pop_head(pq);
        frame_free(g_queue_pop_head(sq));
        release_held(cc, p, now);
        (*released)++;
    }
    return true;
}

/* ---- input ---- */

static ColoConn *conn_lookup(ColoCompare *cc, const ColoPacket *pkt,
                             bool *table_full)
{
    ColoConnKey key;
    ColoConn *c;

    colo_conn_key_from_packet(pkt, &key);
    c = g_hash_table_lookup(cc->conns, &key);
    *table_full = false;
    if (!c) {
        /* past the bound the table still grows (forgetting a connection
         * would lose its held frames); the checkpoint empties it */
        *table_full = g_hash_table_size(cc->conns) >= cc->cfg.max_connections;
        c = g_new0(ColoConn, 1);
        c->key = key;
        c->proto = pkt->proto;
        g_queue_init(&c->side[PRIMARY].q);
        g_queue_init(&c->side[SECONDARY].q);
        g_hash_table_insert(cc->conns, &c->key, c);
    }
    return c;
}

static ColoCompareVerdict input(ColoCompare *cc, int which,
                                const uint8_t *buf, size_t len, uint64_t now)
{
    ColoFrame *f = g_new0(ColoFrame, 1);
    ColoCompareVerdict v = { COLO_COMPARE_HOLD, COLO_CHECKPOINT_NONE, 0 };
    ColoSide *side;
    ColoConn *c;
    bool table_full, queue_full, ok;
    unsigned released = 0;

    colo_packet_parse(buf, len, cc->cfg.vnet_hdr_len, &f->pkt);
    v.proto = f->pkt.proto;
    /* never NULL, even for an empty frame: memcmp and the release
     * callback get a valid pointer */
    f->data = g_malloc(MAX(len, 1));
    if (len) {
        memcpy(f->data, buf, len);
    }
    f->len = len;
    f->in_time = now;
    c = conn_lookup(cc, &f->pkt, &table_full);
    side = &c->side[which];

    if (c->proto == COLO_PROTO_TCP) {
        if (!tcp_place(c, side, f) || f->end == f->start) {
            /* nothing to compare: a pure ACK or RST, or a frame from
             * before the stream's base */
            if (which == PRIMARY) {
                cc->stats.passed++;
                release(cc, f, now);
                v.action = COLO_COMPARE_RELEASE;
            } else {
                frame_free(f);
            }
            return table_full ? checkpoint(cc, COLO_CHECKPOINT_TABLE_FULL,
                                           v.proto) : v;
        }
    }

    queue_full = g_queue_get_length(&side->q) >= cc->cfg.max_queue_size;
    if (which == SECONDARY && queue_full) {
        /* the secondary's output goes nowhere: dropping it is safe, and
         * the checkpoint makes the secondary the primary again */
        cc->stats.secondary_dropped++;
        frame_free(f);
        return checkpoint(cc, COLO_CHECKPOINT_QUEUE_FULL, v.proto);
    }
    if (c->proto == COLO_PROTO_TCP) {
        tcp_enqueue(side, f);
    } else {
        g_queue_push_tail(&side->q, f);
    }
    if (which == PRIMARY) {
        cc->stats.held++;
        cc->stats.held_max = MAX(cc->stats.held_max, cc->stats.held);
    }

    if (!c->mismatch) {
        ok = c->proto == COLO_PROTO_TCP ? tcp_compare(cc, c, now, &released)
                                        : datagram_compare(cc, c, now,
                                                           &released);
        if (!ok) {
            c->mismatch = true;
            return checkpoint(cc, COLO_CHECKPOINT_MISMATCH, c->proto);
        }
    }
    if (queue_full) {
        /* the primary's frame is kept (never lose one); the checkpoint
         * that follows empties the queue */
        return checkpoint(cc, COLO_CHECKPOINT_QUEUE_FULL, v.proto);
    }
    if (table_full) {
        return checkpoint(cc, COLO_CHECKPOINT_TABLE_FULL, v.proto);
    }
    if (released) {
        v.action = COLO_COMPARE_RELEASE;
    }
    return v;
}

ColoCompareVerdict colo_compare_primary(ColoCompare *cc, const uint8_t *buf,
                                        size_t len, uint64_t now)
{
    return input(cc, PRIMARY, buf, len, now);
}

ColoCompareVerdict colo_compare_secondary(ColoCompare *cc, const uint8_t *buf,
                                          size_t len, uint64_t now)
{
    return input(cc, SECONDARY, buf, len, now);
}

ColoCompareVerdict colo_compare_expire(ColoCompare *cc, uint64_t now)
{
    ColoCompareVerdict v = { COLO_COMPARE_HOLD, COLO_CHECKPOINT_NONE, 0 };
    GHashTableIter it;
    gpointer val;

    g_hash_table_iter_init(&it, cc->conns);
    while (g_hash_table_iter_next(&it, NULL, &val)) {
        ColoConn *c = val;
        GList *l;

        /* TCP queues are in stream order, not arrival order: look at all */
        for (l = c->side[PRIMARY].q.head; l; l = l->next) {
            ColoFrame *f = l->data;

            if (now >= f->in_time &&
                now - f->in_time >= cc->cfg.compare_timeout_ns) {
                return checkpoint(cc, COLO_CHECKPOINT_TIMEOUT, c->proto);
            }
        }
    }
    return v;
}

/* After a checkpoint the secondary's TCP state is the primary's, so
 * both streams continue from the primary's next sequence number. */
static void tcp_rebase(ColoConn *c)
{
    ColoSide *p = &c->side[PRIMARY], *s = &c->side[SECONDARY];

    c->matched = 0;
    if (!p->known) {
        s->known = false;
        return;
    }
    p->ref_off = 0;
    s->known = true;
    s->ref_seq = p->ref_seq;
    s->ref_off = 0;
    s->syn_seen = p->syn_seen;
    s->syn_seq = p->syn_seq;
}

static gboolean flush_conn(gpointer key, gpointer val, gpointer opaque)
{
    ColoCompare *cc = opaque;
    ColoConn *c = val;
    ColoFrame *f;

    /* TCP frames come out in stream order, which is what the peer wants */
    while ((f = g_queue_pop_head(&c->side[PRIMARY].q))) {
        cc->stats.flushed++;
        release_held(cc, f, cc->flush_now);
    }
    while ((f = g_queue_pop_head(&c->side[SECONDARY].q))) {
        frame_free(f);
    }
    c->mismatch = false;
    if (c->proto != COLO_PROTO_TCP || cc->flush_all) {
        return TRUE;
    }
    tcp_rebase(c);
    return FALSE;
}

void colo_compare_flush(ColoCompare *cc, uint64_t now)
{
    cc->flush_now = now;
    cc->flush_all = g_hash_table_size(cc->conns) > cc->cfg.max_connections;
    g_hash_table_foreach_remove(cc->conns, flush_conn, cc);
    cc->pending = COLO_CHECKPOINT_NONE;
}
