/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO output commit for what guest front ends (the UART) write to their
 * chardevs. Devices do not call it: they write with
 * chardev_frontend_write(), and this module, as the holder of the chardev
 * hold stage (include/chardev/char-hold.h), keeps a ColoOutput for every
 * guest front end from its attach to its detach. Outside COLO the bytes
 * go straight through; under COLO they are held until the secondary could
 * reproduce them (the primary) or dropped when a checkpoint supersedes
 * them (the secondary). The rules and the proof that a reader sees no
 * duplicated and no missing byte after a failover are at the top of
 * migration/colo-output.c.
 *
 * Locking: every call, like the COLO notifiers that move the held bytes,
 * runs with the BQL held.
 */
#ifndef MIGRATION_COLO_OUTPUT_H
#define MIGRATION_COLO_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include "chardev/char.h"

typedef struct ColoOutput ColoOutput;

/* Primary: held bytes above this ask for a checkpoint (which frees them). */
#define COLO_OUTPUT_TRIGGER_BYTES   (1u << 20)
/* Either side: held bytes never exceed this; the rest is dropped. */
#define COLO_OUTPUT_MAX_BYTES       (16u << 20)

/* The output of the guest front end fe_opaque on chr (NULL: none). */
ColoOutput *colo_output_find(Chardev *chr, const void *fe_opaque);
/* Bytes held now (tests, statistics). */
size_t colo_output_held(const ColoOutput *o);
/* Bytes dropped over COLO_OUTPUT_MAX_BYTES in the current (or last) run. */
uint64_t colo_output_dropped(const ColoOutput *o);

#endif
