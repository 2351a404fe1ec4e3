/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMUFile over memory: the output grows a GByteArray, the input reads a
 * private copy. COLO builds its device blob with it and the unit tests use
 * it to corrupt streams byte by byte; max_read makes every read short so
 * the tests cross each buffer and chunk boundary.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include "migration/qemu-file.h"

typedef struct ChannelMem {
    GByteArray *data;
    size_t pos;             /* input: next byte to read */
    size_t max_read;
    int shut_down;
} ChannelMem;

static ssize_t channel_mem_writev(void *opaque, const struct iovec *iov,
                                  int iovcnt, Error **errp)
{
    ChannelMem *c = opaque;
    ssize_t total = 0;

    if (g_atomic_int_get(&c->shut_down)) {
        error_setg(errp, "memory channel shut down");
        return -EPIPE;
    }
    for (int i = 0; i < iovcnt; i++) {
        g_byte_array_append(c->data, iov[i].iov_base, iov[i].iov_len);
        total += iov[i].iov_len;
    }
    return total;
}

static ssize_t channel_mem_read(void *opaque, uint8_t *buf, size_t len,
                                Error **errp)
{
    ChannelMem *c = opaque;
    size_t n = MIN(len, c->data->len - c->pos);

    if (g_atomic_int_get(&c->shut_down)) {
        error_setg(errp, "memory channel shut down");
        return -EPIPE;
    }
    if (c->max_read) {
        n = MIN(n, c->max_read);
    }
    if (!n) {
        return 0;       /* end of data (an empty array has no data pointer) */
    }
    memcpy(buf, c->data->data + c->pos, n);
    c->pos += n;
    return n;
}

static int channel_mem_shutdown(void *opaque, Error **errp)
{
    ChannelMem *c = opaque;

    g_atomic_int_set(&c->shut_down, 1);
    return 0;
}

static int channel_mem_close(void *opaque, Error **errp)
{
    ChannelMem *c = opaque;

    g_byte_array_unref(c->data);
    g_free(c);
    return 0;
}

static const QEMUFileOps channel_mem_ops = {
    .name = "mem",
    .writev = channel_mem_writev,
    .read = channel_mem_read,
    .shutdown = channel_mem_shutdown,
    .close = channel_mem_close,
};

QEMUFile *qemu_file_new_mem_output(void)
{
    ChannelMem *c = g_new0(ChannelMem, 1);

    c->data = g_byte_array_new();
    return qemu_file_new(&channel_mem_ops, c, true);
}

QEMUFile *qemu_file_new_mem_input(const void *data, size_t len,
                                  size_t max_read)
{
    ChannelMem *c = g_new0(ChannelMem, 1);

    c->data = g_byte_array_sized_new(len);
    g_byte_array_append(c->data, data, len);
    c->max_read = max_read;
    return qemu_file_new(&channel_mem_ops, c, false);
}

const uint8_t *qemu_file_mem_output_data(QEMUFile *f, size_t *len)
{
    ChannelMem *c = qemu_file_channel(f, &channel_mem_ops);

    g_assert(c && qemu_file_is_writable(f));
    qemu_fflush(f);
    *len = c->data->len;
    return c->data->data;
}
