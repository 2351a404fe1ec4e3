/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Postcopy's protocol on top of the RAM entry ("ram", migration/ram.c):
 * what the source and the destination say to each other, on the main
 * stream and on the return path. The destination's userfaultfd side is
 * include/migration/postcopy-ram.h.
 *
 * Source                                   Destination
 *   header, postcopy-advise command  --->  checks page size, userfaultfd
 *   START, PART... (precopy)         --->  pages written as usual
 *   guest stopped: last harvest
 *   PART: DISCARD records, EOS       --->  punches those pages out
 *   postcopy-listen command          --->  RAM registered (faults now
 *                                          become requests)
 *   FULL... (device state)           --->  held in memory, not loaded
 *   postcopy-run command             --->  handed over: another thread
 *                                          loads it and runs the guest
 *                                    <---  resumed (vCPUs started)
 *   PART... (the rest, requested          <--- req-pages (return path)
 *            pages first)            --->  placed with UFFDIO_COPY
 *   END, EOF, description            --->  userfaultfd released
 *                                    <---  shut (all read; the source
 *                                          may close the connection)
 *
 * The migration thread (migration.c, switchover.c) and the incoming
 * side (migration-incoming.c) drive this; docs/migration.md, "Postcopy".
 *
 * Strict switch (x-strict-downtime; migration/switchover-postcopy.c
 * draws it): postcopy-load(attempt) takes postcopy-run's place after
 * the device state. The destination loads it (vCPUs parked) and pongs
 * the attempt; then postcopy-run (the go, as above), or switchover-abort
 * (only ever after the pong): the destination leaves userfaultfd, back
 * to advised, and precopy goes on; the next attempt discards and
 * listens again.
 *
 *   listening --postcopy-load--> listening (loaded) --run--> running
 *                                       \--switchover-abort--> advised
 *
 * Destination state (per RAM entry, the incoming thread; traced):
 *
 *   none --advise--> advised --listen--> listening --run--> running
 *   (anything else: an error naming the command and the state)
 *
 * The discard list (DISCARD records, docs/devel/migration-stream.md):
 * every page the source still has to send when it stops the guest, in
 * runs. Those the destination holds are stale (dirtied after they were
 * sent); the others are holes already. Discarded pages lose their
 * "received" bit.
 *
 * Zero pages in postcopy: a ZERO record is not placed (that would
 * allocate memory for every zero page); the page is marked received and
 * stays a hole. A fault on a received page is answered locally with a
 * zero page. The fault thread marks a page requested before it looks at
 * "received", the loader marks "received" before it looks at
 * "requested" (both sequentially consistent), so a zero page that
 * arrives while its request is on the way is placed by one of them
 * (or both: the second is dropped as a duplicate) and never left
 * waiting.
 *
 * Recovery (postcopy-recover.c; migration.c and migration-incoming.c
 * drive it). After postcopy-run a broken connection (a read or write
 * error, EOF, yank, migrate-pause; not a bad message) pauses both sides
 * in postcopy-paused with all their state: the source its "to send"
 * bitmap, the destination its received bitmap, userfaultfd and the
 * requests its vCPUs wait on (a fault meanwhile marks its page
 * requested; the request has nowhere to go). Then:
 *
 * Source                                   Destination
 *                                          migrate-recover URI: listens
 *   migrate resume=true: connects    --->  new main (+ preempt) channel;
 *     (postcopy-recover-setup)              postcopy-recover
 *   header, postcopy-recover command --->
 *   (postcopy-recover)               <---  recv-bitmap: be32 block, be32
 *                                          word, be64 received bits, for
 *                                          each word with a page missing
 *                                    <---  recv-bitmap-end: be32 blocks,
 *                                          be32 words sent
 *   "to send" := not received;
 *   requests queued before: dropped
 *   postcopy-resume command          --->  postcopy-active; every page
 *   postcopy-active, listener on     <---  requested and not placed is
 *   PART... (the rest, as before)          asked for again (req-pages)
 *
 * The new stream starts with a header (and, with x-stream-checksum, its
 * own stream-checksum command); then the postcopy-recover command; its
 * sections continue those of the first stream (same section ids).
 * Pages the source sent that never arrived are not received: they go
 * again. A page that arrives twice after the switch is an error, and
 * none does: the bitmap is taken with both readers stopped. A
 * connection that breaks during the handshake pauses again, and so
 * does one whose peer answers nonsense (a wrong address: each attempt
 * starts over).
 *
 * Requests (MIG_RP_REQ_PAGES, hostile input on the source): be32 block
 * index in the block list, be64 byte offset, be32 length; page aligned,
 * inside the block, at most POSTCOPY_MAX_REQUEST bytes, only after the
 * switch, at most POSTCOPY_MAX_QUEUED outstanding. The RAM sender sends
 * requested pages before background pages, checking between pages;
 * a requested page already sent is not sent again (it is in flight).
 */
#ifndef MIGRATION_POSTCOPY_H
#define MIGRATION_POSTCOPY_H

#include <stdbool.h>
#include <stdint.h>
#include "migration/postcopy-ram.h"
#include "migration/qemu-file.h"
#include "migration/savevm.h"
#include "util/error.h"

#define POSTCOPY_MAX_REQUEST    (1024 * 1024u)
#define POSTCOPY_MAX_QUEUED     4096
/* Length of a req-pages payload. */
#define POSTCOPY_REQ_LEN        16

typedef enum PostcopyIncomingState {
    POSTCOPY_INCOMING_NONE,
    POSTCOPY_INCOMING_ADVISED,
    POSTCOPY_INCOMING_LISTENING,
    POSTCOPY_INCOMING_RUNNING,
    POSTCOPY_INCOMING__MAX,
} PostcopyIncomingState;

const char *postcopy_incoming_state_name(PostcopyIncomingState st);

/* ---- source ---- */

/* The postcopy-advise command (after the header). */
void postcopy_send_advise(QEMUFile *f);
/*
 * The switch, guest stopped: the last harvest, a PART section of "ram"
 * with the discard list, then postcopy-listen. From here the RAM entry
 * no longer harvests and accepts page requests. The caller then sends
 * device state and postcopy_send_run().
 */
bool postcopy_source_switch(SaveVMState *s, QEMUFile *f, Error **errp);
void postcopy_send_run(QEMUFile *f);
/*
 * Strict switch (x-strict-downtime, "Strict switch" above): after the
 * device state, instead of postcopy-run; the destination loads it and
 * pongs attempt, its vCPUs still parked.
 */
void postcopy_send_load(QEMUFile *f, uint32_t attempt);
/*
 * An aborted strict switch: back to precopy. Requests are refused again
 * and the pages still marked (the discard list's) go in precopy.
 */
void postcopy_source_unswitch(SaveVMState *s);
/*
 * A req-pages payload from the return path (any thread): validated and
 * queued for the RAM sender. An error names what was wrong; the caller
 * fails the migration on it.
 */
bool postcopy_source_request(SaveVMState *s, const uint8_t *data,
                             uint16_t len, Error **errp);
/*
 * Migration thread, while the rate limit holds background pages back:
 * waits until a request is queued (true) or deadline_us (monotonic)
 * passes, and sends the requested pages in a PART section of their own.
 */
bool postcopy_source_wait_request(SaveVMState *s, int64_t deadline_us);
bool postcopy_source_send_urgent(SaveVMState *s, QEMUFile *f, Error **errp);
/*
 * The preempt channel (postcopy-preempt.c): the source writes its
 * handshake, then hands it to s's RAM entry (after setup); from the
 * switch requests are sent there by the thread that reads them, at
 * once. preempt_end: its EOS (the caller then sends the
 * postcopy-preempt-done command on the main stream).
 */
void postcopy_preempt_send_header(QEMUFile *f);
void postcopy_source_set_preempt(SaveVMState *s, QEMUFile *f);
bool postcopy_source_preempt_end(SaveVMState *s, Error **errp);
/*
 * Recovery (postcopy-recover.c), migration thread, listener stopped:
 * begin forgets what was still to send and the queued requests; each
 * word of the destination's received bitmap (in order) marks the pages
 * it lacks; end checks the count the destination gave and restarts the
 * background from the lowest page. An error names what was wrong.
 */
void postcopy_source_recover_begin(SaveVMState *s);
bool postcopy_source_recover_word(SaveVMState *s, uint32_t block,
                                  uint32_t word, uint64_t received,
                                  Error **errp);
bool postcopy_source_recover_end(SaveVMState *s, uint32_t nblocks,
                                 uint32_t nwords, Error **errp);
/* Encodes a request (the destination's side of the same format). */
void postcopy_encode_request(uint8_t out[POSTCOPY_REQ_LEN], uint32_t block,
                             uint64_t offset, uint32_t len);

/* ---- destination ---- */

/*
 * postcopy-run arrived (incoming thread; must return, the stream must go
 * on being read): devices is the device state that came after listen,
 * a device blob the callee owns. It must load it on another thread
 * (postcopy_incoming_load_devices), then start the guest: a device's
 * post_load may touch guest RAM that has not arrived, and only the
 * incoming thread can bring it.
 */
typedef void PostcopyRunFn(void *opaque, GByteArray *devices);
/*
 * Sends a request on the return path (fault thread). The incoming side
 * serialises it with its other return-path messages.
 */
typedef bool PostcopyRequestSendFn(void *opaque, const uint8_t *data,
                                   Error **errp);

/* postcopy-listen was handled: faults are now requests (incoming
 * thread). */
typedef void PostcopyListenFn(void *opaque);
/*
 * postcopy-load arrived (incoming thread, must return): as
 * PostcopyRunFn, but the guest must not start; pong attempt once the
 * devices are loaded. False with errp (devices freed) when it cannot
 * be taken: the load fails.
 */
typedef bool PostcopyLoadFn(void *opaque, GByteArray *devices,
                            uint32_t attempt, Error **errp);

/*
 * Installs the advise, listen and run handlers on s for its RAM entry.
 * Requests go out through send_fn.
 */
bool postcopy_incoming_setup(SaveVMState *s, PostcopyRequestSendFn *send_fn,
                             PostcopyRunFn *run_fn, void *opaque,
                             Error **errp);
/* Called after postcopy-listen, with the opaque of setup (optional). */
void postcopy_incoming_on_listen(SaveVMState *s, PostcopyListenFn *fn);
/* Enables postcopy-load (the strict switch), with the opaque of setup. */
void postcopy_incoming_on_load(SaveVMState *s, PostcopyLoadFn *fn);
/*
 * An aborted strict switch (switchover-abort while listening, the
 * device load finished): RAM leaves userfaultfd, the held device state
 * is dropped, the state is advised again; precopy goes on.
 */
bool postcopy_incoming_unlisten(SaveVMState *s, Error **errp);
/* Whether switchover-abort may unlisten now (listening), errp if not. */
bool postcopy_incoming_unlisten_ok(SaveVMState *s, Error **errp);
PostcopyIncomingState postcopy_incoming_state(SaveVMState *s);
/* Loads the device blob a PostcopyRunFn was given (not the incoming
 * thread: see there). */
bool postcopy_incoming_load_devices(SaveVMState *s, const GByteArray *devices,
                                    Error **errp);
/*
 * The destination's second connection: the preempt channel (takes f). A
 * reader thread checks its handshake and places its pages;
 * postcopy-preempt-done waits for its end.
 */
void postcopy_incoming_preempt_attach(SaveVMState *s, QEMUFile *f);
/*
 * Recovery, incoming thread. pause: the stream broke while running; the
 * preempt channel's reader is stopped (its error dropped) so that
 * migrate-recover can attach a new one. send_bitmap: fn gets each word
 * of the received bitmap with a page missing, block by block in order;
 * *nblocks and *nwords for the end message. rerequest: asks again for
 * every page still waited for (postcopy_ram_rerequest), after the
 * source rebuilt its bitmap; returns how many.
 */
typedef bool PostcopyBitmapWordFn(void *opaque, uint32_t block,
                                  uint32_t word, uint64_t received,
                                  Error **errp);
void postcopy_incoming_pause(SaveVMState *s);
bool postcopy_incoming_send_bitmap(SaveVMState *s, PostcopyBitmapWordFn *fn,
                                   void *opaque, uint32_t *nblocks,
                                   uint32_t *nwords, Error **errp);
uint64_t postcopy_incoming_rerequest(SaveVMState *s);
/*
 * A bad record on the preempt channel (not a broken connection): the
 * reader calls fn (its thread, the opaque of setup) so that the load
 * stops at once; failed() then hands its error over (true, *errp set
 * and the reader joined) to whoever fails the load.
 */
void postcopy_incoming_on_preempt_error(SaveVMState *s, PostcopyListenFn *fn);
bool postcopy_incoming_preempt_failed(SaveVMState *s, Error **errp);
/* Pages the preempt channel's reader placed in the current load. */
uint64_t postcopy_incoming_preempt_pages(SaveVMState *s);
/*
 * Blocktime for the loads to come (capability postcopy-blocktime):
 * nr_vcpus vCPUs, fn maps a faulting thread to one (postcopy-ram.h).
 */
void postcopy_incoming_set_blocktime(SaveVMState *s, bool on,
                                     unsigned nr_vcpus, PostcopyVcpuOfFn *fn,
                                     void *opaque);
/* The current or last load's blocktime figures (false: none yet);
 * out->vcpu_us is the caller's to g_free(). */
bool postcopy_incoming_blocktime(SaveVMState *s, PostcopyBlocktimeInfo *out);
/* The userfaultfd side's figures (zeros before listen). */
void postcopy_incoming_stats(SaveVMState *s, PostcopyRamStats *out);

#endif
