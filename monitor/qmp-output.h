/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The output side of a QMP session: a queue between the monitor and its
 * chardev that never blocks the thread that writes (an event may come
 * from a vCPU, the migration thread or the COLO loop in the middle of a
 * checkpoint), never tears a message and never drops a reply.
 *
 * A client that stops reading:
 *   - whenever output is waiting, a STOP or RESUME event that undoes the
 *     previous one still waiting whole cancels it (a COLO checkpoint
 *     emits both; the client's view ends in the same run state);
 *   - from QMP_OUTPUT_SOFT_BOUND bytes waiting, further events are
 *     dropped (a log line says so, and another how many once the client
 *     reads again) and the monitor stops reading requests, so replies
 *     cannot grow the queue without bound (qmp_output_backlogged());
 *   - past QMP_OUTPUT_HARD_BOUND bytes owed (waiting plus events dropped
 *     since the client last took anything) the client is disconnected,
 *     with a log line. Replies are never dropped: every reply to a
 *     request that was read reaches the client or its connection closes.
 *
 * Thread-safe; the lock order is monitor lock, then this queue's lock,
 * then the chardev's.
 */
#ifndef MONITOR_QMP_OUTPUT_H
#define MONITOR_QMP_OUTPUT_H

#include "chardev/char.h"

#define QMP_OUTPUT_SOFT_BOUND   (256u << 10)
#define QMP_OUTPUT_HARD_BOUND   (4u << 20)

typedef struct QmpOutput QmpOutput;

/* ctx: where the writable watch runs (the monitor I/O thread). */
QmpOutput *qmp_output_new(Chardev *chr, GMainContext *ctx);
void qmp_output_free(QmpOutput *out);
/* A new connection: everything of the old one is forgotten. */
void qmp_output_reset(QmpOutput *out);
/* Queue one formatted message (takes text). name: the event's name. */
void qmp_output_reply(QmpOutput *out, char *text);
void qmp_output_event(QmpOutput *out, char *text, const char *name);
/* True while the monitor should not read requests (soft bound reached). */
bool qmp_output_backlogged(QmpOutput *out);

#endif
