/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Postcopy's destination RAM: guest RAM behind userfaultfd, so that the
 * guest can run before all its pages arrived. A vCPU (or any thread)
 * touching a page that is not there yet blocks in the kernel; the fault
 * thread reads the fault and turns it into a page request (a callback,
 * which the incoming side sends on the return path); the page, when it
 * comes, is placed atomically and the toucher wakes.
 *
 * The design (docs/migration.md, "Postcopy"):
 *
 * - MISSING mode on the memfd mappings (UFFD_FEATURE_MISSING_SHMEM).
 *   For shared memory "missing" means "not in the memfd's page cache",
 *   so what precopy wrote before registration never faults, and a page
 *   punched out of the memfd (the discard list) faults again. The minor
 *   fault mode (UFFDIO_CONTINUE) was not chosen: it faults only on pages
 *   that are in the page cache but not mapped, so every page would have
 *   to be allocated first, and a page would become visible to the guest
 *   before its contents were complete unless written through a second
 *   mapping; UFFDIO_COPY fills a page and maps it in one step.
 * - Every page placed while registered goes through UFFDIO_COPY (data)
 *   or UFFDIO_ZEROPAGE: an ordinary write would itself fault (and wait
 *   forever on our own fault thread) and could expose a half-written
 *   page to a vCPU.
 * - Placement is idempotent and the kernel is the referee: a page that
 *   is already there makes UFFDIO_COPY fail with EEXIST, whatever raced
 *   to place it (a background page and a requested one, two channels,
 *   a replay after recovery). The second copy is dropped, never written
 *   over the first, and anything waiting on that page is woken.
 * - A page request is sent once per page however many threads fault on
 *   it; a fault on a page already placed (the fault raced the placement)
 *   only wakes the waiter.
 *
 * Threads: postcopy_ram_place() and postcopy_ram_discard() may be called
 * from any thread (the incoming thread, a preempt-channel thread); the
 * request callback runs on the fault thread and must not block for long
 * (it may call postcopy_ram_place itself, e.g. for a page it knows is
 * zero). No lock: the per-page bits are set with atomic operations.
 */
#ifndef MIGRATION_POSTCOPY_RAM_H
#define MIGRATION_POSTCOPY_RAM_H

#include <stdbool.h>
#include <stdint.h>
#include "system/memory.h"
#include "util/error.h"

typedef struct PostcopyRam PostcopyRam;

/*
 * A page the destination needs: block, byte offset in it (page aligned),
 * length (one page). Called on the fault thread.
 */
typedef void PostcopyRequestFn(void *opaque, const RamBlock *rb,
                               uint64_t offset, uint64_t len);

/* Destination statistics (query-migrate's postcopy-requests and ours). */
typedef struct PostcopyRamStats {
    uint64_t faults;            /* fault messages read */
    uint64_t requests;          /* page requests made (one per page) */
    uint64_t placed;            /* pages placed (data or zero) */
    uint64_t placed_zero;       /* of which zero */
    uint64_t duplicates;        /* placements dropped: page already there */
    uint64_t wakes;             /* faults answered by a wake alone */
} PostcopyRamStats;

/*
 * Whether this host can do postcopy on memfd RAM: userfaultfd opens
 * (the syscall, or /dev/userfaultfd) and the kernel has
 * UFFD_FEATURE_MISSING_SHMEM. The error says which is missing.
 */
bool postcopy_ram_supported(Error **errp);

/*
 * Registers every block of mem with a new userfaultfd (MISSING mode) and
 * starts the fault thread, which calls fn for each page a thread faults
 * on. From here until postcopy_ram_free() guest RAM of mem is written
 * only through postcopy_ram_place().
 */
PostcopyRam *postcopy_ram_new(GuestMemory *mem, PostcopyRequestFn *fn,
                              void *opaque, Error **errp);
/* Stops the fault thread, unregisters (waiters fault in zero pages),
 * closes the userfaultfd. NULL is ignored. */
void postcopy_ram_free(PostcopyRam *pc);

/*
 * Places the page at gpa: data (GUEST_PAGE_SIZE bytes) or, when data is
 * NULL, a zero page. *placed (may be NULL): false if the page was already
 * there and this copy was dropped. Fails, naming the address, for an
 * address that is not a page-aligned page of RAM, or when the kernel
 * refuses the copy for another reason.
 */
bool postcopy_ram_place(PostcopyRam *pc, uint64_t gpa, const void *data,
                        bool *placed, Error **errp);

/* Whether the page at gpa was placed (gpa must be RAM). */
bool postcopy_ram_is_placed(PostcopyRam *pc, uint64_t gpa);
/* Whether a request was made for the page at gpa (sequentially
 * consistent: see postcopy.h, "Zero pages in postcopy"). */
bool postcopy_ram_is_requested(PostcopyRam *pc, uint64_t gpa);
/*
 * Postcopy recovery: asks again (through the request function) for
 * every page requested and not placed yet; those requests were lost
 * with the old connection or never went out. Returns how many. A page
 * placed meanwhile is not asked for; one placed right after it is asked
 * for costs a duplicate the source does not send (it is no longer
 * marked there).
 */
uint64_t postcopy_ram_rerequest(PostcopyRam *pc);

/*
 * The discard list: [offset, offset + len) of rb is punched out of its
 * memfd, so those pages are missing again and fault once the block is
 * registered. Called at the switch, before postcopy_ram_new() (the
 * placement bits start from zero there). Page-aligned ranges inside the
 * block only; the error names the range.
 */
bool postcopy_ram_discard(RamBlock *rb, uint64_t offset, uint64_t len,
                          Error **errp);

void postcopy_ram_stats(PostcopyRam *pc, PostcopyRamStats *out);

/*
 * Blocktime (capability postcopy-blocktime), enabled right after
 * postcopy_ram_new(): how long each of nr_vcpus vCPUs waited for pages,
 * how long all of them waited at once (QEMU's postcopy-blocktime and
 * postcopy-vcpu-blocktime), and the fault-to-placed latency of every
 * faulted page (ours). fn maps the kernel thread id of a faulting thread
 * to its vCPU index, or -1 (fault thread; needs UFFD_FEATURE_THREAD_ID,
 * without which no vCPU is ever seen waiting).
 */
typedef int PostcopyVcpuOfFn(void *opaque, int tid);
void postcopy_ram_blocktime_enable(PostcopyRam *pc, unsigned nr_vcpus,
                                   PostcopyVcpuOfFn *fn, void *opaque);

typedef struct PostcopyBlocktimeInfo {
    uint64_t total_us;          /* all vCPUs waiting at once */
    unsigned nr_vcpus;
    uint64_t *vcpu_us;          /* nr_vcpus entries; g_free() it */
    uint64_t lat_samples;       /* faulted pages placed (at most 65536
                                   kept for the percentiles) */
    uint64_t lat_p50_us, lat_p99_us, lat_max_us;
} PostcopyBlocktimeInfo;
/* Zeros (vcpu_us NULL) unless enabled. Waits still going count to now. */
void postcopy_ram_blocktime_info(PostcopyRam *pc, PostcopyBlocktimeInfo *out);

#endif
