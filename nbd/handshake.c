/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fixed newstyle handshake (nbd-proto.h has the wire format): the
 * greeting, the client flags, and option haggling. Each option is one
 * row of the table at the end; its handler reads the option data and
 * queues its replies. Unknown options get NBD_REP_ERR_UNSUP; malformed
 * ones NBD_REP_ERR_INVALID; only a broken frame (bad magic, an option
 * too long to hold, unknown client flags, a flood) ends the connection,
 * with a log line. NBD_OPT_EXPORT_NAME naming no export ends it too, as
 * the protocol requires (it has no way to answer an error).
 */
#include <string.h>
#include "nbd-internal.h"
#include "trace.h"

#define NBD_KNOWN_CLIENT_FLAGS  (NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)

/* An option reply: header and data. */
static void nbd_opt_reply(NbdConn *conn, uint32_t type, const void *data,
                          uint32_t len)
{
    uint8_t hdr[NBD_REP_HEADER_SIZE];

    nbd_put64(hdr, NBD_REP_MAGIC);
    nbd_put32(hdr + 8, conn->opt);
    nbd_put32(hdr + 12, type);
    nbd_put32(hdr + 16, len);
    trace_nbd_opt_reply(conn->id, conn->opt, type, len);
    nbd_conn_send(conn, hdr, sizeof(hdr));
    if (len) {
        nbd_conn_send(conn, data, len);
    }
}

static void nbd_opt_ack(NbdConn *conn)
{
    nbd_opt_reply(conn, NBD_REP_ACK, NULL, 0);
}

/* An error reply whose data is a message for the user. */
static void nbd_opt_error(NbdConn *conn, uint32_t type, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static void nbd_opt_error(NbdConn *conn, uint32_t type, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    nbd_opt_reply(conn, type, msg, MIN(strlen(msg), NBD_MAX_STRING_SIZE));
}

uint16_t nbd_export_tx_flags(const NbdExport *exp, const NbdConn *conn)
{
    uint16_t flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
                     NBD_FLAG_SEND_FUA;

    if (exp->writable) {
        flags |= NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES;
    } else {
        /* Read-only: every connection sees the same bytes. */
        flags |= NBD_FLAG_READ_ONLY | NBD_FLAG_CAN_MULTI_CONN;
    }
    if (conn->structured) {
        flags |= NBD_FLAG_SEND_DF;
    }
    return flags;
}

void nbd_handshake_start(NbdConn *conn)
{
    uint8_t greeting[NBD_HANDSHAKE_SIZE];

    nbd_put64(greeting, NBD_INIT_MAGIC);
    nbd_put64(greeting + 8, NBD_OPTS_MAGIC);
    nbd_put16(greeting + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    nbd_conn_send(conn, greeting, sizeof(greeting));
    nbd_conn_expect(conn, NBD_CONN_CLIENT_FLAGS, conn->hdr, 4);
}

void nbd_handshake_client_flags(NbdConn *conn)
{
    uint32_t flags = nbd_get32(conn->hdr);

    if (flags & ~NBD_KNOWN_CLIENT_FLAGS) {
        nbd_conn_drop(conn, "unknown client flags 0x%x", flags);
        return;
    }
    conn->fixed_newstyle = flags & NBD_FLAG_C_FIXED_NEWSTYLE;
    conn->no_zeroes = flags & NBD_FLAG_C_NO_ZEROES;
    trace_nbd_client_flags(conn->id, flags);
    nbd_conn_expect(conn, NBD_CONN_OPT_HEADER, conn->hdr,
                    NBD_OPT_HEADER_SIZE);
}

void nbd_handshake_opt_header(NbdConn *conn)
{
    uint64_t magic = nbd_get64(conn->hdr);

    if (magic != NBD_OPTS_MAGIC) {
        nbd_conn_drop(conn, "bad option magic 0x%016" G_GINT64_MODIFIER "x",
                      magic);
        return;
    }
    conn->opt = nbd_get32(conn->hdr + 8);
    conn->opt_len = nbd_get32(conn->hdr + 12);
    if (conn->opt_len > NBD_MAX_OPT_DATA) {
        nbd_conn_drop(conn, "option %u announces %u bytes of data (the "
                      "limit is %u)", conn->opt, conn->opt_len,
                      NBD_MAX_OPT_DATA);
        return;
    }
    if (++conn->options > NBD_MAX_OPTIONS) {
        nbd_conn_drop(conn, "more than %u options", NBD_MAX_OPTIONS);
        return;
    }
    g_free(conn->opt_data);
    conn->opt_data = g_malloc(conn->opt_len + 1);
    conn->opt_data[conn->opt_len] = 0;
    nbd_conn_expect(conn, NBD_CONN_OPT_DATA, conn->opt_data, conn->opt_len);
    if (conn->opt_len == 0) {
        nbd_handshake_opt_data(conn);
    }
}

/* A cursor over the option data: short reads make it invalid. */
typedef struct OptReader {
    const uint8_t *p;
    uint32_t left;
    bool bad;
} OptReader;

static uint32_t opt_u32(OptReader *r)
{
    uint32_t v;

    if (r->bad || r->left < 4) {
        r->bad = true;
        return 0;
    }
    v = nbd_get32(r->p);
    r->p += 4;
    r->left -= 4;
    return v;
}

static uint16_t opt_u16(OptReader *r)
{
    uint16_t v;

    if (r->bad || r->left < 2) {
        r->bad = true;
        return 0;
    }
    v = nbd_get16(r->p);
    r->p += 2;
    r->left -= 2;
    return v;
}

/* A string of len bytes (NUL-terminated copy), or NULL when short/long. */
static char *opt_str(OptReader *r, uint32_t len)
{
    char *s;

    if (r->bad || len > r->left || len > NBD_MAX_STRING_SIZE ||
        memchr(r->p, 0, len)) {
        r->bad = true;
        return NULL;
    }
    s = g_strndup((const char *)r->p, len);
    r->p += len;
    r->left -= len;
    return s;
}

static void nbd_enter_transmission(NbdConn *conn, NbdExport *exp)
{
    if (conn->state == NBD_CONN_DEAD) {
        /* The reply that ends the handshake could not be sent. */
        return;
    }
    conn->exp = exp;
    nbd_export_client_open(exp);
    nbd_conn_handshake_done(conn);
    conn->meta_alloc = conn->meta_export &&
                       !strcmp(conn->meta_export, exp->name);
    trace_nbd_transmission(conn->id, exp->name, conn->structured,
                           conn->meta_alloc);
    nbd_tx_start(conn);
}

static void opt_export_name(NbdConn *conn)
{
    const char *name = (const char *)conn->opt_data;
    NbdExport *exp = nbd_export_find(name);
    uint8_t reply[8 + 2 + NBD_EXPORT_NAME_REPLY_PAD] = { 0 };

    if (strlen(name) != conn->opt_len || !exp) {
        /* No error reply exists for this option: the session ends. */
        nbd_conn_drop(conn, "NBD_OPT_EXPORT_NAME: no export '%s'", name);
        return;
    }
    nbd_put64(reply, blk_getlength(exp->blk));
    nbd_put16(reply + 8, nbd_export_tx_flags(exp, conn));
    nbd_conn_send(conn, reply, conn->no_zeroes ? 10 : sizeof(reply));
    nbd_enter_transmission(conn, exp);
}

static void opt_abort(NbdConn *conn)
{
    nbd_opt_ack(conn);
    nbd_conn_drain(conn);
}

static void opt_list(NbdConn *conn)
{
    if (conn->opt_len) {
        nbd_opt_error(conn, NBD_REP_ERR_INVALID,
                      "NBD_OPT_LIST takes no data");
        return;
    }
    for (NbdExport *exp = nbd_export_next(NULL); exp;
         exp = nbd_export_next(exp)) {
        size_t nlen = strlen(exp->name);
        size_t dlen = exp->description ? strlen(exp->description) : 0;
        g_autofree uint8_t *data = g_malloc(4 + nlen + dlen);

        if (exp->shutting_down) {
            continue;
        }
        nbd_put32(data, nlen);
        memcpy(data + 4, exp->name, nlen);
        memcpy(data + 4 + nlen, exp->description ? exp->description : "",
               dlen);
        nbd_opt_reply(conn, NBD_REP_SERVER, data, 4 + nlen + dlen);
    }
    nbd_opt_ack(conn);
}

static void info_string(NbdConn *conn, uint16_t type, const char *s)
{
    size_t len = strlen(s);
    g_autofree uint8_t *data = g_malloc(2 + len);

    nbd_put16(data, type);
    memcpy(data + 2, s, len);
    nbd_opt_reply(conn, NBD_REP_INFO, data, 2 + len);
}

/* NBD_OPT_INFO and NBD_OPT_GO: the same request, GO then transmits. */
static void opt_info_go(NbdConn *conn)
{
    OptReader r = { conn->opt_data, conn->opt_len, false };
    uint32_t nlen = opt_u32(&r);
    g_autofree char *name = opt_str(&r, nlen);
    uint16_t n = opt_u16(&r);
    bool want_name = false, want_desc = false;
    uint8_t export_info[12], bs_info[14];
    NbdExport *exp;

    for (uint16_t i = 0; i < n && !r.bad; i++) {
        uint16_t what = opt_u16(&r);

        want_name |= what == NBD_INFO_NAME;
        want_desc |= what == NBD_INFO_DESCRIPTION;
    }
    if (r.bad || r.left) {
        nbd_opt_error(conn, NBD_REP_ERR_INVALID, "malformed %s request",
                      conn->opt == NBD_OPT_GO ? "NBD_OPT_GO" : "NBD_OPT_INFO");
        return;
    }
    exp = nbd_export_find(name);
    if (!exp) {
        nbd_opt_error(conn, NBD_REP_ERR_UNKNOWN, "export '%s' not present",
                      name);
        return;
    }
    nbd_put16(export_info, NBD_INFO_EXPORT);
    nbd_put64(export_info + 2, blk_getlength(exp->blk));
    nbd_put16(export_info + 10, nbd_export_tx_flags(exp, conn));
    nbd_opt_reply(conn, NBD_REP_INFO, export_info, sizeof(export_info));
    if (want_name) {
        info_string(conn, NBD_INFO_NAME, exp->name);
    }
    if (want_desc && exp->description) {
        info_string(conn, NBD_INFO_DESCRIPTION, exp->description);
    }
    /* Always sent: the minimum (1) is the default a client assumes. */
    nbd_put16(bs_info, NBD_INFO_BLOCK_SIZE);
    nbd_put32(bs_info + 2, 1);
    nbd_put32(bs_info + 6, NBD_PREFERRED_BLOCK);
    nbd_put32(bs_info + 10, NBD_MAX_PAYLOAD);
    nbd_opt_reply(conn, NBD_REP_INFO, bs_info, sizeof(bs_info));
    nbd_opt_ack(conn);
    if (conn->opt == NBD_OPT_GO) {
        nbd_enter_transmission(conn, exp);
    }
}

static void opt_structured_reply(NbdConn *conn)
{
    if (conn->opt_len) {
        nbd_opt_error(conn, NBD_REP_ERR_INVALID,
                      "NBD_OPT_STRUCTURED_REPLY takes no data");
        return;
    }
    if (conn->structured) {
        nbd_opt_error(conn, NBD_REP_ERR_INVALID,
                      "structured replies already negotiated");
        return;
    }
    conn->structured = true;
    nbd_opt_ack(conn);
}

/* Does query select base:allocation? LIST also takes "base:". */
static bool meta_query_matches(const char *query, bool list)
{
    return !strcmp(query, NBD_META_BASE_ALLOCATION) ||
           (list && !strcmp(query, "base:"));
}

static void meta_context_reply(NbdConn *conn, uint32_t id)
{
    size_t len = strlen(NBD_META_BASE_ALLOCATION);
    uint8_t data[4 + sizeof(NBD_META_BASE_ALLOCATION)];

    nbd_put32(data, id);
    memcpy(data + 4, NBD_META_BASE_ALLOCATION, len);
    nbd_opt_reply(conn, NBD_REP_META_CONTEXT, data, 4 + len);
}

/* LIST_META_CONTEXT and SET_META_CONTEXT: only base:allocation exists. */
static void opt_meta_context(NbdConn *conn)
{
    bool list = conn->opt == NBD_OPT_LIST_META_CONTEXT;
    OptReader r = { conn->opt_data, conn->opt_len, false };
    uint32_t nlen = opt_u32(&r);
    g_autofree char *name = opt_str(&r, nlen);
    uint32_t nq = opt_u32(&r);
    bool match = list && nq == 0;

    if (!conn->structured) {
        nbd_opt_error(conn, NBD_REP_ERR_INVALID, "metadata contexts need "
                      "structured replies first");
        return;
    }
    for (uint32_t i = 0; i < nq && !r.bad; i++) {
        uint32_t qlen = opt_u32(&r);
        g_autofree char *q = opt_str(&r, qlen);

        if (q && meta_query_matches(q, list)) {
            match = true;
        }
    }
    if (r.bad || r.left) {
        nbd_opt_error(conn, NBD_REP_ERR_INVALID,
                      "malformed metadata context request");
        return;
    }
    if (!nbd_export_find(name)) {
        nbd_opt_error(conn, NBD_REP_ERR_UNKNOWN, "export '%s' not present",
                      name);
        return;
    }
    if (!list) {
        /* SET replaces the earlier choice, even with nothing. */
        g_free(conn->meta_export);
        conn->meta_export = match ? g_strdup(name) : NULL;
    }
    if (match) {
        meta_context_reply(conn, list ? 0 : NBD_META_ID_BASE_ALLOCATION);
    }
    nbd_opt_ack(conn);
}

typedef struct NbdOption {
    const char *name;
    void (*handle)(NbdConn *conn);
} NbdOption;

static const NbdOption nbd_options[] = {
    [NBD_OPT_EXPORT_NAME] = { "export-name", opt_export_name },
    [NBD_OPT_ABORT] = { "abort", opt_abort },
    [NBD_OPT_LIST] = { "list", opt_list },
    [NBD_OPT_INFO] = { "info", opt_info_go },
    [NBD_OPT_GO] = { "go", opt_info_go },
    [NBD_OPT_STRUCTURED_REPLY] = { "structured-reply",
                                   opt_structured_reply },
    [NBD_OPT_LIST_META_CONTEXT] = { "list-meta-context", opt_meta_context },
    [NBD_OPT_SET_META_CONTEXT] = { "set-meta-context", opt_meta_context },
};

void nbd_handshake_opt_data(NbdConn *conn)
{
    const NbdOption *o = conn->opt < G_N_ELEMENTS(nbd_options) ?
                         &nbd_options[conn->opt] : NULL;

    trace_nbd_opt(conn->id, conn->opt, o && o->name ? o->name : "unknown",
                  conn->opt_len);
    /* The next option header, unless the handler moves on. */
    nbd_conn_expect(conn, NBD_CONN_OPT_HEADER, conn->hdr,
                    NBD_OPT_HEADER_SIZE);
    if (!o || !o->handle) {
        nbd_opt_error(conn, NBD_REP_ERR_UNSUP, "option %u is not supported",
                      conn->opt);
        return;
    }
    o->handle(conn);
}
