/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Postcopy's protocol on the RAM entry: the source's switch (last
 * harvest, discard list, listen) and its queue of requested pages that
 * ram_send_dirty() drains before background pages; the destination's
 * advise/listen/run commands, the discard records, page records placed
 * through userfaultfd, and page requests out of the fault thread. The
 * sequence, the state machine and the wire formats are drawn in
 * include/migration/postcopy.h.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "ram-internal.h"
#include "util/bitmap.h"
#include "trace.h"

/* Runs per DISCARD record, at most. */
#define POSTCOPY_DISCARD_RUNS   256

typedef struct PostcopyUrgent {
    uint32_t block;
    size_t page;
    size_t npages;
} PostcopyUrgent;

static const char *const postcopy_state_names[POSTCOPY_INCOMING__MAX] = {
    [POSTCOPY_INCOMING_NONE]        = "none",
    [POSTCOPY_INCOMING_ADVISED]     = "advised",
    [POSTCOPY_INCOMING_LISTENING]   = "listening",
    [POSTCOPY_INCOMING_RUNNING]     = "running",
};

const char *postcopy_incoming_state_name(PostcopyIncomingState st)
{
    return st < POSTCOPY_INCOMING__MAX ? postcopy_state_names[st] : "?";
}

static uint64_t pc_be64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void pc_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) {
        p[i] = v;
    }
}

static uint32_t pc_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void pc_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

/* ---- source ---- */

void postcopy_send_advise(QEMUFile *f)
{
    uint8_t d[16];

    pc_put_be64(d, GUEST_PAGE_SIZE);
    pc_put_be64(d + 8, GUEST_PAGE_SHIFT);
    savevm_send_command(f, SAVEVM_CMD_POSTCOPY_ADVISE, d, sizeof(d));
}

void postcopy_send_run(QEMUFile *f)
{
    savevm_send_command(f, SAVEVM_CMD_POSTCOPY_RUN, NULL, 0);
    qemu_fflush(f);
}

void postcopy_send_load(QEMUFile *f, uint32_t attempt)
{
    uint8_t d[4];

    pc_put_be32(d, attempt);
    savevm_send_command(f, SAVEVM_CMD_POSTCOPY_LOAD, d, sizeof(d));
    qemu_fflush(f);
}

typedef struct PostcopyRun {
    uint64_t offset, len;       /* bytes */
} PostcopyRun;

/* DISCARD records of one block's runs. */
static void postcopy_put_runs(QEMUFile *f, uint32_t block, const GArray *runs)
{
    for (guint i = 0; i < runs->len; i += POSTCOPY_DISCARD_RUNS) {
        guint n = MIN(runs->len - i, POSTCOPY_DISCARD_RUNS);

        qemu_put_be64(f, RAM_REC_DISCARD);
        qemu_put_be32(f, block);
        qemu_put_be32(f, n);
        for (guint j = i; j < i + n; j++) {
            const PostcopyRun *run = &g_array_index(runs, PostcopyRun, j);

            qemu_put_be64(f, run->offset);
            qemu_put_be64(f, run->len);
        }
    }
}

/* The discard list: every page still to send, in runs, block by block. */
static bool postcopy_put_discard(QEMUFile *f, void *opaque, Error **errp)
{
    RamMigrationState *rs = opaque;
    uint64_t pages = 0;

    for (unsigned i = 0; i < rs->nr_save_blocks; i++) {
        RamBlockMig *b = &rs->save_blocks[i];
        g_autoptr(GArray) runs = g_array_new(false, false,
                                             sizeof(PostcopyRun));
        size_t start = find_next_bit(b->bmap, b->pages, 0);

        while (start < b->pages) {
            size_t end = find_next_zero_bit(b->bmap, b->pages, start);
            PostcopyRun run = {
                .offset = (uint64_t)start << GUEST_PAGE_SHIFT,
                .len = (uint64_t)(end - start) << GUEST_PAGE_SHIFT,
            };

            g_array_append_val(runs, run);
            pages += end - start;
            start = find_next_bit(b->bmap, b->pages, end);
        }
        postcopy_put_runs(f, i, runs);
    }
    qemu_put_be64(f, RAM_REC_EOS);
    trace_postcopy_discard_sent(pages);
    return true;
}

bool postcopy_source_switch(SaveVMState *s, QEMUFile *f, Error **errp)
{
    RamMigrationState *rs = ram_migration_state(s);
    uint64_t start = qemu_file_transferred(f);

    if (!rs || !rs->saving) {
        error_setg(errp, "postcopy: no RAM migration to switch");
        return false;
    }
    /* The guest is stopped: this harvest is the last. */
    if (!ram_dirty_sync(rs, errp) ||
        !savevm_state_send_part(s, f, RAM_MIGRATION_IDSTR, 0,
                                postcopy_put_discard, rs, errp)) {
        return false;
    }
    /* Sent with the guest stopped, whatever the run state says. */
    rs->st.transferred += qemu_file_transferred(f) - start;
    rs->st.downtime_bytes += qemu_file_transferred(f) - start;
    __atomic_store_n(&rs->postcopy, true, __ATOMIC_SEQ_CST);
    savevm_send_command(f, SAVEVM_CMD_POSTCOPY_LISTEN, NULL, 0);
    qemu_fflush(f);
    ram_stats_publish(rs);
    return !qemu_file_get_error(f, errp);
}

void postcopy_source_unswitch(SaveVMState *s)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (!rs) {
        return;
    }
    /* Pages still marked go again in precopy; those sent for requests
     * are on the destination and were taken off the bitmap. */
    __atomic_store_n(&rs->postcopy, false, __ATOMIC_SEQ_CST);
    postcopy_urgent_clear(rs);
    ram_stats_publish(rs);
}

bool postcopy_source_request(SaveVMState *s, const uint8_t *data,
                             uint16_t len, Error **errp)
{
    RamMigrationState *rs = ram_migration_state(s);
    uint32_t block, rlen;
    uint64_t offset;
    RamBlockMig *b;
    PostcopyUrgent *u;

    if (len != POSTCOPY_REQ_LEN) {
        error_setg(errp, "postcopy: page request of %u bytes, expected %u",
                   len, POSTCOPY_REQ_LEN);
        return false;
    }
    block = pc_be32(data);
    offset = pc_be64(data + 4);
    rlen = pc_be32(data + 12);
    trace_postcopy_request_recv(block, offset, rlen);
    /* save_blocks lives from setup to cleanup; the return-path reader
     * is stopped before cleanup. */
    if (!rs || !rs->saving) {
        error_setg(errp, "postcopy: page request while no RAM is migrated");
        return false;
    }
    if (!__atomic_load_n(&rs->postcopy, __ATOMIC_SEQ_CST)) {
        error_setg(errp, "postcopy: page request (block %" PRIu32 " offset "
                   "0x%" PRIx64 ") before the switch to postcopy", block,
                   offset);
        return false;
    }
    if (block >= rs->nr_save_blocks) {
        error_setg(errp, "postcopy: page request for block %" PRIu32
                   ", but %u blocks are migrated", block, rs->nr_save_blocks);
        return false;
    }
    b = &rs->save_blocks[block];
    if ((offset | rlen) & (GUEST_PAGE_SIZE - 1) || !rlen ||
        rlen > POSTCOPY_MAX_REQUEST || offset >= b->rb->size ||
        rlen > b->rb->size - offset) {
        error_setg(errp, "postcopy: bad page request [0x%" PRIx64 ", +0x%"
                   PRIx32 ") of RAM block '%s' (0x%" PRIx64 " bytes; whole "
                   "pages inside it, at most 0x%x bytes)", offset, rlen,
                   b->rb->name, b->rb->size, POSTCOPY_MAX_REQUEST);
        return false;
    }
    /* With a preempt channel this thread sends the pages itself. */
    if (postcopy_preempt_active(rs)) {
        return postcopy_preempt_send(rs, block, offset >> GUEST_PAGE_SHIFT,
                                     rlen >> GUEST_PAGE_SHIFT, errp);
    }
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&rs->urgent_lock);

    if (rs->urgent.length >= POSTCOPY_MAX_QUEUED) {
        error_setg(errp, "postcopy: more than %u page requests outstanding",
                   POSTCOPY_MAX_QUEUED);
        return false;
    }
    u = g_new(PostcopyUrgent, 1);
    *u = (PostcopyUrgent) { .block = block,
                            .page = offset >> GUEST_PAGE_SHIFT,
                            .npages = rlen >> GUEST_PAGE_SHIFT };
    g_queue_push_tail(&rs->urgent, u);
    __atomic_add_fetch(&rs->urgent_pending, 1, __ATOMIC_SEQ_CST);
    g_cond_signal(&rs->urgent_cond);
    return true;
}

bool postcopy_source_wait_request(SaveVMState *s, int64_t deadline_us)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (!rs) {
        return false;
    }
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&rs->urgent_lock);

    while (!rs->urgent.length &&
           g_cond_wait_until(&rs->urgent_cond, &rs->urgent_lock,
                             deadline_us)) {
        /* woken: look again */
    }
    return rs->urgent.length > 0;
}

static bool postcopy_put_urgent(QEMUFile *f, void *opaque, Error **errp)
{
    RamMigrationState *rs = opaque;

    rs->period_sent += postcopy_send_urgent(rs, f);
    qemu_put_be64(f, RAM_REC_EOS);
    return true;
}

bool postcopy_source_send_urgent(SaveVMState *s, QEMUFile *f, Error **errp)
{
    RamMigrationState *rs = ram_migration_state(s);
    uint64_t start = qemu_file_transferred(f);
    bool ok;

    if (!rs || !__atomic_load_n(&rs->postcopy, __ATOMIC_SEQ_CST)) {
        error_setg(errp, "postcopy: not switched to postcopy");
        return false;
    }
    ok = savevm_state_send_part(s, f, RAM_MIGRATION_IDSTR, 0,
                                postcopy_put_urgent, rs, errp);
    ram_account(rs, qemu_file_transferred(f) - start);
    ram_stats_publish(rs);
    return ok;
}

static PostcopyUrgent *postcopy_urgent_pop(RamMigrationState *rs)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&rs->urgent_lock);
    PostcopyUrgent *u = g_queue_pop_head(&rs->urgent);

    if (u) {
        __atomic_sub_fetch(&rs->urgent_pending, 1, __ATOMIC_SEQ_CST);
    }
    return u;
}

uint64_t postcopy_send_urgent(RamMigrationState *rs, QEMUFile *f)
{
    uint64_t sent = 0;
    PostcopyUrgent *u;

    while ((u = postcopy_urgent_pop(rs))) {
        RamBlockMig *b = &rs->save_blocks[u->block];
        uint64_t before = sent;

        rs->st.postcopy_requests++;
        for (size_t p = u->page; p < u->page + u->npages; p++) {
            /* A page no longer marked went out already: it is on its
             * way and answers the request when it lands. */
            if (ram_take_page(rs, b, p)) {
                ram_send_page(rs, f, b, p);
                sent++;
            }
        }
        trace_postcopy_urgent_sent(b->rb->name, (uint64_t)u->page <<
                                   GUEST_PAGE_SHIFT, sent - before);
        g_free(u);
    }
    /* Nothing of it may wait in the buffer behind background pages. */
    qemu_fflush(f);
    return sent;
}

void postcopy_urgent_clear(RamMigrationState *rs)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&rs->urgent_lock);

    g_queue_clear_full(&rs->urgent, g_free);
    __atomic_store_n(&rs->urgent_pending, 0, __ATOMIC_SEQ_CST);
}

/* ---- destination ---- */

void postcopy_encode_request(uint8_t out[POSTCOPY_REQ_LEN], uint32_t block,
                             uint64_t offset, uint32_t len)
{
    pc_put_be32(out, block);
    pc_put_be64(out + 4, offset);
    pc_put_be32(out + 12, len);
}

static void postcopy_set_state(RamMigrationState *rs,
                               PostcopyIncomingState next)
{
    trace_postcopy_incoming_state(postcopy_incoming_state_name(rs->pc_state),
                                  postcopy_incoming_state_name(next));
    __atomic_store_n(&rs->pc_state, next, __ATOMIC_SEQ_CST);
}

static bool postcopy_expect_state(RamMigrationState *rs, const char *cmd,
                                  PostcopyIncomingState want, Error **errp)
{
    if (rs->pc_state != want) {
        error_setg(errp, "postcopy: command '%s' in state '%s' (expected "
                   "'%s')", cmd, postcopy_incoming_state_name(rs->pc_state),
                   postcopy_incoming_state_name(want));
        return false;
    }
    return true;
}

/* Sequentially consistent: pairs with the loader's (postcopy.h). */
static bool postcopy_received(RamBlockMig *b, size_t page)
{
    unsigned long w = __atomic_load_n(&b->received[page / BITS_PER_LONG],
                                      __ATOMIC_SEQ_CST);

    return w & (1UL << (page % BITS_PER_LONG));
}

/*
 * The fault thread needs the page (offset of rb). A page already
 * received and still missing is a zero page left as a hole: placed
 * here. Anything else is asked of the source.
 */
static void postcopy_fault_request(void *opaque, const RamBlock *rb,
                                   uint64_t offset, uint64_t len)
{
    RamMigrationState *rs = opaque;
    unsigned idx = rb - rs->mem->blocks;
    RamBlockMig *b = &rs->load_blocks[idx];
    uint8_t data[POSTCOPY_REQ_LEN];
    Error *err = NULL;

    if (postcopy_received(b, offset >> GUEST_PAGE_SHIFT)) {
        if (!postcopy_ram_place(rs->pc, rb->gpa + offset, NULL, NULL,
                                &err)) {
            trace_postcopy_request_failed(error_get_pretty(err));
            error_free(err);
        }
        return;
    }
    postcopy_encode_request(data, idx, offset, len);
    if (!rs->pc_send(rs->pc_opaque, data, &err)) {
        /* The return path is gone: the load fails on its own. */
        trace_postcopy_request_failed(error_get_pretty(err));
        error_free(err);
    }
}

static LoadVMCommandResult postcopy_advise_cmd(const uint8_t *data,
                                               uint16_t len, void *opaque,
                                               Error **errp)
{
    RamMigrationState *rs = opaque;
    uint64_t page_size = pc_be64(data), page_bits = pc_be64(data + 8);

    if (!postcopy_expect_state(rs, "postcopy-advise",
                               POSTCOPY_INCOMING_NONE, errp)) {
        return LOADVM_CMD_ERROR;
    }
    if (page_size != GUEST_PAGE_SIZE || page_bits != GUEST_PAGE_SHIFT) {
        error_setg(errp, "postcopy: the source's pages are %" PRIu64
                   " bytes (%" PRIu64 " bits), this destination's %llu",
                   page_size, page_bits, GUEST_PAGE_SIZE);
        return LOADVM_CMD_ERROR;
    }
    if (!postcopy_ram_supported(errp)) {
        return LOADVM_CMD_ERROR;
    }
    postcopy_set_state(rs, POSTCOPY_INCOMING_ADVISED);
    return LOADVM_CMD_CONTINUE;
}

static LoadVMCommandResult postcopy_listen_cmd(const uint8_t *data,
                                               uint16_t len, void *opaque,
                                               Error **errp)
{
    PostcopyRam *pc;
    RamMigrationState *rs = opaque;

    if (!postcopy_expect_state(rs, "postcopy-listen",
                               POSTCOPY_INCOMING_ADVISED, errp)) {
        return LOADVM_CMD_ERROR;
    }
    if (!rs->load_blocks || !rs->have_block_list) {
        error_setg(errp, "postcopy: command 'postcopy-listen' before the "
                   "RAM block list");
        return LOADVM_CMD_ERROR;
    }
    if (posix_memalign((void **)&rs->pc_buf, GUEST_PAGE_SIZE,
                       GUEST_PAGE_SIZE)) {
        error_setg(errp, "postcopy: out of memory");
        return LOADVM_CMD_ERROR;
    }
    memset(&rs->pc_stats, 0, sizeof(rs->pc_stats));
    pc = postcopy_ram_new(rs->mem, postcopy_fault_request, rs, errp);
    if (!pc) {
        return LOADVM_CMD_ERROR;
    }
    if (rs->pc_bt) {
        postcopy_ram_blocktime_enable(pc, rs->pc_bt_vcpus, rs->pc_bt_fn,
                                      rs->pc_bt_opaque);
    }
    g_mutex_lock(&rs->pc_lock);
    rs->pc = pc;
    g_mutex_unlock(&rs->pc_lock);
    /* Device state from here is for postcopy_run_cmd's callee. */
    loadvm_defer_devices_begin(rs->s);
    postcopy_set_state(rs, POSTCOPY_INCOMING_LISTENING);
    if (rs->pc_listen) {
        rs->pc_listen(rs->pc_opaque);
    }
    return LOADVM_CMD_CONTINUE;
}

static LoadVMCommandResult postcopy_run_cmd(const uint8_t *data,
                                            uint16_t len, void *opaque,
                                            Error **errp)
{
    RamMigrationState *rs = opaque;
    GByteArray *devices;

    if (!postcopy_expect_state(rs, "postcopy-run",
                               POSTCOPY_INCOMING_LISTENING, errp)) {
        return LOADVM_CMD_ERROR;
    }
    devices = loadvm_defer_devices_take(rs->s);
    postcopy_set_state(rs, POSTCOPY_INCOMING_RUNNING);
    if (rs->pc_run) {
        rs->pc_run(rs->pc_opaque, devices);
    } else {
        g_byte_array_unref(devices);
    }
    return LOADVM_CMD_CONTINUE;
}

/*
 * Strict switch (postcopy-load): the device state that came after listen
 * is handed to pc_load, which loads it on a thread of its own and pongs
 * the attempt; the vCPUs stay parked until postcopy-run. What comes
 * after is held again (nothing, from a well-behaved source), and loaded
 * at postcopy-run as usual.
 */
static LoadVMCommandResult postcopy_load_cmd(const uint8_t *data,
                                             uint16_t len, void *opaque,
                                             Error **errp)
{
    RamMigrationState *rs = opaque;
    GByteArray *devices;

    if (!postcopy_expect_state(rs, "postcopy-load",
                               POSTCOPY_INCOMING_LISTENING, errp)) {
        return LOADVM_CMD_ERROR;
    }
    if (!rs->pc_load) {
        error_setg(errp, "postcopy: command 'postcopy-load' but this "
                   "destination has no strict switch");
        return LOADVM_CMD_ERROR;
    }
    devices = loadvm_defer_devices_take(rs->s);
    loadvm_defer_devices_begin(rs->s);
    return rs->pc_load(rs->pc_opaque, devices, pc_be32(data), errp) ?
           LOADVM_CMD_CONTINUE : LOADVM_CMD_ERROR;
}

bool postcopy_incoming_unlisten_ok(SaveVMState *s, Error **errp)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (!rs || rs->pc_state != POSTCOPY_INCOMING_LISTENING) {
        error_setg(errp, "postcopy: switchover-abort in postcopy state "
                   "'%s' (expected 'listening')",
                   postcopy_incoming_state_name(rs ? rs->pc_state :
                                                POSTCOPY_INCOMING_NONE));
        return false;
    }
    return true;
}

bool postcopy_incoming_unlisten(SaveVMState *s, Error **errp)
{
    RamMigrationState *rs = ram_migration_state(s);
    GByteArray *held;

    if (!postcopy_incoming_unlisten_ok(s, errp)) {
        return false;
    }
    held = loadvm_defer_devices_take(rs->s);
    if (held) {
        g_byte_array_unref(held);
    }
    /* Unregistered: pages are plain writes again. Discarded pages stay
     * holes without their received bit, and the source still has them
     * marked: precopy sends them again. */
    g_mutex_lock(&rs->pc_lock);
    postcopy_ram_stats(rs->pc, &rs->pc_stats);
    postcopy_ram_free(rs->pc);
    rs->pc = NULL;
    g_mutex_unlock(&rs->pc_lock);
    free(rs->pc_buf);
    rs->pc_buf = NULL;
    postcopy_set_state(rs, POSTCOPY_INCOMING_ADVISED);
    return true;
}

void postcopy_incoming_on_load(SaveVMState *s, PostcopyLoadFn *fn)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (rs) {
        rs->pc_load = fn;
    }
}

bool postcopy_load_discard(RamMigrationState *rs, QEMUFile *f, Error **errp)
{
    uint32_t block = qemu_get_be32(f);
    uint32_t n = qemu_get_be32(f);
    RamBlockMig *b;

    if (!ram_load_stream_ok(f, errp)) {
        return false;
    }
    if (rs->pc_state != POSTCOPY_INCOMING_ADVISED) {
        error_setg(errp, "ram: discard record in postcopy state '%s' "
                   "(only between postcopy-advise and postcopy-listen)",
                   postcopy_incoming_state_name(rs->pc_state));
        return false;
    }
    if (!rs->have_block_list) {
        error_setg(errp, "ram: discard record before the block list");
        return false;
    }
    if (block >= rs->nr_load_blocks) {
        error_setg(errp, "ram: discard record for block %" PRIu32 ", but "
                   "there are %u", block, rs->nr_load_blocks);
        return false;
    }
    if (!n || n > POSTCOPY_DISCARD_RUNS) {
        error_setg(errp, "ram: discard record with %" PRIu32 " runs (1 to "
                   "%u allowed)", n, POSTCOPY_DISCARD_RUNS);
        return false;
    }
    b = &rs->load_blocks[block];
    for (uint32_t i = 0; i < n; i++) {
        uint64_t offset = qemu_get_be64(f);
        uint64_t len = qemu_get_be64(f);

        if (!ram_load_stream_ok(f, errp)) {
            return false;
        }
        if (!postcopy_ram_discard(b->rb, offset, len, errp)) {
            error_prepend(errp, "ram: discard record: ");
            return false;
        }
        /* What we had is stale: a fault must ask the source. */
        bitmap_clear(b->received, offset >> GUEST_PAGE_SHIFT,
                     len >> GUEST_PAGE_SHIFT);
        b->extent = (RamExtent) { 0 };
    }
    return true;
}

bool postcopy_load_page(RamMigrationState *rs, RamBlockMig *b, QEMUFile *f,
                        uint64_t gpa, bool zero, Error **errp)
{
    size_t page = (gpa - b->rb->gpa) >> GUEST_PAGE_SHIFT;

    /* After the switch each page goes once (postcopy.h): a second copy
     * is a confused or hostile source, and which copy is right unknown. */
    if (postcopy_received(b, page)) {
        error_setg(errp, "postcopy: page 0x%" PRIx64 " arrived twice after "
                   "the switch", gpa);
        return false;
    }
    if (zero) {
        /* Left a hole (see postcopy.h): placed only if someone asked. */
        set_bit_atomic(page, b->received);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (postcopy_ram_is_requested(rs->pc, gpa) &&
            !postcopy_ram_place(rs->pc, gpa, NULL, NULL, errp)) {
            return false;
        }
        rs->load_zero++;
        rs->load_pages++;
        return true;
    }
    if (!qemu_get_buffer(f, rs->pc_buf, GUEST_PAGE_SIZE)) {
        return ram_load_stream_ok(f, errp);
    }
    if (!postcopy_ram_place(rs->pc, gpa, rs->pc_buf, NULL, errp)) {
        return false;
    }
    set_bit_atomic(page, b->received);
    rs->load_pages++;
    return true;
}

void postcopy_load_reset(RamMigrationState *rs)
{
    if (rs->pc) {
        g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&rs->pc_lock);

        postcopy_ram_stats(rs->pc, &rs->pc_stats);
        if (rs->pc_bt) {
            g_free(rs->pc_bt_last.vcpu_us);
            postcopy_ram_blocktime_info(rs->pc, &rs->pc_bt_last);
        }
        postcopy_ram_free(rs->pc);
        rs->pc = NULL;
    }
    free(rs->pc_buf);
    rs->pc_buf = NULL;
    if (rs->pc_state != POSTCOPY_INCOMING_NONE) {
        postcopy_set_state(rs, POSTCOPY_INCOMING_NONE);
    }
}

bool postcopy_incoming_setup(SaveVMState *s, PostcopyRequestSendFn *send_fn,
                             PostcopyRunFn *run_fn, void *opaque,
                             Error **errp)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (!rs) {
        error_setg(errp, "postcopy: no RAM entry to migrate into");
        return false;
    }
    rs->pc_send = send_fn;
    rs->pc_run = run_fn;
    rs->pc_listen = NULL;
    rs->pc_load = NULL;
    rs->pre_error_fn = NULL;
    rs->pc_opaque = opaque;
    loadvm_set_command_handler(s, SAVEVM_CMD_POSTCOPY_ADVISE,
                               postcopy_advise_cmd, rs);
    loadvm_set_command_handler(s, SAVEVM_CMD_POSTCOPY_LISTEN,
                               postcopy_listen_cmd, rs);
    loadvm_set_command_handler(s, SAVEVM_CMD_POSTCOPY_RUN,
                               postcopy_run_cmd, rs);
    loadvm_set_command_handler(s, SAVEVM_CMD_POSTCOPY_LOAD,
                               postcopy_load_cmd, rs);
    loadvm_set_command_handler(s, SAVEVM_CMD_POSTCOPY_PREEMPT_DONE,
                               postcopy_preempt_done_cmd, rs);
    return true;
}

bool postcopy_incoming_load_devices(SaveVMState *s, const GByteArray *devices,
                                    Error **errp)
{
    g_autoptr(QEMUFile) f = qemu_file_new_mem_input(devices->data,
                                                    devices->len, 0);

    if (!loadvm_load_device_blob(s, f, errp)) {
        error_prepend(errp, "postcopy: device state: ");
        return false;
    }
    return true;
}

void postcopy_incoming_set_blocktime(SaveVMState *s, bool on,
                                     unsigned nr_vcpus, PostcopyVcpuOfFn *fn,
                                     void *opaque)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (rs) {
        rs->pc_bt = on;
        rs->pc_bt_vcpus = nr_vcpus;
        rs->pc_bt_fn = fn;
        rs->pc_bt_opaque = opaque;
    }
}

bool postcopy_incoming_blocktime(SaveVMState *s, PostcopyBlocktimeInfo *out)
{
    RamMigrationState *rs = ram_migration_state(s);

    memset(out, 0, sizeof(*out));
    if (!rs) {
        return false;
    }
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&rs->pc_lock);

    if (rs->pc) {
        postcopy_ram_blocktime_info(rs->pc, out);
        return out->vcpu_us != NULL;
    }
    if (!rs->pc_bt_last.vcpu_us) {
        return false;
    }
    *out = rs->pc_bt_last;
    out->vcpu_us = g_memdup2(rs->pc_bt_last.vcpu_us,
                             sizeof(uint64_t) * (out->nr_vcpus ?: 1));
    return true;
}

void postcopy_incoming_on_listen(SaveVMState *s, PostcopyListenFn *fn)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (rs) {
        rs->pc_listen = fn;
    }
}

PostcopyIncomingState postcopy_incoming_state(SaveVMState *s)
{
    RamMigrationState *rs = ram_migration_state(s);

    return rs ? rs->pc_state : POSTCOPY_INCOMING_NONE;
}

void postcopy_incoming_stats(SaveVMState *s, PostcopyRamStats *out)
{
    RamMigrationState *rs = ram_migration_state(s);

    memset(out, 0, sizeof(*out));
    if (!rs) {
        return;
    }
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&rs->pc_lock);

    if (rs->pc) {
        postcopy_ram_stats(rs->pc, out);
    } else {
        *out = rs->pc_stats;
    }
}
