/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/trace.c. A fake set of events is registered the way
 * generated code does it; the tests then drive globs, '-' disabling,
 * events=FILE, file=FILE and the log line format. The trace state is
 * process-global, so each test first switches every fake event off.
 */
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "util/trace.h"

static TraceEvent ev_kvm_run = { .name = "kvm_run" };
static TraceEvent ev_kvm_exit = { .name = "kvm_exit" };
static TraceEvent ev_serial_read = { .name = "serial_read" };
static TraceEvent ev_serial_write = { .name = "serial_write" };
static TraceEvent ev_pit_a = { .name = "pit_a" };
static TraceEvent ev_pit_b = { .name = "pit_bb" };

static TraceEvent *const fake_events[] = {
    &ev_kvm_run, &ev_kvm_exit, &ev_serial_read, &ev_serial_write,
    &ev_pit_a, &ev_pit_b,
};

static char *test_dir;

static void trace_test_reset(void)
{
    /* >= because /trace/late-registration adds two more events. */
    g_assert_cmpuint(trace_enable_pattern("-*"), >=,
                     G_N_ELEMENTS(fake_events));
    for (size_t i = 0; i < G_N_ELEMENTS(fake_events); i++) {
        g_assert_false(fake_events[i]->enabled);
    }
}

static void test_trace_globs(void)
{
    trace_test_reset();
    g_assert_cmpuint(trace_enable_pattern("kvm_*"), ==, 2);
    g_assert_true(ev_kvm_run.enabled);
    g_assert_true(ev_kvm_exit.enabled);
    g_assert_false(ev_serial_read.enabled);
    g_assert_true(trace_event_enabled("kvm_run"));
    g_assert_false(trace_event_enabled("serial_read"));
    g_assert_false(trace_event_enabled("no_such_event"));

    /* '?' is exactly one character. */
    g_assert_cmpuint(trace_enable_pattern("pit_?"), ==, 1);
    g_assert_true(ev_pit_a.enabled);
    g_assert_false(ev_pit_b.enabled);

    g_assert_cmpuint(trace_enable_pattern("serial_write"), ==, 1);
    g_assert_true(ev_serial_write.enabled);
    g_assert_false(ev_serial_read.enabled);

    g_assert_cmpuint(trace_enable_pattern("*_read"), ==, 1);
    g_assert_true(ev_serial_read.enabled);
    g_assert_cmpuint(trace_enable_pattern("nothing*"), ==, 0);
    g_assert_cmpuint(trace_enable_pattern("kvm"), ==, 0);
}

static void test_trace_disable(void)
{
    trace_test_reset();
    g_assert_cmpuint(trace_enable_pattern("*"), >=, 6);
    g_assert_cmpuint(trace_enable_pattern("-serial_*"), ==, 2);
    g_assert_false(ev_serial_read.enabled);
    g_assert_false(ev_serial_write.enabled);
    g_assert_true(ev_kvm_run.enabled);
    g_assert_true(ev_pit_b.enabled);
    g_assert_cmpuint(trace_enable_pattern("-kvm_exit"), ==, 1);
    g_assert_false(ev_kvm_exit.enabled);
    g_assert_true(ev_kvm_run.enabled);
}

/* Patterns given before a group registers still apply to it. */
static void test_trace_late_registration(void)
{
    static TraceEvent late_one = { .name = "late_one" };
    static TraceEvent late_two = { .name = "late_two" };
    static TraceEvent *const late[] = { &late_one, &late_two };

    g_assert_cmpuint(trace_enable_pattern("late_*"), ==, 0);
    g_assert_cmpuint(trace_enable_pattern("-late_two"), ==, 0);
    trace_register_events(late, G_N_ELEMENTS(late));
    g_assert_true(late_one.enabled);
    g_assert_false(late_two.enabled);
    g_assert_true(trace_event_enabled("late_one"));
    trace_enable_pattern("-late_*");
    g_assert_false(late_one.enabled);
}

static void test_trace_option(void)
{
    Error *err = NULL;

    trace_test_reset();
    g_assert_true(trace_parse_option("kvm_run", &error_abort));
    g_assert_true(ev_kvm_run.enabled);
    g_assert_false(ev_kvm_exit.enabled);
    g_assert_true(trace_parse_option("enable=serial_*", &error_abort));
    g_assert_true(ev_serial_read.enabled);
    g_assert_true(ev_serial_write.enabled);
    g_assert_true(trace_parse_option("-serial_read", &error_abort));
    g_assert_false(ev_serial_read.enabled);

    g_assert_false(trace_parse_option("bogus=1", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "-trace: Invalid parameter 'bogus'");
    error_free(err);
    err = NULL;
    g_assert_false(trace_parse_option("a,a=b", &err));
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    g_assert_false(trace_parse_option("events=/nonexistent/dir/ev", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "/nonexistent/dir/ev"));
    error_free(err);
}

/* A plain name that matches nothing warns; a glob does not. */
static void test_trace_unknown_warns(void)
{
    if (g_test_subprocess()) {
        g_assert_true(trace_parse_option("no_such_event", &error_abort));
        g_assert_true(trace_parse_option("no_such_*", &error_abort));
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*: warning: trace event 'no_such_event' "
                              "does not exist\n");
    g_test_trap_assert_stderr_unmatched("*no_such_\\**");
}

static void test_trace_events_file(void)
{
    g_autofree char *path = g_build_filename(test_dir, "events", NULL);
    g_autofree char *opt = g_strdup_printf("events=%s", path);
    const char *text =
        "# comment line\n"
        "\n"
        "kvm_*\n"
        "  serial_write  \n"
        "   # indented comment\n"
        "-kvm_exit\n"
        "pit_a";     /* no trailing newline */

    trace_test_reset();
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    g_assert_true(trace_parse_option(opt, &error_abort));
    g_assert_true(ev_kvm_run.enabled);
    g_assert_false(ev_kvm_exit.enabled);
    g_assert_true(ev_serial_write.enabled);
    g_assert_false(ev_serial_read.enabled);
    g_assert_true(ev_pit_a.enabled);
    g_assert_false(ev_pit_b.enabled);
    g_unlink(path);
}

/* Checks one "PID@S.US:name args" line. */
static void trace_check_line(const char *line, const char *name,
                             const char *args)
{
    g_autofree char *re = g_strdup_printf("^%d@[0-9]+\\.[0-9]{6}:%s %s$",
                                          (int)getpid(), name, args);
    if (!g_regex_match_simple(re, line, 0, 0)) {
        g_test_message("line '%s' does not match '%s'", line, re);
        g_test_fail();
    }
}

static void test_trace_log_file(void)
{
    g_autofree char *path = g_build_filename(test_dir, "log", NULL);
    g_autofree char *opt = g_strdup_printf("file=%s,enable=pit_*", path);
    g_autofree char *contents = NULL;
    g_auto(GStrv) lines = NULL;
    gint64 before = g_get_real_time() / G_USEC_PER_SEC;
    g_autofree char *long_arg = g_strnfill(2000, 'x');

    trace_test_reset();
    g_assert_true(trace_parse_option(opt, &error_abort));
    g_assert_true(ev_pit_a.enabled);
    g_assert_true(ev_pit_b.enabled);
    trace_log_line("pit_a", "ch=%d mode=0x%x", 2, 0x34);
    trace_log_line("pit_bb", "%s", "");
    trace_log_line("pit_a", "s=%s", long_arg);   /* past the stack buffer */
    g_assert_true(trace_set_log_file(NULL, &error_abort));

    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_assert_true(g_str_has_suffix(contents, "\n"));
    lines = g_strsplit(contents, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 4);   /* 3 + empty tail */
    trace_check_line(lines[0], "pit_a", "ch=2 mode=0x34");
    trace_check_line(lines[1], "pit_bb", "");
    trace_check_line(lines[2], "pit_a", "s=x{2000}");
    g_assert_cmpstr(lines[3], ==, "");

    /* Seconds are wall-clock seconds. */
    gint64 secs = g_ascii_strtoll(strchr(lines[0], '@') + 1, NULL, 10);
    g_assert_cmpint(secs, >=, before);
    g_assert_cmpint(secs, <=, before + 60);

    /* O_APPEND: reopening adds, never truncates. */
    g_assert_true(trace_set_log_file(path, &error_abort));
    trace_log_line("pit_a", "again");
    g_assert_true(trace_set_log_file(NULL, &error_abort));
    g_free(contents);
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_assert_true(g_str_has_prefix(contents, lines[0]));
    g_assert_true(g_str_has_suffix(contents, ":pit_a again\n"));
    g_unlink(path);
}

static void test_trace_log_file_error(void)
{
    Error *err = NULL;

    g_assert_false(trace_set_log_file("/nonexistent/dir/log", &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), "/nonexistent/dir/log"));
    error_free(err);
}

/* Many threads logging at once: every line must arrive whole. */
#define LOG_THREADS 8
#define LOG_LINES 500

static gpointer trace_log_thread(gpointer opaque)
{
    for (int i = 0; i < LOG_LINES; i++) {
        trace_log_line("kvm_run", "thread=%d i=%d pad=%s",
                       GPOINTER_TO_INT(opaque), i,
                       "................................................");
    }
    return NULL;
}

static void test_trace_log_threads(void)
{
    g_autofree char *path = g_build_filename(test_dir, "threads", NULL);
    g_autofree char *contents = NULL;
    g_auto(GStrv) lines = NULL;
    GThread *th[LOG_THREADS];

    g_assert_true(trace_set_log_file(path, &error_abort));
    for (int i = 0; i < LOG_THREADS; i++) {
        th[i] = g_thread_new("log", trace_log_thread, GINT_TO_POINTER(i));
    }
    for (int i = 0; i < LOG_THREADS; i++) {
        g_thread_join(th[i]);
    }
    g_assert_true(trace_set_log_file(NULL, &error_abort));
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    lines = g_strsplit(contents, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, LOG_THREADS * LOG_LINES + 1);
    for (guint i = 0; i < LOG_THREADS * LOG_LINES; i++) {
        trace_check_line(lines[i], "kvm_run",
                         "thread=[0-7] i=[0-9]+ pad=\\.{48}");
    }
    g_unlink(path);
}

static void test_trace_help(void)
{
    if (g_test_subprocess()) {
        trace_parse_option("help", NULL);
        exit(3);   /* must not get here: help exits 0 */
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("kvm_run\nkvm_exit\nserial_read\n"
                              "serial_write\npit_a\npit_bb\n*");
}

static void test_trace_list(void)
{
    if (g_test_subprocess()) {
        trace_list_events();
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("*\nserial_write\n*");
    g_test_trap_assert_stdout("kvm_run\n*pit_bb\n*");
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    trace_register_events(fake_events, G_N_ELEMENTS(fake_events));
    test_dir = g_dir_make_tmp("test-trace-XXXXXX", NULL);
    g_assert_nonnull(test_dir);

    g_test_add_func("/trace/globs", test_trace_globs);
    g_test_add_func("/trace/disable", test_trace_disable);
    g_test_add_func("/trace/late-registration", test_trace_late_registration);
    g_test_add_func("/trace/option", test_trace_option);
    g_test_add_func("/trace/unknown-warns", test_trace_unknown_warns);
    g_test_add_func("/trace/events-file", test_trace_events_file);
    g_test_add_func("/trace/log-file", test_trace_log_file);
    g_test_add_func("/trace/log-file-error", test_trace_log_file_error);
    g_test_add_func("/trace/log-threads", test_trace_log_threads);
    g_test_add_func("/trace/help", test_trace_help);
    g_test_add_func("/trace/list", test_trace_list);
    ret = g_test_run();
    g_rmdir(test_dir);
    g_free(test_dir);
    return ret;
}
