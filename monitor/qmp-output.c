/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The output queue of one QMP monitor; see qmp-output.h for the rules.
 *
 * Every message is queued whole and written with chardev_write_nowait()
 * right away; what the connection does not take now waits for a one-shot
 * writable watch on the monitor I/O thread. Nothing here ever waits for
 * the client, so an event emitted by a vCPU, migration or COLO thread
 * costs a formatted string and a non-blocking send, whatever the client
 * is doing.
 *
 *   queued bytes:  0 ........ SOFT_BOUND ................ HARD_BOUND
 *                  | replies and events |  events dropped  | disconnect
 *                  | (run-state events  |  input paused    | (owed bytes)
 *                  |  cancel in pairs)  |                  |
 */
#include <inttypes.h>
#include <string.h>
#include "util/error.h"
#include "qmp-output.h"
#include "trace.h"

/* What a message is, for the backlog rules. */
typedef enum QmpOutKind {
    QMP_OUT_REPLY,          /* owed to the client: never dropped */
    QMP_OUT_EVENT,
    QMP_OUT_EVENT_STOP,     /* run-state events: a pending STOP and */
    QMP_OUT_EVENT_RESUME,   /* RESUME cancel each other */
} QmpOutKind;

typedef struct QmpOutMessage {
    char *text;
    size_t len;
    size_t sent;            /* bytes already taken by the connection */
    QmpOutKind kind;
} QmpOutMessage;

struct QmpOutput {
    Chardev *chr;
    GMainContext *ctx;      /* where the writable watch runs */

    /* lock guards everything below; taken after the monitor's lock. */
    GMutex lock;
    GQueue queue;           /* QmpOutMessage, oldest first */
    size_t queued;          /* bytes not yet taken */
    size_t dropped;         /* event bytes dropped since the last progress */
    uint64_t events_dropped;    /* in this drop episode, for the log line */
    bool watching;          /* a writable watch is armed */
    bool input_paused;      /* the monitor was told to stop reading */
    bool closing;           /* disconnected for not reading: discard */
};

static void qmp_out_message_free(QmpOutMessage *m)
{
    g_free(m->text);
    g_free(m);
}

static void qmp_output_clear_locked(QmpOutput *out)
{
    QmpOutMessage *m;

    while ((m = g_queue_pop_head(&out->queue))) {
        qmp_out_message_free(m);
    }
    out->queued = 0;
    out->dropped = 0;
    out->events_dropped = 0;
}

static void qmp_output_writable(void *opaque);

/*
 * Writes what the connection takes now. Returns true when the backlog
 * fell under half the soft bound while input was paused: the caller then
 * lets the monitor read again (outside the lock). Only the writable watch
 * acts on it: an emitter may hold the monitor's lock, which letting input
 * in takes. While input is paused the queue was over the soft bound, so a
 * watch is armed and fires once the client reads, even if an emitter's
 * flush drained the queue first.
 */
static bool qmp_output_flush_locked(QmpOutput *out)
{
    QmpOutMessage *m;
    bool progress = false;

    while ((m = g_queue_peek_head(&out->queue))) {
        ssize_t n = chardev_write_nowait(out->chr,
                                         (const uint8_t *)m->text + m->sent,
                                         m->len - m->sent);

        if (n < 0) {
            /* The connection is gone; CLOSED follows on the I/O thread. */
            qmp_output_clear_locked(out);
            return false;
        }
        if (n == 0) {
            break;
        }
        progress = true;
        m->sent += n;
        out->queued -= n;
        if (m->sent == m->len) {
            qmp_out_message_free(g_queue_pop_head(&out->queue));
        }
    }
    if (progress) {
        out->dropped = 0;
        if (out->events_dropped && out->queued < QMP_OUTPUT_SOFT_BOUND) {
            warn_report("QMP client on chardev '%s' reads again; %" PRIu64
                        " events were dropped", out->chr->id,
                        out->events_dropped);
            out->events_dropped = 0;
        }
    }
    if (!g_queue_is_empty(&out->queue) && !out->watching) {
        out->watching = chardev_watch_writable(out->chr, out->ctx,
                                               qmp_output_writable, out);
    }
    if (out->input_paused && out->queued < QMP_OUTPUT_SOFT_BOUND / 2) {
        out->input_paused = false;
        return true;
    }
    return false;
}

/* Monitor I/O thread: the connection has room again. */
static void qmp_output_writable(void *opaque)
{
    QmpOutput *out = opaque;
    bool resume_input;

    g_mutex_lock(&out->lock);
    out->watching = false;
    resume_input = qmp_output_flush_locked(out);
    g_mutex_unlock(&out->lock);
    if (resume_input) {
        chardev_accept_input(out->chr);
    }
}

/* Past the hard bound: the client is cut off rather than fed forever. */
static void qmp_output_disconnect_locked(QmpOutput *out)
{
    warn_report("QMP client on chardev '%s' is not reading its output "
                "(%zu bytes owed); disconnecting it", out->chr->id,
                out->queued + out->dropped);
    trace_qmp_output_disconnect(out->chr->id, out->queued, out->dropped);
    qmp_output_clear_locked(out);
    out->closing = true;
    chardev_disconnect(out->chr);
}

static void qmp_output_append_locked(QmpOutput *out, char *text,
                                     QmpOutKind kind)
{
    QmpOutMessage *m = g_new0(QmpOutMessage, 1);

    m->text = text;
    m->len = strlen(text);
    m->kind = kind;
    g_queue_push_tail(&out->queue, m);
    out->queued += m->len;
    if (out->queued + out->dropped > QMP_OUTPUT_HARD_BOUND) {
        qmp_output_disconnect_locked(out);
        return;
    }
    qmp_output_flush_locked(out);
}

/*
 * A run-state event that undoes the last queued one, which the client has
 * not started to receive: both go, and the client's view ends in the
 * same state. Only possible with a backlog (else the queue is empty).
 */
static bool qmp_output_cancels_tail_locked(QmpOutput *out, QmpOutKind kind)
{
    QmpOutMessage *tail = g_queue_peek_tail(&out->queue);

    if (!tail || tail->sent ||
        !((kind == QMP_OUT_EVENT_STOP && tail->kind == QMP_OUT_EVENT_RESUME) ||
          (kind == QMP_OUT_EVENT_RESUME && tail->kind == QMP_OUT_EVENT_STOP))) {
        return false;
    }
    out->queued -= tail->len;
    qmp_out_message_free(g_queue_pop_tail(&out->queue));
    return true;
}

QmpOutput *qmp_output_new(Chardev *chr, GMainContext *ctx)
{
    QmpOutput *out = g_new0(QmpOutput, 1);

    out->chr = chr;
    out->ctx = ctx;
    g_mutex_init(&out->lock);
    g_queue_init(&out->queue);
    return out;
}

void qmp_output_free(QmpOutput *out)
{
    /* The chardev dropped its writable watch when the monitor detached. */
    qmp_output_clear_locked(out);
    g_mutex_clear(&out->lock);
    g_free(out);
}

void qmp_output_reset(QmpOutput *out)
{
    g_mutex_lock(&out->lock);
    qmp_output_clear_locked(out);
    out->closing = false;
    out->input_paused = false;
    /* A watch of the old connection was dropped with it. */
    out->watching = false;
    g_mutex_unlock(&out->lock);
}

void qmp_output_reply(QmpOutput *out, char *text)
{
    g_mutex_lock(&out->lock);
    if (out->closing) {
        g_free(text);
    } else {
        qmp_output_append_locked(out, text, QMP_OUT_REPLY);
    }
    g_mutex_unlock(&out->lock);
}

void qmp_output_event(QmpOutput *out, char *text, const char *name)
{
    QmpOutKind kind = !strcmp(name, "STOP") ? QMP_OUT_EVENT_STOP :
                      !strcmp(name, "RESUME") ? QMP_OUT_EVENT_RESUME :
                      QMP_OUT_EVENT;

    g_mutex_lock(&out->lock);
    if (out->closing) {
        g_free(text);
    } else if (kind != QMP_OUT_EVENT &&
               qmp_output_cancels_tail_locked(out, kind)) {
        trace_qmp_output_event_cancelled(out->chr->id, name);
        g_free(text);
    } else if (out->queued >= QMP_OUTPUT_SOFT_BOUND) {
        if (!out->events_dropped++) {
            warn_report("QMP client on chardev '%s' is not reading its "
                        "output (%zu bytes queued); dropping events",
                        out->chr->id, out->queued);
        }
        trace_qmp_output_event_dropped(out->chr->id, name, out->queued);
        out->dropped += strlen(text);
        g_free(text);
        if (out->queued + out->dropped > QMP_OUTPUT_HARD_BOUND) {
            qmp_output_disconnect_locked(out);
        }
    } else {
        qmp_output_append_locked(out, text, kind);
    }
    g_mutex_unlock(&out->lock);
}

bool qmp_output_backlogged(QmpOutput *out)
{
    bool full;

    g_mutex_lock(&out->lock);
    full = out->queued >= QMP_OUTPUT_SOFT_BOUND;
    if (full) {
        out->input_paused = true;
    }
    g_mutex_unlock(&out->lock);
    return full;
}
