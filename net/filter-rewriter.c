/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filter-rewriter: the COLO secondary's TCP sequence translation (the
 * connection table and its rules are in include/net/filter-rewriter.h),
 * and the netfilter object that runs it on a netdev's frames:
 *
 *   -object filter-rewriter,id=rew0,netdev=hn0,queue=all
 *
 * Frames the netdev sends (tx) go to the SVM; frames the SVM's NIC sends
 * (rx) come from it. A frame that needs a change is copied, patched and
 * sent on from the rewriter's place in the chain; the others pass as they
 * are. COLO's events reach the table through a COLO notifier:
 * CHECKPOINT_LOADED zeroes the offsets, FAILOVER keeps only what must
 * survive the promotion.
 */
#include <string.h>
#include <glib.h>
#include "migration/colo.h"
#include "net/colo.h"
#include "net/filter-rewriter.h"
#include "net/filter.h"
#include "trace.h"

#define TCP_SEQ_OFF     4
#define TCP_ACK_OFF     8
#define TCP_CSUM_OFF    16
#define TCP_HDR_MIN     20
#define VNET_HDR_F_NEEDS_CSUM   1

typedef struct RewriterConn {
    ColoConnKey key;
    uint32_t svm_isn;
    bool svm_isn_known;
    bool offset_known;
    uint32_t offset;            /* ISN(PVM) - ISN(SVM) */
    /* Teardown: each side's FIN, and whether the other side acked it.
     * fin_svm_end is in the SVM's numbering, fin_peer_end the peer's. */
    bool fin_svm, fin_svm_acked;
    uint32_t fin_svm_end;
    bool fin_peer, fin_peer_acked;
    uint32_t fin_peer_end;
} RewriterConn;

struct RewriterTable {
    GHashTable *conns;          /* ColoConnKey -> RewriterConn (key inside) */
    bool failover;
    uint64_t untracked;         /* SYNs not tracked: the table was full */
};

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

/* a is at or after b in sequence space. */
static bool seq_geq(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) >= 0;
}

uint16_t rewriter_csum_update16(uint16_t csum, uint16_t old, uint16_t new)
{
    /* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), ones' complement sums. */
    uint32_t sum = (uint16_t)~csum + (uint16_t)~old + (uint32_t)new;

    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Writes a 32-bit field of the TCP header, patching the checksum. */
static void rewriter_set32(uint8_t *tcp, size_t off, uint32_t v,
                           bool patch_csum)
{
    uint8_t *f = tcp + off;
    uint16_t csum = rd16(tcp + TCP_CSUM_OFF);

    if (patch_csum) {
        csum = rewriter_csum_update16(csum, rd16(f), v >> 16);
        csum = rewriter_csum_update16(csum, rd16(f + 2), v & 0xffff);
        wr16(tcp + TCP_CSUM_OFF, csum);
    }
    wr16(f, v >> 16);
    wr16(f + 2, v & 0xffff);
}

RewriterTable *rewriter_table_new(void)
{
    RewriterTable *t = g_new0(RewriterTable, 1);

    t->conns = g_hash_table_new_full(colo_conn_key_hash, colo_conn_key_equal,
                                     NULL, g_free);
    return t;
}

void rewriter_table_free(RewriterTable *t)
{
    if (t) {
        g_hash_table_destroy(t->conns);
        g_free(t);
    }
}

unsigned rewriter_conn_count(RewriterTable *t)
{
    return g_hash_table_size(t->conns);
}

/* The TCP frame's packet and connection, or false when it is no TCP. */
static bool rewriter_parse(const uint8_t *buf, size_t len,
                           size_t vnet_hdr_len, ColoPacket *pkt,
                           ColoConnKey *key)
{
    if (!colo_packet_parse(buf, len, vnet_hdr_len, pkt) ||
        pkt->proto != COLO_PROTO_TCP || pkt->l4_off + TCP_HDR_MIN > len) {
        return false;
    }
    colo_conn_key_from_packet(pkt, key);
    return true;
}

bool rewriter_conn_offset(RewriterTable *t, const uint8_t *buf, size_t len,
                          size_t vnet_hdr_len, uint32_t *offset)
{
    ColoPacket pkt;
    ColoConnKey key;
    RewriterConn *c;

    if (!rewriter_parse(buf, len, vnet_hdr_len, &pkt, &key) ||
        !(c = g_hash_table_lookup(t->conns, &key)) || !c->offset_known) {
        return false;
    }
    *offset = c->offset;
    return true;
}

/* The frame's FIN, if any, ends at this sequence number (+1 for it). */
static uint32_t rewriter_fin_end(const ColoPacket *pkt, uint32_t seq)
{
    return seq + (uint32_t)pkt->payload_len + 1;
}

/* From the SVM: seq += offset. */
static bool rewriter_from_svm(RewriterTable *t, RewriterConn *c,
                              const ColoPacket *pkt, uint8_t *tcp,
                              bool patch_csum)
{
    bool changed = false;

    if (!c) {
        return false;
    }
    if ((pkt->tcp_flags & COLO_TCP_SYN) && !c->svm_isn_known) {
        c->svm_isn = pkt->seq;
        c->svm_isn_known = true;
    }
    if (c->offset_known && c->offset) {
        rewriter_set32(tcp, TCP_SEQ_OFF, pkt->seq + c->offset, patch_csum);
        changed = true;
    }
    if (pkt->tcp_flags & COLO_TCP_FIN) {
        c->fin_svm = true;
        c->fin_svm_end = rewriter_fin_end(pkt, pkt->seq);
    }
    /* The SVM acknowledges the peer's FIN (acks are in the peer's
     * numbering, untranslated). */
    if (c->fin_peer && (pkt->tcp_flags & COLO_TCP_ACK) &&
        seq_geq(pkt->ack, c->fin_peer_end)) {
        c->fin_peer_acked = true;
    }
    return changed;
}

/* To the SVM: ack -= offset; the first ack after the SVM's SYN teaches
 * the offset. */
static bool rewriter_to_svm(RewriterTable *t, RewriterConn *c,
                            const ColoPacket *pkt, uint8_t *tcp,
                            bool patch_csum)
{
    uint32_t ack = pkt->ack;
    bool changed = false;

    if (!c || !(pkt->tcp_flags & COLO_TCP_ACK)) {
        goto fin;
    }
    if (!c->offset_known && c->svm_isn_known) {
        c->offset = (pkt->ack - 1) - c->svm_isn;
        c->offset_known = true;
        trace_filter_rewriter_offset(c->offset);
    }
    if (c->offset_known && c->offset) {
        ack = pkt->ack - c->offset;
        rewriter_set32(tcp, TCP_ACK_OFF, ack, patch_csum);
        changed = true;
    }
    if (c->fin_svm && seq_geq(ack, c->fin_svm_end)) {
        c->fin_svm_acked = true;
    }
fin:
    if (c && (pkt->tcp_flags & COLO_TCP_FIN)) {
        c->fin_peer = true;
        c->fin_peer_end = rewriter_fin_end(pkt, pkt->seq);
    }
    return changed;
}

static gboolean rewriter_offset_zero(gpointer key, gpointer value,
                                     gpointer opaque)
{
    RewriterConn *c = value;

    return c->offset_known && !c->offset;
}

/*
 * Room for one more connection? At REWRITER_MAX_CONNS the connections
 * whose offset is 0 (all of them after a checkpoint) go first: they
 * translate nothing, only their FINs are watched. If that frees nothing
 * the new connection is not tracked (counted): it breaks only if the
 * secondary takes over before the next checkpoint zeroes its offset.
 * QEMU instead wipes the whole table.
 */
static bool rewriter_has_room(RewriterTable *t)
{
    if (g_hash_table_size(t->conns) < REWRITER_MAX_CONNS) {
        return true;
    }
    g_hash_table_foreach_remove(t->conns, rewriter_offset_zero, NULL);
    if (g_hash_table_size(t->conns) < REWRITER_MAX_CONNS) {
        return true;
    }
    t->untracked++;
    return false;
}

uint64_t rewriter_untracked(RewriterTable *t)
{
    return t->untracked;
}

bool rewriter_process(RewriterTable *t, bool to_svm, uint8_t *buf,
                      size_t len, size_t vnet_hdr_len)
{
    ColoPacket pkt;
    ColoConnKey key;
    RewriterConn *c;
    bool patch_csum, changed;
    uint8_t *tcp;

    if (!rewriter_parse(buf, len, vnet_hdr_len, &pkt, &key)) {
        return false;
    }
    tcp = buf + pkt.l4_off;
    /* NEEDS_CSUM: the field holds the pseudo-header sum only. */
    patch_csum = !(vnet_hdr_len && (buf[0] & VNET_HDR_F_NEEDS_CSUM));
    c = g_hash_table_lookup(t->conns, &key);
    if (!c && !to_svm && (pkt.tcp_flags & COLO_TCP_SYN) && !t->failover &&
        rewriter_has_room(t)) {
        c = g_new0(RewriterConn, 1);
        c->key = key;
        g_hash_table_insert(t->conns, &c->key, c);
        trace_filter_rewriter_conn(pkt.sport, pkt.dport, "new");
    }
    changed = to_svm ? rewriter_to_svm(t, c, &pkt, tcp, patch_csum)
                     : rewriter_from_svm(t, c, &pkt, tcp, patch_csum);
    if (c && ((pkt.tcp_flags & COLO_TCP_RST) ||
              (c->fin_svm_acked && c->fin_peer_acked))) {
        trace_filter_rewriter_conn(pkt.sport, pkt.dport,
                                   (pkt.tcp_flags & COLO_TCP_RST) ? "reset"
                                                                  : "closed");
        g_hash_table_remove(t->conns, &key);
    }
    return changed;
}

static void rewriter_zero_offset(gpointer key, gpointer value,
                                 gpointer opaque)
{
    RewriterConn *c = value;

    c->offset = 0;
    c->offset_known = true;
}

void rewriter_checkpoint(RewriterTable *t)
{
    g_hash_table_foreach(t->conns, rewriter_zero_offset, NULL);
}

static gboolean rewriter_nothing_to_do(gpointer key, gpointer value,
                                       gpointer opaque)
{
    RewriterConn *c = value;

    return !c->offset_known || !c->offset;
}

void rewriter_failover(RewriterTable *t)
{
    t->failover = true;
    g_hash_table_foreach_remove(t->conns, rewriter_nothing_to_do, NULL);
}

/* ---- the netfilter ---- */

typedef struct FilterRewriter {
    NetFilterState nf;
    RewriterTable *table;
    uint64_t rewritten;
} FilterRewriter;

static void filter_rewriter_colo_event(ColoEvent ev, COLOMode mode,
                                       void *opaque)
{
    FilterRewriter *r = opaque;

    if (ev == COLO_EVENT_CHECKPOINT_LOADED) {
        rewriter_checkpoint(r->table);
    } else if (ev == COLO_EVENT_FAILOVER) {
        rewriter_failover(r->table);
    }
}

static bool filter_rewriter_setup(NetFilterState *nf, Error **errp)
{
    FilterRewriter *r = (FilterRewriter *)nf;

    r->table = rewriter_table_new();
    colo_notifier_add(filter_rewriter_colo_event, r);
    return true;
}

static ssize_t filter_rewriter_receive_iov(NetFilterState *nf,
                                           NetClientState *sender,
                                           NetFilterDirection dir,
                                           const struct iovec *iov,
                                           int iovcnt)
{
    FilterRewriter *r = (FilterRewriter *)nf;
    size_t len = 0, off = 0;
    g_autofree uint8_t *buf = NULL;
    struct iovec out;

    for (int i = 0; i < iovcnt; i++) {
        len += iov[i].iov_len;
    }
    buf = g_malloc(len);
    for (int i = 0; i < iovcnt; i++) {
        memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    if (!rewriter_process(r->table, dir == NET_FILTER_DIRECTION_TX, buf, len,
                          nf->netdev->vnet_hdr_len)) {
        return 0;
    }
    r->rewritten++;
    out.iov_base = buf;
    out.iov_len = len;
    netfilter_pass_to_next(nf, sender, &out, 1);
    return len;
}

static void filter_rewriter_cleanup(NetFilterState *nf)
{
    FilterRewriter *r = (FilterRewriter *)nf;

    if (r->table) {
        colo_notifier_remove(filter_rewriter_colo_event, r);
        g_clear_pointer(&r->table, rewriter_table_free);
    }
}

static const NetFilterOps filter_rewriter_ops = {
    .setup = filter_rewriter_setup,
    .receive_iov = filter_rewriter_receive_iov,
    .cleanup = filter_rewriter_cleanup,
};

static bool filter_rewriter_complete(Object *obj, Error **errp)
{
    return netfilter_complete(obj, &filter_rewriter_ops, errp);
}

RewriterTable *filter_rewriter_table(NetFilterState *nf)
{
    if (!type_is_a(nf->parent.type, "filter-rewriter")) {
        return NULL;
    }
    return ((FilterRewriter *)nf)->table;
}

static const ObjectProperty filter_rewriter_props[] = {
    /* Accepted as QEMU does; the vnet header length comes from the
     * netdev either way. */
    NETFILTER_VNET_HDR_PROP(FilterRewriter),
    { NULL },
};

static const TypeInfo filter_rewriter_type_info = {
    .name = "filter-rewriter",
    .parent = TYPE_NETFILTER,
    .description = "translates TCP sequence numbers on a COLO secondary",
    .user_creatable = true,
    .instance_size = sizeof(FilterRewriter),
    .props = filter_rewriter_props,
    .complete = filter_rewriter_complete,
    .finalize = netfilter_finalize,
};
TYPE_REGISTER(filter_rewriter_type_info)
