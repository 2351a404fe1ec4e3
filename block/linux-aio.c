/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * aio=native through libaio: one context per file node. io_submit and
 * io_getevents are thread-safe; the reaper is the only io_getevents
 * caller. Linux AIO is only asynchronous with O_DIRECT, which is why the
 * file driver insists on cache.direct=on for it (as QEMU does).
 */
#include <errno.h>
#include <libaio.h>
#include "aio-engine.h"

#define AIO_EVENTS 256

typedef struct LinuxAioState {
    io_context_t ctx;
} LinuxAioState;

static void *laio_init(Error **errp)
{
    LinuxAioState *s = g_new0(LinuxAioState, 1);
    int ret = io_setup(AIO_EVENTS, &s->ctx);

    if (ret < 0) {
        error_setg_errno(errp, -ret, "failed to create linux AIO context");
        g_free(s);
        return NULL;
    }
    return s;
}

static void laio_cleanup(void *state)
{
    LinuxAioState *s = state;

    io_destroy(s->ctx);
    g_free(s);
}

/* The iocb lives until completion: it is freed by the reaper. */
static int laio_submit(void *state, AioEngineReq *req)
{
    LinuxAioState *s = state;
    struct iocb *cb = g_new0(struct iocb, 1);
    int ret;

    if (req->write) {
        io_prep_pwritev(cb, req->fd, req->iov, req->niov, req->offset);
    } else {
        io_prep_preadv(cb, req->fd, req->iov, req->niov, req->offset);
    }
    cb->data = req;
    do {
        ret = io_submit(s->ctx, 1, &cb);
    } while (ret == -EINTR || ret == -EAGAIN);
    if (ret < 0) {
        g_free(cb);
        return ret;
    }
    return 0;
}

static int laio_reap(void *state, AioEngineReq **done, int max)
{
    LinuxAioState *s = state;
    struct io_event events[32];
    int n;

    do {
        n = io_getevents(s->ctx, 1, MIN(max, 32), events, NULL);
    } while (n == -EINTR);
    if (n < 0) {
        return n;
    }
    for (int i = 0; i < n; i++) {
        AioEngineReq *req = events[i].data;

        /* res is the byte count or a negative errno, as a long. */
        req->ret = (ssize_t)(long)events[i].res;
        done[i] = req;
        g_free(events[i].obj);
    }
    return n;
}

const AioEngineOps aio_engine_linux_aio = {
    .name = "native",
    .init = laio_init,
    .cleanup = laio_cleanup,
    .submit = laio_submit,
    .reap = laio_reap,
};
