/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: network options from the command line
 * (ip=A.B.C.D/N gw=A.B.C.D ip6=ADDR/N gw6=ADDR dhcp ping=ADDR netlog=0|1) and the
 * serial line that shows the resulting configuration.
 */
#include "net.h"

struct net_config netcfg = { .log = true };

static bool key_is(const char *k, size_t kn, const char *want)
{
    return kn == strlen(want) && !memcmp(k, want, kn);
}

bool net_option(const char *key, size_t kn, const char *v, size_t vn, bool *ok)
{
    if (!v) {                                   /* a bare word */
        if (key_is(key, kn, "dhcp")) {
            netcfg.dhcp = true;
            *ok = true;
            return true;
        }
        return false;
    }
    if (key_is(key, kn, "ip")) {
        *ok = ip_parse_prefix(v, vn, false, &netcfg.ip4, &netcfg.prefix4) &&
              netcfg.prefix4 >= 1 && netcfg.prefix4 <= 30;
        netcfg.have4 = *ok;
    } else if (key_is(key, kn, "gw")) {
        *ok = ip4_parse(v, vn, &netcfg.gw4);
        netcfg.have_gw4 = *ok;
    } else if (key_is(key, kn, "ip6")) {
        *ok = ip_parse_prefix(v, vn, true, &netcfg.ip6, &netcfg.prefix6) &&
              netcfg.prefix6 >= 1 && !ip_is_v4(&netcfg.ip6) &&
              netcfg.ip6.b[0] != 0xff;
        netcfg.have6 = *ok;
    } else if (key_is(key, kn, "gw6")) {
        *ok = ip6_parse(v, vn, &netcfg.gw6) && !ip_is_v4(&netcfg.gw6);
        netcfg.have_gw6 = *ok;
    } else if (key_is(key, kn, "ping")) {
        bool v6 = false;

        for (size_t i = 0; i < vn; i++) {
            v6 |= v[i] == ':';
        }

        *ok = v6 ? ip6_parse(v, vn, &netcfg.ping) && !ip_is_v4(&netcfg.ping) &&
                   netcfg.ping.b[0] != 0xff
                 : ip4_parse(v, vn, &netcfg.ping);
        netcfg.have_ping = *ok;
    } else if (key_is(key, kn, "netlog")) {
        *ok = vn == 1 && (v[0] == '0' || v[0] == '1');
        netcfg.log = v[0] == '1';
    } else if (key_is(key, kn, "dhcp")) {
        *ok = vn == 1 && (v[0] == '0' || v[0] == '1');
        netcfg.dhcp = v[0] == '1';
    } else {
        return false;
    }
    return true;
}

/* "TG net ip=10.0.2.15/24 gw=10.0.2.2 ip6=fd00::15/64 ll=fe80::..." */
void net_print_config(void)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG net ip=");
    if (netcfg.have4) {
        ln_ip(&l, &netcfg.ip4);
        ln_str(&l, "/");
        ln_dec(&l, netcfg.prefix4);
    } else {
        ln_str(&l, "none");
    }
    if (netcfg.have_gw4) {
        ln_str(&l, " gw=");
        ln_ip(&l, &netcfg.gw4);
    }
    if (netcfg.have6) {
        ln_str(&l, " ip6=");
        ln_ip(&l, &netcfg.ip6);
        ln_str(&l, "/");
        ln_dec(&l, netcfg.prefix6);
    }
    if (netcfg.have_gw6) {
        ln_str(&l, " gw6=");
        ln_ip(&l, &netcfg.gw6);
    }
    ln_str(&l, " ll=");
    ln_ip(&l, &netcfg.ll6);
    tg_print(&l);
}
