/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Live migration, as the rest of the VMM sees it: hook the machine's RAM
 * into the registry, start an incoming migration from the command line
 * (-incoming URI|defer), and ask whether a migration is running. The QMP
 * commands (migrate, migrate_cancel, migrate-incoming, query-migrate, the
 * capabilities and parameters) are in migration/migration.c,
 * migration/migration-incoming.c and migration/options.c; the user guide
 * is docs/migration.md.
 *
 * Source status machine (MigrationStatus from qapi/migration.json). Every
 * change is a compare-and-swap in migration.c (migration_try_status(); the
 * other files call migration_set_status()), so a cancel that moved the
 * status first wins; each is traced and, with the events capability,
 * sent as a MIGRATION event:
 *
 *   none/completed/failed/cancelled --migrate--> setup --> active
 *   active --switchover ok--> completed          (guest runs on destination)
 *   active --postcopy switch--> postcopy-active  (postcopy-ram, after
 *                                                 migrate-start-postcopy
 *                                                 and a first full pass)
 *   postcopy-active --destination's "shut"--> completed
 *   postcopy-active --error--> failed            (the guest's state is
 *                                                 split: it stays stopped
 *                                                 here; migrate_cancel
 *                                                 does nothing)
 *   postcopy-active --broken connection, yank,   (after postcopy-run; all
 *     migrate-pause--> postcopy-paused            state kept)
 *   postcopy-paused --migrate resume=true--> postcopy-recover-setup
 *     --connected--> postcopy-recover --bitmap exchanged--> postcopy-active
 *   postcopy-recover-setup|postcopy-recover --broken again, or a peer
 *     that answers nonsense--> postcopy-paused
 *   active --strict abort--> active              (guest resumed, iterate on)
 *   active --switchover ok, x-colo--> colo       (COLO primary: checkpoints)
 *   colo --failover, either way--> completed     (COLO ended: the guest runs
 *                                                 unprotected on one side)
 *   setup|active --error--> failed               (guest keeps running here)
 *   setup|active --migrate_cancel--> cancelling --> cancelled
 *
 * Destination (migration-incoming.c, incoming_set_status(); traced, and
 * the same events):
 *   none --migrate-incoming/-incoming--> setup (listening; back to none
 *   if listening fails) --> active (stream connected)
 *   active --> completed | failed (the process exits 1: the exit rule,
 *   docs/migration.md)
 *   active --postcopy-listen--> postcopy-active --EOF--> completed | failed
 *   postcopy-active --broken stream, yank, migrate-pause (after
 *     postcopy-run)--> postcopy-paused --migrate-recover's connection-->
 *     postcopy-recover --postcopy-resume--> postcopy-active
 *   postcopy-recover --broken again--> postcopy-paused
 *   active --enable-colo, initial migration loaded--> colo (COLO
 *   secondary) --failover--> completed; a secondary in colo never fails
 */
#ifndef MIGRATION_MIGRATION_H
#define MIGRATION_MIGRATION_H

#include <stdbool.h>
#include "accel/kvm.h"
#include "migration/savevm.h"
#include "system/memory.h"
#include "util/error.h"

/* Registers guest RAM as the live "ram" entry of s (both sides). */
bool migration_machine_init(SaveVMState *s, GuestMemory *mem, KvmState *kvm,
                            Error **errp);

/*
 * Why this process cannot migrate at all (the none machine has nothing to
 * send; under -accel qtest there is no guest to send), or NULL (the
 * default): migrate, migrate-incoming and -incoming then fail with
 * "Migration is not supported: REASON". Set once by main().
 */
void migration_set_unsupported(const char *reason);
bool migration_supported(Error **errp);

/*
 * -incoming URI: the run state becomes inmigrate and, unless uri is
 * "defer", the process starts listening (or reading). autostart: start
 * the vCPUs once the migration completed (false with -S). Main loop, BQL.
 */
bool migration_incoming_init(const char *uri, bool autostart, Error **errp);
/* cont while the VM waits in inmigrate (QEMU's behaviour): the vCPUs
 * start once the incoming migration completed, -S or not. BQL. */
void migration_incoming_request_autostart(void);

/*
 * At process exit, main loop with the BQL: cancel and join the outgoing
 * migration thread and stop and join the incoming one, so nothing touches
 * guest RAM or the VM after they are freed.
 */
void migration_shutdown(void);

/*
 * The mbps figure of query-migrate: Mbit/s for bytes sent over elapsed_us.
 * Anything that moved data took at least 1 us, so it is never 0.
 */
double migration_mbps(uint64_t bytes, int64_t elapsed_us);

/*
 * The migration object: the outgoing migration, and (as they move in)
 * the options, the incoming side and COLO. migration_current() is the
 * process's, created on first use; tests may make their own.
 */
typedef struct MigrationState MigrationState;
MigrationState *migration_new(void);
void migration_free(MigrationState *s);
MigrationState *migration_current(void);

/*
 * The block nodes (roots) s hands over in a migration with shared
 * storage; NULL (the default) means every node of the process. For tests
 * that run a source and a destination in one process.
 */
void migration_set_block_nodes(MigrationState *s, const char *const *nodes);

/* True while s's outgoing migration is between setup and its end
 * (setup, active, postcopy-active, postcopy-paused,
 * postcopy-recover-setup, postcopy-recover, cancelling or colo). */
bool migration_is_active(MigrationState *s);

/* s's dirty-rate measurement (migration/dirty-rate.c). */
struct DirtyRate *migration_dirty_rate(MigrationState *s);

/* True while a migration in either direction, or COLO, works on the
 * guest's RAM and dirty log: s's outgoing side is active, or its
 * incoming side has started and not ended. calc-dirty-rate asks. */
bool migration_owns_guest_ram(MigrationState *s);

/*
 * Migration blockers, as QEMU has them: reasons migrate is refused for
 * now (a guest memory dump in progress), listed by query-migrate's
 * blocked-reasons. Adding one fails, in QEMU's words, while a migration
 * or COLO (either side) works on the guest's RAM. BQL.
 */
bool migration_add_blocker(MigrationState *s, const char *reason,
                           Error **errp);
void migration_del_blocker(MigrationState *s, const char *reason);

#endif
