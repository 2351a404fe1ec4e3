/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt's introspection commands in-process (qmp-test-client.h), no
 * KVM: qom-list-types against the type and device registries,
 * device-list-properties, qom-list-properties, qom-list/qom-get on the
 * tree drawn from the registries, query-iothreads, the -smp topology
 * behind query-cpus-fast's props, the errors QEMU 7.2 gives for
 * hotplug slots, SEV and SGX, and the CPU model queries
 * (query-cpu-definitions, query-cpu-model-expansion, qom-list-properties
 * on MODEL-x86_64-cpu), which need no VM.
 */
#include <string.h>
#include <unistd.h>
#include "hw/core/qdev.h"
#include "system/vl.h"
#include "target/i386/cpu.h"
#include "target/i386/cpu-models.h"
#include "../../monitor/monitor-internal.h"
#include "qmp-test-client.h"

static Client *client_ready(void)
{
    Client *c = client_new();

    negotiate(c, false);
    return c;
}

/* The entry named name in a list of objects with a "name" member. */
static json_object *find_named(json_object *list, const char *name)
{
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i);

        if (!strcmp(json_object_get_string(member(e, "name")), name)) {
            return e;
        }
    }
    return NULL;
}

static json_object *find_option(json_object *list, const char *option)
{
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i);

        if (!strcmp(json_object_get_string(member(e, "option")), option)) {
            return e;
        }
    }
    return NULL;
}

static json_object *qmp_return(Client *c, const char *request,
                               json_object **resp)
{
    *resp = expect_return(c, request, NULL);
    return member(*resp, "return");
}

typedef struct TypeCheck {
    json_object *listed;
    bool abstract_too;
    unsigned devices;
} TypeCheck;

static void check_type_listed(const TypeInfo *t, void *opaque)
{
    TypeCheck *tc = opaque;
    json_object *e;

    if (!device_class_of(t) || (t->abstract && !tc->abstract_too)) {
        return;
    }
    e = find_named(tc->listed, t->name);
    if (!e) {
        g_error("device type %s is not listed by qom-list-types", t->name);
    }
    tc->devices++;
    g_assert_cmpint(json_object_get_boolean(
                        json_object_object_get(e, "abstract")), ==,
                    t->abstract);
}

/* Every device type of the registry is listed, with its parent. */
static void test_qom_list_types(void)
{
    Client *c = client_ready();
    json_object *resp, *list, *e;
    TypeCheck tc = { 0 };

    list = qmp_return(c, "{\"execute\":\"qom-list-types\"}\n", &resp);
    tc.listed = list;
    type_foreach(check_type_listed, &tc);
    g_assert_cmpuint(tc.devices, >=, 2);
    e = find_named(list, "isa-serial");
    g_assert_nonnull(e);
    g_assert_cmpstr(json_object_get_string(member(e, "parent")), ==,
                    "device");
    g_assert_nonnull(find_named(list, "isa-debug-exit"));
    g_assert_nonnull(find_named(list, "iothread"));
    /* Abstract types only when asked for. */
    g_assert_null(find_named(list, "device"));
    json_object_put(resp);

    list = qmp_return(c, "{\"execute\":\"qom-list-types\",\"arguments\":"
                      "{\"implements\":\"device\",\"abstract\":true}}\n",
                      &resp);
    tc = (TypeCheck){ .listed = list, .abstract_too = true };
    type_foreach(check_type_listed, &tc);
    e = find_named(list, "device");
    g_assert_nonnull(e);
    g_assert_true(json_object_get_boolean(member(e, "abstract")));
    g_assert_null(find_named(list, "iothread"));
    json_object_put(resp);
    client_free(c);
}

static void test_device_list_properties(void)
{
    Client *c = client_ready();
    json_object *resp, *list, *p;

    list = qmp_return(c, "{\"execute\":\"device-list-properties\","
                      "\"arguments\":{\"typename\":\"isa-debug-exit\"}}\n",
                      &resp);
    p = find_named(list, "iobase");
    g_assert_nonnull(p);
    check_keys(p, (const char *const[]){ "name", "type", "description",
                                         "default-value", NULL });
    g_assert_cmpstr(json_object_get_string(member(p, "type")), ==, "uint32");
    g_assert_cmpint(json_object_get_int(member(p, "default-value")), ==,
                    0x501);
    /* Only the type's own properties, as QEMU lists them. */
    g_assert_null(find_named(list, "type"));
    g_assert_null(find_named(list, "realized"));
    json_object_put(resp);

    list = qmp_return(c, "{\"execute\":\"device-list-properties\","
                      "\"arguments\":{\"typename\":\"isa-serial\"}}\n",
                      &resp);
    p = find_named(list, "chardev");
    g_assert_nonnull(p);
    g_assert_cmpstr(json_object_get_string(member(p, "type")), ==, "str");
    g_assert_null(json_object_object_get(p, "default-value"));
    json_object_put(resp);

    expect_error(c, "{\"execute\":\"device-list-properties\",\"arguments\":"
                 "{\"typename\":\"nosuch\"}}\n", "DeviceNotFound",
                 "Device 'nosuch' not found", NULL);
    expect_error(c, "{\"execute\":\"device-list-properties\",\"arguments\":"
                 "{\"typename\":\"device\"}}\n", "GenericError",
                 "Parameter 'typename' expects a non-abstract device type",
                 NULL);
    expect_error(c, "{\"execute\":\"device-list-properties\",\"arguments\":"
                 "{\"typename\":\"iothread\"}}\n", "GenericError",
                 "Parameter 'typename' expects a non-abstract device type",
                 NULL);
    client_free(c);
}

static void test_qom_list_properties(void)
{
    Client *c = client_ready();
    json_object *resp, *list, *p;

    list = qmp_return(c, "{\"execute\":\"qom-list-properties\","
                      "\"arguments\":{\"typename\":\"iothread\"}}\n", &resp);
    p = find_named(list, "type");
    g_assert_nonnull(p);
    g_assert_cmpstr(json_object_get_string(member(p, "type")), ==, "string");
    p = find_named(list, "poll-max-ns");
    g_assert_nonnull(p);
    g_assert_cmpstr(json_object_get_string(member(p, "type")), ==, "int");
    json_object_put(resp);

    /* Abstract classes too; devices have their state properties. */
    list = qmp_return(c, "{\"execute\":\"qom-list-properties\","
                      "\"arguments\":{\"typename\":\"device\"}}\n", &resp);
    g_assert_nonnull(find_named(list, "realized"));
    json_object_put(resp);
    list = qmp_return(c, "{\"execute\":\"qom-list-properties\","
                      "\"arguments\":{\"typename\":\"isa-serial\"}}\n",
                      &resp);
    g_assert_nonnull(find_named(list, "chardev"));
    g_assert_nonnull(find_named(list, "realized"));
    json_object_put(resp);

    expect_error(c, "{\"execute\":\"qom-list-properties\",\"arguments\":"
                 "{\"typename\":\"nosuch\"}}\n", "DeviceNotFound",
                 "Class 'nosuch' not found", NULL);
    client_free(c);
}

static void check_child(json_object *list, const char *name,
                        const char *type)
{
    json_object *e = find_named(list, name);

    if (!e) {
        g_error("no child %s", name);
    }
    g_assert_cmpstr(json_object_get_string(member(e, "type")), ==, type);
}

static void test_qom_tree(void)
{
    Client *c = client_ready();
    json_object *resp, *list;
    DeviceState *dev = qdev_create_cmdline("isa-debug-exit,id=dbg,"
                                           "iobase=0x600", &error_abort);
    DeviceState *anon = qdev_create_cmdline("isa-debug-exit,iobase=0x610",
                                            &error_abort);

    json_object_put(expect_return(c, "{\"execute\":\"object-add\","
                                  "\"arguments\":{\"qom-type\":\"iothread\","
                                  "\"id\":\"io0\",\"poll-grow\":3}}\n",
                                  NULL));
    list = qmp_return(c, "{\"execute\":\"qom-list\",\"arguments\":"
                      "{\"path\":\"/\"}}\n", &resp);
    check_child(list, "machine", "child<pc-i440fx-7.2-machine>");
    check_child(list, "objects", "child<container>");
    json_object_put(resp);

    list = qmp_return(c, "{\"execute\":\"qom-list\",\"arguments\":"
                      "{\"path\":\"/machine/\"}}\n", &resp);
    check_child(list, "peripheral", "child<container>");
    check_child(list, "peripheral-anon", "child<container>");
    check_child(list, "unattached", "child<container>");
    check_child(list, "type", "string");
    json_object_put(resp);

    list = qmp_return(c, "{\"execute\":\"qom-list\",\"arguments\":"
                      "{\"path\":\"/objects\"}}\n", &resp);
    check_child(list, "io0", "child<iothread>");
    json_object_put(resp);
    list = qmp_return(c, "{\"execute\":\"qom-list\",\"arguments\":"
                      "{\"path\":\"/machine/peripheral\"}}\n", &resp);
    check_child(list, "dbg", "child<isa-debug-exit>");
    g_assert_cmpuint(json_object_array_length(list), ==, 2);
    json_object_put(resp);
    list = qmp_return(c, "{\"execute\":\"qom-list\",\"arguments\":"
                      "{\"path\":\"/machine/peripheral-anon\"}}\n", &resp);
    check_child(list, "device[0]", "child<isa-debug-exit>");
    json_object_put(resp);
    list = qmp_return(c, "{\"execute\":\"qom-list\",\"arguments\":"
                      "{\"path\":\"/machine/peripheral/dbg\"}}\n", &resp);
    check_child(list, "iobase", "uint32");
    check_child(list, "realized", "bool");
    json_object_put(resp);

    resp = expect_return(c, "{\"execute\":\"qom-get\",\"arguments\":"
                         "{\"path\":\"/machine\",\"property\":\"type\"}}\n",
                         NULL);
    g_assert_cmpstr(json_object_get_string(member(resp, "return")), ==,
                    "pc-i440fx-7.2-machine");
    json_object_put(resp);
    resp = expect_return(c, "{\"execute\":\"qom-get\",\"arguments\":"
                         "{\"path\":\"/machine/peripheral/dbg\","
                         "\"property\":\"iobase\"}}\n", NULL);
    g_assert_cmpint(json_object_get_int(member(resp, "return")), ==, 0x600);
    json_object_put(resp);
    resp = expect_return(c, "{\"execute\":\"qom-get\",\"arguments\":"
                         "{\"path\":\"/machine/peripheral-anon/device[0]\","
                         "\"property\":\"iobase\"}}\n", NULL);
    g_assert_cmpint(json_object_get_int(member(resp, "return")), ==, 0x610);
    json_object_put(resp);
    resp = expect_return(c, "{\"execute\":\"qom-get\",\"arguments\":"
                         "{\"path\":\"/machine/peripheral/dbg\","
                         "\"property\":\"realized\"}}\n", NULL);
    g_assert_false(json_object_get_boolean(member(resp, "return")));
    json_object_put(resp);
    resp = expect_return(c, "{\"execute\":\"qom-get\",\"arguments\":"
                         "{\"path\":\"/objects/io0\","
                         "\"property\":\"poll-grow\"}}\n", NULL);
    g_assert_cmpint(json_object_get_int(member(resp, "return")), ==, 3);
    json_object_put(resp);
    resp = expect_return(c, "{\"execute\":\"qom-get\",\"arguments\":"
                         "{\"path\":\"/\",\"property\":\"machine\"}}\n",
                         NULL);
    g_assert_cmpstr(json_object_get_string(member(resp, "return")), ==,
                    "/machine");
    json_object_put(resp);

    expect_error(c, "{\"execute\":\"qom-list\",\"arguments\":"
                 "{\"path\":\"/machine/nosuch\"}}\n", "DeviceNotFound",
                 "Device '/machine/nosuch' not found", NULL);
    expect_error(c, "{\"execute\":\"qom-get\",\"arguments\":"
                 "{\"path\":\"/objects/nosuch\",\"property\":\"type\"}}\n",
                 "DeviceNotFound", "Device '/objects/nosuch' not found",
                 NULL);
    expect_error(c, "{\"execute\":\"qom-get\",\"arguments\":"
                 "{\"path\":\"/objects/io0\",\"property\":\"nope\"}}\n",
                 "GenericError", "Property 'iothread.nope' not found", NULL);

    /* qom-set: a filter's status changes live; others refuse. */
    expect_error(c, "{\"execute\":\"qom-set\",\"arguments\":"
                 "{\"path\":\"/objects/io0\",\"property\":\"poll-grow\","
                 "\"value\":4}}\n", "GenericError",
                 "Property 'iothread.poll-grow' can't be set after creation",
                 NULL);
    json_object_put(expect_return(c, "{\"execute\":\"netdev_add\","
                                  "\"arguments\":{\"type\":\"hubport\","
                                  "\"id\":\"qs0\",\"hubid\":9}}\n", NULL));
    json_object_put(expect_return(c, "{\"execute\":\"object-add\","
                                  "\"arguments\":{\"qom-type\":"
                                  "\"filter-buffer\",\"id\":\"fb0\","
                                  "\"netdev\":\"qs0\",\"interval\":1000}}\n",
                                  NULL));
    json_object_put(expect_return(c, "{\"execute\":\"qom-set\","
                                  "\"arguments\":{\"path\":\"/objects/fb0\","
                                  "\"property\":\"status\","
                                  "\"value\":\"off\"}}\n", NULL));
    resp = expect_return(c, "{\"execute\":\"qom-get\",\"arguments\":"
                         "{\"path\":\"/objects/fb0\","
                         "\"property\":\"status\"}}\n", NULL);
    g_assert_cmpstr(json_object_get_string(member(resp, "return")), ==,
                    "off");
    json_object_put(resp);
    expect_error(c, "{\"execute\":\"qom-set\",\"arguments\":"
                 "{\"path\":\"/objects/fb0\",\"property\":\"status\","
                 "\"value\":\"maybe\"}}\n", "GenericError",
                 "Invalid value maybe, expect 'on' or 'off'", NULL);
    json_object_put(expect_return(c, "{\"execute\":\"object-del\","
                                  "\"arguments\":{\"id\":\"fb0\"}}\n", NULL));
    json_object_put(expect_return(c, "{\"execute\":\"netdev_del\","
                                  "\"arguments\":{\"id\":\"qs0\"}}\n", NULL));

    json_object_put(expect_return(c, "{\"execute\":\"object-del\","
                                  "\"arguments\":{\"id\":\"io0\"}}\n", NULL));
    expect_error(c, "{\"execute\":\"qom-list\",\"arguments\":"
                 "{\"path\":\"/objects/io0\"}}\n", "DeviceNotFound",
                 "not found", NULL);
    qdev_delete(dev);
    qdev_delete(anon);
    client_free(c);
}

static void test_query_iothreads(void)
{
    Client *c = client_ready();
    json_object *resp, *list, *e;
    g_autofree char *task = NULL;
    int tid;

    list = qmp_return(c, "{\"execute\":\"query-iothreads\"}\n", &resp);
    g_assert_cmpuint(json_object_array_length(list), ==, 0);
    json_object_put(resp);

    json_object_put(expect_return(c, "{\"execute\":\"object-add\","
                                  "\"arguments\":{\"qom-type\":\"iothread\","
                                  "\"id\":\"ioA\",\"aio-max-batch\":7}}\n",
                                  NULL));
    list = qmp_return(c, "{\"execute\":\"query-iothreads\"}\n", &resp);
    g_assert_cmpuint(json_object_array_length(list), ==, 1);
    e = json_object_array_get_idx(list, 0);
    check_keys(e, (const char *const[]){ "id", "thread-id", "poll-max-ns",
        "poll-grow", "poll-shrink", "aio-max-batch", NULL });
    g_assert_cmpstr(json_object_get_string(member(e, "id")), ==, "ioA");
    g_assert_cmpint(json_object_get_int(member(e, "aio-max-batch")), ==, 7);
    /* A thread of this process, and not the main one. */
    tid = json_object_get_int(member(e, "thread-id"));
    g_assert_cmpint(tid, >, 0);
    g_assert_cmpint(tid, !=, getpid());
    task = g_strdup_printf("/proc/self/task/%d", tid);
    g_assert_true(g_file_test(task, G_FILE_TEST_IS_DIR));
    json_object_put(resp);

    json_object_put(expect_return(c, "{\"execute\":\"object-del\","
                                  "\"arguments\":{\"id\":\"ioA\"}}\n", NULL));
    list = qmp_return(c, "{\"execute\":\"query-iothreads\"}\n", &resp);
    g_assert_cmpuint(json_object_array_length(list), ==, 0);
    json_object_put(resp);
    client_free(c);
}

/* query-cpus-fast's props: each vCPU's place in the -smp topology. */
static void test_cpu_props(void)
{
    char *argv[] = { "tandem", "-smp", "8,sockets=2,cores=2,threads=2",
                     NULL };
    char *argv1[] = { "tandem", "-smp", "4", NULL };
    SystemConfig cfg;
    g_autoptr(CpuInstanceProperties) p = NULL;
    g_autoptr(CpuInstanceProperties) q = NULL;

    g_assert_true(vl_parse_args(3, argv, &cfg, &error_abort));
    vl_config_free(&cfg);
    p = qmp_cpu_instance_props(5);     /* 5 = socket 1, core 0, thread 1 */
    g_assert_true(p->has_socket_id && p->has_core_id && p->has_thread_id);
    g_assert_false(p->has_die_id || p->has_node_id || p->has_cluster_id);
    g_assert_cmpint(p->socket_id, ==, 1);
    g_assert_cmpint(p->core_id, ==, 0);
    g_assert_cmpint(p->thread_id, ==, 1);

    /* Only a count: one socket per vCPU, as QEMU's pc. */
    g_assert_true(vl_parse_args(3, argv1, &cfg, &error_abort));
    vl_config_free(&cfg);
    q = qmp_cpu_instance_props(3);
    g_assert_cmpint(q->socket_id, ==, 3);
    g_assert_cmpint(q->core_id, ==, 0);
    g_assert_cmpint(q->thread_id, ==, 0);
}

/* The command-line option a QEMU parameter group belongs to. */
static const char *group_option(const char *group)
{
    static const char *const map[][2] = {
        { "memory", "m" }, { "smp-opts", "smp" }, { "boot-opts", "boot" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(map); i++) {
        if (!strcmp(group, map[i][0])) {
            return map[i][1];
        }
    }
    return group;
}

/* A value of the parameter's type ("x" for strings: it may be refused
 * for what it says, never for its key). */
static const char *sample_value(const char *type)
{
    return !strcmp(type, "boolean") ? "off" :
           !strcmp(type, "number") ? "1" :
           !strcmp(type, "size") ? "64M" : "x";
}

/* The parse error for "-OPTION ARG", or NULL when it is accepted. */
static char *parse_error(const char *option, const char *arg)
{
    g_autofree char *dash = g_strdup_printf("-%s", option);
    char *argv[] = { "tandem", dash, (char *)arg, NULL };
    SystemConfig cfg;
    Error *err = NULL;
    char *msg = NULL;

    if (!vl_parse_args(3, argv, &cfg, &err)) {
        msg = g_strdup(error_get_pretty(err));
        error_free(err);
    }
    vl_config_free(&cfg);
    return msg;
}

/*
 * query-command-line-options and the parser share one table: every key
 * listed is one the option parses, and a key not listed is refused.
 */
static void test_command_line_options(void)
{
    Client *c = client_ready();
    json_object *resp, *list, *opt, *params;
    unsigned keys = 0;

    list = qmp_return(c, "{\"execute\":\"query-command-line-options\"}\n",
                      &resp);
    g_assert_nonnull(find_option(list, "machine"));
    g_assert_nonnull(find_option(list, "memory"));
    g_assert_null(find_option(list, "M"));
    /* Tandem accepts only -sandbox off: listing it makes libvirt pass on. */
    g_assert_null(find_option(list, "sandbox"));
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *o = json_object_array_get_idx(list, i);
        const char *option = group_option(json_object_get_string(
                                              member(o, "option")));
        g_autofree char *bogus = NULL;

        check_keys(o, (const char *const[]){ "option", "parameters", NULL });
        params = member(o, "parameters");
        for (size_t j = 0; j < json_object_array_length(params); j++) {
            json_object *p = json_object_array_get_idx(params, j);
            const char *key = json_object_get_string(member(p, "name"));
            g_autofree char *arg = g_strdup_printf(
                "%s=%s", key,
                sample_value(json_object_get_string(member(p, "type"))));
            g_autofree char *err = parse_error(option, arg);

            if (err && strstr(err, "Invalid parameter")) {
                g_error("-%s %s: listed but refused: %s", option, arg, err);
            }
            keys++;
        }
        /* A key nobody declared is refused by the same table. */
        bogus = parse_error(option, "tandem-no-such-key=1");
        g_assert_nonnull(bogus);
    }
    g_assert_cmpuint(keys, >=, 10);
    json_object_put(resp);

    list = qmp_return(c, "{\"execute\":\"query-command-line-options\","
                      "\"arguments\":{\"option\":\"memory\"}}\n", &resp);
    g_assert_cmpuint(json_object_array_length(list), ==, 1);
    opt = json_object_array_get_idx(list, 0);
    params = member(opt, "parameters");
    g_assert_cmpuint(json_object_array_length(params), ==, 1);
    g_assert_cmpstr(json_object_get_string(member(
                        json_object_array_get_idx(params, 0), "type")), ==,
                    "size");
    json_object_put(resp);
    expect_error(c, "{\"execute\":\"query-command-line-options\","
                 "\"arguments\":{\"option\":\"nosuch\"}}\n",
                 "GenericError", "invalid option name: nosuch", NULL);
    client_free(c);
}

static void test_unavailable_features(void)
{
    Client *c = client_ready();

    expect_error(c, "{\"execute\":\"query-hotpluggable-cpus\"}\n",
                 "GenericError",
                 "The feature 'query-hotpluggable-cpus' is not enabled",
                 NULL);
    expect_error(c, "{\"execute\":\"query-sev-capabilities\"}\n",
                 "GenericError", "SEV is not enabled in KVM", NULL);
    expect_error(c, "{\"execute\":\"query-sgx-capabilities\"}\n",
                 "GenericError", "SGX is not enabled in KVM", NULL);
    client_free(c);
}

/* ---- CPU models (query-cpu-definitions, query-cpu-model-expansion) ---- */

/* What this host cannot give model m (nothing without /dev/kvm). */
static char **unavailable_here(const X86CPUModel *m)
{
    const struct kvm_cpuid2 *sup = x86_host_cpuid();
    X86FeatureSet filtered = { 0 };
    X86CPUConfig cfg;

    if (sup && m->kind == X86_MODEL_NAMED) {
        x86_cpu_config_init(&cfg, m);
        x86_cpu_filtered_features(&cfg, sup, filtered);
    }
    return x86_feature_set_names(filtered);
}

static void test_cpu_definitions(void)
{
    Client *c = client_ready();
    json_object *resp, *list;
    size_t n;
    const X86CPUModel *m = x86_cpu_models(&n);

    list = qmp_return(c, "{\"execute\":\"query-cpu-definitions\"}\n", &resp);
    g_assert_cmpuint(json_object_array_length(list), ==, n);
    for (size_t i = 0; i < n; i++) {
        json_object *e = find_named(list, m[i].name);
        g_autofree char *type = g_strdup_printf("%s-x86_64-cpu", m[i].name);
        g_auto(GStrv) missing = unavailable_here(&m[i]);
        json_object *un;

        g_assert_nonnull(e);
        g_assert_cmpstr(json_object_get_string(member(e, "typename")), ==,
                        type);
        g_assert_cmpint(json_object_get_boolean(member(e, "static")), ==,
                        !strcmp(m[i].name, "base"));
        g_assert_cmpint(json_object_get_boolean(member(e, "migration-safe")),
                        ==, strcmp(m[i].name, "host") &&
                            strcmp(m[i].name, "max"));
        g_assert_false(json_object_get_boolean(member(e, "deprecated")));
        /* Always there, [] included: libvirt reads absence as unknown. */
        un = member(e, "unavailable-features");
        g_assert_cmpuint(json_object_array_length(un), ==,
                         g_strv_length(missing));
        for (size_t j = 0; j < json_object_array_length(un); j++) {
            g_assert_cmpstr(json_object_get_string(
                                json_object_array_get_idx(un, j)), ==,
                            missing[j]);
        }
    }
    g_assert_nonnull(find_named(list, "Skylake-Client-IBRS"));
    g_assert_nonnull(find_named(list, "EPYC-Rome"));
    json_object_put(resp);
    client_free(c);
}

static void test_cpu_model_expansion(void)
{
    Client *c = client_ready();
    json_object *resp, *ret, *model, *props;

    ret = qmp_return(c, "{\"execute\":\"query-cpu-model-expansion\","
                     "\"arguments\":{\"type\":\"static\","
                     "\"model\":{\"name\":\"qemu64\"}}}\n", &resp);
    model = member(ret, "model");
    g_assert_cmpstr(json_object_get_string(member(model, "name")), ==,
                    "base");
    props = member(model, "props");
    g_assert_true(json_object_get_boolean(member(props, "cx16")));
    g_assert_true(json_object_get_boolean(member(props, "hypervisor")));
    g_assert_false(json_object_get_boolean(member(props, "avx2")));
    g_assert_false(json_object_get_boolean(member(props, "svm")));
    g_assert_cmpint(json_object_get_int(member(props, "family")), ==, 15);
    g_assert_cmpint(json_object_get_int(member(props, "model")), ==, 107);
    g_assert_cmpstr(json_object_get_string(member(props, "vendor")), ==,
                    "AuthenticAMD");
    g_assert_cmpstr(json_object_get_string(member(props, "model-id")), ==,
                    "QEMU Virtual CPU version 2.5+");
    json_object_put(resp);

    /* Property changes apply; full keeps the name. */
    ret = qmp_return(c, "{\"execute\":\"query-cpu-model-expansion\","
                     "\"arguments\":{\"type\":\"full\",\"model\":{"
                     "\"name\":\"Haswell-noTSX\",\"props\":{\"avx2\":false,"
                     "\"kvmclock\":false,\"stepping\":2}}}}\n", &resp);
    model = member(ret, "model");
    g_assert_cmpstr(json_object_get_string(member(model, "name")), ==,
                    "Haswell-noTSX");
    props = member(model, "props");
    g_assert_false(json_object_get_boolean(member(props, "avx2")));
    g_assert_false(json_object_get_boolean(member(props, "kvmclock")));
    g_assert_false(json_object_get_boolean(member(props, "hle")));
    g_assert_cmpint(json_object_get_int(member(props, "stepping")), ==, 2);
    g_assert_true(json_object_get_boolean(member(props, "migratable")));
    json_object_put(resp);

    expect_error(c, "{\"execute\":\"query-cpu-model-expansion\","
                 "\"arguments\":{\"type\":\"static\","
                 "\"model\":{\"name\":\"nosuch\"}}}\n", "GenericError",
                 "CPU model 'nosuch' not found", NULL);
    expect_error(c, "{\"execute\":\"query-cpu-model-expansion\","
                 "\"arguments\":{\"type\":\"full\",\"model\":{"
                 "\"name\":\"Haswell\",\"props\":{\"nosuch\":true}}}}\n",
                 "GenericError",
                 "Property 'Haswell-x86_64-cpu.nosuch' not found", NULL);
    expect_error(c, "{\"execute\":\"query-cpu-model-expansion\","
                 "\"arguments\":{\"type\":\"full\",\"model\":{"
                 "\"name\":\"Haswell\",\"props\":{\"avx2\":\"yes\"}}}}\n",
                 "GenericError",
                 "Invalid parameter type for 'avx2', expected: boolean", NULL);
    expect_error(c, "{\"execute\":\"query-cpu-model-expansion\","
                 "\"arguments\":{\"type\":\"full\",\"model\":{"
                 "\"name\":\"Haswell\",\"props\":[1]}}}\n", "GenericError",
                 "Invalid parameter type for 'model.props', expected: dict",
                 NULL);
    expect_error(c, "{\"execute\":\"query-cpu-model-expansion\","
                 "\"arguments\":{\"type\":\"sideways\","
                 "\"model\":{\"name\":\"Haswell\"}}}\n", "GenericError",
                 "sideways", NULL);
    if (!x86_host_cpuid()) {
        expect_error(c, "{\"execute\":\"query-cpu-model-expansion\","
                     "\"arguments\":{\"type\":\"static\","
                     "\"model\":{\"name\":\"host\"}}}\n", "GenericError",
                     "CPU model 'host' requires KVM", NULL);
    }
    client_free(c);
}

static void test_cpu_class_properties(void)
{
    Client *c = client_ready();
    json_object *resp, *list, *p;

    list = qmp_return(c, "{\"execute\":\"qom-list-properties\","
                      "\"arguments\":{\"typename\":\"max-x86_64-cpu\"}}\n",
                      &resp);
    p = find_named(list, "avx2");
    g_assert_nonnull(p);
    g_assert_cmpstr(json_object_get_string(member(p, "type")), ==, "bool");
    g_assert_nonnull(find_named(list, "sse4.1"));
    g_assert_nonnull(find_named(list, "feature-words"));
    g_assert_nonnull(find_named(list, "filtered-features"));
    g_assert_nonnull(find_named(list, "unavailable-features"));
    g_assert_nonnull(find_named(list, "model-id"));
    json_object_put(resp);
    expect_error(c, "{\"execute\":\"qom-list-properties\",\"arguments\":"
                 "{\"typename\":\"Pentium9-x86_64-cpu\"}}\n", "DeviceNotFound",
                 "Class 'Pentium9-x86_64-cpu' not found", NULL);

    /* The vCPU types are QOM types too, as libvirt's probe sees them. */
    list = qmp_return(c, "{\"execute\":\"qom-list-types\",\"arguments\":"
                      "{\"implements\":\"x86_64-cpu\",\"abstract\":true}}\n",
                      &resp);
    p = find_named(list, "Skylake-Client-IBRS-x86_64-cpu");
    g_assert_nonnull(p);
    g_assert_cmpstr(json_object_get_string(member(p, "parent")), ==,
                    "x86_64-cpu");
    g_assert_nonnull(find_named(list, "max-x86_64-cpu"));
    p = find_named(list, "x86_64-cpu");
    g_assert_nonnull(p);
    g_assert_true(json_object_get_boolean(member(p, "abstract")));
    g_assert_null(find_named(list, "isa-serial"));
    json_object_put(resp);
    list = qmp_return(c, "{\"execute\":\"qom-list-types\"}\n", &resp);
    g_assert_nonnull(find_named(list, "host-x86_64-cpu"));
    g_assert_null(find_named(list, "x86_64-cpu"));
    json_object_put(resp);
    list = qmp_return(c, "{\"execute\":\"qom-list-types\",\"arguments\":"
                      "{\"implements\":\"iothread\"}}\n", &resp);
    g_assert_null(find_named(list, "host-x86_64-cpu"));
    json_object_put(resp);
    client_free(c);
}

/*
 * What libvirt 9.0's probe asks unconditionally: the none machine's and
 * memory-backend-file's properties (it crashes on DeviceNotFound for
 * either, as no QEMU built for Linux gives it).
 */
static void test_probe_classes(void)
{
    Client *c = client_ready();
    json_object *resp, *list, *p;

    list = qmp_return(c, "{\"execute\":\"qom-list-properties\","
                      "\"arguments\":{\"typename\":\"none-machine\"}}\n",
                      &resp);
    g_assert_nonnull(find_named(list, "type"));
    p = find_named(list, "memory-backend");
    g_assert_nonnull(p);
    g_assert_cmpstr(json_object_get_string(member(p, "type")), ==, "string");
    p = find_named(list, "dump-guest-core");
    g_assert_nonnull(p);
    g_assert_cmpstr(json_object_get_string(member(p, "type")), ==, "bool");
    json_object_put(resp);
    list = qmp_return(c, "{\"execute\":\"qom-list-properties\","
                      "\"arguments\":{\"typename\":"
                      "\"pc-i440fx-7.2-machine\"}}\n", &resp);
    g_assert_nonnull(find_named(list, "usb"));
    json_object_put(resp);
    /* Only the real names: not the alias, not other versions. */
    expect_error(c, "{\"execute\":\"qom-list-properties\",\"arguments\":"
                 "{\"typename\":\"pc-machine\"}}\n", "DeviceNotFound",
                 "Class 'pc-machine' not found", NULL);
    expect_error(c, "{\"execute\":\"qom-list-properties\",\"arguments\":"
                 "{\"typename\":\"pc-i440fx-9.9-machine\"}}\n",
                 "DeviceNotFound",
                 "Class 'pc-i440fx-9.9-machine' not found", NULL);

    list = qmp_return(c, "{\"execute\":\"qom-list-properties\","
                      "\"arguments\":{\"typename\":"
                      "\"memory-backend-file\"}}\n", &resp);
    g_assert_nonnull(find_named(list, "mem-path"));
    g_assert_nonnull(find_named(list, "size"));
    json_object_put(resp);
    /* The class is there; an object of it is refused, with the reason. */
    expect_error(c, "{\"execute\":\"object-add\",\"arguments\":"
                 "{\"qom-type\":\"memory-backend-file\",\"id\":\"f\","
                 "\"size\":1048576,\"mem-path\":\"/dev/shm/x\"}}\n",
                 "GenericError", "memory backend 'f': memory-backend-file is "
                 "not supported yet: Tandem's guest RAM is a memfd "
                 "(use memory-backend-ram)", NULL);
    client_free(c);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    g_test_add_func("/qmp/qom-list-types/devices", test_qom_list_types);
    g_test_add_func("/qmp/device-list-properties",
                    test_device_list_properties);
    g_test_add_func("/qmp/qom-list-properties", test_qom_list_properties);
    g_test_add_func("/qmp/qom-list-get", test_qom_tree);
    g_test_add_func("/qmp/query-iothreads", test_query_iothreads);
    g_test_add_func("/qmp/query-cpus-fast/props", test_cpu_props);
    g_test_add_func("/qmp/unavailable-features", test_unavailable_features);
    g_test_add_func("/qmp/query-command-line-options",
                    test_command_line_options);
    g_test_add_func("/qmp/query-cpu-definitions", test_cpu_definitions);
    g_test_add_func("/qmp/query-cpu-model-expansion",
                    test_cpu_model_expansion);
    g_test_add_func("/qmp/qom-list-properties/cpu",
                    test_cpu_class_properties);
    g_test_add_func("/qmp/qom-list-properties/libvirt-probe",
                    test_probe_classes);
    return qmp_test_run();
}
