/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -netdev tap: a Linux tap device (/dev/net/tun) as the backend.
 *
 *   -netdev tap,id=ID[,ifname=NAME][,fd=N|fds=N][,script=no,downscript=no]
 *              [,vnet_hdr=on|off][,vhost=off][,queues=1]
 *
 * The tap is opened with IFF_TAP|IFF_NO_PI and, when the kernel has it
 * and vnet_hdr is not off, IFF_VNET_HDR: every frame then carries a
 * virtio-net header on the fd, which is how checksum and TSO offloads
 * pass between the guest's virtio-net and the host. The kernel's header
 * length ("host" below) and the one frames carry on our link
 * (nc->vnet_hdr_len, negotiated by the NIC) may differ only in one way:
 * a NIC that wants no header gets frames with the host's header
 * stripped, and a zero header is added to what it sends.
 *
 * Flow control, both ways:
 *  - tap -> NIC: a main-loop watch reads frames and sends them; when the
 *    NIC's queue holds one (net_send_iov returned 0) reading stops until
 *    the frame's sent callback runs, so the kernel's queue, not ours,
 *    absorbs a guest that posts no buffers.
 *  - NIC -> tap: a write the kernel refuses with EAGAIN returns 0 (the
 *    frame waits in our incoming queue); a writability watch then flushes
 *    the queue.
 *
 * script= and downscript= other than "no" are refused: Tandem runs no
 * helper scripts (configure the interface yourself, or pass fd=). vhost=on
 * is refused: the backend is userspace only.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>
#include <glib-unix.h>
#include "monitor/monitor.h"
#include "net/clients.h"
#include "trace.h"

#define TAP_HOST_HDR_DEFAULT    10      /* struct virtio_net_hdr */
#define TAP_READ_BATCH          64      /* frames per wake-up, then yield */

typedef struct TapState {
    NetClientState *nc;
    int fd;
    char ifname[IFNAMSIZ];
    bool has_vnet_hdr;          /* IFF_VNET_HDR is on for this fd */
    int host_hdr_len;           /* the kernel's header length, 0 if none */
    bool read_enabled;          /* false while our frame waits at the peer */
    bool write_poll;            /* the kernel said EAGAIN: wait for POLLOUT */
    bool dead;                  /* the fd failed for good (interface gone) */
    GSource *watch;
    GIOCondition watch_cond;
    uint8_t buf[NET_MAX_FRAME + 64];
} TapState;

static gboolean tap_ready(gint fd, GIOCondition cond, gpointer opaque);

/* (Re)creates the fd watch for what we wait for now. */
static void tap_update_watch(TapState *s)
{
    GIOCondition cond = (s->read_enabled ? G_IO_IN : 0) |
                        (s->write_poll ? G_IO_OUT : 0);

    if (s->dead) {
        cond = 0;
    }
    net_fd_watch_set(&s->watch, &s->watch_cond, s->fd, cond, tap_ready, s);
}

static void tap_send_done(NetClientState *nc, ssize_t ret)
{
    TapState *s = nc->opaque;

    s->read_enabled = true;
    tap_update_watch(s);
}

/* Bytes of host header to strip from a read / add to a write. */
static int tap_hdr_gap(TapState *s)
{
    return s->nc->vnet_hdr_len ? 0 : s->host_hdr_len;
}

static void tap_read_frames(TapState *s)
{
    for (int n = 0; n < TAP_READ_BATCH && s->read_enabled; n++) {
        int gap = tap_hdr_gap(s);
        ssize_t len = read(s->fd, s->buf, sizeof(s->buf));
        struct iovec iov;

        if (len < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                /* e.g. EBADFD once the interface was deleted: the fd
                 * stays readable-with-error for ever, so stop watching
                 * it instead of spinning. */
                trace_net_tap_error(s->nc->name, "read", errno);
                s->dead = true;
            }
            return;
        }
        if (len <= gap) {
            continue;   /* nothing but a header: not a frame */
        }
        iov.iov_base = s->buf + gap;
        iov.iov_len = len - gap;
        if (net_send_iov(s->nc, &iov, 1, tap_send_done) == 0) {
            s->read_enabled = false;
            trace_net_tap_read_paused(s->nc->name);
        }
    }
}

static gboolean tap_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    TapState *s = opaque;

    if (cond & (G_IO_ERR | G_IO_HUP | G_IO_NVAL)) {
        trace_net_tap_error(s->nc->name, "poll", EIO);
        s->dead = true;
        tap_update_watch(s);
        return G_SOURCE_CONTINUE;   /* the source is gone already */
    }
    if (cond & G_IO_OUT) {
        s->write_poll = false;
        net_client_flush_queue(s->nc);
    }
    if (cond & G_IO_IN) {
        tap_read_frames(s);
    }
    tap_update_watch(s);
    return G_SOURCE_CONTINUE;
}

static ssize_t tap_receive_iov(NetClientState *nc, const struct iovec *iov,
                               int iovcnt)
{
    TapState *s = nc->opaque;
    static const uint8_t zero_hdr[64];
    int gap = tap_hdr_gap(s);
    struct iovec *v = g_newa(struct iovec, iovcnt + 1);
    size_t len = 0;
    ssize_t ret;
    int n = 0;

    if (gap) {
        v[n].iov_base = (void *)zero_hdr;
        v[n++].iov_len = gap;
    }
    for (int i = 0; i < iovcnt; i++) {
        v[n++] = iov[i];
        len += iov[i].iov_len;
    }
    if (!len) {
        return -EINVAL;   /* an empty frame: nothing a tap can carry */
    }
    do {
        ret = writev(s->fd, v, n);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        if (errno == EAGAIN && !s->dead) {
            s->write_poll = true;
            tap_update_watch(s);
            return 0;
        }
        trace_net_tap_error(nc->name, "write", errno);
        return -errno;
    }
    return len;
}

static bool tap_has_vnet_hdr(NetClientState *nc)
{
    return ((TapState *)nc->opaque)->has_vnet_hdr;
}

static bool tap_set_vnet_hdr_len(NetClientState *nc, int len)
{
    TapState *s = nc->opaque;

    if (!len) {
        return true;    /* keep the kernel's header, strip/add it here */
    }
    if (!s->has_vnet_hdr || ioctl(s->fd, TUNSETVNETHDRSZ, &len) < 0) {
        return false;
    }
    s->host_hdr_len = len;
    return true;
}

static void tap_set_offload(NetClientState *nc, const NetOffloads *o)
{
    TapState *s = nc->opaque;
    unsigned flags = 0;

    if (!s->has_vnet_hdr) {
        return;
    }
    if (o->csum) {
        flags |= TUN_F_CSUM;
        flags |= o->tso4 ? TUN_F_TSO4 : 0;
        flags |= o->tso6 ? TUN_F_TSO6 : 0;
        flags |= o->ecn ? TUN_F_TSO_ECN : 0;
        flags |= o->ufo ? TUN_F_UFO : 0;
    }
    /* Recent kernels dropped UFO: try again without it. */
    if (ioctl(s->fd, TUNSETOFFLOAD, flags) < 0 &&
        ioctl(s->fd, TUNSETOFFLOAD, flags & ~TUN_F_UFO) < 0) {
        trace_net_tap_error(nc->name, "TUNSETOFFLOAD", errno);
    }
}

static void tap_cleanup(NetClientState *nc)
{
    TapState *s = nc->opaque;

    s->read_enabled = s->write_poll = false;
    tap_update_watch(s);
    close(s->fd);
    g_free(s);
}

static const NetClientInfo tap_info = {
    .kind = NET_CLIENT_KIND_TAP,
    .receive_iov = tap_receive_iov,
    .has_vnet_hdr = tap_has_vnet_hdr,
    .set_vnet_hdr_len = tap_set_vnet_hdr_len,
    .set_offload = tap_set_offload,
    .cleanup = tap_cleanup,
};

/* Opens /dev/net/tun as a tap; vnet_hdr: -1 auto, 0 off, 1 on. */
static int tap_open(const char *ifname, int vnet_hdr, char *name_out,
                    bool *has_vnet_hdr, Error **errp)
{
    struct ifreq ifr = { 0 };
    unsigned features = 0;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        error_setg_errno(errp, errno, "could not open /dev/net/tun");
        return -1;
    }
    if (ioctl(fd, TUNGETFEATURES, &features) < 0) {
        features = 0;
    }
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (vnet_hdr != 0 && (features & IFF_VNET_HDR)) {
        ifr.ifr_flags |= IFF_VNET_HDR;
    } else if (vnet_hdr == 1) {
        error_setg(errp, "vnet_hdr=on: the kernel's tap driver does not "
                   "support IFF_VNET_HDR");
        close(fd);
        return -1;
    }
    if (ifname) {
        g_strlcpy(ifr.ifr_name, ifname, IFNAMSIZ);
    }
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        error_setg_errno(errp, errno, "could not configure /dev/net/tun (%s)",
                         ifname ? ifname : "tap%d");
        close(fd);
        return -1;
    }
    g_strlcpy(name_out, ifr.ifr_name, IFNAMSIZ);
    *has_vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
    return fd;
}

/* An fd from the user: must be a tap; we learn its name and flags. */
static bool tap_adopt_fd(int fd, char *name_out, bool *has_vnet_hdr,
                         Error **errp)
{
    struct ifreq ifr = { 0 };

    if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
        error_setg_errno(errp, errno, "fd=%d is not a tap device", fd);
        return false;
    }
    if (!(ifr.ifr_flags & IFF_TAP)) {
        error_setg(errp, "fd=%d is a tun device, not a tap", fd);
        return false;
    }
    g_strlcpy(name_out, ifr.ifr_name, IFNAMSIZ);
    *has_vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
    return true;
}

/* fd=N or fd=NAME (a getfd name on the monitor running netdev_add). */
static int tap_fd_param(const char *str, Error **errp)
{
    uint64_t n;

    if (g_ascii_isdigit(str[0])) {
        if (!parse_uint(str, &n, NULL) || n > INT_MAX ||
            fcntl(n, F_GETFD) < 0) {
            error_setg(errp, "fd=%s is not an open file descriptor", str);
            return -1;
        }
        return n;
    }
    return monitor_take_named_fd(str, errp);
}

static bool tap_check_options(const KeyvalList *opts, int *vnet_hdr,
                              Error **errp)
{
    static const char *const known[] = {
        "ifname", "fd", "fds", "script", "downscript", "vnet_hdr", "vhost",
        "queues", NULL
    };
    static const char *const scripts[] = { "script", "downscript" };
    const char *fds = keyval_get(opts, "fds");
    bool vhost, on;
    uint64_t queues;

    if (!net_opts_check(opts, known, errp)) {
        return false;
    }
    for (int i = 0; i < 2; i++) {
        const char *v = keyval_get(opts, scripts[i]);

        if (v && strcmp(v, "no") && *v) {
            error_setg(errp, "%s=%s: Tandem does not run interface scripts; "
                       "use %s=no and configure the interface beforehand",
                       scripts[i], v, scripts[i]);
            return false;
        }
    }
    if (!keyval_get_bool(opts, "vhost", false, &vhost, errp) ||
        !keyval_get_u64(opts, "queues", 1, &queues, errp)) {
        return false;
    }
    if (vhost) {
        error_setg(errp, "vhost=on: vhost-net is not supported (the tap "
                   "backend is userspace only); use vhost=off");
        return false;
    }
    if (queues != 1) {
        error_setg(errp, "queues=%" G_GUINT64_FORMAT ": multiqueue tap is "
                   "not supported (queues=1 only)", queues);
        return false;
    }
    if (fds && strchr(fds, ':')) {
        error_setg(errp, "fds=%s: multiqueue tap is not supported (one fd "
                   "only)", fds);
        return false;
    }
    if (fds && keyval_get(opts, "fd")) {
        error_setg(errp, "fd= and fds= are mutually exclusive");
        return false;
    }
    if ((fds || keyval_get(opts, "fd")) && keyval_get(opts, "ifname")) {
        error_setg(errp, "ifname= cannot be used with fd= or fds=");
        return false;
    }
    *vnet_hdr = -1;
    if (keyval_get(opts, "vnet_hdr")) {
        if (!keyval_get_bool(opts, "vnet_hdr", false, &on, errp)) {
            return false;
        }
        *vnet_hdr = on;
    }
    return true;
}

NetClientState *net_init_tap(const KeyvalList *opts, const char *id,
                             Error **errp)
{
    const char *fdstr = keyval_get(opts, "fd") ?: keyval_get(opts, "fds");
    g_autofree TapState *s = g_new0(TapState, 1);
    int vnet_hdr;
    int fd;

    if (!tap_check_options(opts, &vnet_hdr, errp)) {
        return NULL;
    }
    if (fdstr) {
        fd = tap_fd_param(fdstr, errp);
        if (fd < 0) {
            return NULL;
        }
        if (!tap_adopt_fd(fd, s->ifname, &s->has_vnet_hdr, errp)) {
            return NULL;
        }
        if (vnet_hdr == 1 && !s->has_vnet_hdr) {
            error_setg(errp, "vnet_hdr=on: fd=%s was opened without "
                       "IFF_VNET_HDR", fdstr);
            return NULL;
        }
    } else {
        fd = tap_open(keyval_get(opts, "ifname"), vnet_hdr, s->ifname,
                      &s->has_vnet_hdr, errp);
        if (fd < 0) {
            return NULL;
        }
    }
    if (s->has_vnet_hdr) {
        s->host_hdr_len = TAP_HOST_HDR_DEFAULT;
        if (ioctl(fd, TUNGETVNETHDRSZ, &s->host_hdr_len) < 0) {
            s->host_hdr_len = TAP_HOST_HDR_DEFAULT;
        }
    }
    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    s->fd = fd;
    s->nc = net_client_new(&tap_info, NULL, "tap", id, s, errp);
    if (!s->nc) {
        if (!fdstr) {
            close(fd);
        }
        return NULL;
    }
    s->nc->info_str = fdstr ? g_strdup_printf("fd=%d", fd)
                            : g_strdup_printf("ifname=%s,script=no,"
                                              "downscript=no", s->ifname);
    s->read_enabled = true;
    tap_update_watch(s);
    trace_net_tap_open(id, s->ifname, s->host_hdr_len);
    return g_steal_pointer(&s)->nc;
}
