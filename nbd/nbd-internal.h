/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the pieces of the NBD server share: the export object, the
 * connection and its state machine, and the functions that move bytes.
 * Only nbd/ includes this.
 *
 * A connection's input state machine (one message at a time; the bytes
 * of each land in a buffer the state names, then its handler runs):
 *
 *   accept: greeting sent
 *     |
 *   CLIENT_FLAGS (u32) --bad flags--> dropped
 *     |
 *   OPT_HEADER (16) <-----------------------------+
 *     | bad magic / too long --> dropped          |
 *   OPT_DATA (length) --handled, reply queued-----+
 *     | EXPORT_NAME, GO (acked)
 *   REQ_HEADER (28) <-----------------------------+
 *     | bad magic / WRITE too big --> dropped     |
 *     | WRITE                                     |
 *   WRITE_PAYLOAD (length) --request submitted----+
 *     other commands submitted (or answered) -----+
 *
 *   DISC or ABORT: no more input; closed once replies are sent.
 *   Dropped (hostile, vanished, export removed): the socket closes at
 *   once; the object lives until its requests in flight complete.
 *
 * Output: a queue of segments (small replies are copied into a shared
 * segment, READ data is queued as is, without a copy), written with
 * sendmsg as the socket takes them (a writable watch while some remain). Input pauses while too
 * much is in flight or queued (NBD_CONN_MAX_*), so a client that does not
 * read its replies cannot make the server hold more than that.
 */
#ifndef NBD_NBD_INTERNAL_H
#define NBD_NBD_INTERNAL_H

#include <glib.h>
#include "nbd/nbd.h"
#include "nbd/nbd-proto.h"
#include "block/block-backend.h"

/* The largest READ or WRITE payload (NBD_INFO_BLOCK_SIZE maximum). */
#define NBD_MAX_PAYLOAD         (32 * 1024 * 1024)
#define NBD_PREFERRED_BLOCK     4096
/* The largest option data accepted; a longer option is hostile. */
#define NBD_MAX_OPT_DATA        (64 * 1024)
/* Options one client may send before it is considered a flood. */
#define NBD_MAX_OPTIONS         4096
/* Requests in flight per connection, and bytes in flight or queued. */
#define NBD_CONN_MAX_REQUESTS   32
#define NBD_CONN_MAX_BYTES      (64 * 1024 * 1024)
/* Extents per BLOCK_STATUS reply. */
#define NBD_MAX_EXTENTS         1024
/* The context id SET_META_CONTEXT gives base:allocation. */
#define NBD_META_ID_BASE_ALLOCATION 1

struct NbdExport {
    char *id;
    char *name;
    char *description;          /* NULL: none */
    char *node_name;
    BlockBackend *blk;
    bool writable;
    bool shutting_down;
    bool delete_scheduled;
    int clients;                /* connections that opened it */
};

typedef enum NbdConnState {
    NBD_CONN_CLIENT_FLAGS,
    NBD_CONN_OPT_HEADER,
    NBD_CONN_OPT_DATA,
    NBD_CONN_REQ_HEADER,
    NBD_CONN_WRITE_PAYLOAD,
    NBD_CONN_DRAINING,          /* DISC/ABORT: send what is queued, close */
    NBD_CONN_DEAD,              /* socket closed; waiting for requests */
} NbdConnState;

typedef struct NbdRequest NbdRequest;

typedef struct NbdConn {
    unsigned id;
    char *peer;                 /* for log lines: "#3 (tcp:1.2.3.4:5)" */
    int fd;
    guint in_watch;
    guint out_watch;
    guint handshake_timer;      /* drops a client slow to negotiate */
    NbdConnState state;
    bool free_scheduled;

    /* The message being read: rx_want bytes into rx_buf. */
    uint8_t hdr[NBD_REQUEST_SIZE];
    uint8_t *rx_buf;
    size_t rx_want;
    size_t rx_have;

    /* Handshake. */
    bool fixed_newstyle;
    bool no_zeroes;
    bool structured;            /* NBD_OPT_STRUCTURED_REPLY acked */
    char *meta_export;          /* SET_META_CONTEXT chose base:allocation */
    uint32_t opt;
    uint32_t opt_len;
    uint8_t *opt_data;
    unsigned options;

    /* Transmission. */
    NbdExport *exp;             /* holds exp->clients */
    bool meta_alloc;            /* base:allocation active */
    NbdRequest *write_req;      /* WRITE_PAYLOAD: its buffer fills */
    int in_flight;
    uint64_t in_flight_bytes;

    GQueue out;                 /* NbdOutSeg, oldest first */
    size_t out_pending;         /* bytes queued, not yet written */
} NbdConn;

struct NbdRequest {
    NbdConn *conn;
    uint16_t flags;
    uint16_t type;
    uint64_t cookie;
    uint64_t offset;
    uint32_t len;
    uint8_t *buf;               /* READ / WRITE data */
    struct iovec iov;
    BlockIov qiov;
    BlockExtent *extents;       /* BLOCK_STATUS */
    int n_extents;
};

/* ---- server.c: connection I/O ---- */

/*
 * Output: nbd_conn_queue() appends a copy, nbd_conn_queue_owned() appends
 * buf itself (g_malloc'ed; g_free'd once written), nbd_conn_push() writes
 * what the socket takes now (one sendmsg for a reply's pieces) and arms
 * the writable watch for the rest. nbd_conn_send() is queue + push.
 */
void nbd_conn_queue(NbdConn *conn, const void *buf, size_t len);
void nbd_conn_queue_owned(NbdConn *conn, void *buf, size_t len);
void nbd_conn_push(NbdConn *conn);
void nbd_conn_send(NbdConn *conn, const void *buf, size_t len);
/*
 * Reads the next len bytes into buf (a pointer to conn->hdr or owned);
 * does nothing once the connection is dead.
 */
void nbd_conn_expect(NbdConn *conn, NbdConnState state, void *buf,
                     size_t len);
/*
 * Hostile or broken peer: one log line ("NBD client #3 (...): REASON;
 * disconnected"), the socket closed at once.
 */
void nbd_conn_drop(NbdConn *conn, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Closes the socket without a log line (removal, stop, clean EOF). */
void nbd_conn_close(NbdConn *conn);
/* No more input; close when the queued output is written. */
void nbd_conn_drain(NbdConn *conn);
/* A request finished (reply queued or connection dead). */
void nbd_conn_request_done(NbdConn *conn, NbdRequest *req);
/* Re-evaluates the watches (input pauses under load). */
void nbd_conn_update(NbdConn *conn);
/* The handshake ended (transmission starts): no more deadline. */
void nbd_conn_handshake_done(NbdConn *conn);
/* Closes every connection that opened exp (hard removal). */
void nbd_server_close_export_clients(NbdExport *exp);

/* ---- handshake.c ---- */

void nbd_handshake_start(NbdConn *conn);
void nbd_handshake_client_flags(NbdConn *conn);
void nbd_handshake_opt_header(NbdConn *conn);
void nbd_handshake_opt_data(NbdConn *conn);
/* The transmission flags of exp as this connection sees them. */
uint16_t nbd_export_tx_flags(const NbdExport *exp, const NbdConn *conn);

/* ---- transmission.c ---- */

void nbd_tx_start(NbdConn *conn);
void nbd_tx_request_header(NbdConn *conn);
void nbd_tx_write_payload(NbdConn *conn);

/* ---- export.c ---- */

void nbd_export_client_open(NbdExport *exp);
void nbd_export_client_close(NbdExport *exp);

/* Big-endian helpers. */
static inline void nbd_put16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static inline void nbd_put32(uint8_t *p, uint32_t v)
{
    nbd_put16(p, v >> 16);
    nbd_put16(p + 2, v);
}

static inline void nbd_put64(uint8_t *p, uint64_t v)
{
    nbd_put32(p, v >> 32);
    nbd_put32(p + 4, v);
}

static inline uint16_t nbd_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t nbd_get32(const uint8_t *p)
{
    return (uint32_t)nbd_get16(p) << 16 | nbd_get16(p + 2);
}

static inline uint64_t nbd_get64(const uint8_t *p)
{
    return (uint64_t)nbd_get32(p) << 32 | nbd_get32(p + 4);
}

#endif
