/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Postcopy's destination RAM behind userfaultfd: registration of the
 * memfd blocks in MISSING mode, the fault thread that turns faults into
 * page requests, atomic and idempotent placement (UFFDIO_COPY /
 * UFFDIO_ZEROPAGE, EEXIST = already there), and the discard list's hole
 * punching. Why MISSING and not minor faults, and the threading rules:
 * include/migration/postcopy-ram.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <glib.h>
#include "migration/postcopy-ram.h"
#include "util/bitmap.h"
#include "trace.h"

/* Fault messages read per read() call. */
#define POSTCOPY_FAULT_BATCH    16
/* UFFDIO_COPY may fail with EAGAIN while the mm changes; retry this often. */
#define POSTCOPY_COPY_RETRIES   100

typedef struct PostcopyBlock {
    RamBlock *rb;
    size_t pages;
    unsigned long *placed;      /* atomic: page is in RAM (we placed it) */
    unsigned long *requested;   /* atomic: a request was made for it */
    bool registered;
} PostcopyBlock;

/*
 * Blocktime (capability postcopy-blocktime): QEMU's figures, how long
 * each vCPU waited for pages and how long all of them waited at once,
 * and ours, fault-to-placed latency of every page anyone faulted on.
 * The fault thread starts a wait, a placement ends it; both under lock,
 * and a fault that comes after its page was placed ends at once (the
 * placement sets "placed" before it takes the lock).
 */
#define POSTCOPY_LAT_SAMPLES    65536

typedef struct PostcopyBlocktime {
    GMutex lock;
    PostcopyVcpuOfFn *vcpu_of;
    void *opaque;
    unsigned nr_vcpus;
    uint64_t *vcpu_addr;        /* host address of the page it waits for,
                                   0: not waiting */
    int64_t *vcpu_start;
    uint64_t *vcpu_total_us;
    unsigned blocked;           /* vCPUs waiting now */
    int64_t all_start;          /* when the last of them began to */
    uint64_t all_total_us;
    int64_t **fault_us;         /* per block, per page: first fault, 0 */
    uint32_t *lat_us;           /* samples, at most POSTCOPY_LAT_SAMPLES */
    unsigned nr_lat;
    uint64_t lat_max_us;
} PostcopyBlocktime;

struct PostcopyRam {
    int uffd;
    int wake_fd;                /* eventfd: stop the fault thread */
    bool has_zeropage;          /* UFFDIO_ZEROPAGE on every block */
    PostcopyBlock *blocks;
    unsigned nr_blocks;
    PostcopyRequestFn *fn;
    void *opaque;
    pthread_t thread;
    bool thread_started;
    PostcopyRamStats st;        /* atomic counters */
    PostcopyBlocktime *bt;      /* NULL unless enabled */
    bool has_thread_id;         /* UFFD_FEATURE_THREAD_ID */
};

static const uint8_t postcopy_zero_page[GUEST_PAGE_SIZE]
    __attribute__((aligned(GUEST_PAGE_SIZE)));

#define STAT_INC(pc, field) \
    __atomic_fetch_add(&(pc)->st.field, 1, __ATOMIC_RELAXED)

/* Sets bit nr atomically; returns its old value. */
static bool postcopy_test_and_set(unsigned long *map, size_t nr)
{
    unsigned long mask = 1UL << (nr % BITS_PER_LONG);
    unsigned long old = __atomic_fetch_or(&map[nr / BITS_PER_LONG], mask,
                                          __ATOMIC_SEQ_CST);

    return old & mask;
}

static bool postcopy_test(const unsigned long *map, size_t nr)
{
    unsigned long w = __atomic_load_n(&map[nr / BITS_PER_LONG],
                                      __ATOMIC_SEQ_CST);

    return w & (1UL << (nr % BITS_PER_LONG));
}

/* ---- the userfaultfd ---- */

/* A userfaultfd: the syscall, or /dev/userfaultfd where the syscall is
 * refused (vm.unprivileged_userfaultfd and no CAP_SYS_PTRACE). */
static int postcopy_uffd_open(Error **errp)
{
    int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    int dev, saved;

    if (fd >= 0) {
        return fd;
    }
    saved = errno;
    dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (dev < 0) {
        error_setg_errno(errp, saved, "postcopy: userfaultfd unavailable "
                         "(and /dev/userfaultfd: %s)", g_strerror(errno));
        return -1;
    }
    fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
    saved = errno;
    close(dev);
    if (fd < 0) {
        error_setg_errno(errp, saved, "postcopy: /dev/userfaultfd");
        return -1;
    }
    return fd;
}

/* The API handshake asking for features; fails naming what is missing. */
static bool postcopy_uffd_api(int fd, uint64_t want, uint64_t *have,
                              Error **errp)
{
    struct uffdio_api api = { .api = UFFD_API, .features = want };

    if (ioctl(fd, UFFDIO_API, &api)) {
        error_setg_errno(errp, errno, "postcopy: userfaultfd API handshake");
        return false;
    }
    if (have) {
        *have = api.features;
    }
    return true;
}

/* The kernel's userfaultfd features, 0 if it cannot tell. */
static uint64_t postcopy_uffd_features(void)
{
    uint64_t features = 0;
    int fd = postcopy_uffd_open(NULL);

    if (fd < 0) {
        return 0;
    }
    if (!postcopy_uffd_api(fd, 0, &features, NULL)) {
        features = 0;
    }
    close(fd);
    return features;
}

bool postcopy_ram_supported(Error **errp)
{
    uint64_t features;
    int fd = postcopy_uffd_open(errp);
    bool ok;

    if (fd < 0) {
        return false;
    }
    /* Features 0: the kernel answers with every feature it has. */
    ok = postcopy_uffd_api(fd, 0, &features, errp);
    close(fd);
    if (!ok) {
        return false;
    }
    if (!(features & UFFD_FEATURE_MISSING_SHMEM)) {
        error_setg(errp, "postcopy: this kernel's userfaultfd lacks "
                   "UFFD_FEATURE_MISSING_SHMEM (missing-page faults on "
                   "shared memory), which memfd guest RAM needs");
        return false;
    }
    return true;
}

/* ---- lookups ---- */

static PostcopyBlock *postcopy_block_by_gpa(PostcopyRam *pc, uint64_t gpa)
{
    for (unsigned i = 0; i < pc->nr_blocks; i++) {
        RamBlock *rb = pc->blocks[i].rb;

        if (gpa >= rb->gpa && gpa - rb->gpa < rb->size) {
            return &pc->blocks[i];
        }
    }
    return NULL;
}

static PostcopyBlock *postcopy_block_by_host(PostcopyRam *pc, uint64_t addr)
{
    for (unsigned i = 0; i < pc->nr_blocks; i++) {
        RamBlock *rb = pc->blocks[i].rb;
        uint64_t host = (uintptr_t)rb->host;

        if (addr >= host && addr - host < rb->size) {
            return &pc->blocks[i];
        }
    }
    return NULL;
}

/* ---- the fault thread ---- */

static void postcopy_wake(PostcopyRam *pc, PostcopyBlock *b, size_t page)
{
    struct uffdio_range r = {
        .start = (uintptr_t)b->rb->host + ((uint64_t)page << GUEST_PAGE_SHIFT),
        .len = GUEST_PAGE_SIZE,
    };

    /* Fails only if the range is not registered any more: nothing waits. */
    ioctl(pc->uffd, UFFDIO_WAKE, &r);
}

/* ---- blocktime ---- */

/* A thread faulted on page of b (fault thread). */
static void postcopy_bt_fault(PostcopyRam *pc, PostcopyBlock *b, size_t page,
                              uint64_t host, int tid)
{
    PostcopyBlocktime *bt = pc->bt;
    unsigned idx = b - pc->blocks;
    int64_t now = g_get_monotonic_time();
    int v = tid && bt->vcpu_of ? bt->vcpu_of(bt->opaque, tid) : -1;

    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&bt->lock);

    if (postcopy_test(b->placed, page)) {
        return;     /* it came meanwhile: no wait */
    }
    if (!bt->fault_us[idx][page]) {
        bt->fault_us[idx][page] = now;
    }
    if (v < 0 || (unsigned)v >= bt->nr_vcpus || bt->vcpu_addr[v]) {
        return;
    }
    bt->vcpu_addr[v] = host;
    bt->vcpu_start[v] = now;
    if (++bt->blocked == bt->nr_vcpus) {
        bt->all_start = now;
    }
}

/* Ends vCPU v's wait at now (lock held). */
static void postcopy_bt_end_locked(PostcopyBlocktime *bt, unsigned v,
                                   int64_t now)
{
    if (bt->blocked == bt->nr_vcpus) {
        bt->all_total_us += now - bt->all_start;
    }
    bt->blocked--;
    bt->vcpu_total_us[v] += now - bt->vcpu_start[v];
    bt->vcpu_addr[v] = 0;
}

/* page of b is there (any placer, after setting "placed"). */
static void postcopy_bt_placed(PostcopyRam *pc, PostcopyBlock *b,
                               size_t page)
{
    PostcopyBlocktime *bt = pc->bt;
    unsigned idx = b - pc->blocks;
    uint64_t host = (uintptr_t)b->rb->host +
                    ((uint64_t)page << GUEST_PAGE_SHIFT);
    int64_t now = g_get_monotonic_time();

    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&bt->lock);

    if (bt->fault_us[idx][page]) {
        uint64_t us = now - bt->fault_us[idx][page];

        bt->fault_us[idx][page] = 0;
        bt->lat_max_us = MAX(bt->lat_max_us, us);
        if (bt->nr_lat < POSTCOPY_LAT_SAMPLES) {
            bt->lat_us[bt->nr_lat++] = MIN(us, UINT32_MAX);
        }
    }
    for (unsigned v = 0; bt->blocked && v < bt->nr_vcpus; v++) {
        if (bt->vcpu_addr[v] == host) {
            postcopy_bt_end_locked(bt, v, now);
        }
    }
}

void postcopy_ram_blocktime_enable(PostcopyRam *pc, unsigned nr_vcpus,
                                   PostcopyVcpuOfFn *fn, void *opaque)
{
    PostcopyBlocktime *bt = g_new0(PostcopyBlocktime, 1);

    g_mutex_init(&bt->lock);
    bt->vcpu_of = pc->has_thread_id ? fn : NULL;
    bt->opaque = opaque;
    bt->nr_vcpus = nr_vcpus;
    bt->vcpu_addr = g_new0(uint64_t, nr_vcpus ?: 1);
    bt->vcpu_start = g_new0(int64_t, nr_vcpus ?: 1);
    bt->vcpu_total_us = g_new0(uint64_t, nr_vcpus ?: 1);
    bt->fault_us = g_new0(int64_t *, pc->nr_blocks ?: 1);
    for (unsigned i = 0; i < pc->nr_blocks; i++) {
        bt->fault_us[i] = g_new0(int64_t, pc->blocks[i].pages ?: 1);
    }
    bt->lat_us = g_new(uint32_t, POSTCOPY_LAT_SAMPLES);
    /* Before any fault: the fault thread reads it. */
    __atomic_store_n(&pc->bt, bt, __ATOMIC_SEQ_CST);
}

static int postcopy_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

void postcopy_ram_blocktime_info(PostcopyRam *pc, PostcopyBlocktimeInfo *out)
{
    PostcopyBlocktime *bt = pc->bt;
    int64_t now = g_get_monotonic_time();
    g_autofree uint32_t *lat = NULL;

    memset(out, 0, sizeof(*out));
    if (!bt) {
        return;
    }
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&bt->lock);

    /* Waits still going count up to now. */
    out->total_us = bt->all_total_us +
                    (bt->nr_vcpus && bt->blocked == bt->nr_vcpus ?
                     now - bt->all_start : 0);
    out->nr_vcpus = bt->nr_vcpus;
    out->vcpu_us = g_new0(uint64_t, bt->nr_vcpus ?: 1);
    for (unsigned v = 0; v < bt->nr_vcpus; v++) {
        out->vcpu_us[v] = bt->vcpu_total_us[v] +
                          (bt->vcpu_addr[v] ? now - bt->vcpu_start[v] : 0);
    }
    out->lat_samples = bt->nr_lat;
    out->lat_max_us = bt->lat_max_us;
    if (bt->nr_lat) {
        lat = g_memdup2(bt->lat_us, bt->nr_lat * sizeof(uint32_t));
        qsort(lat, bt->nr_lat, sizeof(uint32_t), postcopy_cmp_u32);
        out->lat_p50_us = lat[bt->nr_lat / 2];
        out->lat_p99_us = lat[(uint64_t)bt->nr_lat * 99 / 100];
    }
}

static void postcopy_bt_free(PostcopyRam *pc)
{
    PostcopyBlocktime *bt = pc->bt;

    if (!bt) {
        return;
    }
    for (unsigned i = 0; i < pc->nr_blocks; i++) {
        g_free(bt->fault_us[i]);
    }
    g_free(bt->fault_us);
    g_free(bt->vcpu_addr);
    g_free(bt->vcpu_start);
    g_free(bt->vcpu_total_us);
    g_free(bt->lat_us);
    g_mutex_clear(&bt->lock);
    g_free(bt);
    pc->bt = NULL;
}

static void postcopy_handle_fault(PostcopyRam *pc, const struct uffd_msg *m)
{
    uint64_t addr = m->arg.pagefault.address;
    PostcopyBlock *b = postcopy_block_by_host(pc, addr);
    uint64_t offset;
    size_t page;

    STAT_INC(pc, faults);
    if (!b) {
        /* Only registered ranges fault, and those are the blocks. */
        trace_postcopy_ram_fault_unknown(addr);
        return;
    }
    offset = (addr - (uintptr_t)b->rb->host) & ~(GUEST_PAGE_SIZE - 1);
    page = offset >> GUEST_PAGE_SHIFT;
    trace_postcopy_ram_fault(b->rb->name, offset,
                             !!(m->arg.pagefault.flags &
                                UFFD_PAGEFAULT_FLAG_WRITE));
    if (__atomic_load_n(&pc->bt, __ATOMIC_SEQ_CST)) {
        postcopy_bt_fault(pc, b, page, (uintptr_t)b->rb->host + offset,
                          pc->has_thread_id ? m->arg.pagefault.feat.ptid : 0);
    }
    if (postcopy_test(b->placed, page)) {
        /* Raced a placement that woke before this thread slept. */
        STAT_INC(pc, wakes);
        postcopy_wake(pc, b, page);
        return;
    }
    if (postcopy_test_and_set(b->requested, page)) {
        return;     /* asked already; its placement wakes everyone */
    }
    STAT_INC(pc, requests);
    trace_postcopy_ram_request(b->rb->name, offset);
    pc->fn(pc->opaque, b->rb, offset, GUEST_PAGE_SIZE);
}

static void *postcopy_fault_thread(void *opaque)
{
    PostcopyRam *pc = opaque;
    struct uffd_msg msgs[POSTCOPY_FAULT_BATCH];

    pthread_setname_np(pthread_self(), "mig/pc-fault");
    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = pc->uffd, .events = POLLIN },
            { .fd = pc->wake_fd, .events = POLLIN },
        };
        ssize_t n;

        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            trace_postcopy_ram_fault_thread_error(errno);
            return NULL;
        }
        if (pfd[1].revents) {
            return NULL;
        }
        if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            trace_postcopy_ram_fault_thread_error(EPIPE);
            return NULL;
        }
        n = read(pc->uffd, msgs, sizeof(msgs));
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            trace_postcopy_ram_fault_thread_error(errno);
            return NULL;
        }
        for (size_t i = 0; i < n / sizeof(msgs[0]); i++) {
            if (msgs[i].event == UFFD_EVENT_PAGEFAULT) {
                postcopy_handle_fault(pc, &msgs[i]);
            }
        }
    }
}

/* ---- set-up and tear-down ---- */

static bool postcopy_register_block(PostcopyRam *pc, PostcopyBlock *b,
                                    Error **errp)
{
    const uint64_t need = 1ULL << _UFFDIO_COPY | 1ULL << _UFFDIO_WAKE;
    struct uffdio_register reg = {
        .range = { .start = (uintptr_t)b->rb->host, .len = b->rb->size },
        .mode = UFFDIO_REGISTER_MODE_MISSING,
    };

    if (ioctl(pc->uffd, UFFDIO_REGISTER, &reg)) {
        error_setg_errno(errp, errno, "postcopy: cannot register RAM block "
                         "'%s' with userfaultfd", b->rb->name);
        return false;
    }
    b->registered = true;
    if ((reg.ioctls & need) != need) {
        error_setg(errp, "postcopy: userfaultfd cannot place pages in RAM "
                   "block '%s' (ioctls 0x%" PRIx64 ")", b->rb->name,
                   (uint64_t)reg.ioctls);
        return false;
    }
    if (!(reg.ioctls & 1ULL << _UFFDIO_ZEROPAGE)) {
        pc->has_zeropage = false;
    }
    trace_postcopy_ram_register(b->rb->name, b->rb->size);
    return true;
}

PostcopyRam *postcopy_ram_new(GuestMemory *mem, PostcopyRequestFn *fn,
                              void *opaque, Error **errp)
{
    PostcopyRam *pc = g_new0(PostcopyRam, 1);

    pc->uffd = -1;
    pc->wake_fd = -1;
    pc->fn = fn;
    pc->opaque = opaque;
    pc->has_zeropage = true;
    pc->nr_blocks = mem->nr_blocks;
    pc->blocks = g_new0(PostcopyBlock, mem->nr_blocks ? mem->nr_blocks : 1);
    for (unsigned i = 0; i < mem->nr_blocks; i++) {
        PostcopyBlock *b = &pc->blocks[i];

        b->rb = &mem->blocks[i];
        b->pages = b->rb->size >> GUEST_PAGE_SHIFT;
        b->placed = bitmap_new(b->pages);
        b->requested = bitmap_new(b->pages);
    }
    /* Which thread faulted (blocktime), where the kernel says. */
    pc->has_thread_id = postcopy_uffd_features() & UFFD_FEATURE_THREAD_ID;
    pc->uffd = postcopy_uffd_open(errp);
    if (pc->uffd < 0 ||
        !postcopy_uffd_api(pc->uffd, UFFD_FEATURE_MISSING_SHMEM |
                           (pc->has_thread_id ? UFFD_FEATURE_THREAD_ID : 0),
                           NULL, errp)) {
        goto fail;
    }
    for (unsigned i = 0; i < pc->nr_blocks; i++) {
        if (!postcopy_register_block(pc, &pc->blocks[i], errp)) {
            goto fail;
        }
    }
    pc->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (pc->wake_fd < 0) {
        error_setg_errno(errp, errno, "postcopy: eventfd");
        goto fail;
    }
    if (pthread_create(&pc->thread, NULL, postcopy_fault_thread, pc)) {
        error_setg(errp, "postcopy: cannot start the fault thread");
        goto fail;
    }
    pc->thread_started = true;
    return pc;

fail:
    postcopy_ram_free(pc);
    return NULL;
}

void postcopy_ram_free(PostcopyRam *pc)
{
    uint64_t one = 1;

    if (!pc) {
        return;
    }
    if (pc->thread_started) {
        if (write(pc->wake_fd, &one, sizeof(one)) < 0) {
            /* Fails only on overflow: then it is readable anyway. */
        }
        pthread_join(pc->thread, NULL);
    }
    for (unsigned i = 0; i < pc->nr_blocks; i++) {
        PostcopyBlock *b = &pc->blocks[i];

        if (b->registered) {
            struct uffdio_range r = { .start = (uintptr_t)b->rb->host,
                                      .len = b->rb->size };

            /* Wakes whoever still waits: they fault in a zero page. */
            ioctl(pc->uffd, UFFDIO_UNREGISTER, &r);
        }
        g_free(b->placed);
        g_free(b->requested);
    }
    if (pc->wake_fd >= 0) {
        close(pc->wake_fd);
    }
    if (pc->uffd >= 0) {
        close(pc->uffd);
    }
    trace_postcopy_ram_free(pc->st.requests, pc->st.placed,
                            pc->st.duplicates);
    postcopy_bt_free(pc);
    g_free(pc->blocks);
    g_free(pc);
}

/* ---- placement ---- */

/* One ioctl, retried on EAGAIN; returns 0 or an errno. */
static int postcopy_fill(PostcopyRam *pc, uint64_t host, const void *data)
{
    for (int tries = 0; tries < POSTCOPY_COPY_RETRIES; tries++) {
        int r;

        if (data || !pc->has_zeropage) {
            struct uffdio_copy c = {
                .dst = host, .src = (uintptr_t)(data ? data :
                                                postcopy_zero_page),
                .len = GUEST_PAGE_SIZE, .mode = 0,
            };

            r = ioctl(pc->uffd, UFFDIO_COPY, &c);
        } else {
            struct uffdio_zeropage z = {
                .range = { .start = host, .len = GUEST_PAGE_SIZE },
                .mode = 0,
            };

            r = ioctl(pc->uffd, UFFDIO_ZEROPAGE, &z);
        }
        if (r == 0) {
            return 0;
        }
        if (errno != EAGAIN) {
            return errno;
        }
    }
    return EAGAIN;
}

bool postcopy_ram_place(PostcopyRam *pc, uint64_t gpa, const void *data,
                        bool *placed, Error **errp)
{
    PostcopyBlock *b;
    uint64_t offset;
    size_t page;
    int err;

    if (placed) {
        *placed = false;
    }
    if (gpa & (GUEST_PAGE_SIZE - 1)) {
        error_setg(errp, "postcopy: page 0x%" PRIx64 " is not page aligned",
                   gpa);
        return false;
    }
    b = postcopy_block_by_gpa(pc, gpa);
    if (!b) {
        error_setg(errp, "postcopy: page 0x%" PRIx64 " is outside guest RAM",
                   gpa);
        return false;
    }
    offset = gpa - b->rb->gpa;
    page = offset >> GUEST_PAGE_SHIFT;
    err = postcopy_fill(pc, (uintptr_t)b->rb->host + offset, data);
    if (err == EEXIST) {
        /* Already there: keep the first copy, wake anyone who faulted on
         * it between that placement and now. */
        set_bit_atomic(page, b->placed);
        STAT_INC(pc, duplicates);
        trace_postcopy_ram_place(gpa, !data, false);
        if (pc->bt) {
            postcopy_bt_placed(pc, b, page);
        }
        postcopy_wake(pc, b, page);
        return true;
    }
    if (err) {
        error_setg_errno(errp, err, "postcopy: cannot place page 0x%" PRIx64
                         " ('%s' offset 0x%" PRIx64 ")", gpa, b->rb->name,
                         offset);
        return false;
    }
    set_bit_atomic(page, b->placed);
    STAT_INC(pc, placed);
    if (!data) {
        STAT_INC(pc, placed_zero);
    }
    if (pc->bt) {
        postcopy_bt_placed(pc, b, page);
    }
    trace_postcopy_ram_place(gpa, !data, true);
    if (placed) {
        *placed = true;
    }
    return true;
}

bool postcopy_ram_is_placed(PostcopyRam *pc, uint64_t gpa)
{
    PostcopyBlock *b = postcopy_block_by_gpa(pc, gpa);

    return b && postcopy_test(b->placed, (gpa - b->rb->gpa) >>
                              GUEST_PAGE_SHIFT);
}

bool postcopy_ram_is_requested(PostcopyRam *pc, uint64_t gpa)
{
    PostcopyBlock *b = postcopy_block_by_gpa(pc, gpa);

    return b && postcopy_test(b->requested, (gpa - b->rb->gpa) >>
                              GUEST_PAGE_SHIFT);
}

uint64_t postcopy_ram_rerequest(PostcopyRam *pc)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < pc->nr_blocks; i++) {
        PostcopyBlock *b = &pc->blocks[i];

        if (!b->registered) {
            continue;
        }
        for (size_t page = find_next_bit(b->requested, b->pages, 0);
             page < b->pages;
             page = find_next_bit(b->requested, b->pages, page + 1)) {
            if (postcopy_test(b->placed, page)) {
                continue;
            }
            trace_postcopy_ram_rerequest(b->rb->name,
                                         (uint64_t)page << GUEST_PAGE_SHIFT);
            pc->fn(pc->opaque, b->rb, (uint64_t)page << GUEST_PAGE_SHIFT,
                   GUEST_PAGE_SIZE);
            n++;
        }
    }
    return n;
}

bool postcopy_ram_discard(RamBlock *rb, uint64_t offset, uint64_t len,
                          Error **errp)
{
    if ((offset | len) & (GUEST_PAGE_SIZE - 1) || !len ||
        offset >= rb->size || len > rb->size - offset) {
        error_setg(errp, "postcopy: cannot discard [0x%" PRIx64 ", +0x%"
                   PRIx64 ") of RAM block '%s' (0x%" PRIx64 " bytes): not "
                   "whole pages inside the block", offset, len, rb->name,
                   rb->size);
        return false;
    }
    trace_postcopy_ram_discard(rb->name, offset, len);
    if (fallocate(rb->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  offset, len)) {
        error_setg_errno(errp, errno, "postcopy: cannot discard [0x%" PRIx64
                         ", +0x%" PRIx64 ") of RAM block '%s'", offset, len,
                         rb->name);
        return false;
    }
    return true;
}

void postcopy_ram_stats(PostcopyRam *pc, PostcopyRamStats *out)
{
    out->faults = __atomic_load_n(&pc->st.faults, __ATOMIC_RELAXED);
    out->requests = __atomic_load_n(&pc->st.requests, __ATOMIC_RELAXED);
    out->placed = __atomic_load_n(&pc->st.placed, __ATOMIC_RELAXED);
    out->placed_zero = __atomic_load_n(&pc->st.placed_zero, __ATOMIC_RELAXED);
    out->duplicates = __atomic_load_n(&pc->st.duplicates, __ATOMIC_RELAXED);
    out->wakes = __atomic_load_n(&pc->st.wakes, __ATOMIC_RELAXED);
}
