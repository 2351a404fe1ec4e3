/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The machine's RAM options without a VM: -machine usb=, dump-guest-core=
 * and memory-backend= (and -cpu) through the command-line parser, the
 * memory-backend-ram object (key=value and JSON, as libvirt writes it),
 * resolving the backend against -m with QEMU's errors, and the core
 * dump policy as the kernel records it (/proc/self/smaps "dd").
 */
#include <stdio.h>
#include <string.h>
#include "qom/object.h"
#include "system/memory-backend.h"
#include "system/vl.h"
#include "target/i386/cpu-models.h"

static bool parse(SystemConfig *cfg, const char *opt, const char *arg,
                  char **msg)
{
    char *argv[] = { "tandem", (char *)opt, (char *)arg, NULL };
    Error *err = NULL;
    bool ok = vl_parse_args(3, argv, cfg, &err);

    if (!ok) {
        *msg = g_strdup(error_get_pretty(err));
        error_free(err);
    }
    return ok;
}

static void test_machine_option(void)
{
    SystemConfig cfg;
    char *argv[] = { "tandem", "-m", "256", "-machine",
                     "pc-i440fx-7.2,usb=off,dump-guest-core=off,"
                     "memory-backend=pc.ram", NULL };
    char *msg = NULL;

    /* libvirt's whole -machine, accepted as one. */
    g_assert_true(vl_parse_args(5, argv, &cfg, &error_abort));
    g_assert_cmpstr(cfg.machine.memory_backend, ==, "pc.ram");
    g_assert_false(cfg.machine.dump_guest_core);
    g_assert_true(cfg.machine.ram_size_given);
    vl_config_free(&cfg);

    /* QEMU's defaults: dump on, RAM of the machine's own. */
    g_assert_true(parse(&cfg, "-machine", "pc", &msg));
    g_assert_true(cfg.machine.dump_guest_core);
    g_assert_null(cfg.machine.memory_backend);
    g_assert_false(cfg.machine.ram_size_given);
    vl_config_free(&cfg);

    g_assert_false(parse(&cfg, "-machine", "pc,usb=on", &msg));
    g_assert_cmpstr(msg, ==, "-machine pc,usb=on: usb=on is not supported: "
                    "the pc machine has no USB controller");
    g_free(msg);
    vl_config_free(&cfg);
    g_assert_false(parse(&cfg, "-machine", "pc,dump-guest-core=maybe", &msg));
    g_assert_nonnull(strstr(msg, "Parameter 'dump-guest-core' expects 'on' "
                            "or 'off'"));
    g_free(msg);
    vl_config_free(&cfg);
}

static void test_cpu_option(void)
{
    SystemConfig cfg;
    char *msg = NULL;

    g_assert_true(parse(&cfg, "-cpu", "Skylake-Client-IBRS,+vmx,kvmclock=on",
                        &msg));
    g_assert_cmpstr(x86_cpu_current_config()->model->name, ==,
                    "Skylake-Client-IBRS");
    vl_config_free(&cfg);
    g_assert_true(parse(&cfg, "-cpu", "help", &msg));
    g_assert_nonnull(strstr(cfg.device_help, "x86 EPYC-Rome "));
    vl_config_free(&cfg);
    g_assert_false(parse(&cfg, "-cpu", "Pentium9", &msg));
    g_assert_cmpstr(msg, ==, "-cpu Pentium9: unable to find CPU model "
                    "'Pentium9'");
    g_free(msg);
    vl_config_free(&cfg);
    /* A failed -cpu leaves the earlier one in place. */
    g_assert_cmpstr(x86_cpu_current_config()->model->name, ==,
                    "Skylake-Client-IBRS");
}

static char *create_error(const char *arg)
{
    Error *err = NULL;
    char *msg;

    g_assert_null(object_create_cmdline(arg, &err));
    msg = g_strdup(error_get_pretty(err));
    error_free(err);
    return msg;
}

static void test_backend_object(void)
{
    static const struct { const char *arg, *msg; } bad[] = {
        { "memory-backend-ram,id=m0,size=0",
          "can't create backend with size 0" },
        { "memory-backend-ram,id=m0,size=1000",
          "memory backend 'm0': size 1000 is not a multiple of 4 KiB" },
        { "memory-backend-ram,id=m0,size=64M,merge=on",
          "memory backend 'm0': merge=on is not supported: Tandem's guest "
          "RAM is a shared memfd, which KSM does not merge" },
        { "memory-backend-ram,id=m0,size=64M,host-nodes=0",
          "Property 'memory-backend-ram.host-nodes' not found" },
        { "memory-backend-ram,id=m0,size=64M,dump=maybe",
          "Parameter 'dump' expects 'on' or 'off'" },
        { "memory-backend,id=m0,size=64M", NULL },
    };
    Error *err = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *msg = create_error(bad[i].arg);

        if (bad[i].msg) {
            g_assert_cmpstr(msg, ==, bad[i].msg);
        }
    }
    /* Both spellings libvirt and users write. */
    g_assert_nonnull(object_create_cmdline(
        "{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\","
        "\"size\":67108864,\"dump\":false,\"merge\":false,\"share\":true}",
        &error_abort));
    g_assert_nonnull(object_create_cmdline(
        "memory-backend-ram,id=mem1,size=32M,prealloc=on", &error_abort));
    g_assert_true(object_delete("mem1", &err));
    g_assert_true(object_delete("pc.ram", &err));
}

static char *resolve_error(const char *id, const char *default_id,
                           uint64_t size, bool given)
{
    MachineRamSpec spec;
    Error *err = NULL;
    char *msg;

    g_assert_false(memory_backend_machine_ram(id, default_id, size, given,
                                              true, &spec, &err));
    msg = g_strdup(error_get_pretty(err));
    error_free(err);
    return msg;
}

static void test_machine_ram(void)
{
    MachineRamSpec spec;
    Error *err = NULL;
    char *msg;

    /* No backend: the machine's own RAM, named by default. */
    g_assert_true(memory_backend_machine_ram(NULL, "pc.ram", 128 << 20, false,
                                             false, &spec, &error_abort));
    g_assert_cmpstr(spec.name, ==, "pc.ram");
    g_assert_cmpuint(spec.size, ==, 128 << 20);
    g_assert_false(spec.dump);

    g_assert_nonnull(object_create_cmdline(
        "memory-backend-ram,id=pc.ram,size=64M", &error_abort));
    /* The default's name is taken by an object nobody asked to use. */
    msg = resolve_error(NULL, "pc.ram", 128 << 20, false);
    g_assert_cmpstr(msg, ==, "object name 'pc.ram' is reserved for the "
                    "default RAM backend, it can't be used for any other "
                    "purposes. Change the object's 'id' to something else");
    g_free(msg);
    msg = resolve_error("nosuch", "pc.ram", 128 << 20, false);
    g_assert_cmpstr(msg, ==, "Memory backend 'nosuch' not found");
    g_free(msg);
    msg = resolve_error("pc.ram", "pc.ram", 128 << 20, true);
    g_assert_cmpstr(msg, ==, "Size specified by -m option must match size "
                    "of explicitly specified 'memory-backend' property");
    g_free(msg);

    /* Without -m the backend's size is the RAM size; the machine's
     * dump-guest-core applies when the backend says nothing. */
    g_assert_true(memory_backend_machine_ram("pc.ram", "pc.ram", 128 << 20,
                                             false, false, &spec,
                                             &error_abort));
    g_assert_cmpuint(spec.size, ==, 64 << 20);
    g_assert_cmpstr(spec.name, ==, "pc.ram");
    g_assert_false(spec.dump);
    g_assert_false(spec.prealloc);
    msg = resolve_error("pc.ram", "pc.ram", 64 << 20, true);
    g_assert_cmpstr(msg, ==, "memory backend pc.ram can't be used multiple "
                    "times.");
    g_free(msg);
    g_assert_false(object_delete("pc.ram", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "object 'pc.ram' is in use, can not be deleted");
    error_free(err);
    err = NULL;

    /* The backend's own dump wins over the machine's; -m equal is fine. */
    g_assert_nonnull(object_create_cmdline(
        "memory-backend-ram,id=ram2,size=32M,dump=on,prealloc=on",
        &error_abort));
    g_assert_true(memory_backend_machine_ram("ram2", "pc.ram", 32 << 20, true,
                                             false, &spec, &error_abort));
    g_assert_true(spec.dump);
    g_assert_true(spec.prealloc);
    g_assert_cmpstr(spec.name, ==, "ram2");
}

/* Whether the kernel marked [addr, ...) "dd" (do not dump). */
static bool smaps_dontdump(const void *addr)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    bool in = false;

    g_assert_true(g_file_get_contents("/proc/self/smaps", &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        unsigned long lo, hi;

        if (sscanf(*l, "%lx-%lx ", &lo, &hi) == 2) {
            in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
        } else if (in && g_str_has_prefix(*l, "VmFlags:")) {
            return strstr(*l, " dd") != NULL;
        }
    }
    g_assert_not_reached();
}

static void test_dump_policy(void)
{
    GuestMemory mem = { 0 };
    MachineRamSpec spec = { .size = 1 << 20 };
    RamBlock *b = guest_memory_add_ram(&mem, "pc.ram", 0, 1 << 20,
                                       &error_abort);

    spec.dump = true;
    g_assert_true(memory_backend_apply(&spec, b, &error_abort));
    g_assert_false(smaps_dontdump(b->host));
    spec.dump = false;
    spec.prealloc = true;
    g_assert_true(memory_backend_apply(&spec, b, &error_abort));
    g_assert_true(smaps_dontdump(b->host));
    guest_memory_free(&mem);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory-backend/machine-option", test_machine_option);
    g_test_add_func("/memory-backend/cpu-option", test_cpu_option);
    g_test_add_func("/memory-backend/object", test_backend_object);
    g_test_add_func("/memory-backend/machine-ram", test_machine_ram);
    g_test_add_func("/memory-backend/dump-policy", test_dump_policy);
    return g_test_run();
}
