/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Error reporting. A fallible function takes `Error **errp` as its last
 * argument and returns bool (true on success); it sets *errp exactly when it
 * returns false. The consumer decides whether to report, propagate or
 * ignore; nobody both reports and returns. errp may be NULL (ignore),
 * &error_fatal (report and exit(1), for start-up only) or &error_abort
 * (a programming error: abort).
 *
 * The error class is what QMP puts in "class"; almost everything is
 * ERROR_CLASS_GENERIC_ERROR.
 */
#ifndef UTIL_ERROR_H
#define UTIL_ERROR_H

#include <glib.h>
#include <stdbool.h>

typedef enum ErrorClass {
    ERROR_CLASS_GENERIC_ERROR,
    ERROR_CLASS_COMMAND_NOT_FOUND,
    ERROR_CLASS_DEVICE_NOT_ACTIVE,
    ERROR_CLASS_DEVICE_NOT_FOUND,
    ERROR_CLASS_KVM_MISSING_CAP,
} ErrorClass;

typedef struct Error Error;

extern Error *error_fatal;
extern Error *error_abort;

void error_set(Error **errp, ErrorClass cls, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
void error_setg(Error **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Appends ": strerror(os_errno)". */
void error_setg_errno(Error **errp, int os_errno, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* Moves local_err into *dst (or handles fatal/abort/NULL like error_set). */
void error_propagate(Error **dst, Error *local_err);
/* Prefixes the message of an error already set in *errp. */
void error_prepend(Error **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

const char *error_get_pretty(const Error *err);
ErrorClass error_get_class(const Error *err);
void error_free(Error *err);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Error, error_free)

/*
 * ERRP_GUARD(): first statement of a function taking Error **errp, so that
 * the function may add context with error_prepend() and test *errp after
 * a call, whatever the caller passed. When errp is NULL, &error_fatal or
 * &error_abort, errp is pointed at a local Error for the rest of the
 * function, and that Error goes to the caller's destination when the
 * function returns (so &error_fatal exits with the prepended message,
 * NULL drops it). Otherwise errp is left alone and nothing happens at
 * return. This replaces the local Error + error_propagate() pattern.
 */
typedef struct ErrorGuard {
    Error *local;
    Error **dest;
    bool redirected;
} ErrorGuard;

void error_guard_release(ErrorGuard *guard);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ErrorGuard, error_guard_release)

#define ERRP_GUARD()                                                     \
    g_auto(ErrorGuard) errp_guard_ = { .dest = errp };                   \
    do {                                                                 \
        if (!errp || errp == &error_fatal || errp == &error_abort) {     \
            errp_guard_.redirected = true;                               \
            errp = &errp_guard_.local;                                   \
        }                                                                \
    } while (0)

/* Prints "PROGNAME: message" on stderr (and the -D log) and frees err. */
void error_report_err(Error *err);
void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Name printed before messages; defaults to "tandem-system-x86_64". */
void error_set_progname(const char *name);
/* -msg timestamp=on: reports start with the UTC time. */
void error_set_timestamps(bool on);

#endif
