/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: the network stack's shared declarations.
 *
 * The stack is single-threaded and polled at CPL3 (no interrupts): the
 * serve loop (serve.c) pulls received frames from the virtio-net RX ring
 * and hands each one up eth -> ip -> icmp/udp/tcp -> service, which may
 * build replies straight into TX ring buffers.  Every input function
 * checks lengths and checksums before it trusts a byte; a bad frame is
 * counted in STATUS->net.rx_dropped and dropped, never followed.
 *
 * Addresses: one 16-byte form for both families; IPv4 is held
 * IPv4-mapped (::ffff:a.b.c.d), so the TCP table and neighbour cache do
 * not care which family a peer uses.  Multi-byte wire fields are read
 * and written with the be16/be32 helpers (frames are unaligned).
 */
#ifndef TG_NET_H
#define TG_NET_H

#include "guest.h"

#define ETH_ALEN        6
#define ETH_HLEN        14
#define ETH_P_IP        0x0800
#define ETH_P_ARP       0x0806
#define ETH_P_IPV6      0x86dd
#define ETH_MTU         1500
#define IP4_HLEN        20
#define IP6_HLEN        40

#define IPPROTO_ICMP    1
#define IPPROTO_TCP     6
#define IPPROTO_UDP     17
#define IPPROTO_ICMPV6  58

#define NET_STAT(field) (STATUS->net.field++)

/* ---- byte order (frames are big-endian and unaligned) ---------------- */

static inline u16 be16(const u8 *p) { return (u16)(p[0] << 8 | p[1]); }
static inline u32 be32(const u8 *p)
{
    return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}
static inline void put_be16(u8 *p, u16 v) { p[0] = (u8)(v >> 8); p[1] = (u8)v; }
static inline void put_be32(u8 *p, u32 v)
{
    p[0] = (u8)(v >> 24); p[1] = (u8)(v >> 16); p[2] = (u8)(v >> 8); p[3] = (u8)v;
}

/* ---- addresses -------------------------------------------------------- */

typedef struct ipaddr {
    u8 b[16];
} ipaddr;

bool ip_is_v4(const ipaddr *a);
void ip_from_v4(ipaddr *a, const u8 v4[4]);
bool ip_eq(const ipaddr *a, const ipaddr *b);
bool ip_is_zero(const ipaddr *a);
bool ip_prefix_eq(const ipaddr *a, const ipaddr *b, unsigned bits);
bool ip4_parse(const char *s, size_t n, ipaddr *out);
bool ip6_parse(const char *s, size_t n, ipaddr *out);
bool ip_parse_prefix(const char *s, size_t n, bool v6, ipaddr *out, u8 *prefix);
void ln_ip(struct line *l, const ipaddr *a);     /* dotted quad or RFC 5952-ish */
void ln_mac(struct line *l, const u8 *mac);

/* ---- configuration (config.c), from the command line or DHCP --------- */

struct net_config {
    u8 mac[ETH_ALEN];           /* from the device */
    bool have4;                 /* ip= given, or DHCP bound */
    ipaddr ip4;
    u8 prefix4;
    bool have_gw4;
    ipaddr gw4;
    bool have6;                 /* ip6= given */
    ipaddr ip6;
    u8 prefix6;
    bool have_gw6;
    ipaddr gw6;
    ipaddr ll6;                 /* fe80::EUI-64, always there */
    bool dhcp;                  /* bare word "dhcp" */
    bool have_ping;             /* ping=ADDR given (ping.c) */
    ipaddr ping;
    bool log;                   /* netlog=1 (default): one line per TCP open/close */
};
extern struct net_config netcfg;

/* main.c hands it every token with a key it does not know; *ok = value valid. */
bool net_option(const char *key, size_t kn, const char *v, size_t vn, bool *ok);
void net_serve(void) __attribute__((noreturn));
void net_print_config(void);
void net_publish_config(void);   /* netcfg -> status page */

/* ---- the ping client (ping.c), ping=ADDR ------------------------------ */

void ping_tick(void);           /* each round of the serve loop, once ready */
/* An echo reply (ICMP type 0 or ICMPv6 129) from src, the whole message. */
void ping_reply(const ipaddr *src, const u8 *p, size_t len);

/* ---- time (serve.c): milliseconds since the serve loop started ------- */

extern u64 net_now_ms;

/* ---- checksum (ip.c) -------------------------------------------------- */

u32 csum_add(u32 sum, const u8 *p, size_t n);
u16 csum_fold(u32 sum);
/* Internet checksum of an upper-layer packet with its pseudo-header. */
u16 ip_l4_csum(const ipaddr *src, const ipaddr *dst, u8 proto,
               const u8 *l4, size_t len);

/* ---- transmit buffers (virtio-net.c) ---------------------------------- */

/*
 * A TX buffer holds one Ethernet frame.  Upper layers ask for one with
 * net_tx_get(), write their header and payload at the offset for the
 * address family (net_tx_l4()), and pass it down: ip_send() fills the IP
 * and Ethernet headers and queues it, or gives it back if the next hop is
 * unknown.  A buffer not passed down must be returned with net_tx_put().
 */
struct txbuf {
    u16 id;
    u8 *frame;                  /* Ethernet header; room for ETH_MTU after it */
};

bool net_tx_get(struct txbuf *t);
void net_tx_put(struct txbuf *t);
void net_tx_queue(struct txbuf *t, size_t frame_len);

/* virtio-net.c: driver entry points */
bool virtio_net_init(struct line *err);
/* Calls eth_input() for up to budget received frames; returns how many. */
unsigned virtio_net_poll(unsigned budget);
void virtio_net_kick(void);
/* Stops the guest with an error line if the device set DEVICE_NEEDS_RESET. */
void virtio_net_check(void);

/* ---- layers ---------------------------------------------------------- */

void eth_input(const u8 *frame, size_t len);
bool eth_for_me(const u8 *dst);
void eth_fill(u8 *frame, const u8 *dst, u16 type);

/* neighbour cache (arp.c): IPv4 via ARP, IPv6 via NDP */
bool neigh_lookup(const ipaddr *ip, u8 mac[ETH_ALEN]);
void neigh_update(const ipaddr *ip, const u8 *mac);
void arp_input(const u8 *frame, const u8 *p, size_t len);
void arp_request(const ipaddr *ip);

/* ip.c: both families */
size_t ip_hlen(const ipaddr *dst);
static inline u8 *net_tx_l4(struct txbuf *t, const ipaddr *dst)
{
    return t->frame + ETH_HLEN + ip_hlen(dst);
}
/* Source address to use toward dst (v4 address, or v6 global/link-local). */
void ip_src_for(const ipaddr *dst, ipaddr *src);
/* Fills the IP and Ethernet headers and queues t; false (t released) if not. */
bool ip_send(struct txbuf *t, u8 proto, const ipaddr *src, const ipaddr *dst,
             size_t l4_len);
void ipv4_input(const u8 *frame, const u8 *p, size_t len);
void ipv6_input(const u8 *frame, const u8 *p, size_t len);
bool ip4_on_link(const ipaddr *a);
bool ip6_is_mine(const ipaddr *a);     /* our link-local or global address */

/* upper layers: p is the L4 header, len its length incl. payload */
void icmp_input(const ipaddr *src, const ipaddr *dst, const u8 *p, size_t len);
void icmp6_input(const u8 *frame, const ipaddr *src, const ipaddr *dst, u8 hop_limit,
                 const u8 *p, size_t len);
void ndp_solicit(const ipaddr *target);
void udp_input(const ipaddr *src, const ipaddr *dst, const u8 *p, size_t len);
bool udp_send(const ipaddr *src, const ipaddr *dst, u16 sport, u16 dport,
              const u8 *data, size_t len);
void tcp_input(const ipaddr *src, const ipaddr *dst, const u8 *p, size_t len);
void tcp_init(void);
void tcp_timers(void);

/* dhcp.c */
void dhcp_start(void);
void dhcp_tick(void);
void dhcp_input(const u8 *p, size_t len);
bool dhcp_bound(void);

#endif
