/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Migration transports, chosen by the URI's prefix:
 *
 *   tcp:HOST:PORT   connect / listen (PORT 0: the system picks, and
 *                   query-migrate's socket-address says which); HOST may be
 *                   [v6addr]; an empty host or :: listens on every address,
 *                   IPv4 and IPv6 (0 or 0.0.0.0: every IPv4 address)
 *   unix:PATH       connect / listen on a UNIX socket (a stale socket file
 *                   is replaced, anything else at PATH is refused)
 *   exec:COMMAND    /bin/sh -c COMMAND with the stream on its stdin
 *                   (source) or stdout (destination)
 *   file:PATH       write the stream to PATH / read it back
 *   fd:N            an inherited file descriptor by number (socket, pipe
 *                   or file)
 *   fd:NAME         a descriptor passed over QMP and named with getfd: the
 *                   migration command takes it from the monitor
 *                   (migration_uri_take_named_fd) and goes on with fd:N
 *
 * tcp: and unix: go through the socket layer (util/sockets.h), which
 * owns the address syntax and the listen and connect rules.
 *
 * Sockets get a return path: a dup of the same fd used in the other
 * direction. Pipes and files have none. Also here: the return path's
 * message table and its reader and writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <glib-unix.h>
#include "migration-internal.h"
#include "monitor/monitor.h"
#include "util/fdset.h"
#include "util/main-loop.h"
#include "util/sockets.h"
#include "trace.h"

/* ---- URIs ---- */

/*
 * A socket connect waits this long at most (the kernel alone would give
 * up after about two minutes); migrate_cancel ends it sooner.
 */
#define MIG_CONNECT_TIMEOUT_MS  30000

typedef enum MigUriKind {
    MIG_URI_SOCKET, MIG_URI_EXEC, MIG_URI_FILE, MIG_URI_FD,
} MigUriKind;

typedef struct MigUri {
    MigUriKind kind;
    SocketAddress *addr;    /* socket (tcp:, unix:) and fd: */
    const char *rest;       /* exec command, file path */
} MigUri;

static void mig_uri_clear(MigUri *u)
{
    qapi_free_SocketAddress(u->addr);
    u->addr = NULL;
}

/* tcp:, unix: and fd: are socket-layer addresses (util/sockets.h). */
static bool mig_uri_parse(const char *uri, MigUri *u, Error **errp)
{
    ERRP_GUARD();

    memset(u, 0, sizeof(*u));
    if (g_str_has_prefix(uri, "tcp:") || g_str_has_prefix(uri, "unix:") ||
        g_str_has_prefix(uri, "fd:")) {
        u->kind = g_str_has_prefix(uri, "fd:") ? MIG_URI_FD : MIG_URI_SOCKET;
        u->addr = socket_parse(uri, errp);
        if (!u->addr) {
            error_prepend(errp, "invalid migration URI '%s': ", uri);
            return false;
        }
        return true;
    }
    if (g_str_has_prefix(uri, "exec:")) {
        u->kind = MIG_URI_EXEC;
        u->rest = uri + 5;
    } else if (g_str_has_prefix(uri, "file:")) {
        u->kind = MIG_URI_FILE;
        u->rest = uri + 5;
    } else {
        error_setg(errp, "unknown migration protocol: %s", uri);
        return false;
    }
    if (!*u->rest) {
        error_setg(errp, "invalid migration URI '%s': empty argument", uri);
        return false;
    }
    return true;
}

char *migration_uri_take_named_fd(const char *uri, int *owned, Error **errp)
{
    const char *name = uri + 3;
    int fd;

    *owned = -1;
    if (!g_str_has_prefix(uri, "fd:") || !*name || g_ascii_isdigit(*name)) {
        return g_strdup(uri);
    }
    fd = monitor_take_named_fd(name, errp);
    if (fd < 0) {
        return NULL;
    }
    *owned = fd;
    return g_strdup_printf("fd:%d", fd);
}

bool migration_uri_check(const char *uri, Error **errp)
{
    MigUri u;

    if (!mig_uri_parse(uri, &u, errp)) {
        return false;
    }
    mig_uri_clear(&u);
    return true;
}

static bool mig_fd_is_socket(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Sockets: the stream and, on a dup, the return path. */
static void mig_channel_set_socket(MigrationChannel *ch, int fd)
{
    int one = 1;

    /* Fails harmlessly on a UNIX socket. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ch->fd = fd;
    ch->rp_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

/* The fd of an fd: URI, duplicated (the caller keeps its own). */
static bool mig_dup_fd(const MigUri *u, int *out, Error **errp)
{
    int fd;

    if (!socket_address_fd(u->addr, &fd, errp)) {
        return false;
    }
    *out = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (*out < 0) {
        error_setg_errno(errp, errno, "fd:%d", fd);
        return false;
    }
    return true;
}

/* /bin/sh -c cmd; our end of its stdin (to_child) or stdout. */
static bool mig_exec(const char *cmd, bool to_child, MigrationChannel *ch,
                     Error **errp)
{
    const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
    GError *gerr = NULL;
    GPid pid;
    int fd;

    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD |
                                  G_SPAWN_CHILD_INHERITS_STDIN * !to_child,
                                  NULL, NULL, &pid,
                                  to_child ? &fd : NULL,
                                  to_child ? NULL : &fd, NULL, &gerr)) {
        error_setg(errp, "exec:%s: %s", cmd, gerr->message);
        g_error_free(gerr);
        return false;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    ch->fd = fd;
    ch->child = pid;
    return true;
}

bool migration_channel_connect(const char *uri, const bool *cancel,
                               MigrationChannel *ch, Error **errp)
{
    MigUri u;
    bool ok = false;
    int fd;

    *ch = (MigrationChannel) { .fd = -1, .rp_fd = -1 };
    if (!mig_uri_parse(uri, &u, errp)) {
        return false;
    }
    switch (u.kind) {
    case MIG_URI_SOCKET:
        fd = socket_connect(u.addr, MIG_CONNECT_TIMEOUT_MS, cancel, errp);
        ok = fd >= 0;
        if (ok) {
            mig_channel_set_socket(ch, fd);
        }
        break;
    case MIG_URI_EXEC:
        ok = mig_exec(u.rest, true, ch, errp);
        break;
    case MIG_URI_FILE:
        ch->fd = fdset_open(u.rest, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ok = ch->fd >= 0;
        if (!ok) {
            error_setg_errno(errp, errno, "Could not open '%s'", u.rest);
        }
        break;
    case MIG_URI_FD:
        ok = mig_dup_fd(&u, &ch->fd, errp);
        if (ok && mig_fd_is_socket(ch->fd)) {
            ch->rp_fd = fcntl(ch->fd, F_DUPFD_CLOEXEC, 0);
        }
        break;
    }
    mig_uri_clear(&u);
    if (ok) {
        trace_migration_channel_open(uri, ch->fd, ch->rp_fd);
    }
    return ok;
}

void migration_channel_shutdown(MigrationChannel *ch)
{
    if (ch->rp_fd >= 0) {
        shutdown(ch->rp_fd, SHUT_RDWR);
    }
    if (ch->child > 0) {
        kill(ch->child, SIGTERM);
    }
}

void migration_channel_close(MigrationChannel *ch)
{
    if (ch->rp_fd >= 0) {
        close(ch->rp_fd);
        ch->rp_fd = -1;
    }
    if (ch->child > 0) {
        waitpid(ch->child, NULL, 0);
        ch->child = 0;
    }
}

/* ---- destination ---- */

struct MigListener {
    int fd;
    GSource *watch;         /* on the context it listens in */
    SocketAddress *addr;    /* a unix: socket file is removed once used */
    MigrationAcceptFn *fn;
    void *opaque;
    unsigned left;          /* connections still to accept */
    MigListener **handle;   /* cleared when it goes */
};

static void mig_listener_free(MigListener *l)
{
    g_source_unref(l->watch);
    close(l->fd);
    socket_unlink_unix(l->addr);
    if (l->handle) {
        *l->handle = NULL;
    }
    qapi_free_SocketAddress(l->addr);
    g_free(l);
}

void migration_channel_unlisten(MigListener *l)
{
    if (l) {
        g_source_destroy(l->watch);
        mig_listener_free(l);
    }
}

static gboolean mig_listener_accept(gint fd, GIOCondition cond,
                                    gpointer opaque)
{
    MigListener *l = opaque;
    MigrationChannel ch = { .fd = -1, .rp_fd = -1 };
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

    if (cfd < 0) {
        return G_SOURCE_CONTINUE;       /* EAGAIN, ECONNABORTED: wait on */
    }
    mig_channel_set_socket(&ch, cfd);
    trace_migration_channel_open("accepted", ch.fd, ch.rp_fd);
    /* One migration per listener (its channels): then stop listening,
     * as QEMU does. */
    if (--l->left) {
        l->fn(&ch, l->opaque);
        return G_SOURCE_CONTINUE;
    }
    if (l->handle) {
        *l->handle = NULL;
        l->handle = NULL;
    }
    l->fn(&ch, l->opaque);
    mig_listener_free(l);
    return G_SOURCE_REMOVE;
}

/* Where fd listens, for query-migrate (a tcp: port 0 shows its port). */
static SocketAddressList *mig_listen_address(int fd, const SocketAddress *addr)
{
    SocketAddressList *l = g_new0(SocketAddressList, 1);

    l->value = addr->type == SOCKET_ADDRESS_TYPE_INET
               ? socket_local_address(fd, NULL) : NULL;
    if (!l->value) {
        l->value = socket_address_dup(addr);
    }
    return l;
}

/* exec:, file: and fd: are open at once: no listener. */
static bool mig_open_incoming(const MigUri *u, MigrationChannel *ch,
                              Error **errp)
{
    switch (u->kind) {
    case MIG_URI_EXEC:
        return mig_exec(u->rest, false, ch, errp);
    case MIG_URI_FILE:
        ch->fd = fdset_open(u->rest, O_RDONLY, 0);
        if (ch->fd < 0) {
            error_setg_errno(errp, errno, "Could not open '%s'", u->rest);
            return false;
        }
        return true;
    case MIG_URI_FD: {
        int fd;

        if (!mig_dup_fd(u, &ch->fd, errp)) {
            return false;
        }
        /* The destination owns an fd: URI's fd (checked by mig_dup_fd). */
        socket_address_fd(u->addr, &fd, NULL);
        close(fd);
        if (mig_fd_is_socket(ch->fd)) {
            ch->rp_fd = fcntl(ch->fd, F_DUPFD_CLOEXEC, 0);
        }
        return true;
    }
    default:
        g_assert_not_reached();
    }
}

bool migration_channel_listen(const char *uri, MigrationAcceptFn *fn,
                              void *opaque, SocketAddressList **addrs,
                              Error **errp)
{
    return migration_channel_listen_n(uri, 1, NULL, fn, opaque, addrs, NULL,
                                      errp);
}

bool migration_channel_listen_n(const char *uri, unsigned nconn,
                                GMainContext *ctx,
                                MigrationAcceptFn *fn, void *opaque,
                                SocketAddressList **addrs,
                                MigListener **handle, Error **errp)
{
    MigrationChannel ch = { .fd = -1, .rp_fd = -1 };
    MigListener *l;
    MigUri u;
    int fd;

    *addrs = NULL;
    if (!mig_uri_parse(uri, &u, errp)) {
        return false;
    }
    if (u.kind != MIG_URI_SOCKET) {
        bool ok = mig_open_incoming(&u, &ch, errp);

        mig_uri_clear(&u);
        if (!ok) {
            return false;
        }
        trace_migration_channel_open(uri, ch.fd, ch.rp_fd);
        fn(&ch, opaque);
        return true;
    }
    fd = socket_listen(u.addr, 1, errp);
    if (fd < 0) {
        mig_uri_clear(&u);
        return false;
    }
    *addrs = mig_listen_address(fd, u.addr);
    trace_migration_channel_listen(uri, fd);
    l = g_new0(MigListener, 1);
    l->fd = fd;
    l->fn = fn;
    l->opaque = opaque;
    l->left = nconn;
    l->handle = handle;
    if (handle) {
        *handle = l;
    }
    l->addr = g_steal_pointer(&u.addr);
    l->watch = g_unix_fd_source_new(fd, G_IO_IN);
    g_source_set_callback(l->watch, G_SOURCE_FUNC(mig_listener_accept), l,
                          NULL);
    g_source_attach(l->watch, ctx ? ctx : main_loop_context());
    return true;
}

/* ---- return path ---- */

static const MigRpInfo mig_rp_table[MIG_RP__MAX] = {
    [MIG_RP_INVALID]    = { .name = "invalid" },
    [MIG_RP_PONG]       = { .name = "pong", .len = 12 },
    [MIG_RP_RESUMED]    = { .name = "resumed", .len = 8 },
    [MIG_RP_REQ_PAGES]  = { .name = "req-pages", .len = 16 },
    [MIG_RP_SHUT]       = { .name = "shut", .len = 4 },
    [MIG_RP_RECV_BITMAP] = { .name = "recv-bitmap", .len = 16 },
    [MIG_RP_RECV_BITMAP_END] = { .name = "recv-bitmap-end", .len = 8 },
};

const MigRpInfo *mig_rp_info(unsigned type)
{
    return type > MIG_RP_INVALID && type < MIG_RP__MAX ?
           &mig_rp_table[type] : NULL;
}

uint64_t mig_be64(const uint8_t *p)
{
    return (uint64_t)mig_be32(p) << 32 | mig_be32(p + 4);
}

uint32_t mig_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

void mig_put_be64(uint8_t *p, uint64_t v)
{
    mig_put_be32(p, v >> 32);
    mig_put_be32(p + 4, v);
}

void mig_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

bool mig_rp_send(int fd, MigRpType type, const void *data, Error **errp)
{
    const MigRpInfo *info = mig_rp_info(type);
    uint8_t buf[4 + MIG_RP_MAX_PAYLOAD];
    size_t len = 4 + info->len, off = 0;

    buf[0] = type >> 8;
    buf[1] = type;
    buf[2] = info->len >> 8;
    buf[3] = info->len;
    memcpy(buf + 4, data, info->len);
    trace_migration_rp_send(info->name);
    while (off < len) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            error_setg_errno(errp, errno, "return path: sending '%s'",
                             info->name);
            return false;
        }
        off += n;
    }
    return true;
}

/* Bytes the buffered message needs in all, once its header is in. */
static size_t mig_rp_need(MigRpReader *r)
{
    return r->have < 4 ? 4 : 4 + (r->buf[2] << 8 | r->buf[3]);
}

int mig_rp_read(MigRpReader *r, int64_t deadline_us, MigRpMsg *msg,
                Error **errp)
{
    for (;;) {
        size_t need = mig_rp_need(r);
        struct pollfd pfd[2] = {
            { .fd = r->fd, .events = POLLIN },
            { .fd = r->wake_fd, .events = POLLIN },
        };
        int64_t wait_ms;
        ssize_t n;

        if (r->have >= 4) {
            const MigRpInfo *info = mig_rp_info(r->buf[0] << 8 | r->buf[1]);
            unsigned len = r->buf[2] << 8 | r->buf[3];

            if (!info || len != info->len) {
                error_setg(errp, "return path: bad message type %u length %u",
                           r->buf[0] << 8 | r->buf[1], len);
                return -1;
            }
            if (r->have == need) {
                msg->type = r->buf[0] << 8 | r->buf[1];
                msg->len = len;
                memcpy(msg->data, r->buf + 4, len);
                r->have = 0;
                trace_migration_rp_recv(info->name);
                return 1;
            }
        }
        if (deadline_us < 0) {
            wait_ms = -1;
        } else if (deadline_us) {
            wait_ms = (deadline_us - migration_now_us() + 999) / 1000;
            wait_ms = wait_ms > 0 ? MIN(wait_ms, INT32_MAX) : 0;
        } else {
            wait_ms = 0;
        }
        /* A negative wake_fd is ignored by poll(). */
        n = poll(pfd, 2, (int)wait_ms);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n == 0 || pfd[1].revents) {
            return 0;
        }
        n = recv(r->fd, r->buf + r->have, need - r->have, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                error_setg(errp, "return path: the destination closed the "
                           "connection");
            } else {
                error_setg_errno(errp, errno, "return path");
            }
            return -2;
        }
        r->have += n;
    }
}
