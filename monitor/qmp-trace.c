/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace-event-get-state and trace-event-set-state (qapi/trace.json):
 * the -trace patterns at run time. As in QEMU, a glob that matches
 * nothing is an empty answer, a plain event name that matches nothing
 * is an error (most likely a typo).
 */
#include <string.h>
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"
#include "util/trace.h"

typedef struct TraceMatch {
    bool set, enable;           /* set-state: what to do to each */
    unsigned matched;
    TraceEventInfoList *head, **tail;
} TraceMatch;

static void trace_match_one(TraceEvent *ev, void *opaque)
{
    TraceMatch *m = opaque;
    TraceEventInfoList *node;

    m->matched++;
    if (m->set) {
        trace_event_set(ev, m->enable);
        return;
    }
    node = g_new0(TraceEventInfoList, 1);
    node->value = g_new0(TraceEventInfo, 1);
    node->value->name = g_strdup(ev->name);
    node->value->state = __atomic_load_n(&ev->enabled, __ATOMIC_RELAXED) ?
                         TRACE_EVENT_STATE_ENABLED :
                         TRACE_EVENT_STATE_DISABLED;
    *m->tail = node;
    m->tail = &node->next;
}

/* false (errp set) for a plain name that names no event. */
static bool trace_match(const char *name, bool has_vcpu, TraceMatch *m,
                        Error **errp)
{
    bool pattern = strpbrk(name, "*?") != NULL;

    m->tail = &m->head;
    if (has_vcpu) {
        /* No event is per vCPU: a pattern matches none of them. */
        if (!pattern) {
            error_setg(errp, "event \"%s\" is not vCPU-specific", name);
            return false;
        }
        return true;
    }
    trace_foreach_event(name, trace_match_one, m);
    if (!m->matched && !pattern) {
        error_setg(errp, "unknown event \"%s\"", name);
        return false;
    }
    return true;
}

TraceEventInfoList *qmp_trace_event_get_state(const char *name,
                                              bool has_vcpu, int64_t vcpu,
                                              Error **errp)
{
    TraceMatch m = { 0 };

    if (!trace_match(name, has_vcpu, &m, errp)) {
        qapi_free_TraceEventInfoList(m.head);
        return NULL;
    }
    return m.head;
}

void qmp_trace_event_set_state(const char *name, bool enable,
                               bool has_ignore_unavailable,
                               bool ignore_unavailable, bool has_vcpu,
                               int64_t vcpu, Error **errp)
{
    TraceMatch m = { .set = true, .enable = enable };

    trace_match(name, has_vcpu, &m, errp);
}
