/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * query-chardev, chardev-add and chardev-remove. chardev-add turns the
 * typed backend description into the same key=value options -chardev
 * takes, so both paths create chardevs through one parser and one set of
 * checks.
 */
#include <string.h>
#include "chardev/char.h"
#include "qapi/qapi-commands.h"

static void chardev_info_one(Chardev *chr, void *opaque)
{
    ChardevInfoList ***tail = opaque;
    ChardevInfoList *node = g_new0(ChardevInfoList, 1);

    node->value = g_new0(ChardevInfo, 1);
    node->value->label = g_strdup(chr->id);
    node->value->filename = chardev_dup_label(chr);
    node->value->frontend_open = chr->fe_attached;
    **tail = node;
    *tail = &node->next;
}

ChardevInfoList *qmp_query_chardev(Error **errp)
{
    ChardevInfoList *head = NULL, **tail = &head;

    chardev_foreach(chardev_info_one, &tail);
    return head;
}

/* Appends ",key=value" with commas in the value doubled (keyval escape). */
static void opt_add(GString *s, const char *key, const char *value)
{
    if (s->len) {
        g_string_append_c(s, ',');
    }
    g_string_append_printf(s, "%s=", key);
    for (const char *p = value; *p; p++) {
        g_string_append_c(s, *p);
        if (*p == ',') {
            g_string_append_c(s, ',');
        }
    }
}

static void opt_add_bool(GString *s, const char *key, bool has, bool value)
{
    if (has) {
        opt_add(s, key, value ? "on" : "off");
    }
}

static bool chardev_socket_opts(GString *s, const ChardevSocket *sock,
                                Error **errp)
{
    const SocketAddressLegacy *addr = sock->addr;

    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        opt_add(s, "host", addr->u.inet.data->host);
        opt_add(s, "port", addr->u.inet.data->port);
        opt_add_bool(s, "ipv4", addr->u.inet.data->has_ipv4,
                     addr->u.inet.data->ipv4);
        opt_add_bool(s, "ipv6", addr->u.inet.data->has_ipv6,
                     addr->u.inet.data->ipv6);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        opt_add(s, "path", addr->u.q_unix.data->path);
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        opt_add(s, "fd", addr->u.fd.data->str);
        break;
    default:
        error_setg(errp, "unsupported socket address type");
        return false;
    }
    opt_add_bool(s, "server", sock->has_server, sock->server);
    opt_add_bool(s, "wait", sock->has_wait, sock->wait);
    opt_add_bool(s, "nodelay", sock->has_nodelay, sock->nodelay);
    if (sock->has_telnet && sock->telnet) {
        error_setg(errp, "telnet is not supported");
        return false;
    }
    if (sock->has_reconnect_ms) {
        g_autofree char *ms = g_strdup_printf("%" G_GINT64_FORMAT,
                                              sock->reconnect_ms);
        opt_add(s, "reconnect-ms", ms);
    }
    return true;
}

static bool chardev_check_common(const char *logfile, Error **errp)
{
    if (logfile) {
        error_setg(errp, "logfile is not supported");
        return false;
    }
    return true;
}

ChardevReturn *qmp_chardev_add(const char *id, ChardevBackend *backend,
                               Error **errp)
{
    g_autoptr(GString) opts = g_string_new(NULL);
    g_autoptr(KeyvalList) kv = NULL;
    const char *kind = ChardevBackendKind_str(backend->type);
    ChardevReturn *ret;
    Chardev *chr;

    switch (backend->type) {
    case CHARDEV_BACKEND_KIND_FILE: {
        const ChardevFile *f = backend->u.file.data;
        if (!chardev_check_common(f->logfile, errp)) {
            return NULL;
        }
        if (f->in) {
            error_setg(errp, "file: 'in' is not supported");
            return NULL;
        }
        opt_add(opts, "path", f->out);
        opt_add_bool(opts, "append", f->has_append, f->append);
        break;
    }
    case CHARDEV_BACKEND_KIND_SOCKET:
        if (!chardev_check_common(backend->u.socket.data->logfile, errp) ||
            !chardev_socket_opts(opts, backend->u.socket.data, errp)) {
            return NULL;
        }
        break;
    case CHARDEV_BACKEND_KIND_STDIO:
        if (!chardev_check_common(backend->u.stdio.data->logfile, errp)) {
            return NULL;
        }
        opt_add_bool(opts, "signal", backend->u.stdio.data->has_signal,
                     backend->u.stdio.data->signal);
        break;
    case CHARDEV_BACKEND_KIND_PTY:
        if (!chardev_check_common(backend->u.pty.data->logfile, errp)) {
            return NULL;
        }
        break;
    case CHARDEV_BACKEND_KIND_NULL:
        if (!chardev_check_common(backend->u.null.data->logfile, errp)) {
            return NULL;
        }
        break;
    default:
        error_setg(errp, "backend '%s' is not supported", kind);
        return NULL;
    }
    kv = keyval_parse(opts->str, NULL, errp);
    if (!kv) {
        return NULL;
    }
    chr = chardev_new(id, kind, kv, errp);
    if (!chr) {
        return NULL;
    }
    ret = g_new0(ChardevReturn, 1);
    if (backend->type == CHARDEV_BACKEND_KIND_PTY) {
        g_autofree char *label = chardev_dup_label(chr);
        ret->pty = g_strdup(g_str_has_prefix(label, "pty:") ? label + 4
                                                            : label);
    }
    return ret;
}

void qmp_chardev_remove(const char *id, Error **errp)
{
    Chardev *chr = chardev_find(id);

    if (!chr) {
        error_setg(errp, "Chardev '%s' not found", id);
        return;
    }
    if (chr->fe_attached) {
        error_setg(errp, "Chardev '%s' is busy", id);
        return;
    }
    chardev_close(chr);
}
