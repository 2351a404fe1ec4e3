/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * block-stream and block-commit on the real binary under -accel qtest,
 * sent as libvirt 9.0 sends them for virsh blockpull and virsh
 * blockcommit: a guest disk (virtio-blk-pci) on a chain of -blockdev
 * nodes named libvirt's way, jobs with auto-dismiss off, driven by
 * query-jobs / job-complete / job-dismiss, then blockdev-del of the
 * nodes that left the chain:
 * - blockpull of the whole chain: the device stays on its image, which
 *   has no backing file any more;
 * - blockcommit of the middle image: the top image's header names the
 *   base (by the name libvirt passes as backing-file);
 * - blockcommit --active --pivot (how libvirt deletes an external
 *   snapshot): ready, job-complete, the device on the base;
 * - HMP block_stream and commit on a -drive.
 * After each, with Tandem gone: qemu-img info --backing-chain, qemu-img
 * check of every image, and qemu-io reads of every 64 KiB of the disk
 * (tests/common/qemu-img-util.h has the chain). While Tandem runs, the
 * images that left the chain are free again (qemu-io writes them) and
 * the one the device writes is not. In-process tests with every error
 * text: tests/unit/test-block-commit.c; writes racing the jobs:
 * tests/functional/test_block_commit.py.
 */
#include <string.h>
#include <unistd.h>
#include "libqtest.h"
#include "qemu-img-util.h"

typedef struct Chain {
    char *base, *mid, *top;
} Chain;

static void chain_new(Chain *c)
{
    c->base = qtest_scratch_path("base.qcow2");
    c->mid = qtest_scratch_path("mid.qcow2");
    c->top = qtest_scratch_path("top.qcow2");
    bt_make_test_chain(c->base, c->mid, c->top);
}

static void chain_free(Chain *c)
{
    unlink(c->base);
    unlink(c->mid);
    unlink(c->top);
    g_free(c->base);
    g_free(c->mid);
    g_free(c->top);
}

/* Tandem with the chain as libvirt opens it: node libvirt-N-format over
 * libvirt-N-storage, 1 the top, the device on it. */
static QTestState *start_libvirt_style(const Chain *c)
{
    return qtest_initf_accel_qtest(
        "-blockdev '{\"driver\":\"file\",\"filename\":\"%s\","
        "\"node-name\":\"libvirt-3-storage\"}' "
        "-blockdev '{\"node-name\":\"libvirt-3-format\",\"read-only\":true,"
        "\"driver\":\"qcow2\",\"file\":\"libvirt-3-storage\","
        "\"backing\":null}' "
        "-blockdev '{\"driver\":\"file\",\"filename\":\"%s\","
        "\"node-name\":\"libvirt-2-storage\"}' "
        "-blockdev '{\"node-name\":\"libvirt-2-format\",\"read-only\":true,"
        "\"driver\":\"qcow2\",\"file\":\"libvirt-2-storage\","
        "\"backing\":\"libvirt-3-format\"}' "
        "-blockdev '{\"driver\":\"file\",\"filename\":\"%s\","
        "\"node-name\":\"libvirt-1-storage\"}' "
        "-blockdev '{\"node-name\":\"libvirt-1-format\",\"read-only\":false,"
        "\"driver\":\"qcow2\",\"file\":\"libvirt-1-storage\","
        "\"backing\":\"libvirt-2-format\"}' "
        "-device virtio-blk-pci,id=vd0,drive=libvirt-1-format,addr=4",
        c->base, c->mid, c->top);
}

/* Waits for JOB_STATUS_CHANGE of id to status. */
static void wait_job(QTestState *s, const char *id, const char *status)
{
    for (;;) {
        json_object *ev = qtest_qmp_eventwait(s, "JOB_STATUS_CHANGE");
        json_object *data = qt_json_get(ev, "data");
        bool done = !strcmp(qt_json_str(data, "id"), id) &&
                    !strcmp(qt_json_str(data, "status"), status);

        json_object_put(ev);
        if (done) {
            return;
        }
    }
}

/* Polls query-jobs until the job has done want bytes (bounded). */
static void wait_job_progress(QTestState *s, const char *id, int64_t want)
{
    int64_t end = g_get_monotonic_time() + qtest_timeout_ms() * 1000LL;

    for (;;) {
        json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                                  "'query-jobs'}");
        int64_t done = -1;

        for (size_t i = 0; i < json_object_array_length(r); i++) {
            json_object *j = json_object_array_get_idx(r, i);

            if (!strcmp(qt_json_str(j, "id"), id)) {
                done = json_object_get_int64(qt_json_get(j,
                                                         "current-progress"));
            }
        }
        json_object_put(r);
        if (done == want) {
            return;
        }
        g_assert_cmpint(done, <, want);
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(10 * 1000);
    }
}

/* query-jobs: the job's type and status, "type/status". */
static char *job_state(QTestState *s, const char *id)
{
    json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                              "'query-jobs'}");
    char *st = NULL;

    for (size_t i = 0; i < json_object_array_length(r); i++) {
        json_object *j = json_object_array_get_idx(r, i);

        if (!strcmp(qt_json_str(j, "id"), id)) {
            st = g_strdup_printf("%s/%s", qt_json_str(j, "type"),
                                 qt_json_str(j, "status"));
        }
    }
    json_object_put(r);
    return st;
}

static void expect_job(QTestState *s, const char *id, const char *want)
{
    g_autofree char *st = job_state(s, id);

    g_assert_cmpstr(st, ==, want);
}

/* The device's node and chain depth, from query-block. */
static void expect_device(QTestState *s, const char *node, int depth)
{
    json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                              "'query-block'}");
    json_object *ins = qt_json_get(json_object_array_get_idx(r, 0),
                                   "inserted");

    g_assert_cmpstr(qt_json_str(ins, "node-name"), ==, node);
    g_assert_cmpint(json_object_get_int(qt_json_get(ins,
                                                    "backing_file_depth")),
                    ==, depth);
    json_object_put(r);
}

/* libvirt drops the nodes of an image that left the chain. */
static void blockdev_del_image(QTestState *s, int n)
{
    qtest_qmp_ok(s, "{'execute': 'blockdev-del', 'arguments': "
                 "{'node-name': 'libvirt-%d-format'}}", n);
    qtest_qmp_ok(s, "{'execute': 'blockdev-del', 'arguments': "
                 "{'node-name': 'libvirt-%d-storage'}}", n);
}

/*
 * Whether another process may open path for writing now (its image
 * locks): the file alone, read-write as raw (not its backing files,
 * which have locks of their own), and nothing written.
 */
static bool writable_outside(const char *path)
{
    g_autofree char *out = NULL;

    return bt_qemu_io(&out, "-f raw -c 'read 0 512' '%s'", path) == 0;
}

/* The images' backing file names, top down, as qemu-img sees them. */
static void expect_chain(const char *top, const char *const *names, int n)
{
    g_autofree char *out = NULL;
    const char *p;

    g_assert_cmpint(bt_qemu_img(&out, "info -U --backing-chain '%s'", top),
                    ==, 0);
    p = out;
    for (int i = 0; i < n; i++) {
        g_autofree char *line = g_strdup_printf("backing file: %s\n",
                                                names[i]);

        p = strstr(p, line);
        if (!p) {
            g_error("qemu-img info lacks '%s' (image %d):\n%s", names[i],
                    i, out);
        }
        p += strlen(line);
    }
    g_assert_null(strstr(p, "backing file:"));
}

static void test_libvirt_blockpull(void)
{
    Chain c;
    QTestState *s;

    chain_new(&c);
    s = start_libvirt_style(&c);
    qtest_qmp_ok(s, "{'execute': 'block-stream', 'arguments': {"
                 "'device': 'libvirt-1-format', 'job-id': "
                 "'pull-vda-libvirt-1-format', 'auto-finalize': true, "
                 "'auto-dismiss': false}}");
    wait_job(s, "pull-vda-libvirt-1-format", "concluded");
    expect_job(s, "pull-vda-libvirt-1-format", "stream/concluded");
    qtest_qmp_ok(s, "{'execute': 'job-dismiss', 'arguments': {'id': "
                 "'pull-vda-libvirt-1-format'}}");
    expect_device(s, "libvirt-1-format", 0);
    /* The two images below are out of the chain: libvirt drops them,
     * and then nothing here holds them. */
    g_assert_false(writable_outside(c.mid));
    blockdev_del_image(s, 2);
    blockdev_del_image(s, 3);
    g_assert_true(writable_outside(c.mid));
    g_assert_true(writable_outside(c.base));
    g_assert_false(writable_outside(c.top));
    g_assert_cmpint(qtest_quit(s), ==, 0);

    expect_chain(c.top, NULL, 0);
    bt_qemu_img_check(c.top);
    bt_check_test_chain_view(c.top, "-f qcow2", NULL, NULL, 0);
    chain_free(&c);
}

static void test_libvirt_blockcommit(void)
{
    g_autofree char *rel = NULL;
    Chain c;
    QTestState *s;
    json_object *ev;

    chain_new(&c);
    rel = g_path_get_basename(c.base);
    s = start_libvirt_style(&c);
    qtest_qmp_ok(s, "{'execute': 'block-commit', 'arguments': {"
                 "'device': 'libvirt-1-format', 'job-id': "
                 "'commit-vda-libvirt-2-format', 'top-node': "
                 "'libvirt-2-format', 'base-node': 'libvirt-3-format', "
                 "'backing-file': '%s', 'auto-finalize': true, "
                 "'auto-dismiss': false}}", rel);
    ev = qtest_qmp_eventwait(s, "BLOCK_JOB_COMPLETED");
    g_assert_cmpstr(qt_json_str(qt_json_get(ev, "data"), "type"), ==,
                    "commit");
    g_assert_false(qt_json_has(qt_json_get(ev, "data"), "error"));
    json_object_put(ev);
    wait_job(s, "commit-vda-libvirt-2-format", "concluded");
    qtest_qmp_ok(s, "{'execute': 'job-dismiss', 'arguments': {'id': "
                 "'commit-vda-libvirt-2-format'}}");
    expect_device(s, "libvirt-1-format", 1);
    blockdev_del_image(s, 2);
    g_assert_true(writable_outside(c.mid));
    /* The base is a backing file again: readers only. */
    g_assert_false(writable_outside(c.base));
    g_assert_cmpint(qtest_quit(s), ==, 0);

    /* The name libvirt gave, relative to the top image's directory;
     * mid is out of the chain. */
    {
        g_autofree char *out = NULL;
        g_autofree char *want = g_strdup_printf("backing file: %s "
                                                "(actual path: %s)", rel,
                                                c.base);

        g_assert_cmpint(bt_qemu_img(&out, "info -U --backing-chain '%s'",
                                    c.top), ==, 0);
        g_assert_nonnull(strstr(out, want));
        g_assert_null(strstr(out, c.mid));
    }
    bt_qemu_img_check(c.top);
    bt_qemu_img_check(c.base);
    bt_check_test_chain_view(c.top, "-f qcow2", NULL, NULL, 0);
    chain_free(&c);
}

static void test_libvirt_active_pivot(void)
{
    const char *names[1];
    Chain c;
    QTestState *s;
    json_object *ev;

    chain_new(&c);
    s = start_libvirt_style(&c);
    qtest_qmp_ok(s, "{'execute': 'block-commit', 'arguments': {"
                 "'device': 'libvirt-1-format', 'job-id': "
                 "'commit-vda-libvirt-1-format', 'top-node': "
                 "'libvirt-1-format', 'base-node': 'libvirt-3-format', "
                 "'auto-finalize': true, 'auto-dismiss': false}}");
    ev = qtest_qmp_eventwait(s, "BLOCK_JOB_READY");
    g_assert_cmpstr(qt_json_str(qt_json_get(ev, "data"), "type"), ==,
                    "commit");
    json_object_put(ev);
    expect_job(s, "commit-vda-libvirt-1-format", "commit/ready");
    /* While it runs, the base is written by the job. */
    g_assert_false(writable_outside(c.base));
    qtest_qmp_ok(s, "{'execute': 'job-complete', 'arguments': {'id': "
                 "'commit-vda-libvirt-1-format'}}");
    wait_job(s, "commit-vda-libvirt-1-format", "concluded");
    qtest_qmp_ok(s, "{'execute': 'job-dismiss', 'arguments': {'id': "
                 "'commit-vda-libvirt-1-format'}}");
    expect_device(s, "libvirt-3-format", 0);
    blockdev_del_image(s, 1);
    blockdev_del_image(s, 2);
    g_assert_true(writable_outside(c.top));
    g_assert_true(writable_outside(c.mid));
    g_assert_false(writable_outside(c.base));
    g_assert_cmpint(qtest_quit(s), ==, 0);

    names[0] = c.base;
    expect_chain(c.mid, names, 1);
    expect_chain(c.base, NULL, 0);
    bt_qemu_img_check(c.base);
    bt_check_test_chain_view(c.base, "-f qcow2", NULL, NULL, 0);
    chain_free(&c);
}

static void test_hmp(void)
{
    const char *names[1];
    g_autofree char *out = NULL;
    Chain c;
    QTestState *s;

    chain_new(&c);
    s = qtest_initf_accel_qtest("-drive if=none,id=drive0,file=%s,"
                                "format=qcow2", c.top);
    out = qtest_hmp(s, "commit nope");
    g_assert_cmpstr(out, ==, "Device 'nope' not found\r\n");
    g_free(out);
    /* Up to mid's zeroes at 256k: the first stretch copied, the
     * second waits for its turn at 1 KiB/s. */
    out = qtest_hmp(s, "block_stream drive0 1k %s", c.base);
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    wait_job_progress(s, "drive0", 262144);
    out = qtest_hmp(s, "info block-jobs");
    g_assert_cmpstr(out, ==, "Streaming device drive0: Completed 262144 of "
                    "4194304 bytes, speed limit 1024 bytes/s\r\n");
    g_free(out);
    out = qtest_hmp(s, "block_job_set_speed drive0 0");
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    wait_job(s, "drive0", "null");
    out = qtest_hmp(s, "info block-jobs");
    g_assert_cmpstr(out, ==, "No active jobs\r\n");
    /* One level: top (over base now) into base, then top is empty. */
    g_free(out);
    out = qtest_hmp(s, "commit drive0");
    g_assert_cmpstr(out, ==, "");
    g_assert_cmpint(qtest_quit(s), ==, 0);

    names[0] = c.base;
    expect_chain(c.top, names, 1);
    bt_qemu_img_check(c.top);
    bt_qemu_img_check(c.base);
    bt_check_test_chain_view(c.top, "-f qcow2", NULL, NULL, 0);
    bt_check_test_chain_view(c.base, "-f qcow2", NULL, NULL, 0);
    {
        g_autofree char *out2 = NULL;

        /* top is empty. */
        g_assert_cmpint(bt_qemu_io(&out2, "-r -U -f qcow2 -c 'alloc 0 4M' "
                                   "'%s'", c.top), ==, 0);
        g_assert_nonnull(strstr(out2, "0/4194304 bytes allocated"));
    }
    chain_free(&c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (!bt_have_qemu_img()) {
        /* The peer is a declared dependency (scripts/install-deps.sh). */
        g_printerr("qemu-img not found: install qemu-utils\n");
        return 1;
    }
    g_test_add_func("/block/commit/libvirt-blockpull",
                    test_libvirt_blockpull);
    g_test_add_func("/block/commit/libvirt-blockcommit",
                    test_libvirt_blockcommit);
    g_test_add_func("/block/commit/libvirt-active-pivot",
                    test_libvirt_active_pivot);
    g_test_add_func("/block/commit/hmp", test_hmp);
    return g_test_run();
}
