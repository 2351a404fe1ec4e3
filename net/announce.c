/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Announcements: rounds of gratuitous ARP/RARP from the NICs (each NIC's
 * announce hook decides what it sends) so that switches learn which port
 * the guest's MAC is behind now. announce-self asks for one; the guest
 * starting here after an incoming migration, and a COLO secondary taking
 * over, make one with the announce-* migration parameters.
 */
#include <string.h>
#include "net/announce.h"
#include "net/net.h"
#include "trace.h"

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

bool net_announce_check(const AnnounceParameters *params, Error **errp)
{
    if (params->initial < 1 || params->max < 1 || params->rounds < 1 ||
        params->step < 0 || params->initial > 100000 ||
        params->max > 100000 || params->rounds > 1000 ||
        params->step > 10000) {
        error_setg(errp, "announce parameters out of range: initial and "
                   "max 1..100000 ms, rounds 1..1000, step 0..10000 ms");
        return false;
    }
    return true;
}

void net_announce_start(const AnnounceParameters *params)
{
    NetAnnounce *a = g_new0(NetAnnounce, 1);

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
    trace_net_announce_start(params->rounds, params->initial);
    net_announce_round(a);
}
