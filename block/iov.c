/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * BlockIov helpers: slicing a scatter/gather list and copying in and out
 * of it, so drivers can split a request at cluster boundaries without
 * copying the data.
 */
#include <string.h>
#include <glib.h>
#include "block/block.h"

void block_iov_init_buf(BlockIov *qiov, struct iovec *one, void *buf,
                        uint64_t len)
{
    one->iov_base = buf;
    one->iov_len = len;
    qiov->iov = one;
    qiov->niov = 1;
    qiov->size = len;
}

void block_iov_slice(BlockIov *dst, const BlockIov *src, uint64_t off,
                     uint64_t len)
{
    int i, n = 0;

    g_assert(off + len <= src->size);
    dst->iov = g_new(struct iovec, src->niov ? src->niov : 1);
    dst->size = len;
    for (i = 0; i < src->niov && len; i++) {
        uint64_t l = src->iov[i].iov_len;
        uint64_t take;

        if (off >= l) {
            off -= l;
            continue;
        }
        take = MIN(l - off, len);
        dst->iov[n].iov_base = (char *)src->iov[i].iov_base + off;
        dst->iov[n].iov_len = take;
        n++;
        len -= take;
        off = 0;
    }
    dst->niov = n;
}

/* Calls fn on each piece of qiov[off, off + len). */
static void iov_walk(const BlockIov *qiov, uint64_t off, uint64_t len,
                     void (*fn)(void *piece, uint64_t n, uint64_t done,
                                void *opaque),
                     void *opaque)
{
    uint64_t done = 0;
    int i;

    g_assert(off + len <= qiov->size);
    for (i = 0; i < qiov->niov && done < len; i++) {
        uint64_t l = qiov->iov[i].iov_len;
        uint64_t take;

        if (off >= l) {
            off -= l;
            continue;
        }
        take = MIN(l - off, len - done);
        fn((char *)qiov->iov[i].iov_base + off, take, done, opaque);
        done += take;
        off = 0;
    }
}

static void memset_piece(void *piece, uint64_t n, uint64_t done, void *opaque)
{
    memset(piece, *(int *)opaque, n);
}

void block_iov_memset(const BlockIov *qiov, uint64_t off, int c, uint64_t len)
{
    iov_walk(qiov, off, len, memset_piece, &c);
}

static void to_buf_piece(void *piece, uint64_t n, uint64_t done, void *opaque)
{
    memcpy((char *)opaque + done, piece, n);
}

void block_iov_to_buf(const BlockIov *qiov, uint64_t off, void *buf,
                      uint64_t len)
{
    iov_walk(qiov, off, len, to_buf_piece, buf);
}

static void from_buf_piece(void *piece, uint64_t n, uint64_t done,
                           void *opaque)
{
    memcpy(piece, (const char *)opaque + done, n);
}

void block_iov_from_buf(const BlockIov *qiov, uint64_t off, const void *buf,
                        uint64_t len)
{
    iov_walk(qiov, off, len, from_buf_piece, (void *)buf);
}

bool block_iov_is_zero(const BlockIov *qiov)
{
    int i;

    for (i = 0; i < qiov->niov; i++) {
        const unsigned char *p = qiov->iov[i].iov_base;
        size_t n = qiov->iov[i].iov_len;

        if (n && (p[0] || memcmp(p, p + 1, n - 1))) {
            return false;
        }
    }
    return true;
}
