/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nbd: a protocol driver that is a client of an NBD server, through
 * libnbd (the handshake, structured replies, block status; TLS later).
 *
 * Threads. Block driver callbacks are synchronous (block/block.h): a
 * request runs on its caller's thread, a block worker or the main loop.
 * Each node has one I/O thread that alone touches the libnbd handle: it
 * polls the handle's socket (nbd_aio_get_fd / nbd_aio_get_direction) and
 * an eventfd, submits queued requests with the nbd_aio_* calls, feeds
 * readiness to libnbd (nbd_aio_notify_read/write), runs the connect and
 * reconnect attempts (socket_connect, then the handshake through
 * nbd_aio_connect_socket) and enforces every timeout. A
 * caller queues its request, kicks the eventfd and waits on the node's
 * condition variable; the completion callback (run by libnbd on the I/O
 * thread) marks it done. So any number of requests are in flight at once,
 * and nothing waits for the network on the main loop except open(), which
 * is bounded (open-timeout, and 5 s per attempt).
 *
 * Lock: NbdState.lock guards everything below it in NbdState (but the
 * atomic flags); the I/O thread holds it except while it sleeps in
 * poll() or waits in socket_connect(), so libnbd callbacks run with it
 * held and take no lock themselves.
 *
 * Connection states (each change traced):
 *
 *   CONNECTING --handshake done--> CONNECTED <------reconnected-----+
 *      |  (open() waits)             |                              |
 *      | attempt failed or           | connection lost              |
 *      | timed out, and              v                              |
 *      | open-timeout over    RECONNECTING --reconnect-delay over--> FAILING
 *      v                      (requests wait,   (requests fail with EIO at
 *   CLOSED <--close()-- any    attempts go on)   once; attempts go on)
 *
 * yank (QMP, block-node instance) is a way out of any state: the
 * connection is dropped, every request fails with EIO, now and from then
 * on, and no reconnect is tried (the node is only good for deleting).
 *
 * With reconnect-delay 0 a lost connection goes straight to FAILING.
 * A lost connection puts the requests it carried back at the head of the
 * queue; they are sent again on the next connection, unless they are
 * failed with EIO first (reconnect-delay over, or 0). A reconnect to an
 * export whose size changed, or that turned read-only under a writable
 * node, counts as a failed attempt.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <glib.h>
#include <libnbd.h>
#include "block/block_int.h"
#include "block/nbd-uri.h"
#include "util/sockets.h"
#include "util/yank.h"
#include "trace.h"

/* One connect attempt (TCP/Unix connect plus handshake) at most this. */
#define NBD_ATTEMPT_TIMEOUT_NS  5000000000LL
/* Between failed attempts: from the first to the last, doubling. */
#define NBD_RETRY_FIRST_NS      (50 * 1000 * 1000LL)
#define NBD_RETRY_MAX_NS        (1000 * 1000 * 1000LL)
/* The NBD spec's limit for a client that was told no maximum. */
#define NBD_DEFAULT_MAX_LEN     (32 * 1024 * 1024)
/* How long close() lets NBD_CMD_DISC reach the server. */
#define NBD_DISC_TIMEOUT_MS     500

typedef enum NbdConnState {
    NBD_CONN_CONNECTING,
    NBD_CONN_CONNECTED,
    NBD_CONN_RECONNECTING,
    NBD_CONN_FAILING,
    NBD_CONN_CLOSED,
} NbdConnState;

static const char *const nbd_conn_state_name[] = {
    [NBD_CONN_CONNECTING] = "connecting",
    [NBD_CONN_CONNECTED] = "connected",
    [NBD_CONN_RECONNECTING] = "reconnecting",
    [NBD_CONN_FAILING] = "failing",
    [NBD_CONN_CLOSED] = "closed",
};

typedef enum NbdReqType {
    NBD_REQ_READ,
    NBD_REQ_WRITE,
    NBD_REQ_FLUSH,
    NBD_REQ_TRIM,
    NBD_REQ_ZERO,
    NBD_REQ_BLOCK_STATUS,
} NbdReqType;

static const char *const nbd_req_name[] = {
    [NBD_REQ_READ] = "read",
    [NBD_REQ_WRITE] = "write",
    [NBD_REQ_FLUSH] = "flush",
    [NBD_REQ_TRIM] = "trim",
    [NBD_REQ_ZERO] = "write-zeroes",
    [NBD_REQ_BLOCK_STATUS] = "block-status",
};

typedef struct NbdCmd NbdCmd;

/* One NBD command, on its caller's stack until done. */
typedef struct NbdReq {
    NbdReqType type;
    uint64_t offset;
    uint64_t len;
    void *buf;
    uint32_t flags;         /* LIBNBD_CMD_FLAG_* */
    /* Block status: the first extent's NBD_STATE_* flags and length. */
    uint32_t extent_flags;
    uint64_t extent_len;
    NbdCmd *cmd;            /* its submission on the connection, or NULL */
    bool answered;          /* the callback ran (cmd_err valid) */
    int cmd_err;
    bool done;
    int ret;                /* 0 or -errno, once done */
} NbdReq;

/*
 * What libnbd's callbacks point at: a request that may be taken back
 * (req = NULL) when the connection drops, while libnbd still owns the
 * command until nbd_close() frees it (and this with it).
 */
struct NbdCmd {
    NbdReq *req;
};

typedef struct NbdState {
    /* Set by open(), then read-only. */
    BlockDriverState *bs;
    SocketAddress *server;
    char *export;
    char *uri;
    int64_t reconnect_delay_ns;
    int64_t open_timeout_ns;
    GThread *thread;
    int kick_fd;            /* eventfd: new requests, close */

    GMutex lock;
    GCond cond;             /* a request done, or the state changed */
    NbdConnState state;
    bool closing;
    /* Set by close() and yank, read by socket_connect(): atomic. */
    bool cancel_connect;
    bool yanked;            /* atomic: set by yank from any thread */
    bool yank_registered;   /* main loop only */
    struct nbd_handle *h;   /* the current attempt or connection */
    int64_t attempt_deadline;
    int64_t next_attempt;   /* when to start the next attempt */
    int64_t retry_ns;       /* backoff */
    int64_t open_deadline;
    int64_t reconnect_deadline;
    int64_t lost_at;
    char *last_error;       /* why the last attempt or connection failed */
    GQueue queued;          /* NbdReq not yet sent on this connection */
    GQueue sent;            /* NbdReq sent, not yet answered */
    /* What the server advertised on the current (or last) connection. */
    int64_t size;
    bool export_read_only;
    bool can_flush, can_fua, can_trim, can_zero, can_fast_zero;
    bool can_block_status;
    uint64_t max_len;
} NbdState;

static int64_t now_ns(void)
{
    return g_get_monotonic_time() * 1000;
}

static void nbd_set_state_locked(NbdState *s, NbdConnState st)
{
    trace_nbd_client_state(s->bs->node_name, nbd_conn_state_name[s->state],
                           nbd_conn_state_name[st]);
    s->state = st;
    g_cond_broadcast(&s->cond);
}

static void nbd_set_error_locked(NbdState *s, const char *msg)
{
    g_free(s->last_error);
    s->last_error = g_strdup(msg);
}

/* Why the last attempt or connection failed, for messages. */
static const char *nbd_why(const NbdState *s)
{
    return s->last_error ? s->last_error : "the server closed the connection";
}

static void nbd_req_complete_locked(NbdState *s, NbdReq *req, int ret)
{
    trace_nbd_client_req_done(s->bs->node_name, nbd_req_name[req->type],
                              req->offset, req->len, ret);
    req->ret = ret;
    req->done = true;
    g_cond_broadcast(&s->cond);
}

static void nbd_fail_queued_locked(NbdState *s, int ret)
{
    NbdReq *req;

    while ((req = g_queue_pop_head(&s->queued))) {
        nbd_req_complete_locked(s, req, ret);
    }
}

/* libnbd callbacks: on the I/O thread, inside a libnbd call, lock held. */
static int nbd_cmd_done_cb(void *opaque, int *error)
{
    NbdCmd *cmd = opaque;

    if (cmd->req) {
        cmd->req->answered = true;
        cmd->req->cmd_err = *error;
        /* Retiring frees cmd: unlink both ways. */
        cmd->req->cmd = NULL;
        cmd->req = NULL;
    }
    return 1;   /* retire the command */
}

static int nbd_extent_cb(void *opaque, const char *metacontext,
                         uint64_t offset, uint32_t *entries,
                         size_t nr_entries, int *error)
{
    NbdCmd *cmd = opaque;

    /* Entries are (length, flags) pairs; the first one answers. */
    if (cmd->req && !strcmp(metacontext, LIBNBD_CONTEXT_BASE_ALLOCATION) &&
        nr_entries >= 2 && !cmd->req->extent_len) {
        cmd->req->extent_len = entries[0];
        cmd->req->extent_flags = entries[1];
    }
    return 0;
}

/* The command no longer belongs to req (connection lost). */
static void nbd_req_detach(NbdReq *req)
{
    if (req->cmd) {
        req->cmd->req = NULL;
        req->cmd = NULL;
    }
    req->answered = false;
    req->cmd_err = 0;
    req->extent_len = 0;
}

/* Sends one request on the connection; false if libnbd refused it. */
static bool nbd_submit_one_locked(NbdState *s, NbdReq *req)
{
    NbdCmd *cmd = g_new0(NbdCmd, 1);
    /* libnbd calls .free exactly once, also when the call fails. */
    nbd_completion_callback done = { .callback = nbd_cmd_done_cb,
                                     .user_data = cmd, .free = g_free };
    int64_t cookie = -1;

    cmd->req = req;
    req->cmd = cmd;
    switch (req->type) {
    case NBD_REQ_READ:
        cookie = nbd_aio_pread(s->h, req->buf, req->len, req->offset, done,
                               0);
        break;
    case NBD_REQ_WRITE:
        cookie = nbd_aio_pwrite(s->h, req->buf, req->len, req->offset, done,
                                req->flags);
        break;
    case NBD_REQ_FLUSH:
        cookie = nbd_aio_flush(s->h, done, 0);
        break;
    case NBD_REQ_TRIM:
        cookie = nbd_aio_trim(s->h, req->len, req->offset, done, 0);
        break;
    case NBD_REQ_ZERO:
        cookie = nbd_aio_zero(s->h, req->len, req->offset, done, req->flags);
        break;
    case NBD_REQ_BLOCK_STATUS: {
        nbd_extent_callback ext = { .callback = nbd_extent_cb,
                                    .user_data = cmd };

        cookie = nbd_aio_block_status(s->h, req->len, req->offset, ext, done,
                                      LIBNBD_CMD_FLAG_REQ_ONE);
        break;
    }
    }
    if (cookie < 0) {
        req->cmd = NULL;    /* freed by libnbd */
        return false;
    }
    trace_nbd_client_req_send(s->bs->node_name, nbd_req_name[req->type],
                              req->offset, req->len);
    return true;
}

static void nbd_submit_queued_locked(NbdState *s)
{
    NbdReq *req;

    while (s->h && (req = g_queue_pop_head(&s->queued))) {
        if (nbd_submit_one_locked(s, req)) {
            g_queue_push_tail(&s->sent, req);
        } else if (nbd_aio_is_dead(s->h) || nbd_aio_is_closed(s->h)) {
            /* The connection went away under us: keep it for the next. */
            g_queue_push_head(&s->queued, req);
            return;
        } else {
            int err = nbd_get_errno();

            warn_report("nbd: node '%s' (%s): %s at offset %" G_GUINT64_FORMAT
                        " refused: %s", s->bs->node_name, s->uri,
                        nbd_req_name[req->type], req->offset,
                        nbd_get_error());
            nbd_req_complete_locked(s, req, -(err ? err : EIO));
        }
    }
}

/* Completes answered requests; when the connection is dead, see below. */
static void nbd_collect_locked(NbdState *s, bool dead)
{
    GList *l = s->sent.head;

    while (l) {
        GList *next = l->next;
        NbdReq *req = l->data;

        /*
         * On a dead connection libnbd fails what it had sent: only a
         * success is an answer from the server then, the rest is retried.
         */
        if (req->answered && !(dead && req->cmd_err)) {
            g_queue_delete_link(&s->sent, l);
            nbd_req_complete_locked(s, req, -req->cmd_err);
        }
        l = next;
    }
}

/* Requests sent on a connection that died go back to the head. */
static unsigned nbd_requeue_sent_locked(NbdState *s)
{
    unsigned n = 0;
    NbdReq *req;

    while ((req = g_queue_pop_tail(&s->sent))) {
        nbd_req_detach(req);
        g_queue_push_head(&s->queued, req);
        n++;
    }
    return n;
}

static void nbd_drop_handle_locked(NbdState *s)
{
    if (s->h) {
        nbd_close(s->h);   /* frees the NbdCmd of abandoned commands */
        s->h = NULL;
    }
}

/*
 * One attempt: the TCP or Unix connect through the one socket layer
 * (util/sockets.c: its address rules, bounded, cancelled by close()),
 * with the lock dropped; then libnbd runs the handshake on the socket,
 * polled like any other traffic until attempt_deadline.
 */
static bool nbd_start_attempt_locked(NbdState *s)
{
    struct nbd_handle *h;
    int64_t now = now_ns(), deadline = now + NBD_ATTEMPT_TIMEOUT_NS;
    Error *err = NULL;
    int fd;

    if (s->state == NBD_CONN_CONNECTING && s->open_deadline) {
        deadline = MIN(deadline, s->open_deadline);
    }
    if (s->state == NBD_CONN_RECONNECTING) {
        deadline = MIN(deadline, s->reconnect_deadline);
    }
    trace_nbd_client_attempt(s->bs->node_name, s->uri);
    g_mutex_unlock(&s->lock);
    fd = socket_connect(s->server, (int)MAX((deadline - now) / 1000000, 1),
                        &s->cancel_connect, &err);
    g_mutex_lock(&s->lock);
    if (fd < 0) {
        nbd_set_error_locked(s, error_get_pretty(err));
        error_free(err);
        return false;
    }
    /* libnbd's state machine must never block the I/O thread. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    h = nbd_create();
    if (!h || nbd_set_export_name(h, s->export) < 0 ||
        nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) < 0 ||
        nbd_aio_connect_socket(h, fd) < 0) {
        /* On success the socket is libnbd's; until then it is ours. */
        nbd_set_error_locked(s, nbd_get_error());
        close(fd);
        if (h) {
            nbd_close(h);
        }
        return false;
    }
    s->h = h;
    s->attempt_deadline = now + NBD_ATTEMPT_TIMEOUT_NS;
    if (s->state == NBD_CONN_CONNECTING && s->open_deadline) {
        s->attempt_deadline = MIN(s->attempt_deadline, s->open_deadline);
    }
    return true;
}

/* What a finished handshake told us; false if this server will not do. */
static bool nbd_take_handshake_locked(NbdState *s)
{
    int64_t size = nbd_get_size(s->h);
    int64_t max = nbd_get_block_size(s->h, LIBNBD_SIZE_MAXIMUM);
    bool ro = nbd_is_read_only(s->h) == 1;

    if (size < 0) {
        nbd_set_error_locked(s, nbd_get_error());
        return false;
    }
    if (s->state != NBD_CONN_CONNECTING) {
        /* A reconnect must find the same disk. */
        if (size != s->size) {
            g_autofree char *m = g_strdup_printf(
                "the export's size changed from %" G_GINT64_FORMAT " to %"
                G_GINT64_FORMAT " bytes", s->size, size);
            nbd_set_error_locked(s, m);
            return false;
        }
        if (ro && !s->bs->read_only) {
            nbd_set_error_locked(s, "the export became read-only");
            return false;
        }
    }
    s->size = size;
    s->export_read_only = ro;
    s->can_flush = nbd_can_flush(s->h) == 1;
    s->can_fua = nbd_can_fua(s->h) == 1;
    s->can_trim = nbd_can_trim(s->h) == 1;
    s->can_zero = nbd_can_zero(s->h) == 1;
    s->can_fast_zero = nbd_can_fast_zero(s->h) == 1;
    s->can_block_status =
        nbd_can_meta_context(s->h, LIBNBD_CONTEXT_BASE_ALLOCATION) == 1;
    s->max_len = max > 0 ? (uint64_t)max : NBD_DEFAULT_MAX_LEN;
    s->max_len = MIN(s->max_len, NBD_DEFAULT_MAX_LEN);
    trace_nbd_client_connected(s->bs->node_name, s->uri, size, ro,
                               s->can_flush, s->can_fua, s->can_trim,
                               s->can_zero, s->can_block_status);
    return true;
}

static void nbd_connected_locked(NbdState *s)
{
    /* Errors of earlier attempts say nothing about this connection. */
    g_clear_pointer(&s->last_error, g_free);
    if (s->state == NBD_CONN_CONNECTING) {
        nbd_set_state_locked(s, NBD_CONN_CONNECTED);
        return;
    }
    warn_report("nbd: node '%s' (%s): reconnected after %" G_GINT64_FORMAT
                " ms; resending %u requests", s->bs->node_name, s->uri,
                (now_ns() - s->lost_at) / 1000000,
                g_queue_get_length(&s->queued));
    trace_nbd_client_reconnected(s->bs->node_name,
                                 g_queue_get_length(&s->queued));
    s->retry_ns = NBD_RETRY_FIRST_NS;
    nbd_set_state_locked(s, NBD_CONN_CONNECTED);
}

/* A failed attempt: retry later, or give up on open(). */
static void nbd_attempt_failed_locked(NbdState *s)
{
    int64_t now = now_ns();

    nbd_drop_handle_locked(s);
    trace_nbd_client_attempt_failed(s->bs->node_name, nbd_why(s));
    s->next_attempt = now + s->retry_ns;
    s->retry_ns = MIN(s->retry_ns * 2, NBD_RETRY_MAX_NS);
    if (s->state == NBD_CONN_CONNECTING &&
        (!s->open_timeout_ns || s->next_attempt >= s->open_deadline)) {
        nbd_set_state_locked(s, NBD_CONN_CLOSED);
    }
}

/* The connection (not an attempt) went away. */
static void nbd_connection_lost_locked(NbdState *s)
{
    unsigned n;

    nbd_collect_locked(s, true);
    n = nbd_requeue_sent_locked(s);
    nbd_drop_handle_locked(s);
    s->lost_at = now_ns();
    s->next_attempt = s->lost_at;
    s->retry_ns = NBD_RETRY_FIRST_NS;
    trace_nbd_client_lost(s->bs->node_name, nbd_why(s), n);
    if (s->reconnect_delay_ns) {
        warn_report("nbd: node '%s' (%s): connection lost (%s); %u requests "
                    "wait up to %" G_GINT64_FORMAT " s for a reconnect",
                    s->bs->node_name, s->uri, nbd_why(s),
                    g_queue_get_length(&s->queued),
                    (int64_t)(s->reconnect_delay_ns / 1000000000LL));
        s->reconnect_deadline = s->lost_at + s->reconnect_delay_ns;
        nbd_set_state_locked(s, NBD_CONN_RECONNECTING);
    } else {
        warn_report("nbd: node '%s' (%s): connection lost (%s); failing %u "
                    "requests (reconnect-delay is 0), reconnecting",
                    s->bs->node_name, s->uri, nbd_why(s),
                    g_queue_get_length(&s->queued));
        nbd_fail_queued_locked(s, -EIO);
        nbd_set_state_locked(s, NBD_CONN_FAILING);
    }
}

/* After a yank: drop the connection, fail everything, try no more. */
static void nbd_yanked_locked(NbdState *s)
{
    if (s->state == NBD_CONN_FAILING && !s->h && !s->sent.length &&
        !s->queued.length) {
        return;
    }
    nbd_collect_locked(s, true);
    nbd_requeue_sent_locked(s);
    nbd_drop_handle_locked(s);
    warn_report("nbd: node '%s' (%s): yanked; failing %u requests, no "
                "reconnect", s->bs->node_name, s->uri,
                g_queue_get_length(&s->queued));
    nbd_fail_queued_locked(s, -EIO);
    if (s->state != NBD_CONN_FAILING) {
        nbd_set_state_locked(s, NBD_CONN_FAILING);
    }
}

/* Moves the state machine on after a poll round; timers too. */
static void nbd_advance_locked(NbdState *s)
{
    int64_t now = now_ns();

    if (__atomic_load_n(&s->yanked, __ATOMIC_SEQ_CST)) {
        nbd_yanked_locked(s);
        return;
    }

    if (s->h) {
        bool dead = nbd_aio_is_dead(s->h) || nbd_aio_is_closed(s->h);

        if (s->state == NBD_CONN_CONNECTED) {
            nbd_collect_locked(s, dead);
            if (dead) {
                nbd_connection_lost_locked(s);
            }
        } else if (nbd_aio_is_ready(s->h)) {
            if (nbd_take_handshake_locked(s)) {
                nbd_connected_locked(s);
            } else {
                nbd_attempt_failed_locked(s);
            }
        } else if (dead) {
            nbd_attempt_failed_locked(s);
        } else if (now >= s->attempt_deadline) {
            nbd_set_error_locked(s, "timed out waiting for the server's "
                                 "handshake");
            nbd_attempt_failed_locked(s);
        }
    }
    if (s->state == NBD_CONN_RECONNECTING && now >= s->reconnect_deadline) {
        warn_report("nbd: node '%s' (%s): no reconnect within "
                    "reconnect-delay; failing %u requests",
                    s->bs->node_name, s->uri, g_queue_get_length(&s->queued));
        nbd_fail_queued_locked(s, -EIO);
        nbd_set_state_locked(s, NBD_CONN_FAILING);
    }
    if (!s->h && s->state != NBD_CONN_CONNECTED &&
        s->state != NBD_CONN_CLOSED && now >= s->next_attempt &&
        !nbd_start_attempt_locked(s)) {
        nbd_attempt_failed_locked(s);
    }
    if (s->state == NBD_CONN_CONNECTED) {
        nbd_submit_queued_locked(s);
    }
}

/* The poll timeout (ms) until the next deadline, -1 for none. */
static int nbd_poll_timeout_locked(NbdState *s)
{
    int64_t now = now_ns(), next = INT64_MAX;

    if (s->h && (nbd_aio_is_dead(s->h) || nbd_aio_is_closed(s->h))) {
        return 0;   /* its socket is gone: nothing to wait for */
    }
    if (__atomic_load_n(&s->yanked, __ATOMIC_SEQ_CST)) {
        return -1;  /* nothing will happen until close() */
    }
    if (s->h && s->state != NBD_CONN_CONNECTED) {
        next = MIN(next, s->attempt_deadline);
    }
    if (!s->h && s->state != NBD_CONN_CONNECTED &&
        s->state != NBD_CONN_CLOSED) {
        next = MIN(next, s->next_attempt);
    }
    if (s->state == NBD_CONN_RECONNECTING) {
        next = MIN(next, s->reconnect_deadline);
    }
    if (next == INT64_MAX) {
        return -1;
    }
    return next <= now ? 0 : (int)MIN((next - now + 999999) / 1000000,
                                      60000);
}

/* One poll round: sleeps unlocked, then lets libnbd read or write. */
static void nbd_poll_locked(NbdState *s)
{
    struct pollfd fds[2] = { { .fd = s->kick_fd, .events = POLLIN } };
    int nfds = 1, timeout = nbd_poll_timeout_locked(s);
    unsigned dir = 0;

    if (s->h && nbd_aio_get_fd(s->h) >= 0) {
        dir = nbd_aio_get_direction(s->h);
        fds[1].fd = nbd_aio_get_fd(s->h);
        fds[1].events = (dir & LIBNBD_AIO_DIRECTION_READ ? POLLIN : 0) |
                        (dir & LIBNBD_AIO_DIRECTION_WRITE ? POLLOUT : 0);
        nfds = 2;
    }
    g_mutex_unlock(&s->lock);
    if (poll(fds, nfds, timeout) < 0 && errno != EINTR) {
        g_error("nbd: poll: %s", g_strerror(errno));
    }
    g_mutex_lock(&s->lock);
    if (fds[0].revents & POLLIN) {
        uint64_t v;

        if (read(s->kick_fd, &v, sizeof(v)) < 0) {
            /* EAGAIN: someone else drained it; nothing lost. */
        }
    }
    if (nfds == 2 && fds[1].revents && s->h) {
        int r = 0;

        if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
            (dir & LIBNBD_AIO_DIRECTION_READ)) {
            r = nbd_aio_notify_read(s->h);
        } else if (fds[1].revents & (POLLOUT | POLLHUP | POLLERR)) {
            r = nbd_aio_notify_write(s->h);
        }
        if (r < 0) {
            nbd_set_error_locked(s, nbd_get_error());
        }
    }
}

/* Lets NBD_CMD_DISC go out, briefly, then closes the socket. */
static void nbd_disconnect_locked(NbdState *s)
{
    int64_t end = now_ns() + NBD_DISC_TIMEOUT_MS * 1000000LL;

    if (s->h && s->state == NBD_CONN_CONNECTED &&
        nbd_aio_disconnect(s->h, 0) == 0) {
        while (!nbd_aio_is_closed(s->h) && !nbd_aio_is_dead(s->h) &&
               now_ns() < end) {
            struct pollfd p = { .fd = nbd_aio_get_fd(s->h) };
            unsigned dir = nbd_aio_get_direction(s->h);

            p.events = (dir & LIBNBD_AIO_DIRECTION_READ ? POLLIN : 0) |
                       (dir & LIBNBD_AIO_DIRECTION_WRITE ? POLLOUT : 0);
            if (p.fd < 0 || poll(&p, 1, 50) < 0) {
                break;
            }
            if (p.revents & POLLOUT) {
                nbd_aio_notify_write(s->h);
            } else if (p.revents) {
                nbd_aio_notify_read(s->h);
            }
        }
    }
    nbd_drop_handle_locked(s);
}

static gpointer nbd_io_thread(gpointer opaque)
{
    NbdState *s = opaque;

    g_mutex_lock(&s->lock);
    while (!s->closing && s->state != NBD_CONN_CLOSED) {
        nbd_advance_locked(s);
        if (s->closing || s->state == NBD_CONN_CLOSED) {
            break;
        }
        nbd_poll_locked(s);
    }
    nbd_disconnect_locked(s);
    /* Nothing is in flight at close(); an open that failed has no users. */
    nbd_requeue_sent_locked(s);
    nbd_fail_queued_locked(s, -EIO);
    if (s->state != NBD_CONN_CLOSED) {
        nbd_set_state_locked(s, NBD_CONN_CLOSED);
    }
    g_mutex_unlock(&s->lock);
    return NULL;
}

static void nbd_kick(NbdState *s)
{
    uint64_t one = 1;

    if (write(s->kick_fd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is full, so a wake-up is pending anyway. */
    }
}

/*
 * Runs n requests and waits for all; the first error wins. After
 * reconnect-delay ran out, requests fail at once until a reconnect.
 */
static int nbd_run(NbdState *s, NbdReq *reqs, size_t n)
{
    int ret = 0;

    g_mutex_lock(&s->lock);
    if (s->state == NBD_CONN_FAILING || s->state == NBD_CONN_CLOSED) {
        g_mutex_unlock(&s->lock);
        trace_nbd_client_req_done(s->bs->node_name, nbd_req_name[reqs->type],
                                  reqs->offset, reqs->len, -EIO);
        return -EIO;
    }
    for (size_t i = 0; i < n; i++) {
        g_queue_push_tail(&s->queued, &reqs[i]);
    }
    nbd_kick(s);
    for (size_t i = 0; i < n; i++) {
        while (!reqs[i].done) {
            g_cond_wait(&s->cond, &s->lock);
        }
        if (reqs[i].ret < 0 && !ret) {
            ret = reqs[i].ret;
        }
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

/* Splits [offset, offset + len) into commands of at most max_len bytes. */
static int nbd_run_split(NbdState *s, NbdReqType type, uint64_t offset,
                         uint64_t len, void *buf, uint32_t flags)
{
    uint64_t max;
    size_t n;
    g_autofree NbdReq *reqs = NULL;

    g_mutex_lock(&s->lock);
    max = s->max_len;
    g_mutex_unlock(&s->lock);
    n = (len + max - 1) / max;
    reqs = g_new0(NbdReq, n);
    for (size_t i = 0; i < n; i++) {
        uint64_t off = (uint64_t)i * max;

        reqs[i].type = type;
        reqs[i].offset = offset + off;
        reqs[i].len = MIN(max, len - off);
        reqs[i].buf = buf ? (char *)buf + off : NULL;
        reqs[i].flags = flags;
    }
    return nbd_run(s, reqs, n);
}

static void nbd_drv_close_node(BlockDriverState *bs);

/*
 * yank, on any thread under the yank registry's lock: no BQL, no
 * blocking, not even s->lock. Flags and a kick; the I/O thread does the
 * rest at once (it never blocks for long: its connects are cancelled by
 * the same flag).
 */
static void nbd_yank(void *opaque)
{
    NbdState *s = opaque;

    __atomic_store_n(&s->yanked, true, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->cancel_connect, true, __ATOMIC_SEQ_CST);
    nbd_kick(s);
}

static bool nbd_drv_open(BlockDriverState *bs, const BlockdevOptions *opts,
                         Error **errp)
{
    NbdState *s = bs->opaque;
    const BlockdevOptionsNbd *o = &opts->u.nbd;
    bool ok;

    s->kick_fd = -1;
    if (o->tls_creds || o->tls_hostname) {
        error_setg(errp, "NBD over TLS (tls-creds) is not supported");
        return false;
    }
    if (o->server->type != SOCKET_ADDRESS_TYPE_INET &&
        o->server->type != SOCKET_ADDRESS_TYPE_UNIX) {
        error_setg(errp, "server.type=%s is not supported for NBD (use "
                   "inet or unix)", SocketAddressType_str(o->server->type));
        return false;
    }
    s->bs = bs;
    s->server = socket_address_dup(o->server);
    if (!socket_address_check(s->server, errp)) {
        qapi_free_SocketAddress(s->server);
        s->server = NULL;
        return false;
    }
    s->export = g_strdup(o->export ? o->export : "");
    s->uri = nbd_uri_format(o->server, o->export);
    bs->filename = g_strdup(s->uri);
    s->reconnect_delay_ns = (int64_t)o->reconnect_delay * 1000000000LL;
    s->open_timeout_ns = (int64_t)o->open_timeout * 1000000000LL;
    s->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->kick_fd < 0) {
        error_setg_errno(errp, errno, "Could not create an eventfd");
        nbd_drv_close_node(bs);
        return false;
    }
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    g_queue_init(&s->queued);
    g_queue_init(&s->sent);
    s->state = NBD_CONN_CONNECTING;
    s->retry_ns = NBD_RETRY_FIRST_NS;
    s->max_len = NBD_DEFAULT_MAX_LEN;
    s->open_deadline = s->open_timeout_ns ? now_ns() + s->open_timeout_ns
                                          : 0;

    /* The I/O thread connects; open() waits, bounded by its timeouts. */
    s->thread = g_thread_new("nbd-client", nbd_io_thread, s);
    g_mutex_lock(&s->lock);
    while (s->state == NBD_CONN_CONNECTING) {
        g_cond_wait(&s->cond, &s->lock);
    }
    ok = s->state == NBD_CONN_CONNECTED;
    if (!ok) {
        error_setg(errp, "Could not connect to NBD server %s: %s", s->uri,
                   nbd_why(s));
    }
    g_mutex_unlock(&s->lock);
    if (!ok) {
        nbd_drv_close_node(bs);     /* joins the thread, which has ended */
        return false;
    }
    /* QEMU's yank instance for an NBD node: {"type":"block-node"}. */
    if (!yank_register_instance(YANK_KIND_BLOCK_NODE, bs->node_name, errp)) {
        nbd_drv_close_node(bs);
        return false;
    }
    yank_register_function(YANK_KIND_BLOCK_NODE, bs->node_name, nbd_yank, s);
    s->yank_registered = true;
    if (s->export_read_only && !bs->read_only) {
        /* The server decides: writes now fail with EPERM at the node. */
        trace_nbd_client_read_only(bs->node_name);
        bs->read_only = true;
    }
    return true;
}

static void nbd_drv_close_node(BlockDriverState *bs)
{
    NbdState *s = bs->opaque;

    if (s->yank_registered) {
        /* Not under s->lock: the registry's lock comes first. */
        yank_unregister_function(YANK_KIND_BLOCK_NODE, bs->node_name,
                                 nbd_yank, s);
        yank_unregister_instance(YANK_KIND_BLOCK_NODE, bs->node_name);
        s->yank_registered = false;
    }

    if (s->thread) {
        g_mutex_lock(&s->lock);
        s->closing = true;
        g_mutex_unlock(&s->lock);
        /* A connect in progress gives up. */
        __atomic_store_n(&s->cancel_connect, true, __ATOMIC_SEQ_CST);
        nbd_kick(s);
        g_thread_join(s->thread);
        s->thread = NULL;
    }
    if (s->kick_fd >= 0) {
        close(s->kick_fd);
    }
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->cond);
    g_free(s->last_error);
    qapi_free_SocketAddress(s->server);
    g_free(s->export);
    g_free(s->uri);
}

/* The request as one buffer: the caller's, or a bounce copy. */
static void *nbd_iov_buf(BlockIov *qiov, bool copy_in)
{
    void *buf;

    if (qiov->niov == 1) {
        return qiov->iov[0].iov_base;
    }
    buf = g_malloc(qiov->size);
    if (copy_in) {
        block_iov_to_buf(qiov, 0, buf, qiov->size);
    }
    return buf;
}

static int nbd_drv_preadv(BlockDriverState *bs, uint64_t offset,
                          BlockIov *qiov, int flags)
{
    NbdState *s = bs->opaque;
    void *buf = nbd_iov_buf(qiov, false);
    int ret = nbd_run_split(s, NBD_REQ_READ, offset, qiov->size, buf, 0);

    if (qiov->niov != 1) {
        if (ret == 0) {
            block_iov_from_buf(qiov, 0, buf, qiov->size);
        }
        g_free(buf);
    }
    return ret;
}

static int nbd_drv_flush(BlockDriverState *bs)
{
    NbdState *s = bs->opaque;
    NbdReq req = { .type = NBD_REQ_FLUSH };
    bool can;

    g_mutex_lock(&s->lock);
    can = s->can_flush;
    g_mutex_unlock(&s->lock);
    /* A server without flush writes through: nothing to do. */
    return can ? nbd_run(s, &req, 1) : 0;
}

/* FUA as the flag when the server has it, else as a flush after. */
static bool nbd_fua_flag(NbdState *s, int flags, uint32_t *nbd_flags)
{
    bool native;

    if (!(flags & BDRV_REQ_FUA)) {
        return false;
    }
    g_mutex_lock(&s->lock);
    native = s->can_fua;
    g_mutex_unlock(&s->lock);
    if (native) {
        *nbd_flags |= LIBNBD_CMD_FLAG_FUA;
        return false;
    }
    return true;
}

static int nbd_drv_pwritev(BlockDriverState *bs, uint64_t offset,
                           BlockIov *qiov, int flags)
{
    NbdState *s = bs->opaque;
    void *buf = nbd_iov_buf(qiov, true);
    uint32_t nflags = 0;
    bool flush_after = nbd_fua_flag(s, flags, &nflags);
    int ret = nbd_run_split(s, NBD_REQ_WRITE, offset, qiov->size, buf,
                            nflags);

    if (qiov->niov != 1) {
        g_free(buf);
    }
    return ret == 0 && flush_after ? nbd_drv_flush(bs) : ret;
}

static int nbd_drv_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                                 uint64_t bytes, int flags)
{
    NbdState *s = bs->opaque;
    uint32_t nflags = 0;
    bool can, fast, flush_after;
    int ret;

    g_mutex_lock(&s->lock);
    can = s->can_zero;
    fast = s->can_fast_zero;
    g_mutex_unlock(&s->lock);
    if (!can) {
        return -ENOTSUP;    /* the request layer writes zeroes instead */
    }
    if (flags & BDRV_REQ_NO_FALLBACK) {
        if (!fast) {
            return -ENOTSUP;
        }
        nflags |= LIBNBD_CMD_FLAG_FAST_ZERO;
    }
    if (!(flags & BDRV_REQ_MAY_UNMAP)) {
        nflags |= LIBNBD_CMD_FLAG_NO_HOLE;
    }
    flush_after = nbd_fua_flag(s, flags, &nflags);
    ret = nbd_run_split(s, NBD_REQ_ZERO, offset, bytes, NULL, nflags);
    return ret == 0 && flush_after ? nbd_drv_flush(bs) : ret;
}

static int nbd_drv_pdiscard(BlockDriverState *bs, uint64_t offset,
                            uint64_t bytes)
{
    NbdState *s = bs->opaque;
    bool can;

    g_mutex_lock(&s->lock);
    can = s->can_trim;
    g_mutex_unlock(&s->lock);
    if (!can) {
        return -ENOTSUP;    /* advisory: the request layer drops it */
    }
    return nbd_run_split(s, NBD_REQ_TRIM, offset, bytes, NULL, 0);
}

static int64_t nbd_drv_getlength(BlockDriverState *bs)
{
    NbdState *s = bs->opaque;
    int64_t size;

    g_mutex_lock(&s->lock);
    size = s->size;
    g_mutex_unlock(&s->lock);
    return size;
}

static int nbd_drv_block_status(BlockDriverState *bs, uint64_t offset,
                                uint64_t bytes, uint64_t *pnum,
                                uint64_t *map, BlockDriverState **file)
{
    NbdState *s = bs->opaque;
    NbdReq req = { .type = NBD_REQ_BLOCK_STATUS, .offset = offset };
    int ret = BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED;
    bool can;
    int r;

    *map = offset;
    *file = bs;
    g_mutex_lock(&s->lock);
    can = s->can_block_status;
    req.len = MIN(bytes, s->max_len);
    g_mutex_unlock(&s->lock);
    if (!can) {
        *pnum = bytes;
        return ret | BDRV_BLOCK_DATA;
    }
    r = nbd_run(s, &req, 1);
    if (r < 0) {
        return r;
    }
    if (!req.extent_len) {
        /* A server that answered nothing: assume data, one request. */
        *pnum = req.len;
        return ret | BDRV_BLOCK_DATA;
    }
    *pnum = MIN(req.extent_len, bytes);
    if (!(req.extent_flags & LIBNBD_STATE_HOLE)) {
        ret |= BDRV_BLOCK_DATA;
    }
    if (req.extent_flags & LIBNBD_STATE_ZERO) {
        ret |= BDRV_BLOCK_ZERO;
    }
    return ret;
}

const BlockDriver bdrv_nbd = {
    .format_name = "nbd",
    .instance_size = sizeof(NbdState),
    .open = nbd_drv_open,
    .close = nbd_drv_close_node,
    .preadv = nbd_drv_preadv,
    .pwritev = nbd_drv_pwritev,
    .pwrite_zeroes = nbd_drv_pwrite_zeroes,
    .pdiscard = nbd_drv_pdiscard,
    .flush = nbd_drv_flush,
    .getlength = nbd_drv_getlength,
    .block_status = nbd_drv_block_status,
};
