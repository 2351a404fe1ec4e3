/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO control messages: the checkpoint handshake between primary (PVM)
 * and secondary (SVM). P->S messages travel on the main migration stream,
 * S->P messages on the return path. The enum is QAPI's COLOMessage, in
 * schema order, and that order is the wire value
 * (reference/qemu-colo-surface.md §2.2).
 *
 * Wire format of one message:
 *     be32 message id
 *     be64 value          only when the table says has_value
 *                         (vmstate-size: the device-state blob length)
 * Each message is flushed as soon as it is written.
 *
 * One checkpoint, in order:
 *     P->S checkpoint-request, S->P checkpoint-reply, P->S vmstate-send,
 *     (RAM section), P->S vmstate-size + value, (blob),
 *     S->P vmstate-received, S->P vmstate-loaded
 * once at start-up S->P checkpoint-ready, and between checkpoints, while
 * both guests run, any number of
 *     P->S x-ram-presend, (RAM section)
 * (Tandem's: the pages the primary dirtied since the last pass, so that
 * the checkpoint carries less; the secondary stores them in its RAM
 * cache).
 *
 * Waiting with a deadline: a QEMUFile buffers what it has read, so polling
 * its fd does not say whether a message is already waiting in the buffer,
 * and there is no receive-with-timeout here. COLO bounds its waits with
 * the sockets' own timeouts instead (SO_RCVTIMEO / SO_SNDTIMEO of
 * x-colo-peer-timeout, set by colo-primary.c and colo-secondary.c; the
 * secondary bounds receives only while a checkpoint is in flight): a
 * blocked receive then fails with the stream's -ETIMEDOUT error. A failover or quit unblocks
 * a receive early by shutting the socket down (the sides' kick).
 */
#ifndef MIGRATION_COLO_MESSAGE_H
#define MIGRATION_COLO_MESSAGE_H

#include <stdbool.h>
#include <stdint.h>
#include "migration/qemu-file.h"
#include "qapi/qapi-types.h"
#include "util/error.h"

/* QAPI's COLOMessage: COLO_MESSAGE_CHECKPOINT_READY (0) ..
 * COLO_MESSAGE_VMSTATE_LOADED (6), COLO_MESSAGE__MAX. */
typedef COLOMessage ColoMessage;

/*
 * Tandem's extension, P->S, outside QEMU's range: RAM page records up to
 * an EOS record (the checkpoint RAM format), sent while both sides run.
 * The secondary stores them in its RAM cache like a checkpoint's pages,
 * so that the checkpoint itself only carries what was dirtied since.
 */
#define COLO_MESSAGE_X_RAM_PRESEND ((ColoMessage)0x54440001)

typedef enum ColoDirection {
    COLO_DIR_PVM_TO_SVM,    /* main migration stream */
    COLO_DIR_SVM_TO_PVM,    /* return path */
} ColoDirection;

typedef struct ColoMessageInfo {
    const char *name;       /* QAPI name, used in traces and errors */
    bool has_value;         /* a be64 follows the id */
    ColoDirection dir;
} ColoMessageInfo;

/* The table entry of msg (msg < COLO_MESSAGE__MAX). */
const ColoMessageInfo *colo_message_info(ColoMessage msg);
/* The QAPI name of msg, or "unknown" when out of range. */
const char *colo_message_name(ColoMessage msg);

/*
 * Writes and flushes msg, traced once. False on a stream error (f's
 * sticky error, also in *errp as "COLO: sending vmstate-size: ...").
 * colo_send_message() is for messages without a value,
 * colo_send_message_value() for those with one (asserted).
 */
bool colo_send_message(QEMUFile *f, ColoMessage msg, Error **errp);
bool colo_send_message_value(QEMUFile *f, ColoMessage msg, uint64_t value,
                             Error **errp);

/*
 * Reads one message and checks it is expect; when expect carries a value,
 * stores it in *value (value may be NULL otherwise). Fails on a stream
 * error or short read ("COLO: receiving vmstate-size: unexpected end of
 * stream"), on an unknown id ("COLO: unknown message 0x1234") and on
 * another message ("COLO: expected vmstate-received, got
 * checkpoint-request"); the last two also set f's sticky error, so the
 * stream is dead after any failure.
 */
bool colo_receive_message(QEMUFile *f, ColoMessage expect, uint64_t *value,
                          Error **errp);

/* The same, accepting any of expect[0..n); *got: which one came. Errors
 * name expect[0] as the one expected. */
bool colo_receive_one_of(QEMUFile *f, const ColoMessage *expect,
                         unsigned n, ColoMessage *got, uint64_t *value,
                         Error **errp);

#endif
