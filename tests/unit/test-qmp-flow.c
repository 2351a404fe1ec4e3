/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP output flow control in-process (qmp-test-client.h,
 * monitor/qmp-output.h): a client that does not read loses no reply,
 * never sees a torn message, never makes the emitting thread wait, loses
 * events first and is disconnected past the hard bound. The chardev's end
 * of each socketpair gets a small send buffer so that a backlog forms
 * after a few KiB instead of the kernel's few hundred.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "qapi/qapi-events.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "os-util.h"
#include "qmp-test-client.h"

/* An emit that waits this long waited for the client (the old chardev
 * write waited 1 s); no in-memory queueing comes near it. */
#define EMIT_STALL_US   (500 * 1000)

static Client *flow_client_new(void)
{
    Client *c = client_new();
    int sndbuf = 4096;

    g_assert_cmpint(setsockopt(c->server_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
                               sizeof(sndbuf)), ==, 0);
    negotiate(c, false);
    return c;
}

/* Spins the main loop without reading until the monitor took every
 * request (the server end holds no unread bytes) and ~50 ms passed. */
static void spin_until_requests_read(Client *c)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;
    int pending = 1, quiet = 0;

    while (quiet < 50) {
        main_loop_wait(false);
        g_usleep(1000);
        g_assert_cmpint(ioctl(c->server_fd, FIONREAD, &pending), ==, 0);
        quiet = pending ? 0 : quiet + 1;
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    }
}

/* Reads the next line as JSON; NULL at EOF (after WAIT_MS: failure). */
static json_object *recv_json_or_eof(Client *c)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;

    for (;;) {
        char buf[65536];
        char *nl = memchr(c->in->str, '\n', c->in->len);
        ssize_t n;

        if (nl) {
            return recv_json(c);
        }
        main_loop_wait(false);
        n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            g_string_append_len(c->in, buf, n);
        } else if (n == 0) {
            /* EOF: at most the message being sent when the connection
             * was cut is left, without its end. */
            g_assert_null(memchr(c->in->str, '\n', c->in->len));
            return NULL;
        } else {
            g_assert_true(errno == EAGAIN || errno == EINTR);
            g_usleep(500);
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    }
}

static const char *event_name(json_object *msg)
{
    json_object *ev;

    return json_object_object_get_ex(msg, "event", &ev)
           ? json_object_get_string(ev) : NULL;
}

/* A client that reads and throws events away: complete lines go. */
static void reader_keep_up(Client *c)
{
    char *nl;

    spin(c);
    nl = memrchr(c->in->str, '\n', c->in->len);
    if (nl) {
        g_string_erase(c->in, 0, nl - c->in->str + 1);
    }
}

/* A negotiated client with the kernel's usual socket buffers. */
static Client *reading_client_new(void)
{
    Client *c = client_new();

    negotiate(c, false);
    return c;
}

/*
 * 2,000 requests sent, nothing read while they run: every reply is
 * queued and arrives, whole and in order, once the client reads.
 */
static void test_unread_replies(void)
{
    Client *c = flow_client_new();
    GString *reqs = g_string_new(NULL);

    for (int i = 0; i < 2000; i++) {
        g_string_append_printf(reqs,
                               "{\"execute\":\"query-status\",\"id\":%d}\n", i);
    }
    send_bytes(c, reqs->str, reqs->len);
    spin_until_requests_read(c);
    for (int i = 0; i < 2000; i++) {
        json_object *resp = recv_json(c);

        g_autofree char *id = g_strdup_printf("%d", i);

        check_return(resp, id);
        json_object_put(resp);
    }
    expect_silence(c, 50);
    g_string_free(reqs, TRUE);
    client_free(c);
}

/*
 * 20,000 requests, more replies than the soft bound: the monitor stops
 * reading requests while the replies wait, instead of queueing without
 * bound or dropping any. Reading lets it go on; all arrive in order.
 */
static void test_input_paused_by_backlog(void)
{
    enum { N = 20000 };
    Client *c = flow_client_new();
    GString *reqs = g_string_new(NULL);
    size_t off = 0;
    gint64 stalled_since = 0;
    int next_id = 0, pending = 0;

    for (int i = 0; i < N; i++) {
        g_string_append_printf(reqs,
                               "{\"execute\":\"query-status\",\"id\":%d}\n", i);
    }
    /* Send without reading until the monitor stops taking requests. */
    for (;;) {
        ssize_t n = send(c->fd, reqs->str + off, reqs->len - off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);

        main_loop_wait(false);
        if (n > 0) {
            off += n;
            stalled_since = 0;
            continue;
        }
        g_assert_true(errno == EAGAIN || errno == EINTR);
        g_assert_cmpuint(off, <, reqs->len);   /* it must stop before all */
        if (!stalled_since) {
            stalled_since = g_get_monotonic_time();
        } else if (g_get_monotonic_time() - stalled_since > 200 * 1000) {
            break;
        }
        g_usleep(1000);
    }
    /* Requests wait in the socket, unread: input is paused. */
    g_assert_cmpint(ioctl(c->server_fd, FIONREAD, &pending), ==, 0);
    g_assert_cmpint(pending, >, 0);

    /* Now read everything while sending the rest. */
    while (next_id < N) {
        char *nl;

        if (off < reqs->len) {
            ssize_t n = send(c->fd, reqs->str + off, reqs->len - off,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) {
                off += n;
            }
        }
        spin(c);
        while ((nl = memchr(c->in->str, '\n', c->in->len))) {
            json_object *resp = recv_json(c);

            g_assert_cmpint(json_object_get_int(member(resp, "id")), ==,
                            next_id);
            next_id++;
            json_object_put(resp);
        }
    }
    expect_silence(c, 50);
    g_string_free(reqs, TRUE);
    client_free(c);
}

/*
 * A COLO-like storm of STOP/RESUME to a client that reads nothing: no
 * emit waits for the client, and what the client finally reads is whole,
 * alternates as run states do, ends in the current state, and is followed
 * by the reply to its next command.
 */
static void test_runstate_storm(void)
{
    Client *c = flow_client_new();
    gint64 worst = 0;
    const char *last = NULL;
    int events = 0;
    json_object *resp;

    runstate_set(RUN_STATE_RUNNING);
    runstate_set(RUN_STATE_PAUSED);
    for (int i = 0; i < 20000; i++) {
        gint64 t0 = g_get_monotonic_time();

        runstate_set(i % 2 ? RUN_STATE_PAUSED : RUN_STATE_RUNNING);
        worst = MAX(worst, g_get_monotonic_time() - t0);
    }
    g_assert_cmpint(worst, <, EMIT_STALL_US);
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_PAUSED);

    send_str(c, "{\"execute\":\"query-status\",\"id\":\"after\"}\n");
    for (;;) {
        const char *name;

        resp = recv_json(c);
        name = event_name(resp);
        if (!name) {
            break;
        }
        g_assert_true(!strcmp(name, "STOP") || !strcmp(name, "RESUME"));
        if (last) {
            g_assert_cmpstr(name, !=, last);
        }
        last = strcmp(name, "STOP") ? "RESUME" : "STOP";
        events++;
        json_object_put(resp);
    }
    check_return(resp, "\"after\"");
    g_assert_cmpstr(json_object_get_string(member(member(resp, "return"),
                                                  "status")), ==, "paused");
    json_object_put(resp);
    /* Something came through, and it ended in the real state. */
    g_assert_cmpint(events, >, 0);
    g_assert_cmpstr(last, ==, "STOP");
    g_test_message("%d of 20002 run-state events reached the stuck client",
                   events);
    client_free(c);
}

/*
 * Events that cannot cancel (MIGRATION) past the soft bound are dropped,
 * but a request sent afterwards still gets its reply, and a client that
 * keeps reading meanwhile gets every event.
 */
static void test_events_dropped_replies_kept(void)
{
    enum { N = 6000 };          /* ~400 KiB: past soft, under hard */
    Client *stuck = flow_client_new(), *reader = reading_client_new();
    int got_stuck = 0, got_reader = 0;
    json_object *resp;

    for (int i = 0; i < N; i++) {
        qapi_event_send_migration(MIGRATION_STATUS_ACTIVE);
        if (i % 50 == 0) {
            spin(reader);
        }
    }
    send_str(stuck, "{\"execute\":\"query-name\",\"id\":\"owed\"}\n");
    for (;;) {
        resp = recv_json(stuck);
        if (!event_name(resp)) {
            break;
        }
        g_assert_cmpstr(event_name(resp), ==, "MIGRATION");
        got_stuck++;
        json_object_put(resp);
    }
    check_return(resp, "\"owed\"");
    json_object_put(resp);
    g_assert_cmpint(got_stuck, <, N);
    g_assert_cmpint(got_stuck, >, 0);

    while (got_reader < N) {
        resp = recv_json(reader);
        g_assert_cmpstr(event_name(resp), ==, "MIGRATION");
        got_reader++;
        json_object_put(resp);
    }
    check_alive(reader, "reader");
    g_test_message("stuck client: %d of %d events; reader: all", got_stuck, N);
    client_free(stuck);
    client_free(reader);
}

/*
 * Past the hard bound the stuck client is cut off, with a log line; what
 * it had received is whole. The monitor goes on serving other clients.
 */
static void test_hard_bound_disconnects(void)
{
    enum { N = 60000 };         /* ~4.5 MiB of events */
    Client *stuck = flow_client_new(), *other = reading_client_new();
    g_autofree char *log = NULL;
    TestStderrCapture *cap;
    json_object *resp;
    int got = 0;

    cap = test_stderr_capture_start();
    for (int i = 0; i < N; i++) {
        qapi_event_send_migration(MIGRATION_STATUS_ACTIVE);
        if (i % 50 == 0) {
            reader_keep_up(other);     /* it must not be cut off */
        }
    }
    log = test_stderr_capture_end(cap);

    while ((resp = recv_json_or_eof(stuck))) {
        g_assert_cmpstr(event_name(resp), ==, "MIGRATION");
        got++;
        json_object_put(resp);
    }
    g_assert_cmpint(got, <, N);

    if (!strstr(log, "QMP client on chardev") ||
        !strstr(log, "disconnecting it")) {
        g_error("no disconnect log line in: %s", log);
    }

    /* other was not cut off and still gets replies. */
    for (int i = 0; i < 100; i++) {
        reader_keep_up(other);
    }
    g_assert_cmpuint(other->in->len, ==, 0);
    check_alive(other, "other");
    client_free(stuck);
    client_free(other);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    g_test_add_func("/qmp/flow/unread-replies", test_unread_replies);
    g_test_add_func("/qmp/flow/input-paused-by-backlog",
                    test_input_paused_by_backlog);
    g_test_add_func("/qmp/flow/runstate-storm", test_runstate_storm);
    g_test_add_func("/qmp/flow/events-dropped-replies-kept",
                    test_events_dropped_replies_kept);
    g_test_add_func("/qmp/flow/hard-bound-disconnects",
                    test_hard_bound_disconnects);
    return qmp_test_run();
}
