/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: TCP (server side only) and the interface services
 * (echo.c, http.c, resp.c) use.
 *
 * States (RFC 9293 names; passive open only, so no SYN-SENT):
 *
 *   FREE --SYN to a listener / SYN-ACK--> SYN_RCVD
 *   SYN_RCVD --ACK of our SYN--> ESTABLISHED
 *   ESTABLISHED --peer FIN--> CLOSE_WAIT --we close, FIN--> LAST_ACK
 *   LAST_ACK --ACK of our FIN--> FREE
 *   ESTABLISHED --we close, FIN--> FIN_WAIT_1
 *   FIN_WAIT_1 --ACK of FIN--> FIN_WAIT_2 --peer FIN--> TIME_WAIT
 *   FIN_WAIT_1 --peer FIN--> CLOSING --ACK of FIN--> TIME_WAIT
 *   TIME_WAIT --TCP_TIME_WAIT_MS--> FREE
 *   any --valid RST, or retransmissions exhausted--> FREE
 *
 * Sending: each connection has a linear transmit buffer whose first byte
 * is sequence number snd_una; a segment leaves as soon as the peer's
 * window allows it.  One retransmission timer per connection; when it
 * fires, everything unacknowledged is sent again from snd_una (go-back-N)
 * and the timeout doubles, up to TCP_MAX_RETRIES.  Receiving: in-order
 * only; the advertised window is the free room in the linear receive
 * buffer, and an out-of-order segment is answered with a duplicate ACK.
 */
#ifndef TG_NET_TCP_H
#define TG_NET_TCP_H

#include "net.h"

enum tcp_state {
    TCP_FREE = 0,
    TCP_SYN_RCVD,
    TCP_ESTABLISHED,
    TCP_CLOSE_WAIT,
    TCP_LAST_ACK,
    TCP_FIN_WAIT_1,
    TCP_FIN_WAIT_2,
    TCP_CLOSING,
    TCP_TIME_WAIT,
    TCP_STATE_COUNT
};
_Static_assert(TCP_STATE_COUNT <= TG_NET_TCP_STATES, "status page tcp_states[]");

#define TCP_MAX_CONN        128
#define TCP_RX_CAP          16384
#define TCP_TX_CAP          16384
#define TCP_RTO_INIT_MS     300
#define TCP_RTO_MAX_MS      3000
#define TCP_MAX_RETRIES     8
#define TCP_TIME_WAIT_MS    1000        /* short: the table is bounded */
#define TCP_FIN_WAIT_2_MS   10000

struct tcp_conn;

struct tcp_service {
    const char *name;
    u16 port;
    /*
     * Called after input reached the connection: new data, room freed in
     * the transmit buffer, or the peer's FIN (tcp_peer_closed()).  It
     * consumes what it can, writes replies and may tcp_close().
     */
    void (*on_event)(struct tcp_conn *c);
};

struct tcp_conn {
    u8 state;                   /* enum tcp_state */
    bool fin_queued;            /* service closed: FIN after the data */
    bool fin_sent;              /* FIN is in [snd_una, snd_nxt) */
    bool fin_once;              /* a FIN went out at fin_seq (maybe since rewound) */
    bool peer_fin;              /* peer's FIN received (rcv_nxt counts it) */
    bool ack_now;               /* send an ACK this round */
    u8 retries;
    u16 id;
    u16 lport, rport;
    u16 mss;                    /* peer's MSS, capped at ours */
    ipaddr laddr, raddr;
    u32 iss, irs;
    u32 snd_una, snd_nxt, snd_max, snd_wnd, fin_seq;
    u32 rcv_nxt;
    u32 rx_len, tx_len;         /* bytes in rxbuf; bytes in txbuf from snd_una */
    u32 rto_ms;
    u64 deadline;               /* net_now_ms of the retransmit / state timer, 0 = off */
    u8 *rxbuf, *txbuf;
    const struct tcp_service *svc;
    u64 user[4];                /* the service's per-connection state */
};

void tcp_listen(const struct tcp_service *svc);

/* for services */
static inline const u8 *tcp_rx_data(struct tcp_conn *c) { return c->rxbuf; }
static inline u32 tcp_rx_len(struct tcp_conn *c) { return c->rx_len; }
void tcp_rx_consume(struct tcp_conn *c, u32 n);
static inline u32 tcp_tx_space(struct tcp_conn *c) { return TCP_TX_CAP - c->tx_len; }
bool tcp_write(struct tcp_conn *c, const void *p, u32 n);  /* all or nothing */
bool tcp_write_str(struct tcp_conn *c, const char *s);
void tcp_close(struct tcp_conn *c);
static inline bool tcp_peer_closed(struct tcp_conn *c) { return c->peer_fin; }

/* /stats text of the connection table */
u32 tcp_format_stats(char *buf, u32 cap);

#endif
