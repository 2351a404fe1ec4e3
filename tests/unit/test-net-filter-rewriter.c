/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filter-rewriter (net/filter-rewriter.c): the connection table driven
 * frame by frame with synthetic TCP frames (tests/unit/colo-frame.c),
 * every patched checksum checked against a full recomputation over many
 * random frames, and the filter object on a netdev between two pretend
 * NICs.
 *
 * The guest (the SVM) is 10.0.0.2:80 / fd00::2 port 80; the outside peer
 * 10.0.0.1:5000. "to_svm" frames come from the peer.
 */
#include <string.h>
#include "colo-frame.h"
#include "net-test-nic.h"
#include "net/colo.h"
#include "net/filter-rewriter.h"
#include "net/filter.h"
#include "net/netdev.h"
#include "qom/object.h"
#include "util/main-loop.h"

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static uint32_t sum_bytes(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += rd16(p + i);
    }
    if (len & 1) {
        sum += p[len - 1] << 8;
    }
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

/* The TCP checksum recomputed from scratch over the whole segment, with
 * its field taken as 0. */
static uint16_t tcp_csum_full(const uint8_t *buf, size_t len, size_t vnet)
{
    ColoPacket pkt;
    uint32_t sum = 0;
    size_t tcp_len;
    g_autofree uint8_t *seg = NULL;

    g_assert_true(colo_packet_parse(buf, len, vnet, &pkt));
    g_assert_cmpint(pkt.proto, ==, COLO_PROTO_TCP);
    tcp_len = pkt.l3_off + pkt.l3_len - pkt.l4_off;
    sum = sum_bytes(sum, pkt.src, pkt.addr_len);
    sum = sum_bytes(sum, pkt.dst, pkt.addr_len);
    sum += 6;
    sum += tcp_len & 0xffff;
    sum += tcp_len >> 16;
    seg = g_memdup2(buf + pkt.l4_off, tcp_len);
    seg[16] = seg[17] = 0;
    sum = sum_bytes(sum, seg, tcp_len);
    return ~fold(sum) & 0xffff;
}

static size_t tcp_off(const uint8_t *buf, size_t len, size_t vnet)
{
    ColoPacket pkt;

    g_assert_true(colo_packet_parse(buf, len, vnet, &pkt));
    return pkt.l4_off;
}

/* A TCP frame with a correct checksum. */
static GByteArray *tcp_frame(bool v6, bool to_svm, uint32_t seq, uint32_t ack,
                             uint8_t flags, size_t plen, size_t vnet,
                             uint16_t peer_port)
{
    ColoFrameOpts o = v6 ? colo_frame_opts6(CF_TCP) : colo_frame_opts(CF_TCP);
    g_autofree uint8_t *payload = g_malloc(plen + 1);
    GByteArray *f;
    size_t l4;
    uint16_t c;

    for (size_t i = 0; i < plen; i++) {
        payload[i] = g_random_int();
    }
    if (!to_svm) {
        uint8_t tmp[16];

        memcpy(tmp, o.src, 16);
        memcpy(o.src, o.dst, 16);
        memcpy(o.dst, tmp, 16);
        o.sport = 80;
        o.dport = peer_port;
    } else {
        o.sport = peer_port;
        o.dport = 80;
    }
    o.seq = seq;
    o.ack = ack;
    o.tcp_flags = flags;
    o.vnet_hdr_len = vnet;
    f = colo_frame_build(&o, payload, plen);
    l4 = tcp_off(f->data, f->len, vnet);
    c = tcp_csum_full(f->data, f->len, vnet);
    f->data[l4 + 16] = c >> 8;
    f->data[l4 + 17] = c;
    return f;
}

static uint32_t frame_seq(GByteArray *f, size_t vnet)
{
    return rd32(f->data + tcp_off(f->data, f->len, vnet) + 4);
}

static uint32_t frame_ack(GByteArray *f, size_t vnet)
{
    return rd32(f->data + tcp_off(f->data, f->len, vnet) + 8);
}

static uint16_t frame_csum(GByteArray *f, size_t vnet)
{
    return rd16(f->data + tcp_off(f->data, f->len, vnet) + 16);
}

#define SYN     COLO_TCP_SYN
#define ACK     COLO_TCP_ACK
#define FIN     COLO_TCP_FIN
#define RST     COLO_TCP_RST

/* Runs one frame; returns whether it changed; checks its checksum. */
static bool run(RewriterTable *t, GByteArray *f, bool to_svm, size_t vnet)
{
    bool changed = rewriter_process(t, to_svm, f->data, f->len, vnet);

    g_assert_cmphex(frame_csum(f, vnet), ==,
                    tcp_csum_full(f->data, f->len, vnet));
    return changed;
}

/*
 * The guest accepts: the peer's SYN, the SVM's SYN-ACK (its ISN), the
 * peer's ACK of the PVM's SYN-ACK (teaches the offset).
 */
static void handshake_server(RewriterTable *t, bool v6, uint32_t isn_peer,
                             uint32_t isn_p, uint32_t isn_s, size_t vnet,
                             uint16_t port)
{
    g_autoptr(GByteArray) syn = tcp_frame(v6, true, isn_peer, 0, SYN, 0, vnet,
                                          port);
    g_autoptr(GByteArray) synack = tcp_frame(v6, false, isn_s, isn_peer + 1,
                                             SYN | ACK, 0, vnet, port);
    g_autoptr(GByteArray) ack = tcp_frame(v6, true, isn_peer + 1, isn_p + 1,
                                          ACK, 0, vnet, port);

    g_assert_false(run(t, syn, true, vnet));
    g_assert_false(run(t, synack, false, vnet));
    g_assert_cmpuint(frame_seq(synack, vnet), ==, isn_s);
    g_assert_cmpint(run(t, ack, true, vnet), ==, isn_p != isn_s);
    g_assert_cmpuint(frame_ack(ack, vnet), ==, isn_s + 1);
}

static void test_guest_server(void)
{
    RewriterTable *t = rewriter_table_new();
    g_autoptr(GByteArray) data_out = NULL, data_in = NULL;
    uint32_t off;

    handshake_server(t, false, 1000, 50000, 90000, 0, 5000);
    g_assert_cmpuint(rewriter_conn_count(t), ==, 1);
    /* SVM data out: seq in the PVM's numbering. */
    data_out = tcp_frame(false, false, 90001, 1001, ACK, 100, 0, 5000);
    g_assert_true(run(t, data_out, false, 0));
    g_assert_cmpuint(frame_seq(data_out, 0), ==, 50001);
    g_assert_cmpuint(frame_ack(data_out, 0), ==, 1001);
    /* Peer data in: its ack in the SVM's numbering. */
    data_in = tcp_frame(false, true, 1001, 50101, ACK, 10, 0, 5000);
    g_assert_true(run(t, data_in, true, 0));
    g_assert_cmpuint(frame_ack(data_in, 0), ==, 90101);
    g_assert_cmpuint(frame_seq(data_in, 0), ==, 1001);
    g_assert_true(rewriter_conn_offset(t, data_in->data, data_in->len, 0,
                                       &off));
    g_assert_cmpuint(off, ==, 50000u - 90000u);
    rewriter_table_free(t);
}

static void test_guest_client(void)
{
    RewriterTable *t = rewriter_table_new();
    g_autoptr(GByteArray) syn = tcp_frame(true, false, 7, 0, SYN, 0, 0, 6000);
    g_autoptr(GByteArray) synack = tcp_frame(true, true, 300, 0xfffffff1u,
                                             SYN | ACK, 0, 0, 6000);
    g_autoptr(GByteArray) ack = tcp_frame(true, false, 8, 301, ACK, 0, 0,
                                          6000);

    /* The SVM connects with ISN 7, the PVM did with 0xfffffff0. */
    g_assert_false(run(t, syn, false, 0));
    g_assert_true(run(t, synack, true, 0));
    g_assert_cmpuint(frame_ack(synack, 0), ==, 8);
    g_assert_true(run(t, ack, false, 0));
    g_assert_cmpuint(frame_seq(ack, 0), ==, 0xfffffff1u);
    rewriter_table_free(t);
}

/* Thousands of random frames over random connections: every patched
 * checksum equals the recomputed one (run() checks), fields translated. */
static void test_csum_random(void)
{
    RewriterTable *t = rewriter_table_new();
    unsigned changed = 0;

    for (int c = 0; c < 64; c++) {
        bool v6 = c & 1;
        size_t vnet = (c & 2) ? 12 : 0;
        uint32_t isn_peer = g_random_int(), isn_p = g_random_int();
        uint32_t isn_s = g_random_int();
        uint16_t port = 1024 + c;

        handshake_server(t, v6, isn_peer, isn_p, isn_s, vnet, port);
        for (int i = 0; i < 64; i++) {
            bool to_svm = g_random_boolean();
            uint32_t seq = g_random_int(), ack = g_random_int();
            size_t plen = g_random_int_range(0, 300);
            g_autoptr(GByteArray) f = tcp_frame(v6, to_svm, seq, ack,
                                                ACK | (i & 8), plen, vnet,
                                                port);

            changed += run(t, f, to_svm, vnet);
            if (to_svm) {
                g_assert_cmpuint(frame_ack(f, vnet), ==,
                                 ack - (isn_p - isn_s));
                g_assert_cmpuint(frame_seq(f, vnet), ==, seq);
            } else {
                g_assert_cmpuint(frame_seq(f, vnet), ==,
                                 seq + (isn_p - isn_s));
                g_assert_cmpuint(frame_ack(f, vnet), ==, ack);
            }
        }
    }
    g_test_message("%u of %u frames patched", changed, 64 * 64);
    g_assert_cmpuint(changed, >, 64 * 60);
    /* The RFC 1624 edge: a word going to or from 0x0000/0xffff. */
    for (uint32_t old = 0; old < 0x10000; old += 0x1111) {
        for (uint32_t new = 0; new < 0x10000; new += 0x0f0f) {
            uint16_t data[2] = { 0x1234, old }, csum;

            csum = ~fold(data[0] + data[1]) & 0xffff;
            csum = rewriter_csum_update16(csum, old, new);
            g_assert_cmphex(fold(0x1234 + new + csum), ==, 0xffff);
        }
    }
    rewriter_table_free(t);
}

/* NEEDS_CSUM: the checksum field holds the pseudo-header sum only and is
 * left as it is. */
static void test_needs_csum(void)
{
    RewriterTable *t = rewriter_table_new();
    g_autoptr(GByteArray) f = NULL;
    uint16_t before;

    handshake_server(t, false, 1, 100, 200, 12, 5000);
    f = tcp_frame(false, false, 201, 2, ACK, 40, 12, 5000);
    f->data[0] = 1;                 /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
    before = frame_csum(f, 12);
    g_assert_true(rewriter_process(t, false, f->data, f->len, 12));
    g_assert_cmpuint(frame_seq(f, 12), ==, 101);
    g_assert_cmphex(frame_csum(f, 12), ==, before);
    rewriter_table_free(t);
}

static void test_teardown(void)
{
    RewriterTable *t = rewriter_table_new();
    g_autoptr(GByteArray) fin_s = NULL, ack_p = NULL, fin_p = NULL;
    g_autoptr(GByteArray) ack_s = NULL, rst = NULL;

    /* offset 100 - 200; SVM seq 201.. is PVM 101.. */
    handshake_server(t, false, 1, 100, 200, 0, 5000);
    fin_s = tcp_frame(false, false, 201, 2, FIN | ACK, 0, 0, 5000);
    g_assert_true(run(t, fin_s, false, 0));
    g_assert_cmpuint(frame_seq(fin_s, 0), ==, 101);
    ack_p = tcp_frame(false, true, 2, 102, ACK, 0, 0, 5000);
    g_assert_true(run(t, ack_p, true, 0));
    g_assert_cmpuint(frame_ack(ack_p, 0), ==, 202);
    g_assert_cmpuint(rewriter_conn_count(t), ==, 1);
    fin_p = tcp_frame(false, true, 2, 102, FIN | ACK, 0, 0, 5000);
    g_assert_true(run(t, fin_p, true, 0));
    g_assert_cmpuint(rewriter_conn_count(t), ==, 1);
    /* The last ACK is still translated, then the connection is gone. */
    ack_s = tcp_frame(false, false, 202, 3, ACK, 0, 0, 5000);
    g_assert_true(run(t, ack_s, false, 0));
    g_assert_cmpuint(frame_seq(ack_s, 0), ==, 102);
    g_assert_cmpuint(rewriter_conn_count(t), ==, 0);

    /* RST either way ends it at once. */
    handshake_server(t, false, 1, 100, 200, 0, 5001);
    g_assert_cmpuint(rewriter_conn_count(t), ==, 1);
    rst = tcp_frame(false, true, 2, 101, RST | ACK, 0, 0, 5001);
    g_assert_true(run(t, rst, true, 0));
    g_assert_cmpuint(frame_ack(rst, 0), ==, 201);
    g_assert_cmpuint(rewriter_conn_count(t), ==, 0);
    rewriter_table_free(t);
}

static void test_checkpoint_failover(void)
{
    RewriterTable *t = rewriter_table_new();
    g_autoptr(GByteArray) a = NULL, b = NULL, c = NULL, d = NULL;

    handshake_server(t, false, 1, 100, 200, 0, 5000);
    handshake_server(t, false, 1, 100, 200, 0, 5001);
    /* After a checkpoint the SVM equals the PVM: nothing to translate. */
    rewriter_checkpoint(t);
    a = tcp_frame(false, false, 101, 2, ACK, 5, 0, 5000);
    g_assert_false(run(t, a, false, 0));
    g_assert_cmpuint(frame_seq(a, 0), ==, 101);
    /* A connection opened after it gets its own offset... */
    handshake_server(t, false, 1, 500, 900, 0, 5002);
    g_assert_cmpuint(rewriter_conn_count(t), ==, 3);
    /* ...and survives failover; the zero-offset ones are forgotten. */
    rewriter_failover(t);
    g_assert_cmpuint(rewriter_conn_count(t), ==, 1);
    b = tcp_frame(false, false, 901, 2, ACK, 5, 0, 5002);
    g_assert_true(run(t, b, false, 0));
    g_assert_cmpuint(frame_seq(b, 0), ==, 501);
    /* No new connection is tracked after failover. */
    c = tcp_frame(false, false, 7000, 0, SYN, 0, 0, 5003);
    g_assert_false(run(t, c, false, 0));
    d = tcp_frame(false, true, 1, 12345, ACK, 0, 0, 5003);
    g_assert_false(run(t, d, true, 0));
    g_assert_cmpuint(rewriter_conn_count(t), ==, 1);
    rewriter_table_free(t);
}

/* Garbage and truncated frames: never a crash, never a change. */
static void test_hostile(void)
{
    RewriterTable *t = rewriter_table_new();
    g_autoptr(GByteArray) f = tcp_frame(false, false, 1, 0, SYN, 20, 0, 5000);

    for (size_t len = 0; len < f->len; len++) {
        g_autofree uint8_t *cut = g_memdup2(f->data, len);

        rewriter_process(t, false, cut, len, 0);
        rewriter_process(t, true, cut, len, 0);
    }
    for (int i = 0; i < 2000; i++) {
        uint8_t junk[80];

        for (size_t j = 0; j < sizeof(junk); j++) {
            junk[j] = g_random_int();
        }
        rewriter_process(t, i & 1, junk, g_random_int_range(0, 80), 0);
    }
    rewriter_table_free(t);
}

/* The bound: zero-offset connections make room; live ones are kept and
 * a SYN beyond them is counted, not tracked. */
static void test_table_bound(void)
{
    RewriterTable *t = rewriter_table_new();
    g_autoptr(GByteArray) syn = tcp_frame(false, false, 9, 0, SYN, 0, 0, 1);
    ColoPacket pkt;
    size_t sport_off;

    g_assert_true(colo_packet_parse(syn->data, syn->len, 0, &pkt));
    sport_off = pkt.l4_off;
    /* Fill the table with SVM SYNs (ports vary; checksums do not matter
     * here) */
    for (unsigned i = 0; i < REWRITER_MAX_CONNS; i++) {
        g_autoptr(GByteArray) f = g_byte_array_sized_new(syn->len);

        g_byte_array_append(f, syn->data, syn->len);
        f->data[sport_off] = i >> 8;        /* the SVM's port 80 -> i */
        f->data[sport_off + 1] = i;
        rewriter_process(t, false, f->data, f->len, 0);
    }
    g_assert_cmpuint(rewriter_conn_count(t), ==, REWRITER_MAX_CONNS);
    {
        g_autoptr(GByteArray) synack = tcp_frame(false, false, 200, 2,
                                                 SYN | ACK, 0, 0, 5000);
        g_autoptr(GByteArray) ack = tcp_frame(false, true, 2, 101, ACK, 0,
                                              0, 5000);

        g_assert_false(run(t, synack, false, 0));
        g_assert_false(run(t, ack, true, 0));       /* not translated */
    }
    g_assert_cmpuint(rewriter_untracked(t), ==, 1);
    g_assert_cmpuint(rewriter_conn_count(t), ==, REWRITER_MAX_CONNS);
    /* After a checkpoint their offsets are 0: the next SYN makes room. */
    rewriter_checkpoint(t);
    handshake_server(t, false, 1, 100, 200, 0, 5001);
    g_assert_cmpuint(rewriter_conn_count(t), ==, 1);
    g_assert_cmpuint(rewriter_untracked(t), ==, 1);
    rewriter_table_free(t);
}

/* The filter object on a netdev: the guest's NIC is the SVM. */
static void test_filter_object(void)
{
    TestNic *g, *w;
    g_autoptr(GByteArray) synack = NULL, ack = NULL, data = NULL;
    GBytes *got;

    g_assert_nonnull(net_netdev_add_cmdline("hubport,id=hp0,hubid=4",
                                            &error_abort));
    g_assert_nonnull(net_netdev_add_cmdline("hubport,id=hp1,hubid=4",
                                            &error_abort));
    g = test_nic_new("svm", "hp0");
    w = test_nic_new("peer", "hp1");
    g_assert_nonnull(object_create_cmdline(
        "filter-rewriter,id=rew0,netdev=hp0,queue=all", &error_abort));
    synack = tcp_frame(false, false, 200, 2, SYN | ACK, 0, 0, 5000);
    test_nic_send(g, synack->data, synack->len);
    ack = tcp_frame(false, true, 2, 101, ACK, 0, 0, 5000);
    test_nic_send(w, ack->data, ack->len);
    g_assert_cmpuint(g->got->len, ==, 1);
    got = g_ptr_array_index(g->got, 0);
    g_assert_cmpuint(rd32((const uint8_t *)g_bytes_get_data(got, NULL) +
                          tcp_off(ack->data, ack->len, 0) + 8), ==, 201);
    data = tcp_frame(false, false, 201, 2, ACK, 30, 0, 5000);
    test_nic_send(g, data->data, data->len);
    g_assert_cmpuint(w->got->len, ==, 2);
    got = g_ptr_array_index(w->got, 1);
    g_assert_cmpuint(rd32((const uint8_t *)g_bytes_get_data(got, NULL) +
                          tcp_off(data->data, data->len, 0) + 4), ==, 101);
    g_assert_cmpuint(rewriter_conn_count(filter_rewriter_table(
        netfilter_find("rew0", &error_abort))), ==, 1);
    g_assert_true(object_delete("rew0", &error_abort));
    test_nic_free(g);
    test_nic_free(w);
    net_netdev_del("hp0", &error_abort);
    net_netdev_del("hp1", &error_abort);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    bql_lock();
    g_test_add_func("/net/filter-rewriter/guest-server", test_guest_server);
    g_test_add_func("/net/filter-rewriter/guest-client", test_guest_client);
    g_test_add_func("/net/filter-rewriter/csum-random", test_csum_random);
    g_test_add_func("/net/filter-rewriter/needs-csum", test_needs_csum);
    g_test_add_func("/net/filter-rewriter/teardown", test_teardown);
    g_test_add_func("/net/filter-rewriter/checkpoint-failover",
                    test_checkpoint_failover);
    g_test_add_func("/net/filter-rewriter/hostile", test_hostile);
    g_test_add_func("/net/filter-rewriter/table-bound", test_table_bound);
    g_test_add_func("/net/filter-rewriter/filter-object", test_filter_object);
    return g_test_run();
}
