/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -netdev user: a user-mode network stack (libslirp) behind the NIC, so
 * a guest reaches the host's network with no privileges and no setup.
 *
 *   -netdev user,id=ID[,net=ADDR[/MASK]][,host=ADDR][,dhcpstart=ADDR]
 *               [,dns=ADDR][,restrict=on|off][,ipv4=on|off][,ipv6=on|off]
 *               [,hostname=N][,domainname=D][,tftp=DIR][,bootfile=F]
 *               [,hostfwd=[tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT]...
 *               [,guestfwd=[tcp]:SERVER:PORT-CHARDEV]...
 *
 * Defaults as QEMU's: net 10.0.2.0/24, host (gateway) .2, DNS .3, DHCP
 * from .15. hostfwd may be repeated; hostfwd_add/hostfwd_remove change
 * them at run time.
 *
 * Main loop: libslirp asks, once per loop iteration, which of its sockets
 * to poll (slirp_pollfds_fill) and then handles what is ready
 * (slirp_pollfds_poll). A GSource of our own does exactly that in its
 * prepare/check/dispatch, so slirp's sockets are polled by the same
 * g_poll as everything else; its timers are GLib timeouts.
 *
 * Frames from slirp to the NIC that cannot be taken now wait in the
 * NIC's queue like any backend's; slirp retransmits at TCP level.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <slirp/libslirp.h>
#include "chardev/char.h"
#include "net/clients.h"
#include "net/netdev.h"
#include "trace.h"

typedef struct SlirpSource {
    GSource source;
    struct SlirpState *s;
    GArray *pollfds;            /* GPollFD, as added to the source */
} SlirpSource;

typedef struct SlirpState {
    NetClientState *nc;
    Slirp *slirp;
    SlirpSource *src;
    struct in_addr vnet, vhost;
    GPtrArray *guestfwds;       /* SlirpGuestFwd */
} SlirpState;

/*
 * guestfwd=[tcp]:SERVER:PORT-DEV: the guest's connections to SERVER:PORT
 * are carried to a chardev made from DEV (tcp:HOST:PORT, unix:PATH, ...,
 * QEMU's legacy spellings); what the chardev receives goes back to the
 * guest. The bytes are the guest's output, so they pass the chardev
 * layer's hold stage like a serial port's.
 */
typedef struct SlirpGuestFwd {
    SlirpState *s;
    Chardev *chr;
    struct in_addr server;
    int port;
} SlirpGuestFwd;

typedef struct SlirpTimer {
    SlirpTimerCb cb;
    void *cb_opaque;
    GSource *source;
} SlirpTimer;

/* ---- libslirp's callbacks ---- */

static ssize_t slirp_send_packet(const void *buf, size_t len, void *opaque)
{
    SlirpState *s = opaque;

    /* Delivered, queued at the NIC or dropped: slirp is done with it. */
    net_send(s->nc, buf, len);
    return len;
}

static void slirp_guest_error(const char *msg, void *opaque)
{
    SlirpState *s = opaque;

    trace_net_slirp_guest_error(s->nc->name, msg);
}

static int64_t slirp_clock_ns(void *opaque)
{
    return g_get_monotonic_time() * 1000;
}

static void *slirp_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    SlirpTimer *t = g_new0(SlirpTimer, 1);

    t->cb = cb;
    t->cb_opaque = cb_opaque;
    return t;
}

static void slirp_timer_cancel(SlirpTimer *t)
{
    if (t->source) {
        g_source_destroy(t->source);
        g_source_unref(t->source);
        t->source = NULL;
    }
}

static void slirp_timer_free(void *timer, void *opaque)
{
    slirp_timer_cancel(timer);
    g_free(timer);
}

static gboolean slirp_timer_fire(gpointer opaque)
{
    SlirpTimer *t = opaque;

    g_source_unref(t->source);
    t->source = NULL;
    t->cb(t->cb_opaque);
    return G_SOURCE_REMOVE;
}

/* expire_ms is on slirp_clock_ns's clock, in milliseconds. */
static void slirp_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    SlirpTimer *t = timer;
    int64_t now_ms = g_get_monotonic_time() / 1000;

    slirp_timer_cancel(t);
    t->source = g_timeout_source_new(MAX(expire_ms - now_ms, 0));
    g_source_set_callback(t->source, slirp_timer_fire, t, NULL);
    g_source_attach(t->source, NULL);
}

static void slirp_register_poll_fd(int fd, void *opaque)
{
}

static void slirp_unregister_poll_fd(int fd, void *opaque)
{
}

/*
 * A guestfwd chardev stops reading while slirp has no room for its bytes
 * (no guest connection yet, or a full window); whenever slirp may have
 * room again, it is asked again.
 */
static void slirp_kick_guestfwds(SlirpState *s)
{
    for (guint i = 0; s->guestfwds && i < s->guestfwds->len; i++) {
        SlirpGuestFwd *f = g_ptr_array_index(s->guestfwds, i);

        chardev_accept_input(f->chr);
    }
}

static void slirp_notify(void *opaque)
{
    slirp_kick_guestfwds(opaque);
    g_main_context_wakeup(NULL);
}

static const SlirpCb slirp_callbacks = {
    .send_packet = slirp_send_packet,
    .guest_error = slirp_guest_error,
    .clock_get_ns = slirp_clock_ns,
    .timer_new = slirp_timer_new,
    .timer_free = slirp_timer_free,
    .timer_mod = slirp_timer_mod,
    .register_poll_fd = slirp_register_poll_fd,
    .unregister_poll_fd = slirp_unregister_poll_fd,
    .notify = slirp_notify,
};

/* ---- slirp's sockets in the GLib loop ---- */

static int slirp_add_poll(int fd, int events, void *opaque)
{
    SlirpSource *src = opaque;
    GPollFD pfd = { .fd = fd };

    pfd.events = (events & SLIRP_POLL_IN ? G_IO_IN : 0) |
                 (events & SLIRP_POLL_OUT ? G_IO_OUT : 0) |
                 (events & SLIRP_POLL_PRI ? G_IO_PRI : 0) |
                 (events & SLIRP_POLL_ERR ? G_IO_ERR : 0) |
                 (events & SLIRP_POLL_HUP ? G_IO_HUP : 0);
    g_array_append_val(src->pollfds, pfd);
    return src->pollfds->len - 1;
}

static int slirp_get_revents(int idx, void *opaque)
{
    SlirpSource *src = opaque;
    int r = g_array_index(src->pollfds, GPollFD, idx).revents;

    return (r & G_IO_IN ? SLIRP_POLL_IN : 0) |
           (r & G_IO_OUT ? SLIRP_POLL_OUT : 0) |
           (r & G_IO_PRI ? SLIRP_POLL_PRI : 0) |
           (r & G_IO_ERR ? SLIRP_POLL_ERR : 0) |
           (r & G_IO_HUP ? SLIRP_POLL_HUP : 0);
}

static void slirp_source_clear(SlirpSource *src)
{
    for (guint i = 0; i < src->pollfds->len; i++) {
        g_source_remove_poll(&src->source,
                             &g_array_index(src->pollfds, GPollFD, i));
    }
    g_array_set_size(src->pollfds, 0);
}

static gboolean slirp_source_prepare(GSource *source, gint *timeout)
{
    SlirpSource *src = (SlirpSource *)source;
    uint32_t t = UINT32_MAX;

    slirp_source_clear(src);
    slirp_pollfds_fill(src->s->slirp, &t, slirp_add_poll, src);
    /* The array is final now: its elements' addresses stay put. */
    for (guint i = 0; i < src->pollfds->len; i++) {
        g_source_add_poll(source, &g_array_index(src->pollfds, GPollFD, i));
    }
    *timeout = t == UINT32_MAX ? -1 : (gint)MIN(t, (uint32_t)G_MAXINT);
    return FALSE;
}

static gboolean slirp_source_check(GSource *source)
{
    SlirpSource *src = (SlirpSource *)source;

    for (guint i = 0; i < src->pollfds->len; i++) {
        if (g_array_index(src->pollfds, GPollFD, i).revents) {
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean slirp_source_dispatch(GSource *source, GSourceFunc cb,
                                      gpointer data)
{
    SlirpSource *src = (SlirpSource *)source;

    slirp_pollfds_poll(src->s->slirp, 0, slirp_get_revents, src);
    slirp_kick_guestfwds(src->s);
    return G_SOURCE_CONTINUE;
}

static void slirp_source_finalize(GSource *source)
{
    g_array_free(((SlirpSource *)source)->pollfds, TRUE);
}

static GSourceFuncs slirp_source_funcs = {
    .prepare = slirp_source_prepare,
    .check = slirp_source_check,
    .dispatch = slirp_source_dispatch,
    .finalize = slirp_source_finalize,
};

/* ---- the netdev ---- */

static ssize_t slirp_receive_iov(NetClientState *nc, const struct iovec *iov,
                                 int iovcnt)
{
    SlirpState *s = nc->opaque;
    uint8_t *buf;
    size_t len = 0;

    for (int i = 0; i < iovcnt; i++) {
        len += iov[i].iov_len;
    }
    if (!len) {
        return -EINVAL;
    }
    buf = g_malloc(len);
    for (int i = 0, off = 0; i < iovcnt; off += iov[i++].iov_len) {
        memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
    }
    slirp_input(s->slirp, buf, len);
    g_free(buf);
    slirp_kick_guestfwds(s);
    return len;
}

static void slirp_guestfwd_free(SlirpGuestFwd *f)
{
    slirp_remove_guestfwd(f->s->slirp, f->server, f->port);
    chardev_detach_frontend(f->chr);
    chardev_close(f->chr);
    g_free(f);
}

static void slirp_cleanup_nc(NetClientState *nc)
{
    SlirpState *s = nc->opaque;

    while (s->guestfwds->len) {
        slirp_guestfwd_free(g_ptr_array_steal_index(s->guestfwds,
                                                    s->guestfwds->len - 1));
    }
    g_ptr_array_free(s->guestfwds, TRUE);

    g_source_destroy(&s->src->source);
    g_source_unref(&s->src->source);
    slirp_cleanup(s->slirp);
    g_free(s);
}

static const NetClientInfo slirp_info = {
    .kind = NET_CLIENT_KIND_USER,
    .receive_iov = slirp_receive_iov,
    .cleanup = slirp_cleanup_nc,
};

/* "[tcp|udp]:[HADDR]:HPORT" then, for add, "-[GADDR]:GPORT". */
static bool slirp_parse_hostfwd(const char *spec, bool with_guest,
                                bool *udp, struct in_addr *haddr, int *hport,
                                struct in_addr *gaddr, int *gport,
                                Error **errp)
{
    g_auto(GStrv) parts = NULL;
    g_autofree char *copy = g_strdup(spec);
    char *p = copy, *host, *guest = NULL;
    uint64_t n;

    *udp = false;
    if (g_str_has_prefix(p, "tcp:")) {
        p += 4;
    } else if (g_str_has_prefix(p, "udp:")) {
        *udp = true;
        p += 4;
    } else if (*p == ':') {
        p++;
    }
    if (with_guest) {
        guest = strchr(p, '-');
        if (!guest) {
            goto bad;
        }
        *guest++ = '\0';
    }
    host = p;
    parts = g_strsplit(host, ":", 2);
    if (!parts[0] || !parts[1]) {
        goto bad;
    }
    haddr->s_addr = INADDR_ANY;
    if (*parts[0] && !inet_aton(parts[0], haddr)) {
        goto bad;
    }
    if (!parse_uint(parts[1], &n, NULL) || n > 65535) {
        goto bad;
    }
    *hport = n;
    if (with_guest) {
        g_auto(GStrv) g = g_strsplit(guest, ":", 2);

        if (!g[0] || !g[1]) {
            goto bad;
        }
        gaddr->s_addr = 0;
        if (*g[0] && !inet_aton(g[0], gaddr)) {
            goto bad;
        }
        if (!parse_uint(g[1], &n, NULL) || n < 1 || n > 65535) {
            goto bad;
        }
        *gport = n;
    }
    return true;

bad:
    error_setg(errp, "Invalid host forwarding rule '%s'", spec);
    return false;
}

static bool slirp_hostfwd(SlirpState *s, const char *spec, Error **errp)
{
    struct in_addr haddr, gaddr;
    int hport, gport;
    bool udp;

    if (!slirp_parse_hostfwd(spec, true, &udp, &haddr, &hport, &gaddr,
                             &gport, errp)) {
        return false;
    }
    if (slirp_add_hostfwd(s->slirp, udp, haddr, hport, gaddr, gport) < 0) {
        error_setg(errp, "Could not set up host forwarding rule '%s'", spec);
        return false;
    }
    return true;
}

static ssize_t slirp_guestfwd_write(const void *buf, size_t len, void *opaque)
{
    SlirpGuestFwd *f = opaque;

    return chardev_frontend_write(f->chr, f, buf, len);
}

static size_t slirp_guestfwd_can_receive(void *opaque)
{
    SlirpGuestFwd *f = opaque;

    return slirp_socket_can_recv(f->s->slirp, f->server, f->port);
}

static void slirp_guestfwd_receive(void *opaque, const uint8_t *buf,
                                   size_t len)
{
    SlirpGuestFwd *f = opaque;

    slirp_socket_recv(f->s->slirp, f->server, f->port, buf, len);
}

static bool slirp_guestfwd(SlirpState *s, int index, const char *spec,
                           Error **errp)
{
    g_autofree char *copy = g_strdup(spec);
    g_autofree char *chr_id = NULL;
    char *p = copy, *dev, *colon;
    SlirpGuestFwd *f;
    uint64_t port;
    ChardevFrontend fe = {
        .can_receive = slirp_guestfwd_can_receive,
        .receive = slirp_guestfwd_receive,
        .guest_output = true,
    };

    if (g_str_has_prefix(p, "tcp:")) {
        p += 4;
    } else if (*p == ':') {
        p++;
    }
    dev = strchr(p, '-');
    colon = strchr(p, ':');
    if (!dev || !colon || colon > dev) {
        error_setg(errp, "Invalid guest forwarding rule '%s'", spec);
        return false;
    }
    *dev++ = '\0';
    *colon = '\0';
    f = g_new0(SlirpGuestFwd, 1);
    f->s = s;
    if (!inet_aton(p, &f->server) || !parse_uint(colon + 1, &port, NULL) ||
        port < 1 || port > 65535) {
        error_setg(errp, "Invalid guest forwarding rule '%s'", spec);
        g_free(f);
        return false;
    }
    f->port = port;
    if (g_str_has_prefix(dev, "cmd:")) {
        error_setg(errp, "guestfwd=%s: cmd: is not supported, forward to a "
                   "chardev (tcp:HOST:PORT, unix:PATH, ...)", spec);
        g_free(f);
        return false;
    }
    chr_id = g_strdup_printf("%s-guestfwd%d", s->nc->name, index);
    f->chr = chardev_new_legacy(chr_id, dev, errp);
    if (!f->chr) {
        error_prepend(errp, "guestfwd=%s: ", spec);
        g_free(f);
        return false;
    }
    fe.opaque = f;
    fe.name = chr_id;
    if (!chardev_attach_frontend(f->chr, &fe, errp)) {
        chardev_close(f->chr);
        g_free(f);
        return false;
    }
    if (slirp_add_guestfwd(s->slirp, slirp_guestfwd_write, f, &f->server,
                           f->port) < 0) {
        error_setg(errp, "Conflicting/invalid host:port in guest forwarding "
                   "rule '%s'", spec);
        chardev_detach_frontend(f->chr);
        chardev_close(f->chr);
        g_free(f);
        return false;
    }
    g_ptr_array_add(s->guestfwds, f);
    return true;
}

static bool slirp_get_addr(const KeyvalList *opts, const char *key,
                           struct in_addr *out, Error **errp)
{
    const char *v = keyval_get(opts, key);

    if (v && !inet_aton(v, out)) {
        error_setg(errp, "Parameter '%s' expects an IPv4 address", key);
        return false;
    }
    return true;
}

/* net=ADDR[/BITS|/MASK]. */
static bool slirp_get_net(const KeyvalList *opts, struct in_addr *net,
                          struct in_addr *mask, Error **errp)
{
    const char *v = keyval_get(opts, "net");
    g_auto(GStrv) parts = NULL;
    uint64_t bits;

    if (!v) {
        return true;
    }
    parts = g_strsplit(v, "/", 2);
    if (!inet_aton(parts[0], net)) {
        goto bad;
    }
    if (parts[1]) {
        if (parse_uint(parts[1], &bits, NULL)) {
            if (bits < 1 || bits > 32) {
                goto bad;
            }
            mask->s_addr = htonl(0xffffffffu << (32 - bits));
        } else if (!inet_aton(parts[1], mask)) {
            goto bad;
        }
    }
    net->s_addr &= mask->s_addr;
    return true;

bad:
    error_setg(errp, "Parameter 'net' expects ADDR[/MASK], not '%s'", v);
    return false;
}

NetClientState *net_init_slirp(const KeyvalList *opts, const char *id,
                               Error **errp)
{
    static const char *const known[] = {
        "net", "host", "dhcpstart", "dns", "restrict", "ipv4", "ipv6",
        "hostname", "domainname", "tftp", "bootfile", "hostfwd", "guestfwd",
        "ipv6-prefix", "ipv6-prefixlen", "ipv6-host", "ipv6-dns", NULL
    };
    SlirpConfig cfg = { .version = 4 };
    struct in_addr mask = { htonl(0xffffff00) };
    g_autofree SlirpState *s = g_new0(SlirpState, 1);
    const char *prefix6 = keyval_get(opts, "ipv6-prefix");
    NetClientState *nc;
    bool restrict_, v4, v6;
    uint64_t plen;
    char key[32];

    if (!net_opts_check(opts, known, errp) ||
        !keyval_get_bool(opts, "restrict", false, &restrict_, errp) ||
        !keyval_get_bool(opts, "ipv4", true, &v4, errp) ||
        !keyval_get_bool(opts, "ipv6", true, &v6, errp) ||
        !keyval_get_u64(opts, "ipv6-prefixlen", 64, &plen, errp)) {
        return NULL;
    }
    if (!v4 && !v6) {
        error_setg(errp, "IPv4 and IPv6 disabled simultaneously");
        return NULL;
    }
    if (plen > 126) {
        error_setg(errp, "Invalid IPv6 prefix length %" G_GUINT64_FORMAT,
                   plen);
        return NULL;
    }
    inet_aton("10.0.2.0", &cfg.vnetwork);
    if (!slirp_get_net(opts, &cfg.vnetwork, &mask, errp)) {
        return NULL;
    }
    cfg.vnetmask = mask;
    cfg.vhost.s_addr = cfg.vnetwork.s_addr | htonl(2);
    cfg.vnameserver.s_addr = cfg.vnetwork.s_addr | htonl(3);
    cfg.vdhcp_start.s_addr = cfg.vnetwork.s_addr | htonl(15);
    if (!slirp_get_addr(opts, "host", &cfg.vhost, errp) ||
        !slirp_get_addr(opts, "dns", &cfg.vnameserver, errp) ||
        !slirp_get_addr(opts, "dhcpstart", &cfg.vdhcp_start, errp)) {
        return NULL;
    }
    if ((cfg.vhost.s_addr & mask.s_addr) != cfg.vnetwork.s_addr) {
        error_setg(errp, "host address is not in the guest network");
        return NULL;
    }
    if ((cfg.vdhcp_start.s_addr & mask.s_addr) != cfg.vnetwork.s_addr) {
        error_setg(errp, "DHCP start address is not in the guest network");
        return NULL;
    }
    inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
    if (prefix6 && inet_pton(AF_INET6, prefix6, &cfg.vprefix_addr6) != 1) {
        error_setg(errp, "Parameter 'ipv6-prefix' expects an IPv6 address");
        return NULL;
    }
    cfg.vprefix_len = plen;
    cfg.vhost6 = cfg.vprefix_addr6;
    cfg.vhost6.s6_addr[15] |= 2;
    cfg.vnameserver6 = cfg.vprefix_addr6;
    cfg.vnameserver6.s6_addr[15] |= 3;
    if ((keyval_get(opts, "ipv6-host") &&
         inet_pton(AF_INET6, keyval_get(opts, "ipv6-host"),
                   &cfg.vhost6) != 1) ||
        (keyval_get(opts, "ipv6-dns") &&
         inet_pton(AF_INET6, keyval_get(opts, "ipv6-dns"),
                   &cfg.vnameserver6) != 1)) {
        error_setg(errp, "ipv6-host and ipv6-dns expect IPv6 addresses");
        return NULL;
    }
    cfg.restricted = restrict_;
    cfg.in_enabled = v4;
    cfg.in6_enabled = v6;
    cfg.vhostname = keyval_get(opts, "hostname");
    cfg.vdomainname = keyval_get(opts, "domainname");
    cfg.tftp_path = keyval_get(opts, "tftp");
    cfg.bootfile = keyval_get(opts, "bootfile");

    s->nc = net_client_new(&slirp_info, NULL, "user", id, s, errp);
    if (!s->nc) {
        return NULL;
    }
    s->guestfwds = g_ptr_array_new();
    s->slirp = slirp_new(&cfg, &slirp_callbacks, s);
    s->src = (SlirpSource *)g_source_new(&slirp_source_funcs,
                                         sizeof(SlirpSource));
    s->src->s = s;
    s->src->pollfds = g_array_new(FALSE, FALSE, sizeof(GPollFD));
    g_source_attach(&s->src->source, NULL);
    s->vnet = cfg.vnetwork;
    s->nc->info_str = g_strdup_printf("net=%s,restrict=%s",
                                      inet_ntoa(cfg.vnetwork),
                                      restrict_ ? "on" : "off");
    nc = s->nc;
    g_steal_pointer(&s);    /* nc owns it now: freed by its cleanup */
    for (int i = 0;; i++) {
        const char *rule;

        snprintf(key, sizeof(key), "hostfwd.%d", i);
        rule = keyval_get(opts, key);
        if (!rule) {
            break;
        }
        if (!slirp_hostfwd(nc->opaque, rule, errp)) {
            net_client_free(nc);
            return NULL;
        }
    }
    for (int i = 0;; i++) {
        const char *rule;

        snprintf(key, sizeof(key), "guestfwd.%d", i);
        rule = keyval_get(opts, key);
        if (!rule) {
            break;
        }
        if (!slirp_guestfwd(nc->opaque, i, rule, errp)) {
            net_client_free(nc);
            return NULL;
        }
    }
    return nc;
}

static void slirp_pick_first(NetClientState *c, void *opaque)
{
    NetClientState **first = opaque;

    if (!*first && c->info == &slirp_info) {
        *first = c;
    }
}

static void slirp_append_usernet(NetClientState *c, void *opaque)
{
    SlirpState *s = c->opaque;
    g_autofree char *table = NULL;

    if (c->info != &slirp_info) {
        return;
    }
    table = slirp_connection_info(s->slirp);
    /* QEMU's heading: the hub its peer port is on (-1 without one). */
    g_string_append_printf(opaque, "Hub %d (%s):\n",
                           c->peer ? net_hub_id_of(c->peer) : -1, c->name);
    g_string_append(opaque, table);
}

char *net_slirp_info_usernet(void)
{
    GString *out = g_string_new(NULL);

    net_foreach_netdev(slirp_append_usernet, out);
    return g_string_free(out, FALSE);
}

/* The user netdev named netdev, or (NULL) the first one, as QEMU's
 * hostfwd_add picks it. */
static SlirpState *slirp_find(const char *netdev, Error **errp)
{
    NetClientState *nc = NULL;

    if (netdev) {
        nc = net_find_netdev(netdev);
    } else {
        net_foreach_netdev(slirp_pick_first, &nc);
    }
    if (!nc || nc->info != &slirp_info) {
        error_setg(errp, netdev ? "unknown user netdev '%s'"
                                : "no user netdev%s", netdev ? netdev : "");
        return NULL;
    }
    return nc->opaque;
}

bool net_slirp_hostfwd_add(const char *netdev, const char *spec,
                           Error **errp)
{
    SlirpState *s = slirp_find(netdev, errp);

    return s && slirp_hostfwd(s, spec, errp);
}

bool net_slirp_hostfwd_remove(const char *netdev, const char *spec,
                              Error **errp)
{
    SlirpState *s = slirp_find(netdev, errp);
    struct in_addr haddr;
    int hport;
    bool udp;

    if (!s || !slirp_parse_hostfwd(spec, false, &udp, &haddr, &hport, NULL,
                                   NULL, errp)) {
        return false;
    }
    if (slirp_remove_hostfwd(s->slirp, udp, haddr, hport) < 0) {
        error_setg(errp, "host forwarding rule for %s not found", spec);
        return false;
    }
    return true;
}
