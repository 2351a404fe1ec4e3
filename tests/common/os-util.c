/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Operating-system fixtures for tests: see os-util.h. */
#include <errno.h>
#include <stdio.h>
#include <sched.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <glib.h>
#include "os-util.h"

int test_unix_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

char *test_private_tmpfs(const char *prefix, const char *size, char **why)
{
    g_autofree char *dir = g_strdup_printf("/tmp/%s-XXXXXX", prefix);
    g_autofree char *opts = g_strdup_printf("size=%s", size);

    if (!g_mkdtemp(dir)) {
        *why = g_strdup_printf("mkdtemp: %s", g_strerror(errno));
        return NULL;
    }
    if (unshare(CLONE_NEWNS) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", dir, "tmpfs", 0, opts) < 0) {
        *why = g_strdup_printf("cannot mount a private tmpfs (needs root): "
                               "%s", g_strerror(errno));
        rmdir(dir);
        return NULL;
    }
    return g_steal_pointer(&dir);
}

void test_private_tmpfs_remove(const char *dir)
{
    if (dir) {
        umount2(dir, MNT_DETACH);
        rmdir(dir);
    }
}

struct TestStderrCapture {
    int saved;                  /* the real stderr, restored at the end */
    char *path;                 /* where fd 2 goes meanwhile */
};

TestStderrCapture *test_stderr_capture_start(void)
{
    TestStderrCapture *c = g_new0(TestStderrCapture, 1);
    int fd = g_file_open_tmp("test-stderr-XXXXXX", &c->path, NULL);

    g_assert_cmpint(fd, >=, 0);
    fflush(stderr);
    c->saved = dup(STDERR_FILENO);
    g_assert_cmpint(c->saved, >=, 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
    return c;
}

char *test_stderr_capture_end(TestStderrCapture *c)
{
    char *data = NULL;

    fflush(stderr);
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    g_assert_true(g_file_get_contents(c->path, &data, NULL, NULL));
    unlink(c->path);
    g_free(c->path);
    g_free(c);
    g_printerr("%s", data);
    return data;
}
