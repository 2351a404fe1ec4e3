/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration and COLO qtests' shared helpers (see migration-helpers.h).
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
#include "migration-helpers.h"

static gint64 deadline_ms(int ms)
{
    return g_get_monotonic_time() + (gint64)ms * 1000;
}

/* ---- query-migrate ---- */

const char *migrate_wait_status_in(QTestState *s, const char *const *want)
{
    static char status[32];
    gint64 deadline = deadline_ms(qtest_timeout_ms());

    for (;;) {
        json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                                  "'query-migrate'}");

        g_strlcpy(status, qt_json_str(r, "status") ?: "", sizeof(status));
        json_object_put(r);
        for (const char *const *w = want; *w; w++) {
            if (!strcmp(status, *w)) {
                return status;
            }
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("migration status is '%s' after %d ms", status,
                    qtest_timeout_ms());
        }
        g_usleep(20 * 1000);
    }
}

void migrate_wait_status(QTestState *s, const char *want)
{
    const char *const wanted[] = { want, "failed", NULL };
    const char *st = migrate_wait_status_in(s, wanted);

    if (strcmp(st, want)) {
        g_error("migration status is %s, waited for %s", st, want);
    }
}

/* ---- the test guest's progress ---- */

unsigned tg_wait_serial_grows(const char *path, unsigned than)
{
    if (!qtest_wait_file_count(path, TG_COUNT_LINE, than + 1,
                               qtest_timeout_ms())) {
        g_error("%s: still %u '%s' lines", path,
                qtest_file_count(path, TG_COUNT_LINE), TG_COUNT_LINE);
    }
    return qtest_file_count(path, TG_COUNT_LINE);
}

unsigned tg_wait_serial_more(const char *path)
{
    return tg_wait_serial_grows(path, qtest_file_count(path, TG_COUNT_LINE));
}

uint64_t tg_wait_lines_grow(QTestState *s, uint64_t than)
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

/* ---- COLO ---- */

void colo_assert_status(QTestState *s, const char *mode,
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

void colo_wait_exit(QTestState *s, const char *mode, const char *reason)
{
    json_object *ev = qtest_qmp_eventwait(s, "COLO_EXIT");
    json_object *data = qt_json_get(ev, "data");

    g_assert_cmpstr(qt_json_str(data, "mode"), ==, mode);
    if (reason) {
        g_assert_cmpstr(qt_json_str(data, "reason"), ==, reason);
    }
    json_object_put(ev);
}

/* ---- a TCP proxy between primary and secondary ---- */

/*
 * For a test that must act while the secondary holds a checkpoint in
 * flight (test-colo's relaunch case lands x-colo-lost-heartbeat there),
 * the proxy makes that window as long as the test wants.
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

/* Blocks as long as the peer takes: the test bounds its own waits. */
static bool proxy_write_all(int fd, const uint8_t *buf, size_t len)
{
    return qtest_write_all(fd, buf, len, G_MAXINT64 / 2);
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

ColoProxy *colo_proxy_new(int target_port)
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

int colo_proxy_port(ColoProxy *p)
{
    return p->port;
}

void colo_proxy_arm(ColoProxy *p)
{
    g_mutex_lock(&p->lock);
    p->armed = true;
    g_mutex_unlock(&p->lock);
}

bool colo_proxy_wait_holding(ColoProxy *p, int timeout_ms)
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

void colo_proxy_release(ColoProxy *p)
{
    g_mutex_lock(&p->lock);
    p->release = true;
    g_mutex_unlock(&p->lock);
    proxy_kick(p);
}

void colo_proxy_free(ColoProxy *p)
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

/* ---- a COLO pair ---- */

static void set_colo_caps(QTestState *s)
{
    qtest_qmp_ok(s, "{'execute': 'migrate-set-capabilities', 'arguments': "
                 "{'capabilities': [{'capability': 'return-path', "
                 "'state': true}, {'capability': 'x-colo', 'state': true}]}}");
}

void colo_pair_start(ColoPair *c, bool with_proxy)
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
    tg_wait_serial_grows(c->pri_serial, 0);

    set_colo_caps(c->pri);
    set_colo_caps(c->sec);
    qtest_qmp_ok(c->pri, "{'execute': 'migrate-set-parameters', "
                 "'arguments': {'x-checkpoint-delay': 300, "
                 "'max-bandwidth': 10737418240}}");
    qtest_qmp_ok(c->sec, "{'execute': 'migrate-incoming', 'arguments': "
                 "{'uri': 'tcp:127.0.0.1:0'}}");
    r = qtest_qmp_assert_success(c->sec, "{'execute': 'query-migrate'}");
    addr = json_object_array_get_idx(qt_json_get(r, "socket-address"), 0);
    g_assert_cmpstr(qt_json_str(addr, "type"), ==, "inet");
    port = atoi(qt_json_str(addr, "port"));
    g_assert_cmpint(port, >, 0);
    json_object_put(r);
    if (with_proxy) {
        c->proxy = colo_proxy_new(port);
        port = c->proxy->port;
    }
    qtest_qmp_ok(c->pri, "{'execute': 'migrate', 'arguments': "
                 "{'uri': 'tcp:127.0.0.1:%d'}}", port);

    migrate_wait_status(c->pri, "colo");
    json_object_put(qtest_qmp_eventwait(c->sec, "RESUME"));
    migrate_wait_status(c->sec, "colo");
    colo_assert_status(c->pri, "primary", "none", "none");
    colo_assert_status(c->sec, "secondary", "none", "none");

    tg_wait_serial_more(c->pri_serial);
    tg_wait_lines_grow(c->sec, qtest_readq(c->sec, TG_LINES_ADDR));
}

void colo_pair_stop(ColoPair *c)
{
    if (c->pri) {
        qtest_quit(c->pri);
    }
    if (c->sec) {
        qtest_quit(c->sec);
    }
    if (c->proxy) {
        colo_proxy_free(c->proxy);
    }
    g_free(c->pri_serial);
    g_free(c->sec_serial);
    g_free(c->sec_trace);
}
