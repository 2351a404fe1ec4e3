/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: a Redis-protocol (RESP2) server on port 6379, enough
 * for redis-cli and redis-benchmark: PING, ECHO, SET, GET, INCR, DEL,
 * DBSIZE, FLUSHDB/FLUSHALL, QUIT, and empty answers to CONFIG GET and
 * COMMAND (which the clients ask at start).  Keys live in kv.c.
 *
 * Requests are arrays of bulk strings ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
 * or inline lines ("GET k\r\n").  Pipelined commands are run one after the
 * other while the transmit buffer has room for the largest reply.  A
 * malformed request gets "-ERR Protocol error" and the connection closes,
 * as Redis does.
 *
 * With persist=on (serve), every change goes to the disk log first
 * (kvlog.c: written and flushed), then to the store, then the reply: a
 * client that got +OK has its change on stable storage.
 */
#include "tcp.h"
#include "services.h"
#include "../disk/disk.h"

#define RESP_MAX_ARGS   16
#define RESP_MAX_REPLY  (KV_VAL_MAX + 64)

struct arg {
    const u8 *p;
    u32 n;
};

enum parse { PARSE_OK, PARSE_MORE, PARSE_BAD };

/* Decimal after p[0] up to "\r\n"; *line_end = index after the "\n". */
static enum parse parse_line_num(const u8 *p, u32 n, int64_t *v, u32 *line_end)
{
    u32 i = 1;
    bool neg = false;
    int64_t x = 0;

    if (i < n && p[i] == '-') {
        neg = true;
        i++;
    }
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        if (x > 100000000) {
            return PARSE_BAD;
        }
        x = x * 10 + (p[i] - '0');
    }
    if (i + 1 >= n) {
        return i - 1 > 12 ? PARSE_BAD : PARSE_MORE;
    }
    if (p[i] != '\r' || p[i + 1] != '\n' || i == 1 + (neg ? 1u : 0u)) {
        return PARSE_BAD;
    }
    *v = neg ? -x : x;
    *line_end = i + 2;
    return PARSE_OK;
}

static enum parse parse_array(const u8 *p, u32 n, struct arg *args, u32 *argc, u32 *used)
{
    int64_t count, len;
    u32 off, k, i;
    enum parse r = parse_line_num(p, n, &count, &off);

    if (r != PARSE_OK) {
        return r;
    }
    if (count < 1 || count > RESP_MAX_ARGS) {
        return PARSE_BAD;
    }
    for (i = 0; i < (u32)count; i++) {
        if (off >= n) {
            return PARSE_MORE;
        }
        if (p[off] != '$') {
            return PARSE_BAD;
        }
        r = parse_line_num(p + off, n - off, &len, &k);
        if (r != PARSE_OK) {
            return r;
        }
        if (len < 0 || len > TCP_RX_CAP) {
            return PARSE_BAD;
        }
        off += k;
        if ((u64)off + (u64)len + 2 > n) {
            return off + (u32)len + 2 > TCP_RX_CAP ? PARSE_BAD : PARSE_MORE;
        }
        if (p[off + len] != '\r' || p[off + len + 1] != '\n') {
            return PARSE_BAD;
        }
        args[i].p = p + off;
        args[i].n = (u32)len;
        off += (u32)len + 2;
    }
    *argc = (u32)count;
    *used = off;
    return PARSE_OK;
}

static enum parse parse_inline(const u8 *p, u32 n, struct arg *args, u32 *argc, u32 *used)
{
    u32 i, end = 0, c = 0;

    while (end < n && p[end] != '\n') {
        end++;
    }
    if (end == n) {
        return n >= 4096 ? PARSE_BAD : PARSE_MORE;
    }
    for (i = 0; i < end;) {
        while (i < end && (p[i] == ' ' || p[i] == '\r' || p[i] == '\t')) {
            i++;
        }
        if (i == end) {
            break;
        }
        if (c == RESP_MAX_ARGS) {
            return PARSE_BAD;
        }
        args[c].p = p + i;
        while (i < end && p[i] != ' ' && p[i] != '\r' && p[i] != '\t') {
            i++;
        }
        args[c].n = (u32)(p + i - args[c].p);
        c++;
    }
    *argc = c;
    *used = end + 1;
    return PARSE_OK;
}

static bool is_cmd(const struct arg *a, const char *name)
{
    u32 i;

    if (a->n != strlen(name)) {
        return false;
    }
    for (i = 0; i < a->n; i++) {
        if ((a->p[i] | 0x20) != (u8)(name[i] | 0x20)) {
            return false;
        }
    }
    return true;
}

static void w_str(struct tcp_conn *c, const char *s)
{
    tcp_write_str(c, s);
}

static void w_int(struct tcp_conn *c, int64_t v)
{
    struct line l = { .len = 0 };

    ln_str(&l, ":");
    if (v < 0) {
        ln_str(&l, "-");
        ln_dec(&l, (u64)-v);
    } else {
        ln_dec(&l, (u64)v);
    }
    ln_str(&l, "\r\n");
    tcp_write(c, l.buf, (u32)l.len);
}

static void w_bulk(struct tcp_conn *c, const u8 *p, u32 n)
{
    struct line l = { .len = 0 };

    ln_str(&l, "$");
    ln_dec(&l, n);
    ln_str(&l, "\r\n");
    tcp_write(c, l.buf, (u32)l.len);
    tcp_write(c, p, n);
    tcp_write(c, "\r\n", 2);
}

/* "-ERR unknown command 'x'" with the name cut short and made printable. */
static void w_err_cmd(struct tcp_conn *c, const char *what, const struct arg *a)
{
    struct line l = { .len = 0 };
    u32 i;

    ln_str(&l, "-ERR ");
    ln_str(&l, what);
    ln_str(&l, " '");
    for (i = 0; i < a->n && i < 32; i++) {
        char ch[2] = { a->p[i] >= 0x20 && a->p[i] < 0x7f ? (char)a->p[i] : '?', 0 };
        ln_str(&l, ch);
    }
    ln_str(&l, "'\r\n");
    tcp_write(c, l.buf, (u32)l.len);
}

/* The change is on the disk (or there is no disk to put it on). */
static bool logged(enum kvlog_op op, const struct arg *key, const u8 *val, u32 vlen)
{
    return !diskcfg.persist ||
           kvlog_append(op, key ? key->p : NULL, key ? key->n : 0, val, vlen);
}

static void cmd_set(struct tcp_conn *c, const struct arg *key, const struct arg *val)
{
    if (key->n > KV_KEY_MAX || val->n > KV_VAL_MAX) {
        w_str(c, "-ERR key or value too large for the guest store\r\n");
        return;
    }
    if (!logged(KVLOG_SET, key, val->p, val->n)) {
        w_str(c, "-ERR guest disk log write failed\r\n");
        return;
    }
    switch (kv_set(key->p, key->n, val->p, val->n)) {
    case KV_OK:
        w_str(c, "+OK\r\n");
        break;
    case KV_FULL:
        w_str(c, "-ERR guest store is full\r\n");
        break;
    case KV_TOO_BIG:
        w_str(c, "-ERR key or value too large for the guest store\r\n");
        break;
    }
}

static void cmd_incr(struct tcp_conn *c, const struct arg *key)
{
    const u8 *v;
    u32 n, i;
    int64_t x = 0;
    bool neg = false, ok = true;
    struct line l = { .len = 0 };

    if (kv_get(key->p, key->n, &v, &n)) {
        i = 0;
        if (n && v[0] == '-') {
            neg = true;
            i = 1;
        }
        ok = n > i && n - i <= 18;      /* 18 digits: no overflow below */
        for (; ok && i < n; i++) {
            ok = v[i] >= '0' && v[i] <= '9';
            x = x * 10 + (v[i] - '0');
        }
        x = neg ? -x : x;
    }
    if (!ok) {
        w_str(c, "-ERR value is not an integer or out of range\r\n");
        return;
    }
    x++;
    if (x < 0) {
        ln_str(&l, "-");
        ln_dec(&l, (u64)-x);
    } else {
        ln_dec(&l, (u64)x);
    }
    if (!logged(KVLOG_SET, key, (const u8 *)l.buf, (u32)l.len)) {
        w_str(c, "-ERR guest disk log write failed\r\n");
        return;
    }
    if (kv_set(key->p, key->n, (const u8 *)l.buf, (u32)l.len) != KV_OK) {
        w_str(c, "-ERR guest store is full\r\n");
        return;
    }
    w_int(c, x);
}

/* Runs one command; false if the connection is to close afterwards. */
static bool run(struct tcp_conn *c, const struct arg *a, u32 argc)
{
    const struct arg *cmd = &a[0];
    const u8 *v;
    u32 n, i;

    STATUS->net.resp_commands++;
    if (is_cmd(cmd, "PING") && argc <= 2) {
        if (argc == 2) {
            w_bulk(c, a[1].p, a[1].n);
        } else {
            w_str(c, "+PONG\r\n");
        }
    } else if (is_cmd(cmd, "ECHO") && argc == 2) {
        w_bulk(c, a[1].p, a[1].n);
    } else if (is_cmd(cmd, "SET") && argc == 3) {
        cmd_set(c, &a[1], &a[2]);
    } else if (is_cmd(cmd, "SET") && argc > 3) {
        w_str(c, "-ERR syntax error\r\n");
    } else if (is_cmd(cmd, "GET") && argc == 2) {
        if (kv_get(a[1].p, a[1].n, &v, &n)) {
            w_bulk(c, v, n);
        } else {
            w_str(c, "$-1\r\n");
        }
    } else if (is_cmd(cmd, "INCR") && argc == 2) {
        cmd_incr(c, &a[1]);
    } else if (is_cmd(cmd, "DEL") && argc >= 2) {
        for (i = 1, n = 0; i < argc; i++) {
            if (kv_get(a[i].p, a[i].n, &v, &n) && !logged(KVLOG_DEL, &a[i], NULL, 0)) {
                w_str(c, "-ERR guest disk log write failed\r\n");
                return true;
            }
        }
        for (i = 1, n = 0; i < argc; i++) {
            n += kv_del(a[i].p, a[i].n);
        }
        w_int(c, n);
    } else if (is_cmd(cmd, "DBSIZE") && argc == 1) {
        w_int(c, kv_count());
    } else if ((is_cmd(cmd, "FLUSHDB") || is_cmd(cmd, "FLUSHALL")) && argc <= 2) {
        if (!logged(KVLOG_CLEAR, NULL, NULL, 0)) {
            w_str(c, "-ERR guest disk log write failed\r\n");
        } else {
            kv_clear();
            w_str(c, "+OK\r\n");
        }
    } else if ((is_cmd(cmd, "CONFIG") || is_cmd(cmd, "COMMAND")) && argc <= 3) {
        w_str(c, "*0\r\n");
    } else if (is_cmd(cmd, "QUIT")) {
        w_str(c, "+OK\r\n");
        return false;
    } else if (is_cmd(cmd, "PING") || is_cmd(cmd, "ECHO") || is_cmd(cmd, "SET") ||
               is_cmd(cmd, "GET") || is_cmd(cmd, "INCR") || is_cmd(cmd, "DEL") ||
               is_cmd(cmd, "DBSIZE")) {
        w_err_cmd(c, "wrong number of arguments for", cmd);
    } else {
        w_err_cmd(c, "unknown command", cmd);
    }
    return true;
}

static void resp_event(struct tcp_conn *c)
{
    struct arg args[RESP_MAX_ARGS];
    u32 argc = 0, used = 0;

    while (!c->fin_queued && tcp_rx_len(c) && tcp_tx_space(c) >= RESP_MAX_REPLY) {
        const u8 *p = tcp_rx_data(c);
        u32 n = tcp_rx_len(c);
        enum parse r = p[0] == '*' ? parse_array(p, n, args, &argc, &used)
                                   : parse_inline(p, n, args, &argc, &used);

        if (r == PARSE_MORE) {
            break;
        }
        if (r == PARSE_BAD) {
            w_str(c, "-ERR Protocol error\r\n");
            tcp_close(c);
            break;
        }
        if (argc && !run(c, args, argc)) {
            tcp_close(c);
        }
        tcp_rx_consume(c, used);
    }
    if (tcp_peer_closed(c)) {
        tcp_close(c);
    }
}

const struct tcp_service resp_service = {
    .name = "resp", .port = 6379, .on_event = resp_event,
};
