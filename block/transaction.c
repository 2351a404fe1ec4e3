/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP command transaction: several block actions, all or none.
 *
 *   prepare 1 .. prepare n   each in order; a prepare does its work so
 *        |        |          far as it can be undone (a snapshot swaps
 *        |        |          its overlay in), and a later one sees the
 *        |        |          graph the earlier ones made
 *        |     fails at k --> abort k-1 .. 1 (reverse order), error of k
 *        v
 *   commit 1 .. commit n     cannot fail
 *   clean every prepared action
 *
 * The actions are a table by kind, QEMU's kinds for the ones Tandem has;
 * an unknown kind is refused by the schema ("Parameter 'type' does not
 * accept value ...", QEMU's words).
 */
#include "block/internal-snapshot.h"
#include "block/snapshot.h"
#include "qapi/qapi-commands.h"
#include "trace.h"

typedef struct TransactionActionOps {
    /* Returns the action's state, or NULL with errp set. */
    void *(*prepare)(const TransactionAction *act, Error **errp);
    void (*commit)(void *state);
    void (*abort)(void *state);
    void (*clean)(void *state);
    /* It starts no block job, so completion-mode=grouped means nothing
     * to it: refused, as QEMU's actions refuse it. */
    bool refuses_grouped;
} TransactionActionOps;

static void *abort_prepare(const TransactionAction *act, Error **errp)
{
    error_setg(errp, "Transaction aborted using Abort action");
    return NULL;
}

static void *snapshot_prepare(const TransactionAction *act, Error **errp)
{
    return external_snapshot_prepare(act->u.blockdev_snapshot.data, errp);
}

static void *snapshot_sync_prepare(const TransactionAction *act,
                                   Error **errp)
{
    return external_snapshot_sync_prepare(act->u.blockdev_snapshot_sync.data,
                                          errp);
}

static void snapshot_commit(void *state)
{
    external_snapshot_commit(state);
}

static void snapshot_abort(void *state)
{
    external_snapshot_abort(state);
}

static void snapshot_clean(void *state)
{
    external_snapshot_free(state);
}

static void *internal_prepare(const TransactionAction *act, Error **errp)
{
    return internal_snapshot_prepare(
        act->u.blockdev_snapshot_internal_sync.data, errp);
}

static void internal_abort(void *state)
{
    internal_snapshot_abort(state);
}

static void internal_clean(void *state)
{
    internal_snapshot_free(state);
}

static const TransactionActionOps action_ops[TRANSACTION_ACTION_KIND__MAX] = {
    [TRANSACTION_ACTION_KIND_ABORT] = {
        .prepare = abort_prepare,
    },
    [TRANSACTION_ACTION_KIND_BLOCKDEV_SNAPSHOT] = {
        .prepare = snapshot_prepare, .commit = snapshot_commit,
        .abort = snapshot_abort, .clean = snapshot_clean,
        .refuses_grouped = true,
    },
    [TRANSACTION_ACTION_KIND_BLOCKDEV_SNAPSHOT_SYNC] = {
        .prepare = snapshot_sync_prepare, .commit = snapshot_commit,
        .abort = snapshot_abort, .clean = snapshot_clean,
        .refuses_grouped = true,
    },
    [TRANSACTION_ACTION_KIND_BLOCKDEV_SNAPSHOT_INTERNAL_SYNC] = {
        .prepare = internal_prepare, .abort = internal_abort,
        .clean = internal_clean, .refuses_grouped = true,
    },
};

/* One prepared action. */
typedef struct Prepared {
    const TransactionActionOps *ops;
    void *state;
} Prepared;

static bool transaction_prepare_one(const TransactionAction *act,
                                    ActionCompletionMode mode,
                                    Prepared *p, Error **errp)
{
    const TransactionActionOps *ops = &action_ops[act->type];

    if (ops->refuses_grouped && mode != ACTION_COMPLETION_MODE_INDIVIDUAL) {
        error_setg(errp, "Action '%s' does not support Transaction "
                   "property completion-mode = %s",
                   TransactionActionKind_str(act->type),
                   ActionCompletionMode_str(mode));
        return false;
    }
    p->ops = ops;
    p->state = ops->prepare(act, errp);
    trace_transaction_prepare(TransactionActionKind_str(act->type),
                              p->state != NULL);
    return p->state != NULL;
}

void qmp_transaction(TransactionActionList *actions,
                     TransactionProperties *properties, Error **errp)
{
    ActionCompletionMode mode =
        properties && properties->has_completion_mode
        ? properties->completion_mode : ACTION_COMPLETION_MODE_INDIVIDUAL;
    g_autoptr(GArray) done = g_array_new(FALSE, TRUE, sizeof(Prepared));
    bool ok = true;

    for (TransactionActionList *l = actions; l && ok; l = l->next) {
        Prepared p = { 0 };

        ok = transaction_prepare_one(l->value, mode, &p, errp);
        if (ok) {
            g_array_append_val(done, p);
        }
    }
    trace_transaction_end(done->len, ok);
    if (ok) {
        for (guint i = 0; i < done->len; i++) {
            Prepared *p = &g_array_index(done, Prepared, i);

            if (p->ops->commit) {
                p->ops->commit(p->state);
            }
        }
    } else {
        /* Newest first: a later action may have built on an earlier's. */
        for (guint i = done->len; i-- > 0;) {
            Prepared *p = &g_array_index(done, Prepared, i);

            if (p->ops->abort) {
                p->ops->abort(p->state);
            }
        }
    }
    for (guint i = 0; i < done->len; i++) {
        Prepared *p = &g_array_index(done, Prepared, i);

        if (p->ops->clean) {
            p->ops->clean(p->state);
        }
    }
}
