/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Operating-system fixtures shared by unit tests and qtests (GLib only):
 * a connected unix socket, a small private tmpfs whose writes really
 * run out of space, and a capture of what the process writes to stderr.
 */
#ifndef TESTS_COMMON_OS_UTIL_H
#define TESTS_COMMON_OS_UTIL_H

/* A stream socket connected to path; the test fails if it cannot. */
int test_unix_connect(const char *path);

/*
 * Mounts a tmpfs of size (mount's "size=" value, e.g. "256k") on a new
 * directory /tmp/PREFIX-XXXXXX in a private mount namespace, and returns
 * the directory; NULL with *why set (g_free) where it cannot (needs
 * root). Call it before any thread exists (the namespace is then the
 * whole process's) and before starting a child that must see it.
 */
char *test_private_tmpfs(const char *prefix, const char *size, char **why);
/* Unmounts and removes it; NULL is a no-op. */
void test_private_tmpfs_remove(const char *dir);

/*
 * Sends the process's stderr (fd 2: error_report, warn_report) to a
 * temporary file until test_stderr_capture_end(), which restores it,
 * echoes what was captured (so a failing test still shows it), frees the
 * capture and returns the text (g_free). Captures do not nest.
 */
typedef struct TestStderrCapture TestStderrCapture;

TestStderrCapture *test_stderr_capture_start(void);
char *test_stderr_capture_end(TestStderrCapture *c);

#endif
