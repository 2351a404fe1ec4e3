/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The length-prefixed frame stream (net/frame-codec.c): frames encoded
 * with and without the vnet header word come back whole however the
 * stream is cut, and every broken header is refused before a frame byte
 * is taken.
 */
#include <string.h>
#include <glib.h>
#include "net/frame-codec.h"

typedef struct Seen {
    GPtrArray *frames;      /* GBytes */
    GArray *vnet_hdr_lens;  /* size_t */
} Seen;

static void seen_frame(void *opaque, const uint8_t *frame, size_t len,
                       size_t vnet_hdr_len)
{
    Seen *s = opaque;

    g_ptr_array_add(s->frames, g_bytes_new(frame, len));
    g_array_append_val(s->vnet_hdr_lens, vnet_hdr_len);
}

static Seen *seen_new(void)
{
    Seen *s = g_new0(Seen, 1);

    s->frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    s->vnet_hdr_lens = g_array_new(false, false, sizeof(size_t));
    return s;
}

static void seen_free(Seen *s)
{
    g_ptr_array_unref(s->frames);
    g_array_unref(s->vnet_hdr_lens);
    g_free(s);
}

/* Appends one encoded frame of len bytes (byte i = seed + i). */
static void stream_add(GByteArray *out, size_t len, uint8_t seed,
                       bool vnet_hdr_support, size_t vnet_hdr_len)
{
    uint8_t hdr[NET_FRAME_HDR_MAX];
    size_t n = net_frame_encode_header(hdr, len, vnet_hdr_support,
                                       vnet_hdr_len);

    g_byte_array_append(out, hdr, n);
    for (size_t i = 0; i < len; i++) {
        uint8_t b = seed + i;

        g_byte_array_append(out, &b, 1);
    }
}

static void check_frame(Seen *s, guint i, size_t len, uint8_t seed,
                        size_t vnet_hdr_len)
{
    GBytes *b = g_ptr_array_index(s->frames, i);
    gsize got_len;
    const uint8_t *p = g_bytes_get_data(b, &got_len);

    g_assert_cmpuint(got_len, ==, len);
    for (size_t k = 0; k < len; k++) {
        g_assert_cmpuint(p[k], ==, (uint8_t)(seed + k));
    }
    g_assert_cmpuint(g_array_index(s->vnet_hdr_lens, size_t, i), ==,
                     vnet_hdr_len);
}

static void test_header_bytes(void)
{
    uint8_t hdr[NET_FRAME_HDR_MAX];
    static const uint8_t plain[] = { 0x00, 0x00, 0x05, 0xea };
    static const uint8_t vnet[] = { 0x00, 0x00, 0x05, 0xf4,
                                    0x00, 0x00, 0x00, 0x0c };

    g_assert_cmpuint(net_frame_encode_header(hdr, 1514, false, 0), ==, 4);
    g_assert_cmpmem(hdr, 4, plain, 4);
    g_assert_cmpuint(net_frame_encode_header(hdr, 1524, true, 12), ==, 8);
    g_assert_cmpmem(hdr, 8, vnet, 8);
}

/* Three frames fed in pieces of every size from 1 to the whole stream. */
static void check_split_feeds(bool vnet_hdr_support)
{
    g_autoptr(GByteArray) stream = g_byte_array_new();
    size_t vlen = vnet_hdr_support ? 12 : 0;

    stream_add(stream, 60, 1, vnet_hdr_support, vlen);
    stream_add(stream, 1, 7, vnet_hdr_support, 0);
    stream_add(stream, 1514, 9, vnet_hdr_support, vlen);
    for (size_t piece = 1; piece <= stream->len; piece++) {
        NetFrameDecoder d;
        Seen *s = seen_new();

        net_frame_decoder_init(&d, vnet_hdr_support, 2048);
        for (size_t off = 0; off < stream->len; off += piece) {
            size_t n = MIN(piece, stream->len - off);

            g_assert_true(net_frame_decoder_feed(&d, stream->data + off, n,
                                                 seen_frame, s,
                                                 &error_abort));
        }
        g_assert_cmpuint(s->frames->len, ==, 3);
        check_frame(s, 0, 60, 1, vlen);
        check_frame(s, 1, 1, 7, 0);
        check_frame(s, 2, 1514, 9, vlen);
        net_frame_decoder_destroy(&d);
        seen_free(s);
        if (piece == 64) {
            piece = stream->len - 2;    /* the small cuts are the hard ones */
        }
    }
}

static void test_split_plain(void)
{
    check_split_feeds(false);
}

static void test_split_vnet(void)
{
    check_split_feeds(true);
}

/* want/advance: the reader is never asked for more than the part it is
 * in (header word, then exactly the frame), so it never reads into the
 * next frame. */
static void test_want_bounds(void)
{
    NetFrameDecoder d;
    uint8_t hdr[NET_FRAME_HDR_MAX], *where;
    size_t max, len, vlen;
    size_t hlen = net_frame_encode_header(hdr, 100, true, 10);

    net_frame_decoder_init(&d, true, 2048);
    net_frame_decoder_want(&d, &where, &max);
    g_assert_cmpuint(max, ==, 8);
    memcpy(where, hdr, 3);
    g_assert_cmpint(net_frame_decoder_advance(&d, 3, &error_abort), ==,
                    NET_FRAME_NEED_MORE);
    net_frame_decoder_want(&d, &where, &max);
    g_assert_cmpuint(max, ==, 5);
    memcpy(where, hdr + 3, hlen - 3);
    g_assert_cmpint(net_frame_decoder_advance(&d, hlen - 3, &error_abort),
                    ==, NET_FRAME_NEED_MORE);
    net_frame_decoder_want(&d, &where, &max);
    g_assert_cmpuint(max, ==, 100);
    memset(where, 0xab, 100);
    g_assert_cmpint(net_frame_decoder_advance(&d, 100, &error_abort), ==,
                    NET_FRAME_READY);
    g_assert_nonnull(net_frame_decoder_frame(&d, &len, &vlen));
    g_assert_cmpuint(len, ==, 100);
    g_assert_cmpuint(vlen, ==, 10);
    net_frame_decoder_want(&d, &where, &max);
    g_assert_cmpuint(max, ==, 8);       /* the next frame's header */
    net_frame_decoder_destroy(&d);
}

typedef struct BadCase {
    const char *name;
    bool vnet_hdr_support;
    uint8_t bytes[8];
    const char *error;
} BadCase;

static const BadCase bad_cases[] = {
    { "zero-length", false, { 0, 0, 0, 0 }, "frame length 0 out of range" },
    { "too-long", false, { 0, 0, 0x08, 0x01 },
      "frame length 2049 out of range" },
    { "huge", false, { 0xff, 0xff, 0xff, 0xff },
      "frame length 4294967295 out of range" },
    { "vnet-longer-than-frame", true, { 0, 0, 0, 10, 0, 0, 0, 11 },
      "vnet header length 11 is longer than its frame" },
};

static void test_bad_header(gconstpointer data)
{
    const BadCase *c = data;
    NetFrameDecoder d;
    Seen *s = seen_new();
    Error *err = NULL;

    net_frame_decoder_init(&d, c->vnet_hdr_support, 2048);
    g_assert_false(net_frame_decoder_feed(&d, c->bytes,
                                          c->vnet_hdr_support ? 8 : 4,
                                          seen_frame, s, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), c->error));
    g_assert_cmpuint(s->frames->len, ==, 0);
    error_free(err);
    net_frame_decoder_destroy(&d);
    seen_free(s);
}

/* A dropped stream mid-frame: after reset the next stream starts clean. */
static void test_reset_mid_frame(void)
{
    g_autoptr(GByteArray) stream = g_byte_array_new();
    NetFrameDecoder d;
    Seen *s = seen_new();

    stream_add(stream, 200, 3, false, 0);
    net_frame_decoder_init(&d, false, 2048);
    g_assert_true(net_frame_decoder_feed(&d, stream->data, 50, seen_frame,
                                         s, &error_abort));
    net_frame_decoder_reset(&d);
    g_assert_true(net_frame_decoder_feed(&d, stream->data, stream->len,
                                         seen_frame, s, &error_abort));
    g_assert_cmpuint(s->frames->len, ==, 1);
    check_frame(s, 0, 200, 3, 0);
    net_frame_decoder_destroy(&d);
    seen_free(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/frame-codec/header-bytes", test_header_bytes);
    g_test_add_func("/net/frame-codec/split-plain", test_split_plain);
    g_test_add_func("/net/frame-codec/split-vnet", test_split_vnet);
    g_test_add_func("/net/frame-codec/want-bounds", test_want_bounds);
    g_test_add_func("/net/frame-codec/reset-mid-frame",
                    test_reset_mid_frame);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *path = g_strdup_printf("/net/frame-codec/bad/%s",
                                                bad_cases[i].name);

        g_test_add_data_func(path, &bad_cases[i], test_bad_header);
    }
    return g_test_run();
}
