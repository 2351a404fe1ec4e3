/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP commands. Each is a thin shell over the QMP command of the same job,
 * printing QEMU's text where scripts parse it ("VM status: running").
 * Later subsystems add their rows to hmp_commands[].
 */
#include <stdlib.h>
#include <string.h>
#include "config-host.h"
#include "hw/core/qdev.h"
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"
#include "system/runstate.h"

static void hmp_help(HmpContext *hmp, const char *args)
{
    for (size_t i = 0; i < hmp_commands_count; i++) {
        const HmpCommand *c = &hmp_commands[i];
        if (*args && !g_str_has_prefix(c->name, args)) {
            continue;
        }
        hmp_printf(hmp, "%s %s -- %s\n", c->name, c->params, c->help);
    }
}

static void hmp_info(HmpContext *hmp, const char *args)
{
    hmp_help(hmp, "info ");
}

static void hmp_info_status(HmpContext *hmp, const char *args)
{
    g_autoptr(StatusInfo) info = qmp_query_status(NULL);

    if (info->running) {
        hmp_printf(hmp, "VM status: running\n");
    } else if (info->status == RUN_STATE_PAUSED) {
        hmp_printf(hmp, "VM status: paused\n");
    } else {
        hmp_printf(hmp, "VM status: paused (%s)\n",
                   RunState_str(info->status));
    }
}

static void hmp_info_version(HmpContext *hmp, const char *args)
{
    g_autoptr(VersionInfo) v = qmp_query_version(NULL);

    hmp_printf(hmp, "%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%"
               G_GINT64_FORMAT " (%s)\n", v->qemu->major, v->qemu->minor,
               v->qemu->micro, v->package);
}

static void hmp_info_uuid(HmpContext *hmp, const char *args)
{
    g_autoptr(UuidInfo) info = qmp_query_uuid(NULL);

    hmp_printf(hmp, "%s\n", info->UUID);
}

static void hmp_info_iothreads(HmpContext *hmp, const char *args)
{
    g_autoptr(IOThreadInfoList) list = qmp_query_iothreads(NULL);

    for (IOThreadInfoList *l = list; l; l = l->next) {
        IOThreadInfo *t = l->value;

        hmp_printf(hmp, "%s:\n", t->id);
        hmp_printf(hmp, "  thread_id=%" PRId64 "\n", t->thread_id);
        hmp_printf(hmp, "  poll-max-ns=%" PRId64 "\n", t->poll_max_ns);
        hmp_printf(hmp, "  poll-grow=%" PRId64 "\n", t->poll_grow);
        hmp_printf(hmp, "  poll-shrink=%" PRId64 "\n", t->poll_shrink);
        hmp_printf(hmp, "  aio-max-batch=%" PRId64 "\n", t->aio_max_batch);
    }
}

static void hmp_info_kvm(HmpContext *hmp, const char *args)
{
    g_autoptr(KvmInfo) info = qmp_query_kvm(NULL);

    hmp_printf(hmp, "kvm support: %s\n", info->enabled ? "enabled"
                                                       : "disabled");
}

static void hmp_info_name(HmpContext *hmp, const char *args)
{
    g_autoptr(NameInfo) info = qmp_query_name(NULL);

    if (info->name) {
        hmp_printf(hmp, "%s\n", info->name);
    }
}

static void hmp_info_cpus(HmpContext *hmp, const char *args)
{
    g_autoptr(CpuInfoFastList) list = qmp_query_cpus_fast(NULL);

    for (CpuInfoFastList *l = list; l; l = l->next) {
        hmp_printf(hmp, "%c CPU #%" G_GINT64_FORMAT ": thread_id=%"
                   G_GINT64_FORMAT "\n", l->value->cpu_index == 0 ? '*' : ' ',
                   l->value->cpu_index, l->value->thread_id);
    }
}

static void hmp_stop(HmpContext *hmp, const char *args)
{
    qmp_stop(NULL);
}

static void hmp_cont(HmpContext *hmp, const char *args)
{
    Error *err = NULL;

    qmp_cont(&err);
    hmp_handle_error(hmp, err);
}

static void hmp_quit(HmpContext *hmp, const char *args)
{
    qmp_quit(NULL);
}

static void hmp_system_reset(HmpContext *hmp, const char *args)
{
    Error *err = NULL;

    qmp_system_reset(&err);
    hmp_handle_error(hmp, err);
}

static void hmp_nmi(HmpContext *hmp, const char *args)
{
    Error *err = NULL;

    qmp_inject_nmi(&err);
    hmp_handle_error(hmp, err);
}

/* device_add DRIVER[,prop=value...] | help | DRIVER,help */
static void hmp_device_add(HmpContext *hmp, const char *args)
{
    g_autoptr(KeyvalList) kv = NULL;
    g_autofree char *help = NULL;
    Error *err = NULL;

    if (!qdev_help_requested(args, &help, &err)) {
        hmp_handle_error(hmp, err);
        return;
    }
    if (help) {
        hmp_printf(hmp, "%s", help);
        return;
    }
    kv = keyval_parse(args, "driver", &err);
    if (kv) {
        qdev_device_add_keyval(kv, &err);
    }
    hmp_handle_error(hmp, err);
}

static void hmp_system_powerdown(HmpContext *hmp, const char *args)
{
    Error *err = NULL;

    qmp_system_powerdown(&err);
    hmp_handle_error(hmp, err);
}

/* getfd NAME: the fd that came with this command, which only a QMP
 * socket carries (human-monitor-command from QMP, as libvirt once did). */
static void hmp_getfd(HmpContext *hmp, const char *args)
{
    hmp_one_word(hmp, args, "getfd NAME", qmp_getfd);
}

static void hmp_closefd(HmpContext *hmp, const char *args)
{
    hmp_one_word(hmp, args, "closefd NAME", qmp_closefd);
}

static void hmp_device_del(HmpContext *hmp, const char *args)
{
    hmp_one_word(hmp, args, "device_del ID", qmp_device_del);
}

const HmpCommand hmp_commands[] = {
    { "help|?", "[cmd]", "show the help", hmp_help },
    { "info", "[subcommand]", "show various information about the system "
      "state", hmp_info },
    { "info block", "", "show the block devices", hmp_info_block },
    { "info block-jobs", "", "show progress of ongoing block device "
      "operations", hmp_info_block_jobs },
    { "info blockstats", "", "show block device statistics",
      hmp_info_blockstats },
    { "info chardev", "", "show the character devices", hmp_info_chardev },
    { "info colo", "", "show COLO status and checkpoint figures",
      hmp_info_colo },
    { "info cpus", "", "show infos for each CPU", hmp_info_cpus },
    { "info dirty_rate", "", "show dirty rate information",
      hmp_info_dirty_rate },
    { "info dump", "", "Display the latest dump status", hmp_info_dump },
    { "info iothreads", "", "show iothreads", hmp_info_iothreads },
    { "info kvm", "", "show KVM information", hmp_info_kvm },
    { "info memdev", "", "show memory backends", hmp_info_memdev },
    { "info migrate", "", "show migration status", hmp_info_migrate },
    { "info migrate_capabilities", "", "show current migration "
      "capabilities", hmp_info_migrate_capabilities },
    { "info migrate_parameters", "", "show current migration parameters",
      hmp_info_migrate_parameters },
    { "info name", "", "show the current VM name", hmp_info_name },
    { "info network", "", "show the network state", hmp_info_network },
    { "info pci", "", "show PCI info", hmp_info_pci },
    { "info qom-tree", "[path]", "show QOM composition tree",
      hmp_info_qom_tree },
    { "info status", "", "show the current VM status (running|paused)",
      hmp_info_status },
    { "info trace-events", "[name]", "show available trace-events & their "
      "state", hmp_info_trace_events },
    { "info usernet", "", "show user network stack connection states",
      hmp_info_usernet },
    { "info uuid", "", "show the current VM UUID", hmp_info_uuid },
    { "info version", "", "show the version of QEMU", hmp_info_version },
    { "stop|s", "", "stop emulation", hmp_stop },
    { "cont|c", "", "resume emulation", hmp_cont },
    { "nmi", "", "inject an NMI", hmp_nmi },
    { "system_reset", "", "reset the system", hmp_system_reset },
    { "system_powerdown", "", "send system power down event",
      hmp_system_powerdown },
    { "quit|q", "", "quit the emulator", hmp_quit },
    { "x", "/fmt addr", "virtual memory dump starting at 'addr'", hmp_x },
    { "xp", "/fmt addr", "physical memory dump starting at 'addr'", hmp_xp },
    { "pmemsave", "addr size file", "save to disk physical memory dump "
      "starting at 'addr' of size 'size'", hmp_pmemsave },
    { "memsave", "addr size file", "save to disk virtual memory dump "
      "starting at 'addr' of size 'size'", hmp_memsave },
    { "dump-guest-memory", "[-p] [-d] [-z|-l|-s|-w] filename [begin length]",
      "dump guest memory into file 'filename' as an ELF core (-p: through "
      "the vCPUs' page tables, -d: in the background, see 'info dump'; "
      "-z, -l, -s: kdump-compressed with zlib, lzo or snappy, -w: Windows "
      "crash dump, which Tandem refuses; begin, length: guest-physical "
      "range)", hmp_dump_guest_memory },
    { "migrate", "[-d] [-r] uri", "migrate to URI (using -d to not wait "
      "for completion, -r to resume a paused postcopy migration)",
      hmp_migrate },
    { "migrate_cancel", "", "cancel the current VM migration",
      hmp_migrate_cancel },
    { "migrate_incoming", "uri", "Continue an incoming migration from an "
      "-incoming defer", hmp_migrate_incoming },
    { "migrate_start_postcopy", "", "Followup to a migration command to "
      "switch the migration to postcopy mode", hmp_migrate_start_postcopy },
    { "migrate_continue", "state", "Continue migration from the given "
      "paused state", hmp_migrate_continue },
    { "migrate_recover", "uri", "Continue a paused incoming postcopy "
      "migration", hmp_migrate_recover },
    { "migrate_pause", "", "Pause an ongoing migration (postcopy-only)",
      hmp_migrate_pause },
    { "migrate_set_capability", "capability state", "Enable/Disable the "
      "usage of a capability for migration", hmp_migrate_set_capability },
    { "calc_dirty_rate", "[-r] [-b] second [sample_pages_per_GB]",
      "start a round of guest dirty rate measurement (-r: dirty ring, "
      "-b: dirty bitmap)", hmp_calc_dirty_rate },
    { "migrate_set_parameter", "parameter value", "Set the parameter for "
      "migration", hmp_migrate_set_parameter },
    { "getfd", "getfd name", "receive a file descriptor via SCM rights "
      "and assign it a name", hmp_getfd },
    { "closefd", "closefd name", "close a file descriptor previously "
      "passed via SCM rights", hmp_closefd },
    { "object_add", "[qom-type=]type,id=str[,prop=value][,...]", "create "
      "QOM object", hmp_object_add },
    { "object_del", "id", "destroy QOM object", hmp_object_del },
    { "qom-list", "path", "list QOM properties", hmp_qom_list },
    { "qom-get", "path property", "print QOM property", hmp_qom_get },
    { "qom-set", "[-j] path property value", "set QOM property (-j: the "
      "value is JSON)", hmp_qom_set },
    { "chardev-add", "args", "add chardev", hmp_chardev_add },
    { "chardev-remove", "id", "remove chardev", hmp_chardev_remove },
    { "trace-event", "name on|off", "changes status of a specific trace "
      "event", hmp_trace_event },
    { "device_add", "driver[,prop=value][,...]", "add device, like -device "
      "on the command line", hmp_device_add },
    { "device_del", "device", "remove device", hmp_device_del },
    { "drive_add", "[-n] [[<domain>:]<bus>:]<slot> [file=file][,if=type]"
      "[,...]", "add drive (-n: a node in -blockdev syntax)",
      hmp_drive_add },
    { "drive_del", "device", "remove host block device", hmp_drive_del },
    { "block_resize", "device size", "resize a block image",
      hmp_block_resize },
    { "snapshot_blkdev", "[-n] device [new-image-file] [format]",
      "initiates a live snapshot of device: new-image-file becomes its "
      "top image, over the old one (format: of the new image, qcow2 by "
      "default; -n: reuse the existing new-image-file)",
      hmp_snapshot_blkdev },
    { "snapshot_blkdev_internal", "device name", "take an internal "
      "snapshot of device (its image format must keep them, as qcow2 "
      "does)", hmp_snapshot_blkdev_internal },
    { "snapshot_delete_blkdev_internal", "device name [id]", "delete an "
      "internal snapshot of device (with id: the one matching both id and "
      "name)", hmp_snapshot_delete_blkdev_internal },
    { "drive_mirror", "[-n] [-f] device target [format]", "initiates "
      "live storage migration for a device (-n: the target exists, -f: "
      "the whole disk, else the top image)", hmp_drive_mirror },
    { "block_stream", "device [speed [base]]", "copy data from a backing "
      "file into a block device", hmp_block_stream },
    { "commit", "device|all", "commit changes to the disk images (if "
      "-snapshot is used) or backing files", hmp_commit },
    { "block_job_set_speed", "device speed", "set maximum speed for a "
      "background block operation", hmp_block_job_set_speed },
    { "block_job_cancel", "[-f] device", "stop an active background block "
      "operation (-f: even a ready mirror)", hmp_block_job_cancel },
    { "block_job_complete", "device", "stop an active background block "
      "operation and switch to its target", hmp_block_job_complete },
    { "block_job_pause", "device", "pause an active background block "
      "operation", hmp_block_job_pause },
    { "block_job_resume", "device", "resume a paused background block "
      "operation", hmp_block_job_resume },
    { "nbd_server_start", "[-a] [-w] host:port", "serve block devices on "
      "the given host and port (-a: export all drives, -w: writable)",
      hmp_nbd_server_start },
    { "nbd_server_add", "[-w] device [name]", "export a block device via "
      "NBD (-w: writable)", hmp_nbd_server_add },
    { "nbd_server_remove", "[-f] name", "remove an export previously "
      "exposed via NBD (-f: disconnect its clients)", hmp_nbd_server_remove },
    { "nbd_server_stop", "", "stop serving block devices using the NBD "
      "protocol", hmp_nbd_server_stop },
    { "netdev_add", "[user|tap|socket|stream|dgram|hubport],id=str[,prop=value"
      "][,...]", "add host network device", hmp_netdev_add },
    { "netdev_del", "id", "remove host network device", hmp_netdev_del },
    { "set_link", "name on|off", "change the link status of a network "
      "adapter", hmp_set_link },
    { "announce_self", "[interfaces] [id]", "Trigger GARP/RARP "
      "announcements", hmp_announce_self },
    { "hostfwd_add", "[netdev_id] [tcp|udp]:[hostaddr]:hostport-"
      "[guestaddr]:guestport", "redirect TCP or UDP connections from host "
      "to guest (requires -net user)", hmp_hostfwd_add },
    { "hostfwd_remove", "[netdev_id] [tcp|udp]:[hostaddr]:hostport",
      "remove host-to-guest TCP or UDP redirection", hmp_hostfwd_remove },
    { "x_colo_lost_heartbeat", "", "Tell COLO that heartbeat is lost, a "
      "failover or takeover is needed", hmp_x_colo_lost_heartbeat },
};
const size_t hmp_commands_count = G_N_ELEMENTS(hmp_commands);
