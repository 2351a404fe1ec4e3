/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pause-before-switchover, QEMU's capability that libvirt sets: once the
 * guest is stopped for the switchover, and before any device state is
 * captured, the source waits in status pre-switchover until the
 * management layer says migrate-continue (libvirt ends its storage
 * mirrors there, with the guest stopped and nothing yet handed over) or
 * migrate_cancel (the guest resumes here).
 *
 *   active --guest stopped--> pre-switchover --migrate-continue--> next
 *                                   |          (device; postcopy-active
 *                                   |           for postcopy's switch)
 *                                   +--migrate_cancel--> cancelling
 *
 * The wait is part of the downtime, as in QEMU: the guest is stopped
 * throughout. x-strict-downtime, which promises that downtime, refuses
 * the combination (options.c).
 *
 * Threads: the migration thread waits here without the BQL, so that the
 * monitor can run migrate-continue; the commands signal it under the
 * pause's own lock.
 */
#include "migration-internal.h"
#include "qapi/qapi-commands.h"
#include "trace.h"

void switchover_pause_init(SwitchoverPause *p)
{
    g_mutex_init(&p->lock);
    g_cond_init(&p->cond);
    p->go = false;
}

void switchover_pause_destroy(SwitchoverPause *p)
{
    g_mutex_clear(&p->lock);
    g_cond_clear(&p->cond);
}

void switchover_pause_wake(SwitchoverPause *p)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&p->lock);

    g_cond_broadcast(&p->cond);
}

bool migration_pause_before_switchover(MigrationState *s,
                                       MigrationStatus next, Error **errp)
{
    SwitchoverPause *p = &s->pause;
    int64_t t0;
    bool go;

    if (!migrate_cap(&s->opts, MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER)) {
        return true;
    }
    g_mutex_lock(&p->lock);
    p->go = false;
    g_mutex_unlock(&p->lock);
    if (!migration_try_status(s, MIGRATION_STATUS_ACTIVE,
                              MIGRATION_STATUS_PRE_SWITCHOVER)) {
        error_setg(errp, "migration cancelled");
        return false;
    }
    trace_migration_pause_before_switchover();
    t0 = migration_now_us();
    g_mutex_lock(&p->lock);
    while (!p->go && !__atomic_load_n(&s->cancel, __ATOMIC_SEQ_CST)) {
        g_cond_wait(&p->cond, &p->lock);
    }
    go = p->go;
    p->go = false;
    g_mutex_unlock(&p->lock);
    trace_migration_pause_before_switchover_done(go,
                                                 migration_now_us() - t0);
    /* A cancel moved the status to cancelling: this fails. */
    if (!go || !migration_try_status(s, MIGRATION_STATUS_PRE_SWITCHOVER,
                                     next)) {
        error_setg(errp, "migration cancelled");
        return false;
    }
    return true;
}

void qmp_migrate_continue(MigrationStatus state, Error **errp)
{
    MigrationState *s = migration_current();
    MigrationStatus now = migration_status(s);
    SwitchoverPause *p = &s->pause;

    /* QEMU's check, in QEMU's words. */
    if (now != state) {
        error_setg(errp, "Migration not in expected state: %s",
                   MigrationStatus_str(now));
        return;
    }
    if (now != MIGRATION_STATUS_PRE_SWITCHOVER) {
        error_setg(errp, "migrate-continue: the migration is not paused "
                   "(it pauses in pre-switchover with the capability "
                   "pause-before-switchover)");
        return;
    }
    g_mutex_lock(&p->lock);
    p->go = true;
    g_cond_broadcast(&p->cond);
    g_mutex_unlock(&p->lock);
}
