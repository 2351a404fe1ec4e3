/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Monitor plumbing shared by QMP and HMP: the monitor I/O thread, the list
 * of QMP monitors that events are broadcast to, and the command-line
 * options that create monitors (-qmp, -qmp-pretty, -monitor, -mon).
 */
#include <string.h>
#include <sys/time.h>
#include "monitor-internal.h"
#include "qapi/qmp-dispatch.h"
#include "util/context-thread.h"
#include "util/keyval.h"
#include "trace.h"

static ContextThread *mon_iothread;

/* Guards qmp_monitors: events are emitted from any thread. */
static GMutex monitors_lock;
static GPtrArray *qmp_monitors;

GMainContext *monitor_iothread_context(void)
{
    return mon_iothread ? context_thread_get_context(mon_iothread) : NULL;
}

void monitor_init_globals(void)
{
    if (mon_iothread) {
        return;
    }
    qmp_monitors = g_ptr_array_new();
    mon_iothread = context_thread_new("IO mon_iothread");
}

void monitor_cleanup(void)
{
    if (!mon_iothread) {
        return;
    }
    /* Stop the I/O thread first: nothing may run on a monitor we free. */
    context_thread_stop(mon_iothread);

    g_mutex_lock(&monitors_lock);
    for (guint i = 0; i < qmp_monitors->len; i++) {
        qmp_monitor_free(g_ptr_array_index(qmp_monitors, i));
    }
    g_ptr_array_set_size(qmp_monitors, 0);
    g_mutex_unlock(&monitors_lock);
    context_thread_free(mon_iothread);
    mon_iothread = NULL;
}

void monitor_register_qmp(QmpMonitor *mon)
{
    g_mutex_lock(&monitors_lock);
    g_ptr_array_add(qmp_monitors, mon);
    g_mutex_unlock(&monitors_lock);
}

void qapi_event_emit(const char *name, json_object *data)
{
    json_object *event = json_object_new_object();
    json_object *ts = json_object_new_object();
    struct timeval tv;

    if (gettimeofday(&tv, NULL) < 0) {
        tv.tv_sec = tv.tv_usec = -1;
    }
    json_object_object_add(ts, "seconds", json_object_new_int64(tv.tv_sec));
    json_object_object_add(ts, "microseconds",
                           json_object_new_int64(tv.tv_usec));
    json_object_object_add(event, "timestamp", ts);
    json_object_object_add(event, "event", json_object_new_string(name));
    if (data) {
        json_object_object_add(event, "data", data);
    }
    trace_qapi_event_emit(name);
    g_mutex_lock(&monitors_lock);
    for (guint i = 0; qmp_monitors && i < qmp_monitors->len; i++) {
        qmp_monitor_emit_event(g_ptr_array_index(qmp_monitors, i), event);
    }
    g_mutex_unlock(&monitors_lock);
    json_object_put(event);
}

bool monitor_new_qmp(Chardev *chr, bool pretty, Error **errp)
{
    monitor_init_globals();
    return qmp_monitor_new(chr, pretty, errp) != NULL;
}

/* -mon [chardev=]ID[,mode=control|readline][,pretty=on|off][,id=X] */
bool monitor_parse_mon_option(const char *optarg, Error **errp)
{
    static const char *const known[] = { "chardev", "mode", "pretty", "id",
                                         NULL };
    g_autoptr(KeyvalList) kv = keyval_parse(optarg, "chardev", errp);
    const char *id, *mode;
    Chardev *chr;
    bool pretty;

    if (!kv || !keyval_check_known(kv, known, NULL, errp) ||
        !keyval_get_bool(kv, "pretty", false, &pretty, errp)) {
        return false;
    }
    id = keyval_get(kv, "chardev");
    if (!id) {
        error_setg(errp, "Parameter 'chardev' is missing");
        return false;
    }
    chr = chardev_find(id);
    if (!chr) {
        error_setg(errp, "chardev \"%s\" not found", id);
        return false;
    }
    mode = keyval_get(kv, "mode");
    if (!mode || !strcmp(mode, "readline")) {
        if (pretty) {
            error_setg(errp, "'pretty' is not compatible with HMP monitors");
            return false;
        }
        return monitor_new_hmp(chr, errp);
    }
    if (!strcmp(mode, "control")) {
        return monitor_new_qmp(chr, pretty, errp);
    }
    error_setg(errp, "Parameter 'mode' does not accept value '%s'", mode);
    return false;
}

/* -qmp DEV, -qmp-pretty DEV, -monitor DEV: DEV spelled as for -serial. */
bool monitor_parse_legacy(const char *dev, bool qmp, bool pretty,
                          Error **errp)
{
    static unsigned counter;
    g_autofree char *id = g_strdup_printf("compat_monitor%u", counter++);
    Chardev *chr;

    if (!strcmp(dev, "none")) {
        return true;
    }
    chr = chardev_new_legacy(id, dev, errp);
    if (!chr) {
        return false;
    }
    return qmp ? monitor_new_qmp(chr, pretty, errp)
               : monitor_new_hmp(chr, errp);
}
