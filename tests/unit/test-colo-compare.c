/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * colo-compare's comparison core (include/net/colo-compare-core.h) on
 * synthetic frames: TCP streams segmented differently, retransmitted
 * and reordered; UDP, ICMP, ARP, IPv6 and VLAN frames; the fields that
 * may differ between the two guests; timeout at a given clock; queue and
 * table bounds; the flush after a checkpoint; statistics and latency
 * percentiles; malformed frames.
 */
#include <string.h>
#include <glib.h>
#include "net/colo-compare-core.h"
#include "colo-frame.h"

#define MS 1000000ULL

typedef struct T {
    ColoCompare *cc;
    GPtrArray *out;             /* GBytes of each released frame */
} T;

static void on_release(void *opaque, const uint8_t *frame, size_t len,
                       size_t vnet_hdr_len)
{
    T *t = opaque;

    g_assert_nonnull(frame);        /* even for an empty frame */
    g_ptr_array_add(t->out, g_bytes_new(frame, len));
}

static T *t_new(uint32_t max_queue, uint32_t max_conns)
{
    T *t = g_new0(T, 1);
    ColoCompareConfig cfg = {
        .compare_timeout_ns = 3000 * MS,
        .max_queue_size = max_queue,
        .max_connections = max_conns,
        .release = on_release,
        .opaque = t,
    };

    t->cc = colo_compare_new(&cfg);
    t->out = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    return t;
}

static void t_free(T *t)
{
    colo_compare_free(t->cc);
    g_ptr_array_free(t->out, TRUE);
    g_free(t);
}

static ColoCompareVerdict feed(T *t, bool primary, const ColoFrameOpts *o,
                               const void *data, size_t len, uint64_t now,
                               GByteArray **keep)
{
    g_autoptr(GByteArray) b = colo_frame_build(o, data, len);
    ColoCompareVerdict v = primary
        ? colo_compare_primary(t->cc, b->data, b->len, now)
        : colo_compare_secondary(t->cc, b->data, b->len, now);

    if (keep) {
        *keep = g_steal_pointer(&b);
    }
    return v;
}

#define PRI(t, o, d, n, now) feed(t, true, o, d, n, now, NULL).action
#define SEC(t, o, d, n, now) feed(t, false, o, d, n, now, NULL).action

static void assert_out(T *t, guint i, const GByteArray *want)
{
    g_assert_cmpuint(t->out->len, >, i);
    g_assert_cmpmem(g_bytes_get_data(t->out->pdata[i], NULL),
                    g_bytes_get_size(t->out->pdata[i]), want->data, want->len);
}

static uint8_t *pattern(size_t n, unsigned salt)
{
    uint8_t *p = g_malloc(n);
    size_t i;

    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 7 + salt);
    }
    return p;
}

/* Primary 1000 + 500 bytes, secondary 1500 from another ISN, with every
 * header field that legitimately differs changed: released, in order. */
static void test_tcp_segmentation(void)
{
    T *t = t_new(1024, 16384);
    g_autofree uint8_t *d = pattern(1500, 0);
    ColoFrameOpts p = colo_frame_opts(CF_TCP), s = p;
    g_autoptr(GByteArray) p1 = NULL, p2 = NULL;
    const ColoCompareStats *st = colo_compare_stats(t->cc);

    p.seq = 0xfffffc00;             /* wraps inside the stream */
    g_assert_cmpint(feed(t, true, &p, d, 1000, 0, &p1).action, ==,
                    COLO_COMPARE_HOLD);
    p.seq += 1000;
    g_assert_cmpint(feed(t, true, &p, d + 1000, 500, 1, &p2).action, ==,
                    COLO_COMPARE_HOLD);
    g_assert_cmpuint(st->held, ==, 2);
    s.seq = 777777;
    s.ttl = 63;
    s.ip_id = 999;
    s.csum = 0x1234;
    s.ack = 55;
    s.window = 1000;
    s.tcp_timestamp = true;
    s.tsval = 42;
    g_assert_cmpint(SEC(t, &s, d, 1500, 5 * MS), ==, COLO_COMPARE_RELEASE);
    g_assert_cmpuint(t->out->len, ==, 2);
    assert_out(t, 0, p1);
    assert_out(t, 1, p2);
    g_assert_cmpuint(st->matched[COLO_PROTO_TCP], ==, 2);
    g_assert_cmpuint(st->mismatched[COLO_PROTO_TCP], ==, 0);
    g_assert_cmpuint(st->held, ==, 0);
    g_assert_cmpuint(st->held_max, ==, 2);
    g_assert_cmpuint(colo_compare_latency_percentile(st, 100), ==, 5 * MS);
    t_free(t);

    /* and the other way round: the secondary sends the smaller pieces */
    t = t_new(1024, 16384);
    p = colo_frame_opts(CF_TCP);
    s = p;
    g_assert_cmpint(PRI(t, &p, d, 1500, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, d, 700, 0), ==, COLO_COMPARE_HOLD);
    s.seq += 700;
    g_assert_cmpint(SEC(t, &s, d + 700, 800, 0), ==, COLO_COMPARE_RELEASE);
    g_assert_cmpuint(t->out->len, ==, 1);
    t_free(t);
}

static void test_tcp_mismatch(void)
{
    T *t = t_new(1024, 16384);
    g_autofree uint8_t *d = pattern(1500, 0);
    g_autofree uint8_t *e = g_memdup2(d, 1500);
    ColoFrameOpts p = colo_frame_opts(CF_TCP), s = p;
    const ColoCompareStats *st = colo_compare_stats(t->cc);
    ColoCompareVerdict v;

    e[1200] ^= 1;
    g_assert_cmpint(PRI(t, &p, d, 1000, 0), ==, COLO_COMPARE_HOLD);
    p.seq += 1000;
    g_assert_cmpint(PRI(t, &p, d + 1000, 500, 0), ==, COLO_COMPARE_HOLD);
    v = feed(t, false, &s, e, 1500, 0, NULL);
    g_assert_cmpint(v.action, ==, COLO_COMPARE_CHECKPOINT);
    g_assert_cmpint(v.reason, ==, COLO_CHECKPOINT_MISMATCH);
    g_assert_cmpint(v.proto, ==, COLO_PROTO_TCP);
    /* the first 1000 bytes matched: that frame may go; not the second */
    g_assert_cmpuint(t->out->len, ==, 1);
    g_assert_cmpuint(st->mismatched[COLO_PROTO_TCP], ==, 1);
    g_assert_cmpuint(st->checkpoints[COLO_CHECKPOINT_MISMATCH], ==, 1);
    g_assert_cmpuint(st->held, ==, 1);
    /* a SYN or FIN only matches the same flag */
    t_free(t);
    t = t_new(1024, 16384);
    p = colo_frame_opts(CF_TCP);
    s = p;
    p.tcp_flags = COLO_TCP_FIN | COLO_TCP_ACK;
    g_assert_cmpint(PRI(t, &p, d, 10, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, d, 11, 0), ==, COLO_COMPARE_CHECKPOINT);
    t_free(t);
}

/* Handshake, retransmissions on both sides, and reordering. */
static void test_tcp_retransmission(void)
{
    T *t = t_new(1024, 16384);
    g_autofree uint8_t *d = pattern(3000, 3);
    ColoFrameOpts p = colo_frame_opts(CF_TCP), s = p;
    const ColoCompareStats *st = colo_compare_stats(t->cc);

    p.seq = 100;
    s.seq = 90000;
    p.tcp_flags = s.tcp_flags = COLO_TCP_SYN;
    g_assert_cmpint(PRI(t, &p, NULL, 0, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, NULL, 0, 0), ==, COLO_COMPARE_RELEASE);
    /* the SYN again (retransmitted) is already compared */
    g_assert_cmpint(PRI(t, &p, NULL, 0, 0), ==, COLO_COMPARE_RELEASE);
    p.tcp_flags = s.tcp_flags = COLO_TCP_ACK;
    p.seq = 101;
    s.seq = 90001;
    g_assert_cmpint(PRI(t, &p, d, 1000, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, d, 1000, 0), ==, COLO_COMPARE_RELEASE);
    g_assert_cmpuint(t->out->len, ==, 3);
    /* both retransmit: the primary's copy goes at once, the
     * secondary's is dropped */
    g_assert_cmpint(PRI(t, &p, d, 1000, 0), ==, COLO_COMPARE_RELEASE);
    g_assert_cmpint(SEC(t, &s, d, 1000, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpuint(st->held, ==, 0);
    /* the secondary's next segments come out of order */
    p.seq = 1101;
    g_assert_cmpint(PRI(t, &p, d + 1000, 2000, 0), ==, COLO_COMPARE_HOLD);
    s.seq = 92001;
    g_assert_cmpint(SEC(t, &s, d + 2000, 1000, 0), ==, COLO_COMPARE_HOLD);
    s.seq = 91001;
    g_assert_cmpint(SEC(t, &s, d + 1000, 1000, 0), ==, COLO_COMPARE_RELEASE);
    g_assert_cmpuint(t->out->len, ==, 5);
    g_assert_cmpuint(st->mismatched[COLO_PROTO_TCP], ==, 0);
    /* a pure ACK has nothing to compare: released at once */
    g_assert_cmpint(PRI(t, &p, NULL, 0, 0), ==, COLO_COMPARE_RELEASE);
    g_assert_cmpuint(st->passed, ==, 1);
    g_assert_cmpuint(st->held, ==, 0);
    t_free(t);
}

static void test_udp_icmp(void)
{
    T *t = t_new(1024, 16384);
    ColoFrameOpts p = colo_frame_opts(CF_UDP), s = p;
    const ColoCompareStats *st = colo_compare_stats(t->cc);

    s.ttl = 1;
    s.ip_id = 4242;
    s.csum = 0xbeef;
    g_assert_cmpint(PRI(t, &p, "query", 5, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, "query", 5, 0), ==, COLO_COMPARE_RELEASE);
    g_assert_cmpint(SEC(t, &s, "query2", 6, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(PRI(t, &p, "query3", 6, 0), ==, COLO_COMPARE_CHECKPOINT);
    g_assert_cmpuint(st->matched[COLO_PROTO_UDP], ==, 1);
    g_assert_cmpuint(st->mismatched[COLO_PROTO_UDP], ==, 1);
    t_free(t);

    t = t_new(1024, 16384);
    st = colo_compare_stats(t->cc);
    p = colo_frame_opts(CF_ICMP);
    s = p;
    s.csum = 0x7777;
    g_assert_cmpint(PRI(t, &p, "\0\1\0\1abc", 7, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, "\0\1\0\1abc", 7, 0), ==,
                    COLO_COMPARE_RELEASE);
    s.icmp_type = 0;                /* echo reply for an echo request */
    g_assert_cmpint(PRI(t, &p, "\0\1\0\2abc", 7, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, "\0\1\0\2abc", 7, 0), ==,
                    COLO_COMPARE_CHECKPOINT);
    g_assert_cmpuint(st->matched[COLO_PROTO_ICMP], ==, 1);
    g_assert_cmpuint(st->mismatched[COLO_PROTO_ICMP], ==, 1);
    t_free(t);

    /* fragments: compared by IP payload, whatever their IP ids */
    t = t_new(1024, 16384);
    st = colo_compare_stats(t->cc);
    p = colo_frame_opts(CF_UDP);
    p.frag = 0x2000;
    s = p;
    s.ip_id = 77;
    g_assert_cmpint(PRI(t, &p, "frag-one", 8, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, "frag-one", 8, 0), ==, COLO_COMPARE_RELEASE);
    p.frag = s.frag = 2;
    g_assert_cmpint(PRI(t, &p, "tail", 4, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, "tall", 4, 0), ==, COLO_COMPARE_CHECKPOINT);
    g_assert_cmpuint(st->matched[COLO_PROTO_IP_FRAGMENT], ==, 1);
    g_assert_cmpuint(st->mismatched[COLO_PROTO_IP_FRAGMENT], ==, 1);
    t_free(t);
}

static void test_arp_ipv6_vlan(void)
{
    T *t = t_new(1024, 16384);
    g_autofree uint8_t *d = pattern(900, 9);
    ColoFrameOpts p = colo_frame_opts(CF_ARP), s = p;
    const ColoCompareStats *st = colo_compare_stats(t->cc);
    g_autoptr(GByteArray) a = colo_frame_build(&p, NULL, 0);

    g_assert_cmpint(PRI(t, &p, NULL, 0, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, NULL, 0, 0), ==, COLO_COMPARE_RELEASE);
    a->data[14 + 7] = 2;            /* a reply where the primary asked */
    g_assert_cmpint(PRI(t, &p, NULL, 0, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(colo_compare_secondary(t->cc, a->data, a->len, 0).action,
                    ==, COLO_COMPARE_CHECKPOINT);
    g_assert_cmpuint(st->matched[COLO_PROTO_ARP], ==, 1);
    g_assert_cmpuint(st->mismatched[COLO_PROTO_ARP], ==, 1);
    colo_compare_flush(t->cc, 0);

    /* IPv6 TCP with extension headers, segmented differently */
    p = colo_frame_opts6(CF_TCP);
    s = p;
    p.ipv6_ext = 2;
    s.ttl = 3;
    g_assert_cmpint(PRI(t, &p, d, 300, 0), ==, COLO_COMPARE_HOLD);
    p.seq += 300;
    g_assert_cmpint(PRI(t, &p, d + 300, 600, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, d, 900, 0), ==, COLO_COMPARE_RELEASE);
    g_assert_cmpuint(st->matched[COLO_PROTO_TCP], ==, 2);

    /* ICMPv6 compared by type, code and body */
    p = colo_frame_opts6(CF_ICMP);
    s = p;
    g_assert_cmpint(PRI(t, &p, "v6ping", 6, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, "v6ping", 6, 0), ==, COLO_COMPARE_RELEASE);
    g_assert_cmpint(PRI(t, &p, "v6ping", 6, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, "v6pong", 6, 0), ==, COLO_COMPARE_CHECKPOINT);
    g_assert_cmpuint(st->matched[COLO_PROTO_ICMPV6], ==, 1);
    g_assert_cmpuint(st->mismatched[COLO_PROTO_ICMPV6], ==, 1);
    colo_compare_flush(t->cc, 0);

    /* the same datagram on another VLAN is not a twin */
    p = colo_frame_opts(CF_UDP);
    p.nvlan = 1;
    p.vlan[0] = 100;
    s = p;
    s.vlan[0] = 200;
    g_assert_cmpint(PRI(t, &p, "v", 1, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, "v", 1, 0), ==, COLO_COMPARE_HOLD);
    s.vlan[0] = 100;
    g_assert_cmpint(SEC(t, &s, "v", 1, 0), ==, COLO_COMPARE_RELEASE);
    g_assert_cmpuint(st->matched[COLO_PROTO_UDP], ==, 1);
    t_free(t);
}

static void test_timeout(void)
{
    T *t = t_new(1024, 16384);
    ColoFrameOpts p = colo_frame_opts(CF_UDP);
    const ColoCompareStats *st = colo_compare_stats(t->cc);
    ColoCompareVerdict v;

    g_assert_cmpint(PRI(t, &p, "lonely", 6, 1000 * MS), ==,
                    COLO_COMPARE_HOLD);
    v = colo_compare_expire(t->cc, 3999 * MS);
    g_assert_cmpint(v.action, ==, COLO_COMPARE_HOLD);
    v = colo_compare_expire(t->cc, 4000 * MS);
    g_assert_cmpint(v.action, ==, COLO_COMPARE_CHECKPOINT);
    g_assert_cmpint(v.reason, ==, COLO_CHECKPOINT_TIMEOUT);
    g_assert_cmpuint(st->checkpoints[COLO_CHECKPOINT_TIMEOUT], ==, 1);
    /* asked again before the flush: still needed, counted once */
    v = colo_compare_expire(t->cc, 4001 * MS);
    g_assert_cmpint(v.action, ==, COLO_COMPARE_CHECKPOINT);
    g_assert_cmpuint(st->checkpoints[COLO_CHECKPOINT_TIMEOUT], ==, 1);
    colo_compare_flush(t->cc, 4100 * MS);
    g_assert_cmpuint(t->out->len, ==, 1);
    g_assert_cmpuint(st->flushed, ==, 1);
    g_assert_cmpuint(colo_compare_latency_percentile(st, 50), ==, 3100 * MS);
    g_assert_cmpint(colo_compare_expire(t->cc, 9999 * MS).action, ==,
                    COLO_COMPARE_HOLD);
    t_free(t);
}

static void test_queue_bound(void)
{
    T *t = t_new(4, 16384);
    ColoFrameOpts p = colo_frame_opts(CF_UDP);
    const ColoCompareStats *st = colo_compare_stats(t->cc);
    ColoCompareVerdict v;
    int i;

    for (i = 0; i < 4; i++) {
        g_assert_cmpint(PRI(t, &p, "q", 1, 0), ==, COLO_COMPARE_HOLD);
    }
    v = feed(t, true, &p, "q", 1, 0, NULL);
    g_assert_cmpint(v.action, ==, COLO_COMPARE_CHECKPOINT);
    g_assert_cmpint(v.reason, ==, COLO_CHECKPOINT_QUEUE_FULL);
    g_assert_cmpuint(st->held, ==, 5);        /* kept, not dropped */
    colo_compare_flush(t->cc, 0);
    g_assert_cmpuint(t->out->len, ==, 5);
    g_assert_cmpuint(st->held, ==, 0);

    /* the secondary's surplus is dropped (it goes nowhere) */
    for (i = 0; i < 4; i++) {
        g_assert_cmpint(SEC(t, &p, "s", 1, 0), ==, COLO_COMPARE_HOLD);
    }
    v = feed(t, false, &p, "s", 1, 0, NULL);
    g_assert_cmpint(v.reason, ==, COLO_CHECKPOINT_QUEUE_FULL);
    g_assert_cmpuint(st->secondary_dropped, ==, 1);
    g_assert_cmpuint(st->checkpoints[COLO_CHECKPOINT_QUEUE_FULL], ==, 2);
    t_free(t);
}

static void test_table_bound(void)
{
    T *t = t_new(1024, 2);
    ColoFrameOpts p = colo_frame_opts(CF_UDP);
    ColoCompareVerdict v;

    g_assert_cmpint(PRI(t, &p, "a", 1, 0), ==, COLO_COMPARE_HOLD);
    p.sport++;
    g_assert_cmpint(PRI(t, &p, "a", 1, 0), ==, COLO_COMPARE_HOLD);
    p.sport++;
    v = feed(t, true, &p, "a", 1, 0, NULL);
    g_assert_cmpint(v.reason, ==, COLO_CHECKPOINT_TABLE_FULL);
    g_assert_cmpuint(colo_compare_connections(t->cc), ==, 3);
    colo_compare_flush(t->cc, 0);
    g_assert_cmpuint(t->out->len, ==, 3);
    g_assert_cmpuint(colo_compare_connections(t->cc), ==, 0);
    t_free(t);
}

/* After a checkpoint: held frames out, the secondary's dropped, and the
 * TCP stream compared again from the primary's next byte. */
static void test_flush(void)
{
    T *t = t_new(1024, 16384);
    g_autofree uint8_t *d = pattern(4000, 1);
    g_autofree uint8_t *e = pattern(4000, 2);
    ColoFrameOpts p = colo_frame_opts(CF_TCP), s = p;
    const ColoCompareStats *st = colo_compare_stats(t->cc);

    g_assert_cmpint(PRI(t, &p, d, 1000, 0), ==, COLO_COMPARE_HOLD);
    s.seq = 5;
    g_assert_cmpint(SEC(t, &s, e, 1000, 0), ==, COLO_COMPARE_CHECKPOINT);
    /* held while the checkpoint runs, even if the secondary agrees */
    p.seq += 1000;
    g_assert_cmpint(PRI(t, &p, d + 1000, 1000, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpuint(t->out->len, ==, 0);
    colo_compare_flush(t->cc, 7);
    g_assert_cmpuint(t->out->len, ==, 2);
    g_assert_cmpuint(st->held, ==, 0);
    g_assert_cmpuint(st->flushed, ==, 2);
    /* the checkpointed secondary continues where the primary is */
    p.seq += 1000;
    s = p;
    g_assert_cmpint(PRI(t, &p, d + 2000, 500, 0), ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(SEC(t, &s, d + 2000, 500, 0), ==, COLO_COMPARE_RELEASE);
    g_assert_cmpuint(t->out->len, ==, 3);
    g_assert_cmpuint(st->checkpoints[COLO_CHECKPOINT_MISMATCH], ==, 1);
    t_free(t);
}

static void test_latency_percentiles(void)
{
    T *t = t_new(1024, 16384);
    ColoFrameOpts p = colo_frame_opts(CF_UDP);
    const ColoCompareStats *st = colo_compare_stats(t->cc);
    int i;

    g_assert_cmpuint(colo_compare_latency_percentile(st, 50), ==, 0);
    /* 100 frames delayed 1..100 us, fed in a scrambled order */
    for (i = 0; i < 100; i++) {
        uint64_t delay = (uint64_t)((i * 37) % 100 + 1) * 1000;

        g_assert_cmpint(PRI(t, &p, "l", 1, 1000000), ==, COLO_COMPARE_HOLD);
        g_assert_cmpint(SEC(t, &p, "l", 1, 1000000 + delay), ==,
                        COLO_COMPARE_RELEASE);
    }
    g_assert_cmpuint(colo_compare_latency_percentile(st, 50), ==, 50000);
    g_assert_cmpuint(colo_compare_latency_percentile(st, 99), ==, 99000);
    g_assert_cmpuint(colo_compare_latency_percentile(st, 100), ==, 100000);
    t_free(t);
}

/* Malformed frames are compared as bytes: the same one twice matches,
 * another does not; garbage of every size goes through without harm. */
static void test_malformed(void)
{
    T *t = t_new(1024, 16384);
    ColoFrameOpts p = colo_frame_opts(CF_TCP);
    g_autoptr(GByteArray) b = colo_frame_build(&p, "abc", 3);
    const ColoCompareStats *st = colo_compare_stats(t->cc);
    g_autoptr(GRand) r = g_rand_new_with_seed(14);
    int i;

    /* an empty frame is a (malformed) frame like any other */
    g_assert_cmpint(colo_compare_primary(t->cc, b->data, 0, 0).action, ==,
                    COLO_COMPARE_HOLD);
    g_assert_cmpint(colo_compare_secondary(t->cc, b->data, 0, 0).action, ==,
                    COLO_COMPARE_RELEASE);
    g_assert_cmpuint(g_bytes_get_size(t->out->pdata[0]), ==, 0);
    g_assert_cmpuint(st->matched[COLO_PROTO_MALFORMED], ==, 1);
    g_ptr_array_set_size(t->out, 0);

    b->data[16] = 0xff;             /* lying total length */
    g_assert_cmpint(colo_compare_primary(t->cc, b->data, b->len, 0).action,
                    ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(colo_compare_secondary(t->cc, b->data, b->len, 0).action,
                    ==, COLO_COMPARE_RELEASE);
    g_assert_cmpuint(st->matched[COLO_PROTO_MALFORMED], ==, 2);
    g_assert_cmpint(colo_compare_primary(t->cc, b->data, b->len, 0).action,
                    ==, COLO_COMPARE_HOLD);
    g_assert_cmpint(colo_compare_secondary(t->cc, b->data, b->len - 1,
                                           0).action,
                    ==, COLO_COMPARE_CHECKPOINT);
    colo_compare_flush(t->cc, 0);
    for (i = 0; i < 2000; i++) {
        size_t n = g_rand_int_range(r, 0, 200);
        g_autofree uint8_t *g = g_malloc(n ? n : 1);
        size_t k;

        for (k = 0; k < n; k++) {
            g[k] = g_rand_int(r);
        }
        if (n > 13 && (i & 1)) {
            g[12] = 0x08;           /* mostly IPv4 */
            g[13] = 0;
        }
        colo_compare_primary(t->cc, g, n, i);
        colo_compare_secondary(t->cc, g, n, i);
    }
    colo_compare_flush(t->cc, 0);
    g_assert_cmpuint(st->held, ==, 0);
    t_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/colo-compare/tcp-segmentation", test_tcp_segmentation);
    g_test_add_func("/colo-compare/tcp-mismatch", test_tcp_mismatch);
    g_test_add_func("/colo-compare/tcp-retransmission",
                    test_tcp_retransmission);
    g_test_add_func("/colo-compare/udp-icmp", test_udp_icmp);
    g_test_add_func("/colo-compare/arp-ipv6-vlan", test_arp_ipv6_vlan);
    g_test_add_func("/colo-compare/timeout", test_timeout);
    g_test_add_func("/colo-compare/queue-bound", test_queue_bound);
    g_test_add_func("/colo-compare/table-bound", test_table_bound);
    g_test_add_func("/colo-compare/flush", test_flush);
    g_test_add_func("/colo-compare/latency-percentiles",
                    test_latency_percentiles);
    g_test_add_func("/colo-compare/malformed", test_malformed);
    return g_test_run();
}
