/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The length-prefixed frame stream (format in include/net/frame-codec.h):
 * a decoder that knows, byte count by byte count, whether it is reading
 * the header words or the frame, and an encoder for the header.
 */
#include <string.h>
#include <glib.h>
#include "net/frame-codec.h"

static uint32_t frame_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static void frame_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

void net_frame_decoder_init(NetFrameDecoder *d, bool vnet_hdr_support,
                            size_t max_len)
{
    *d = (NetFrameDecoder) {
        .vnet_hdr_support = vnet_hdr_support,
        .max_len = max_len,
        .hdr_len = vnet_hdr_support ? 8 : 4,
        .buf = g_malloc(max_len),
    };
}

void net_frame_decoder_destroy(NetFrameDecoder *d)
{
    g_free(d->buf);
    d->buf = NULL;
}

void net_frame_decoder_reset(NetFrameDecoder *d)
{
    d->hdr_got = 0;
    d->got = 0;
    d->ready = false;
}

void net_frame_decoder_want(NetFrameDecoder *d, uint8_t **where,
                            size_t *max)
{
    if (d->ready) {
        net_frame_decoder_reset(d);
    }
    if (d->hdr_got < d->hdr_len) {
        *where = d->hdr + d->hdr_got;
        *max = d->hdr_len - d->hdr_got;
    } else {
        *where = d->buf + d->got;
        *max = d->len - d->got;
    }
}

/* The header is whole: check it before any frame byte is taken. */
static NetFrameStep frame_header_done(NetFrameDecoder *d, Error **errp)
{
    d->len = frame_be32(d->hdr);
    d->vnet_hdr_len = d->vnet_hdr_support ? frame_be32(d->hdr + 4) : 0;
    d->got = 0;
    if (!d->len || d->len > d->max_len) {
        error_setg(errp, "frame length %u out of range (1..%zu)", d->len,
                   d->max_len);
        return NET_FRAME_BAD;
    }
    if (d->vnet_hdr_len > d->len) {
        error_setg(errp, "vnet header length %u is longer than its frame "
                   "(%u)", d->vnet_hdr_len, d->len);
        return NET_FRAME_BAD;
    }
    return NET_FRAME_NEED_MORE;
}

NetFrameStep net_frame_decoder_advance(NetFrameDecoder *d, size_t n,
                                       Error **errp)
{
    if (d->hdr_got < d->hdr_len) {
        g_assert(n <= d->hdr_len - d->hdr_got);
        d->hdr_got += n;
        return d->hdr_got == d->hdr_len ? frame_header_done(d, errp)
                                        : NET_FRAME_NEED_MORE;
    }
    g_assert(n <= d->len - d->got);
    d->got += n;
    d->ready = d->got == d->len;
    return d->ready ? NET_FRAME_READY : NET_FRAME_NEED_MORE;
}

const uint8_t *net_frame_decoder_frame(const NetFrameDecoder *d,
                                       size_t *len, size_t *vnet_hdr_len)
{
    g_assert(d->ready);
    *len = d->len;
    if (vnet_hdr_len) {
        *vnet_hdr_len = d->vnet_hdr_len;
    }
    return d->buf;
}

bool net_frame_decoder_feed(NetFrameDecoder *d, const uint8_t *buf,
                            size_t len, NetFrameFn *fn, void *opaque,
                            Error **errp)
{
    while (len) {
        uint8_t *where;
        size_t max, n, frame_len, vnet_hdr_len;
        const uint8_t *frame;

        net_frame_decoder_want(d, &where, &max);
        n = MIN(max, len);
        memcpy(where, buf, n);
        buf += n;
        len -= n;
        switch (net_frame_decoder_advance(d, n, errp)) {
        case NET_FRAME_BAD:
            return false;
        case NET_FRAME_READY:
            frame = net_frame_decoder_frame(d, &frame_len, &vnet_hdr_len);
            fn(opaque, frame, frame_len, vnet_hdr_len);
            break;
        case NET_FRAME_NEED_MORE:
            break;
        }
    }
    return true;
}

size_t net_frame_encode_header(uint8_t out[NET_FRAME_HDR_MAX], size_t len,
                               bool vnet_hdr_support, size_t vnet_hdr_len)
{
    frame_put_be32(out, len);
    if (!vnet_hdr_support) {
        return 4;
    }
    frame_put_be32(out + 4, vnet_hdr_len);
    return 8;
}
