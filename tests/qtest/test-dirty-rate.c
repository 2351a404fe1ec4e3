/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * calc-dirty-rate / query-dirty-rate and their HMP twins on the real
 * binary under -accel qtest: nothing runs in the guest, so RAM changes
 * only when the test writes it over qtest. A measurement with no write
 * must say 0; one over which most of RAM was rewritten must say more
 * than 0 and no more than the bytes written per second of the period
 * (the period is at least calc-time, so that bound holds however slow
 * the host). QEMU 7.2's errors and HMP text are the expectations.
 */
#include <string.h>
#include "libqtest.h"

#define RAM_MIB 128

static json_object *wait_measured(QTestState *s)
{
    for (;;) {
        json_object *info = qtest_qmp_assert_success(
            s, "{'execute': 'query-dirty-rate'}");

        if (!strcmp(qt_json_str(info, "status"), "measured")) {
            return info;
        }
        g_assert_cmpstr(qt_json_str(info, "status"), ==, "measuring");
        g_assert_false(qt_json_has(info, "dirty-rate"));
        json_object_put(info);
        g_usleep(50 * 1000);
    }
}

static int64_t measure(QTestState *s, const char *mode, uint64_t write_mib)
{
    json_object *info;
    int64_t rate;

    qtest_qmp_ok(s, "{'execute': 'calc-dirty-rate', 'arguments': "
                 "{'calc-time': 1, 'mode': '%s'}}", mode);
    /* Above the legacy VGA/BIOS hole, below the top of RAM, in pieces
     * qtest's memset takes (64 MiB at most). */
    for (uint64_t mib = 0; mib < write_mib; mib += 32) {
        qtest_memset(s, (1 + mib) << 20, 0x5a ^ (uint8_t)write_mib,
                     MIN(32, write_mib - mib) << 20);
    }
    info = wait_measured(s);
    g_assert_cmpstr(qt_json_str(info, "mode"), ==, mode);
    g_assert_cmpint(json_object_get_int64(qt_json_get(info, "calc-time")),
                    ==, 1);
    rate = json_object_get_int64(qt_json_get(info, "dirty-rate"));
    json_object_put(info);
    return rate;
}

static void test_rates(void)
{
    QTestState *s = qtest_initf_accel_qtest("-serial null -m %d", RAM_MIB);
    json_object *info = qtest_qmp_assert_success(
        s, "{'execute': 'query-dirty-rate'}");
    int64_t rate;

    g_assert_cmpstr(qt_json_str(info, "status"), ==, "unstarted");
    g_assert_false(qt_json_has(info, "dirty-rate"));
    json_object_put(info);

    g_assert_cmpint(measure(s, "page-sampling", 0), ==, 0);
    rate = measure(s, "page-sampling", RAM_MIB - 2);
    g_assert_cmpint(rate, >, 0);
    g_assert_cmpint(rate, <=, RAM_MIB);

    g_assert_cmpint(measure(s, "dirty-bitmap", 0), ==, 0);
    rate = measure(s, "dirty-bitmap", 64);
    g_assert_cmpint(rate, >, 0);
    g_assert_cmpint(rate, <=, 64);
    qtest_quit(s);
}

static void test_errors(void)
{
    QTestState *s = qtest_init_accel_qtest("-serial null -m 64");

    qtest_qmp_assert_error_is(s, "GenericError",
                              "calc-time is out of range[1, 60].",
                              "{'execute': 'calc-dirty-rate', "
                              "'arguments': {'calc-time': 61}}");
    qtest_qmp_assert_error_is(s, "GenericError",
                              "sample-pages is out of range[128, 16384].",
                              "{'execute': 'calc-dirty-rate', 'arguments': "
                              "{'calc-time': 1, 'sample-pages': 127}}");
    qtest_qmp_assert_error_is(s, "GenericError",
                              "sample-pages is used only in page-sampling "
                              "mode",
                              "{'execute': 'calc-dirty-rate', 'arguments': "
                              "{'calc-time': 1, 'sample-pages': 512, "
                              "'mode': 'dirty-bitmap'}}");
    /* No KVM, so no dirty rings. */
    qtest_qmp_assert_error_is(s, "GenericError",
                              "mode dirty-ring is not enabled, use other "
                              "method instead.",
                              "{'execute': 'calc-dirty-rate', 'arguments': "
                              "{'calc-time': 1, 'mode': 'dirty-ring'}}");
    qtest_qmp_ok(s, "{'execute': 'calc-dirty-rate', 'arguments': "
                 "{'calc-time': 60, 'sample-pages': 16384}}");
    qtest_qmp_assert_error_is(s, "GenericError",
                              "the dirty rate is already being measured.",
                              "{'execute': 'calc-dirty-rate', "
                              "'arguments': {'calc-time': 1}}");
    /* quit while it measures: the thread is stopped, the exit clean. */
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* While the dirty log counts it is the measurement's: a migration
 * blocker says so (migrate itself is refused under qtest anyway; the
 * blocker's refusal is test-dump's case), and goes with the count. */
static void test_blocks_migrate(void)
{
    QTestState *s = qtest_init_accel_qtest("-serial null -m 64");
    json_object *info;

    qtest_qmp_ok(s, "{'execute': 'calc-dirty-rate', 'arguments': "
                 "{'calc-time': 1, 'mode': 'dirty-bitmap'}}");
    info = qtest_qmp_assert_success(s, "{'execute': 'query-migrate'}");
    g_assert_cmpstr(json_object_get_string(json_object_array_get_idx(
                        qt_json_get(info, "blocked-reasons"), 0)), ==,
                    "calc-dirty-rate is counting with the dirty log; "
                    "migrate once query-dirty-rate says measured");
    json_object_put(info);
    json_object_put(wait_measured(s));
    info = qtest_qmp_assert_success(s, "{'execute': 'query-migrate'}");
    g_assert_false(qt_json_has(info, "blocked-reasons"));
    json_object_put(info);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_hmp(void)
{
    QTestState *s = qtest_init_accel_qtest("-serial null -m 64");
    g_autofree char *before = qtest_hmp(s, "info dirty_rate");
    g_autofree char *both = qtest_hmp(s, "calc_dirty_rate -r -b 1");
    g_autofree char *zero = qtest_hmp(s, "calc_dirty_rate 0");
    g_autofree char *few = qtest_hmp(s, "calc_dirty_rate 1 5");
    g_autofree char *started = qtest_hmp(s, "calc_dirty_rate -b 1");
    g_autofree char *after = NULL;

    g_assert_cmpstr(before, ==,
                    "Status: unstarted\r\nStart Time: 0 (ms)\r\n"
                    "Sample Pages: 0 (per GB)\r\nPeriod: 0 (sec)\r\n"
                    "Mode: page-sampling\r\nDirty rate: (not ready)\r\n");
    g_assert_cmpstr(both, ==,
                    "Either dirty ring or dirty bitmap can be specified!\r\n");
    g_assert_cmpstr(zero, ==, "Incorrect period length specified!\r\n");
    g_assert_cmpstr(few, ==,
                    "Error: sample-pages is out of range[128, 16384].\r\n");
    g_assert_cmpstr(started, ==,
                    "Starting dirty rate measurement with period 1 seconds"
                    "\r\n[Please use 'info dirty_rate' to check results]\r\n");
    json_object_put(wait_measured(s));
    after = qtest_hmp(s, "info dirty_rate");
    g_assert_true(g_str_has_prefix(after, "Status: measured\r\n"));
    g_assert_true(g_str_has_suffix(after,
                                   "Sample Pages: 512 (per GB)\r\n"
                                   "Period: 1 (sec)\r\nMode: dirty-bitmap\r\n"
                                   "Dirty rate: 0 (MB/s)\r\n"));
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dirty-rate/qtest/rates", test_rates);
    g_test_add_func("/dirty-rate/qtest/errors", test_errors);
    g_test_add_func("/dirty-rate/qtest/blocks-migrate", test_blocks_migrate);
    g_test_add_func("/dirty-rate/qtest/hmp", test_hmp);
    return g_test_run();
}
