/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The file protocol driver: a host file read and written with preadv/
 * pwritev (aio=threads, on the calling thread), io_uring or Linux AIO.
 *
 * Opening: O_NONBLOCK first, so a FIFO can never block the open, then
 * fstat: anything but a regular file is refused unless x-allow-special=on
 * (issue 10: a disk path must not hang the process).
 *
 * cache.direct=on opens with O_DIRECT: offsets, lengths and buffers must
 * then be aligned to DIRECT_ALIGN. Requests that are not go through a
 * bounce buffer: a read reads the aligned superset; a write reads,
 * modifies and writes the aligned superset under rmw_lock held for
 * writing (aligned writes hold it for reading), so two concurrent
 * unaligned writes into one block cannot lose each other's bytes.
 *
 * Reads past the end of the file return zeroes (a short read is not an
 * error: images grow). cache.no-flush=on makes flush a no-op.
 *
 * Image locking (locking=auto|on|off): the node's permissions become
 * byte-range locks on the fd (block/file-lock.h) whenever they change.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include "block/block_int.h"
#include "block/permission.h"
#include "aio-engine.h"
#include "file-lock.h"
#include "trace.h"

/* The strictest O_DIRECT alignment in use (4 KiB sectors). */
#define DIRECT_ALIGN 4096

typedef struct BDRVFileState {
    int fd;
    bool fd_writable;       /* opened O_RDWR (bdrv_make_writable) */
    OnOffAuto locking;
    BlockdevAioOptions aio;
    AioEngine *engine;      /* NULL for aio=threads */
    GRWLock rmw_lock;
    FileLock lock;
} BDRVFileState;

static bool file_open(BlockDriverState *bs, const BlockdevOptions *opts,
                      Error **errp)
{
    BDRVFileState *s = bs->opaque;
    const BlockdevOptionsFile *o = &opts->u.file;
    int flags = (bs->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK;
    struct stat st;

    s->fd = -1;
    s->fd_writable = !bs->read_only;
    s->locking = o->has_locking ? o->locking : ON_OFF_AUTO_AUTO;
    s->aio = o->has_aio ? o->aio : BLOCKDEV_AIO_OPTIONS_THREADS;
    bs->filename = g_strdup(o->filename);
    if (s->aio == BLOCKDEV_AIO_OPTIONS_NATIVE && !bs->cache_direct) {
        error_setg(errp, "aio=native was specified, but it requires "
                   "cache.direct=on, which was not specified.");
        return false;
    }
    if (bs->cache_direct) {
        flags |= O_DIRECT;
    }
    s->fd = open(o->filename, flags);
    if (s->fd < 0) {
        if (errno == EINVAL && bs->cache_direct) {
            error_setg(errp, "Could not open '%s': the filesystem does not "
                       "support O_DIRECT (cache.direct=on)", o->filename);
        } else {
            error_setg_errno(errp, errno, "Could not open '%s'",
                             o->filename);
        }
        return false;
    }
    if (fstat(s->fd, &st) < 0) {
        error_setg_errno(errp, errno, "Could not stat '%s'", o->filename);
        goto fail;
    }
    if (!S_ISREG(st.st_mode) &&
        !(o->has_x_allow_special && o->x_allow_special)) {
        error_setg(errp, "'file' driver requires '%s' to be a regular file "
                   "(x-allow-special=on opens it anyway)", o->filename);
        goto fail;
    }
    /* Regular files ignore O_NONBLOCK; a FIFO the user asked for blocks. */
    fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) & ~O_NONBLOCK);
    if (s->aio == BLOCKDEV_AIO_OPTIONS_IO_URING) {
        s->engine = aio_engine_new(&aio_engine_io_uring, errp);
    } else if (s->aio == BLOCKDEV_AIO_OPTIONS_NATIVE) {
        s->engine = aio_engine_new(&aio_engine_linux_aio, errp);
    }
    if (s->aio != BLOCKDEV_AIO_OPTIONS_THREADS && !s->engine) {
        goto fail;
    }
    /* No locks yet: the node has no users until a parent attaches. */
    if (!file_lock_init(&s->lock, s->fd, o->filename, s->locking, errp)) {
        aio_engine_free(s->engine);
        s->engine = NULL;
        goto fail;
    }
    bs->request_alignment = bs->cache_direct ? DIRECT_ALIGN : 1;
    g_rw_lock_init(&s->rmw_lock);
    return true;

fail:
    close(s->fd);
    s->fd = -1;
    return false;
}

static void file_close(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;

    aio_engine_free(s->engine);
    file_lock_destroy(&s->lock);
    if (s->fd >= 0) {
        close(s->fd);           /* drops the OFD locks too */
    }
    g_rw_lock_clear(&s->rmw_lock);
}

static bool file_set_perm(BlockDriverState *bs, uint64_t perm,
                          uint64_t shared, Error **errp)
{
    BDRVFileState *s = bs->opaque;

    return file_lock_set(&s->lock, perm, shared, errp);
}

/*
 * A node opened read-only is to be written: the image is opened again
 * for writing (the same file: a replaced one is refused) and the locks
 * move to the new open file description. Locks belong to a description,
 * so the old one lets go first (else the two would conflict); should
 * another process take the image in that moment, the old one takes its
 * locks back and nothing changes.
 */
static bool file_make_writable(BlockDriverState *bs, Error **errp)
{
    BDRVFileState *s = bs->opaque;
    int flags = O_RDWR | O_CLOEXEC | (bs->cache_direct ? O_DIRECT : 0);
    uint64_t perm = s->lock.held;
    uint64_t shared = BLK_PERM_ALL & ~s->lock.unshared;
    struct stat old_st, new_st;
    FileLock lock;
    int fd;

    if (s->fd_writable) {
        return true;
    }
    fd = open(bs->filename, flags);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not reopen '%s' for writing",
                         bs->filename);
        return false;
    }
    if (fstat(s->fd, &old_st) < 0 || fstat(fd, &new_st) < 0 ||
        old_st.st_dev != new_st.st_dev || old_st.st_ino != new_st.st_ino) {
        error_setg(errp, "Could not reopen '%s' for writing: the file was "
                   "replaced since it was opened", bs->filename);
        close(fd);
        return false;
    }
    file_lock_release(&s->lock);
    if (!file_lock_init(&lock, fd, bs->filename, s->locking, errp) ||
        !file_lock_set(&lock, perm, shared, errp)) {
        Error *err = NULL;

        file_lock_destroy(&lock);
        close(fd);
        if (!file_lock_set(&s->lock, perm, shared, &err)) {
            warn_report("%s", error_get_pretty(err));
            error_free(err);
        }
        return false;
    }
    file_lock_destroy(&s->lock);
    close(s->fd);
    s->fd = fd;
    s->lock = lock;
    s->fd_writable = true;
    trace_file_make_writable(bs->filename);
    return true;
}

/* One transfer through the configured engine: bytes (maybe short) or -errno. */
static ssize_t file_rw_once(BDRVFileState *s, bool write,
                            const struct iovec *iov, int niov,
                            uint64_t offset)
{
    ssize_t n;

    if (s->engine) {
        return aio_engine_rw(s->engine, s->fd, write, iov, niov, offset);
    }
    do {
        n = write ? pwritev(s->fd, iov, niov, offset)
                  : preadv(s->fd, iov, niov, offset);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

/*
 * The whole of qiov, resuming after short transfers; a read that hits the
 * end of the file zero-fills the rest. qiov must already suit O_DIRECT.
 */
static int file_rw_full(BDRVFileState *s, bool write, uint64_t offset,
                        BlockIov *qiov)
{
    uint64_t done = 0;

    while (done < qiov->size) {
        BlockIov rest;
        ssize_t n;

        block_iov_slice(&rest, qiov, done, qiov->size - done);
        n = file_rw_once(s, write, rest.iov, rest.niov, offset + done);
        g_free(rest.iov);
        if (n < 0) {
            return (int)n;
        }
        if (n == 0) {
            if (write) {
                return -EIO;
            }
            block_iov_memset(qiov, done, 0, qiov->size - done);
            return 0;
        }
        done += n;
    }
    return 0;
}

static bool qiov_is_aligned(const BlockIov *qiov, uint64_t offset)
{
    if (offset % DIRECT_ALIGN || qiov->size % DIRECT_ALIGN) {
        return false;
    }
    for (int i = 0; i < qiov->niov; i++) {
        if ((uintptr_t)qiov->iov[i].iov_base % DIRECT_ALIGN ||
            qiov->iov[i].iov_len % DIRECT_ALIGN) {
            return false;
        }
    }
    return true;
}

/* An aligned buffer covering [offset, offset + bytes), read from the file. */
static int bounce_read(BDRVFileState *s, uint64_t start, uint64_t len,
                       void **bufp)
{
    struct iovec one;
    BlockIov b;
    int ret;

    *bufp = g_aligned_alloc(len, 1, DIRECT_ALIGN);
    block_iov_init_buf(&b, &one, *bufp, len);
    ret = file_rw_full(s, false, start, &b);
    if (ret < 0) {
        g_aligned_free(*bufp);
        *bufp = NULL;
    }
    return ret;
}

static int file_preadv(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                       int flags)
{
    BDRVFileState *s = bs->opaque;
    uint64_t start, end;
    void *buf;
    int ret;

    if (!bs->cache_direct || qiov_is_aligned(qiov, offset)) {
        return file_rw_full(s, false, offset, qiov);
    }
    start = offset & ~(uint64_t)(DIRECT_ALIGN - 1);
    end = (offset + qiov->size + DIRECT_ALIGN - 1) &
          ~(uint64_t)(DIRECT_ALIGN - 1);
    trace_file_bounce(bs->node_name, "read", offset, qiov->size);
    ret = bounce_read(s, start, end - start, &buf);
    if (ret == 0) {
        block_iov_from_buf(qiov, 0, (char *)buf + (offset - start),
                           qiov->size);
        g_aligned_free(buf);
    }
    return ret;
}

static int file_sync(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;

    if (bs->cache_no_flush) {
        return 0;
    }
    return fdatasync(s->fd) < 0 ? -errno : 0;
}

/* Read-modify-write of the aligned blocks around an unaligned write. */
static int file_pwritev_bounce(BlockDriverState *bs, uint64_t offset,
                               BlockIov *qiov)
{
    BDRVFileState *s = bs->opaque;
    uint64_t start = offset & ~(uint64_t)(DIRECT_ALIGN - 1);
    uint64_t end = (offset + qiov->size + DIRECT_ALIGN - 1) &
                   ~(uint64_t)(DIRECT_ALIGN - 1);
    struct iovec one;
    struct stat st;
    BlockIov b;
    void *buf;
    int ret;

    trace_file_bounce(bs->node_name, "write", offset, qiov->size);
    g_rw_lock_writer_lock(&s->rmw_lock);
    if (fstat(s->fd, &st) < 0) {
        ret = -errno;
        goto out;
    }
    ret = bounce_read(s, start, end - start, &buf);
    if (ret < 0) {
        goto out;
    }
    block_iov_to_buf(qiov, 0, (char *)buf + (offset - start), qiov->size);
    block_iov_init_buf(&b, &one, buf, end - start);
    ret = file_rw_full(s, true, start, &b);
    g_aligned_free(buf);
    /* The padding must not make the file longer than the write did. */
    if (ret == 0 && end > (uint64_t)st.st_size) {
        uint64_t want = MAX((uint64_t)st.st_size, offset + qiov->size);

        if (ftruncate(s->fd, want) < 0) {
            ret = -errno;
        }
    }
out:
    g_rw_lock_writer_unlock(&s->rmw_lock);
    return ret;
}

static int file_pwritev(BlockDriverState *bs, uint64_t offset,
                        BlockIov *qiov, int flags)
{
    BDRVFileState *s = bs->opaque;
    int ret;

    if (bs->cache_direct && !qiov_is_aligned(qiov, offset)) {
        ret = file_pwritev_bounce(bs, offset, qiov);
    } else {
        g_rw_lock_reader_lock(&s->rmw_lock);
        ret = file_rw_full(s, true, offset, qiov);
        g_rw_lock_reader_unlock(&s->rmw_lock);
    }
    if (ret == 0 && (flags & BDRV_REQ_FUA)) {
        ret = file_sync(bs);
    }
    return ret;
}

static int file_fallocate(BDRVFileState *s, int mode, uint64_t offset,
                          uint64_t bytes)
{
    if (fallocate(s->fd, mode, offset, bytes) == 0) {
        return 0;
    }
    return errno == EOPNOTSUPP || errno == ENOSYS ? -ENOTSUP : -errno;
}

static int file_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                              uint64_t bytes, int flags)
{
    BDRVFileState *s = bs->opaque;
    struct stat st;
    int ret;

    g_rw_lock_writer_lock(&s->rmw_lock);
    ret = file_fallocate(s, FALLOC_FL_ZERO_RANGE, offset, bytes);
    if (ret == -ENOTSUP && (flags & BDRV_REQ_MAY_UNMAP)) {
        /* A hole reads as zeroes; punching does not extend the file. */
        ret = file_fallocate(s, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                             offset, bytes);
        if (ret == 0 && fstat(s->fd, &st) == 0 &&
            (uint64_t)st.st_size < offset + bytes &&
            ftruncate(s->fd, offset + bytes) < 0) {
            ret = -errno;
        }
    }
    g_rw_lock_writer_unlock(&s->rmw_lock);
    if (ret == 0 && (flags & BDRV_REQ_FUA)) {
        ret = file_sync(bs);
    }
    return ret;
}

static int file_pdiscard(BlockDriverState *bs, uint64_t offset,
                         uint64_t bytes)
{
    BDRVFileState *s = bs->opaque;

    return file_fallocate(s, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                          offset, bytes);
}

static int file_flush(BlockDriverState *bs)
{
    return file_sync(bs);
}

static int64_t file_getlength(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;
    off_t len = lseek(s->fd, 0, SEEK_END);

    return len < 0 ? -errno : len;
}

static int file_truncate(BlockDriverState *bs, uint64_t size, Error **errp)
{
    BDRVFileState *s = bs->opaque;

    if (ftruncate(s->fd, size) < 0) {
        error_setg_errno(errp, errno, "Failed to resize '%s'", bs->filename);
        return -errno;
    }
    return 0;
}

/* SEEK_DATA/SEEK_HOLE: data is data, holes read as zeroes. */
static int file_block_status(BlockDriverState *bs, uint64_t offset,
                             uint64_t bytes, uint64_t *pnum, uint64_t *map,
                             BlockDriverState **file)
{
    BDRVFileState *s = bs->opaque;
    off_t data, hole;
    int ret = BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED;

    *map = offset;
    *file = bs;
    data = lseek(s->fd, offset, SEEK_DATA);
    if (data < 0 && errno == ENXIO) {
        *pnum = bytes;                      /* a hole up to (or past) EOF */
        return ret | BDRV_BLOCK_ZERO;
    }
    if (data < 0) {
        *pnum = bytes;                      /* cannot tell: say data */
        return ret | BDRV_BLOCK_DATA;
    }
    if ((uint64_t)data > offset) {
        *pnum = MIN(bytes, (uint64_t)data - offset);
        return ret | BDRV_BLOCK_ZERO;
    }
    hole = lseek(s->fd, offset, SEEK_HOLE);
    *pnum = hole < 0 || (uint64_t)hole <= offset
            ? bytes : MIN(bytes, (uint64_t)hole - offset);
    return ret | BDRV_BLOCK_DATA;
}

static int64_t file_get_allocated_size(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;
    struct stat st;

    return fstat(s->fd, &st) < 0 ? -errno : (int64_t)st.st_blocks * 512;
}

const BlockDriver bdrv_file = {
    .format_name = "file",
    .instance_size = sizeof(BDRVFileState),
    .open = file_open,
    .close = file_close,
    .preadv = file_preadv,
    .pwritev = file_pwritev,
    .pwrite_zeroes = file_pwrite_zeroes,
    .pdiscard = file_pdiscard,
    .flush = file_flush,
    .getlength = file_getlength,
    .truncate = file_truncate,
    .block_status = file_block_status,
    .get_allocated_size = file_get_allocated_size,
    .set_perm = file_set_perm,
    .make_writable = file_make_writable,
};
