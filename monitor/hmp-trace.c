/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP's tracing commands, as QEMU spells and prints them:
 * `trace-event NAME|PATTERN on|off` and `info trace-events [PATTERN]`
 * ("NAME : state 0|1" per event).
 */
#include <string.h>
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"
#include "util/keyval.h"

void hmp_trace_event(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "trace-event NAME on|off", .min = 2, .max = 2,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    Error *err = NULL;
    bool on;

    if (!w) {
        return;
    }
    if (!parse_bool(w[1], &on, &err)) {
        hmp_handle_error(hmp, err);
        return;
    }
    qmp_trace_event_set_state(w[0], on, false, false, false, 0, &err);
    hmp_handle_error(hmp, err);
}

void hmp_info_trace_events(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "info trace-events [PATTERN]", .max = 1,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    g_autoptr(TraceEventInfoList) list = NULL;
    Error *err = NULL;

    if (!w) {
        return;
    }
    list = qmp_trace_event_get_state(w[0] ? w[0] : "*", false, 0, &err);
    if (err) {
        hmp_handle_error(hmp, err);
        return;
    }
    for (TraceEventInfoList *l = list; l; l = l->next) {
        hmp_printf(hmp, "%s : state %u\n", l->value->name,
                   l->value->state == TRACE_EVENT_STATE_ENABLED);
    }
}
