/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP commands of qapi/net.json: netdev_add (hand-written
 * marshaller: its members are the backend's options), netdev_del,
 * set_link and announce-self.
 *
 * netdev_add's JSON becomes the same KeyvalList the command line makes
 * (include/net/netdev.h): nested objects as dotted keys (addr.type),
 * booleans as on/off, numbers in decimal, and the hostfwd/guestfwd lists
 * of { "str": RULE } as hostfwd.0, hostfwd.1, ...
 */
#include <string.h>
#include "net/netdev.h"
#include "qapi/qapi-commands.h"
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

typedef struct NetAnnounce {
    AnnounceParameters *params;
    int64_t rounds_left;
    int64_t delay;
} NetAnnounce;

static bool net_announce_wanted(const NetAnnounce *a, const char *name)
{
    if (!a->params->interfaces) {
        return true;
    }
    for (strList *l = a->params->interfaces; l; l = l->next) {
        if (name && !strcmp(l->value, name)) {
            return true;
        }
    }
    return false;
}

static void net_announce_one(NetClientState *nc, void *opaque)
{
    NetAnnounce *a = opaque;

    if (nc->info->kind == NET_CLIENT_KIND_NIC && nc->info->announce &&
        net_announce_wanted(a, nc->name)) {
        nc->info->announce(nc);
    }
}

static gboolean net_announce_round(gpointer opaque)
{
    NetAnnounce *a = opaque;

    net_foreach_client(net_announce_one, a);
    if (--a->rounds_left <= 0) {
        qapi_free_AnnounceParameters(a->params);
        g_free(a);
        return G_SOURCE_REMOVE;
    }
    g_timeout_add(a->delay, net_announce_round, a);
    a->delay = MIN(a->delay + a->params->step, a->params->max);
    return G_SOURCE_REMOVE;
}

void qmp_announce_self(AnnounceParameters *params, Error **errp)
{
    NetAnnounce *a;

    if (params->initial < 1 || params->max < 1 || params->rounds < 1 ||
        params->step < 0 || params->initial > 100000 ||
        params->max > 100000 || params->rounds > 1000 ||
        params->step > 10000) {
        error_setg(errp, "announce parameters out of range: initial and "
                   "max 1..100000 ms, rounds 1..1000, step 0..10000 ms");
        return;
    }
    a = g_new0(NetAnnounce, 1);
    a->params = g_new0(AnnounceParameters, 1);
    *a->params = *params;
    a->params->id = g_strdup(params->id);
    a->params->interfaces = NULL;
    for (strList *l = params->interfaces, **tail = &a->params->interfaces;
         l; l = l->next) {
        *tail = g_new0(strList, 1);
        (*tail)->value = g_strdup(l->value);
        tail = &(*tail)->next;
    }
    a->rounds_left = params->rounds;
    a->delay = params->initial;
    net_announce_round(a);
}
