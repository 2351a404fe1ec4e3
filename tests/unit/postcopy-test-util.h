/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the postcopy unit tests share (test-postcopy-ram, test-postcopy,
 * test-postcopy-migration): the skip when userfaultfd cannot serve memfd
 * RAM here, guest RAM of two blocks ("pc.ram" at 0 and "pc.ram.high" at
 * 4 GiB, as the pc machine lays it out), a page pattern that names page
 * and version (a quarter of the pages zero, so zero-page records are
 * exercised), the byte-for-byte comparison of two RAMs, and a device
 * whose post_load reads guest RAM (a virtio queue may), which must not
 * load on the thread that brings the pages in.
 */
#ifndef TESTS_UNIT_POSTCOPY_TEST_UTIL_H
#define TESTS_UNIT_POSTCOPY_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include "migration/vmstate.h"
#include "system/memory.h"

#define POSTCOPY_TEST_HIGH_GPA  0x100000000ULL

/* false (and the test skipped, saying why) when userfaultfd cannot
 * place pages into memfd RAM on this host. */
bool postcopy_test_require_uffd(void);
/* mem's two blocks: low_size bytes at 0, high_size at 4 GiB. */
void postcopy_test_add_ram(GuestMemory *mem, uint64_t low_size,
                           uint64_t high_size);
/* The page at gpa: zero for every 4th page from page 1, else words that
 * name the page and version. Marks it dirty as a guest write would. */
void postcopy_test_write_page(GuestMemory *mem, uint64_t gpa,
                              uint32_t version);
void postcopy_test_fill(GuestMemory *mem, uint32_t version);
uint64_t postcopy_test_pages(const GuestMemory *mem);
/* Fails the test naming the first page of dst that differs from src's. */
void postcopy_test_assert_same_ram(const GuestMemory *src,
                                   const GuestMemory *dst);

/* The probe device: gpa and value migrate; post_load reads the word at
 * gpa of mem into seen (faulting if the page has not arrived) and then
 * sets loaded (atomic). */
typedef struct PostcopyTestProbe {
    uint64_t gpa;
    uint32_t value;
    GuestMemory *mem;
    uint32_t seen;
    bool loaded;
} PostcopyTestProbe;

extern const VMStateDescription postcopy_test_vmstate_probe;

#endif
