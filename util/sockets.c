/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one socket layer (include/util/sockets.h says the rules): parsing
 * legacy strings and QAPI addresses into QAPI's SocketAddress, bounded and
 * cancellable connects, and listeners that follow the dual-stack and
 * stale-socket-file rules. The chardev and migration are its users.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "util/sockets.h"
#include "trace.h"

#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

/* ---- parsing ---- */

bool socket_parse_port(const char *str, uint16_t *port, Error **errp)
{
    if (str && *str && strspn(str, "0123456789") == strlen(str)) {
        /* Digits only: no sign, no spaces, no hex. */
        if (strlen(str) <= 5 && strtoul(str, NULL, 10) <= 65535) {
            *port = strtoul(str, NULL, 10);
            return true;
        }
    } else if (str && *str) {
        struct servent se, *res = NULL;
        char buf[1024];

        if (getservbyname_r(str, "tcp", &se, buf, sizeof(buf), &res) == 0 &&
            res) {
            *port = ntohs(res->s_port);
            return true;
        }
    }
    error_setg(errp, "invalid port '%s'", str ? str : "");
    return false;
}

/* Which families inet's ipv4=/ipv6= allow (the tri-state rule). */
static bool socket_inet_families(const InetSocketAddress *inet, bool *v4,
                                 bool *v6, Error **errp)
{
    *v4 = inet->has_ipv4 ? inet->ipv4 : !(inet->has_ipv6 && inet->ipv6);
    *v6 = inet->has_ipv6 ? inet->ipv6 : !(inet->has_ipv4 && inet->ipv4);
    if (!*v4 && !*v6) {
        error_setg(errp, "ipv4=off and ipv6=off leave no address family");
        return false;
    }
    return true;
}

bool socket_address_fd(const SocketAddress *addr, int *fd, Error **errp)
{
    const char *str = addr->u.fd.str;

    if (!str || !*str || strspn(str, "0123456789") != strlen(str) ||
        strlen(str) > 10 || strtoul(str, NULL, 10) > INT32_MAX) {
        error_setg(errp, "invalid fd '%s': a file descriptor number is "
                   "expected (fd names from getfd are not supported)",
                   str ? str : "");
        return false;
    }
    *fd = strtoul(str, NULL, 10);
    return true;
}

bool socket_address_check(SocketAddress *addr, Error **errp)
{
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET: {
        InetSocketAddress *inet = &addr->u.inet;
        uint16_t port;
        bool v4, v6;

        if (!inet->host) {
            inet->host = g_strdup("");
        }
        if (!socket_parse_port(inet->port, &port, errp) ||
            !socket_inet_families(inet, &v4, &v6, errp)) {
            return false;
        }
        g_free(inet->port);
        inet->port = g_strdup_printf("%u", port);
        if (inet->has_to && inet->to < port) {
            error_setg(errp, "port range %u-%u is empty", port, inet->to);
            return false;
        }
        return true;
    }
    case SOCKET_ADDRESS_TYPE_UNIX: {
        const char *path = addr->u.q_unix.path;

        if (!path || !*path) {
            error_setg(errp, "empty UNIX socket path");
            return false;
        }
        if (strlen(path) >= SUN_PATH_MAX) {
            error_setg(errp, "UNIX socket path '%s' is too long (at most %zu "
                       "bytes)", path, SUN_PATH_MAX - 1);
            return false;
        }
        return true;
    }
    case SOCKET_ADDRESS_TYPE_FD: {
        int fd;

        return socket_address_fd(addr, &fd, errp);
    }
    default:
        error_setg(errp, "unknown socket address type %d", addr->type);
        return false;
    }
}

/* HOST:PORT or [V6]:PORT into inet; the port is checked by the caller. */
static bool socket_parse_host_port(const char *str, InetSocketAddress *inet,
                                   Error **errp)
{
    const char *colon;

    if (*str == '[') {
        const char *end = strchr(str, ']');

        if (!end || end[1] != ':') {
            error_setg(errp, "expected [ADDRESS]:PORT, got '%s'", str);
            return false;
        }
        inet->host = g_strndup(str + 1, end - str - 1);
        colon = end + 1;
    } else {
        colon = strrchr(str, ':');
        if (!colon) {
            error_setg(errp, "expected HOST:PORT, got '%s'", str);
            return false;
        }
        inet->host = g_strndup(str, colon - str);
    }
    inet->port = g_strdup(colon + 1);
    return true;
}

SocketAddress *socket_parse(const char *str, Error **errp)
{
    g_autoptr(SocketAddress) addr = g_new0(SocketAddress, 1);

    if (g_str_has_prefix(str, "unix:")) {
        addr->type = SOCKET_ADDRESS_TYPE_UNIX;
        addr->u.q_unix.path = g_strdup(str + strlen("unix:"));
    } else if (g_str_has_prefix(str, "fd:")) {
        addr->type = SOCKET_ADDRESS_TYPE_FD;
        addr->u.fd.str = g_strdup(str + strlen("fd:"));
    } else if (g_str_has_prefix(str, "vsock:")) {
        error_setg(errp, "vsock addresses are not supported: '%s'", str);
        return NULL;
    } else {
        addr->type = SOCKET_ADDRESS_TYPE_INET;
        if (!socket_parse_host_port(g_str_has_prefix(str, "tcp:") ?
                                    str + strlen("tcp:") : str,
                                    &addr->u.inet, errp)) {
            return NULL;
        }
    }
    if (!socket_address_check(addr, errp)) {
        return NULL;
    }
    return g_steal_pointer(&addr);
}

static void socket_inet_copy(InetSocketAddress *dst,
                             const InetSocketAddress *src)
{
    *dst = *src;
    dst->host = g_strdup(src->host);
    dst->port = g_strdup(src->port);
}

SocketAddress *socket_address_dup(const SocketAddress *addr)
{
    SocketAddress *copy = g_new0(SocketAddress, 1);

    copy->type = addr->type;
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        socket_inet_copy(&copy->u.inet, &addr->u.inet);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        copy->u.q_unix.path = g_strdup(addr->u.q_unix.path);
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        copy->u.fd.str = g_strdup(addr->u.fd.str);
        break;
    default:
        break;
    }
    return copy;
}

SocketAddress *socket_address_from_legacy(const SocketAddressLegacy *legacy)
{
    SocketAddress *addr = g_new0(SocketAddress, 1);

    addr->type = legacy->type;
    switch (legacy->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        socket_inet_copy(&addr->u.inet, legacy->u.inet.data);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        addr->u.q_unix.path = g_strdup(legacy->u.q_unix.data->path);
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        addr->u.fd.str = g_strdup(legacy->u.fd.data->str);
        break;
    default:
        break;
    }
    return addr;
}

char *socket_host_port_string(const char *host, const char *port)
{
    return g_strdup_printf(strchr(host, ':') ? "[%s]:%s" : "%s:%s", host,
                           port);
}

char *socket_address_to_string(const SocketAddress *addr)
{
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET: {
        g_autofree char *hp = socket_host_port_string(addr->u.inet.host,
                                                      addr->u.inet.port);
        return g_strdup_printf("tcp:%s", hp);
    }
    case SOCKET_ADDRESS_TYPE_UNIX:
        return g_strdup_printf("unix:%s", addr->u.q_unix.path);
    case SOCKET_ADDRESS_TYPE_FD:
        return g_strdup_printf("fd:%s", addr->u.fd.str);
    default:
        return g_strdup("?");
    }
}

/* ---- shared helpers ---- */

static bool socket_unix_sockaddr(const char *path, struct sockaddr_un *un,
                                 Error **errp)
{
    memset(un, 0, sizeof(*un));
    un->sun_family = AF_UNIX;
    if (!path || !*path || strlen(path) >= SUN_PATH_MAX) {
        error_setg(errp, "UNIX socket path '%s' is %s", path ? path : "",
                   path && *path ? "too long" : "empty");
        return false;
    }
    strcpy(un->sun_path, path);
    return true;
}

/* Resolves inet for connect (passive false) or listen (passive true). */
static struct addrinfo *socket_resolve(const InetSocketAddress *inet,
                                       bool passive, uint16_t *port,
                                       Error **errp)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    char serv[8];
    bool v4, v6;
    int rc;

    if (!socket_parse_port(inet->port, port, errp) ||
        !socket_inet_families(inet, &v4, &v6, errp)) {
        return NULL;
    }
    hints.ai_family = v4 && v6 ? AF_UNSPEC : v4 ? AF_INET : AF_INET6;
    if (passive) {
        hints.ai_flags |= AI_PASSIVE;
    }
    if (inet->has_numeric && inet->numeric) {
        hints.ai_flags |= AI_NUMERICHOST;
    }
    snprintf(serv, sizeof(serv), "%u", *port);
    rc = getaddrinfo(*inet->host ? inet->host : NULL, serv, &hints, &res);
    if (rc) {
        g_autofree char *hp = socket_host_port_string(inet->host, inet->port);

        error_setg(errp, "address resolution failed for %s: %s", hp,
                   gai_strerror(rc));
        return NULL;
    }
    return res;
}

bool socket_address_to_sockaddr(const SocketAddress *addr, bool passive,
                                struct sockaddr_storage *ss, socklen_t *len,
                                Error **errp)
{
    struct addrinfo *res;
    uint16_t port;

    memset(ss, 0, sizeof(*ss));
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_UNIX:
        *len = sizeof(struct sockaddr_un);
        return socket_unix_sockaddr(addr->u.q_unix.path,
                                    (struct sockaddr_un *)ss, errp);
    case SOCKET_ADDRESS_TYPE_INET:
        res = socket_resolve(&addr->u.inet, passive, &port, errp);
        if (!res) {
            return false;
        }
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        *len = res->ai_addrlen;
        freeaddrinfo(res);
        return true;
    default:
        error_setg(errp, "an fd is not an address to bind or send to");
        return false;
    }
}

static int64_t socket_now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

/* ---- connecting ---- */

/*
 * Waits until fd is writable (0), the deadline passes (ETIMEDOUT) or
 * *cancel is set (ECANCELED). fd -1: waits one slice and returns EAGAIN
 * (the caller retries its connect).
 */
static int socket_wait_writable(int fd, int64_t deadline_ms,
                                const bool *cancel)
{
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int64_t left = deadline_ms - socket_now_ms();
        int rc;

        if (cancel && __atomic_load_n(cancel, __ATOMIC_SEQ_CST)) {
            return ECANCELED;
        }
        if (left <= 0) {
            return ETIMEDOUT;
        }
        if (cancel || fd < 0) {
            left = MIN(left, SOCKET_CANCEL_POLL_MS);
        }
        rc = poll(&pfd, fd >= 0, MIN(left, INT32_MAX));
        if (rc > 0) {
            return 0;
        }
        if (rc < 0 && errno != EINTR) {
            return errno;
        }
        if (fd < 0) {
            return EAGAIN;
        }
    }
}

/*
 * One connect attempt until deadline_ms (monotonic) or *cancel. Returns a
 * blocking fd, or -1 with *err: an errno, ETIMEDOUT or ECANCELED.
 */
static int socket_connect_one(const struct sockaddr *sa, socklen_t len,
                              int64_t deadline_ms, const bool *cancel,
                              int *err)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    0);
    socklen_t elen = sizeof(*err);

    if (fd < 0) {
        *err = errno;
        return -1;
    }
    while (connect(fd, sa, len) < 0) {
        *err = errno;
        if (*err == EAGAIN) {
            /* A UNIX listener's backlog is full: a blocking connect would
             * wait for room, so wait a slice and try again. */
            *err = socket_wait_writable(-1, deadline_ms, cancel);
            if (*err == EAGAIN) {
                continue;
            }
            goto fail;
        }
        if (*err != EINPROGRESS && *err != EINTR) {
            goto fail;
        }
        /* The handshake goes on in the kernel: wait for its outcome. */
        *err = socket_wait_writable(fd, deadline_ms, cancel);
        if (!*err && getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &elen) < 0) {
            *err = errno;
        }
        if (*err) {
            goto fail;
        }
        break;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;

fail:
    close(fd);
    return -1;
}

int socket_connect(const SocketAddress *addr, int timeout_ms,
                   const bool *cancel, Error **errp)
{
    g_autofree char *desc = socket_address_to_string(addr);
    int64_t deadline_ms = socket_now_ms() +
                          (timeout_ms > 0 ? timeout_ms
                                          : SOCKET_CONNECT_TIMEOUT_MS);
    int fd = -1, err = 0;

    trace_socket_connect(desc, timeout_ms);
    if (addr->type == SOCKET_ADDRESS_TYPE_UNIX) {
        struct sockaddr_un un;

        if (!socket_unix_sockaddr(addr->u.q_unix.path, &un, errp)) {
            return -1;
        }
        fd = socket_connect_one((struct sockaddr *)&un, sizeof(un),
                                deadline_ms, cancel, &err);
    } else if (addr->type == SOCKET_ADDRESS_TYPE_INET) {
        uint16_t port;
        struct addrinfo *res = socket_resolve(&addr->u.inet, false, &port,
                                              errp);

        if (!res) {
            return -1;
        }
        for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
            fd = socket_connect_one(ai->ai_addr, ai->ai_addrlen, deadline_ms,
                                    cancel, &err);
            if (err == ECANCELED || err == ETIMEDOUT) {
                break;
            }
        }
        freeaddrinfo(res);
    } else {
        error_setg(errp, "cannot connect to '%s': an inet or unix address "
                   "is needed", desc);
        return -1;
    }
    if (fd < 0) {
        trace_socket_connect_failed(desc, err);
        if (err == ECANCELED) {
            error_setg(errp, "connection to '%s' cancelled", desc);
        } else {
            error_setg_errno(errp, err, "Failed to connect to '%s'", desc);
        }
        return -1;
    }
    trace_socket_connected(desc, fd);
    return fd;
}

/* ---- listening ---- */

/*
 * The stale-socket-file rule: path may be bound if nothing is there, or
 * if it is a socket that refuses connections (its server is gone).
 */
static bool socket_unix_clear_stale(const char *path,
                                    const struct sockaddr_un *un,
                                    Error **errp)
{
    struct stat st;
    int fd, err;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT) {
            return true;
        }
        error_setg_errno(errp, errno, "cannot check '%s'", path);
        return false;
    }
    if (!S_ISSOCK(st.st_mode)) {
        error_setg(errp, "'%s' exists and is not a socket: not replacing it",
                   path);
        return false;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket");
        return false;
    }
    err = connect(fd, (const struct sockaddr *)un, sizeof(*un)) < 0 ? errno
                                                                    : 0;
    close(fd);
    if (err == ECONNREFUSED) {
        trace_socket_unix_stale(path);
        if (unlink(path) < 0 && errno != ENOENT) {
            error_setg_errno(errp, errno, "cannot remove stale socket '%s'",
                             path);
            return false;
        }
        return true;
    }
    if (err == 0 || err == EAGAIN || err == EINPROGRESS) {
        error_setg(errp, "'%s' is in use by a listening server: not "
                   "replacing it", path);
    } else {
        error_setg_errno(errp, err, "cannot tell whether '%s' is in use",
                         path);
    }
    return false;
}

static int socket_listen_unix(const char *path, int backlog, Error **errp)
{
    struct sockaddr_un un;
    int fd;

    if (!socket_unix_sockaddr(path, &un, errp) ||
        !socket_unix_clear_stale(path, &un, errp)) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket");
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
        error_setg_errno(errp, errno, "Failed to bind socket to %s", path);
        close(fd);
        return -1;
    }
    if (listen(fd, backlog) < 0) {
        error_setg_errno(errp, errno, "Failed to listen on %s", path);
        close(fd);
        unlink(path);
        return -1;
    }
    return fd;
}

/* socket + bind + listen on one address; -1 with *err. */
static int socket_bind_listen(const struct sockaddr *sa, socklen_t len,
                              int v6only, int backlog, int *err)
{
    int one = 1;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        *err = errno;
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (sa->sa_family == AF_INET6 && v6only >= 0) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
    }
    if (bind(fd, sa, len) < 0 || listen(fd, backlog) < 0) {
        *err = errno;
        close(fd);
        return -1;
    }
    return fd;
}

/* A wildcard host: the dual-stack rule. */
static int socket_listen_any(bool v4, bool v6, uint16_t port, int backlog,
                             int *err)
{
    int fd = -1;

    if (v6) {
        struct sockaddr_in6 in6 = { .sin6_family = AF_INET6,
                                    .sin6_port = htons(port),
                                    .sin6_addr = IN6ADDR_ANY_INIT };

        fd = socket_bind_listen((struct sockaddr *)&in6, sizeof(in6), !v4,
                                backlog, err);
        if (fd >= 0 || !v4 ||
            (*err != EAFNOSUPPORT && *err != EADDRNOTAVAIL)) {
            return fd;
        }
        /* No IPv6 on this host (or it is disabled): IPv4 is all there is. */
    }
    struct sockaddr_in in = { .sin_family = AF_INET,
                              .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_ANY) };

    return socket_bind_listen((struct sockaddr *)&in, sizeof(in), -1, backlog,
                              err);
}

/* Binds the first resolved address of host that takes port. */
static int socket_listen_host(const struct addrinfo *res, bool v4,
                              uint16_t port, int backlog, int *err)
{
    int fd = -1;

    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        struct sockaddr_storage ss;

        memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
        if (ss.ss_family == AF_INET6) {
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
        } else if (ss.ss_family == AF_INET) {
            ((struct sockaddr_in *)&ss)->sin_port = htons(port);
        }
        fd = socket_bind_listen((struct sockaddr *)&ss, ai->ai_addrlen,
                                v4 ? -1 : 1, backlog, err);
    }
    return fd;
}

static int socket_listen_inet(const InetSocketAddress *inet, int backlog,
                              Error **errp)
{
    g_autofree char *hp = socket_host_port_string(inet->host, inet->port);
    bool wildcard = !*inet->host || !strcmp(inet->host, "::");
    struct addrinfo *res = NULL;
    uint16_t port, last;
    bool v4, v6;
    int fd = -1, err = 0;

    if (!socket_inet_families(inet, &v4, &v6, errp)) {
        return -1;
    }
    if (wildcard) {
        if (!socket_parse_port(inet->port, &port, errp)) {
            return -1;
        }
    } else {
        res = socket_resolve(inet, true, &port, errp);
        if (!res) {
            return -1;
        }
    }
    last = inet->has_to ? MAX(inet->to, port) : port;
    for (uint32_t p = port; p <= last && fd < 0; p++) {
        fd = wildcard ? socket_listen_any(v4, v6, p, backlog, &err)
                      : socket_listen_host(res, v4, p, backlog, &err);
        if (fd < 0 && err != EADDRINUSE) {
            break;
        }
    }
    if (res) {
        freeaddrinfo(res);
    }
    if (fd < 0) {
        error_setg_errno(errp, err, "Failed to listen on %s", hp);
    }
    return fd;
}

int socket_listen(const SocketAddress *addr, int backlog, Error **errp)
{
    g_autofree char *desc = socket_address_to_string(addr);
    int fd;

    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_UNIX:
        fd = socket_listen_unix(addr->u.q_unix.path, backlog, errp);
        break;
    case SOCKET_ADDRESS_TYPE_INET:
        fd = socket_listen_inet(&addr->u.inet, backlog, errp);
        break;
    default:
        error_setg(errp, "cannot listen on '%s': an inet or unix address "
                   "is needed", desc);
        return -1;
    }
    if (fd >= 0) {
        trace_socket_listen(desc, fd);
    }
    return fd;
}

void socket_unlink_unix(const SocketAddress *addr)
{
    if (addr->type == SOCKET_ADDRESS_TYPE_UNIX && addr->u.q_unix.path) {
        unlink(addr->u.q_unix.path);
    }
}

/* ---- what a socket is bound or connected to ---- */

static SocketAddress *socket_from_sockaddr(const struct sockaddr_storage *ss,
                                           socklen_t len, Error **errp)
{
    SocketAddress *addr = g_new0(SocketAddress, 1);

    if (ss->ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
        size_t n = len > offsetof(struct sockaddr_un, sun_path)
                   ? len - offsetof(struct sockaddr_un, sun_path) : 0;

        addr->type = SOCKET_ADDRESS_TYPE_UNIX;
        addr->u.q_unix.path = g_strndup(un->sun_path, MIN(n, SUN_PATH_MAX));
        return addr;
    }
    if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6) {
        char host[NI_MAXHOST], serv[NI_MAXSERV];
        int rc = getnameinfo((const struct sockaddr *)ss, len, host,
                             sizeof(host), serv, sizeof(serv),
                             NI_NUMERICHOST | NI_NUMERICSERV);

        if (rc == 0) {
            addr->type = SOCKET_ADDRESS_TYPE_INET;
            addr->u.inet.host = g_strdup(host);
            addr->u.inet.port = g_strdup(serv);
            return addr;
        }
        error_setg(errp, "cannot format a socket address: %s",
                   gai_strerror(rc));
    } else {
        error_setg(errp, "unsupported socket address family %d",
                   ss->ss_family);
    }
    g_free(addr);
    return NULL;
}

SocketAddress *socket_local_address(int fd, Error **errp)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        error_setg_errno(errp, errno, "getsockname");
        return NULL;
    }
    return socket_from_sockaddr(&ss, len, errp);
}

SocketAddress *socket_peer_address(int fd, Error **errp)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len = sizeof(ss);

    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
        error_setg_errno(errp, errno, "getpeername");
        return NULL;
    }
    return socket_from_sockaddr(&ss, len, errp);
}
