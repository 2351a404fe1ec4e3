/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tracing. Every directory with trace points has a `trace-events` file;
 * scripts/tracetool.py turns it into a `trace.h` in that directory's build
 * folder with one `trace_NAME(args)` inline per event, which costs a single
 * predictable branch when the event is off. Enabled events are written by
 * the log backend, one line each:
 *
 *     PID@SECONDS.MICROSECONDS:NAME ARGS
 *
 * to stderr, or to the -D file.
 *
 * Command line: -trace PATTERN, -trace enable=PATTERN, -trace events=FILE
 * (one pattern per line, '#' comments, a leading '-' disables),
 * -trace file=FILE (same as -D), -trace help (list events).
 * Patterns are globs ('*', '?').
 */
#ifndef UTIL_TRACE_H
#define UTIL_TRACE_H

#include <stdarg.h>
#include <stdbool.h>
#include "util/error.h"

typedef struct TraceEvent {
    const char *name;
    bool enabled;           /* read without locks on hot paths */
} TraceEvent;

/* Called by generated code (constructors) once per trace-events file. */
void trace_register_events(TraceEvent *const *events, unsigned count);

/* Enables (or with a leading '-', disables) every event matching pattern.
 * Returns the number matched. */
unsigned trace_enable_pattern(const char *pattern);
/* Handles one -trace argument. */
bool trace_parse_option(const char *arg, Error **errp);
/* -D FILE: where trace lines (and error reports) go. */
bool trace_set_log_file(const char *path, Error **errp);
/* Writes the names of all events, one a line, to stdout. */
void trace_list_events(void);
bool trace_event_enabled(const char *name);
/* Calls fn for every event whose name matches glob (registration order),
 * under the registry's lock: fn must not call back into tracing. */
typedef void TraceEventFn(TraceEvent *ev, void *opaque);
void trace_foreach_event(const char *glob, TraceEventFn *fn, void *opaque);
/* Turns one event on or off; the pattern history (-trace) is unchanged,
 * so an event registered later still follows the command line. */
void trace_event_set(TraceEvent *ev, bool enable);

void trace_log_line(const char *name, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

#endif
