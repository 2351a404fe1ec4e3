/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: a ping client for `ping=ADDR` (IPv4 or IPv6) under
 * workload=serve, so two guests on one link (a socket/stream netdev
 * between two VMMs) can check each other: an echo request every 100 ms,
 * identifier "TG", the TSC at sending in the payload; each reply from
 * the target with our identifier and a sequence number we sent counts
 * once (a second copy is a duplicate), its round trip goes into a
 * histogram, and once a second one line:
 *
 *   TG ping to=ADDR sent=N received=M dup=D rtt_p50=..us rtt_p99=..us rtt_max=..us
 *
 * The first requests may be dropped while the neighbour is resolved
 * (ip_send asks and drops), so `received` trails `sent` by a few.
 */
#include "net.h"
#include "../hist.h"

#define PING_ID             0x5447          /* "TG" */
#define PING_INTERVAL_MS    100
#define PING_PAYLOAD        16              /* TSC, then the sequence again */
#define PING_WINDOW         256             /* replies older than this are late */
#define ICMP_ECHO_REQUEST   8
#define ICMP6_ECHO_REQUEST  128

static struct {
    u32 sent, received, dup;
    u32 replied[PING_WINDOW];       /* seq + 1 of the last reply in each slot */
    u64 next_send_ms, next_line_ms;
    struct hist rtt;                /* ns */
} ping;

static u64 tsc_to_ns(u64 cycles)
{
    return cycles * 1000000 / STATUS->tsc_khz;
}

static void send_request(void)
{
    bool v4 = ip_is_v4(&netcfg.ping);
    struct txbuf t;
    ipaddr src;
    size_t len = 8 + PING_PAYLOAD;
    u64 now = rdtsc();
    u8 *m;

    if (!net_tx_get(&t)) {
        return;
    }
    ip_src_for(&netcfg.ping, &src);
    m = net_tx_l4(&t, &netcfg.ping);
    m[0] = v4 ? ICMP_ECHO_REQUEST : ICMP6_ECHO_REQUEST;
    m[1] = 0;
    put_be16(m + 2, 0);
    put_be16(m + 4, PING_ID);
    put_be16(m + 6, (u16)ping.sent);
    put_be32(m + 8, (u32)(now >> 32));
    put_be32(m + 12, (u32)now);
    put_be32(m + 16, ping.sent);
    put_be32(m + 20, ~ping.sent);
    put_be16(m + 2, v4 ? csum_fold(csum_add(0, m, len))
                       : ip_l4_csum(&src, &netcfg.ping, IPPROTO_ICMPV6, m, len));
    ping.sent++;            /* counted even if ip_send drops it for ARP/NDP */
    ip_send(&t, v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, &src, &netcfg.ping, len);
}

void ping_reply(const ipaddr *src, const u8 *p, size_t len)
{
    u32 seq;
    u64 sent_tsc, now = rdtsc();

    if (!netcfg.have_ping || !ip_eq(src, &netcfg.ping) || len != 8 + PING_PAYLOAD ||
        be16(p + 4) != PING_ID) {
        return;
    }
    seq = be32(p + 16);
    if (be32(p + 20) != ~seq || (u16)seq != be16(p + 6) || seq >= ping.sent ||
        ping.sent - seq > PING_WINDOW) {
        NET_STAT(rx_dropped);       /* not one of ours, or too late to tell */
        return;
    }
    if (ping.replied[seq % PING_WINDOW] == seq + 1) {
        ping.dup++;
        return;
    }
    ping.replied[seq % PING_WINDOW] = seq + 1;
    ping.received++;
    sent_tsc = (u64)be32(p + 8) << 32 | be32(p + 12);
    hist_add(&ping.rtt, now > sent_tsc ? tsc_to_ns(now - sent_tsc) : 0);
}

static void print_line(void)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG ping to=");
    ln_ip(&l, &netcfg.ping);
    ln_str(&l, " sent=");
    ln_dec(&l, ping.sent);
    ln_str(&l, " received=");
    ln_dec(&l, ping.received);
    ln_str(&l, " dup=");
    ln_dec(&l, ping.dup);
    ln_str(&l, " rtt_p50=");
    ln_us(&l, hist_percentile(&ping.rtt, 50), 1);
    ln_str(&l, " rtt_p99=");
    ln_us(&l, hist_percentile(&ping.rtt, 99), 1);
    ln_str(&l, " rtt_max=");
    ln_us(&l, ping.rtt.max, 1);
    tg_print(&l);
}

void ping_tick(void)
{
    if (!netcfg.have_ping) {
        return;
    }
    if (net_now_ms >= ping.next_send_ms) {
        send_request();
        ping.next_send_ms = net_now_ms + PING_INTERVAL_MS;
    }
    if (net_now_ms >= ping.next_line_ms) {
        if (ping.next_line_ms) {
            print_line();
        }
        ping.next_line_ms = net_now_ms + 1000;
    }
}
