/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest memory as the monitor reads it: QMP pmemsave (guest-physical)
 * and memsave (guest-virtual, through a vCPU's page tables), and the
 * readers HMP's xp and x share with them; query-memdev.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "hw/i386/pc.h"
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"
#include "system/cpus.h"
#include "system/memory-backend.h"
#include "system/runstate.h"
#include "util/fdset.h"

GuestMemory *monitor_guest_memory(const char *what, Error **errp)
{
    PCMachine *pcms = pc_machine_current();

    if (!pcms) {
        error_setg(errp, "%s: this machine has no guest memory", what);
        return NULL;
    }
    return &pcms->mem;
}

CPUState *monitor_translating_cpu(const char *what, const char *physical,
                                  int64_t index, Error **errp)
{
    CPUState *cpu;

    if (!cpus_count()) {
        /* Under -accel qtest the -smp vCPUs exist as objects only: they
         * have no page tables to walk, and the message says so rather
         * than claim there are no vCPUs at all. */
        error_setg(errp, cpus_shown_count()
                   ? "%s: the vCPUs of this machine have no register state "
                     "to translate the address with (use %s)"
                   : "%s: this machine has no vCPUs to translate the "
                     "address (use %s)", what, physical);
        return NULL;
    }
    cpu = index >= 0 ? cpus_get(index) : NULL;
    if (!cpu) {
        error_setg(errp, "Parameter 'cpu-index' expects a CPU number");
    }
    return cpu;
}

/* Guest-virtual to guest-physical through the vCPU's page tables. */
static bool translate(CPUState *cpu, uint64_t va, uint64_t *pa, Error **errp)
{
    struct kvm_translation tr = { .linear_address = va };

    if (ioctl(cpu->kvm.fd, KVM_TRANSLATE, &tr) < 0) {
        error_setg_errno(errp, errno, "cannot translate 0x%" G_GINT64_MODIFIER
                         "x on CPU %u", va, cpu->index);
        return false;
    }
    if (!tr.valid) {
        error_setg(errp, "Invalid addr 0x%016" G_GINT64_MODIFIER "x specified: "
                   "not mapped on CPU %u", va, cpu->index);
        return false;
    }
    *pa = tr.physical_address;
    return true;
}

bool monitor_read_virtual(CPUState *cpu, uint64_t va, void *buf, size_t len,
                          Error **errp)
{
    GuestMemory *mem = &pc_machine_current()->mem;
    uint8_t *out = buf;

    /* Page by page: neighbouring virtual pages need not be neighbours in
     * guest-physical memory. */
    for (size_t off = 0; off < len;) {
        uint64_t v = va + off, pa;
        size_t chunk = MIN(len - off,
                           GUEST_PAGE_SIZE - (v & (GUEST_PAGE_SIZE - 1)));

        if (!translate(cpu, v, &pa, errp) ||
            !guest_memory_read(mem, pa, out + off, chunk, errp)) {
            return false;
        }
        off += chunk;
    }
    return true;
}

bool monitor_pause_vcpus(void)
{
    bool was_running = runstate_is_running();

    /* A vCPU must be out of KVM_RUN for its page tables to be read
     * (or an NMI queued). */
    if (was_running) {
        cpus_pause_all();
    }
    return was_running;
}

void monitor_resume_vcpus(bool was_running)
{
    if (was_running) {
        cpus_resume_all();
    }
}

/* Writes len bytes at buf to fd; errors name the file. */
static bool dump_write(int fd, const char *filename, const void *buf,
                       size_t len, Error **errp)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            error_setg_errno(errp, errno, "writing memory to '%s'", filename);
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

static int dump_open(const char *filename, Error **errp)
{
    int fd = fdset_open(filename, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'", filename);
    }
    return fd;
}

#define DUMP_CHUNK (1u << 20)

void qmp_pmemsave(int64_t val, int64_t size, const char *filename,
                  Error **errp)
{
    GuestMemory *mem = monitor_guest_memory("pmemsave", errp);
    uint64_t addr = val;
    g_autofree uint8_t *buf = NULL;
    int fd;

    if (!mem) {
        return;
    }
    if (size < 0) {
        error_setg(errp, "Invalid parameter 'size'");
        return;
    }
    /* Check the whole range first: never leave half a dump behind. */
    if (!guest_memory_check_range(mem, addr, size, errp)) {
        return;
    }
    fd = dump_open(filename, errp);
    if (fd < 0) {
        return;
    }
    buf = g_malloc(MIN((uint64_t)size, DUMP_CHUNK) + 1);
    for (uint64_t off = 0; off < (uint64_t)size;) {
        uint64_t chunk = MIN((uint64_t)size - off, DUMP_CHUNK);
        if (!guest_memory_read(mem, addr + off, buf, chunk, errp) ||
            !dump_write(fd, filename, buf, chunk, errp)) {
            break;
        }
        off += chunk;
    }
    close(fd);
}

void qmp_memsave(int64_t val, int64_t size, const char *filename,
                 bool has_cpu_index, int64_t cpu_index, Error **errp)
{
    CPUState *cpu = monitor_translating_cpu("memsave", "pmemsave",
                                            has_cpu_index ? cpu_index : 0,
                                            errp);
    g_autofree uint8_t *buf = NULL;
    bool was_running;
    int fd;

    if (!cpu) {
        return;
    }
    if (size < 0) {
        error_setg(errp, "Invalid parameter 'size'");
        return;
    }
    fd = dump_open(filename, errp);
    if (fd < 0) {
        return;
    }
    buf = g_malloc(MIN((uint64_t)size, DUMP_CHUNK) + 1);
    was_running = monitor_pause_vcpus();
    for (uint64_t off = 0; off < (uint64_t)size;) {
        uint64_t chunk = MIN((uint64_t)size - off, DUMP_CHUNK);
        if (!monitor_read_virtual(cpu, val + off, buf, chunk, errp) ||
            !dump_write(fd, filename, buf, chunk, errp)) {
            break;
        }
        off += chunk;
    }
    monitor_resume_vcpus(was_running);
    close(fd);
}

/* ---- query-memdev ---- */

static void memdev_append(const MemoryBackendInfo *info, void *opaque)
{
    MemdevList ***tail = opaque;
    Memdev *m = g_new0(Memdev, 1);

    m->id = g_strdup(info->id);
    m->size = info->size;
    m->merge = false;           /* refused: see qapi/machine.json */
    m->dump = info->dump;
    m->prealloc = info->prealloc;
    m->share = info->share;
    m->has_reserve = true;
    m->reserve = true;
    m->policy = HOST_MEM_POLICY_DEFAULT;
    **tail = g_new0(MemdevList, 1);
    (**tail)->value = m;
    *tail = &(**tail)->next;
}

/* The backend objects, then the pc's own RAM when it has no backend,
 * named as QEMU names its implicit one. */
MemdevList *qmp_query_memdev(Error **errp)
{
    PCMachine *pcms = pc_machine_current();
    MemdevList *list = NULL, **tail = &list;

    memory_backend_foreach_info(pcms ? pcms->cfg.dump_guest_core : true,
                                memdev_append, &tail);
    if (pcms && !pcms->cfg.memory_backend) {
        MemoryBackendInfo own = {
            .id = PC_DEFAULT_RAM_ID, .size = pcms->cfg.ram_size,
            .dump = pcms->cfg.dump_guest_core,
        };

        memdev_append(&own, &tail);
    }
    return list;
}
