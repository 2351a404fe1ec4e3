/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Migration transports, chosen by the URI's prefix:
 *
 *   tcp:HOST:PORT   connect / listen (PORT 0: the system picks, and
 *                   query-migrate's socket-address says which); HOST may be
 *                   [v6addr]; an empty or 0 host listens on every address
 *   unix:PATH       connect / listen on a UNIX socket
 *   exec:COMMAND    /bin/sh -c COMMAND with the stream on its stdin
 *                   (source) or stdout (destination)
 *   file:PATH       write the stream to PATH / read it back
 *   fd:N            an inherited file descriptor by number (socket, pipe
 *                   or file); QEMU's getfd names are not supported yet
 *
 * Sockets get a return path: a dup of the same fd used in the other
 * direction. Pipes and files have none. Also here: the return path's
 * message table and its reader and writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <glib-unix.h>
#include "migration-internal.h"
#include "util/main-loop.h"
#include "trace.h"

/* ---- URIs ---- */

typedef enum MigUriKind {
    MIG_URI_TCP, MIG_URI_UNIX, MIG_URI_EXEC, MIG_URI_FILE, MIG_URI_FD,
} MigUriKind;

typedef struct MigUri {
    MigUriKind kind;
    char *host;         /* tcp */
    char *port;         /* tcp */
    const char *rest;   /* unix path, exec command, file path */
    int fd;             /* fd */
} MigUri;

static void mig_uri_clear(MigUri *u)
{
    g_free(u->host);
    g_free(u->port);
}

static bool mig_uri_parse(const char *uri, MigUri *u, Error **errp)
{
    memset(u, 0, sizeof(*u));
    if (g_str_has_prefix(uri, "tcp:")) {
        const char *hp = uri + 4;
        const char *colon;

        u->kind = MIG_URI_TCP;
        if (*hp == '[') {
            const char *end = strchr(hp, ']');
            if (!end || end[1] != ':') {
                error_setg(errp, "invalid migration URI '%s': expected "
                           "tcp:[ADDRESS]:PORT", uri);
                return false;
            }
            u->host = g_strndup(hp + 1, end - hp - 1);
            colon = end + 1;
        } else {
            colon = strrchr(hp, ':');
            if (!colon) {
                error_setg(errp, "invalid migration URI '%s': expected "
                           "tcp:HOST:PORT", uri);
                return false;
            }
            u->host = g_strndup(hp, colon - hp);
        }
        u->port = g_strdup(colon + 1);
        if (!*u->port || strspn(u->port, "0123456789") != strlen(u->port) ||
            atoi(u->port) > 65535) {
            error_setg(errp, "invalid migration URI '%s': bad port '%s'",
                       uri, u->port);
            mig_uri_clear(u);
            return false;
        }
        return true;
    }
    if (g_str_has_prefix(uri, "unix:")) {
        u->kind = MIG_URI_UNIX;
        u->rest = uri + 5;
    } else if (g_str_has_prefix(uri, "exec:")) {
        u->kind = MIG_URI_EXEC;
        u->rest = uri + 5;
    } else if (g_str_has_prefix(uri, "file:")) {
        u->kind = MIG_URI_FILE;
        u->rest = uri + 5;
    } else if (g_str_has_prefix(uri, "fd:")) {
        char *end;
        long n = strtol(uri + 3, &end, 10);

        u->kind = MIG_URI_FD;
        if (!uri[3] || *end || n < 0 || n > INT32_MAX) {
            error_setg(errp, "invalid migration URI '%s': fd: takes a file "
                       "descriptor number (named fds from getfd are not "
                       "supported)", uri);
            return false;
        }
        u->fd = n;
        return true;
    } else {
        error_setg(errp, "unknown migration protocol: %s", uri);
        return false;
    }
    if (!*u->rest) {
        error_setg(errp, "invalid migration URI '%s': empty argument", uri);
        return false;
    }
    if (u->kind == MIG_URI_UNIX &&
        strlen(u->rest) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", u->rest);
        return false;
    }
    return true;
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

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ch->fd = fd;
    ch->rp_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

/* ---- source ---- */

/* Non-blocking connect in 100 ms slices so cancel can interrupt it. */
static bool mig_connect_addr(int fd, const struct sockaddr *sa, socklen_t len,
                             const bool *cancel, const char *what,
                             Error **errp)
{
    int flags = fcntl(fd, F_GETFL);
    int err = 0;
    socklen_t elen = sizeof(err);

    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    if (connect(fd, sa, len) < 0 && errno != EINPROGRESS) {
        error_setg_errno(errp, errno, "Failed to connect to '%s'", what);
        return false;
    }
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int n = poll(&pfd, 1, 100);

        if (__atomic_load_n(cancel, __ATOMIC_SEQ_CST)) {
            error_setg(errp, "connection to '%s' cancelled", what);
            return false;
        }
        if (n > 0) {
            break;
        }
        if (n < 0 && errno != EINTR) {
            error_setg_errno(errp, errno, "Failed to connect to '%s'", what);
            return false;
        }
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
        error_setg_errno(errp, err ? err : errno, "Failed to connect to '%s'",
                         what);
        return false;
    }
    fcntl(fd, F_SETFL, flags);
    return true;
}

static bool mig_connect_tcp(const MigUri *u, const bool *cancel,
                            MigrationChannel *ch, Error **errp)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM };
    struct addrinfo *res, *ai;
    g_autofree char *what = g_strdup_printf("%s:%s", u->host, u->port);
    Error *last = NULL;
    int rc;

    rc = getaddrinfo(*u->host ? u->host : NULL, u->port, &hints, &res);
    if (rc) {
        error_setg(errp, "address resolution failed for %s: %s", what,
                   gai_strerror(rc));
        return false;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);

        if (fd < 0) {
            continue;
        }
        error_free(last);
        last = NULL;
        if (mig_connect_addr(fd, ai->ai_addr, ai->ai_addrlen, cancel, what,
                             &last)) {
            freeaddrinfo(res);
            mig_channel_set_socket(ch, fd);
            return true;
        }
        close(fd);
    }
    freeaddrinfo(res);
    if (!last) {
        error_setg(&last, "Failed to connect to '%s'", what);
    }
    error_propagate(errp, last);
    return false;
}

static bool mig_connect_unix(const MigUri *u, const bool *cancel,
                             MigrationChannel *ch, Error **errp)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(sun.sun_path, u->rest, sizeof(sun.sun_path));
    if (fd < 0 || !mig_connect_addr(fd, (struct sockaddr *)&sun, sizeof(sun),
                                    cancel, u->rest, errp)) {
        if (fd < 0) {
            error_setg_errno(errp, errno, "socket");
        } else {
            close(fd);
        }
        return false;
    }
    ch->fd = fd;
    ch->rp_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
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

    *ch = (MigrationChannel) { .fd = -1, .rp_fd = -1 };
    if (!mig_uri_parse(uri, &u, errp)) {
        return false;
    }
    switch (u.kind) {
    case MIG_URI_TCP:
        ok = mig_connect_tcp(&u, cancel, ch, errp);
        break;
    case MIG_URI_UNIX:
        ok = mig_connect_unix(&u, cancel, ch, errp);
        break;
    case MIG_URI_EXEC:
        ok = mig_exec(u.rest, true, ch, errp);
        break;
    case MIG_URI_FILE:
        ch->fd = open(u.rest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ok = ch->fd >= 0;
        if (!ok) {
            error_setg_errno(errp, errno, "Could not open '%s'", u.rest);
        }
        break;
    case MIG_URI_FD:
        ch->fd = fcntl(u.fd, F_DUPFD_CLOEXEC, 0);
        ok = ch->fd >= 0;
        if (!ok) {
            error_setg_errno(errp, errno, "fd:%d", u.fd);
        } else if (mig_fd_is_socket(ch->fd)) {
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

typedef struct MigListener {
    int fd;
    guint watch;
    char *path;         /* unix: unlinked once connected */
    MigrationAcceptFn *fn;
    void *opaque;
} MigListener;

static gboolean mig_listener_accept(gint fd, GIOCondition cond,
                                    gpointer opaque)
{
    MigListener *l = opaque;
    MigrationChannel ch = { .fd = -1, .rp_fd = -1 };
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

    if (cfd < 0) {
        return G_SOURCE_CONTINUE;       /* EAGAIN, ECONNABORTED: wait on */
    }
    /* One migration per listener: stop listening, as QEMU does. */
    close(l->fd);
    if (l->path) {
        unlink(l->path);
    }
    mig_channel_set_socket(&ch, cfd);
    trace_migration_channel_open("accepted", ch.fd, ch.rp_fd);
    l->fn(&ch, l->opaque);
    g_free(l->path);
    g_free(l);
    return G_SOURCE_REMOVE;
}

static SocketAddressList *mig_inet_address(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[NI_MAXHOST], port[NI_MAXSERV];
    SocketAddressList *l;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port,
                    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV)) {
        return NULL;
    }
    l = g_new0(SocketAddressList, 1);
    l->value = g_new0(SocketAddress, 1);
    l->value->type = SOCKET_ADDRESS_TYPE_INET;
    l->value->u.inet.host = g_strdup(host);
    l->value->u.inet.port = g_strdup(port);
    return l;
}

static int mig_listen_tcp(const MigUri *u, Error **errp)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE };
    struct addrinfo *res, *ai;
    const char *host = *u->host && strcmp(u->host, "0") ? u->host : NULL;
    int rc, err = 0;

    if (!host) {
        hints.ai_family = AF_INET6;     /* dual stack: every address */
    }
    rc = getaddrinfo(host, u->port, &hints, &res);
    if (rc && !host) {
        hints.ai_family = AF_INET;
        rc = getaddrinfo(host, u->port, &hints, &res);
    }
    if (rc) {
        error_setg(errp, "address resolution failed for %s:%s: %s",
                   u->host, u->port, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int one = 1, zero = 0;
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);

        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, 1) == 0) {
            freeaddrinfo(res);
            return fd;
        }
        err = errno;
        close(fd);
    }
    freeaddrinfo(res);
    error_setg_errno(errp, err, "Failed to bind socket for %s:%s", u->host,
                     u->port);
    return -1;
}

static int mig_listen_unix(const char *path, Error **errp)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
        listen(fd, 1) < 0) {
        error_setg_errno(errp, errno, "Failed to bind socket to %s", path);
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

bool migration_channel_listen(const char *uri, MigrationAcceptFn *fn,
                              void *opaque, SocketAddressList **addrs,
                              Error **errp)
{
    MigrationChannel ch = { .fd = -1, .rp_fd = -1 };
    MigListener *l;
    MigUri u;
    int fd = -1;

    *addrs = NULL;
    if (!mig_uri_parse(uri, &u, errp)) {
        return false;
    }
    switch (u.kind) {
    case MIG_URI_TCP:
        fd = mig_listen_tcp(&u, errp);
        if (fd >= 0) {
            *addrs = mig_inet_address(fd);
        }
        break;
    case MIG_URI_UNIX:
        fd = mig_listen_unix(u.rest, errp);
        if (fd >= 0) {
            *addrs = g_new0(SocketAddressList, 1);
            (*addrs)->value = g_new0(SocketAddress, 1);
            (*addrs)->value->type = SOCKET_ADDRESS_TYPE_UNIX;
            (*addrs)->value->u.q_unix.path = g_strdup(u.rest);
        }
        break;
    case MIG_URI_EXEC:
        if (!mig_exec(u.rest, false, &ch, errp)) {
            mig_uri_clear(&u);
            return false;
        }
        break;
    case MIG_URI_FILE:
        ch.fd = open(u.rest, O_RDONLY | O_CLOEXEC);
        if (ch.fd < 0) {
            error_setg_errno(errp, errno, "Could not open '%s'", u.rest);
            mig_uri_clear(&u);
            return false;
        }
        break;
    case MIG_URI_FD:
        ch.fd = fcntl(u.fd, F_DUPFD_CLOEXEC, 0);
        if (ch.fd < 0) {
            error_setg_errno(errp, errno, "fd:%d", u.fd);
            mig_uri_clear(&u);
            return false;
        }
        close(u.fd);
        if (mig_fd_is_socket(ch.fd)) {
            ch.rp_fd = fcntl(ch.fd, F_DUPFD_CLOEXEC, 0);
        }
        break;
    }
    if (u.kind != MIG_URI_TCP && u.kind != MIG_URI_UNIX) {
        mig_uri_clear(&u);
        trace_migration_channel_open(uri, ch.fd, ch.rp_fd);
        fn(&ch, opaque);
        return true;
    }
    if (fd < 0) {
        mig_uri_clear(&u);
        return false;
    }
    trace_migration_channel_listen(uri, fd);
    l = g_new0(MigListener, 1);
    l->fd = fd;
    l->fn = fn;
    l->opaque = opaque;
    l->path = u.kind == MIG_URI_UNIX ? g_strdup(u.rest) : NULL;
    mig_uri_clear(&u);
    {
        GSource *src = g_unix_fd_source_new(fd, G_IO_IN);

        g_source_set_callback(src, G_SOURCE_FUNC(mig_listener_accept), l,
                              NULL);
        l->watch = g_source_attach(src, main_loop_context());
        g_source_unref(src);
    }
    return true;
}

/* ---- return path ---- */

static const MigRpInfo mig_rp_table[MIG_RP__MAX] = {
    [MIG_RP_INVALID]    = { .name = "invalid" },
    [MIG_RP_PONG]       = { .name = "pong", .len = 12 },
    [MIG_RP_RESUMED]    = { .name = "resumed", .len = 8 },
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
        struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
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
        wait_ms = deadline_us ? (deadline_us - migration_now_us() + 999) / 1000
                              : 0;
        n = poll(&pfd, 1, wait_ms > 0 ? (int)MIN(wait_ms, INT32_MAX) : 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n == 0) {
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
            return -1;
        }
        r->have += n;
    }
}
