/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD server's QMP commands on a running process, in the order the
 * COLO secondary's recipe uses them (nbd-server-start, nbd-server-add
 * writable, ..., nbd-server-stop first at failover), plus the newer
 * block-export-add/-del and query-block-exports, with nbdinfo as the
 * client. Shapes and errors are checked in-process by
 * tests/unit/test-nbd-server.c; here the real binary answers, its pc
 * under -accel qtest (no KVM, no guest).
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "libqtest.h"

/* nbdinfo --size on the export, or -1. */
static long long nbdinfo_size(const char *sock, const char *name)
{
    g_autofree char *cmd = g_strdup_printf(
        "nbdinfo --size 'nbd+unix:///%s?socket=%s'", name, sock);
    g_autofree char *out = NULL;
    int status;

    if (!g_spawn_command_line_sync(cmd, &out, NULL, &status, NULL) ||
        !g_spawn_check_wait_status(status, NULL)) {
        return -1;
    }
    return g_ascii_strtoll(out, NULL, 10);
}

static void test_nbd_recipe(void)
{
    g_autofree char *img = qtest_scratch_path("parent.raw");
    g_autofree char *sock = qtest_scratch_path("nbd.sock");
    QTestState *s;
    json_object *r;

    g_assert_true(g_file_set_contents(img, "", 0, NULL));
    g_assert_cmpint(truncate(img, 1 << 20), ==, 0);
    s = qtest_initf_accel_qtest("-drive if=none,id=parent0,format=raw,"
                                "file=%s", img);

    qtest_qmp_assert_error_contains(s, "GenericError",
        "NBD server not running", "{'execute': 'nbd-server-stop'}");
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'nbd-server-start', 'arguments': {'addr': "
        "{'type': 'unix', 'data': {'path': '%s'}}}}", sock));
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'nbd-server-add', 'arguments': {'device': 'parent0', "
        "'writable': true}}"));
    g_assert_cmpint(nbdinfo_size(sock, "parent0"), ==, 1 << 20);

    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'blockdev-add', 'arguments': {'driver': 'null-co', "
        "'node-name': 'n0', 'size': 4096}}"));
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'block-export-add', 'arguments': {'type': 'nbd', "
        "'id': 'e0', 'node-name': 'n0', 'name': 'null'}}"));
    g_assert_cmpint(nbdinfo_size(sock, "null"), ==, 4096);
    r = qtest_qmp_assert_success(s, "{'execute': 'query-block-exports'}");
    g_assert_cmpuint(json_object_array_length(r), ==, 2);
    json_object_put(r);
    qtest_qmp_assert_error_contains(s, "GenericError", "NBD export 'e0'",
        "{'execute': 'blockdev-del', 'arguments': {'node-name': 'n0'}}");
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'block-export-del', 'arguments': {'id': 'e0'}}"));
    json_object_put(qtest_qmp_eventwait(s, "BLOCK_EXPORT_DELETED"));
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'blockdev-del', 'arguments': {'node-name': 'n0'}}"));

    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'nbd-server-remove', 'arguments': {'name': 'parent0', "
        "'mode': 'hard'}}"));
    json_object_put(qtest_qmp_eventwait(s, "BLOCK_EXPORT_DELETED"));
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'nbd-server-add', 'arguments': {'device': 'parent0', "
        "'writable': true}}"));
    /* Failover's first step. */
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'nbd-server-stop'}"));
    g_assert_cmpint(nbdinfo_size(sock, "parent0"), ==, -1);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    unlink(img);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nbd/colo-recipe", test_nbd_recipe);
    return g_test_run();
}
