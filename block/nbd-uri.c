/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NBD URIs to nbd node options and back (include/block/nbd-uri.h). URIs
 * go through GLib's GUri (RFC 3986: percent-decoding, [v6] hosts); the
 * older "nbd:host:port" form is split by hand.
 */
#include <string.h>
#include <glib.h>
#include "block/nbd-uri.h"

bool nbd_uri_is_nbd(const char *file)
{
    return g_str_has_prefix(file, "nbd:") || g_str_has_prefix(file, "nbd+") ||
           g_str_has_prefix(file, "nbds:") || g_str_has_prefix(file, "nbds+");
}

static json_object *nbd_json(json_object *server, const char *export)
{
    json_object *obj = json_object_new_object();

    json_object_object_add(obj, "driver", json_object_new_string("nbd"));
    json_object_object_add(obj, "server", server);
    if (export && *export) {
        json_object_object_add(obj, "export", json_object_new_string(export));
    }
    return obj;
}

static json_object *inet_json(const char *host, const char *port)
{
    json_object *s = json_object_new_object();

    json_object_object_add(s, "type", json_object_new_string("inet"));
    json_object_object_add(s, "host", json_object_new_string(host));
    json_object_object_add(s, "port", json_object_new_string(port));
    return s;
}

static json_object *unix_json(const char *path)
{
    json_object *s = json_object_new_object();

    json_object_object_add(s, "type", json_object_new_string("unix"));
    json_object_object_add(s, "path", json_object_new_string(path));
    return s;
}

/* nbd:unix:PATH[:exportname=E] and nbd:HOST:PORT[:exportname=E]. */
static json_object *nbd_legacy_to_json(const char *uri, Error **errp)
{
    const char *rest = uri + strlen("nbd:");
    g_autofree char *addr = NULL;
    const char *export = NULL;
    const char *ex = strstr(rest, ":exportname=");

    if (ex) {
        addr = g_strndup(rest, ex - rest);
        export = ex + strlen(":exportname=");
    } else {
        addr = g_strdup(rest);
    }
    if (g_str_has_prefix(addr, "unix:")) {
        if (!addr[5]) {
            error_setg(errp, "NBD URI '%s': no socket path", uri);
            return NULL;
        }
        return nbd_json(unix_json(addr + 5), export);
    }
    {
        char *colon = strrchr(addr, ':');

        if (!colon || colon == addr || !colon[1]) {
            error_setg(errp, "NBD URI '%s': expected nbd:HOST:PORT or "
                       "nbd:unix:PATH", uri);
            return NULL;
        }
        *colon = '\0';
        return nbd_json(inet_json(addr, colon + 1), export);
    }
}

json_object *nbd_uri_to_json(const char *uri, Error **errp)
{
    g_autoptr(GUri) u = NULL;
    g_autoptr(GHashTable) params = NULL;
    GError *gerr = NULL;
    const char *scheme, *path, *host, *query;
    g_autofree char *export = NULL;
    bool is_unix;

    if (g_str_has_prefix(uri, "nbds")) {
        error_setg(errp, "NBD URI '%s': TLS (nbds) is not supported", uri);
        return NULL;
    }
    if (g_str_has_prefix(uri, "nbd:") && !g_str_has_prefix(uri, "nbd://")) {
        return nbd_legacy_to_json(uri, errp);
    }
    u = g_uri_parse(uri, G_URI_FLAGS_ENCODED_QUERY, &gerr);
    if (!u) {
        error_setg(errp, "NBD URI '%s' is invalid: %s", uri, gerr->message);
        g_error_free(gerr);
        return NULL;
    }
    scheme = g_uri_get_scheme(u);
    if (!strcmp(scheme, "nbd") || !strcmp(scheme, "nbd+tcp")) {
        is_unix = false;
    } else if (!strcmp(scheme, "nbd+unix")) {
        is_unix = true;
    } else {
        error_setg(errp, "NBD URI '%s': unknown scheme '%s' (nbd, nbd+tcp "
                   "or nbd+unix)", uri, scheme);
        return NULL;
    }
    path = g_uri_get_path(u);
    export = g_strdup(path[0] == '/' ? path + 1 : path);
    host = g_uri_get_host(u);
    query = g_uri_get_query(u);
    if (query) {
        params = g_uri_parse_params(query, -1, "&", G_URI_PARAMS_NONE, &gerr);
        if (!params) {
            error_setg(errp, "NBD URI '%s': bad query: %s", uri,
                       gerr->message);
            g_error_free(gerr);
            return NULL;
        }
    }
    if (is_unix) {
        const char *sock = params ? g_hash_table_lookup(params, "socket")
                                  : NULL;

        if (host && *host) {
            error_setg(errp, "NBD URI '%s': nbd+unix takes no host", uri);
            return NULL;
        }
        if (!sock || !*sock || g_hash_table_size(params) != 1) {
            error_setg(errp, "NBD URI '%s': nbd+unix needs exactly one "
                       "query parameter, socket=PATH", uri);
            return NULL;
        }
        return nbd_json(unix_json(sock), export);
    }
    if (params) {
        error_setg(errp, "NBD URI '%s': nbd:// takes no query parameters",
                   uri);
        return NULL;
    }
    if (!host || !*host) {
        error_setg(errp, "NBD URI '%s': no host", uri);
        return NULL;
    }
    {
        g_autofree char *port = g_uri_get_port(u) > 0
            ? g_strdup_printf("%d", g_uri_get_port(u))
            : g_strdup(NBD_DEFAULT_PORT);

        return nbd_json(inet_json(host, port), export);
    }
}

char *nbd_uri_format(const SocketAddress *server, const char *export)
{
    const char *e = export ? export : "";

    switch (server->type) {
    case SOCKET_ADDRESS_TYPE_UNIX:
        return *e ? g_strdup_printf("nbd+unix:///%s?socket=%s", e,
                                    server->u.q_unix.path)
                  : g_strdup_printf("nbd+unix://?socket=%s",
                                    server->u.q_unix.path);
    case SOCKET_ADDRESS_TYPE_INET: {
        const char *h = server->u.inet.host;
        g_autofree char *host = strchr(h, ':') ? g_strdup_printf("[%s]", h)
                                               : g_strdup(h);

        return *e ? g_strdup_printf("nbd://%s:%s/%s", host,
                                    server->u.inet.port, e)
                  : g_strdup_printf("nbd://%s:%s", host,
                                    server->u.inet.port);
    }
    default:
        return g_strdup("nbd://");
    }
}
