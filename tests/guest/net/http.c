/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: HTTP/1.1 server (port 80), keep-alive and pipelining.
 *
 *   /       a fixed page (same bytes every time, for benchmarks)
 *   /count  a counter that goes up by one per request to it
 *   /tsc    the TSC now: differs between two runs of the same guest (so a
 *           COLO comparison of primary and secondary output sees it)
 *   /stats  the network counters and the TCP connection table
 *
 * GET and HEAD only.  A request is handled once its whole header (and any
 * Content-Length body) is in the receive buffer and the transmit buffer
 * has room for the largest answer; otherwise it waits for more input or
 * for ACKs.  A header that cannot fit the receive buffer gets 431 and the
 * connection is closed; a request line that does not parse gets 400.
 */
#include "tcp.h"
#include "services.h"

#define HTTP_MAX_BODY   (8 * 1024 + 512)    /* /stats at most */
#define HTTP_MAX_REPLY  (HTTP_MAX_BODY + 256)

static const char index_page[] =
    "<!DOCTYPE html>\n"
    "<html><head><title>Tandem test guest</title></head>\n"
    "<body><h1>Tandem test guest</h1>\n"
    "<p>Served by the built-in guest's own TCP/IP stack, polled at CPL3.</p>\n"
    "</body></html>\n";

static char body[HTTP_MAX_BODY];

/* Case-insensitive prefix match of a header line. */
static bool hdr_is(const u8 *p, u32 n, const char *name)
{
    u32 i, k = (u32)strlen(name);

    if (n < k) {
        return false;
    }
    for (i = 0; i < k; i++) {
        if ((p[i] | 0x20) != (u8)(name[i] | 0x20)) {
            return false;
        }
    }
    return true;
}

/* Value of a header line after "Name:", spaces skipped. */
static const u8 *hdr_value(const u8 *p, u32 n, u32 klen, u32 *vlen)
{
    u32 i = klen;

    while (i < n && (p[i] == ' ' || p[i] == '\t')) {
        i++;
    }
    *vlen = n - i;
    return p + i;
}

static bool contains_token(const u8 *v, u32 n, const char *tok)
{
    u32 i, k = (u32)strlen(tok);

    for (i = 0; i + k <= n; i++) {
        if (hdr_is(v + i, n - i, tok)) {
            return true;
        }
    }
    return false;
}

static u32 find_header_end(const u8 *p, u32 n)
{
    u32 i;

    for (i = 3; i < n; i++) {
        if (p[i - 3] == '\r' && p[i - 2] == '\n' && p[i - 1] == '\r' && p[i] == '\n') {
            return i + 1;
        }
    }
    return 0;
}

static void reply(struct tcp_conn *c, const char *status, const char *type,
                  const char *content, u32 len, bool head, bool keep)
{
    struct line l = { .len = 0 };

    ln_str(&l, "HTTP/1.1 ");
    ln_str(&l, status);
    ln_str(&l, "\r\nServer: tandem-guest\r\nContent-Type: ");
    ln_str(&l, type);
    ln_str(&l, "\r\nContent-Length: ");
    ln_dec(&l, len);
    ln_str(&l, keep ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
    tcp_write(c, l.buf, (u32)l.len);
    if (!head) {
        tcp_write(c, content, len);
    }
    STATUS->net.http_requests++;
}

static u32 stats_body(void)
{
    const struct tg_net_status *ns = &STATUS->net;
    struct line l = { .len = 0 };
    u32 n;

    ln_str(&l, "rx=");
    ln_dec(&l, ns->rx_frames);
    ln_str(&l, " tx=");
    ln_dec(&l, ns->tx_frames);
    ln_str(&l, " rx_dropped=");
    ln_dec(&l, ns->rx_dropped);
    ln_str(&l, " tx_dropped=");
    ln_dec(&l, ns->tx_dropped);
    ln_str(&l, " echo=");
    ln_dec(&l, ns->icmp_echo);
    ln_str(&l, " udp_echo=");
    ln_dec(&l, ns->udp_echo);
    ln_str(&l, "\n");
    memcpy(body, l.buf, l.len);
    n = (u32)l.len;
    l.len = 0;
    ln_str(&l, "accepted=");
    ln_dec(&l, ns->tcp_accepted);
    ln_str(&l, " closed=");
    ln_dec(&l, ns->tcp_closed);
    ln_str(&l, " retransmits=");
    ln_dec(&l, ns->tcp_retransmits);
    ln_str(&l, " refused=");
    ln_dec(&l, ns->tcp_refused_full);
    ln_str(&l, " http=");
    ln_dec(&l, ns->http_requests);
    ln_str(&l, " resp=");
    ln_dec(&l, ns->resp_commands);
    ln_str(&l, "\n");
    memcpy(body + n, l.buf, l.len);
    n += (u32)l.len;
    return n + tcp_format_stats(body + n, (u32)sizeof(body) - n);
}

/* Path p[0..n) -> status, content type, body; head: no body sent. */
static void route(struct tcp_conn *c, const u8 *p, u32 n, bool head, bool keep)
{
    struct line l = { .len = 0 };

    if (n == 1 && p[0] == '/') {
        reply(c, "200 OK", "text/html", index_page, sizeof(index_page) - 1, head, keep);
    } else if (n == 6 && !memcmp(p, "/count", 6)) {
        ln_dec(&l, ++STATUS->net.http_count);
        ln_str(&l, "\n");
        reply(c, "200 OK", "text/plain", l.buf, (u32)l.len, head, keep);
    } else if (n == 4 && !memcmp(p, "/tsc", 4)) {
        ln_str(&l, "tsc=");
        ln_dec(&l, rdtsc());
        ln_str(&l, "\n");
        reply(c, "200 OK", "text/plain", l.buf, (u32)l.len, head, keep);
    } else if (n == 6 && !memcmp(p, "/stats", 6)) {
        reply(c, "200 OK", "text/plain", body, stats_body(), head, keep);
    } else {
        reply(c, "404 Not Found", "text/plain", "not found\n", 10, head, keep);
    }
}

static u32 parse_len(const u8 *v, u32 n, bool *ok)
{
    u32 i, x = 0;

    *ok = n > 0 && n <= 7;
    for (i = 0; i < n && *ok; i++) {
        if (v[i] < '0' || v[i] > '9') {
            *ok = false;
        }
        x = x * 10 + (u32)(v[i] - '0');
    }
    return x;
}

/* One request at the head of the buffer: handled (true), or wait (false). */
static bool handle_one(struct tcp_conn *c)
{
    const u8 *p = tcp_rx_data(c);
    u32 n = tcp_rx_len(c), end = find_header_end(p, n);
    u32 i, ls, le, sp1 = 0, sp2 = 0, clen = 0;
    bool head, http10, keep, ok = true;

    if (!end) {
        if (n == TCP_RX_CAP) {
            reply(c, "431 Request Header Fields Too Large", "text/plain", "", 0, false, false);
            tcp_close(c);
        }
        return false;
    }
    /* request line: METHOD SP PATH SP HTTP/1.x */
    for (le = 0; le + 1 < end && p[le] != '\r'; le++) {
    }
    for (i = 0; i < le; i++) {
        if (p[i] == ' ') {
            if (!sp1) {
                sp1 = i;
            } else if (!sp2) {
                sp2 = i;
            }
        }
    }
    if (!sp1 || sp2 <= sp1 + 1 || le - sp2 != 9 || memcmp(p + sp2 + 1, "HTTP/1.", 7) ||
        (p[le - 1] != '0' && p[le - 1] != '1')) {
        reply(c, "400 Bad Request", "text/plain", "bad request\n", 12, false, false);
        tcp_close(c);
        return false;
    }
    http10 = p[le - 1] == '0';
    keep = !http10;
    /* headers */
    for (ls = le + 2; ls + 2 < end; ls = le + 2) {
        u32 vlen;
        const u8 *v;

        for (le = ls; le + 1 < end && p[le] != '\r'; le++) {
        }
        if (hdr_is(p + ls, le - ls, "connection:")) {
            v = hdr_value(p + ls, le - ls, 11, &vlen);
            if (contains_token(v, vlen, "close")) {
                keep = false;
            } else if (contains_token(v, vlen, "keep-alive")) {
                keep = true;
            }
        } else if (hdr_is(p + ls, le - ls, "content-length:")) {
            v = hdr_value(p + ls, le - ls, 15, &vlen);
            clen = parse_len(v, vlen, &ok);
        }
    }
    if (!ok || end + clen > TCP_RX_CAP) {
        reply(c, "413 Content Too Large", "text/plain", "", 0, false, false);
        tcp_close(c);
        return false;
    }
    if (end + clen > n) {
        return false;                   /* body still coming */
    }
    if (tcp_tx_space(c) < HTTP_MAX_REPLY) {
        return false;                   /* wait for ACKs to make room */
    }
    head = sp1 == 4 && !memcmp(p, "HEAD", 4);
    if (!head && !(sp1 == 3 && !memcmp(p, "GET", 3))) {
        reply(c, "405 Method Not Allowed", "text/plain", "GET or HEAD\n", 12, false, keep);
    } else {
        route(c, p + sp1 + 1, sp2 - sp1 - 1, head, keep);
    }
    tcp_rx_consume(c, end + clen);
    if (!keep) {
        tcp_close(c);
        return false;
    }
    return true;
}

static void http_event(struct tcp_conn *c)
{
    while (!c->fin_queued && handle_one(c)) {
    }
    if (tcp_peer_closed(c)) {
        tcp_close(c);                   /* a half-sent request is dropped */
    }
}

const struct tcp_service http_service = {
    .name = "http", .port = 80, .on_event = http_event,
};
