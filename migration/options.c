/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Migration capabilities and parameters: the QMP commands that set and
 * query them, and the accessors the migration code reads them with.
 * Tandem lists every QEMU capability so tools can query them, accepts
 * the ones it implements (events, return-path, x-strict-downtime, x-colo,
 * x-stream-checksum, postcopy-ram, postcopy-preempt, postcopy-blocktime)
 * and rejects the rest by name. The
 * combinations QEMU refuses are refused first, in QEMU's words, so a
 * runbook that trips over one reads the error it knows.
 *
 * They live in the migration object (MigrationOptions): the QMP commands
 * work on the process's, migration_current(). Parameters are read by the
 * migration thread while QMP may change them: each is a single aligned
 * 64-bit value written and read atomically.
 *
 * Defaults: every capability is off until set, except x-stream-checksum,
 * which until it is set (on or off) is whatever x-colo is: a COLO
 * checkpoint that arrives corrupted is a corrupted protected guest, so
 * COLO checks by default, while a plain migration keeps QEMU's stream
 * unless asked. query-migrate-capabilities reports the effective state.
 */
#include <inttypes.h>
#include "migration-internal.h"
#include "colo-internal.h"
#include "migration/postcopy-ram.h"
#include "net/announce.h"
#include "qapi/qapi-commands.h"
#include "trace.h"

void migration_options_init(MigrationOptions *o)
{
    *o = (MigrationOptions) {
        .downtime_limit = MIGRATION_DEFAULT_DOWNTIME_MS,
        .max_bandwidth = MIGRATION_DEFAULT_BANDWIDTH,
        .checkpoint_delay = MIGRATION_DEFAULT_CKPT_DELAY_MS,
        .colo_peer_timeout = COLO_DEFAULT_PEER_TIMEOUT_MS,
        .resume_timeout = MIGRATION_DEFAULT_RESUME_TIMEOUT_MS,
        /* QEMU's announce-initial, -max, -rounds, -step */
        .announce = { 50, 550, 5, 100 },
    };
}

void migrate_announce_params(const MigrationOptions *o,
                             AnnounceParameters *p)
{
    *p = (AnnounceParameters) {
        .initial = __atomic_load_n(&o->announce[0], __ATOMIC_RELAXED),
        .max = __atomic_load_n(&o->announce[1], __ATOMIC_RELAXED),
        .rounds = __atomic_load_n(&o->announce[2], __ATOMIC_RELAXED),
        .step = __atomic_load_n(&o->announce[3], __ATOMIC_RELAXED),
    };
}

/* Implemented, or settable ahead of their implementation. */
static bool migrate_cap_settable(MigrationCapability cap)
{
    switch (cap) {
    case MIGRATION_CAPABILITY_EVENTS:
    case MIGRATION_CAPABILITY_RETURN_PATH:
    case MIGRATION_CAPABILITY_X_STRICT_DOWNTIME:
    case MIGRATION_CAPABILITY_X_COLO:
    case MIGRATION_CAPABILITY_X_STREAM_CHECKSUM:
    case MIGRATION_CAPABILITY_POSTCOPY_RAM:
    case MIGRATION_CAPABILITY_POSTCOPY_PREEMPT:
    case MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME:
    case MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER:
    case MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE:
        return true;
    default:
        return false;
    }
}

bool migrate_cap_explicit(const MigrationOptions *o, MigrationCapability cap)
{
    return __atomic_load_n(&o->caps_set[cap], __ATOMIC_RELAXED);
}

bool migrate_cap(const MigrationOptions *o, MigrationCapability cap)
{
    if (cap == MIGRATION_CAPABILITY_X_STREAM_CHECKSUM &&
        !migrate_cap_explicit(o, cap)) {
        cap = MIGRATION_CAPABILITY_X_COLO;
    }
    return __atomic_load_n(&o->caps[cap], __ATOMIC_RELAXED);
}

uint64_t migrate_downtime_limit_ms(const MigrationOptions *o)
{
    return __atomic_load_n(&o->downtime_limit, __ATOMIC_RELAXED);
}

uint64_t migrate_max_postcopy_bandwidth(const MigrationOptions *o)
{
    return __atomic_load_n(&o->max_postcopy_bandwidth, __ATOMIC_RELAXED);
}

uint64_t migrate_max_bandwidth(const MigrationOptions *o)
{
    return __atomic_load_n(&o->max_bandwidth, __ATOMIC_RELAXED);
}

uint32_t migrate_colo_peer_timeout_ms(const MigrationOptions *o)
{
    return __atomic_load_n(&o->colo_peer_timeout, __ATOMIC_RELAXED);
}

uint32_t migrate_resume_timeout_ms(const MigrationOptions *o)
{
    return __atomic_load_n(&o->resume_timeout, __ATOMIC_RELAXED);
}

uint64_t migrate_checkpoint_delay_ms(const MigrationOptions *o)
{
    return __atomic_load_n(&o->checkpoint_delay, __ATOMIC_RELAXED);
}

/*
 * The capability set as it would be after caps: QEMU's refused
 * combinations (migrate_caps_check there), in its words, then ours.
 * incoming: this process waits for an incoming migration, which must be
 * able to place postcopy pages.
 */
static bool migrate_caps_check(const MigrationOptions *o,
                               MigrationCapabilityStatusList *caps,
                               bool incoming, bool incoming_started,
                               Error **errp)
{
    bool next[MIGRATION_CAPABILITY__MAX];

    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        next[i] = migrate_cap(o, i);
    }
    for (MigrationCapabilityStatusList *l = caps; l; l = l->next) {
        next[l->value->capability] = l->value->state;
    }
    if (next[MIGRATION_CAPABILITY_POSTCOPY_RAM]) {
        if (next[MIGRATION_CAPABILITY_X_IGNORE_SHARED]) {
            error_setg(errp, "Postcopy is not compatible with ignore-shared");
            return false;
        }
        if (next[MIGRATION_CAPABILITY_MULTIFD]) {
            error_setg(errp, "Postcopy is not yet compatible with multifd");
            return false;
        }
        if (next[MIGRATION_CAPABILITY_MAPPED_RAM]) {
            error_setg(errp, "Mapped-ram migration is incompatible with "
                       "postcopy");
            return false;
        }
        /* Ours: a COLO checkpoint is all or nothing, postcopy splits the
         * guest between the hosts. */
        if (next[MIGRATION_CAPABILITY_X_COLO]) {
            error_setg(errp, "x-colo and postcopy-ram cannot be used "
                       "together");
            return false;
        }
        if (incoming && !postcopy_ram_supported(errp)) {
            error_prepend(errp, "Postcopy is not supported: ");
            return false;
        }
    }
    /* Ours: the pause is downtime that no one bounds. */
    if (next[MIGRATION_CAPABILITY_X_STRICT_DOWNTIME] &&
        next[MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER]) {
        error_setg(errp, "x-strict-downtime and pause-before-switchover "
                   "cannot be used together: the pause for "
                   "migrate-continue is part of the downtime that "
                   "x-strict-downtime promises to bound");
        return false;
    }
    if (next[MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT]) {
        /* QEMU's list: what a write-protecting snapshot cannot do. */
        static const MigrationCapability incompatible[] = {
            MIGRATION_CAPABILITY_POSTCOPY_RAM,
            MIGRATION_CAPABILITY_DIRTY_BITMAPS,
            MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME,
            MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE,
            MIGRATION_CAPABILITY_RETURN_PATH,
            MIGRATION_CAPABILITY_MULTIFD,
            MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER,
            MIGRATION_CAPABILITY_AUTO_CONVERGE,
            MIGRATION_CAPABILITY_RELEASE_RAM,
            MIGRATION_CAPABILITY_RDMA_PIN_ALL,
            MIGRATION_CAPABILITY_XBZRLE,
            MIGRATION_CAPABILITY_X_COLO,
            MIGRATION_CAPABILITY_VALIDATE_UUID,
            MIGRATION_CAPABILITY_ZERO_COPY_SEND,
        };

        for (unsigned i = 0; i < G_N_ELEMENTS(incompatible); i++) {
            if (next[incompatible[i]]) {
                error_setg(errp, "Background-snapshot is not compatible "
                           "with %s",
                           MigrationCapability_str(incompatible[i]));
                return false;
            }
        }
    }
    if (next[MIGRATION_CAPABILITY_MULTIFD]) {
        if (next[MIGRATION_CAPABILITY_XBZRLE]) {
            error_setg(errp, "Multifd is not compatible with xbzrle");
            return false;
        }
        if (incoming_started &&
            !migrate_cap(o, MIGRATION_CAPABILITY_MULTIFD)) {
            error_setg(errp, "Multifd must be set before incoming starts");
            return false;
        }
    }
    if (next[MIGRATION_CAPABILITY_SWITCHOVER_ACK] &&
        !next[MIGRATION_CAPABILITY_RETURN_PATH]) {
        error_setg(errp, "Capability 'switchover-ack' requires capability "
                   "'return-path'");
        return false;
    }
    if (next[MIGRATION_CAPABILITY_DIRTY_LIMIT] &&
        next[MIGRATION_CAPABILITY_AUTO_CONVERGE]) {
        error_setg(errp, "dirty-limit conflicts with auto-converge either of "
                   "then available currently");
        return false;
    }
    if (next[MIGRATION_CAPABILITY_MAPPED_RAM] &&
        next[MIGRATION_CAPABILITY_XBZRLE]) {
        error_setg(errp, "Mapped-ram migration is incompatible with xbzrle");
        return false;
    }
    if (next[MIGRATION_CAPABILITY_POSTCOPY_PREEMPT] &&
        !next[MIGRATION_CAPABILITY_POSTCOPY_RAM]) {
        error_setg(errp, "Postcopy preempt requires postcopy-ram");
        return false;
    }
    /* The destination listens for its second connection from the
     * start. */
    if (incoming_started &&
        next[MIGRATION_CAPABILITY_POSTCOPY_PREEMPT] !=
        migrate_cap(o, MIGRATION_CAPABILITY_POSTCOPY_PREEMPT)) {
        error_setg(errp, "Postcopy preempt must be set before incoming "
                   "starts");
        return false;
    }
    return true;
}

bool migration_set_capabilities(MigrationState *s,
                                MigrationCapabilityStatusList *capabilities,
                                Error **errp)
{
    MigrationOptions *o = &s->opts;
    MigrationStatus st = migration_status(s);

    if (migration_is_active(s) && st != MIGRATION_STATUS_COLO) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    if (colo_mode() != COLO_MODE_NONE) {
        error_setg(errp, "COLO is running; capabilities cannot change until "
                   "it fails over");
        return false;
    }
    /* All or nothing: check every entry before changing any. */
    if (!migrate_caps_check(o, capabilities,
                            migration_incoming_enabled(s->incoming),
                            migration_incoming_started(s->incoming), errp)) {
        return false;
    }
    for (MigrationCapabilityStatusList *l = capabilities; l; l = l->next) {
        if (!l->value->state || migrate_cap_settable(l->value->capability)) {
            continue;
        }
        /*
         * Refused here, not at migrate time: a capability accepted and
         * then failing every migrate misleads whoever set it.
         */
        error_setg(errp, "capability '%s' is not supported by Tandem",
                   MigrationCapability_str(l->value->capability));
        return false;
    }
    for (MigrationCapabilityStatusList *l = capabilities; l; l = l->next) {
        trace_migration_set_capability(
            MigrationCapability_str(l->value->capability), l->value->state);
        __atomic_store_n(&o->caps[l->value->capability],
                         l->value->state, __ATOMIC_RELAXED);
        __atomic_store_n(&o->caps_set[l->value->capability], true,
                         __ATOMIC_RELAXED);
    }
    return true;
}

void qmp_migrate_set_capabilities(MigrationCapabilityStatusList *capabilities,
                                  Error **errp)
{
    migration_set_capabilities(migration_current(), capabilities, errp);
}

MigrationCapabilityStatusList *qmp_query_migrate_capabilities(Error **errp)
{
    const MigrationOptions *o = &migration_current()->opts;
    MigrationCapabilityStatusList *head = NULL, **tail = &head;

    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        MigrationCapabilityStatusList *node = g_new0(
            MigrationCapabilityStatusList, 1);

        node->value = g_new0(MigrationCapabilityStatus, 1);
        node->value->capability = i;
        node->value->state = migrate_cap(o, i);
        *tail = node;
        tail = &node->next;
    }
    return head;
}

void qmp_migrate_set_parameters(MigrateSetParameters *arg, Error **errp)
{
    MigrationOptions *o = &migration_current()->opts;

    if (arg->has_downtime_limit &&
        arg->downtime_limit > MIGRATION_MAX_DOWNTIME_MS) {
        error_setg(errp, "Parameter 'downtime_limit' expects an integer in "
                   "the range of 0 to %u milliseconds",
                   MIGRATION_MAX_DOWNTIME_MS);
        return;
    }
    if (arg->has_max_bandwidth && arg->max_bandwidth > INT64_MAX) {
        error_setg(errp, "Parameter 'max_bandwidth' expects an integer in "
                   "the range of 0 to %" PRId64 " bytes/second", INT64_MAX);
        return;
    }
    if (arg->has_max_postcopy_bandwidth &&
        arg->max_postcopy_bandwidth > INT64_MAX) {
        error_setg(errp, "Parameter 'max_postcopy_bandwidth' expects an "
                   "integer in the range of 0 to %" PRId64 " bytes/second",
                   INT64_MAX);
        return;
    }
    if (arg->has_x_colo_peer_timeout &&
        (arg->x_colo_peer_timeout < COLO_MIN_PEER_TIMEOUT_MS ||
         arg->x_colo_peer_timeout > COLO_MAX_PEER_TIMEOUT_MS)) {
        error_setg(errp, "Parameter 'x-colo-peer-timeout' expects an integer "
                   "in the range of %u to %u milliseconds",
                   COLO_MIN_PEER_TIMEOUT_MS, COLO_MAX_PEER_TIMEOUT_MS);
        return;
    }
    if (arg->has_x_switchover_resume_timeout &&
        (arg->x_switchover_resume_timeout < MIGRATION_MIN_RESUME_TIMEOUT_MS ||
         arg->x_switchover_resume_timeout > MIGRATION_MAX_RESUME_TIMEOUT_MS)) {
        error_setg(errp, "Parameter 'x-switchover-resume-timeout' expects an "
                   "integer in the range of %u to %u milliseconds",
                   MIGRATION_MIN_RESUME_TIMEOUT_MS,
                   MIGRATION_MAX_RESUME_TIMEOUT_MS);
        return;
    }
    if (arg->has_announce_initial || arg->has_announce_max ||
        arg->has_announce_rounds || arg->has_announce_step) {
        /* The four together must make an announcement announce-self
         * would take (one check, net/announce.c); a size past INT64_MAX
         * turns negative and fails it too. */
        AnnounceParameters a;

        migrate_announce_params(o, &a);
        if (arg->has_announce_initial) {
            a.initial = (int64_t)arg->announce_initial;
        }
        if (arg->has_announce_max) {
            a.max = (int64_t)arg->announce_max;
        }
        if (arg->has_announce_rounds) {
            a.rounds = (int64_t)arg->announce_rounds;
        }
        if (arg->has_announce_step) {
            a.step = (int64_t)arg->announce_step;
        }
        if (!net_announce_check(&a, errp)) {
            return;
        }
    }
    if (arg->has_downtime_limit) {
        trace_migration_set_parameter("downtime-limit", arg->downtime_limit);
        __atomic_store_n(&o->downtime_limit, arg->downtime_limit,
                         __ATOMIC_RELAXED);
    }
    if (arg->has_max_bandwidth) {
        trace_migration_set_parameter("max-bandwidth", arg->max_bandwidth);
        __atomic_store_n(&o->max_bandwidth, arg->max_bandwidth,
                         __ATOMIC_RELAXED);
    }
    if (arg->has_max_postcopy_bandwidth) {
        trace_migration_set_parameter("max-postcopy-bandwidth",
                                      arg->max_postcopy_bandwidth);
        __atomic_store_n(&o->max_postcopy_bandwidth,
                         arg->max_postcopy_bandwidth, __ATOMIC_RELAXED);
    }
    if (arg->has_x_checkpoint_delay) {
        trace_migration_set_parameter("x-checkpoint-delay",
                                      arg->x_checkpoint_delay);
        __atomic_store_n(&o->checkpoint_delay, arg->x_checkpoint_delay,
                         __ATOMIC_RELAXED);
        /* A running COLO primary re-arms its timer. */
        colo_wake(migration_current()->colo);
    }
    if (arg->has_x_colo_peer_timeout) {
        trace_migration_set_parameter("x-colo-peer-timeout",
                                      arg->x_colo_peer_timeout);
        __atomic_store_n(&o->colo_peer_timeout, arg->x_colo_peer_timeout,
                         __ATOMIC_RELAXED);
    }
    if (arg->has_x_switchover_resume_timeout) {
        trace_migration_set_parameter("x-switchover-resume-timeout",
                                      arg->x_switchover_resume_timeout);
        __atomic_store_n(&o->resume_timeout, arg->x_switchover_resume_timeout,
                         __ATOMIC_RELAXED);
    }
    {
        const struct { bool has; uint64_t v; const char *name; } an[4] = {
            { arg->has_announce_initial, arg->announce_initial,
              "announce-initial" },
            { arg->has_announce_max, arg->announce_max, "announce-max" },
            { arg->has_announce_rounds, arg->announce_rounds,
              "announce-rounds" },
            { arg->has_announce_step, arg->announce_step, "announce-step" },
        };

        for (int i = 0; i < 4; i++) {
            if (an[i].has) {
                trace_migration_set_parameter(an[i].name, an[i].v);
                __atomic_store_n(&o->announce[i], an[i].v, __ATOMIC_RELAXED);
            }
        }
    }
}

MigrationParameters *qmp_query_migrate_parameters(Error **errp)
{
    const MigrationOptions *o = &migration_current()->opts;
    MigrationParameters *p = g_new0(MigrationParameters, 1);

    p->has_downtime_limit = true;
    p->downtime_limit = migrate_downtime_limit_ms(o);
    p->has_max_bandwidth = true;
    p->max_bandwidth = migrate_max_bandwidth(o);
    p->has_max_postcopy_bandwidth = true;
    p->max_postcopy_bandwidth = migrate_max_postcopy_bandwidth(o);
    p->has_x_checkpoint_delay = true;
    p->x_checkpoint_delay = migrate_checkpoint_delay_ms(o);
    p->has_x_colo_peer_timeout = true;
    p->x_colo_peer_timeout = migrate_colo_peer_timeout_ms(o);
    p->has_x_switchover_resume_timeout = true;
    p->x_switchover_resume_timeout = migrate_resume_timeout_ms(o);
    {
        AnnounceParameters a;

        migrate_announce_params(o, &a);
        p->has_announce_initial = p->has_announce_max = true;
        p->has_announce_rounds = p->has_announce_step = true;
        p->announce_initial = a.initial;
        p->announce_max = a.max;
        p->announce_rounds = a.rounds;
        p->announce_step = a.step;
    }
    return p;
}
