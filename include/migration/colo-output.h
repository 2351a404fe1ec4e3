/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO output commit for a guest device's character output (the UART).
 * A device writes through a ColoOutput instead of straight to its
 * chardev; outside COLO the bytes go straight through, under COLO they
 * are held until the secondary could reproduce them (the primary) or
 * dropped when a checkpoint supersedes them (the secondary). The rules
 * and the proof that a reader sees no duplicated and no missing byte
 * after a failover are at the top of migration/colo-output.c.
 *
 * Locking: every call, like the COLO notifiers that move the held bytes,
 * runs with the BQL held (device register handlers do: vCPU threads
 * hold it while handling an exit). Creation and free are for machine
 * set-up and tear-down.
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

/* chr: the device's chardev (not owned). name: for traces ("serial0"). */
ColoOutput *colo_output_new(Chardev *chr, const char *name);
/* Whatever is still held is discarded (every COLO run has ended by then). */
void colo_output_free(ColoOutput *o);

void colo_output_write(ColoOutput *o, const uint8_t *buf, size_t len);

/* Bytes held now (tests, statistics). */
size_t colo_output_held(const ColoOutput *o);
/* Bytes dropped over COLO_OUTPUT_MAX_BYTES in the current (or last) run. */
uint64_t colo_output_dropped(const ColoOutput *o);

#endif
