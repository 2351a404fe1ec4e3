/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/error.c: setting, prefixing and propagating errors,
 * the NULL / &error_fatal / &error_abort destinations (the last two in
 * subprocesses, since they end the process), and the report format.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <string.h>
#include <sys/wait.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "util/error.h"
#include "util/trace.h"

static bool error_helper_fails(int n, Error **errp)
{
    if (n < 0) {
        error_setg(errp, "negative value %d", n);
        return false;
    }
    return true;
}

static void test_error_setg(void)
{
    Error *err = NULL;

    error_setg(&err, "bad %s %d", "thing", 42);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, "bad thing 42");
    g_assert_cmpint(error_get_class(err), ==, ERROR_CLASS_GENERIC_ERROR);
    error_free(err);

    err = NULL;
    g_assert_false(error_helper_fails(-3, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "negative value -3");
    error_free(err);

    err = NULL;
    g_assert_true(error_helper_fails(3, &err));
    g_assert_null(err);

    error_free(NULL);   /* allowed, like g_free */
}

static void test_error_class(void)
{
    Error *err = NULL;

    error_set(&err, ERROR_CLASS_DEVICE_NOT_FOUND, "Device '%s' not found",
              "serial9");
    g_assert_cmpint(error_get_class(err), ==, ERROR_CLASS_DEVICE_NOT_FOUND);
    g_assert_cmpstr(error_get_pretty(err), ==, "Device 'serial9' not found");
    error_free(err);

    err = NULL;
    error_set(&err, ERROR_CLASS_KVM_MISSING_CAP, "no cap");
    g_assert_cmpint(error_get_class(err), ==, ERROR_CLASS_KVM_MISSING_CAP);
    error_free(err);
}

static void test_error_errno(void)
{
    Error *err = NULL;
    g_autofree char *want = g_strdup_printf("open '/x': %s",
                                            g_strerror(ENOENT));

    error_setg_errno(&err, ENOENT, "open '%s'", "/x");
    g_assert_cmpstr(error_get_pretty(err), ==, want);
    g_assert_true(g_str_has_suffix(error_get_pretty(err),
                                   "No such file or directory"));
    error_free(err);
}

static void test_error_prepend(void)
{
    Error *err = NULL;

    error_setg(&err, "inner");
    error_prepend(&err, "outer %d: ", 1);
    error_prepend(&err, "top: ");
    g_assert_cmpstr(error_get_pretty(err), ==, "top: outer 1: inner");
    error_free(err);

    /* Prepending to nothing is a no-op, not a crash. */
    err = NULL;
    error_prepend(&err, "x: ");
    g_assert_null(err);
    error_prepend(NULL, "x: ");
}

static void test_error_propagate(void)
{
    Error *local = NULL, *dst = NULL;

    error_propagate(&dst, NULL);
    g_assert_null(dst);

    error_set(&local, ERROR_CLASS_COMMAND_NOT_FOUND, "cmd");
    error_propagate(&dst, local);
    g_assert_true(dst == local);
    g_assert_cmpint(error_get_class(dst), ==, ERROR_CLASS_COMMAND_NOT_FOUND);
    g_assert_cmpstr(error_get_pretty(dst), ==, "cmd");
    error_free(dst);

    /* To NULL: freed (valgrind/ASan would flag a leak), nothing set. */
    local = NULL;
    error_setg(&local, "dropped");
    error_propagate(NULL, local);
}

static void test_error_null_errp(void)
{
    error_setg(NULL, "ignored %d", 1);
    error_set(NULL, ERROR_CLASS_GENERIC_ERROR, "ignored");
    error_setg_errno(NULL, EIO, "ignored");
    g_assert_false(error_helper_fails(-1, NULL));
    /* error_fatal and error_abort are never written through. */
    g_assert_null(error_fatal);
    g_assert_null(error_abort);
}

static void test_error_autoptr(void)
{
    g_autoptr(Error) err = NULL;

    error_setg(&err, "auto");
    g_assert_cmpstr(error_get_pretty(err), ==, "auto");
}

static void test_error_fatal(void)
{
    if (g_test_subprocess()) {
        error_setg(&error_fatal, "fatal %s", "thing");
        return;   /* not reached */
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("tandem-system-x86_64: fatal thing\n");
}

/*
 * g_test_trap only says "failed"; the exact exit status and signal are part
 * of the contract (scripts check for 1), so fork by hand to see them.
 */
static int error_run_child(void (*fn)(void))
{
    int status;
    pid_t pid = fork();

    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDERR_FILENO);
        fn();
        _exit(0);
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    return status;
}

static void error_child_fatal(void)
{
    Error *local = NULL;

    error_setg(&local, "propagated");
    error_propagate(&error_fatal, local);
}

static void error_child_abort(void)
{
    error_setg(&error_abort, "cannot happen");
}

static void test_error_exit_status(void)
{
    int status = error_run_child(error_child_fatal);

    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);

    status = error_run_child(error_child_abort);
    g_assert_true(WIFSIGNALED(status));
    g_assert_cmpint(WTERMSIG(status), ==, SIGABRT);
}

static void test_error_abort(void)
{
    if (g_test_subprocess()) {
        error_setg(&error_abort, "cannot happen");
        exit(0);
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("tandem-system-x86_64: cannot happen\n*");
}

/* ERRP_GUARD: context is added whatever the caller passed. */
static bool guarded_open(int n, Error **errp)
{
    ERRP_GUARD();

    if (!error_helper_fails(n, errp)) {
        error_prepend(errp, "cannot open unit %d: ", n);
        return false;
    }
    /* *errp may be read even when the caller passed NULL. */
    g_assert_null(*errp);
    return true;
}

static void test_error_guard(void)
{
    Error *err = NULL;

    g_assert_true(guarded_open(1, &err));
    g_assert_null(err);
    g_assert_false(guarded_open(-2, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "cannot open unit -2: negative value -2");
    error_free(err);
    /* NULL: nothing leaks, nothing is reported. */
    g_assert_false(guarded_open(-2, NULL));
    g_assert_true(guarded_open(3, NULL));
    g_assert_true(guarded_open(3, &error_fatal));
    if (g_test_subprocess()) {
        guarded_open(-5, &error_fatal);
        exit(0);
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("tandem-system-x86_64: cannot open unit -5: "
                              "negative value -5\n");
}

/* Setting over an existing error is a bug and must not pass silently. */
static void test_error_double_set(void)
{
    if (g_test_subprocess()) {
        Error *err = NULL;
        error_setg(&err, "first");
        error_setg(&err, "second");
        exit(0);
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
}

static void test_error_report_format(void)
{
    if (g_test_subprocess()) {
        Error *err = NULL;
        error_report("plain %d", 1);
        warn_report("careful");
        error_set_progname("prog");
        error_setg(&err, "from err");
        error_report_err(err);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("tandem-system-x86_64: plain 1\n"
                              "tandem-system-x86_64: warning: careful\n"
                              "prog: from err\n");
}

/* With a -D log set, reports go to both stderr and the log. */
static void test_error_report_log(void)
{
    g_autofree char *dir = NULL, *path = NULL, *contents = NULL;

    if (g_test_subprocess()) {
        g_assert_true(trace_set_log_file(g_getenv("TEST_ERROR_LOG"),
                                         &error_abort));
        error_report("to the log %d", 7);
        warn_report("warned");
        return;
    }
    dir = g_dir_make_tmp("test-error-XXXXXX", NULL);
    g_assert_nonnull(dir);
    path = g_build_filename(dir, "log", NULL);
    g_setenv("TEST_ERROR_LOG", path, TRUE);
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("tandem-system-x86_64: to the log 7\n"
                              "tandem-system-x86_64: warning: warned\n");
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "tandem-system-x86_64: to the log 7\n"
                    "tandem-system-x86_64: warning: warned\n");
    g_unlink(path);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/error/setg", test_error_setg);
    g_test_add_func("/error/class", test_error_class);
    g_test_add_func("/error/errno", test_error_errno);
    g_test_add_func("/error/prepend", test_error_prepend);
    g_test_add_func("/error/propagate", test_error_propagate);
    g_test_add_func("/error/null-errp", test_error_null_errp);
    g_test_add_func("/error/autoptr", test_error_autoptr);
    g_test_add_func("/error/fatal", test_error_fatal);
    g_test_add_func("/error/exit-status", test_error_exit_status);
    g_test_add_func("/error/abort", test_error_abort);
    g_test_add_func("/error/double-set", test_error_double_set);
    g_test_add_func("/error/guard", test_error_guard);
    g_test_add_func("/error/report-format", test_error_report_format);
    g_test_add_func("/error/report-log", test_error_report_log);
    return g_test_run();
}
