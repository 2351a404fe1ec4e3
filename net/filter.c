/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The netfilter chain: the abstract "netfilter" object type, each
 * netdev's ordered chain of filters, and the walk net_send_iov() runs
 * every frame through (the rules and the rx/tx picture are in
 * include/net/filter.h).
 *
 * A chain is the netdev's NetClientState.filters, a GPtrArray of
 * NetFilterState in chain order. A frame from sender to its peer meets
 * two chains: the sender's own, first to last, as tx (it is what the
 * sender transmits), then the receiver's, last to first, as rx. NICs have
 * no filters, so in practice it is one of the two.
 *
 * A filter that passes a frame on later (netfilter_pass_to_next) resumes
 * this same walk just after itself; that is how a held frame or an
 * injected one meets exactly the filters it would have met.
 */
#include <string.h>
#include <glib.h>
#include "net/filter.h"
#include "trace.h"

static const char *const netfilter_direction_names[] = {
    [NET_FILTER_DIRECTION_ALL] = "all",
    [NET_FILTER_DIRECTION_RX] = "rx",
    [NET_FILTER_DIRECTION_TX] = "tx",
};

const char *netfilter_direction_str(NetFilterDirection dir)
{
    return netfilter_direction_names[dir];
}

NetFilterDirection netfilter_frame_direction(NetFilterState *nf,
                                             NetClientState *sender)
{
    return sender == nf->netdev ? NET_FILTER_DIRECTION_TX
                                : NET_FILTER_DIRECTION_RX;
}

static bool netfilter_sees(NetFilterState *nf, NetFilterDirection dir)
{
    return nf->on && (nf->direction == NET_FILTER_DIRECTION_ALL ||
                      nf->direction == dir);
}

/* ---- the walk ---- */

/*
 * Runs one chain from index `from` in the walk's order (tx: upwards, rx:
 * downwards; from < 0 or past the end: nothing left). Returns what the
 * consuming filter returned, or 0.
 */
static ssize_t netfilter_run_chain(GPtrArray *chain, int from,
                                   NetFilterDirection dir,
                                   NetClientState *sender,
                                   const struct iovec *iov, int iovcnt)
{
    int step = dir == NET_FILTER_DIRECTION_TX ? 1 : -1;

    for (int i = from; chain && i >= 0 && i < (int)chain->len; i += step) {
        NetFilterState *nf = g_ptr_array_index(chain, i);
        ssize_t ret;

        if (!netfilter_sees(nf, dir)) {
            continue;
        }
        ret = nf->ops->receive_iov(nf, sender, dir, iov, iovcnt);
        if (ret != 0) {
            trace_netfilter_consumed(nf->parent.id,
                                     netfilter_direction_str(dir));
            return ret;
        }
    }
    return 0;
}

static int netfilter_index(NetFilterState *nf)
{
    guint i;

    if (!nf->netdev->filters ||
        !g_ptr_array_find(nf->netdev->filters, nf, &i)) {
        return -1;
    }
    return i;
}

ssize_t netfilter_walk(NetClientState *sender, NetFilterState *after,
                       const struct iovec *iov, int iovcnt)
{
    NetClientState *peer = sender->peer;
    GPtrArray *rx_chain = peer ? peer->filters : NULL;
    int rx_from = rx_chain ? (int)rx_chain->len - 1 : -1;
    ssize_t ret;

    if (!after || after->netdev == sender) {
        int tx_from = after ? netfilter_index(after) + 1 : 0;

        ret = netfilter_run_chain(sender->filters, tx_from,
                                  NET_FILTER_DIRECTION_TX, sender, iov,
                                  iovcnt);
        if (ret) {
            return ret;
        }
    } else {
        g_assert(after->netdev == peer);
        rx_from = netfilter_index(after) - 1;
    }
    return netfilter_run_chain(rx_chain, rx_from, NET_FILTER_DIRECTION_RX,
                               sender, iov, iovcnt);
}

ssize_t netfilter_pass_to_next(NetFilterState *nf, NetClientState *sender,
                               const struct iovec *iov, int iovcnt)
{
    g_assert(sender == nf->netdev || sender == nf->netdev->peer);
    return net_send_iov_after(sender, nf, iov, iovcnt);
}

/* ---- properties and joining the chain ---- */

static bool netfilter_parse_status(const char *status, bool *on, Error **errp)
{
    if (!strcmp(status, "on")) {
        *on = true;
    } else if (!strcmp(status, "off")) {
        *on = false;
    } else {
        error_setg(errp, "Invalid value %s, expect 'on' or 'off'", status);
        return false;
    }
    return true;
}

static bool netfilter_parse_queue(const char *queue, NetFilterDirection *dir,
                                  Error **errp)
{
    for (int i = 0; i < (int)G_N_ELEMENTS(netfilter_direction_names); i++) {
        if (!strcmp(queue, netfilter_direction_names[i])) {
            *dir = i;
            return true;
        }
    }
    error_setg(errp, "Parameter 'queue' does not accept value '%s'", queue);
    return false;
}

/*
 * Where the new filter goes: the index it will have in the chain.
 * position=head|tail|id=F, insert=before|behind (only with id=).
 */
static bool netfilter_insert_index(NetFilterState *nf, NetClientState *nd,
                                   guint *index, Error **errp)
{
    guint len = nd->filters ? nd->filters->len : 0;
    bool before;
    NetFilterState *at;

    if (!strcmp(nf->insert, "before")) {
        before = true;
    } else if (!strcmp(nf->insert, "behind")) {
        before = false;
    } else {
        error_setg(errp, "Parameter 'insert' expects 'before' or 'behind'");
        return false;
    }
    if (!strcmp(nf->position, "head")) {
        *index = 0;
        return true;
    }
    if (!strcmp(nf->position, "tail")) {
        *index = len;
        return true;
    }
    if (!g_str_has_prefix(nf->position, "id=")) {
        error_setg(errp, "Parameter 'position' expects 'head', 'tail' or "
                   "'id=<id>'");
        return false;
    }
    at = netfilter_find(nf->position + 3, NULL);
    if (!at) {
        error_setg(errp, "filter '%s' not found", nf->position + 3);
        return false;
    }
    if (at->netdev != nd) {
        error_setg(errp, "filter '%s' belongs to a different netdev",
                   nf->position + 3);
        return false;
    }
    *index = netfilter_index(at) + (before ? 0 : 1);
    return true;
}

bool netfilter_complete(Object *obj, const NetFilterOps *ops, Error **errp)
{
    NetFilterState *nf = (NetFilterState *)obj;
    NetClientState *nd;
    guint index;

    nf->ops = ops;
    if (!netfilter_parse_queue(nf->queue, &nf->direction, errp) ||
        !netfilter_parse_status(nf->status, &nf->on, errp)) {
        return false;
    }
    nd = net_find_netdev(nf->netdev_id);
    if (!nd) {
        error_setg(errp, "Parameter 'netdev' expects a network backend id");
        return false;
    }
    if (!netfilter_insert_index(nf, nd, &index, errp)) {
        return false;
    }
    if (ops->setup && !ops->setup(nf, errp)) {
        return false;
    }
    if (!nd->filters) {
        nd->filters = g_ptr_array_new();
    }
    g_ptr_array_insert(nd->filters, index, nf);
    nf->netdev = nd;
    trace_netfilter_attach(obj->id, obj->type->name, nd->name, index,
                           netfilter_direction_str(nf->direction));
    return true;
}

/* Leaves the chain (frames it holds are passed on first). */
static void netfilter_detach(NetFilterState *nf)
{
    if (!nf->netdev) {
        return;
    }
    if (nf->ops->leave) {
        nf->ops->leave(nf);
    }
    g_ptr_array_remove(nf->netdev->filters, nf);
    trace_netfilter_detach(nf->parent.id, nf->netdev->name);
    nf->netdev = NULL;
}

void netfilter_finalize(Object *obj)
{
    NetFilterState *nf = (NetFilterState *)obj;

    if (!nf->ops) {
        return;     /* never got as far as complete() */
    }
    netfilter_detach(nf);
    if (nf->ops->cleanup) {
        nf->ops->cleanup(nf);
    }
}

bool netfilter_set_status(NetFilterState *nf, const char *status,
                          Error **errp)
{
    bool on;

    if (!netfilter_parse_status(status, &on, errp)) {
        return false;
    }
    g_free(nf->status);
    nf->status = g_strdup(status);
    if (on == nf->on) {
        return true;
    }
    nf->on = on;
    trace_netfilter_status(nf->parent.id, status);
    if (nf->ops->status_changed) {
        nf->ops->status_changed(nf);
    }
    return true;
}

/* qom-set's path for status: the one property that changes live. */
static bool netfilter_set_status_live(Object *obj, const ObjectProperty *p,
                                      json_object *value, Error **errp)
{
    if (!json_object_is_type(value, json_type_string)) {
        error_setg(errp, "Invalid parameter type for '%s', expected: string",
                   p->name);
        return false;
    }
    return netfilter_set_status((NetFilterState *)obj,
                                json_object_get_string(value), errp);
}

NetFilterState *netfilter_find(const char *id, Error **errp)
{
    Object *obj = object_find(id);

    if (!obj || !type_is_a(obj->type, TYPE_NETFILTER)) {
        error_setg(errp, "filter '%s' not found", id);
        return NULL;
    }
    return (NetFilterState *)obj;
}

/* ---- info network ---- */

typedef struct FilterInfoLine {
    const Object *obj;
    GString *out;
} FilterInfoLine;

static void netfilter_info_prop(const ObjectProperty *p, void *opaque)
{
    FilterInfoLine *line = opaque;
    json_object *v = object_get_prop_json(line->obj, p, NULL);

    /* Unset strings (position without id=...) and custom properties
     * with no reader are left out, as they have nothing to show. */
    if (v) {
        g_string_append_printf(line->out, ",%s=%s", p->name,
                               json_object_get_string(v));
        json_object_put(v);
    }
}

void netfilter_info(GString *out, const NetClientState *nd)
{
    if (!nd->filters || !nd->filters->len) {
        return;
    }
    /* QEMU's shape: the chain in order, each filter with its id, type
     * and properties, so an operator sees where a re-protect's
     * insert=before,position=id=rew0 put the new filters. */
    g_string_append(out, "filters:\n");
    for (guint i = 0; i < nd->filters->len; i++) {
        NetFilterState *nf = g_ptr_array_index(nd->filters, i);
        FilterInfoLine line = { .obj = &nf->parent, .out = out };

        g_string_append_printf(out, "  - %s: type=%s", nf->parent.id,
                               nf->parent.type->name);
        object_foreach_prop(nf->parent.type, netfilter_info_prop, &line);
        g_string_append_c(out, '\n');
    }
}

/* ---- a netdev or a sender going away ---- */

static void netfilter_forget_sender(Object *obj, void *opaque)
{
    NetFilterState *nf = (NetFilterState *)obj;

    if (type_is_a(obj->type, TYPE_NETFILTER) && nf->netdev &&
        nf->ops->sender_gone) {
        nf->ops->sender_gone(nf, opaque);
    }
}

void netfilter_client_gone(NetClientState *nc)
{
    /* QEMU deletes a netdev's filters with it: so do we, by id, so that
     * object-del of them later says "not found" as QEMU's would. */
    while (nc->filters && nc->filters->len) {
        NetFilterState *nf = g_ptr_array_index(nc->filters, 0);

        netfilter_detach(nf);
        object_delete(nf->parent.id, &error_abort);
    }
    g_clear_pointer(&nc->filters, g_ptr_array_unref);
    object_foreach(netfilter_forget_sender, nc);
}

/* ---- the abstract type ---- */

static const ObjectProperty netfilter_props[] = {
    { .name = "netdev", .type = OBJ_PROP_STR,
      .offset = offsetof(NetFilterState, netdev_id),
      .desc = "the netdev (backend) id the filter sits on",
      .required = true },
    { .name = "queue", .type = OBJ_PROP_STR,
      .offset = offsetof(NetFilterState, queue),
      .desc = "all, rx (guest output: frames the netdev receives) or tx "
              "(frames the netdev sends to the guest)",
      .default_value = "all" },
    { .name = "status", .type = OBJ_PROP_STR,
      .offset = offsetof(NetFilterState, status),
      .desc = "on or off (off: frames pass untouched); qom-set works live",
      .default_value = "on", .set_live = netfilter_set_status_live },
    { .name = "position", .type = OBJ_PROP_STR,
      .offset = offsetof(NetFilterState, position),
      .desc = "head, tail or id=<filter>: where in the netdev's chain",
      .default_value = "tail" },
    { .name = "insert", .type = OBJ_PROP_STR,
      .offset = offsetof(NetFilterState, insert),
      .desc = "before or behind the filter position=id= names",
      .default_value = "behind" },
    { NULL },
};

static const TypeInfo netfilter_type_info = {
    .name = TYPE_NETFILTER,
    .parent = "object",
    .description = "a filter on a netdev's frames (abstract)",
    .abstract = true,
    .late = true,       /* after the chardevs and netdevs it names */
    .instance_size = sizeof(NetFilterState),
    .props = netfilter_props,
};
TYPE_REGISTER(netfilter_type_info)
