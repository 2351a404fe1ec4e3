/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The core QMP commands: session control, run state, version and
 * introspection helpers, vCPU and KVM queries, and the HMP passthrough
 * (the memory dumps are in qmp-memory.c). Each is the C side of a schema entry in qapi/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "config-host.h"
#include "block/activation.h"
#include "dump/dump.h"
#include "hw/i386/pc.h"
#include "hw/i386/pc-types.h"
#include "migration/migration.h"
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"
#include "system/cpus.h"
#include "system/runstate.h"
#include "system/vl.h"
#include "util/fdset.h"

void qmp_qmp_capabilities(QMPCapabilityList *enable, Error **errp)
{
    QmpMonitor *mon = qmp_monitor_current();
    bool oob = false;

    for (QMPCapabilityList *c = enable; c; c = c->next) {
        if (c->value == QMP_CAPABILITY_OOB) {
            oob = true;
        }
    }
    if (!mon) {
        error_setg(errp, "qmp_capabilities is only valid on a QMP monitor");
        return;
    }
    qmp_monitor_negotiate(mon, oob, errp);
}

VersionInfo *qmp_query_version(Error **errp)
{
    VersionInfo *info = g_new0(VersionInfo, 1);
    unsigned major = 0, minor = 0, micro = 0;

    sscanf(TANDEM_QEMU_COMPAT_VERSION, "%u.%u.%u", &major, &minor, &micro);
    info->qemu = g_new0(VersionTriple, 1);
    info->qemu->major = major;
    info->qemu->minor = minor;
    info->qemu->micro = micro;
    info->package = g_strdup("Tandem " TANDEM_VERSION);
    return info;
}

CommandInfoList *qmp_query_commands(Error **errp)
{
    CommandInfoList *head = NULL;

    for (size_t i = qmp_commands_count; i-- > 0;) {
        CommandInfoList *node = g_new0(CommandInfoList, 1);
        node->value = g_new0(CommandInfo, 1);
        node->value->name = g_strdup(qmp_commands[i].name);
        node->next = head;
        head = node;
    }
    return head;
}

StatusInfo *qmp_query_status(Error **errp)
{
    StatusInfo *info = g_new0(StatusInfo, 1);

    info->running = runstate_is_running();
    info->singlestep = false;   /* KVM runs the guest; no single-step mode */
    info->status = runstate_get();
    return info;
}

/* A dump holds the guest stopped (or keeps it as it was) until it is
 * written: QEMU's words for both stop and cont. */
static bool qmp_dump_holds_guest(Error **errp)
{
    if (dump_in_progress(dump_current())) {
        error_setg(errp, "There is a dump in process, please wait.");
        return true;
    }
    return false;
}

void qmp_stop(Error **errp)
{
    if (qmp_dump_holds_guest(errp)) {
        return;
    }
    if (runstate_is_running()) {
        vm_stop(RUN_STATE_PAUSED);
    }
}

void qmp_cont(Error **errp)
{
    if (qmp_dump_holds_guest(errp)) {
        return;
    }
    switch (runstate_get()) {
    case RUN_STATE_RUNNING:
        return;
    case RUN_STATE_INTERNAL_ERROR:
    case RUN_STATE_SHUTDOWN:
    case RUN_STATE_GUEST_PANICKED:
        error_setg(errp, "Resetting the Virtual Machine is required");
        return;
    case RUN_STATE_INMIGRATE:
        /* As QEMU: run once the migration is in. libvirt sends cont to
         * every domain it starts, a COLO secondary (-incoming through
         * <qemu:commandline>) too. */
        migration_incoming_request_autostart();
        return;
    case RUN_STATE_COLO:
        /* COLO resumes it when the checkpoint is done. */
        error_setg(errp, "COLO is taking a checkpoint; the guest resumes "
                   "when it is done");
        return;
    case RUN_STATE_FINISH_MIGRATE:
        /* The migration thread owns the stopped guest until it finishes. */
        error_setg(errp, "Migration is switching over; wait for it or use "
                   "migrate_cancel");
        return;
    default:
        /*
         * After a completed migration (this side's disks handed over) or
         * one that came in with late-block-activate and -S: the disks
         * are taken (back) first. Nothing to do on a plain pause.
         */
        /* A kernel-less destination only leaves inmigrate with a guest
         * in; should another path ever get it here, its vCPUs have
         * nothing to run. */
        if ((pc_machine_current() &&
             !pc_machine_can_run(pc_machine_current(), errp)) ||
            !bdrv_activate_all(errp)) {
            return;
        }
        vm_start();
    }
}

void qmp_system_reset(Error **errp)
{
    if (runstate_get() == RUN_STATE_FINISH_MIGRATE) {
        error_setg(errp, "Migration is switching over; a reset now would "
                   "corrupt the state being sent");
        return;
    }
    if (runstate_get() == RUN_STATE_COLO) {
        error_setg(errp, "COLO is taking a checkpoint; a reset now would "
                   "corrupt it");
        return;
    }
    system_reset_request(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
}

void qmp_system_powerdown(Error **errp)
{
    /* The pc machine has no ACPI yet, so there is no power button. */
    error_setg(errp, "system_powerdown: this machine has no ACPI power "
               "button; use quit or system_reset");
}

/*
 * An NMI to every vCPU, as QEMU's x86 machines send it (a guest's NMI
 * watchdog or crash-dump trigger; virsh inject-nmi). KVM_NMI is a vCPU
 * ioctl, so running vCPUs are paused around it.
 */
void qmp_inject_nmi(Error **errp)
{
    bool was_running;

    if (!cpus_count()) {
        /* -machine none or -accel qtest: no vCPU to take it (QEMU's text
         * for a machine without NMI). */
        error_setg(errp, "this feature or command is not currently "
                   "supported");
        return;
    }
    was_running = monitor_pause_vcpus();
    for (unsigned i = 0; i < cpus_count(); i++) {
        if (ioctl(cpus_get(i)->kvm.fd, KVM_NMI) < 0) {
            error_setg_errno(errp, errno, "inject-nmi: KVM_NMI failed on "
                             "vCPU %u", i);
            break;
        }
    }
    monitor_resume_vcpus(was_running);
}

void qmp_quit(Error **errp)
{
    system_shutdown_request(SHUTDOWN_CAUSE_HOST_QMP_QUIT);
}

NameInfo *qmp_query_name(Error **errp)
{
    NameInfo *info = g_new0(NameInfo, 1);

    info->name = g_strdup(vl_guest_name());
    return info;
}

KvmInfo *qmp_query_kvm(Error **errp)
{
    KvmInfo *info = g_new0(KvmInfo, 1);

    /* enabled: the VM runs on KVM; present: it could (QEMU's meanings). */
    info->enabled = accel_current() == ACCEL_KVM;
    info->present = !accel_kvm_unusable_reason();
    return info;
}

/* QEMU's "none": an empty machine (no RAM, devices or vCPUs). */
static MachineInfoList *qmp_machines_add_none(MachineInfoList *tail)
{
    MachineInfoList *node = g_new0(MachineInfoList, 1);

    node->value = g_new0(MachineInfo, 1);
    node->value->name = g_strdup("none");
    node->value->cpu_max = 1;
    node->value->default_ram_id = g_strdup("ram");     /* as QEMU's */
    node->next = tail;
    return node;
}

MachineInfoList *qmp_query_machines(Error **errp)
{
    MachineInfoList *head = NULL;

    for (size_t i = pc_machine_types_count; i-- > 0;) {
        const PCMachineType *t = &pc_machine_types[i];
        MachineInfoList *node = g_new0(MachineInfoList, 1);
        MachineInfo *info = g_new0(MachineInfo, 1);

        info->name = g_strdup(t->name);
        info->alias = g_strdup(t->alias);
        info->has_is_default = t->is_default;
        info->is_default = t->is_default;
        info->cpu_max = PC_MAX_CPUS;
        info->default_ram_id = g_strdup("pc.ram");
        node->value = info;
        node->next = head;
        head = node;
    }
    return qmp_machines_add_none(head);
}

UuidInfo *qmp_query_uuid(Error **errp)
{
    UuidInfo *info = g_new0(UuidInfo, 1);

    info->UUID = g_strdup(vl_uuid() ?: "00000000-0000-0000-0000-000000000000");
    return info;
}

TargetInfo *qmp_query_target(Error **errp)
{
    TargetInfo *info = g_new0(TargetInfo, 1);

    info->arch = SYS_EMU_TARGET_X86_64;
    return info;
}

CpuInfoFastList *qmp_query_cpus_fast(Error **errp)
{
    CpuInfoFastList *head = NULL;

    for (unsigned i = cpus_shown_count(); i-- > 0;) {
        CpuInfoFastList *node = g_new0(CpuInfoFastList, 1);

        node->value = g_new0(CpuInfoFast, 1);
        node->value->cpu_index = i;
        node->value->qom_path = g_strdup_printf("/machine/unattached/"
                                                "device[%u]", i);
        node->value->thread_id = cpus_shown_thread_id(i);
        node->value->props = qmp_cpu_instance_props(i);
        node->value->target = SYS_EMU_TARGET_X86_64;
        node->next = head;
        head = node;
    }
    return head;
}

char *qmp_human_monitor_command(const char *command_line, bool has_cpu_index,
                                int64_t cpu_index, Error **errp)
{
    return hmp_run_command(command_line, errp);
}
