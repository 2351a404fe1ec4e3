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

void hmp_info_usernet(HmpContext *hmp, const char *args)
{
    g_autofree char *text = net_slirp_info_usernet();

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
    hmp_one_word(hmp, args, "netdev_del ID", qmp_netdev_del);
}

/* set_link NAME on|off */
void hmp_set_link(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "set_link name on|off", .min = 2, .max = 2,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    Error *err = NULL;
    bool up;

    if (!w) {
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
    static const HmpArgs spec = {
        .usage = "hostfwd_add [netdev_id] RULE", .min = 1, .max = 2,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    guint n = w ? g_strv_length(w) : 0;
    Error *err = NULL;

    if (!w) {
        return;
    }
    net_slirp_hostfwd_add(n == 2 ? w[0] : NULL, w[n - 1], &err);
    hmp_handle_error(hmp, err);
}

void hmp_hostfwd_remove(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "hostfwd_remove [netdev_id] [tcp|udp]:[hostaddr]:hostport",
        .min = 1, .max = 2,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    guint n = w ? g_strv_length(w) : 0;
    Error *err = NULL;

    if (!w) {
        return;
    }
    /* QEMU says which rule went, and prints "not found" as an error. */
    if (net_slirp_hostfwd_remove(n == 2 ? w[0] : NULL, w[n - 1], &err)) {
        hmp_printf(hmp, "host forwarding rule for %s removed\n", w[n - 1]);
    }
    hmp_handle_error(hmp, err);
}

/*
 * announce_self [INTERFACES] [ID]: gratuitous ARP/RARP from the NICs
 * (all, or the comma-separated list), timed by the migration's announce
 * parameters as QEMU's HMP command is.
 */
void hmp_announce_self(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "announce_self [INTERFACES] [ID]", .max = 2,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    g_autoptr(MigrationParameters) mp = NULL;
    AnnounceParameters p;
    Error *err = NULL;

    if (!w) {
        return;
    }
    mp = qmp_query_migrate_parameters(NULL);
    p = (AnnounceParameters) {
        .initial = mp->announce_initial, .max = mp->announce_max,
        .rounds = mp->announce_rounds, .step = mp->announce_step,
    };
    if (w[0]) {
        g_auto(GStrv) names = g_strsplit(w[0], ",", -1);

        for (guint i = g_strv_length(names); i-- > 0;) {
            strList *node = g_new0(strList, 1);

            node->value = g_strdup(names[i]);
            node->next = p.interfaces;
            p.interfaces = node;
        }
    }
    p.id = w[0] && w[1] ? w[1] : NULL;
    qmp_announce_self(&p, &err);
    qapi_free_strList(p.interfaces);
    hmp_handle_error(hmp, err);
}
