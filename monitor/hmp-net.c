/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP's network commands: info network (QEMU's layout), netdev_add,
 * netdev_del, set_link, hostfwd_add, hostfwd_remove.
 */
#include <string.h>
#include "monitor-internal.h"
#include "net/netdev.h"
#include "qapi/qapi-commands.h"

void hmp_info_network(HmpContext *hmp, const char *args)
{
    g_autofree char *text = net_info_network();

    hmp_printf(hmp, "%s", text);
}

void hmp_netdev_add(HmpContext *hmp, const char *args)
{
    Error *err = NULL;

    net_netdev_add_cmdline(args, &err);
    hmp_handle_error(hmp, err);
}

void hmp_netdev_del(HmpContext *hmp, const char *args)
{
    Error *err = NULL;

    qmp_netdev_del(args, &err);
    hmp_handle_error(hmp, err);
}

/* set_link NAME on|off */
void hmp_set_link(HmpContext *hmp, const char *args)
{
    g_auto(GStrv) w = g_strsplit_set(args, " \t", -1);
    Error *err = NULL;
    bool up;

    if (g_strv_length(w) != 2 || !*w[0]) {
        hmp_printf(hmp, "usage: set_link name on|off\n");
        return;
    }
    if (!parse_bool(w[1], &up, &err)) {
        hmp_handle_error(hmp, err);
        return;
    }
    qmp_set_link(w[0], up, &err);
    hmp_handle_error(hmp, err);
}

/* hostfwd_add [netdev_id] [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport */
void hmp_hostfwd_add(HmpContext *hmp, const char *args)
{
    g_auto(GStrv) w = g_strsplit_set(args, " \t", -1);
    guint n = g_strv_length(w);
    Error *err = NULL;

    if (n < 1 || n > 2 || !*w[0]) {
        hmp_printf(hmp, "usage: hostfwd_add [netdev_id] RULE\n");
        return;
    }
    net_slirp_hostfwd_add(n == 2 ? w[0] : NULL, w[n - 1], &err);
    hmp_handle_error(hmp, err);
}

void hmp_hostfwd_remove(HmpContext *hmp, const char *args)
{
    g_auto(GStrv) w = g_strsplit_set(args, " \t", -1);
    guint n = g_strv_length(w);
    Error *err = NULL;

    if (n < 1 || n > 2 || !*w[0]) {
        hmp_printf(hmp, "usage: hostfwd_remove [netdev_id] "
                   "[tcp|udp]:[hostaddr]:hostport\n");
        return;
    }
    net_slirp_hostfwd_remove(n == 2 ? w[0] : NULL, w[n - 1], &err);
    hmp_handle_error(hmp, err);
}
