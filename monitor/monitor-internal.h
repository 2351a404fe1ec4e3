/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between the files of monitor/ only. */
#ifndef MONITOR_INTERNAL_H
#define MONITOR_INTERNAL_H

#include <json-c/json.h>
#include "monitor/monitor.h"
#include "qapi/qapi-types.h"
#include "qom/object.h"
#include "system/cpus.h"
#include "system/memory.h"

/* The monitor I/O thread's context (QMP parsing and out-of-band work). */
GMainContext *monitor_iothread_context(void);

/* QMP monitors (qmp.c). */
typedef struct QmpMonitor QmpMonitor;
QmpMonitor *qmp_monitor_new(Chardev *chr, bool pretty, Error **errp);
void qmp_monitor_free(QmpMonitor *mon);
void qmp_monitor_emit_event(QmpMonitor *mon, json_object *event);
/* The monitor running the current command on this thread, or NULL. */
QmpMonitor *qmp_monitor_current(void);
/* qmp_capabilities for the current monitor. */
bool qmp_monitor_negotiate(QmpMonitor *mon, bool enable_oob, Error **errp);
/* getfd's names: fd by name, closing the fd when removed (qmp.c). */
GHashTable *qmp_monitor_named_fds(QmpMonitor *mon);

/* Passed fds (qmp-fds.c). */
GHashTable *qmp_fds_table_new(void);
/* While a command runs: the fds that came with its request (borrowed). */
void qmp_fds_begin_request(GArray *fds);
void qmp_fds_end_request(void);
/* Closes the fds in fds that nobody took, and empties it. */
void qmp_fds_close_all(GArray *fds);

/* Serialises a response/event as QMP wants it: one line, ASCII only. */
char *qmp_format_message(json_object *msg, bool pretty);

/* The registry (monitor.c): every QMP monitor, for event broadcast. */
void monitor_register_qmp(QmpMonitor *mon);

/* HMP (hmp.c). Output of a command goes to `out`. */
typedef struct HmpContext {
    GString *out;
} HmpContext;
void hmp_printf(HmpContext *hmp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* After a QMP call from an HMP command: prints "Error: ..." as QEMU's HMP
 * does when err is set, and frees it. The one HMP error printer. */
void hmp_handle_error(HmpContext *hmp, Error *err);
/*
 * The shape of an HMP command's arguments, as QEMU's commands take them:
 * leading one-letter options ("-f"), each a letter of flags, then
 * between min and max words split at blanks. A word in double quotes
 * may hold blanks (QEMU's escapes: \\ \" \' \n \r \t). With rest, word
 * max keeps the rest of the line as it stands, blanks and quotes and all
 * (a JSON value, an option string).
 */
typedef struct HmpArgs {
    const char *usage;      /* "block_job_cancel [-f] device" */
    const char *flags;      /* "f"; NULL: none */
    unsigned min, max;
    bool rest;
} HmpArgs;
/*
 * args split by spec: the words, NULL-terminated (g_strfreev), and
 * set[i] true for each flags[i] given (set may be NULL without flags).
 * A wrong count or an unknown option prints "Error: usage: USAGE" and
 * returns NULL.
 */
char **hmp_args(HmpContext *hmp, const char *args, const HmpArgs *spec,
                bool *set);
/* The many HMP commands that hand their one word to a QMP command. */
typedef void HmpQmpWordFn(const char *word, Error **errp);
void hmp_one_word(HmpContext *hmp, const char *args, const char *usage,
                  HmpQmpWordFn *fn);
/* Runs one line; returns false with errp set for an unknown command. */
bool hmp_execute_line(HmpContext *hmp, const char *line, Error **errp);

/*
 * Guest memory for the monitor's dumps (qmp-memory.c). The machine's RAM,
 * or NULL with errp saying `what` needs one; the vCPU whose page tables
 * translate guest-virtual addresses, or NULL with errp pointing at the
 * guest-physical command (`physical`) when no vCPU can.
 */
GuestMemory *monitor_guest_memory(const char *what, Error **errp);
CPUState *monitor_translating_cpu(const char *what, const char *physical,
                                  int64_t index, Error **errp);
/* Pauses the running vCPUs (a vCPU in KVM_RUN has no page tables to
 * read, and its vCPU ioctls wait for KVM_RUN to end); returns whether
 * they ran, for the resume. */
bool monitor_pause_vcpus(void);
void monitor_resume_vcpus(bool was_running);
/* len bytes at guest-virtual va, as cpu maps them; false with errp at the
 * first page that is not mapped or not RAM. */
bool monitor_read_virtual(CPUState *cpu, uint64_t va, void *buf, size_t len,
                          Error **errp);

/* The HMP command table (hmp-cmds.c). */
typedef void HmpCommandFn(HmpContext *hmp, const char *args);
typedef struct HmpCommand {
    const char *name;       /* "info status" for info subcommands */
    const char *params;     /* shown by help, e.g. "[-d] uri" */
    const char *help;
    HmpCommandFn *fn;
} HmpCommand;
extern const HmpCommand hmp_commands[];

/* Migration commands (hmp-migration.c). */
HmpCommandFn hmp_migrate, hmp_migrate_cancel, hmp_migrate_incoming,
    hmp_migrate_start_postcopy, hmp_migrate_continue, hmp_migrate_recover,
    hmp_migrate_pause,
    hmp_migrate_set_capability, hmp_migrate_set_parameter, hmp_info_migrate,
    hmp_info_migrate_capabilities, hmp_info_migrate_parameters;
HmpCommandFn hmp_calc_dirty_rate, hmp_info_dirty_rate;  /* hmp-dirty-rate.c */
extern const size_t hmp_commands_count;

/* Block (hmp-block.c). */
HmpCommandFn hmp_info_block, hmp_info_blockstats, hmp_drive_add,
    hmp_drive_del, hmp_block_resize, hmp_snapshot_blkdev,
    hmp_snapshot_blkdev_internal, hmp_snapshot_delete_blkdev_internal;
HmpCommandFn hmp_nbd_server_start, hmp_nbd_server_add, hmp_nbd_server_remove,
    hmp_nbd_server_stop;
/* Block jobs (hmp-block-job.c). */
HmpCommandFn hmp_info_block_jobs, hmp_block_job_set_speed,
    hmp_block_job_cancel, hmp_block_job_complete, hmp_block_job_pause,
    hmp_block_job_resume, hmp_drive_mirror, hmp_block_stream, hmp_commit;

/* Guest memory (hmp-memory.c). */
HmpCommandFn hmp_x, hmp_xp, hmp_pmemsave, hmp_memsave, hmp_info_memdev;
/*
 * An address or size as QEMU's HMP takes it: numbers (0x hex, 0 octal,
 * decimal) joined by + and -, blanks allowed between them.
 */
bool hmp_parse_expr(const char *text, uint64_t *value, Error **errp);
/* Guest memory dumps (hmp-dump.c). */
HmpCommandFn hmp_dump_guest_memory, hmp_info_dump;

/* PCI (hmp-pci.c). */
HmpCommandFn hmp_info_pci;
HmpCommandFn hmp_info_network, hmp_info_usernet, hmp_netdev_add,
    hmp_netdev_del, hmp_set_link, hmp_announce_self;
HmpCommandFn hmp_hostfwd_add, hmp_hostfwd_remove;

/* QOM objects and properties (hmp-qom.c). */
HmpCommandFn hmp_object_add, hmp_object_del, hmp_qom_list, hmp_qom_get,
    hmp_qom_set, hmp_info_qom_tree;
/* Character devices (hmp-chardev.c). */
HmpCommandFn hmp_info_chardev, hmp_chardev_add, hmp_chardev_remove;
/* Trace events (hmp-trace.c). */
HmpCommandFn hmp_trace_event, hmp_info_trace_events;

/* COLO commands (hmp-colo.c). */
HmpCommandFn hmp_x_colo_lost_heartbeat, hmp_info_colo;

/* The user-created object at a QOM path, the only kind whose properties
 * qom-set may change (then per property: object_set_prop_live); NULL
 * with errp set otherwise (qmp-introspect.c). */
Object *qom_settable_object(const char *path, const char *property,
                            Error **errp);

/* HMP info qom-tree: the QOM tree under an absolute path, one
 * "/NAME (TYPE)" line per node; QEMU's one-line message when the path
 * leads nowhere (qmp-introspect.c). */
char *qom_tree_text(const char *path);

/* vCPU index -> its place in the -smp topology (qmp-introspect.c). */
CpuInstanceProperties *qmp_cpu_instance_props(unsigned index);

#endif
