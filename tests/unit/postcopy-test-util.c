/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The postcopy unit tests' shared fixture: see postcopy-test-util.h. */
#include <inttypes.h>
#include <string.h>
#include <glib.h>
#include "postcopy-test-util.h"
#include "migration/postcopy-ram.h"

#define PAGE    GUEST_PAGE_SIZE

bool postcopy_test_require_uffd(void)
{
    Error *err = NULL;

    if (!postcopy_ram_supported(&err)) {
        g_autofree char *why = g_strdup_printf(
            "userfaultfd on memfd RAM unusable here: %s",
            error_get_pretty(err));

        g_test_skip(why);
        error_free(err);
        return false;
    }
    return true;
}

void postcopy_test_add_ram(GuestMemory *mem, uint64_t low_size,
                           uint64_t high_size)
{
    g_assert_nonnull(guest_memory_add_ram(mem, "pc.ram", 0, low_size,
                                          &error_abort));
    g_assert_nonnull(guest_memory_add_ram(mem, "pc.ram.high",
                                          POSTCOPY_TEST_HIGH_GPA, high_size,
                                          &error_abort));
}

void postcopy_test_write_page(GuestMemory *mem, uint64_t gpa,
                              uint32_t version)
{
    uint32_t w[PAGE / 4];

    memset(w, 0, sizeof(w));
    if ((gpa >> 12) % 4 != 1) {
        for (unsigned i = 0; i < PAGE / 4; i++) {
            w[i] = (uint32_t)(gpa >> 12) * 2654435761u + i * 40503u +
                   version;
        }
    }
    g_assert_true(guest_memory_write(mem, gpa, w, PAGE, &error_abort));
}

void postcopy_test_fill(GuestMemory *mem, uint32_t version)
{
    for (unsigned b = 0; b < mem->nr_blocks; b++) {
        for (uint64_t off = 0; off < mem->blocks[b].size; off += PAGE) {
            postcopy_test_write_page(mem, mem->blocks[b].gpa + off, version);
        }
    }
}

uint64_t postcopy_test_pages(const GuestMemory *mem)
{
    uint64_t n = 0;

    for (unsigned b = 0; b < mem->nr_blocks; b++) {
        n += mem->blocks[b].size / PAGE;
    }
    return n;
}

void postcopy_test_assert_same_ram(const GuestMemory *src,
                                   const GuestMemory *dst)
{
    g_assert_cmpuint(src->nr_blocks, ==, dst->nr_blocks);
    for (unsigned b = 0; b < src->nr_blocks; b++) {
        g_assert_cmpuint(src->blocks[b].size, ==, dst->blocks[b].size);
        for (uint64_t off = 0; off < src->blocks[b].size; off += PAGE) {
            if (memcmp(src->blocks[b].host + off, dst->blocks[b].host + off,
                       PAGE)) {
                g_error("page 0x%" PRIx64 " differs after the migration",
                        src->blocks[b].gpa + off);
            }
        }
    }
}

static bool probe_post_load(void *opaque, int version_id, Error **errp)
{
    PostcopyTestProbe *p = opaque;
    const volatile uint32_t *w = guest_memory_host_ptr(p->mem, p->gpa, 4);

    p->seen = *w;               /* faults if the page has not arrived */
    __atomic_store_n(&p->loaded, true, __ATOMIC_SEQ_CST);
    return true;
}

const VMStateDescription postcopy_test_vmstate_probe = {
    .name = "probe",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = probe_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(gpa, PostcopyTestProbe),
        VMSTATE_UINT32(value, PostcopyTestProbe),
        VMSTATE_END_OF_LIST()
    },
};
