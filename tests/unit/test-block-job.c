/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Block jobs in-process (no /dev/kvm), over the in-process QMP client:
 * the job core's state machine with a scripted test job (every status,
 * the verbs each one refuses, the events and their order), and the
 * mirror: raw and qcow2 sources with guest-like asynchronous writes
 * racing the copy and the switch (the target checked byte for byte,
 * qemu-img check and compare), sync=top/full/none, the soft cancel of a
 * ready mirror, zeroes written over data already copied, an NBD target
 * (qemu-nbd) that dies mid-copy, bad arguments, a target to create that
 * another process holds (refused, left whole), and HMP's commands.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "qmp-test-client.h"
#include "block-test-util.h"
#include "block-job-test-util.h"
#include "block/block_int.h"
#include "block/permission.h"
#include "block/blockdev.h"
#include "block/job.h"
#include "util/main-loop.h"
#include "util/trace.h"

/* ---- the job core, with a scripted job ---- */

typedef struct TestJob {
    Job common;
    int go_ready;           /* atomic: the run moves to ready */
    int finish;             /* atomic: the run returns fail_ret */
    int fail_ret;
    bool completed;         /* complete() was called (BQL) */
    bool committed, aborted, cleaned;
} TestJob;

static int test_job_run(Job *job, Error **errp)
{
    TestJob *t = (TestJob *)job;

    job_progress_set_remaining(job, 100);
    while (!job_is_cancelled(job) && !g_atomic_int_get(&t->finish)) {
        if (g_atomic_int_compare_and_exchange(&t->go_ready, 1, 0)) {
            job_progress_update(job, 100);
            job_transition_to_ready(job);
        }
        job_sleep_ns(job, 1000 * 1000);
    }
    if (job_is_cancelled(job)) {
        return -ECANCELED;
    }
    if (t->fail_ret) {
        error_setg_errno(errp, -t->fail_ret, "test job '%s' failed",
                         job->id);
    }
    return t->fail_ret;
}

static bool test_job_complete(Job *job, Error **errp)
{
    TestJob *t = (TestJob *)job;

    t->completed = true;
    g_atomic_int_set(&t->finish, 1);
    return true;
}

static void test_job_commit(Job *job)
{
    ((TestJob *)job)->committed = true;
}

static void test_job_abort(Job *job)
{
    ((TestJob *)job)->aborted = true;
}

static void test_job_clean(Job *job)
{
    ((TestJob *)job)->cleaned = true;
}

static const JobDriver test_job_driver = {
    .type = JOB_TYPE_MIRROR,
    .is_block_job = true,
    .run = test_job_run,
    .complete = test_job_complete,
    .commit = test_job_commit,
    .abort = test_job_abort,
    .clean = test_job_clean,
};

static TestJob *test_job_new(const char *id, bool auto_finalize,
                             bool auto_dismiss)
{
    TestJob *t = job_create(id, &test_job_driver, sizeof(TestJob),
                            auto_finalize, auto_dismiss, &error_abort);

    job_start(&t->common);
    return t;
}

static void test_job_lifecycle(void)
{
    Mon *m = mon_new();
    TestJob *t = test_job_new("j0", false, false);
    json_object *ev, *resp, *info;

    /* running: what it refuses, and lookups that fail. */
    mon_err(m, "GenericError",
            "Job 'j0' in state 'running' cannot accept command verb "
            "'complete'", "{\"execute\":\"job-complete\",\"arguments\":"
            "{\"id\":\"j0\"}}");
    mon_err(m, "GenericError", "cannot accept command verb 'finalize'",
            "{\"execute\":\"job-finalize\",\"arguments\":{\"id\":\"j0\"}}");
    mon_err(m, "GenericError", "cannot accept command verb 'dismiss'",
            "{\"execute\":\"block-job-dismiss\",\"arguments\":"
            "{\"id\":\"j0\"}}");
    mon_err(m, "GenericError", "Can't resume job 'j0': it was not paused",
            "{\"execute\":\"job-resume\",\"arguments\":{\"id\":\"j0\"}}");
    mon_err(m, "GenericError", "Job not found",
            "{\"execute\":\"job-pause\",\"arguments\":{\"id\":\"nope\"}}");
    mon_err(m, "DeviceNotActive", "Block job 'nope' not found",
            "{\"execute\":\"block-job-pause\",\"arguments\":"
            "{\"device\":\"nope\"}}");
    mon_err(m, "GenericError", "Parameter 'speed' expects a non-negative",
            "{\"execute\":\"block-job-set-speed\",\"arguments\":"
            "{\"device\":\"j0\",\"speed\":-1}}");
    {
        Error *err = NULL;

        g_assert_null(job_create("j0", &test_job_driver, sizeof(TestJob),
                                 true, true, &err));
        g_assert_cmpstr(error_get_pretty(err), ==,
                        "Job ID 'j0' already in use");
        error_free(err);
        err = NULL;
        g_assert_null(job_create("0bad", &test_job_driver, sizeof(TestJob),
                                 true, true, &err));
        g_assert_cmpstr(error_get_pretty(err), ==, "Invalid job ID '0bad'");
        error_free(err);
    }

    /* pause and resume while running */
    mon_ok(m, "{\"execute\":\"block-job-pause\",\"arguments\":"
           "{\"device\":\"j0\"}}");
    wait_status(m, "j0", "paused");
    mon_err(m, "GenericError", "Job 'j0' is already paused",
            "{\"execute\":\"job-pause\",\"arguments\":{\"id\":\"j0\"}}");
    info = job_field(m, "query-block-jobs", "j0", NULL, &resp);
    g_assert_true(json_object_get_boolean(member(info, "paused")));
    g_assert_false(json_object_get_boolean(member(info, "busy")));
    g_assert_cmpstr(json_object_get_string(member(info, "status")), ==,
                    "paused");
    json_object_put(resp);
    mon_ok(m, "{\"execute\":\"job-resume\",\"arguments\":{\"id\":\"j0\"}}");
    wait_status(m, "j0", "running");

    /* ready, standby, ready */
    mon_ok(m, "{\"execute\":\"block-job-set-speed\",\"arguments\":"
           "{\"device\":\"j0\",\"speed\":1048576}}");
    g_atomic_int_set(&t->go_ready, 1);
    ev = mon_event(m, "BLOCK_JOB_READY");
    g_assert_cmpstr(json_object_get_string(member(member(ev, "data"),
                                                  "device")), ==, "j0");
    g_assert_cmpstr(json_object_get_string(member(member(ev, "data"),
                                                  "type")), ==, "mirror");
    g_assert_cmpint(json_object_get_int64(member(member(ev, "data"),
                                                 "speed")), ==, 1048576);
    json_object_put(ev);
    wait_status(m, "j0", "ready");
    info = job_field(m, "query-block-jobs", "j0", NULL, &resp);
    g_assert_true(json_object_get_boolean(member(info, "ready")));
    g_assert_cmpint(json_object_get_int64(member(info, "offset")), ==, 100);
    g_assert_cmpint(json_object_get_int64(member(info, "len")), ==, 100);
    g_assert_cmpstr(json_object_get_string(member(info, "io-status")), ==,
                    "ok");
    g_assert_false(json_object_get_boolean(member(info, "auto-finalize")));
    json_object_put(resp);
    mon_ok(m, "{\"execute\":\"job-pause\",\"arguments\":{\"id\":\"j0\"}}");
    wait_status(m, "j0", "standby");
    mon_ok(m, "{\"execute\":\"block-job-resume\",\"arguments\":"
           "{\"device\":\"j0\"}}");
    wait_status(m, "j0", "ready");

    /* complete -> waiting -> pending (auto-finalize off) */
    mon_ok(m, "{\"execute\":\"block-job-complete\",\"arguments\":"
           "{\"device\":\"j0\"}}");
    ev = mon_event(m, "BLOCK_JOB_PENDING");
    g_assert_cmpstr(json_object_get_string(member(member(ev, "data"), "id")),
                    ==, "j0");
    json_object_put(ev);
    g_assert_true(t->completed);
    g_assert_false(t->committed);
    mon_err(m, "GenericError", "in state 'pending' cannot accept command "
            "verb 'pause'", "{\"execute\":\"job-pause\",\"arguments\":"
            "{\"id\":\"j0\"}}");
    g_assert_false(mon_has_event(m, "BLOCK_JOB_COMPLETED"));
    mon_ok(m, "{\"execute\":\"block-job-finalize\",\"arguments\":"
           "{\"id\":\"j0\"}}");
    ev = mon_event(m, "BLOCK_JOB_COMPLETED");
    g_assert_false(json_object_object_get_ex(member(ev, "data"), "error",
                                             NULL));
    json_object_put(ev);
    g_assert_true(t->committed && t->cleaned && !t->aborted);
    wait_status(m, "j0", "concluded");
    mon_ok(m, "{\"execute\":\"job-dismiss\",\"arguments\":{\"id\":\"j0\"}}");
    g_assert_null(job_get("j0"));
    g_assert_cmpstr(m->statuses->str, ==,
                    "created,running,paused,running,ready,standby,ready,"
                    "waiting,"
                    "pending,concluded,null");
    resp = mon_cmd(m, "{\"execute\":\"query-jobs\"}");
    g_assert_cmpint(json_object_array_length(check_return(resp, NULL)), ==,
                    0);
    json_object_put(resp);
    mon_free(m);
}

static void test_job_cancel_and_fail(void)
{
    Mon *m = mon_new();
    TestJob *t = test_job_new("j1", true, true);
    json_object *ev, *resp, *v;

    /* A cancel while running: aborting, BLOCK_JOB_CANCELLED, gone. */
    mon_ok(m, "{\"execute\":\"block-job-cancel\",\"arguments\":"
           "{\"device\":\"j1\"}}");
    ev = mon_event(m, "BLOCK_JOB_CANCELLED");
    g_assert_cmpstr(json_object_get_string(member(member(ev, "data"),
                                                  "device")), ==, "j1");
    json_object_put(ev);
    wait_status(m, "j1", "(none)");
    g_assert_cmpstr(m->statuses->str, ==,
                    "created,running,aborting,concluded,null");
    g_assert_false(mon_has_event(m, "BLOCK_JOB_COMPLETED"));

    /* A failure: BLOCK_JOB_COMPLETED with the error, kept (no dismiss). */
    t = test_job_new("j2", true, false);
    t->fail_ret = -EIO;
    g_atomic_int_set(&t->finish, 1);
    ev = mon_event(m, "BLOCK_JOB_COMPLETED");
    g_assert_nonnull(strstr(json_object_get_string(
        member(member(ev, "data"), "error")), "test job 'j2' failed"));
    json_object_put(ev);
    wait_status(m, "j2", "concluded");
    g_assert_true(t->aborted && !t->committed);
    v = job_field(m, "query-jobs", "j2", "error", &resp);
    g_assert_nonnull(strstr(json_object_get_string(v), "Input/output error"));
    json_object_put(resp);
    mon_err(m, "GenericError", "in state 'concluded' cannot accept command "
            "verb 'cancel'", "{\"execute\":\"job-cancel\",\"arguments\":"
            "{\"id\":\"j2\"}}");
    mon_ok(m, "{\"execute\":\"block-job-dismiss\",\"arguments\":"
           "{\"id\":\"j2\"}}");

    /* job-cancel of a paused job resumes it into aborting. */
    test_job_new("j3", true, true);
    mon_ok(m, "{\"execute\":\"job-pause\",\"arguments\":{\"id\":\"j3\"}}");
    wait_status(m, "j3", "paused");
    mon_ok(m, "{\"execute\":\"job-cancel\",\"arguments\":{\"id\":\"j3\"}}");
    json_object_put(mon_event(m, "BLOCK_JOB_CANCELLED"));
    wait_status(m, "j3", "(none)");
    mon_free(m);
}

/* ---- the mirror ---- */

/*
 * raw to raw, sync=full, at a limited speed so that the guest's writes
 * race the copy; the writes go on through READY and through the
 * switch. The target must end with every write, byte for byte, and the
 * drive must be on the target.
 */
static void mirror_raw_racing(const char *copy_mode)
{
    Mon *m = mon_new();
    g_autofree char *src = bt_path("race-src.raw");
    g_autofree char *dst = bt_path("race-dst.raw");
    g_autofree char *out = NULL;
    BlockBackend *blk;
    Writer w;
    json_object *ev, *resp, *info;
    unsigned before_ready;

    bt_make_pattern_file(src, 8 * MIB, 3);
    g_autofree char *opt = g_strdup_printf("if=none,id=drive0,file=%s,"
                                           "format=raw", src);
    blk = drive_new(opt, &error_abort);
    bt_attach_guest(blk);
    writer_init(&w, blk, src);

    mon_ok(m, "{\"execute\":\"drive-mirror\",\"arguments\":{\"device\":"
           "\"drive0\",\"target\":\"%s\",\"format\":\"raw\",\"sync\":"
           "\"full\",\"speed\":%d,\"granularity\":65536,"
           "\"buf-size\":1048576,\"copy-mode\":\"%s\"}}", dst, 16 * MIB,
           copy_mode);
    info = job_field(m, "query-block-jobs", "drive0", NULL, &resp);
    g_assert_nonnull(info);
    g_assert_cmpstr(json_object_get_string(member(info, "type")), ==,
                    "mirror");
    g_assert_cmpint(json_object_get_int64(member(info, "speed")), ==,
                    16 * MIB);
    json_object_put(resp);
    ev = event_while_writing(m, &w, "BLOCK_JOB_READY");
    before_ready = w.seq;
    json_object_put(ev);
    g_test_message("%u guest writes before READY", before_ready);
    g_assert_cmpuint(before_ready, >, 10);
    /* More writes while ready, then complete with writes in flight. */
    for (int64_t end = g_get_monotonic_time() + 300 * 1000;
         g_get_monotonic_time() < end;) {
        writer_step(&w, m);
    }
    mon_ok(m, "{\"execute\":\"block-job-complete\",\"arguments\":"
           "{\"device\":\"drive0\"}}");
    ev = event_while_writing(m, &w, "BLOCK_JOB_COMPLETED");
    g_assert_false(json_object_object_get_ex(member(ev, "data"), "error",
                                             NULL));
    json_object_put(ev);
    /* Writes after the switch land on the target only. */
    for (int64_t end = g_get_monotonic_time() + 200 * 1000;
         g_get_monotonic_time() < end;) {
        writer_step(&w, m);
    }
    writer_drain(&w, m);
    g_assert_cmpstr(bdrv_get_filename(blk_bs(blk)), ==, dst);
    g_assert_true(blk_by_name("drive0") == blk);
    check_file(dst, w.want, w.size);
    g_assert_cmpstr(m->statuses->str, ==,
                    "created,running,ready,waiting,pending,concluded,null");
    bt_detach_guest(blk);
    g_assert_true(drive_del("drive0", &error_abort));
    writer_free(&w);
    mon_free(m);
}

static void test_mirror_raw_racing(void)
{
    mirror_raw_racing("background");
}

/* The same with every write also written through as it happens: writes
 * racing the copies in flight must still end right on the target. */
static void test_mirror_raw_racing_write_blocking(void)
{
    mirror_raw_racing("write-blocking");
}

/*
 * copy-mode=write-blocking: a guest write is on the target when it
 * completes, even with the job paused (a background mirror would only
 * have marked it dirty). Resumed, the job copies the rest and the
 * target ends equal to the source.
 */
static void test_mirror_write_blocking_paused(void)
{
    Mon *m = mon_new();
    g_autofree char *src = bt_path("wb-src.raw");
    g_autofree char *dst = bt_path("wb-dst.raw");
    g_autofree char *opt = NULL;
    g_autofree gchar *data = NULL;
    g_autofree uint8_t *initial = NULL;
    uint64_t behind = 0;
    gsize len;
    BlockBackend *blk;
    Writer w;
    json_object *ev;

    bt_make_pattern_file(src, 8 * MIB, 5);
    opt = g_strdup_printf("if=none,id=drive6,file=%s,format=raw", src);
    blk = drive_new(opt, &error_abort);
    bt_attach_guest(blk);
    writer_init(&w, blk, src);
    /* Slow enough that the copy cannot reach most writes before the
     * pause; paused at once. */
    mon_ok(m, "{\"execute\":\"drive-mirror\",\"arguments\":{\"device\":"
           "\"drive6\",\"target\":\"%s\",\"format\":\"raw\",\"sync\":"
           "\"full\",\"speed\":65536,\"granularity\":65536,"
           "\"copy-mode\":\"write-blocking\"}}", dst);
    mon_ok(m, "{\"execute\":\"block-job-pause\",\"arguments\":"
           "{\"device\":\"drive6\"}}");
    initial = g_memdup2(w.want, w.size);
    for (int i = 0; i < 40; i++) {
        writer_submit(&w);
        writer_drain(&w, m);
    }
    /* Every byte the guest changed is on the target already, while the
     * paused copy has left most of the image behind. */
    g_assert_true(g_file_get_contents(dst, &data, &len, NULL));
    g_assert_cmpuint(len, ==, w.size);
    for (uint64_t i = 0; i < w.size; i++) {
        if (w.want[i] != initial[i] && (uint8_t)data[i] != w.want[i]) {
            g_error("target byte %" G_GUINT64_FORMAT " is 0x%02x, the guest "
                    "wrote 0x%02x", i, (uint8_t)data[i], w.want[i]);
        }
        behind += (uint8_t)data[i] != w.want[i];
    }
    g_assert_cmpuint(behind, >, w.size / 2);
    mon_ok(m, "{\"execute\":\"block-job-set-speed\",\"arguments\":"
           "{\"device\":\"drive6\",\"speed\":0}}");
    mon_ok(m, "{\"execute\":\"block-job-resume\",\"arguments\":"
           "{\"device\":\"drive6\"}}");
    ev = mon_event(m, "BLOCK_JOB_READY");
    json_object_put(ev);
    mon_ok(m, "{\"execute\":\"block-job-complete\",\"arguments\":"
           "{\"device\":\"drive6\"}}");
    ev = mon_event(m, "BLOCK_JOB_COMPLETED");
    g_assert_false(json_object_object_get_ex(member(ev, "data"), "error",
                                             NULL));
    json_object_put(ev);
    check_file(dst, w.want, w.size);
    bt_detach_guest(blk);
    g_assert_true(drive_del("drive6", &error_abort));
    writer_free(&w);
    mon_free(m);
}

/*
 * qcow2: a base with an overlay; sync=top makes a qcow2 target backed by
 * the base, sync=full one with no backing. Writes race both; each
 * target passes qemu-img check and compares equal to what the guest
 * sees through the source.
 */
static void mirror_qcow2(MirrorSyncMode sync)
{
    Mon *m = mon_new();
    g_autofree char *base = bt_path("q-base.qcow2");
    g_autofree char *top = bt_path("q-top.qcow2");
    g_autofree char *dst = bt_path("q-dst.qcow2");
    g_autofree char *out = NULL, *opt = NULL;
    const char *syncs = sync == MIRROR_SYNC_MODE_TOP ? "top" : "full";
    BlockBackend *blk;
    json_object *ev;

    if (!bt_have_qemu_img()) {
        g_test_skip("qemu-img is not installed");
        mon_free(m);
        return;
    }
    g_remove(base);
    g_remove(top);
    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 '%s' 4M", base),
                    ==, 0);
    g_free(out);
    {
        g_autofree char *cmd = g_strdup_printf(
            "qemu-io -c 'write -P 0x5a 0 1M' -c 'write -P 0x33 3M 512k' "
            "'%s' >/dev/null", base);

        g_assert_cmpint(system(cmd), ==, 0);
    }
    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 -b '%s' -F qcow2 "
                                "'%s'", base, top), ==, 0);
    g_free(out);
    opt = g_strdup_printf("if=none,id=drive0,file=%s,format=qcow2", top);
    blk = drive_new(opt, &error_abort);
    bt_attach_guest(blk);
    {
        uint8_t buf[4096];

        memset(buf, 0xc7, sizeof(buf));
        g_assert_cmpint(blk_pwrite(blk, 512 * 1024, sizeof(buf), buf, 0,
                                   &error_abort), ==, 0);
    }
    mon_ok(m, "{\"execute\":\"drive-mirror\",\"arguments\":{\"device\":"
           "\"drive0\",\"target\":\"%s\",\"format\":\"qcow2\",\"sync\":"
           "\"%s\",\"mode\":\"absolute-paths\",\"job-id\":\"mq\"}}", dst,
           syncs);
    {
        Writer w;

        /* The writer's model is not used here: qemu-img compares. */
        memset(&w, 0, sizeof(w));
        w.blk = blk;
        w.size = 4 * MIB;
        w.want = g_malloc0(w.size);
        w.rand = g_rand_new_with_seed(7);
        ev = event_while_writing(m, &w, "BLOCK_JOB_READY");
        json_object_put(ev);
        for (int64_t end = g_get_monotonic_time() + 200 * 1000;
             g_get_monotonic_time() < end;) {
            writer_step(&w, m);
        }
        writer_drain(&w, m);
        writer_free(&w);
    }
    /* Cancel without force of a ready mirror: completed, no switch. */
    mon_ok(m, "{\"execute\":\"block-job-cancel\",\"arguments\":"
           "{\"device\":\"mq\"}}");
    ev = mon_event(m, "BLOCK_JOB_COMPLETED");
    g_assert_false(json_object_object_get_ex(member(ev, "data"), "error",
                                             NULL));
    json_object_put(ev);
    g_assert_false(mon_has_event(m, "BLOCK_JOB_CANCELLED"));
    wait_status(m, "mq", "(none)");
    g_assert_cmpstr(bdrv_get_filename(blk_bs(blk)), ==, top);
    bt_detach_guest(blk);
    g_assert_true(drive_del("drive0", &error_abort));

    bt_qemu_img_check(dst);
    g_assert_cmpint(bt_qemu_img(&out, "compare -f qcow2 -F qcow2 '%s' '%s'",
                                top, dst), ==, 0);
    g_free(out);
    g_assert_cmpint(bt_qemu_img(&out, "info '%s'", dst), ==, 0);
    if (sync == MIRROR_SYNC_MODE_TOP) {
        g_assert_nonnull(strstr(out, base));
    } else {
        g_assert_null(strstr(out, "backing file"));
    }
    mon_free(m);
}

static void test_mirror_qcow2_top(void)
{
    mirror_qcow2(MIRROR_SYNC_MODE_TOP);
}

static void test_mirror_qcow2_full(void)
{
    mirror_qcow2(MIRROR_SYNC_MODE_FULL);
}

/*
 * A new target reads zeroes, so zero stretches of the source are not
 * written on the first pass; but a stretch the guest zeroes after its
 * data was copied must be written. qcow2 source (its write-zeroes makes
 * zero clusters), new raw target.
 */
static void test_mirror_zeroes_after_copy(void)
{
    Mon *m = mon_new();
    g_autofree char *src = bt_path("z-src.qcow2");
    g_autofree char *dst = bt_path("z-dst.raw");
    g_autofree char *out = NULL, *opt = NULL, *cmd = NULL;
    g_autofree uint8_t *want = g_malloc(4 * MIB);
    BlockBackend *blk;
    json_object *resp, *v;

    if (!bt_have_qemu_img()) {
        g_test_skip("qemu-img is not installed");
        mon_free(m);
        return;
    }
    g_remove(src);
    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 '%s' 4M", src),
                    ==, 0);
    cmd = g_strdup_printf("qemu-io -c 'write -P 0x5a 0 4M' '%s' >/dev/null",
                          src);
    g_assert_cmpint(system(cmd), ==, 0);
    opt = g_strdup_printf("if=none,id=drive4,file=%s,format=qcow2", src);
    blk = drive_new(opt, &error_abort);
    bt_attach_guest(blk);
    mon_ok(m, "{\"execute\":\"drive-mirror\",\"arguments\":{\"device\":"
           "\"drive4\",\"target\":\"%s\",\"format\":\"raw\",\"sync\":"
           "\"full\",\"speed\":%d}}", dst, 2 * MIB);
    /* Wait until the first MiB is on the target, then zero it. */
    for (int64_t end = g_get_monotonic_time() + EVENT_WAIT_US;;) {
        int64_t off;

        v = job_field(m, "query-block-jobs", "drive4", "offset", &resp);
        off = json_object_get_int64(v);
        json_object_put(resp);
        if (off >= 2 * MIB) {
            break;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        spin(m->c);
    }
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, MIB, 0, &error_abort), ==, 0);
    mon_ok(m, "{\"execute\":\"block-job-set-speed\",\"arguments\":"
           "{\"device\":\"drive4\",\"speed\":0}}");
    json_object_put(mon_event(m, "BLOCK_JOB_READY"));
    mon_ok(m, "{\"execute\":\"block-job-complete\",\"arguments\":"
           "{\"device\":\"drive4\"}}");
    json_object_put(mon_event(m, "BLOCK_JOB_COMPLETED"));
    wait_status(m, "drive4", "(none)");
    bt_detach_guest(blk);
    g_assert_true(drive_del("drive4", &error_abort));
    memset(want, 0, MIB);
    memset(want + MIB, 0x5a, 3 * MIB);
    check_file(dst, want, 4 * MIB);
    mon_free(m);
}

/*
 * blockdev-mirror onto an existing raw node with sync=none: only what is
 * written after the start reaches the target (whole granules of 4 KiB,
 * which the writes fill exactly); auto-finalize off shows pending, where
 * writes reach both (a discard is copied at finalize), and job-finalize
 * switches, with len == offset in BLOCK_JOB_COMPLETED.
 */
static void test_mirror_sync_none_manual(void)
{
    Mon *m = mon_new();
    g_autofree char *src = bt_path("none-src.raw");
    g_autofree char *dst = bt_path("none-dst.raw");
    g_autofree char *opt = NULL;
    g_autofree uint8_t *want = g_malloc0(MIB);
    g_autofree uint8_t *src_bytes = NULL;
    BlockBackend *blk;
    uint8_t buf[8192];

    bt_make_pattern_file(src, MIB, 1);
    g_assert_true(g_file_get_contents(src, (gchar **)&src_bytes, NULL,
                                      NULL));
    g_assert_true(g_file_set_contents(dst, (char *)want, MIB, NULL));
    opt = g_strdup_printf("if=none,id=drive1,file=%s,format=raw", src);
    blk = drive_new(opt, &error_abort);
    bt_attach_guest(blk);
    mon_ok(m, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
           "\"raw\",\"node-name\":\"tgt1\",\"file\":{\"driver\":\"file\","
           "\"filename\":\"%s\"}}}", dst);
    mon_ok(m, "{\"execute\":\"blockdev-mirror\",\"arguments\":{\"job-id\":"
           "\"m1\",\"device\":\"drive1\",\"target\":\"tgt1\",\"sync\":"
           "\"none\",\"granularity\":4096,\"auto-finalize\":false,"
           "\"auto-dismiss\":false}}");
    json_object_put(mon_event(m, "BLOCK_JOB_READY"));
    mon_err(m, "GenericError", "Node tgt1 is in use by block job 'm1'",
            "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":"
            "\"tgt1\"}}");
    /* As QEMU's, the target is the job's alone until the pivot: nobody
     * else reads it, it is no copy yet. */
    {
        Error *err = NULL;

        g_assert_null(blk_new_perm(NULL, bdrv_find_node("tgt1"),
                                   BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL,
                                   &err));
        g_assert_cmpstr(error_get_pretty(err), ==, "Permission conflict on "
                        "node 'tgt1': permissions 'consistent read' are "
                        "both required by an unnamed block device (uses "
                        "node 'tgt1' as 'root' child) and unshared by an "
                        "unnamed block device (uses node 'tgt1' as 'root' "
                        "child).");
        error_free(err);
    }
    memset(buf, 0xee, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 65536, sizeof(buf), buf, 0,
                               &error_abort), ==, 0);
    memcpy(want + 65536, buf, sizeof(buf));
    mon_ok(m, "{\"execute\":\"job-complete\",\"arguments\":{\"id\":\"m1\"}}");
    json_object_put(mon_event(m, "BLOCK_JOB_PENDING"));
    /* Pending: writes reach both, the device is still on the source. */
    memset(buf, 0x11, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(buf), buf, 0, &error_abort),
                    ==, 0);
    memcpy(want, buf, sizeof(buf));
    g_assert_cmpstr(bdrv_get_node_name(blk_bs(blk)), !=, "tgt1");
    /* A discard is not written through: finalize copies its granule
     * (the source keeps its data: discard=ignore). */
    g_assert_cmpint(blk_pdiscard(blk, 131072, 4096, &error_abort), ==, 0);
    memcpy(want + 131072, src_bytes + 131072, 4096);
    mon_ok(m, "{\"execute\":\"job-finalize\",\"arguments\":{\"id\":\"m1\"}}");
    {
        json_object *ev = mon_event(m, "BLOCK_JOB_COMPLETED");
        json_object *data = member(ev, "data");

        g_assert_cmpint(json_object_get_int64(member(data, "offset")), ==,
                        json_object_get_int64(member(data, "len")));
        json_object_put(ev);
    }
    g_assert_cmpstr(bdrv_get_node_name(blk_bs(blk)), ==, "tgt1");
    mon_ok(m, "{\"execute\":\"job-dismiss\",\"arguments\":{\"id\":\"m1\"}}");
    check_file(dst, want, MIB);
    bt_detach_guest(blk);
    g_assert_true(drive_del("drive1", &error_abort));
    mon_ok(m, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":"
           "\"tgt1\"}}");
    mon_free(m);
}

/* qemu-nbd serving path on sock; killed by the test (or its parent). */
static void die_with_parent(gpointer unused)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static GPid qemu_nbd_start(const char *path, const char *sock)
{
    const char *argv[] = { "qemu-nbd", "-f", "raw", "-t", "-k", sock,
                           path, NULL };
    GPid pid;
    GError *gerr = NULL;
    int64_t end = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;

    g_remove(sock);
    if (!g_spawn_async(NULL, (char **)argv, NULL,
                       G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                       die_with_parent, NULL, &pid, &gerr)) {
        g_error("cannot start qemu-nbd: %s", gerr->message);
    }
    while (!g_file_test(sock, G_FILE_TEST_EXISTS)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(10000);
    }
    return pid;
}

static void qemu_nbd_kill(GPid pid)
{
    int st;

    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    g_spawn_close_pid(pid);
}

/* path still holds size bytes of seed's pattern, on the same inode. */
static void check_untouched(const char *path, uint64_t size, int seed,
                            ino_t ino)
{
    g_autofree gchar *data = NULL;
    struct stat st;
    gsize len;

    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpuint(st.st_ino, ==, ino);
    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    g_assert_cmpuint(len, ==, size);
    for (gsize i = 0; i < len; i++) {
        if ((uint8_t)data[i] != bt_pattern(i, seed)) {
            g_error("%s: byte %zu changed", path, i);
        }
    }
}

/*
 * drive-mirror creating its target (mode=absolute-paths) over an image
 * another process holds: qemu-nbd serving it, which does not share
 * resize. The creation takes QEMU's creation locks and is refused with
 * QEMU 7.2's words, the image neither emptied (raw) nor unlinked and
 * replaced (qcow2) under its holder.
 */
static void test_mirror_target_locked(void)
{
    Mon *m = mon_new();
    g_autofree char *src = bt_path("lk-src.raw");
    g_autofree char *dst = bt_path("lk-dst.raw");
    g_autofree char *sock = bt_path("lk-dst.sock");
    g_autofree char *opt = NULL;
    static const char *const formats[] = { "raw", "qcow2" };
    struct stat st;
    GPid pid;

    if (!g_find_program_in_path("qemu-nbd")) {
        g_test_skip("qemu-nbd is not installed");
        mon_free(m);
        return;
    }
    bt_make_pattern_file(src, MIB, 2);
    bt_make_pattern_file(dst, 2 * MIB, 7);
    g_assert_cmpint(stat(dst, &st), ==, 0);
    pid = qemu_nbd_start(dst, sock);
    opt = g_strdup_printf("if=none,id=drive6,file=%s,format=raw", src);
    drive_new(opt, &error_abort);
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
        mon_err(m, "GenericError", "drive-mirror: Failed to get \"resize\" "
                "lock", "{\"execute\":\"drive-mirror\",\"arguments\":"
                "{\"device\":\"drive6\",\"target\":\"%s\",\"format\":"
                "\"%s\",\"sync\":\"full\"}}", dst, formats[i]);
        check_untouched(dst, 2 * MIB, 7, st.st_ino);
    }
    /* A qcow2 backed by the source (sync=none): refused the same way. */
    mon_err(m, "GenericError", "drive-mirror: Failed to get \"resize\" lock",
            "{\"execute\":\"drive-mirror\",\"arguments\":{\"device\":"
            "\"drive6\",\"target\":\"%s\",\"format\":\"qcow2\","
            "\"sync\":\"none\"}}", dst);
    check_untouched(dst, 2 * MIB, 7, st.st_ino);
    g_assert_false(mon_has_event(m, "JOB_STATUS_CHANGE"));
    qemu_nbd_kill(pid);
    /* Once the holder is gone the same target is created. */
    mon_ok(m, "{\"execute\":\"drive-mirror\",\"arguments\":{\"device\":"
           "\"drive6\",\"target\":\"%s\",\"format\":\"raw\",\"sync\":"
           "\"full\"}}", dst);
    json_object_put(mon_event(m, "BLOCK_JOB_READY"));
    mon_ok(m, "{\"execute\":\"block-job-cancel\",\"arguments\":"
           "{\"device\":\"drive6\"}}");
    json_object_put(mon_event(m, "BLOCK_JOB_COMPLETED"));
    wait_status(m, "drive6", "(none)");
    check_untouched(dst, MIB, 2, st.st_ino);
    g_assert_true(drive_del("drive6", &error_abort));
    mon_free(m);
}

/*
 * An NBD target whose server dies mid-copy: BLOCK_JOB_ERROR, then a
 * failed job naming the target node, never a hang; the drive stays on
 * its source and keeps working. With on-target-error=stop the job
 * pauses instead, with io-status failed, and can be cancelled.
 */
static void mirror_nbd_dies(bool stop)
{
    Mon *m = mon_new();
    g_autofree char *src = bt_path("nbd-src.raw");
    g_autofree char *dst = bt_path("nbd-dst.raw");
    g_autofree char *sock = bt_path("nbd-dst.sock");
    g_autofree char *opt = NULL;
    g_autofree char *path = NULL;
    BlockBackend *blk;
    json_object *ev, *resp, *info;
    uint8_t buf[4096], back[4096];
    GPid pid;

    if (!g_find_program_in_path("qemu-nbd")) {
        g_test_skip("qemu-nbd is not installed");
        mon_free(m);
        return;
    }
    bt_make_pattern_file(src, 16 * MIB, 5);
    bt_make_pattern_file(dst, 16 * MIB, 9);
    pid = qemu_nbd_start(dst, sock);
    opt = g_strdup_printf("if=none,id=drive2,file=%s,format=raw", src);
    blk = drive_new(opt, &error_abort);
    bt_attach_guest(blk);
    mon_ok(m, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
           "\"nbd\",\"node-name\":\"remote\",\"server\":{\"type\":\"unix\","
           "\"path\":\"%s\"},\"reconnect-delay\":0}}", sock);
    mon_ok(m, "{\"execute\":\"blockdev-mirror\",\"arguments\":{\"job-id\":"
           "\"mn\",\"device\":\"drive2\",\"target\":\"remote\",\"sync\":"
           "\"full\",\"speed\":%d%s}}", 4 * MIB,
           stop ? ",\"on-target-error\":\"stop\"" : "");
    /* Some progress first, then the server dies. */
    for (int64_t end = g_get_monotonic_time() + 400 * 1000;
         g_get_monotonic_time() < end;) {
        spin(m->c);
    }
    qemu_nbd_kill(pid);
    ev = mon_event(m, "BLOCK_JOB_ERROR");
    g_assert_cmpstr(json_object_get_string(member(member(ev, "data"),
                                                  "operation")), ==, "write");
    g_assert_cmpstr(json_object_get_string(member(member(ev, "data"),
                                                  "action")), ==,
                    stop ? "stop" : "report");
    json_object_put(ev);
    if (stop) {
        wait_status(m, "mn", "paused");
        info = job_field(m, "query-block-jobs", "mn", NULL, &resp);
        g_assert_cmpstr(json_object_get_string(member(info, "io-status")),
                        ==, "failed");
        g_assert_true(json_object_get_boolean(member(info, "paused")));
        json_object_put(resp);
        mon_ok(m, "{\"execute\":\"block-job-cancel\",\"arguments\":"
               "{\"device\":\"mn\",\"force\":true}}");
        json_object_put(mon_event(m, "BLOCK_JOB_CANCELLED"));
    } else {
        ev = mon_event(m, "BLOCK_JOB_COMPLETED");
        g_test_message("error: %s", json_object_get_string(
            member(member(ev, "data"), "error")));
        g_assert_nonnull(strstr(json_object_get_string(
            member(member(ev, "data"), "error")), "node 'remote'"));
        g_assert_cmpint(json_object_get_int64(member(member(ev, "data"),
                                                     "offset")), <,
                        json_object_get_int64(member(member(ev, "data"),
                                                     "len")));
        json_object_put(ev);
    }
    wait_status(m, "mn", "(none)");
    /* The source is untouched and working. */
    path = g_strdup(bdrv_get_filename(blk_bs(blk)));
    g_assert_cmpstr(path, ==, src);
    memset(buf, 0x77, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 4096, sizeof(buf), buf, 0,
                               &error_abort), ==, 0);
    g_assert_cmpint(blk_pread(blk, 4096, sizeof(back), back, &error_abort),
                    ==, 0);
    g_assert_cmpmem(buf, sizeof(buf), back, sizeof(back));
    bt_detach_guest(blk);
    g_assert_true(drive_del("drive2", &error_abort));
    mon_ok(m, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":"
           "\"remote\"}}");
    mon_free(m);
}

static void test_mirror_nbd_dies_report(void)
{
    mirror_nbd_dies(false);
}

static void test_mirror_nbd_dies_stop(void)
{
    mirror_nbd_dies(true);
}

static void test_mirror_bad_args(void)
{
    Mon *m = mon_new();
    g_autofree char *src = bt_path("bad-src.raw");
    g_autofree char *dst = bt_path("bad-dst.raw");
    g_autofree char *opt = NULL;

    bt_make_pattern_file(src, MIB, 1);
    bt_make_pattern_file(dst, MIB, 1);
    opt = g_strdup_printf("if=none,id=drive3,file=%s,format=raw", src);
    drive_new(opt, &error_abort);
    mon_ok(m, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
           "\"raw\",\"node-name\":\"t3\",\"file\":{\"driver\":\"file\","
           "\"filename\":\"%s\"}}}", dst);
    mon_err(m, "GenericError", "Cannot find device='nope' nor "
            "node-name='nope'", "{\"execute\":\"blockdev-mirror\","
            "\"arguments\":{\"device\":\"nope\",\"target\":\"t3\","
            "\"sync\":\"full\"}}");
    mon_err(m, "GenericError", "Cannot find node-name='nope'",
            "{\"execute\":\"blockdev-mirror\",\"arguments\":{\"device\":"
            "\"drive3\",\"target\":\"nope\",\"sync\":\"full\"}}");
    mon_err(m, "GenericError", "'granularity' must be a power of 2",
            "{\"execute\":\"blockdev-mirror\",\"arguments\":{\"device\":"
            "\"drive3\",\"target\":\"t3\",\"sync\":\"full\","
            "\"granularity\":3000}}");
    mon_err(m, "GenericError", "'buf-size' (4096) must be at least the "
            "granularity (65536)", "{\"execute\":\"blockdev-mirror\","
            "\"arguments\":{\"device\":\"drive3\",\"target\":\"t3\","
            "\"sync\":\"full\",\"buf-size\":4096}}");
    mon_err(m, "GenericError", "Invalid job ID '9x'",
            "{\"execute\":\"blockdev-mirror\",\"arguments\":{\"job-id\":"
            "\"9x\",\"device\":\"drive3\",\"target\":\"t3\",\"sync\":"
            "\"full\"}}");
    mon_err(m, "GenericError", "Can't mirror node",
            "{\"execute\":\"blockdev-mirror\",\"arguments\":{\"device\":"
            "\"t3\",\"target\":\"t3\",\"sync\":\"full\"}}");
    mon_err(m, "GenericError", "Format 'raw' has no backing file for "
            "sync=none", "{\"execute\":\"drive-mirror\",\"arguments\":"
            "{\"device\":\"drive3\",\"target\":\"%s.new\",\"sync\":"
            "\"none\",\"format\":\"raw\"}}", dst);
    mon_err(m, "GenericError", "is in use by node",
            "{\"execute\":\"drive-mirror\",\"arguments\":{\"device\":"
            "\"drive3\",\"target\":\"%s\",\"sync\":\"full\"}}", src);
    {
        /* The source survived: not recreated empty. */
        g_autofree gchar *data = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(src, &data, &len, NULL));
        g_assert_cmpuint(len, ==, MIB);
        g_assert_cmpuint((uint8_t)data[1], ==, bt_pattern(1, 1));
    }
    mon_err(m, "GenericError", "Could not open '/nonexistent/x.raw'",
            "{\"execute\":\"drive-mirror\",\"arguments\":{\"device\":"
            "\"drive3\",\"target\":\"/nonexistent/x.raw\",\"sync\":\"full\","
            "\"mode\":\"existing\",\"format\":\"raw\"}}");
    /* A second job on a busy node; then the first is cancelled. */
    mon_ok(m, "{\"execute\":\"blockdev-mirror\",\"arguments\":{\"job-id\":"
           "\"b1\",\"device\":\"drive3\",\"target\":\"t3\",\"sync\":"
           "\"none\"}}");
    mon_err(m, "GenericError", "is busy: block device is in use by block "
            "job: mirror", "{\"execute\":\"drive-mirror\",\"arguments\":"
            "{\"device\":\"drive3\",\"target\":\"%s.2\",\"sync\":\"full\"}}",
            dst);
    mon_err(m, "GenericError", "Node 't3' is busy", "{\"execute\":"
            "\"block_resize\",\"arguments\":{\"node-name\":\"t3\","
            "\"size\":2097152}}");
    json_object_put(mon_event(m, "BLOCK_JOB_READY"));
    mon_ok(m, "{\"execute\":\"block-job-cancel\",\"arguments\":{\"device\":"
           "\"b1\",\"force\":true}}");
    json_object_put(mon_event(m, "BLOCK_JOB_CANCELLED"));
    wait_status(m, "b1", "(none)");
    g_assert_true(drive_del("drive3", &error_abort));
    mon_ok(m, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":"
           "\"t3\"}}");
    g_assert_null(bdrv_next_node(NULL));
    mon_free(m);
}

/* HMP's block job commands over the same jobs. */
static void test_mirror_hmp(void)
{
    Mon *m = mon_new();
    g_autofree char *src = bt_path("hmp-src.raw");
    g_autofree char *dst = bt_path("hmp-dst.raw");
    g_autofree char *opt = NULL, *cmd = NULL;
    g_autofree uint8_t *want = NULL;
    char *out;          /* each output freed before the next */
    gsize len;
    BlockBackend *blk;

    bt_make_pattern_file(src, 2 * MIB, 6);
    bt_make_pattern_file(dst, 2 * MIB, 8);
    opt = g_strdup_printf("if=none,id=drive5,file=%s,format=raw", src);
    blk = drive_new(opt, &error_abort);
    bt_attach_guest(blk);
    out = mon_hmp(m, "info block-jobs");
    g_assert_cmpstr(out, ==, "No active jobs\r\n");
    g_free(out);
    out = mon_hmp(m, "drive_mirror drive5");
    g_assert_nonnull(strstr(out, "usage: drive_mirror"));
    g_free(out);
    cmd = g_strdup_printf("drive_mirror -n -f drive5 %s raw", dst);
    out = mon_hmp(m, cmd);
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    /* A bare number is MiB/s, as QEMU's HMP reads it. */
    out = mon_hmp(m, "block_job_set_speed drive5 1");
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    out = mon_hmp(m, "info block-jobs");
    g_assert_true(g_str_has_prefix(out, "Type mirror, device drive5: "
                                   "Completed "));
    if (!strstr(out, "of 2097152 bytes, speed limit 1048576 bytes/s")) {
        g_error("info block-jobs: %s", out);
    }
    g_free(out);
    out = mon_hmp(m, "block_job_pause drive5");
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    /* It may have caught up already at full speed: paused or standby. */
    for (int64_t end = g_get_monotonic_time() + EVENT_WAIT_US;;) {
        g_autofree char *st = job_status(m, "drive5");

        if (!strcmp(st, "paused") || !strcmp(st, "standby")) {
            break;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        spin(m->c);
    }
    /* QEMU's line says nothing of the pause. */
    out = mon_hmp(m, "info block-jobs");
    g_assert_true(g_str_has_prefix(out, "Type mirror, device drive5: "
                                   "Completed "));
    g_assert_true(g_str_has_suffix(out, " bytes, speed limit 1048576 "
                                   "bytes/s\r\n"));
    g_free(out);
    out = mon_hmp(m, "block_job_resume drive5");
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    out = mon_hmp(m, "block_job_set_speed drive5 0");
    g_free(out);
    json_object_put(mon_event(m, "BLOCK_JOB_READY"));
    /* READY may have come before the pause: wait for it to be back
     * from standby (complete is refused there, as in QEMU). */
    wait_status(m, "drive5", "ready");
    out = mon_hmp(m, "block_job_complete nope");
    g_assert_nonnull(strstr(out, "Block job 'nope' not found"));
    g_free(out);
    out = mon_hmp(m, "block_job_complete drive5");
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    json_object_put(mon_event(m, "BLOCK_JOB_COMPLETED"));
    wait_status(m, "drive5", "(none)");
    g_assert_cmpstr(bdrv_get_filename(blk_bs(blk)), ==, dst);
    g_assert_true(g_file_get_contents(src, (gchar **)&want, &len, NULL));
    check_file(dst, want, len);

    /* block_job_cancel -f of a ready mirror cancels it. */
    g_free(cmd);
    cmd = g_strdup_printf("drive_mirror -n -f drive5 %s raw", src);
    out = mon_hmp(m, cmd);
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    json_object_put(mon_event(m, "BLOCK_JOB_READY"));
    out = mon_hmp(m, "block_job_cancel -f drive5");
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    json_object_put(mon_event(m, "BLOCK_JOB_CANCELLED"));
    wait_status(m, "drive5", "(none)");
    g_assert_cmpstr(bdrv_get_filename(blk_bs(blk)), ==, dst);
    bt_detach_guest(blk);
    g_assert_true(drive_del("drive5", &error_abort));
    mon_free(m);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    if (g_getenv("TEST_TRACE")) {
        /* e.g. TEST_TRACE='mirror_*' to see the copy */
        trace_parse_option(g_getenv("TEST_TRACE"), &error_abort);
    }
    g_test_add_func("/block/job/lifecycle", test_job_lifecycle);
    g_test_add_func("/block/job/cancel-and-fail", test_job_cancel_and_fail);
    g_test_add_func("/block/mirror/raw-racing-writes",
                    test_mirror_raw_racing);
    g_test_add_func("/block/mirror/raw-racing-writes-write-blocking",
                    test_mirror_raw_racing_write_blocking);
    g_test_add_func("/block/mirror/write-blocking-paused",
                    test_mirror_write_blocking_paused);
    g_test_add_func("/block/mirror/qcow2-top", test_mirror_qcow2_top);
    g_test_add_func("/block/mirror/qcow2-full", test_mirror_qcow2_full);
    g_test_add_func("/block/mirror/zeroes-after-copy",
                    test_mirror_zeroes_after_copy);
    g_test_add_func("/block/mirror/sync-none-manual-finalize",
                    test_mirror_sync_none_manual);
    g_test_add_func("/block/mirror/nbd-target-dies",
                    test_mirror_nbd_dies_report);
    g_test_add_func("/block/mirror/nbd-target-dies-stop",
                    test_mirror_nbd_dies_stop);
    g_test_add_func("/block/mirror/bad-args", test_mirror_bad_args);
    g_test_add_func("/block/mirror/target-locked",
                    test_mirror_target_locked);
    g_test_add_func("/block/mirror/hmp", test_mirror_hmp);
    return qmp_test_run();
}
