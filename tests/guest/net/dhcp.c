/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: a DHCPv4 client (RFC 2131), enough for slirp or any
 * one server on the link:
 *
 *   SELECTING --OFFER--> REQUESTING --ACK--> BOUND
 *       ^                    |
 *       +--------NAK---------+
 *
 * The current message is sent again every DHCP_RETRY_MS until answered.
 * BOUND sets ip=, the prefix from option 1 and gw= from option 3; the
 * lease is not renewed (a test guest lives shorter than any lease).
 */
#include "net.h"

#define DHCP_SERVER_PORT    67
#define DHCP_CLIENT_PORT    68
#define DHCP_RETRY_MS       1000
#define DHCP_FIXED_LEN      236
#define DHCP_MSG_LEN        300         /* BOOTP minimum */
#define DHCP_MAGIC          0x63825363

enum { DHCPDISCOVER = 1, DHCPOFFER = 2, DHCPREQUEST = 3, DHCPACK = 5, DHCPNAK = 6 };
enum { OPT_PAD = 0, OPT_SUBNET = 1, OPT_ROUTER = 3, OPT_REQ_IP = 50, OPT_MSG_TYPE = 53,
       OPT_SERVER_ID = 54, OPT_PARAMS = 55, OPT_END = 255 };

static enum { DHCP_OFF, DHCP_SELECTING, DHCP_REQUESTING, DHCP_BOUND } state;
static u32 xid;
static u8 offered[4], server[4];
static u64 next_send;

static const char *const state_names[] = {
    [DHCP_OFF] = "off", [DHCP_SELECTING] = "selecting",
    [DHCP_REQUESTING] = "requesting", [DHCP_BOUND] = "bound",
};

static void set_state(int s)
{
    struct line l = { .len = 0 };

    state = s;
    ln_str(&l, "TG dhcp ");
    ln_str(&l, state_names[s]);
    tg_print(&l);
}

static void send_msg(void)
{
    static const u8 bcast[4] = { 255, 255, 255, 255 };
    u8 m[DHCP_MSG_LEN];
    ipaddr src, dst;
    u32 o = DHCP_FIXED_LEN;

    memset(m, 0, sizeof(m));
    m[0] = 1;                           /* BOOTREQUEST */
    m[1] = 1;                           /* Ethernet */
    m[2] = ETH_ALEN;
    put_be32(m + 4, xid);
    put_be16(m + 10, 0x8000);           /* answer by broadcast: we have no address */
    memcpy(m + 28, netcfg.mac, ETH_ALEN);
    put_be32(m + o, DHCP_MAGIC);
    o += 4;
    m[o++] = OPT_MSG_TYPE;
    m[o++] = 1;
    m[o++] = state == DHCP_SELECTING ? DHCPDISCOVER : DHCPREQUEST;
    if (state == DHCP_REQUESTING) {
        m[o++] = OPT_REQ_IP;
        m[o++] = 4;
        memcpy(m + o, offered, 4);
        o += 4;
        m[o++] = OPT_SERVER_ID;
        m[o++] = 4;
        memcpy(m + o, server, 4);
        o += 4;
    }
    m[o++] = OPT_PARAMS;
    m[o++] = 2;
    m[o++] = OPT_SUBNET;
    m[o++] = OPT_ROUTER;
    m[o++] = OPT_END;
    ip_from_v4(&dst, bcast);
    ip_src_for(&dst, &src);             /* 0.0.0.0 until bound */
    udp_send(&src, &dst, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, m, sizeof(m));
    next_send = net_now_ms + DHCP_RETRY_MS;
}

void dhcp_start(void)
{
    xid = (u32)rdtsc() ^ be32(netcfg.mac + 2);
    set_state(DHCP_SELECTING);
    send_msg();
}

void dhcp_tick(void)
{
    if ((state == DHCP_SELECTING || state == DHCP_REQUESTING) && net_now_ms >= next_send) {
        send_msg();
    }
}

bool dhcp_bound(void)
{
    return state == DHCP_BOUND;
}

/* Contiguous netmask -> prefix length, or 0 if it is not one. */
static u8 mask_to_prefix(u32 mask)
{
    u8 n = 0;

    while (n < 32 && (mask & (0x80000000u >> n))) {
        n++;
    }
    return n < 32 && (mask << n) ? 0 : n;
}

static void bind(const u8 *yiaddr, const u8 *mask, const u8 *router)
{
    u8 prefix = mask ? mask_to_prefix(be32(mask)) : 24;

    if (!prefix || prefix > 30) {
        prefix = 24;
    }
    ip_from_v4(&netcfg.ip4, yiaddr);
    netcfg.prefix4 = prefix;
    netcfg.have4 = true;
    if (router) {
        ip_from_v4(&netcfg.gw4, router);
        netcfg.have_gw4 = true;
    }
    set_state(DHCP_BOUND);
}

void dhcp_input(const u8 *p, size_t len)
{
    const u8 *mask = NULL, *router = NULL, *sid = NULL;
    u8 type = 0;
    size_t o = DHCP_FIXED_LEN + 4;

    if (state == DHCP_OFF || state == DHCP_BOUND) {
        return;
    }
    if (len < o || p[0] != 2 || be32(p + 4) != xid || memcmp(p + 28, netcfg.mac, ETH_ALEN) ||
        be32(p + DHCP_FIXED_LEN) != DHCP_MAGIC) {
        NET_STAT(rx_dropped);
        return;
    }
    while (o < len && p[o] != OPT_END) {
        u8 code = p[o], olen;

        if (code == OPT_PAD) {
            o++;
            continue;
        }
        if (o + 2 > len || o + 2 + p[o + 1] > len) {
            NET_STAT(rx_dropped);
            return;                     /* an option runs past the packet */
        }
        olen = p[o + 1];
        if (code == OPT_MSG_TYPE && olen == 1) {
            type = p[o + 2];
        } else if (code == OPT_SUBNET && olen == 4) {
            mask = p + o + 2;
        } else if (code == OPT_ROUTER && olen >= 4) {
            router = p + o + 2;
        } else if (code == OPT_SERVER_ID && olen == 4) {
            sid = p + o + 2;
        }
        o += 2u + olen;
    }
    if (state == DHCP_SELECTING && type == DHCPOFFER && sid && be32(p + 16)) {
        memcpy(offered, p + 16, 4);
        memcpy(server, sid, 4);
        set_state(DHCP_REQUESTING);
        send_msg();
    } else if (state == DHCP_REQUESTING && type == DHCPACK && !memcmp(p + 16, offered, 4)) {
        bind(p + 16, mask, router);
    } else if (state == DHCP_REQUESTING && type == DHCPNAK) {
        set_state(DHCP_SELECTING);
        send_msg();
    }
}
