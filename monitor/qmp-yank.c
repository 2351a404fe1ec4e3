/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP commands yank and query-yank (qapi/yank.json): translations
 * between the schema's YankInstance and the registry in util/yank.c,
 * which answers for every registered instance (migration, chardevs, block
 * nodes). yank is allowed out of band, so qmp_yank() may run on a
 * monitor's I/O thread without the BQL; the registry is safe for that.
 */
#include "qapi/qapi-commands.h"
#include "util/yank.h"

/* The registry's kinds are the schema's enum, value for value. */
G_STATIC_ASSERT((int)YANK_KIND_BLOCK_NODE ==
                (int)YANK_INSTANCE_TYPE_BLOCK_NODE);
G_STATIC_ASSERT((int)YANK_KIND_CHARDEV == (int)YANK_INSTANCE_TYPE_CHARDEV);
G_STATIC_ASSERT((int)YANK_KIND_MIGRATION ==
                (int)YANK_INSTANCE_TYPE_MIGRATION);
G_STATIC_ASSERT((int)YANK_KIND__MAX == (int)YANK_INSTANCE_TYPE__MAX);

static YankRef qmp_yank_ref(const YankInstance *inst)
{
    YankRef ref = { .kind = (YankKind)inst->type };

    switch (inst->type) {
    case YANK_INSTANCE_TYPE_BLOCK_NODE:
        ref.name = inst->u.block_node.node_name;
        break;
    case YANK_INSTANCE_TYPE_CHARDEV:
        ref.name = inst->u.chardev.id;
        break;
    default:
        break;
    }
    return ref;
}

void qmp_yank(YankInstanceList *instances, Error **errp)
{
    g_autoptr(GArray) refs = g_array_new(FALSE, FALSE, sizeof(YankRef));

    for (YankInstanceList *l = instances; l; l = l->next) {
        YankRef ref = qmp_yank_ref(l->value);

        g_array_append_val(refs, ref);
    }
    yank_instances((const YankRef *)refs->data, refs->len, errp);
}

static void qmp_query_yank_one(YankKind kind, const char *name,
                               void *opaque)
{
    YankInstanceList ***tail = opaque;
    YankInstanceList *l = g_new0(YankInstanceList, 1);
    YankInstance *inst = g_new0(YankInstance, 1);

    inst->type = (YankInstanceType)kind;
    if (kind == YANK_KIND_BLOCK_NODE) {
        inst->u.block_node.node_name = g_strdup(name);
    } else if (kind == YANK_KIND_CHARDEV) {
        inst->u.chardev.id = g_strdup(name);
    }
    l->value = inst;
    **tail = l;
    *tail = &l->next;
}

YankInstanceList *qmp_query_yank(Error **errp)
{
    YankInstanceList *head = NULL, **tail = &head;

    yank_foreach(qmp_query_yank_one, &tail);
    return head;
}
