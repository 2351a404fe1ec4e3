/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dump-guest-memory's job (include/dump/dump.h): prepare (checks, stop
 * the guest, read the vCPUs, build the ELF header), write (header, then
 * RAM range after range, counting progress), finish (status, event,
 * resume). The steps are the same detached or not; detached, the write
 * runs on the "dump" thread and the finish on the main loop after it.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dump/dump.h"
#include "dump/elf-core.h"
#include "migration/migration.h"
#include "qapi/qapi-events.h"
#include "system/cpus.h"
#include "system/runstate.h"
#include "target/i386/arch-dump.h"
#include "util/main-loop.h"
#include "trace.h"

/* RAM goes out in pieces this big: the unit of progress and of cancel. */
#define DUMP_CHUNK (1u << 20)

struct DumpState {
    GuestMemory *mem;           /* the machine's (dump_set_machine) */
    KvmState *kvm;
    int wake_fd;                /* eventfd: wakes a writer in poll() */

    /* The current or last dump (query-dump). */
    DumpStatus status;
    uint64_t total;
    uint64_t completed;         /* atomic: the writer adds */

    /* The active dump. */
    int fd;
    int cancel;                 /* atomic: dump_shutdown asks */
    bool resume;                /* the guest ran: resume it at the end */
    DumpGuestMemoryFormat format;
    GArray *ranges;             /* DumpRange, in file order */
    GByteArray *header;         /* what precedes the RAM in the file */
    GThread *thread;            /* detached: the writer, until joined */
    Error *error;               /* the writer's failure */
};

DumpState *dump_new(void)
{
    DumpState *ds = g_new0(DumpState, 1);

    ds->status = DUMP_STATUS_NONE;
    ds->fd = -1;
    ds->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    g_assert(ds->wake_fd >= 0);
    return ds;
}

void dump_free(DumpState *ds)
{
    if (!ds) {
        return;
    }
    g_assert(ds->status != DUMP_STATUS_ACTIVE);
    close(ds->wake_fd);
    g_free(ds);
}

DumpState *dump_current(void)
{
    static DumpState *current;

    if (g_once_init_enter(&current)) {
        g_once_init_leave(&current, dump_new());
    }
    return current;
}

void dump_set_machine(DumpState *ds, GuestMemory *mem, KvmState *kvm)
{
    ds->mem = mem;
    ds->kvm = kvm;
}

bool dump_in_progress(DumpState *ds)
{
    return ds->status == DUMP_STATUS_ACTIVE;
}

DumpQueryResult *dump_query(DumpState *ds)
{
    DumpQueryResult *r = g_new0(DumpQueryResult, 1);

    r->status = ds->status;
    r->total = ds->total;
    r->completed = __atomic_load_n(&ds->completed, __ATOMIC_RELAXED);
    return r;
}

/* ---- prepare ---- */

/*
 * The notes: every vCPU's NT_PRSTATUS, then every vCPU's QEMU CPU-state
 * note (the order QEMU writes them in). vCPUs without registers (qtest)
 * give none. The guest is stopped.
 */
static bool dump_cpu_notes(DumpState *ds, bool paging, GByteArray *notes,
                           Error **errp)
{
    ERRP_GUARD();   /* error_prepend */
    unsigned n = ds->kvm ? cpus_count() : 0;
    g_autoptr(GPtrArray) states =
        g_ptr_array_new_with_free_func((GDestroyNotify)x86_cpu_state_free);

    for (unsigned i = 0; i < n; i++) {
        X86CPUState *st = x86_cpu_state_new(ds->kvm);

        g_ptr_array_add(states, st);
        if (!x86_cpu_get_state(&cpus_get(i)->kvm, st, errp)) {
            error_prepend(errp, "dump: cannot read the registers of CPU "
                          "%u: ", i);
            return false;
        }
        /* Honest refusal: the virtual mappings would need a walk of the
         * guest's page tables, which Tandem does not do. */
        if (paging && x86_dump_paging_enabled(st)) {
            error_setg(errp, "dump: paging=true is not supported: CPU %u "
                       "has paging enabled and Tandem does not walk guest "
                       "page tables (use paging=false)", i);
            return false;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        X86ElfPrstatus pr;

        x86_dump_prstatus(g_ptr_array_index(states, i), i, &pr);
        elf_note_append(notes, "CORE", NT_PRSTATUS, &pr, sizeof(pr));
    }
    for (unsigned i = 0; i < n; i++) {
        X86DumpCpuState cs;

        x86_dump_cpu_state(g_ptr_array_index(states, i), &cs);
        elf_note_append(notes, "QEMU", 0, &cs, sizeof(cs));
    }
    return true;
}

/* Checks the range, stops the guest, builds the header. On failure the
 * guest runs again if it ran. */
static bool dump_prepare(DumpState *ds, const DumpRequest *req, Error **errp)
{
    g_autoptr(GByteArray) notes = g_byte_array_new();

    /* QEMU's checks and words. A negative length is a huge unsigned
     * one there: "to the end". */
    if (req->filter && req->length == 0) {
        error_setg(errp, "Invalid parameter 'length'");
        return false;
    }
    if (req->filter && req->begin < 0) {
        error_setg(errp, "Invalid parameter 'begin'");
        return false;
    }
    if (ds->mem) {
        ds->ranges = dump_ranges_collect(ds->mem, req->filter, req->begin,
                                         req->length);
    }
    if (!ds->ranges || !ds->ranges->len) {
        error_setg(errp, "dump: no guest memory to dump");
        return false;
    }
    ds->total = dump_ranges_total(ds->ranges);

    if (runstate_is_running()) {
        vm_stop(RUN_STATE_SAVE_VM);
        ds->resume = true;
    }
    if (!dump_cpu_notes(ds, req->paging, notes, errp)) {
        return false;
    }
    ds->header = elf_core_header(ds->ranges, notes);
    return true;
}

/* ---- write ---- */

static void dump_wait_writable(DumpState *ds)
{
    struct pollfd pfd[2] = {
        { .fd = ds->fd, .events = POLLOUT },
        { .fd = ds->wake_fd, .events = POLLIN },
    };

    while (poll(pfd, 2, -1) < 0 && errno == EINTR) {
    }
}

/* All of buf to the dump's fd; 0 or -errno. With is_ram, every byte
 * written counts as progress at once (a slow pipe shows it moving). */
static int dump_write(DumpState *ds, const void *buf, size_t len,
                      bool is_ram)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n;

        if (__atomic_load_n(&ds->cancel, __ATOMIC_RELAXED)) {
            return -ECANCELED;
        }
        n = write(ds->fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            dump_wait_writable(ds);
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        if (is_ram) {
            __atomic_add_fetch(&ds->completed, n, __ATOMIC_RELAXED);
        }
        p += n;
        len -= n;
    }
    return 0;
}

/*
 * Reads guest RAM through the block's memfd rather than its mapping: a
 * page the guest never touched reads as zeros without being allocated,
 * so dumping a mostly idle guest does not fill the host's memory.
 */
static int dump_read_ram(const RamBlock *b, uint64_t off, uint8_t *buf,
                         size_t len)
{
    while (len) {
        ssize_t n = pread(b->memfd, buf, len, off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? -errno : -EIO;
        }
        buf += n;
        off += n;
        len -= n;
    }
    return 0;
}

static bool dump_write_ram(DumpState *ds, Error **errp)
{
    g_autofree uint8_t *buf = g_malloc(DUMP_CHUNK);

    for (guint i = 0; i < ds->ranges->len; i++) {
        const DumpRange *r = &g_array_index(ds->ranges, DumpRange, i);

        for (uint64_t off = 0; off < r->size;) {
            uint64_t gpa = r->gpa + off;
            /* A range may span blocks that touch: read block by block. */
            const RamBlock *b = guest_memory_find(ds->mem, gpa);
            uint64_t in_block = b->size - (gpa - b->gpa);
            size_t n = MIN(MIN(r->size - off, in_block), DUMP_CHUNK);
            int ret = dump_read_ram(b, gpa - b->gpa, buf, n);

            if (ret < 0) {
                error_setg_errno(errp, -ret, "dump: failed to read guest "
                                 "memory at 0x%" G_GINT64_MODIFIER "x", gpa);
                return false;
            }
            ret = dump_write(ds, buf, n, true);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "dump: failed to save memory");
                return false;
            }
            off += n;
        }
    }
    return true;
}

/* The file, start to end; on failure ds->error says why. */
static void dump_write_file(DumpState *ds)
{
    int ret;

    /* Windows dumps are built from the guest's vmcoreinfo note, and
     * Tandem has no vmcoreinfo device to give one: QEMU's words for a
     * guest without it. */
    if (ds->format == DUMP_GUEST_MEMORY_FORMAT_WIN_DMP) {
        error_setg(&ds->error, "win-dump: invalid vmcoreinfo note size");
        return;
    }
    ret = dump_write(ds, ds->header->data, ds->header->len, false);
    if (ret < 0) {
        error_setg_errno(&ds->error, -ret, "dump: failed to write elf "
                         "header");
        return;
    }
    dump_write_ram(ds, &ds->error);
}

/* ---- finish ---- */

/* Releases what the active dump held; the status stays as set. */
static void dump_release(DumpState *ds)
{
    if (ds->fd >= 0) {
        close(ds->fd);
        ds->fd = -1;
    }
    if (ds->ranges) {
        g_array_free(ds->ranges, TRUE);
        ds->ranges = NULL;
    }
    if (ds->header) {
        g_byte_array_free(ds->header, TRUE);
        ds->header = NULL;
    }
    migration_del_blocker(migration_current(), DUMP_MIGRATION_BLOCKER);
}

/* The guest runs again if the dump stopped it and nothing else changed
 * its state meanwhile. */
static void dump_resume_guest(DumpState *ds)
{
    if (ds->resume && runstate_get() == RUN_STATE_SAVE_VM) {
        vm_start();
    }
    ds->resume = false;
}

static void dump_finish(DumpState *ds)
{
    g_autoptr(DumpQueryResult) result = NULL;

    dump_release(ds);
    ds->status = ds->error ? DUMP_STATUS_FAILED : DUMP_STATUS_COMPLETED;
    result = dump_query(ds);
    trace_dump_end(DumpStatus_str(ds->status), result->completed,
                   result->total);
    qapi_event_send_dump_completed(result, ds->error
                                   ? error_get_pretty(ds->error) : NULL);
    dump_resume_guest(ds);
}

static void dump_finish_bh(void *opaque)
{
    DumpState *ds = opaque;

    /* dump_shutdown() may have joined the writer already. */
    if (!ds->thread) {
        return;
    }
    g_thread_join(ds->thread);
    ds->thread = NULL;
    dump_finish(ds);
    error_free(ds->error);
    ds->error = NULL;
}

static gpointer dump_thread(gpointer opaque)
{
    DumpState *ds = opaque;

    dump_write_file(ds);
    main_loop_schedule_bh(dump_finish_bh, ds);
    return NULL;
}

/* ---- start ---- */

bool dump_start(DumpState *ds, int fd, const DumpRequest *req, Error **errp)
{
    ERRP_GUARD();   /* *errp is read for the trace */
    struct stat st;

    g_assert(bql_locked());
    if (dump_in_progress(ds)) {
        error_setg(errp, "There is a dump in process, please wait.");
        close(fd);
        return false;
    }
    if (!migration_add_blocker(migration_current(), DUMP_MIGRATION_BLOCKER,
                               errp)) {
        close(fd);
        return false;
    }
    ds->fd = fd;
    ds->status = DUMP_STATUS_ACTIVE;
    ds->total = 0;
    ds->completed = 0;
    ds->cancel = 0;
    ds->format = req->format;
    if (!dump_prepare(ds, req, errp)) {
        trace_dump_refused(error_get_pretty(*errp));
        ds->status = DUMP_STATUS_FAILED;
        dump_release(ds);
        dump_resume_guest(ds);
        return false;
    }
    trace_dump_start(DumpGuestMemoryFormat_str(req->format), ds->total,
                     ds->ranges->len, req->detach);
    if (!req->detach) {
        dump_write_file(ds);
        dump_finish(ds);
        if (ds->error) {
            error_propagate(errp, ds->error);
            ds->error = NULL;
            return false;
        }
        return true;
    }
    /* A pipe or socket is made non-blocking so that the writer waits in
     * poll(), where dump_shutdown() can wake it. */
    if (fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    ds->thread = g_thread_new("dump", dump_thread, ds);
    return true;
}

void dump_shutdown(DumpState *ds)
{
    uint64_t one = 1;

    if (!ds->thread) {
        return;
    }
    __atomic_store_n(&ds->cancel, 1, __ATOMIC_RELAXED);
    if (write(ds->wake_fd, &one, sizeof(one)) < 0) {
        /* The counter cannot overflow from one write; nothing to do. */
    }
    bql_unlock();
    g_thread_join(ds->thread);
    bql_lock();
    ds->thread = NULL;
    /* At exit: no event, no resume; the file is left as far as it got. */
    ds->status = DUMP_STATUS_FAILED;
    dump_release(ds);
    error_free(ds->error);
    ds->error = NULL;
}
