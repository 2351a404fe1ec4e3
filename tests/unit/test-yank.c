/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The yank registry (util/yank.c) and its QMP commands (monitor/
 * qmp-yank.c), without a guest: registration and its refusals, yank
 * calling every function of exactly the named instances, all-or-nothing
 * on an unknown instance, query-yank's list, and unregistration waiting
 * for a yank running on another thread. Also that a chardev backend
 * without a yank hook is no yank instance.
 */
#include <string.h>
#include "chardev/char.h"
#include "qapi/qapi-commands.h"
#include "util/yank.h"

typedef struct Counter {
    int calls;
} Counter;

static void count_fn(void *opaque)
{
    Counter *c = opaque;

    c->calls++;
}

static YankInstanceList *list_prepend(YankInstanceList *next,
                                      YankInstanceType type, const char *name)
{
    YankInstanceList *l = g_new0(YankInstanceList, 1);

    l->value = g_new0(YankInstance, 1);
    l->value->type = type;
    if (type == YANK_INSTANCE_TYPE_CHARDEV) {
        l->value->u.chardev.id = g_strdup(name);
    } else if (type == YANK_INSTANCE_TYPE_BLOCK_NODE) {
        l->value->u.block_node.node_name = g_strdup(name);
    }
    l->next = next;
    return l;
}

/* query-yank as "type[:name] type[:name] ...". */
static char *query_string(void)
{
    YankInstanceList *list = qmp_query_yank(&error_abort);
    GString *s = g_string_new(NULL);

    for (YankInstanceList *l = list; l; l = l->next) {
        YankInstance *inst = l->value;

        if (s->len) {
            g_string_append_c(s, ' ');
        }
        g_string_append(s, YankInstanceType_str(inst->type));
        if (inst->type == YANK_INSTANCE_TYPE_CHARDEV) {
            g_string_append_printf(s, ":%s", inst->u.chardev.id);
        } else if (inst->type == YANK_INSTANCE_TYPE_BLOCK_NODE) {
            g_string_append_printf(s, ":%s", inst->u.block_node.node_name);
        }
    }
    qapi_free_YankInstanceList(list);
    return g_string_free(s, FALSE);
}

static void test_register_query(void)
{
    g_autofree char *empty = query_string();
    g_autofree char *three = NULL;
    g_autofree char *one = NULL;
    g_autofree char *none = NULL;

    g_assert_cmpstr(empty, ==, "");
    g_assert_true(yank_register_instance(YANK_KIND_CHARDEV, "c0",
                                         &error_abort));
    g_assert_true(yank_register_instance(YANK_KIND_MIGRATION, NULL,
                                         &error_abort));
    g_assert_true(yank_register_instance(YANK_KIND_BLOCK_NODE, "disk0",
                                         &error_abort));
    three = query_string();
    g_assert_cmpstr(three, ==, "chardev:c0 migration block-node:disk0");

    yank_unregister_instance(YANK_KIND_MIGRATION, NULL);
    yank_unregister_instance(YANK_KIND_BLOCK_NODE, "disk0");
    one = query_string();
    g_assert_cmpstr(one, ==, "chardev:c0");
    yank_unregister_instance(YANK_KIND_CHARDEV, "c0");
    none = query_string();
    g_assert_cmpstr(none, ==, "");
}

static void test_duplicate(void)
{
    Error *err = NULL;

    g_assert_true(yank_register_instance(YANK_KIND_CHARDEV, "dup",
                                         &error_abort));
    g_assert_false(yank_register_instance(YANK_KIND_CHARDEV, "dup", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Instance 'chardev' 'dup' is already registered for "
                    "yank");
    g_clear_pointer(&err, error_free);
    /* Same name, other kind: another instance. */
    g_assert_true(yank_register_instance(YANK_KIND_BLOCK_NODE, "dup",
                                         &error_abort));

    g_assert_true(yank_register_instance(YANK_KIND_MIGRATION, NULL,
                                         &error_abort));
    g_assert_false(yank_register_instance(YANK_KIND_MIGRATION, NULL, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Instance 'migration' is already registered for yank");
    g_clear_pointer(&err, error_free);

    yank_unregister_instance(YANK_KIND_MIGRATION, NULL);
    yank_unregister_instance(YANK_KIND_BLOCK_NODE, "dup");
    yank_unregister_instance(YANK_KIND_CHARDEV, "dup");
    /* Once gone, it may come back. */
    g_assert_true(yank_register_instance(YANK_KIND_CHARDEV, "dup",
                                         &error_abort));
    yank_unregister_instance(YANK_KIND_CHARDEV, "dup");
}

static void test_yank_calls(void)
{
    Counter a1 = { 0 }, a2 = { 0 }, b = { 0 }, m = { 0 };
    YankInstanceList *list;

    yank_register_instance(YANK_KIND_CHARDEV, "a", &error_abort);
    yank_register_instance(YANK_KIND_CHARDEV, "b", &error_abort);
    yank_register_instance(YANK_KIND_MIGRATION, NULL, &error_abort);
    yank_register_function(YANK_KIND_CHARDEV, "a", count_fn, &a1);
    yank_register_function(YANK_KIND_CHARDEV, "a", count_fn, &a2);
    yank_register_function(YANK_KIND_CHARDEV, "b", count_fn, &b);
    yank_register_function(YANK_KIND_MIGRATION, NULL, count_fn, &m);

    /* Every function of the named instance, nothing else. */
    list = list_prepend(NULL, YANK_INSTANCE_TYPE_CHARDEV, "a");
    qmp_yank(list, &error_abort);
    qapi_free_YankInstanceList(list);
    g_assert_cmpint(a1.calls, ==, 1);
    g_assert_cmpint(a2.calls, ==, 1);
    g_assert_cmpint(b.calls, ==, 0);
    g_assert_cmpint(m.calls, ==, 0);

    list = list_prepend(NULL, YANK_INSTANCE_TYPE_MIGRATION, NULL);
    list = list_prepend(list, YANK_INSTANCE_TYPE_CHARDEV, "b");
    qmp_yank(list, &error_abort);
    qapi_free_YankInstanceList(list);
    g_assert_cmpint(a1.calls, ==, 1);
    g_assert_cmpint(b.calls, ==, 1);
    g_assert_cmpint(m.calls, ==, 1);

    /* An empty list is a successful no-op. */
    qmp_yank(NULL, &error_abort);

    /* An unregistered function is not called again. */
    yank_unregister_function(YANK_KIND_CHARDEV, "a", count_fn, &a1);
    list = list_prepend(NULL, YANK_INSTANCE_TYPE_CHARDEV, "a");
    qmp_yank(list, &error_abort);
    qapi_free_YankInstanceList(list);
    g_assert_cmpint(a1.calls, ==, 1);
    g_assert_cmpint(a2.calls, ==, 2);

    yank_unregister_function(YANK_KIND_CHARDEV, "a", count_fn, &a2);
    yank_unregister_function(YANK_KIND_CHARDEV, "b", count_fn, &b);
    yank_unregister_function(YANK_KIND_MIGRATION, NULL, count_fn, &m);
    yank_unregister_instance(YANK_KIND_CHARDEV, "a");
    yank_unregister_instance(YANK_KIND_CHARDEV, "b");
    yank_unregister_instance(YANK_KIND_MIGRATION, NULL);
}

static void expect_not_found(YankInstanceList *list, const char *want)
{
    Error *err = NULL;

    qmp_yank(list, &err);
    g_assert_nonnull(err);
    g_assert_cmpint(error_get_class(err), ==, ERROR_CLASS_GENERIC_ERROR);
    g_assert_cmpstr(error_get_pretty(err), ==, want);
    error_free(err);
    qapi_free_YankInstanceList(list);
}

static void test_unknown(void)
{
    Counter c = { 0 };
    YankInstanceList *list;

    /* The texts QMP clients (and tests/qtest/test-colo.c) see. */
    expect_not_found(list_prepend(NULL, YANK_INSTANCE_TYPE_MIGRATION, NULL),
                     "Instance 'migration' not found: no migration "
                     "connection is open");
    expect_not_found(list_prepend(NULL, YANK_INSTANCE_TYPE_CHARDEV, "char0"),
                     "Instance 'chardev' 'char0' not found");
    expect_not_found(list_prepend(NULL, YANK_INSTANCE_TYPE_BLOCK_NODE, "d"),
                     "Instance 'block-node' 'd' not found");

    /* All or nothing: the known instance is not yanked either. */
    yank_register_instance(YANK_KIND_CHARDEV, "known", &error_abort);
    yank_register_function(YANK_KIND_CHARDEV, "known", count_fn, &c);
    list = list_prepend(NULL, YANK_INSTANCE_TYPE_CHARDEV, "unknown");
    list = list_prepend(list, YANK_INSTANCE_TYPE_CHARDEV, "known");
    expect_not_found(list, "Instance 'chardev' 'unknown' not found");
    g_assert_cmpint(c.calls, ==, 0);
    /* The kind is part of the name. */
    expect_not_found(list_prepend(NULL, YANK_INSTANCE_TYPE_BLOCK_NODE,
                                  "known"),
                     "Instance 'block-node' 'known' not found");
    g_assert_cmpint(c.calls, ==, 0);
    yank_unregister_function(YANK_KIND_CHARDEV, "known", count_fn, &c);
    yank_unregister_instance(YANK_KIND_CHARDEV, "known");
}

/*
 * A yank on another thread (as out of band on a monitor's I/O thread) is
 * in the middle of a slow function: unregistering it must wait, so that
 * the caller may free the function's state right after.
 */
typedef struct SlowYank {
    GMutex lock;
    GCond cond;
    bool started;
    bool finished;
} SlowYank;

static void slow_fn(void *opaque)
{
    SlowYank *s = opaque;

    g_mutex_lock(&s->lock);
    s->started = true;
    g_cond_signal(&s->cond);
    g_mutex_unlock(&s->lock);
    g_usleep(100 * 1000);
    __atomic_store_n(&s->finished, true, __ATOMIC_SEQ_CST);
}

static gpointer yank_thread(gpointer opaque)
{
    YankRef ref = { .kind = YANK_KIND_CHARDEV, .name = "slow" };

    g_assert_true(yank_instances(&ref, 1, &error_abort));
    return NULL;
}

static void test_unregister_waits(void)
{
    SlowYank s = { 0 };
    GThread *t;

    g_mutex_init(&s.lock);
    g_cond_init(&s.cond);
    yank_register_instance(YANK_KIND_CHARDEV, "slow", &error_abort);
    yank_register_function(YANK_KIND_CHARDEV, "slow", slow_fn, &s);
    t = g_thread_new("yank", yank_thread, NULL);
    g_mutex_lock(&s.lock);
    while (!s.started) {
        g_cond_wait(&s.cond, &s.lock);
    }
    g_mutex_unlock(&s.lock);
    yank_unregister_function(YANK_KIND_CHARDEV, "slow", slow_fn, &s);
    g_assert_true(__atomic_load_n(&s.finished, __ATOMIC_SEQ_CST));
    yank_unregister_instance(YANK_KIND_CHARDEV, "slow");
    g_thread_join(t);
    g_mutex_clear(&s.lock);
    g_cond_clear(&s.cond);
}

/* Backends without a yank hook (null, file, pty, ...) are not listed. */
static void test_chardev_without_hook(void)
{
    Chardev *chr = chardev_new_legacy("plain0", "null", &error_abort);
    g_autofree char *listed = query_string();

    g_assert_null(chr->cls->yank);
    g_assert_cmpstr(listed, ==, "");
    chardev_close(chr);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/yank/register-query", test_register_query);
    g_test_add_func("/yank/duplicate", test_duplicate);
    g_test_add_func("/yank/calls", test_yank_calls);
    g_test_add_func("/yank/unknown", test_unknown);
    g_test_add_func("/yank/unregister-waits", test_unregister_waits);
    g_test_add_func("/yank/chardev-without-hook", test_chardev_without_hook);
    return g_test_run();
}
