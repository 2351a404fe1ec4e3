/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device registry without a machine: a test device type with every
 * kind of property (ranged uint, bool, string, a custom SLOT.FN address)
 * plugged into test buses; property parsing and its errors; the help
 * texts; isa-debug-exit and isa-serial realized on an ISA bus made of a
 * bare IoBus; device_add/device_del through the QMP marshallers and HMP,
 * both refusing (no real type is hotpluggable) and, for a hotpluggable
 * test type on a hotpluggable bus, succeeding. No /dev/kvm needed.
 */
#include <string.h>
#include "chardev/char.h"
#include "hw/char/serial.h"
#include "hw/core/isa-bus.h"
#include "hw/core/qdev.h"
#include "hw/misc/debug-exit.h"
#include "monitor/monitor.h"
#include "qapi/qapi-commands.h"
#include "system/vl.h"
#include "util/main-loop.h"

/* ---- a test device type ---- */

typedef struct TestDev {
    DeviceState parent_obj;
    uint32_t level;
    bool flag;
    char *label;
    int addr;               /* slot << 3 | fn, -1: none */
    unsigned *realized;     /* counters of the test */
} TestDev;

static unsigned test_realized;
static unsigned test_unrealized;
static unsigned test_resets;

/* addr=SLOT.FN, as PCI spells it: the custom-property hook. */
static bool test_parse_addr(Object *obj, const ObjectProperty *p,
                            const char *text, Error **errp)
{
    unsigned slot, fn = 0;
    char *end;

    slot = strtoul(text, &end, 16);
    if (end == text || (*end && *end != '.') ||
        (*end == '.' && (fn = strtoul(end + 1, &end, 10), *end)) ||
        slot > 31 || fn > 7) {
        error_setg(errp, "Parameter '%s' expects slot[.fn], got '%s'",
                   p->name, text);
        return false;
    }
    ((TestDev *)obj)->addr = slot << 3 | fn;
    return true;
}

static const ObjectProperty test_props[] = {
    OBJ_PROP_RANGE("level", OBJ_PROP_UINT32, TestDev, level,
                   "a level", 1, 10, "5"),
    OBJ_PROP("flag", OBJ_PROP_BOOL, TestDev, flag, "a flag"),
    OBJ_PROP("label", OBJ_PROP_STR, TestDev, label, "a label"),
    { .name = "addr", .type = OBJ_PROP_CUSTOM, .custom_type = "pci-devfn",
      .desc = "slot and function", .parse = test_parse_addr },
    { NULL },
};

static bool test_complete(Object *obj, Error **errp)
{
    TestDev *d = (TestDev *)obj;

    if (d->label && !strcmp(d->label, "bad")) {
        error_setg(errp, "label 'bad' refused");
        return false;
    }
    return true;
}

static bool test_realize(DeviceState *dev, BusState *bus, Error **errp)
{
    TestDev *d = (TestDev *)dev;

    if (d->flag && d->level == 10) {
        error_setg(errp, "level 10 with flag refused at realize");
        return false;
    }
    test_realized++;
    return true;
}

static void test_unrealize(DeviceState *dev)
{
    test_unrealized++;
}

static void test_reset(DeviceState *dev)
{
    test_resets++;
}

static const DeviceClass test_dev_class = {
    .type = {
        .name = "test-dev",
        .parent = TYPE_DEVICE,
        .description = "a device for tests",
        .instance_size = sizeof(TestDev),
        .props = test_props,
        .complete = test_complete,
    },
    .category = DEVICE_CATEGORY_NETWORK,
    .bus_kind = BUS_KIND_PCI,
    .realize = test_realize,
    .unrealize = test_unrealize,
    .reset = test_reset,
};
DEVICE_CLASS_REGISTER(test_dev_class)

/* Inherits props and hooks; can be hotplugged. */
static const DeviceClass test_hot_class = {
    .type = {
        .name = "test-hot",
        .parent = "test-dev",
        .instance_size = sizeof(TestDev),
    },
    .category = DEVICE_CATEGORY_NETWORK,
    .bus_kind = BUS_KIND_PCI,
    .hotpluggable = true,
};
DEVICE_CLASS_REGISTER(test_hot_class)

static const DeviceClass test_internal_class = {
    .type = {
        .name = "test-internal",
        .parent = TYPE_DEVICE,
        .instance_size = sizeof(DeviceState),
    },
    .bus_kind = BUS_KIND_ISA,
    .no_user = true,
};
DEVICE_CLASS_REGISTER(test_internal_class)

/* ---- fixtures ---- */

/* An expected failure: err must be set; cleared. */
static void expect_err(Error **err)
{
    g_assert_nonnull(*err);
    g_clear_pointer(err, error_free);
}

static BusState test_pci_bus = { .name = "pci.0", .kind = BUS_KIND_PCI,
                                 .hotpluggable = true };

typedef struct IsaFixture {
    IoBus pio;
    IsaBus isa;
    unsigned irq_changes;
} IsaFixture;

static void isa_fixture_irq(void *opaque, unsigned n, bool level)
{
    ((IsaFixture *)opaque)->irq_changes++;
}

static void isa_setup(IsaFixture *f, gconstpointer data)
{
    f->pio.name = "pio";
    f->isa = (IsaBus) {
        .bus = { .name = "isa.0", .kind = BUS_KIND_ISA },
        .pio = &f->pio,
        .set_irq = isa_fixture_irq,
        .irq_opaque = f,
    };
    g_assert_true(qdev_bus_register(&f->isa.bus, &error_abort));
}

static void isa_teardown(IsaFixture *f, gconstpointer data)
{
    qdev_bus_unregister(&f->isa.bus);
    qdev_delete_all();
    g_assert_cmpuint(f->pio.nr_regions, ==, 0);
    io_bus_free(&f->pio);
}

/* Creates from -device text, expecting failure with exactly msg. */
static void expect_create_error(const char *arg, const char *msg)
{
    Error *err = NULL;

    g_assert_null(qdev_create_cmdline(arg, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

static const IoRegion *find_region(IoBus *pio, uint64_t base)
{
    for (unsigned i = 0; i < pio->nr_regions; i++) {
        if (pio->regions[i].base == base) {
            return &pio->regions[i];
        }
    }
    return NULL;
}

/* ---- properties ---- */

static void test_props_parse(void)
{
    TestDev *d = (TestDev *)qdev_create_cmdline(
        "test-dev,id=t0,level=7,flag=on,label=a,,b,addr=1f.3", &error_abort);

    g_assert_cmpuint(d->level, ==, 7);
    g_assert_true(d->flag);
    g_assert_cmpstr(d->label, ==, "a,b");
    g_assert_cmpint(d->addr, ==, 0x1f << 3 | 3);
    g_assert_true(qdev_find_id("t0") == &d->parent_obj);
    g_assert_null(d->parent_obj.bus);

    /* Defaults, and a flag given bare. */
    d = (TestDev *)qdev_create_cmdline("test-dev,flag", &error_abort);
    g_assert_cmpuint(d->level, ==, 5);
    g_assert_true(d->flag);
    g_assert_null(d->label);
    qdev_delete_all();
    g_assert_null(qdev_find_id("t0"));
}

static void test_props_errors(void)
{
    expect_create_error("test-dev,colour=red",
                        "Property 'test-dev.colour' not found");
    expect_create_error("test-dev,level=x",
                        "Parameter 'level' expects an integer");
    expect_create_error("test-dev,level=-1",
                        "Parameter 'level' expects an integer");
    expect_create_error("test-dev,level=11",
                        "Property test-dev.level doesn't take value 11 "
                        "(minimum: 1, maximum: 10)");
    expect_create_error("test-dev,level=0",
                        "Property test-dev.level doesn't take value 0 "
                        "(minimum: 1, maximum: 10)");
    expect_create_error("test-dev,level=0x100000000",
                        "Parameter 'level' expects uint32_t");
    expect_create_error("test-dev,flag=maybe",
                        "Parameter 'flag' expects 'on' or 'off'");
    expect_create_error("test-dev,addr=20",
                        "Parameter 'addr' expects slot[.fn], got '20'");
    expect_create_error("test-dev,addr=1.8",
                        "Parameter 'addr' expects slot[.fn], got '1.8'");
    expect_create_error("test-dev,label=bad", "label 'bad' refused");
    expect_create_error("test-dev,level=1,level=2",
                        "Parameter 'level' given more than once");
    expect_create_error("test-dev,id=9x",
                        "Parameter 'id' expects an identifier");
    expect_create_error("no-such-dev",
                        "'no-such-dev' is not a valid device model name");
    expect_create_error("iothread",
                        "'iothread' is not a valid device model name");
    expect_create_error("device", "Parameter 'driver' expects a "
                        "non-abstract device type");
    expect_create_error("test-internal", "Parameter 'driver' expects a "
                        "pluggable device type");
    expect_create_error("id=x", "Parameter 'driver' is missing");
    expect_create_error("{\"driver\": \"test-dev\", \"level\": \"3\"}",
                        "Invalid parameter type for 'level', expected: "
                        "uint32");
    expect_create_error("{\"driver\": \"test-dev\", \"addr\": 3}",
                        "Invalid parameter type for 'addr', expected: "
                        "pci-devfn");
    expect_create_error("{\"driver\": 1}", "Invalid parameter type for "
                        "'driver', expected: string");
    expect_create_error("{nope", "-device: invalid JSON object");

    /* Ids are unique among devices, and a failed create holds none. */
    g_assert_nonnull(qdev_create_cmdline("test-dev,id=dup", &error_abort));
    expect_create_error("test-dev,id=dup", "Duplicate ID 'dup' for device");
    expect_create_error("test-dev,id=gone,level=99",
                        "Property test-dev.level doesn't take value 99 "
                        "(minimum: 1, maximum: 10)");
    g_assert_null(qdev_find_id("gone"));
    g_assert_nonnull(qdev_create_cmdline("test-dev,id=gone", &error_abort));
    qdev_delete_all();
}

static void test_props_json(void)
{
    TestDev *d = (TestDev *)qdev_create_cmdline(
        "{\"driver\": \"test-dev\", \"id\": \"j\", \"level\": 9, "
        "\"flag\": true, \"label\": \"x\", \"addr\": \"2.1\"}",
        &error_abort);

    g_assert_cmpuint(d->level, ==, 9);
    g_assert_true(d->flag);
    g_assert_cmpstr(d->label, ==, "x");
    g_assert_cmpint(d->addr, ==, 2 << 3 | 1);
    qdev_delete_all();
}

/* ---- help ---- */

static void test_help_types(void)
{
    g_autofree char *text = qdev_help_types();
    const char *net, *input, *misc;

    g_test_message("%s", text);
    net = strstr(text, "Network devices:\nname \"test-dev\", bus PCI, "
                 "desc \"a device for tests\"\n");
    input = strstr(text, "Input devices:\nname \"isa-serial\", bus ISA");
    misc = strstr(text, "Misc devices:\nname \"isa-debug-exit\", bus ISA, "
                  "desc \"exit with status (value << 1) | 1 on a port "
                  "write\"\n");
    g_assert_nonnull(net);
    g_assert_nonnull(input);
    g_assert_nonnull(misc);
    /* QEMU's category order, a blank line between sections. */
    g_assert_true(net < input && input < misc);
    g_assert_nonnull(strstr(text, "\n\nInput devices:"));
    g_assert_nonnull(strstr(text, "name \"test-hot\", bus PCI, "
                            "hotpluggable\n"));
    g_assert_null(strstr(text, "test-internal"));
    g_assert_null(strstr(text, "\"device\""));
    g_assert_null(strstr(text, "iothread"));
}

static void test_help_props(void)
{
    g_autofree char *dbg = qdev_help_props("isa-debug-exit", &error_abort);
    g_autofree char *ser = qdev_help_props("isa-serial", &error_abort);
    g_autofree char *t = qdev_help_props("test-hot", &error_abort);
    char *text;
    Error *err = NULL;

    g_assert_true(g_str_has_prefix(dbg, "isa-debug-exit options:\n"));
    g_assert_nonnull(strstr(dbg, "  iobase=<uint32>"));
    g_assert_nonnull(strstr(dbg, "(default: 0x501)\n"));
    g_assert_nonnull(strstr(dbg, "  iosize=<uint32>"));
    g_assert_nonnull(strstr(ser, "  index=<uint32>"));
    g_assert_nonnull(strstr(ser, "(0-3)\n"));
    g_assert_nonnull(strstr(ser, "  irq=<uint32>"));
    g_assert_nonnull(strstr(ser, "  chardev=<string>"));
    /* Inherited properties, ranges with defaults, custom types. */
    g_assert_nonnull(strstr(t, "test-hot options:\n"));
    g_assert_nonnull(strstr(t, "a level (1-10, default: 5)\n"));
    g_assert_nonnull(strstr(t, "  addr=<pci-devfn>"));
    g_assert_nonnull(strstr(t, "  flag=<bool>"));

    g_assert_null(qdev_help_props("iothread", &err));
    expect_err(&err);

    g_assert_true(qdev_help_requested("help", &text, &error_abort));
    g_assert_nonnull(strstr(text, "Misc devices:"));
    g_free(text);
    g_assert_true(qdev_help_requested("?", &text, &error_abort));
    g_assert_nonnull(text);
    g_free(text);
    g_assert_true(qdev_help_requested("isa-debug-exit,help", &text,
                                      &error_abort));
    g_assert_cmpstr(text, ==, dbg);
    g_free(text);
    g_assert_true(qdev_help_requested("isa-debug-exit,iobase=1", &text,
                                      &error_abort));
    g_assert_null(text);
    g_assert_false(qdev_help_requested("nosuch,help", &text, &err));
    g_assert_null(text);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "'nosuch' is not a valid device model name");
    error_free(err);
}

/* ---- realizing on buses ---- */

static void test_realize_debug_exit(IsaFixture *f, gconstpointer data)
{
    DeviceState *a = qdev_create_cmdline("isa-debug-exit", &error_abort);
    DeviceState *b = qdev_create_cmdline("isa-debug-exit,iobase=0xf4,"
                                         "iosize=4,id=dbg", &error_abort);
    const IoRegion *r;
    Error *err = NULL;

    g_assert_cmpuint(f->pio.nr_regions, ==, 0);
    g_assert_true(qdev_realize_pending(&error_abort));
    g_assert_true(a->bus == &f->isa.bus && b->bus == &f->isa.bus);
    r = find_region(&f->pio, DEBUG_EXIT_DEFAULT_IOBASE);
    g_assert_nonnull(r);
    g_assert_cmpuint(r->size, ==, DEBUG_EXIT_DEFAULT_IOSIZE);
    r = find_region(&f->pio, 0xf4);
    g_assert_nonnull(r);
    g_assert_cmpuint(r->size, ==, 4);

    /* Overlap is a realize error naming the -device; nothing stays. */
    qdev_create_cmdline("isa-debug-exit,iobase=0xf6,id=clash", &error_abort);
    g_assert_false(qdev_realize_pending(&err));
    g_test_message("%s", error_get_pretty(err));
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "-device isa-debug-exit (id 'clash'): "));
    g_assert_nonnull(strstr(error_get_pretty(err), "overlaps"));
    error_free(err);
    g_assert_null(qdev_find_id("clash"));
    g_assert_cmpuint(f->pio.nr_regions, ==, 2);

    /* Checked when created, before any bus. */
    expect_create_error("isa-debug-exit,iobase=0x10000",
                        "iobase 0x10000 + iosize 0x2 is outside the I/O "
                        "port space");
    expect_create_error("isa-debug-exit,iobase=0xffff,iosize=2",
                        "iobase 0xffff + iosize 0x2 is outside the I/O "
                        "port space");
    expect_create_error("isa-debug-exit,iosize=0", "iosize must not be 0");

    /* Unrealize gives the ports back. */
    qdev_delete(b);
    g_assert_null(find_region(&f->pio, 0xf4));
    g_assert_cmpuint(f->pio.nr_regions, ==, 1);
}

static void test_realize_serial(IsaFixture *f, gconstpointer data)
{
    Chardev *c0 = chardev_new_legacy("tser0", "null", &error_abort);
    Chardev *c1 = chardev_new_legacy("tser1", "null", &error_abort);
    DeviceState *dev;
    Error *err = NULL;

    /* As the machine does for -serial: index 1 explicitly. */
    dev = qdev_new(TYPE_ISA_SERIAL, &error_abort);
    g_assert_true(qdev_set_prop(dev, "index", "1", &error_abort));
    g_assert_true(qdev_set_prop(dev, "chardev", "tser0", &error_abort));
    g_assert_true(qdev_realize(dev, &f->isa.bus, &error_abort));
    g_assert_nonnull(find_region(&f->pio, 0x2f8));
    g_assert_true(isa_serial_find(1) == ((ISASerialState *)dev)->state);
    g_assert_cmpuint(isa_serial_find(1)->irq.n, ==, 3);
    g_assert_null(isa_serial_find(0));

    /* -device without index takes the next free one: COM1. */
    qdev_create_cmdline("isa-serial,chardev=tser1,id=s", &error_abort);
    g_assert_true(qdev_realize_pending(&error_abort));
    g_assert_nonnull(isa_serial_find(0));
    g_assert_nonnull(find_region(&f->pio, 0x3f8));
    g_assert_cmpuint(isa_serial_find(0)->irq.n, ==, 4);

    /* Explicit port and IRQ, no backend. */
    qdev_create_cmdline("isa-serial,index=3,iobase=0x100,irq=7",
                        &error_abort);
    g_assert_true(qdev_realize_pending(&error_abort));
    g_assert_nonnull(find_region(&f->pio, 0x100));
    g_assert_cmpuint(isa_serial_find(3)->irq.n, ==, 7);

    /* Index taken, chardev unknown, chardev busy. */
    qdev_create_cmdline("isa-serial,index=1", &error_abort);
    g_assert_false(qdev_realize_pending(&err));
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "isa-serial index 1 is already in use"));
    g_clear_pointer(&err, error_free);
    qdev_create_cmdline("isa-serial,chardev=nope", &error_abort);
    g_assert_false(qdev_realize_pending(&err));
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "Property 'isa-serial.chardev' can't find value "
                            "'nope'"));
    g_clear_pointer(&err, error_free);
    qdev_create_cmdline("isa-serial,index=2,chardev=tser0", &error_abort);
    g_assert_false(qdev_realize_pending(&err));
    g_clear_pointer(&err, error_free);
    g_assert_null(find_region(&f->pio, 0x3e8));

    /* The fourth port, then no more. */
    qdev_create_cmdline("isa-serial", &error_abort);
    g_assert_true(qdev_realize_pending(&error_abort));
    g_assert_nonnull(isa_serial_find(2));
    qdev_create_cmdline("isa-serial", &error_abort);
    g_assert_false(qdev_realize_pending(&err));
    g_assert_nonnull(strstr(error_get_pretty(err), "Max. supported number "
                            "of ISA serial ports is 4."));
    g_clear_pointer(&err, error_free);

    /* Reset reaches the UARTs through the registry. */
    isa_serial_find(0)->scr = 0x5a;
    qdev_reset_all();
    g_assert_cmpuint(isa_serial_find(0)->scr, ==, 0);

    /* The bus takes its devices with it; the chardevs are free again. */
    qdev_bus_unregister(&f->isa.bus);
    g_assert_null(isa_serial_find(0));
    g_assert_cmpuint(f->pio.nr_regions, ==, 0);
    g_assert_true(qdev_bus_register(&f->isa.bus, &error_abort));
    dev = qdev_create_cmdline("isa-serial,chardev=tser0", &error_abort);
    g_assert_true(qdev_realize_pending(&error_abort));
    qdev_delete(dev);
    chardev_close(c0);
    chardev_close(c1);
}

static void test_bus_choice(void)
{
    DeviceState *dev;
    Error *err = NULL;

    /* No bus of the kind registered. */
    dev = qdev_create_cmdline("test-dev", &error_abort);
    g_assert_false(qdev_realize(dev, NULL, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "No 'PCI' bus found for device 'test-dev'");
    g_clear_pointer(&err, error_free);

    g_assert_true(qdev_bus_register(&test_pci_bus, &error_abort));
    g_assert_false(qdev_bus_register(&test_pci_bus, &err));
    expect_err(&err);
    dev = qdev_create_cmdline("test-dev,bus=pci.7", &error_abort);
    g_assert_false(qdev_realize(dev, NULL, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Bus 'pci.7' not found");
    g_clear_pointer(&err, error_free);

    test_realized = test_unrealized = test_resets = 0;
    dev = qdev_create_cmdline("test-dev,bus=pci.0,id=p", &error_abort);
    g_assert_true(qdev_realize(dev, NULL, &error_abort));
    g_assert_true(dev->bus == &test_pci_bus);
    g_assert_cmpuint(test_realized, ==, 1);
    qdev_reset_all();
    g_assert_cmpuint(test_resets, ==, 1);

    /* A failing realize leaves nothing behind. */
    dev = qdev_create_cmdline("test-dev,flag=on,level=10,id=f",
                              &error_abort);
    g_assert_false(qdev_realize(dev, NULL, &err));
    expect_err(&err);
    g_assert_null(qdev_find_id("f"));

    qdev_bus_unregister(&test_pci_bus);
    g_assert_cmpuint(test_unrealized, ==, 1);
    g_assert_null(qdev_find_id("p"));
    qdev_delete_all();
}

/* ---- device_add / device_del ---- */

static json_object *qmp_device_add_call(const char *json, Error **errp)
{
    json_object *args = json_tokener_parse(json);
    json_object *ret = NULL;

    g_assert_nonnull(args);
    qmp_marshal_device_add(args, &ret, errp);
    json_object_put(args);
    return ret;
}

static void expect_qmp_add_error(const char *json, const char *msg)
{
    Error *err = NULL;

    g_assert_null(qmp_device_add_call(json, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

static void test_hotplug_refused(IsaFixture *f, gconstpointer data)
{
    Error *err = NULL;
    g_autofree char *out = NULL;

    qdev_create_cmdline("isa-debug-exit,id=dbg", &error_abort);
    g_assert_true(qdev_realize_pending(&error_abort));

    expect_qmp_add_error("{\"driver\": \"isa-debug-exit\", \"id\": \"d2\", "
                         "\"iobase\": 1280}",
                         "Device 'isa-debug-exit' does not support "
                         "hotplugging");
    expect_qmp_add_error("{\"driver\": \"isa-serial\"}",
                         "Device 'isa-serial' does not support hotplugging");
    expect_qmp_add_error("{\"driver\": \"e1000\"}",
                         "'e1000' is not a valid device model name");
    expect_qmp_add_error("{\"driver\": \"isa-debug-exit\", \"foo\": 1}",
                         "Property 'isa-debug-exit.foo' not found");
    expect_qmp_add_error("{\"id\": \"x\"}", "Parameter 'driver' is missing");
    expect_qmp_add_error("{\"driver\": \"isa-debug-exit\", \"id\": \"dbg\"}",
                         "Duplicate ID 'dbg' for device");
    g_assert_null(qdev_find_id("d2"));
    g_assert_cmpuint(f->pio.nr_regions, ==, 1);

    qmp_device_del("dbg", &err);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Device 'isa-debug-exit' does not support hotplugging");
    g_clear_pointer(&err, error_free);
    g_assert_nonnull(qdev_find_id("dbg"));
    qmp_device_del("nope", &err);
    g_assert_cmpint(error_get_class(err), ==, ERROR_CLASS_DEVICE_NOT_FOUND);
    g_assert_cmpstr(error_get_pretty(err), ==, "Device 'nope' not found");
    g_clear_pointer(&err, error_free);

    /* HMP: the same answers, as "Error: ..." lines. */
    out = hmp_run_command("device_add isa-debug-exit,iobase=0x600",
                          &error_abort);
    g_assert_cmpstr(out, ==, "Error: Device 'isa-debug-exit' does not "
                    "support hotplugging\r\n");
    g_free(out);
    out = hmp_run_command("device_del dbg", &error_abort);
    g_assert_cmpstr(out, ==, "Error: Device 'isa-debug-exit' does not "
                    "support hotplugging\r\n");
    g_free(out);
    out = hmp_run_command("device_del nope", &error_abort);
    g_assert_cmpstr(out, ==, "Error: Device 'nope' not found\r\n");
    g_free(out);
    out = hmp_run_command("device_add help", &error_abort);
    g_assert_nonnull(strstr(out, "name \"isa-debug-exit\", bus ISA"));
    g_free(out);
    out = hmp_run_command("device_add isa-serial,help", &error_abort);
    g_assert_true(g_str_has_prefix(out, "isa-serial options:\r\n"));
    g_free(out);
    out = hmp_run_command("device_add nosuch,help", &error_abort);
    g_assert_cmpstr(out, ==, "Error: 'nosuch' is not a valid device model "
                    "name\r\n");
    g_assert_cmpuint(f->pio.nr_regions, ==, 1);
}

static void test_hotplug_allowed(void)
{
    json_object *ret;
    Error *err = NULL;
    g_autofree char *out = NULL;

    test_realized = test_unrealized = 0;
    /* Hotpluggable type, no bus of its kind yet. */
    expect_qmp_add_error("{\"driver\": \"test-hot\"}",
                         "No 'PCI' bus found for device 'test-hot'");
    g_assert_true(qdev_bus_register(&test_pci_bus, &error_abort));
    ret = qmp_device_add_call("{\"driver\": \"test-hot\", \"id\": \"h1\", "
                              "\"level\": 2, \"addr\": \"3\"}",
                              &error_abort);
    g_assert_nonnull(ret);
    json_object_put(ret);
    g_assert_cmpuint(test_realized, ==, 1);
    g_assert_nonnull(qdev_find_id("h1")->bus);
    g_assert_cmpint(((TestDev *)qdev_find_id("h1"))->addr, ==, 3 << 3);
    /* Realize refuses: the device is gone. */
    expect_qmp_add_error("{\"driver\": \"test-hot\", \"id\": \"h2\", "
                         "\"flag\": true, \"level\": 10}",
                         "level 10 with flag refused at realize");
    g_assert_null(qdev_find_id("h2"));
    /* Not hotpluggable, on a bus that is. */
    expect_qmp_add_error("{\"driver\": \"test-dev\"}",
                         "Device 'test-dev' does not support hotplugging");

    qmp_device_del("h1", &error_abort);
    g_assert_cmpuint(test_unrealized, ==, 1);
    g_assert_null(qdev_find_id("h1"));
    qmp_device_del("h1", &err);
    expect_err(&err);

    out = hmp_run_command("device_add test-hot,id=h3", &error_abort);
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    out = hmp_run_command("device_del h3", &error_abort);
    g_assert_cmpstr(out, ==, "");
    g_assert_null(qdev_find_id("h3"));
    g_assert_cmpuint(test_unrealized, ==, 2);

    /* A bus that does not allow hotplug refuses a hotpluggable type. */
    qdev_bus_unregister(&test_pci_bus);
    test_pci_bus.hotpluggable = false;
    g_assert_true(qdev_bus_register(&test_pci_bus, &error_abort));
    expect_qmp_add_error("{\"driver\": \"test-hot\"}",
                         "Bus 'pci.0' does not support hotplugging");
    qdev_bus_unregister(&test_pci_bus);
    test_pci_bus.hotpluggable = true;
    qdev_delete_all();
}

/* ---- the QOM side ---- */

static void test_qom(void)
{
    g_autoptr(ObjectTypeInfoList) devs = qmp_qom_list_types("device", false,
                                                            false,
                                                            &error_abort);
    g_autoptr(ObjectTypeInfoList) uc = qmp_qom_list_types("user-creatable",
                                                          false, false,
                                                          &error_abort);
    bool serial = false, dbg = false;
    Error *err = NULL;

    for (ObjectTypeInfoList *l = devs; l; l = l->next) {
        serial |= !strcmp(l->value->name, "isa-serial");
        dbg |= !strcmp(l->value->name, "isa-debug-exit");
        g_assert_cmpstr(l->value->name, !=, "iothread");
        g_assert_cmpstr(l->value->name, !=, "device");  /* abstract */
    }
    g_assert_true(serial && dbg);
    for (ObjectTypeInfoList *l = uc; l; l = l->next) {
        g_assert_cmpstr(l->value->name, !=, "isa-serial");
    }
    /* Devices are not -object's, nor the other way round. */
    g_assert_null(object_create_cmdline("isa-debug-exit,id=x", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "object type "
                    "'isa-debug-exit' isn't supported by object-add");
    g_clear_pointer(&err, error_free);
    g_assert_nonnull(object_create_cmdline("iothread,id=same",
                                           &error_abort));
    g_assert_nonnull(qdev_create_cmdline("test-dev,id=same", &error_abort));
    g_assert_true(object_delete("same", &error_abort));
    qdev_delete_all();
}

/* ---- -device on the command line ---- */

static void expect_vl_error(const char *arg, const char *msg)
{
    char *argv[] = { (char *)"tandem", (char *)"-device", (char *)arg,
                     NULL };
    SystemConfig cfg;
    Error *err = NULL;

    g_assert_false(vl_parse_args(3, argv, &cfg, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
    vl_config_free(&cfg);
}

static void test_cmdline(void)
{
    char *argv[] = { (char *)"tandem", (char *)"-device",
                     (char *)"isa-debug-exit,id=d", (char *)"-device",
                     (char *)"isa-debug-exit,help", NULL };
    SystemConfig cfg;

    g_assert_true(vl_parse_args(5, argv, &cfg, &error_abort));
    g_assert_nonnull(qdev_find_id("d"));
    g_assert_nonnull(cfg.device_help);
    g_assert_true(g_str_has_prefix(cfg.device_help,
                                   "isa-debug-exit options:\n"));
    vl_config_free(&cfg);
    qdev_delete_all();

    expect_vl_error("e1000", "-device e1000: "
                    "'e1000' is not a valid device model name");
    expect_vl_error("isa-debug-exit,iobase=0x10000",
                    "-device isa-debug-exit,iobase=0x10000: iobase 0x10000 "
                    "+ iosize 0x2 is outside the I/O port space");
    expect_vl_error("isa-debug-exit,iobase=x", "-device "
                    "isa-debug-exit,iobase=x: Parameter 'iobase' expects an "
                    "integer");
    expect_vl_error("isa-serial,foo=1", "-device isa-serial,foo=1: "
                    "Property 'isa-serial.foo' not found");
    g_assert_null(qdev_find_id("d"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    bql_lock();

    g_test_add_func("/qdev/props/parse", test_props_parse);
    g_test_add_func("/qdev/props/errors", test_props_errors);
    g_test_add_func("/qdev/props/json", test_props_json);
    g_test_add_func("/qdev/help/types", test_help_types);
    g_test_add_func("/qdev/help/props", test_help_props);
    g_test_add("/qdev/realize/isa-debug-exit", IsaFixture, NULL, isa_setup,
               test_realize_debug_exit, isa_teardown);
    g_test_add("/qdev/realize/isa-serial", IsaFixture, NULL, isa_setup,
               test_realize_serial, isa_teardown);
    g_test_add_func("/qdev/realize/bus-choice", test_bus_choice);
    g_test_add("/qdev/hotplug/refused", IsaFixture, NULL, isa_setup,
               test_hotplug_refused, isa_teardown);
    g_test_add_func("/qdev/hotplug/allowed", test_hotplug_allowed);
    g_test_add_func("/qdev/qom", test_qom);
    g_test_add_func("/qdev/cmdline", test_cmdline);
    return g_test_run();
}
