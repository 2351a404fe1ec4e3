/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD server's listener and connections: accepting (with the
 * max-connections limit), nonblocking reads that fill one message at a
 * time and hand it to the state's handler (handshake.c, transmission.c),
 * the output queue, flow control, and the three ways a connection ends
 * (drop with a log line, quiet close, drain after DISC/ABORT). The state
 * machine is drawn in nbd-internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <glib-unix.h>
#include "nbd-internal.h"
#include "util/main-loop.h"
#include "util/sockets.h"
#include "trace.h"

typedef struct NbdServer {
    SocketAddress *addr;
    int listen_fd;
    guint listen_watch;
    uint32_t max_connections;   /* 0: no limit */
    uint32_t handshake_max_seconds; /* 0: no limit */
    GList *conns;               /* live (not DEAD) connections */
    unsigned next_id;
} NbdServer;

static NbdServer *nbd_server;

/* One piece of queued output: bytes [off, len) of data remain. */
typedef struct NbdOutSeg {
    uint8_t *data;
    size_t len;
    size_t cap;                 /* a copy segment takes appends up to cap */
    size_t off;
} NbdOutSeg;

#define NBD_OUT_COPY_SEG    4096
#define NBD_OUT_IOV_MAX     64

static void nbd_out_seg_free(gpointer p)
{
    NbdOutSeg *seg = p;

    g_free(seg->data);
    g_free(seg);
}

static const char *const conn_state_names[] = {
    [NBD_CONN_CLIENT_FLAGS] = "client-flags",
    [NBD_CONN_OPT_HEADER] = "opt-header",
    [NBD_CONN_OPT_DATA] = "opt-data",
    [NBD_CONN_REQ_HEADER] = "req-header",
    [NBD_CONN_WRITE_PAYLOAD] = "write-payload",
    [NBD_CONN_DRAINING] = "draining",
    [NBD_CONN_DEAD] = "dead",
};

static gboolean nbd_conn_readable(int fd, GIOCondition cond, void *opaque);
static gboolean nbd_conn_writable(int fd, GIOCondition cond, void *opaque);

static void nbd_conn_free(NbdConn *conn)
{
    trace_nbd_conn_free(conn->id);
    g_queue_clear_full(&conn->out, nbd_out_seg_free);
    g_free(conn->opt_data);
    g_free(conn->meta_export);
    g_free(conn->peer);
    g_free(conn);
}

static void nbd_conn_free_bh(void *opaque)
{
    nbd_conn_free(opaque);
}

/*
 * Frees a dead connection once nothing refers to it any more: from a
 * bottom half, because the handler that closed it may still be on the
 * stack (nbd_conn_readable's loop looks at conn after each message).
 */
static void nbd_conn_maybe_free(NbdConn *conn)
{
    if (conn->state == NBD_CONN_DEAD && conn->in_flight == 0 &&
        !conn->free_scheduled) {
        conn->free_scheduled = true;
        main_loop_schedule_bh(nbd_conn_free_bh, conn);
    }
}

static void nbd_conn_remove_watches(NbdConn *conn)
{
    if (conn->handshake_timer) {
        g_source_remove(conn->handshake_timer);
        conn->handshake_timer = 0;
    }
    if (conn->in_watch) {
        g_source_remove(conn->in_watch);
        conn->in_watch = 0;
    }
    if (conn->out_watch) {
        g_source_remove(conn->out_watch);
        conn->out_watch = 0;
    }
}

void nbd_conn_close(NbdConn *conn)
{
    if (conn->state == NBD_CONN_DEAD) {
        return;
    }
    trace_nbd_conn_close(conn->id, conn_state_names[conn->state],
                         conn->in_flight);
    nbd_conn_remove_watches(conn);
    close(conn->fd);
    conn->fd = -1;
    conn->state = NBD_CONN_DEAD;
    if (conn->write_req) {
        NbdRequest *req = conn->write_req;

        /* Its payload never came: it is dropped, not submitted. */
        conn->write_req = NULL;
        conn->in_flight--;
        conn->in_flight_bytes -= req->len;
        g_free(req->buf);
        g_free(req);
    }
    if (conn->exp) {
        nbd_export_client_close(conn->exp);
        conn->exp = NULL;
    }
    if (nbd_server) {
        nbd_server->conns = g_list_remove(nbd_server->conns, conn);
    }
    nbd_conn_maybe_free(conn);
}

void nbd_conn_drop(NbdConn *conn, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *why = NULL;

    if (conn->state == NBD_CONN_DEAD) {
        return;
    }
    va_start(ap, fmt);
    why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    warn_report("NBD client %s: %s; disconnected", conn->peer, why);
    nbd_conn_close(conn);
}

static size_t nbd_conn_pending(const NbdConn *conn)
{
    return conn->out_pending;
}

/* Writes queued output until the socket would block. */
static void nbd_conn_flush(NbdConn *conn)
{
    while (conn->out_pending > 0) {
        struct iovec iov[NBD_OUT_IOV_MAX];
        struct msghdr msg = { .msg_iov = iov };
        ssize_t n;

        for (GList *l = conn->out.head; l && msg.msg_iovlen < NBD_OUT_IOV_MAX;
             l = l->next) {
            NbdOutSeg *seg = l->data;

            iov[msg.msg_iovlen].iov_base = seg->data + seg->off;
            iov[msg.msg_iovlen].iov_len = seg->len - seg->off;
            msg.msg_iovlen++;
        }
        n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n < 0 && conn->state == NBD_CONN_DRAINING) {
            /* After ABORT/DISC a client may leave without reading. */
            trace_nbd_conn_eof(conn->id, conn_state_names[conn->state]);
            nbd_conn_close(conn);
            return;
        }
        if (n < 0) {
            nbd_conn_drop(conn, "send failed: %s", g_strerror(errno));
            return;
        }
        conn->out_pending -= n;
        while (n > 0) {
            NbdOutSeg *seg = g_queue_peek_head(&conn->out);
            size_t left = seg->len - seg->off;

            if ((size_t)n < left) {
                seg->off += n;
                break;
            }
            n -= left;
            nbd_out_seg_free(g_queue_pop_head(&conn->out));
        }
    }
}

void nbd_conn_update(NbdConn *conn)
{
    bool want_in, want_out;

    if (conn->state == NBD_CONN_DEAD) {
        return;
    }
    if (conn->state == NBD_CONN_DRAINING && nbd_conn_pending(conn) == 0 &&
        conn->in_flight == 0) {
        trace_nbd_conn_drained(conn->id);
        nbd_conn_close(conn);
        return;
    }
    want_in = conn->state != NBD_CONN_DRAINING &&
              conn->in_flight < NBD_CONN_MAX_REQUESTS &&
              conn->in_flight_bytes + nbd_conn_pending(conn) <
                  NBD_CONN_MAX_BYTES;
    want_out = nbd_conn_pending(conn) > 0;
    if (want_in && !conn->in_watch) {
        conn->in_watch = g_unix_fd_add(conn->fd, G_IO_IN | G_IO_HUP |
                                       G_IO_ERR, nbd_conn_readable, conn);
    } else if (!want_in && conn->in_watch) {
        g_source_remove(conn->in_watch);
        conn->in_watch = 0;
    }
    if (want_out && !conn->out_watch) {
        conn->out_watch = g_unix_fd_add(conn->fd, G_IO_OUT,
                                        nbd_conn_writable, conn);
    } else if (!want_out && conn->out_watch) {
        g_source_remove(conn->out_watch);
        conn->out_watch = 0;
    }
}

void nbd_conn_queue(NbdConn *conn, const void *buf, size_t len)
{
    NbdOutSeg *tail = g_queue_peek_tail(&conn->out);

    if (conn->state == NBD_CONN_DEAD || len == 0) {
        return;
    }
    if (!tail || tail->cap - tail->len < len) {
        tail = g_new0(NbdOutSeg, 1);
        tail->cap = MAX(len, NBD_OUT_COPY_SEG);
        tail->data = g_malloc(tail->cap);
        g_queue_push_tail(&conn->out, tail);
    }
    memcpy(tail->data + tail->len, buf, len);
    tail->len += len;
    conn->out_pending += len;
}

void nbd_conn_send(NbdConn *conn, const void *buf, size_t len)
{
    if (conn->state == NBD_CONN_DEAD) {
        return;
    }
    nbd_conn_queue(conn, buf, len);
    nbd_conn_push(conn);
}

void nbd_conn_queue_owned(NbdConn *conn, void *buf, size_t len)
{
    NbdOutSeg *seg;

    if (conn->state == NBD_CONN_DEAD || len == 0) {
        g_free(buf);
        return;
    }
    seg = g_new0(NbdOutSeg, 1);
    seg->data = buf;
    seg->len = len;
    seg->cap = len;             /* full: later copies start a new one */
    g_queue_push_tail(&conn->out, seg);
    conn->out_pending += len;
}

void nbd_conn_push(NbdConn *conn)
{
    if (conn->state == NBD_CONN_DEAD) {
        return;
    }
    nbd_conn_flush(conn);
    nbd_conn_update(conn);
}

void nbd_conn_drain(NbdConn *conn)
{
    if (conn->state == NBD_CONN_DEAD) {
        return;
    }
    conn->state = NBD_CONN_DRAINING;
    nbd_conn_update(conn);
}

void nbd_conn_expect(NbdConn *conn, NbdConnState state, void *buf,
                     size_t len)
{
    /*
     * A handler's reply may have failed to send and dropped the client:
     * what it expects next no longer matters, and setting a live state
     * would bring the closed connection back (watches on fd -1).
     */
    if (conn->state == NBD_CONN_DEAD) {
        return;
    }
    conn->state = state;
    conn->rx_buf = buf;
    conn->rx_want = len;
    conn->rx_have = 0;
}

void nbd_conn_request_done(NbdConn *conn, NbdRequest *req)
{
    conn->in_flight--;
    if (req->type == NBD_CMD_READ || req->type == NBD_CMD_WRITE) {
        conn->in_flight_bytes -= req->len;
    }
    g_free(req->buf);
    g_free(req->extents);
    g_free(req);
    if (conn->state == NBD_CONN_DEAD) {
        nbd_conn_maybe_free(conn);
    } else {
        nbd_conn_update(conn);
    }
}

/* The whole message is in: run the handler of the state it was for. */
static void nbd_conn_dispatch(NbdConn *conn)
{
    switch (conn->state) {
    case NBD_CONN_CLIENT_FLAGS:
        nbd_handshake_client_flags(conn);
        break;
    case NBD_CONN_OPT_HEADER:
        nbd_handshake_opt_header(conn);
        break;
    case NBD_CONN_OPT_DATA:
        nbd_handshake_opt_data(conn);
        break;
    case NBD_CONN_REQ_HEADER:
        nbd_tx_request_header(conn);
        break;
    case NBD_CONN_WRITE_PAYLOAD:
        nbd_tx_write_payload(conn);
        break;
    case NBD_CONN_DRAINING:
    case NBD_CONN_DEAD:
        break;
    }
}

/* EOF: quiet between messages, a log line in the middle of one. */
static void nbd_conn_eof(NbdConn *conn)
{
    bool between = conn->rx_have == 0 &&
                   (conn->state == NBD_CONN_OPT_HEADER ||
                    conn->state == NBD_CONN_REQ_HEADER);

    if (between) {
        trace_nbd_conn_eof(conn->id, conn_state_names[conn->state]);
        nbd_conn_close(conn);
    } else {
        nbd_conn_drop(conn, "connection closed in state %s after %zu of "
                      "%zu bytes", conn_state_names[conn->state],
                      conn->rx_have, conn->rx_want);
    }
}

/*
 * Reads as much of the current message as is there; a bounded number of
 * messages per wakeup so one busy client cannot starve the others.
 */
static gboolean nbd_conn_readable(int fd, GIOCondition cond, void *opaque)
{
    NbdConn *conn = opaque;

    for (int budget = 64; budget > 0; budget--) {
        ssize_t n;

        if (conn->state == NBD_CONN_DEAD ||
            conn->state == NBD_CONN_DRAINING || !conn->in_watch) {
            break;
        }
        n = recv(fd, conn->rx_buf + conn->rx_have,
                 conn->rx_want - conn->rx_have, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n < 0) {
            nbd_conn_drop(conn, "receive failed: %s", g_strerror(errno));
            break;
        }
        if (n == 0) {
            nbd_conn_eof(conn);
            break;
        }
        conn->rx_have += n;
        if (conn->rx_have == conn->rx_want) {
            nbd_conn_dispatch(conn);
        }
    }
    /*
     * Watches are added and removed by nbd_conn_update() only; when it
     * removed this one, GLib ignores the value.
     */
    return G_SOURCE_CONTINUE;
}

static gboolean nbd_conn_writable(int fd, GIOCondition cond, void *opaque)
{
    NbdConn *conn = opaque;

    nbd_conn_flush(conn);
    nbd_conn_update(conn);
    return G_SOURCE_CONTINUE;
}

static gboolean nbd_conn_handshake_timeout(void *opaque)
{
    NbdConn *conn = opaque;

    conn->handshake_timer = 0;
    nbd_conn_drop(conn, "handshake not finished after %u s",
                  nbd_server ? nbd_server->handshake_max_seconds : 0);
    return G_SOURCE_REMOVE;
}

void nbd_conn_handshake_done(NbdConn *conn)
{
    if (conn->handshake_timer) {
        g_source_remove(conn->handshake_timer);
        conn->handshake_timer = 0;
    }
}

static char *nbd_peer_name(unsigned id, int fd)
{
    g_autoptr(SocketAddress) peer = socket_peer_address(fd, NULL);
    g_autofree char *s = peer ? socket_address_to_string(peer) : NULL;

    if (!s || (peer->type == SOCKET_ADDRESS_TYPE_UNIX && !*peer->u.q_unix.path)) {
        return g_strdup_printf("#%u (unix)", id);
    }
    return g_strdup_printf("#%u (%s)", id, s);
}

static void nbd_server_accept_one(NbdServer *srv, int fd)
{
    NbdConn *conn = g_new0(NbdConn, 1);
    int one = 1;

    conn->id = ++srv->next_id;
    conn->fd = fd;
    conn->peer = nbd_peer_name(conn->id, fd);
    g_queue_init(&conn->out);
    if (srv->max_connections &&
        g_list_length(srv->conns) >= srv->max_connections) {
        warn_report("NBD client %s: the server has its maximum of %u "
                    "connections; disconnected", conn->peer,
                    srv->max_connections);
        close(fd);
        g_free(conn->peer);
        g_free(conn);
        return;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (srv->addr->type == SOCKET_ADDRESS_TYPE_INET) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    srv->conns = g_list_append(srv->conns, conn);
    if (srv->handshake_max_seconds) {
        /* Milliseconds: the _seconds variant may fire up to 1 s early. */
        conn->handshake_timer = g_timeout_add(
            MIN(srv->handshake_max_seconds, G_MAXUINT / 1000) * 1000,
            nbd_conn_handshake_timeout,
            conn);
    }
    trace_nbd_conn_accept(conn->id, conn->peer);
    nbd_handshake_start(conn);
    nbd_conn_update(conn);
}

static gboolean nbd_server_accept(int fd, GIOCondition cond, void *opaque)
{
    NbdServer *srv = opaque;

    for (int budget = 16; budget > 0; budget--) {
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

        if (cfd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                warn_report("NBD server: accept failed: %s",
                            g_strerror(errno));
            }
            break;
        }
        nbd_server_accept_one(srv, cfd);
    }
    return G_SOURCE_CONTINUE;
}

bool nbd_server_start(const SocketAddress *addr, uint32_t max_connections,
                      uint32_t handshake_max_seconds, Error **errp)
{
    NbdServer *srv;
    int fd;

    if (nbd_server) {
        error_setg(errp, "NBD server already running");
        return false;
    }
    if (addr->type != SOCKET_ADDRESS_TYPE_INET &&
        addr->type != SOCKET_ADDRESS_TYPE_UNIX) {
        error_setg(errp, "NBD server: only inet and unix addresses are "
                   "supported");
        return false;
    }
    fd = socket_listen(addr, 16, errp);
    if (fd < 0) {
        return false;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    srv = g_new0(NbdServer, 1);
    srv->addr = socket_address_dup(addr);
    srv->listen_fd = fd;
    srv->max_connections = max_connections;
    srv->handshake_max_seconds = handshake_max_seconds;
    srv->listen_watch = g_unix_fd_add(fd, G_IO_IN, nbd_server_accept, srv);
    nbd_server = srv;
    trace_nbd_server_start(fd, max_connections);
    return true;
}

void nbd_server_stop(void)
{
    NbdServer *srv = nbd_server;

    if (!srv) {
        return;
    }
    nbd_export_remove_all();
    while (srv->conns) {
        nbd_conn_close(srv->conns->data);
    }
    g_source_remove(srv->listen_watch);
    close(srv->listen_fd);
    socket_unlink_unix(srv->addr);
    trace_nbd_server_stop();
    qapi_free_SocketAddress(srv->addr);
    g_free(srv);
    nbd_server = NULL;
}

bool nbd_server_is_running(void)
{
    return nbd_server != NULL;
}

SocketAddress *nbd_server_local_address(Error **errp)
{
    if (!nbd_server) {
        error_setg(errp, "NBD server not running");
        return NULL;
    }
    if (nbd_server->addr->type == SOCKET_ADDRESS_TYPE_UNIX) {
        return socket_address_dup(nbd_server->addr);
    }
    return socket_local_address(nbd_server->listen_fd, errp);
}

unsigned nbd_server_client_count(void)
{
    return nbd_server ? g_list_length(nbd_server->conns) : 0;
}

void nbd_server_close_export_clients(NbdExport *exp)
{
    GList *l = nbd_server ? nbd_server->conns : NULL;

    while (l) {
        NbdConn *conn = l->data;

        l = l->next;    /* closing unlinks conn */
        if (conn->exp == exp) {
            nbd_conn_close(conn);
        }
    }
}
