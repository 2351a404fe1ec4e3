/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO output commit for character output (the UART, and any guest front
 * end of a chardev): nothing the guest emits reaches the outside world
 * before the secondary could reproduce it (ARCHITECTURE.md §5).
 *
 * COLO attaches; devices do not call. The chardev layer puts a hold stage
 * on the output path of every guest front end (include/chardev/char-hold.h)
 * and this file is its holder: a ColoOutput per stage, made when the front
 * end attaches and freed when it detaches. The stage is on exactly while
 * a COLO run is (START to FAILOVER), so outside a run bytes go straight
 * through without reaching this file. Host front ends (monitors, qtest)
 * have no stage: their replies are never held.
 *
 * An epoch is what the guest emits between two checkpoints. Per output:
 *
 *   primary (PVM)
 *     write                 append to current
 *     CHECKPOINT_STOP(k)    guest stopped: current is epoch k, append it
 *                           to sealed
 *     CHECKPOINT_RECEIVED   the SVM holds checkpoint k: write sealed
 *     FAILOVER              write sealed, then current; pass through
 *   secondary (SVM)
 *     write                 append to current (the SVM's own epoch)
 *     CHECKPOINT_LOADED(k)  the SVM is now the PVM at STOP(k): its own
 *                           output since the last checkpoint is
 *                           superseded (the PVM writes its version of
 *                           that epoch), discard current
 *     FAILOVER              write current; pass through
 *   no COLO run             stage off: straight through (one scan of
 *                           the few stages, one branch)
 *
 * Why a reader sees neither a duplicated nor a missing byte:
 *   - the secondary is lost: the PVM's file holds every epoch whose
 *     checkpoint was received, and FAILOVER writes the rest in order; the
 *     secondary's file holds nothing of the COLO run.
 *   - the primary is lost and the SVM takes over at checkpoint k (the
 *     last one it loaded): the PVM's file ends with epoch k, because it
 *     wrote epoch k at vmstate-received(k) and never wrote epoch k+1
 *     (that needs vmstate-received(k+1), which the SVM sends only when it
 *     holds checkpoint k+1, and a checkpoint it holds it also loads). The
 *     SVM's file then starts at its state k: the stream continues.
 *   The one window the protocol leaves: the PVM dies after the SVM sent
 *   vmstate-received(k) and before the PVM wrote epoch k (sub-millisecond:
 *   one message and one write()). Epoch k is then lost from the stream.
 *   No scheme can close it without a shared record of what was written.
 *
 * Memory: held bytes are bounded. On the primary more than
 * COLO_OUTPUT_TRIGGER_BYTES held asks for a checkpoint (once per epoch),
 * which releases them; on either side bytes beyond COLO_OUTPUT_MAX_BYTES
 * are dropped and counted (traced, and one warning per run). A dropped
 * byte breaks the guarantee above, knowingly: a guest that out-writes the
 * checkpoints must not take the host's memory.
 *
 * Locking: the BQL. Device writes hold it (a vCPU thread handles its exit
 * under the BQL; the main loop dispatches under it) and so does every
 * COLO notifier and every call of the hold stage. The notifier is one for
 * all outputs, so the outputs are listed here; the list changes only when
 * front ends attach or detach (machine set-up and tear-down). Both the
 * notifier and the holder are installed once, at start-up (a constructor,
 * as types register theirs), before any front end attaches.
 * A side that is quitting while its COLO run ends gets FAILOVER too: the
 * primary still writes what it held (the guest's output up to the quit),
 * the secondary drops it (its SVM never runs on, so its output is no
 * one's).
 */
#include <inttypes.h>
#include <glib.h>
#include "chardev/char-hold.h"
#include "colo-internal.h"
#include "migration/colo-output.h"
#include "trace.h"

struct ColoOutput {
    ChardevHoldStage *stage;    /* on exactly when mode is not none */
    const char *name;           /* the stage's */
    COLOMode mode;              /* none: pass through */
    GByteArray *current;        /* this epoch (both sides) */
    GByteArray *sealed;         /* primary: epochs stopped, not received */
    bool trigger_asked;         /* primary: a checkpoint asked this epoch */
    bool warned;                /* the drop warning of this run is out */
    uint64_t dropped;           /* this run */
};

/* Every output, for the one notifier; and the mode new outputs start in. */
static struct {
    GPtrArray *outputs;
    COLOMode mode;
} colo_outputs;

size_t colo_output_held(const ColoOutput *o)
{
    return o->current->len + o->sealed->len;
}

uint64_t colo_output_dropped(const ColoOutput *o)
{
    return o->dropped;
}

/* ---- moving held bytes ---- */

/* A large buffer does not stay allocated after a burst. */
static void colo_output_empty(GByteArray **a)
{
    if ((*a)->len > COLO_OUTPUT_TRIGGER_BYTES) {
        g_byte_array_unref(*a);
        *a = g_byte_array_new();
    } else {
        g_byte_array_set_size(*a, 0);
    }
}

static void colo_output_release(ColoOutput *o, GByteArray **a,
                                const char *why)
{
    if (!(*a)->len) {
        return;
    }
    trace_colo_output_release(o->name, (*a)->len, why);
    chardev_hold_release(o->stage, (*a)->data, (*a)->len);
    colo_output_empty(a);
}

static void colo_output_discard(ColoOutput *o, GByteArray **a,
                                const char *why)
{
    if (!(*a)->len) {
        return;
    }
    trace_colo_output_discard(o->name, (*a)->len, why);
    colo_output_empty(a);
}

/* Primary: epoch k is over; it waits in sealed for its checkpoint. */
static void colo_output_seal(ColoOutput *o)
{
    trace_colo_output_seal(o->name, o->current->len, o->sealed->len);
    if (!o->sealed->len) {
        GByteArray *t = o->sealed;

        o->sealed = o->current;
        o->current = t;
    } else {
        /* Only after a checkpoint that failed between STOP and
         * RECEIVED, and then FAILOVER comes next: never hot. */
        g_byte_array_append(o->sealed, o->current->data, o->current->len);
        colo_output_empty(&o->current);
    }
}

/* Over the cap: count, trace, warn once a run. */
static void colo_output_drop(ColoOutput *o, size_t len)
{
    o->dropped += len;
    trace_colo_output_drop(o->name, len, o->dropped);
    if (!o->warned) {
        o->warned = true;
        warn_report("COLO: %s: more than %u bytes of guest output held; "
                    "dropping output until the next checkpoint", o->name,
                    COLO_OUTPUT_MAX_BYTES);
    }
}

static void colo_output_hold(ColoOutput *o, const uint8_t *buf, size_t len)
{
    size_t held = colo_output_held(o);
    size_t take = held < COLO_OUTPUT_MAX_BYTES ?
                  MIN(len, COLO_OUTPUT_MAX_BYTES - held) : 0;

    if (!o->current->len && take) {
        trace_colo_output_hold(o->name, COLOMode_str(o->mode));
    }
    g_byte_array_append(o->current, buf, take);
    if (take < len) {
        colo_output_drop(o, len - take);
    }
    held += take;
    if (o->mode == COLO_MODE_PRIMARY && !o->trigger_asked &&
        held > COLO_OUTPUT_TRIGGER_BYTES) {
        o->trigger_asked = colo_checkpoint_trigger(COLO_TRIGGER_REQUEST);
        trace_colo_output_trigger(o->name, held, o->trigger_asked);
    }
}

/* ---- checkpoint events ---- */

/* The one place the mode changes: the stage follows it. */
static void colo_output_set_mode(ColoOutput *o, COLOMode mode)
{
    o->mode = mode;
    chardev_hold_set_active(o->stage, mode != COLO_MODE_NONE);
}

/* The run ends on this side: what is held goes out (or, for a quitting
 * secondary, nowhere), then bytes pass through. */
static void colo_output_end_run(ColoOutput *o)
{
    if (o->mode == COLO_MODE_SECONDARY && colo_quitting(colo_current())) {
        colo_output_discard(o, &o->current, "quit");
    } else {
        colo_output_release(o, &o->sealed, "failover");
        colo_output_release(o, &o->current, "failover");
    }
    colo_output_set_mode(o, COLO_MODE_NONE);
}

static void colo_output_start_run(ColoOutput *o, COLOMode mode)
{
    if (o->mode != COLO_MODE_NONE) {
        colo_output_end_run(o);     /* a run that ended without FAILOVER */
    }
    colo_output_set_mode(o, mode);
    o->dropped = 0;
    o->warned = false;
    o->trigger_asked = false;
    trace_colo_output_start(o->name, COLOMode_str(mode));
}

static void colo_output_event(ColoOutput *o, ColoEvent ev, COLOMode mode)
{
    switch (ev) {
    case COLO_EVENT_START:
        colo_output_start_run(o, mode);
        break;
    case COLO_EVENT_CHECKPOINT_STOP:
        if (o->mode == COLO_MODE_PRIMARY) {
            colo_output_seal(o);
        }
        break;
    case COLO_EVENT_CHECKPOINT_RECEIVED:
        if (o->mode == COLO_MODE_PRIMARY) {
            colo_output_release(o, &o->sealed, "checkpoint");
            o->trigger_asked = false;
        }
        break;
    case COLO_EVENT_CHECKPOINT_LOADED:
        if (o->mode == COLO_MODE_SECONDARY) {
            colo_output_discard(o, &o->current, "checkpoint");
        }
        break;
    case COLO_EVENT_FAILOVER:
        if (o->mode != COLO_MODE_NONE) {
            colo_output_end_run(o);
        }
        break;
    }
}

static void colo_output_notify(ColoEvent ev, COLOMode mode, void *opaque)
{
    if (ev == COLO_EVENT_START) {
        colo_outputs.mode = mode;
    } else if (ev == COLO_EVENT_FAILOVER) {
        colo_outputs.mode = COLO_MODE_NONE;
    }
    for (guint i = 0; i < colo_outputs.outputs->len; i++) {
        colo_output_event(g_ptr_array_index(colo_outputs.outputs, i), ev,
                          mode);
    }
}

/* ---- life cycle: the holder of the chardev hold stages ---- */

/* A guest front end attached. */
static void *colo_output_new(ChardevHoldStage *stage)
{
    ColoOutput *o = g_new0(ColoOutput, 1);

    o->stage = stage;
    o->name = chardev_hold_name(stage);
    o->current = g_byte_array_new();
    o->sealed = g_byte_array_new();
    /* Attached during a run: its bytes from now on belong to this epoch. */
    colo_output_set_mode(o, colo_outputs.mode);
    g_ptr_array_add(colo_outputs.outputs, o);
    return o;
}

/* Its front end detaches: whatever is still held is discarded (the
 * machine is going away, and every COLO run with it). */
static void colo_output_free(ChardevHoldStage *stage, void *opaque)
{
    ColoOutput *o = opaque;

    g_ptr_array_remove(colo_outputs.outputs, o);
    colo_output_discard(o, &o->sealed, "free");
    colo_output_discard(o, &o->current, "free");
    g_byte_array_unref(o->current);
    g_byte_array_unref(o->sealed);
    g_free(o);
}

/* A write through an active stage, i.e. during a run. */
static void colo_output_write(void *opaque, const uint8_t *buf, size_t len)
{
    colo_output_hold(opaque, buf, len);
}

static const ChardevHoldOps colo_output_ops = {
    .add = colo_output_new,
    .remove = colo_output_free,
    .write = colo_output_write,
};

ColoOutput *colo_output_find(Chardev *chr, const void *fe_opaque)
{
    ChardevHoldStage *stage = chardev_hold_find(chr, fe_opaque);

    return stage ? chardev_hold_state(stage) : NULL;
}

__attribute__((constructor)) static void colo_output_init(void)
{
    colo_outputs.outputs = g_ptr_array_new();
    colo_notifier_add(colo_output_notify, NULL);
    chardev_hold_install(&colo_output_ops);
}
