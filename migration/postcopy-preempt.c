/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Postcopy's preempt channel (capability postcopy-preempt): a second
 * connection that carries requested pages only, so that a page a vCPU
 * waits for never queues behind background pages in the main stream's
 * socket buffers.
 *
 * Source: the thread that reads a page request (the return-path
 * listener) sends the pages itself on the preempt channel, at once; the
 * migration thread goes on with background pages on the main stream. A
 * page goes out once: both senders claim it by clearing its bit
 * atomically (ram_take_page), so a background run is cut at page
 * granularity wherever a request lands. At the end the source sends EOS
 * here, then postcopy-preempt-done on the main stream.
 *
 * Destination: a reader thread places the pages (postcopy_ram_place is
 * idempotent: a page that came on both channels, or that a fault placed
 * as zero meanwhile, is placed once, the second copy dropped).
 * postcopy-preempt-done on the main stream waits for the reader to reach
 * the channel's EOS, so no page of it is left unread when the load ends.
 *
 * Wire (docs/devel/migration-stream.md): be32 POSTCOPY_PREEMPT_MAGIC, be32
 * version 1 (the handshake naming the connection's role), then RAM page
 * records (ZERO or PAGE, guest-physical address) and an EOS record.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "ram-internal.h"
#include "util/bitmap.h"
#include "trace.h"

#define POSTCOPY_PREEMPT_MAGIC      0x54505245u     /* "TPRE" */
#define POSTCOPY_PREEMPT_VERSION    1u
/* How long postcopy-preempt-done waits for the channel to connect. */
#define POSTCOPY_PREEMPT_ATTACH_US  (30 * G_USEC_PER_SEC)

/* ---- source ---- */

void postcopy_preempt_send_header(QEMUFile *f)
{
    qemu_put_be32(f, POSTCOPY_PREEMPT_MAGIC);
    qemu_put_be32(f, POSTCOPY_PREEMPT_VERSION);
    qemu_fflush(f);
}

void postcopy_source_set_preempt(SaveVMState *s, QEMUFile *f)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (rs) {
        g_autoptr(GMutexLocker) locker =
            g_mutex_locker_new(&rs->preempt_lock);

        rs->preempt_f = f;
        rs->preempt_ended = false;
    }
}

void postcopy_preempt_source_close(RamMigrationState *rs)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&rs->preempt_lock);

    rs->preempt_f = NULL;
}

bool postcopy_preempt_active(RamMigrationState *rs)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&rs->preempt_lock);

    return rs->preempt_f != NULL;
}

/* One page record on the preempt channel; the guest is stopped here. */
static void postcopy_preempt_put_page(RamMigrationState *rs, QEMUFile *f,
                                      RamBlockMig *b, size_t page)
{
    uint64_t off = (uint64_t)page << GUEST_PAGE_SHIFT;
    const uint8_t *host = b->rb->host + off;

    /* Not ram_page_is_hole(): its extent cache is the migration
     * thread's. */
    if (ram_buffer_is_zero(host, GUEST_PAGE_SIZE)) {
        qemu_put_be64(f, (b->rb->gpa + off) | RAM_REC_ZERO);
        __atomic_add_fetch(&rs->pre_zero, 1, __ATOMIC_SEQ_CST);
        return;
    }
    qemu_put_be64(f, (b->rb->gpa + off) | RAM_REC_PAGE);
    qemu_put_buffer(f, host, GUEST_PAGE_SIZE);
    __atomic_add_fetch(&rs->pre_normal, 1, __ATOMIC_SEQ_CST);
}

bool postcopy_preempt_send(RamMigrationState *rs, uint32_t block,
                           size_t first, size_t npages, Error **errp)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&rs->preempt_lock);
    RamBlockMig *b = &rs->save_blocks[block];
    QEMUFile *f = rs->preempt_f;
    uint64_t start, sent = 0;

    __atomic_add_fetch(&rs->pre_requests, 1, __ATOMIC_SEQ_CST);
    if (!f || rs->preempt_ended) {
        return true;    /* late: every page went already */
    }
    start = qemu_file_transferred(f);
    for (size_t p = first; p < first + npages; p++) {
        /* A page already taken is on its way on either channel. */
        if (ram_take_page(rs, b, p)) {
            postcopy_preempt_put_page(rs, f, b, p);
            sent++;
        }
    }
    qemu_fflush(f);
    __atomic_add_fetch(&rs->pre_bytes, qemu_file_transferred(f) - start,
                       __ATOMIC_SEQ_CST);
    trace_postcopy_preempt_sent(b->rb->name,
                                (uint64_t)first << GUEST_PAGE_SHIFT, sent);
    if (qemu_file_get_error(f, errp)) {
        error_prepend(errp, "postcopy preempt channel: ");
        return false;
    }
    return true;
}

bool postcopy_source_preempt_end(SaveVMState *s, Error **errp)
{
    RamMigrationState *rs = ram_migration_state(s);
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&rs->preempt_lock);

    if (!rs->preempt_f) {
        return true;
    }
    rs->preempt_ended = true;
    qemu_put_be64(rs->preempt_f, RAM_REC_EOS);
    qemu_fflush(rs->preempt_f);
    if (qemu_file_get_error(rs->preempt_f, errp)) {
        error_prepend(errp, "postcopy preempt channel: ");
        return false;
    }
    return true;
}

/* ---- destination ---- */

static RamBlockMig *postcopy_preempt_find(RamMigrationState *rs,
                                          uint64_t gpa)
{
    for (unsigned i = 0; i < rs->nr_load_blocks; i++) {
        RamBlockMig *b = &rs->load_blocks[i];

        if (gpa >= b->rb->gpa && gpa - b->rb->gpa < b->rb->size) {
            return b;
        }
    }
    return NULL;
}

/* One record; *end at EOS. */
static bool postcopy_preempt_record(RamMigrationState *rs, QEMUFile *f,
                                    uint8_t *buf, bool *end, Error **errp)
{
    uint64_t rec = qemu_get_be64(f);
    uint64_t flags = rec & RAM_REC_FLAG_MASK;
    uint64_t gpa = rec & RAM_REC_ADDR_MASK;
    PostcopyRam *pc;
    RamBlockMig *b;

    if (qemu_file_get_error(f, NULL)) {
        error_setg(errp, "the channel ended before its end record");
        return false;
    }
    if (rec == RAM_REC_EOS) {
        *end = true;
        return true;
    }
    if (flags != RAM_REC_ZERO && flags != RAM_REC_PAGE) {
        error_setg(errp, "record 0x%016" PRIx64 " is not a page", rec);
        return false;
    }
    pc = __atomic_load_n(&rs->pc, __ATOMIC_SEQ_CST);
    if (!pc || __atomic_load_n(&rs->pc_state, __ATOMIC_SEQ_CST) !=
               POSTCOPY_INCOMING_RUNNING) {
        error_setg(errp, "page 0x%" PRIx64 " before postcopy-run", gpa);
        return false;
    }
    b = postcopy_preempt_find(rs, gpa);
    if (!b || gpa & (GUEST_PAGE_SIZE - 1)) {
        error_setg(errp, "page 0x%" PRIx64 " is not a page of guest RAM",
                   gpa);
        return false;
    }
    if (flags == RAM_REC_PAGE &&
        !qemu_get_buffer(f, buf, GUEST_PAGE_SIZE)) {
        error_setg(errp, "page 0x%" PRIx64 " is cut short", gpa);
        return false;
    }
    /* This channel answers requests, and each page goes once. */
    if (!postcopy_ram_is_requested(pc, gpa)) {
        error_setg(errp, "page 0x%" PRIx64 " was never requested", gpa);
        return false;
    }
    if (test_bit((gpa - b->rb->gpa) >> GUEST_PAGE_SHIFT, b->received)) {
        error_setg(errp, "page 0x%" PRIx64 " arrived twice after the switch",
                   gpa);
        return false;
    }
    /* Requested, so someone waits: a zero page is placed too. */
    if (!postcopy_ram_place(pc, gpa, flags == RAM_REC_PAGE ? buf : NULL,
                            NULL, errp)) {
        return false;
    }
    set_bit_atomic((gpa - b->rb->gpa) >> GUEST_PAGE_SHIFT, b->received);
    __atomic_add_fetch(&rs->pre_placed, 1, __ATOMIC_SEQ_CST);
    return true;
}

static gpointer postcopy_preempt_reader(gpointer opaque)
{
    RamMigrationState *rs = opaque;
    QEMUFile *f = rs->pre_in;
    uint32_t magic = qemu_get_be32(f);
    uint32_t version = qemu_get_be32(f);
    Error *err = NULL;
    uint8_t *buf = NULL;
    bool end = false;

    if (qemu_file_get_error(f, NULL)) {
        error_setg(&err, "postcopy preempt channel: no handshake");
    } else if (magic != POSTCOPY_PREEMPT_MAGIC ||
               version != POSTCOPY_PREEMPT_VERSION) {
        error_setg(&err, "postcopy preempt channel: the second connection "
                   "is not a preempt channel (header 0x%08" PRIx32
                   " version %" PRIu32 ")", magic, version);
    } else if (posix_memalign((void **)&buf, GUEST_PAGE_SIZE,
                              GUEST_PAGE_SIZE)) {
        error_setg(&err, "postcopy preempt channel: out of memory");
    }
    trace_postcopy_preempt_reader(err ? "refused" : "started");
    while (!err && !end) {
        if (!postcopy_preempt_record(rs, f, buf, &end, &err)) {
            error_prepend(&err, "postcopy preempt channel: ");
        }
    }
    free(buf);
    trace_postcopy_preempt_reader(err ? error_get_pretty(err) : "ended");
    rs->pre_err = err;
    /* A bad record (not a broken connection, which postcopy recovers
     * from) ends the load now: the vCPU waiting for a page that came
     * here would wait for nothing until postcopy-preempt-done. */
    if (err && !qemu_file_transport_failed(f)) {
        __atomic_store_n(&rs->pre_bad, true, __ATOMIC_SEQ_CST);
        if (rs->pre_error_fn) {
            rs->pre_error_fn(rs->pc_opaque);
        }
    }
    return NULL;
}

void postcopy_incoming_preempt_attach(SaveVMState *s, QEMUFile *f)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (!rs) {
        qemu_fclose(f);
        return;
    }
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&rs->pre_lock);

    if (rs->pre_in) {
        /* A third connection: not ours to read. */
        qemu_fclose(f);
        return;
    }
    rs->pre_in = f;
    rs->pre_err = NULL;
    rs->pre_bad = false;
    /* A recovered migration's new channel adds to the same count. */
    if (rs->pc_state != POSTCOPY_INCOMING_RUNNING) {
        rs->pre_placed = 0;
    }
    rs->pre_thread = g_thread_new("mig/preempt", postcopy_preempt_reader, rs);
    g_cond_broadcast(&rs->pre_cond);
}

/* Joins the reader and closes the channel; its error, if any, in *errp
 * (NULL: dropped). */
static bool postcopy_preempt_join(RamMigrationState *rs, Error **errp)
{
    GThread *t;
    QEMUFile *f;

    g_mutex_lock(&rs->pre_lock);
    t = rs->pre_thread;
    f = rs->pre_in;
    rs->pre_thread = NULL;
    g_mutex_unlock(&rs->pre_lock);
    if (!t) {
        return true;
    }
    g_thread_join(t);
    g_mutex_lock(&rs->pre_lock);
    rs->pre_in = NULL;
    g_mutex_unlock(&rs->pre_lock);
    qemu_fclose(f);
    if (rs->pre_err) {
        error_propagate(errp, rs->pre_err);
        rs->pre_err = NULL;
        return false;
    }
    return true;
}

LoadVMCommandResult postcopy_preempt_done_cmd(const uint8_t *data,
                                              uint16_t len, void *opaque,
                                              Error **errp)
{
    RamMigrationState *rs = opaque;
    int64_t deadline = g_get_monotonic_time() + POSTCOPY_PREEMPT_ATTACH_US;

    if (rs->pc_state != POSTCOPY_INCOMING_RUNNING) {
        error_setg(errp, "postcopy: command 'postcopy-preempt-done' in "
                   "state '%s' (expected 'running')",
                   postcopy_incoming_state_name(rs->pc_state));
        return LOADVM_CMD_ERROR;
    }
    g_mutex_lock(&rs->pre_lock);
    while (!rs->pre_thread &&
           g_cond_wait_until(&rs->pre_cond, &rs->pre_lock, deadline)) {
        /* woken: look again */
    }
    if (!rs->pre_thread) {
        g_mutex_unlock(&rs->pre_lock);
        error_setg(errp, "postcopy: the source ended a preempt channel that "
                   "never connected here (is postcopy-preempt set here?)");
        return LOADVM_CMD_ERROR;
    }
    g_mutex_unlock(&rs->pre_lock);
    /* The source sent the channel's EOS before this command. */
    return postcopy_preempt_join(rs, errp) ? LOADVM_CMD_CONTINUE
                                           : LOADVM_CMD_ERROR;
}

void postcopy_preempt_incoming_stop(RamMigrationState *rs)
{
    g_mutex_lock(&rs->pre_lock);
    if (rs->pre_in) {
        qemu_file_shutdown(rs->pre_in);
    }
    g_mutex_unlock(&rs->pre_lock);
    postcopy_preempt_join(rs, NULL);
}

void postcopy_incoming_on_preempt_error(SaveVMState *s, PostcopyListenFn *fn)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (rs) {
        rs->pre_error_fn = fn;
    }
}

bool postcopy_incoming_preempt_failed(SaveVMState *s, Error **errp)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (!rs || !__atomic_load_n(&rs->pre_bad, __ATOMIC_SEQ_CST)) {
        return false;
    }
    error_free(*errp);
    *errp = NULL;
    if (postcopy_preempt_join(rs, errp)) {
        error_setg(errp, "postcopy preempt channel: bad record");
    }
    return true;
}

uint64_t postcopy_incoming_preempt_pages(SaveVMState *s)
{
    RamMigrationState *rs = ram_migration_state(s);

    return rs ? __atomic_load_n(&rs->pre_placed, __ATOMIC_SEQ_CST) : 0;
}
