/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filter-buffer: holds every frame it sees and releases what it holds
 * every `interval` microseconds (Remus-style output buffering; QEMU's
 * filter-buffer). A released frame continues through the chain after the
 * buffer, so it meets exactly the filters it would have met.
 *
 *   -object filter-buffer,id=fb0,netdev=hn0,queue=rx,interval=10000
 *
 * interval is required and may not be 0 (QEMU refuses 0 too: a buffer
 * that never releases would black-hole the netdev). The release clock is
 * a fixed period from the filter's creation (or from status=on), not
 * per frame: a frame waits between 0 and interval. status=off releases
 * everything at once and stops the clock; deleting the filter releases
 * what it holds too (a frame is never lost to a reconfiguration). Frames
 * whose sender goes away while held are dropped.
 */
#include <string.h>
#include <glib.h>
#include "net/filter.h"
#include "trace.h"

typedef struct FilterBufferFrame {
    NetClientState *sender;
    size_t len;
    uint8_t data[];
} FilterBufferFrame;

typedef struct FilterBuffer {
    NetFilterState nf;
    uint32_t interval;          /* µs */
    GQueue held;                /* FilterBufferFrame, oldest first */
    GSource *timer;             /* the release clock, on the main loop */
    uint64_t released;
} FilterBuffer;

static gboolean filter_buffer_timer_dispatch(GSource *src, GSourceFunc cb,
                                             gpointer opaque)
{
    return cb(opaque);
}

static GSourceFuncs filter_buffer_timer_funcs = {
    .dispatch = filter_buffer_timer_dispatch,
};

static void filter_buffer_release(FilterBuffer *fb)
{
    FilterBufferFrame *f;
    unsigned n = 0;

    while ((f = g_queue_pop_head(&fb->held))) {
        struct iovec iov = { .iov_base = f->data, .iov_len = f->len };

        netfilter_pass_to_next(&fb->nf, f->sender, &iov, 1);
        g_free(f);
        n++;
    }
    fb->released += n;
    if (n) {
        trace_filter_buffer_release(fb->nf.parent.id, n);
    }
}

static gboolean filter_buffer_tick(gpointer opaque)
{
    FilterBuffer *fb = opaque;

    filter_buffer_release(fb);
    g_source_set_ready_time(fb->timer,
                            g_get_monotonic_time() + fb->interval);
    return G_SOURCE_CONTINUE;
}

static void filter_buffer_start_clock(FilterBuffer *fb)
{
    if (fb->timer) {
        return;
    }
    fb->timer = g_source_new(&filter_buffer_timer_funcs, sizeof(GSource));
    g_source_set_callback(fb->timer, filter_buffer_tick, fb, NULL);
    g_source_set_ready_time(fb->timer, g_get_monotonic_time() + fb->interval);
    g_source_attach(fb->timer, NULL);
}

static void filter_buffer_stop_clock(FilterBuffer *fb)
{
    if (fb->timer) {
        g_source_destroy(fb->timer);
        g_clear_pointer(&fb->timer, g_source_unref);
    }
}

static bool filter_buffer_setup(NetFilterState *nf, Error **errp)
{
    FilterBuffer *fb = (FilterBuffer *)nf;

    if (!fb->interval) {
        error_setg(errp, "Parameter 'interval' expects a non-zero interval");
        return false;
    }
    g_queue_init(&fb->held);
    if (nf->on) {
        filter_buffer_start_clock(fb);
    }
    return true;
}

static ssize_t filter_buffer_receive_iov(NetFilterState *nf,
                                         NetClientState *sender,
                                         NetFilterDirection dir,
                                         const struct iovec *iov, int iovcnt)
{
    FilterBuffer *fb = (FilterBuffer *)nf;
    size_t len = 0, off = 0;
    FilterBufferFrame *f;

    for (int i = 0; i < iovcnt; i++) {
        len += iov[i].iov_len;
    }
    f = g_malloc(sizeof(*f) + len);
    f->sender = sender;
    f->len = len;
    for (int i = 0; i < iovcnt; i++) {
        memcpy(f->data + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    g_queue_push_tail(&fb->held, f);
    return len;
}

static void filter_buffer_status_changed(NetFilterState *nf)
{
    FilterBuffer *fb = (FilterBuffer *)nf;

    if (nf->on) {
        filter_buffer_start_clock(fb);
    } else {
        filter_buffer_stop_clock(fb);
        filter_buffer_release(fb);
    }
}

static void filter_buffer_leave(NetFilterState *nf)
{
    FilterBuffer *fb = (FilterBuffer *)nf;

    filter_buffer_stop_clock(fb);
    filter_buffer_release(fb);
}

static void filter_buffer_sender_gone(NetFilterState *nf,
                                      NetClientState *sender)
{
    FilterBuffer *fb = (FilterBuffer *)nf;

    for (GList *l = fb->held.head, *next; l; l = next) {
        next = l->next;
        if (((FilterBufferFrame *)l->data)->sender == sender) {
            g_free(l->data);
            g_queue_delete_link(&fb->held, l);
        }
    }
}

static void filter_buffer_cleanup(NetFilterState *nf)
{
    FilterBuffer *fb = (FilterBuffer *)nf;

    filter_buffer_stop_clock(fb);
    g_queue_clear_full(&fb->held, g_free);
}

static const NetFilterOps filter_buffer_ops = {
    .setup = filter_buffer_setup,
    .receive_iov = filter_buffer_receive_iov,
    .status_changed = filter_buffer_status_changed,
    .leave = filter_buffer_leave,
    .sender_gone = filter_buffer_sender_gone,
    .cleanup = filter_buffer_cleanup,
};

static bool filter_buffer_complete(Object *obj, Error **errp)
{
    return netfilter_complete(obj, &filter_buffer_ops, errp);
}

size_t filter_buffer_held(NetFilterState *nf)
{
    return g_queue_get_length(&((FilterBuffer *)nf)->held);
}

static const ObjectProperty filter_buffer_props[] = {
    { .name = "interval", .type = OBJ_PROP_UINT32,
      .offset = offsetof(FilterBuffer, interval),
      .desc = "release period in microseconds (required, not 0)",
      .required = true },
    { NULL },
};

static const TypeInfo filter_buffer_type_info = {
    .name = "filter-buffer",
    .parent = TYPE_NETFILTER,
    .description = "holds a netdev's frames and releases them every "
                   "interval µs",
    .user_creatable = true,
    .instance_size = sizeof(FilterBuffer),
    .props = filter_buffer_props,
    .complete = filter_buffer_complete,
    .finalize = netfilter_finalize,
};
TYPE_REGISTER(filter_buffer_type_info)
