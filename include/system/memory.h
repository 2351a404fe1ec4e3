/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest physical memory.
 *
 * RAM is a set of RamBlocks, each a memfd mapped MAP_SHARED at one guest
 * physical range and registered as one KVM memory slot. Every write that
 * Tandem itself makes into guest RAM (loaders, and later virtio rings, net
 * RX, block reads) goes through guest_memory_write() or is followed by
 * guest_memory_mark_dirty(), so that it lands in the block's dirty bitmap
 * next to what KVM's log reports. A device write that bypasses this is a
 * COLO correctness bug (ARCHITECTURE.md §3).
 */
#ifndef SYSTEM_MEMORY_H
#define SYSTEM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

#define GUEST_PAGE_SIZE 4096ULL
#define GUEST_PAGE_SHIFT 12

typedef struct RamBlock {
    char name[32];          /* "pc.ram", "pc.ram.high" */
    uint64_t gpa;           /* guest-physical start */
    uint64_t size;          /* bytes, multiple of GUEST_PAGE_SIZE */
    uint8_t *host;          /* MAP_SHARED mapping of the memfd */
    int memfd;
    int kvm_slot;           /* -1 until registered with KVM */
    /*
     * Pages written since the last harvest, one bit per page: bits come
     * from KVM's dirty log (merged in by kvm_dirty_sync) and from our own
     * writes (set atomically by guest_memory_mark_dirty). Consumers take it
     * with bitmap_take_atomic().
     */
    unsigned long *dirty;
} RamBlock;

typedef struct GuestMemory {
    RamBlock *blocks;
    unsigned nr_blocks;
} GuestMemory;

/* Adds a block backed by a fresh memfd; gpa and size page aligned. */
RamBlock *guest_memory_add_ram(GuestMemory *mem, const char *name,
                               uint64_t gpa, uint64_t size, Error **errp);
void guest_memory_free(GuestMemory *mem);

/* The block holding gpa, or NULL. */
RamBlock *guest_memory_find(GuestMemory *mem, uint64_t gpa);

/*
 * Host pointer to [gpa, gpa + len) if it lies inside one block, else NULL.
 * Whoever writes through it must call guest_memory_mark_dirty().
 */
void *guest_memory_host_ptr(GuestMemory *mem, uint64_t gpa, uint64_t len);

/* Fails, naming the range, unless every byte of it is RAM. */
bool guest_memory_check_range(GuestMemory *mem, uint64_t gpa, uint64_t len,
                              Error **errp);

/* Copies in or out; fails naming the range if any byte is not RAM. */
bool guest_memory_write(GuestMemory *mem, uint64_t gpa, const void *buf,
                        uint64_t len, Error **errp);
bool guest_memory_read(GuestMemory *mem, uint64_t gpa, void *buf,
                       uint64_t len, Error **errp);
bool guest_memory_fill(GuestMemory *mem, uint64_t gpa, int byte,
                       uint64_t len, Error **errp);
void guest_memory_mark_dirty(GuestMemory *mem, uint64_t gpa, uint64_t len);

#endif
