/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The transmission phase: requests are parsed and checked here, run as
 * asynchronous block requests (blk_aio_*, several in flight per
 * connection), and answered when they complete, in completion order.
 * READ and BLOCK_STATUS answer with structured replies when the client
 * negotiated them (OFFSET_DATA / BLOCK_STATUS chunks, ERROR chunks for
 * failures); everything else with simple replies.
 *
 * What is checked before any I/O, and what a failure costs:
 *   bad magic                     -> dropped (no way to find the next one)
 *   WRITE over NBD_MAX_PAYLOAD    -> dropped (its payload cannot be held)
 *   unknown command or flag       -> EINVAL (a WRITE's payload is read first)
 *   READ over NBD_MAX_PAYLOAD     -> EINVAL
 *   past the end of the export    -> EINVAL (ENOSPC for writes)
 *   a write to a read-only export -> EPERM
 *   BLOCK_STATUS without a context-> EINVAL
 */
#include <errno.h>
#include <string.h>
#include "nbd-internal.h"
#include "trace.h"

static const char *const nbd_cmd_names[] = {
    [NBD_CMD_READ] = "read",
    [NBD_CMD_WRITE] = "write",
    [NBD_CMD_DISC] = "disc",
    [NBD_CMD_FLUSH] = "flush",
    [NBD_CMD_TRIM] = "trim",
    [NBD_CMD_CACHE] = "cache",
    [NBD_CMD_WRITE_ZEROES] = "write-zeroes",
    [NBD_CMD_BLOCK_STATUS] = "block-status",
    [NBD_CMD_RESIZE] = "resize",
};

static const char *cmd_name(uint16_t type)
{
    return type < G_N_ELEMENTS(nbd_cmd_names) && nbd_cmd_names[type] ?
           nbd_cmd_names[type] : "unknown";
}

/* The flags each command may carry (FUA is valid on all of them). */
static uint16_t cmd_allowed_flags(uint16_t type)
{
    switch (type) {
    case NBD_CMD_READ:
        return NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_DF;
    case NBD_CMD_WRITE_ZEROES:
        return NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE;
    case NBD_CMD_BLOCK_STATUS:
        return NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_REQ_ONE;
    default:
        return NBD_CMD_FLAG_FUA;
    }
}

/* Host errno to the protocol's error values. */
static uint32_t nbd_errno(int err)
{
    switch (err) {
    case 0:
        return NBD_SUCCESS;
    case EPERM:
    case EACCES:
    case EROFS:
        return NBD_EPERM;
    case ENOMEM:
        return NBD_ENOMEM;
    case EINVAL:
        return NBD_EINVAL;
    case ENOSPC:
    case EFBIG:
    case EDQUOT:
        return NBD_ENOSPC;
    case EOVERFLOW:
        return NBD_EOVERFLOW;
    case ENOTSUP:
        return NBD_ENOTSUP;
    case ESHUTDOWN:
        return NBD_ESHUTDOWN;
    default:
        return NBD_EIO;
    }
}

static bool uses_structured(const NbdRequest *req)
{
    return req->conn->structured &&
           (req->type == NBD_CMD_READ || req->type == NBD_CMD_BLOCK_STATUS);
}

/*
 * The reply builders only queue; request_complete() and
 * request_fail_now() push each reply out whole.
 */
static void send_chunk_header(NbdConn *conn, uint64_t cookie, uint16_t flags,
                              uint16_t type, uint32_t len)
{
    uint8_t hdr[NBD_CHUNK_HEADER_SIZE];

    nbd_put32(hdr, NBD_STRUCTURED_REPLY_MAGIC);
    nbd_put16(hdr + 4, flags);
    nbd_put16(hdr + 6, type);
    nbd_put64(hdr + 8, cookie);
    nbd_put32(hdr + 16, len);
    nbd_conn_queue(conn, hdr, sizeof(hdr));
}

/* A simple reply (a successful READ's data follows it). */
static void send_simple(NbdRequest *req, int err)
{
    uint8_t hdr[NBD_SIMPLE_REPLY_SIZE];

    nbd_put32(hdr, NBD_SIMPLE_REPLY_MAGIC);
    nbd_put32(hdr + 4, nbd_errno(err));
    nbd_put64(hdr + 8, req->cookie);
    nbd_conn_queue(req->conn, hdr, sizeof(hdr));
}

/* The reply to a failed request; msg goes into an ERROR chunk. */
static void reply_error(NbdRequest *req, int err, const char *msg)
{
    trace_nbd_reply_error(req->conn->id, cmd_name(req->type), req->cookie,
                          err, msg);
    if (uses_structured(req)) {
        size_t mlen = MIN(strlen(msg), NBD_MAX_STRING_SIZE);
        uint8_t payload[6];

        send_chunk_header(req->conn, req->cookie, NBD_REPLY_FLAG_DONE,
                          NBD_REPLY_TYPE_ERROR, 6 + mlen);
        nbd_put32(payload, nbd_errno(err));
        nbd_put16(payload + 4, mlen);
        nbd_conn_queue(req->conn, payload, sizeof(payload));
        nbd_conn_queue(req->conn, msg, mlen);
    } else {
        send_simple(req, err);
    }
}

/* Success without data (a zero-length READ too: OFFSET_DATA needs one). */
static void reply_ok(NbdRequest *req)
{
    if (uses_structured(req)) {
        send_chunk_header(req->conn, req->cookie, NBD_REPLY_FLAG_DONE,
                          NBD_REPLY_TYPE_NONE, 0);
    } else {
        send_simple(req, 0);
    }
}

static void reply_read(NbdRequest *req)
{
    if (req->conn->structured) {
        uint8_t off[8];

        send_chunk_header(req->conn, req->cookie, NBD_REPLY_FLAG_DONE,
                          NBD_REPLY_TYPE_OFFSET_DATA, 8 + req->len);
        nbd_put64(off, req->offset);
        nbd_conn_queue(req->conn, off, sizeof(off));
    } else {
        send_simple(req, 0);
    }
    /* The data goes out without a copy; the queue frees it. */
    nbd_conn_queue_owned(req->conn, g_steal_pointer(&req->buf), req->len);
}

/* base:allocation flags of a block-layer extent. */
static uint32_t alloc_flags(int bdrv_flags)
{
    return (bdrv_flags & BDRV_BLOCK_DATA ? 0 : NBD_STATE_HOLE) |
           (bdrv_flags & BDRV_BLOCK_ZERO ? NBD_STATE_ZERO : 0);
}

/*
 * Merges neighbours with equal flags; u32 lengths. REQ_ONE asked the
 * block layer for one extent, so it gets one descriptor.
 */
static void reply_block_status(NbdRequest *req)
{
    g_autoptr(GByteArray) p = g_byte_array_new();
    uint8_t id[4], desc[8];
    uint64_t cur_len = 0;
    uint32_t cur_flags = 0;
    int n = 0;

    nbd_put32(id, NBD_META_ID_BASE_ALLOCATION);
    g_byte_array_append(p, id, 4);
    for (int i = 0; i <= req->n_extents; i++) {
        bool last = i == req->n_extents;
        uint32_t f = last ? 0 : alloc_flags(req->extents[i].flags);

        if (!last && cur_len && f == cur_flags &&
            cur_len + req->extents[i].length <= UINT32_MAX) {
            cur_len += req->extents[i].length;
            continue;
        }
        if (cur_len) {
            nbd_put32(desc, cur_len);
            nbd_put32(desc + 4, cur_flags);
            g_byte_array_append(p, desc, 8);
            n++;
        }
        if (!last) {
            cur_len = req->extents[i].length;
            cur_flags = f;
        }
    }
    trace_nbd_block_status(req->conn->id, req->offset, req->len, n);
    send_chunk_header(req->conn, req->cookie, NBD_REPLY_FLAG_DONE,
                      NBD_REPLY_TYPE_BLOCK_STATUS, p->len);
    nbd_conn_queue(req->conn, p->data, p->len);
}

static void request_complete(void *opaque, int ret, const Error *err)
{
    NbdRequest *req = opaque;
    NbdConn *conn = req->conn;

    trace_nbd_request_done(conn->id, cmd_name(req->type), req->cookie, ret);
    if (conn->state != NBD_CONN_DEAD) {
        if (ret < 0) {
            /*
             * The client learns the errno's text; the node and the host
             * file named in err stay in the trace, not on the wire.
             */
            trace_nbd_request_failed(conn->id, cmd_name(req->type),
                                     req->cookie, err ?
                                     error_get_pretty(err) : "");
            reply_error(req, -ret, g_strerror(-ret));
        } else if (req->type == NBD_CMD_READ && req->len > 0) {
            reply_read(req);
        } else if (req->type == NBD_CMD_BLOCK_STATUS) {
            reply_block_status(req);
        } else {
            reply_ok(req);
        }
        nbd_conn_push(conn);
    }
    nbd_conn_request_done(conn, req);
}

/* TRIM with FUA: the discard, then a flush, then the reply. */
static void trim_complete(void *opaque, int ret, const Error *err)
{
    NbdRequest *req = opaque;

    if (ret == 0 && (req->flags & NBD_CMD_FLAG_FUA) &&
        req->conn->state != NBD_CONN_DEAD) {
        req->flags &= ~NBD_CMD_FLAG_FUA;
        blk_aio_flush(req->conn->exp->blk, trim_complete, req);
        return;
    }
    request_complete(opaque, ret, err);
}

/* Answers a request that never reaches the block layer. */
static void request_fail_now(NbdRequest *req, int err, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static void request_fail_now(NbdRequest *req, int err, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    reply_error(req, err, msg);
    nbd_conn_push(req->conn);
    nbd_conn_request_done(req->conn, req);
}

/* Checks that need no I/O: 0, or the errno to answer with. */
static int request_check(NbdRequest *req, char **msg)
{
    NbdConn *conn = req->conn;
    NbdExport *exp = conn->exp;
    uint64_t size = blk_getlength(exp->blk);
    bool writes = req->type == NBD_CMD_WRITE || req->type == NBD_CMD_TRIM ||
                  req->type == NBD_CMD_WRITE_ZEROES;

    if (req->flags & ~cmd_allowed_flags(req->type)) {
        *msg = g_strdup_printf("flags 0x%x not valid for %s", req->flags,
                               cmd_name(req->type));
        return EINVAL;
    }
    if ((req->flags & NBD_CMD_FLAG_DF) && !conn->structured) {
        *msg = g_strdup("DF needs structured replies");
        return EINVAL;
    }
    if (writes && !exp->writable) {
        *msg = g_strdup_printf("export '%s' is read-only", exp->name);
        return EPERM;
    }
    if (req->type == NBD_CMD_READ && req->len > NBD_MAX_PAYLOAD) {
        *msg = g_strdup_printf("read of %u bytes is over the %u-byte limit",
                               req->len, NBD_MAX_PAYLOAD);
        return EINVAL;
    }
    if (req->type == NBD_CMD_BLOCK_STATUS && !conn->meta_alloc) {
        *msg = g_strdup("no metadata context was negotiated");
        return EINVAL;
    }
    if (req->type == NBD_CMD_BLOCK_STATUS && req->len == 0) {
        *msg = g_strdup("block status of 0 bytes");
        return EINVAL;
    }
    if (req->type != NBD_CMD_FLUSH &&
        (req->offset > size || req->len > size - req->offset)) {
        *msg = g_strdup_printf("request at %" G_GUINT64_FORMAT ", %u bytes "
                               "is past the end (%" G_GUINT64_FORMAT
                               " bytes)", req->offset, req->len, size);
        return writes ? ENOSPC : EINVAL;
    }
    return 0;
}

static void request_submit(NbdRequest *req)
{
    BlockBackend *blk = req->conn->exp->blk;
    g_autofree char *msg = NULL;
    int err = request_check(req, &msg);
    int wflags = req->flags & NBD_CMD_FLAG_FUA ? BDRV_REQ_FUA : 0;

    trace_nbd_request(req->conn->id, cmd_name(req->type), req->cookie,
                      req->offset, req->len, req->flags);
    if (err) {
        request_fail_now(req, err, "%s", msg);
        return;
    }
    switch (req->type) {
    case NBD_CMD_READ:
        req->buf = g_try_malloc(MAX(req->len, 1));
        if (!req->buf) {
            request_fail_now(req, ENOMEM, "out of memory");
            return;
        }
        block_iov_init_buf(&req->qiov, &req->iov, req->buf, req->len);
        blk_aio_preadv(blk, req->offset, &req->qiov, request_complete, req);
        break;
    case NBD_CMD_WRITE:
        block_iov_init_buf(&req->qiov, &req->iov, req->buf, req->len);
        blk_aio_pwritev(blk, req->offset, &req->qiov, wflags,
                        request_complete, req);
        break;
    case NBD_CMD_FLUSH:
        blk_aio_flush(blk, request_complete, req);
        break;
    case NBD_CMD_TRIM:
        blk_aio_pdiscard(blk, req->offset, req->len, trim_complete, req);
        break;
    case NBD_CMD_WRITE_ZEROES:
        if (!(req->flags & NBD_CMD_FLAG_NO_HOLE)) {
            wflags |= BDRV_REQ_MAY_UNMAP;
        }
        blk_aio_pwrite_zeroes(blk, req->offset, req->len, wflags,
                              request_complete, req);
        break;
    case NBD_CMD_BLOCK_STATUS:
        req->extents = g_new(BlockExtent, NBD_MAX_EXTENTS);
        blk_aio_block_status(blk, req->offset, req->len, req->extents,
                             req->flags & NBD_CMD_FLAG_REQ_ONE ?
                             1 : NBD_MAX_EXTENTS,
                             &req->n_extents, request_complete, req);
        break;
    default:
        request_fail_now(req, EINVAL, "unknown command %u", req->type);
        break;
    }
}

void nbd_tx_start(NbdConn *conn)
{
    nbd_conn_expect(conn, NBD_CONN_REQ_HEADER, conn->hdr, NBD_REQUEST_SIZE);
}

void nbd_tx_request_header(NbdConn *conn)
{
    const uint8_t *h = conn->hdr;
    uint32_t magic = nbd_get32(h);
    NbdRequest *req;

    if (magic != NBD_REQUEST_MAGIC) {
        nbd_conn_drop(conn, "bad request magic 0x%08x", magic);
        return;
    }
    req = g_new0(NbdRequest, 1);
    req->conn = conn;
    req->flags = nbd_get16(h + 4);
    req->type = nbd_get16(h + 6);
    req->cookie = nbd_get64(h + 8);
    req->offset = nbd_get64(h + 16);
    req->len = nbd_get32(h + 24);
    nbd_tx_start(conn);

    if (req->type == NBD_CMD_DISC) {
        trace_nbd_request(conn->id, "disc", req->cookie, 0, 0, req->flags);
        g_free(req);
        nbd_conn_drain(conn);
        return;
    }
    conn->in_flight++;
    if (req->type == NBD_CMD_READ || req->type == NBD_CMD_WRITE) {
        conn->in_flight_bytes += req->len;
    }
    if (req->type != NBD_CMD_WRITE) {
        request_submit(req);
        nbd_conn_update(conn);
        return;
    }
    if (req->len > NBD_MAX_PAYLOAD) {
        /* Skipping gigabytes to stay in step is not worth it. */
        nbd_conn_drop(conn, "write of %u bytes is over the %u-byte limit",
                      req->len, NBD_MAX_PAYLOAD);
        nbd_conn_request_done(conn, req);
        return;
    }
    req->buf = g_try_malloc(MAX(req->len, 1));
    if (!req->buf) {
        nbd_conn_drop(conn, "no memory for a write of %u bytes", req->len);
        nbd_conn_request_done(conn, req);
        return;
    }
    conn->write_req = req;
    nbd_conn_expect(conn, NBD_CONN_WRITE_PAYLOAD, req->buf, req->len);
    if (req->len == 0) {
        nbd_tx_write_payload(conn);
    }
}

void nbd_tx_write_payload(NbdConn *conn)
{
    NbdRequest *req = conn->write_req;

    conn->write_req = NULL;
    nbd_tx_start(conn);
    request_submit(req);
    nbd_conn_update(conn);
}
