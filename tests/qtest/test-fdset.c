/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fd sets against a running Tandem: add-fd with an fd passed over the
 * QMP socket, query-fdsets, a migration to file:/dev/fdset/N written
 * through that fd (libvirt's save-to-file path), and remove-fd. The
 * parts that need no guest are in tests/unit/test-fdset.c.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "kvm-skip.h"
#include "libqtest.h"
#include "migration-helpers.h"

static void test_add_fd_migrate_to_fdset(void)
{
    QTestState *s = qtest_init(NULL);
    g_autofree char *path = qtest_scratch_path("fdset-mig");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    json_object *ret, *set;
    char magic[4] = { 0 };
    int rfd;

    g_assert_cmpint(fd, >=, 0);
    ret = qtest_qmp_fd(s, fd, "{'execute': 'add-fd', "
                       "'arguments': {'fdset-id': 1, 'opaque': 'wronly'}}");
    close(fd);
    g_assert_nonnull(qt_json_get(ret, "return"));
    g_assert_cmpint(json_object_get_int(qt_json_get(qt_json_get(ret, "return"),
                                                    "fdset-id")), ==, 1);
    json_object_put(ret);

    ret = qtest_qmp_assert_success(s, "{'execute': 'query-fdsets'}");
    g_assert_cmpuint(json_object_array_length(ret), ==, 1);
    set = json_object_array_get_idx(ret, 0);
    g_assert_cmpint(json_object_get_int(qt_json_get(set, "fdset-id")), ==, 1);
    json_object_put(ret);

    qtest_qmp_ok(s, "{'execute': 'migrate', "
                 "'arguments': {'uri': 'file:/dev/fdset/1'}}");
    migrate_wait_status(s, "completed");
    rfd = open(path, O_RDONLY);
    g_assert_cmpint(read(rfd, magic, 4), ==, 4);
    close(rfd);
    g_assert_cmpmem(magic, 4, "TDMS", 4);

    qtest_qmp_ok(s, "{'execute': 'remove-fd', 'arguments': {'fdset-id': 1}}");
    qtest_qmp_assert_error_is(s, "GenericError",
                              "File descriptor named 'fdset-id:1' not found",
                              "{'execute': 'remove-fd', "
                              "'arguments': {'fdset-id': 1}}");
    unlink(path);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    test_add_kvm_func("/fdset/qtest/migrate-to-fdset",
                      test_add_fd_migrate_to_fdset);
    return g_test_run();
}
