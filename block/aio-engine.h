/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The file driver's kernel AIO engines (aio=io_uring, aio=native). The
 * caller submits one read or write and waits for it on its own thread;
 * meanwhile other threads submit theirs, so the kernel sees as many
 * requests at once as there are waiting threads (block worker threads for
 * asynchronous requests).
 *
 * Completions are reaped by one waiter at a time (the "reaper"): it blocks
 * in the kernel for at least one completion, marks every completion it
 * got done, wakes the other waiters and, if its own request is not done,
 * reaps again; when it leaves, another waiter takes the turn. Lock:
 * AioEngine.lock guards submission and the done flags.
 */
#ifndef BLOCK_AIO_ENGINE_H
#define BLOCK_AIO_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <glib.h>
#include "util/error.h"

typedef struct AioEngine AioEngine;

typedef struct AioEngineReq {
    int fd;
    bool write;
    const struct iovec *iov;
    int niov;
    uint64_t offset;
    ssize_t ret;        /* bytes or -errno, valid once done */
    bool done;
} AioEngineReq;

typedef struct AioEngineOps {
    const char *name;
    void *(*init)(Error **errp);
    void (*cleanup)(void *state);
    /* Under AioEngine.lock: 0 or -errno. */
    int (*submit)(void *state, AioEngineReq *req);
    /*
     * Without the lock, by the reaper only: blocks until at least one
     * request completes; fills done[] (with req->ret set) and returns how
     * many, or -errno.
     */
    int (*reap)(void *state, AioEngineReq **done, int max);
} AioEngineOps;

extern const AioEngineOps aio_engine_io_uring;
extern const AioEngineOps aio_engine_linux_aio;

AioEngine *aio_engine_new(const AioEngineOps *ops, Error **errp);
void aio_engine_free(AioEngine *e);
/* Bytes transferred (may be short) or -errno. */
ssize_t aio_engine_rw(AioEngine *e, int fd, bool write,
                      const struct iovec *iov, int niov, uint64_t offset);

#endif
