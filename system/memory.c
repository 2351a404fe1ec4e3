/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest RAM: memfd-backed blocks mapped MAP_SHARED (userfaultfd and
 * zero-copy migration need a shareable file behind guest memory), and the
 * one path by which Tandem's own code writes into them, so that every such
 * write is marked dirty for migration and COLO.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "system/memory.h"
#include "util/bitmap.h"
#include "trace.h"

RamBlock *guest_memory_add_ram(GuestMemory *mem, const char *name,
                               uint64_t gpa, uint64_t size, Error **errp)
{
    RamBlock *block;
    void *host;
    int fd;

    g_assert(size && !(gpa % GUEST_PAGE_SIZE) && !(size % GUEST_PAGE_SIZE));

    fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) {
        error_setg_errno(errp, errno, "cannot create memory file for %s",
                         name);
        return NULL;
    }
    if (ftruncate(fd, size) < 0) {
        error_setg_errno(errp, errno, "cannot size %s to %" G_GUINT64_FORMAT
                         " bytes", name, size);
        close(fd);
        return NULL;
    }
    host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                fd, 0);
    if (host == MAP_FAILED) {
        error_setg_errno(errp, errno, "cannot map %" G_GUINT64_FORMAT
                         " MiB of guest RAM for %s", size >> 20, name);
        close(fd);
        return NULL;
    }
    /* Guest memory in a core dump is rarely wanted and can be huge. */
    madvise(host, size, MADV_DONTDUMP);

    mem->blocks = g_renew(RamBlock, mem->blocks, mem->nr_blocks + 1);
    block = &mem->blocks[mem->nr_blocks++];
    memset(block, 0, sizeof(*block));
    g_strlcpy(block->name, name, sizeof(block->name));
    block->gpa = gpa;
    block->size = size;
    block->host = host;
    block->memfd = fd;
    block->kvm_slot = -1;
    block->dirty = bitmap_new(size >> GUEST_PAGE_SHIFT);
    trace_guest_memory_add_ram(name, gpa, size);
    return block;
}

void guest_memory_free(GuestMemory *mem)
{
    for (unsigned i = 0; i < mem->nr_blocks; i++) {
        RamBlock *b = &mem->blocks[i];
        munmap(b->host, b->size);
        close(b->memfd);
        g_free(b->dirty);
    }
    g_free(mem->blocks);
    mem->blocks = NULL;
    mem->nr_blocks = 0;
}

RamBlock *guest_memory_find(GuestMemory *mem, uint64_t gpa)
{
    for (unsigned i = 0; i < mem->nr_blocks; i++) {
        RamBlock *b = &mem->blocks[i];
        if (gpa >= b->gpa && gpa - b->gpa < b->size) {
            return b;
        }
    }
    return NULL;
}

void *guest_memory_host_ptr(GuestMemory *mem, uint64_t gpa, uint64_t len)
{
    RamBlock *b = guest_memory_find(mem, gpa);

    if (!b || len > b->size - (gpa - b->gpa)) {
        return NULL;
    }
    return b->host + (gpa - b->gpa);
}

void guest_memory_mark_dirty(GuestMemory *mem, uint64_t gpa, uint64_t len)
{
    while (len) {
        RamBlock *b = guest_memory_find(mem, gpa);
        uint64_t off, chunk, first, last;

        if (!b) {
            return;
        }
        off = gpa - b->gpa;
        chunk = MIN(len, b->size - off);
        first = off >> GUEST_PAGE_SHIFT;
        last = (off + chunk - 1) >> GUEST_PAGE_SHIFT;
        bitmap_set_atomic(b->dirty, first, last - first + 1);
        gpa += chunk;
        len -= chunk;
    }
}

/*
 * Walks [gpa, gpa + len) block by block; fails without touching anything
 * if some byte is not RAM, so a caller never half-writes.
 */
bool guest_memory_check_range(GuestMemory *mem, uint64_t gpa, uint64_t len,
                              Error **errp)
{
    uint64_t addr = gpa, left = len;

    if (len && gpa + len < gpa) {
        error_setg(errp, "guest range 0x%" G_GINT64_MODIFIER "x+0x%"
                   G_GINT64_MODIFIER "x wraps around", gpa, len);
        return false;
    }
    while (left) {
        RamBlock *b = guest_memory_find(mem, addr);
        uint64_t chunk;

        if (!b) {
            error_setg(errp, "guest range 0x%" G_GINT64_MODIFIER "x-0x%"
                       G_GINT64_MODIFIER "x is not RAM (0x%"
                       G_GINT64_MODIFIER "x is unbacked)",
                       gpa, gpa + len - 1, addr);
            return false;
        }
        chunk = MIN(left, b->size - (addr - b->gpa));
        addr += chunk;
        left -= chunk;
    }
    return true;
}

typedef enum { GM_READ, GM_WRITE, GM_FILL } GuestMemoryOp;

static bool guest_memory_access(GuestMemory *mem, GuestMemoryOp op,
                                uint64_t gpa, void *buf, int byte,
                                uint64_t len, Error **errp)
{
    uint8_t *p = buf;

    if (!guest_memory_check_range(mem, gpa, len, errp)) {
        return false;
    }
    while (len) {
        RamBlock *b = guest_memory_find(mem, gpa);
        uint64_t off = gpa - b->gpa;
        uint64_t chunk = MIN(len, b->size - off);

        switch (op) {
        case GM_READ:
            memcpy(p, b->host + off, chunk);
            p += chunk;
            break;
        case GM_WRITE:
            memcpy(b->host + off, p, chunk);
            p += chunk;
            break;
        case GM_FILL:
            memset(b->host + off, byte, chunk);
            break;
        }
        if (op != GM_READ) {
            guest_memory_mark_dirty(mem, gpa, chunk);
        }
        gpa += chunk;
        len -= chunk;
    }
    return true;
}

bool guest_memory_write(GuestMemory *mem, uint64_t gpa, const void *buf,
                        uint64_t len, Error **errp)
{
    return guest_memory_access(mem, GM_WRITE, gpa, (void *)buf, 0, len, errp);
}

bool guest_memory_read(GuestMemory *mem, uint64_t gpa, void *buf,
                       uint64_t len, Error **errp)
{
    return guest_memory_access(mem, GM_READ, gpa, buf, 0, len, errp);
}

bool guest_memory_fill(GuestMemory *mem, uint64_t gpa, int byte,
                       uint64_t len, Error **errp)
{
    return guest_memory_access(mem, GM_FILL, gpa, NULL, byte, len, errp);
}
