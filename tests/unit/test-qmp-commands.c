/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP commands that need no machine, in-process (qmp-test-client.h):
 * reply shapes as QEMU gives them, and the migration settings' checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "monitor/monitor.h"
#include "system/vl.h"
#include "../../migration/colo-internal.h"
#include "qmp-test-client.h"

/* QEMU 7.2's StatusInfo: running, singlestep, status; nothing else. */
static void test_query_status_shape(void)
{
    Client *c = client_new();
    json_object *resp, *ret;

    negotiate(c, false);
    resp = expect_return(c, "{\"execute\":\"query-status\",\"id\":1}\n",
                         "1");
    ret = member(resp, "return");

    check_keys(ret, (const char *const[]){ "running", "singlestep", "status",
                                           NULL });
    g_assert_true(json_object_is_type(member(ret, "running"),
                                      json_type_boolean));
    g_assert_true(json_object_is_type(member(ret, "singlestep"),
                                      json_type_boolean));
    g_assert_false(json_object_get_boolean(member(ret, "singlestep")));
    g_assert_true(json_object_is_type(member(ret, "status"),
                                      json_type_string));
    json_object_put(resp);
    client_free(c);
}

/* A refused combination (QEMU's: postcopy-ram with multifd) is refused
 * when set, in QEMU's words; the set is all or nothing. */
static void test_postcopy_refused_at_set_time(void)
{
    Client *c = client_new();
    json_object *resp, *caps;

    negotiate(c, false);
    expect_error(c, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":"
                 "{\"capabilities\":[{\"capability\":\"events\",\"state\":"
                 "true},{\"capability\":\"postcopy-ram\",\"state\":true},"
                 "{\"capability\":\"multifd\",\"state\":true}]}}\n",
                 "GenericError",
                 "Postcopy is not yet compatible with multifd", NULL);
    resp = expect_return(c, "{\"execute\":\"query-migrate-capabilities\"}\n",
                         NULL);
    caps = member(resp, "return");
    for (size_t i = 0; i < json_object_array_length(caps); i++) {
        json_object *cap = json_object_array_get_idx(caps, i);
        const char *name = json_object_get_string(member(cap, "capability"));

        if (!strcmp(name, "postcopy-ram") || !strcmp(name, "events")) {
            g_assert_false(json_object_get_boolean(member(cap, "state")));
        }
    }
    json_object_put(resp);
    client_free(c);
}

/* x-colo-peer-timeout: default, set, read back, bounds. */
static void test_colo_peer_timeout_parameter(void)
{
    static const char query[] = "{\"execute\":\"query-migrate-parameters\"}\n";
    Client *c = client_new();
    json_object *resp;

    negotiate(c, false);
    resp = expect_return(c, query, NULL);
    g_assert_cmpint(json_object_get_int64(member(member(resp, "return"),
                                                 "x-colo-peer-timeout")),
                    ==, 5000);
    json_object_put(resp);
    json_object_put(expect_return(c,
        "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
        "{\"x-colo-peer-timeout\":30000}}\n", NULL));
    resp = expect_return(c, query, NULL);
    g_assert_cmpint(json_object_get_int64(member(member(resp, "return"),
                                                 "x-colo-peer-timeout")),
                    ==, 30000);
    json_object_put(resp);
    expect_error(c, "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
                 "{\"x-colo-peer-timeout\":99}}\n", "GenericError",
                 "Parameter 'x-colo-peer-timeout' expects an integer in the "
                 "range of 100 to 3600000 milliseconds", NULL);
    expect_error(c, "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
                 "{\"x-colo-peer-timeout\":3600001,\"downtime-limit\":7}}\n",
                 "GenericError", "x-colo-peer-timeout", NULL);
    /* Refused as a whole: neither changed. */
    resp = expect_return(c, query, NULL);
    g_assert_cmpint(json_object_get_int64(member(member(resp, "return"),
                                                 "x-colo-peer-timeout")),
                    ==, 30000);
    g_assert_cmpint(json_object_get_int64(member(member(resp, "return"),
                                                 "downtime-limit")),
                    !=, 7);
    json_object_put(resp);
    json_object_put(expect_return(c,
        "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
        "{\"x-colo-peer-timeout\":5000}}\n", NULL));
    client_free(c);
}

/* Machine-free commands answer with the right shapes. */
static void test_commands(void)
{
    Client *c = client_new();
    json_object *resp, *ret;
    bool found;

    negotiate(c, false);

    resp = expect_return(c, "{\"execute\":\"query-commands\"}\n", NULL);
    ret = member(resp, "return");
    g_assert_true(json_object_is_type(ret, json_type_array));
    found = false;
    for (size_t i = 0; i < json_object_array_length(ret); i++) {
        json_object *e = json_object_array_get_idx(ret, i);
        found |= !strcmp(json_object_get_string(member(e, "name")),
                         "query-status");
    }
    g_assert_true(found);
    json_object_put(resp);

    resp = expect_return(c, "{\"execute\":\"query-qmp-schema\"}\n", NULL);
    ret = member(resp, "return");
    g_assert_true(json_object_is_type(ret, json_type_array));
    g_assert_cmpuint(json_object_array_length(ret), >, 10);
    json_object_put(resp);

    resp = expect_return(c, "{\"execute\":\"query-status\"}\n", NULL);
    ret = member(resp, "return");
    g_assert_true(json_object_is_type(member(ret, "running"),
                                      json_type_boolean));
    g_assert_true(json_object_is_type(member(ret, "status"),
                                      json_type_string));
    json_object_put(resp);

    json_object_put(expect_return(c, "{\"execute\":\"query-name\"}\n", NULL));

    resp = expect_return(c, "{\"execute\":\"query-kvm\"}\n", NULL);
    ret = member(resp, "return");
    check_keys(ret, (const char *const[]){ "enabled", "present", NULL });
    json_object_put(resp);

    resp = expect_return(c, "{\"execute\":\"query-chardev\"}\n", NULL);
    ret = member(resp, "return");
    found = false;
    for (size_t i = 0; i < json_object_array_length(ret); i++) {
        json_object *e = json_object_array_get_idx(ret, i);
        found |= !strcmp(json_object_get_string(member(e, "label")),
                         c->chr->id);
    }
    g_assert_true(found);
    json_object_put(resp);

    /* The monitor's own chardev cannot be pulled from under it. */
    {
        g_autofree char *req = g_strdup_printf(
            "{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"%s\"}}\n",
            c->chr->id);

        expect_error(c, req, "GenericError", "is busy", NULL);
    }

    resp = expect_return(c, "{\"execute\":\"qom-list-types\"}\n", NULL);
    g_assert_true(json_object_is_type(member(resp, "return"),
                                      json_type_array));
    json_object_put(resp);

    json_object_put(expect_return(c, "{\"execute\":\"object-add\",\"arguments\":"
                                  "{\"qom-type\":\"iothread\",\"id\":\"io-t\"}}\n",
                                  NULL));
    expect_error(c, "{\"execute\":\"object-add\",\"arguments\":"
                 "{\"qom-type\":\"iothread\",\"id\":\"io-t\"}}\n",
                 "GenericError", "io-t", NULL);
    json_object_put(expect_return(c, "{\"execute\":\"object-del\",\"arguments\":"
                                  "{\"id\":\"io-t\"}}\n", NULL));
    expect_error(c, "{\"execute\":\"object-del\",\"arguments\":"
                 "{\"id\":\"io-t\"}}\n", "GenericError", "io-t", NULL);
    expect_error(c, "{\"execute\":\"object-add\",\"arguments\":"
                 "{\"qom-type\":\"no-such-type\",\"id\":\"x\"}}\n",
                 "GenericError", "no-such-type", NULL);
    /* No device type is hotpluggable yet (tests/unit/test-qdev.c). */
    expect_error(c, "{\"execute\":\"device_add\",\"arguments\":"
                 "{\"driver\":\"isa-debug-exit\",\"iobase\":1280}}\n",
                 "GenericError", "Device 'isa-debug-exit' does not support "
                 "hotplugging", NULL);
    expect_error(c, "{\"execute\":\"device_del\",\"arguments\":"
                 "{\"id\":\"nope\"}}\n",
                 "DeviceNotFound", "Device 'nope' not found", NULL);

    resp = expect_return(c, "{\"execute\":\"human-monitor-command\","
                         "\"arguments\":{\"command-line\":\"info version\"}}\n",
                         NULL);
    ret = member(resp, "return");
    g_assert_true(json_object_is_type(ret, json_type_string));
    g_assert_cmpuint(json_object_get_string_len(ret), >, 0);
    json_object_put(resp);

    resp = expect_return(c, "{\"execute\":\"human-monitor-command\","
                         "\"arguments\":{\"command-line\":\"help\"}}\n", NULL);
    ret = member(resp, "return");
    g_assert_nonnull(strstr(json_object_get_string(ret), "info version"));
    json_object_put(resp);
    client_free(c);
}

/* libvirt's probe: query-target and query-machines as QEMU 7.2 answers. */
static void test_machine_probe(void)
{
    Client *c = client_new();
    json_object *resp, *list, *m;

    negotiate(c, false);
    resp = expect_return(c, "{\"execute\":\"query-target\"}\n", NULL);
    check_keys(member(resp, "return"), (const char *const[]){ "arch", NULL });
    g_assert_cmpstr(json_object_get_string(member(member(resp, "return"),
                                                  "arch")), ==, "x86_64");
    json_object_put(resp);

    resp = expect_return(c, "{\"execute\":\"query-machines\"}\n", NULL);
    list = member(resp, "return");
    g_assert_true(json_object_is_type(list, json_type_array));
    g_assert_cmpuint(json_object_array_length(list), ==, 2);
    /* QEMU's empty machine first, then the pc. */
    m = json_object_array_get_idx(list, 0);
    check_keys(m, (const char *const[]){ "name", "cpu-max",
        "hotpluggable-cpus", "numa-mem-supported", "deprecated",
        "default-ram-id", "acpi", NULL });
    g_assert_cmpstr(json_object_get_string(member(m, "name")), ==, "none");
    g_assert_cmpint(json_object_get_int(member(m, "cpu-max")), ==, 1);
    m = json_object_array_get_idx(list, 1);
    check_keys(m, (const char *const[]){ "name", "alias", "is-default",
        "cpu-max", "hotpluggable-cpus", "numa-mem-supported", "deprecated",
        "default-ram-id", "acpi", NULL });
    g_assert_cmpstr(json_object_get_string(member(m, "name")), ==,
                    "pc-i440fx-7.2");
    g_assert_cmpstr(json_object_get_string(member(m, "alias")), ==, "pc");
    g_assert_true(json_object_get_boolean(member(m, "is-default")));
    g_assert_cmpint(json_object_get_int(member(m, "cpu-max")), ==, 255);
    g_assert_false(json_object_get_boolean(member(m, "hotpluggable-cpus")));
    g_assert_false(json_object_get_boolean(member(m, "deprecated")));
    g_assert_false(json_object_get_boolean(member(m, "acpi")));
    g_assert_cmpstr(json_object_get_string(member(m, "default-ram-id")), ==,
                    "pc.ram");
    json_object_put(resp);
    client_free(c);
}

/* query-uuid: all zeros until -uuid gives one (lower-cased). */
static void test_query_uuid(void)
{
    char *argv[] = { "tandem", "-uuid",
                     "550E8400-E29B-41D4-A716-446655440000", NULL };
    SystemConfig cfg;
    Client *c = client_new();
    json_object *resp;

    negotiate(c, false);
    resp = expect_return(c, "{\"execute\":\"query-uuid\"}\n", NULL);
    check_keys(member(resp, "return"), (const char *const[]){ "UUID", NULL });
    g_assert_cmpstr(json_object_get_string(member(member(resp, "return"),
                                                  "UUID")), ==,
                    "00000000-0000-0000-0000-000000000000");
    json_object_put(resp);
    g_assert_true(vl_parse_args(3, argv, &cfg, &error_abort));
    vl_config_free(&cfg);
    resp = expect_return(c, "{\"execute\":\"query-uuid\"}\n", NULL);
    g_assert_cmpstr(json_object_get_string(member(member(resp, "return"),
                                                  "UUID")), ==,
                    "550e8400-e29b-41d4-a716-446655440000");
    json_object_put(resp);
    client_free(c);
}

/* Reads one event named name (no reply may come first); returns data. */
static json_object *expect_event(Client *c, const char *name,
                                 json_object **ev)
{
    *ev = recv_json(c);
    g_assert_cmpstr(json_object_get_string(member(*ev, "event")), ==, name);
    return member(*ev, "data");
}

static json_object *query_colo_status(Client *c, json_object **resp)
{
    *resp = expect_return(c, "{\"execute\":\"query-colo-status\"}\n", NULL);
    return member(*resp, "return");
}

/*
 * A COLO secondary that lost its primary (issue 10, 5b and 9d): it says
 * so in X_COLO_PEER_LOST, in query-colo-status (reason error and
 * x-peer-lost while it waits) and in info colo; the operator's command
 * then ends the run with COLO_EXIT reason error, as QEMU reports it.
 * Without a loss the command's reason is request and the reply keeps
 * QEMU's three members. (The COLO loops themselves need KVM: test-colo
 * and test_colo.py drive them.)
 */
static void test_colo_peer_lost(void)
{
    static const char why[] = "the primary sent nothing for 5000 ms";
    ColoState *colo = colo_current();
    Client *c = client_new();
    json_object *ev, *resp, *st, *data;
    g_autofree char *info = NULL;

    negotiate(c, false);
    colo_run_begin(colo, COLO_MODE_SECONDARY, NULL, NULL);
    colo_peer_lost(colo, why);
    data = expect_event(c, "X_COLO_PEER_LOST", &ev);
    check_keys(data, (const char *const[]){ "mode", "error", NULL });
    g_assert_cmpstr(json_object_get_string(member(data, "mode")), ==,
                    "secondary");
    g_assert_cmpstr(json_object_get_string(member(data, "error")), ==, why);
    json_object_put(ev);

    st = query_colo_status(c, &resp);
    check_keys(st, (const char *const[]){ "mode", "last-mode", "reason",
                                          "x-peer-lost", NULL });
    g_assert_cmpstr(json_object_get_string(member(st, "mode")), ==,
                    "secondary");
    g_assert_cmpstr(json_object_get_string(member(st, "reason")), ==,
                    "error");
    g_assert_cmpstr(json_object_get_string(member(st, "x-peer-lost")), ==,
                    why);
    json_object_put(resp);
    info = hmp_run_command("info colo", &error_abort);
    g_assert_nonnull(strstr(info, "COLO mode: secondary"));
    g_assert_nonnull(strstr(info, "reason: error"));
    g_assert_nonnull(strstr(info, "peer: lost (the primary sent nothing "
                            "for 5000 ms)"));

    /* The operator's command: the failover ends the run with error. */
    json_object_put(expect_return(c,
        "{\"execute\":\"x-colo-lost-heartbeat\"}\n", NULL));
    g_assert_cmpint(colo_failover_exit_reason(colo), ==,
                    COLO_EXIT_REASON_ERROR);
    colo_run_end(colo, colo_failover_exit_reason(colo), false);
    data = expect_event(c, "COLO_EXIT", &ev);
    g_assert_cmpstr(json_object_get_string(member(data, "reason")), ==,
                    "error");
    json_object_put(ev);
    st = query_colo_status(c, &resp);
    g_assert_cmpstr(json_object_get_string(member(st, "mode")), ==, "none");
    g_assert_cmpstr(json_object_get_string(member(st, "last-mode")), ==,
                    "secondary");
    g_assert_cmpstr(json_object_get_string(member(st, "reason")), ==,
                    "error");
    g_assert_cmpstr(json_object_get_string(member(st, "x-peer-lost")), ==,
                    why);
    json_object_put(resp);

    /* A new run forgets the loss; a failover by command is request. */
    colo_run_begin(colo, COLO_MODE_SECONDARY, NULL, NULL);
    st = query_colo_status(c, &resp);
    check_keys(st, (const char *const[]){ "mode", "last-mode", "reason",
                                          NULL });
    g_assert_cmpstr(json_object_get_string(member(st, "reason")), ==, "none");
    json_object_put(resp);
    json_object_put(expect_return(c,
        "{\"execute\":\"x-colo-lost-heartbeat\"}\n", NULL));
    g_assert_cmpint(colo_failover_exit_reason(colo), ==,
                    COLO_EXIT_REASON_REQUEST);
    colo_run_end(colo, colo_failover_exit_reason(colo), false);
    data = expect_event(c, "COLO_EXIT", &ev);
    g_assert_cmpstr(json_object_get_string(member(data, "reason")), ==,
                    "request");
    json_object_put(ev);
    st = query_colo_status(c, &resp);
    check_keys(st, (const char *const[]){ "mode", "last-mode", "reason",
                                          NULL });
    g_assert_cmpstr(json_object_get_string(member(st, "reason")), ==,
                    "request");
    json_object_put(resp);
    client_free(c);
}

/* True once every writer of the pipe whose read end is rfd has closed. */
static bool pipe_writers_gone(Client *c, int rfd)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;
    char b;

    for (;;) {
        ssize_t n = read(rfd, &b, 1);

        if (n == 0) {
            return true;
        }
        g_assert_true(n < 0 && errno == EAGAIN);
        if (g_get_monotonic_time() > deadline) {
            return false;
        }
        spin(c);
    }
}

/* Reads the next reply, which must be a return without id. */
static void recv_return(Client *c)
{
    json_object *resp = recv_json(c);

    check_return(resp, NULL);
    json_object_put(resp);
}

/* A pipe whose write end goes to the monitor; returns the read end. */
static int send_pipe(Client *c, const char *request)
{
    int p[2];

    g_assert_cmpint(pipe2(p, O_CLOEXEC | O_NONBLOCK), ==, 0);
    send_str_with_fd(c, request, p[1]);
    close(p[1]);
    return p[0];
}

/*
 * getfd/closefd with fds passed over the socket, as libvirt passes
 * them: a named fd is kept (its pipe stays open) until closefd; an fd
 * nobody took is closed after its command; errors as QEMU words them.
 */
static void test_getfd_closefd(void)
{
    Client *c = client_new();
    json_object *resp;
    int r1, r2, r3;

    negotiate(c, false);
    expect_error(c, "{\"execute\":\"getfd\",\"arguments\":"
                 "{\"fdname\":\"x\"}}\n", "GenericError",
                 "No file descriptor supplied via SCM_RIGHTS", NULL);

    r1 = send_pipe(c, "{\"execute\":\"getfd\",\"arguments\":"
                      "{\"fdname\":\"p1\"}}\n");
    recv_return(c);
    {
        char b;

        g_assert_cmpint(read(r1, &b, 1), ==, -1);
        g_assert_cmpint(errno, ==, EAGAIN);     /* still held */
    }
    /* The same name again: the new fd has it, the old one is closed. */
    r2 = send_pipe(c, "{\"execute\":\"getfd\",\"arguments\":"
                      "{\"fdname\":\"p1\"}}\n");
    recv_return(c);
    g_assert_true(pipe_writers_gone(c, r1));
    json_object_put(expect_return(c, "{\"execute\":\"closefd\","
                                  "\"arguments\":{\"fdname\":\"p1\"}}\n",
                                  NULL));
    g_assert_true(pipe_writers_gone(c, r2));
    expect_error(c, "{\"execute\":\"closefd\",\"arguments\":"
                 "{\"fdname\":\"p1\"}}\n", "GenericError",
                 "File descriptor named 'p1' not found", NULL);

    /* Refused names, and commands that take no fd, close what came. */
    r3 = send_pipe(c, "{\"execute\":\"getfd\",\"arguments\":"
                      "{\"fdname\":\"1st\"}}\n");
    resp = recv_json(c);
    check_error(resp, "GenericError", "not starting with a digit", NULL);
    json_object_put(resp);
    g_assert_true(pipe_writers_gone(c, r3));
    close(r3);
    r3 = send_pipe(c, "{\"execute\":\"query-name\"}\n");
    recv_return(c);
    g_assert_true(pipe_writers_gone(c, r3));
    close(r1);
    close(r2);
    close(r3);
    client_free(c);
}

/*
 * migrate fd:NAME (libvirt's tunnelled and p2p migrations): the named
 * fd is taken from the monitor and the stream goes out on it.
 */
static void test_migrate_fd_name(void)
{
    Client *c = client_new();
    json_object *resp;
    int sv[2];
    uint8_t magic[4];
    size_t got = 0;
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;

    negotiate(c, false);
    expect_error(c, "{\"execute\":\"migrate\",\"arguments\":"
                 "{\"uri\":\"fd:nosuch\"}}\n", "GenericError",
                 "File descriptor named 'nosuch' not found", NULL);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    send_str_with_fd(c, "{\"execute\":\"getfd\",\"arguments\":"
                     "{\"fdname\":\"migfd\"}}\n", sv[0]);
    close(sv[0]);
    recv_return(c);
    json_object_put(expect_return(c, "{\"execute\":\"migrate\","
                                  "\"arguments\":{\"uri\":\"fd:migfd\"}}\n",
                                  NULL));
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    while (got < sizeof(magic)) {
        ssize_t n = read(sv[1], magic + got, sizeof(magic) - got);

        if (n > 0) {
            got += n;
        } else {
            g_assert_true(n < 0 && errno == EAGAIN);
            g_assert_cmpint(g_get_monotonic_time(), <, deadline);
            spin(c);
        }
    }
    g_assert_cmpmem(magic, 4, "TDMS", 4);
    /* Taken: the name is gone from the monitor. */
    expect_error(c, "{\"execute\":\"closefd\",\"arguments\":"
                 "{\"fdname\":\"migfd\"}}\n", "GenericError",
                 "File descriptor named 'migfd' not found", NULL);
    /* The destination goes away: the migration ends (failed). */
    close(sv[1]);
    for (;;) {
        const char *st;

        resp = expect_return(c, "{\"execute\":\"query-migrate\"}\n", NULL);
        st = json_object_get_string(member(member(resp, "return"), "status"));
        if (strcmp(st, "setup") && strcmp(st, "active") &&
            strcmp(st, "device")) {
            json_object_put(resp);
            break;
        }
        json_object_put(resp);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline + 30 * G_USEC_PER_SEC);
        spin(c);
    }
    client_free(c);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    g_test_add_func("/qmp/query-status/shape", test_query_status_shape);
    g_test_add_func("/qmp/migrate-set-parameters/x-colo-peer-timeout",
                    test_colo_peer_timeout_parameter);
    g_test_add_func("/qmp/migrate-set-capabilities/postcopy-refused",
                    test_postcopy_refused_at_set_time);
    g_test_add_func("/qmp/commands", test_commands);
    g_test_add_func("/qmp/machine-probe", test_machine_probe);
    g_test_add_func("/qmp/query-uuid", test_query_uuid);
    g_test_add_func("/qmp/colo/peer-lost", test_colo_peer_lost);
    g_test_add_func("/qmp/getfd-closefd", test_getfd_closefd);
    g_test_add_func("/qmp/migrate/fd-name", test_migrate_fd_name);
    return qmp_test_run();
}
