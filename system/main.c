/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main(): command line -> process set-up -> machine -> main loop -> exit.
 * The exit status is 0 for a normal end (guest shutdown, signal, quit),
 * 1 for a start-up error, and (V << 1) | 1 when the guest wrote V to
 * isa-debug-exit.
 */
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "chardev/char.h"
#include "dump/dump.h"
#include "hw/i386/pc.h"
#include "migration/dirty-rate.h"
#include "migration/migration.h"
#include "monitor/monitor.h"
#include "qom/object.h"
#include "block/job.h"
#include "system/accel.h"
#include "system/cpus.h"
#include "system/os-posix.h"
#include "system/qtest.h"
#include "system/runstate.h"
#include "system/vl.h"
#include "util/main-loop.h"
#include "util/trace.h"

/* QEMU's words, which logs and scripts look for. */
static void main_on_signal(int sig, pid_t pid)
{
    if (pid) {
        g_autofree char *name = os_get_pid_name(pid);

        error_report("terminating on signal %d from pid %d (%s)", sig, (int)pid,
                     name ? name : "<unknown process>");
    } else {
        error_report("terminating on signal %d", sig);
    }
    system_shutdown_request(SHUTDOWN_CAUSE_HOST_SIGNAL);
}

/* Ctrl-A x on a multiplexed terminal (-nographic). */
static void main_on_mux_quit(void)
{
    system_shutdown_request(SHUTDOWN_CAUSE_HOST_UI);
}

/* false: the reset failed (said on stderr); the VM then stops in
 * internal-error (main_loop_do_reset). */
static bool main_reset_machine(void *opaque)
{
    PCMachine *pcms = opaque;
    Error *err = NULL;

    if (!pc_machine_reset(pcms, &err)) {
        error_prepend(&err, "system reset failed: ");
        error_report_err(err);
        return false;
    }
    return true;
}

static bool main_setup_trace(SystemConfig *cfg, Error **errp)
{
    ERRP_GUARD();
    if (cfg->log_file && !trace_set_log_file(cfg->log_file, errp)) {
        return false;
    }
    for (guint i = 0; i < cfg->trace_opts->len; i++) {
        const char *arg = g_ptr_array_index(cfg->trace_opts, i);
        if (!trace_parse_option(arg, errp)) {
            error_prepend(errp, "-trace %s: ", arg);
            return false;
        }
    }
    return true;
}

/* -chardev, before -serial chardev:ID and the machine look them up. */
static bool main_setup_monitors(SystemConfig *cfg, Error **errp)
{
    ERRP_GUARD();
    monitor_init_globals();
    monitor_register_events();
    for (guint i = 0; i < cfg->monitor_opts->len; i++) {
        const VlMonitorOpt *m = &g_array_index(cfg->monitor_opts,
                                               VlMonitorOpt, i);
        static const char *const names[] = {
            [VL_MONITOR_QMP] = "-qmp", [VL_MONITOR_QMP_PRETTY] = "-qmp-pretty",
            [VL_MONITOR_HMP] = "-monitor", [VL_MONITOR_MON] = "-mon",
        };
        bool ok;

        if (m->kind == VL_MONITOR_MON) {
            ok = monitor_parse_mon_option(m->arg, errp);
        } else {
            if (cfg->daemonize && !strcmp(m->arg, "stdio")) {
                error_setg(errp, "stdio cannot be used with -daemonize");
                ok = false;
            } else {
                ok = monitor_parse_legacy(m->arg, m->kind != VL_MONITOR_HMP,
                                          m->kind == VL_MONITOR_QMP_PRETTY,
                                          errp);
            }
        }
        if (!ok) {
            error_prepend(errp, "%s %s: ", names[m->kind], m->arg);
            return false;
        }
    }
    return true;
}

/* late: the objects that use chardevs and netdevs (TypeInfo.late: the
 * netfilters, colo-compare), made after them, as in QEMU. */
static bool main_setup_objects(SystemConfig *cfg, bool late, Error **errp)
{
    ERRP_GUARD();
    for (guint i = 0; i < cfg->object_opts->len; i++) {
        const char *arg = g_ptr_array_index(cfg->object_opts, i);
        if (object_cmdline_is_late(arg) != late) {
            continue;
        }
        if (!object_create_cmdline(arg, errp)) {
            error_prepend(errp, "-object %s: ", arg);
            return false;
        }
    }
    return true;
}

static bool main_setup_chardevs(SystemConfig *cfg, Error **errp)
{
    ERRP_GUARD();
    for (guint i = 0; i < cfg->chardev_opts->len; i++) {
        const char *arg = g_ptr_array_index(cfg->chardev_opts, i);
        if (!chardev_new_from_opts(arg, errp)) {
            error_prepend(errp, "-chardev %s: ", arg);
            return false;
        }
    }
    return true;
}

/*
 * "mon:DEV": DEV shared by this serial port and an HMP monitor through a
 * mux (Ctrl-A c switches). The mux takes the port's id, the backend gets
 * "-base" appended, as in QEMU.
 */
static Chardev *main_new_mux_serial(const char *id, const char *dev,
                                    Error **errp)
{
    g_autofree char *base_id = g_strdup_printf("%s-base", id);
    Chardev *backend = chardev_new_legacy(base_id, dev, errp);
    Chardev *mux;

    if (!backend) {
        return NULL;
    }
    mux = chardev_mux_new(id, backend, errp);
    return mux;
}

/* -serial, with QEMU's defaults: mon:stdio under -nographic, else none. */
static bool main_setup_serial(SystemConfig *cfg, Error **errp)
{
    ERRP_GUARD();
    unsigned n = cfg->nr_serial;

    if (!n && !cfg->nodefaults) {
        cfg->serial_specs[0] = cfg->nographic ? "mon:stdio" : "null";
        n = 1;
    }
    for (unsigned i = 0; i < n; i++) {
        g_autofree char *id = g_strdup_printf("serial%u", i);
        const char *spec = cfg->serial_specs[i];

        if (cfg->daemonize && strstr(spec, "stdio")) {
            error_setg(errp, "-serial stdio cannot be used with -daemonize");
            return false;
        }
        if (!strcmp(spec, "none")) {
            continue;           /* no port at this index, as in QEMU */
        }
        if (g_str_has_prefix(spec, "mon:")) {
            cfg->machine.serial[i] = main_new_mux_serial(id, spec + 4, errp);
            if (cfg->machine.serial[i]) {
                g_ptr_array_add(cfg->mux_monitors, cfg->machine.serial[i]);
            }
        } else {
            cfg->machine.serial[i] = chardev_new_legacy(id, spec, errp);
        }
        if (!cfg->machine.serial[i]) {
            error_prepend(errp, "-serial %s: ", spec);
            return false;
        }
    }
    return true;
}

static bool main_handle_info_options(SystemConfig *cfg)
{
    if (cfg->show_help) {
        vl_print_help();
    } else if (cfg->show_version) {
        vl_print_version();
    } else if (cfg->device_help) {
        fputs(cfg->device_help, stdout);
    } else if (cfg->list_machines) {
        vl_print_machines();
    } else if (cfg->list_accels) {
        accel_print_help();
    } else {
        return false;
    }
    return true;
}

/*
 * The accelerator, before anything opens it: the first usable one of
 * -accel / -machine accel=; by default kvm, or qtest when -qtest is given
 * (as QEMU chooses). The none machine needs none, so a host without
 * /dev/kvm still serves its QMP.
 */
static bool main_select_accel(SystemConfig *cfg, Error **errp)
{
    const char *list = cfg->accel;
    AccelKind kind;

    if (!list && cfg->qtest_chardev) {
        list = "qtest";
    }
    if (!accel_select(list, cfg->machine_none, &kind, errp)) {
        return false;
    }
    if (kind != ACCEL_KVM && cfg->machine.kvm.dirty_ring_size) {
        error_setg(errp, "-accel dirty-ring-size: a kvm option, and the "
                   "accelerator is %s", accel_name(kind));
        return false;
    }
    accel_set_current(kind);
    cfg->machine.accel = kind;
    return true;
}

/*
 * -machine none: no RAM, no buses, no vCPUs; QMP and HMP only (libvirt's
 * capability probe). Options that need a machine are refused here rather
 * than ignored; -device fails on its missing bus.
 */
static bool main_setup_machine_none(SystemConfig *cfg, Error **errp)
{
    ERRP_GUARD();
    if (cfg->machine.kernel) {
        error_setg(errp, "-kernel: the none machine has no RAM to load a "
                   "kernel into");
        return false;
    }
    if (cfg->incoming) {
        error_setg(errp, "-incoming: the none machine has nothing to "
                   "migrate");
        return false;
    }
    migration_set_unsupported("the none machine has no guest");
    return qdev_realize_pending(errp);
}

int main(int argc, char **argv)
{
    SystemConfig cfg;
    PCMachine *pcms;
    Error *err = NULL;
    int status = 0;

    if (!vl_parse_args(argc, argv, &cfg, &err) || !vl_check_vga(&cfg, &err)) {
        error_report_err(err);
        return 1;
    }
    if (main_handle_info_options(&cfg)) {
        return 0;
    }
    if (!main_setup_trace(&cfg, &err)) {
        error_report_err(err);
        return 1;
    }
    /*
     * -nographic puts the default serial port and monitor on stdio, which a
     * daemon no longer has. Only that default clashes: with -nodefaults or
     * an explicit -serial, -nographic just means no display (libvirt's
     * capability probe passes -nodefaults -nographic -daemonize).
     */
    if (cfg.daemonize && cfg.nographic && !cfg.nodefaults && !cfg.nr_serial) {
        error_report("-nographic cannot be used with -daemonize");
        return 1;
    }
    /* Fork before any thread exists. */
    if (cfg.daemonize) {
        os_daemonize_start();
    }
    if (cfg.process_name) {
        os_set_process_name(cfg.process_name);
    }
    /* Before any guest RAM is mapped, so all of it is locked. */
    if (cfg.mem_lock && !os_mlock(&err)) {
        error_report_err(err);
        return 1;
    }

    main_loop_init();
    bql_lock();
    os_setup_termination_signals(main_on_signal);
    signal(SIGPIPE, SIG_IGN);
    chardev_mux_set_quit_handler(main_on_mux_quit);
    runstate_set_no_reboot(cfg.no_reboot);
    runstate_set_no_shutdown(cfg.no_shutdown);

    if ((cfg.pidfile && !os_pidfile_create(cfg.pidfile, &err)) ||
        !main_setup_objects(&cfg, false, &err) ||
        !vl_open_block_nodes(&cfg, &err) ||
        !main_setup_chardevs(&cfg, &err) ||
        !main_setup_objects(&cfg, true, &err) ||
        !main_setup_serial(&cfg, &err) ||
        !main_setup_monitors(&cfg, &err) ||
        (cfg.qtest_chardev &&
         !qtest_server_init(cfg.qtest_chardev, cfg.qtest_log, &err))) {
        error_report_err(err);
        os_pidfile_remove();
        return 1;
    }
    if (!main_select_accel(&cfg, &err)) {
        error_report_err(err);
        os_pidfile_remove();
        return 1;
    }
    if (cfg.machine_none) {
        pcms = NULL;
        if (!main_setup_machine_none(&cfg, &err)) {
            error_report_err(err);
            os_pidfile_remove();
            return 1;
        }
    } else {
        cfg.machine.incoming = cfg.incoming != NULL;
        pcms = pc_machine_new(&cfg.machine, &err);
        if (!pcms) {
            error_report_err(err);
            os_pidfile_remove();
            return 1;
        }
        runstate_set_reset_handler(main_reset_machine, pcms);
    }
    if (cfg.machine.accel == ACCEL_QTEST) {
        migration_set_unsupported("the qtest accelerator runs no guest "
                                  "(and tracks no dirty pages)");
    }
    /* After the UART attached: the console keeps the focus (Ctrl-A c). */
    for (guint i = 0; i < cfg.mux_monitors->len; i++) {
        if (!monitor_new_hmp(g_ptr_array_index(cfg.mux_monitors, i), &err)) {
            error_report_err(err);
            return 1;
        }
    }
    if (pcms && cfg.machine.accel == ACCEL_KVM &&
        !migration_machine_init(savevm_default(), &pcms->mem, &pcms->kvm,
                                &err)) {
        error_report_err(err);
        return 1;
    }
    if (pcms) {
        dirty_rate_set_machine(migration_dirty_rate(migration_current()),
                               &pcms->mem, cfg.machine.accel == ACCEL_KVM
                                           ? &pcms->kvm : NULL);
        dump_set_machine(dump_current(), &pcms->mem,
                         cfg.machine.accel == ACCEL_KVM ? &pcms->kvm : NULL);
    }
    /* -incoming: inmigrate until the migration starts the VM. -S leaves
     * the VM in prelaunch until cont, as QEMU does. */
    if (cfg.incoming) {
        if (!migration_incoming_init(cfg.incoming, !cfg.start_paused, &err)) {
            error_prepend(&err, "-incoming %s: ", cfg.incoming);
            error_report_err(err);
            return 1;
        }
    } else if (!cfg.start_paused) {
        vm_start();
    }
    os_daemonize_done(cfg.log_file != NULL);

    while (!main_loop_check_requests(&status)) {
        main_loop_wait(true);
    }

    migration_shutdown();
    /* Before the RAM goes: a detached dump reads it. */
    dump_shutdown(dump_current());
    job_cancel_sync_all();
    monitor_cleanup();
    qtest_server_cleanup();
    pc_machine_free(pcms);
    object_delete_all();
    chardev_close_all();
    os_pidfile_remove();
    bql_unlock();
    vl_config_free(&cfg);
    return status;
}
