/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The user's side of the device registry: the help texts of -device and
 * HMP device_add, and the QMP commands device_add and device_del.
 * device_add takes open-ended properties after driver, id and bus, so its
 * marshaller is written by hand ('gen': false in qapi/qdev.json).
 */
#include <string.h>
#include "hw/core/qdev.h"
#include "qapi/qapi-commands.h"

static const char *const category_titles[DEVICE_CATEGORY__MAX] = {
    [DEVICE_CATEGORY_BRIDGE] = "Controller/Bridge/Hub devices",
    [DEVICE_CATEGORY_STORAGE] = "Storage devices",
    [DEVICE_CATEGORY_NETWORK] = "Network devices",
    [DEVICE_CATEGORY_INPUT] = "Input devices",
    [DEVICE_CATEGORY_DISPLAY] = "Display devices",
    [DEVICE_CATEGORY_MISC] = "Misc devices",
    [DEVICE_CATEGORY_UNCATEGORIZED] = "Uncategorized devices",
};

typedef struct HelpTypesCtx {
    DeviceCategory category;
    GString *section;
} HelpTypesCtx;

static void qdev_help_one_type(const TypeInfo *t, void *opaque)
{
    HelpTypesCtx *ctx = opaque;
    const DeviceClass *dc = device_class_of(t);

    if (!dc || t->abstract || dc->no_user || dc->category != ctx->category) {
        return;
    }
    g_string_append_printf(ctx->section, "name \"%s\", bus %s", t->name,
                           bus_kind_name(dc->bus_kind));
    if (t->description) {
        g_string_append_printf(ctx->section, ", desc \"%s\"", t->description);
    }
    if (dc->hotpluggable) {
        g_string_append(ctx->section, ", hotpluggable");
    }
    g_string_append_c(ctx->section, '\n');
}

char *qdev_help_types(void)
{
    /* QEMU's order: the categories in enum order, uncategorized last. */
    static const DeviceCategory order[] = {
        DEVICE_CATEGORY_BRIDGE, DEVICE_CATEGORY_STORAGE,
        DEVICE_CATEGORY_NETWORK, DEVICE_CATEGORY_INPUT,
        DEVICE_CATEGORY_DISPLAY, DEVICE_CATEGORY_MISC,
        DEVICE_CATEGORY_UNCATEGORIZED,
    };
    GString *out = g_string_new(NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
        HelpTypesCtx ctx = { .category = order[i],
                             .section = g_string_new(NULL) };

        type_foreach(qdev_help_one_type, &ctx);
        if (ctx.section->len) {
            g_string_append_printf(out, "%s%s:\n%s", out->len ? "\n" : "",
                                   category_titles[order[i]],
                                   ctx.section->str);
        }
        g_string_free(ctx.section, TRUE);
    }
    return g_string_free(out, FALSE);
}

/* A default worth printing: given, and (for ranged properties) inside
 * the range; a sentinel outside it means "derived", which the
 * description explains. */
static bool qdev_default_shown(const ObjectProperty *p)
{
    uint64_t v;

    if (!p->default_value) {
        return false;
    }
    if (!p->has_range) {
        return true;
    }
    return parse_uint(p->default_value, &v, NULL) && v >= p->min &&
           v <= p->max;
}

static void qdev_help_one_prop(const ObjectProperty *p, void *opaque)
{
    GString *out = opaque;
    g_autofree char *head = g_strdup_printf("%s=<%s>", p->name,
                                            object_prop_type_name(p));

    g_string_append_printf(out, "  %-24s - %s", head, p->desc ?: "");
    if (p->has_range) {
        g_string_append_printf(out, " (%" G_GUINT64_FORMAT "-%"
                               G_GUINT64_FORMAT "%s", p->min, p->max,
                               p->required || qdev_default_shown(p) ? ", "
                                                                    : ")");
    } else if (p->required || qdev_default_shown(p)) {
        g_string_append(out, " (");
    }
    if (p->required) {
        g_string_append(out, "required)");
    } else if (qdev_default_shown(p)) {
        g_string_append_printf(out, "default: %s)", p->default_value);
    }
    g_string_append_c(out, '\n');
}

char *qdev_help_props(const char *type, Error **errp)
{
    const DeviceClass *dc = device_class_of(type_find(type));
    GString *out;
    size_t header;

    if (!dc || dc->type.abstract || dc->no_user) {
        error_setg(errp, "'%s' is not a valid device model name", type);
        return NULL;
    }
    out = g_string_new(NULL);
    g_string_append_printf(out, "%s options:\n", type);
    header = out->len;
    object_foreach_prop(&dc->type, qdev_help_one_prop, out);
    if (out->len == header) {
        g_string_truncate(out, 0);
        g_string_append_printf(out, "There are no options for %s.\n", type);
    }
    return g_string_free(out, FALSE);
}

bool qdev_help_requested(const char *optarg, char **text, Error **errp)
{
    g_autoptr(KeyvalList) kv = NULL;
    const char *driver;

    *text = NULL;
    if (!strcmp(optarg, "help") || !strcmp(optarg, "?")) {
        *text = qdev_help_types();
        return true;
    }
    if (optarg[0] == '{') {
        return true;
    }
    /* A malformed argument is not a help request; creating it reports. */
    kv = keyval_parse(optarg, "driver", NULL);
    if (!kv || !keyval_get(kv, "help")) {
        return true;
    }
    driver = keyval_get(kv, "driver");
    if (!driver) {
        *text = qdev_help_types();
        return true;
    }
    *text = qdev_help_props(driver, errp);
    return *text != NULL;
}

/* ---- QMP ---- */

void qmp_marshal_device_add(json_object *args, json_object **ret,
                            Error **errp)
{
    if (qdev_device_add_json(args, errp)) {
        *ret = json_object_new_object();
    }
}

void qmp_device_del(const char *id, Error **errp)
{
    qdev_device_del(id, errp);
}
