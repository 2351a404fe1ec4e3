/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * blockdev-create on the real binary under -accel qtest, in the order a
 * libvirt-style script uses it: the host file first, then a qcow2 image
 * onto that file's node, each job watched through JOB_STATUS_CHANGE,
 * read in query-jobs and dismissed; then the new image opens with
 * blockdev-add. Failures land in the job, not the command, as in QEMU
 * 7.2: a node that does not exist, a size qcow2 cannot have. qemu-img
 * check judges the image after quit. The options' every text:
 * tests/unit/test-block-create.c; the images as qemu-img and qemu-io see
 * them: tests/functional/test_block_create.py.
 */
#include <string.h>
#include "libqtest.h"
#include "qemu-img-util.h"

/* The next JOB_STATUS_CHANGE of job id must say status. */
static void expect_status(QTestState *s, const char *id, const char *status)
{
    json_object *ev = qtest_qmp_eventwait(s, "JOB_STATUS_CHANGE");
    json_object *data = qt_json_get(ev, "data");

    g_assert_cmpstr(qt_json_str(data, "id"), ==, id);
    g_assert_cmpstr(qt_json_str(data, "status"), ==, status);
    json_object_put(ev);
}

/* query-jobs has job id concluded at 1/1, with error err (or none). */
static void expect_concluded(QTestState *s, const char *id, const char *err)
{
    json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                              "'query-jobs'}");
    bool found = false;

    for (size_t i = 0; i < json_object_array_length(r); i++) {
        json_object *j = json_object_array_get_idx(r, i);

        if (strcmp(qt_json_str(j, "id"), id)) {
            continue;
        }
        found = true;
        g_assert_cmpstr(qt_json_str(j, "type"), ==, "create");
        g_assert_cmpstr(qt_json_str(j, "status"), ==, "concluded");
        g_assert_cmpint(json_object_get_int64(
            qt_json_get(j, "current-progress")), ==, 1);
        g_assert_cmpint(json_object_get_int64(
            qt_json_get(j, "total-progress")), ==, 1);
        if (err) {
            g_assert_cmpstr(qt_json_str(j, "error"), ==, err);
        } else {
            g_assert_false(qt_json_has(j, "error"));
        }
    }
    g_assert_true(found);
    json_object_put(r);
}

/* The whole life of a job that succeeds, through its dismissal. */
static void expect_success(QTestState *s, const char *id)
{
    expect_status(s, id, "created");
    expect_status(s, id, "running");
    expect_status(s, id, "waiting");
    expect_status(s, id, "pending");
    expect_status(s, id, "concluded");
    expect_concluded(s, id, NULL);
    qtest_qmp_ok(s, "{'execute': 'job-dismiss', 'arguments': "
                 "{'id': '%s'}}", id);
    expect_status(s, id, "null");
}

static void expect_failure(QTestState *s, const char *id, const char *err)
{
    expect_status(s, id, "created");
    expect_status(s, id, "running");
    expect_status(s, id, "aborting");
    expect_status(s, id, "concluded");
    expect_concluded(s, id, err);
    qtest_qmp_ok(s, "{'execute': 'job-dismiss', 'arguments': "
                 "{'id': '%s'}}", id);
    expect_status(s, id, "null");
}

static void test_create_file_then_qcow2(void)
{
    g_autofree char *img = qtest_scratch_path("create.qcow2");
    g_autofree char *out = NULL;
    QTestState *s = qtest_init_accel_qtest("");
    json_object *r;

    qtest_qmp_ok(s, "{'execute': 'blockdev-create', 'arguments': "
                 "{'job-id': 'c0', 'options': {'driver': 'file', "
                 "'filename': '%s', 'size': 0}}}", img);
    expect_success(s, "c0");
    qtest_qmp_ok(s, "{'execute': 'blockdev-add', 'arguments': "
                 "{'driver': 'file', 'node-name': 'f0', "
                 "'filename': '%s'}}", img);
    qtest_qmp_ok(s, "{'execute': 'blockdev-create', 'arguments': "
                 "{'job-id': 'c1', 'options': {'driver': 'qcow2', "
                 "'file': 'f0', 'size': 4194304, 'cluster-size': 4096, "
                 "'lazy-refcounts': true}}}");
    expect_success(s, "c1");

    /* The image opens, at the size asked. */
    qtest_qmp_ok(s, "{'execute': 'blockdev-add', 'arguments': "
                 "{'driver': 'qcow2', 'node-name': 'q0', 'file': 'f0'}}");
    r = qtest_qmp_assert_success(s, "{'execute': "
                                 "'query-named-block-nodes'}");
    for (size_t i = 0; i < json_object_array_length(r); i++) {
        json_object *n = json_object_array_get_idx(r, i);

        if (!strcmp(qt_json_str(n, "node-name"), "q0")) {
            g_assert_cmpint(json_object_get_int64(qt_json_get(
                qt_json_get(n, "image"), "virtual-size")), ==, 4 << 20);
        }
    }
    json_object_put(r);

    /* A node that does not exist fails the job, not the command. */
    qtest_qmp_ok(s, "{'execute': 'blockdev-create', 'arguments': "
                 "{'job-id': 'c2', 'options': {'driver': 'qcow2', "
                 "'file': 'nosuch', 'size': 1048576}}}");
    expect_failure(s, "c2", "Cannot find device='nosuch' nor "
                   "node-name='nosuch'");
    qtest_qmp_ok(s, "{'execute': 'blockdev-del', 'arguments': "
                 "{'node-name': 'q0'}}");
    qtest_qmp_ok(s, "{'execute': 'blockdev-create', 'arguments': "
                 "{'job-id': 'c3', 'options': {'driver': 'qcow2', "
                 "'file': 'f0', 'size': 1000}}}");
    expect_failure(s, "c3", "Image size must be a multiple of 512 bytes");

    /* Refused by the command: no job. */
    qtest_qmp_assert_error_is(s, "GenericError",
                              "Driver does not support blockdev-create",
                              "{'execute': 'blockdev-create', 'arguments': "
                              "{'job-id': 'c4', 'options': "
                              "{'driver': 'raw'}}}");
    qtest_qmp_assert_error_is(s, "GenericError", "Invalid job ID '9c'",
                              "{'execute': 'blockdev-create', 'arguments': "
                              "{'job-id': '9c', 'options': {'driver': "
                              "'file', 'filename': '%s', 'size': 0}}}",
                              img);
    r = qtest_qmp_assert_success(s, "{'execute': 'query-jobs'}");
    g_assert_cmpuint(json_object_array_length(r), ==, 0);
    json_object_put(r);
    qtest_quit(s);

    bt_qemu_img_check(img);
    g_assert_cmpint(bt_qemu_img(&out, "info --output=json '%s'", img), ==,
                    0);
    g_assert_nonnull(strstr(out, "\"cluster-size\": 4096"));
    g_assert_nonnull(strstr(out, "\"lazy-refcounts\": true"));
    g_assert_nonnull(strstr(out, "\"virtual-size\": 4194304"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/block-create/file-then-qcow2",
                    test_create_file_then_qcow2);
    return g_test_run();
}
