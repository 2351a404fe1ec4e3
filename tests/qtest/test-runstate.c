/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every QMP command that changes the run state, sent in every run state
 * a user can bring a VM into: the process must answer each one (a return
 * or an error) and stay alive. Before this test, `migrate` on a VM
 * started with -S and never continued died on an invalid runstate
 * transition (prelaunch -> finish-migrate), which QEMU allows and
 * libvirt's `virsh start --paused` + migrate, and QEMU's COLO how-to
 * (primary started with -S), rely on.
 *
 * Each (state, command) pair gets a fresh VM: the commands change the
 * state, and the point is the command's effect from that exact state.
 * Not covered here: colo (a checkpoint's pause is too short to aim at;
 * test-colo sends these commands to a COLO pair) and internal-error (no
 * guest action reliably produces a KVM internal error on every host).
 *
 * The states a VM reaches without a guest (prelaunch, paused, running)
 * are walked a second time under -accel qtest (/runstate/qtest/...): the
 * same run state machine with no vCPU at all, which runs on hosts
 * without KVM. Migration is refused there, so the KVM walk stays the one
 * that covers the migration edges.
 */
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include "kvm-skip.h"
#include "libqtest.h"
#include "migration-helpers.h"

typedef struct RunstateCase {
    const char *state;          /* the state the VM is brought to */
    const char *command;        /* the QMP text sent in it */
    bool qtest;                 /* under -accel qtest, no guest */
} RunstateCase;

static void wait_runstate(QTestState *s, const char *want)
{
    gint64 deadline = g_get_monotonic_time() + qtest_timeout_ms() * 1000LL;

    while (strcmp(qtest_runstate(s, NULL), want)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10000);
    }
}

/* Starts a VM (qtest: under -accel qtest) and brings it into state. */
static QTestState *runstate_enter(const char *state, bool qtest)
{
    QTestState *s;

    if (qtest) {
        /* Only the states that need no guest are registered. */
        s = qtest_init_accel_qtest(!strcmp(state, "prelaunch") ? "-S" : "");
        if (!strcmp(state, "paused")) {
            qtest_qmp_ok(s, "{'execute': 'stop'}");
        }
    } else if (!strcmp(state, "prelaunch")) {
        s = qtest_init("-S");
    } else if (!strcmp(state, "inmigrate")) {
        s = qtest_init("-incoming defer");
    } else if (!strcmp(state, "shutdown")) {
        /*
         * A guest reset becomes a shutdown with -no-reboot, and
         * -no-shutdown keeps the process in state shutdown. 0xff over
         * the image makes the vCPU triple-fault (see test-qmp-events).
         */
        s = qtest_init("-no-reboot -no-shutdown");
        wait_runstate(s, "running");
        qtest_memset(s, 0x100000, 0xff, 0xf0000);
    } else {
        s = qtest_init("");
        wait_runstate(s, "running");
        if (!strcmp(state, "paused")) {
            qtest_qmp_assert_success(s, "{'execute': 'stop'}");
        } else if (!strcmp(state, "postmigrate")) {
            g_autofree char *out = qtest_scratch_path("state.mig");

            qtest_qmp_assert_success(s, "{'execute': 'migrate', "
                                     "'arguments': {'uri': 'file:%s'}}", out);
            migrate_wait_status(s, "completed");
        }
    }
    wait_runstate(s, state);
    return s;
}

static void test_command_in_state(gconstpointer data)
{
    const RunstateCase *c = data;
    QTestState *s = runstate_enter(c->state, c->qtest);
    json_object *reply;

    g_autofree char *text = g_strdup(c->command);

    /* file: URIs name a scratch file of this process. */
    if (strstr(text, "%s")) {
        g_autofree char *path = qtest_scratch_path("out.mig");
        g_autofree char *fmt = g_steal_pointer(&text);

        text = g_strdup_printf(fmt, path);
    }
    reply = qtest_qmp(s, "%s", text);
    g_assert_nonnull(reply);
    g_assert_true(qt_json_has(reply, "return") || qt_json_has(reply, "error"));
    json_object_put(reply);
    /* Alive, and still answering. */
    qtest_runstate(s, NULL);
    qtest_quit(s);
}

static const char *const states[] = {
    "prelaunch", "paused", "running", "inmigrate", "postmigrate", "shutdown",
};

static const struct {
    const char *name;
    const char *text;
} commands[] = {
    { "stop", "{'execute': 'stop'}" },
    { "cont", "{'execute': 'cont'}" },
    { "system_reset", "{'execute': 'system_reset'}" },
    { "system_powerdown", "{'execute': 'system_powerdown'}" },
    { "migrate", "{'execute': 'migrate', 'arguments': {'uri': 'file:%s'}}" },
    { "migrate_cancel", "{'execute': 'migrate_cancel'}" },
    { "migrate-incoming", "{'execute': 'migrate-incoming', "
                          "'arguments': {'uri': 'tcp:127.0.0.1:0'}}" },
    { "x-colo-lost-heartbeat", "{'execute': 'x-colo-lost-heartbeat'}" },
    { "hmp-stop", "{'execute': 'human-monitor-command', "
                  "'arguments': {'command-line': 'stop'}}" },
    { "hmp-cont", "{'execute': 'human-monitor-command', "
                  "'arguments': {'command-line': 'cont'}}" },
};

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(states); i++) {
        for (size_t j = 0; j < G_N_ELEMENTS(commands); j++) {
            RunstateCase *c = g_new0(RunstateCase, 1);
            g_autofree char *path = g_strdup_printf("/runstate/%s/%s",
                                                    states[i],
                                                    commands[j].name);

            c->state = states[i];
            c->command = commands[j].text;
            test_add_kvm_data_func(path, c, test_command_in_state);
            if (i < 3) {        /* prelaunch, paused, running */
                RunstateCase *q = g_new0(RunstateCase, 1);
                g_autofree char *qpath = g_strdup_printf(
                    "/runstate/qtest/%s/%s", states[i], commands[j].name);

                *q = (RunstateCase) { states[i], commands[j].text, true };
                g_test_add_data_func(qpath, q, test_command_in_state);
            }
        }
    }
    return g_test_run();
}
