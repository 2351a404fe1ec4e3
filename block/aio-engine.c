/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine-independent half of aio=io_uring and aio=native: submission
 * under the engine lock and the reaper turn (block/aio-engine.h).
 */
#include <errno.h>
#include "aio-engine.h"
#include "trace.h"

#define REAP_BATCH 32

struct AioEngine {
    const AioEngineOps *ops;
    void *state;
    GMutex lock;
    GCond cond;         /* a request was marked done, or the turn is free */
    bool reaping;       /* a waiter is in ops->reap */
};

AioEngine *aio_engine_new(const AioEngineOps *ops, Error **errp)
{
    void *state = ops->init(errp);
    AioEngine *e;

    if (!state) {
        return NULL;
    }
    e = g_new0(AioEngine, 1);
    e->ops = ops;
    e->state = state;
    g_mutex_init(&e->lock);
    g_cond_init(&e->cond);
    return e;
}

void aio_engine_free(AioEngine *e)
{
    if (!e) {
        return;
    }
    e->ops->cleanup(e->state);
    g_mutex_clear(&e->lock);
    g_cond_clear(&e->cond);
    g_free(e);
}

/* The reaper's turn; called and returns with the lock held. */
static void aio_engine_reap_locked(AioEngine *e, AioEngineReq *mine)
{
    AioEngineReq *done[REAP_BATCH];
    int n;

    e->reaping = true;
    g_mutex_unlock(&e->lock);
    n = e->ops->reap(e->state, done, REAP_BATCH);
    g_mutex_lock(&e->lock);
    if (n < 0) {
        /* The engine broke: fail our own request rather than spin. */
        trace_aio_engine_reap_error(e->ops->name, n);
        mine->ret = n;
        mine->done = true;
    }
    for (int i = 0; i < n; i++) {
        done[i]->done = true;
    }
    e->reaping = false;
    g_cond_broadcast(&e->cond);
}

ssize_t aio_engine_rw(AioEngine *e, int fd, bool write,
                      const struct iovec *iov, int niov, uint64_t offset)
{
    AioEngineReq req = {
        .fd = fd, .write = write, .iov = iov, .niov = niov, .offset = offset,
    };
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&e->lock);
    int ret = e->ops->submit(e->state, &req);

    if (ret < 0) {
        return ret;
    }
    while (!req.done) {
        if (!e->reaping) {
            aio_engine_reap_locked(e, &req);
        } else {
            g_cond_wait(&e->cond, &e->lock);
        }
    }
    return req.ret;
}
