/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP's QOM commands, in QEMU's spellings and texts: object_add and
 * object_del (what -object and object-add/object-del do), qom-list,
 * qom-get and qom-set. An operator types them where a runbook says
 * `virsh qemu-monitor-command --hmp`, e.g. to switch a COLO filter off:
 * `qom-set /objects/f0 status off`.
 */
#include <string.h>
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"
#include "qom/object.h"

/* object_add [qom-type=]TYPE,id=ID[,prop=value...] (or the JSON form) */
void hmp_object_add(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "object_add TYPE,id=ID[,prop=value][,...]", .min = 1,
        .max = 1, .rest = true,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    Error *err = NULL;

    if (w) {
        object_create_cmdline(w[0], &err);
        hmp_handle_error(hmp, err);
    }
}

void hmp_object_del(HmpContext *hmp, const char *args)
{
    hmp_one_word(hmp, args, "object_del ID", qmp_object_del);
}

/* info qom-tree [PATH]: the tree under PATH (/machine by default). */
void hmp_info_qom_tree(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "info qom-tree [PATH]", .max = 1,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    g_autofree char *text = NULL;

    if (!w) {
        return;
    }
    text = qom_tree_text(w[0] ? w[0] : "/machine");
    hmp_printf(hmp, "%s", text);
}

/* qom-list [PATH]: "name (type)" per property and child; "/" alone
 * without a path, as QEMU answers. */
void hmp_qom_list(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "qom-list [PATH]", .max = 1,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    g_autoptr(ObjectPropertyInfoList) list = NULL;
    Error *err = NULL;

    if (!w) {
        return;
    }
    if (!w[0]) {
        hmp_printf(hmp, "/\n");
        return;
    }
    list = qmp_qom_list(w[0], &err);
    if (err) {
        hmp_handle_error(hmp, err);
        return;
    }
    for (ObjectPropertyInfoList *l = list; l; l = l->next) {
        hmp_printf(hmp, "%s (%s)\n", l->value->name, l->value->type);
    }
}

/* qom-get PATH PROPERTY: the value as pretty JSON, as QEMU prints it. */
void hmp_qom_get(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "qom-get PATH PROPERTY", .min = 2, .max = 2,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    json_object *value;
    Error *err = NULL;

    if (!w) {
        return;
    }
    value = qmp_qom_get(w[0], w[1], &err);
    if (err) {
        hmp_handle_error(hmp, err);
        return;
    }
    hmp_printf(hmp, "%s\n", json_object_to_json_string_ext(
                   value, JSON_C_TO_STRING_PRETTY |
                   JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(value);
}

/*
 * qom-set [-j] PATH PROPERTY VALUE: VALUE is text parsed by the
 * property's type ("off", "42", "1M"), or with -j a JSON value. The
 * value is the rest of the line, so a JSON value may hold blanks.
 */
void hmp_qom_set(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "qom-set [-j] PATH PROPERTY VALUE", .flags = "j", .min = 3,
        .max = 3, .rest = true,
    };
    bool json = false;
    g_auto(GStrv) a = hmp_args(hmp, args, &spec, &json);
    Object *obj;
    Error *err = NULL;

    if (!a) {
        return;
    }
    if (json) {
        enum json_tokener_error jerr;
        json_object *value = json_tokener_parse_verbose(a[2], &jerr);

        if (jerr != json_tokener_success) {
            hmp_printf(hmp, "Error: VALUE is not JSON: %s\n",
                       json_tokener_error_desc(jerr));
            return;
        }
        qmp_qom_set(a[0], a[1], value, &err);
        json_object_put(value);
    } else if ((obj = qom_settable_object(a[0], a[1], &err))) {
        object_set_prop_live_text(obj, a[1], a[2], &err);
    }
    hmp_handle_error(hmp, err);
}
