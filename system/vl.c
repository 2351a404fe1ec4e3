/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Command-line parsing. One table lists every option with its argument
 * and help text; each option has a small handler that turns its argument
 * into fields of SystemConfig, with errors prefixed by the option as the
 * user typed it ("-m abc: ...").
 */
#include <stdio.h>
#include <string.h>
#include "config-host.h"
#include "hw/core/qdev.h"
#include "hw/i386/pc-types.h"
#include "net/netdev.h"
#include "system/vl.h"
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
} VlOption;

static bool opt_accel_value(SystemConfig *cfg, const char *accel,
                            Error **errp)
{
    if (!strcmp(accel, "help")) {
        cfg->list_accels = true;
        return true;
    }
    /* "kvm:tcg" means try kvm, then tcg: kvm is all we have. */
    g_auto(GStrv) alternatives = g_strsplit(accel, ":", -1);
    for (char **a = alternatives; *a; a++) {
        if (!strcmp(*a, "kvm")) {
            return true;
        }
    }
    error_setg(errp, "invalid accelerator %s (Tandem runs on KVM only)",
               accel);
    return false;
}

static bool opt_accel(SystemConfig *cfg, const char *arg, Error **errp)
{
    static const char *const known[] = { "accel", "dirty-ring-size", NULL };
    g_autoptr(KeyvalList) kv = keyval_parse(arg, "accel", errp);
    uint64_t ring;

    if (!kv || !keyval_check_known(kv, known, NULL, errp) ||
        !opt_accel_value(cfg, keyval_get(kv, "accel") ?: "", errp) ||
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
    return true;
}

static bool opt_machine(SystemConfig *cfg, const char *arg, Error **errp)
{
    static const char *const known[] = { "type", "accel", NULL };
    g_autoptr(KeyvalList) kv = keyval_parse(arg, "type", errp);
    const char *type, *accel;

    if (!kv || !keyval_check_known(kv, known, NULL, errp)) {
        return false;
    }
    type = keyval_get(kv, "type");
    if (type && !strcmp(type, "help")) {
        cfg->list_machines = true;
        return true;
    }
    if (type && !pc_machine_type_find(type)) {
        error_setg(errp, "unsupported machine type '%s' (use -machine help "
                   "to list supported machines)", type);
        return false;
    }
    accel = keyval_get(kv, "accel");
    return !accel || opt_accel_value(cfg, accel, errp);
}

static bool opt_m(SystemConfig *cfg, const char *arg, Error **errp)
{
    static const char *const known[] = { "size", NULL };
    g_autoptr(KeyvalList) kv = keyval_parse(arg, "size", errp);
    const char *size;
    uint64_t bytes;

    if (!kv || !keyval_check_known(kv, known, NULL, errp)) {
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
    return true;
}

static bool opt_smp(SystemConfig *cfg, const char *arg, Error **errp)
{
    static const char *const known[] = { "cpus", "sockets", "dies", "cores",
                                         "threads", "maxcpus", NULL };
    g_autoptr(KeyvalList) kv = keyval_parse(arg, "cpus", errp);
    uint64_t cpus, sockets, dies, cores, threads, maxcpus, topo;

    if (!kv || !keyval_check_known(kv, known, NULL, errp) ||
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

static bool opt_display(SystemConfig *cfg, const char *arg, Error **errp)
{
    g_autoptr(KeyvalList) kv = keyval_parse(arg, "type", errp);
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

static bool opt_name(SystemConfig *cfg, const char *arg, Error **errp)
{
    static const char *const known[] = { "guest", "process", "debug-threads",
                                         NULL };
    g_autoptr(KeyvalList) kv = keyval_parse(arg, "guest", errp);
    bool debug_threads;

    if (!kv || !keyval_check_known(kv, known, NULL, errp) ||
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
        cfg->device_help = help;
        return true;
    }
    return qdev_create_cmdline(arg, errp) != NULL;
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

/* There is no display, so "none" is the only VGA there is. */
static bool opt_vga(SystemConfig *cfg, const char *arg, Error **errp)
{
    if (!strcmp(arg, "none")) {
        return true;
    }
    if (!strcmp(arg, "help")) {
        error_setg(errp, "Tandem has no VGA devices: only -vga none");
        return false;
    }
    error_setg(errp, "VGA card '%s' is not available: Tandem has no display "
               "devices (use -vga none, or -nographic)", arg);
    return false;
}

static bool opt_msg(SystemConfig *cfg, const char *arg, Error **errp)
{
    static const char *const known[] = { "timestamp", NULL };
    g_autoptr(KeyvalList) kv = keyval_parse(arg, "timestamp", errp);
    bool on;

    if (!kv || !keyval_check_known(kv, known, NULL, errp) ||
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

static const VlOption vl_options[] = {
    { "accel", "kvm[,dirty-ring-size=N]",
      "select the accelerator (only kvm); dirty-ring-size selects KVM's "
      "dirty ring with N entries per vCPU instead of the dirty bitmap",
      opt_accel },
    { "enable-kvm", NULL, "same as -accel kvm", opt_enable_kvm },
    { "machine", "pc[,accel=kvm]", "select the machine (only pc)",
      opt_machine },
    { "M", "pc", "same as -machine", opt_machine },
    { "m", "[size=]N[M|G]", "guest RAM size (a bare number is MiB; "
      "default 128M)", opt_m },
    { "smp", "[cpus=]N[,sockets=S,cores=C,threads=T,maxcpus=N]",
      "number of vCPUs", opt_smp },
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
    { "display", "none", "no display", opt_display },
    { "nodefaults", NULL, "create no default devices", opt_nodefaults },
    { "name", "[guest=]NAME[,process=NAME][,debug-threads=on|off]",
      "name the guest; debug-threads names the vCPU threads", opt_name },
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
    { "qtest-log", "FILE", "log qtest commands and replies to FILE "
      "(/dev/fd/2 for stderr)", opt_qtest_log },
    { "device", "DRIVER[,prop=value,...]", "add a device (-device help "
      "lists them, -device DRIVER,help its properties)", opt_device },
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
    { "msg", "[timestamp=]on|off", "timestamp=on starts every error and "
      "warning line with the UTC time", opt_msg },
    { "uuid", "UUID", "the VM's UUID (query-uuid)", opt_uuid },
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
    cfg->trace_opts = g_ptr_array_new();
    cfg->chardev_opts = g_ptr_array_new();
    cfg->monitor_opts = g_array_new(FALSE, FALSE, sizeof(VlMonitorOpt));
    cfg->object_opts = g_ptr_array_new();
    cfg->mux_monitors = g_ptr_array_new();
}

void vl_config_free(SystemConfig *cfg)
{
    g_free(cfg->device_help);
    g_ptr_array_free(cfg->trace_opts, TRUE);
    g_ptr_array_free(cfg->chardev_opts, TRUE);
    g_array_free(cfg->monitor_opts, TRUE);
    g_ptr_array_free(cfg->object_opts, TRUE);
    g_ptr_array_free(cfg->mux_monitors, TRUE);
    g_free(cfg->name);
    g_free(cfg->process_name);
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
