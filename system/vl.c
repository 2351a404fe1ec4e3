/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Command-line parsing. One table lists every option with its argument
 * and help text; each option has a small handler that turns its argument
 * into fields of SystemConfig, with errors prefixed by the option as the
 * user typed it ("-m abc: ...").
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "config-host.h"
#include "block/activation.h"
#include "block/blockdev.h"
#include "hw/core/qdev.h"
#include "hw/i386/pc-types.h"
#include "net/netdev.h"
#include "system/accel.h"
#include "system/vl.h"
#include "target/i386/cpu-models.h"
#include "util/fdset.h"
#include "util/keyval.h"

#define DEFAULT_RAM_SIZE (128ULL << 20)     /* QEMU's default: 128 MiB */
#define MAX_RAM_SIZE (1ULL << 40)
/*
 * The smallest guest the pc machine boots: below 1 MiB sit the real-mode
 * area and the BIOS hole, a kernel loads at 1 MiB, and its boot data,
 * page tables and stacks follow (the built-in guest keeps its status page
 * at 2 MiB). With -m 2 a guest started, said running and never printed a
 * line; QEMU has no such check, and leaves the guest to fail silently.
 */
#define MIN_RAM_SIZE (16ULL << 20)

typedef bool VlOptionFn(SystemConfig *cfg, const char *arg, Error **errp);

typedef struct VlOption {
    const char *name;
    const char *arg_help;       /* NULL: the option takes no argument */
    const char *help;
    VlOptionFn *fn;
    /*
     * An option that takes key=value parameters declares them here, once:
     * its handler parses with vl_keyval() against this list, and
     * query-command-line-options reports it under `group` (QEMU's name
     * for the option's parameter group; NULL: the option's name).
     */
    const VlParam *params;
    const char *group;
    /* Not reported by query-command-line-options (see opt_sandbox). */
    bool unlisted;
} VlOption;

/*
 * Parses arg as key=value,... and refuses any key not in params ("Invalid
 * parameter 'KEY'"). implied_key: the key a leading bare value is for.
 */
static KeyvalList *vl_keyval(const char *arg, const char *implied_key,
                             const VlParam *params, Error **errp)
{
    g_autoptr(GPtrArray) known = g_ptr_array_new();
    KeyvalList *kv = keyval_parse(arg, implied_key, errp);

    for (const VlParam *p = params; p->name; p++) {
        g_ptr_array_add(known, (gpointer)p->name);
    }
    g_ptr_array_add(known, NULL);
    if (kv && !keyval_check_known(kv, (const char *const *)known->pdata,
                                  NULL, errp)) {
        keyval_free(kv);
        return NULL;
    }
    return kv;
}

static bool opt_accel_value(SystemConfig *cfg, const char *accel,
                            Error **errp)
{
    if (!strcmp(accel, "help")) {
        cfg->list_accels = true;
        return true;
    }
    /* "kvm:tcg": tried in order when the machine is built (accel.h). */
    if (!accel_list_check(accel, errp)) {
        return false;
    }
    g_free(cfg->accel);
    cfg->accel = g_strdup(accel);
    return true;
}

static const VlParam accel_params[] = {
    { "accel", VL_PARAM_STRING },
    { "dirty-ring-size", VL_PARAM_NUMBER },
    { NULL },
};

static bool opt_accel(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_autoptr(KeyvalList) kv = vl_keyval(arg, "accel", accel_params, errp);
    uint64_t ring;

    if (!kv || !opt_accel_value(cfg, keyval_get(kv, "accel") ?: "", errp) ||
        !keyval_get_u64(kv, "dirty-ring-size", 0, &ring, errp)) {
        return false;
    }
    if (ring > UINT32_MAX) {
        error_setg(errp, "dirty-ring-size %" G_GUINT64_FORMAT " is too large",
                   ring);
        return false;
    }
    cfg->machine.kvm.dirty_ring_size = ring;
    return true;
}

static bool opt_enable_kvm(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_free(cfg->accel);
    cfg->accel = g_strdup("kvm");
    return true;
}

static const VlParam machine_params[] = {
    { "type", VL_PARAM_STRING },
    { "accel", VL_PARAM_STRING },
    { "usb", VL_PARAM_BOOL },
    { "dump-guest-core", VL_PARAM_BOOL },
    { "memory-backend", VL_PARAM_STRING },
    { NULL },
};

/*
 * The pc's own properties: usb=off is what it is (there is no USB
 * controller), so on is refused; dump-guest-core and memory-backend go
 * to the machine's RAM (include/system/memory-backend.h).
 */
static bool opt_machine_props(SystemConfig *cfg, const KeyvalList *kv,
                              Error **errp)
{
    const char *backend = keyval_get(kv, "memory-backend");
    bool usb;

    if (!keyval_get_bool(kv, "usb", false, &usb, errp) ||
        !keyval_get_bool(kv, "dump-guest-core", cfg->machine.dump_guest_core,
                         &cfg->machine.dump_guest_core, errp)) {
        return false;
    }
    if (usb) {
        error_setg(errp, "usb=on is not supported: the pc machine has no "
                   "USB controller");
        return false;
    }
    if (backend) {
        g_free((char *)cfg->machine.memory_backend);
        cfg->machine.memory_backend = g_strdup(backend);
    }
    return true;
}

static bool opt_machine(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_autoptr(KeyvalList) kv = vl_keyval(arg, "type", machine_params, errp);
    const char *type, *accel;

    if (!kv) {
        return false;
    }
    type = keyval_get(kv, "type");
    if (type && !strcmp(type, "help")) {
        cfg->list_machines = true;
        return true;
    }
    if (type && !strcmp(type, "none")) {
        cfg->machine_none = true;
    } else if (type && !pc_machine_type_find(type)) {
        error_setg(errp, "unsupported machine type '%s' (use -machine help "
                   "to list supported machines)", type);
        return false;
    }
    accel = keyval_get(kv, "accel");
    return (!accel || opt_accel_value(cfg, accel, errp)) &&
           opt_machine_props(cfg, kv, errp);
}

static const VlParam m_params[] = {
    { "size", VL_PARAM_SIZE },
    { NULL },
};

static bool opt_m(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_autoptr(KeyvalList) kv = vl_keyval(arg, "size", m_params, errp);
    const char *size;
    uint64_t bytes;

    if (!kv) {
        return false;
    }
    size = keyval_get(kv, "size");
    if (!size) {
        error_setg(errp, "missing 'size' option value");
        return false;
    }
    /* A bare number is MiB, as in QEMU. */
    if (!parse_size(size, 1ULL << 20, &bytes, errp)) {
        return false;
    }
    if (bytes < MIN_RAM_SIZE) {
        error_setg(errp, "RAM size %s is too small: the pc machine needs at "
                   "least %llu MiB", size, MIN_RAM_SIZE >> 20);
        return false;
    }
    if (bytes > MAX_RAM_SIZE) {
        error_setg(errp, "RAM size %s is out of range (at most 1 TiB)", size);
        return false;
    }
    if (bytes % GUEST_PAGE_SIZE) {
        error_setg(errp, "RAM size %s is not a multiple of 4 KiB", size);
        return false;
    }
    cfg->machine.ram_size = bytes;
    cfg->machine.ram_size_given = true;
    return true;
}

static VlSmpTopology vl_topology = { 1, 1, 1, 1 };

const VlSmpTopology *vl_smp_topology(void)
{
    return &vl_topology;
}

static const VlParam smp_params[] = {
    { "cpus", VL_PARAM_NUMBER },
    { "sockets", VL_PARAM_NUMBER },
    { "dies", VL_PARAM_NUMBER },
    { "cores", VL_PARAM_NUMBER },
    { "threads", VL_PARAM_NUMBER },
    { "maxcpus", VL_PARAM_NUMBER },
    { NULL },
};

static bool opt_smp(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_autoptr(KeyvalList) kv = vl_keyval(arg, "cpus", smp_params, errp);
    uint64_t cpus, sockets, dies, cores, threads, maxcpus, topo;

    if (!kv ||
        !keyval_get_u64(kv, "cpus", 0, &cpus, errp) ||
        !keyval_get_u64(kv, "sockets", 1, &sockets, errp) ||
        !keyval_get_u64(kv, "dies", 1, &dies, errp) ||
        !keyval_get_u64(kv, "cores", 1, &cores, errp) ||
        !keyval_get_u64(kv, "threads", 1, &threads, errp)) {
        return false;
    }
    if (!sockets || !dies || !cores || !threads ||
        sockets > 256 || dies > 256 || cores > 256 || threads > 256) {
        error_setg(errp, "CPU topology parameters must be between 1 and 256");
        return false;
    }
    topo = sockets * dies * cores * threads;
    /* Only an absent cpus= is derived from the topology; 0 is a mistake. */
    if (!keyval_get(kv, "cpus")) {
        cpus = topo;
    }
    if (!keyval_get_u64(kv, "maxcpus", cpus, &maxcpus, errp)) {
        return false;
    }
    if (cpus < 1 || cpus > PC_MAX_CPUS) {
        error_setg(errp, "Invalid number of CPUs %" G_GUINT64_FORMAT, cpus);
        return false;
    }
    if (maxcpus != cpus) {
        error_setg(errp, "maxcpus must equal cpus: CPU hotplug is not "
                   "supported");
        return false;
    }
    if (topo != 1 && topo != cpus) {
        error_setg(errp, "Invalid CPU topology: product of the hierarchy "
                   "must match cpus: sockets (%" G_GUINT64_FORMAT ") * dies "
                   "(%" G_GUINT64_FORMAT ") * cores (%" G_GUINT64_FORMAT
                   ") * threads (%" G_GUINT64_FORMAT ") != cpus (%"
                   G_GUINT64_FORMAT ")", sockets, dies, cores, threads, cpus);
        return false;
    }
    cfg->machine.smp_cpus = cpus;
    if (topo == 1) {
        sockets = cpus;     /* QEMU's pc: sockets first */
    }
    vl_topology = (VlSmpTopology){ sockets, dies, cores, threads };
    return true;
}

/*
 * -cpu MODEL[,+feat][,-feat][,feat=on|off][,prop=value]: parsed now, so
 * an unknown model or feature is reported before anything starts; the
 * vCPUs get it when they are created (include/target/i386/cpu-models.h).
 */
static bool opt_cpu(SystemConfig *cfg, const char *arg, Error **errp)
{
    X86CPUConfig parsed;

    if (!strcmp(arg, "help") || !strcmp(arg, "?")) {
        g_free(cfg->device_help);
        cfg->device_help = x86_cpu_help();
        return true;
    }
    if (!x86_cpu_config_parse(&parsed, arg, errp)) {
        x86_cpu_config_clear(&parsed);
        return false;
    }
    x86_cpu_config_clear(x86_cpu_current_config());
    *x86_cpu_current_config() = parsed;
    return true;
}

static bool opt_kernel(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->machine.kernel = arg;
    return true;
}

static bool opt_initrd(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->machine.initrd = arg;
    return true;
}

static bool opt_append(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->machine.append = arg;
    return true;
}

static bool opt_serial(SystemConfig *cfg, const char *arg, Error **errp)
{
    if (cfg->nr_serial >= PC_MAX_SERIAL) {
        error_setg(errp, "too many serial ports (at most %d)", PC_MAX_SERIAL);
        return false;
    }
    /* chardev_new_legacy() validates the spec when main() creates it. */
    cfg->serial_specs[cfg->nr_serial++] = arg;
    return true;
}

static bool opt_chardev(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_ptr_array_add(cfg->chardev_opts, (gpointer)arg);
    return true;
}

static bool vl_add_monitor(SystemConfig *cfg, VlMonitorKind kind,
                           const char *arg)
{
    VlMonitorOpt m = { .kind = kind, .arg = arg };

    g_array_append_val(cfg->monitor_opts, m);
    return true;
}

static bool opt_qmp(SystemConfig *cfg, const char *arg, Error **errp)
{
    return vl_add_monitor(cfg, VL_MONITOR_QMP, arg);
}

static bool opt_qmp_pretty(SystemConfig *cfg, const char *arg, Error **errp)
{
    return vl_add_monitor(cfg, VL_MONITOR_QMP_PRETTY, arg);
}

static bool opt_monitor(SystemConfig *cfg, const char *arg, Error **errp)
{
    return vl_add_monitor(cfg, VL_MONITOR_HMP, arg);
}

static bool opt_mon(SystemConfig *cfg, const char *arg, Error **errp)
{
    return vl_add_monitor(cfg, VL_MONITOR_MON, arg);
}

static bool opt_object(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_ptr_array_add(cfg->object_opts, (gpointer)arg);
    return true;
}

static bool opt_nographic(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->nographic = true;
    return true;
}

static const VlParam display_params[] = {
    { "type", VL_PARAM_STRING },
    { NULL },
};

static bool opt_display(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_autoptr(KeyvalList) kv = vl_keyval(arg, "type", display_params, errp);
    const char *type;

    if (!kv) {
        return false;
    }
    type = keyval_get(kv, "type");
    if (!type || strcmp(type, "none")) {
        error_setg(errp, "display '%s' is not available: Tandem has no "
                   "graphical display (use -display none or -nographic)",
                   type ? type : "");
        return false;
    }
    return true;
}

static bool opt_nodefaults(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->nodefaults = true;
    return true;
}

static const char *vl_name;

const char *vl_guest_name(void)
{
    return vl_name;
}

static const VlParam name_params[] = {
    { "guest", VL_PARAM_STRING },
    { "process", VL_PARAM_STRING },
    { "debug-threads", VL_PARAM_BOOL },
    { NULL },
};

static bool opt_name(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_autoptr(KeyvalList) kv = vl_keyval(arg, "guest", name_params, errp);
    bool debug_threads;

    if (!kv ||
        !keyval_get_bool(kv, "debug-threads", false, &debug_threads, errp)) {
        return false;
    }
    g_free(cfg->name);
    g_free(cfg->process_name);
    cfg->name = g_strdup(keyval_get(kv, "guest"));
    vl_name = cfg->name;
    cfg->process_name = g_strdup(keyval_get(kv, "process"));
    cfg->machine.debug_threads = debug_threads;
    return true;
}

static bool opt_pidfile(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->pidfile = arg;
    return true;
}

static bool opt_daemonize(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->daemonize = true;
    return true;
}

static bool opt_no_reboot(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->no_reboot = true;
    return true;
}

static bool opt_no_shutdown(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->no_shutdown = true;
    return true;
}

static bool opt_S(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->start_paused = true;
    return true;
}

static bool opt_incoming(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->incoming = arg;
    return true;
}

static bool opt_version(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->show_version = true;
    return true;
}

static bool opt_help(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->show_help = true;
    return true;
}

static bool opt_trace(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_ptr_array_add(cfg->trace_opts, (gpointer)arg);
    return true;
}

static bool opt_D(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->log_file = arg;
    return true;
}

static bool opt_qtest(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->qtest_chardev = arg;
    return true;
}

static bool opt_qtest_log(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->qtest_log = arg;
    return true;
}

/*
 * -device: the registry parses and checks the properties now, so a bad
 * one is reported before anything starts; the machine wires the device
 * to its bus when it is built.
 */
static bool opt_device(SystemConfig *cfg, const char *arg, Error **errp)
{
    char *help;

    if (!qdev_help_requested(arg, &help, errp)) {
        return false;
    }
    if (help) {
        g_free(cfg->device_help);
    g_free(cfg->accel);
        cfg->device_help = help;
        return true;
    }
    return qdev_create_cmdline(arg, errp) != NULL;
}

/* -blockdev and -drive: opened once the parse is done (vl_open_block_nodes). */
static bool opt_blockdev(SystemConfig *cfg, const char *arg, Error **errp)
{
    VlBlockOpt o = { .drive = false, .arg = arg };

    g_array_append_val(cfg->block_opts, o);
    return true;
}

static bool opt_drive(SystemConfig *cfg, const char *arg, Error **errp)
{
    VlBlockOpt o = { .drive = true, .arg = arg };

    g_array_append_val(cfg->block_opts, o);
    return true;
}

static bool opt_snapshot(SystemConfig *cfg, const char *arg, Error **errp)
{
    cfg->snapshot = true;
    return true;
}

bool vl_open_block_nodes(const SystemConfig *cfg, Error **errp)
{
    ERRP_GUARD();

    bdrv_set_open_inactive(cfg->incoming != NULL);
    for (guint i = 0; i < cfg->block_opts->len; i++) {
        const VlBlockOpt *o = &g_array_index(cfg->block_opts, VlBlockOpt, i);
        bool ok = o->drive ? drive_new_cmdline(o->arg, cfg->snapshot, errp)
                                 != NULL
                           : blockdev_add_cmdline(o->arg, errp);

        if (!ok) {
            error_prepend(errp, "%s %s: ", o->drive ? "-drive" : "-blockdev",
                          o->arg);
            return false;
        }
    }
    return true;
}

/*
 * -netdev and -nic: created now, like -device, so that the NICs find
 * their netdevs when the machine realizes them (include/net/netdev.h).
 */
static bool opt_netdev(SystemConfig *cfg, const char *arg, Error **errp)
{
    return net_netdev_add_cmdline(arg, errp) != NULL;
}

static bool opt_nic(SystemConfig *cfg, const char *arg, Error **errp)
{
    return net_nic_add_cmdline(arg, errp);
}

static bool opt_net(SystemConfig *cfg, const char *arg, Error **errp)
{
    return net_legacy_add_cmdline(arg, errp);
}

/* Tandem reads no configuration files, so there are none to skip. */
static bool opt_no_user_config(SystemConfig *cfg, const char *arg,
                               Error **errp)
{
    return true;
}

/* The pc machine has no ACPI tables to leave out. */
static bool opt_no_acpi(SystemConfig *cfg, const char *arg, Error **errp)
{
    return true;
}

/* There is no display, so "none" is the only VGA there is; whether
 * another is an error depends on the machine (vl_check_vga). */
static bool opt_vga(SystemConfig *cfg, const char *arg, Error **errp)
{
    if (!strcmp(arg, "help")) {
        error_setg(errp, "Tandem has no VGA devices: only -vga none");
        return false;
    }
    cfg->vga = strcmp(arg, "none") ? arg : NULL;
    return true;
}

bool vl_check_vga(const SystemConfig *cfg, Error **errp)
{
    if (!cfg->vga) {
        return true;
    }
    if (cfg->machine_none) {
        /* As QEMU: the none machine has no VGA to make either way. */
        warn_report("-vga %s: the none machine uses no VGA card; none was "
                    "created", cfg->vga);
        return true;
    }
    error_setg(errp, "-vga %s: VGA card '%s' is not available: Tandem has no "
               "display devices (use -vga none, or -nographic)", cfg->vga,
               cfg->vga);
    return false;
}

/*
 * -usb asks for QEMU's default USB controller. The pc has none, and
 * accepting it would hide that from the guest's owner. libvirt passes it
 * for a pc domain's default USB controller when the emulator lacks
 * piix3-usb-uhci: the domain needs <controller type='usb' model='none'/>.
 */
static bool opt_usb(SystemConfig *cfg, const char *arg, Error **errp)
{
    error_setg(errp, "USB is not supported: the pc machine has no USB "
               "controller (under libvirt: <controller type='usb' "
               "model='none'/>)");
    return false;
}

static const VlParam msg_params[] = {
    { "timestamp", VL_PARAM_BOOL },
    { NULL },
};

static bool opt_msg(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_autoptr(KeyvalList) kv = vl_keyval(arg, "timestamp", msg_params, errp);
    bool on;

    if (!kv ||
        !keyval_get_bool(kv, "timestamp", false, &on, errp)) {
        return false;
    }
    error_set_timestamps(on);
    return true;
}

/* The guest sees no UUID (no SMBIOS yet): query-uuid reports it. */
static char *vl_uuid_value;

const char *vl_uuid(void)
{
    return vl_uuid_value;
}

static bool opt_uuid(SystemConfig *cfg, const char *arg, Error **errp)
{
    if (!g_uuid_string_is_valid(arg)) {
        error_setg(errp, "Fail to parse UUID string. Wrong format.");
        return false;
    }
    g_free(vl_uuid_value);
    vl_uuid_value = g_ascii_strdown(arg, -1);
    return true;
}

/*
 * Options libvirt passes on every start (docs/compat.md). Each is either
 * done, a no-op for a reason a user cannot notice, or refused naming
 * what Tandem lacks.
 */

static const VlParam overcommit_params[] = {
    { "mem-lock", VL_PARAM_BOOL },
    { "cpu-pm", VL_PARAM_BOOL },
    { NULL },
};

/* mem-lock=on: main() locks all memory (mlockall) before guest RAM is
 * mapped, as QEMU does. cpu-pm=on would give the guest HLT/MWAIT
 * without exits; Tandem keeps those exits. */
static bool opt_overcommit(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_autoptr(KeyvalList) kv = vl_keyval(arg, NULL, overcommit_params, errp);
    bool cpu_pm;

    if (!kv ||
        !keyval_get_bool(kv, "mem-lock", cfg->mem_lock, &cfg->mem_lock,
                         errp) ||
        !keyval_get_bool(kv, "cpu-pm", false, &cpu_pm, errp)) {
        return false;
    }
    if (cpu_pm) {
        error_setg(errp, "cpu-pm=on is not supported: Tandem keeps the "
                   "guest's HLT and MWAIT exits");
        return false;
    }
    return true;
}

static const VlParam rtc_params[] = {
    { "base", VL_PARAM_STRING },
    { "clock", VL_PARAM_STRING },
    { "driftfix", VL_PARAM_STRING },
    { NULL },
};

/*
 * The pc has no RTC (CMOS clock) device: the guest's clocks are the TSC,
 * kvmclock and the PIT. What QEMU does by default (base=utc, clock=host,
 * driftfix=none) is accepted as is; driftfix=slew re-injects lost RTC
 * ticks, and there are none. Anything asking for other guest-visible
 * time is refused.
 */
static bool opt_rtc(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_autoptr(KeyvalList) kv = vl_keyval(arg, NULL, rtc_params, errp);
    const char *base, *clock, *drift;

    if (!kv) {
        return false;
    }
    base = keyval_get(kv, "base");
    clock = keyval_get(kv, "clock");
    drift = keyval_get(kv, "driftfix");
    if (base && strcmp(base, "utc")) {
        error_setg(errp, "base=%s is not supported: the pc has no RTC, so "
                   "only base=utc (the default) is accepted", base);
        return false;
    }
    if (clock && strcmp(clock, "host")) {
        error_setg(errp, "clock=%s is not supported: the pc has no RTC, so "
                   "only clock=host (the default) is accepted", clock);
        return false;
    }
    if (drift && strcmp(drift, "slew") && strcmp(drift, "none")) {
        error_setg(errp, "Parameter 'driftfix' does not accept value '%s'",
                   drift);
        return false;
    }
    return true;
}

static const VlParam boot_params[] = {
    { "strict", VL_PARAM_BOOL },
    { "menu", VL_PARAM_BOOL },
    { NULL },
};

/*
 * There is no firmware: -kernel is loaded directly. strict= (boot only
 * from the devices listed) and menu=off have nothing to act on; order,
 * once, a menu, a splash or a reboot timeout are things a user would
 * wait for, so they are refused.
 */
static bool opt_boot(SystemConfig *cfg, const char *arg, Error **errp)
{
    static const char *const firmware_keys[] = {
        "order", "once", "splash", "splash-time", "reboot-timeout", NULL,
    };
    g_autoptr(KeyvalList) any = keyval_parse(arg, "order", errp);
    g_autoptr(KeyvalList) kv = NULL;
    bool strict, menu;

    if (!any) {
        return false;
    }
    for (const char *const *k = firmware_keys; *k; k++) {
        if (keyval_get(any, *k)) {
            error_setg(errp, "%s= is not supported: Tandem has no firmware "
                       "and boots -kernel directly", *k);
            return false;
        }
    }
    kv = vl_keyval(arg, "order", boot_params, errp);
    if (!kv || !keyval_get_bool(kv, "strict", false, &strict, errp) ||
        !keyval_get_bool(kv, "menu", false, &menu, errp)) {
        return false;
    }
    if (menu) {
        error_setg(errp, "menu=on is not supported: Tandem has no firmware "
                   "boot menu");
        return false;
    }
    return true;
}

static const VlParam audiodev_params[] = {
    { "driver", VL_PARAM_STRING },
    { "id", VL_PARAM_STRING },
    { NULL },
};

static bool audiodev_check(const char *driver, const char *id, Error **errp)
{
    if (!driver) {
        error_setg(errp, "Parameter 'driver' is missing");
        return false;
    }
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    if (!object_id_valid(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return false;
    }
    if (strcmp(driver, "none")) {
        error_setg(errp, "audio driver '%s' is not available: Tandem has no "
                   "sound devices (use driver none)", driver);
        return false;
    }
    return true;
}

/* The JSON form libvirt writes: {"id":"audio1","driver":"none"}. */
static bool audiodev_json(const char *arg, Error **errp)
{
    json_object *root = json_tokener_parse(arg);
    const char *driver = NULL, *id = NULL;
    bool ok = false;

    if (!root || !json_object_is_type(root, json_type_object)) {
        error_setg(errp, "invalid JSON object");
        goto out;
    }
    json_object_object_foreach(root, key, val) {
        const char **slot = !strcmp(key, "driver") ? &driver :
                            !strcmp(key, "id") ? &id : NULL;

        if (!slot) {
            error_setg(errp, "Parameter '%s' is unexpected", key);
            goto out;
        }
        if (!json_object_is_type(val, json_type_string)) {
            error_setg(errp, "Invalid parameter type for '%s', expected: "
                       "string", key);
            goto out;
        }
        *slot = json_object_get_string(val);
    }
    ok = audiodev_check(driver, id, errp);
out:
    json_object_put(root);
    return ok;
}

/* No sound devices: an audio backend that plays nothing is exact; any
 * other would be ignored, so it is refused. */
static bool opt_audiodev(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_autoptr(KeyvalList) kv = NULL;

    if (arg[0] == '{') {
        return audiodev_json(arg, errp);
    }
    kv = vl_keyval(arg, "driver", audiodev_params, errp);
    return kv && audiodev_check(keyval_get(kv, "driver"),
                                keyval_get(kv, "id"), errp);
}

static const VlParam sandbox_params[] = {
    { "enable", VL_PARAM_BOOL },
    { NULL },
};

/*
 * Tandem has no seccomp filter: -sandbox off is what it does anyway;
 * on (with any of QEMU's deny lists) is refused. The option is unlisted
 * in query-command-line-options: libvirt passes "-sandbox on,..." to any
 * binary that lists it.
 */
static bool opt_sandbox(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_autoptr(KeyvalList) any = keyval_parse(arg, "enable", errp);
    g_autoptr(KeyvalList) kv = NULL;
    const char *enable;
    bool on;

    if (!any) {
        return false;
    }
    enable = keyval_get(any, "enable");
    if (enable && parse_bool(enable, &on, NULL) && on) {
        error_setg(errp, "seccomp sandboxing is not supported by Tandem "
                   "(use -sandbox off)");
        return false;
    }
    kv = vl_keyval(arg, "enable", sandbox_params, errp);
    if (!kv || !keyval_get_bool(kv, "enable", true, &on, errp)) {
        return false;
    }
    if (!enable) {
        error_setg(errp, "Parameter 'enable' is missing");
        return false;
    }
    return true;
}

/* Global property defaults would reach devices Tandem builds by other
 * means; until they do, they are refused rather than ignored. */
static bool opt_global(SystemConfig *cfg, const char *arg, Error **errp)
{
    error_setg(errp, "-global is not supported yet: set the property on "
               "-device instead");
    return false;
}

static const VlParam add_fd_params[] = {
    { "fd", VL_PARAM_NUMBER },
    { "set", VL_PARAM_NUMBER },
    { "opaque", VL_PARAM_STRING },
    { NULL },
};

/*
 * -add-fd fd=N,set=S[,opaque=TEXT]: an fd the manager left open for us
 * joins fd set S at once (as in QEMU, so later options may name
 * /dev/fdset/S). It is duplicated close-on-exec and the inherited
 * number closed. Errors as QEMU words them.
 */
static bool opt_add_fd(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_autoptr(KeyvalList) kv = vl_keyval(arg, NULL, add_fd_params, errp);
    uint64_t fd, set;
    int flags, dup;

    if (!kv || !keyval_get_u64(kv, "fd", UINT64_MAX, &fd, errp) ||
        !keyval_get_u64(kv, "set", UINT64_MAX, &set, errp)) {
        return false;
    }
    if (fd > INT_MAX) {
        error_setg(errp, "fd option is required and must be non-negative");
        return false;
    }
    if (fd <= STDERR_FILENO) {
        error_setg(errp, "fd cannot be a standard I/O stream");
        return false;
    }
    /* An inherited fd has FD_CLOEXEC clear; ours all have it set. */
    flags = fcntl(fd, F_GETFD);
    if (flags < 0 || (flags & FD_CLOEXEC)) {
        error_setg(errp, "fd is not valid or already in use");
        return false;
    }
    if (set > INT64_MAX) {
        error_setg(errp, "set option is required and must be non-negative");
        return false;
    }
    dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) {
        error_setg_errno(errp, errno, "error duplicating fd");
        return false;
    }
    close(fd);
    fdset_add_fd(set, dup, keyval_get(kv, "opaque"));
    return true;
}

static const VlOption vl_options[] = {
    { "accel", "kvm|qtest[,dirty-ring-size=N]",
      "select the accelerator: kvm, or qtest (no vCPUs: devices are "
      "driven over -qtest); dirty-ring-size selects KVM's dirty ring with "
      "N entries per vCPU instead of the dirty bitmap",
      opt_accel, accel_params },
    { "enable-kvm", NULL, "same as -accel kvm", opt_enable_kvm },
    { "machine", "pc|none[,accel=kvm|qtest][,usb=off]"
      "[,dump-guest-core=on|off][,memory-backend=ID]", "select the machine: "
      "pc, or none (no RAM, devices or vCPUs: QMP only); memory-backend "
      "makes a memory-backend-ram object the pc's RAM",
      opt_machine, machine_params },
    { "M", "pc", "same as -machine", opt_machine, machine_params,
      "machine" },
    { "m", "[size=]N[M|G]", "guest RAM size (a bare number is MiB; "
      "default 128M)", opt_m, m_params, "memory" },
    { "smp", "[cpus=]N[,sockets=S,cores=C,threads=T,maxcpus=N]",
      "number of vCPUs", opt_smp, smp_params, "smp-opts" },
    { "cpu", "MODEL[,+feat|-feat|feat=on|off...][,enforce]", "the vCPU "
      "model (-cpu help lists them; default host)", opt_cpu },
    { "kernel", "FILE", "boot this multiboot image or Linux bzImage",
      opt_kernel },
    { "initrd", "FILE", "Linux initrd, or multiboot modules "
      "(\"file1 args,file2\")", opt_initrd },
    { "append", "CMDLINE", "kernel command line", opt_append },
    { "serial", "DEV", "connect the next serial port to DEV: stdio, null, "
      "none, pty, file:PATH, chardev:ID, unix:PATH[,server=on,wait=off], "
      "tcp:HOST:PORT[,server=on,wait=off]", opt_serial },
    { "chardev", "BACKEND,id=ID[,...]", "create a character device: "
      "socket (path= or host=,port=, or fd=; server=on|off, wait=on|off, "
      "reconnect-ms=N), pty, file,path=P, stdio, null", opt_chardev },
    { "qmp", "DEV", "a QMP monitor on DEV (unix:PATH,server=on,wait=off, "
      "tcp:HOST:PORT,server=on, stdio, ...)", opt_qmp },
    { "qmp-pretty", "DEV", "like -qmp, with pretty-printed JSON",
      opt_qmp_pretty },
    { "monitor", "DEV", "an HMP monitor on DEV", opt_monitor },
    { "mon", "[chardev=]ID[,mode=control|readline][,pretty=on|off]",
      "a monitor on an existing -chardev", opt_mon },
    { "object", "TYPE,id=ID[,prop=value...]|JSON", "create an object "
      "(iothread, ...)", opt_object },
    { "nographic", NULL, "no display; serial port on stdio", opt_nographic },
    { "display", "none", "no display", opt_display, display_params },
    { "nodefaults", NULL, "create no default devices", opt_nodefaults },
    { "name", "[guest=]NAME[,process=NAME][,debug-threads=on|off]",
      "name the guest; debug-threads names the vCPU threads", opt_name,
      name_params },
    { "pidfile", "FILE", "write the process id to FILE (locked)",
      opt_pidfile },
    { "daemonize", NULL, "detach once the VM is set up", opt_daemonize },
    { "no-reboot", NULL, "exit instead of rebooting", opt_no_reboot },
    { "no-shutdown", NULL, "stop instead of exiting when the guest shuts "
      "down", opt_no_shutdown },
    { "S", NULL, "do not start the vCPUs", opt_S },
    { "incoming", "tcp:HOST:PORT|unix:PATH|exec:CMD|file:PATH|fd:N|defer",
      "wait for an incoming migration (defer: until migrate-incoming)",
      opt_incoming },
    { "version", NULL, "print the version and exit", opt_version },
    { "help", NULL, "print this help and exit", opt_help },
    { "h", NULL, "same as -help", opt_help },
    { "trace", "[enable=]PATTERN|events=FILE|file=FILE",
      "enable trace events (-trace help lists them)", opt_trace },
    { "D", "FILE", "write trace and error output to FILE", opt_D },
    { "qtest", "DEV", "serve the qtest protocol on DEV (unix:PATH, "
      "unix:PATH,server=on,wait=off, ...); Tandem exits when it closes",
      opt_qtest },
    { "qtest-log", "FILE|none", "log qtest commands and replies to FILE "
      "(default: stderr; none: no log)", opt_qtest_log },
    { "device", "DRIVER[,prop=value,...]", "add a device (-device help "
      "lists them, -device DRIVER,help its properties)", opt_device },
    { "blockdev", "driver=DRV,node-name=N[,prop=value...]|JSON", "add a "
      "block node (file, null-co, raw, qcow2)", opt_blockdev },
    { "drive", "file=F[,if=none][,id=ID][,format=raw|qcow2][,cache=C]"
      "[,aio=A][,readonly=on|off][,snapshot=on|off]", "add a drive (a "
      "BlockBackend over a format and a file node)", opt_drive },
    { "snapshot", NULL, "every -drive writes to a temporary overlay, never "
      "to its image (as snapshot=on; snapshot=off on a -drive wins)",
      opt_snapshot },
    { "netdev", "TYPE,id=ID[,...]", "create a network backend: "
      "tap[,ifname=N][,fd=N][,script=no,downscript=no][,vnet_hdr=on|off], "
      "user[,net=A/M][,host=A][,dhcpstart=A][,hostfwd=R...][,restrict=on], "
      "socket,listen=|connect=|udp=|mcast=|fd=, stream,addr.type=inet|unix,"
      "..., dgram,local.*,remote.*, hubport,hubid=N[,netdev=ID]",
      opt_netdev },
    { "nic", "TYPE[,model=M][,mac=MAC][,netdev options]|none",
      "a netdev of TYPE and a NIC of model M (default virtio-net-pci) on it",
      opt_nic },
    { "net", "nic[,model=M][,macaddr=MAC]|TYPE[,options]",
      "legacy: a NIC or a netdev on hub 0 (prefer -netdev and -device)",
      opt_net },
    { "no-user-config", NULL, "read no user configuration files (Tandem "
      "reads none anyway)", opt_no_user_config },
    { "no-acpi", NULL, "no ACPI tables (the pc machine has none)",
      opt_no_acpi },
    { "vga", "none", "no VGA card (the only choice: there is no display)",
      opt_vga },
    { "usb", NULL, "refused: there is no USB controller", opt_usb },
    { "msg", "[timestamp=]on|off", "timestamp=on starts every error and "
      "warning line with the UTC time", opt_msg, msg_params },
    { "uuid", "UUID", "the VM's UUID (query-uuid)", opt_uuid },
    { "overcommit", "mem-lock=on|off[,cpu-pm=off]", "mem-lock=on locks "
      "all of Tandem's memory, guest RAM included, in host RAM",
      opt_overcommit, overcommit_params },
    { "rtc", "base=utc[,clock=host][,driftfix=slew|none]", "accepted as "
      "QEMU's default; the pc has no RTC", opt_rtc, rtc_params },
    { "boot", "[strict=on|off][,menu=off]", "accepted: there is no firmware "
      "(-kernel boots directly); order=, once= are refused", opt_boot,
      boot_params, "boot-opts" },
    { "audiodev", "none,id=ID|JSON", "an audio backend; only none (there "
      "are no sound devices)", opt_audiodev, audiodev_params },
    { "sandbox", "off", "no seccomp filter (-sandbox on is refused)",
      opt_sandbox, sandbox_params, .unlisted = true },
    { "global", "DRIVER.PROP=VALUE", "refused: not supported yet",
      opt_global },
    { "add-fd", "fd=N,set=S[,opaque=TEXT]", "put inherited fd N in fd "
      "set S; /dev/fdset/S then opens it wherever a path is taken",
      opt_add_fd, add_fd_params },
};

static const VlOption *vl_find_option(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vl_options); i++) {
        if (!strcmp(vl_options[i].name, name)) {
            return &vl_options[i];
        }
    }
    return NULL;
}

void vl_foreach_param_option(VlParamOptionFn *fn, void *opaque)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vl_options); i++) {
        const VlOption *o = &vl_options[i];
        const char *group = o->group ?: o->name;
        bool seen = false;

        if (!o->params || o->unlisted) {
            continue;
        }
        /* Once per group (-M and -machine are one). */
        for (size_t j = 0; j < i; j++) {
            const VlOption *e = &vl_options[j];

            seen |= e->params && !e->unlisted &&
                    !strcmp(e->group ?: e->name, group);
        }
        if (!seen) {
            fn(group, o->params, opaque);
        }
    }
}

void vl_print_help(void)
{
    printf("usage: tandem-system-x86_64 [options]\n\n"
           "Tandem %s: a KVM virtual machine monitor with COLO fault "
           "tolerance, command-line compatible with qemu-system-x86_64.\n\n",
           TANDEM_VERSION);
    for (size_t i = 0; i < G_N_ELEMENTS(vl_options); i++) {
        const VlOption *o = &vl_options[i];
        g_autofree char *head = g_strdup_printf("-%s%s%s", o->name,
                                                o->arg_help ? " " : "",
                                                o->arg_help ?: "");
        printf("%s\n        %s\n", head, o->help);
    }
}

/* QEMU's -machine help layout: the alias line first, then the type. */
void vl_print_machines(void)
{
    printf("Supported machines are:\n");
    printf("%-20s %s\n", "none", "empty machine");
    for (size_t i = 0; i < pc_machine_types_count; i++) {
        const PCMachineType *t = &pc_machine_types[i];

        if (t->alias) {
            printf("%-20s %s (alias of %s)\n", t->alias, t->desc, t->name);
        }
        printf("%-20s %s%s\n", t->name, t->desc,
               t->is_default ? " (default)" : "");
    }
}

void vl_print_version(void)
{
    printf("QEMU emulator version %s (Tandem %s)\n"
           "Copyright (c) 2026 The Tandem authors\n",
           TANDEM_QEMU_COMPAT_VERSION, TANDEM_VERSION);
}

static void vl_config_init(SystemConfig *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->machine.ram_size = DEFAULT_RAM_SIZE;
    cfg->machine.smp_cpus = 1;
    cfg->machine.dump_guest_core = true;    /* QEMU's default */
    cfg->trace_opts = g_ptr_array_new();
    cfg->chardev_opts = g_ptr_array_new();
    cfg->monitor_opts = g_array_new(FALSE, FALSE, sizeof(VlMonitorOpt));
    cfg->object_opts = g_ptr_array_new();
    cfg->block_opts = g_array_new(FALSE, FALSE, sizeof(VlBlockOpt));
    cfg->mux_monitors = g_ptr_array_new();
}

void vl_config_free(SystemConfig *cfg)
{
    g_free(cfg->device_help);
    g_free(cfg->accel);
    g_ptr_array_free(cfg->trace_opts, TRUE);
    g_ptr_array_free(cfg->chardev_opts, TRUE);
    g_array_free(cfg->monitor_opts, TRUE);
    g_ptr_array_free(cfg->object_opts, TRUE);
    g_array_free(cfg->block_opts, TRUE);
    g_ptr_array_free(cfg->mux_monitors, TRUE);
    g_free(cfg->name);
    g_free(cfg->process_name);
    g_free((char *)cfg->machine.memory_backend);
}

bool vl_parse_args(int argc, char **argv, SystemConfig *cfg, Error **errp)
{
    ERRP_GUARD();

    vl_config_init(cfg);
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        const char *name = word;
        const VlOption *opt;
        const char *arg = NULL;

        if (name[0] != '-' || !name[1]) {
            error_setg(errp, "%s: disk images are not supported as a bare "
                       "argument; boot with -kernel", word);
            return false;
        }
        name += (name[1] == '-') ? 2 : 1;
        opt = vl_find_option(name);
        if (!opt) {
            error_setg(errp, "%s: invalid option", word);
            return false;
        }
        if (opt->arg_help) {
            if (i + 1 >= argc) {
                error_setg(errp, "%s: requires an argument", word);
                return false;
            }
            arg = argv[++i];
        }
        if (!opt->fn(cfg, arg, errp)) {
            error_prepend(errp, "%s%s%s: ", word, arg ? " " : "", arg ?: "");
            return false;
        }
    }
    return true;
}
