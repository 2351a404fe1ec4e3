/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Error objects and the reporting helpers (error_report, warn_report).
 * An Error carries a class and a formatted message; &error_fatal and
 * &error_abort are recognised by address so callers at start-up can ask
 * for "report and exit" or "this cannot happen" without checking results.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/error.h"
#include "util-internal.h"

struct Error {
    ErrorClass cls;
    char *msg;
};

/* Only the addresses matter; the pointers themselves always stay NULL. */
Error *error_fatal;
Error *error_abort;

static const char *error_progname = "tandem-system-x86_64";

void error_set_progname(const char *name)
{
    /* Kept for the life of the process, like argv[0]. */
    error_progname = g_strdup(name);
}

static bool error_timestamps;

void error_set_timestamps(bool on)
{
    error_timestamps = on;
}

/*
 * Emits "PROGNAME: PREFIXmsg\n" as one write to stderr and one to the log,
 * so concurrent reports do not interleave mid-line. With -msg timestamp=on
 * the line starts with the UTC time as QEMU writes it (libvirt reads it
 * back from the domain log): "2026-12-03T13:00:00.123456Z ".
 */
static void error_emit(const char *prefix, const char *msg)
{
    g_autofree char *stamp = NULL;
    g_autofree char *line = NULL;

    if (error_timestamps) {
        g_autoptr(GDateTime) now = g_date_time_new_now_utc();

        stamp = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ ");
    }
    line = g_strdup_printf("%s%s: %s%s\n", stamp ?: "", error_progname,
                           prefix, msg);
    size_t len = strlen(line);

    fwrite(line, 1, len, stderr);
    fflush(stderr);
    trace_log_write_raw(line, len);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_emit("", msg);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_emit("warning: ", msg);
}

/* Hands a finished error to its destination; takes ownership of err. */
static void error_deliver(Error **errp, Error *err)
{
    if (errp == &error_abort) {
        error_emit("", err->msg);
        abort();
    }
    if (errp == &error_fatal) {
        error_report_err(err);
        exit(1);
    }
    if (!errp) {
        error_free(err);
        return;
    }
    /* Overwriting would silently lose the first error: a caller bug. */
    assert(*errp == NULL);
    *errp = err;
}

static void error_setv(Error **errp, ErrorClass cls, const char *suffix,
                       const char *fmt, va_list ap)
{
    Error *err;
    char *msg;

    if (!errp) {
        return;   /* nobody wants it; skip the formatting */
    }
    msg = g_strdup_vprintf(fmt, ap);
    if (suffix) {
        char *full = g_strconcat(msg, suffix, NULL);
        g_free(msg);
        msg = full;
    }
    err = g_new0(Error, 1);
    err->cls = cls;
    err->msg = msg;
    error_deliver(errp, err);
}

void error_set(Error **errp, ErrorClass cls, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_setv(errp, cls, NULL, fmt, ap);
    va_end(ap);
}

void error_setg(Error **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_setv(errp, ERROR_CLASS_GENERIC_ERROR, NULL, fmt, ap);
    va_end(ap);
}

void error_setg_errno(Error **errp, int os_errno, const char *fmt, ...)
{
    g_autofree char *suffix = g_strdup_printf(": %s", g_strerror(os_errno));
    va_list ap;

    va_start(ap, fmt);
    error_setv(errp, ERROR_CLASS_GENERIC_ERROR, suffix, fmt, ap);
    va_end(ap);
}

void error_propagate(Error **dst, Error *local_err)
{
    if (!local_err) {
        return;
    }
    error_deliver(dst, local_err);
}

void error_guard_release(ErrorGuard *guard)
{
    if (guard->redirected) {
        guard->redirected = false;
        error_propagate(guard->dest, guard->local);
        guard->local = NULL;
    }
}

void error_prepend(Error **errp, const char *fmt, ...)
{
    va_list ap;
    char *prefix, *msg;

    if (!errp || !*errp) {
        return;
    }
    va_start(ap, fmt);
    prefix = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    msg = g_strconcat(prefix, (*errp)->msg, NULL);
    g_free(prefix);
    g_free((*errp)->msg);
    (*errp)->msg = msg;
}

const char *error_get_pretty(const Error *err)
{
    return err->msg;
}

ErrorClass error_get_class(const Error *err)
{
    return err->cls;
}

void error_free(Error *err)
{
    if (err) {
        g_free(err->msg);
        g_free(err);
    }
}

void error_report_err(Error *err)
{
    error_emit("", err->msg);
    error_free(err);
}
