/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests for postcopy's destination RAM (migration/postcopy-ram.c) on a
 * real memfd GuestMemory, no KVM: "toucher" threads play the vCPUs and
 * read or write pages that are not there yet; the test plays the
 * incoming side, taking the page requests the fault thread makes and
 * placing pages. The cases: a fault becomes one request and placement
 * wakes the toucher with the right data (read and write faults, several
 * touchers on one page); duplicates dropped without touching the first
 * copy, also from two placing threads at once; pages written before
 * registration (precopy) never fault; out-of-RAM and unaligned addresses
 * refused by name; the discard list making pages fault again; a request
 * answered from the callback itself; tear-down with a toucher still
 * waiting; and the fault-to-placed latency in process (a figure, printed).
 *
 * Every case needs userfaultfd with UFFD_FEATURE_MISSING_SHMEM: without
 * it the case is skipped, saying so.
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include "watchdog.h"
#include "postcopy-test-util.h"
#include "migration/postcopy-ram.h"
#include "system/memory.h"

#define PAGE            GUEST_PAGE_SIZE
#define LOW_SIZE        (1024 * 1024ULL)
#define HIGH_GPA        POSTCOPY_TEST_HIGH_GPA
#define HIGH_SIZE       (256 * 1024ULL)
#define WAIT_US         (5 * G_USEC_PER_SEC)

typedef struct Request {
    const RamBlock *rb;
    uint64_t offset;
    uint64_t len;
} Request;

typedef struct Fixture {
    GuestMemory mem;
    PostcopyRam *pc;
    GAsyncQueue *requests;
    bool answer_zero;           /* the callback places a zero page itself */
} Fixture;

static void on_request(void *opaque, const RamBlock *rb, uint64_t offset,
                       uint64_t len)
{
    Fixture *fx = opaque;
    Request *r = g_new(Request, 1);

    if (fx->answer_zero) {
        Error *err = NULL;

        g_assert_true(postcopy_ram_place(fx->pc, rb->gpa + offset, NULL,
                                         NULL, &err));
        g_assert_null(err);
    }
    *r = (Request) { .rb = rb, .offset = offset, .len = len };
    g_async_queue_push(fx->requests, r);
}

static void fixture_mem(Fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    postcopy_test_add_ram(&fx->mem, LOW_SIZE, HIGH_SIZE);
    fx->requests = g_async_queue_new_full(g_free);
    test_watchdog_arm(g_test_get_path(), 30);
}

static void fixture_register(Fixture *fx)
{
    Error *err = NULL;

    fx->pc = postcopy_ram_new(&fx->mem, on_request, fx, &err);
    g_assert_null(err);
    g_assert_nonnull(fx->pc);
}

static void fixture_free(Fixture *fx)
{
    postcopy_ram_free(fx->pc);
    guest_memory_free(&fx->mem);
    g_async_queue_unref(fx->requests);
    test_watchdog_disarm();
}

static Request *pop_request(Fixture *fx)
{
    Request *r = g_async_queue_timeout_pop(fx->requests, WAIT_US);

    g_assert_nonnull(r);
    return r;
}

static void assert_no_request(Fixture *fx, guint64 wait_us)
{
    Request *r = g_async_queue_timeout_pop(fx->requests, wait_us);

    if (r) {
        g_error("unexpected request for '%s' offset 0x%" PRIx64,
                r->rb->name, r->offset);
    }
}

/* Page contents that differ per page and per version. */
static void make_page(uint8_t *buf, uint64_t gpa, uint32_t version)
{
    uint32_t *w = (uint32_t *)buf;

    for (unsigned i = 0; i < PAGE / 4; i++) {
        w[i] = (uint32_t)(gpa >> 12) * 2654435761u + i * 40503u + version;
    }
}

static void place(Fixture *fx, uint64_t gpa, uint32_t version, bool expect)
{
    uint8_t buf[PAGE];
    Error *err = NULL;
    bool placed;

    make_page(buf, gpa, version);
    g_assert_true(postcopy_ram_place(fx->pc, gpa, buf, &placed, &err));
    g_assert_null(err);
    g_assert_cmpint(placed, ==, expect);
}

static void assert_page(Fixture *fx, uint64_t gpa, uint32_t version)
{
    uint8_t want[PAGE];
    uint8_t *host = guest_memory_host_ptr(&fx->mem, gpa, PAGE);

    make_page(want, gpa, version);
    g_assert_true(memcmp(host, want, PAGE) == 0);
}

/* ---- touchers: threads that play vCPUs ---- */

typedef struct Toucher {
    volatile uint8_t *addr;
    bool write;
    uint8_t value;              /* written, or read */
    bool done;                  /* atomic */
    gint64 took_us;
    GThread *thread;
} Toucher;

static gpointer toucher_fn(gpointer opaque)
{
    Toucher *t = opaque;
    gint64 start = g_get_monotonic_time();

    if (t->write) {
        *t->addr = t->value;
    } else {
        t->value = *t->addr;
    }
    t->took_us = g_get_monotonic_time() - start;
    __atomic_store_n(&t->done, true, __ATOMIC_SEQ_CST);
    return NULL;
}

static void toucher_start(Toucher *t, Fixture *fx, uint64_t gpa, bool write,
                          uint8_t value)
{
    memset(t, 0, sizeof(*t));
    t->addr = guest_memory_host_ptr(&fx->mem, gpa, 1);
    g_assert_nonnull((void *)t->addr);
    t->write = write;
    t->value = value;
    t->thread = g_thread_new("toucher", toucher_fn, t);
}

static bool toucher_done(Toucher *t)
{
    return __atomic_load_n(&t->done, __ATOMIC_SEQ_CST);
}

static void toucher_join(Toucher *t)
{
    g_thread_join(t->thread);
    g_assert_true(toucher_done(t));
}

/* ---- cases ---- */

/* A read of a missing page: one request, and the placed data is read. */
static void test_fault_read(void)
{
    const uint64_t gpa = HIGH_GPA + 5 * PAGE;
    uint8_t want[PAGE];
    PostcopyRamStats st;
    Fixture fx;
    Toucher t;
    Request *r;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    fixture_mem(&fx);
    fixture_register(&fx);
    toucher_start(&t, &fx, gpa + 123, false, 0);
    r = pop_request(&fx);
    g_assert_true(r->rb == &fx.mem.blocks[1]);
    g_assert_cmphex(r->offset, ==, 5 * PAGE);
    g_assert_cmpuint(r->len, ==, PAGE);
    g_free(r);
    /* Still waiting: nothing was placed. */
    g_usleep(50 * 1000);
    g_assert_false(toucher_done(&t));
    place(&fx, gpa, 1, true);
    toucher_join(&t);
    make_page(want, gpa, 1);
    g_assert_cmpuint(t.value, ==, want[123]);
    assert_page(&fx, gpa, 1);
    g_assert_true(postcopy_ram_is_placed(fx.pc, gpa));
    postcopy_ram_stats(fx.pc, &st);
    g_assert_cmpuint(st.requests, ==, 1);
    g_assert_cmpuint(st.placed, ==, 1);
    g_assert_cmpuint(st.duplicates, ==, 0);
    assert_no_request(&fx, 0);
    fixture_free(&fx);
}

/* A write to a missing page lands on top of the placed page. */
static void test_fault_write(void)
{
    const uint64_t gpa = 17 * PAGE;
    uint8_t want[PAGE];
    Fixture fx;
    Toucher t;
    Request *r;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    fixture_mem(&fx);
    fixture_register(&fx);
    toucher_start(&t, &fx, gpa + 7, true, 0x5a);
    r = pop_request(&fx);
    g_assert_true(r->rb == &fx.mem.blocks[0]);
    g_assert_cmphex(r->offset, ==, 17 * PAGE);
    g_free(r);
    place(&fx, gpa, 2, true);
    toucher_join(&t);
    make_page(want, gpa, 2);
    want[7] = 0x5a;
    g_assert_true(memcmp(guest_memory_host_ptr(&fx.mem, gpa, PAGE), want,
                         PAGE) == 0);
    fixture_free(&fx);
}

/* Several threads faulting on one page make one request; all wake. */
static void test_fault_shared(void)
{
    const uint64_t gpa = 40 * PAGE;
    Toucher t[4];
    uint8_t want[PAGE];
    PostcopyRamStats st;
    Fixture fx;
    gint64 deadline;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    fixture_mem(&fx);
    fixture_register(&fx);
    for (unsigned i = 0; i < G_N_ELEMENTS(t); i++) {
        toucher_start(&t[i], &fx, gpa + i * 100, false, 0);
    }
    deadline = g_get_monotonic_time() + WAIT_US;
    do {
        g_usleep(1000);
        postcopy_ram_stats(fx.pc, &st);
    } while (st.faults < G_N_ELEMENTS(t) && g_get_monotonic_time() < deadline);
    g_assert_cmpuint(st.faults, ==, G_N_ELEMENTS(t));
    g_assert_cmpuint(st.requests, ==, 1);
    g_free(pop_request(&fx));
    assert_no_request(&fx, 0);
    place(&fx, gpa, 3, true);
    make_page(want, gpa, 3);
    for (unsigned i = 0; i < G_N_ELEMENTS(t); i++) {
        toucher_join(&t[i]);
        g_assert_cmpuint(t[i].value, ==, want[i * 100]);
    }
    fixture_free(&fx);
}

/*
 * A page placed twice keeps its first copy; a zero page on top of data
 * is dropped too; a page written before registration (precopy) is there
 * already: it never faults and its placement is dropped.
 */
static void test_duplicate(void)
{
    const uint64_t gpa = HIGH_GPA + 2 * PAGE;
    const uint64_t pre = 3 * PAGE;
    PostcopyRamStats st;
    Error *err = NULL;
    bool placed = true;
    uint8_t buf[PAGE];
    Fixture fx;
    Toucher t;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    fixture_mem(&fx);
    make_page(buf, pre, 9);
    g_assert_true(guest_memory_write(&fx.mem, pre, buf, PAGE, &err));
    fixture_register(&fx);

    place(&fx, gpa, 1, true);
    place(&fx, gpa, 2, false);
    g_assert_true(postcopy_ram_place(fx.pc, gpa, NULL, &placed, &err));
    g_assert_false(placed);
    assert_page(&fx, gpa, 1);

    toucher_start(&t, &fx, pre + 10, false, 0);
    toucher_join(&t);
    g_assert_cmpuint(t.value, ==, buf[10]);
    place(&fx, pre, 4, false);
    assert_page(&fx, pre, 9);
    assert_no_request(&fx, 20 * 1000);

    postcopy_ram_stats(fx.pc, &st);
    g_assert_cmpuint(st.placed, ==, 1);
    g_assert_cmpuint(st.duplicates, ==, 3);
    g_assert_cmpuint(st.requests, ==, 0);
    fixture_free(&fx);
}

/* Two channels racing to place the same pages: each placed once, whole. */
typedef struct Placer {
    Fixture *fx;
    uint32_t version;
    uint64_t placed;
    GThread *thread;
    int *go;                    /* atomic: both start together */
} Placer;

#define RACE_PAGES  (LOW_SIZE / PAGE)

static gpointer placer_fn(gpointer opaque)
{
    Placer *p = opaque;
    uint8_t buf[PAGE];

    while (!__atomic_load_n(p->go, __ATOMIC_SEQ_CST)) {
        /* spin: thread start-up takes longer than placing every page */
    }
    /* One climbs, the other descends: they collide in the middle. */
    for (uint64_t n = 0; n < RACE_PAGES; n++) {
        uint64_t i = p->version & 1 ? RACE_PAGES - 1 - n : n;
        Error *err = NULL;
        bool placed;

        make_page(buf, i * PAGE, p->version);
        g_assert_true(postcopy_ram_place(p->fx->pc, i * PAGE, buf, &placed,
                                         &err));
        p->placed += placed;
    }
    return NULL;
}

static void test_two_channels(void)
{
    Placer p[2];
    PostcopyRamStats st;
    Fixture fx;
    int go = 0;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    fixture_mem(&fx);
    fixture_register(&fx);
    for (unsigned i = 0; i < 2; i++) {
        p[i] = (Placer) { .fx = &fx, .version = 100 + i, .go = &go };
        p[i].thread = g_thread_new("placer", placer_fn, &p[i]);
    }
    __atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < 2; i++) {
        g_thread_join(p[i].thread);
    }
    g_assert_cmpuint(p[0].placed + p[1].placed, ==, RACE_PAGES);
    for (uint64_t i = 0; i < RACE_PAGES; i++) {
        uint8_t a[PAGE], b[PAGE];
        uint8_t *host = fx.mem.blocks[0].host + i * PAGE;

        make_page(a, i * PAGE, 100);
        make_page(b, i * PAGE, 101);
        g_assert_true(!memcmp(host, a, PAGE) || !memcmp(host, b, PAGE));
    }
    postcopy_ram_stats(fx.pc, &st);
    g_assert_cmpuint(st.placed, ==, RACE_PAGES);
    g_assert_cmpuint(st.duplicates, ==, RACE_PAGES);
    g_test_message("two placers: %" PRIu64 " and %" PRIu64 " pages won",
                   p[0].placed, p[1].placed);
    fixture_free(&fx);
}

/* Addresses that are not a page of RAM are refused, naming them. */
static void test_outside_ram(void)
{
    static const struct {
        uint64_t gpa;
        const char *want;
    } bad[] = {
        { LOW_SIZE, "page 0x100000 is outside guest RAM" },
        { HIGH_GPA + HIGH_SIZE, "page 0x100040000 is outside guest RAM" },
        { HIGH_GPA - PAGE, "page 0xfffff000 is outside guest RAM" },
        { 5 * PAGE + 8, "page 0x5008 is not page aligned" },
    };
    uint8_t buf[PAGE] = { 1 };
    PostcopyRamStats st;
    Fixture fx;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    fixture_mem(&fx);
    fixture_register(&fx);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        Error *err = NULL;
        bool placed = true;

        g_assert_false(postcopy_ram_place(fx.pc, bad[i].gpa, buf, &placed,
                                          &err));
        g_assert_false(placed);
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(error_get_pretty(err), bad[i].want));
        error_free(err);
    }
    postcopy_ram_stats(fx.pc, &st);
    g_assert_cmpuint(st.placed, ==, 0);
    fixture_free(&fx);
}

/* The discard list: a page punched out faults again once registered. */
static void test_discard(void)
{
    const uint64_t gpa = 9 * PAGE;
    Error *err = NULL;
    uint8_t buf[PAGE];
    Fixture fx;
    Toucher t;
    Request *r;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    fixture_mem(&fx);
    make_page(buf, gpa, 1);
    g_assert_true(guest_memory_write(&fx.mem, gpa, buf, PAGE, &err));
    g_assert_true(guest_memory_write(&fx.mem, gpa + PAGE, buf, PAGE, &err));
    g_assert_true(postcopy_ram_discard(&fx.mem.blocks[0], gpa, PAGE, &err));
    g_assert_null(err);

    g_assert_false(postcopy_ram_discard(&fx.mem.blocks[1], HIGH_SIZE - PAGE,
                                        2 * PAGE, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "'pc.ram.high'"));
    g_assert_nonnull(strstr(error_get_pretty(err), "[0x3f000, +0x2000)"));
    g_clear_pointer(&err, error_free);
    g_assert_false(postcopy_ram_discard(&fx.mem.blocks[0], 100, PAGE, &err));
    g_clear_pointer(&err, error_free);

    fixture_register(&fx);
    /* The neighbour kept its data and does not fault. */
    toucher_start(&t, &fx, gpa + PAGE, false, 0);
    toucher_join(&t);
    g_assert_cmpuint(t.value, ==, buf[0]);
    toucher_start(&t, &fx, gpa, false, 0);
    r = pop_request(&fx);
    g_assert_cmphex(r->offset, ==, gpa);
    g_free(r);
    place(&fx, gpa, 2, true);
    toucher_join(&t);
    assert_page(&fx, gpa, 2);
    fixture_free(&fx);
}

/* The callback may answer itself (a page it knows is zero). */
static void test_answer_in_callback(void)
{
    const uint64_t gpa = HIGH_GPA + 30 * PAGE;
    PostcopyRamStats st;
    Fixture fx;
    Toucher t;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    fixture_mem(&fx);
    fx.answer_zero = true;
    fixture_register(&fx);
    toucher_start(&t, &fx, gpa + 4000, false, 0xff);
    toucher_join(&t);
    g_assert_cmpuint(t.value, ==, 0);
    g_free(pop_request(&fx));
    postcopy_ram_stats(fx.pc, &st);
    g_assert_cmpuint(st.placed_zero, ==, 1);
    fixture_free(&fx);
}

/* Tear-down while a toucher waits: it wakes (to a zero page), no hang. */
static void test_free_wakes(void)
{
    Fixture fx;
    Toucher t;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    fixture_mem(&fx);
    fixture_register(&fx);
    toucher_start(&t, &fx, 3 * PAGE, false, 0xff);
    g_free(pop_request(&fx));
    postcopy_ram_free(fx.pc);
    fx.pc = NULL;
    toucher_join(&t);
    g_assert_cmpuint(t.value, ==, 0);
    fixture_free(&fx);
}

/*
 * Fault to placed, in process: a server thread answers each request at
 * once. Prints the figure (the wire's cost comes on top of it).
 */
typedef struct Server {
    Fixture *fx;
    bool stop;
    GThread *thread;
} Server;

static gpointer server_fn(gpointer opaque)
{
    Server *sv = opaque;

    while (!__atomic_load_n(&sv->stop, __ATOMIC_SEQ_CST)) {
        Request *r = g_async_queue_timeout_pop(sv->fx->requests, 10000);
        uint8_t buf[PAGE];
        Error *err = NULL;

        if (!r) {
            continue;
        }
        make_page(buf, r->rb->gpa + r->offset, 7);
        g_assert_true(postcopy_ram_place(sv->fx->pc, r->rb->gpa + r->offset,
                                         buf, NULL, &err));
        g_free(r);
    }
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return x < y ? -1 : x > y;
}

static void test_latency(void)
{
    const unsigned n = LOW_SIZE / PAGE;
    g_autofree gint64 *lat = g_new(gint64, n);
    Server sv;
    Fixture fx;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    fixture_mem(&fx);
    fixture_register(&fx);
    sv = (Server) { .fx = &fx };
    sv.thread = g_thread_new("server", server_fn, &sv);
    for (unsigned i = 0; i < n; i++) {
        Toucher t;

        toucher_start(&t, &fx, (uint64_t)i * PAGE + 1, false, 0);
        toucher_join(&t);
        lat[i] = t.took_us;
    }
    __atomic_store_n(&sv.stop, true, __ATOMIC_SEQ_CST);
    g_thread_join(sv.thread);
    for (unsigned i = 0; i < n; i++) {
        assert_page(&fx, (uint64_t)i * PAGE, 7);
    }
    qsort(lat, n, sizeof(*lat), cmp_i64);
    g_test_message("fault to placed in process, %u pages: p50 %" G_GINT64_FORMAT
                   " us, p99 %" G_GINT64_FORMAT " us, max %" G_GINT64_FORMAT
                   " us", n, lat[n / 2], lat[n * 99 / 100], lat[n - 1]);
    fixture_free(&fx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/postcopy-ram/fault-read", test_fault_read);
    g_test_add_func("/postcopy-ram/fault-write", test_fault_write);
    g_test_add_func("/postcopy-ram/fault-shared", test_fault_shared);
    g_test_add_func("/postcopy-ram/duplicate", test_duplicate);
    g_test_add_func("/postcopy-ram/two-channels", test_two_channels);
    g_test_add_func("/postcopy-ram/outside-ram", test_outside_ram);
    g_test_add_func("/postcopy-ram/discard", test_discard);
    g_test_add_func("/postcopy-ram/answer-in-callback",
                    test_answer_in_callback);
    g_test_add_func("/postcopy-ram/free-wakes", test_free_wakes);
    g_test_add_func("/postcopy-ram/latency", test_latency);
    return g_test_run();
}
