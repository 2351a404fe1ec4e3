/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -netdev, -nic, netdev_add and netdev_del: options in, a backend out
 * (see include/net/netdev.h), and the `info network` text.
 */
#include <string.h>
#include "hw/core/qdev.h"
#include "net/clients.h"
#include "net/filter.h"
#include "net/netdev.h"
#include "trace.h"
#include "util/main-loop.h"

typedef struct NetdevType {
    const char *name;
    NetInitFn *init;
} NetdevType;

/* The netdev types -netdev and netdev_add accept, in QEMU's spelling. */
static const NetdevType netdev_types[] = {
    { "user", net_init_slirp },
    { "tap", net_init_tap },
    { "socket", net_init_socket },
    { "stream", net_init_stream },
    { "dgram", net_init_dgram },
    { "hubport", net_init_hubport },
};

static const char *const net_kind_names[] = {
    [NET_CLIENT_KIND_NIC] = "nic",
    [NET_CLIENT_KIND_TAP] = "tap",
    [NET_CLIENT_KIND_USER] = "user",
    [NET_CLIENT_KIND_SOCKET] = "socket",
    [NET_CLIENT_KIND_STREAM] = "stream",
    [NET_CLIENT_KIND_DGRAM] = "dgram",
    [NET_CLIENT_KIND_HUBPORT] = "hubport",
};

const char *net_client_kind_str(NetClientKind kind)
{
    return kind < G_N_ELEMENTS(net_kind_names) ? net_kind_names[kind] : "?";
}

/* Keys several values may share: kept as KEY.0, KEY.1, ... */
static bool net_key_is_list(const char *key)
{
    return !strcmp(key, "hostfwd") || !strcmp(key, "guestfwd");
}

bool net_opts_check(const KeyvalList *opts, const char *const *known,
                    Error **errp)
{
    for (size_t i = 0; i < keyval_count(opts); i++) {
        const char *key = keyval_key_at(opts, i);
        g_autofree char *base = g_strdup(key);
        char *dot = strchr(base, '.');
        bool ok = !strcmp(key, "type") || !strcmp(key, "id");

        if (dot && net_key_is_list((*dot = '\0', base))) {
            key = base;
        }
        for (const char *const *k = known; !ok && *k; k++) {
            ok = !strcmp(*k, key);
        }
        if (!ok) {
            error_setg(errp, "Invalid parameter '%s'", keyval_key_at(opts, i));
            return false;
        }
    }
    return true;
}

/*
 * The command line's text with every hostfwd=/guestfwd= renamed to
 * KEY.N= in order, so that keyval (which refuses a repeated key) keeps
 * them all. ",," stays an escaped comma inside one element.
 */
static char *net_number_list_keys(const char *arg)
{
    GString *out = g_string_new(NULL);
    int counts[2] = { 0, 0 };
    const char *s = arg;

    while (*s) {
        const char *start = s;
        const char *eq;

        while (*s && !(*s == ',' && s[1] != ',')) {
            s += (*s == ',') ? 2 : 1;
        }
        eq = memchr(start, '=', s - start);
        if (eq) {
            g_autofree char *key = g_strndup(start, eq - start);

            if (net_key_is_list(key)) {
                int *n = &counts[!strcmp(key, "guestfwd")];

                g_string_append_printf(out, "%s.%d", key, (*n)++);
                start = eq;
            }
        }
        g_string_append_len(out, start, s - start);
        if (*s) {
            g_string_append_c(out, *s++);
        }
    }
    return g_string_free(out, FALSE);
}

static bool net_id_wellformed(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id + 1; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

/* id_given: the user's id= (checked); else one -nic generated. */
static NetClientState *net_netdev_create(const KeyvalList *opts,
                                         bool id_given, Error **errp)
{
    const char *type = keyval_get(opts, "type");
    const char *id = keyval_get(opts, "id");

    if (!type) {
        error_setg(errp, "Parameter 'type' is missing");
        return NULL;
    }
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    if (id_given && !net_id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(netdev_types); i++) {
        if (!strcmp(netdev_types[i].name, type)) {
            NetClientState *nc;

            if (net_find_netdev(id)) {
                error_setg(errp, "Duplicate ID '%s' for netdev", id);
                return NULL;
            }
            nc = netdev_types[i].init(opts, id, errp);
            if (nc) {
                trace_net_netdev_add(type, id);
            }
            return nc;
        }
    }
    error_setg(errp, "Parameter 'type' does not accept value '%s'", type);
    return NULL;
}

NetClientState *net_netdev_add_keyval(const KeyvalList *opts, Error **errp)
{
    return net_netdev_create(opts, true, errp);
}

static KeyvalList *net_parse_cmdline(const char *arg, Error **errp)
{
    g_autofree char *numbered = net_number_list_keys(arg);

    return keyval_parse(numbered, "type", errp);
}

NetClientState *net_netdev_add_cmdline(const char *arg, Error **errp)
{
    g_autoptr(KeyvalList) opts = net_parse_cmdline(arg, errp);

    return opts ? net_netdev_add_keyval(opts, errp) : NULL;
}

bool net_netdev_del(const char *id, Error **errp)
{
    NetClientState *nc = net_find_netdev(id);

    if (!nc) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND, "Device '%s' not found",
                  id);
        return false;
    }
    trace_net_netdev_del(id);
    net_client_free(nc);
    return true;
}

/* Appends ",key=value" with commas in the value doubled (keyval escape). */
static void net_append_opt(GString *s, const char *key, const char *value)
{
    g_string_append_printf(s, ",%s=", key);
    for (const char *p = value; *p; p++) {
        if (*p == ',') {
            g_string_append_c(s, ',');
        }
        g_string_append_c(s, *p);
    }
}

/* Options we built ourselves (generated ids allowed). */
static NetClientState *net_netdev_create_str(const char *opts_str,
                                             Error **errp)
{
    g_autoptr(KeyvalList) opts = keyval_parse(opts_str, "type", errp);

    return opts ? net_netdev_create(opts, false, errp) : NULL;
}

bool net_nic_add_cmdline(const char *arg, Error **errp)
{
    static unsigned nic_index;
    g_autoptr(KeyvalList) opts = net_parse_cmdline(arg, errp);
    g_autoptr(GString) netdev = g_string_new(NULL);
    g_autoptr(GString) device = g_string_new(NULL);
    g_autofree char *gen_id = NULL;
    const char *type, *id, *model, *mac;
    NetClientState *nc;

    if (!opts) {
        return false;
    }
    type = keyval_get(opts, "type");
    if (type && !strcmp(type, "none")) {
        return keyval_count(opts) == 1 ||
               (error_setg(errp, "-nic none takes no options"), false);
    }
    id = keyval_get(opts, "id");
    if (!id) {
        /* QEMU's name for the netdev of an -nic without id=. */
        id = gen_id = g_strdup_printf("__org.qemu.nic%u", nic_index);
    }
    nic_index++;
    model = keyval_get(opts, "model") ?: "virtio-net-pci";
    mac = keyval_get(opts, "mac");

    /* Everything but model= and mac= is the netdev's. */
    for (size_t i = 0; i < keyval_count(opts); i++) {
        const char *key = keyval_key_at(opts, i);

        if (strcmp(key, "model") && strcmp(key, "mac") && strcmp(key, "id")) {
            net_append_opt(netdev, key, keyval_value_at(opts, i));
        }
    }
    net_append_opt(netdev, "id", id);
    {
        g_autoptr(KeyvalList) nopts = keyval_parse(netdev->str + 1, NULL,
                                                   errp);

        nc = nopts ? net_netdev_create(nopts, !gen_id, errp) : NULL;
    }
    if (!nc) {
        return false;
    }

    g_string_append(device, model);
    net_append_opt(device, "netdev", id);
    if (mac) {
        net_append_opt(device, "mac", mac);
    }
    if (!qdev_create_cmdline(device->str, errp)) {
        error_prepend(errp, "model=%s: ", model);
        net_client_free(nc);
        return false;
    }
    return true;
}

/*
 * -net: everything joins hub 0 (QEMU's "vlan 0"). -net nic[,model=M]
 * [,macaddr=MAC][,id=ID] is a hub port plus a NIC on it; -net TYPE,...
 * is a netdev of TYPE behind a hub port. Ports are named hub0portN, as
 * QEMU names them.
 */
bool net_legacy_add_cmdline(const char *arg, Error **errp)
{
    static unsigned port_index, netdev_index;
    g_autoptr(KeyvalList) opts = net_parse_cmdline(arg, errp);
    g_autoptr(GString) nd = g_string_new(NULL);
    g_autofree char *port = NULL;
    g_autofree char *netdev_id = NULL;
    g_autofree char *hub = NULL;
    const char *type;
    NetClientState *backend, *nc;

    if (!opts) {
        return false;
    }
    type = keyval_get(opts, "type");
    if (!type || !strcmp(type, "none")) {
        return true;
    }
    port = g_strdup_printf("hub0port%u", port_index++);
    if (!strcmp(type, "nic")) {
        g_autoptr(GString) dev = g_string_new(NULL);
        static const char *const known[] = { "model", "macaddr", "id",
                                             NULL };

        if (!net_opts_check(opts, known, errp)) {
            return false;
        }
        hub = g_strdup_printf("hubport,id=%s,hubid=0", port);
        nc = net_netdev_create_str(hub, errp);
        if (!nc) {
            return false;
        }
        g_string_append(dev, keyval_get(opts, "model") ?: "virtio-net-pci");
        net_append_opt(dev, "netdev", port);
        if (keyval_get(opts, "macaddr")) {
            net_append_opt(dev, "mac", keyval_get(opts, "macaddr"));
        }
        if (keyval_get(opts, "id")) {
            net_append_opt(dev, "id", keyval_get(opts, "id"));
        }
        if (!qdev_create_cmdline(dev->str, errp)) {
            net_client_free(nc);
            return false;
        }
        return true;
    }
    netdev_id = keyval_get(opts, "id") ? g_strdup(keyval_get(opts, "id"))
                : g_strdup_printf("__org.qemu.net%u", netdev_index++);
    for (size_t i = 0; i < keyval_count(opts); i++) {
        const char *key = keyval_key_at(opts, i);

        if (strcmp(key, "id")) {
            net_append_opt(nd, key, keyval_value_at(opts, i));
        }
    }
    net_append_opt(nd, "id", netdev_id);
    backend = net_netdev_create_str(nd->str + 1, errp);
    if (!backend) {
        return false;
    }
    hub = g_strdup_printf("hubport,id=%s,hubid=0,netdev=%s", port, netdev_id);
    if (!net_netdev_create_str(hub, errp)) {
        net_client_free(backend);
        return false;
    }
    return true;
}

/* ---- info network ---- */

void net_info_client(GString *out, const NetClientState *nc)
{
    /* QEMU's line exactly (it shows no link state here either). */
    g_string_append_printf(out, "%s: index=0,type=%s,%s\n", nc->name,
                           net_client_kind_str(nc->info->kind),
                           nc->info_str ? nc->info_str : "");
}

static void net_info_one(NetClientState *nc, void *opaque)
{
    GString *out = opaque;
    NetClientState *peer = nc->peer;
    bool nic = nc->info->kind == NET_CLIENT_KIND_NIC;

    /* Hub ports, and whatever hangs off them, were listed with the hub. */
    if (net_hub_id_of(nc) >= 0 || (peer && net_hub_id_of(peer) >= 0)) {
        return;
    }
    if (!peer || nic) {
        net_info_client(out, nc);
    }
    if (peer && nic) {
        g_string_append(out, " \\ ");
        net_info_client(out, peer);
    }
    /* A netdev's filters follow its line, as QEMU lists them. */
    if (!peer && !nic) {
        netfilter_info(out, nc);
    } else if (peer && nic) {
        netfilter_info(out, peer);
    }
}

char *net_info_network(void)
{
    GString *out = g_string_new(NULL);

    net_hub_info(out);
    net_foreach_client(net_info_one, out);
    return g_string_free(out, FALSE);
}

void net_fd_watch_set(GSource **watch, GIOCondition *cur, int fd,
                      GIOCondition cond, GUnixFDSourceFunc fn, void *opaque)
{
    if (*watch && cond == *cur) {
        return;
    }
    if (*watch) {
        g_source_destroy(*watch);
        g_source_unref(*watch);
        *watch = NULL;
    }
    *cur = cond;
    if (cond) {
        *watch = g_unix_fd_source_new(fd, cond);
        g_source_set_callback(*watch, G_SOURCE_FUNC(fn), opaque, NULL);
        main_loop_attach_leaf(*watch);
    }
}
