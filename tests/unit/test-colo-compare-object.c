/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The colo-compare object (net/colo-compare.c) in-process, without KVM:
 * an iothread, three UNIX socket server chardevs for primary_in,
 * secondary_in and outdev, the object made through -object's path, and
 * the test as the peers: it writes framed synthetic frames
 * (colo-frame.h) for the primary and the secondary and reads what
 * outdev releases. COLO is a real primary mode (colo_run_begin) whose
 * checkpoint events the test delivers with colo_notify(), as the
 * checkpoint loop would; a checkpoint request is read off the COLO wake
 * fd, which counts every request.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>
#include "os-util.h"
#include "chardev/char.h"
#include "monitor/monitor.h"
#include "net/frame-codec.h"
#include "qapi/qapi-commands.h"
#include "qom/object.h"
#include "colo-frame.h"
#include "qmp-test-client.h"
/* colo_run_begin/end and the wake fd: a real primary mode. */
#include "../../migration/colo-internal.h"

static char *tmp_dir;

typedef enum { PRI, SEC, OUT } Port;

typedef struct Fx {
    char *id;
    char *chr_id[3];
    char *path[3];
    int fd[3];          /* the test's ends */
    Object *obj;
    size_t vnet_hdr_len;    /* > 0: vnet_hdr_support=on, this header */
    int out_port;           /* > 0: outdev is a TCP server on this port */
} Fx;

/* ---- plumbing ---- */

/* The object on f's chardevs, through -object's path. */
static void fx_init_obj(Fx *f, const char *extra)
{
    g_autofree char *opts = g_strdup_printf(
        "colo-compare,id=%s,primary_in=%s,secondary_in=%s,outdev=%s,"
        "iothread=iot0%s%s", f->id, f->chr_id[PRI], f->chr_id[SEC],
        f->chr_id[OUT], extra ? "," : "", extra ? extra : "");

    f->obj = object_create_cmdline(opts, &error_abort);
}

static int tcp_connect(int port)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET,
        .sin_port = htons(port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 16384;

    g_assert_cmpint(fd, >=, 0);
    /* a small window, so frames queue in colo-compare, not the kernel */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

/* A new reader on outdev. */
static int out_connect(Fx *f)
{
    return f->out_port ? tcp_connect(f->out_port)
                       : test_unix_connect(f->path[OUT]);
}

/* tcp_out: outdev is a TCP server (QEMU's recipe uses TCP on the
 * loopback), whose kernel takes part of a frame, which a UNIX socket
 * rarely does. */
static void fx_init_common(Fx *f, const char *extra, bool tcp_out)
{
    static unsigned n;
    static const char *const role[] = { "pri", "sec", "out" };

    memset(f, 0, sizeof(*f));
    f->id = g_strdup_printf("cmp%u", n);
    if (extra && strstr(extra, "vnet_hdr_support=on")) {
        f->vnet_hdr_len = 12;
    }
    for (int i = 0; i < 3; i++) {
        g_autofree char *spec = NULL;

        f->chr_id[i] = g_strdup_printf("%s%u", role[i], n);
        f->path[i] = g_strdup_printf("%s/%s", tmp_dir, f->chr_id[i]);
        if (i == OUT && tcp_out) {
            Chardev *chr;
            g_autofree char *label = NULL;
            const char *prefix = "disconnected:tcp:127.0.0.1:";

            spec = g_strdup_printf("socket,id=%s,host=127.0.0.1,port=0,"
                                   "server=on,wait=off", f->chr_id[i]);
            chr = chardev_new_from_opts(spec, &error_abort);
            label = chardev_dup_label(chr);
            g_assert_true(g_str_has_prefix(label, prefix));
            f->out_port = atoi(label + strlen(prefix));
            g_assert_cmpint(f->out_port, >, 0);
            continue;
        }
        spec = g_strdup_printf("socket,id=%s,path=%s,server=on,wait=off",
                               f->chr_id[i], f->path[i]);
        g_assert_nonnull(chardev_new_from_opts(spec, &error_abort));
    }
    n++;
    fx_init_obj(f, extra);
    f->fd[PRI] = test_unix_connect(f->path[PRI]);
    f->fd[SEC] = test_unix_connect(f->path[SEC]);
    f->fd[OUT] = out_connect(f);
}

static void fx_init(Fx *f, const char *extra)
{
    fx_init_common(f, extra, false);
}

static void fx_close_chardevs(Fx *f)
{
    for (int i = 0; i < 3; i++) {
        if (f->fd[i] >= 0) {
            close(f->fd[i]);
        }
        chardev_close(chardev_find(f->chr_id[i]));
        g_free(f->chr_id[i]);
        g_free(f->path[i]);
    }
    g_free(f->id);
}

static void fx_free(Fx *f)
{
    if (f->obj) {
        g_assert_true(object_delete(f->id, &error_abort));
    }
    fx_close_chardevs(f);
}

static void write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        g_assert_cmpint(n, >, 0);
        p += n;
        len -= n;
    }
}

/* One framed frame, as a redirector writes it. */
static void send_frame(Fx *f, Port port, const GByteArray *frame)
{
    uint8_t hdr[NET_FRAME_HDR_MAX];
    size_t n = net_frame_encode_header(hdr, frame->len, f->vnet_hdr_len > 0,
                                       f->vnet_hdr_len);

    write_all(f->fd[port], hdr, n);
    write_all(f->fd[port], frame->data, frame->len);
}

static bool read_exact(int fd, void *buf, size_t len, int timeout_ms)
{
    uint8_t *p = buf;
    gint64 end = g_get_monotonic_time() + timeout_ms * 1000;

    while (len) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int left = (end - g_get_monotonic_time()) / 1000;
        ssize_t n;

        if (left <= 0 || poll(&pfd, 1, left) <= 0) {
            return false;
        }
        n = read(fd, p, len);
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

/* The next frame outdev released; fails after WAIT_MS. */
static GByteArray *recv_frame(Fx *f)
{
    uint8_t hdr[8];
    uint32_t len;
    GByteArray *b;

    if (!read_exact(f->fd[OUT], hdr, f->vnet_hdr_len ? 8 : 4, WAIT_MS)) {
        g_error("outdev: no frame within %d ms", WAIT_MS);
    }
    len = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
    if (f->vnet_hdr_len) {
        /* the frame's own vnet header length, passed through */
        g_assert_cmpuint((uint32_t)hdr[4] << 24 | hdr[5] << 16 |
                         hdr[6] << 8 | hdr[7], ==, f->vnet_hdr_len);
    }
    g_assert_cmpuint(len, >, 0);
    g_assert_cmpuint(len, <=, 70000);
    b = g_byte_array_sized_new(len);
    g_byte_array_set_size(b, len);
    if (!read_exact(f->fd[OUT], b->data, len, WAIT_MS)) {
        g_error("outdev: frame of %u bytes cut short", len);
    }
    return b;
}

static void expect_frame(Fx *f, const GByteArray *want)
{
    g_autoptr(GByteArray) got = recv_frame(f);

    g_assert_cmpmem(got->data, got->len, want->data, want->len);
}

/* Nothing on outdev for ms. */
static void expect_no_output(Fx *f, int ms)
{
    struct pollfd pfd = { .fd = f->fd[OUT], .events = POLLIN };

    g_assert_cmpint(poll(&pfd, 1, ms), ==, 0);
}

/* ---- COLO ---- */

static void colo_begin(void)
{
    ColoState *c = colo_current();

    colo_run_begin(c, COLO_MODE_PRIMARY, NULL, NULL);
    colo_take_triggers(c);
    colo_notify(COLO_EVENT_START, COLO_MODE_PRIMARY);
}

static void colo_end(void)
{
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_PRIMARY);
    colo_run_end(colo_current(), COLO_EXIT_REASON_REQUEST, false);
}

/* A checkpoint as the primary's loop delivers it. */
static void checkpoint(void)
{
    colo_notify(COLO_EVENT_CHECKPOINT_STOP, COLO_MODE_PRIMARY);
    colo_notify(COLO_EVENT_CHECKPOINT_RECEIVED, COLO_MODE_PRIMARY);
}

/* How many checkpoint requests since the last call (the wake fd is an
 * eventfd: one read returns the count), and that they were compare's. */
static uint64_t take_requests(void)
{
    ColoState *c = colo_current();
    uint64_t v = 0;

    if (read(colo_wake_fd(c), &v, sizeof(v)) != sizeof(v)) {
        g_assert_cmpint(errno, ==, EAGAIN);
        v = 0;
    }
    if (v) {
        g_assert_cmpuint(colo_take_triggers(c), ==,
                         1u << COLO_TRIGGER_COMPARE);
    }
    return v;
}

/* ---- stats ---- */

static ColoCompareInfo *find_info(ColoStats *st, const char *id)
{
    for (ColoCompareInfoList *l = st->compare; l; l = l->next) {
        if (!strcmp(l->value->id, id)) {
            return l->value;
        }
    }
    g_error("query-colo-stats: no compare figures for %s", id);
}

typedef bool StatsCond(const ColoCompareInfo *i, void *arg);

/* Waits (WAIT_MS at most) until cond holds on the object's figures. */
static void wait_stats(Fx *f, StatsCond *cond, void *arg, const char *what)
{
    gint64 end = g_get_monotonic_time() + WAIT_MS * 1000;

    for (;;) {
        g_autoptr(ColoStats) st = qmp_query_colo_stats(&error_abort);

        if (cond(find_info(st, f->id), arg)) {
            return;
        }
        if (g_get_monotonic_time() > end) {
            g_test_message("last: held %" PRId64 " out-queued %" PRId64
                           " passed %" PRId64,
                           find_info(st, f->id)->held,
                           find_info(st, f->id)->out_queued_bytes,
                           find_info(st, f->id)->passed);
            g_error("colo-compare %s: not within %d ms: %s", f->id, WAIT_MS,
                    what);
        }
        g_usleep(1000);
    }
}

static bool held_is(const ColoCompareInfo *i, void *arg)
{
    return i->held == GPOINTER_TO_UINT(arg);
}

static bool held_at_least(const ColoCompareInfo *i, void *arg)
{
    return i->held >= GPOINTER_TO_UINT(arg);
}

static unsigned held_now(Fx *f)
{
    g_autoptr(ColoStats) st = qmp_query_colo_stats(&error_abort);

    return find_info(st, f->id)->held;
}

static bool requested(const ColoCompareInfo *i, void *arg)
{
    const ColoCompareCheckpoints *c = i->checkpoints;

    return c->mismatch + c->timeout + c->queue_full + c->table_full > 0;
}

static GByteArray *frame_n(ColoFrameL4 l4, int v6, unsigned n)
{
    ColoFrameOpts o = v6 ? colo_frame_opts6(l4) : colo_frame_opts(l4);
    /* fixed length: TCP frames n = 0, 1, ... follow each other */
    g_autofree char *payload = g_strdup_printf("payload %04u of a frame", n);

    o.ip_id = n;
    if (l4 == CF_TCP) {
        o.seq += n * strlen(payload);
        o.tcp_flags = 0x18;
    }
    return colo_frame_build(&o, payload, strlen(payload));
}

/* ---- the cases ---- */

typedef struct Kind {
    const char *name;
    ColoFrameL4 l4;
    int v6;
    unsigned nvlan;
    bool vnet;
} Kind;

static const Kind kinds[] = {
    { "tcp", CF_TCP, 0, 0 },
    { "udp", CF_UDP, 0, 0 },
    { "icmp", CF_ICMP, 0, 0 },
    { "arp", CF_ARP, 0, 0 },
    { "tcp6", CF_TCP, 1, 0 },
    { "udp6", CF_UDP, 1, 0 },
    { "icmpv6", CF_ICMP, 1, 0 },
    { "udp-vlan", CF_UDP, 0, 1 },
    { "tcp-qinq", CF_TCP, 0, 2 },
    { "tcp-vnet", CF_TCP, 0, 0, true },
    { "icmpv6-vlan-vnet", CF_ICMP, 1, 1, true },
};

/*
 * Matching frames of each kind: held until the secondary's twin came,
 * then released in order and byte-exact (the primary's bytes: its IP id
 * differs from the secondary's), and no checkpoint asked for.
 */
static void test_match(gconstpointer data)
{
    const Kind *k = data;
    GPtrArray *pri = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);
    Fx f;

    fx_init(&f, k->vnet ? "vnet_hdr_support=on" : NULL);
    colo_begin();
    for (unsigned i = 0; i < 8; i++) {
        ColoFrameOpts o = k->v6 ? colo_frame_opts6(k->l4)
                                : colo_frame_opts(k->l4);
        char payload[64] = { 0 };
        size_t plen;

        g_snprintf(payload, sizeof(payload), "%s payload %u", k->name, i);
        plen = k->l4 == CF_ARP ? 0 : strlen(payload);

        o.nvlan = k->nvlan;
        o.vlan[0] = 42;
        o.vlan[1] = 43;
        o.vnet_hdr_len = f.vnet_hdr_len;
        if (k->l4 == CF_TCP) {
            o.seq += i * 64;
            plen = 64;
            o.tcp_flags = 0x18;
        }
        if (k->l4 == CF_ARP) {
            o.dst[3] = 2 + i;       /* one ARP "connection" each */
        }
        o.ip_id = 100 + i;
        g_ptr_array_add(pri, colo_frame_build(&o, payload, plen));
    }
    for (unsigned i = 0; i < pri->len; i++) {
        send_frame(&f, PRI, pri->pdata[i]);
    }
    wait_stats(&f, held_is, GUINT_TO_POINTER(pri->len), "all primary held");
    expect_no_output(&f, 50);
    for (unsigned i = 0; i < pri->len; i++) {
        g_autoptr(GByteArray) sec = g_byte_array_new();
        GByteArray *p = pri->pdata[i];

        g_byte_array_append(sec, p->data, p->len);
        if (k->l4 != CF_ARP) {
            /* the IPv4 id / IPv6 flow label byte: may differ */
            sec->data[f.vnet_hdr_len + 14 + 4 * k->nvlan +
                      (k->v6 ? 1 : 5)] ^= 0x0f;
        }
        send_frame(&f, SEC, sec);
    }
    for (unsigned i = 0; i < pri->len; i++) {
        expect_frame(&f, pri->pdata[i]);
    }
    g_assert_cmpuint(take_requests(), ==, 0);
    {
        g_autoptr(ColoStats) st = qmp_query_colo_stats(&error_abort);
        ColoCompareInfo *info = find_info(st, f.id);
        ColoCompareProtoCounts *m = info->matched;

        g_assert_cmpint(info->held, ==, 0);
        g_assert_cmpint(m->tcp + m->udp + m->icmp + m->icmpv6 + m->arp, ==,
                        pri->len);
        g_assert_cmpint(info->mismatched->udp + info->mismatched->tcp, ==, 0);
    }
    colo_end();
    fx_free(&f);
    g_ptr_array_unref(pri);
}

/*
 * A mismatch asks for one checkpoint, however many frames follow; the
 * frames stay held until the checkpoint is received, then go out in
 * order; the secondary's queues are dropped (a secondary frame from
 * before the checkpoint does not pair with one after it).
 */
static void test_mismatch(void)
{
    ColoFrameOpts o = colo_frame_opts(CF_UDP);
    g_autoptr(GByteArray) p1 = colo_frame_build(&o, "primary-1", 9);
    g_autoptr(GByteArray) s1 = colo_frame_build(&o, "second-1!", 9);
    g_autoptr(GByteArray) p2 = colo_frame_build(&o, "primary-2", 9);
    g_autoptr(GByteArray) s2 = colo_frame_build(&o, "second-2!", 9);
    g_autoptr(GByteArray) stale = colo_frame_build(&o, "stale-sec", 9);
    g_autoptr(GByteArray) x = colo_frame_build(&o, "after-ckp", 9);
    Fx f;

    fx_init(&f, NULL);
    colo_begin();
    send_frame(&f, PRI, p1);
    send_frame(&f, SEC, s1);
    wait_stats(&f, requested, NULL, "a checkpoint request");
    send_frame(&f, PRI, p2);
    send_frame(&f, SEC, s2);
    send_frame(&f, SEC, stale);
    wait_stats(&f, held_is, GUINT_TO_POINTER(2), "two primary held");
    expect_no_output(&f, 50);
    g_assert_cmpuint(take_requests(), ==, 1);

    checkpoint();
    expect_frame(&f, p1);
    expect_frame(&f, p2);
    g_assert_cmpuint(take_requests(), ==, 0);
    /* A new epoch: matches again, "stale" is gone. */
    send_frame(&f, PRI, x);
    send_frame(&f, SEC, x);
    expect_frame(&f, x);
    g_assert_cmpuint(take_requests(), ==, 0);
    {
        g_autoptr(ColoStats) st = qmp_query_colo_stats(&error_abort);
        ColoCompareInfo *info = find_info(st, f.id);

        g_assert_cmpint(info->checkpoints->mismatch, ==, 1);
        g_assert_cmpint(info->mismatched->udp, ==, 1);
        g_assert_cmpint(info->matched->udp, ==, 1);
        g_assert_cmpint(info->flushed, ==, 2);
    }
    colo_end();
    fx_free(&f);
}

/* A primary frame with no twin: one checkpoint after compare_timeout,
 * found by the scan; released by it. */
static void test_timeout(void)
{
    ColoFrameOpts o = colo_frame_opts(CF_ICMP);
    g_autoptr(GByteArray) p = colo_frame_build(&o, "ping", 4);
    gint64 t0;
    Fx f;

    fx_init(&f, "compare_timeout=100,expired_scan_cycle=10");
    colo_begin();
    t0 = g_get_monotonic_time();
    send_frame(&f, PRI, p);
    wait_stats(&f, requested, NULL, "a timeout checkpoint request");
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 100 * 1000);
    g_usleep(50 * 1000);
    g_assert_cmpuint(take_requests(), ==, 1);
    expect_no_output(&f, 10);
    {
        g_autoptr(ColoStats) st = qmp_query_colo_stats(&error_abort);

        g_assert_cmpint(find_info(st, f.id)->checkpoints->timeout, ==, 1);
    }
    checkpoint();
    expect_frame(&f, p);
    colo_end();
    fx_free(&f);
}

/* Past max_queue_size: a checkpoint, and every frame kept and released
 * in order by it. */
static void test_queue_full(void)
{
    GByteArray *p[10];
    Fx f;

    fx_init(&f, "max_queue_size=4");
    colo_begin();
    for (unsigned i = 0; i < 10; i++) {
        p[i] = frame_n(CF_UDP, 0, i);
        send_frame(&f, PRI, p[i]);
    }
    wait_stats(&f, held_is, GUINT_TO_POINTER(10), "ten held");
    g_assert_cmpuint(take_requests(), ==, 1);
    {
        g_autoptr(ColoStats) st = qmp_query_colo_stats(&error_abort);

        g_assert_cmpint(find_info(st, f.id)->checkpoints->queue_full, ==, 1);
    }
    checkpoint();
    for (unsigned i = 0; i < 10; i++) {
        expect_frame(&f, p[i]);
        g_byte_array_unref(p[i]);
    }
    colo_end();
    fx_free(&f);
}

/* ---- a stalled outdev reader ---- */

typedef struct Writer {
    int fd;
    GByteArray *bytes;
} Writer;

static gpointer writer_run(gpointer opaque)
{
    Writer *w = opaque;

    write_all(w->fd, w->bytes->data, w->bytes->len);
    return NULL;
}

/* Past 16 x max_queue_size (at least 4096) frames held, primary_in is
 * not read until the checkpoint; then everything goes out, in order. */
static void test_held_bound(void)
{
    enum { N = 5000 };
    GPtrArray *frames = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);
    GByteArray *all = g_byte_array_new();
    Writer w = { .bytes = all };
    unsigned held;
    GThread *thr;
    Fx f;

    fx_init(&f, "max_queue_size=4");
    colo_begin();
    for (unsigned i = 0; i < N; i++) {
        uint8_t hdr[NET_FRAME_HDR_MAX];
        GByteArray *b = frame_n(CF_UDP, 0, i);
        size_t n = net_frame_encode_header(hdr, b->len, false, 0);

        g_ptr_array_add(frames, b);
        g_byte_array_append(all, hdr, n);
        g_byte_array_append(all, b->data, b->len);
    }
    w.fd = f.fd[PRI];
    thr = g_thread_new("pri-writer", writer_run, &w);
    wait_stats(&f, held_at_least, GUINT_TO_POINTER(4096), "4096 held");
    /* paused: the count stays (past the bound by less than one read,
     * 4 KiB of frames of 66 bytes) */
    held = held_now(&f);
    g_assert_cmpuint(held, <, 4096 + 4096 / 66 + 1);
    g_usleep(100 * 1000);
    g_assert_cmpuint(held_now(&f), ==, held);
    g_assert_cmpuint(take_requests(), ==, 1);
    checkpoint();
    for (unsigned i = 0; i < held; i++) {
        expect_frame(&f, frames->pdata[i]);
    }
    /* the rest: read again, over the queue bound, so held again */
    wait_stats(&f, held_is, GUINT_TO_POINTER(N - held), "the rest held");
    checkpoint();
    for (unsigned i = held; i < N; i++) {
        expect_frame(&f, frames->pdata[i]);
    }
    g_thread_join(thr);
    colo_end();
    fx_free(&f);
    g_byte_array_unref(all);
    g_ptr_array_unref(frames);
}

/*
 * One connection more than the table's 16384 (QEMU's bound, where QEMU
 * forgets every connection): one checkpoint asked for, no frame lost;
 * every pair matches and goes out in order.
 */
static void test_table_full(void)
{
    enum { N = 16385 };
    GByteArray *all = g_byte_array_new();
    Writer w = { .bytes = all };
    g_autofree uint8_t *got = NULL;
    GThread *thr;
    Fx f;

    fx_init(&f, NULL);
    colo_begin();
    for (unsigned i = 0; i < N; i++) {
        ColoFrameOpts o = colo_frame_opts(CF_UDP);
        g_autoptr(GByteArray) b = NULL;
        uint8_t hdr[NET_FRAME_HDR_MAX];
        size_t n;

        o.sport = 1024 + i % 50000;
        o.src[2] = i / 50000;
        b = colo_frame_build(&o, "x", 1);
        n = net_frame_encode_header(hdr, b->len, false, 0);
        g_byte_array_append(all, hdr, n);
        g_byte_array_append(all, b->data, b->len);
    }
    w.fd = f.fd[SEC];
    thr = g_thread_new("sec-writer", writer_run, &w);
    g_thread_join(thr);
    w.fd = f.fd[PRI];
    thr = g_thread_new("pri-writer", writer_run, &w);
    got = g_malloc(all->len);
    g_assert_true(read_exact(f.fd[OUT], got, all->len, 30000));
    g_assert_cmpmem(got, all->len, all->data, all->len);
    g_thread_join(thr);
    g_assert_cmpuint(take_requests(), ==, 1);
    {
        g_autoptr(ColoStats) st = qmp_query_colo_stats(&error_abort);
        ColoCompareInfo *info = find_info(st, f.id);

        g_assert_cmpint(info->checkpoints->table_full, ==, 1);
        g_assert_cmpint(info->matched->udp, ==, N);
    }
    checkpoint();
    colo_end();
    fx_free(&f);
    g_byte_array_unref(all);
}

static bool matched_at_least(const ColoCompareInfo *i, void *arg)
{
    return (uint64_t)i->matched->udp >= GPOINTER_TO_UINT(arg);
}

static bool stalled(const ColoCompareInfo *i, void *arg)
{
    return i->out_stalls == 1;
}

/*
 * Nobody reads outdev: the iothread keeps comparing (every pair of the
 * first batch is matched while the reader sleeps), past the output
 * bound primary_in pauses (out-stalls), and once the reader reads,
 * every frame arrives, in order: none was dropped.
 */
static void test_stalled_outdev(void)
{
    enum { FIRST = 1500, TOTAL = 4500, SIZE = 1400 };
    GPtrArray *frames = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);
    Writer w = { .bytes = g_byte_array_new() };
    g_autofree uint8_t *payload = g_malloc(SIZE);
    GThread *thr;
    Fx f;

    fx_init(&f, "max_queue_size=100000");
    colo_begin();
    for (unsigned i = 0; i < TOTAL; i++) {
        ColoFrameOpts o = colo_frame_opts(CF_UDP);

        memset(payload, i, SIZE);
        memcpy(payload, &i, sizeof(i));
        g_ptr_array_add(frames, colo_frame_build(&o, payload, SIZE));
    }
    /* The secondary's first: each primary frame then matches at once. */
    for (unsigned i = 0; i < TOTAL; i++) {
        uint8_t hdr[NET_FRAME_HDR_MAX];
        GByteArray *b = frames->pdata[i];
        size_t n = net_frame_encode_header(hdr, b->len, false, 0);

        g_byte_array_append(w.bytes, hdr, n);
        g_byte_array_append(w.bytes, b->data, b->len);
    }
    w.fd = f.fd[SEC];
    thr = g_thread_new("sec-writer", writer_run, &w);
    g_thread_join(thr);
    w.fd = f.fd[PRI];
    thr = g_thread_new("pri-writer", writer_run, &w);
    /* ~2 MiB matched and queued for outdev with nobody reading. */
    wait_stats(&f, matched_at_least, GUINT_TO_POINTER(FIRST),
               "comparing with outdev stalled");
    /* Then past the 4 MiB bound: primary_in pauses. */
    wait_stats(&f, stalled, NULL, "primary_in paused");
    {
        g_autoptr(ColoStats) st = qmp_query_colo_stats(&error_abort);
        ColoCompareInfo *info = find_info(st, f.id);

        g_assert_cmpint(info->out_queued_bytes, >, 4 << 20);
        g_assert_cmpint(info->matched->udp, <, TOTAL);
    }
    for (unsigned i = 0; i < TOTAL; i++) {
        expect_frame(&f, frames->pdata[i]);
    }
    g_thread_join(thr);
    expect_no_output(&f, 20);
    g_assert_cmpuint(take_requests(), ==, 0);
    colo_end();
    fx_free(&f);
    g_byte_array_unref(w.bytes);
    g_ptr_array_unref(frames);
}

static bool out_queued_over(const ColoCompareInfo *i, void *arg)
{
    return (uint64_t)i->out_queued_bytes > GPOINTER_TO_UINT(arg);
}

/*
 * The outdev reader goes away with frames queued for it (one of them cut
 * by a partial write) and another connects: it gets whole frames from a
 * frame boundary on, consecutive, up to the last one. (The frames in the
 * old connection's socket buffer went with it.)
 */
static void test_outdev_reconnect(void)
{
    enum { N = 2600, SIZE = 1999 };
    GPtrArray *frames = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);
    g_autofree uint8_t *payload = g_malloc(SIZE);
    g_autoptr(GByteArray) first = NULL;
    unsigned k;
    Fx f;

    fx_init_common(&f, NULL, true); /* no COLO run: primary frames pass */
    for (unsigned i = 0; i < N; i++) {
        ColoFrameOpts o = colo_frame_opts(CF_UDP);

        memset(payload, i * 7, SIZE);
        memcpy(payload, &i, sizeof(i));
        g_ptr_array_add(frames, colo_frame_build(&o, payload, SIZE));
        send_frame(&f, PRI, frames->pdata[i]);
    }
    wait_stats(&f, out_queued_over, GUINT_TO_POINTER(256 << 10),
               "frames queued for outdev");
    close(f.fd[OUT]);
    f.fd[OUT] = out_connect(&f);
    first = recv_frame(&f);
    for (k = 0; k < N; k++) {
        GByteArray *b = frames->pdata[k];

        if (first->len == b->len && !memcmp(first->data, b->data, b->len)) {
            break;
        }
    }
    if (k == N) {
        g_error("the new reader's first frame (%u bytes) is none sent",
                first->len);
    }
    g_assert_cmpuint(k, >, 0);
    for (k++; k < N; k++) {
        expect_frame(&f, frames->pdata[k]);
    }
    expect_no_output(&f, 20);
    fx_free(&f);
    g_ptr_array_unref(frames);
}

/* ---- broken framing ---- */

static bool broken_once(const ColoCompareInfo *i, void *arg)
{
    return i->broken_streams == 1;
}

static void test_broken_framing_run(void)
{
    static const uint8_t garbage[] = { 0, 0, 0, 0, 'x', 'y' };
    ColoFrameOpts o = colo_frame_opts(CF_UDP);
    g_autoptr(GByteArray) p = colo_frame_build(&o, "after", 5);
    struct pollfd pfd;
    uint8_t c;
    Fx f;

    fx_init(&f, NULL);
    colo_begin();
    write_all(f.fd[PRI], garbage, sizeof(garbage));
    wait_stats(&f, broken_once, NULL, "the broken stream noticed");
    /* The connection was dropped: the peer reads end of stream. */
    pfd = (struct pollfd) { .fd = f.fd[PRI], .events = POLLIN };
    g_assert_cmpint(poll(&pfd, 1, WAIT_MS), ==, 1);
    g_assert_cmpint(read(f.fd[PRI], &c, 1), <=, 0);
    close(f.fd[PRI]);
    /* The next connection is a new stream, compared as before. */
    f.fd[PRI] = test_unix_connect(f.path[PRI]);
    send_frame(&f, PRI, p);
    send_frame(&f, SEC, p);
    expect_frame(&f, p);
    colo_end();
    fx_free(&f);
}

static void test_broken_framing(void)
{
    if (g_test_subprocess()) {
        test_broken_framing_run();
        return;
    }
    g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*colo-compare cmp*: primary_in: frame length "
                              "0 out of range*dropping the connection*");
}

/* ---- outside a COLO run, failover, deletion ---- */

static bool sec_dropped(const ColoCompareInfo *i, void *arg)
{
    return i->secondary_dropped == 1;
}

/* No run: the primary's frames pass, the secondary's are dropped. After
 * a failover likewise, and what was held goes out at the failover. */
static void test_pass_and_failover(void)
{
    ColoFrameOpts o = colo_frame_opts(CF_UDP);
    g_autoptr(GByteArray) a = colo_frame_build(&o, "outside", 7);
    g_autoptr(GByteArray) b = colo_frame_build(&o, "held-b", 6);
    g_autoptr(GByteArray) c = colo_frame_build(&o, "after-fo", 8);
    Fx f;

    fx_init(&f, NULL);
    send_frame(&f, SEC, a);
    send_frame(&f, PRI, a);
    expect_frame(&f, a);
    wait_stats(&f, sec_dropped, NULL, "the secondary's frame dropped");
    colo_begin();
    send_frame(&f, PRI, b);
    wait_stats(&f, held_is, GUINT_TO_POINTER(1), "b held");
    expect_no_output(&f, 20);
    colo_end();
    expect_frame(&f, b);
    send_frame(&f, PRI, c);
    expect_frame(&f, c);
    g_assert_cmpuint(take_requests(), ==, 0);
    fx_free(&f);
}

/* object-del while in use: allowed, as in QEMU's failover steps; what it
 * held goes to outdev; the chardevs and the iothread are free again. */
static void test_object_del(void)
{
    Client *c = client_new();
    ColoFrameOpts o = colo_frame_opts(CF_TCP);
    g_autoptr(GByteArray) p = colo_frame_build(&o, "held", 4);
    g_autofree char *cmd = NULL;
    g_autofree char *busy = NULL;
    Fx f;

    negotiate(c, false);
    fx_init(&f, NULL);
    colo_begin();
    send_frame(&f, PRI, p);
    wait_stats(&f, held_is, GUINT_TO_POINTER(1), "p held");
    expect_error(c, "{\"execute\": \"object-del\", \"arguments\": "
                 "{\"id\": \"iot0\"}}", "GenericError",
                 "iothread 'iot0' is in use", NULL);
    /* its chardevs cannot go while it uses them */
    cmd = g_strdup_printf("{\"execute\": \"chardev-remove\", \"arguments\": "
                          "{\"id\": \"%s\"}}", f.chr_id[PRI]);
    busy = g_strdup_printf("Chardev '%s' is busy", f.chr_id[PRI]);
    expect_error(c, cmd, "GenericError", busy, NULL);
    g_free(cmd);
    cmd = g_strdup_printf("{\"execute\": \"object-del\", \"arguments\": "
                          "{\"id\": \"%s\"}}", f.id);
    json_object_put(expect_return(c, cmd, NULL));
    f.obj = NULL;
    expect_frame(&f, p);
    g_assert_false(chardev_find(f.chr_id[PRI])->fe_attached);
    g_assert_false(chardev_find(f.chr_id[SEC])->fe_attached);
    g_assert_false(chardev_find(f.chr_id[OUT])->fe_attached);
    /* The chardevs take a new object. */
    fx_init_obj(&f, NULL);
    colo_end();
    fx_free(&f);
    client_free(c);
}

/*
 * object-del while the outdev reader is stalled with frames queued: the
 * frames it cannot take now are dropped with a warning, and nothing of
 * the object is left behind on the iothread (the reader reading again
 * afterwards wakes nothing).
 */
static void test_delete_stalled_run(void)
{
    g_autofree uint8_t *payload = g_malloc0(1400);
    g_autofree uint8_t *sink = g_malloc(1 << 20);
    Fx f;

    fx_init(&f, NULL);      /* no COLO run: the primary's frames pass */
    for (unsigned i = 0; i < 1000; i++) {
        ColoFrameOpts o = colo_frame_opts(CF_UDP);
        g_autoptr(GByteArray) b = colo_frame_build(&o, payload, 1400);

        send_frame(&f, PRI, b);
    }
    wait_stats(&f, out_queued_over, GUINT_TO_POINTER(256 << 10),
               "frames queued for outdev");
    g_assert_true(object_delete(f.id, &error_abort));
    f.obj = NULL;
    /* the reader drains what the socket holds; the iothread runs on */
    while (read_exact(f.fd[OUT], sink, 1, 200)) {
        g_assert_cmpint(read(f.fd[OUT], sink, 1 << 20), >=, 0);
    }
    g_usleep(100 * 1000);
    fx_free(&f);
}

static void test_delete_stalled(void)
{
    if (g_test_subprocess()) {
        test_delete_stalled_run();
        return;
    }
    g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*warning: colo-compare cmp*: deleted with * "
                              "frames the outdev reader had not taken*");
}

/* The figures through QMP. */
static void test_stats_qmp(void)
{
    Client *c = client_new();
    ColoFrameOpts o = colo_frame_opts(CF_TCP);
    g_autoptr(GByteArray) p = NULL;
    json_object *resp, *ret, *cmp, *one;
    Fx f;

    negotiate(c, false);
    fx_init(&f, NULL);
    colo_begin();
    o.tcp_flags = 0x18;
    for (unsigned i = 0; i < 20; i++) {
        g_autoptr(GByteArray) b = frame_n(CF_TCP, 0, i);

        send_frame(&f, PRI, b);
        send_frame(&f, SEC, b);
        g_byte_array_unref(recv_frame(&f));
    }
    o.seq += 20 * strlen("payload 0000 of a frame");
    p = colo_frame_build(&o, "different", 9);
    send_frame(&f, PRI, p);
    p->data[p->len - 1] ^= 1;
    send_frame(&f, SEC, p);
    wait_stats(&f, requested, NULL, "a mismatch");
    resp = expect_return(c, "{\"execute\": \"query-colo-stats\"}", NULL);
    ret = member(resp, "return");
    cmp = member(ret, "compare");
    g_assert_cmpuint(json_object_array_length(cmp), ==, 1);
    one = json_object_array_get_idx(cmp, 0);
    g_assert_cmpstr(json_object_get_string(member(one, "id")), ==, f.id);
    g_assert_true(json_object_get_boolean(member(one, "comparing")));
    g_assert_cmpint(json_object_get_int64(member(member(one, "matched"),
                                                 "tcp")), ==, 20);
    g_assert_cmpint(json_object_get_int64(member(member(one, "mismatched"),
                                                 "tcp")), ==, 1);
    g_assert_cmpint(json_object_get_int64(member(member(one, "compared"),
                                                 "tcp")), ==, 21);
    g_assert_cmpint(json_object_get_int64(member(member(one, "checkpoints"),
                                                 "mismatch")), ==, 1);
    g_assert_cmpint(json_object_get_int64(member(one, "held")), ==, 1);
    g_assert_cmpint(json_object_get_int64(member(one, "held-max")), >=, 1);
    g_assert_cmpint(json_object_get_int64(member(one, "latency-p50-ns")), >,
                    0);
    g_assert_cmpint(json_object_get_int64(member(one, "latency-p99-ns")), >=,
                    json_object_get_int64(member(one, "latency-p50-ns")));
    json_object_put(resp);
    {
        g_autofree char *hmp = hmp_run_command("info colo", &error_abort);
        g_autofree char *want = g_strdup_printf(
            "compare %s (comparing): compared=21 matched=20 mismatched=1 ",
            f.id);

        if (!strstr(hmp, want) ||
            !strstr(hmp, "checkpoints asked: mismatch=1 ") ||
            !strstr(hmp, "  held=1 (max 1) latency (us): p50=")) {
            g_error("info colo says:\n%s", hmp);
        }
    }
    checkpoint();
    g_byte_array_unref(recv_frame(&f));
    colo_end();
    fx_free(&f);
    client_free(c);
}

/* A property naming one of f's chardevs: 'p', 's', 'o' for primary_in's,
 * secondary_in's and outdev's, 'n' for one that does not exist, 0 for
 * none (the property is left out). */
static void put_chardev(GString *s, const Fx *f, const char *prop, char which)
{
    static const char roles[] = "pso";
    const char *at = strchr(roles, which);

    if (!which) {
        return;
    }
    g_string_append_printf(s, ",%s=%s", prop,
                           which == 'n' ? "nope" : f->chr_id[at - roles]);
}

/* Bad properties: clear errors, nothing left attached. */
static void test_props(void)
{
    static const struct {
        char p, s, o;
        const char *rest;
        const char *err;
    } cases[] = {
        { 'p', 's', 'o', "", "Parameter 'iothread' is missing" },
        { 'p', 's', 0, ",iothread=iot0", "Parameter 'outdev' is missing" },
        { 'p', 's', 'o', ",iothread=iot0,notify_dev=n",
          "notify_dev is for Xen COLO" },
        { 'p', 'p', 'o', ",iothread=iot0",
          "'primary_in' and 'secondary_in' must be different chardevs" },
        { 'p', 's', 's', ",iothread=iot0",
          "'secondary_in' and 'outdev' must be different chardevs" },
        { 'p', 's', 'n', ",iothread=iot0",
          "outdev: chardev 'nope' not found" },
        { 'p', 's', 'o', ",iothread=nope", "iothread \"nope\" not found" },
        { 'p', 's', 'o', ",iothread=iot0,compare_timeout=0",
          "compare_timeout" },
    };
    Chardev *x[2];
    Fx f;

    /* -object makes it after the chardevs it names (system/main.c) */
    g_assert_true(object_cmdline_is_late("colo-compare,id=x"));
    g_assert_true(object_cmdline_is_late("{\"qom-type\": \"colo-compare\"}"));
    g_assert_false(object_cmdline_is_late("iothread,id=x"));
    g_assert_false(object_cmdline_is_late("nosuch,id=x"));

    /* the chardevs, free (no object on them) */
    fx_init(&f, NULL);
    g_assert_true(object_delete(f.id, &error_abort));
    f.obj = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GString) opts = g_string_new("colo-compare,id=bad");
        Error *err = NULL;

        put_chardev(opts, &f, "primary_in", cases[i].p);
        put_chardev(opts, &f, "secondary_in", cases[i].s);
        put_chardev(opts, &f, "outdev", cases[i].o);
        g_string_append(opts, cases[i].rest);
        g_assert_null(object_create_cmdline(opts->str, &err));
        g_assert_nonnull(err);
        if (!strstr(error_get_pretty(err), cases[i].err)) {
            g_error("%s: \"%s\" does not say \"%s\"", opts->str,
                    error_get_pretty(err), cases[i].err);
        }
        error_free(err);
        g_assert_null(object_find("bad"));
        for (int j = 0; j < 3; j++) {
            g_assert_false(chardev_find(f.chr_id[j])->fe_attached);
        }
    }
    /* outdev in use (a frontend elsewhere): refused after both inputs
     * were attached, and those are detached again. */
    for (int i = 0; i < 2; i++) {
        g_autofree char *spec = g_strdup_printf(
            "socket,id=x%d%s,path=%s/x%d%s,server=on,wait=off", i, f.id,
            tmp_dir, i, f.id);

        x[i] = chardev_new_from_opts(spec, &error_abort);
    }
    fx_init_obj(&f, NULL);
    {
        g_autofree char *opts = g_strdup_printf(
            "colo-compare,id=bad,primary_in=%s,secondary_in=%s,outdev=%s,"
            "iothread=iot0", x[0]->id, x[1]->id, f.chr_id[OUT]);
        Error *err = NULL;

        g_assert_null(object_create_cmdline(opts, &err));
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(error_get_pretty(err), "already in use"));
        error_free(err);
        g_assert_false(x[0]->fe_attached);
        g_assert_false(x[1]->fe_attached);
    }
    chardev_close(x[0]);
    chardev_close(x[1]);
    fx_free(&f);
}

/* Figures (printed, never judged on time): frames/s through the whole
 * object, both guests' streams written as fast as they go; the latency
 * here is mostly the primary's stream running ahead of the
 * secondary's. */
static void test_throughput(void)
{
    enum { N = 20000 };
    GByteArray *all = g_byte_array_new();
    g_autofree uint8_t *payload = g_malloc0(256);
    Writer w = { .bytes = all };
    gint64 t0, t1;
    GThread *thr;
    Fx f;

    fx_init(&f, "max_queue_size=100000");
    colo_begin();
    for (unsigned i = 0; i < N; i++) {
        ColoFrameOpts o = colo_frame_opts(CF_TCP);
        g_autoptr(GByteArray) b = NULL;
        uint8_t hdr[NET_FRAME_HDR_MAX];
        size_t n;

        o.seq += i * 256;
        o.tcp_flags = 0x18;
        memcpy(payload, &i, sizeof(i));
        b = colo_frame_build(&o, payload, 256);
        n = net_frame_encode_header(hdr, b->len, false, 0);
        g_byte_array_append(all, hdr, n);
        g_byte_array_append(all, b->data, b->len);
    }
    t0 = g_get_monotonic_time();
    w.fd = f.fd[PRI];
    thr = g_thread_new("pri-writer", writer_run, &w);
    {
        Writer s = { .fd = f.fd[SEC], .bytes = all };
        GThread *t2 = g_thread_new("sec-writer", writer_run, &s);

        /* outdev carries exactly the primary's stream, byte for byte */
        g_autofree uint8_t *got = g_malloc(all->len);

        g_assert_true(read_exact(f.fd[OUT], got, all->len, 30000));
        g_assert_cmpmem(got, all->len, all->data, all->len);
        g_thread_join(t2);
    }
    t1 = g_get_monotonic_time();
    g_thread_join(thr);
    {
        g_autoptr(ColoStats) st = qmp_query_colo_stats(&error_abort);
        ColoCompareInfo *info = find_info(st, f.id);

        g_assert_cmpint(info->matched->tcp, ==, N);
        g_test_message("colo-compare: %d TCP frame pairs of 310 bytes in "
                       "%.1f ms: %.0f pairs/s; added latency p50 %" PRId64
                       " ns, p99 %" PRId64 " ns", N, (t1 - t0) / 1000.0,
                       N * 1e6 / (t1 - t0), info->latency_p50_ns,
                       info->latency_p99_ns);
    }
    g_assert_cmpuint(take_requests(), ==, 0);
    colo_end();
    fx_free(&f);
    g_byte_array_unref(all);
}

/* The added latency alone: one pair at a time (the secondary's frame
 * written just before the primary's, as when both guests answer
 * together), each released before the next is written. */
static void test_latency(void)
{
    enum { N = 5000 };
    g_autofree uint8_t *payload = g_malloc0(256);
    gint64 t0, t1;
    Fx f;

    fx_init(&f, NULL);
    colo_begin();
    t0 = g_get_monotonic_time();
    for (unsigned i = 0; i < N; i++) {
        ColoFrameOpts o = colo_frame_opts(CF_TCP);
        g_autoptr(GByteArray) b = NULL;

        o.seq += i * 256;
        o.tcp_flags = 0x18;
        memcpy(payload, &i, sizeof(i));
        b = colo_frame_build(&o, payload, 256);
        send_frame(&f, SEC, b);
        send_frame(&f, PRI, b);
        expect_frame(&f, b);
    }
    t1 = g_get_monotonic_time();
    {
        g_autoptr(ColoStats) st = qmp_query_colo_stats(&error_abort);
        ColoCompareInfo *info = find_info(st, f.id);

        g_assert_cmpint(info->matched->tcp, ==, N);
        g_test_message("colo-compare: %d pairs one at a time, %.1f us per "
                       "round trip through the test; added latency p50 %"
                       PRId64 " ns, p99 %" PRId64 " ns (last 4096)", N,
                       (double)(t1 - t0) / N, info->latency_p50_ns,
                       info->latency_p99_ns);
    }
    colo_end();
    fx_free(&f);
}

int main(int argc, char **argv)
{
    int rc;

    qmp_test_init(&argc, &argv);
    tmp_dir = g_dir_make_tmp("test-colo-compare-object-XXXXXX", NULL);
    g_assert_nonnull(tmp_dir);
    g_assert_nonnull(object_create_cmdline("iothread,id=iot0",
                                           &error_abort));
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        g_autofree char *name = g_strdup_printf("/colo-compare-object/"
                                                "match/%s", kinds[i].name);

        g_test_add_data_func(name, &kinds[i], test_match);
    }
    g_test_add_func("/colo-compare-object/mismatch", test_mismatch);
    g_test_add_func("/colo-compare-object/timeout", test_timeout);
    g_test_add_func("/colo-compare-object/queue-full", test_queue_full);
    g_test_add_func("/colo-compare-object/held-bound", test_held_bound);
    g_test_add_func("/colo-compare-object/table-full", test_table_full);
    g_test_add_func("/colo-compare-object/stalled-outdev",
                    test_stalled_outdev);
    g_test_add_func("/colo-compare-object/outdev-reconnect",
                    test_outdev_reconnect);
    g_test_add_func("/colo-compare-object/broken-framing",
                    test_broken_framing);
    g_test_add_func("/colo-compare-object/pass-and-failover",
                    test_pass_and_failover);
    g_test_add_func("/colo-compare-object/object-del", test_object_del);
    g_test_add_func("/colo-compare-object/delete-stalled",
                    test_delete_stalled);
    g_test_add_func("/colo-compare-object/stats-qmp", test_stats_qmp);
    g_test_add_func("/colo-compare-object/props", test_props);
    g_test_add_func("/colo-compare-object/throughput", test_throughput);
    g_test_add_func("/colo-compare-object/latency", test_latency);
    rc = qmp_test_run();
    object_delete_all();
    rmdir(tmp_dir);
    return rc;
}
