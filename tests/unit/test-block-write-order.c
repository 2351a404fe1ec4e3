/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Overlapping writes on a node with write notifiers go one at a time
 * (block/write-order.c), so a notifier that repeats each write elsewhere
 * (the mirror's write-through) sees them in the order the node applied
 * them: write A's notifier is held; an overlapping write B must wait
 * (counted by bdrv_write_order_waits(), so the test knows without a
 * timer) and must not reach the file until A's notifier returned. A
 * write that does not overlap, and any write on a node without
 * notifiers, goes through while A is held.
 */
#include <string.h>
#include <glib.h>
#include "block-test-util.h"
#include "block/block_int.h"
#include "block/dirty-bitmap.h"
#include "block/write-order.h"
#include "util/main-loop.h"

#define LEN 4096
#define HANG_US (10 * G_TIME_SPAN_SECOND)   /* a hang detector, not a bound */

typedef struct Gate {
    GMutex lock;
    GCond cond;
    bool held_one;          /* the first notification is in and waiting */
    bool open;
    GString *order;         /* first byte of each notified write */
    BlockDriverState *bs;
    int first_byte_at_release;
} Gate;

static void gate_notify(void *opaque, BdrvWriteKind kind, uint64_t offset,
                        uint64_t bytes, BlockIov *qiov, int flags, int ret)
{
    Gate *g = opaque;
    unsigned char c = 0;
    bool first;

    g_assert_cmpint(ret, ==, 0);
    if (kind == BDRV_WRITE_DATA) {
        block_iov_to_buf(qiov, 0, &c, 1);
    }
    g_mutex_lock(&g->lock);
    g_string_append_c(g->order, (char)c);
    first = !g->held_one;
    if (first) {
        g->held_one = true;
        g_cond_broadcast(&g->cond);
        while (!g->open) {
            g_cond_wait(&g->cond, &g->lock);
        }
    }
    g_mutex_unlock(&g->lock);
    if (first && offset == 0) {
        /* Nothing overlapping may have reached the file meanwhile. */
        unsigned char now;

        g_assert_cmpint(bdrv_pread(g->bs, 0, 1, &now, NULL), ==, 0);
        g->first_byte_at_release = now;
    }
}

typedef struct Write {
    BlockDriverState *bs;
    uint64_t offset;
    int byte;
} Write;

static gpointer write_thread(gpointer data)
{
    Write *w = data;
    unsigned char buf[LEN];

    memset(buf, w->byte, sizeof(buf));
    g_assert_cmpint(bdrv_pwrite(w->bs, w->offset, LEN, buf, 0, NULL), ==, 0);
    return NULL;
}

static BlockDriverState *open_file(const char *name)
{
    g_autofree char *path = bt_path(name);
    g_autofree char *json = NULL;

    bt_make_pattern_file(path, 16 * LEN, 1);
    json = g_strdup_printf("{\"driver\":\"file\",\"node-name\":\"%s\","
                           "\"filename\":\"%s\"}", name, path);
    return bt_open(json);
}

static void wait_until(bool (*cond)(gpointer), gpointer data)
{
    gint64 deadline = g_get_monotonic_time() + HANG_US;

    while (!cond(data)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
}

static bool gate_held(gpointer data)
{
    Gate *g = data;
    bool held;

    g_mutex_lock(&g->lock);
    held = g->held_one;
    g_mutex_unlock(&g->lock);
    return held;
}

static uint64_t waits_before;

static bool a_write_waits(gpointer unused)
{
    return bdrv_write_order_waits() > waits_before;
}

static void test_overlapping_writes_in_order(void)
{
    BlockDriverState *bs = open_file("src");
    BlockDriverState *other = open_file("other");
    Gate g = { .order = g_string_new(NULL), .bs = bs };
    BdrvWriteNotifier n = { .fn = gate_notify, .opaque = &g };
    Write a = { bs, 0, 0xaa }, b = { bs, LEN / 2, 0xbb };
    Write apart = { bs, 8 * LEN, 0xcc }, elsewhere = { other, 0, 0xdd };
    GThread *ta, *tb;
    unsigned char byte;

    g_mutex_init(&g.lock);
    g_cond_init(&g.cond);
    bdrv_add_write_notifier(bs, &n);
    ta = g_thread_new("write-a", write_thread, &a);
    wait_until(gate_held, &g);

    /* Not overlapping, or on another node: no wait while A is held. */
    waits_before = bdrv_write_order_waits();
    g_thread_join(g_thread_new("write-apart", write_thread, &apart));
    g_thread_join(g_thread_new("write-elsewhere", write_thread, &elsewhere));
    g_assert_cmpuint(bdrv_write_order_waits(), ==, waits_before);

    /* B overlaps A's second half: it waits for A's notifier. */
    tb = g_thread_new("write-b", write_thread, &b);
    wait_until(a_write_waits, NULL);
    g_mutex_lock(&g.lock);
    g.open = true;
    g_cond_broadcast(&g.cond);
    g_mutex_unlock(&g.lock);
    g_thread_join(ta);
    g_thread_join(tb);

    g_assert_cmpint(g.first_byte_at_release, ==, 0xaa);
    /* Notified: A, then the one apart, then B. */
    g_assert_cmpstr(g.order->str, ==, "\xaa\xcc\xbb");
    g_assert_cmpint(bdrv_pread(bs, LEN / 2, 1, &byte, NULL), ==, 0);
    g_assert_cmpint(byte, ==, 0xbb);
    g_assert_cmpint(bdrv_pread(bs, 0, 1, &byte, NULL), ==, 0);
    g_assert_cmpint(byte, ==, 0xaa);

    bdrv_remove_write_notifier(bs, &n);
    g_string_free(g.order, true);
    g_mutex_clear(&g.lock);
    g_cond_clear(&g.cond);
    bdrv_unref(bs);
    bdrv_unref(other);
}

/* Without notifiers overlapping writes never wait (no cost off-mirror). */
static void test_no_notifier_no_order(void)
{
    BlockDriverState *bs = open_file("plain");
    Write w[4] = { { bs, 0, 1 }, { bs, 0, 2 }, { bs, 0, 3 }, { bs, 0, 4 } };
    GThread *t[4];
    uint64_t before = bdrv_write_order_waits();

    for (int i = 0; i < 4; i++) {
        t[i] = g_thread_new("w", write_thread, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        g_thread_join(t[i]);
    }
    g_assert_cmpuint(bdrv_write_order_waits(), ==, before);
    bdrv_unref(bs);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    bql_lock();
    g_test_add_func("/block/write-order/overlapping-in-order",
                    test_overlapping_writes_in_order);
    g_test_add_func("/block/write-order/no-notifier", test_no_notifier_no_order);
    return g_test_run();
}
