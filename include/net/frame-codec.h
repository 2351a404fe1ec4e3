/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU's length-prefixed frame stream, the one framing of every byte
 * stream that carries Ethernet frames: the stream/socket netdevs, and the
 * chardevs between filter-mirror, filter-redirector and colo-compare.
 *
 *   be32 len | be32 vnet_hdr_len (only with vnet_hdr_support) | len bytes
 *
 * With vnet_hdr_support the len bytes begin with a virtio-net header of
 * vnet_hdr_len bytes (0 = none); without it there is no second word and
 * no header. A len of 0 or above the decoder's maximum, or a
 * vnet_hdr_len above len, is a broken peer: the caller drops the stream.
 *
 * The decoder does no I/O. A reader asks where the next bytes go and how
 * many it may write there (net_frame_decoder_want), reads into that
 * place (recv() straight into the frame buffer, no copy), and reports how
 * many arrived (net_frame_decoder_advance), which says when a frame is
 * whole. A reader that already holds bytes (a chardev's read callback)
 * uses net_frame_decoder_feed instead.
 */
#ifndef NET_FRAME_CODEC_H
#define NET_FRAME_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

#define NET_FRAME_HDR_MAX   8   /* both words */

typedef enum NetFrameStep {
    NET_FRAME_NEED_MORE,    /* keep reading */
    NET_FRAME_READY,        /* a whole frame: net_frame_decoder_frame() */
    NET_FRAME_BAD,          /* broken framing: errp says why; drop it */
} NetFrameStep;

typedef struct NetFrameDecoder {
    bool vnet_hdr_support;
    size_t max_len;
    uint8_t hdr[NET_FRAME_HDR_MAX];
    size_t hdr_len;         /* 4 or 8 */
    size_t hdr_got;
    uint32_t len;
    uint32_t vnet_hdr_len;
    size_t got;             /* frame bytes so far */
    bool ready;             /* the last advance completed a frame */
    uint8_t *buf;           /* [max_len] */
} NetFrameDecoder;

/* One whole frame out of net_frame_decoder_feed(). */
typedef void NetFrameFn(void *opaque, const uint8_t *frame, size_t len,
                        size_t vnet_hdr_len);

void net_frame_decoder_init(NetFrameDecoder *d, bool vnet_hdr_support,
                            size_t max_len);
void net_frame_decoder_destroy(NetFrameDecoder *d);

/* Forgets a partial frame (the stream was dropped and a new one begins). */
void net_frame_decoder_reset(NetFrameDecoder *d);

/* Where the next bytes go, and at most how many (never 0). */
void net_frame_decoder_want(NetFrameDecoder *d, uint8_t **where,
                            size_t *max);

/* n (<= the max of the last want) bytes were written there. */
NetFrameStep net_frame_decoder_advance(NetFrameDecoder *d, size_t n,
                                       Error **errp);

/* After NET_FRAME_READY, until the next want: the frame. */
const uint8_t *net_frame_decoder_frame(const NetFrameDecoder *d,
                                       size_t *len, size_t *vnet_hdr_len);

/* Consumes all of buf, calling fn for every frame completed in it.
 * False (errp set) on broken framing; frames before it were delivered. */
bool net_frame_decoder_feed(NetFrameDecoder *d, const uint8_t *buf,
                            size_t len, NetFrameFn *fn, void *opaque,
                            Error **errp);

/* Writes the header for a frame of len bytes into out; returns its size
 * (4, or 8 with vnet_hdr_support). */
size_t net_frame_encode_header(uint8_t out[NET_FRAME_HDR_MAX], size_t len,
                               bool vnet_hdr_support, size_t vnet_hdr_len);

#endif
