/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trace runtime: a registry of the events that generated trace.c files
 * hand in from constructors, glob-based enabling from -trace, and the log
 * backend that writes enabled events (and, via util-internal.h, error
 * reports) to stderr or the -D file. vCPU threads trace concurrently, so
 * every line is formatted privately and written with a single write(2).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include "util/keyval.h"
#include "util/trace.h"
#include "util-internal.h"

/*
 * Guards the registry, the pattern history and the log fd. The hot path
 * (TraceEvent.enabled) never takes it; writers take it only for the write
 * itself so a -D switch cannot close the fd under them.
 */
static GMutex trace_lock;
static GPtrArray *trace_events;     /* of TraceEvent *, registration order */
/* Every pattern applied so far, in order, so events registered later
 * (e.g. by a late constructor) end up in the state the user asked for. */
static GPtrArray *trace_patterns;   /* of char * */
static int trace_log_fd = -1;       /* -1: stderr */

/* Applies one pattern to one event; returns whether it matched. */
static bool trace_apply(const char *pattern, TraceEvent *ev)
{
    bool enable = pattern[0] != '-';
    const char *glob = enable ? pattern : pattern + 1;

    if (!g_pattern_match_simple(glob, ev->name)) {
        return false;
    }
    __atomic_store_n(&ev->enabled, enable, __ATOMIC_RELAXED);
    return true;
}

void trace_register_events(TraceEvent *const *events, unsigned count)
{
    g_mutex_lock(&trace_lock);
    if (!trace_events) {
        trace_events = g_ptr_array_new();
    }
    for (unsigned i = 0; i < count; i++) {
        g_ptr_array_add(trace_events, events[i]);
        for (guint p = 0; trace_patterns && p < trace_patterns->len; p++) {
            trace_apply(trace_patterns->pdata[p], events[i]);
        }
    }
    g_mutex_unlock(&trace_lock);
}

unsigned trace_enable_pattern(const char *pattern)
{
    unsigned matched = 0;

    g_mutex_lock(&trace_lock);
    if (!trace_patterns) {
        trace_patterns = g_ptr_array_new_with_free_func(g_free);
    }
    g_ptr_array_add(trace_patterns, g_strdup(pattern));
    for (guint i = 0; trace_events && i < trace_events->len; i++) {
        matched += trace_apply(pattern, trace_events->pdata[i]);
    }
    g_mutex_unlock(&trace_lock);
    return matched;
}

/*
 * A user-typed pattern. A plain name that matches nothing is most likely a
 * typo, so say so; a glob that matches nothing is not worth a warning
 * (e.g. "-trace 'virtio_*'" on a machine without virtio).
 */
static void trace_enable_user_pattern(const char *pattern)
{
    const char *glob = pattern[0] == '-' ? pattern + 1 : pattern;

    if (trace_enable_pattern(pattern) == 0 && !strpbrk(glob, "*?")) {
        warn_report("trace event '%s' does not exist", glob);
    }
}

static bool trace_read_events_file(const char *path, Error **errp)
{
    FILE *f = fopen(path, "re");
    char *line = NULL;
    size_t cap = 0;

    if (!f) {
        error_setg_errno(errp, errno, "Could not open trace events file '%s'",
                         path);
        return false;
    }
    while (getline(&line, &cap, f) != -1) {
        char *p = g_strstrip(line);
        if (*p && *p != '#') {
            trace_enable_user_pattern(p);
        }
    }
    if (ferror(f)) {
        error_setg_errno(errp, errno, "Could not read trace events file '%s'",
                         path);
        free(line);
        fclose(f);
        return false;
    }
    free(line);
    fclose(f);
    return true;
}

/*
 * "help" lists the events and exits, as QEMU does: it is only meaningful on
 * the command line, where continuing to boot would bury the list.
 */
bool trace_parse_option(const char *arg, Error **errp)
{
    static const char *const known[] = { "enable", "events", "file", NULL };
    g_autoptr(KeyvalList) kv = keyval_parse(arg, "enable", errp);
    const char *enable, *events, *file;

    if (!kv || !keyval_check_known(kv, known, "-trace", errp)) {
        return false;
    }
    enable = keyval_get(kv, "enable");
    events = keyval_get(kv, "events");
    file = keyval_get(kv, "file");

    if (enable && !strcmp(enable, "help")) {
        trace_list_events();
        exit(0);
    }
    if (file && !trace_set_log_file(file, errp)) {
        return false;
    }
    if (events && !trace_read_events_file(events, errp)) {
        return false;
    }
    if (enable) {
        trace_enable_user_pattern(enable);
    }
    return true;
}

/* path NULL switches back to stderr. */
bool trace_set_log_file(const char *path, Error **errp)
{
    int fd = -1, old;

    if (path) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            error_setg_errno(errp, errno, "Could not open log file '%s'", path);
            return false;
        }
    }
    g_mutex_lock(&trace_lock);
    old = trace_log_fd;
    trace_log_fd = fd;
    g_mutex_unlock(&trace_lock);
    if (old >= 0) {
        close(old);
    }
    return true;
}

void trace_list_events(void)
{
    g_mutex_lock(&trace_lock);
    for (guint i = 0; trace_events && i < trace_events->len; i++) {
        printf("%s\n", ((TraceEvent *)trace_events->pdata[i])->name);
    }
    g_mutex_unlock(&trace_lock);
    fflush(stdout);
}

bool trace_event_enabled(const char *name)
{
    bool enabled = false;

    g_mutex_lock(&trace_lock);
    for (guint i = 0; trace_events && i < trace_events->len; i++) {
        TraceEvent *ev = trace_events->pdata[i];
        if (!strcmp(ev->name, name)) {
            enabled = __atomic_load_n(&ev->enabled, __ATOMIC_RELAXED);
            break;
        }
    }
    g_mutex_unlock(&trace_lock);
    return enabled;
}

void trace_foreach_event(const char *glob, TraceEventFn *fn, void *opaque)
{
    g_mutex_lock(&trace_lock);
    for (guint i = 0; trace_events && i < trace_events->len; i++) {
        TraceEvent *ev = trace_events->pdata[i];

        if (g_pattern_match_simple(glob, ev->name)) {
            fn(ev, opaque);
        }
    }
    g_mutex_unlock(&trace_lock);
}

void trace_event_set(TraceEvent *ev, bool enable)
{
    __atomic_store_n(&ev->enabled, enable, __ATOMIC_RELAXED);
}

/* Loops only for short writes (signals, pipes); errors are dropped because
 * there is nowhere left to report them. */
static void trace_write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }
        buf += n;
        len -= n;
    }
}

void trace_log_write_raw(const char *buf, size_t len)
{
    g_mutex_lock(&trace_lock);
    if (trace_log_fd >= 0) {
        trace_write_all(trace_log_fd, buf, len);
    }
    g_mutex_unlock(&trace_lock);
}

void trace_log_line(const char *name, const char *fmt, ...)
{
    int saved_errno = errno;   /* trace points sit between syscalls */
    char stack_buf[512];
    char *buf = stack_buf;
    struct timeval tv;
    va_list ap;
    int head, body;

    gettimeofday(&tv, NULL);
    head = snprintf(stack_buf, sizeof(stack_buf), "%d@%ld.%06ld:%s ",
                    (int)getpid(), (long)tv.tv_sec, (long)tv.tv_usec, name);
    va_start(ap, fmt);
    body = head < (int)sizeof(stack_buf) - 1
        ? vsnprintf(stack_buf + head, sizeof(stack_buf) - head, fmt, ap)
        : (int)sizeof(stack_buf);
    va_end(ap);
    if (body < 0) {
        body = 0;   /* an encoding error: log the name at least */
    }

    /* +1 for the newline: it must fit too, in the same write. */
    if (head + body + 1 >= (int)sizeof(stack_buf)) {
        g_autofree char *args = NULL;

        va_start(ap, fmt);
        args = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        buf = g_strdup_printf("%d@%ld.%06ld:%s %s", (int)getpid(),
                              (long)tv.tv_sec, (long)tv.tv_usec, name, args);
        head = strlen(buf);
        body = 0;
        buf = g_realloc(buf, head + 2);
    }
    buf[head + body] = '\n';

    g_mutex_lock(&trace_lock);
    trace_write_all(trace_log_fd >= 0 ? trace_log_fd : STDERR_FILENO,
                    buf, head + body + 1);
    g_mutex_unlock(&trace_lock);

    if (buf != stack_buf) {
        g_free(buf);
    }
    errno = saved_errno;
}
