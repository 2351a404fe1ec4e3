/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP events from the run-state machine: STOP, RESUME, SHUTDOWN and RESET,
 * with their payloads (guest, reason), their order, and well-formed
 * timestamps (host wall-clock seconds and microseconds since the epoch,
 * taken between the test's own clock reads around the action). Covers
 * host causes (stop/cont, system_reset, quit, SIGTERM) and a guest one:
 * a triple fault provoked by overwriting the running guest's code and
 * descriptor tables through qtest, which must read as a guest reset.
 * The cases that need no guest (stop/cont, cont from prelaunch, quit) run
 * under -accel qtest, without KVM.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "kvm-skip.h"
#include "libqtest.h"

/* Slack for the comparison with our own clock, in microseconds. */
#define CLOCK_SLACK_US  (2 * G_USEC_PER_SEC)

static gint64 event_time_us(json_object *ev)
{
    json_object *ts = qt_json_get(ev, "timestamp");
    json_object *sec = qt_json_get(ts, "seconds");
    json_object *usec = qt_json_get(ts, "microseconds");

    g_assert_nonnull(sec);
    g_assert_nonnull(usec);
    g_assert_true(json_object_is_type(sec, json_type_int));
    g_assert_true(json_object_is_type(usec, json_type_int));
    g_assert_cmpint(json_object_get_int64(sec), >, 0);
    g_assert_cmpint(json_object_get_int64(usec), >=, 0);
    g_assert_cmpint(json_object_get_int64(usec), <=, 999999);
    return json_object_get_int64(sec) * G_USEC_PER_SEC +
           json_object_get_int64(usec);
}

/* Waits for event and checks its timestamp lies in [since, now]. */
static json_object *expect_event(QTestState *s, const char *name,
                                 gint64 since)
{
    json_object *ev = qtest_qmp_eventwait(s, name);
    gint64 t = event_time_us(ev);

    g_assert_cmpstr(qt_json_str(ev, "event"), ==, name);
    g_assert_cmpint(t, >=, since - CLOCK_SLACK_US);
    g_assert_cmpint(t, <=, g_get_real_time() + CLOCK_SLACK_US);
    return ev;
}

static void expect_cause(json_object *ev, bool guest, const char *reason)
{
    json_object *data = qt_json_get(ev, "data");

    g_assert_nonnull(data);
    g_assert_true(json_object_is_type(qt_json_get(data, "guest"),
                                      json_type_boolean));
    g_assert_cmpint(json_object_get_boolean(qt_json_get(data, "guest")), ==,
                    guest);
    g_assert_cmpstr(qt_json_str(data, "reason"), ==, reason);
}

/* The run state alone. */
static const char *status(QTestState *s)
{
    bool running;

    return qtest_runstate(s, &running);
}

static void test_stop_resume(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);
    gint64 t0 = g_get_real_time();
    json_object *stop, *resume;

    qtest_qmp_ok(s, "{'execute': 'stop'}");
    stop = expect_event(s, "STOP", t0);
    /* STOP and RESUME carry no data. */
    g_assert_false(qt_json_has(stop, "data"));
    qtest_qmp_ok(s, "{'execute': 'cont'}");
    resume = expect_event(s, "RESUME", t0);
    g_assert_false(qt_json_has(resume, "data"));
    g_assert_cmpint(event_time_us(stop), <=, event_time_us(resume));
    json_object_put(stop);
    json_object_put(resume);
    /* Nothing else was sent. */
    g_assert_null(qtest_qmp_eventwait_timeout(s, "STOP", 100));
    g_assert_null(qtest_qmp_eventwait_timeout(s, "RESUME", 100));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_prelaunch_cont(void)
{
    QTestState *s = qtest_init_accel_qtest("-S");
    gint64 t0 = g_get_real_time();

    qtest_qmp_ok(s, "{'execute': 'cont'}");
    json_object_put(expect_event(s, "RESUME", t0));
    /* Leaving prelaunch is not leaving "running": no STOP. */
    g_assert_null(qtest_qmp_eventwait_timeout(s, "STOP", 100));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_reset_host(void)
{
    QTestState *s = qtest_init(NULL);
    gint64 t0 = g_get_real_time();
    json_object *ev;

    qtest_wait_guest_boot(s);
    qtest_qmp_ok(s, "{'execute': 'system_reset'}");
    ev = expect_event(s, "RESET", t0);
    expect_cause(ev, false, "host-qmp-system-reset");
    json_object_put(ev);
    /* A running VM keeps running, without STOP/RESUME around the reset. */
    g_assert_cmpstr(status(s), ==, "running");
    g_assert_null(qtest_qmp_eventwait_timeout(s, "STOP", 100));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_reset_while_paused(void)
{
    QTestState *s = qtest_init(NULL);
    gint64 t0 = g_get_real_time();
    json_object *ev;

    qtest_qmp_ok(s, "{'execute': 'stop'}");
    json_object_put(expect_event(s, "STOP", t0));
    qtest_qmp_ok(s, "{'execute': 'system_reset'}");
    ev = expect_event(s, "RESET", t0);
    expect_cause(ev, false, "host-qmp-system-reset");
    json_object_put(ev);
    /* A paused VM stays paused until cont. */
    g_assert_null(qtest_qmp_eventwait_timeout(s, "RESUME", 200));
    g_assert_cmpstr(status(s), ==, "paused");
    qtest_qmp_ok(s, "{'execute': 'cont'}");
    json_object_put(expect_event(s, "RESUME", t0));
    qtest_wait_guest_boot(s);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_reset_guest(void)
{
    g_autofree char *serial = qtest_scratch_path("serial.log");
    QTestState *s = qtest_initf("-serial file:%s", serial);
    gint64 t0;
    json_object *ev;

    g_assert_true(qtest_wait_file_count(serial, "TG idle", 1,
                                        qtest_timeout_ms()));
    t0 = g_get_real_time();
    /*
     * 0xff everywhere in the image (code, GDT, IDT, page tables): the
     * spinning vCPU hits an invalid opcode, and the exception cannot be
     * delivered through garbage gates: a triple fault, which a PC turns
     * into a reset. The kernel image is reloaded on reset.
     */
    qtest_memset(s, 0x100000, 0xff, 0xf0000);
    ev = expect_event(s, "RESET", t0);
    expect_cause(ev, true, "guest-reset");
    json_object_put(ev);
    g_assert_true(qtest_wait_file_count(serial, "TG boot", 2,
                                        qtest_timeout_ms()));
    g_assert_cmpstr(status(s), ==, "running");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_shutdown_quit(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);
    gint64 t0 = g_get_real_time();
    json_object *ev;

    qtest_qmp_ok(s, "{'execute': 'quit'}");
    ev = expect_event(s, "SHUTDOWN", t0);
    expect_cause(ev, false, "host-qmp-quit");
    json_object_put(ev);
    g_assert_cmpint(qtest_wait_exit(s, qtest_timeout_ms()), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_shutdown_signal(void)
{
    QTestState *s = qtest_init(NULL);
    gint64 t0 = g_get_real_time();
    json_object *ev;

    qtest_wait_guest_boot(s);
    g_assert_cmpint(kill(qtest_pid(s), SIGTERM), ==, 0);
    ev = expect_event(s, "SHUTDOWN", t0);
    expect_cause(ev, false, "host-signal");
    json_object_put(ev);
    g_assert_cmpint(qtest_wait_exit(s, qtest_timeout_ms()), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* -no-shutdown: quit still exits (it is not a guest shutdown). */
static void test_shutdown_quit_no_shutdown(void)
{
    QTestState *s = qtest_init_accel_qtest("-no-shutdown");
    gint64 t0 = g_get_real_time();
    json_object *ev;

    qtest_qmp_ok(s, "{'execute': 'quit'}");
    ev = expect_event(s, "SHUTDOWN", t0);
    expect_cause(ev, false, "host-qmp-quit");
    json_object_put(ev);
    g_assert_cmpint(qtest_wait_exit(s, qtest_timeout_ms()), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/events/stop-resume", test_stop_resume);
    g_test_add_func("/events/prelaunch-cont", test_prelaunch_cont);
    test_add_kvm_func("/events/reset/host", test_reset_host);
    test_add_kvm_func("/events/reset/while-paused", test_reset_while_paused);
    test_add_kvm_func("/events/reset/guest", test_reset_guest);
    g_test_add_func("/events/shutdown/quit", test_shutdown_quit);
    test_add_kvm_func("/events/shutdown/signal", test_shutdown_signal);
    g_test_add_func("/events/shutdown/quit-no-shutdown", test_shutdown_quit_no_shutdown);
    return g_test_run();
}
