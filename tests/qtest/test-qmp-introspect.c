/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt's introspection and start-up queries against a running Tandem
 * (the test guest booted with devices, an iothread and a -smp
 * topology): the QOM tree holds what the command line made, vCPUs
 * report their place in the topology, and the features Tandem lacks
 * answer with QEMU 7.2's errors. The same commands' shapes are checked
 * without KVM in tests/unit/test-qmp-introspect.c.
 */
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
    QTestState *s = qtest_init(NULL);
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
    QTestState *s = qtest_init(VM_ARGS);
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
    QTestState *s = qtest_init(NULL);
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
    QTestState *s = qtest_init(NULL);

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

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    test_add_kvm_func("/qmp-introspect/properties",
                      test_device_and_class_properties);
    test_add_kvm_func("/qmp-introspect/qom-tree", test_qom_tree);
    test_add_kvm_func("/qmp-introspect/qom-set", test_qom_set);
    test_add_kvm_func("/qmp-introspect/query-iothreads",
                      test_query_iothreads);
    test_add_kvm_func("/qmp-introspect/unavailable-features",
                      test_unavailable_features);
    test_add_kvm_func("/qmp-introspect/query-command-line-options",
                      test_command_line_options);
    return g_test_run();
}
