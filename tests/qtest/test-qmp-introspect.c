/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt's introspection and start-up queries against a running Tandem
 * (the test guest booted with devices, an iothread and a -smp
 * topology): the QOM tree holds what the command line made, vCPUs
 * report their place in the topology, and the features Tandem lacks
 * answer with QEMU 7.2's errors; -cpu with a named model shows in the
 * vCPUs' QOM properties, and libvirt's memory-backend-ram becomes the
 * guest's RAM with its dump policy. The cases that need no vCPUs run the
 * pc under -accel qtest (no KVM). The same commands' shapes are checked
 * in-process in tests/unit/test-qmp-introspect.c.
 */
#include <stdio.h>
#include <string.h>
#include "kvm-skip.h"
#include "libqtest.h"

#define VM_ARGS "-smp 2,sockets=1,cores=2,threads=1 " \
                "-object iothread,id=io0 " \
                "-device isa-debug-exit,id=dbg,iobase=0x600,iosize=1"

static json_object *find_named(json_object *list, const char *name)
{
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i);

        if (!g_strcmp0(qt_json_str(e, "name"), name)) {
            return e;
        }
    }
    return NULL;
}

static void test_device_and_class_properties(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);
    json_object *ret, *p;

    ret = qtest_qmp_assert_success(s, "{'execute': 'device-list-properties', "
                                   "'arguments': {'typename': 'isa-serial'}}");
    p = find_named(ret, "chardev");
    g_assert_nonnull(p);
    g_assert_cmpstr(qt_json_str(p, "type"), ==, "str");
    json_object_put(ret);
    qtest_qmp_assert_error_is(s, "DeviceNotFound", "Device 'nosuch' not found",
                              "{'execute': 'device-list-properties', "
                              "'arguments': {'typename': 'nosuch'}}");

    ret = qtest_qmp_assert_success(s, "{'execute': 'qom-list-properties', "
                                   "'arguments': {'typename': 'iothread'}}");
    g_assert_nonnull(find_named(ret, "poll-max-ns"));
    json_object_put(ret);
    qtest_qmp_assert_error_is(s, "DeviceNotFound", "Class 'nosuch' not found",
                              "{'execute': 'qom-list-properties', "
                              "'arguments': {'typename': 'nosuch'}}");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_qom_tree(void)
{
    QTestState *s = qtest_init(VM_ARGS);
    json_object *ret, *e;

    ret = qtest_qmp_assert_success(s, "{'execute': 'qom-list', "
                                   "'arguments': {'path': '/machine/peripheral'}}");
    e = find_named(ret, "dbg");
    g_assert_nonnull(e);
    g_assert_cmpstr(qt_json_str(e, "type"), ==, "child<isa-debug-exit>");
    json_object_put(ret);
    ret = qtest_qmp_assert_success(s, "{'execute': 'qom-get', "
                                   "'arguments': {'path': '/machine/peripheral/dbg', "
                                   "'property': 'realized'}}");
    g_assert_true(json_object_get_boolean(ret));
    json_object_put(ret);
    ret = qtest_qmp_assert_success(s, "{'execute': 'qom-get', "
                                   "'arguments': {'path': '/machine/peripheral/dbg', "
                                   "'property': 'iobase'}}");
    g_assert_cmpint(json_object_get_int(ret), ==, 0x600);
    json_object_put(ret);

    /* Each vCPU's qom-path leads to a node. */
    ret = qtest_qmp_assert_success(s, "{'execute': 'query-cpus-fast'}");
    for (size_t i = 0; i < json_object_array_length(ret); i++) {
        json_object *cpu = json_object_array_get_idx(ret, i);
        json_object *props = qt_json_get(cpu, "props");
        json_object *type;

        g_assert_nonnull(props);
        g_assert_cmpint(json_object_get_int(qt_json_get(props, "socket-id")),
                        ==, 0);
        g_assert_cmpint(json_object_get_int(qt_json_get(props, "core-id")),
                        ==, (int)i);
        g_assert_cmpint(json_object_get_int(qt_json_get(props, "thread-id")),
                        ==, 0);
        type = qtest_qmp_assert_success(s, "{'execute': 'qom-get', "
                                        "'arguments': {'path': '%s', "
                                        "'property': 'type'}}",
                                        qt_json_str(cpu, "qom-path"));
        g_assert_cmpstr(json_object_get_string(type), ==, "host-x86_64-cpu");
        json_object_put(type);
    }
    g_assert_cmpuint(json_object_array_length(ret), ==, 2);
    json_object_put(ret);

    qtest_qmp_assert_error_is(s, "DeviceNotFound",
                              "Device '/machine/nosuch' not found",
                              "{'execute': 'qom-get', 'arguments': "
                              "{'path': '/machine/nosuch', 'property': 'type'}}");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* qom-set: a netfilter's status changes live; other properties refuse. */
static void test_qom_set(void)
{
    QTestState *s = qtest_init_accel_qtest(VM_ARGS);
    json_object *ret;

    json_object_put(qtest_qmp_assert_success(s, "{'execute': 'netdev_add', "
                    "'arguments': {'type': 'hubport', 'id': 'qs0', "
                    "'hubid': 9}}"));
    json_object_put(qtest_qmp_assert_success(s, "{'execute': 'object-add', "
                    "'arguments': {'qom-type': 'filter-buffer', 'id': 'fb0', "
                    "'netdev': 'qs0', 'interval': 1000}}"));
    json_object_put(qtest_qmp_assert_success(s, "{'execute': 'qom-set', "
                    "'arguments': {'path': '/objects/fb0', "
                    "'property': 'status', 'value': 'off'}}"));
    ret = qtest_qmp_assert_success(s, "{'execute': 'qom-get', "
                                   "'arguments': {'path': '/objects/fb0', "
                                   "'property': 'status'}}");
    g_assert_cmpstr(json_object_get_string(ret), ==, "off");
    json_object_put(ret);
    qtest_qmp_assert_error_is(s, "GenericError",
                              "Property 'filter-buffer.interval' can't be "
                              "set after creation",
                              "{'execute': 'qom-set', 'arguments': "
                              "{'path': '/objects/fb0', 'property': "
                              "'interval', 'value': 5}}");
    json_object_put(qtest_qmp_assert_success(s, "{'execute': 'object-del', "
                    "'arguments': {'id': 'fb0'}}"));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_query_iothreads(void)
{
    QTestState *s = qtest_init(VM_ARGS);
    json_object *ret = qtest_qmp_assert_success(s, "{'execute': "
                                                "'query-iothreads'}");
    json_object *e;

    g_assert_cmpuint(json_object_array_length(ret), ==, 1);
    e = json_object_array_get_idx(ret, 0);
    g_assert_cmpstr(qt_json_str(e, "id"), ==, "io0");
    g_assert_cmpint(json_object_get_int(qt_json_get(e, "thread-id")), >, 0);
    g_assert_cmpint(json_object_get_int(qt_json_get(e, "thread-id")), !=,
                    qtest_pid(s));
    json_object_put(ret);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_command_line_options(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);
    json_object *ret = qtest_qmp_assert_success(s, "{'execute': "
                                                "'query-command-line-options', "
                                                "'arguments': {'option': "
                                                "'machine'}}");
    json_object *params;

    g_assert_cmpuint(json_object_array_length(ret), ==, 1);
    params = qt_json_get(json_object_array_get_idx(ret, 0), "parameters");
    g_assert_nonnull(find_named(params, "type"));
    json_object_put(ret);
    qtest_qmp_assert_error_is(s, "GenericError", "invalid option name: nosuch",
                              "{'execute': 'query-command-line-options', "
                              "'arguments': {'option': 'nosuch'}}");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_unavailable_features(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);

    qtest_qmp_assert_error_is(s, "GenericError",
                              "The feature 'query-hotpluggable-cpus' is not "
                              "enabled",
                              "{'execute': 'query-hotpluggable-cpus'}");
    qtest_qmp_assert_error_is(s, "GenericError", "SEV is not enabled in KVM",
                              "{'execute': 'query-sev-capabilities'}");
    qtest_qmp_assert_error_is(s, "GenericError", "SGX is not enabled in KVM",
                              "{'execute': 'query-sgx-capabilities'}");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/*
 * The properties libvirt reads on a vCPU after start (one qom-get per
 * feature, feature-words) for -cpu Haswell-noTSX,-avx2,kvmclock=off,
 * the same under KVM and under qtest.
 */
static void check_cpu_model_props(QTestState *s)
{
    json_object *ret, *e, *words;
    bool hv = false;

    ret = qtest_qmp_assert_success(s, "{'execute': 'qom-get', 'arguments': "
                                   "{'path': '/machine/unattached/device[0]', "
                                   "'property': 'type'}}");
    g_assert_cmpstr(json_object_get_string(ret), ==,
                    "Haswell-noTSX-x86_64-cpu");
    json_object_put(ret);
    ret = qtest_qmp_assert_success(s, "{'execute': 'qom-list', 'arguments': "
                                   "{'path': '/machine/unattached/device[0]'}}");
    e = find_named(ret, "avx2");
    g_assert_nonnull(e);
    g_assert_cmpstr(qt_json_str(e, "type"), ==, "bool");
    json_object_put(ret);
    ret = qtest_qmp_assert_success(s, "{'execute': 'qom-get', 'arguments': "
                                   "{'path': '/machine/unattached/device[0]', "
                                   "'property': 'avx2'}}");
    g_assert_false(json_object_get_boolean(ret));
    json_object_put(ret);
    ret = qtest_qmp_assert_success(s, "{'execute': 'qom-get', 'arguments': "
                                   "{'path': '/machine/unattached/device[0]', "
                                   "'property': 'kvmclock'}}");
    g_assert_false(json_object_get_boolean(ret));
    json_object_put(ret);
    ret = qtest_qmp_assert_success(s, "{'execute': 'qom-get', 'arguments': "
                                   "{'path': '/machine/unattached/device[0]', "
                                   "'property': 'hle'}}");
    g_assert_false(json_object_get_boolean(ret));
    json_object_put(ret);

    /* CPUID.01H:ECX carries the hypervisor bit. */
    words = qtest_qmp_assert_success(s, "{'execute': 'qom-get', 'arguments': "
                                     "{'path': '/machine/unattached/device[0]', "
                                     "'property': 'feature-words'}}");
    for (size_t i = 0; i < json_object_array_length(words); i++) {
        e = json_object_array_get_idx(words, i);
        if (json_object_get_int(qt_json_get(e, "cpuid-input-eax")) == 1 &&
            !g_strcmp0(qt_json_str(e, "cpuid-register"), "ECX")) {
            hv = json_object_get_int64(qt_json_get(e, "features")) &
                 (1ll << 31);
        }
    }
    g_assert_true(hv);
    json_object_put(words);
}

/*
 * -cpu with a named model and feature changes: the vCPU's QOM type and
 * properties, unavailable-features, and the CPU model queries.
 */
static void test_cpu_model(void)
{
    QTestState *s = qtest_init("-cpu Haswell-noTSX,-avx2,kvmclock=off");
    json_object *ret, *e, *defs;

    check_cpu_model_props(s);

    /* What the vCPU lacks is what query-cpu-definitions says the model
     * lacks (avx2 was turned off, so it cannot be missing). */
    ret = qtest_qmp_assert_success(s, "{'execute': 'qom-get', 'arguments': "
                                   "{'path': '/machine/unattached/device[0]', "
                                   "'property': 'unavailable-features'}}");
    defs = qtest_qmp_assert_success(s, "{'execute': 'query-cpu-definitions'}");
    e = qt_json_get(find_named(defs, "Haswell-noTSX"), "unavailable-features");
    for (size_t i = 0; i < json_object_array_length(ret); i++) {
        const char *f = json_object_get_string(
            json_object_array_get_idx(ret, i));
        bool listed = false;

        g_assert_cmpstr(f, !=, "avx2");
        for (size_t j = 0; j < json_object_array_length(e); j++) {
            listed |= !g_strcmp0(f, json_object_get_string(
                                        json_object_array_get_idx(e, j)));
        }
        g_assert_true(listed);
    }
    json_object_put(defs);
    json_object_put(ret);

    ret = qtest_qmp_assert_success(s, "{'execute': 'query-cpu-model-expansion', "
                                   "'arguments': {'type': 'static', "
                                   "'model': {'name': 'host'}}}");
    g_assert_cmpstr(qt_json_str(qt_json_get(ret, "model"), "name"), ==,
                    "base");
    json_object_put(ret);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Whether fw, a feature-words or filtered-features list, has no bit set. */
static bool feature_words_empty(json_object *fw)
{
    g_assert_cmpuint(json_object_array_length(fw), >, 0);
    for (size_t i = 0; i < json_object_array_length(fw); i++) {
        if (json_object_get_int64(qt_json_get(
                json_object_array_get_idx(fw, i), "features"))) {
            return false;
        }
    }
    return true;
}

/*
 * Under qtest the -smp vCPUs are objects that never run, as in QEMU:
 * query-cpus-fast lists them, their QOM nodes answer what they answer
 * under KVM, with the model's features unfiltered (no KVM to filter
 * against), and thread-id is the main thread's (there is no vCPU
 * thread).
 */
static void test_cpu_model_qtest(void)
{
    QTestState *s = qtest_init_accel_qtest("-smp 2 "
                                           "-cpu Haswell-noTSX,-avx2,"
                                           "kvmclock=off");
    json_object *ret, *cpu, *props;

    ret = qtest_qmp_assert_success(s, "{'execute': 'query-cpus-fast'}");
    g_assert_cmpuint(json_object_array_length(ret), ==, 2);
    for (size_t i = 0; i < 2; i++) {
        g_autofree char *path =
            g_strdup_printf("/machine/unattached/device[%zu]", i);

        cpu = json_object_array_get_idx(ret, i);
        g_assert_cmpint(json_object_get_int(qt_json_get(cpu, "cpu-index")),
                        ==, (int)i);
        g_assert_cmpstr(qt_json_str(cpu, "qom-path"), ==, path);
        g_assert_cmpint(json_object_get_int(qt_json_get(cpu, "thread-id")),
                        ==, qtest_pid(s));
        g_assert_cmpstr(qt_json_str(cpu, "target"), ==, "x86_64");
        /* -smp 2 is two sockets, as QEMU 7.2's pc counts it. */
        props = qt_json_get(cpu, "props");
        g_assert_nonnull(props);
        g_assert_cmpint(json_object_get_int(qt_json_get(props, "socket-id")),
                        ==, (int)i);
        g_assert_cmpint(json_object_get_int(qt_json_get(props, "core-id")),
                        ==, 0);
        g_assert_cmpint(json_object_get_int(qt_json_get(props, "thread-id")),
                        ==, 0);
    }
    json_object_put(ret);

    check_cpu_model_props(s);
    /* Unfiltered: what the model has is on, nothing is filtered out. */
    ret = qtest_qmp_assert_success(s, "{'execute': 'qom-get', 'arguments': "
                                   "{'path': '/machine/unattached/device[1]', "
                                   "'property': 'avx'}}");
    g_assert_true(json_object_get_boolean(ret));
    json_object_put(ret);
    ret = qtest_qmp_assert_success(s, "{'execute': 'qom-get', 'arguments': "
                                   "{'path': '/machine/unattached/device[0]', "
                                   "'property': 'filtered-features'}}");
    g_assert_true(feature_words_empty(ret));
    json_object_put(ret);
    ret = qtest_qmp_assert_success(s, "{'execute': 'qom-get', 'arguments': "
                                   "{'path': '/machine/unattached/device[0]', "
                                   "'property': 'unavailable-features'}}");
    g_assert_cmpuint(json_object_array_length(ret), ==, 0);
    json_object_put(ret);
    qtest_qmp_assert_error_is(s, "DeviceNotFound",
                              "Device '/machine/unattached/device[2]' not "
                              "found",
                              "{'execute': 'qom-get', 'arguments': "
                              "{'path': '/machine/unattached/device[2]', "
                              "'property': 'type'}}");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Whether the mapping named name in pid's address space is "dd". */
static bool smaps_dontdump(pid_t pid, const char *name)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/smaps", (int)pid);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    bool in = false;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        unsigned long lo, hi;

        if (sscanf(*l, "%lx-%lx ", &lo, &hi) == 2) {
            in = strstr(*l, name) != NULL;
        } else if (in && g_str_has_prefix(*l, "VmFlags:")) {
            return strstr(*l, " dd") != NULL;
        }
    }
    g_error("no mapping %s in %s", name, path);
}

/* libvirt's RAM: a memory-backend-ram object as the machine's RAM, with
 * dump-guest-core; the RAM blocks take the backend's id. */
static void test_memory_backend(void)
{
    QTestState *s = qtest_init("-m 128M -object memory-backend-ram,id=pc.ram,"
                               "size=128M -machine pc-i440fx-7.2,usb=off,"
                               "dump-guest-core=off,memory-backend=pc.ram");

    g_assert_true(smaps_dontdump(qtest_pid(s), "memfd:pc.ram "));
    g_assert_cmpint(qtest_quit(s), ==, 0);
    s = qtest_init("-object '{\"qom-type\":\"memory-backend-ram\","
                   "\"id\":\"mem\",\"size\":134217728}' "
                   "-machine pc,memory-backend=mem");
    g_assert_false(smaps_dontdump(qtest_pid(s), "memfd:mem "));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp-introspect/properties", test_device_and_class_properties);
    test_add_kvm_func("/qmp-introspect/qom-tree", test_qom_tree);
    g_test_add_func("/qmp-introspect/qom-set", test_qom_set);
    test_add_kvm_func("/qmp-introspect/query-iothreads",
                      test_query_iothreads);
    g_test_add_func("/qmp-introspect/unavailable-features", test_unavailable_features);
    g_test_add_func("/qmp-introspect/query-command-line-options", test_command_line_options);
    test_add_kvm_func("/qmp-introspect/cpu-model", test_cpu_model);
    g_test_add_func("/qmp-introspect/cpu-model-qtest", test_cpu_model_qtest);
    test_add_kvm_func("/qmp-introspect/memory-backend", test_memory_backend);
    return g_test_run();
}
