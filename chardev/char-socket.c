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
 *    Frontends with their own output queue (QMP) use write_nowait and a
 *    writable watch instead, and never wait at all.
 *  - TCP port=0 for a server binds an ephemeral port, shown in the label.
 *  - Addresses, ports, dual stack and stale UNIX socket files follow the
 *    socket layer's rules (include/util/sockets.h): a UNIX server replaces
 *    a socket file nobody listens on, refuses anything else at its path,
 *    and removes its socket file when closed.
 *
 * Locking: s->lock guards the fds, the sources and the connection state.
 * Every critical section is one scope (a GMutexLocker or a function named
 * _locked called inside one); no function returns with the lock held.
 * Frontend callbacks are never called with it held (a frontend may write
 * from receive() or event()).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "util/sockets.h"
#include "char-io.h"
#include "trace.h"

#define SOCKET_CREATE_CONNECT_MS      5000  /* at creation */
#define SOCKET_RECONNECT_TRY_MS       1000  /* one reconnect attempt */
#define SOCKET_MAX_FDS_PER_READ       16    /* SCM_RIGHTS fds in one read */
#define SOCKET_MAX_PENDING_FDS        64    /* received, not yet taken */

typedef struct SocketChardev {
    Chardev parent;
    GMutex lock;

    /* Configuration. */
    bool is_server;
    bool nodelay;
    bool from_fd;
    SocketAddress *addr;        /* where to listen or connect; for fd=N of
                                   a listening socket, what it is bound to;
                                   NULL for fd=N of a connected one */
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
    GSource *out_src;           /* watch_writable's one-shot watch */
    void (*out_fn)(void *opaque);
    void *out_opaque;
    GArray *recv_fds;           /* int: SCM_RIGHTS fds not yet taken */
    GMainContext *watch_ctx;    /* the frontend's context, NULL: default */
    ChardevWriteState ws;
} SocketChardev;

static gboolean socket_io_cb(gint fd, GIOCondition cond, gpointer opaque);
static void socket_close_pending_fds_locked(SocketChardev *s);
static gboolean socket_listen_cb(gint fd, GIOCondition cond, gpointer opaque);
static gboolean socket_reconnect_cb(gpointer opaque);

/* ---- addresses and labels ---- */

static const char *socket_unix_path(SocketChardev *s)
{
    return s->addr && s->addr->type == SOCKET_ADDRESS_TYPE_UNIX
           ? s->addr->u.q_unix.path : NULL;
}

/* QEMU's filename of a connected socket. */
static char *socket_connected_label(SocketChardev *s, int fd)
{
    const char *listen = s->is_server ? ",server=on" : "";
    g_autoptr(SocketAddress) local = socket_local_address(fd, NULL);
    g_autoptr(SocketAddress) peer = NULL;

    if (!local) {
        return g_strdup(s->addr_desc);
    }
    if (local->type == SOCKET_ADDRESS_TYPE_UNIX) {
        const char *path = socket_unix_path(s);

        if (!path && !s->is_server) {
            peer = socket_peer_address(fd, NULL);
            if (peer && peer->type == SOCKET_ADDRESS_TYPE_UNIX) {
                path = peer->u.q_unix.path;
            }
        }
        return g_strdup_printf("unix:%s%s", path ? path
                                                 : local->u.q_unix.path,
                               listen);
    }
    peer = socket_peer_address(fd, NULL);
    if (!peer || peer->type != SOCKET_ADDRESS_TYPE_INET) {
        return g_strdup(s->addr_desc);
    }
    g_autofree char *l = socket_host_port_string(local->u.inet.host,
                                                 local->u.inet.port);
    g_autofree char *p = socket_host_port_string(peer->u.inet.host,
                                                 peer->u.inet.port);
    return g_strdup_printf("tcp:%s%s <-> %s", l, listen, p);
}

static void socket_set_disconnected_label(SocketChardev *s)
{
    chardev_set_label(&s->parent,
                      g_strdup_printf("disconnected:%s", s->addr_desc));
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
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char *label;

    if (s->nodelay && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
        ss.ss_family != AF_UNIX) {
        int one = 1;

        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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

static void socket_connected(SocketChardev *s, int fd)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    socket_connected_locked(s, fd);
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
    chardev_io_drop_source(&s->out_src);
    socket_close_pending_fds_locked(s);
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

static void socket_close_pending_fds_locked(SocketChardev *s)
{
    for (guint i = 0; i < s->recv_fds->len; i++) {
        close(g_array_index(s->recv_fds, int, i));
    }
    g_array_set_size(s->recv_fds, 0);
}

/*
 * recv() that also collects SCM_RIGHTS fds (close-on-exec). A peer that
 * sends more fds than anyone takes loses the oldest beyond the bound
 * (closed, traced) rather than filling our fd table.
 */
static ssize_t socket_recv_locked(SocketChardev *s, uint8_t *buf, size_t len)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(SOCKET_MAX_FDS_PER_READ * sizeof(int))];
    } control;
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
    };
    ssize_t n = recvmsg(s->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

    if (n < 0) {
        return n;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
         c = CMSG_NXTHDR(&msg, c)) {
        size_t nfds;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < nfds; i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (s->recv_fds->len >= SOCKET_MAX_PENDING_FDS) {
                trace_chardev_socket_fd_dropped(s->parent.id,
                    g_array_index(s->recv_fds, int, 0));
                close(g_array_index(s->recv_fds, int, 0));
                g_array_remove_index(s->recv_fds, 0);
            }
            g_array_append_val(s->recv_fds, fd);
        }
    }
    if (msg.msg_flags & MSG_CTRUNC) {
        trace_chardev_socket_fd_truncated(s->parent.id);
    }
    return n;
}

static void socket_take_fds(Chardev *chr, GArray *fds)
{
    SocketChardev *s = (SocketChardev *)chr;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    g_array_append_vals(fds, s->recv_fds->data, s->recv_fds->len);
    g_array_set_size(s->recv_fds, 0);
}

/* What socket_io_cb does once the lock is dropped. */
typedef enum SocketIoStep {
    SOCKET_IO_STOP,         /* this watch is stale or was replaced */
    SOCKET_IO_AGAIN,        /* nothing to read now: keep watching */
    SOCKET_IO_DELIVER,      /* bytes for the frontend */
    SOCKET_IO_CLOSED,       /* disconnected: send CLOSED */
} SocketIoStep;

/* The locked half of socket_io_cb: reads up to room bytes into buf. */
static SocketIoStep socket_io_read(SocketChardev *s, GIOCondition cond,
                                   size_t room, uint8_t *buf, size_t size,
                                   ssize_t *n)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);
    int err = 0;

    if (s->io_src != g_main_current_source()) {
        return SOCKET_IO_STOP;
    }
    if (!room && !(cond & (G_IO_HUP | G_IO_ERR))) {
        /* The frontend is full: only watch for hang-ups until it calls
         * chardev_accept_input(). */
        socket_rearm_locked(s, s->watch_ctx, false);
        return SOCKET_IO_STOP;
    }
    if (room && !s->broken) {
        *n = socket_recv_locked(s, buf, MIN(room, size));
        if (*n > 0) {
            return SOCKET_IO_DELIVER;
        }
        if (*n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return SOCKET_IO_AGAIN;
        }
        err = *n < 0 ? errno : 0;
    }
    return socket_disconnect_locked(s, err) ? SOCKET_IO_CLOSED
                                            : SOCKET_IO_STOP;
}

static gboolean socket_io_cb(gint fd, GIOCondition cond, gpointer opaque)
{
    SocketChardev *s = opaque;
    Chardev *chr = &s->parent;
    uint8_t buf[4096];
    ssize_t n = 0;

    switch (socket_io_read(s, cond, chardev_frontend_room(chr), buf,
                           sizeof(buf), &n)) {
    case SOCKET_IO_DELIVER:
        chardev_deliver_input(chr, buf, n);
        return G_SOURCE_CONTINUE;
    case SOCKET_IO_AGAIN:
        return G_SOURCE_CONTINUE;
    case SOCKET_IO_CLOSED:
        chardev_send_event(chr, CHARDEV_EVENT_CLOSED);
        return G_SOURCE_REMOVE;
    case SOCKET_IO_STOP:
    default:
        return G_SOURCE_REMOVE;
    }
}

static gboolean socket_listen_cb(gint fd, GIOCondition cond, gpointer opaque)
{
    SocketChardev *s = opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);
    int conn;

    if (s->listen_src != g_main_current_source() || s->fd >= 0) {
        return G_SOURCE_REMOVE;
    }
    conn = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) {
        return G_SOURCE_CONTINUE;
    }
    /* Drops listen_src (this source) while the client stays. */
    socket_connected_locked(s, conn);
    return G_SOURCE_REMOVE;
}

/* ---- reconnecting ---- */

/* Takes the reconnect timer if it is this source; false if stale. */
static bool socket_take_reconnect_src(SocketChardev *s)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    if (s->reconnect_src != g_main_current_source()) {
        return false;
    }
    g_source_unref(s->reconnect_src);
    s->reconnect_src = NULL;
    return true;
}

static gboolean socket_reconnect_cb(gpointer opaque)
{
    SocketChardev *s = opaque;
    int fd;

    if (!socket_take_reconnect_src(s)) {
        return G_SOURCE_REMOVE;
    }
    /*
     * Outside the lock: a writer must not wait for a slow connect. Only
     * the main loop thread (this one) connects, creates or closes, so
     * nobody else can connect meanwhile.
     */
    fd = socket_connect(s->addr, SOCKET_RECONNECT_TRY_MS, NULL, NULL);

    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);
    if (fd >= 0 && s->fd < 0) {
        socket_connected_locked(s, fd);
    } else {
        if (fd >= 0) {
            close(fd);
        }
        socket_schedule_reconnect_locked(s);
    }
    return G_SOURCE_REMOVE;
}

/* ---- opening, phase by phase ---- */

/* The options that are not the address. */
typedef struct SocketOpenOpts {
    bool server, server_given;
    bool wait;
    uint64_t reconnect_ms;
} SocketOpenOpts;

/* Phase 1: server=, wait=/nowait, nodelay=, reconnect-ms=/reconnect=. */
static bool socket_parse_flags(SocketChardev *s, const KeyvalList *opts,
                               SocketOpenOpts *o, Error **errp)
{
    bool nowait;
    uint64_t reconnect_s;

    if (!keyval_get_bool(opts, "server", false, &o->server, errp) ||
        !keyval_get_bool(opts, "nowait", false, &nowait, errp) ||
        !keyval_get_bool(opts, "wait", !nowait, &o->wait, errp) ||
        !keyval_get_bool(opts, "nodelay", false, &s->nodelay, errp) ||
        !keyval_get_u64(opts, "reconnect-ms", 0, &o->reconnect_ms, errp) ||
        !keyval_get_u64(opts, "reconnect", 0, &reconnect_s, errp)) {
        return false;
    }
    o->server_given = keyval_get(opts, "server") != NULL;
    if (keyval_get(opts, "wait") && keyval_get(opts, "nowait")) {
        error_setg(errp, "chardev: socket: give wait= or nowait, not both");
        return false;
    }
    if (reconnect_s && !o->reconnect_ms) {
        o->reconnect_ms = reconnect_s * 1000;  /* QEMU's older reconnect=SECS */
    }
    if (o->reconnect_ms > G_MAXUINT) {
        error_setg(errp, "chardev: socket: reconnect-ms is too large");
        return false;
    }
    return true;
}

/* fd=N: a stream socket; listening makes a server. */
static bool socket_parse_fd(SocketChardev *s, const char *str, int *out,
                            Error **errp)
{
    ERRP_GUARD();
    SocketAddress fdaddr = { .type = SOCKET_ADDRESS_TYPE_FD,
                             .u.fd.str = (char *)str };
    int fd, type, acc;
    socklen_t len = sizeof(type);

    if (!socket_address_fd(&fdaddr, &fd, errp)) {
        error_prepend(errp, "chardev: socket: ");
        return false;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
        error_setg_errno(errp, errno, "chardev: socket: fd %d is not a "
                         "usable socket", fd);
        return false;
    }
    if (type != SOCK_STREAM) {
        error_setg(errp, "chardev: socket: fd %d is not a stream socket", fd);
        return false;
    }
    len = sizeof(acc);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0) {
        acc = 0;
    }
    s->is_server = acc != 0;
    *out = fd;
    return true;
}

/* ipv4=/ipv6= into inet, tri-state (given or not). */
static bool socket_parse_families(const KeyvalList *opts,
                                  InetSocketAddress *inet, Error **errp)
{
    inet->has_ipv4 = keyval_get(opts, "ipv4") != NULL;
    inet->has_ipv6 = keyval_get(opts, "ipv6") != NULL;
    return keyval_get_bool(opts, "ipv4", false, &inet->ipv4, errp) &&
           keyval_get_bool(opts, "ipv6", false, &inet->ipv6, errp);
}

/*
 * Phase 2: path=, host=/port= or fd=, into s->addr (checked by the
 * socket layer) or *fd.
 */
static bool socket_parse_address(SocketChardev *s, const KeyvalList *opts,
                                 const SocketOpenOpts *o, int *fd,
                                 Error **errp)
{
    ERRP_GUARD();
    const char *path = keyval_get(opts, "path");
    const char *host = keyval_get(opts, "host");
    const char *port = keyval_get(opts, "port");
    const char *fdstr = keyval_get(opts, "fd");
    g_autoptr(SocketAddress) addr = g_new0(SocketAddress, 1);

    if (!!path + !!(host || port) + !!fdstr != 1) {
        error_setg(errp, (path || host || port || fdstr)
                   ? "chardev: socket: give exactly one of path=, "
                     "host=/port= or fd="
                   : "chardev: socket: no address given (path=, "
                     "host=/port= or fd=)");
        return false;
    }
    if (fdstr) {
        if (!socket_parse_fd(s, fdstr, fd, errp)) {
            return false;
        }
        s->from_fd = true;
        if (o->server_given && o->server != s->is_server) {
            error_setg(errp, "chardev: socket: fd %d is %s listening socket "
                       "but server=%s", *fd, s->is_server ? "a" : "not a",
                       o->server ? "on" : "off");
            return false;
        }
        return true;
    }
    s->is_server = o->server;
    if (path) {
        if (!*path) {
            error_setg(errp, "chardev: socket: empty path=");
            return false;
        }
        addr->type = SOCKET_ADDRESS_TYPE_UNIX;
        addr->u.q_unix.path = g_strdup(path);
    } else {
        if (!port || !*port) {
            error_setg(errp, "chardev: socket: no port given (port=)");
            return false;
        }
        if (!host && !s->is_server) {
            host = "localhost";
        }
        addr->type = SOCKET_ADDRESS_TYPE_INET;
        addr->u.inet.host = g_strdup(host ? host : "");
        addr->u.inet.port = g_strdup(port);
        if (!s->is_server && !*addr->u.inet.host) {
            error_setg(errp, "chardev: socket: no host given (host=)");
            return false;
        }
        if (!socket_parse_families(opts, &addr->u.inet, errp)) {
            return false;
        }
    }
    if (!socket_address_check(addr, errp)) {
        error_prepend(errp, "chardev: socket: ");
        return false;
    }
    s->addr = g_steal_pointer(&addr);
    return true;
}

/* Phase 3: the combinations that make no sense. */
static bool socket_check_combination(SocketChardev *s, SocketOpenOpts *o,
                                     Error **errp)
{
    if (s->is_server && o->reconnect_ms) {
        error_setg(errp, "chardev: socket: 'reconnect-ms' option is "
                   "incompatible with server=on");
        return false;
    }
    if (s->from_fd && o->reconnect_ms) {
        error_setg(errp, "chardev: socket: 'reconnect-ms' option is "
                   "incompatible with fd=");
        return false;
    }
    if (s->from_fd && !o->server_given) {
        o->wait = false;        /* see the header comment */
    }
    s->reconnect_ms = o->reconnect_ms;
    return true;
}

/* How the address reads in labels: QEMU's filename syntax. */
static char *socket_describe(SocketChardev *s, int fd)
{
    const char *listen = s->is_server ? ",server=on" : "";
    g_autofree char *addr = NULL;

    if (!s->addr) {
        return g_strdup_printf("fd:%d", fd);
    }
    addr = socket_address_to_string(s->addr);
    return g_strdup_printf("%s%s", addr, listen);
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
    socket_connected(s, fd);
    return true;
}

/* Phase 4, server: listen (or take fd's listening socket), maybe wait. */
static bool socket_open_server(SocketChardev *s, int fd, bool wait,
                               Error **errp)
{
    if (fd >= 0) {
        s->listen_fd = fd;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        /* Labels show what the inherited socket is bound to. */
        s->addr = socket_local_address(fd, NULL);
    } else {
        s->listen_fd = socket_listen(s->addr, 1, errp);
        if (s->listen_fd < 0) {
            return false;
        }
        s->unlink_on_close = true;
        if (s->addr->type == SOCKET_ADDRESS_TYPE_INET &&
            !strcmp(s->addr->u.inet.port, "0")) {
            /* port=0: show the port the kernel picked. */
            g_autoptr(SocketAddress) bound = socket_local_address(
                s->listen_fd, NULL);

            if (bound && bound->type == SOCKET_ADDRESS_TYPE_INET) {
                g_free(s->addr->u.inet.port);
                s->addr->u.inet.port = g_strdup(bound->u.inet.port);
            }
        }
    }
    s->addr_desc = socket_describe(s, fd);
    socket_set_disconnected_label(s);
    trace_chardev_socket_listen(s->parent.id, s->addr_desc);
    if (wait && !socket_wait_first_client(s, errp)) {
        return false;
    }
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);
    socket_rearm_locked(s, NULL, false);
    return true;
}

/* Phase 4, client: take fd's connection, connect, or start reconnecting. */
static bool socket_open_client(SocketChardev *s, int fd, Error **errp)
{
    s->addr_desc = socket_describe(s, fd);
    socket_set_disconnected_label(s);
    if (fd < 0) {
        /* With reconnect-ms, a failed first try is not an error. */
        fd = socket_connect(s->addr, SOCKET_CREATE_CONNECT_MS, NULL,
                            s->reconnect_ms ? NULL : errp);
        if (fd < 0) {
            if (!s->reconnect_ms) {
                return false;   /* socket_connect_failed traced why */
            }
            g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);
            socket_schedule_reconnect_locked(s);
            return true;
        }
    }
    socket_connected(s, fd);
    return true;
}

/* Frees the configuration (the fds and sources are gone by now). */
static void socket_free_config(SocketChardev *s)
{
    if (s->unlink_on_close) {
        socket_unlink_unix(s->addr);
    }
    qapi_free_SocketAddress(s->addr);
    s->addr = NULL;
    g_free(s->addr_desc);
    s->addr_desc = NULL;
}

static bool socket_open(Chardev *chr, const KeyvalList *opts, Error **errp)
{
    SocketChardev *s = (SocketChardev *)chr;
    SocketOpenOpts o = { 0 };
    int fd = -1;
    bool ok;

    s->listen_fd = -1;
    s->fd = -1;
    g_mutex_init(&s->lock);
    s->recv_fds = g_array_new(FALSE, FALSE, sizeof(int));

    ok = socket_parse_flags(s, opts, &o, errp) &&
         socket_parse_address(s, opts, &o, &fd, errp) &&
         socket_check_combination(s, &o, errp) &&
         (s->is_server ? socket_open_server(s, fd, o.wait, errp)
                       : socket_open_client(s, fd, errp));
    if (ok) {
        return true;
    }
    /* An inherited fd stays open: its owner gave it for this chardev only
     * if creation succeeds. */
    if (s->listen_fd >= 0 && s->listen_fd != fd) {
        close(s->listen_fd);
    }
    if (s->fd >= 0) {
        chardev_io_drop_source(&s->io_src);
        close(s->fd);
    }
    socket_free_config(s);
    g_array_free(s->recv_fds, TRUE);
    g_mutex_clear(&s->lock);
    return false;
}

/* ---- Chardev operations ---- */

static ssize_t socket_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    SocketChardev *s = (SocketChardev *)chr;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);
    ssize_t n;

    if (s->fd < 0 || s->broken) {
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
    return n;
}

/* Like socket_write, but never waits for the peer to read. */
static ssize_t socket_write_nowait(Chardev *chr, const uint8_t *buf,
                                   size_t len)
{
    SocketChardev *s = (SocketChardev *)chr;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);
    ssize_t n;

    if (s->fd < 0 || s->broken) {
        return len;             /* nobody listening: dropped */
    }
    n = chardev_io_write_nowait(s->fd, true, buf, len);
    if (n < 0) {
        /* As socket_write: the watch on the frontend's context tears down. */
        trace_chardev_socket_write_error(chr->id, (int)-n);
        shutdown(s->fd, SHUT_RDWR);
        s->broken = true;
    }
    return n;
}

static gboolean socket_out_cb(gint fd, GIOCondition cond, gpointer opaque)
{
    SocketChardev *s = opaque;
    void (*fn)(void *opaque);
    void *fn_opaque;

    {
        g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

        if (s->out_src != g_main_current_source()) {
            return G_SOURCE_REMOVE;     /* dropped meanwhile */
        }
        chardev_io_drop_source(&s->out_src);
        fn = s->out_fn;
        fn_opaque = s->out_opaque;
    }
    fn(fn_opaque);
    return G_SOURCE_REMOVE;
}

static bool socket_watch_writable(Chardev *chr, GMainContext *ctx,
                                  void (*fn)(void *opaque), void *opaque)
{
    SocketChardev *s = (SocketChardev *)chr;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    if (s->fd < 0 || s->broken) {
        return false;
    }
    chardev_io_drop_source(&s->out_src);
    s->out_fn = fn;
    s->out_opaque = opaque;
    s->out_src = chardev_io_add_watch(s->fd, G_IO_OUT | G_IO_HUP | G_IO_ERR,
                                      ctx, socket_out_cb, s);
    return true;
}

static void socket_accept_input(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;
    bool room = chardev_frontend_room(chr) > 0;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    socket_rearm_locked(s, socket_fe_context(s), room);
}

static void socket_detach(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    /* Back to the default context: keep accepting, keep noticing
     * hang-ups, read nothing until a frontend attaches. */
    socket_rearm_locked(s, NULL, false);
    chardev_io_drop_source(&s->out_src);
}

/* The locked half of socket_close: sources and fds. */
static void socket_close_fds(SocketChardev *s)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    chardev_io_drop_source(&s->listen_src);
    chardev_io_drop_source(&s->io_src);
    chardev_io_drop_source(&s->reconnect_src);
    chardev_io_drop_source(&s->out_src);
    socket_close_pending_fds_locked(s);
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    s->parent.connected = false;
}

static void socket_close(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;

    socket_close_fds(s);
    g_array_free(s->recv_fds, TRUE);
    g_mutex_clear(&s->lock);
    socket_free_config(s);
}

/*
 * yank (any thread, under the yank registry's lock): shut the connection
 * down; the io watch then sees the hang-up and disconnects on the front
 * end's thread, which for a client also starts a reconnect.
 */
static void socket_yank(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    if (s->fd >= 0) {
        shutdown(s->fd, SHUT_RDWR);
    }
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
    .yank = socket_yank,
    .write_nowait = socket_write_nowait,
    .watch_writable = socket_watch_writable,
    .take_fds = socket_take_fds,
};
