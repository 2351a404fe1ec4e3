/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The COLO hot set (include/migration/colo-hot-set.h) against a model of
 * KVM's dirty log: a write to a protected page faults (counted), sets its
 * dirty bit and leaves the page writable; a write to a writable page is
 * not seen; reprotecting a page clears its bit and protects it. Two ways
 * to harvest: copying the bits (the bitmap with manual protection: a hot
 * page's bit stays set while nobody clears it) or taking them (a log that
 * reports each fault once, as the dirty ring does): the second is the
 * stricter, since nothing then covers a hot page but the hot set itself. Every epoch the
 * checkpoint sends logged | untracked, and the test checks the rule the
 * header states: every page the guest wrote in the epoch is sent.
 * Synthetic write histories drive promotion, sampling, demotion and the
 * bound.
 */
#include <string.h>
#include <glib.h>
#include "migration/colo-hot-set.h"
#include "util/bitmap.h"

#define NPAGES 4096

typedef struct Model {
    ColoHotSet *hs;
    unsigned long *protected_;
    unsigned long *bits;        /* KVM's dirty bitmap */
    unsigned long *written;     /* what the guest wrote this epoch */
    uint64_t faults;            /* this epoch */
    uint64_t epochs;
    bool take;                  /* harvesting clears the bits */
} Model;

static void model_init(Model *m, uint64_t max_hot)
{
    m->hs = colo_hot_set_new(NPAGES, max_hot);
    m->protected_ = bitmap_new(NPAGES);
    bitmap_fill(m->protected_, NPAGES);     /* logging start protects all */
    m->bits = bitmap_new(NPAGES);
    m->written = bitmap_new(NPAGES);
    m->faults = 0;
    m->epochs = 0;
}

static void model_free(Model *m)
{
    colo_hot_set_free(m->hs);
    g_free(m->protected_);
    g_free(m->bits);
    g_free(m->written);
}

static void guest_write(Model *m, uint64_t p)
{
    set_bit(p, m->written);
    if (test_bit(p, m->protected_)) {
        clear_bit(p, m->protected_);
        set_bit(p, m->bits);
        m->faults++;
    }
}

/* The checkpoint at the end of an epoch; returns the pages sent. */
static uint64_t checkpoint(Model *m)
{
    g_autofree unsigned long *logged = bitmap_new(NPAGES);
    g_autofree unsigned long *sent = bitmap_new(NPAGES);
    const unsigned long *untracked = colo_hot_set_untracked(m->hs);
    const unsigned long *reprotect;
    uint64_t nsent;

    memcpy(logged, m->bits, BITS_TO_LONGS(NPAGES) * sizeof(long));
    if (m->take) {
        bitmap_zero(m->bits, NPAGES);
    }
    memcpy(sent, logged, BITS_TO_LONGS(NPAGES) * sizeof(long));
    bitmap_or(sent, untracked, NPAGES);
    /* The rule: nothing the guest wrote is missing from the checkpoint. */
    for (uint64_t p = find_next_bit(m->written, NPAGES, 0); p < NPAGES;
         p = find_next_bit(m->written, NPAGES, p + 1)) {
        if (!test_bit(p, sent)) {
            g_error("epoch %" G_GUINT64_FORMAT ": page %" G_GUINT64_FORMAT
                    " was written but is not in the checkpoint", m->epochs,
                    p);
        }
    }
    nsent = bitmap_count_one(sent, NPAGES);
    colo_hot_set_end_epoch(m->hs, logged);
    reprotect = colo_hot_set_reprotect(m->hs);
    for (uint64_t p = find_next_bit(reprotect, NPAGES, 0); p < NPAGES;
         p = find_next_bit(reprotect, NPAGES, p + 1)) {
        clear_bit(p, m->bits);
        set_bit(p, m->protected_);
    }
    /* Whatever is untracked next epoch must be writable, and whatever is
     * tracked must be protected or already logged. */
    untracked = colo_hot_set_untracked(m->hs);
    for (uint64_t p = 0; p < NPAGES; p++) {
        if (!test_bit(p, untracked)) {
            g_assert_true(test_bit(p, m->protected_) || test_bit(p, m->bits));
        }
    }
    bitmap_zero(m->written, NPAGES);
    m->faults = 0;
    m->epochs++;
    return nsent;
}

/* One epoch in which the guest writes pages [start, start + n). */
static uint64_t epoch_writing(Model *m, uint64_t start, uint64_t n,
                              uint64_t *faults)
{
    for (uint64_t p = start; p < start + n; p++) {
        guest_write(m, p);
    }
    if (faults) {
        *faults = m->faults;
    }
    return checkpoint(m);
}

/* A page rewritten every epoch turns hot after 3 epochs, stays hot, and
 * stops faulting (but for the samples). */
static void test_steady_writer_turns_hot(void)
{
    Model m;
    uint64_t faults = 0;

    model_init(&m, 1024);
    for (int e = 0; e < 3; e++) {
        epoch_writing(&m, 100, 256, &faults);
        g_assert_cmpuint(faults, ==, 256);      /* all tracked so far */
    }
    g_assert_cmpuint(colo_hot_set_stats(m.hs).hot_pages, ==, 256);
    g_assert_cmpuint(colo_hot_set_stats(m.hs).promotions, ==, 256);
    for (int e = 0; e < 50; e++) {
        g_assert_cmpuint(epoch_writing(&m, 100, 256, &faults), >=, 256);
        /* Only the 16 sampled pages fault now. */
        g_assert_cmpuint(faults, ==, 256 / COLO_HOT_SAMPLE_DIVISOR);
    }
    g_assert_cmpuint(colo_hot_set_stats(m.hs).hot_pages, ==, 256);
    g_assert_cmpuint(colo_hot_set_stats(m.hs).demotions, ==, 0);
    model_free(&m);
}

/* A writer that stops: every hot page is sampled within two rotations
 * (32 epochs) and goes cold; checkpoints shrink back to nothing. */
static void test_stopped_writer_cools_down(void)
{
    Model m;
    uint64_t sent = 0;

    model_init(&m, 1024);
    for (int e = 0; e < 5; e++) {
        epoch_writing(&m, 0, 512, NULL);
    }
    g_assert_cmpuint(colo_hot_set_stats(m.hs).hot_pages, ==, 512);
    for (int e = 0; e < COLO_HOT_SAMPLE_DIVISOR; e++) {
        sent = epoch_writing(&m, 0, 0, NULL);
    }
    /* The pages sampled (and found written) before the writer stopped
     * wait for the next rotation. */
    g_assert_cmpuint(colo_hot_set_stats(m.hs).hot_pages, >, 0);
    for (int e = 0; e < COLO_HOT_SAMPLE_DIVISOR + 1; e++) {
        sent = epoch_writing(&m, 0, 0, NULL);
    }
    g_assert_cmpuint(colo_hot_set_stats(m.hs).hot_pages, ==, 0);
    g_assert_cmpuint(colo_hot_set_stats(m.hs).demotions, ==, 512);
    g_assert_cmpuint(sent, ==, 0);
    g_assert_cmpuint(epoch_writing(&m, 0, 0, NULL), ==, 0);
    model_free(&m);
}

/* Occasional writes (1 epoch in 3) never earn the set. */
static void test_occasional_writer_stays_cold(void)
{
    Model m;

    model_init(&m, 1024);
    for (int e = 0; e < 30; e++) {
        epoch_writing(&m, 0, e % 3 == 0 ? 64 : 0, NULL);
    }
    g_assert_cmpuint(colo_hot_set_stats(m.hs).promotions, ==, 0);
    model_free(&m);
}

/* The bound holds, and lowering it demotes the excess at once. */
static void test_bound(void)
{
    Model m;

    model_init(&m, 100);
    for (int e = 0; e < 6; e++) {
        epoch_writing(&m, 0, 300, NULL);
    }
    g_assert_cmpuint(colo_hot_set_stats(m.hs).hot_pages, ==, 100);
    colo_hot_set_set_max(m.hs, 40);
    epoch_writing(&m, 0, 300, NULL);
    g_assert_cmpuint(colo_hot_set_stats(m.hs).hot_pages, <=, 40);
    for (int e = 0; e < 10; e++) {
        epoch_writing(&m, 0, 300, NULL);
        g_assert_cmpuint(colo_hot_set_stats(m.hs).hot_pages, <=, 40);
    }
    colo_hot_set_set_max(m.hs, 0);
    epoch_writing(&m, 0, 300, NULL);
    g_assert_cmpuint(colo_hot_set_stats(m.hs).hot_pages, ==, 0);
    g_assert_true(bitmap_empty(colo_hot_set_untracked(m.hs), NPAGES));
    model_free(&m);
}

/*
 * Random histories: working sets that move, grow, shrink and stop, with
 * noise, the bound changing on the way. The checkpoint() check finds a
 * page written but not sent; none may be.
 */
static void test_random_histories_lose_nothing(gconstpointer take)
{
    GRand *r = g_rand_new_with_seed(20261203);

    for (int run = 0; run < 20; run++) {
        Model m;
        uint64_t base = 0, len = 0;

        model_init(&m, g_rand_int_range(r, 0, 2048));
        m.take = GPOINTER_TO_INT(take);
        for (int e = 0; e < 200; e++) {
            if (g_rand_int_range(r, 0, 10) == 0) {
                base = g_rand_int_range(r, 0, NPAGES);
                len = g_rand_int_range(r, 0, NPAGES - base + 1);
            }
            for (uint64_t p = base; p < base + len; p++) {
                if (g_rand_int_range(r, 0, 8)) {    /* 7 in 8 rewritten */
                    guest_write(&m, p);
                }
            }
            for (int i = 0; i < 20; i++) {
                guest_write(&m, g_rand_int_range(r, 0, NPAGES));
            }
            if (g_rand_int_range(r, 0, 25) == 0) {
                colo_hot_set_set_max(m.hs, g_rand_int_range(r, 0, 2048));
            }
            checkpoint(&m);
        }
        model_free(&m);
    }
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/colo-hot-set/steady-writer-turns-hot",
                    test_steady_writer_turns_hot);
    g_test_add_func("/colo-hot-set/stopped-writer-cools-down",
                    test_stopped_writer_cools_down);
    g_test_add_func("/colo-hot-set/occasional-writer-stays-cold",
                    test_occasional_writer_stays_cold);
    g_test_add_func("/colo-hot-set/bound", test_bound);
    g_test_add_data_func("/colo-hot-set/random-histories-lose-nothing/copy",
                         GINT_TO_POINTER(0),
                         test_random_histories_lose_nothing);
    g_test_add_data_func("/colo-hot-set/random-histories-lose-nothing/take",
                         GINT_TO_POINTER(1),
                         test_random_histories_lose_nothing);
    return g_test_run();
}
