/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The socket layer (util/sockets.c): legacy-string and QAPI parsing with
 * malformed input, listen/connect over TCP (IPv4, IPv6 when the host has
 * it, dual stack) and UNIX, the stale-socket-file rule, bounded and
 * cancelled connects, and migration's channel (migration/channel-socket.c)
 * as a listen + connect pair without a guest. Loopback only; no /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>
#include "chardev/char.h"
#include "util/main-loop.h"
#include "util/sockets.h"
#include "migration/migration-internal.h"

static char *tmpdir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

/* unix:PATH, parsed. */
static SocketAddress *unix_address(const char *path)
{
    g_autofree char *str = g_strdup_printf("unix:%s", path);

    return socket_parse(str, &error_abort);
}

static void expect_parse_error(const char *str, const char *fragment)
{
    Error *err = NULL;
    SocketAddress *addr = socket_parse(str, &err);

    if (addr) {
        g_autofree char *s = socket_address_to_string(addr);
        g_error("'%s' was accepted as %s", str, s);
    }
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), fragment)) {
        g_error("'%s': error '%s' lacks '%s'", str, error_get_pretty(err),
                fragment);
    }
    error_free(err);
}

static void expect_inet(const char *str, const char *host, const char *port)
{
    g_autoptr(SocketAddress) addr = socket_parse(str, &error_abort);

    g_assert_cmpint(addr->type, ==, SOCKET_ADDRESS_TYPE_INET);
    g_assert_cmpstr(addr->u.inet.host, ==, host);
    g_assert_cmpstr(addr->u.inet.port, ==, port);
}

/* A process-wide IPv6 probe: can we bind ::1 at all? */
static bool have_ipv6(void)
{
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6,
                                .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&in6, sizeof(in6)) == 0;

    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* ---- parsing ---- */

static void test_parse_inet(void)
{
    expect_inet("tcp:127.0.0.1:4444", "127.0.0.1", "4444");
    expect_inet("localhost:0", "localhost", "0");
    expect_inet("tcp:[::1]:4444", "::1", "4444");
    expect_inet("[fe80::1%lo]:65535", "fe80::1%lo", "65535");
    /* Unbracketed IPv6: split at the last colon. */
    expect_inet("tcp:::1:4444", "::1", "4444");
    /* An empty host: every address (listen) or this machine (connect). */
    expect_inet("tcp::4444", "", "4444");
    expect_inet("tcp:[]:4444", "", "4444");
    /* Leading zeros are still decimal. */
    expect_inet("tcp:h:0080", "h", "80");

    expect_parse_error("tcp:127.0.0.1:70000", "invalid port '70000'");
    expect_parse_error("tcp:127.0.0.1:65536", "invalid port '65536'");
    expect_parse_error("tcp:127.0.0.1:-1", "invalid port '-1'");
    expect_parse_error("tcp:127.0.0.1:", "invalid port ''");
    expect_parse_error("tcp:127.0.0.1:0x50", "invalid port '0x50'");
    expect_parse_error("tcp:127.0.0.1: 80", "invalid port ' 80'");
    expect_parse_error("tcp:h:99999999999999999999",
                       "invalid port '99999999999999999999'");
    expect_parse_error("tcp:h:no-such-service-here",
                       "invalid port 'no-such-service-here'");
    expect_parse_error("tcp:localhost", "expected HOST:PORT");
    expect_parse_error("tcp:[::1]4444", "expected [ADDRESS]:PORT");
    expect_parse_error("tcp:[::1", "expected [ADDRESS]:PORT");
    expect_parse_error("vsock:3:1234", "vsock addresses are not supported");
}

static void test_parse_service(void)
{
    struct servent *se = getservbyname("http", "tcp");
    g_autofree char *want = NULL;

    if (!se) {
        g_test_skip("no 'http' service in the services database");
        return;
    }
    want = g_strdup_printf("%u", ntohs(se->s_port));
    /* A service name becomes its number. */
    expect_inet("tcp:localhost:http", "localhost", want);
}

static void test_parse_port(void)
{
    uint16_t port = 1;
    Error *err = NULL;

    g_assert_true(socket_parse_port("0", &port, &error_abort));
    g_assert_cmpint(port, ==, 0);
    g_assert_true(socket_parse_port("65535", &port, &error_abort));
    g_assert_cmpint(port, ==, 65535);
    g_assert_false(socket_parse_port(NULL, &port, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "invalid port ''");
    error_free(err);
}

static void test_parse_unix_fd(void)
{
    g_autofree char *long_path = g_strnfill(200, 'x');
    g_autofree char *too_long = g_strdup_printf("unix:/tmp/%s", long_path);
    g_autofree char *max_path = g_strnfill(sizeof(((struct sockaddr_un *)0)
                                                  ->sun_path) - 1, 'y');
    g_autofree char *fits = g_strdup_printf("unix:%s", max_path);
    g_autofree char *over = g_strdup_printf("unix:%sy", max_path);
    SocketAddress *addr;
    int fd = -1;

    addr = socket_parse("unix:/run/a,b.sock", &error_abort);
    g_assert_cmpint(addr->type, ==, SOCKET_ADDRESS_TYPE_UNIX);
    g_assert_cmpstr(addr->u.q_unix.path, ==, "/run/a,b.sock");
    qapi_free_SocketAddress(addr);

    addr = socket_parse(fits, &error_abort);
    qapi_free_SocketAddress(addr);
    expect_parse_error(over, "is too long");
    expect_parse_error(too_long, "is too long");
    expect_parse_error("unix:", "empty UNIX socket path");

    addr = socket_parse("fd:7", &error_abort);
    g_assert_cmpint(addr->type, ==, SOCKET_ADDRESS_TYPE_FD);
    g_assert_true(socket_address_fd(addr, &fd, &error_abort));
    g_assert_cmpint(fd, ==, 7);
    qapi_free_SocketAddress(addr);
    expect_parse_error("fd:", "invalid fd ''");
    expect_parse_error("fd:-3", "invalid fd '-3'");
    expect_parse_error("fd:myfd", "fd names from getfd are not supported");
    expect_parse_error("fd:99999999999", "invalid fd");
}

static void test_parse_qapi(void)
{
    InetSocketAddress inet = { .host = (char *)"::1", .port = (char *)"ssh",
                               .has_ipv6 = true, .ipv6 = true };
    InetSocketAddressWrapper w = { .data = &inet };
    SocketAddressLegacy legacy = { .type = SOCKET_ADDRESS_TYPE_INET,
                                   .u.inet = w };
    g_autoptr(SocketAddress) addr = socket_address_from_legacy(&legacy);
    g_autoptr(SocketAddress) copy = NULL;
    g_autofree char *str = NULL;
    struct servent *se = getservbyname("ssh", "tcp");
    Error *err = NULL;

    g_assert_cmpint(addr->type, ==, SOCKET_ADDRESS_TYPE_INET);
    g_assert_true(addr->u.inet.has_ipv6 && addr->u.inet.ipv6);
    g_assert_false(addr->u.inet.has_ipv4);
    if (se) {
        g_autofree char *want = g_strdup_printf("tcp:[::1]:%u",
                                                ntohs(se->s_port));

        g_assert_true(socket_address_check(addr, &error_abort));
        str = socket_address_to_string(addr);
        g_assert_cmpstr(str, ==, want);
    }

    /* Both families off. */
    copy = socket_address_dup(addr);
    copy->u.inet.has_ipv6 = copy->u.inet.has_ipv4 = true;
    copy->u.inet.ipv6 = copy->u.inet.ipv4 = false;
    g_assert_false(socket_address_check(copy, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "no address family"));
    g_clear_pointer(&err, error_free);

    /* An empty port range. */
    copy->u.inet.has_ipv4 = false;
    copy->u.inet.has_ipv6 = false;
    g_free(copy->u.inet.port);
    copy->u.inet.port = g_strdup("5000");
    copy->u.inet.has_to = true;
    copy->u.inet.to = 4000;
    g_assert_false(socket_address_check(copy, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "is empty"));
    error_free(err);
}

/* ---- listen and connect ---- */

/* Accepts one client of lfd and checks a byte goes each way. */
static void check_pair(int lfd, int cfd)
{
    struct pollfd pfd = { .fd = lfd, .events = POLLIN };
    int afd;
    char c = 0;

    g_assert_cmpint(poll(&pfd, 1, 5000), ==, 1);
    afd = accept(lfd, NULL, NULL);
    g_assert_cmpint(afd, >=, 0);
    g_assert_cmpint(write(cfd, "x", 1), ==, 1);
    g_assert_cmpint(read(afd, &c, 1), ==, 1);
    g_assert_cmpint(c, ==, 'x');
    g_assert_cmpint(write(afd, "y", 1), ==, 1);
    g_assert_cmpint(read(cfd, &c, 1), ==, 1);
    g_assert_cmpint(c, ==, 'y');
    close(afd);
}

/* Connects to host on lfd's port. */
static int connect_to(const char *host, int lfd, Error **errp)
{
    g_autoptr(SocketAddress) local = socket_local_address(lfd,
                                                          &error_abort);
    g_autofree char *str = socket_host_port_string(host, local->u.inet.port);
    g_autoptr(SocketAddress) addr = socket_parse(str, &error_abort);

    return socket_connect(addr, 2000, NULL, errp);
}

static int listen_on(const char *str, Error **errp)
{
    g_autoptr(SocketAddress) addr = socket_parse(str, &error_abort);

    return socket_listen(addr, 4, errp);
}

static void test_inet_v4(void)
{
    int lfd = listen_on("tcp:127.0.0.1:0", &error_abort);
    int cfd = connect_to("127.0.0.1", lfd, &error_abort);
    g_autoptr(SocketAddress) local = socket_local_address(lfd, &error_abort);
    int flags = fcntl(cfd, F_GETFL);

    g_assert_cmpstr(local->u.inet.host, ==, "127.0.0.1");
    g_assert_cmpstr(local->u.inet.port, !=, "0");
    /* Returned fds are blocking and close-on-exec. */
    g_assert_false(flags & O_NONBLOCK);
    g_assert_true(fcntl(cfd, F_GETFD) & FD_CLOEXEC);
    check_pair(lfd, cfd);
    close(cfd);
    close(lfd);
}

static void test_inet_v6(void)
{
    int lfd, cfd;

    if (!have_ipv6()) {
        g_test_skip("this host has no IPv6 loopback (::1)");
        return;
    }
    lfd = listen_on("tcp:[::1]:0", &error_abort);
    cfd = connect_to("::1", lfd, &error_abort);
    check_pair(lfd, cfd);
    close(cfd);
    close(lfd);
}

/* A wildcard host listens dual-stack unless ipv4=/ipv6= say otherwise. */
static void test_inet_dual_stack(void)
{
    g_autoptr(SocketAddress) v4only = socket_parse("tcp::0", &error_abort);
    g_autoptr(SocketAddress) bound = NULL;
    Error *err = NULL;
    int lfd, cfd;

    lfd = listen_on("tcp::0", &error_abort);
    cfd = connect_to("127.0.0.1", lfd, &error_abort);
    check_pair(lfd, cfd);
    close(cfd);
    if (have_ipv6()) {
        cfd = connect_to("::1", lfd, &error_abort);
        check_pair(lfd, cfd);
        close(cfd);
    }
    close(lfd);

    /* ipv4=on: an IPv4 socket, which ::1 cannot reach. */
    v4only->u.inet.has_ipv4 = v4only->u.inet.ipv4 = true;
    lfd = socket_listen(v4only, 4, &error_abort);
    bound = socket_local_address(lfd, &error_abort);
    g_assert_cmpstr(bound->u.inet.host, ==, "0.0.0.0");
    if (have_ipv6()) {
        g_assert_cmpint(connect_to("::1", lfd, &err), ==, -1);
        g_assert_nonnull(strstr(error_get_pretty(err), "Failed to connect"));
        g_clear_pointer(&err, error_free);
    }
    close(lfd);

    if (!have_ipv6()) {
        g_test_skip("this host has no IPv6: the ipv6=on half is not run");
        return;
    }
    /* ipv6=on: IPv6 only, so 127.0.0.1 is refused. */
    v4only->u.inet.has_ipv4 = false;
    v4only->u.inet.has_ipv6 = v4only->u.inet.ipv6 = true;
    lfd = socket_listen(v4only, 4, &error_abort);
    g_assert_cmpint(connect_to("127.0.0.1", lfd, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "refused"));
    error_free(err);
    cfd = connect_to("::1", lfd, &error_abort);
    check_pair(lfd, cfd);
    close(cfd);
    close(lfd);
}

/* 'to': the next free port of a range. */
static void test_inet_port_range(void)
{
    int lfd = listen_on("tcp:127.0.0.1:0", &error_abort);
    g_autoptr(SocketAddress) taken = socket_local_address(lfd, &error_abort);
    g_autoptr(SocketAddress) range = socket_address_dup(taken);
    g_autoptr(SocketAddress) got = NULL;
    unsigned port = atoi(taken->u.inet.port);
    int lfd2;

    if (port >= 65535) {
        g_test_skip("the kernel gave the last port: no range above it");
        close(lfd);
        return;
    }
    range->u.inet.has_to = true;
    range->u.inet.to = port + 1;
    lfd2 = socket_listen(range, 1, NULL);
    if (lfd2 < 0) {
        /* port + 1 is in use by someone else: nothing to conclude. */
        g_test_skip("the port after the kernel's pick is taken");
        close(lfd);
        return;
    }
    got = socket_local_address(lfd2, &error_abort);
    g_assert_cmpuint(atoi(got->u.inet.port), ==, port + 1);
    close(lfd2);
    close(lfd);
}

static void test_connect_errors(void)
{
    int lfd = listen_on("tcp:127.0.0.1:0", &error_abort);
    g_autoptr(SocketAddress) closed = socket_local_address(lfd,
                                                           &error_abort);
    g_autoptr(SocketAddress) fd = socket_parse("fd:3", &error_abort);
    g_autoptr(SocketAddress) unix_addr = NULL;
    g_autofree char *path = tmp_path("nobody");
    g_autofree char *ustr = g_strdup_printf("unix:%s", path);
    Error *err = NULL;

    close(lfd);                 /* the port is now (very likely) closed */
    g_assert_cmpint(socket_connect(closed, 0, NULL, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "Failed to connect to "
                                                   "'tcp:127.0.0.1:"));
    g_clear_pointer(&err, error_free);
    g_assert_cmpint(socket_connect(fd, 0, NULL, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "inet or unix"));
    g_clear_pointer(&err, error_free);
    unix_addr = socket_parse(ustr, &error_abort);
    g_assert_cmpint(socket_connect(unix_addr, 0, NULL, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "Failed to connect to "
                                                   "'unix:"));
    g_assert_nonnull(strstr(error_get_pretty(err), "No such file"));
    error_free(err);
}

static void test_unix(void)
{
    g_autofree char *path = tmp_path("plain.sock");
    g_autoptr(SocketAddress) addr = unix_address(path);
    g_autoptr(SocketAddress) local = NULL;
    int lfd = socket_listen(addr, 4, &error_abort);
    int cfd = socket_connect(addr, 0, NULL, &error_abort);

    local = socket_local_address(lfd, &error_abort);
    g_assert_cmpint(local->type, ==, SOCKET_ADDRESS_TYPE_UNIX);
    g_assert_cmpstr(local->u.q_unix.path, ==, path);
    check_pair(lfd, cfd);
    close(cfd);
    close(lfd);
    socket_unlink_unix(addr);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* ---- the stale-socket-file rule ---- */

static void test_unix_stale_removed(void)
{
    g_autofree char *path = tmp_path("stale.sock");
    g_autoptr(SocketAddress) addr = unix_address(path);
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0), lfd, cfd;

    /* A server that died without removing its socket file. */
    g_strlcpy(un.sun_path, path, sizeof(un.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&un, sizeof(un)), ==, 0);
    g_assert_cmpint(listen(fd, 1), ==, 0);
    close(fd);
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));

    lfd = socket_listen(addr, 4, &error_abort);
    cfd = socket_connect(addr, 0, NULL, &error_abort);
    check_pair(lfd, cfd);
    close(cfd);
    close(lfd);
    socket_unlink_unix(addr);
}

static void test_unix_live_refused(void)
{
    g_autofree char *path = tmp_path("live.sock");
    g_autoptr(SocketAddress) addr = unix_address(path);
    int lfd = socket_listen(addr, 4, &error_abort);
    Error *err = NULL;
    int cfd, probe;
    char c;

    g_assert_cmpint(socket_listen(addr, 4, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), path));
    g_assert_nonnull(strstr(error_get_pretty(err), "in use"));
    error_free(err);
    /* The probe that found it live: a connection closed at once. */
    probe = accept(lfd, NULL, NULL);
    g_assert_cmpint(probe, >=, 0);
    g_assert_cmpint(read(probe, &c, 1), ==, 0);
    close(probe);
    /* The first server still has its socket. */
    cfd = socket_connect(addr, 0, NULL, &error_abort);
    check_pair(lfd, cfd);
    close(cfd);
    close(lfd);
    socket_unlink_unix(addr);
}

static void test_unix_file_refused(void)
{
    g_autofree char *path = tmp_path("regular");
    g_autoptr(SocketAddress) addr = unix_address(path);
    g_autofree char *contents = NULL;
    Error *err = NULL;

    g_assert_true(g_file_set_contents(path, "keep me", -1, NULL));
    g_assert_cmpint(socket_listen(addr, 4, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), path));
    g_assert_nonnull(strstr(error_get_pretty(err), "not a socket"));
    error_free(err);
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "keep me");
    unlink(path);
}

/* ---- bounded and cancelled connects ---- */

/*
 * A TCP listener that never answers: backlog 0 and a queue already full
 * of clients nobody accepts, so the kernel drops new SYNs and a connect
 * hangs until its timeout. Returns the listener; *fill holds the clients.
 */
static int blackhole_listener(GPtrArray *fill)
{
    int lfd = listen_on("tcp:127.0.0.1:0", &error_abort);
    g_autoptr(SocketAddress) local = socket_local_address(lfd, &error_abort);
    struct sockaddr_in in = { .sin_family = AF_INET,
                              .sin_port = htons(atoi(local->u.inet.port)),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

    g_assert_cmpint(listen(lfd, 0), ==, 0);
    for (int i = 0; i < 16; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };

        g_ptr_array_add(fill, GINT_TO_POINTER(fd));
        if (connect(fd, (struct sockaddr *)&in, sizeof(in)) == 0) {
            continue;
        }
        g_assert_cmpint(errno, ==, EINPROGRESS);
        if (poll(&pfd, 1, 200) == 0) {
            return lfd;         /* this one hangs: the queue is full */
        }
    }
    g_error("could not fill the accept queue of a backlog-0 listener");
}

static void close_fill(GPtrArray *fill, int lfd)
{
    for (guint i = 0; i < fill->len; i++) {
        close(GPOINTER_TO_INT(fill->pdata[i]));
    }
    g_ptr_array_free(fill, TRUE);
    close(lfd);
}

static void test_connect_timeout(void)
{
    GPtrArray *fill = g_ptr_array_new();
    int lfd = blackhole_listener(fill);
    g_autoptr(SocketAddress) local = socket_local_address(lfd, &error_abort);
    int64_t start = g_get_monotonic_time();
    int64_t took_ms;
    Error *err = NULL;

    g_assert_cmpint(socket_connect(local, 300, NULL, &err), ==, -1);
    took_ms = (g_get_monotonic_time() - start) / 1000;
    g_assert_nonnull(strstr(error_get_pretty(err), "timed out"));
    g_assert_cmpint(took_ms, >=, 290);
    g_assert_cmpint(took_ms, <, 3000);
    error_free(err);
    close_fill(fill, lfd);
}

/* A UNIX listener whose backlog is full: the connect waits, then times out. */
static void test_connect_timeout_unix(void)
{
    g_autofree char *path = tmp_path("full.sock");
    g_autoptr(SocketAddress) addr = unix_address(path);
    int lfd = socket_listen(addr, 0, &error_abort);
    int first = socket_connect(addr, 0, NULL, &error_abort);
    int64_t start = g_get_monotonic_time();
    int64_t took_ms;
    Error *err = NULL;

    g_assert_cmpint(socket_connect(addr, 200, NULL, &err), ==, -1);
    took_ms = (g_get_monotonic_time() - start) / 1000;
    g_assert_nonnull(strstr(error_get_pretty(err), "timed out"));
    g_assert_cmpint(took_ms, >=, 190);
    g_assert_cmpint(took_ms, <, 3000);
    error_free(err);
    close(first);
    close(lfd);
    socket_unlink_unix(addr);
}

typedef struct CancelArgs {
    bool *flag;
    int delay_ms;
} CancelArgs;

static gpointer cancel_thread(gpointer opaque)
{
    CancelArgs *a = opaque;

    g_usleep(a->delay_ms * 1000);
    __atomic_store_n(a->flag, true, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_connect_cancel(void)
{
    GPtrArray *fill = g_ptr_array_new();
    int lfd = blackhole_listener(fill);
    g_autoptr(SocketAddress) local = socket_local_address(lfd, &error_abort);
    bool cancel = false;
    CancelArgs args = { .flag = &cancel, .delay_ms = 150 };
    GThread *t = g_thread_new("cancel", cancel_thread, &args);
    int64_t start = g_get_monotonic_time();
    int64_t took_ms;
    Error *err = NULL;

    /* A long timeout: only the cancel can end this in time. */
    g_assert_cmpint(socket_connect(local, 20000, &cancel, &err), ==, -1);
    took_ms = (g_get_monotonic_time() - start) / 1000;
    g_thread_join(t);
    g_assert_nonnull(strstr(error_get_pretty(err), "cancelled"));
    g_assert_cmpint(took_ms, >=, 140);
    g_assert_cmpint(took_ms, <, 2000);
    error_free(err);
    close_fill(fill, lfd);
}

/* ---- the chardev follows the same rules ---- */

static void test_chardev_unix_rules(void)
{
    g_autofree char *path = tmp_path("chr.sock");
    g_autofree char *opts = g_strdup_printf("socket,id=%%s,path=%s,"
                                            "server=on,wait=off", path);
    g_autofree char *opts1 = NULL, *opts2 = NULL, *want = NULL;
    g_autofree char *label = NULL;
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    Chardev *chr;
    Error *err = NULL;
    int fd;

    /* A regular file at the path is refused and left alone. */
    opts1 = g_strdup_printf(opts, "s1");
    g_assert_true(g_file_set_contents(path, "keep", -1, NULL));
    g_assert_null(chardev_new_from_opts(opts1, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "not a socket"));
    g_assert_nonnull(strstr(error_get_pretty(err), path));
    g_clear_pointer(&err, error_free);
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    unlink(path);

    /* A stale socket is replaced. */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_strlcpy(un.sun_path, path, sizeof(un.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&un, sizeof(un)), ==, 0);
    close(fd);
    chr = chardev_new_from_opts(opts1, &error_abort);
    label = chardev_dup_label(chr);
    want = g_strdup_printf("disconnected:unix:%s,server=on", path);
    g_assert_cmpstr(label, ==, want);

    /* A second server on the live socket is refused. */
    opts2 = g_strdup_printf(opts, "s2");
    g_assert_null(chardev_new_from_opts(opts2, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "in use"));
    error_free(err);

    /* Closing the server removes its socket file. */
    chardev_close(chr);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* A bad port keeps the chardev's wording, in both spellings. */
static void test_chardev_ports(void)
{
    Error *err = NULL;

    g_assert_null(chardev_new_from_opts("socket,id=p1,host=127.0.0.1,"
                                        "port=70000,server=on", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "chardev: socket: invalid port '70000'");
    g_clear_pointer(&err, error_free);
    /* The legacy -serial spelling goes through socket_parse(). */
    g_assert_null(chardev_new_legacy("p2", "tcp:127.0.0.1:70000,server=on,"
                                     "wait=off", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "invalid port '70000'"));
    g_clear_pointer(&err, error_free);
    g_assert_null(chardev_new_legacy("p3", "tcp:[::1,server=on", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "[ADDRESS]:PORT"));
    error_free(err);
}

/* ---- migration's channel: listen + connect, no guest ---- */

typedef struct Accepted {
    bool called;
    MigrationChannel ch;
} Accepted;

static void accepted(MigrationChannel *ch, void *opaque)
{
    Accepted *a = opaque;

    a->called = true;
    a->ch = *ch;
}

static void check_migration_pair(const char *listen_uri, bool is_unix)
{
    Accepted acc = { 0 };
    SocketAddressList *addrs = NULL;
    g_autofree char *connect_uri = NULL;
    MigrationChannel src;
    bool cancel = false;
    char c = 0;
    int64_t deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    g_assert_true(migration_channel_listen(listen_uri, accepted, &acc,
                                           &addrs, &error_abort));
    g_assert_nonnull(addrs);
    if (is_unix) {
        g_assert_cmpint(addrs->value->type, ==, SOCKET_ADDRESS_TYPE_UNIX);
        connect_uri = g_strdup(listen_uri);
    } else {
        g_assert_cmpint(addrs->value->type, ==, SOCKET_ADDRESS_TYPE_INET);
        g_assert_cmpstr(addrs->value->u.inet.port, !=, "0");
        connect_uri = g_strdup_printf("tcp:127.0.0.1:%s",
                                      addrs->value->u.inet.port);
    }
    qapi_free_SocketAddressList(addrs);

    /* The kernel completes the handshake before the accept runs. */
    g_assert_true(migration_channel_connect(connect_uri, &cancel, &src,
                                            &error_abort));
    while (!acc.called && g_get_monotonic_time() < deadline) {
        g_main_context_iteration(main_loop_context(), FALSE);
        g_usleep(1000);
    }
    g_assert_true(acc.called);
    g_assert_cmpint(acc.ch.fd, >=, 0);
    g_assert_cmpint(acc.ch.rp_fd, >=, 0);
    g_assert_cmpint(src.rp_fd, >=, 0);

    /* Stream source -> destination, return path the other way. */
    g_assert_cmpint(write(src.fd, "s", 1), ==, 1);
    g_assert_cmpint(read(acc.ch.fd, &c, 1), ==, 1);
    g_assert_cmpint(c, ==, 's');
    g_assert_cmpint(write(acc.ch.rp_fd, "r", 1), ==, 1);
    g_assert_cmpint(read(src.rp_fd, &c, 1), ==, 1);
    g_assert_cmpint(c, ==, 'r');

    close(src.fd);
    migration_channel_close(&src);
    close(acc.ch.fd);
    migration_channel_close(&acc.ch);
}

static void test_migration_tcp(void)
{
    check_migration_pair("tcp:127.0.0.1:0", false);
}

static void test_migration_unix(void)
{
    g_autofree char *path = tmp_path("mig.sock");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);

    check_migration_pair(uri, true);
    /* One migration per listener: its socket file is gone. */
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* fd: opens at once, on a dup of the fd it was given. */
static void test_migration_fd(void)
{
    Accepted acc = { 0 };
    SocketAddressList *addrs = NULL;
    MigrationChannel src;
    g_autofree char *listen_uri = NULL;
    g_autofree char *connect_uri = NULL;
    bool cancel = false;
    int sv[2];
    char c = 0;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    listen_uri = g_strdup_printf("fd:%d", sv[0]);
    connect_uri = g_strdup_printf("fd:%d", sv[1]);
    g_assert_true(migration_channel_listen(listen_uri, accepted, &acc,
                                           &addrs, &error_abort));
    g_assert_true(acc.called);
    g_assert_null(addrs);
    /* (sv[0] itself was closed; its number may be reused already.) */
    g_assert_true(migration_channel_connect(connect_uri, &cancel, &src,
                                            &error_abort));
    g_assert_cmpint(src.fd, !=, sv[1]);                 /* a dup */
    g_assert_cmpint(write(src.fd, "s", 1), ==, 1);
    g_assert_cmpint(read(acc.ch.fd, &c, 1), ==, 1);
    g_assert_cmpint(c, ==, 's');
    close(src.fd);
    migration_channel_close(&src);
    close(acc.ch.fd);
    migration_channel_close(&acc.ch);
    close(sv[1]);
}

/* A unix: listener follows the socket layer's file rule. */
static void test_migration_unix_file(void)
{
    g_autofree char *path = tmp_path("mig-regular");
    g_autofree char *uri = g_strdup_printf("unix:%s", path);
    SocketAddressList *addrs = NULL;
    Accepted acc = { 0 };
    Error *err = NULL;

    g_assert_true(g_file_set_contents(path, "data", -1, NULL));
    g_assert_false(migration_channel_listen(uri, accepted, &acc, &addrs,
                                            &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "not a socket"));
    error_free(err);
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    unlink(path);
}

/* migrate_cancel's flag ends a migration connect that hangs. */
static void test_migration_connect_cancel(void)
{
    GPtrArray *fill = g_ptr_array_new();
    int lfd = blackhole_listener(fill);
    g_autoptr(SocketAddress) local = socket_local_address(lfd, &error_abort);
    g_autofree char *uri = g_strdup_printf("tcp:127.0.0.1:%s",
                                           local->u.inet.port);
    bool cancel = false;
    CancelArgs args = { .flag = &cancel, .delay_ms = 100 };
    GThread *t = g_thread_new("cancel", cancel_thread, &args);
    MigrationChannel ch;
    Error *err = NULL;

    g_assert_false(migration_channel_connect(uri, &cancel, &ch, &err));
    g_thread_join(t);
    g_assert_nonnull(strstr(error_get_pretty(err), "cancelled"));
    g_assert_cmpint(ch.fd, ==, -1);
    error_free(err);
    close_fill(fill, lfd);
}

static void test_migration_uri_errors(void)
{
    Error *err = NULL;

    g_assert_true(migration_uri_check("tcp:[::1]:4444", &error_abort));
    g_assert_true(migration_uri_check("exec:cat", &error_abort));
    g_assert_false(migration_uri_check("tcp:127.0.0.1:70000", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "invalid port '70000'"));
    g_clear_pointer(&err, error_free);
    g_assert_false(migration_uri_check("tcp:nocolon", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "expected HOST:PORT"));
    g_clear_pointer(&err, error_free);
    g_assert_false(migration_uri_check("unix:", &err));
    g_clear_pointer(&err, error_free);
    g_assert_false(migration_uri_check("fd:name", &err));
    g_clear_pointer(&err, error_free);
    g_assert_false(migration_uri_check("rdma:1.2.3.4:5", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "unknown migration "
                                                   "protocol"));
    error_free(err);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-sockets-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    main_loop_init();

    g_test_add_func("/sockets/parse/inet", test_parse_inet);
    g_test_add_func("/sockets/parse/service", test_parse_service);
    g_test_add_func("/sockets/parse/port", test_parse_port);
    g_test_add_func("/sockets/parse/unix-fd", test_parse_unix_fd);
    g_test_add_func("/sockets/parse/qapi", test_parse_qapi);
    g_test_add_func("/sockets/inet/ipv4", test_inet_v4);
    g_test_add_func("/sockets/inet/ipv6", test_inet_v6);
    g_test_add_func("/sockets/inet/dual-stack", test_inet_dual_stack);
    g_test_add_func("/sockets/inet/port-range", test_inet_port_range);
    g_test_add_func("/sockets/connect/errors", test_connect_errors);
    g_test_add_func("/sockets/connect/timeout", test_connect_timeout);
    g_test_add_func("/sockets/connect/timeout-unix",
                    test_connect_timeout_unix);
    g_test_add_func("/sockets/connect/cancel", test_connect_cancel);
    g_test_add_func("/sockets/unix/plain", test_unix);
    g_test_add_func("/sockets/unix/stale-removed", test_unix_stale_removed);
    g_test_add_func("/sockets/unix/live-refused", test_unix_live_refused);
    g_test_add_func("/sockets/unix/file-refused", test_unix_file_refused);
    g_test_add_func("/sockets/chardev/unix-rules", test_chardev_unix_rules);
    g_test_add_func("/sockets/chardev/ports", test_chardev_ports);
    g_test_add_func("/sockets/migration/tcp", test_migration_tcp);
    g_test_add_func("/sockets/migration/unix", test_migration_unix);
    g_test_add_func("/sockets/migration/fd", test_migration_fd);
    g_test_add_func("/sockets/migration/unix-file-refused",
                    test_migration_unix_file);
    g_test_add_func("/sockets/migration/connect-cancel",
                    test_migration_connect_cancel);
    g_test_add_func("/sockets/migration/uri-errors",
                    test_migration_uri_errors);
    ret = g_test_run();
    rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
