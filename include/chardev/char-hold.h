/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hold stage: a point on the output path of every guest front end
 * (a device model that attached with ChardevFrontend.guest_output) where
 * its bytes can be kept back instead of reaching the backend. The chardev
 * layer only provides the stage; what is kept, for how long and when it
 * goes out is the business of one holder, which installs its ops here.
 * (COLO's output commit, migration/colo-output.c, is that holder: the
 * dependency runs from it to here, never back.)
 *
 *   front end --chardev_frontend_write()--> [stage] --> backend
 *                                              |  active: ops->write()
 *                                              |  keeps the bytes; the
 *                                              |  holder later sends them
 *                                              |  with chardev_hold_release()
 *                                              |  inactive: straight through
 *
 * A stage exists from the front end's attach to its detach, one per guest
 * front end (several share one chardev behind a mux; host front ends such
 * as monitors get none: their bytes are the host's, never the guest's). It
 * starts inactive; only the holder turns it on and off.
 *
 * Locking: the BQL, for everything here: guest front ends write with it
 * held (a vCPU thread handles its exit under it), the holder's ops run
 * under it, and stages come and go with attach/detach on the main loop.
 */
#ifndef CHARDEV_CHAR_HOLD_H
#define CHARDEV_CHAR_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chardev/char.h"

typedef struct ChardevHoldStage ChardevHoldStage;

typedef struct ChardevHoldOps {
    /*
     * A guest front end attached (or was attached already when the ops
     * were installed). Returns the holder's state for its stage.
     */
    void *(*add)(ChardevHoldStage *stage);
    /*
     * Its front end detaches: no write passes the stage after this, and
     * nothing can be released through it any more. Whatever the holder
     * still keeps is its to drop.
     */
    void (*remove)(ChardevHoldStage *stage, void *state);
    /* A write through an active stage: the holder takes all of buf. */
    void (*write)(void *state, const uint8_t *buf, size_t len);
} ChardevHoldOps;

/*
 * One holder, for the life of the process (installing a second aborts);
 * installing calls add() for every stage that already exists.
 */
void chardev_hold_install(const ChardevHoldOps *ops);

/* For the holder: turn a stage on (writes go to ops->write) or off. */
void chardev_hold_set_active(ChardevHoldStage *stage, bool active);
bool chardev_hold_active(const ChardevHoldStage *stage);
/* Kept bytes on to the backend, past the stage. Returns bytes written. */
size_t chardev_hold_release(ChardevHoldStage *stage, const uint8_t *buf,
                            size_t len);
/* The front end's name (ChardevFrontend.name, else the chardev id). */
const char *chardev_hold_name(const ChardevHoldStage *stage);

/* The stage of a front end and the holder's state for it (NULL: none). */
ChardevHoldStage *chardev_hold_find(Chardev *chr, const void *fe_opaque);
void *chardev_hold_state(const ChardevHoldStage *stage);

/* For char.c: a front end attached / every front end of chr detaches. */
void chardev_hold_attach(Chardev *chr, const ChardevFrontend *fe);
void chardev_hold_detach(Chardev *chr);

#endif
