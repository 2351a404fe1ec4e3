/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hold stage on the output path of guest front ends (drawn in
 * include/chardev/char-hold.h) and the front-end write that passes it.
 * A stage is a front end's identity (chardev + opaque, as detach knows it)
 * plus an on/off switch; the bytes a holder keeps live with the holder.
 * The stages are few (one per serial port), so a write finds its stage by
 * a short scan.
 */
#include "chardev/char-hold.h"
#include "trace.h"

struct ChardevHoldStage {
    Chardev *chr;
    const void *fe_opaque;
    char *name;
    bool active;
    void *state;                /* the holder's, from ops->add */
};

/* Every stage, in attach order; and the holder, if one is installed. */
static struct {
    GPtrArray *stages;
    const ChardevHoldOps *ops;
} hold;

ChardevHoldStage *chardev_hold_find(Chardev *chr, const void *fe_opaque)
{
    for (guint i = 0; hold.stages && i < hold.stages->len; i++) {
        ChardevHoldStage *stage = g_ptr_array_index(hold.stages, i);

        if (stage->chr == chr && stage->fe_opaque == fe_opaque) {
            return stage;
        }
    }
    return NULL;
}

void *chardev_hold_state(const ChardevHoldStage *stage)
{
    return stage->state;
}

const char *chardev_hold_name(const ChardevHoldStage *stage)
{
    return stage->name;
}

bool chardev_hold_active(const ChardevHoldStage *stage)
{
    return stage->active;
}

void chardev_hold_set_active(ChardevHoldStage *stage, bool active)
{
    if (stage->active != active) {
        stage->active = active;
        trace_chardev_hold_active(stage->name, active);
    }
}

size_t chardev_hold_release(ChardevHoldStage *stage, const uint8_t *buf,
                            size_t len)
{
    return chardev_write_all(stage->chr, buf, len);
}

size_t chardev_frontend_write(Chardev *chr, const void *fe_opaque,
                              const uint8_t *buf, size_t len)
{
    ChardevHoldStage *stage = chardev_hold_find(chr, fe_opaque);

    if (stage && stage->active) {
        hold.ops->write(stage->state, buf, len);
        return len;
    }
    return chardev_write_all(chr, buf, len);
}

/* ---- the holder ---- */

void chardev_hold_install(const ChardevHoldOps *ops)
{
    g_assert(!hold.ops);
    hold.ops = ops;
    for (guint i = 0; hold.stages && i < hold.stages->len; i++) {
        ChardevHoldStage *stage = g_ptr_array_index(hold.stages, i);

        stage->state = ops->add(stage);
    }
}

/* ---- front ends come and go ---- */

void chardev_hold_attach(Chardev *chr, const ChardevFrontend *fe)
{
    ChardevHoldStage *stage;

    if (!fe->guest_output) {
        return;
    }
    stage = g_new0(ChardevHoldStage, 1);
    stage->chr = chr;
    stage->fe_opaque = fe->opaque;
    stage->name = g_strdup(fe->name ? fe->name : chr->id);
    if (!hold.stages) {
        hold.stages = g_ptr_array_new();
    }
    g_ptr_array_add(hold.stages, stage);
    trace_chardev_hold_stage(stage->name, chr->id, "attach");
    if (hold.ops) {
        stage->state = hold.ops->add(stage);
    }
}

void chardev_hold_detach(Chardev *chr)
{
    for (guint i = 0; hold.stages && i < hold.stages->len;) {
        ChardevHoldStage *stage = g_ptr_array_index(hold.stages, i);

        if (stage->chr != chr) {
            i++;
            continue;
        }
        g_ptr_array_remove_index(hold.stages, i);
        trace_chardev_hold_stage(stage->name, chr->id, "detach");
        if (hold.ops) {
            hold.ops->remove(stage, stage->state);
        }
        g_free(stage->name);
        g_free(stage);
    }
}
