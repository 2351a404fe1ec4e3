/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command line, parsed into a SystemConfig before anything starts.
 * Options are spelled as QEMU spells them (one or two leading dashes);
 * a bad option or value is one line on stderr naming it, and exit 1.
 */
#ifndef SYSTEM_VL_H
#define SYSTEM_VL_H

#include <stdbool.h>
#include "hw/i386/pc.h"
#include "util/error.h"

typedef enum VlMonitorKind {
    VL_MONITOR_QMP,         /* -qmp DEV */
    VL_MONITOR_QMP_PRETTY,  /* -qmp-pretty DEV */
    VL_MONITOR_HMP,         /* -monitor DEV */
    VL_MONITOR_MON,         /* -mon chardev=ID,mode=... */
} VlMonitorKind;

typedef struct VlMonitorOpt {
    VlMonitorKind kind;
    const char *arg;
} VlMonitorOpt;

/* -blockdev or -drive, opened in command-line order once the whole
 * command line is known (vl_open_block_nodes). */
typedef struct VlBlockOpt {
    bool drive;                 /* -drive, else -blockdev */
    const char *arg;
} VlBlockOpt;

typedef struct SystemConfig {
    PCMachineConfig machine;    /* serial[] is filled in main() */
    const char *serial_specs[PC_MAX_SERIAL];
    unsigned nr_serial;
    bool nographic;
    bool nodefaults;
    bool daemonize;
    bool mem_lock;              /* -overcommit mem-lock=on */
    bool no_reboot;
    bool no_shutdown;
    bool start_paused;          /* -S */
    const char *incoming;       /* -incoming URI|defer */
    char *name;                 /* -name guest=... */
    char *process_name;         /* -name process=... */
    const char *pidfile;
    const char *log_file;       /* -D */
    const char *qtest_chardev;  /* -qtest DEV */
    const char *qtest_log;      /* -qtest-log FILE */
    GPtrArray *trace_opts;      /* const char *, -trace arguments */
    GPtrArray *chardev_opts;
    /* Monitors, in command-line order: VlMonitorOpt. */
    GArray *monitor_opts;
    GPtrArray *object_opts;     /* const char *, -object arguments */
    GArray *block_opts;         /* VlBlockOpt, in command-line order */
    bool snapshot;              /* -snapshot: -drive's default snapshot=on */
    /* mon:DEV serial muxes that get an HMP monitor once the UART is on. */
    GPtrArray *mux_monitors;    /* const char *, -chardev arguments */
    bool show_help;
    bool show_version;
    char *device_help;          /* -device help, -device TYPE,help,
                                 * -cpu help: the text to print */
    bool list_machines;         /* -machine help */
    bool list_accels;           /* -accel help */
    char *accel;                /* -accel or -machine accel=: "kvm:tcg" */
    bool machine_none;          /* -machine none */
    const char *vga;            /* -vga other than none, checked once the
                                 * machine is known */
} SystemConfig;

/* The -smp topology (QEMU's default for the pc: one socket per vCPU
 * when only the count is given). */
typedef struct VlSmpTopology {
    unsigned sockets, dies, cores, threads;
} VlSmpTopology;
const VlSmpTopology *vl_smp_topology(void);

/* -name guest=NAME, or NULL. */
const char *vl_guest_name(void);
/* -uuid, or NULL. */
const char *vl_uuid(void);

bool vl_parse_args(int argc, char **argv, SystemConfig *cfg, Error **errp);
/*
 * Opens the -blockdev and -drive nodes, in order: after the parse, so
 * that options anywhere on the line apply to them (-incoming opens them
 * inactive, without the image locks the source still holds; -snapshot
 * gives every -drive a temporary overlay), and before the machine, whose
 * devices find them by name.
 */
bool vl_open_block_nodes(const SystemConfig *cfg, Error **errp);
/* -vga other than none: refused, but only warned about on -machine none
 * (QEMU creates no VGA there either). */
bool vl_check_vga(const SystemConfig *cfg, Error **errp);

/* The key=value parameters an option knows, as query-command-line-options
 * reports them (QEMU's CommandLineParameterType). */
typedef enum VlParamType {
    VL_PARAM_STRING,
    VL_PARAM_BOOL,
    VL_PARAM_NUMBER,
    VL_PARAM_SIZE,
} VlParamType;

typedef struct VlParam {
    const char *name;       /* NULL ends a list */
    VlParamType type;
} VlParam;

/* Calls fn once per option group that takes key=value parameters, in
 * the order of -help, with QEMU's group name ("memory" for -m,
 * "smp-opts" for -smp). */
typedef void VlParamOptionFn(const char *group, const VlParam *params,
                             void *opaque);
void vl_foreach_param_option(VlParamOptionFn *fn, void *opaque);
void vl_print_help(void);
void vl_print_version(void);
void vl_print_machines(void);
void vl_config_free(SystemConfig *cfg);

#endif
