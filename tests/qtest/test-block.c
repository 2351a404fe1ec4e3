/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block layer's QMP commands on a running process: a -drive backend,
 * a node added and removed at run time, resize, and the three queries.
 * The shapes are checked in-process by tests/unit/test-block-qmp.c; here
 * the real binary answers them, its pc under -accel qtest (no KVM).
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "libqtest.h"

static void test_block_commands(void)
{
    g_autofree char *img = qtest_scratch_path("disk.raw");
    QTestState *s;
    json_object *r, *d;
    struct stat st;

    g_assert_true(g_file_set_contents(img, "", 0, NULL));
    g_assert_cmpint(truncate(img, 1 << 20), ==, 0);
    s = qtest_initf_accel_qtest("-drive if=none,id=d0,format=raw,file=%s",
                                img);

    r = qtest_qmp_assert_success(s, "{'execute': 'query-block'}");
    g_assert_cmpuint(json_object_array_length(r), ==, 1);
    d = json_object_array_get_idx(r, 0);
    g_assert_cmpstr(qt_json_str(d, "device"), ==, "d0");
    json_object_put(r);

    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'blockdev-add', 'arguments': {'driver': 'null-co', "
        "'node-name': 'n0', 'size': 4096}}"));
    r = qtest_qmp_assert_success(s, "{'execute': 'query-named-block-nodes', "
                                 "'arguments': {'flat': true}}");
    g_assert_cmpuint(json_object_array_length(r), >=, 2);
    json_object_put(r);
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'block_resize', 'arguments': {'device': 'd0', "
        "'size': 2097152}}"));
    g_assert_cmpint(stat(img, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, 2 << 20);
    r = qtest_qmp_assert_success(s, "{'execute': 'query-blockstats'}");
    g_assert_cmpuint(json_object_array_length(r), ==, 1);
    json_object_put(r);
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'blockdev-del', 'arguments': {'node-name': 'n0'}}"));
    qtest_qmp_assert_error_contains(s, "GenericError", "n0",
        "{'execute': 'blockdev-del', 'arguments': {'node-name': 'n0'}}");
    g_assert_cmpint(qtest_quit(s), ==, 0);
    unlink(img);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/block/qmp-commands", test_block_commands);
    return g_test_run();
}
