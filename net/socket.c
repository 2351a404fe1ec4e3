/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Socket netdevs: frames carried over a socket to another VMM (or any
 * peer that speaks the framing), so two guests can share a link.
 *
 *   -netdev stream,id=ID,addr.type=inet,addr.host=H,addr.port=P[,server=on]
 *   -netdev stream,id=ID,addr.type=unix,addr.path=PATH[,server=on]
 *   -netdev dgram,id=ID,local.type=inet,local.host=H,local.port=P,
 *                       remote.type=inet,remote.host=H,remote.port=P
 *          (or local.type=unix,local.path=...,remote.type=unix,...)
 *   -netdev socket,id=ID,listen=[H]:P | connect=H:P | fd=N
 *                       | udp=H:P,localaddr=H:P | mcast=GROUP:P[,localaddr=A]
 *
 * Wire formats (QEMU's, so a Tandem guest and a QEMU guest can talk):
 *  - stream: each frame is a 4-byte big-endian length, then the frame.
 *    A length of 0 or beyond NET_MAX_FRAME is a broken peer: the
 *    connection is dropped (a server then accepts again).
 *  - dgram (udp=, mcast=, dgram): one frame per datagram, no header.
 *
 * A stream server takes one connection at a time and listens again when
 * it goes; a client connects once at creation (bounded by the socket
 * layer's connect timeout). Frames sent while there is no connection are
 * dropped, as on a cable with nobody at the other end.
 *
 * Flow control is the tap's: reading stops while our frame waits in the
 * peer's queue; a write the socket cannot take now keeps the frame in
 * our incoming queue (stream: the unsent tail of a frame already started
 * is kept here, the next frame waits) and a writability watch flushes.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <glib-unix.h>
#include "net/clients.h"
#include "net/frame-codec.h"
#include "net/netdev.h"
#include "util/sockets.h"
#include "trace.h"

typedef struct NetSocketState {
    NetClientState *nc;
    bool dgram;
    int fd;                     /* the connection (or dgram socket); -1 */
    int listen_fd;              /* stream server; -1 otherwise */
    SocketAddress *listen_addr; /* to remove a unix socket file at the end */
    struct sockaddr_storage dst;    /* dgram: where frames go */
    socklen_t dst_len;
    char *addr_str;             /* for info network */

    NetFrameDecoder rx;         /* stream receive (frame-codec.h) */

    bool read_enabled;
    bool write_poll;
    GByteArray *out;            /* stream: unsent tail of a started frame */
    GSource *watch;
    GIOCondition watch_cond;
    GSource *listen_watch;
    uint8_t dgram_buf[NET_MAX_FRAME];
} NetSocketState;

static gboolean net_socket_ready(gint fd, GIOCondition cond, gpointer opaque);
static void net_socket_listen_again(NetSocketState *s);

static void net_socket_update_watch(NetSocketState *s)
{
    GIOCondition cond = 0;

    if (s->fd >= 0) {
        cond = (s->read_enabled ? G_IO_IN : 0) |
               (s->write_poll ? G_IO_OUT : 0);
    }
    net_fd_watch_set(&s->watch, &s->watch_cond, s->fd, cond,
                     net_socket_ready, s);
}

static void net_socket_set_info(NetSocketState *s, const char *fmt,
                                const char *addr)
{
    g_free(s->nc->info_str);
    s->nc->info_str = g_strdup_printf(fmt, addr);
    trace_net_socket_state(s->nc->name, s->nc->info_str);
}

static void net_socket_disconnect(NetSocketState *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    net_frame_decoder_reset(&s->rx);
    s->write_poll = false;
    g_byte_array_set_size(s->out, 0);
    net_socket_update_watch(s);
    /* Frames waiting for the socket have nowhere to go now. */
    net_client_purge_queue(s->nc);
    if (s->listen_fd >= 0) {
        net_socket_listen_again(s);
    } else {
        net_socket_set_info(s, "disconnected from %s", s->addr_str);
    }
}

static void net_socket_send_done(NetClientState *nc, ssize_t ret)
{
    NetSocketState *s = nc->opaque;

    s->read_enabled = true;
    net_socket_update_watch(s);
}

static void net_socket_deliver(NetSocketState *s, const uint8_t *frame,
                               size_t len)
{
    struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };

    if (net_send_iov(s->nc, &iov, 1, net_socket_send_done) == 0) {
        s->read_enabled = false;
    }
}

/* Reads what the decoder wants next: 1 progress, 0 nothing to read now,
 * -1 the connection is gone (or the peer broke the framing). */
static int net_socket_read_stream(NetSocketState *s)
{
    Error *err = NULL;
    const uint8_t *frame;
    uint8_t *where;
    size_t max, len;
    ssize_t n;

    net_frame_decoder_want(&s->rx, &where, &max);
    n = recv(s->fd, where, max, 0);
    if (n < 0) {
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    }
    if (n == 0) {
        return -1;
    }
    switch (net_frame_decoder_advance(&s->rx, n, &err)) {
    case NET_FRAME_BAD:
        trace_net_socket_bad_frame(s->nc->name, error_get_pretty(err));
        error_free(err);
        return -1;
    case NET_FRAME_READY:
        frame = net_frame_decoder_frame(&s->rx, &len, NULL);
        net_socket_deliver(s, frame, len);
        break;
    case NET_FRAME_NEED_MORE:
        break;
    }
    return 1;
}

/* One datagram; false when there was none to read. */
static bool net_socket_read_dgram(NetSocketState *s)
{
    ssize_t n = recv(s->fd, s->dgram_buf, sizeof(s->dgram_buf), 0);

    if (n < 0) {
        return false;
    }
    if (n > 0) {
        net_socket_deliver(s, s->dgram_buf, n);
    }
    return true;
}

static bool net_socket_flush_out(NetSocketState *s)
{
    while (s->out->len) {
        ssize_t n = send(s->fd, s->out->data, s->out->len, MSG_NOSIGNAL);

        if (n < 0) {
            return errno == EAGAIN || errno == EINTR;
        }
        g_byte_array_remove_range(s->out, 0, n);
    }
    return true;
}

static gboolean net_socket_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    NetSocketState *s = opaque;

    /*
     * An error or hang-up reported without G_IO_IN (we were not reading:
     * the peer's queue holds our frame) would fire again at once for
     * ever: a stream is finished, a datagram socket's pending error
     * (an ICMP unreachable) is collected and forgotten.
     */
    if ((cond & (G_IO_ERR | G_IO_HUP | G_IO_NVAL)) && !(cond & G_IO_IN)) {
        int err;
        socklen_t len = sizeof(err);

        if (!s->dgram) {
            net_socket_disconnect(s);
            return G_SOURCE_CONTINUE;
        }
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
    if (cond & G_IO_OUT) {
        if (!s->dgram && !net_socket_flush_out(s)) {
            net_socket_disconnect(s);
            return G_SOURCE_CONTINUE;
        }
        if (!s->out->len) {
            s->write_poll = false;
            net_client_flush_queue(s->nc);
        }
    }
    /* A bounded batch, then other sources get their turn. */
    for (int i = 0; i < 128 && (cond & G_IO_IN) && s->read_enabled; i++) {
        int r;

        if (s->dgram) {
            if (!net_socket_read_dgram(s)) {
                break;
            }
            continue;
        }
        r = net_socket_read_stream(s);
        if (r < 0) {
            net_socket_disconnect(s);
            return G_SOURCE_CONTINUE;
        }
        if (r == 0) {
            break;
        }
    }
    net_socket_update_watch(s);
    return G_SOURCE_CONTINUE;
}

static ssize_t net_socket_receive_iov(NetClientState *nc,
                                      const struct iovec *iov, int iovcnt)
{
    NetSocketState *s = nc->opaque;
    struct iovec *v = g_newa(struct iovec, iovcnt + 1);
    struct msghdr msg = { .msg_iov = v };
    uint8_t hdr[NET_FRAME_HDR_MAX];
    size_t len = 0;
    ssize_t n;

    for (int i = 0; i < iovcnt; i++) {
        v[i + !s->dgram] = iov[i];
        len += iov[i].iov_len;
    }
    if (s->fd < 0 || !len) {
        return len ? (ssize_t)len : -EINVAL;    /* nobody there / no frame */
    }
    if (s->out->len || s->write_poll) {
        return 0;
    }
    if (s->dgram) {
        msg.msg_iovlen = iovcnt;
        msg.msg_name = s->dst_len ? &s->dst : NULL;
        msg.msg_namelen = s->dst_len;
    } else {
        v[0].iov_base = hdr;
        v[0].iov_len = net_frame_encode_header(hdr, len, false, 0);
        msg.msg_iovlen = iovcnt + 1;
    }
    do {
        n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) {
        s->write_poll = true;
        net_socket_update_watch(s);
        return 0;
    }
    if (n < 0) {
        if (!s->dgram) {
            net_socket_disconnect(s);
        }
        return len;     /* a peer that went away loses the frame */
    }
    if (!s->dgram && (size_t)n < len + 4) {
        /* Keep the rest of this frame; later frames wait behind it. */
        size_t skip = n;

        for (int i = 0; i < iovcnt + 1; i++) {
            if (skip >= v[i].iov_len) {
                skip -= v[i].iov_len;
                continue;
            }
            g_byte_array_append(s->out, (uint8_t *)v[i].iov_base + skip,
                                v[i].iov_len - skip);
            skip = 0;
        }
        s->write_poll = true;
        net_socket_update_watch(s);
    }
    return len;
}

static void net_socket_cleanup(NetClientState *nc)
{
    NetSocketState *s = nc->opaque;

    s->read_enabled = s->write_poll = false;
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    net_socket_update_watch(s);
    if (s->listen_watch) {
        g_source_destroy(s->listen_watch);
        g_source_unref(s->listen_watch);
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        socket_unlink_unix(s->listen_addr);
    }
    qapi_free_SocketAddress(s->listen_addr);
    g_byte_array_unref(s->out);
    net_frame_decoder_destroy(&s->rx);
    g_free(s->addr_str);
    g_free(s);
}

static const NetClientInfo net_socket_infos[] = {
    { .kind = NET_CLIENT_KIND_SOCKET, .receive_iov = net_socket_receive_iov,
      .cleanup = net_socket_cleanup },
    { .kind = NET_CLIENT_KIND_STREAM, .receive_iov = net_socket_receive_iov,
      .cleanup = net_socket_cleanup },
    { .kind = NET_CLIENT_KIND_DGRAM, .receive_iov = net_socket_receive_iov,
      .cleanup = net_socket_cleanup },
};

static void net_socket_connected(NetSocketState *s, int fd, const char *fmt)
{
    g_autoptr(SocketAddress) peer = socket_peer_address(fd, NULL);
    g_autofree char *who = peer ? socket_address_to_string(peer)
                                : g_strdup(s->addr_str);

    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    s->fd = fd;
    s->read_enabled = true;
    net_socket_set_info(s, fmt, who);
    net_socket_update_watch(s);
}

static gboolean net_socket_accept(gint lfd, GIOCondition cond,
                                  gpointer opaque)
{
    NetSocketState *s = opaque;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0) {
        return G_SOURCE_CONTINUE;
    }
    /* One connection at a time: stop listening until it goes. */
    g_source_unref(s->listen_watch);
    s->listen_watch = NULL;
    net_socket_connected(s, fd, "connection from %s");
    return G_SOURCE_REMOVE;
}

static void net_socket_listen_again(NetSocketState *s)
{
    net_socket_set_info(s, "listening on %s", s->addr_str);
    s->listen_watch = g_unix_fd_source_new(s->listen_fd, G_IO_IN);
    g_source_set_callback(s->listen_watch, G_SOURCE_FUNC(net_socket_accept),
                          s, NULL);
    g_source_attach(s->listen_watch, NULL);
}

static NetSocketState *net_socket_new(NetClientKind kind, const char *id,
                                      const char *model, Error **errp)
{
    NetSocketState *s = g_new0(NetSocketState, 1);

    s->fd = s->listen_fd = -1;
    s->out = g_byte_array_new();
    s->dgram = kind == NET_CLIENT_KIND_DGRAM;
    net_frame_decoder_init(&s->rx, false, NET_MAX_FRAME);
    s->nc = net_client_new(&net_socket_infos[kind - NET_CLIENT_KIND_SOCKET],
                           NULL, model, id, s, errp);
    if (!s->nc) {
        g_byte_array_unref(s->out);
        net_frame_decoder_destroy(&s->rx);
        g_free(s);
        return NULL;
    }
    return s;
}

/* Creates a stream netdev on addr (listening or connecting). */
static NetClientState *net_stream_start(NetClientKind kind, const char *id,
                                        const SocketAddress *addr,
                                        bool server, Error **errp)
{
    NetSocketState *s;
    int fd;

    if (server) {
        fd = socket_listen(addr, 1, errp);
    } else if (addr->type == SOCKET_ADDRESS_TYPE_FD) {
        fd = -1;
        socket_address_fd(addr, &fd, errp);
    } else {
        fd = socket_connect(addr, 0, NULL, errp);
    }
    if (fd < 0) {
        return NULL;
    }
    s = net_socket_new(kind, id, net_client_kind_str(kind), errp);
    if (!s) {
        close(fd);
        if (server) {
            socket_unlink_unix(addr);
        }
        return NULL;
    }
    s->addr_str = socket_address_to_string(addr);
    if (server) {
        g_autoptr(SocketAddress) bound = socket_local_address(fd, NULL);

        if (bound && bound->type == SOCKET_ADDRESS_TYPE_INET) {
            g_free(s->addr_str);
            s->addr_str = socket_address_to_string(bound);
        }
        s->listen_fd = fd;
        s->listen_addr = socket_address_dup(addr);
        net_socket_listen_again(s);
    } else {
        net_socket_connected(s, fd, "connected to %s");
    }
    return s->nc;
}

/* A datagram netdev on fd sending to dst (dst_len 0: fd is connected). */
static NetClientState *net_dgram_start(NetClientKind kind, const char *id,
                                       int fd,
                                       const struct sockaddr_storage *dst,
                                       socklen_t dst_len, const char *desc,
                                       Error **errp)
{
    NetSocketState *s = net_socket_new(kind, id, net_client_kind_str(kind),
                                       errp);

    if (!s) {
        close(fd);
        return NULL;
    }
    if (dst_len) {
        s->dst = *dst;
        s->dst_len = dst_len;
    }
    s->addr_str = g_strdup(desc);
    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    s->fd = fd;
    s->read_enabled = true;
    net_socket_set_info(s, "%s", desc);
    net_socket_update_watch(s);
    return s->nc;
}

static int net_dgram_socket(const struct sockaddr_storage *local,
                            socklen_t len, const char *what, Error **errp)
{
    int fd = socket(local->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int on = 1;

    if (fd < 0) {
        error_setg_errno(errp, errno, "can't create datagram socket");
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, (const struct sockaddr *)local, len) < 0) {
        error_setg_errno(errp, errno, "can't bind to %s", what);
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- option parsing ---- */

/*
 * PREFIX.type=inet|unix|fd and its members as a SocketAddress, or NULL
 * (errp unset) when PREFIX.type is absent.
 */
static SocketAddress *net_opts_address(const KeyvalList *opts,
                                       const char *prefix, Error **errp)
{
    g_autoptr(SocketAddress) addr = g_new0(SocketAddress, 1);
    g_autofree char *k_type = g_strdup_printf("%s.type", prefix);
    const char *type = keyval_get(opts, k_type);
    g_autofree char *k_host = g_strdup_printf("%s.host", prefix);
    g_autofree char *k_port = g_strdup_printf("%s.port", prefix);
    g_autofree char *k_path = g_strdup_printf("%s.path", prefix);
    g_autofree char *k_str = g_strdup_printf("%s.str", prefix);
    g_autofree char *k_v4 = g_strdup_printf("%s.ipv4", prefix);
    g_autofree char *k_v6 = g_strdup_printf("%s.ipv6", prefix);

    if (!type) {
        return NULL;
    }
    if (!strcmp(type, "inet")) {
        InetSocketAddress *inet = &addr->u.inet;
        const char *host = keyval_get(opts, k_host);
        const char *port = keyval_get(opts, k_port);

        addr->type = SOCKET_ADDRESS_TYPE_INET;
        if (!host || !port) {
            error_setg(errp, "Parameter '%s' is missing",
                       host ? k_port : k_host);
            return NULL;
        }
        inet->host = g_strdup(host);
        inet->port = g_strdup(port);
        inet->has_ipv4 = keyval_get(opts, k_v4) != NULL;
        inet->has_ipv6 = keyval_get(opts, k_v6) != NULL;
        if (!keyval_get_bool(opts, k_v4, false, &inet->ipv4, errp) ||
            !keyval_get_bool(opts, k_v6, false, &inet->ipv6, errp)) {
            return NULL;
        }
    } else if (!strcmp(type, "unix")) {
        const char *path = keyval_get(opts, k_path);

        addr->type = SOCKET_ADDRESS_TYPE_UNIX;
        if (!path) {
            error_setg(errp, "Parameter '%s' is missing", k_path);
            return NULL;
        }
        addr->u.q_unix.path = g_strdup(path);
    } else if (!strcmp(type, "fd")) {
        const char *str = keyval_get(opts, k_str);

        addr->type = SOCKET_ADDRESS_TYPE_FD;
        if (!str) {
            error_setg(errp, "Parameter '%s' is missing", k_str);
            return NULL;
        }
        addr->u.fd.str = g_strdup(str);
    } else {
        error_setg(errp, "Parameter '%s' does not accept value '%s'", k_type,
                   type);
        return NULL;
    }
    if (!socket_address_check(addr, errp)) {
        return NULL;
    }
    return g_steal_pointer(&addr);
}

NetClientState *net_init_stream(const KeyvalList *opts, const char *id,
                                Error **errp)
{
    ERRP_GUARD();
    static const char *const known[] = {
        "addr.type", "addr.host", "addr.port", "addr.path", "addr.str",
        "addr.ipv4", "addr.ipv6", "addr.numeric", "addr.to", "server", NULL
    };
    g_autoptr(SocketAddress) addr = NULL;
    bool server;

    if (!net_opts_check(opts, known, errp) ||
        !keyval_get_bool(opts, "server", false, &server, errp)) {
        return NULL;
    }
    addr = net_opts_address(opts, "addr", errp);
    if (!addr) {
        if (!*errp) {
            error_setg(errp, "Parameter 'addr.type' is missing");
        }
        return NULL;
    }
    if (server && addr->type == SOCKET_ADDRESS_TYPE_FD) {
        error_setg(errp, "server=on takes an inet or unix address, not fd");
        return NULL;
    }
    return net_stream_start(NET_CLIENT_KIND_STREAM, id, addr, server, errp);
}

NetClientState *net_init_dgram(const KeyvalList *opts, const char *id,
                               Error **errp)
{
    ERRP_GUARD();
    static const char *const known[] = {
        "local.type", "local.host", "local.port", "local.path", "local.str",
        "local.ipv4", "local.ipv6", "local.numeric",
        "remote.type", "remote.host", "remote.port", "remote.path",
        "remote.ipv4", "remote.ipv6", "remote.numeric", NULL
    };
    g_autoptr(SocketAddress) local = NULL;
    g_autoptr(SocketAddress) remote = NULL;
    struct sockaddr_storage lss, rss;
    socklen_t llen, rlen;
    g_autofree char *desc = NULL;
    g_autofree char *lstr = NULL;
    g_autofree char *rstr = NULL;
    int fd;

    if (!net_opts_check(opts, known, errp)) {
        return NULL;
    }
    local = net_opts_address(opts, "local", errp);
    if (*errp) {
        return NULL;
    }
    remote = net_opts_address(opts, "remote", errp);
    if (*errp) {
        return NULL;
    }
    if (!local || !remote) {
        error_setg(errp, "dgram needs both local.* and remote.* addresses");
        return NULL;
    }
    if (local->type == SOCKET_ADDRESS_TYPE_FD ||
        remote->type == SOCKET_ADDRESS_TYPE_FD) {
        error_setg(errp, "dgram takes inet or unix addresses, not fd");
        return NULL;
    }
    if (local->type != remote->type) {
        error_setg(errp, "dgram's local and remote addresses must be of the "
                   "same type");
        return NULL;
    }
    if (!socket_address_to_sockaddr(local, true, &lss, &llen, errp) ||
        !socket_address_to_sockaddr(remote, false, &rss, &rlen, errp)) {
        return NULL;
    }
    lstr = socket_address_to_string(local);
    rstr = socket_address_to_string(remote);
    fd = net_dgram_socket(&lss, llen, lstr, errp);
    if (fd < 0) {
        return NULL;
    }
    desc = g_strdup_printf("udp=%s/%s", lstr, rstr);
    return net_dgram_start(NET_CLIENT_KIND_DGRAM, id, fd, &rss, rlen, desc,
                           errp);
}

/* -netdev socket,mcast=GROUP:PORT[,localaddr=ADDR] */
static NetClientState *net_socket_mcast(const char *id, const char *group,
                                        const char *localaddr, Error **errp)
{
    g_autoptr(SocketAddress) addr = socket_parse(group, errp);
    struct sockaddr_storage ss;
    struct sockaddr_in any = { .sin_family = AF_INET };
    struct ip_mreq mreq = { 0 };
    g_autofree char *desc = NULL;
    socklen_t len;
    unsigned char loop = 1;
    int fd;

    if (!addr || !socket_address_to_sockaddr(addr, false, &ss, &len, errp)) {
        return NULL;
    }
    if (ss.ss_family != AF_INET ||
        !IN_MULTICAST(ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr))) {
        error_setg(errp, "mcast=%s is not an IPv4 multicast address", group);
        return NULL;
    }
    any.sin_port = ((struct sockaddr_in *)&ss)->sin_port;
    fd = net_dgram_socket((struct sockaddr_storage *)&any, sizeof(any), group,
                          errp);
    if (fd < 0) {
        return NULL;
    }
    mreq.imr_multiaddr = ((struct sockaddr_in *)&ss)->sin_addr;
    if (localaddr && !inet_aton(localaddr, &mreq.imr_interface)) {
        error_setg(errp, "localaddr=%s is not an IPv4 address", localaddr);
        close(fd);
        return NULL;
    }
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq,
                   sizeof(mreq)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop,
                   sizeof(loop)) < 0 ||
        (localaddr && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF,
                                 &mreq.imr_interface,
                                 sizeof(mreq.imr_interface)) < 0)) {
        error_setg_errno(errp, errno, "can't join multicast group %s", group);
        close(fd);
        return NULL;
    }
    desc = g_strdup_printf("mcast=%s", group);
    return net_dgram_start(NET_CLIENT_KIND_SOCKET, id, fd, &ss, len, desc,
                           errp);
}

/* -netdev socket,udp=REMOTE,localaddr=LOCAL */
static NetClientState *net_socket_udp(const char *id, const char *remote,
                                      const char *localaddr, Error **errp)
{
    g_autoptr(SocketAddress) r = socket_parse(remote, errp);
    g_autoptr(SocketAddress) l = NULL;
    struct sockaddr_storage lss, rss;
    socklen_t llen, rlen;
    g_autofree char *desc = NULL;
    int fd;

    if (!r) {
        return NULL;
    }
    if (!localaddr) {
        error_setg(errp, "localaddr= is mandatory with udp=");
        return NULL;
    }
    l = socket_parse(localaddr, errp);
    if (!l || !socket_address_to_sockaddr(l, true, &lss, &llen, errp) ||
        !socket_address_to_sockaddr(r, false, &rss, &rlen, errp)) {
        return NULL;
    }
    fd = net_dgram_socket(&lss, llen, localaddr, errp);
    if (fd < 0) {
        return NULL;
    }
    desc = g_strdup_printf("udp=%s:%s", localaddr, remote);
    return net_dgram_start(NET_CLIENT_KIND_SOCKET, id, fd, &rss, rlen, desc,
                           errp);
}

/* -netdev socket,fd=N: a stream or a datagram socket, by its type. */
static NetClientState *net_socket_fd(const char *id, const char *str,
                                     Error **errp)
{
    g_autoptr(SocketAddress) addr = g_new0(SocketAddress, 1);
    socklen_t optlen = sizeof(int);
    int fd, type;

    addr->type = SOCKET_ADDRESS_TYPE_FD;
    addr->u.fd.str = g_strdup(str);
    if (!socket_address_fd(addr, &fd, errp)) {
        return NULL;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) < 0) {
        error_setg_errno(errp, errno, "fd=%s is not a socket", str);
        return NULL;
    }
    if (type == SOCK_DGRAM) {
        g_autofree char *desc = g_strdup_printf("fd=%d", fd);

        return net_dgram_start(NET_CLIENT_KIND_SOCKET, id, fd, NULL, 0, desc,
                               errp);
    }
    return net_stream_start(NET_CLIENT_KIND_SOCKET, id, addr, false, errp);
}

NetClientState *net_init_socket(const KeyvalList *opts, const char *id,
                                Error **errp)
{
    static const char *const known[] = {
        "fd", "listen", "connect", "mcast", "udp", "localaddr", NULL
    };
    static const char *const modes[] = {
        "fd", "listen", "connect", "mcast", "udp"
    };
    const char *mode = NULL;
    const char *value = NULL;
    const char *localaddr = keyval_get(opts, "localaddr");
    g_autoptr(SocketAddress) addr = NULL;

    if (!net_opts_check(opts, known, errp)) {
        return NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        if (keyval_get(opts, modes[i])) {
            if (mode) {
                error_setg(errp, "exactly one of listen=, connect=, mcast= "
                           "or udp= is required");
                return NULL;
            }
            mode = modes[i];
            value = keyval_get(opts, mode);
        }
    }
    if (!mode) {
        error_setg(errp, "exactly one of listen=, connect=, mcast= or udp= "
                   "is required");
        return NULL;
    }
    if (localaddr && strcmp(mode, "mcast") && strcmp(mode, "udp")) {
        error_setg(errp, "localaddr= is only valid with mcast= or udp=");
        return NULL;
    }
    if (!strcmp(mode, "fd")) {
        return net_socket_fd(id, value, errp);
    }
    if (!strcmp(mode, "mcast")) {
        return net_socket_mcast(id, value, localaddr, errp);
    }
    if (!strcmp(mode, "udp")) {
        return net_socket_udp(id, value, localaddr, errp);
    }
    addr = socket_parse(value, errp);
    if (!addr) {
        return NULL;
    }
    if (addr->type != SOCKET_ADDRESS_TYPE_INET) {
        error_setg(errp, "%s=%s: expected HOST:PORT", mode, value);
        return NULL;
    }
    return net_stream_start(NET_CLIENT_KIND_SOCKET, id, addr,
                            !strcmp(mode, "listen"), errp);
}
