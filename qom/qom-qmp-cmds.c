/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * object-add, object-del and qom-list-types (the type registry's types and
 * the vCPU types of the CPU model table). object-add takes open-ended
 * properties after qom-type and id, so its marshaller is written by hand
 * ('gen': false in qapi/qom.json).
 */
#include <string.h>
#include "qapi/qapi-commands.h"
#include "qom/object.h"
#include "target/i386/cpu-models.h"

void qmp_marshal_object_add(json_object *args, json_object **ret,
                            Error **errp)
{
    json_object *jtype, *jid;
    json_object *props;

    if (!json_object_object_get_ex(args, "qom-type", &jtype)) {
        error_setg(errp, "Parameter 'qom-type' is missing");
        return;
    }
    if (!json_object_object_get_ex(args, "id", &jid)) {
        error_setg(errp, "Parameter 'id' is missing");
        return;
    }
    if (!json_object_is_type(jtype, json_type_string) ||
        !json_object_is_type(jid, json_type_string)) {
        error_setg(errp, "Invalid parameter type for '%s', expected: string",
                   json_object_is_type(jtype, json_type_string) ? "id"
                                                                : "qom-type");
        return;
    }
    /* What is left are the object's own properties. */
    props = json_object_new_object();
    json_object_object_foreach(args, key, val) {
        if (strcmp(key, "qom-type") && strcmp(key, "id")) {
            json_object_object_add(props, key, json_object_get(val));
        }
    }
    if (object_create_json(json_object_get_string(jtype),
                           json_object_get_string(jid), props, errp)) {
        *ret = json_object_new_object();
    }
    json_object_put(props);
}

void qmp_object_del(const char *id, Error **errp)
{
    object_delete(id, errp);
}

typedef struct ListTypesCtx {
    const char *implements;
    bool abstract;
    ObjectTypeInfoList *head, **tail;
} ListTypesCtx;

static bool qom_implements(const TypeInfo *t, const char *name)
{
    /* "user-creatable" is an interface in QEMU; here it is a flag. */
    if (!strcmp(name, "user-creatable")) {
        return t->user_creatable;
    }
    return type_is_a(t, name);
}

static void qom_list_one(const TypeInfo *t, void *opaque)
{
    ListTypesCtx *ctx = opaque;
    ObjectTypeInfoList *node;

    if ((t->abstract && !ctx->abstract) ||
        (ctx->implements && !qom_implements(t, ctx->implements))) {
        return;
    }
    node = g_new0(ObjectTypeInfoList, 1);
    node->value = g_new0(ObjectTypeInfo, 1);
    node->value->name = g_strdup(t->name);
    if (t->abstract) {
        node->value->has_abstract = true;
        node->value->abstract = true;
    }
    node->value->parent = g_strdup(t->parent);
    *ctx->tail = node;
    ctx->tail = &node->next;
}

static void qom_list_add(ListTypesCtx *ctx, const char *name,
                         const char *parent, bool abstract)
{
    ObjectTypeInfoList *node = g_new0(ObjectTypeInfoList, 1);

    node->value = g_new0(ObjectTypeInfo, 1);
    node->value->name = g_strdup(name);
    node->value->has_abstract = abstract;
    node->value->abstract = abstract;
    node->value->parent = g_strdup(parent);
    *ctx->tail = node;
    ctx->tail = &node->next;
}

/*
 * The vCPU types (MODEL-x86_64-cpu under the abstract x86_64-cpu, a
 * cpu, a device) come from the CPU model table, not the type registry.
 */
static void qom_list_cpu_types(ListTypesCtx *ctx)
{
    static const char *const ancestors[] = { "x86_64-cpu", "cpu", "device" };
    bool wanted = !ctx->implements;
    size_t n;
    const X86CPUModel *m = x86_cpu_models(&n);

    for (size_t i = 0; i < G_N_ELEMENTS(ancestors); i++) {
        wanted |= ctx->implements && !strcmp(ctx->implements, ancestors[i]);
    }
    if (!wanted) {
        return;
    }
    if (ctx->abstract) {
        if (!ctx->implements || strcmp(ctx->implements, "device")) {
            qom_list_add(ctx, "x86_64-cpu", "cpu", true);
        }
        if (!ctx->implements || strcmp(ctx->implements, "x86_64-cpu")) {
            qom_list_add(ctx, "cpu", "device", true);
        }
    }
    for (size_t i = 0; i < n; i++) {
        g_autofree char *type = x86_cpu_type_name(m[i].name);

        qom_list_add(ctx, type, "x86_64-cpu", false);
    }
}

ObjectTypeInfoList *qmp_qom_list_types(const char *implements,
                                       bool has_abstract, bool abstract,
                                       Error **errp)
{
    ListTypesCtx ctx = {
        .implements = implements,
        .abstract = has_abstract && abstract,
    };

    ctx.tail = &ctx.head;
    type_foreach(qom_list_one, &ctx);
    qom_list_cpu_types(&ctx);
    return ctx.head;
}
