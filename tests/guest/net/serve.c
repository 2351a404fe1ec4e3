/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: the serve workload.  Brings up virtio-net and the
 * address configuration, then runs one polled loop forever:
 *
 *   receive up to a budget of frames (each goes up the stack at once and
 *   may queue replies)  ->  TCP timers  ->  DHCP timer  ->  one notify for
 *   everything queued this round  (->  with irq=, the interrupt counts
 *   once a second).
 *
 * Memory for all of it comes from tg_alloc() (alloc.c).
 */
#include "net.h"
#include "services.h"
#include "../disk/disk.h"
#include "../dev/irq.h"

#define RX_BUDGET   64

u64 net_now_ms;

static void update_clock(void)
{
    net_now_ms = (rdtsc() - STATUS->boot_tsc) / STATUS->tsc_khz;
}

/* fe80::EUI-64 from the MAC (universal/local bit flipped). */
static void make_link_local(void)
{
    ipaddr *a = &netcfg.ll6;

    memset(a, 0, sizeof(*a));
    a->b[0] = 0xfe;
    a->b[1] = 0x80;
    a->b[8] = netcfg.mac[0] ^ 0x02;
    a->b[9] = netcfg.mac[1];
    a->b[10] = netcfg.mac[2];
    a->b[11] = 0xff;
    a->b[12] = 0xfe;
    a->b[13] = netcfg.mac[3];
    a->b[14] = netcfg.mac[4];
    a->b[15] = netcfg.mac[5];
}

void net_publish_config(void)
{
    struct tg_net_status *ns = &STATUS->net;

    memcpy(ns->ip4, netcfg.ip4.b + 12, 4);
    ns->prefix4 = netcfg.prefix4;
    ns->flags = TG_NET_UP | (netcfg.have4 ? TG_NET_IP4 : 0) |
                (netcfg.have6 ? TG_NET_IP6 : 0) |
                (netcfg.dhcp && netcfg.have4 ? TG_NET_DHCP : 0) |
                TG_NET_SERVING;
}

void net_serve(void)
{
    struct line err = { .len = 0 };
    struct line l = { .len = 0 };
    bool ready = false;
    u64 next_check = 0, next_irq_line = 0;

    if (!STATUS->ram_end || STATUS->ram_end < TG_HEAP_END) {
        ln_str(&err, "TG error: serve needs RAM up to ");
        ln_hex(&err, TG_HEAP_END);
        ln_str(&err, " (ram_end=");
        ln_hex(&err, STATUS->ram_end);
        ln_str(&err, ")");
        tg_fatal(&err);
    }
    if (!netcfg.have4 && !netcfg.have6 && !netcfg.dhcp) {
        ln_str(&err, "TG error: serve needs ip=, ip6= or dhcp");
        tg_fatal(&err);
    }
    if (netcfg.have4 && netcfg.dhcp) {
        ln_str(&err, "TG error: ip= and dhcp exclude each other");
        tg_fatal(&err);
    }
    update_clock();
    ln_str(&err, "TG error: net: ");
    if (!virtio_net_init(&err)) {
        tg_fatal(&err);
    }
    make_link_local();
    tcp_init();
    if (!kv_init()) {
        ln_str(&err, "out of memory for the RESP store");
        tg_fatal(&err);
    }
    if (diskcfg.persist) {
        kvlog_start();          /* replays the log into the store */
    }
    tcp_listen(&echo_service);
    tcp_listen(&http_service);
    tcp_listen(&resp_service);
    STATUS->net.flags = TG_NET_UP;
    if (netcfg.dhcp) {
        dhcp_start();
    }
    for (;;) {
        update_clock();
        virtio_net_poll(RX_BUDGET);
        tcp_timers();
        if (netcfg.dhcp) {
            dhcp_tick();
        }
        if (!ready && (netcfg.have4 || netcfg.have6)) {
            ready = true;
            net_publish_config();
            net_print_config();
            l.len = 0;
            ln_str(&l, "TG serve ready ports=7,80,6379");
            tg_print(&l);
        }
        if (ready) {
            ping_tick();
        }
        virtio_net_kick();
        if (net_now_ms >= next_check) {
            virtio_net_check();     /* one MMIO read a second */
            next_check = net_now_ms + 1000;
        }
        if (devcfg.irq && ready && net_now_ms >= next_irq_line) {
            irq_report();           /* once a second, for tests to read */
            next_irq_line = net_now_ms + 1000;
        }
        STATUS->cpu[0].heartbeat++;
    }
}
