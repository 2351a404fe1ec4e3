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

static int saved_stderr = -1;
static char *stderr_file;

void test_stderr_capture_start(void)
{
    int fd;

    g_assert_cmpint(saved_stderr, <, 0);
    fd = g_file_open_tmp("test-stderr-XXXXXX", &stderr_file, NULL);
    g_assert_cmpint(fd, >=, 0);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    g_assert_cmpint(saved_stderr, >=, 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

char *test_stderr_capture_end(void)
{
    char *data = NULL;

    g_assert_cmpint(saved_stderr, >=, 0);
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    saved_stderr = -1;
    g_assert_true(g_file_get_contents(stderr_file, &data, NULL, NULL));
    unlink(stderr_file);
    g_clear_pointer(&stderr_file, g_free);
    g_printerr("%s", data);
    return data;
}
