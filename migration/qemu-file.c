/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The buffered migration stream: a write side that gathers small puts in
 * one buffer and guest pages by reference into an iovec list handed to the
 * channel in one writev, a read side that refills a buffer from the
 * channel, the sticky error both sides share, framing (chunked sections,
 * see qemu-file.h), byte counters and the rate limit.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <glib.h>
#include "migration/qemu-file.h"
#include "util/crc32c.h"
#include "trace.h"

#define QF_BUF_SIZE         32768
/* One slot is kept free for the header of the open chunk (framing). */
#define QF_MAX_IOV          64
#define QF_RATE_WINDOW_US   100000

struct QEMUFile {
    const QEMUFileOps *ops;
    void *opaque;
    bool writable;

    int last_error;             /* 0 or -errno; the first one wins */
    char *error_msg;
    int shut_down;              /* set by another thread: atomic */
    bool transport_failed;      /* last_error came from the channel: a
                                   read or write failed, it ended, or it
                                   was shut down */

    uint8_t buf[QF_BUF_SIZE];
    size_t buf_index;           /* writer: bytes used; reader: consumed */
    size_t buf_size;            /* reader: bytes valid in buf */

    /* Writer: pending data in order. iov[0..seal) may not be extended
     * (chunk headers, data before a frame began). */
    struct iovec iov[QF_MAX_IOV];
    int iovcnt;
    int seal;
    uint8_t chunk_hdr[QF_MAX_IOV][4];
    int nhdr;

    bool framing;
    int chunk_start;            /* writer: first iov of the open chunk */
    uint32_t frame_left;        /* reader: bytes left in the current chunk */
    bool frame_done;            /* reader: the zero chunk was read */

    uint64_t pos;               /* wire bytes queued or consumed */

    bool checksums;             /* records carry CRC trailers (savevm) */
    bool crc_on;                /* a running CRC (qemu_file_crc_begin) */
    bool nocopy_stable;         /* nocopy data will not change: no copy */
    uint32_t crc;

    uint64_t rate_limit;        /* bytes per second, 0 = none */
    int64_t window_start;
    uint64_t window_pos;
    int64_t (*now_us)(void);
};

QEMUFile *qemu_file_new(const QEMUFileOps *ops, void *opaque, bool writable)
{
    QEMUFile *f = g_new0(QEMUFile, 1);

    f->ops = ops;
    f->opaque = opaque;
    f->writable = writable;
    f->now_us = g_get_monotonic_time;
    trace_qemu_file_new(ops->name, writable);
    return f;
}

void *qemu_file_channel(QEMUFile *f, const QEMUFileOps *ops)
{
    return f->ops == ops ? f->opaque : NULL;
}

bool qemu_file_is_writable(QEMUFile *f)
{
    return f->writable;
}

/* ---- sticky error ---- */

static void qemu_file_set_error_str(QEMUFile *f, int ret, const char *msg)
{
    if (f->last_error) {
        return;
    }
    f->last_error = ret < 0 ? ret : -EIO;
    f->error_msg = g_strdup(msg);
    trace_qemu_file_error(f->ops->name, f->last_error, msg);
}

void qemu_file_set_error(QEMUFile *f, int ret, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    if (f->last_error) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qemu_file_set_error_str(f, ret, msg);
}

/* The channel itself failed (not what was read from it). */
static void qemu_file_set_transport_error(QEMUFile *f, int ret,
                                          const char *msg)
{
    if (!f->last_error) {
        f->transport_failed = true;
    }
    qemu_file_set_error_str(f, ret, msg);
}

/* Takes over a channel Error (or a fallback message). */
static void qemu_file_set_error_err(QEMUFile *f, int ret, Error *err,
                                    const char *fallback)
{
    qemu_file_set_transport_error(f, ret, err ? error_get_pretty(err) :
                                                fallback);
    if (err) {
        error_free(err);
    }
}

int qemu_file_get_error(QEMUFile *f, Error **errp)
{
    if (f->last_error) {
        error_setg(errp, "%s", f->error_msg);
    }
    return f->last_error;
}

bool qemu_file_transport_failed(QEMUFile *f)
{
    return f->last_error && f->transport_failed;
}

const char *qemu_file_error_message(QEMUFile *f)
{
    return f->error_msg;
}

static bool qemu_file_is_shut_down(QEMUFile *f)
{
    if (g_atomic_int_get(&f->shut_down)) {
        qemu_file_set_transport_error(f, -EPIPE, "stream shut down");
        return true;
    }
    return false;
}

/* ---- writer ---- */

static void qemu_file_add_iov(QEMUFile *f, const void *base, size_t len,
                              bool in_buf)
{
    struct iovec *last = f->iovcnt > f->seal ? &f->iov[f->iovcnt - 1] : NULL;

    if (in_buf && last && (uint8_t *)last->iov_base + last->iov_len ==
        (uint8_t *)base && (uint8_t *)base >= f->buf &&
        (uint8_t *)base < f->buf + QF_BUF_SIZE) {
        last->iov_len += len;
        return;
    }
    f->iov[f->iovcnt].iov_base = (void *)base;
    f->iov[f->iovcnt].iov_len = len;
    f->iovcnt++;
}

/* Ends the open chunk: its header goes in front of its iovecs. */
static void qemu_file_close_chunk(QEMUFile *f)
{
    size_t len = 0;
    uint8_t *hdr;

    for (int i = f->chunk_start; i < f->iovcnt; i++) {
        len += f->iov[i].iov_len;
    }
    if (len == 0) {
        return;
    }
    /* Chunks are at most QF_BUF_SIZE copied bytes plus QF_MAX_IOV pages by
     * reference; callers hand us pages, not gigabytes. */
    g_assert(len <= UINT32_MAX);
    hdr = f->chunk_hdr[f->nhdr++];
    hdr[0] = len >> 24;
    hdr[1] = len >> 16;
    hdr[2] = len >> 8;
    hdr[3] = len;
    /* Inside a frame the CRC follows wire order: header, then data. */
    if (f->crc_on) {
        f->crc = crc32c(f->crc, hdr, 4);
        for (int i = f->chunk_start; i < f->iovcnt; i++) {
            f->crc = crc32c(f->crc, f->iov[i].iov_base, f->iov[i].iov_len);
        }
    }
    memmove(&f->iov[f->chunk_start + 1], &f->iov[f->chunk_start],
            (f->iovcnt - f->chunk_start) * sizeof(f->iov[0]));
    f->iov[f->chunk_start].iov_base = hdr;
    f->iov[f->chunk_start].iov_len = 4;
    f->iovcnt++;
    f->pos += 4;
    f->seal = f->chunk_start = f->iovcnt;
}

void qemu_fflush(QEMUFile *f)
{
    Error *err = NULL;
    ssize_t ret;

    if (!f->writable) {
        return;
    }
    if (f->framing) {
        qemu_file_close_chunk(f);
    }
    if (f->iovcnt && !f->last_error && !qemu_file_is_shut_down(f)) {
        ret = f->ops->writev(f->opaque, f->iov, f->iovcnt, &err);
        if (ret < 0) {
            qemu_file_set_error_err(f, ret, err, "write failed");
        }
    }
    f->iovcnt = f->seal = f->chunk_start = f->nhdr = 0;
    f->buf_index = 0;
}

static bool qemu_file_can_put(QEMUFile *f)
{
    g_assert(f->writable);
    return !f->last_error;
}

void qemu_put_buffer(QEMUFile *f, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    if (!qemu_file_can_put(f)) {
        return;
    }
    while (len) {
        size_t n;

        if (f->buf_index == QF_BUF_SIZE || f->iovcnt >= QF_MAX_IOV - 1) {
            qemu_fflush(f);
            if (f->last_error) {
                return;
            }
        }
        n = MIN(len, QF_BUF_SIZE - f->buf_index);
        memcpy(f->buf + f->buf_index, p, n);
        if (f->crc_on && !f->framing) {
            f->crc = crc32c(f->crc, f->buf + f->buf_index, n);
        }
        qemu_file_add_iov(f, f->buf + f->buf_index, n, true);
        f->buf_index += n;
        f->pos += n;
        p += n;
        len -= n;
    }
}

void qemu_put_buffer_nocopy(QEMUFile *f, const void *buf, size_t len)
{
    if (!qemu_file_can_put(f) || !len) {
        return;
    }
    /* The CRC must be of the bytes that go out: copy what may change. */
    if (f->crc_on && !f->nocopy_stable) {
        qemu_put_buffer(f, buf, len);
        return;
    }
    if (f->iovcnt >= QF_MAX_IOV - 1) {
        qemu_fflush(f);
        if (f->last_error) {
            return;
        }
    }
    if (f->crc_on && !f->framing) {
        f->crc = crc32c(f->crc, buf, len);
    }
    qemu_file_add_iov(f, buf, len, false);
    f->pos += len;
}

void qemu_put_byte(QEMUFile *f, uint8_t v)
{
    qemu_put_buffer(f, &v, 1);
}

void qemu_put_be16(QEMUFile *f, uint16_t v)
{
    uint8_t b[2] = { v >> 8, v };

    qemu_put_buffer(f, b, sizeof(b));
}

void qemu_put_be32(QEMUFile *f, uint32_t v)
{
    uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

    qemu_put_buffer(f, b, sizeof(b));
}

void qemu_put_be64(QEMUFile *f, uint64_t v)
{
    qemu_put_be32(f, v >> 32);
    qemu_put_be32(f, v);
}

void qemu_put_counted_string(QEMUFile *f, const char *str)
{
    size_t len = strlen(str);

    if (len > 255) {
        qemu_file_set_error(f, -EINVAL, "string '%.32s...' longer than 255 "
                            "bytes", str);
        return;
    }
    qemu_put_byte(f, len);
    qemu_put_buffer(f, str, len);
}

/* ---- reader ---- */

/* Makes at least one unread byte available; false at end of stream (no
 * error set) or on a channel error (error set). */
static bool qemu_file_fill(QEMUFile *f)
{
    Error *err = NULL;
    ssize_t ret;

    if (f->buf_index < f->buf_size) {
        return true;
    }
    if (f->last_error || qemu_file_is_shut_down(f)) {
        return false;
    }
    f->buf_index = f->buf_size = 0;
    do {
        ret = f->ops->read(f->opaque, f->buf, QF_BUF_SIZE, &err);
    } while (ret == -EINTR);
    if (ret < 0) {
        if (g_atomic_int_get(&f->shut_down)) {
            error_free(err);
            qemu_file_is_shut_down(f);
        } else {
            qemu_file_set_error_err(f, ret, err, "read failed");
        }
        return false;
    }
    if (ret == 0) {
        /* A shut-down socket reads as end of stream; say why. */
        qemu_file_is_shut_down(f);
        return false;
    }
    f->buf_size = ret;
    return true;
}

/* Exactly len bytes of the raw stream, or zeros and the sticky error. */
static bool qemu_file_get_raw(QEMUFile *f, uint8_t *dst, size_t len)
{
    while (len) {
        size_t n;

        if (!qemu_file_fill(f)) {
            qemu_file_set_transport_error(f, -ENODATA,
                                          "unexpected end of stream");
            if (dst) {
                memset(dst, 0, len);
            }
            return false;
        }
        n = MIN(len, f->buf_size - f->buf_index);
        if (f->crc_on) {
            f->crc = crc32c(f->crc, f->buf + f->buf_index, n);
        }
        if (dst) {
            memcpy(dst, f->buf + f->buf_index, n);
            dst += n;
        }
        f->buf_index += n;
        f->pos += n;
        len -= n;
    }
    return true;
}

static bool qemu_file_next_chunk(QEMUFile *f)
{
    uint8_t hdr[4];

    if (f->frame_done) {
        qemu_file_set_error(f, -ENODATA, "read past the end of the section");
        return false;
    }
    if (!qemu_file_get_raw(f, hdr, 4)) {
        return false;
    }
    f->frame_left = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 |
                    hdr[3];
    if (f->frame_left == 0) {
        f->frame_done = true;
        qemu_file_set_error(f, -ENODATA, "read past the end of the section");
        return false;
    }
    return true;
}

static bool qemu_file_get_payload_part(QEMUFile *f, uint8_t *dst,
                                       size_t len);

/* dst may be NULL to skip. On failure all of dst is zeroed: a value cut
 * short reads as 0, never as half a value. */
static bool qemu_file_get_payload(QEMUFile *f, uint8_t *dst, size_t len)
{
    if (!qemu_file_get_payload_part(f, dst, len)) {
        if (dst) {
            memset(dst, 0, len);
        }
        return false;
    }
    return true;
}

static bool qemu_file_get_payload_part(QEMUFile *f, uint8_t *dst,
                                       size_t len)
{
    g_assert(!f->writable);
    if (f->last_error) {
        if (dst) {
            memset(dst, 0, len);
        }
        return false;
    }
    if (!f->framing) {
        return qemu_file_get_raw(f, dst, len);
    }
    while (len) {
        size_t n;

        if (f->frame_left == 0 && !qemu_file_next_chunk(f)) {
            if (dst) {
                memset(dst, 0, len);
            }
            return false;
        }
        n = MIN(len, f->frame_left);
        if (!qemu_file_get_raw(f, dst, n)) {
            return false;
        }
        f->frame_left -= n;
        if (dst) {
            dst += n;
        }
        len -= n;
    }
    return true;
}

bool qemu_get_buffer(QEMUFile *f, void *buf, size_t len)
{
    return qemu_file_get_payload(f, buf, len);
}

bool qemu_file_skip(QEMUFile *f, size_t len)
{
    return qemu_file_get_payload(f, NULL, len);
}

uint8_t qemu_get_byte(QEMUFile *f)
{
    uint8_t v;

    /* Fast path: most records are built from single bytes and words. */
    if (!f->framing && !f->crc_on && !f->last_error &&
        f->buf_index < f->buf_size) {
        f->pos++;
        return f->buf[f->buf_index++];
    }
    qemu_file_get_payload(f, &v, 1);
    return v;
}

uint16_t qemu_get_be16(QEMUFile *f)
{
    uint8_t b[2];

    qemu_file_get_payload(f, b, 2);
    return b[0] << 8 | b[1];
}

uint32_t qemu_get_be32(QEMUFile *f)
{
    uint8_t b[4];

    qemu_file_get_payload(f, b, 4);
    return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
}

uint64_t qemu_get_be64(QEMUFile *f)
{
    uint8_t b[8];
    uint64_t v = 0;

    qemu_file_get_payload(f, b, 8);
    for (int i = 0; i < 8; i++) {
        v = v << 8 | b[i];
    }
    return v;
}

size_t qemu_get_counted_string(QEMUFile *f, char buf[256])
{
    size_t len = qemu_get_byte(f);

    if (!qemu_get_buffer(f, buf, len)) {
        buf[0] = 0;
        return 0;
    }
    buf[len] = 0;
    if (strlen(buf) != len) {
        qemu_file_set_error(f, -EINVAL, "string contains a NUL byte");
        buf[0] = 0;
        return 0;
    }
    return len;
}

bool qemu_file_at_eof(QEMUFile *f)
{
    g_assert(!f->writable);
    return !qemu_file_fill(f);
}

/* ---- framing ---- */

void qemu_file_frame_begin(QEMUFile *f)
{
    g_assert(!f->framing);
    f->framing = true;
    if (f->writable) {
        f->seal = f->chunk_start = f->iovcnt;
    } else {
        f->frame_left = 0;
        f->frame_done = false;
    }
}

/* The rest of a frame being read, chunk by chunk up to the zero chunk:
 * into out (at most max bytes in all) or skipped. Returns the bytes. */
static uint64_t qemu_file_frame_drain(QEMUFile *f, GByteArray *out,
                                      size_t max)
{
    uint64_t unread = 0;

    while (!f->last_error && !f->frame_done) {
        if (f->frame_left) {
            uint8_t *dst = NULL;

            if (out) {
                if (f->frame_left > max - out->len) {
                    qemu_file_set_error(f, -EFBIG, "section payload larger "
                                        "than %zu bytes", max);
                    break;
                }
                g_byte_array_set_size(out, out->len + f->frame_left);
                dst = out->data + out->len - f->frame_left;
            }
            unread += f->frame_left;
            qemu_file_get_raw(f, dst, f->frame_left);
            f->frame_left = 0;
        } else {
            uint8_t hdr[4];

            if (!qemu_file_get_raw(f, hdr, 4)) {
                break;
            }
            f->frame_left = (uint32_t)hdr[0] << 24 | hdr[1] << 16 |
                            hdr[2] << 8 | hdr[3];
            f->frame_done = f->frame_left == 0;
        }
    }
    return unread;
}

uint64_t qemu_file_frame_end(QEMUFile *f)
{
    uint64_t unread;

    g_assert(f->framing);
    if (f->writable) {
        qemu_file_close_chunk(f);
        f->framing = false;
        qemu_put_be32(f, 0);
        return 0;
    }
    /* Skip what the reader left. */
    unread = qemu_file_frame_drain(f, NULL, 0);
    f->framing = false;
    return unread;
}

bool qemu_file_frame_read_rest(QEMUFile *f, GByteArray *out, size_t max)
{
    g_assert(f->framing && !f->writable);
    qemu_file_frame_drain(f, out, max);
    f->framing = false;
    return !f->last_error;
}

/* ---- checksums ---- */

void qemu_file_set_checksums(QEMUFile *f, bool on)
{
    f->checksums = on;
}

bool qemu_file_checksums(QEMUFile *f)
{
    return f->checksums;
}

void qemu_file_crc_begin(QEMUFile *f)
{
    g_assert(!f->framing);
    f->crc_on = true;
    f->crc = 0;
}

uint32_t qemu_file_crc_end(QEMUFile *f)
{
    g_assert(!f->framing);
    f->crc_on = false;
    return f->crc;
}

void qemu_file_set_nocopy_stable(QEMUFile *f, bool on)
{
    f->nocopy_stable = on;
}

/* ---- counters, rate limit, shutdown, close ---- */

uint64_t qemu_file_transferred(QEMUFile *f)
{
    return f->pos;
}

void qemu_file_set_rate_limit(QEMUFile *f, uint64_t bytes_per_sec)
{
    f->rate_limit = bytes_per_sec;
    f->window_start = f->now_us();
    f->window_pos = f->pos;
}

void qemu_file_set_clock(QEMUFile *f, int64_t (*now_us)(void))
{
    f->now_us = now_us ? now_us : g_get_monotonic_time;
}

/* Starts a new window once the current one has passed. */
static void qemu_file_rate_window(QEMUFile *f)
{
    int64_t now = f->now_us();

    if (now - f->window_start >= QF_RATE_WINDOW_US) {
        f->window_start = now;
        f->window_pos = f->pos;
    }
}

bool qemu_file_rate_limit(QEMUFile *f)
{
    if (f->last_error || g_atomic_int_get(&f->shut_down)) {
        return true;
    }
    if (!f->rate_limit) {
        return false;
    }
    qemu_file_rate_window(f);
    return f->pos - f->window_pos >=
           f->rate_limit * QF_RATE_WINDOW_US / G_USEC_PER_SEC;
}

int64_t qemu_file_rate_limit_delay_us(QEMUFile *f)
{
    if (!qemu_file_rate_limit(f) || f->last_error) {
        return 0;
    }
    return MAX(0, f->window_start + QF_RATE_WINDOW_US - f->now_us());
}

int qemu_file_shutdown(QEMUFile *f)
{
    Error *err = NULL;
    int ret = 0;

    g_atomic_int_set(&f->shut_down, 1);
    trace_qemu_file_shutdown(f->ops->name);
    if (f->ops->shutdown) {
        ret = f->ops->shutdown(f->opaque, &err);
        error_free(err);
    }
    return ret;
}

int qemu_fclose(QEMUFile *f)
{
    Error *err = NULL;
    int ret;

    if (f->writable) {
        if (f->framing) {
            qemu_file_frame_end(f);
        }
        qemu_fflush(f);
    }
    ret = f->last_error;
    if (f->ops->close) {
        int cret = f->ops->close(f->opaque, &err);

        error_free(err);
        if (!ret) {
            ret = cret;
        }
    }
    trace_qemu_file_close(f->ops->name, ret);
    g_free(f->error_msg);
    g_free(f);
    return ret;
}
