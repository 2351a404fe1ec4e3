/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Live migration over QMP: capabilities and parameters (QEMU's names,
 * defaults and errors), migrate to a file and migrate-incoming from it
 * into a second process, and a tcp migration between two running
 * processes with MIGRATION events. Guest memory written through qtest
 * before the migration must read back the same on the destination.
 * The full matrix (transports, cancel, failures, strict SLA) is in
 * tests/functional/test_migration.py.
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "kvm-skip.h"
#include "migration-helpers.h"

#define PATTERN_ADDR    0x1000000ULL    /* 16 MiB, above the guest image */
#define PATTERN_LEN     8192

static void fill_pattern(uint8_t *buf, unsigned seed)
{
    for (unsigned i = 0; i < PATTERN_LEN; i++) {
        buf[i] = (uint8_t)(i * 7 + seed);
    }
}

/* A capability's state in query-migrate-capabilities. */
static bool migrate_cap_state(QTestState *s, const char *name)
{
    json_object *r = qtest_qmp_assert_success(s,
        "{'execute': 'query-migrate-capabilities'}");
    bool state = false, found = false;

    for (size_t i = 0; i < json_object_array_length(r); i++) {
        json_object *c = json_object_array_get_idx(r, i);

        if (!strcmp(qt_json_str(c, "capability"), name)) {
            state = json_object_get_boolean(qt_json_get(c, "state"));
            found = true;
        }
    }
    json_object_put(r);
    g_assert_true(found);
    return state;
}

static void test_caps_params(void)
{
    QTestState *s = qtest_init(NULL);
    json_object *r;
    char *desc;

    r = qtest_qmp_assert_success(s, "{'execute': 'query-migrate-parameters'}");
    g_assert_cmpint(json_object_get_int64(qt_json_get(r, "downtime-limit")),
                    ==, 300);
    g_assert_cmpint(json_object_get_int64(qt_json_get(r, "max-bandwidth")),
                    ==, 128 << 20);
    g_assert_cmpint(json_object_get_int64(qt_json_get(r,
                    "x-checkpoint-delay")), ==, 20000);
    json_object_put(r);
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'migrate-set-parameters', 'arguments': "
        "{'downtime-limit': 50, 'max-bandwidth': 1000000}}"));
    r = qtest_qmp_assert_success(s, "{'execute': 'query-migrate-parameters'}");
    g_assert_cmpint(json_object_get_int64(qt_json_get(r, "downtime-limit")),
                    ==, 50);
    json_object_put(r);
    desc = qtest_qmp_assert_error(s, NULL,
        "{'execute': 'migrate-set-parameters', 'arguments': "
        "{'downtime-limit': 3000000}}");
    g_assert_nonnull(strstr(desc, "downtime_limit"));
    g_free(desc);

    r = qtest_qmp_assert_success(s,
                                 "{'execute': 'query-migrate-capabilities'}");
    g_assert_cmpint(json_object_array_length(r), ==, 24);
    json_object_put(r);
    g_assert_false(migrate_cap_state(s, "x-stream-checksum"));
    desc = qtest_qmp_assert_error(s, NULL,
        "{'execute': 'migrate-set-capabilities', 'arguments': "
        "{'capabilities': [{'capability': 'multifd', 'state': true}]}}");
    g_assert_cmpstr(desc, ==, "capability 'multifd' is not supported by "
                    "Tandem");
    g_free(desc);
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'migrate-set-capabilities', 'arguments': "
        "{'capabilities': [{'capability': 'x-colo', 'state': true}]}}"));
    /* Checksums follow x-colo until set explicitly. */
    g_assert_true(migrate_cap_state(s, "x-stream-checksum"));
    desc = qtest_qmp_assert_error(s, NULL,
        "{'execute': 'migrate', 'arguments': {'uri': 'exec:cat >/dev/null'}}");
    g_assert_cmpstr(desc, ==, "x-colo needs a return path: use a tcp:, "
                    "unix: or socket fd: transport");
    g_free(desc);
    /* Refused when set, all or nothing: x-colo stays on, events off. */
    desc = qtest_qmp_assert_error(s, NULL,
        "{'execute': 'migrate-set-capabilities', 'arguments': "
        "{'capabilities': [{'capability': 'events', 'state': true}, "
        "{'capability': 'postcopy-ram', 'state': true}]}}");
    g_assert_cmpstr(desc, ==,
                    "x-colo and postcopy-ram cannot be used together");
    g_free(desc);
    g_assert_true(migrate_cap_state(s, "x-colo"));
    g_assert_false(migrate_cap_state(s, "events"));
    g_assert_false(migrate_cap_state(s, "postcopy-ram"));
    /* So migrate-start-postcopy meets QEMU's error for that case. */
    desc = qtest_qmp_assert_error(s, NULL,
        "{'execute': 'migrate-start-postcopy'}");
    g_assert_cmpstr(desc, ==, "Enable postcopy with migrate_set_capability "
                    "before the start of migration");
    g_free(desc);
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'migrate-set-capabilities', 'arguments': "
        "{'capabilities': [{'capability': 'x-colo', 'state': false}]}}"));
    g_assert_false(migrate_cap_state(s, "x-stream-checksum"));
    /* Once set, it no longer follows. */
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'migrate-set-capabilities', 'arguments': "
        "{'capabilities': [{'capability': 'x-stream-checksum', "
        "'state': false}, {'capability': 'x-colo', 'state': true}]}}"));
    g_assert_false(migrate_cap_state(s, "x-stream-checksum"));
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'migrate-set-capabilities', 'arguments': "
        "{'capabilities': [{'capability': 'x-colo', 'state': false}]}}"));
    desc = qtest_qmp_assert_error(s, NULL,
        "{'execute': 'migrate-incoming', 'arguments': {'uri': 'tcp:0:0'}}");
    g_assert_nonnull(strstr(desc, "-incoming"));
    g_free(desc);
    json_object_put(qtest_qmp_assert_success(s,
                                             "{'execute': 'migrate_cancel'}"));
    r = qtest_qmp_assert_success(s, "{'execute': 'query-migrate'}");
    g_assert_false(qt_json_has(r, "status"));
    json_object_put(r);
    qtest_quit(s);
}

/* checksum: the source sets x-stream-checksum; the destination follows. */
static void file_round_trip(bool checksum)
{
    g_autofree char *path = qtest_scratch_path("state.bin");
    uint8_t in[PATTERN_LEN], out[PATTERN_LEN];
    QTestState *src = qtest_init(NULL), *dst;
    json_object *r;

    fill_pattern(in, 1);
    qtest_memwrite(src, PATTERN_ADDR, in, sizeof(in));
    json_object_put(qtest_qmp_assert_success(src, "{'execute': 'stop'}"));
    if (checksum) {
        json_object_put(qtest_qmp_assert_success(src,
            "{'execute': 'migrate-set-capabilities', 'arguments': "
            "{'capabilities': [{'capability': 'x-stream-checksum', "
            "'state': true}]}}"));
    }
    json_object_put(qtest_qmp_assert_success(src,
        "{'execute': 'migrate', 'arguments': {'uri': 'file:%s'}}", path));
    migrate_wait_status(src, "completed");
    qtest_quit(src);

    dst = qtest_init("-incoming defer");
    r = qtest_qmp_assert_success(dst, "{'execute': 'query-status'}");
    g_assert_cmpstr(qt_json_str(r, "status"), ==, "inmigrate");
    json_object_put(r);
    json_object_put(qtest_qmp_assert_success(dst,
        "{'execute': 'migrate-incoming', 'arguments': {'uri': 'file:%s'}}",
        path));
    migrate_wait_status(dst, "completed");
    qtest_memread(dst, PATTERN_ADDR, out, sizeof(out));
    g_assert_cmpmem(in, sizeof(in), out, sizeof(out));
    qtest_quit(dst);
}

static void test_file(void)
{
    file_round_trip(false);
}

static void test_file_checksum(void)
{
    file_round_trip(true);
}

static void test_tcp(void)
{
    uint8_t in[PATTERN_LEN], out[PATTERN_LEN];
    QTestState *dst = qtest_init("-incoming tcp:127.0.0.1:0");
    QTestState *src = qtest_init(NULL);
    json_object *r, *addr;
    const char *port;
    json_object *ev;

    fill_pattern(in, 2);
    qtest_memwrite(src, PATTERN_ADDR, in, sizeof(in));
    r = qtest_qmp_assert_success(dst, "{'execute': 'query-migrate'}");
    addr = json_object_array_get_idx(qt_json_get(r, "socket-address"), 0);
    g_assert_cmpstr(qt_json_str(addr, "type"), ==, "inet");
    port = qt_json_str(addr, "port");
    g_assert_cmpint(atoi(port), >, 0);
    json_object_put(qtest_qmp_assert_success(src,
        "{'execute': 'migrate-set-capabilities', 'arguments': "
        "{'capabilities': [{'capability': 'events', 'state': true}]}}"));
    json_object_put(qtest_qmp_assert_success(src,
        "{'execute': 'migrate', 'arguments': {'uri': 'tcp:127.0.0.1:%s'}}",
        port));
    json_object_put(r);
    ev = qtest_qmp_eventwait(src, "MIGRATION");
    g_assert_cmpstr(qt_json_str(qt_json_get(ev, "data"), "status"), ==,
                    "setup");
    json_object_put(ev);
    migrate_wait_status(src, "completed");
    migrate_wait_status(dst, "completed");
    r = qtest_qmp_assert_success(src, "{'execute': 'query-migrate'}");
    g_assert_true(qt_json_has(r, "downtime"));
    g_assert_true(qt_json_has(r, "total-time"));
    json_object_put(r);
    r = qtest_qmp_assert_success(dst, "{'execute': 'query-status'}");
    g_assert_cmpstr(qt_json_str(r, "status"), ==, "running");
    json_object_put(r);
    qtest_memread(dst, PATTERN_ADDR, out, sizeof(out));
    g_assert_cmpmem(in, sizeof(in), out, sizeof(out));
    qtest_quit(src);
    qtest_quit(dst);
}

/*
 * A -S destination (libvirt's) runs after the migration only if cont
 * came, before it (while in inmigrate, as libvirt sends it to a domain
 * it starts) or after it.
 */
static void test_cont_during_incoming(void)
{
    for (int early = 0; early < 2; early++) {
        QTestState *dst = qtest_init("-S -incoming tcp:127.0.0.1:0");
        QTestState *src = qtest_init(NULL);
        json_object *r, *addr;

        if (early) {
            qtest_qmp_ok(dst, "{'execute': 'cont'}");
        }
        r = qtest_qmp_assert_success(dst, "{'execute': 'query-migrate'}");
        addr = json_object_array_get_idx(qt_json_get(r, "socket-address"),
                                         0);
        qtest_qmp_ok(src, "{'execute': 'migrate', 'arguments': "
                     "{'uri': 'tcp:127.0.0.1:%s'}}", qt_json_str(addr, "port"));
        json_object_put(r);
        migrate_wait_status(src, "completed");
        migrate_wait_status(dst, "completed");
        g_assert_cmpstr(qtest_runstate(dst, NULL), ==,
                        early ? "running" : "paused");
        if (!early) {
            qtest_qmp_ok(dst, "{'execute': 'cont'}");
            g_assert_cmpstr(qtest_runstate(dst, NULL), ==, "running");
        }
        qtest_quit(src);
        qtest_quit(dst);
    }
}

/* getfd on a QMP socket: fd is known to s as name. */
static void getfd(QTestState *s, int fd, const char *name)
{
    json_object *r = qtest_qmp_fd(s, fd, "{'execute': 'getfd', "
                                  "'arguments': {'fdname': '%s'}}", name);

    g_assert_true(qt_json_has(r, "return"));
    json_object_put(r);
}

/*
 * libvirt's tunnelled and peer-to-peer migrations: each side gets one end
 * of a socketpair with getfd, the destination with -incoming defer, and
 * the URIs are fd:NAME.
 */
static void test_fd_names(void)
{
    uint8_t in[PATTERN_LEN], out[PATTERN_LEN];
    QTestState *dst = qtest_init("-incoming defer");
    QTestState *src = qtest_init(NULL);
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    fill_pattern(in, 3);
    qtest_memwrite(src, PATTERN_ADDR, in, sizeof(in));
    getfd(dst, sv[0], "in");
    getfd(src, sv[1], "out");
    close(sv[0]);
    close(sv[1]);
    json_object_put(qtest_qmp_assert_success(dst,
        "{'execute': 'migrate-incoming', 'arguments': {'uri': 'fd:in'}}"));
    json_object_put(qtest_qmp_assert_success(src,
        "{'execute': 'migrate', 'arguments': {'uri': 'fd:out'}}"));
    migrate_wait_status(src, "completed");
    migrate_wait_status(dst, "completed");
    qtest_memread(dst, PATTERN_ADDR, out, sizeof(out));
    g_assert_cmpmem(in, sizeof(in), out, sizeof(out));
    /* Both names were taken by the migrations. */
    qtest_qmp_assert_error_contains(src, "GenericError",
        "File descriptor named 'out' not found",
        "{'execute': 'closefd', 'arguments': {'fdname': 'out'}}");
    qtest_quit(src);
    qtest_quit(dst);
}

/*
 * Postcopy recovery's commands and max-postcopy-bandwidth under -accel
 * qtest, where nothing migrates: QEMU's errors when no postcopy is
 * paused, the parameter's default and range, and the HMP forms. The
 * recovery itself runs in tests/unit/test-postcopy-migration.c.
 */
static void test_postcopy_recover_errors(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);
    json_object *r;
    char *out;

    qtest_qmp_assert_error_contains(s, "GenericError",
        "Migrate recover can only be run when postcopy is paused.",
        "{'execute': 'migrate-recover', 'arguments': {'uri': 'tcp:0:0'}}");
    qtest_qmp_assert_error_contains(s, "GenericError",
        "migrate-pause is currently only supported during postcopy-active "
        "or postcopy-recover state", "{'execute': 'migrate-pause'}");
    /* Nothing migrates here: that refusal comes first, resume or not. */
    qtest_qmp_assert_error_contains(s, "GenericError",
        "Migration is not supported",
        "{'execute': 'migrate', 'arguments': {'uri': 'tcp:127.0.0.1:1', "
        "'resume': true}}");
    r = qtest_qmp_assert_success(s, "{'execute': 'query-migrate-parameters'}");
    g_assert_cmpint(json_object_get_int64(qt_json_get(r,
                    "max-postcopy-bandwidth")), ==, 0);
    json_object_put(r);
    json_object_put(qtest_qmp_assert_success(s,
        "{'execute': 'migrate-set-parameters', 'arguments': "
        "{'max-postcopy-bandwidth': 1048576}}"));
    r = qtest_qmp_assert_success(s, "{'execute': 'query-migrate-parameters'}");
    g_assert_cmpint(json_object_get_int64(qt_json_get(r,
                    "max-postcopy-bandwidth")), ==, 1048576);
    json_object_put(r);
    qtest_qmp_assert_error_contains(s, "GenericError",
        "Parameter 'max_postcopy_bandwidth' expects an integer in the range "
        "of 0 to", "{'execute': 'migrate-set-parameters', 'arguments': "
        "{'max-postcopy-bandwidth': 18446744073709551615}}");
    out = qtest_hmp(s, "migrate_recover tcp:0:0");
    g_assert_nonnull(strstr(out, "Migrate recover can only be run when "
                            "postcopy is paused."));
    g_free(out);
    out = qtest_hmp(s, "migrate_pause");
    g_assert_nonnull(strstr(out, "migrate-pause is currently only "
                            "supported"));
    g_free(out);
    out = qtest_hmp(s, "migrate -d -r tcp:127.0.0.1:1");
    g_assert_nonnull(strstr(out, "Migration is not supported"));
    g_free(out);
    out = qtest_hmp(s, "migrate -r");
    g_assert_nonnull(strstr(out, "Error: usage: migrate [-d] [-r] uri"));
    g_free(out);
    out = qtest_hmp(s, "migrate_set_parameter max-postcopy-bandwidth 2M");
    g_free(out);
    out = qtest_hmp(s, "info migrate_parameters");
    g_assert_nonnull(strstr(out, "max-postcopy-bandwidth: 2097152 "
                            "bytes/second"));
    g_free(out);
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/postcopy-recover-errors",
                    test_postcopy_recover_errors);
    test_add_kvm_func("/migration/caps-params", test_caps_params);
    test_add_kvm_func("/migration/file", test_file);
    test_add_kvm_func("/migration/file-checksum", test_file_checksum);
    test_add_kvm_func("/migration/tcp", test_tcp);
    test_add_kvm_func("/migration/cont-during-incoming",
                      test_cont_during_incoming);
    test_add_kvm_func("/migration/fd-names", test_fd_names);
    return g_test_run();
}
