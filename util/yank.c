/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The yank registry (see include/util/yank.h for the rules a yank
 * function follows): a list of instances, each with the functions that
 * shut its connections down. The QMP side is monitor/qmp-yank.c.
 */
#include <string.h>
#include "util/yank.h"
#include "trace.h"

typedef struct YankFunction {
    YankFn *fn;
    void *opaque;
} YankFunction;

typedef struct YankEntry {
    YankKind kind;
    char *name;                 /* NULL for the migration */
    GArray *functions;          /* of YankFunction, in registration order */
} YankEntry;

/* What each kind is called on the wire and what its absence means. */
static const struct {
    const char *name;
    const char *why_missing;    /* appended to "not found", or NULL */
} yank_kinds[YANK_KIND__MAX] = {
    [YANK_KIND_BLOCK_NODE] = { .name = "block-node" },
    [YANK_KIND_CHARDEV] = { .name = "chardev" },
    [YANK_KIND_MIGRATION] = {
        .name = "migration",
        .why_missing = "no migration connection is open",
    },
};

/* Guards yank_entries and every entry; held while yank functions run. */
static GMutex yank_lock;
static GPtrArray *yank_entries;

const char *yank_kind_name(YankKind kind)
{
    g_assert(kind < YANK_KIND__MAX);
    return yank_kinds[kind].name;
}

/* "'migration'" or "'chardev' 'ID'", as the error messages name them. */
static char *yank_describe(YankKind kind, const char *name)
{
    if (!name) {
        return g_strdup_printf("'%s'", yank_kind_name(kind));
    }
    return g_strdup_printf("'%s' '%s'", yank_kind_name(kind), name);
}

static YankEntry *yank_find_locked(YankKind kind, const char *name)
{
    for (guint i = 0; yank_entries && i < yank_entries->len; i++) {
        YankEntry *e = g_ptr_array_index(yank_entries, i);

        if (e->kind == kind && !g_strcmp0(e->name, name)) {
            return e;
        }
    }
    return NULL;
}

/* The instance must exist: not registering it first is a caller bug. */
static YankEntry *yank_get_locked(YankKind kind, const char *name)
{
    YankEntry *e = yank_find_locked(kind, name);

    if (!e) {
        g_error("yank instance %s%s%s is not registered",
                yank_kind_name(kind), name ? " " : "", name ? name : "");
    }
    return e;
}

bool yank_register_instance(YankKind kind, const char *name, Error **errp)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&yank_lock);
    YankEntry *e;

    g_assert(kind < YANK_KIND__MAX);
    g_assert((kind == YANK_KIND_MIGRATION) == (name == NULL));
    if (yank_find_locked(kind, name)) {
        g_autofree char *what = yank_describe(kind, name);

        error_setg(errp, "Instance %s is already registered for yank", what);
        return false;
    }
    e = g_new0(YankEntry, 1);
    e->kind = kind;
    e->name = g_strdup(name);
    e->functions = g_array_new(FALSE, FALSE, sizeof(YankFunction));
    if (!yank_entries) {
        yank_entries = g_ptr_array_new();
    }
    g_ptr_array_add(yank_entries, e);
    trace_yank_register_instance(yank_kind_name(kind), name ? name : "");
    return true;
}

void yank_unregister_instance(YankKind kind, const char *name)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&yank_lock);
    YankEntry *e = yank_get_locked(kind, name);

    g_assert(e->functions->len == 0);
    g_ptr_array_remove(yank_entries, e);
    trace_yank_unregister_instance(yank_kind_name(kind), name ? name : "");
    g_array_free(e->functions, TRUE);
    g_free(e->name);
    g_free(e);
}

void yank_register_function(YankKind kind, const char *name, YankFn *fn,
                            void *opaque)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&yank_lock);
    YankFunction f = { .fn = fn, .opaque = opaque };

    g_array_append_val(yank_get_locked(kind, name)->functions, f);
}

void yank_unregister_function(YankKind kind, const char *name, YankFn *fn,
                              void *opaque)
{
    /* Taking the lock is what waits for a yank that is running fn. */
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&yank_lock);
    GArray *functions = yank_get_locked(kind, name)->functions;

    for (guint i = 0; i < functions->len; i++) {
        YankFunction *f = &g_array_index(functions, YankFunction, i);

        if (f->fn == fn && f->opaque == opaque) {
            g_array_remove_index(functions, i);
            return;
        }
    }
    g_assert_not_reached();
}

bool yank_instances(const YankRef *refs, size_t n, Error **errp)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&yank_lock);

    /* Check them all first: a yank with a typo yanks nothing. */
    for (size_t i = 0; i < n; i++) {
        if (!yank_find_locked(refs[i].kind, refs[i].name)) {
            g_autofree char *what = yank_describe(refs[i].kind, refs[i].name);
            const char *why = yank_kinds[refs[i].kind].why_missing;

            error_setg(errp, "Instance %s not found%s%s", what,
                       why ? ": " : "", why ? why : "");
            return false;
        }
    }
    for (size_t i = 0; i < n; i++) {
        YankEntry *e = yank_find_locked(refs[i].kind, refs[i].name);

        trace_yank_instance(yank_kind_name(e->kind), e->name ? e->name : "");
        for (guint j = 0; j < e->functions->len; j++) {
            YankFunction *f = &g_array_index(e->functions, YankFunction, j);

            f->fn(f->opaque);
        }
    }
    return true;
}

void yank_foreach(void (*fn)(YankKind kind, const char *name, void *opaque),
                  void *opaque)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&yank_lock);

    for (guint i = 0; yank_entries && i < yank_entries->len; i++) {
        YankEntry *e = g_ptr_array_index(yank_entries, i);

        fn(e->kind, e->name, opaque);
    }
}
