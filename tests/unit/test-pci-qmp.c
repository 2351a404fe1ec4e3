/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * query-pci through a real QMP monitor in-process (qmp-test-client.h),
 * and HMP's info pci, on the unit tests' PCI machine: the reply's shape
 * and values as QEMU 7.2 gives them (checked against Debian's QEMU
 * -machine pc), and info pci line for line. No /dev/kvm needed.
 */
#include "hw/pci/pci-testdev.h"
#include "monitor/monitor.h"
#include "pci-test-machine.h"
#include "qmp-test-client.h"

static int64_t int_member(json_object *obj, const char *key)
{
    json_object *v = member(obj, key);

    g_assert_true(json_object_is_type(v, json_type_int));
    return json_object_get_int64(v);
}

static void check_region(json_object *r, int bar, const char *type,
                         int64_t address, int64_t size, int prefetch,
                         int mem64)
{
    g_assert_cmpint(int_member(r, "bar"), ==, bar);
    g_assert_cmpstr(json_object_get_string(member(r, "type")), ==, type);
    g_assert_cmpint(int_member(r, "address"), ==, address);
    g_assert_cmpint(int_member(r, "size"), ==, size);
    if (prefetch < 0) {
        check_keys(r, (const char *const[]){ "bar", "type", "address",
                                             "size", NULL });
        return;
    }
    g_assert_cmpint(json_object_get_boolean(member(r, "prefetch")), ==,
                    prefetch);
    g_assert_cmpint(json_object_get_boolean(member(r, "mem_type_64")), ==,
                    mem64);
    check_keys(r, (const char *const[]){ "bar", "type", "address", "size",
                                         "prefetch", "mem_type_64", NULL });
}

static void test_query_pci(void)
{
    TestPciMachine *m = tpci_new();
    Client *c;
    json_object *resp, *ret, *bus, *devs, *d, *regions;

    tpci_add(m, TYPE_PCI_TESTDEV, "id=t0,addr=2");
    tpci_cfg_write(m, PCI_DEVFN(2, 0), 0x10, 0xc100, 4);
    tpci_cfg_write(m, PCI_DEVFN(2, 0), PCI_COMMAND, PCI_COMMAND_IO, 2);
    tpci_cfg_write(m, PCI_DEVFN(2, 0), PCI_INTERRUPT_LINE, 11, 1);
    c = client_new();
    negotiate(c, false);
    resp = expect_return(c, "{\"execute\":\"query-pci\"}\n", NULL);
    ret = member(resp, "return");

    g_assert_true(json_object_is_type(ret, json_type_array));
    g_assert_cmpuint(json_object_array_length(ret), ==, 1);
    bus = json_object_array_get_idx(ret, 0);
    check_keys(bus, (const char *const[]){ "bus", "devices", NULL });
    g_assert_cmpint(int_member(bus, "bus"), ==, 0);
    devs = member(bus, "devices");
    g_assert_cmpuint(json_object_array_length(devs), ==, 3);

    /* 00.0, the host bridge: what QEMU 7.2's pc reports. */
    d = json_object_array_get_idx(devs, 0);
    check_keys(d, (const char *const[]){ "bus", "slot", "function",
                                         "class_info", "id", "irq_pin",
                                         "qdev_id", "regions", NULL });
    g_assert_cmpint(int_member(d, "slot"), ==, 0);
    g_assert_cmpint(int_member(d, "function"), ==, 0);
    g_assert_cmpint(int_member(d, "irq_pin"), ==, 0);
    g_assert_cmpint(int_member(member(d, "class_info"), "class"), ==, 1536);
    g_assert_cmpstr(json_object_get_string(member(member(d, "class_info"),
                                                  "desc")), ==,
                    "Host bridge");
    check_keys(member(d, "id"), (const char *const[]){
        "device", "vendor", "subsystem", "subsystem-vendor", NULL });
    g_assert_cmpint(int_member(member(d, "id"), "vendor"), ==, 32902);
    g_assert_cmpint(int_member(member(d, "id"), "device"), ==, 4663);
    g_assert_cmpint(int_member(member(d, "id"), "subsystem"), ==, 4352);
    g_assert_cmpint(int_member(member(d, "id"), "subsystem-vendor"), ==,
                    6900);
    g_assert_cmpstr(json_object_get_string(member(d, "qdev_id")), ==, "");
    g_assert_cmpuint(json_object_array_length(member(d, "regions")), ==, 0);

    /* 01.0, the ISA bridge. */
    d = json_object_array_get_idx(devs, 1);
    g_assert_cmpint(int_member(d, "slot"), ==, 1);
    g_assert_cmpint(int_member(member(d, "id"), "device"), ==, 28672);
    g_assert_cmpstr(json_object_get_string(member(member(d, "class_info"),
                                                  "desc")), ==, "ISA bridge");

    /* 02.0, ours: irq (its pin is A), BARs; no desc for class ff00. */
    d = json_object_array_get_idx(devs, 2);
    check_keys(d, (const char *const[]){ "bus", "slot", "function",
                                         "class_info", "id", "irq",
                                         "irq_pin", "qdev_id", "regions",
                                         NULL });
    g_assert_cmpint(int_member(d, "slot"), ==, 2);
    g_assert_cmpint(int_member(d, "irq"), ==, 11);
    g_assert_cmpint(int_member(d, "irq_pin"), ==, 1);
    g_assert_cmpstr(json_object_get_string(member(d, "qdev_id")), ==, "t0");
    check_keys(member(d, "class_info"), (const char *const[]){ "class",
                                                               NULL });
    g_assert_cmpint(int_member(member(d, "class_info"), "class"), ==, 0xff00);
    regions = member(d, "regions");
    g_assert_cmpuint(json_object_array_length(regions), ==, 4);
    check_region(json_object_array_get_idx(regions, 0), 0, "io", 0xc100, 32,
                 -1, -1);
    check_region(json_object_array_get_idx(regions, 1), 1, "memory", -1,
                 4096, false, false);
    check_region(json_object_array_get_idx(regions, 2), 2, "memory", -1,
                 16384, true, true);
    check_region(json_object_array_get_idx(regions, 3), 4, "memory", -1,
                 4096, false, false);
    json_object_put(resp);
    client_free(c);
    tpci_free(m);
}

/* Line for line as QEMU prints it (host and ISA bridge lines compared
 * with Debian's qemu-system-x86_64 7.2 -machine pc). */
static void test_info_pci(void)
{
    TestPciMachine *m = tpci_new();
    g_autofree char *out = NULL;
    static const char want[] =
        "  Bus  0, device   0, function 0:\r\n"
        "    Host bridge: PCI device 8086:1237\r\n"
        "      PCI subsystem 1af4:1100\r\n"
        "      id \"\"\r\n"
        "  Bus  0, device   1, function 0:\r\n"
        "    ISA bridge: PCI device 8086:7000\r\n"
        "      PCI subsystem 1af4:1100\r\n"
        "      id \"\"\r\n"
        "  Bus  0, device   2, function 0:\r\n"
        "    Class 65280: PCI device 1234:7465\r\n"
        "      PCI subsystem 0000:0000\r\n"
        "      IRQ 11, pin A\r\n"
        "      BAR0: I/O at 0xc100 [0xc11f].\r\n"
        "      BAR1: 32 bit memory at 0xfe001000 [0xfe001fff].\r\n"
        "      BAR2: 64 bit prefetchable memory at 0xffffffffffffffff "
        "[0x00003ffe].\r\n"
        "      id \"t0\"\r\n"
        "  Bus  0, device   3, function 0:\r\n"
        "    Class 65280: PCI device 1234:7465\r\n"
        "      PCI subsystem 0000:0000\r\n"
        "      IRQ 0, pin A\r\n"
        "      BAR0: I/O at 0xffffffffffffffff [0x001e].\r\n"
        "      BAR1: 32 bit memory at 0xffffffffffffffff [0x00000ffe].\r\n"
        "      BAR2: 64 bit prefetchable memory at 0xffffffffffffffff "
        "[0x00003ffe].\r\n"
        "      BAR4: 32 bit memory at 0xffffffffffffffff [0x00000ffe].\r\n"
        "      id \"\"\r\n";

    tpci_add(m, TYPE_PCI_TESTDEV, "id=t0,addr=2,vectors=0");
    tpci_add(m, TYPE_PCI_TESTDEV, NULL);
    tpci_cfg_write(m, PCI_DEVFN(2, 0), 0x10, 0xc100, 4);
    tpci_cfg_write(m, PCI_DEVFN(2, 0), 0x14, 0xfe001000, 4);
    tpci_cfg_write(m, PCI_DEVFN(2, 0), PCI_COMMAND,
                   PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
    tpci_cfg_write(m, PCI_DEVFN(2, 0), PCI_INTERRUPT_LINE, 11, 1);
    out = hmp_run_command("info pci", &error_abort);
    g_assert_cmpstr(out, ==, want);
    tpci_free(m);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    g_test_add_func("/pci/qmp/query-pci", test_query_pci);
    g_test_add_func("/pci/hmp/info-pci", test_info_pci);
    return qmp_test_run();
}
