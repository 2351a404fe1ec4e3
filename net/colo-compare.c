/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The colo-compare object (-object colo-compare, QEMU's properties): on
 * a COLO primary it reads the primary's and the secondary's guest output
 * from two chardevs (QEMU's length-prefixed frame stream, one decoder:
 * net/frame-codec.c), compares them with the comparison core
 * (net/colo-compare-core.c), writes each primary frame the secondary
 * reproduced to outdev, and asks for a checkpoint (colo_checkpoint_trigger)
 * when they differ, when a frame waited compare_timeout, or when a queue
 * or the connection table is full. The checkpoint's RECEIVED event
 * releases what is still held and drops the secondary's queues.
 *
 * Threads. Everything the object does with frames runs on its iothread:
 * the chardev callbacks (the frontends are attached with the iothread's
 * context), the expiry scan timer and the outdev watch. The core, the
 * output queue and the counters are touched only there, so they need no
 * lock. The main loop (object creation and deletion, query-colo-stats)
 * and the COLO thread (checkpoint notifiers, BQL held) hand work to the
 * iothread with cc_run_sync() and wait for it; the iothread never takes
 * the BQL, so waiting with it held cannot deadlock.
 *
 * Run state, driven by the COLO notifiers (primary side only):
 *
 *   passing --START(primary)--> comparing --FAILOVER--> passing
 *                                  |  ^
 *                                  '--' CHECKPOINT_RECEIVED: release held
 *                                        frames, drop the secondary's
 *
 * passing (no COLO run on this side): no secondary to compare with and
 * no checkpoint to ask for, so the primary's frames go straight to
 * outdev and the secondary's are dropped. An object created during a
 * run starts comparing.
 *
 * x-compare-outside-colo=on skips the passing state: the object compares
 * from its creation and after a failover too, as QEMU's always does.
 * Outside a run the checkpoint it asks for never comes, so what it holds
 * stays held (QEMU's behaviour too). It exists so that the comparison can
 * be measured and tested where no COLO run can start (no KVM:
 * bench/colo-compare, -machine none).
 *
 * Output. outdev is written with the write that never waits, once per
 * read from an input (the frames that read released, gathered); what the
 * reader does not take yet is queued (frames whole, header included) and
 * written from a writable watch. The queue is bounded by
 * COLO_COMPARE_OUT_MAX bytes: past it primary_in is not read (frames wait
 * in the socket, then in the primary's redirector) until the queue is
 * below half of it, while secondary_in is still read and compared. No
 * frame is dropped for a slow reader. With no outdev peer connected,
 * frames queue the same way (up to the bound) and go out on connection;
 * a frame cut by a lost connection is sent whole again to the next peer.
 *
 * Held frames are bounded too: with 16 x max_queue_size (at least 4096)
 * primary frames held, primary_in is not read until a checkpoint
 * releases them (a checkpoint was asked for by then: a queue is full).
 *
 * Broken framing on an input (a length of 0 or too large) drops that
 * chardev connection (a log line says why); a server chardev then takes
 * the next client, a client with reconnect-ms reconnects.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <glib.h>
#include "chardev/char.h"
#include "migration/colo.h"
#include "net/colo-compare-core.h"
#include "net/frame-codec.h"
#include "qom/iothread.h"
#include "qom/object.h"
#include "util/main-loop.h"
#include "trace.h"

/* A frame: a 64 KiB TSO frame and a virtio-net header (QEMU's limit). */
#define COLO_COMPARE_FRAME_MAX      (65536 + 4096)
/* QEMU's bound on tracked connections. */
#define COLO_COMPARE_MAX_CONNS      16384
/* Framed bytes queued for a slow outdev reader before primary_in pauses. */
#define COLO_COMPARE_OUT_MAX        (4u << 20)
/* Bytes of small frames gathered into one write to outdev. */
#define COLO_COMPARE_OUT_BATCH      65536
/*
 * Primary frames held (all connections) before primary_in pauses until
 * a checkpoint releases them: a full queue asks for a checkpoint and
 * keeps its frames, so without this a checkpoint slow to come would let
 * them grow without end. A multiple of max_queue_size, at least this.
 */
#define COLO_COMPARE_HELD_MIN       4096
#define COLO_COMPARE_HELD_FACTOR    16

enum { CC_PRIMARY, CC_SECONDARY, CC_INPUTS };

typedef struct ColoCompareObject ColoCompareObject;

/* One input chardev and its frame decoder. */
typedef struct ColoCompareInput {
    ColoCompareObject *cc;
    const char *name;           /* "primary_in", "secondary_in" */
    bool primary;
    Chardev *chr;
    NetFrameDecoder dec;
    bool broken;                /* framing broke: ignore until reconnect */
} ColoCompareInput;

/* One framed frame waiting for the outdev reader. */
typedef struct ColoCompareOut {
    size_t len;
    size_t off;                 /* bytes the current peer took */
    uint8_t data[];
} ColoCompareOut;

struct ColoCompareObject {
    Object parent;

    /* properties */
    char *primary_in;
    char *secondary_in;
    char *outdev;
    char *iothread;
    char *notify_dev;
    bool vnet_hdr_support;
    bool compare_outside_colo;      /* x-compare-outside-colo */
    uint64_t compare_timeout;       /* ms */
    uint32_t expired_scan_cycle;    /* ms */
    uint32_t max_queue_size;

    /* set up by complete(), read-only afterwards */
    IOThread *iot;
    GMainContext *ctx;
    Chardev *out_chr;
    bool registered;            /* COLO notifier and stats provider */

    /* the iothread's (see the header comment) */
    ColoCompareInput in[CC_INPUTS];
    ColoCompare *core;
    bool comparing;
    bool requested;             /* a checkpoint asked for, not yet done */
    GSource *scan;
    GQueue outq;                /* ColoCompareOut * */
    bool out_batching;          /* in a read: write once at its end */
    uint8_t *out_scratch;       /* [COLO_COMPARE_OUT_BATCH] */
    size_t out_bytes;
    bool out_watch;             /* a writable watch is armed */
    bool primary_paused;        /* out queue over its bound */
    uint64_t held_max;          /* bound on held primary frames */
    bool held_paused;           /* primary_in paused: held_max reached */
    uint64_t passed_outside;    /* primary frames passed outside a run */
    uint64_t dropped_outside;   /* secondary frames dropped outside one */
    uint64_t out_stalls;
    uint64_t broken_streams;
};

static uint64_t cc_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- running on the iothread from another thread ---- */

typedef struct ColoCompareCall {
    ColoCompareObject *cc;
    void (*fn)(ColoCompareObject *cc, void *arg);
    void *arg;
} ColoCompareCall;

static void cc_call(void *opaque)
{
    ColoCompareCall *call = opaque;

    call->fn(call->cc, call->arg);
}

/* Runs fn on the iothread (or while it is held off), and waits. */
static void cc_run_sync(ColoCompareObject *cc,
                        void (*fn)(ColoCompareObject *cc, void *arg),
                        void *arg)
{
    ColoCompareCall call = { .cc = cc, .fn = fn, .arg = arg };

    main_context_run_sync(cc->ctx, cc_call, &call);
}

/* ---- output to outdev ---- */

static void cc_out_drain(ColoCompareObject *cc);

static void cc_out_writable(void *opaque)
{
    ColoCompareObject *cc = opaque;

    cc->out_watch = false;
    cc_out_drain(cc);
}

/*
 * What the next write sends: the head frame's rest and as many whole
 * frames after it as fit in the scratch buffer (one write for a batch of
 * small frames); a head too big for it is written from where it is.
 */
static const uint8_t *cc_out_gather(ColoCompareObject *cc, size_t *len)
{
    ColoCompareOut *o = g_queue_peek_head(&cc->outq);
    size_t n = 0;

    if (o->len - o->off >= COLO_COMPARE_OUT_BATCH) {
        *len = o->len - o->off;
        return o->data + o->off;
    }
    for (GList *l = cc->outq.head; l; l = l->next) {
        o = l->data;
        if (n + o->len - o->off > COLO_COMPARE_OUT_BATCH) {
            break;
        }
        memcpy(cc->out_scratch + n, o->data + o->off, o->len - o->off);
        n += o->len - o->off;
    }
    *len = n;
    return cc->out_scratch;
}

/* n bytes from the head of the queue were written. */
static void cc_out_consume(ColoCompareObject *cc, size_t n)
{
    while (n) {
        ColoCompareOut *o = g_queue_peek_head(&cc->outq);
        size_t take = MIN(n, o->len - o->off);

        o->off += take;
        n -= take;
        if (o->off == o->len) {
            g_queue_pop_head(&cc->outq);
            cc->out_bytes -= o->len;
            g_free(o);
        }
    }
}

/* Writes queued frames until the reader is full; never waits. */
static void cc_out_drain(ColoCompareObject *cc)
{
    while (!g_queue_is_empty(&cc->outq)) {
        const uint8_t *buf;
        size_t len;
        ssize_t n;

        if (cc->out_batching || cc->out_watch ||
            !chardev_is_connected(cc->out_chr)) {
            break;      /* the batch's end, the watch or OPENED calls again */
        }
        buf = cc_out_gather(cc, &len);
        n = chardev_write_nowait(cc->out_chr, buf, len);
        if (n < 0) {
            break;      /* peer gone: CLOSED/OPENED follow */
        }
        cc_out_consume(cc, n);
        if ((size_t)n < len) {
            cc->out_watch = chardev_watch_writable(cc->out_chr, cc->ctx,
                                                   cc_out_writable, cc);
            break;
        }
    }
    if (cc->primary_paused && cc->out_bytes <= COLO_COMPARE_OUT_MAX / 2) {
        cc->primary_paused = false;
        trace_colo_compare_out_resume(cc->parent.id, cc->out_bytes);
        chardev_accept_input(cc->in[CC_PRIMARY].chr);
    }
}

static void cc_output(ColoCompareObject *cc, const uint8_t *frame,
                      size_t len, size_t vnet_hdr_len)
{
    uint8_t hdr[NET_FRAME_HDR_MAX];
    size_t hlen = net_frame_encode_header(hdr, len, cc->vnet_hdr_support,
                                          vnet_hdr_len);
    ColoCompareOut *o = g_malloc(sizeof(*o) + hlen + len);

    o->len = hlen + len;
    o->off = 0;
    memcpy(o->data, hdr, hlen);
    memcpy(o->data + hlen, frame, len);
    g_queue_push_tail(&cc->outq, o);
    cc->out_bytes += o->len;
    cc_out_drain(cc);
    if (!cc->primary_paused && cc->out_bytes > COLO_COMPARE_OUT_MAX) {
        cc->primary_paused = true;
        cc->out_stalls++;
        trace_colo_compare_out_stall(cc->parent.id, cc->out_bytes);
    }
}

/* The core's release callback. */
static void cc_release(void *opaque, const uint8_t *frame, size_t len,
                       size_t vnet_hdr_len)
{
    cc_output(opaque, frame, len, vnet_hdr_len);
}

static void cc_out_event(void *opaque, ChardevEvent event)
{
    ColoCompareObject *cc = opaque;
    ColoCompareOut *o = g_queue_peek_head(&cc->outq);

    trace_colo_compare_chardev_event(cc->parent.id, "outdev",
                                     event == CHARDEV_EVENT_OPENED);
    /* A watch armed for the old connection is gone with it. */
    cc->out_watch = false;
    if (event == CHARDEV_EVENT_OPENED) {
        if (o) {
            o->off = 0;     /* the old peer never saw this frame whole */
        }
        cc_out_drain(cc);
    }
}

/* ---- comparing ---- */

static void cc_request_checkpoint(ColoCompareObject *cc,
                                  ColoCompareVerdict v)
{
    if (cc->requested) {
        return;
    }
    cc->requested = true;
    trace_colo_compare_checkpoint(cc->parent.id,
                                  colo_checkpoint_reason_names[v.reason],
                                  colo_proto_names[v.proto]);
    colo_checkpoint_trigger(COLO_TRIGGER_COMPARE);
}

static void cc_frame(void *opaque, const uint8_t *frame, size_t len,
                     size_t vnet_hdr_len)
{
    ColoCompareInput *in = opaque;
    ColoCompareObject *cc = in->cc;
    ColoCompareVerdict v;

    if (!cc->comparing) {
        if (in->primary) {
            cc->passed_outside++;
            cc_output(cc, frame, len, vnet_hdr_len);
        } else {
            cc->dropped_outside++;
        }
        return;
    }
    colo_compare_set_vnet_hdr_len(cc->core, vnet_hdr_len);
    v = in->primary ? colo_compare_primary(cc->core, frame, len, cc_now())
                    : colo_compare_secondary(cc->core, frame, len, cc_now());
    if (v.action == COLO_COMPARE_CHECKPOINT) {
        cc_request_checkpoint(cc, v);
    }
}

static size_t cc_can_receive(void *opaque)
{
    ColoCompareInput *in = opaque;
    ColoCompareObject *cc = in->cc;

    if (!in->primary) {
        return COLO_COMPARE_FRAME_MAX;
    }
    if (!cc->held_paused &&
        colo_compare_stats(cc->core)->held >= cc->held_max) {
        cc->held_paused = true;
        trace_colo_compare_held_stall(cc->parent.id, cc->held_max);
    }
    return cc->primary_paused || cc->held_paused ? 0 : COLO_COMPARE_FRAME_MAX;
}

static void cc_receive(void *opaque, const uint8_t *buf, size_t len)
{
    ColoCompareInput *in = opaque;
    ColoCompareObject *cc = in->cc;
    Error *err = NULL;
    bool ok;

    if (in->broken) {
        return;     /* the rest of a stream we are dropping */
    }
    /* The frames this read releases go out in one write, after it. */
    cc->out_batching = true;
    ok = net_frame_decoder_feed(&in->dec, buf, len, cc_frame, in, &err);
    cc->out_batching = false;
    cc_out_drain(cc);
    if (!ok) {
        in->broken = true;
        cc->broken_streams++;
        error_report("colo-compare %s: %s: %s; dropping the connection",
                     cc->parent.id, in->name, error_get_pretty(err));
        error_free(err);
        chardev_disconnect(in->chr);
    }
}

static void cc_in_event(void *opaque, ChardevEvent event)
{
    ColoCompareInput *in = opaque;

    trace_colo_compare_chardev_event(in->cc->parent.id, in->name,
                                     event == CHARDEV_EVENT_OPENED);
    /* Each connection is a new stream: no partial frame carries over. */
    net_frame_decoder_reset(&in->dec);
    in->broken = false;
}

static gboolean cc_scan(gpointer opaque)
{
    ColoCompareObject *cc = opaque;

    if (cc->comparing) {
        ColoCompareVerdict v = colo_compare_expire(cc->core, cc_now());

        if (v.action == COLO_COMPARE_CHECKPOINT) {
            cc_request_checkpoint(cc, v);
        }
    }
    return G_SOURCE_CONTINUE;
}

/* ---- COLO events (jobs on the iothread) ---- */

/* The secondary now equals the primary: release and forget. */
static void cc_job_flush(ColoCompareObject *cc, void *arg)
{
    colo_compare_flush(cc->core, cc_now());
    cc->requested = false;
    if (cc->held_paused) {
        cc->held_paused = false;
        chardev_accept_input(cc->in[CC_PRIMARY].chr);
    }
}

static void cc_job_set_comparing(ColoCompareObject *cc, void *arg)
{
    bool on = arg != NULL || cc->compare_outside_colo;

    trace_colo_compare_run(cc->parent.id, on);
    /* Starting: nothing from before the run is comparable. Stopping
     * (failover): the primary's held frames are the survivor's. */
    cc_job_flush(cc, NULL);
    cc->comparing = on;
}

static void cc_colo_notify(ColoEvent ev, COLOMode mode, void *opaque)
{
    ColoCompareObject *cc = opaque;

    if (mode != COLO_MODE_PRIMARY) {
        return;
    }
    switch (ev) {
    case COLO_EVENT_START:
        cc_run_sync(cc, cc_job_set_comparing, cc);
        break;
    case COLO_EVENT_CHECKPOINT_RECEIVED:
        cc_run_sync(cc, cc_job_flush, NULL);
        break;
    case COLO_EVENT_FAILOVER:
        cc_run_sync(cc, cc_job_set_comparing, NULL);
        break;
    default:
        break;
    }
}

/* ---- query-colo-stats ---- */

typedef struct ColoCompareSnapshot {
    ColoCompareStats core;
    bool comparing;
    uint64_t passed_outside;
    uint64_t dropped_outside;
    uint64_t out_bytes;
    uint64_t out_stalls;
    uint64_t broken_streams;
} ColoCompareSnapshot;

static void cc_job_snapshot(ColoCompareObject *cc, void *arg)
{
    ColoCompareSnapshot *s = arg;

    s->core = *colo_compare_stats(cc->core);
    s->comparing = cc->comparing;
    s->passed_outside = cc->passed_outside;
    s->dropped_outside = cc->dropped_outside;
    s->out_bytes = cc->out_bytes;
    s->out_stalls = cc->out_stalls;
    s->broken_streams = cc->broken_streams;
}

static ColoCompareProtoCounts *cc_proto_counts(const uint64_t *v)
{
    ColoCompareProtoCounts *c = g_new0(ColoCompareProtoCounts, 1);

    c->tcp = v[COLO_PROTO_TCP];
    c->udp = v[COLO_PROTO_UDP];
    c->icmp = v[COLO_PROTO_ICMP];
    c->icmpv6 = v[COLO_PROTO_ICMPV6];
    c->arp = v[COLO_PROTO_ARP];
    c->ip_fragment = v[COLO_PROTO_IP_FRAGMENT];
    c->ip_other = v[COLO_PROTO_IP_OTHER];
    c->other = v[COLO_PROTO_OTHER];
    c->malformed = v[COLO_PROTO_MALFORMED];
    return c;
}

static void cc_stats(ColoStats *stats, void *opaque)
{
    ColoCompareObject *cc = opaque;
    g_autofree ColoCompareSnapshot *s = g_new0(ColoCompareSnapshot, 1);
    ColoCompareInfo *info = g_new0(ColoCompareInfo, 1);
    ColoCompareInfoList **tail = &stats->compare;
    const uint64_t *ck = s->core.checkpoints;

    cc_run_sync(cc, cc_job_snapshot, s);
    info->id = g_strdup(cc->parent.id);
    info->comparing = s->comparing;
    info->compared = cc_proto_counts(s->core.compared);
    info->matched = cc_proto_counts(s->core.matched);
    info->mismatched = cc_proto_counts(s->core.mismatched);
    info->passed = s->core.passed + s->passed_outside;
    info->flushed = s->core.flushed;
    info->secondary_dropped = s->core.secondary_dropped +
                              s->dropped_outside;
    info->checkpoints = g_new0(ColoCompareCheckpoints, 1);
    info->checkpoints->mismatch = ck[COLO_CHECKPOINT_MISMATCH];
    info->checkpoints->timeout = ck[COLO_CHECKPOINT_TIMEOUT];
    info->checkpoints->queue_full = ck[COLO_CHECKPOINT_QUEUE_FULL];
    info->checkpoints->table_full = ck[COLO_CHECKPOINT_TABLE_FULL];
    info->held = s->core.held;
    info->held_max = s->core.held_max;
    info->latency_p50_ns = colo_compare_latency_percentile(&s->core, 50);
    info->latency_p99_ns = colo_compare_latency_percentile(&s->core, 99);
    info->out_queued_bytes = s->out_bytes;
    info->out_stalls = s->out_stalls;
    info->broken_streams = s->broken_streams;

    while (*tail) {
        tail = &(*tail)->next;
    }
    *tail = g_new0(ColoCompareInfoList, 1);
    (*tail)->value = info;
}

/* ---- the object ---- */

static bool cc_check_props(ColoCompareObject *cc, Error **errp)
{
    const char *ids[] = { cc->primary_in, cc->secondary_in, cc->outdev };
    const char *names[] = { "primary_in", "secondary_in", "outdev" };

    if (cc->notify_dev) {
        error_setg(errp, "colo-compare: notify_dev is for Xen COLO, which "
                   "Tandem does not support");
        return false;
    }
    for (int i = 0; i < 3; i++) {
        for (int j = i + 1; j < 3; j++) {
            if (!strcmp(ids[i], ids[j])) {
                error_setg(errp, "colo-compare: '%s' and '%s' must be "
                           "different chardevs (both are '%s')", names[i],
                           names[j], ids[i]);
                return false;
            }
        }
    }
    return true;
}

static Chardev *cc_find_chardev(const char *prop, const char *id,
                                Error **errp)
{
    Chardev *chr = chardev_find(id);

    if (!chr) {
        error_setg(errp, "colo-compare: %s: chardev '%s' not found", prop,
                   id);
    }
    return chr;
}

static void cc_job_start_scan(ColoCompareObject *cc, void *arg)
{
    cc->scan = g_timeout_source_new(cc->expired_scan_cycle);
    g_source_set_callback(cc->scan, cc_scan, cc, NULL);
    g_source_attach(cc->scan, cc->ctx);
}

/* The three frontends, on the iothread's context; all or none. */
static bool cc_attach(ColoCompareObject *cc, Error **errp)
{
    ChardevFrontend fe[CC_INPUTS + 1];
    Chardev *chr[CC_INPUTS + 1] = {
        cc->in[CC_PRIMARY].chr, cc->in[CC_SECONDARY].chr, cc->out_chr,
    };

    for (int i = 0; i < CC_INPUTS; i++) {
        fe[i] = (ChardevFrontend) {
            .can_receive = cc_can_receive,
            .receive = cc_receive,
            .event = cc_in_event,
            .opaque = &cc->in[i],
            .context = cc->ctx,
            .name = cc->in[i].name,
        };
    }
    /* outdev is only written: no receive, so its input is never read */
    fe[CC_INPUTS] = (ChardevFrontend) {
        .event = cc_out_event,
        .opaque = cc,
        .context = cc->ctx,
        .name = "outdev",
    };
    for (int i = 0; i <= CC_INPUTS; i++) {
        if (!chardev_attach_frontend(chr[i], &fe[i], errp)) {
            error_prepend(errp, "colo-compare: ");
            while (i--) {
                chardev_detach_frontend(chr[i]);
            }
            return false;
        }
    }
    return true;
}

static bool cc_complete(Object *obj, Error **errp)
{
    ColoCompareObject *cc = (ColoCompareObject *)obj;
    ColoCompareConfig cfg = {
        .compare_timeout_ns = cc->compare_timeout * 1000000ull,
        .max_queue_size = cc->max_queue_size,
        .max_connections = COLO_COMPARE_MAX_CONNS,
        .release = cc_release,
        .opaque = cc,
    };
    Chardev *chr[CC_INPUTS];

    if (!cc_check_props(cc, errp)) {
        return false;
    }
    chr[CC_PRIMARY] = cc_find_chardev("primary_in", cc->primary_in, errp);
    if (!chr[CC_PRIMARY]) {
        return false;
    }
    chr[CC_SECONDARY] = cc_find_chardev("secondary_in", cc->secondary_in,
                                        errp);
    if (!chr[CC_SECONDARY]) {
        return false;
    }
    cc->out_chr = cc_find_chardev("outdev", cc->outdev, errp);
    if (!cc->out_chr) {
        return false;
    }
    cc->iot = iothread_find(cc->iothread, errp);
    if (!cc->iot) {
        error_prepend(errp, "colo-compare: ");
        return false;
    }

    cc->ctx = iothread_get_context(cc->iot);
    cc->core = colo_compare_new(&cfg);
    cc->held_max = MAX((uint64_t)cc->max_queue_size *
                       COLO_COMPARE_HELD_FACTOR, COLO_COMPARE_HELD_MIN);
    g_queue_init(&cc->outq);
    cc->out_scratch = g_malloc(COLO_COMPARE_OUT_BATCH);
    cc->comparing = colo_mode() == COLO_MODE_PRIMARY ||
                    cc->compare_outside_colo;
    for (int i = 0; i < CC_INPUTS; i++) {
        ColoCompareInput *in = &cc->in[i];

        in->cc = cc;
        in->primary = i == CC_PRIMARY;
        in->name = in->primary ? "primary_in" : "secondary_in";
        in->chr = chr[i];
        net_frame_decoder_init(&in->dec, cc->vnet_hdr_support,
                               COLO_COMPARE_FRAME_MAX);
    }
    /* From here on the iothread runs the callbacks. */
    if (!cc_attach(cc, errp)) {
        for (int i = 0; i < CC_INPUTS; i++) {
            net_frame_decoder_destroy(&cc->in[i].dec);
        }
        colo_compare_free(g_steal_pointer(&cc->core));
        g_free(cc->out_scratch);
        return false;
    }
    iothread_ref(cc->iot);
    cc_run_sync(cc, cc_job_start_scan, NULL);
    colo_notifier_add(cc_colo_notify, cc);
    colo_stats_provider_add(cc_stats, cc);
    cc->registered = true;
    trace_colo_compare_new(obj->id, cc->primary_in, cc->secondary_in,
                           cc->outdev, cc->iothread);
    return true;
}

/* The last of the iothread's part: what is held goes out, as QEMU does
 * on deletion (this is the primary's failover path). */
static void cc_job_teardown(ColoCompareObject *cc, void *arg)
{
    ColoCompareOut *o;
    size_t lost = 0;

    if (cc->scan) {
        g_source_destroy(cc->scan);
        g_source_unref(cc->scan);
        cc->scan = NULL;
    }
    colo_compare_flush(cc->core, cc_now());
    /* What the reader takes now; no watch (it would outlive us). */
    while (!g_queue_is_empty(&cc->outq) &&
           chardev_is_connected(cc->out_chr)) {
        size_t len;
        const uint8_t *buf = cc_out_gather(cc, &len);
        ssize_t n = chardev_write_nowait(cc->out_chr, buf, len);

        if (n <= 0) {
            break;
        }
        cc_out_consume(cc, n);
        if ((size_t)n < len) {
            break;
        }
    }
    while ((o = g_queue_pop_head(&cc->outq))) {
        lost++;
        g_free(o);
    }
    cc->out_bytes = 0;
    if (lost) {
        warn_report("colo-compare %s: deleted with %zu frames the outdev "
                    "reader had not taken; they are dropped (the first "
                    "may be cut short)", cc->parent.id, lost);
    }
}

static void cc_finalize(Object *obj)
{
    ColoCompareObject *cc = (ColoCompareObject *)obj;

    if (cc->registered) {
        colo_stats_provider_remove(cc_stats, cc);
        colo_notifier_remove(cc_colo_notify, cc);
    }
    if (!cc->core) {
        return;     /* complete() failed before anything was set up */
    }
    /* No input callback runs after these. */
    for (int i = 0; i < CC_INPUTS; i++) {
        chardev_detach_frontend(cc->in[i].chr);
    }
    chardev_detach_frontend(cc->out_chr);
    cc_run_sync(cc, cc_job_teardown, NULL);
    trace_colo_compare_delete(obj->id);
    for (int i = 0; i < CC_INPUTS; i++) {
        net_frame_decoder_destroy(&cc->in[i].dec);
    }
    colo_compare_free(cc->core);
    g_free(cc->out_scratch);
    iothread_unref(cc->iot);
}

#define CC_PROP_CHARDEV(n, field, d) \
    { .name = (n), .type = OBJ_PROP_STR, \
      .offset = offsetof(ColoCompareObject, field), .desc = (d), \
      .required = true }

static const ObjectProperty cc_props[] = {
    CC_PROP_CHARDEV("primary_in", primary_in,
                    "chardev id: the primary's guest output (framed)"),
    CC_PROP_CHARDEV("secondary_in", secondary_in,
                    "chardev id: the secondary's guest output (framed)"),
    CC_PROP_CHARDEV("outdev", outdev,
                    "chardev id: where released primary frames go"),
    CC_PROP_CHARDEV("iothread", iothread,
                    "iothread id: the thread that compares"),
    OBJ_PROP("notify_dev", OBJ_PROP_STR, ColoCompareObject, notify_dev,
             "Xen COLO's notification chardev (refused)"),
    OBJ_PROP("vnet_hdr_support", OBJ_PROP_BOOL, ColoCompareObject,
             vnet_hdr_support,
             "frames carry a vnet header length word (default off)"),
    OBJ_PROP("x-compare-outside-colo", OBJ_PROP_BOOL, ColoCompareObject,
             compare_outside_colo,
             "compare even with no COLO run, holding what differs "
             "(default off: frames pass uncompared outside a run)"),
    OBJ_PROP_RANGE("compare_timeout", OBJ_PROP_UINT, ColoCompareObject,
                   compare_timeout,
                   "ms a primary frame may wait for its twin before a "
                   "checkpoint", 1, UINT64_MAX / 1000000, "3000"),
    OBJ_PROP_RANGE("expired_scan_cycle", OBJ_PROP_UINT32, ColoCompareObject,
                   expired_scan_cycle,
                   "ms between two scans for frames past compare_timeout",
                   1, UINT32_MAX, "1000"),
    OBJ_PROP_RANGE("max_queue_size", OBJ_PROP_UINT32, ColoCompareObject,
                   max_queue_size,
                   "frames per connection queue before a checkpoint",
                   1, UINT32_MAX, "1024"),
    { NULL },
};

static const TypeInfo colo_compare_type_info = {
    .name = "colo-compare",
    .parent = "object",
    .description = "COLO: compares the primary's and the secondary's "
                   "network output",
    .user_creatable = true,
    .late = true,
    .instance_size = sizeof(ColoCompareObject),
    .props = cc_props,
    .complete = cc_complete,
    .finalize = cc_finalize,
};
TYPE_REGISTER(colo_compare_type_info)
