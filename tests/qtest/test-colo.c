/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO over QMP with two real processes on the count guest: the upstream
 * COLO qtest scenario (bring-up, three checkpoints, then a failover with
 * exec-oob yank and x-colo-lost-heartbeat on the primary or on the
 * secondary, optionally right at a checkpoint), the relaunch path of the
 * failover state machine, the COLO commands' answers and errors with and
 * without a COLO run, and the HMP commands.
 *
 * Guest progress: the primary's serial file grows at every checkpoint
 * (output commit releases what the guest wrote once the secondary holds
 * the checkpoint). The secondary's file stays empty while COLO runs (its
 * own output is superseded by every checkpoint), so its progress is read
 * from the guest's status page (lines printed) until it fails over; from
 * then on its file grows too.
 *
 * Every wait is bounded by qtest_timeout_ms(); nothing depends on how
 * fast the host is.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "kvm-skip.h"
#include "libqtest.h"

/* The guest's status page: workload lines printed (tests/guest/README). */
#define TG_LINES_ADDR       (TG_STATUS_ADDR + 0x028)
#define COUNT_LINE          "TG count="

typedef enum {
    SIDE_PRIMARY,
    SIDE_SECONDARY,
} Side;

typedef struct ColoProxy ColoProxy;

typedef struct ColoPair {
    QTestState *pri;
    QTestState *sec;
    char *pri_serial;
    char *sec_serial;
    char *sec_trace;            /* colo_failover_state of the secondary */
    ColoProxy *proxy;           /* between them, when the test holds bytes */
} ColoPair;

/* ---- small helpers ---- */

static void G_GNUC_PRINTF(2, 3) ok(QTestState *s, const char *fmt, ...)
{
    g_autofree char *cmd = NULL;
    va_list ap;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_object_put(qtest_qmp_assert_success(s, "%s", cmd));
}

static void G_GNUC_PRINTF(3, 4)
assert_error(QTestState *s, const char *want, const char *fmt, ...)
{
    g_autofree char *cmd = NULL;
    g_autofree char *cls = NULL;
    g_autofree char *desc = NULL;
    va_list ap;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    desc = qtest_qmp_assert_error(s, &cls, "%s", cmd);
    g_test_message("%s -> %s: %s", cmd, cls, desc);
    g_assert_cmpstr(cls, ==, "GenericError");
    g_assert_cmpstr(desc, ==, want);
}

static gint64 deadline_ms(int ms)
{
    return g_get_monotonic_time() + (gint64)ms * 1000;
}

static const char *side_name(Side side)
{
    return side == SIDE_PRIMARY ? "primary" : "secondary";
}

/* query-colo-status must read mode / last-mode / reason. */
static void assert_colo_status(QTestState *s, const char *mode,
                               const char *last_mode, const char *reason)
{
    json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                              "'query-colo-status'}");

    g_assert_cmpstr(qt_json_str(r, "mode"), ==, mode);
    g_assert_cmpstr(qt_json_str(r, "last-mode"), ==, last_mode);
    if (reason) {
        g_assert_cmpstr(qt_json_str(r, "reason"), ==, reason);
    }
    json_object_put(r);
}

static int64_t colo_stat(QTestState *s, const char *key)
{
    json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                              "'query-colo-stats'}");
    json_object *v = qt_json_get(r, key);
    int64_t n;

    g_assert_nonnull(v);
    n = json_object_get_int64(v);
    json_object_put(r);
    return n;
}

static int64_t colo_trigger_count(QTestState *s, const char *trigger)
{
    json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                              "'query-colo-stats'}");
    json_object *v = qt_json_get(qt_json_get(r, "triggers"), trigger);
    int64_t n;

    g_assert_nonnull(v);
    n = json_object_get_int64(v);
    json_object_put(r);
    return n;
}

static const char *runstate(QTestState *s, bool *running)
{
    static char status[32];
    json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                              "'query-status'}");

    g_strlcpy(status, qt_json_str(r, "status"), sizeof(status));
    *running = json_object_get_boolean(qt_json_get(r, "running"));
    json_object_put(r);
    return status;
}

static void wait_migration_status(QTestState *s, const char *want)
{
    gint64 deadline = deadline_ms(qtest_timeout_ms());

    for (;;) {
        json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                                  "'query-migrate'}");
        g_autofree char *st = g_strdup(qt_json_str(r, "status"));

        json_object_put(r);
        if (!g_strcmp0(st, want)) {
            return;
        }
        if (!g_strcmp0(st, "failed") || g_get_monotonic_time() > deadline) {
            g_error("migration status is %s, waited for %s", st, want);
        }
        g_usleep(20 * 1000);
    }
}

/* The guest's serial file holds more than `than` count lines. */
static unsigned wait_serial_grows(const char *path, unsigned than)
{
    if (!qtest_wait_file_count(path, COUNT_LINE, than + 1,
                               qtest_timeout_ms())) {
        g_error("%s: still %u '%s' lines", path,
                qtest_file_count(path, COUNT_LINE), COUNT_LINE);
    }
    return qtest_file_count(path, COUNT_LINE);
}

/* The guest printed more than `than` lines (status page). */
static uint64_t wait_lines_grow(QTestState *s, uint64_t than)
{
    gint64 deadline = deadline_ms(qtest_timeout_ms());
    uint64_t n;

    while ((n = qtest_readq(s, TG_LINES_ADDR)) <= than) {
        if (g_get_monotonic_time() > deadline) {
            g_error("the guest printed no line past %" G_GUINT64_FORMAT, than);
        }
        g_usleep(10 * 1000);
    }
    return n;
}

/* Polls a file until it contains needle. */
static bool wait_file_has(const char *path, const char *needle)
{
    return qtest_wait_file_count(path, needle, 1, qtest_timeout_ms());
}

/* ---- a TCP proxy between primary and secondary ---- */

/*
 * The relaunch test must land x-colo-lost-heartbeat on the secondary
 * while it holds a checkpoint in flight. The proxy makes that window as
 * long as the test wants: it forwards both directions, and once armed it
 * holds back the secondary's checkpoint-reply, so the secondary sits
 * stopped between checkpoint-request and vmstate-send (the primary waits
 * for the reply, well within its peer timeout) until the test releases it.
 *
 * To find the reply it splits the secondary -> primary stream (the
 * return path) into messages: a COLO message is a be32 id below 2^16, so
 * its first two bytes are zero; a migration return-path message starts
 * with a non-zero be16 type and a be16 payload length
 * (migration/migration-internal.h, include/migration/colo-message.h).
 */
#define COLO_MSG_CHECKPOINT_REPLY   2

struct ColoProxy {
    int listen_fd;
    int port;
    int target_port;
    int wake[2];                /* the test -> the proxy thread */
    GThread *thread;
    GMutex lock;
    GCond cond;
    bool armed;                 /* (lock) hold the next checkpoint-reply */
    bool holding;               /* (lock) one is held */
    bool release;               /* (lock) forward it now */
    bool quit;                  /* (lock) */
};

static bool proxy_write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        buf += n;
        len -= n;
    }
    return true;
}

/* Bytes of the return-path message at the head of buf (0: need more). */
static size_t proxy_rp_msg_len(const GByteArray *buf)
{
    if (buf->len < 4) {
        return 0;
    }
    if (!buf->data[0] && !buf->data[1]) {
        return 4;               /* COLO message, no value S->P */
    }
    return 4 + (buf->data[2] << 8 | buf->data[3]);
}

static bool proxy_is_reply(const GByteArray *buf)
{
    return !buf->data[0] && !buf->data[1] && !buf->data[2] &&
           buf->data[3] == COLO_MSG_CHECKPOINT_REPLY;
}

/* Whether the reply at the head of the stream stays held (p->lock). */
static bool proxy_hold_reply_locked(ColoProxy *p)
{
    if (p->holding) {
        if (!p->release) {
            return true;
        }
        p->holding = p->release = false;
        return false;
    }
    if (p->armed) {
        p->armed = false;
        p->holding = true;
        g_cond_broadcast(&p->cond);
        return true;
    }
    return false;
}

/*
 * Forwards whole messages from rp to pri; stops at a reply it holds.
 * False: the primary's side is gone.
 */
static bool proxy_flush_rp(ColoProxy *p, GByteArray *rp, int pri)
{
    for (;;) {
        size_t len = proxy_rp_msg_len(rp);
        bool hold = false;

        if (!len || rp->len < len) {
            return true;
        }
        if (len == 4 && proxy_is_reply(rp)) {
            g_mutex_lock(&p->lock);
            hold = proxy_hold_reply_locked(p);
            g_mutex_unlock(&p->lock);
        }
        if (hold) {
            return true;
        }
        if (!proxy_write_all(pri, rp->data, len)) {
            return false;
        }
        g_byte_array_remove_range(rp, 0, len);
    }
}

/* One read from `from`; false on EOF or error. */
static bool proxy_read(int from, GByteArray *into)
{
    uint8_t chunk[65536];
    ssize_t n;

    do {
        n = recv(from, chunk, sizeof(chunk), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        return false;
    }
    g_byte_array_append(into, chunk, n);
    return true;
}

static gpointer proxy_thread(gpointer opaque)
{
    ColoProxy *p = opaque;
    struct sockaddr_in sa = {
        .sin_family = AF_INET,
        .sin_port = htons(p->target_port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    g_autoptr(GByteArray) to_sec = g_byte_array_new();
    g_autoptr(GByteArray) rp = g_byte_array_new();
    int pri, sec;

    pri = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    sec = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (pri < 0 || sec < 0 ||
        connect(sec, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        g_error("proxy: cannot connect the primary to the secondary: %s",
                g_strerror(errno));
    }
    for (;;) {
        struct pollfd fds[3] = {
            { .fd = p->wake[0], .events = POLLIN },
            { .fd = pri, .events = POLLIN },
            { .fd = sec, .events = POLLIN },
        };
        bool quit, holding;

        g_mutex_lock(&p->lock);
        quit = p->quit;
        holding = p->holding && !p->release;
        g_mutex_unlock(&p->lock);
        if (quit) {
            break;
        }
        if (!proxy_flush_rp(p, rp, pri)) {
            break;
        }
        /* While a reply is held nothing else comes from the secondary;
         * leave its bytes in the socket all the same. */
        fds[2].events = holding ? 0 : POLLIN;
        if (poll(fds, 3, 1000) < 0 && errno != EINTR) {
            break;
        }
        if (fds[0].revents) {
            char c;

            if (read(p->wake[0], &c, 1) < 0 && errno != EAGAIN) {
                break;
            }
        }
        if (fds[1].revents) {
            if (!proxy_read(pri, to_sec) ||
                !proxy_write_all(sec, to_sec->data, to_sec->len)) {
                break;
            }
            g_byte_array_set_size(to_sec, 0);
        }
        if (fds[2].revents && !proxy_read(sec, rp)) {
            break;
        }
    }
    /* One side is gone or the test is done: the other sees it at once. */
    close(pri);
    close(sec);
    return NULL;
}

static ColoProxy *proxy_new(int target_port)
{
    ColoProxy *p = g_new0(ColoProxy, 1);
    struct sockaddr_in sa = {
        .sin_family = AF_INET,
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    socklen_t len = sizeof(sa);

    g_mutex_init(&p->lock);
    g_cond_init(&p->cond);
    p->target_port = target_port;
    p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(p->listen_fd, >=, 0);
    g_assert_cmpint(bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)),
                    ==, 0);
    g_assert_cmpint(listen(p->listen_fd, 1), ==, 0);
    g_assert_cmpint(getsockname(p->listen_fd, (struct sockaddr *)&sa, &len),
                    ==, 0);
    p->port = ntohs(sa.sin_port);
    g_assert_cmpint(pipe2(p->wake, O_CLOEXEC | O_NONBLOCK), ==, 0);
    p->thread = g_thread_new("colo-proxy", proxy_thread, p);
    return p;
}

static void proxy_kick(ColoProxy *p)
{
    char c = 0;

    if (write(p->wake[1], &c, 1) < 0 && errno != EAGAIN) {
        g_error("proxy: cannot wake the thread: %s", g_strerror(errno));
    }
}

static void proxy_arm(ColoProxy *p)
{
    g_mutex_lock(&p->lock);
    p->armed = true;
    g_mutex_unlock(&p->lock);
}

/* Waits until a checkpoint-reply is held; false after the timeout. */
static bool proxy_wait_holding(ColoProxy *p, int timeout_ms)
{
    gint64 end = deadline_ms(timeout_ms);
    bool holding;

    g_mutex_lock(&p->lock);
    while (!p->holding && g_cond_wait_until(&p->cond, &p->lock, end)) {
        /* woken: look again */
    }
    holding = p->holding;
    g_mutex_unlock(&p->lock);
    return holding;
}

static void proxy_release(ColoProxy *p)
{
    g_mutex_lock(&p->lock);
    p->release = true;
    g_mutex_unlock(&p->lock);
    proxy_kick(p);
}

static void proxy_free(ColoProxy *p)
{
    g_mutex_lock(&p->lock);
    p->quit = true;
    g_mutex_unlock(&p->lock);
    proxy_kick(p);
    g_thread_join(p->thread);
    close(p->listen_fd);
    close(p->wake[0]);
    close(p->wake[1]);
    g_mutex_clear(&p->lock);
    g_cond_clear(&p->cond);
    g_free(p);
}

/* ---- bring-up and tear-down ---- */

static void set_colo_caps(QTestState *s)
{
    ok(s, "{'execute': 'migrate-set-capabilities', 'arguments': "
       "{'capabilities': [{'capability': 'return-path', 'state': true}, "
       "{'capability': 'x-colo', 'state': true}]}}");
}

/*
 * Starts a primary and a secondary (-incoming defer), brings COLO up
 * with a 300 ms checkpoint delay and returns once both report it and the
 * guest made progress on both. with_proxy: the primary connects through
 * a ColoProxy.
 */
static void colo_pair_start(ColoPair *c, bool with_proxy)
{
    json_object *r, *addr;
    g_autofree char *pri_args = NULL;
    g_autofree char *sec_args = NULL;
    int port;

    c->pri_serial = qtest_scratch_path("pri.serial");
    c->sec_serial = qtest_scratch_path("sec.serial");
    c->sec_trace = qtest_scratch_path("sec.trace");
    pri_args = g_strdup_printf("-append workload=count -serial file:%s",
                               c->pri_serial);
    sec_args = g_strdup_printf("-append workload=count -serial file:%s "
                               "-incoming defer -trace colo_failover_state "
                               "-D %s", c->sec_serial, c->sec_trace);
    c->pri = qtest_init_with_oob(pri_args);
    c->sec = qtest_init_with_oob(sec_args);
    /* The primary's guest runs before COLO: its output goes straight out. */
    wait_serial_grows(c->pri_serial, 0);

    set_colo_caps(c->pri);
    set_colo_caps(c->sec);
    ok(c->pri, "{'execute': 'migrate-set-parameters', 'arguments': "
       "{'x-checkpoint-delay': 300, 'max-bandwidth': 10737418240}}");
    ok(c->sec, "{'execute': 'migrate-incoming', 'arguments': "
       "{'uri': 'tcp:127.0.0.1:0'}}");
    r = qtest_qmp_assert_success(c->sec, "{'execute': 'query-migrate'}");
    addr = json_object_array_get_idx(qt_json_get(r, "socket-address"), 0);
    g_assert_cmpstr(qt_json_str(addr, "type"), ==, "inet");
    port = atoi(qt_json_str(addr, "port"));
    g_assert_cmpint(port, >, 0);
    json_object_put(r);
    if (with_proxy) {
        c->proxy = proxy_new(port);
        port = c->proxy->port;
    }
    ok(c->pri, "{'execute': 'migrate', 'arguments': "
       "{'uri': 'tcp:127.0.0.1:%d'}}", port);

    wait_migration_status(c->pri, "colo");
    json_object_put(qtest_qmp_eventwait(c->sec, "RESUME"));
    wait_migration_status(c->sec, "colo");
    assert_colo_status(c->pri, "primary", "none", "none");
    assert_colo_status(c->sec, "secondary", "none", "none");

    wait_serial_grows(c->pri_serial, qtest_file_count(c->pri_serial,
                                                      COUNT_LINE));
    wait_lines_grow(c->sec, qtest_readq(c->sec, TG_LINES_ADDR));
}

static void colo_pair_stop(ColoPair *c)
{
    if (c->pri) {
        qtest_quit(c->pri);
    }
    if (c->sec) {
        qtest_quit(c->sec);
    }
    if (c->proxy) {
        proxy_free(c->proxy);
    }
    g_free(c->pri_serial);
    g_free(c->sec_serial);
    g_free(c->sec_trace);
}

/* Three checkpoints, each seen loaded on the secondary, with progress. */
static void colo_three_checkpoints(ColoPair *c)
{
    unsigned pri_lines = qtest_file_count(c->pri_serial, COUNT_LINE);
    uint64_t sec_lines = qtest_readq(c->sec, TG_LINES_ADDR);

    qtest_qmp_clear_events(c->sec);
    for (int i = 0; i < 3; i++) {
        json_object_put(qtest_qmp_eventwait(c->sec, "RESUME"));
        pri_lines = wait_serial_grows(c->pri_serial, pri_lines);
        sec_lines = wait_lines_grow(c->sec, sec_lines);
    }
    g_assert_cmpint(colo_stat(c->pri, "checkpoints"), >=, 3);
    g_assert_cmpint(colo_stat(c->sec, "checkpoints"), >=, 3);
}

/* ---- the upstream scenario ---- */

/* exec-oob yank of the migration, then x-colo-lost-heartbeat, on s. */
static void colo_yank_and_failover(QTestState *s)
{
    json_object *rsp = qtest_qmp(s, "{'exec-oob': 'yank', 'id': 'yank0', "
                                 "'arguments': {'instances': "
                                 "[{'type': 'migration'}]}}");

    if (!qt_json_has(rsp, "return")) {
        g_error("yank failed: %s", json_object_to_json_string(rsp));
    }
    g_assert_cmpstr(qt_json_str(rsp, "id"), ==, "yank0");
    json_object_put(rsp);
    ok(s, "{'execute': 'x-colo-lost-heartbeat'}");
}

static void colo_failover_test(Side side, bool at_checkpoint)
{
    ColoPair c = { 0 };
    QTestState *s;
    const char *serial;
    json_object *ev, *data;
    bool running;

    colo_pair_start(&c, false);
    colo_three_checkpoints(&c);
    if (at_checkpoint) {
        /* The secondary stopped for a checkpoint: fail over around it. */
        qtest_qmp_clear_events(c.sec);
        json_object_put(qtest_qmp_eventwait(c.sec, "STOP"));
    }
    s = side == SIDE_PRIMARY ? c.pri : c.sec;
    serial = side == SIDE_PRIMARY ? c.pri_serial : c.sec_serial;
    colo_yank_and_failover(s);

    /* This side carries on with the guest, writing out. */
    wait_serial_grows(serial, qtest_file_count(serial, COUNT_LINE));
    ev = qtest_qmp_eventwait(s, "COLO_EXIT");
    data = qt_json_get(ev, "data");
    g_assert_cmpstr(qt_json_str(data, "mode"), ==, side_name(side));
    if (side == SIDE_SECONDARY) {
        g_assert_cmpstr(qt_json_str(data, "reason"), ==, "request");
    } else {
        /* The yank may end COLO before the command lands (the peer is
         * lost: error) or after (request); both are a failover. */
        g_assert_true(!g_strcmp0(qt_json_str(data, "reason"), "request") ||
                      !g_strcmp0(qt_json_str(data, "reason"), "error"));
    }
    json_object_put(ev);
    assert_colo_status(s, "none", side_name(side), NULL);
    g_assert_cmpstr(runstate(s, &running), ==, "running");
    g_assert_true(running);
    assert_error(s, "COLO is not active: there is nothing to fail over",
                 "{'execute': 'x-colo-lost-heartbeat'}");

    if (side == SIDE_SECONDARY) {
        /* The primary lost its secondary and runs on by itself. */
        ev = qtest_qmp_eventwait(c.pri, "COLO_EXIT");
        data = qt_json_get(ev, "data");
        g_assert_cmpstr(qt_json_str(data, "mode"), ==, "primary");
        g_assert_cmpstr(qt_json_str(data, "reason"), ==, "error");
        json_object_put(ev);
        wait_serial_grows(c.pri_serial, qtest_file_count(c.pri_serial,
                                                         COUNT_LINE));
    } else {
        /* The secondary lost its primary: it waits for the command. */
        g_assert_null(qtest_qmp_eventwait_timeout(c.sec, "COLO_EXIT", 200));
        assert_colo_status(c.sec, "secondary", "none", NULL);
    }
    colo_pair_stop(&c);
}

static void test_primary_failover(void)
{
    colo_failover_test(SIDE_PRIMARY, false);
}

static void test_secondary_failover(void)
{
    colo_failover_test(SIDE_SECONDARY, false);
}

static void test_primary_failover_checkpoint(void)
{
    colo_failover_test(SIDE_PRIMARY, true);
}

static void test_secondary_failover_checkpoint(void)
{
    colo_failover_test(SIDE_SECONDARY, true);
}

/* ---- relaunch: the command lands while a checkpoint is in flight ---- */

static void test_secondary_failover_relaunch(void)
{
    ColoPair c = { 0 };
    int64_t loaded;
    json_object *ev, *data;
    bool running;

    colo_pair_start(&c, true);
    colo_three_checkpoints(&c);

    /* Hold the next checkpoint between request and vmstate-send. */
    qtest_qmp_clear_events(c.sec);
    proxy_arm(c.proxy);
    g_assert_true(proxy_wait_holding(c.proxy, qtest_timeout_ms()));
    json_object_put(qtest_qmp_eventwait(c.sec, "STOP"));
    loaded = colo_stat(c.sec, "checkpoints");

    ok(c.sec, "{'execute': 'x-colo-lost-heartbeat'}");
    g_assert_true(wait_file_has(c.sec_trace, "none -> require"));
    g_assert_true(wait_file_has(c.sec_trace, "require -> relaunch"));
    /* The failover waits for the checkpoint: still stopped, in COLO. */
    assert_colo_status(c.sec, "secondary", "none", "processing");
    g_assert_cmpstr(runstate(c.sec, &running), ==, "colo");
    g_assert_false(running);
    assert_error(c.sec, "COLO failover is already activated",
                 "{'execute': 'x-colo-lost-heartbeat'}");

    /* The checkpoint completes and is loaded, then the failover runs. */
    proxy_release(c.proxy);
    ev = qtest_qmp_eventwait(c.sec, "COLO_EXIT");
    data = qt_json_get(ev, "data");
    g_assert_cmpstr(qt_json_str(data, "mode"), ==, "secondary");
    g_assert_cmpstr(qt_json_str(data, "reason"), ==, "request");
    json_object_put(ev);
    g_assert_cmpint(colo_stat(c.sec, "checkpoints"), ==, loaded + 1);
    g_assert_true(wait_file_has(c.sec_trace, "relaunch -> active"));
    g_assert_true(wait_file_has(c.sec_trace, "active -> completed"));
    assert_colo_status(c.sec, "none", "secondary", "request");
    g_assert_cmpstr(runstate(c.sec, &running), ==, "running");
    g_assert_true(running);
    wait_serial_grows(c.sec_serial, qtest_file_count(c.sec_serial,
                                                     COUNT_LINE));

    /* The primary lost its secondary and runs on. */
    ev = qtest_qmp_eventwait(c.pri, "COLO_EXIT");
    g_assert_cmpstr(qt_json_str(qt_json_get(ev, "data"), "mode"), ==,
                    "primary");
    json_object_put(ev);
    colo_pair_stop(&c);
}

/* ---- commands while COLO runs, HMP, primary killed ---- */

static void test_commands_running(void)
{
    ColoPair c = { 0 };
    json_object *r;
    g_autofree char *info_pri = NULL;
    g_autofree char *info_sec = NULL;
    g_autofree char *out = NULL;
    g_autoptr(GRegex) pause_re = g_regex_new(
        "^pause \\(ms\\): last=\\d+\\.\\d{3} p50=\\d+\\.\\d{3} "
        "p99=\\d+\\.\\d{3} max=\\d+\\.\\d{3}\r$", G_REGEX_MULTILINE, 0, NULL);
    json_object *ev, *data;
    int64_t requested;
    gint64 deadline;

    colo_pair_start(&c, false);
    colo_three_checkpoints(&c);

    for (int i = 0; i < 2; i++) {
        QTestState *s = i ? c.sec : c.pri;

        r = qtest_qmp_assert_success(s, "{'execute': 'query-yank'}");
        g_assert_cmpuint(json_object_array_length(r), ==, 1);
        g_assert_cmpstr(qt_json_str(json_object_array_get_idx(r, 0), "type"),
                        ==, "migration");
        json_object_put(r);
        r = qtest_qmp_assert_success(s, "{'execute': 'query-colo-stats'}");
        g_assert_cmpstr(qt_json_str(r, "mode"), ==, i ? "secondary"
                                                      : "primary");
        g_assert_cmpint(json_object_get_int64(qt_json_get(r, "checkpoints")),
                        >=, 3);
        g_assert_cmpint(json_object_get_int64(qt_json_get(r,
                        "max-pause-us")), >=,
                        json_object_get_int64(qt_json_get(r,
                        "p50-pause-us")));
        json_object_put(r);
    }

    /* An explicit checkpoint is counted by its trigger on the primary. */
    requested = colo_trigger_count(c.pri, "request");
    ok(c.pri, "{'execute': 'x-colo-do-checkpoint'}");
    deadline = deadline_ms(qtest_timeout_ms());
    while (colo_trigger_count(c.pri, "request") == requested) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10 * 1000);
    }
    assert_error(c.sec, "x-colo-do-checkpoint: this VMM is not a COLO "
                 "primary (query-colo-status tells its mode)",
                 "{'execute': 'x-colo-do-checkpoint'}");

    info_pri = qtest_hmp(c.pri, "info colo");
    info_sec = qtest_hmp(c.sec, "info colo");
    g_test_message("info colo on the primary:\n%s", info_pri);
    g_assert_true(g_str_has_prefix(info_pri, "COLO mode: primary\r\n"
                                   "last mode: none\r\nreason: none\r\n"));
    g_assert_true(g_str_has_prefix(info_sec, "COLO mode: secondary\r\n"));
    g_assert_true(g_regex_match(pause_re, info_pri, 0, NULL));
    g_assert_true(g_regex_match(pause_re, info_sec, 0, NULL));
    g_assert_nonnull(strstr(info_pri, "triggers: periodic="));

    /* The primary dies: the secondary waits, stopped, for the HMP command. */
    qtest_kill(c.pri);
    c.pri = NULL;
    g_assert_null(qtest_qmp_eventwait_timeout(c.sec, "COLO_EXIT", 200));
    out = qtest_hmp(c.sec, "x_colo_lost_heartbeat");
    g_assert_cmpstr(out, ==, "");
    ev = qtest_qmp_eventwait(c.sec, "COLO_EXIT");
    data = qt_json_get(ev, "data");
    g_assert_cmpstr(qt_json_str(data, "mode"), ==, "secondary");
    g_assert_cmpstr(qt_json_str(data, "reason"), ==, "request");
    json_object_put(ev);
    wait_serial_grows(c.sec_serial, qtest_file_count(c.sec_serial,
                                                     COUNT_LINE));
    g_free(info_sec);
    info_sec = qtest_hmp(c.sec, "info colo");
    g_assert_true(g_str_has_prefix(info_sec, "COLO mode: none\r\n"
                                   "last mode: secondary\r\n"
                                   "reason: request\r\n"));
    g_free(out);
    out = qtest_hmp(c.sec, "x_colo_lost_heartbeat");
    g_assert_cmpstr(out, ==, "Error: COLO is not active: there is nothing "
                    "to fail over\r\n");
    colo_pair_stop(&c);
}

/* ---- without COLO ---- */

static void test_not_active(void)
{
    QTestState *s = qtest_init(NULL);
    json_object *r;
    g_autofree char *info = NULL;
    g_autofree char *out = NULL;
    g_autofree char *help = NULL;
    g_autofree char *desc = NULL;

    assert_colo_status(s, "none", "none", "none");
    assert_error(s, "COLO is not active: there is nothing to fail over",
                 "{'execute': 'x-colo-lost-heartbeat'}");
    r = qtest_qmp_assert_success(s, "{'execute': 'query-colo-stats'}");
    g_assert_cmpstr(qt_json_str(r, "mode"), ==, "none");
    g_assert_cmpint(json_object_get_int64(qt_json_get(r, "checkpoints")), ==,
                    0);
    g_assert_cmpint(json_object_get_int64(qt_json_get(qt_json_get(r,
                    "triggers"), "periodic")), ==, 0);
    json_object_put(r);
    assert_error(s, "x-colo-do-checkpoint: this VMM is not a COLO primary "
                 "(query-colo-status tells its mode)",
                 "{'execute': 'x-colo-do-checkpoint'}");

    /* yank: nothing to yank without a migration; all or nothing. */
    assert_error(s, "Instance 'migration' not found: no migration "
                 "connection is open",
                 "{'execute': 'yank', 'arguments': {'instances': "
                 "[{'type': 'migration'}]}}");
    assert_error(s, "Instance 'chardev' 'char0' not found",
                 "{'execute': 'yank', 'arguments': {'instances': "
                 "[{'type': 'chardev', 'id': 'char0'}]}}");
    ok(s, "{'execute': 'yank', 'arguments': {'instances': []}}");
    r = qtest_qmp_assert_success(s, "{'execute': 'query-yank'}");
    g_assert_true(json_object_is_type(r, json_type_array));
    g_assert_cmpuint(json_object_array_length(r), ==, 0);
    json_object_put(r);
    /* exec-oob needs the oob capability, which qtest_init() leaves off. */
    desc = qtest_qmp_assert_error(s, NULL, "{'exec-oob': 'yank', 'id': 1, "
                                  "'arguments': {'instances': []}}");
    g_assert_nonnull(strstr(desc, "exec-oob"));

    info = qtest_hmp(s, "info colo");
    g_assert_cmpstr(info, ==, "COLO mode: none\r\nlast mode: none\r\n"
                    "reason: none\r\ncheckpoints: 0\r\n"
                    "pause (ms): last=0.000 p50=0.000 p99=0.000 max=0.000\r\n"
                    "last checkpoint: dirty pages=0, bytes=0\r\n"
                    "triggers: periodic=0 compare=0 request=0\r\n");
    out = qtest_hmp(s, "x_colo_lost_heartbeat");
    g_assert_cmpstr(out, ==, "Error: COLO is not active: there is nothing "
                    "to fail over\r\n");
    g_free(help);
    help = qtest_hmp(s, "help x_colo");
    g_assert_cmpstr(help, ==, "x_colo_lost_heartbeat  -- Tell COLO that "
                    "heartbeat is lost, a failover or takeover is needed\r\n");
    g_free(help);
    help = qtest_hmp(s, "info");
    g_assert_nonnull(strstr(help, "info colo  -- show COLO status and "
                            "checkpoint figures\r\n"));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    test_add_kvm_func("/colo/not-active", test_not_active);
    test_add_kvm_func("/colo/primary_failover", test_primary_failover);
    test_add_kvm_func("/colo/secondary_failover", test_secondary_failover);
    test_add_kvm_func("/colo/primary_failover_checkpoint",
                    test_primary_failover_checkpoint);
    test_add_kvm_func("/colo/secondary_failover_checkpoint",
                    test_secondary_failover_checkpoint);
    test_add_kvm_func("/colo/secondary_failover_relaunch",
                    test_secondary_failover_relaunch);
    test_add_kvm_func("/colo/commands-running", test_commands_running);
    return g_test_run();
}
