/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filter-mirror and filter-redirector: the netfilters that move frames
 * between a netdev's chain and chardevs, in QEMU's length-prefixed frame
 * stream (include/net/frame-codec.h: be32 len [be32 vnet_hdr_len] bytes).
 *
 *   filter-mirror,outdev=C        a copy of every frame it sees goes to C;
 *                                 the frame itself goes on
 *   filter-redirector,outdev=C    every frame it sees goes to C instead of
 *                                 on (consumed)
 *   filter-redirector,indev=C     every frame read from C is sent on from
 *                                 the redirector's place in the chain, as
 *                                 if the netdev had sent it (queue=tx: to
 *                                 the guest) or the guest had (queue=rx:
 *                                 out of the netdev); queue=all does both
 *
 * With vnet_hdr_support=on the stream carries the vnet header length
 * word: what is written says the netdev's vnet_hdr_len, and a frame read
 * whose word differs from the netdev's is dropped (counted), since its
 * header would be misread.
 *
 * Output never stalls the sender (QEMU writes synchronously in the
 * primary's receive path, so a slow secondary slows the primary). Frames
 * are encoded into a bounded buffer (x-buffer-size bytes, default
 * FILTER_OUT_DEFAULT_BUFFER = 8 MiB: 50 ms of a saturated 1 Gbit/s link,
 * on top of the socket's own kernel buffer) and written with the
 * chardev's non-blocking write, the rest when the socket says it is
 * writable again. A frame that would overflow the buffer is not queued:
 *   - on a COLO primary the filter asks for a checkpoint
 *     (colo_checkpoint_trigger, COLO_TRIGGER_REQUEST: "held output
 *     full"); after it the secondary equals the primary, so the frame it
 *     missed no longer matters. Counted in overflow_checkpoints.
 *   - otherwise the frame is dropped, counted in overflow_drops, and a
 *     warning is printed at most every FILTER_OUT_WARN_INTERVAL_S.
 *
 * Reconnecting chardevs (socket,reconnect-ms= on the client side, a
 * server that waits for the next client): while no peer is connected,
 * frames for the output are dropped and counted (QEMU's chardev drops
 * them too); when the connection drops, the bytes still buffered are
 * dropped with it (a new connection must start at a frame boundary, and
 * frames that old are useless to a secondary a checkpoint will resync).
 * On the input side a partial frame is forgotten when the connection
 * drops, and the next connection starts a new stream.
 */
#include <string.h>
#include <glib.h>
#include "chardev/char.h"
#include "migration/colo.h"
#include "net/filter.h"
#include "net/frame-codec.h"
#include "trace.h"

#define FILTER_OUT_DEFAULT_BUFFER   "8M"
#define FILTER_OUT_WARN_INTERVAL_S  10

/* The output half: one chardev written without ever waiting. */
typedef struct FilterOut {
    NetFilterState *nf;
    Chardev *chr;
    uint64_t max_bytes;
    GByteArray *buf;            /* encoded bytes not yet written */
    GQueue frame_ends;          /* GSIZE_TO_POINTER: end offset in buf */
    bool watch_armed;
    bool partial;               /* the peer has part of the head frame */
    bool warned_vnet_hdr;       /* see filter_out_check_vnet_hdr */
    int64_t last_warn_us;
    FilterOutStats stats;
} FilterOut;

/* The input half: one chardev whose frames are injected. */
typedef struct FilterIn {
    NetFilterState *nf;
    Chardev *chr;
    NetFrameDecoder dec;
    uint64_t injected;
    uint64_t bad;               /* broken stream or vnet header mismatch */
} FilterIn;

typedef struct FilterMirror {
    NetFilterState nf;
    char *indev;                /* redirector only */
    char *outdev;
    uint64_t buffer_size;
    FilterIn in;
    FilterOut out;
    bool redirect;              /* redirector: consume what it sends */
} FilterMirror;

/* ---- output ---- */

static void filter_out_flush(FilterOut *o);

static void filter_out_writable(void *opaque)
{
    FilterOut *o = opaque;

    o->watch_armed = false;
    filter_out_flush(o);
}

/* Drops what is buffered (the connection went away under it). */
static void filter_out_reset(FilterOut *o, const char *why)
{
    guint frames = g_queue_get_length(&o->frame_ends);

    if (frames) {
        trace_filter_out_reset(o->nf->parent.id, frames, why);
    }
    o->stats.disconnected_drops += frames;
    g_byte_array_set_size(o->buf, 0);
    g_queue_clear(&o->frame_ends);
    o->partial = false;
}

/* n bytes of the buffer went out. */
static void filter_out_consumed(FilterOut *o, size_t n)
{
    size_t last_end = 0;

    g_byte_array_remove_range(o->buf, 0, n);
    while (!g_queue_is_empty(&o->frame_ends) &&
           GPOINTER_TO_SIZE(g_queue_peek_head(&o->frame_ends)) <= n) {
        last_end = GPOINTER_TO_SIZE(g_queue_pop_head(&o->frame_ends));
        o->stats.frames_written++;
        o->partial = false;
    }
    if (n > last_end) {
        o->partial = true;
    }
    for (GList *l = o->frame_ends.head; l; l = l->next) {
        l->data = GSIZE_TO_POINTER(GPOINTER_TO_SIZE(l->data) - n);
    }
}

static void filter_out_flush(FilterOut *o)
{
    while (o->buf->len && !o->watch_armed) {
        ssize_t n = chardev_write_nowait(o->chr, o->buf->data, o->buf->len);

        if (n < 0) {
            filter_out_reset(o, "write failed");
            return;
        }
        if (n == 0) {
            o->watch_armed = chardev_watch_writable(o->chr, NULL,
                                                    filter_out_writable, o);
            if (!o->watch_armed) {
                filter_out_reset(o, "no connection");
            }
            return;
        }
        filter_out_consumed(o, n);
    }
}

static void filter_out_overflow(FilterOut *o, size_t len)
{
    int64_t now = g_get_monotonic_time();

    if (colo_mode() == COLO_MODE_PRIMARY &&
        colo_checkpoint_trigger(COLO_TRIGGER_REQUEST)) {
        o->stats.overflow_checkpoints++;
        trace_filter_out_overflow(o->nf->parent.id, len, "checkpoint");
        return;
    }
    o->stats.overflow_drops++;
    trace_filter_out_overflow(o->nf->parent.id, len, "dropped");
    if (!o->last_warn_us ||
        now - o->last_warn_us >= FILTER_OUT_WARN_INTERVAL_S * G_USEC_PER_SEC) {
        o->last_warn_us = now;
        warn_report("%s: chardev '%s' cannot keep up, frames dropped "
                    "(%" PRIu64 " so far)", o->nf->parent.id, o->chr->id,
                    o->stats.overflow_drops);
    }
}

/*
 * A netdev whose frames carry a virtio-net header (a tap with vnet_hdr,
 * negotiated by virtio-net) feeding a stream without vnet_hdr_support:
 * the header bytes go out as if they were the Ethernet header, and the
 * reader (colo-compare, a redirector) misparses every frame. QEMU does
 * the same silently, and colo-compare then logs "unsupported packet" and
 * compares nothing; say it once, with both ways out.
 */
static void filter_out_check_vnet_hdr(FilterOut *o)
{
    NetFilterState *nf = o->nf;

    if (o->warned_vnet_hdr || nf->vnet_hdr_support ||
        !nf->netdev->vnet_hdr_len) {
        return;
    }
    o->warned_vnet_hdr = true;
    warn_report("%s: netdev '%s' frames carry a %d-byte virtio-net header "
                "but vnet_hdr_support is off, so the reader of chardev '%s' "
                "will misparse them: set vnet_hdr_support=on on every filter "
                "and colo-compare of the pair, or vnet_hdr=off on the tap",
                nf->parent.id, nf->netdev->name, nf->netdev->vnet_hdr_len,
                o->chr->id);
}

/* Queues one frame for the chardev; never waits. */
static void filter_out_send(FilterOut *o, const struct iovec *iov,
                            int iovcnt)
{
    uint8_t hdr[NET_FRAME_HDR_MAX];
    size_t len = 0, hlen;

    for (int i = 0; i < iovcnt; i++) {
        len += iov[i].iov_len;
    }
    if (!len) {
        return;     /* the stream cannot say "empty frame" */
    }
    if (!chardev_is_connected(o->chr)) {
        o->stats.disconnected_drops++;
        return;
    }
    filter_out_check_vnet_hdr(o);
    hlen = net_frame_encode_header(hdr, len, o->nf->vnet_hdr_support,
                                   o->nf->netdev->vnet_hdr_len);
    if (o->buf->len + hlen + len > o->max_bytes) {
        filter_out_overflow(o, len);
        return;
    }
    g_byte_array_append(o->buf, hdr, hlen);
    for (int i = 0; i < iovcnt; i++) {
        g_byte_array_append(o->buf, iov[i].iov_base, iov[i].iov_len);
    }
    g_queue_push_tail(&o->frame_ends, GSIZE_TO_POINTER(o->buf->len));
    o->stats.frames++;
    o->stats.buffered_max = MAX(o->stats.buffered_max, o->buf->len);
    filter_out_flush(o);
}

static size_t filter_out_can_receive(void *opaque)
{
    return 4096;    /* nothing is expected back: read and discard */
}

static void filter_out_receive(void *opaque, const uint8_t *buf, size_t len)
{
}

static void filter_out_event(void *opaque, ChardevEvent ev)
{
    FilterOut *o = opaque;

    trace_filter_chardev_event(o->nf->parent.id, o->chr->id,
                               ev == CHARDEV_EVENT_OPENED ? "opened"
                                                          : "closed");
    if (ev == CHARDEV_EVENT_CLOSED) {
        o->watch_armed = false;     /* the backend dropped the watch */
        filter_out_reset(o, "peer gone");
    }
}

static bool filter_out_open(FilterOut *o, NetFilterState *nf,
                            const char *id, uint64_t max_bytes, Error **errp)
{
    ChardevFrontend fe = {
        .can_receive = filter_out_can_receive,
        .receive = filter_out_receive,
        .event = filter_out_event,
        .opaque = o,
    };

    o->nf = nf;
    o->chr = chardev_find(id);
    if (!o->chr) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND, "Device '%s' not found",
                  id);
        return false;
    }
    if (!chardev_attach_frontend(o->chr, &fe, errp)) {
        o->chr = NULL;
        return false;
    }
    o->max_bytes = max_bytes;
    o->buf = g_byte_array_new();
    g_queue_init(&o->frame_ends);
    return true;
}

static void filter_out_close(FilterOut *o)
{
    if (!o->chr) {
        return;
    }
    /*
     * The peer holds the start of a frame whose rest will never come: cut
     * the connection, so that it sees the stream end rather than take
     * the next writer's bytes for the rest (a reconnecting peer then
     * starts clean). Detaching drops the writable watch.
     */
    if (o->partial) {
        trace_filter_out_reset(o->nf->parent.id,
                               g_queue_get_length(&o->frame_ends),
                               "filter deleted mid-frame");
        chardev_disconnect(o->chr);
    }
    chardev_detach_frontend(o->chr);
    o->chr = NULL;
    g_byte_array_unref(o->buf);
    g_queue_clear(&o->frame_ends);
}

/* ---- input ---- */

static void filter_in_frame(void *opaque, const uint8_t *frame, size_t len,
                            size_t vnet_hdr_len)
{
    FilterIn *in = opaque;
    NetFilterState *nf = in->nf;
    struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };

    if (!nf->netdev) {
        return;
    }
    if (nf->vnet_hdr_support && vnet_hdr_len != (size_t)nf->netdev->vnet_hdr_len) {
        in->bad++;
        trace_filter_in_drop(nf->parent.id, len, "vnet header length differs");
        return;
    }
    in->injected++;
    trace_filter_in_frame(nf->parent.id, len);
    if (nf->direction != NET_FILTER_DIRECTION_RX) {
        netfilter_pass_to_next(nf, nf->netdev, &iov, 1);
    }
    if (nf->direction != NET_FILTER_DIRECTION_TX && nf->netdev->peer) {
        netfilter_pass_to_next(nf, nf->netdev->peer, &iov, 1);
    }
}

static size_t filter_in_can_receive(void *opaque)
{
    return 64 * 1024;
}

static void filter_in_receive(void *opaque, const uint8_t *buf, size_t len)
{
    FilterIn *in = opaque;
    Error *err = NULL;

    if (!net_frame_decoder_feed(&in->dec, buf, len, filter_in_frame, in,
                                &err)) {
        /* A broken peer: what follows cannot be framed, so drop the
         * connection; the next one starts a fresh stream. */
        in->bad++;
        trace_filter_in_drop(in->nf->parent.id, len,
                             error_get_pretty(err));
        error_free(err);
        net_frame_decoder_reset(&in->dec);
        chardev_disconnect(in->chr);
    }
}

static void filter_in_event(void *opaque, ChardevEvent ev)
{
    FilterIn *in = opaque;

    trace_filter_chardev_event(in->nf->parent.id, in->chr->id,
                               ev == CHARDEV_EVENT_OPENED ? "opened"
                                                          : "closed");
    net_frame_decoder_reset(&in->dec);
}

static bool filter_in_open(FilterIn *in, NetFilterState *nf, const char *id,
                           Error **errp)
{
    ChardevFrontend fe = {
        .can_receive = filter_in_can_receive,
        .receive = filter_in_receive,
        .event = filter_in_event,
        .opaque = in,
    };

    in->nf = nf;
    in->chr = chardev_find(id);
    if (!in->chr) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND,
                  "IN Device '%s' not found", id);
        return false;
    }
    net_frame_decoder_init(&in->dec, nf->vnet_hdr_support, NET_MAX_FRAME);
    if (!chardev_attach_frontend(in->chr, &fe, errp)) {
        net_frame_decoder_destroy(&in->dec);
        in->chr = NULL;
        return false;
    }
    return true;
}

static void filter_in_close(FilterIn *in)
{
    if (!in->chr) {
        return;
    }
    chardev_detach_frontend(in->chr);
    in->chr = NULL;
    net_frame_decoder_destroy(&in->dec);
}

/* ---- the filters ---- */

static ssize_t filter_mirror_receive_iov(NetFilterState *nf,
                                         NetClientState *sender,
                                         NetFilterDirection dir,
                                         const struct iovec *iov, int iovcnt)
{
    FilterMirror *m = (FilterMirror *)nf;
    size_t len = 0;

    if (!m->out.chr) {
        return 0;   /* a redirector with only an indev: frames go on */
    }
    filter_out_send(&m->out, iov, iovcnt);
    if (!m->redirect) {
        return 0;
    }
    for (int i = 0; i < iovcnt; i++) {
        len += iov[i].iov_len;
    }
    return len;
}

static bool filter_mirror_setup(NetFilterState *nf, Error **errp)
{
    FilterMirror *m = (FilterMirror *)nf;

    if (!m->outdev) {
        error_setg(errp, "filter-mirror parameter 'outdev' cannot be empty");
        return false;
    }
    return filter_out_open(&m->out, nf, m->outdev, m->buffer_size, errp);
}

static bool filter_redirector_setup(NetFilterState *nf, Error **errp)
{
    FilterMirror *m = (FilterMirror *)nf;

    m->redirect = true;
    if (!m->indev && !m->outdev) {
        error_setg(errp, "filter redirector needs 'indev' or 'outdev' at "
                   "least one property set");
        return false;
    }
    if (m->indev && m->outdev && !strcmp(m->indev, m->outdev)) {
        error_setg(errp, "'indev' and 'outdev' could not be same for "
                   "filter-redirector");
        return false;
    }
    if (m->indev && !filter_in_open(&m->in, nf, m->indev, errp)) {
        return false;
    }
    if (m->outdev &&
        !filter_out_open(&m->out, nf, m->outdev, m->buffer_size, errp)) {
        return false;
    }
    return true;
}

static void filter_mirror_cleanup(NetFilterState *nf)
{
    FilterMirror *m = (FilterMirror *)nf;

    filter_in_close(&m->in);
    filter_out_close(&m->out);
}

static const NetFilterOps filter_mirror_ops = {
    .setup = filter_mirror_setup,
    .receive_iov = filter_mirror_receive_iov,
    .cleanup = filter_mirror_cleanup,
};

static const NetFilterOps filter_redirector_ops = {
    .setup = filter_redirector_setup,
    .receive_iov = filter_mirror_receive_iov,
    .cleanup = filter_mirror_cleanup,
};

static bool filter_mirror_complete(Object *obj, Error **errp)
{
    return netfilter_complete(obj, &filter_mirror_ops, errp);
}

static bool filter_redirector_complete(Object *obj, Error **errp)
{
    return netfilter_complete(obj, &filter_redirector_ops, errp);
}

bool filter_out_stats(NetFilterState *nf, FilterOutStats *st)
{
    FilterMirror *m = (FilterMirror *)nf;

    if (!type_is_a(nf->parent.type, "filter-mirror") &&
        !type_is_a(nf->parent.type, "filter-redirector")) {
        return false;
    }
    *st = m->out.stats;
    st->buffered = m->out.buf ? m->out.buf->len : 0;
    st->injected = m->in.injected;
    st->in_bad = m->in.bad;
    st->mid_frame = m->out.partial;
    return true;
}

#define FILTER_BUFFER_SIZE_PROP \
    { .name = "x-buffer-size", .type = OBJ_PROP_UINT, \
      .offset = offsetof(FilterMirror, buffer_size), \
      .desc = "bytes of output kept while the chardev is slow (Tandem; " \
              "default 8M); past it a COLO primary checkpoints, " \
              "otherwise frames are dropped", \
      .has_range = true, .min = 64 * 1024, .max = 1ull << 32, \
      .default_value = FILTER_OUT_DEFAULT_BUFFER }

static const ObjectProperty filter_mirror_props[] = {
    { .name = "outdev", .type = OBJ_PROP_STR,
      .offset = offsetof(FilterMirror, outdev),
      .desc = "the chardev id the copies go to" },
    NETFILTER_VNET_HDR_PROP(FilterMirror),
    FILTER_BUFFER_SIZE_PROP,
    { NULL },
};

static const ObjectProperty filter_redirector_props[] = {
    { .name = "indev", .type = OBJ_PROP_STR,
      .offset = offsetof(FilterMirror, indev),
      .desc = "the chardev id whose frames are injected" },
    { .name = "outdev", .type = OBJ_PROP_STR,
      .offset = offsetof(FilterMirror, outdev),
      .desc = "the chardev id the frames go to instead of on" },
    NETFILTER_VNET_HDR_PROP(FilterMirror),
    FILTER_BUFFER_SIZE_PROP,
    { NULL },
};

static const TypeInfo filter_mirror_type_info = {
    .name = "filter-mirror",
    .parent = TYPE_NETFILTER,
    .description = "copies a netdev's frames to a chardev",
    .user_creatable = true,
    .instance_size = sizeof(FilterMirror),
    .props = filter_mirror_props,
    .complete = filter_mirror_complete,
    .finalize = netfilter_finalize,
};
TYPE_REGISTER(filter_mirror_type_info)

static const TypeInfo filter_redirector_type_info = {
    .name = "filter-redirector",
    .parent = TYPE_NETFILTER,
    .description = "sends a netdev's frames to a chardev, and injects a "
                   "chardev's frames",
    .user_creatable = true,
    .instance_size = sizeof(FilterMirror),
    .props = filter_redirector_props,
    .complete = filter_redirector_complete,
    .finalize = netfilter_finalize,
};
TYPE_REGISTER(filter_redirector_type_info)
