/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: TCP, server side (see tcp.h for the state diagram,
 * the send and receive rules).  The connection table is fixed at
 * TCP_MAX_CONN; when it is full a TIME_WAIT slot is recycled, else the SYN
 * is refused with a RST.  Every segment is checked (length, data offset,
 * checksum, option lengths) before any field is used.
 */
#include "tcp.h"

#define TCP_HLEN        20
#define TH_FIN          0x01
#define TH_SYN          0x02
#define TH_RST          0x04
#define TH_PSH          0x08
#define TH_ACK          0x10
#define TCP_OPT_END     0
#define TCP_OPT_NOP     1
#define TCP_OPT_MSS     2
#define TCP_MAX_LISTEN  8

static struct tcp_conn conns[TCP_MAX_CONN];
static const struct tcp_service *listeners[TCP_MAX_LISTEN];
static u32 conns_open;

static const char *const state_names[TCP_STATE_COUNT] = {
    [TCP_FREE] = "FREE", [TCP_SYN_RCVD] = "SYN_RCVD",
    [TCP_ESTABLISHED] = "ESTABLISHED", [TCP_CLOSE_WAIT] = "CLOSE_WAIT",
    [TCP_LAST_ACK] = "LAST_ACK", [TCP_FIN_WAIT_1] = "FIN_WAIT_1",
    [TCP_FIN_WAIT_2] = "FIN_WAIT_2", [TCP_CLOSING] = "CLOSING",
    [TCP_TIME_WAIT] = "TIME_WAIT",
};

/* Sequence-space comparisons (mod 2^32). */
static inline bool seq_lt(u32 a, u32 b) { return (int32_t)(a - b) < 0; }
static inline bool seq_le(u32 a, u32 b) { return (int32_t)(a - b) <= 0; }

/* Every state change goes through here: it keeps the status page counts. */
static void set_state(struct tcp_conn *c, enum tcp_state s)
{
    if (c->state != TCP_FREE) {
        STATUS->net.tcp_states[c->state]--;
    }
    c->state = (u8)s;
    if (s != TCP_FREE) {
        STATUS->net.tcp_states[s]++;
    }
}

static void log_conn(struct tcp_conn *c, const char *what, const char *reason)
{
    struct line l = { .len = 0 };

    if (!netcfg.log) {
        return;
    }
    ln_str(&l, "TG tcp ");
    ln_str(&l, what);
    ln_str(&l, " id=");
    ln_dec(&l, c->id);
    ln_str(&l, " port=");
    ln_dec(&l, c->lport);
    ln_str(&l, " peer=");
    ln_ip(&l, &c->raddr);
    ln_str(&l, ":");
    ln_dec(&l, c->rport);
    if (reason) {
        ln_str(&l, " state=");
        ln_str(&l, state_names[c->state]);
        ln_str(&l, " reason=");
        ln_str(&l, reason);
    }
    ln_str(&l, " conns=");
    ln_dec(&l, conns_open);
    tg_print(&l);
}

static void conn_free(struct tcp_conn *c, const char *reason)
{
    conns_open--;
    NET_STAT(tcp_closed);
    log_conn(c, "close", reason);
    set_state(c, TCP_FREE);
    c->deadline = 0;
}

void tcp_init(void)
{
    u32 i;

    for (i = 0; i < TCP_MAX_CONN; i++) {
        conns[i].id = (u16)i;
        conns[i].rxbuf = tg_alloc(TCP_RX_CAP, 64);
        conns[i].txbuf = tg_alloc(TCP_TX_CAP, 64);
        if (!conns[i].rxbuf || !conns[i].txbuf) {
            struct line l = { .len = 0 };

            ln_str(&l, "TG error: out of memory for TCP buffers");
            tg_fatal(&l);
        }
    }
}

void tcp_listen(const struct tcp_service *svc)
{
    u32 i;

    for (i = 0; i < TCP_MAX_LISTEN; i++) {
        if (!listeners[i]) {
            listeners[i] = svc;
            return;
        }
    }
}

static u32 rcv_wnd(const struct tcp_conn *c)
{
    u32 w = TCP_RX_CAP - c->rx_len;

    return w > 0xffff ? 0xffff : w;
}

/* One segment from (laddr, lport) to (raddr, rport); no connection needed. */
static bool tcp_send_raw(const ipaddr *src, const ipaddr *dst, u16 sport, u16 dport,
                         u32 seq, u32 ack, u8 flags, u16 wnd, u16 mss_opt,
                         const u8 *data, u32 len)
{
    struct txbuf t;
    u32 hlen = TCP_HLEN + (mss_opt ? 4 : 0);
    u8 *h;

    if (!net_tx_get(&t)) {
        return false;
    }
    h = net_tx_l4(&t, dst);
    put_be16(h, sport);
    put_be16(h + 2, dport);
    put_be32(h + 4, seq);
    put_be32(h + 8, ack);
    h[12] = (u8)((hlen / 4) << 4);
    h[13] = flags;
    put_be16(h + 14, wnd);
    put_be16(h + 16, 0);
    put_be16(h + 18, 0);
    if (mss_opt) {
        h[20] = TCP_OPT_MSS;
        h[21] = 4;
        put_be16(h + 22, mss_opt);
    }
    if (len) {
        memcpy(h + hlen, data, len);
    }
    put_be16(h + 16, ip_l4_csum(src, dst, IPPROTO_TCP, h, hlen + len));
    return ip_send(&t, IPPROTO_TCP, src, dst, hlen + len);
}

static u16 our_mss(const ipaddr *peer)
{
    return (u16)(ETH_MTU - ip_hlen(peer) - TCP_HLEN);
}

static void send_seg(struct tcp_conn *c, u32 seq, u8 flags, const u8 *data, u32 len)
{
    bool syn = flags & TH_SYN;

    tcp_send_raw(&c->laddr, &c->raddr, c->lport, c->rport, seq, c->rcv_nxt,
                 flags, (u16)rcv_wnd(c), syn ? our_mss(&c->raddr) : 0, data, len);
    c->ack_now = false;
}

static void arm_timer(struct tcp_conn *c)
{
    c->deadline = net_now_ms + c->rto_ms;
}

/*
 * Send what the window allows, then the FIN if the service closed and all
 * data is out, then a bare ACK if one is owed and nothing carried it.
 */
static void tcp_output(struct tcp_conn *c, bool probe)
{
    u32 inflight, unsent, usable, n;

    if (c->state == TCP_SYN_RCVD || c->state == TCP_FREE) {
        return;
    }
    for (;;) {
        inflight = c->snd_nxt - c->snd_una - (c->fin_sent ? 1 : 0);
        unsent = c->tx_len - inflight;
        usable = seq_lt(c->snd_nxt, c->snd_una + c->snd_wnd) ?
                 c->snd_una + c->snd_wnd - c->snd_nxt : 0;
        if (probe && !usable && unsent) {
            usable = 1;             /* zero-window probe: one byte */
        }
        probe = false;
        if (!unsent || !usable || c->fin_sent) {
            break;
        }
        n = unsent < usable ? unsent : usable;
        n = n < c->mss ? n : c->mss;
        send_seg(c, c->snd_nxt, TH_ACK | TH_PSH, c->txbuf + inflight, n);
        c->snd_nxt += n;
        if (seq_lt(c->snd_max, c->snd_nxt)) {
            c->snd_max = c->snd_nxt;
        }
        if (!c->deadline) {
            arm_timer(c);
        }
    }
    if (c->fin_queued && !c->fin_sent && inflight == c->tx_len) {
        c->fin_seq = c->snd_nxt;
        send_seg(c, c->snd_nxt, TH_FIN | TH_ACK, NULL, 0);
        c->snd_nxt++;
        c->fin_sent = c->fin_once = true;
        if (seq_lt(c->snd_max, c->snd_nxt)) {
            c->snd_max = c->snd_nxt;
        }
        if (c->state == TCP_ESTABLISHED) {
            set_state(c, TCP_FIN_WAIT_1);
        } else if (c->state == TCP_CLOSE_WAIT) {
            set_state(c, TCP_LAST_ACK);
        }
        arm_timer(c);
    }
    if (unsent && !c->snd_wnd && !c->deadline) {
        arm_timer(c);               /* persist: probe the zero window later */
    }
    if (c->ack_now) {
        send_seg(c, c->snd_nxt, TH_ACK, NULL, 0);
    }
}

static void send_rst_for(const ipaddr *src, const ipaddr *dst, const u8 *h, u32 seglen)
{
    u8 flags = h[13];

    if (flags & TH_RST) {
        return;                     /* never answer a RST */
    }
    NET_STAT(tcp_rst_tx);
    if (flags & TH_ACK) {
        tcp_send_raw(dst, src, be16(h + 2), be16(h), be32(h + 8), 0, TH_RST, 0, 0,
                     NULL, 0);
    } else {
        tcp_send_raw(dst, src, be16(h + 2), be16(h), 0, be32(h + 4) + seglen,
                     TH_RST | TH_ACK, 0, 0, NULL, 0);
    }
}

/* Option walk; false if an option runs past the header (drop the segment). */
static bool parse_options(const u8 *h, u32 doff, u16 *mss)
{
    u32 i = TCP_HLEN;

    while (i < doff) {
        u8 kind = h[i];

        if (kind == TCP_OPT_END) {
            break;
        }
        if (kind == TCP_OPT_NOP) {
            i++;
            continue;
        }
        if (i + 1 >= doff || h[i + 1] < 2 || i + h[i + 1] > doff) {
            return false;
        }
        if (kind == TCP_OPT_MSS) {
            if (h[i + 1] != 4) {
                return false;
            }
            *mss = be16(h + i + 2);
        }
        i += h[i + 1];
    }
    return true;
}

static struct tcp_conn *conn_find(const ipaddr *src, const ipaddr *dst, u16 sport, u16 dport)
{
    u32 i;

    for (i = 0; i < TCP_MAX_CONN; i++) {
        struct tcp_conn *c = &conns[i];

        if (c->state != TCP_FREE && c->lport == dport && c->rport == sport &&
            ip_eq(&c->raddr, src) && ip_eq(&c->laddr, dst)) {
            return c;
        }
    }
    return NULL;
}

static struct tcp_conn *conn_alloc(void)
{
    struct tcp_conn *tw = NULL;
    u32 i;

    for (i = 0; i < TCP_MAX_CONN; i++) {
        if (conns[i].state == TCP_FREE) {
            return &conns[i];
        }
        if (conns[i].state == TCP_TIME_WAIT && (!tw || conns[i].deadline < tw->deadline)) {
            tw = &conns[i];
        }
    }
    if (tw) {
        conn_free(tw, "recycled");
    }
    return tw;
}

static void passive_open(const ipaddr *src, const ipaddr *dst, const u8 *h, u32 seglen,
                         u16 peer_mss)
{
    const struct tcp_service *svc = NULL;
    struct tcp_conn *c;
    u16 dport = be16(h + 2);
    u32 i;

    for (i = 0; i < TCP_MAX_LISTEN && !svc; i++) {
        if (listeners[i] && listeners[i]->port == dport) {
            svc = listeners[i];
        }
    }
    if (!svc) {
        send_rst_for(src, dst, h, seglen);     /* closed port */
        return;
    }
    c = conn_alloc();
    if (!c) {
        NET_STAT(tcp_refused_full);
        send_rst_for(src, dst, h, seglen);
        return;
    }
    conns_open++;
    c->svc = svc;
    c->laddr = *dst;
    c->raddr = *src;
    c->lport = dport;
    c->rport = be16(h);
    c->irs = be32(h + 4);
    c->rcv_nxt = c->irs + 1;
    c->iss = (u32)(rdtsc() >> 6) ^ ((u32)c->rport << 16) ^ c->irs;
    c->snd_una = c->iss;
    c->snd_nxt = c->iss + 1;
    c->snd_max = c->snd_nxt;
    c->snd_wnd = be16(h + 14);
    c->mss = peer_mss && peer_mss < our_mss(src) ? peer_mss : our_mss(src);
    if (c->mss < 64) {
        c->mss = 64;                /* a silly MSS must not stall us */
    }
    c->rx_len = c->tx_len = 0;
    c->fin_queued = c->fin_sent = c->fin_once = c->peer_fin = c->ack_now = false;
    c->retries = 0;
    c->rto_ms = TCP_RTO_INIT_MS;
    memset(c->user, 0, sizeof(c->user));
    set_state(c, TCP_SYN_RCVD);
    send_seg(c, c->iss, TH_SYN | TH_ACK, NULL, 0);
    arm_timer(c);
}

/* ACK field of a segment on a synchronized connection; false = drop it. */
static bool process_ack(struct tcp_conn *c, u32 ack, u32 wnd)
{
    u32 acked, data;

    if (seq_lt(c->snd_max, ack)) {
        c->ack_now = true;          /* acks something we never sent */
        return false;
    }
    if (seq_lt(ack, c->snd_una)) {
        return true;                /* old duplicate: harmless */
    }
    c->snd_wnd = wnd;
    acked = ack - c->snd_una;
    if (!acked) {
        return true;
    }
    if (seq_lt(c->snd_nxt, ack)) {
        c->snd_nxt = ack;           /* acked what we sent before a timeout */
    }
    data = acked;
    if (c->fin_once && seq_lt(c->fin_seq, ack)) {
        data--;                     /* the FIN's sequence number */
        c->fin_sent = true;         /* acked even if we rewound past it */
    }
    if (data > c->tx_len) {
        data = c->tx_len;
    }
    memmove(c->txbuf, c->txbuf + data, c->tx_len - data);
    c->tx_len -= data;
    c->snd_una = ack;
    c->retries = 0;
    c->rto_ms = TCP_RTO_INIT_MS;
    c->deadline = 0;
    if (c->snd_una != c->snd_nxt) {
        arm_timer(c);
    }
    return true;
}

static bool fin_acked(const struct tcp_conn *c)
{
    return c->fin_sent && c->snd_una == c->fin_seq + 1;
}

static void established_input(struct tcp_conn *c, const u8 *h, const u8 *data, u32 len)
{
    u8 flags = h[13];
    u32 seq = be32(h + 4);
    u32 wnd = rcv_wnd(c);
    bool fin = flags & TH_FIN;

    /*
     * Trim what we already have.  A segment that brings nothing new (a
     * retransmission, a keepalive) still gets its ACK field processed and
     * is answered with an ACK saying where we are.
     */
    if (seq_lt(seq, c->rcv_nxt)) {
        u32 dup = c->rcv_nxt - seq;

        if (flags & TH_RST) {
            return;                     /* an old RST: ignore */
        }
        if (dup < len) {
            data += dup;
            len -= dup;
        } else {
            if (!(fin && dup == len && !c->peer_fin)) {
                fin = false;            /* the FIN too is old */
                c->ack_now = true;
            }
            data += len;
            len = 0;
        }
        seq = c->rcv_nxt;
    }
    if (flags & TH_RST) {
        if (seq == c->rcv_nxt) {
            NET_STAT(tcp_rst_rx);
            conn_free(c, "rst");
        } else if (seq_lt(c->rcv_nxt, seq) && seq_lt(seq, c->rcv_nxt + wnd)) {
            c->ack_now = true;          /* challenge ACK (RFC 5961) */
        }
        return;
    }
    if (flags & TH_SYN) {
        c->ack_now = true;              /* challenge ACK, drop */
        return;
    }
    if (!(flags & TH_ACK)) {
        return;
    }
    if (c->state == TCP_SYN_RCVD) {
        if (be32(h + 8) != c->iss + 1) {
            send_rst_for(&c->raddr, &c->laddr, h, len);
            return;
        }
        c->snd_una = c->iss + 1;
        c->snd_wnd = be16(h + 14);
        c->deadline = 0;
        c->retries = 0;
        c->rto_ms = TCP_RTO_INIT_MS;
        set_state(c, TCP_ESTABLISHED);
        NET_STAT(tcp_accepted);
        log_conn(c, "open", NULL);
    } else if (!process_ack(c, be32(h + 8), be16(h + 14))) {
        return;
    }
    switch (c->state) {
    case TCP_FIN_WAIT_1:
        if (fin_acked(c)) {
            set_state(c, TCP_FIN_WAIT_2);
            c->deadline = net_now_ms + TCP_FIN_WAIT_2_MS;
        }
        break;
    case TCP_CLOSING:
        if (fin_acked(c)) {
            set_state(c, TCP_TIME_WAIT);
            c->deadline = net_now_ms + TCP_TIME_WAIT_MS;
        }
        break;
    case TCP_LAST_ACK:
        if (fin_acked(c)) {
            conn_free(c, "fin");
        }
        return;
    case TCP_TIME_WAIT:
        if (fin) {
            c->ack_now = true;          /* our last ACK was lost */
        }
        return;
    default:
        break;
    }

    /* Data, in order only. */
    if (seq != c->rcv_nxt) {
        if (len || fin) {
            c->ack_now = true;          /* out of order: duplicate ACK */
        }
        return;
    }
    if (len && !c->peer_fin) {
        u32 take = len < wnd ? len : wnd;

        memcpy(c->rxbuf + c->rx_len, data, take);
        c->rx_len += take;
        c->rcv_nxt += take;
        c->ack_now = true;
        if (take < len) {
            fin = false;                /* the FIN is beyond what we took */
        }
    }
    if (fin && !c->peer_fin) {
        c->rcv_nxt++;
        c->peer_fin = true;
        c->ack_now = true;
        switch (c->state) {
        case TCP_ESTABLISHED:
            set_state(c, TCP_CLOSE_WAIT);
            break;
        case TCP_FIN_WAIT_1:
            set_state(c, TCP_CLOSING);
            break;
        case TCP_FIN_WAIT_2:
            set_state(c, TCP_TIME_WAIT);
            c->deadline = net_now_ms + TCP_TIME_WAIT_MS;
            break;
        default:
            break;
        }
    }
}

void tcp_input(const ipaddr *src, const ipaddr *dst, const u8 *h, size_t len)
{
    struct tcp_conn *c;
    u32 doff, dlen;
    u16 peer_mss = 0;
    u8 flags;

    if (len < TCP_HLEN) {
        goto drop;
    }
    doff = (u32)(h[12] >> 4) * 4;
    if (doff < TCP_HLEN || doff > len ||
        ip_l4_csum(src, dst, IPPROTO_TCP, h, len) != 0 ||
        !parse_options(h, doff, &peer_mss)) {
        goto drop;
    }
    flags = h[13];
    dlen = (u32)len - doff;
    c = conn_find(src, dst, be16(h), be16(h + 2));
    if (!c) {
        if ((flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN) {
            passive_open(src, dst, h, dlen + 1, peer_mss);
        } else {
            send_rst_for(src, dst, h, dlen + ((flags & TH_SYN) ? 1 : 0) +
                         ((flags & TH_FIN) ? 1 : 0));
        }
        return;
    }
    if (c->state == TCP_SYN_RCVD && (flags & TH_SYN) && !(flags & TH_ACK) &&
        be32(h + 4) == c->irs) {
        send_seg(c, c->iss, TH_SYN | TH_ACK, NULL, 0);    /* our SYN-ACK was lost */
        return;
    }
    established_input(c, h, h + doff, dlen);
    if (c->state == TCP_FREE) {
        return;
    }
    if (c->state != TCP_SYN_RCVD && c->state != TCP_TIME_WAIT && c->svc->on_event) {
        c->svc->on_event(c);
    }
    if (c->fin_queued) {
        c->rx_len = 0;      /* the service is done reading: keep the window open */
    }
    tcp_output(c, false);
    return;
drop:
    NET_STAT(rx_dropped);
}

static void on_timeout(struct tcp_conn *c)
{
    c->deadline = 0;
    switch (c->state) {
    case TCP_TIME_WAIT:
        conn_free(c, "fin");
        return;
    case TCP_FIN_WAIT_2:
        conn_free(c, "fin-wait-2-timeout");
        return;
    default:
        break;
    }
    if (++c->retries > TCP_MAX_RETRIES) {
        NET_STAT(tcp_timeouts);
        NET_STAT(tcp_rst_tx);
        tcp_send_raw(&c->laddr, &c->raddr, c->lport, c->rport, c->snd_nxt, 0, TH_RST,
                     0, 0, NULL, 0);
        conn_free(c, "timeout");
        return;
    }
    NET_STAT(tcp_retransmits);
    c->rto_ms = c->rto_ms * 2 > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS : c->rto_ms * 2;
    if (c->state == TCP_SYN_RCVD) {
        send_seg(c, c->iss, TH_SYN | TH_ACK, NULL, 0);
        arm_timer(c);
        return;
    }
    /* Go back to the oldest unacknowledged byte and send it all again. */
    c->snd_nxt = c->snd_una;
    c->fin_sent = false;
    arm_timer(c);
    tcp_output(c, true);
}

void tcp_timers(void)
{
    static u64 last;
    u32 i;

    if (net_now_ms == last) {
        return;
    }
    last = net_now_ms;
    for (i = 0; i < TCP_MAX_CONN; i++) {
        struct tcp_conn *c = &conns[i];

        if (c->state != TCP_FREE && c->deadline && net_now_ms >= c->deadline) {
            on_timeout(c);
        }
    }
}

void tcp_rx_consume(struct tcp_conn *c, u32 n)
{
    u32 old_wnd = rcv_wnd(c);

    if (n > c->rx_len) {
        n = c->rx_len;
    }
    memmove(c->rxbuf, c->rxbuf + n, c->rx_len - n);
    c->rx_len -= n;
    /* A window that opens from (nearly) shut must be announced. */
    if (old_wnd < c->mss && rcv_wnd(c) >= c->mss) {
        c->ack_now = true;
    }
}

bool tcp_write(struct tcp_conn *c, const void *p, u32 n)
{
    if (c->fin_queued || n > tcp_tx_space(c)) {
        return false;
    }
    memcpy(c->txbuf + c->tx_len, p, n);
    c->tx_len += n;
    return true;
}

bool tcp_write_str(struct tcp_conn *c, const char *s)
{
    return tcp_write(c, s, (u32)strlen(s));
}

void tcp_close(struct tcp_conn *c)
{
    c->fin_queued = true;
}

/* "id state port peer:port tx rx" lines for HTTP /stats. */
u32 tcp_format_stats(char *buf, u32 cap)
{
    u32 i, n = 0;

    for (i = 0; i < TCP_MAX_CONN; i++) {
        struct tcp_conn *c = &conns[i];
        struct line l = { .len = 0 };

        if (c->state == TCP_FREE) {
            continue;
        }
        ln_dec(&l, c->id);
        ln_str(&l, " ");
        ln_str(&l, state_names[c->state]);
        ln_str(&l, " ");
        ln_dec(&l, c->lport);
        ln_str(&l, " ");
        ln_ip(&l, &c->raddr);
        ln_str(&l, ":");
        ln_dec(&l, c->rport);
        ln_str(&l, " tx=");
        ln_dec(&l, c->tx_len);
        ln_str(&l, " rx=");
        ln_dec(&l, c->rx_len);
        ln_str(&l, "\n");
        if (n + l.len > cap) {
            break;
        }
        memcpy(buf + n, l.buf, l.len);
        n += l.len;
    }
    return n;
}
