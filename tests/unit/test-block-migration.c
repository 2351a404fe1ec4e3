/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Migration with a disk on shared storage, both sides in one process, no
 * KVM: this process's migration object migrates (plain precopy, over a
 * socketpair) into a second one's real incoming side, and each hands
 * over its own node graph of one qcow2 file (migration_set_block_nodes):
 * "src" on the source, "dst" opened inactive on the destination, as
 * -incoming opens it.
 *
 * The source's "disk device" has a write in flight when the guest stops
 * (started by the run-state change) and drains it in pre_save, as
 * virtio-blk does; the destination read the image before the migration,
 * so its qcow2 caches are stale unless activation reloads them.
 *
 * - completed (and the destination's NICs announce the guest's new
 *   place): the source's file node was flushed at switchover, the
 *   source's nodes are inactive (and refuse writes), the destination's
 *   active: it reads every write including the one in flight at the
 *   stop, and allocates without clobbering; qemu-img check clean.
 * - late-block-activate on a destination started as with -S: its nodes
 *   stay inactive after completion until `cont` (qmp_cont) takes them.
 * - failed after the switchover (the destination cannot load a device):
 *   the source takes its disk back before its guest resumes, and can
 *   write; the destination never activated. Registered last: the failed
 *   destination scheduled the process's exit on the main loop.
 *
 * Not here: x-strict-downtime. Its source holds the BQL from the stop to
 * the go while the destination needs it to load; one process has one
 * BQL, so the two sides would wait on each other until the deadline.
 */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>
#include "block/activation.h"
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block-test-util.h"
#include "migration/migration.h"
#include "migration/ram.h"
#include "migration/savevm.h"
#include "monitor/monitor.h"
#include "net/net.h"
#include "qapi/qapi-commands.h"
#include "system/memory.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "watchdog.h"
#include "../../migration/migration-internal.h"

#define RAM_SIZE        (1024 * 1024ULL)
#define CLUSTER         (64 * 1024)
#define MIB             (1024 * 1024ULL)
#define TEST_TIMEOUT_S  60

/* The source's disk device, or the destination's copy of its state. */
typedef struct Disk {
    BlockBackend *blk;          /* source only */
    uint32_t records;           /* migrated: what the guest wrote */
    bool fail_load;             /* destination: post_load refuses */
    bool write_at_stop;         /* source: a request in flight at stop */
    uint8_t *inflight_buf;
    struct iovec inflight_iov;
    BlockIov inflight_qiov;
    int inflight_ret;           /* 1 while in flight */
    bool src_active_at_save;    /* pre_save saw the node still active */
    uint64_t flushes_at_save;   /* the file node's, after the pre-flush */
} Disk;

static Disk *stop_disk;         /* the run-state notifier's */

static uint64_t flushes(BlockDriverState *bs)
{
    BlockAcctStats st;

    block_acct_snapshot(&bs->stats, &st);
    return st.nr_ops[BLOCK_ACCT_FLUSH];
}

static void inflight_done(void *opaque, int ret, const Error *err)
{
    Disk *d = opaque;

    d->inflight_ret = ret;
}

/* The guest's last write is still in flight when its vCPUs stop. */
static void disk_runstate(RunState old, RunState next, void *opaque)
{
    Disk *d = stop_disk;

    if (!d || !d->write_at_stop || next != RUN_STATE_FINISH_MIGRATE) {
        return;
    }
    d->write_at_stop = false;
    d->inflight_buf = g_malloc(CLUSTER);
    memset(d->inflight_buf, 0x77, CLUSTER);
    block_iov_init_buf(&d->inflight_qiov, &d->inflight_iov, d->inflight_buf,
                       CLUSTER);
    d->inflight_ret = 1;
    d->records++;
    blk_aio_pwritev(d->blk, 8 * MIB, &d->inflight_qiov, 0, inflight_done, d);
}

static bool disk_pre_save(void *opaque, Error **errp)
{
    Disk *d = opaque;

    if (d->blk) {
        blk_drain(d->blk);
        d->src_active_at_save = bdrv_is_active(blk_bs(d->blk));
        d->flushes_at_save = flushes(bdrv_file_bs(blk_bs(d->blk)));
    }
    return true;
}

static bool disk_post_load(void *opaque, int version_id, Error **errp)
{
    Disk *d = opaque;

    if (d->fail_load) {
        error_setg(errp, "disk: refused by the test");
        return false;
    }
    return true;
}

static const VMStateDescription vmstate_disk = {
    .name = "disk",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = disk_pre_save,
    .post_load = disk_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(records, Disk),
        VMSTATE_END_OF_LIST()
    },
};

typedef struct Run {
    char *img;
    GuestMemory src_mem, dst_mem;
    MigrationState *dst;
    BlockDriverState *src, *dstn;
    Disk src_disk, dst_disk;
} Run;

/*
 * Both sides open the one image, as two processes on shared storage do;
 * their image locks (locking=auto) see each other as two processes' would.
 */
static BlockDriverState *open_node(const char *name, const char *path,
                                   bool active, const char *locking)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"qcow2\",\"node-name\":\"%s\",\"active\":%s,"
        "\"file\":{\"driver\":\"file\",\"node-name\":\"%s-file\","
        "\"filename\":\"%s\",\"locking\":\"%s\"}}", name,
        active ? "true" : "false", name, path, locking);

    return bt_open(json);
}

static void write_fill(BlockBackend *blk, BlockDriverState *bs,
                       uint64_t off, int c, Error **errp, int expect)
{
    g_autofree uint8_t *buf = g_malloc(CLUSTER);

    memset(buf, c, CLUSTER);
    if (blk) {
        g_assert_cmpint(blk_pwrite(blk, off, CLUSTER, buf, 0, errp), ==,
                        expect);
    } else {
        g_assert_cmpint(bdrv_pwrite(bs, off, CLUSTER, buf, 0, errp), ==,
                        expect);
    }
}

static void check_fill(BlockDriverState *bs, uint64_t off, int c)
{
    g_autofree uint8_t *buf = g_malloc(CLUSTER);

    g_assert_cmpint(bdrv_pread(bs, off, CLUSTER, buf, &error_abort), ==, 0);
    for (size_t i = 0; i < CLUSTER; i++) {
        if (buf[i] != c) {
            g_error("node '%s' offset %" G_GUINT64_FORMAT ": byte 0x%02x, "
                    "expected 0x%02x", bdrv_get_node_name(bs), off + i,
                    buf[i], c);
        }
    }
}

static void set_cap(MigrationState *s, MigrationCapability cap, bool on)
{
    MigrationCapabilityStatus v = { .capability = cap, .state = on };
    MigrationCapabilityStatusList l = { .value = &v };

    g_assert_true(migration_set_capabilities(s, &l, &error_abort));
}

static void run_init(Run *r, const char *name,
                     const char *src_locking)
{
    static const char *const src_nodes[] = { "src", NULL };
    static const char *const dst_nodes[] = { "dst", NULL };
    g_autofree char *out = NULL;

    memset(r, 0, sizeof(*r));
    r->img = bt_path(name);
    if (bt_qemu_img(&out, "create -q -f qcow2 '%s' 64M", r->img) != 0) {
        g_error("qemu-img create failed: %s", out);
    }
    g_assert_nonnull(guest_memory_add_ram(&r->src_mem, "pc.ram", 0,
                                          RAM_SIZE, &error_abort));
    g_assert_nonnull(guest_memory_add_ram(&r->dst_mem, "pc.ram", 0,
                                          RAM_SIZE, &error_abort));
    r->dst = migration_new();
    g_assert_true(ram_migration_register(savevm_default(), &r->src_mem, NULL,
                                         &error_abort));
    g_assert_true(ram_migration_register(r->dst->vmstate, &r->dst_mem, NULL,
                                         &error_abort));
    /* The source's guest wrote its disk; the destination (-incoming)
     * opened the same image inactive and read it. */
    r->src = open_node("src", r->img, true, src_locking);
    r->src_disk.blk = blk_new(NULL, r->src, true, false, &error_abort);
    write_fill(r->src_disk.blk, NULL, 0, 0x11, &error_abort, 0);
    r->dstn = open_node("dst", r->img, false, "auto");
    check_fill(r->dstn, 0, 0x11);
    check_fill(r->dstn, 8 * MIB, 0);
    check_fill(r->dstn, 16 * MIB, 0);
    /* The guest writes on after the destination read. */
    write_fill(r->src_disk.blk, NULL, 16 * MIB, 0x22, &error_abort, 0);
    r->src_disk.records = 2;
    migration_set_block_nodes(migration_current(), src_nodes);
    migration_set_block_nodes(r->dst, dst_nodes);
    g_assert_true(savevm_register(savevm_default(), "disk", 0,
                                  &vmstate_disk, &r->src_disk,
                                  &error_abort));
    g_assert_true(savevm_register(r->dst->vmstate, "disk", 0,
                                  &vmstate_disk, &r->dst_disk,
                                  &error_abort));
    stop_disk = &r->src_disk;
    {
        BQL_LOCK_GUARD();

        vm_start();
    }
}

static void run_free(Run *r)
{
    {
        BQL_LOCK_GUARD();

        migration_incoming_shutdown(r->dst->incoming);
    }
    stop_disk = NULL;
    savevm_unregister(savevm_default(), "disk", 0);
    savevm_unregister(r->dst->vmstate, "disk", 0);
    ram_migration_unregister(savevm_default());
    ram_migration_unregister(r->dst->vmstate);
    migration_set_block_nodes(migration_current(), NULL);
    migration_free(r->dst);
    {
        BQL_LOCK_GUARD();

        blk_unref(r->src_disk.blk);
        bdrv_unref(r->src);
        bdrv_unref(r->dstn);
    }
    g_free(r->src_disk.inflight_buf);
    guest_memory_free(&r->src_mem);
    guest_memory_free(&r->dst_mem);
}

static bool status_final(MigrationStatus st)
{
    return st == MIGRATION_STATUS_COMPLETED ||
           st == MIGRATION_STATUS_FAILED ||
           st == MIGRATION_STATUS_CANCELLED;
}

/* Runs the migration to its end on both sides; main_loop: spin the main
 * loop meanwhile (not after a failed load: its exit is scheduled there). */
static void run_migrate(Run *r, MigrationStatus *src, MigrationStatus *dst,
                        bool main_loop)
{
    g_autofree char *src_uri = NULL, *dst_uri = NULL;
    int64_t deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    dst_uri = g_strdup_printf("fd:%d", sv[1]);
    src_uri = g_strdup_printf("fd:%d", sv[0]);
    g_assert_true(migration_incoming_start_uri(r->dst->incoming, dst_uri,
                                               false, &error_abort));
    qmp_migrate(src_uri, false, false, false, false, &error_abort);
    *src = *dst = MIGRATION_STATUS_NONE;
    while (!status_final(*src) || !status_final(*dst)) {
        g_autoptr(MigrationInfo) si = qmp_query_migrate(&error_abort);

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        *src = si->status;
        *dst = migration_incoming_status(r->dst->incoming);
        while (main_loop &&
               g_main_context_iteration(main_loop_context(), false)) {
            /* again */
        }
        g_usleep(1000);
    }
    close(sv[0]);
    close(sv[1]);
}

/* A NIC that counts the announcements asked of it. */
static unsigned nic_announced;

static ssize_t nic_receive(NetClientState *nc, const struct iovec *iov,
                           int iovcnt)
{
    ssize_t len = 0;

    for (int i = 0; i < iovcnt; i++) {
        len += iov[i].iov_len;
    }
    return len;
}

static void nic_announce(NetClientState *nc)
{
    nic_announced++;
}

static const NetClientInfo counting_nic = {
    .kind = NET_CLIENT_KIND_NIC,
    .receive_iov = nic_receive,
    .announce = nic_announce,
};

static void test_completed(void)
{
    NetClientState *nic = net_client_new(&counting_nic, NULL, "test-nic",
                                         "nic0", NULL, &error_abort);
    MigrationStatus src, dst;
    uint64_t file_flushes;
    Error *err = NULL;
    Run r;

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    run_init(&r, "completed.qcow2", "auto");
    r.src_disk.write_at_stop = true;
    file_flushes = flushes(bdrv_file_bs(r.src));
    nic_announced = 0;
    /* The destination's announce-*: one round at once, the next 1 ms
     * later, no third (QMP sets them on this process's current migration
     * object, the source here; test_announce_parameters tests that). */
    r.dst->opts.announce[0] = 1;
    r.dst->opts.announce[2] = 2;
    run_migrate(&r, &src, &dst, true);
    g_assert_cmpint(src, ==, MIGRATION_STATUS_COMPLETED);
    g_assert_cmpint(dst, ==, MIGRATION_STATUS_COMPLETED);
    /* The destination's guest runs: its NICs announced it, round after
     * round as announce-rounds says. */
    {
        gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

        while (nic_announced < 2 && g_get_monotonic_time() < deadline) {
            g_main_context_iteration(main_loop_context(), true);
        }
        /* No third round: the defaults (5 rounds) would send one within
         * about 150 ms. */
        deadline = g_get_monotonic_time() + 400 * 1000;
        while (g_get_monotonic_time() < deadline) {
            g_main_context_iteration(main_loop_context(), false);
            g_usleep(1000);
        }
    }
    g_assert_cmpuint(nic_announced, ==, 2);
    net_client_free(nic);
    /* The request in flight at the stop was drained before the hand-over,
     * and the hand-over came after the devices' state. */
    g_assert_cmpint(r.src_disk.inflight_ret, ==, 0);
    g_assert_true(r.src_disk.src_active_at_save);
    g_assert_cmpuint(r.dst_disk.records, ==, 3);
    /* Source: flushed at switchover (after the guest stopped and the
     * devices drained: not only the pre-flush), then inactive. */
    g_assert_cmpuint(flushes(bdrv_file_bs(r.src)), >, file_flushes);
    g_assert_cmpuint(flushes(bdrv_file_bs(r.src)), >,
                     r.src_disk.flushes_at_save);
    g_assert_cmpint(migration_current()->block.flush_us, >, 0);
    g_assert_false(bdrv_is_active(r.src));
    g_assert_false(bdrv_is_active(bdrv_file_bs(r.src)));
    write_fill(r.src_disk.blk, NULL, 24 * MIB, 0x99, &err, -EPERM);
    g_assert_nonnull(strstr(error_get_pretty(err), "node 'src'"));
    error_free(err);
    /* Destination: active, and it sees everything the source wrote. */
    g_assert_true(bdrv_is_active(r.dstn));
    check_fill(r.dstn, 0, 0x11);
    check_fill(r.dstn, 16 * MIB, 0x22);
    check_fill(r.dstn, 8 * MIB, 0x77);
    write_fill(NULL, r.dstn, 32 * MIB, 0x33, &error_abort, 0);
    check_fill(r.dstn, 16 * MIB, 0x22);
    check_fill(r.dstn, 8 * MIB, 0x77);
    run_free(&r);
    bt_qemu_img_check(r.img);
    g_free(r.img);
    test_watchdog_disarm();
}

/* announce-*: QMP and HMP, checked as announce-self's parameters. */
static void test_announce_parameters(void)
{
    MigrateSetParameters bad = {
        .has_announce_max = true, .announce_max = 100001,
    };
    Error *err = NULL;
    g_autofree char *set = NULL, *info = NULL;

    qmp_migrate_set_parameters(&bad, &err);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "announce parameters out of range: initial and max "
                    "1..100000 ms, rounds 1..1000, step 0..10000 ms");
    error_free(err);
    set = hmp_run_command("migrate_set_parameter announce-step 20",
                          &error_abort);
    g_assert_cmpstr(set, ==, "");
    info = hmp_run_command("info migrate_parameters", &error_abort);
    g_assert_nonnull(strstr(info, "announce-step: 20 ms"));
    g_assert_nonnull(strstr(info, "announce-max: 550 ms"));
    {
        g_autoptr(MigrationParameters) p =
            qmp_query_migrate_parameters(&error_abort);

        g_assert_cmpuint(p->announce_step, ==, 20);
        g_assert_cmpuint(p->announce_rounds, ==, 5);
    }
}

/* With -S and late-block-activate the destination's disk waits for cont. */
static void test_late_block_activate(void)
{
    MigrationStatus src, dst;
    Run r;

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    /*
     * `cont` activates every node of the process, the source's too, which
     * image locking rightly refuses while the destination holds the
     * image: two processes never share one `cont`. The source's node does
     * without locks here.
     */
    run_init(&r, "late.qcow2", "off");
    set_cap(r.dst, MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE, true);
    run_migrate(&r, &src, &dst, true);
    g_assert_cmpint(src, ==, MIGRATION_STATUS_COMPLETED);
    g_assert_cmpint(dst, ==, MIGRATION_STATUS_COMPLETED);
    g_assert_false(bdrv_is_active(r.src));
    g_assert_false(bdrv_is_active(r.dstn));
    {
        BQL_LOCK_GUARD();

        /* One run state for both sides here: the source's postmigrate
         * came after the destination's paused. cont takes every disk
         * (in one process, the source's too). */
        g_assert_cmpint(runstate_get(), ==, RUN_STATE_POSTMIGRATE);
        qmp_cont(&error_abort);
        g_assert_cmpint(runstate_get(), ==, RUN_STATE_RUNNING);
    }
    g_assert_true(bdrv_is_active(r.dstn));
    check_fill(r.dstn, 16 * MIB, 0x22);
    write_fill(NULL, r.dstn, 32 * MIB, 0x33, &error_abort, 0);
    set_cap(r.dst, MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE, false);
    run_free(&r);
    bt_qemu_img_check(r.img);
    g_free(r.img);
    test_watchdog_disarm();
}

/* The destination fails after the source handed its disk over. */
static void test_failed(void)
{
    MigrationStatus src, dst;
    uint64_t file_flushes;
    Run r;

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    run_init(&r, "failed.qcow2", "auto");
    r.dst_disk.fail_load = true;
    file_flushes = flushes(bdrv_file_bs(r.src));
    run_migrate(&r, &src, &dst, false);
    g_assert_cmpint(src, ==, MIGRATION_STATUS_FAILED);
    g_assert_cmpint(dst, ==, MIGRATION_STATUS_FAILED);
    /* It was handed over (flushed) before the failure... */
    g_assert_cmpuint(flushes(bdrv_file_bs(r.src)), >, file_flushes);
    /* ...and taken back before the guest resumed here. */
    {
        BQL_LOCK_GUARD();

        g_assert_cmpint(runstate_get(), ==, RUN_STATE_RUNNING);
    }
    g_assert_true(bdrv_is_active(r.src));
    g_assert_true(bdrv_is_active(bdrv_file_bs(r.src)));
    write_fill(r.src_disk.blk, NULL, 24 * MIB, 0x44, &error_abort, 0);
    check_fill(r.src, 16 * MIB, 0x22);
    check_fill(r.src, 24 * MIB, 0x44);
    g_assert_false(bdrv_is_active(r.dstn));
    run_free(&r);
    bt_qemu_img_check(r.img);
    g_free(r.img);
    test_watchdog_disarm();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    main_loop_init();
    monitor_init_globals();
    runstate_add_change_notifier(disk_runstate, NULL);
    if (!bt_have_qemu_img()) {
        /* The peer is a declared dependency (scripts/install-deps.sh). */
        g_printerr("qemu-img not found: install qemu-utils\n");
        return 1;
    }
    g_test_add_func("/block-migration/completed", test_completed);
    g_test_add_func("/block-migration/announce-parameters",
                    test_announce_parameters);
    g_test_add_func("/block-migration/late-block-activate",
                    test_late_block_activate);
    /* Last: see there. */
    g_test_add_func("/block-migration/failed", test_failed);
    return g_test_run();
}
