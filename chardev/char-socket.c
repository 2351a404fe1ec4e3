/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The socket backend: a UNIX or TCP stream socket, as a server (listening,
 * one client at a time) or as a client (optionally reconnecting), or an
 * inherited fd (fd=N: a listening socket makes a server, anything else is
 * an already connected peer).
 *
 * Behaviour choices:
 *  - A server serves one client at a time. While a client is connected the
 *    listening socket is not watched, so further connections wait in the
 *    kernel's backlog (and are accepted, in order, when the current client
 *    leaves); they are not refused.
 *  - wait=on (the default for server=on) makes creation block until the
 *    first client connects, with a message on stderr. fd=N of a listening
 *    socket only waits when server=on is given explicitly.
 *  - A client without reconnect-ms= must connect at creation (error
 *    otherwise). With reconnect-ms=N a failed or dropped connection is
 *    retried every N ms from a timer on the main loop's default context.
 *  - Writes never block for long: what the socket takes now is written;
 *    if it is full the writer waits up to CHARDEV_WRITE_TIMEOUT_MS (1 s)
 *    for the peer to read, then drops the rest and counts it; after one
 *    such timeout, writes drop at once until the socket drains. Writes
 *    with no peer connected are dropped (and reported as written). A
 *    write that fails with EPIPE/ECONNRESET shuts the socket down; the
 *    watch on the frontend's context then sees the hang-up and does the
 *    disconnect there, so CLOSED always comes from the frontend's thread.
 *  - TCP port=0 for a server binds an ephemeral port, shown in the label.
 *  - A UNIX server unlinks a stale socket file before binding and removes
 *    its socket file when closed.
 *
 * Locking: s->lock guards the fds, the sources and the connection state.
 * Frontend callbacks are never called with it held (a frontend may write
 * from receive() or event()).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "char-io.h"
#include "trace.h"

#define SOCKET_CONNECT_TIMEOUT_MS     5000  /* at creation */
#define SOCKET_RECONNECT_TRY_MS       1000  /* one reconnect attempt */

typedef struct SocketChardev {
    Chardev parent;
    GMutex lock;

    /* Configuration. */
    bool is_unix;
    bool is_server;
    bool nodelay;
    bool ipv4, ipv6;
    bool from_fd;
    char *path;                 /* unix */
    char *host, *port;          /* tcp, as given */
    char *addr_desc;            /* "unix:/p,server=on", "tcp:h:p,server=on" */
    uint64_t reconnect_ms;      /* clients; 0: no reconnect */
    bool unlink_on_close;

    /* State, under lock. */
    int listen_fd;              /* -1 unless server */
    int fd;                     /* the connection, -1 when none */
    bool broken;                /* a write failed: shut down, teardown due */
    bool io_reading;            /* io_src includes G_IO_IN */
    GSource *listen_src;        /* on watch_ctx */
    GSource *io_src;            /* on watch_ctx */
    GSource *reconnect_src;     /* on the default context */
    GMainContext *watch_ctx;    /* the frontend's context, NULL: default */
    ChardevWriteState ws;
} SocketChardev;

static gboolean socket_io_cb(gint fd, GIOCondition cond, gpointer opaque);
static gboolean socket_listen_cb(gint fd, GIOCondition cond, gpointer opaque);
static gboolean socket_reconnect_cb(gpointer opaque);

/* ---- addresses and labels ---- */

static char *socket_format_inet(const struct sockaddr *sa, socklen_t len)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];

    if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV)) {
        return g_strdup("?:?");
    }
    if (sa->sa_family == AF_INET6) {
        return g_strdup_printf("[%s]:%s", host, serv);
    }
    return g_strdup_printf("%s:%s", host, serv);
}

/* QEMU's filename of a connected socket. */
static char *socket_connected_label(SocketChardev *s, int fd)
{
    struct sockaddr_storage local = { 0 }, peer = { 0 };
    socklen_t llen = sizeof(local), plen = sizeof(peer);
    const char *listen = s->is_server ? ",server=on" : "";

    if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0) {
        return g_strdup_printf("%s", s->addr_desc);
    }
    if (local.ss_family == AF_UNIX) {
        const char *path = s->path;
        struct sockaddr_un *un = (struct sockaddr_un *)&local;

        if (!path && !s->is_server &&
            getpeername(fd, (struct sockaddr *)&peer, &plen) == 0) {
            un = (struct sockaddr_un *)&peer;
        }
        if (!path) {
            path = un->sun_path;
        }
        return g_strdup_printf("unix:%s%s", path, listen);
    }
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0) {
        return g_strdup_printf("%s", s->addr_desc);
    }
    g_autofree char *l = socket_format_inet((struct sockaddr *)&local, llen);
    g_autofree char *p = socket_format_inet((struct sockaddr *)&peer, plen);
    return g_strdup_printf("tcp:%s%s <-> %s", l, listen, p);
}

static void socket_set_disconnected_label(SocketChardev *s)
{
    chardev_set_label(&s->parent,
                      g_strdup_printf("disconnected:%s", s->addr_desc));
}

static bool socket_unix_addr(const char *path, struct sockaddr_un *un,
                             Error **errp)
{
    memset(un, 0, sizeof(*un));
    un->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(un->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long (at most %zu "
                   "bytes)", path, sizeof(un->sun_path) - 1);
        return false;
    }
    strcpy(un->sun_path, path);
    return true;
}

static struct addrinfo *socket_resolve(SocketChardev *s, Error **errp)
{
    struct addrinfo hints = { 0 }, *res = NULL;
    const char *host = s->host;
    int rc;

    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = s->ipv4 && !s->ipv6 ? AF_INET :
                      s->ipv6 && !s->ipv4 ? AF_INET6 : AF_UNSPEC;
    hints.ai_flags = AI_NUMERICSERV;
    if (s->is_server) {
        hints.ai_flags |= AI_PASSIVE;
        if (!*host) {
            host = NULL;
        }
    }
    rc = getaddrinfo(host, s->port, &hints, &res);
    if (rc) {
        error_setg(errp, "address resolution failed for %s:%s: %s",
                   s->host, s->port, gai_strerror(rc));
        return NULL;
    }
    return res;
}

/* ---- watches ---- */

/* Re-creates the watches this state needs on ctx. Called with lock. */
static void socket_rearm_locked(SocketChardev *s, GMainContext *ctx,
                                bool want_read)
{
    if (ctx != s->watch_ctx) {
        chardev_io_drop_source(&s->listen_src);
        chardev_io_drop_source(&s->io_src);
        s->watch_ctx = ctx;
    }
    if (s->fd < 0) {
        chardev_io_drop_source(&s->io_src);
        if (s->listen_fd >= 0 && !s->listen_src) {
            s->listen_src = chardev_io_add_watch(s->listen_fd, G_IO_IN, ctx,
                                                 socket_listen_cb, s);
        }
        return;
    }
    chardev_io_drop_source(&s->listen_src);
    if (s->broken) {
        want_read = false;      /* only waiting for the hang-up */
    }
    if (s->io_src && s->io_reading == want_read) {
        return;
    }
    chardev_io_drop_source(&s->io_src);
    s->io_reading = want_read;
    s->io_src = chardev_io_add_watch(s->fd, (want_read ? G_IO_IN : 0) |
                                     G_IO_HUP | G_IO_ERR, ctx,
                                     socket_io_cb, s);
}

static GMainContext *socket_fe_context(SocketChardev *s)
{
    return s->parent.fe_attached ? s->parent.fe.context : NULL;
}

static void socket_schedule_reconnect_locked(SocketChardev *s)
{
    if (s->reconnect_ms && !s->reconnect_src) {
        s->reconnect_src = chardev_io_add_timeout(s->reconnect_ms, NULL,
                                                  socket_reconnect_cb, s);
    }
}

/* Takes ownership of fd, a connected socket. Called with lock. */
static void socket_connected_locked(SocketChardev *s, int fd)
{
    Chardev *chr = &s->parent;
    char *label;

    if (!s->is_unix || s->from_fd) {
        int one = 1;
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);

        if (s->nodelay && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
            ss.ss_family != AF_UNIX) {
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    s->fd = fd;
    s->broken = false;
    s->ws.stalled = false;
    label = socket_connected_label(s, fd);
    trace_chardev_socket_connected(chr->id, label);
    chardev_set_label(chr, label);
    chr->connected = true;
    /* Assume room; the watch narrows itself to hang-ups if there is none. */
    socket_rearm_locked(s, socket_fe_context(s), chr->fe_attached);
    chardev_post_opened(chr);
}

/*
 * Drops the connection and goes back to listening or reconnecting.
 * Returns true when the frontend must be sent CLOSED. Called with lock.
 */
static bool socket_disconnect_locked(SocketChardev *s, int err)
{
    Chardev *chr = &s->parent;
    bool was_connected = s->fd >= 0;

    if (!was_connected) {
        return false;
    }
    trace_chardev_socket_disconnected(chr->id, err);
    chardev_io_drop_source(&s->io_src);
    close(s->fd);
    s->fd = -1;
    s->broken = false;
    chr->connected = false;
    socket_set_disconnected_label(s);
    socket_rearm_locked(s, s->watch_ctx, false);
    socket_schedule_reconnect_locked(s);
    /* An OPENED the frontend never saw needs no CLOSED. */
    return !chardev_cancel_opened(chr);
}

static gboolean socket_io_cb(gint fd, GIOCondition cond, gpointer opaque)
{
    SocketChardev *s = opaque;
    Chardev *chr = &s->parent;
    size_t room = chardev_frontend_room(chr);
    uint8_t buf[4096];
    ssize_t n = 0;
    bool closed;

    g_mutex_lock(&s->lock);
    if (s->io_src != g_main_current_source()) {
        g_mutex_unlock(&s->lock);
        return G_SOURCE_REMOVE;
    }
    if (!room && !(cond & (G_IO_HUP | G_IO_ERR))) {
        /* The frontend is full: only watch for hang-ups until it calls
         * chardev_accept_input(). */
        socket_rearm_locked(s, s->watch_ctx, false);
        g_mutex_unlock(&s->lock);
        return G_SOURCE_REMOVE;
    }
    if (room && !s->broken) {
        n = recv(s->fd, buf, MIN(room, sizeof(buf)), MSG_DONTWAIT);
        if (n > 0) {
            g_mutex_unlock(&s->lock);
            chardev_deliver_input(chr, buf, n);
            return G_SOURCE_CONTINUE;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            g_mutex_unlock(&s->lock);
            return G_SOURCE_CONTINUE;
        }
    }
    closed = socket_disconnect_locked(s, room && !s->broken && n < 0 ? errno
                                                                     : 0);
    g_mutex_unlock(&s->lock);
    if (closed) {
        chardev_send_event(chr, CHARDEV_EVENT_CLOSED);
    }
    return G_SOURCE_REMOVE;
}

static gboolean socket_listen_cb(gint fd, GIOCondition cond, gpointer opaque)
{
    SocketChardev *s = opaque;
    int conn;

    g_mutex_lock(&s->lock);
    if (s->listen_src != g_main_current_source() || s->fd >= 0) {
        g_mutex_unlock(&s->lock);
        return G_SOURCE_REMOVE;
    }
    conn = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) {
        g_mutex_unlock(&s->lock);
        return G_SOURCE_CONTINUE;
    }
    /* Drops listen_src (this source) while the client stays. */
    socket_connected_locked(s, conn);
    g_mutex_unlock(&s->lock);
    return G_SOURCE_REMOVE;
}

/* ---- connecting ---- */

/* Waits up to timeout_ms for a non-blocking connect; returns 0 or errno. */
static int socket_finish_connect(int fd, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };
    int err = 0;
    socklen_t len = sizeof(err);
    int r;

    do {
        r = poll(&pfd, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
        return ETIMEDOUT;
    }
    if (r < 0) {
        return errno;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        return errno;
    }
    return err;
}

static int socket_connect_one(const struct sockaddr *sa, socklen_t len,
                              int timeout_ms, int *errp)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    0);
    int err;

    if (fd < 0) {
        *errp = errno;
        return -1;
    }
    if (connect(fd, sa, len) == 0) {
        return fd;
    }
    err = errno;
    if (err == EINPROGRESS) {
        err = socket_finish_connect(fd, timeout_ms);
        if (!err) {
            return fd;
        }
    }
    close(fd);
    *errp = err;
    return -1;
}

/* Connects to the configured address; returns the fd or -1 with errp. */
static int socket_client_connect(SocketChardev *s, int timeout_ms,
                                 Error **errp)
{
    int err = 0, fd = -1;

    if (s->is_unix) {
        struct sockaddr_un un;

        if (!socket_unix_addr(s->path, &un, errp)) {
            return -1;
        }
        fd = socket_connect_one((struct sockaddr *)&un, sizeof(un),
                                timeout_ms, &err);
    } else {
        struct addrinfo *res = socket_resolve(s, errp);

        if (!res) {
            return -1;
        }
        for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
            fd = socket_connect_one(ai->ai_addr, ai->ai_addrlen, timeout_ms,
                                    &err);
        }
        freeaddrinfo(res);
    }
    if (fd < 0) {
        trace_chardev_socket_connect_failed(s->parent.id, s->addr_desc, err);
        error_setg_errno(errp, err, "Failed to connect to '%s'",
                         s->addr_desc);
    }
    return fd;
}

static gboolean socket_reconnect_cb(gpointer opaque)
{
    SocketChardev *s = opaque;
    int fd;

    g_mutex_lock(&s->lock);
    if (s->reconnect_src != g_main_current_source()) {
        g_mutex_unlock(&s->lock);
        return G_SOURCE_REMOVE;
    }
    g_source_unref(s->reconnect_src);
    s->reconnect_src = NULL;
    g_mutex_unlock(&s->lock);

    /*
     * Outside the lock: a writer must not wait for a slow connect. Only
     * the main loop thread (this one) connects, creates or closes, so
     * nobody else can connect meanwhile.
     */
    fd = socket_client_connect(s, SOCKET_RECONNECT_TRY_MS, NULL);

    g_mutex_lock(&s->lock);
    if (fd >= 0 && s->fd < 0) {
        socket_connected_locked(s, fd);
    } else {
        if (fd >= 0) {
            close(fd);
        }
        socket_schedule_reconnect_locked(s);
    }
    g_mutex_unlock(&s->lock);
    return G_SOURCE_REMOVE;
}

/* ---- listening ---- */

static int socket_listen_unix(SocketChardev *s, Error **errp)
{
    struct sockaddr_un un;
    struct stat st;
    int fd;

    if (!socket_unix_addr(s->path, &un, errp)) {
        return -1;
    }
    /* Replace a stale socket, but never clobber another kind of file. */
    if (lstat(s->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            error_setg(errp, "Failed to bind socket to %s: file exists and "
                       "is not a socket", s->path);
            return -1;
        }
        unlink(s->path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket");
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
        error_setg_errno(errp, errno, "Failed to bind socket to %s", s->path);
        close(fd);
        return -1;
    }
    s->unlink_on_close = true;
    if (listen(fd, 1) < 0) {
        error_setg_errno(errp, errno, "Failed to listen on %s", s->path);
        close(fd);
        return -1;
    }
    return fd;
}

static int socket_listen_tcp(SocketChardev *s, Error **errp)
{
    struct addrinfo *res = socket_resolve(s, errp);
    int fd = -1, err = 0;

    if (!res) {
        return -1;
    }
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        int one = 1;

        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg_errno(errp, err, "Failed to listen on %s:%s", s->host,
                         s->port);
        return -1;
    }
    /* port=0: show the port the kernel picked. */
    if (!strcmp(s->port, "0")) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        char serv[NI_MAXSERV];

        if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
            !getnameinfo((struct sockaddr *)&ss, len, NULL, 0, serv,
                         sizeof(serv), NI_NUMERICSERV)) {
            g_free(s->port);
            s->port = g_strdup(serv);
        }
    }
    return fd;
}

/* Blocks until the first client connects (wait=on). */
static bool socket_wait_first_client(SocketChardev *s, Error **errp)
{
    g_autofree char *label = chardev_dup_label(&s->parent);
    int fd;

    error_report("chardev '%s': info: waiting for connection on: %s",
                 s->parent.id, label);
    do {
        fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    } while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to accept a connection on %s",
                         s->addr_desc);
        return false;
    }
    g_mutex_lock(&s->lock);
    socket_connected_locked(s, fd);
    g_mutex_unlock(&s->lock);
    return true;
}

/* ---- options ---- */

static bool socket_parse_fd(SocketChardev *s, const char *str, int *out,
                            Error **errp)
{
    uint64_t v;
    int type, acc;
    socklen_t len = sizeof(type);
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);

    if (!parse_uint(str, &v, NULL) || v > INT32_MAX) {
        error_setg(errp, "chardev: socket: invalid fd '%s'", str);
        return false;
    }
    if (getsockopt((int)v, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
        error_setg_errno(errp, errno, "chardev: socket: fd %d is not a "
                         "usable socket", (int)v);
        return false;
    }
    if (type != SOCK_STREAM) {
        error_setg(errp, "chardev: socket: fd %d is not a stream socket",
                   (int)v);
        return false;
    }
    len = sizeof(acc);
    if (getsockopt((int)v, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0) {
        acc = 0;
    }
    s->is_server = acc != 0;
    s->is_unix = getsockname((int)v, (struct sockaddr *)&ss, &sslen) == 0 &&
                 ss.ss_family == AF_UNIX;
    *out = (int)v;
    return true;
}

static bool socket_parse_port(const char *str, Error **errp)
{
    uint64_t v;

    if (!str || !*str) {
        error_setg(errp, "chardev: socket: no port given (port=)");
        return false;
    }
    if (!parse_uint(str, &v, NULL) || v > 65535) {
        error_setg(errp, "chardev: socket: invalid port '%s' (0 to 65535)",
                   str);
        return false;
    }
    return true;
}

static char *socket_describe(SocketChardev *s, int fd)
{
    const char *listen = s->is_server ? ",server=on" : "";

    if (fd >= 0) {
        struct sockaddr_storage ss = { 0 };
        socklen_t len = sizeof(ss);

        if (!s->is_server ||
            getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
            return g_strdup_printf("fd:%d", fd);
        }
        if (ss.ss_family == AF_UNIX) {
            s->path = g_strdup(((struct sockaddr_un *)&ss)->sun_path);
            return g_strdup_printf("unix:%s%s", s->path, listen);
        }
        g_autofree char *a = socket_format_inet((struct sockaddr *)&ss, len);
        return g_strdup_printf("tcp:%s%s", a, listen);
    }
    if (s->is_unix) {
        return g_strdup_printf("unix:%s%s", s->path, listen);
    }
    if (strchr(s->host, ':')) {
        return g_strdup_printf("tcp:[%s]:%s%s", s->host, s->port, listen);
    }
    return g_strdup_printf("tcp:%s:%s%s", s->host, s->port, listen);
}

static bool socket_open(Chardev *chr, const KeyvalList *opts, Error **errp)
{
    SocketChardev *s = (SocketChardev *)chr;
    const char *path = keyval_get(opts, "path");
    const char *host = keyval_get(opts, "host");
    const char *port = keyval_get(opts, "port");
    const char *fdstr = keyval_get(opts, "fd");
    bool server, wait, nowait, server_given;
    uint64_t reconnect_ms, reconnect_s;
    int fd = -1;

    s->listen_fd = -1;
    s->fd = -1;
    g_mutex_init(&s->lock);

    if (!keyval_get_bool(opts, "server", false, &server, errp) ||
        !keyval_get_bool(opts, "nowait", false, &nowait, errp) ||
        !keyval_get_bool(opts, "wait", !nowait, &wait, errp) ||
        !keyval_get_bool(opts, "nodelay", false, &s->nodelay, errp) ||
        !keyval_get_bool(opts, "ipv4", false, &s->ipv4, errp) ||
        !keyval_get_bool(opts, "ipv6", false, &s->ipv6, errp) ||
        !keyval_get_u64(opts, "reconnect-ms", 0, &reconnect_ms, errp) ||
        !keyval_get_u64(opts, "reconnect", 0, &reconnect_s, errp)) {
        goto fail;
    }
    server_given = keyval_get(opts, "server") != NULL;
    if (keyval_get(opts, "wait") && keyval_get(opts, "nowait")) {
        error_setg(errp, "chardev: socket: give wait= or nowait, not both");
        goto fail;
    }
    if (reconnect_s && !reconnect_ms) {
        reconnect_ms = reconnect_s * 1000;   /* QEMU's older reconnect=SECS */
    }
    if (reconnect_ms > G_MAXUINT) {
        error_setg(errp, "chardev: socket: reconnect-ms is too large");
        goto fail;
    }

    if (!!path + !!(host || port) + !!fdstr != 1) {
        error_setg(errp, (path || host || port || fdstr)
                   ? "chardev: socket: give exactly one of path=, "
                     "host=/port= or fd="
                   : "chardev: socket: no address given (path=, "
                     "host=/port= or fd=)");
        goto fail;
    }
    if (fdstr) {
        if (!socket_parse_fd(s, fdstr, &fd, errp)) {
            goto fail;
        }
        s->from_fd = true;
        if (server_given && server != s->is_server) {
            error_setg(errp, "chardev: socket: fd %d is %s listening socket "
                       "but server=%s", fd, s->is_server ? "a" : "not a",
                       server ? "on" : "off");
            goto fail;
        }
        if (!server_given) {
            wait = false;       /* see the header comment */
        }
    } else if (path) {
        struct sockaddr_un un;

        s->is_unix = true;
        s->is_server = server;
        if (!*path) {
            error_setg(errp, "chardev: socket: empty path=");
            goto fail;
        }
        if (!socket_unix_addr(path, &un, errp)) {
            goto fail;
        }
        s->path = g_strdup(path);
    } else {
        s->is_server = server;
        if (!socket_parse_port(port, errp)) {
            goto fail;
        }
        if (!host && !server) {
            host = "localhost";
        }
        s->host = g_strdup(host ? host : "");
        s->port = g_strdup(port);
        if (!s->is_server && !*s->host) {
            error_setg(errp, "chardev: socket: no host given (host=)");
            goto fail;
        }
    }
    if (s->is_server && reconnect_ms) {
        error_setg(errp, "chardev: socket: 'reconnect-ms' option is "
                   "incompatible with server=on");
        goto fail;
    }
    if (s->from_fd && reconnect_ms) {
        error_setg(errp, "chardev: socket: 'reconnect-ms' option is "
                   "incompatible with fd=");
        goto fail;
    }
    s->reconnect_ms = reconnect_ms;

    if (s->is_server) {
        if (fd >= 0) {
            s->listen_fd = fd;
            fcntl(fd, F_SETFD, FD_CLOEXEC);
        } else {
            s->listen_fd = s->is_unix ? socket_listen_unix(s, errp)
                                      : socket_listen_tcp(s, errp);
            if (s->listen_fd < 0) {
                goto fail;
            }
        }
        s->addr_desc = socket_describe(s, fd);
        socket_set_disconnected_label(s);
        trace_chardev_socket_listen(chr->id, s->addr_desc);
        if (wait && !socket_wait_first_client(s, errp)) {
            goto fail;
        }
        g_mutex_lock(&s->lock);
        socket_rearm_locked(s, NULL, false);
        g_mutex_unlock(&s->lock);
        return true;
    }

    s->addr_desc = socket_describe(s, fd);
    socket_set_disconnected_label(s);
    if (fd < 0) {
        Error *local_err = NULL;

        fd = socket_client_connect(s, SOCKET_CONNECT_TIMEOUT_MS, &local_err);
        if (fd < 0) {
            if (!s->reconnect_ms) {
                error_propagate(errp, local_err);
                goto fail;
            }
            error_free(local_err);
            g_mutex_lock(&s->lock);
            socket_schedule_reconnect_locked(s);
            g_mutex_unlock(&s->lock);
            return true;
        }
    }
    g_mutex_lock(&s->lock);
    socket_connected_locked(s, fd);
    g_mutex_unlock(&s->lock);
    return true;

fail:
    /* An inherited fd stays open: its owner gave it for this chardev only
     * if creation succeeds. */
    if (s->listen_fd >= 0 && s->listen_fd != fd) {
        close(s->listen_fd);
    }
    if (s->unlink_on_close) {
        unlink(s->path);
    }
    if (s->fd >= 0) {
        chardev_io_drop_source(&s->io_src);
        close(s->fd);
    }
    g_free(s->path);
    g_free(s->host);
    g_free(s->port);
    g_free(s->addr_desc);
    g_mutex_clear(&s->lock);
    return false;
}

/* ---- Chardev operations ---- */

static ssize_t socket_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    SocketChardev *s = (SocketChardev *)chr;
    ssize_t n;

    g_mutex_lock(&s->lock);
    if (s->fd < 0 || s->broken) {
        g_mutex_unlock(&s->lock);
        return len;             /* nobody listening: dropped */
    }
    n = chardev_io_write(s->fd, true, buf, len, &s->ws);
    if (n < 0) {
        /* Leave the teardown to the watch on the frontend's context. */
        trace_chardev_socket_write_error(chr->id, (int)-n);
        shutdown(s->fd, SHUT_RDWR);
        s->broken = true;
        n = len;
    }
    g_mutex_unlock(&s->lock);
    return n;
}

static void socket_accept_input(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;
    bool room = chardev_frontend_room(chr) > 0;

    g_mutex_lock(&s->lock);
    socket_rearm_locked(s, socket_fe_context(s), room);
    g_mutex_unlock(&s->lock);
}

static void socket_detach(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;

    /* Back to the default context: keep accepting, keep noticing
     * hang-ups, read nothing until a frontend attaches. */
    g_mutex_lock(&s->lock);
    socket_rearm_locked(s, NULL, false);
    g_mutex_unlock(&s->lock);
}

static void socket_close(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;

    g_mutex_lock(&s->lock);
    chardev_io_drop_source(&s->listen_src);
    chardev_io_drop_source(&s->io_src);
    chardev_io_drop_source(&s->reconnect_src);
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    if (s->unlink_on_close) {
        unlink(s->path);
    }
    chr->connected = false;
    g_mutex_unlock(&s->lock);
    g_mutex_clear(&s->lock);
    g_free(s->path);
    g_free(s->host);
    g_free(s->port);
    g_free(s->addr_desc);
}

static const char *const socket_options[] = {
    "path", "host", "port", "fd", "server", "wait", "nowait", "nodelay",
    "ipv4", "ipv6", "reconnect-ms", "reconnect", NULL
};

const ChardevClass chardev_socket_class = {
    .name = "socket",
    .instance_size = sizeof(SocketChardev),
    .options = socket_options,
    .open = socket_open,
    .write = socket_write,
    .accept_input = socket_accept_input,
    .detach = socket_detach,
    .close = socket_close,
};
