/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * aio=io_uring through liburing: one ring per file node. Submission is
 * serialised by the engine lock; the completion queue has one consumer,
 * the reaper (block/aio-engine.h), so the two ends never race.
 */
#include <errno.h>
#include <liburing.h>
#include "aio-engine.h"

#define RING_ENTRIES 256

static void *uring_init(Error **errp)
{
    struct io_uring *ring = g_new0(struct io_uring, 1);
    int ret = io_uring_queue_init(RING_ENTRIES, ring, 0);

    if (ret < 0) {
        error_setg_errno(errp, -ret, "failed to init linux io_uring ring");
        g_free(ring);
        return NULL;
    }
    return ring;
}

static void uring_cleanup(void *state)
{
    io_uring_queue_exit(state);
    g_free(state);
}

static int uring_submit(void *state, AioEngineReq *req)
{
    struct io_uring *ring = state;
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    int ret;

    if (!sqe) {
        return -EAGAIN;   /* cannot happen: we submit at once, below */
    }
    if (req->write) {
        io_uring_prep_writev(sqe, req->fd, req->iov, req->niov, req->offset);
    } else {
        io_uring_prep_readv(sqe, req->fd, req->iov, req->niov, req->offset);
    }
    io_uring_sqe_set_data(sqe, req);
    do {
        ret = io_uring_submit(ring);
    } while (ret == -EINTR);
    return ret < 0 ? ret : 0;
}

static int uring_reap(void *state, AioEngineReq **done, int max)
{
    struct io_uring *ring = state;
    struct io_uring_cqe *cqe;
    int n = 0, ret;

    do {
        ret = io_uring_wait_cqe(ring, &cqe);
    } while (ret == -EINTR);
    if (ret < 0) {
        return ret;
    }
    while (n < max && io_uring_peek_cqe(ring, &cqe) == 0) {
        AioEngineReq *req = io_uring_cqe_get_data(cqe);

        req->ret = cqe->res;
        done[n++] = req;
        io_uring_cqe_seen(ring, cqe);
    }
    return n;
}

const AioEngineOps aio_engine_io_uring = {
    .name = "io_uring",
    .init = uring_init,
    .cleanup = uring_cleanup,
    .submit = uring_submit,
    .reap = uring_reap,
};
