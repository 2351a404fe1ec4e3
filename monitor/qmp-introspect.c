/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What management software asks to learn what this binary and this VM
 * are made of (libvirt's capability probe and its start-up queries):
 * device and class properties, the QOM tree (qom-list, qom-get, HMP's
 * info qom-tree), vCPU
 * topology and hotplug slots, and the SEV/SGX capability queries, all
 * with QEMU 7.2's shapes and error texts.
 *
 * The QOM tree is not a tree of objects here: it is drawn on demand
 * from the registries that exist (devices, -object objects, vCPUs):
 *
 *   /                          machine, objects
 *   /machine                   peripheral, peripheral-anon, unattached
 *   /machine/peripheral/ID     a device with an id
 *   /machine/peripheral-anon/device[N]
 *                              the N-th device without one
 *   /machine/unattached/device[N]
 *                              vCPU N (query-cpus-fast's qom-path)
 *   /objects/ID                an -object / object-add object
 */
#include <string.h>
#include "hw/core/qdev.h"
#include "hw/i386/pc-types.h"
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"
#include "system/cpus.h"
#include "system/vl.h"
#include "target/i386/cpu-models.h"

/* The vCPU type follows -cpu: "MODEL-x86_64-cpu" (its properties are in
 * target/i386/cpu-props.c). */
static const char *qom_cpu_type(void)
{
    static char *name;

    g_free(name);
    name = x86_cpu_type_name(x86_cpu_current_config()->model->name);
    return name;
}

/* ---- property lists ---- */

typedef struct PropListCtx {
    const TypeInfo *type;
    bool with_defaults;
    ObjectPropertyInfoList *head, **tail;
} PropListCtx;

static void prop_list_add(PropListCtx *ctx, const char *name,
                          const char *type, const char *desc,
                          json_object *def)
{
    ObjectPropertyInfoList *node = g_new0(ObjectPropertyInfoList, 1);

    node->value = g_new0(ObjectPropertyInfo, 1);
    node->value->name = g_strdup(name);
    node->value->type = g_strdup(type);
    node->value->description = g_strdup(desc);
    node->value->default_value = def;
    *ctx->tail = node;
    ctx->tail = &node->next;
}

/* Device properties are qdev properties, whose string type QEMU names
 * "str"; -object properties say "string". */
static const char *prop_type_name(const TypeInfo *type,
                                  const ObjectProperty *p)
{
    if (p->type == OBJ_PROP_STR && device_class_of(type)) {
        return "str";
    }
    return object_prop_type_name(p);
}

static void prop_list_one(const ObjectProperty *p, void *opaque)
{
    PropListCtx *ctx = opaque;

    prop_list_add(ctx, p->name, prop_type_name(ctx->type, p), p->desc,
                  ctx->with_defaults ? object_prop_default_json(p) : NULL);
}

/* What every object of the type has besides its table: "type", and for
 * devices the state qom-get answers. */
static void prop_list_common(PropListCtx *ctx)
{
    prop_list_add(ctx, "type", "string", NULL, NULL);
    if (device_class_of(ctx->type)) {
        prop_list_add(ctx, "realized", "bool", NULL, NULL);
        prop_list_add(ctx, "hotpluggable", "bool", NULL, NULL);
    }
}

static void prop_list_cpu_one(const char *name, const char *type,
                              void *opaque)
{
    prop_list_add(opaque, name, type, NULL, NULL);
}

/* A vCPU (x86_64 CPU types are not in the type registry: their
 * properties come from the CPU model code). */
static void prop_list_cpu(PropListCtx *ctx)
{
    prop_list_add(ctx, "type", "string", NULL, NULL);
    prop_list_add(ctx, "realized", "bool", NULL, NULL);
    prop_list_add(ctx, "hotpluggable", "bool", NULL, NULL);
    x86_cpu_foreach_prop(prop_list_cpu_one, ctx);
}

ObjectPropertyInfoList *qmp_device_list_properties(const char *typename,
                                                   Error **errp)
{
    const TypeInfo *type = type_find(typename);
    PropListCtx ctx = { .type = type, .with_defaults = true };

    if (!type) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND,
                  "Device '%s' not found", typename);
        return NULL;
    }
    if (!device_class_of(type) || type->abstract) {
        error_setg(errp, "Parameter 'typename' expects a non-abstract device "
                   "type");
        return NULL;
    }
    ctx.tail = &ctx.head;
    object_foreach_prop(type, prop_list_one, &ctx);
    return ctx.head;
}

/*
 * Machine classes are not in the type registry either: QEMU names them
 * "NAME-machine" ("none-machine", "pc-i440fx-7.2-machine"; libvirt asks
 * for none-machine's properties in its probe), and their properties are
 * what -machine takes.
 */
static bool machine_class_exists(const char *typename)
{
    g_autofree char *name = NULL;

    if (!g_str_has_suffix(typename, "-machine")) {
        return false;
    }
    name = g_strndup(typename, strlen(typename) - strlen("-machine"));
    return !strcmp(name, "none") ||
           (pc_machine_type_find(name) &&
            !strcmp(pc_machine_type_find(name)->name, name));
}

static void prop_list_machine_group(const char *group, const VlParam *params,
                                    void *opaque)
{
    static const char *const types[] = {
        [VL_PARAM_STRING] = "string", [VL_PARAM_BOOL] = "bool",
        [VL_PARAM_NUMBER] = "int", [VL_PARAM_SIZE] = "size",
    };

    if (strcmp(group, "machine")) {
        return;
    }
    for (const VlParam *p = params; p->name; p++) {
        prop_list_add(opaque, p->name,
                      !strcmp(p->name, "type") ? "string" : types[p->type],
                      NULL, NULL);
    }
}

ObjectPropertyInfoList *qmp_qom_list_properties(const char *typename,
                                                Error **errp)
{
    const TypeInfo *type = type_find(typename);
    PropListCtx ctx = { .type = type };

    if (!type && machine_class_exists(typename)) {
        ctx.tail = &ctx.head;
        vl_foreach_param_option(prop_list_machine_group, &ctx);
        return ctx.head;
    }
    if (!type && x86_cpu_model_from_type(typename)) {
        ctx.tail = &ctx.head;
        prop_list_cpu(&ctx);
        return ctx.head;
    }
    if (!type) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND, "Class '%s' not found",
                  typename);
        return NULL;
    }
    ctx.tail = &ctx.head;
    prop_list_common(&ctx);
    object_foreach_prop(type, prop_list_one, &ctx);
    return ctx.head;
}

/* ---- the QOM tree ---- */

typedef enum QomNodeKind {
    QOM_NODE_ROOT,
    QOM_NODE_MACHINE,
    QOM_NODE_CONTAINER,     /* .name: "objects", "peripheral", ... */
    QOM_NODE_DEVICE,
    QOM_NODE_OBJECT,
    QOM_NODE_CPU,
} QomNodeKind;

typedef struct QomNode {
    QomNodeKind kind;
    const char *name;       /* containers */
    Object *obj;            /* devices and objects */
    unsigned cpu;
} QomNode;

static const char *qom_machine_type(void)
{
    static char *name;

    for (size_t i = 0; !name && i < pc_machine_types_count; i++) {
        if (pc_machine_types[i].is_default) {
            name = g_strdup_printf("%s-machine", pc_machine_types[i].name);
        }
    }
    return name;
}

static const char *qom_node_type(const QomNode *n)
{
    switch (n->kind) {
    case QOM_NODE_MACHINE:
        return qom_machine_type();
    case QOM_NODE_DEVICE:
    case QOM_NODE_OBJECT:
        return n->obj->type->name;
    case QOM_NODE_CPU:
        return qom_cpu_type();
    case QOM_NODE_ROOT:
    case QOM_NODE_CONTAINER:
        break;
    }
    return "container";
}

/* Calls fn(name, child) for each child of n, in a stable order. */
typedef void QomChildFn(const char *name, const QomNode *child,
                        void *opaque);

typedef struct QomWalk {
    const char *container;
    QomChildFn *fn;
    void *opaque;
} QomWalk;

static void qom_walk_device(DeviceState *dev, void *opaque)
{
    QomWalk *w = opaque;
    QomNode child = { .kind = QOM_NODE_DEVICE, .obj = &dev->parent_obj };
    g_autofree char *path = qdev_canonical_path(dev);
    g_autofree char *container = g_path_get_dirname(path);
    g_autofree char *name = g_path_get_basename(path);

    if (!strcmp(container + strlen("/machine/"), w->container)) {
        w->fn(name, &child, w->opaque);
    }
}

static void qom_walk_object(Object *obj, void *opaque)
{
    QomWalk *w = opaque;
    QomNode child = { .kind = QOM_NODE_OBJECT, .obj = obj };

    w->fn(obj->id, &child, w->opaque);
}

static void qom_children(const QomNode *n, QomChildFn *fn, void *opaque)
{
    static const char *const machine_children[] = {
        "peripheral", "peripheral-anon", "unattached",
    };
    QomWalk w = { .container = n->name, .fn = fn, .opaque = opaque };

    switch (n->kind) {
    case QOM_NODE_ROOT:
        fn("machine", &(QomNode){ .kind = QOM_NODE_MACHINE }, opaque);
        fn("objects", &(QomNode){ .kind = QOM_NODE_CONTAINER,
                                  .name = "objects" }, opaque);
        return;
    case QOM_NODE_MACHINE:
        for (size_t i = 0; i < G_N_ELEMENTS(machine_children); i++) {
            fn(machine_children[i],
               &(QomNode){ .kind = QOM_NODE_CONTAINER,
                           .name = machine_children[i] }, opaque);
        }
        return;
    case QOM_NODE_CONTAINER:
        if (!strcmp(n->name, "objects")) {
            object_foreach(qom_walk_object, &w);
        } else if (!strcmp(n->name, "unattached")) {
            for (unsigned i = 0; i < cpus_shown_count(); i++) {
                g_autofree char *name = g_strdup_printf("device[%u]", i);

                fn(name, &(QomNode){ .kind = QOM_NODE_CPU, .cpu = i },
                   opaque);
            }
        } else {
            qdev_foreach(qom_walk_device, &w);
        }
        return;
    case QOM_NODE_DEVICE:
    case QOM_NODE_OBJECT:
    case QOM_NODE_CPU:
        return;
    }
}

typedef struct QomFind {
    const char *name;
    QomNode found;
    bool ok;
} QomFind;

static void qom_find_child(const char *name, const QomNode *child,
                           void *opaque)
{
    QomFind *f = opaque;

    if (!f->ok && !strcmp(name, f->name)) {
        f->found = *child;
        f->ok = true;
    }
}

/* An absolute path; empty components ("/machine/") are skipped, as
 * QEMU does. */
static bool qom_resolve(const char *path, QomNode *out, Error **errp)
{
    g_auto(GStrv) parts = NULL;
    QomNode n = { .kind = QOM_NODE_ROOT };

    if (path[0] == '/') {
        parts = g_strsplit(path, "/", -1);
        for (char **p = parts; *p; p++) {
            QomFind f = { .name = *p };

            if (!**p) {
                continue;
            }
            qom_children(&n, qom_find_child, &f);
            if (!f.ok) {
                goto not_found;
            }
            n = f.found;
        }
        *out = n;
        return true;
    }
not_found:
    /* QEMU's class and text for a path that leads nowhere. */
    error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND, "Device '%s' not found",
              path);
    return false;
}

static void qom_list_child(const char *name, const QomNode *child,
                           void *opaque)
{
    g_autofree char *type = g_strdup_printf("child<%s>",
                                            qom_node_type(child));

    prop_list_add(opaque, name, type, NULL, NULL);
}

ObjectPropertyInfoList *qmp_qom_list(const char *path, Error **errp)
{
    PropListCtx ctx = { 0 };
    QomNode n;

    if (!qom_resolve(path, &n, errp)) {
        return NULL;
    }
    ctx.tail = &ctx.head;
    if (n.kind == QOM_NODE_DEVICE || n.kind == QOM_NODE_OBJECT) {
        ctx.type = n.obj->type;
        prop_list_common(&ctx);
        object_foreach_prop(n.obj->type, prop_list_one, &ctx);
    } else if (n.kind == QOM_NODE_CPU) {
        prop_list_cpu(&ctx);
    } else {
        prop_list_add(&ctx, "type", "string", NULL, NULL);
    }
    qom_children(&n, qom_list_child, &ctx);
    return ctx.head;
}

typedef struct QomChildPath {
    const char *name;
    const char *parent;
    char *path;
} QomChildPath;

static void qom_child_path(const char *name, const QomNode *child,
                           void *opaque)
{
    QomChildPath *c = opaque;

    if (!c->path && !strcmp(name, c->name)) {
        c->path = g_strdup_printf("%s/%s", c->parent, name);
    }
}

json_object *qmp_qom_get(const char *path, const char *property,
                         Error **errp)
{
    const ObjectProperty *p;
    QomNode n;

    if (!qom_resolve(path, &n, errp)) {
        return NULL;
    }
    if (!strcmp(property, "type")) {
        return json_object_new_string(qom_node_type(&n));
    }
    if (n.kind == QOM_NODE_DEVICE) {
        DeviceState *dev = DEVICE(n.obj);

        if (!strcmp(property, "realized")) {
            return json_object_new_boolean(dev->bus != NULL);
        }
        if (!strcmp(property, "hotpluggable")) {
            return json_object_new_boolean(dev->dc->hotpluggable);
        }
    }
    if (n.kind == QOM_NODE_CPU) {
        json_object *v;

        if (!strcmp(property, "realized") ||
            !strcmp(property, "hotpluggable")) {
            /* Created with the machine; the pc has no CPU hotplug. */
            return json_object_new_boolean(!strcmp(property, "realized"));
        }
        v = x86_cpu_get_prop(property, n.cpu);
        if (v) {
            return v;
        }
    }
    if ((n.kind == QOM_NODE_DEVICE || n.kind == QOM_NODE_OBJECT) &&
        (p = object_find_prop(n.obj->type, property))) {
        return object_get_prop_json(n.obj, p, errp);
    }
    /* A child reads as its path, as in QEMU. */
    {
        g_autofree char *parent = g_strdup(path);
        QomChildPath c = { .name = property, .parent = parent };

        while (*parent && parent[strlen(parent) - 1] == '/') {
            parent[strlen(parent) - 1] = '\0';
        }
        qom_children(&n, qom_child_path, &c);
        if (c.path) {
            json_object *v = json_object_new_string(c.path);

            g_free(c.path);
            return v;
        }
    }
    error_setg(errp, "Property '%s.%s' not found", qom_node_type(&n),
               property);
    return NULL;
}

/* ---- info qom-tree ---- */

typedef struct QomTreeEntry {
    char *name;
    QomNode node;
} QomTreeEntry;

static void qom_tree_collect(const char *name, const QomNode *child,
                             void *opaque)
{
    QomTreeEntry e = { .name = g_strdup(name), .node = *child };

    g_array_append_val(opaque, e);
}

static gint qom_tree_entry_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(((const QomTreeEntry *)a)->name,
                  ((const QomTreeEntry *)b)->name);
}

/* One line per node, "/NAME (TYPE)", two spaces deeper per level, the
 * children of each node in name order (plain strcmp, so "device[10]"
 * comes before "device[1]", as QEMU lists them). */
static void qom_tree_append(GString *out, const char *name,
                            const QomNode *n, unsigned depth)
{
    GArray *children = g_array_new(false, false, sizeof(QomTreeEntry));

    g_string_append_printf(out, "%*s/%s (%s)\n", (int)depth * 2, "", name,
                           qom_node_type(n));
    qom_children(n, qom_tree_collect, children);
    g_array_sort(children, qom_tree_entry_cmp);
    for (guint i = 0; i < children->len; i++) {
        QomTreeEntry *e = &g_array_index(children, QomTreeEntry, i);

        qom_tree_append(out, e->name, &e->node, depth + 1);
        g_free(e->name);
    }
    g_array_free(children, true);
}

char *qom_tree_text(const char *path)
{
    g_autofree char *name = g_path_get_basename(path);
    GString *out = g_string_new(NULL);
    QomNode n;

    if (!qom_resolve(path, &n, NULL)) {
        g_string_printf(out, "Path '%s' could not be resolved.\n", path);
        return g_string_free(out, false);
    }
    qom_tree_append(out, strcmp(name, "/") ? name : "", &n, 0);
    return g_string_free(out, false);
}

Object *qom_settable_object(const char *path, const char *property,
                            Error **errp)
{
    QomNode n;

    if (!qom_resolve(path, &n, errp)) {
        return NULL;
    }
    if (n.kind != QOM_NODE_OBJECT) {
        error_setg(errp, "Property '%s.%s' can't be set after creation",
                   qom_node_type(&n), property);
        return NULL;
    }
    return n.obj;
}

void qmp_qom_set(const char *path, const char *property, json_object *value,
                 Error **errp)
{
    Object *obj = qom_settable_object(path, property, errp);

    if (obj) {
        object_set_prop_live(obj, property, value, errp);
    }
}

/* ---- vCPUs ---- */

CpuInstanceProperties *qmp_cpu_instance_props(unsigned index)
{
    const VlSmpTopology *t = vl_smp_topology();
    CpuInstanceProperties *p = g_new0(CpuInstanceProperties, 1);
    unsigned per_die = t->cores * t->threads;

    p->has_socket_id = true;
    p->socket_id = index / (per_die * t->dies);
    if (t->dies > 1) {
        p->has_die_id = true;
        p->die_id = (index / per_die) % t->dies;
    }
    p->has_core_id = true;
    p->core_id = (index / t->threads) % t->cores;
    p->has_thread_id = true;
    p->thread_id = index % t->threads;
    return p;
}

/* The pc has no CPU hotplug (query-machines: hotpluggable-cpus false);
 * QEMU's answer for such a machine. */
HotpluggableCPUList *qmp_query_hotpluggable_cpus(Error **errp)
{
    error_setg(errp, "The feature '%s' is not enabled",
               "query-hotpluggable-cpus");
    return NULL;
}

/* ---- confidential computing: not offered ---- */

/* Tandem never issues KVM_MEMORY_ENCRYPT_OP: SEV is not enabled in the
 * VM's KVM, which is QEMU 7.2's text for a host without SEV. */
SevCapability *qmp_query_sev_capabilities(Error **errp)
{
    error_setg(errp, "SEV is not enabled in KVM");
    return NULL;
}

/* Guests get no SGX EPC (no /dev/sgx_vepc use): QEMU 7.2's text for a
 * host without it. */
SGXInfo *qmp_query_sgx_capabilities(Error **errp)
{
    error_setg(errp, "SGX is not enabled in KVM");
    return NULL;
}

/* ---- the command line ---- */

typedef struct CmdlineCtx {
    const char *option;
    CommandLineOptionInfoList *head, **tail;
} CmdlineCtx;

static void cmdline_one(const char *group, const VlParam *params,
                        void *opaque)
{
    static const CommandLineParameterType types[] = {
        [VL_PARAM_STRING] = COMMAND_LINE_PARAMETER_TYPE_STRING,
        [VL_PARAM_BOOL] = COMMAND_LINE_PARAMETER_TYPE_BOOLEAN,
        [VL_PARAM_NUMBER] = COMMAND_LINE_PARAMETER_TYPE_NUMBER,
        [VL_PARAM_SIZE] = COMMAND_LINE_PARAMETER_TYPE_SIZE,
    };
    CmdlineCtx *ctx = opaque;
    CommandLineOptionInfoList *node;
    CommandLineParameterInfoList **ptail;

    if (ctx->option && strcmp(ctx->option, group)) {
        return;
    }
    node = g_new0(CommandLineOptionInfoList, 1);
    node->value = g_new0(CommandLineOptionInfo, 1);
    node->value->option = g_strdup(group);
    ptail = &node->value->parameters;
    for (const VlParam *p = params; p->name; p++) {
        CommandLineParameterInfoList *pn = g_new0(CommandLineParameterInfoList,
                                                  1);

        pn->value = g_new0(CommandLineParameterInfo, 1);
        pn->value->name = g_strdup(p->name);
        pn->value->type = types[p->type];
        *ptail = pn;
        ptail = &pn->next;
    }
    *ctx->tail = node;
    ctx->tail = &node->next;
}

CommandLineOptionInfoList *qmp_query_command_line_options(const char *option,
                                                          Error **errp)
{
    CmdlineCtx ctx = { .option = option };

    ctx.tail = &ctx.head;
    vl_foreach_param_option(cmdline_one, &ctx);
    if (!ctx.head) {
        /* QEMU's text. */
        error_setg(errp, "invalid option name: %s", option);
    }
    return ctx.head;
}
