/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO over QMP with two real processes on the count guest: the upstream
 * COLO qtest scenario (bring-up, three checkpoints, then a failover with
 * exec-oob yank and x-colo-lost-heartbeat on the primary or on the
 * secondary, optionally right at a checkpoint), the relaunch path of the
 * failover state machine, the COLO commands' answers and errors with and
 * without a COLO run, and the HMP commands.
 *
 * Guest progress: the primary's serial file grows at every checkpoint
 * (output commit releases what the guest wrote once the secondary holds
 * the checkpoint). The secondary's file stays empty while COLO runs (its
 * own output is superseded by every checkpoint), so its progress is read
 * from the guest's status page (lines printed) until it fails over; from
 * then on its file grows too.
 *
 * Every wait is bounded by qtest_timeout_ms(); nothing depends on how
 * fast the host is.
 */
#include <string.h>
#include "kvm-skip.h"
#include "migration-helpers.h"

typedef enum {
    SIDE_PRIMARY,
    SIDE_SECONDARY,
} Side;

/* ---- small helpers ---- */

static gint64 deadline_ms(int ms)
{
    return g_get_monotonic_time() + (gint64)ms * 1000;
}

static const char *side_name(Side side)
{
    return side == SIDE_PRIMARY ? "primary" : "secondary";
}

static int64_t colo_stat(QTestState *s, const char *key)
{
    json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                              "'query-colo-stats'}");
    json_object *v = qt_json_get(r, key);
    int64_t n;

    g_assert_nonnull(v);
    n = json_object_get_int64(v);
    json_object_put(r);
    return n;
}

static int64_t colo_trigger_count(QTestState *s, const char *trigger)
{
    json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                              "'query-colo-stats'}");
    json_object *v = qt_json_get(qt_json_get(r, "triggers"), trigger);
    int64_t n;

    g_assert_nonnull(v);
    n = json_object_get_int64(v);
    json_object_put(r);
    return n;
}

/* Polls a file until it contains needle. */
static bool wait_file_has(const char *path, const char *needle)
{
    return qtest_wait_file_count(path, needle, 1, qtest_timeout_ms());
}

/* ---- checkpoints ---- */

/* Three checkpoints, each seen loaded on the secondary, with progress. */
static void colo_three_checkpoints(ColoPair *c)
{
    unsigned pri_lines = qtest_file_count(c->pri_serial, TG_COUNT_LINE);
    uint64_t sec_lines = qtest_readq(c->sec, TG_LINES_ADDR);

    qtest_qmp_clear_events(c->sec);
    for (int i = 0; i < 3; i++) {
        json_object_put(qtest_qmp_eventwait(c->sec, "RESUME"));
        pri_lines = tg_wait_serial_grows(c->pri_serial, pri_lines);
        sec_lines = tg_wait_lines_grow(c->sec, sec_lines);
    }
    g_assert_cmpint(colo_stat(c->pri, "checkpoints"), >=, 3);
    g_assert_cmpint(colo_stat(c->sec, "checkpoints"), >=, 3);
}

/* ---- the upstream scenario ---- */

/* exec-oob yank of the migration, then x-colo-lost-heartbeat, on s. */
static void colo_yank_and_failover(QTestState *s)
{
    json_object *rsp = qtest_qmp(s, "{'exec-oob': 'yank', 'id': 'yank0', "
                                 "'arguments': {'instances': "
                                 "[{'type': 'migration'}]}}");

    if (!qt_json_has(rsp, "return")) {
        g_error("yank failed: %s", json_object_to_json_string(rsp));
    }
    g_assert_cmpstr(qt_json_str(rsp, "id"), ==, "yank0");
    json_object_put(rsp);
    qtest_qmp_ok(s, "{'execute': 'x-colo-lost-heartbeat'}");
}

static void colo_failover_test(Side side, bool at_checkpoint)
{
    ColoPair c = { 0 };
    QTestState *s;
    const char *serial;
    json_object *ev, *data;
    bool running;

    colo_pair_start(&c, false);
    colo_three_checkpoints(&c);
    if (at_checkpoint) {
        /* The secondary stopped for a checkpoint: fail over around it. */
        qtest_qmp_clear_events(c.sec);
        json_object_put(qtest_qmp_eventwait(c.sec, "STOP"));
    }
    s = side == SIDE_PRIMARY ? c.pri : c.sec;
    serial = side == SIDE_PRIMARY ? c.pri_serial : c.sec_serial;
    colo_yank_and_failover(s);

    /* This side carries on with the guest, writing out. */
    tg_wait_serial_more(serial);
    ev = qtest_qmp_eventwait(s, "COLO_EXIT");
    data = qt_json_get(ev, "data");
    g_assert_cmpstr(qt_json_str(data, "mode"), ==, side_name(side));
    /*
     * On either side the yank may end COLO before the command lands (the
     * peer is lost, as far as COLO can tell: error, as QEMU reports it)
     * or after (request); both are a failover.
     */
    g_assert_true(!g_strcmp0(qt_json_str(data, "reason"), "request") ||
                  !g_strcmp0(qt_json_str(data, "reason"), "error"));
    colo_assert_status(s, "none", side_name(side),
                       qt_json_str(data, "reason"));
    json_object_put(ev);
    colo_assert_status(s, "none", side_name(side), NULL);
    g_assert_cmpstr(qtest_runstate(s, &running), ==, "running");
    g_assert_true(running);
    qtest_qmp_assert_error_is(s, "GenericError",
                              "COLO is not active: there is nothing to fail "
                              "over",
                              "{'execute': 'x-colo-lost-heartbeat'}");

    if (side == SIDE_SECONDARY) {
        /* The primary lost its secondary and runs on by itself. */
        colo_wait_exit(c.pri, "primary", "error");
        tg_wait_serial_more(c.pri_serial);
    } else {
        /* The secondary lost its primary: it says so (X_COLO_PEER_LOST,
         * reason error) and waits for the command. */
        json_object_put(qtest_qmp_eventwait(c.sec, "X_COLO_PEER_LOST"));
        g_assert_null(qtest_qmp_eventwait_timeout(c.sec, "COLO_EXIT", 200));
        colo_assert_status(c.sec, "secondary", "none", "error");
    }
    colo_pair_stop(&c);
}

static void test_primary_failover(void)
{
    colo_failover_test(SIDE_PRIMARY, false);
}

static void test_secondary_failover(void)
{
    colo_failover_test(SIDE_SECONDARY, false);
}

static void test_primary_failover_checkpoint(void)
{
    colo_failover_test(SIDE_PRIMARY, true);
}

static void test_secondary_failover_checkpoint(void)
{
    colo_failover_test(SIDE_SECONDARY, true);
}

/* ---- relaunch: the command lands while a checkpoint is in flight ---- */

static void test_secondary_failover_relaunch(void)
{
    ColoPair c = { 0 };
    int64_t loaded;
    bool running;

    colo_pair_start(&c, true);
    colo_three_checkpoints(&c);

    /* Hold the next checkpoint between request and vmstate-send. */
    qtest_qmp_clear_events(c.sec);
    colo_proxy_arm(c.proxy);
    g_assert_true(colo_proxy_wait_holding(c.proxy, qtest_timeout_ms()));
    json_object_put(qtest_qmp_eventwait(c.sec, "STOP"));
    loaded = colo_stat(c.sec, "checkpoints");

    qtest_qmp_ok(c.sec, "{'execute': 'x-colo-lost-heartbeat'}");
    g_assert_true(wait_file_has(c.sec_trace, "none -> require"));
    g_assert_true(wait_file_has(c.sec_trace, "require -> relaunch"));
    /* The failover waits for the checkpoint: still stopped, in COLO. */
    colo_assert_status(c.sec, "secondary", "none", "processing");
    g_assert_cmpstr(qtest_runstate(c.sec, &running), ==, "colo");
    g_assert_false(running);
    qtest_qmp_assert_error_is(c.sec, "GenericError",
                              "COLO failover is already activated",
                              "{'execute': 'x-colo-lost-heartbeat'}");

    /* The checkpoint completes and is loaded, then the failover runs. */
    colo_proxy_release(c.proxy);
    colo_wait_exit(c.sec, "secondary", "request");
    g_assert_cmpint(colo_stat(c.sec, "checkpoints"), ==, loaded + 1);
    g_assert_true(wait_file_has(c.sec_trace, "relaunch -> active"));
    g_assert_true(wait_file_has(c.sec_trace, "active -> completed"));
    colo_assert_status(c.sec, "none", "secondary", "request");
    g_assert_cmpstr(qtest_runstate(c.sec, &running), ==, "running");
    g_assert_true(running);
    tg_wait_serial_more(c.sec_serial);

    /* The primary lost its secondary and runs on. */
    colo_wait_exit(c.pri, "primary", NULL);
    colo_pair_stop(&c);
}

/* ---- commands while COLO runs, HMP, primary killed ---- */

/* How many of query-yank's instances r are of this type. */
static size_t yank_instances(json_object *r, const char *type)
{
    size_t n = 0;

    for (size_t i = 0; i < json_object_array_length(r); i++) {
        n += !g_strcmp0(qt_json_str(json_object_array_get_idx(r, i), "type"),
                        type);
    }
    return n;
}

static void test_commands_running(void)
{
    ColoPair c = { 0 };
    json_object *r;
    g_autofree char *info_pri = NULL;
    g_autofree char *info_sec = NULL;
    g_autofree char *out = NULL;
    g_autoptr(GRegex) pause_re = g_regex_new(
        "^pause \\(ms\\): last=\\d+\\.\\d{3} p50=\\d+\\.\\d{3} "
        "p99=\\d+\\.\\d{3} max=\\d+\\.\\d{3}\r$", G_REGEX_MULTILINE, 0, NULL);
    int64_t requested;
    gint64 deadline;

    colo_pair_start(&c, false);
    colo_three_checkpoints(&c);

    for (int i = 0; i < 2; i++) {
        QTestState *s = i ? c.sec : c.pri;

        /* The migration connection, beside the socket chardevs. */
        r = qtest_qmp_assert_success(s, "{'execute': 'query-yank'}");
        g_assert_cmpuint(yank_instances(r, "migration"), ==, 1);
        g_assert_cmpuint(yank_instances(r, "chardev") + 1, ==,
                         json_object_array_length(r));
        json_object_put(r);
        r = qtest_qmp_assert_success(s, "{'execute': 'query-colo-stats'}");
        g_assert_cmpstr(qt_json_str(r, "mode"), ==, i ? "secondary"
                                                      : "primary");
        g_assert_cmpint(json_object_get_int64(qt_json_get(r, "checkpoints")),
                        >=, 3);
        g_assert_cmpint(json_object_get_int64(qt_json_get(r,
                        "max-pause-us")), >=,
                        json_object_get_int64(qt_json_get(r,
                        "p50-pause-us")));
        json_object_put(r);
    }

    /* An explicit checkpoint is counted by its trigger on the primary. */
    requested = colo_trigger_count(c.pri, "request");
    qtest_qmp_ok(c.pri, "{'execute': 'x-colo-do-checkpoint'}");
    deadline = deadline_ms(qtest_timeout_ms());
    while (colo_trigger_count(c.pri, "request") == requested) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10 * 1000);
    }
    qtest_qmp_assert_error_is(c.sec, "GenericError",
                              "x-colo-do-checkpoint: this VMM is not a COLO "
                              "primary (query-colo-status tells its mode)",
                              "{'execute': 'x-colo-do-checkpoint'}");

    info_pri = qtest_hmp(c.pri, "info colo");
    info_sec = qtest_hmp(c.sec, "info colo");
    g_test_message("info colo on the primary:\n%s", info_pri);
    g_assert_true(g_str_has_prefix(info_pri, "COLO mode: primary\r\n"
                                   "last mode: none\r\nreason: none\r\n"));
    g_assert_true(g_str_has_prefix(info_sec, "COLO mode: secondary\r\n"));
    g_assert_true(g_regex_match(pause_re, info_pri, 0, NULL));
    g_assert_true(g_regex_match(pause_re, info_sec, 0, NULL));
    g_assert_nonnull(strstr(info_pri, "triggers: periodic="));

    /*
     * The primary dies: the secondary says so (X_COLO_PEER_LOST, reason
     * error, info colo) and waits, stopped, for the HMP command; its
     * COLO_EXIT then says error, as QEMU's (a lost peer, not a request).
     */
    qtest_kill(c.pri);
    c.pri = NULL;
    r = qtest_qmp_eventwait(c.sec, "X_COLO_PEER_LOST");
    g_assert_cmpstr(qt_json_str(qt_json_get(r, "data"), "mode"), ==,
                    "secondary");
    g_assert_nonnull(qt_json_str(qt_json_get(r, "data"), "error"));
    json_object_put(r);
    g_assert_null(qtest_qmp_eventwait_timeout(c.sec, "COLO_EXIT", 200));
    colo_assert_status(c.sec, "secondary", "none", "error");
    g_free(info_sec);
    info_sec = qtest_hmp(c.sec, "info colo");
    g_assert_true(g_str_has_prefix(info_sec, "COLO mode: secondary\r\n"
                                   "last mode: none\r\n"
                                   "reason: error\r\npeer: lost ("));
    out = qtest_hmp(c.sec, "x_colo_lost_heartbeat");
    g_assert_cmpstr(out, ==, "");
    colo_wait_exit(c.sec, "secondary", "error");
    tg_wait_serial_more(c.sec_serial);
    g_free(info_sec);
    info_sec = qtest_hmp(c.sec, "info colo");
    g_assert_true(g_str_has_prefix(info_sec, "COLO mode: none\r\n"
                                   "last mode: secondary\r\n"
                                   "reason: error\r\npeer: lost ("));
    g_free(out);
    out = qtest_hmp(c.sec, "x_colo_lost_heartbeat");
    g_assert_cmpstr(out, ==, "Error: COLO is not active: there is nothing "
                    "to fail over\r\n");
    colo_pair_stop(&c);
}

/* ---- without COLO ---- */

static void test_not_active(void)
{
    QTestState *s = qtest_init(NULL);
    json_object *r;
    g_autofree char *info = NULL;
    g_autofree char *out = NULL;
    g_autofree char *help = NULL;
    g_autofree char *desc = NULL;
    bool char0_yankable = false;

    colo_assert_status(s, "none", "none", "none");
    qtest_qmp_assert_error_is(s, "GenericError",
                              "COLO is not active: there is nothing to fail "
                              "over",
                              "{'execute': 'x-colo-lost-heartbeat'}");
    r = qtest_qmp_assert_success(s, "{'execute': 'query-colo-stats'}");
    g_assert_cmpstr(qt_json_str(r, "mode"), ==, "none");
    g_assert_cmpint(json_object_get_int64(qt_json_get(r, "checkpoints")), ==,
                    0);
    g_assert_cmpint(json_object_get_int64(qt_json_get(qt_json_get(r,
                    "triggers"), "periodic")), ==, 0);
    json_object_put(r);
    qtest_qmp_assert_error_is(s, "GenericError",
                              "x-colo-do-checkpoint: this VMM is not a COLO "
                              "primary (query-colo-status tells its mode)",
                              "{'execute': 'x-colo-do-checkpoint'}");

    /* yank: nothing to yank without a migration; all or nothing. */
    qtest_qmp_assert_error_is(s, "GenericError",
                              "Instance 'migration' not found: no migration "
                              "connection is open",
                              "{'execute': 'yank', 'arguments': {'instances': "
                              "[{'type': 'migration'}]}}");
    /* (char0 is this test's own QMP socket: yanking it would hang up.) */
    qtest_qmp_assert_error_is(s, "GenericError",
                              "Instance 'chardev' 'nosuch' not found",
                              "{'execute': 'yank', 'arguments': {'instances': "
                              "[{'type': 'chardev', 'id': 'nosuch'}]}}");
    qtest_qmp_ok(s, "{'execute': 'yank', 'arguments': {'instances': []}}");
    /* What can be yanked: the socket chardevs (char0), no migration. */
    r = qtest_qmp_assert_success(s, "{'execute': 'query-yank'}");
    g_assert_true(json_object_is_type(r, json_type_array));
    for (size_t i = 0; i < json_object_array_length(r); i++) {
        json_object *e = json_object_array_get_idx(r, i);

        g_assert_cmpstr(qt_json_str(e, "type"), ==, "chardev");
        char0_yankable |= !g_strcmp0(qt_json_str(e, "id"), "char0");
    }
    g_assert_true(char0_yankable);
    json_object_put(r);
    /* exec-oob needs the oob capability, which qtest_init() leaves off. */
    desc = qtest_qmp_assert_error(s, NULL, "{'exec-oob': 'yank', 'id': 1, "
                                  "'arguments': {'instances': []}}");
    g_assert_nonnull(strstr(desc, "exec-oob"));

    info = qtest_hmp(s, "info colo");
    g_assert_cmpstr(info, ==, "COLO mode: none\r\nlast mode: none\r\n"
                    "reason: none\r\ncheckpoints: 0\r\n"
                    "pause (ms): last=0.000 p50=0.000 p99=0.000 max=0.000\r\n"
                    "last checkpoint: dirty pages=0, bytes=0\r\n"
                    "triggers: periodic=0 compare=0 request=0\r\n");
    out = qtest_hmp(s, "x_colo_lost_heartbeat");
    g_assert_cmpstr(out, ==, "Error: COLO is not active: there is nothing "
                    "to fail over\r\n");
    g_free(help);
    help = qtest_hmp(s, "help x_colo");
    g_assert_cmpstr(help, ==, "x_colo_lost_heartbeat  -- Tell COLO that "
                    "heartbeat is lost, a failover or takeover is needed\r\n");
    g_free(help);
    help = qtest_hmp(s, "info");
    g_assert_nonnull(strstr(help, "info colo  -- show COLO status and "
                            "checkpoint figures\r\n"));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    test_add_kvm_func("/colo/not-active", test_not_active);
    test_add_kvm_func("/colo/primary_failover", test_primary_failover);
    test_add_kvm_func("/colo/secondary_failover", test_secondary_failover);
    test_add_kvm_func("/colo/primary_failover_checkpoint",
                    test_primary_failover_checkpoint);
    test_add_kvm_func("/colo/secondary_failover_checkpoint",
                    test_secondary_failover_checkpoint);
    test_add_kvm_func("/colo/secondary_failover_relaunch",
                    test_secondary_failover_relaunch);
    test_add_kvm_func("/colo/commands-running", test_commands_running);
    return g_test_run();
}
