/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Chardev backends: the socket backend as server, client, reconnecting
 * client and inherited fd, with a frontend on the default context and one
 * on a private context run by an "I/O thread"; option parsing and the
 * legacy -serial spellings; the pty backend. Every wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "os-util.h"
#include "chardev/char.h"

#define WAIT_SECONDS 5

/* ---- a frontend that records what it gets ---- */

typedef struct TestFe {
    GMutex lock;
    GByteArray *data;
    int opened, closed;
    bool echo;              /* write received bytes back, from receive() */
    bool wrong_thread;      /* a callback ran off the expected thread */
    GThread *expect_thread;
    Chardev *chr;
} TestFe;

static void fe_check_thread(TestFe *fe)
{
    if (g_thread_self() != fe->expect_thread) {
        fe->wrong_thread = true;
    }
}

static size_t fe_can_receive(void *opaque)
{
    return 4096;
}

static void fe_receive(void *opaque, const uint8_t *buf, size_t len)
{
    TestFe *fe = opaque;

    g_mutex_lock(&fe->lock);
    fe_check_thread(fe);
    g_byte_array_append(fe->data, buf, len);
    g_mutex_unlock(&fe->lock);
    if (fe->echo) {
        /* As a monitor answers: from the frontend's own thread. */
        g_assert_cmpuint(chardev_write_all(fe->chr, buf, len), ==, len);
    }
}

static void fe_event(void *opaque, ChardevEvent event)
{
    TestFe *fe = opaque;

    g_mutex_lock(&fe->lock);
    fe_check_thread(fe);
    if (event == CHARDEV_EVENT_OPENED) {
        fe->opened++;
    } else {
        fe->closed++;
    }
    g_mutex_unlock(&fe->lock);
}

/* ---- an I/O thread running a private context ---- */

typedef struct IoThread {
    GMainContext *ctx;
    GThread *thread;
    gint stop;
} IoThread;

static gpointer io_thread_run(gpointer opaque)
{
    IoThread *t = opaque;

    g_main_context_push_thread_default(t->ctx);
    while (!g_atomic_int_get(&t->stop)) {
        g_main_context_iteration(t->ctx, TRUE);
    }
    g_main_context_pop_thread_default(t->ctx);
    return NULL;
}

static IoThread *io_thread_new(void)
{
    IoThread *t = g_new0(IoThread, 1);

    t->ctx = g_main_context_new();
    t->thread = g_thread_new("test-iothread", io_thread_run, t);
    return t;
}

static void io_thread_free(IoThread *t)
{
    g_atomic_int_set(&t->stop, 1);
    g_main_context_wakeup(t->ctx);
    g_thread_join(t->thread);
    /* Sources left on it would be a leak of the backend under test. */
    g_main_context_unref(t->ctx);
    g_free(t);
}

static void fe_attach(TestFe *fe, Chardev *chr, IoThread *io)
{
    ChardevFrontend f = {
        .can_receive = fe_can_receive,
        .receive = fe_receive,
        .event = fe_event,
        .opaque = fe,
        .context = io ? io->ctx : NULL,
    };

    g_mutex_init(&fe->lock);
    fe->data = g_byte_array_new();
    fe->chr = chr;
    fe->expect_thread = io ? io->thread : g_thread_self();
    g_assert_true(chardev_attach_frontend(chr, &f, &error_abort));
}

static void fe_detach(TestFe *fe)
{
    chardev_detach_frontend(fe->chr);
    g_assert_false(fe->wrong_thread);
    g_byte_array_unref(fe->data);
    g_mutex_clear(&fe->lock);
}

/* Runs the default context while waiting for cond (evaluated under
 * fe->lock), for at most WAIT_SECONDS. */
#define WAIT_FOR(fe, cond) do {                                             \
    gint64 deadline_ = g_get_monotonic_time() +                             \
                       WAIT_SECONDS * G_TIME_SPAN_SECOND;                   \
    bool ok_;                                                               \
    for (;;) {                                                              \
        while (g_main_context_iteration(NULL, FALSE)) {                     \
        }                                                                   \
        g_mutex_lock(&(fe)->lock);                                          \
        ok_ = (cond);                                                       \
        g_mutex_unlock(&(fe)->lock);                                        \
        if (ok_ || g_get_monotonic_time() > deadline_) {                    \
            break;                                                          \
        }                                                                   \
        g_usleep(1000);                                                     \
    }                                                                       \
    if (!ok_) {                                                             \
        g_error("%s:%d: timed out waiting for %s", __FILE__, __LINE__,      \
                #cond);                                                     \
    }                                                                       \
} while (0)

/* Runs the default context for a while (to show nothing happens). */
static void spin_default(int ms)
{
    gint64 end = g_get_monotonic_time() + ms * G_TIME_SPAN_MILLISECOND;

    while (g_get_monotonic_time() < end) {
        while (g_main_context_iteration(NULL, FALSE)) {
        }
        g_usleep(1000);
    }
}

/* ---- test-side sockets ---- */

static char *tmp_dir;

static char *sock_path(const char *name)
{
    return g_build_filename(tmp_dir, name, NULL);
}

static int unix_listen(const char *path)
{
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(un.sun_path, path, sizeof(un.sun_path));
    unlink(path);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&un, sizeof(un)), ==, 0);
    g_assert_cmpint(listen(fd, 4), ==, 0);
    return fd;
}

static int tcp_connect(int port)
{
    struct sockaddr_in in = {
        .sin_family = AF_INET,
        .sin_port = htons(port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&in, sizeof(in)), ==, 0);
    return fd;
}

static int tcp_listen(int *port)
{
    struct sockaddr_in in = {
        .sin_family = AF_INET,
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    socklen_t len = sizeof(in);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&in, sizeof(in)), ==, 0);
    g_assert_cmpint(listen(fd, 4), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&in, &len), ==, 0);
    *port = ntohs(in.sin_port);
    return fd;
}

/* Accepts within WAIT_SECONDS while running the default context. */
static int accept_bounded(int lfd)
{
    gint64 deadline = g_get_monotonic_time() +
                      WAIT_SECONDS * G_TIME_SPAN_SECOND;

    while (g_get_monotonic_time() < deadline) {
        struct pollfd pfd = { .fd = lfd, .events = POLLIN };

        while (g_main_context_iteration(NULL, FALSE)) {
        }
        if (poll(&pfd, 1, 10) == 1) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            g_assert_cmpint(fd, >=, 0);
            return fd;
        }
    }
    g_error("no connection within %d s", WAIT_SECONDS);
}

/* Reads exactly len bytes within WAIT_SECONDS. */
static void read_bounded(int fd, char *buf, size_t len)
{
    gint64 deadline = g_get_monotonic_time() +
                      WAIT_SECONDS * G_TIME_SPAN_SECOND;
    size_t got = 0;

    while (got < len) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int left = (deadline - g_get_monotonic_time()) / 1000;
        ssize_t n;

        while (g_main_context_iteration(NULL, FALSE)) {
        }
        if (left <= 0) {
            g_error("read: got %zu of %zu bytes", got, len);
        }
        if (poll(&pfd, 1, MIN(left, 10)) != 1) {
            continue;
        }
        n = read(fd, buf + got, len - got);
        g_assert_cmpint(n, >, 0);
        got += n;
    }
}

static void expect_read(int fd, const char *text)
{
    size_t len = strlen(text);
    g_autofree char *buf = g_malloc0(len + 1);

    read_bounded(fd, buf, len);
    g_assert_cmpstr(buf, ==, text);
}

static void send_str(int fd, const char *text)
{
    g_assert_cmpint(write(fd, text, strlen(text)), ==, (ssize_t)strlen(text));
}

static bool fe_has(TestFe *fe, const char *text)
{
    return fe->data->len == strlen(text) &&
           !memcmp(fe->data->data, text, strlen(text));
}

static void fe_clear(TestFe *fe)
{
    g_mutex_lock(&fe->lock);
    g_byte_array_set_size(fe->data, 0);
    g_mutex_unlock(&fe->lock);
}

static char *label_of(Chardev *chr)
{
    return chardev_dup_label(chr);
}

/*
 * One session: the peer connects with connect_peer(), then OPENED, data
 * both ways (echo from the frontend's thread, a write from this one),
 * peer close -> CLOSED.
 */
static void session(TestFe *fe, int peer, int n)
{
    Chardev *chr = fe->chr;

    WAIT_FOR(fe, fe->opened == n);
    g_assert_true(chardev_is_connected(chr));
    fe_clear(fe);
    fe->echo = true;
    send_str(peer, "ping");
    WAIT_FOR(fe, fe_has(fe, "ping"));
    expect_read(peer, "ping");
    fe->echo = false;
    g_assert_cmpuint(chardev_write_all(chr, (const uint8_t *)"hello", 5), ==,
                     5);
    expect_read(peer, "hello");
    close(peer);
    WAIT_FOR(fe, fe->closed == n);
    WAIT_FOR(fe, !chardev_is_connected(chr));
}

static void test_unix_server(gconstpointer opaque)
{
    bool threaded = GPOINTER_TO_INT(opaque);
    IoThread *io = threaded ? io_thread_new() : NULL;
    g_autofree char *path = sock_path(threaded ? "srv-io" : "srv-main");
    g_autofree char *opts = g_strdup_printf(
        "socket,id=us%d,path=%s,server=on,wait=off", threaded, path);
    g_autofree char *want_dis = g_strdup_printf(
        "disconnected:unix:%s,server=on", path);
    g_autofree char *want_con = g_strdup_printf("unix:%s,server=on", path);
    TestFe fe = { 0 };
    Chardev *chr = chardev_new_from_opts(opts, &error_abort);
    char *label;

    label = label_of(chr);
    g_assert_cmpstr(label, ==, want_dis);
    g_free(label);
    g_assert_false(chardev_is_connected(chr));
    fe_attach(&fe, chr, io);

    for (int i = 1; i <= 3; i++) {
        int peer = test_unix_connect(path);

        WAIT_FOR(&fe, fe.opened == i);
        label = label_of(chr);
        g_assert_cmpstr(label, ==, want_con);
        g_free(label);
        session(&fe, peer, i);
        label = label_of(chr);
        g_assert_cmpstr(label, ==, want_dis);
        g_free(label);
    }
    g_assert_false(fe.wrong_thread);
    fe_detach(&fe);
    chardev_close(chr);
    /* The server removes its socket file. */
    g_assert_cmpint(access(path, F_OK), !=, 0);
    if (io) {
        io_thread_free(io);
    }
}

/* ---- no wake-up per dispatch on an I/O thread ---- */

static gint io_polls;

static gint counting_poll(GPollFD *fds, guint nfds, gint timeout)
{
    g_atomic_int_inc(&io_polls);
    return g_poll(fds, nfds, timeout);
}

/*
 * Each chunk a peer sends reaches a frontend on an I/O thread in one
 * poll() of that thread. GLib's guard against a source re-entering
 * itself writes the context's wake-up eventfd twice per dispatch, which
 * costs a second poll() per chunk; main_context_attach() switches the
 * guard off on contexts nothing iterates from inside a callback.
 */
static void test_iothread_poll_per_read(void)
{
    enum { CHUNKS = 40 };
    IoThread *io = io_thread_new();
    g_autofree char *path = sock_path("polls");
    g_autofree char *opts = g_strdup_printf(
        "socket,id=polls,path=%s,server=on,wait=off", path);
    TestFe fe = { 0 };
    Chardev *chr = chardev_new_from_opts(opts, &error_abort);
    int peer, before, polls;

    fe_attach(&fe, chr, io);
    peer = test_unix_connect(path);
    WAIT_FOR(&fe, fe.opened == 1);
    g_main_context_set_poll_func(io->ctx, counting_poll);
    /* Out of the poll() that began before the counter was in place. */
    g_main_context_wakeup(io->ctx);
    g_usleep(10 * 1000);
    before = g_atomic_int_get(&io_polls);
    for (int i = 0; i < CHUNKS; i++) {
        g_assert_cmpint(write(peer, "x", 1), ==, 1);
        WAIT_FOR(&fe, fe.data->len == (guint)i + 1);
    }
    polls = g_atomic_int_get(&io_polls) - before;
    g_test_message("%d polls for %d chunks", polls, CHUNKS);
    g_assert_cmpint(polls, <=, CHUNKS + CHUNKS / 4);
    close(peer);
    WAIT_FOR(&fe, fe.closed == 1);
    fe_detach(&fe);
    chardev_close(chr);
    io_thread_free(io);
}

static void test_tcp_server_port0(void)
{
    IoThread *io = io_thread_new();
    TestFe fe = { 0 };
    Chardev *chr = chardev_new_from_opts(
        "socket,id=tcp0,host=127.0.0.1,port=0,server=on,wait=off,nodelay=on",
        &error_abort);
    g_autofree char *label = label_of(chr);
    int port = 0, peer;
    char *end;

    g_assert_true(g_str_has_prefix(label, "disconnected:tcp:127.0.0.1:"));
    g_assert_true(g_str_has_suffix(label, ",server=on"));
    port = strtol(label + strlen("disconnected:tcp:127.0.0.1:"), &end, 10);
    g_assert_cmpint(port, >, 0);
    fe_attach(&fe, chr, io);

    peer = tcp_connect(port);
    WAIT_FOR(&fe, fe.opened == 1);
    g_free(label);
    label = label_of(chr);
    g_autofree char *prefix = g_strdup_printf(
        "tcp:127.0.0.1:%d,server=on <-> 127.0.0.1:", port);
    g_assert_true(g_str_has_prefix(label, prefix));
    session(&fe, peer, 1);
    /* And again. */
    session(&fe, tcp_connect(port), 2);
    fe_detach(&fe);
    chardev_close(chr);
    io_thread_free(io);
}

/* While a client is connected, the next one waits in the backlog and is
 * served when the first leaves. */
static void test_server_one_client(void)
{
    g_autofree char *path = sock_path("one");
    g_autofree char *opts = g_strdup_printf(
        "socket,id=one,path=%s,server,nowait", path);
    TestFe fe = { 0 };
    Chardev *chr = chardev_new_from_opts(opts, &error_abort);
    int a, b;

    fe_attach(&fe, chr, NULL);
    a = test_unix_connect(path);
    WAIT_FOR(&fe, fe.opened == 1);
    b = test_unix_connect(path);     /* queued by the kernel */
    send_str(b, "from-b");
    spin_default(100);
    g_mutex_lock(&fe.lock);
    g_assert_cmpuint(fe.data->len, ==, 0);
    g_mutex_unlock(&fe.lock);
    close(a);
    WAIT_FOR(&fe, fe.closed == 1 && fe.opened == 2);
    WAIT_FOR(&fe, fe_has(&fe, "from-b"));
    close(b);
    WAIT_FOR(&fe, fe.closed == 2);
    fe_detach(&fe);
    chardev_close(chr);
}

static void test_client(gconstpointer opaque)
{
    bool tcp = GPOINTER_TO_INT(opaque);
    IoThread *io = io_thread_new();
    g_autofree char *path = sock_path("cli");
    g_autofree char *opts = NULL;
    int port = 0;
    int lfd = tcp ? tcp_listen(&port) : unix_listen(path);
    TestFe fe = { 0 };
    Chardev *chr;
    int peer;

    opts = tcp ? g_strdup_printf("socket,id=cli%d,host=127.0.0.1,port=%d",
                                 tcp, port)
               : g_strdup_printf("socket,id=cli%d,path=%s", tcp, path);
    chr = chardev_new_from_opts(opts, &error_abort);
    g_assert_true(chardev_is_connected(chr));
    peer = accept_bounded(lfd);
    g_autofree char *label = label_of(chr);
    if (tcp) {
        g_assert_true(g_str_has_prefix(label, "tcp:127.0.0.1:"));
        g_assert_nonnull(strstr(label, " <-> 127.0.0.1:"));
    } else {
        g_autofree char *want = g_strdup_printf("unix:%s", path);
        g_assert_cmpstr(label, ==, want);
    }
    /* Connected before the frontend came: it gets OPENED on attach. */
    fe_attach(&fe, chr, io);
    session(&fe, peer, 1);
    /* No reconnect-ms: stays down. */
    spin_default(50);
    g_assert_false(chardev_is_connected(chr));
    fe_detach(&fe);
    chardev_close(chr);
    close(lfd);
    io_thread_free(io);
}

static void test_client_refused(void)
{
    g_autofree char *path = sock_path("nobody");
    g_autofree char *opts = g_strdup_printf("socket,id=ref,path=%s", path);
    Error *err = NULL;

    g_assert_null(chardev_new_from_opts(opts, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), "Failed to connect"));
    error_free(err);
    g_assert_null(chardev_find("ref"));
}

static void test_reconnect(gconstpointer opaque)
{
    bool threaded = GPOINTER_TO_INT(opaque);
    IoThread *io = threaded ? io_thread_new() : NULL;
    g_autofree char *path = sock_path(threaded ? "rec-io" : "rec-main");
    g_autofree char *opts = g_strdup_printf(
        "socket,id=rec%d,path=%s,reconnect-ms=50", threaded, path);
    TestFe fe = { 0 };
    Chardev *chr = chardev_new_from_opts(opts, &error_abort);
    int lfd, peer;

    /* No listener yet: created anyway, not connected. */
    g_assert_nonnull(chr);
    g_assert_false(chardev_is_connected(chr));
    fe_attach(&fe, chr, io);
    g_assert_cmpuint(chardev_write_all(chr, (const uint8_t *)"lost", 4), ==,
                     4);
    spin_default(120);
    g_assert_cmpint(fe.opened, ==, 0);

    lfd = unix_listen(path);
    peer = accept_bounded(lfd);
    session(&fe, peer, 1);
    /* Dropped: it comes back by itself. */
    peer = accept_bounded(lfd);
    session(&fe, peer, 2);
    fe_detach(&fe);
    chardev_close(chr);
    close(lfd);
    if (io) {
        io_thread_free(io);
    }
}

static void test_write_no_peer(void)
{
    g_autofree char *path = sock_path("nopeer");
    g_autofree char *opts = g_strdup_printf(
        "socket,id=np,path=%s,server=on,wait=off", path);
    Chardev *chr = chardev_new_from_opts(opts, &error_abort);
    static uint8_t big[1 << 20];
    gint64 start = g_get_monotonic_time();

    g_assert_cmpuint(chardev_write_all(chr, big, sizeof(big)), ==,
                     sizeof(big));
    g_assert_cmpint(g_get_monotonic_time() - start, <, G_TIME_SPAN_SECOND / 2);
    chardev_close(chr);
}

/* A peer that never reads costs the writer about a second once, then
 * writes are dropped at once. */
static void test_write_stuck_peer(void)
{
    g_autofree char *path = sock_path("stuck");
    g_autofree char *opts = g_strdup_printf(
        "socket,id=stuck,path=%s,server=on,wait=off", path);
    Chardev *chr = chardev_new_from_opts(opts, &error_abort);
    TestFe fe = { 0 };
    static uint8_t chunk[64 << 10];
    gint64 start;
    int peer;

    fe_attach(&fe, chr, NULL);
    peer = test_unix_connect(path);
    WAIT_FOR(&fe, fe.opened == 1);
    start = g_get_monotonic_time();
    for (int i = 0; i < 200; i++) {      /* 12.5 MiB, far beyond buffers */
        g_assert_cmpuint(chardev_write_all(chr, chunk, sizeof(chunk)), ==,
                         sizeof(chunk));
    }
    for (int i = 0; i < 1000; i++) {    /* byte by byte, like a UART */
        g_assert_cmpuint(chardev_write_all(chr, chunk, 1), ==, 1);
    }
    g_assert_cmpint(g_get_monotonic_time() - start, <,
                    3 * G_TIME_SPAN_SECOND);
    g_assert_true(chardev_is_connected(chr));
    /* Once the peer reads, output flows again. */
    {
        static char sink[64 << 10];
        gint64 deadline = g_get_monotonic_time() + G_TIME_SPAN_SECOND;
        int fl = fcntl(peer, F_GETFL);

        fcntl(peer, F_SETFL, fl | O_NONBLOCK);
        while (g_get_monotonic_time() < deadline &&
               read(peer, sink, sizeof(sink)) > 0) {
        }
        fcntl(peer, F_SETFL, fl);
    }
    g_assert_cmpuint(chardev_write_all(chr, (const uint8_t *)"again", 5), ==,
                     5);
    expect_read(peer, "again");
    close(peer);
    WAIT_FOR(&fe, fe.closed == 1);
    fe_detach(&fe);
    chardev_close(chr);
}

/* A write that hits a vanished peer disconnects, and CLOSED still comes
 * from the frontend's thread. */
static void test_write_epipe(void)
{
    IoThread *io = io_thread_new();
    g_autofree char *path = sock_path("epipe");
    g_autofree char *opts = g_strdup_printf(
        "socket,id=epipe,path=%s,server=on,wait=off", path);
    Chardev *chr = chardev_new_from_opts(opts, &error_abort);
    TestFe fe = { 0 };
    int peer;

    fe_attach(&fe, chr, io);
    peer = test_unix_connect(path);
    WAIT_FOR(&fe, fe.opened == 1);
    close(peer);
    for (int i = 0; i < 100; i++) {
        g_assert_cmpuint(chardev_write_all(chr, (const uint8_t *)"x", 1), ==,
                         1);
    }
    WAIT_FOR(&fe, fe.closed == 1);
    g_assert_false(fe.wrong_thread);
    /* Listening again. */
    session(&fe, test_unix_connect(path), 2);
    fe_detach(&fe);
    chardev_close(chr);
    io_thread_free(io);
}

static void test_fd_listening(void)
{
    g_autofree char *path = sock_path("fdl");
    int lfd = unix_listen(path);
    g_autofree char *opts = g_strdup_printf(
        "socket,id=fdl,fd=%d,server=on,wait=off", lfd);
    g_autofree char *want = g_strdup_printf("disconnected:unix:%s,server=on",
                                            path);
    TestFe fe = { 0 };
    Chardev *chr = chardev_new_from_opts(opts, &error_abort);
    g_autofree char *label = label_of(chr);

    g_assert_cmpstr(label, ==, want);
    fe_attach(&fe, chr, NULL);
    session(&fe, test_unix_connect(path), 1);
    session(&fe, test_unix_connect(path), 2);
    fe_detach(&fe);
    chardev_close(chr);
    /* The chardev owned the fd. */
    g_assert_cmpint(fcntl(lfd, F_GETFD), <, 0);
    unlink(path);
}

static void test_fd_connected(void)
{
    IoThread *io = io_thread_new();
    int sv[2];
    g_autofree char *opts = NULL;
    TestFe fe = { 0 };
    Chardev *chr;
    Error *err = NULL;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    /* server=on contradicts a connected fd. */
    opts = g_strdup_printf("socket,id=fdc,fd=%d,server=on", sv[0]);
    g_assert_null(chardev_new_from_opts(opts, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "not a listening"));
    error_free(err);
    g_free(opts);

    opts = g_strdup_printf("socket,id=fdc,fd=%d", sv[0]);
    chr = chardev_new_from_opts(opts, &error_abort);
    g_assert_true(chardev_is_connected(chr));
    fe_attach(&fe, chr, io);
    session(&fe, sv[1], 1);
    fe_detach(&fe);
    chardev_close(chr);
    io_thread_free(io);
}

static gpointer connect_later(gpointer opaque)
{
    g_usleep(100 * 1000);
    return GINT_TO_POINTER(test_unix_connect(opaque));
}

static void test_wait_on(void)
{
    g_autofree char *path = sock_path("waiton");
    g_autofree char *opts = g_strdup_printf("socket,id=waiton,path=%s,server",
                                            path);
    GThread *t = g_thread_new("connector", connect_later, path);
    TestFe fe = { 0 };
    Chardev *chr = chardev_new_from_opts(opts, &error_abort);
    int peer = GPOINTER_TO_INT(g_thread_join(t));

    g_assert_true(chardev_is_connected(chr));
    fe_attach(&fe, chr, NULL);
    session(&fe, peer, 1);
    fe_detach(&fe);
    chardev_close(chr);
}

/* Closing while a client is connected and an I/O-thread frontend was
 * attached: the caller detaches first, then closes from "the main loop". */
static void test_close_connected(void)
{
    IoThread *io = io_thread_new();
    g_autofree char *path = sock_path("closeme");
    g_autofree char *opts = g_strdup_printf(
        "socket,id=closeme,path=%s,server=on,wait=off", path);
    Chardev *chr = chardev_new_from_opts(opts, &error_abort);
    TestFe fe = { 0 };
    int peer;
    char c;

    fe_attach(&fe, chr, io);
    peer = test_unix_connect(path);
    WAIT_FOR(&fe, fe.opened == 1);
    fe_detach(&fe);
    chardev_close(chr);
    g_assert_null(chardev_find("closeme"));
    /* The peer sees EOF. */
    {
        struct pollfd pfd = { .fd = peer, .events = POLLIN };
        g_assert_cmpint(poll(&pfd, 1, WAIT_SECONDS * 1000), ==, 1);
        g_assert_cmpint(read(peer, &c, 1), ==, 0);
    }
    close(peer);
    /* Nothing of it remains on either context. */
    spin_default(20);
    io_thread_free(io);
}

/* ---- options ---- */

static void expect_error(const char *opts, const char *fragment)
{
    Error *err = NULL;
    Chardev *chr = chardev_new_from_opts(opts, &err);

    if (chr) {
        g_error("'%s' was accepted", opts);
    }
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), fragment)) {
        g_error("'%s': error '%s' lacks '%s'", opts, error_get_pretty(err),
                fragment);
    }
    error_free(err);
}

static void test_bad_options(void)
{
    g_autofree char *long_path = g_strnfill(200, 'x');
    g_autofree char *opts = g_strdup_printf("socket,id=x,path=/tmp/%s,"
                                            "server=on,wait=off", long_path);

    expect_error("socket,path=/tmp/a,server=on,wait=off",
                 "chardev: no id specified");
    expect_error("id=x", "\"backend\" missing");
    expect_error("bogus,id=x", "'bogus' is not a valid char driver name");
    expect_error("socket,id=x,path=/tmp/a,colour=red",
                 "Invalid parameter 'colour'");
    expect_error("null,id=x,path=/tmp/a", "Invalid parameter 'path'");
    expect_error("socket,id=x,host=127.0.0.1,port=99999,server=on",
                 "invalid port '99999'");
    expect_error("socket,id=x,host=127.0.0.1,port=no-such-service,server=on",
                 "invalid port 'no-such-service'");
    expect_error("socket,id=x,host=127.0.0.1,server=on", "no port given");
    expect_error(opts, "is too long");
    expect_error("socket,id=x,path=/tmp/a,server=maybe",
                 "Parameter 'server' expects 'on' or 'off'");
    expect_error("socket,id=x,path=/tmp/a,server=on,wait=perhaps",
                 "Parameter 'wait' expects 'on' or 'off'");
    expect_error("socket,id=x", "no address given");
    expect_error("socket,id=x,path=/tmp/a,host=h,port=1",
                 "exactly one of");
    expect_error("socket,id=x,path=/tmp/a,server=on,reconnect-ms=10",
                 "incompatible with server=on");
    expect_error("socket,id=x,fd=12345", "fd 12345 is not a usable socket");
    expect_error("socket,id=x,fd=abc", "invalid fd 'abc'");
    expect_error("socket,id=x,path=/tmp/a,server=on,wait=off,nowait",
                 "not both");
    expect_error("pty,id=x,foo=1", "Invalid parameter 'foo'");
    g_assert_null(chardev_find("x"));

    /* Duplicate ids. */
    Chardev *n = chardev_new_from_opts("null,id=dup", &error_abort);
    expect_error("null,id=dup", "duplicate");
    chardev_close(n);
}

static void test_legacy(void)
{
    g_autofree char *path = sock_path("legacy");
    g_autofree char *spec = g_strdup_printf("unix:%s,server,nowait", path);
    g_autofree char *want = g_strdup_printf("disconnected:unix:%s,server=on",
                                            path);
    Error *err = NULL;
    Chardev *chr;
    char *label;

    chr = chardev_new_legacy("leg0", spec, &error_abort);
    label = label_of(chr);
    g_assert_cmpstr(label, ==, want);
    g_free(label);
    chardev_close(chr);

    /* The path spelled as a key, as QEMUQtestMachine writes -qtest. */
    g_free(spec);
    spec = g_strdup_printf("unix:path=%s,server=on,wait=off", path);
    chr = chardev_new_legacy("leg0b", spec, &error_abort);
    label = label_of(chr);
    g_assert_cmpstr(label, ==, want);
    g_free(label);
    chardev_close(chr);

    g_free(spec);
    spec = g_strdup_printf("unix:%s,server=on,wait=off", path);
    chr = chardev_new_legacy("leg1", spec, &error_abort);
    g_assert_nonnull(chr);
    g_assert_true(chardev_new_legacy("leg1b", "chardev:leg1", &error_abort)
                  == chr);
    chardev_close(chr);

    chr = chardev_new_legacy("leg2", "tcp:127.0.0.1:0,server=on,wait=off",
                             &error_abort);
    label = label_of(chr);
    g_assert_true(g_str_has_prefix(label, "disconnected:tcp:127.0.0.1:"));
    g_free(label);
    chardev_close(chr);

    chr = chardev_new_legacy("leg3", "tcp::0,server,nowait,nodelay",
                             &error_abort);
    g_assert_nonnull(chr);
    chardev_close(chr);

    chr = chardev_new_legacy("leg4", "tcp:[::1]:0,server=on,wait=off", &err);
    if (chr) {        /* only where IPv6 loopback exists */
        label = label_of(chr);
        g_assert_true(g_str_has_prefix(label, "disconnected:tcp:[::1]:"));
        g_free(label);
        chardev_close(chr);
    } else {
        error_free(err);
        err = NULL;
    }

    /* "none" creates nothing: callers check for it; here it is an error. */
    g_assert_null(chardev_new_legacy("leg5", "none", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "'none' is not a usable chardev");
    error_free(err);
    err = NULL;

    chr = chardev_new_legacy("leg6", "null", &error_abort);
    g_assert_cmpstr(chr->label, ==, "null");
    chardev_close(chr);

    g_assert_null(chardev_new_legacy("leg7", "tcp:nocolon", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "HOST:PORT"));
    error_free(err);
    err = NULL;
    g_assert_null(chardev_new_legacy("leg8", "unix:/tmp/x,bogus=1", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "Invalid parameter"));
    error_free(err);
    err = NULL;
    g_assert_null(chardev_new_legacy("leg9", "mon:stdio", &err));
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    g_assert_null(chardev_new_legacy("leg10", "chardev:nope", &err));
    g_assert_nonnull(err);
    error_free(err);

    chr = chardev_new_legacy("leg11", "pty", &error_abort);
    g_assert_true(g_str_has_prefix(chr->label, "pty:/dev/pts/"));
    chardev_close(chr);
}

/* ---- pty ---- */

static void test_pty(gconstpointer opaque)
{
    bool threaded = GPOINTER_TO_INT(opaque);
    IoThread *io = threaded ? io_thread_new() : NULL;
    g_autofree char *opts = g_strdup_printf("pty,id=pty%d", threaded);
    Chardev *chr = chardev_new_from_opts(opts, &error_abort);
    TestFe fe = { 0 };
    g_autofree char *label = label_of(chr);
    const char *slave_path = label + strlen("pty:");
    int slave;

    g_assert_true(g_str_has_prefix(label, "pty:/dev/pts/"));
    g_assert_false(chardev_is_connected(chr));
    fe_attach(&fe, chr, io);
    /* Nobody on the slave: dropped, without blocking. */
    g_assert_cmpuint(chardev_write_all(chr, (const uint8_t *)"void", 4), ==,
                     4);

    for (int i = 1; i <= 2; i++) {
        slave = open(slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
        g_assert_cmpint(slave, >=, 0);
        /* Output reaches the slave at once, in raw mode (no \n -> \r\n). */
        g_assert_cmpuint(chardev_write_all(chr, (const uint8_t *)"out\n", 4),
                         ==, 4);
        expect_read(slave, "out\n");
        /* The 1 s poll notices the opener. */
        WAIT_FOR(&fe, fe.opened == i);
        g_assert_true(chardev_is_connected(chr));
        fe_clear(&fe);
        send_str(slave, "in\r");
        WAIT_FOR(&fe, fe_has(&fe, "in\r"));
        close(slave);
        WAIT_FOR(&fe, fe.closed == i);
        g_assert_false(chardev_is_connected(chr));
    }
    fe_detach(&fe);
    chardev_close(chr);
    if (io) {
        io_thread_free(io);
    }
}

int main(int argc, char **argv)
{
    int rc;

    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    tmp_dir = g_dir_make_tmp("test-chardev-XXXXXX", NULL);
    g_assert_nonnull(tmp_dir);

    g_test_add_data_func("/chardev/socket/unix-server/main-context",
                         GINT_TO_POINTER(0), test_unix_server);
    g_test_add_data_func("/chardev/socket/unix-server/iothread",
                         GINT_TO_POINTER(1), test_unix_server);
    g_test_add_func("/chardev/socket/iothread-poll-per-read",
                    test_iothread_poll_per_read);
    g_test_add_func("/chardev/socket/tcp-server-port0", test_tcp_server_port0);
    g_test_add_func("/chardev/socket/one-client-at-a-time",
                    test_server_one_client);
    g_test_add_data_func("/chardev/socket/client/unix", GINT_TO_POINTER(0),
                         test_client);
    g_test_add_data_func("/chardev/socket/client/tcp", GINT_TO_POINTER(1),
                         test_client);
    g_test_add_func("/chardev/socket/client-refused", test_client_refused);
    g_test_add_data_func("/chardev/socket/reconnect/main-context",
                         GINT_TO_POINTER(0), test_reconnect);
    g_test_add_data_func("/chardev/socket/reconnect/iothread",
                         GINT_TO_POINTER(1), test_reconnect);
    g_test_add_func("/chardev/socket/write-no-peer", test_write_no_peer);
    g_test_add_func("/chardev/socket/write-stuck-peer", test_write_stuck_peer);
    g_test_add_func("/chardev/socket/write-epipe", test_write_epipe);
    g_test_add_func("/chardev/socket/fd-listening", test_fd_listening);
    g_test_add_func("/chardev/socket/fd-connected", test_fd_connected);
    g_test_add_func("/chardev/socket/wait-on", test_wait_on);
    g_test_add_func("/chardev/socket/close-connected", test_close_connected);
    g_test_add_func("/chardev/options/errors", test_bad_options);
    g_test_add_func("/chardev/legacy", test_legacy);
    g_test_add_data_func("/chardev/pty/main-context", GINT_TO_POINTER(0),
                         test_pty);
    g_test_add_data_func("/chardev/pty/iothread", GINT_TO_POINTER(1),
                         test_pty);

    rc = g_test_run();
    chardev_close_all();
    rmdir(tmp_dir);
    g_free(tmp_dir);
    return rc;
}
