/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP commands of qapi/net.json: netdev_add (hand-written
 * marshaller: its members are the backend's options), netdev_del,
 * set_link, announce-self, query-rx-filter and the NIC_RX_FILTER_CHANGED
 * event.
 *
 * netdev_add's JSON becomes the same KeyvalList the command line makes
 * (include/net/netdev.h): nested objects as dotted keys (addr.type),
 * booleans as on/off, numbers in decimal, and the hostfwd/guestfwd lists
 * of { "str": RULE } as hostfwd.0, hostfwd.1, ...
 */
#include <string.h>
#include "net/announce.h"
#include "net/netdev.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "trace.h"

static void net_qmp_append(GString *s, const char *key, const char *value)
{
    g_string_append_printf(s, "%s%s=", s->len ? "," : "", key);
    for (const char *p = value; *p; p++) {
        if (*p == ',') {
            g_string_append_c(s, ',');
        }
        g_string_append_c(s, *p);
    }
}

static bool net_qmp_flatten(GString *s, const char *prefix, json_object *obj,
                            Error **errp)
{
    json_object_object_foreach(obj, key, val) {
        g_autofree char *k = prefix ? g_strdup_printf("%s.%s", prefix, key)
                                    : g_strdup(key);

        switch (json_object_get_type(val)) {
        case json_type_object:
            if (!net_qmp_flatten(s, k, val, errp)) {
                return false;
            }
            break;
        case json_type_boolean:
            net_qmp_append(s, k, json_object_get_boolean(val) ? "on" : "off");
            break;
        case json_type_int:
        case json_type_string:
            net_qmp_append(s, k, json_object_get_string(val));
            break;
        case json_type_array:
            for (size_t i = 0; i < json_object_array_length(val); i++) {
                json_object *e = json_object_array_get_idx(val, i);
                json_object *str;
                g_autofree char *ki = g_strdup_printf("%s.%zu", k, i);

                if (!json_object_is_type(e, json_type_object) ||
                    !json_object_object_get_ex(e, "str", &str) ||
                    !json_object_is_type(str, json_type_string)) {
                    error_setg(errp, "Invalid parameter type for '%s', "
                               "expected: array of {\"str\": string}", k);
                    return false;
                }
                net_qmp_append(s, ki, json_object_get_string(str));
            }
            break;
        default:
            error_setg(errp, "Invalid parameter type for '%s'", k);
            return false;
        }
    }
    return true;
}

void qmp_marshal_netdev_add(json_object *args, json_object **ret,
                            Error **errp)
{
    g_autoptr(GString) s = g_string_new(NULL);
    g_autoptr(KeyvalList) opts = NULL;

    for (int i = 0; i < 2; i++) {
        const char *key = i ? "id" : "type";
        json_object *v;

        if (!json_object_object_get_ex(args, key, &v)) {
            error_setg(errp, "Parameter '%s' is missing", key);
            return;
        }
        if (!json_object_is_type(v, json_type_string)) {
            error_setg(errp, "Invalid parameter type for '%s', expected: "
                       "string", key);
            return;
        }
    }
    if (!net_qmp_flatten(s, NULL, args, errp)) {
        return;
    }
    opts = keyval_parse(s->str, NULL, errp);
    if (opts && net_netdev_add_keyval(opts, errp)) {
        *ret = json_object_new_object();
    }
}

void qmp_netdev_del(const char *id, Error **errp)
{
    net_netdev_del(id, errp);
}

typedef struct NetFind {
    const char *name;
    NetClientState *found;
} NetFind;

static void net_find_by_name(NetClientState *nc, void *opaque)
{
    NetFind *f = opaque;

    if (!f->found && nc->name && !strcmp(nc->name, f->name)) {
        f->found = nc;
    }
}

void qmp_set_link(const char *name, bool up, Error **errp)
{
    NetFind f = { name, NULL };

    net_foreach_client(net_find_by_name, &f);
    if (!f.found) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND,
                  "Device '%s' not found", name);
        return;
    }
    net_client_set_link(f.found, up);
}

/* ---- announce-self ---- */

void qmp_announce_self(AnnounceParameters *params, Error **errp)
{
    if (net_announce_check(params, errp)) {
        net_announce_start(params);
    }
}

/* ---- query-rx-filter and NIC_RX_FILTER_CHANGED ---- */

static char *net_mac_str(const uint8_t *mac)
{
    return g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
                           mac[2], mac[3], mac[4], mac[5]);
}

static strList *net_mac_list(const uint8_t *table, unsigned count)
{
    strList *head = NULL;

    for (unsigned i = count; i-- > 0;) {
        strList *node = g_new0(strList, 1);

        node->value = net_mac_str(table + i * 6);
        node->next = head;
        head = node;
    }
    return head;
}

/* The VLAN ids that pass, in increasing order. */
static intList *net_vlan_list(const uint8_t *vlans)
{
    intList *head = NULL;

    for (unsigned vid = NET_RX_FILTER_VLANS; vid-- > 0;) {
        if (vlans[vid / 8] & (1u << (vid % 8))) {
            intList *node = g_new0(intList, 1);

            node->value = vid;
            node->next = head;
            head = node;
        }
    }
    return head;
}

static RxFilterInfo *net_rx_filter_info(NetClientState *nc)
{
    RxFilterInfo *info = g_new0(RxFilterInfo, 1);
    NetRxFilter f;

    nc->info->get_rx_filter(nc, &f);
    info->name = g_strdup(nc->name);
    info->promiscuous = f.promisc;
    /* No NOMULTI/NOUNI/NOBCAST (VIRTIO_NET_F_CTRL_RX_EXTRA is not
     * offered), so a class is never "none" and broadcast always passes. */
    info->multicast = f.allmulti ? RX_STATE_ALL : RX_STATE_NORMAL;
    info->unicast = f.alluni ? RX_STATE_ALL : RX_STATE_NORMAL;
    info->vlan = f.vlan_filtering ? RX_STATE_NORMAL : RX_STATE_ALL;
    info->broadcast_allowed = true;
    info->multicast_overflow = f.multi_overflow;
    info->unicast_overflow = f.uni_overflow;
    info->main_mac = net_mac_str(f.mac);
    info->vlan_table = f.vlan_filtering ? net_vlan_list(f.vlans) : NULL;
    info->unicast_table = net_mac_list(f.uni_table, f.uni_count);
    info->multicast_table = net_mac_list(f.multi_table, f.multi_count);
    /* The client saw the filter: the next change is worth an event. */
    nc->rx_filter_event_sent = false;
    return info;
}

typedef struct NetRxFilterQuery {
    const char *name;       /* NULL: every NIC with a filter */
    NetClientState *named;  /* the client called name, NICs first */
    RxFilterInfoList *head, **tail;
} NetRxFilterQuery;

static void net_rx_filter_collect(NetClientState *nc, void *opaque)
{
    NetRxFilterQuery *q = opaque;

    if (q->name) {
        if (nc->name && !strcmp(nc->name, q->name) &&
            (!q->named || (nc->info->kind == NET_CLIENT_KIND_NIC &&
                           q->named->info->kind != NET_CLIENT_KIND_NIC))) {
            q->named = nc;
        }
        return;
    }
    if (nc->info->kind == NET_CLIENT_KIND_NIC && nc->info->get_rx_filter) {
        RxFilterInfoList *node = g_new0(RxFilterInfoList, 1);

        node->value = net_rx_filter_info(nc);
        *q->tail = node;
        q->tail = &node->next;
    }
}

RxFilterInfoList *qmp_query_rx_filter(const char *name, Error **errp)
{
    NetRxFilterQuery q = { .name = name };

    q.tail = &q.head;
    net_foreach_client(net_rx_filter_collect, &q);
    if (!name) {
        return q.head;
    }
    if (!q.named) {
        error_setg(errp, "invalid net client name: %s", name);
        return NULL;
    }
    if (q.named->info->kind != NET_CLIENT_KIND_NIC) {
        error_setg(errp, "net client(%s) isn't a NIC", name);
        return NULL;
    }
    if (!q.named->info->get_rx_filter) {
        error_setg(errp, "net client(%s) doesn't support rx-filter querying",
                   name);
        return NULL;
    }
    q.head = g_new0(RxFilterInfoList, 1);
    q.head->value = net_rx_filter_info(q.named);
    return q.head;
}

void net_rx_filter_changed(NetClientState *nc)
{
    if (nc->rx_filter_event_sent) {
        return;
    }
    nc->rx_filter_event_sent = true;
    trace_net_rx_filter_changed(nc->name);
    qapi_event_send_nic_rx_filter_changed(nc->name, nc->qom_path ?: "");
}
