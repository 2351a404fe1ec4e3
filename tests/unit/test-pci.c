/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PCI core without KVM (tests/unit/pci-test-machine.h): config
 * mechanism #1 through the port handlers, BAR sizing, decode on and off
 * as regions on the port and MMIO buses, the capability list, INTx
 * through the PIIX3's routing, addr= and its errors, DMA, and the
 * BIOS-like set-up. MSI-X and migration are in test-pci-msix.c.
 */
#include <string.h>
#include "hw/pci/msix.h"
#include "hw/pci/pci-firmware.h"
#include "hw/pci/pci-testdev.h"
#include "pci-test-machine.h"
#include "util/bitmap.h"

#define DEVFN_TEST PCI_DEVFN(2, 0)
#define TEST_IO     0xc100
#define TEST_MMIO   0xfe001000ULL
#define TEST_RAM64  0x120000000ULL

static void set_command(TestPciMachine *m, unsigned devfn, uint16_t cmd)
{
    tpci_cfg_write(m, devfn, PCI_COMMAND, cmd, 2);
}

static void program_bars(TestPciMachine *m, unsigned devfn)
{
    tpci_cfg_write(m, devfn, PCI_BASE_ADDRESS_0, TEST_IO, 4);
    tpci_cfg_write(m, devfn, PCI_BASE_ADDRESS_0 + 4, TEST_MMIO, 4);
    tpci_cfg_write(m, devfn, PCI_BASE_ADDRESS_0 + 8, (uint32_t)TEST_RAM64, 4);
    tpci_cfg_write(m, devfn, PCI_BASE_ADDRESS_0 + 12, TEST_RAM64 >> 32, 4);
}

/* ---- config mechanism #1 ---- */

static void test_config_identity(void)
{
    TestPciMachine *m = tpci_new();

    tpci_add(m, TYPE_PCI_TESTDEV, "addr=2");
    g_assert_cmphex(tpci_cfg_read(m, PCI_DEVFN(0, 0), 0, 4), ==, 0x12378086);
    g_assert_cmphex(tpci_cfg_read(m, PCI_DEVFN(1, 0), 0, 4), ==, 0x70008086);
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, 0, 4), ==, 0x74651234);
    /* Class codes and header types. */
    g_assert_cmphex(tpci_cfg_read(m, PCI_DEVFN(0, 0), PCI_CLASS_DEVICE, 2),
                    ==, 0x0600);
    g_assert_cmphex(tpci_cfg_read(m, PCI_DEVFN(1, 0), PCI_CLASS_DEVICE, 2),
                    ==, 0x0601);
    g_assert_cmphex(tpci_cfg_read(m, PCI_DEVFN(1, 0), PCI_HEADER_TYPE, 1),
                    ==, 0x80);
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, PCI_HEADER_TYPE, 1), ==, 0);
    g_assert_cmphex(tpci_cfg_read(m, PCI_DEVFN(0, 0), PCI_REVISION_ID, 1),
                    ==, 0x02);
    g_assert_cmphex(tpci_cfg_read(m, PCI_DEVFN(0, 0),
                                  PCI_SUBSYSTEM_VENDOR_ID, 4),
                    ==, 0x11001af4);
    tpci_free(m);
}

static void test_config_latch(void)
{
    TestPciMachine *m = tpci_new();

    tpci_pio_write(m, PCI_HOST_CONFIG_ADDR, 0xffffffff, 4);
    /* Reserved bits 30-24 and 1-0 read as 0. */
    g_assert_cmphex(tpci_pio_read(m, PCI_HOST_CONFIG_ADDR, 4), ==,
                    0x80fffffc);
    /* Narrower accesses do not reach the latch. */
    tpci_pio_write(m, PCI_HOST_CONFIG_ADDR, 0, 1);
    tpci_pio_write(m, PCI_HOST_CONFIG_ADDR + 2, 0, 2);
    g_assert_cmphex(tpci_pio_read(m, PCI_HOST_CONFIG_ADDR, 4), ==,
                    0x80fffffc);
    g_assert_cmphex(tpci_pio_read(m, PCI_HOST_CONFIG_ADDR, 1), ==, 0xff);
    g_assert_cmphex(tpci_pio_read(m, PCI_HOST_CONFIG_ADDR + 1, 1), ==, 0xff);
    tpci_free(m);
}

/* Every byte, word and dword of the test device's config space through
 * the data port matches the device's own view; misaligned ones read all
 * ones. */
static void test_config_every_offset(void)
{
    TestPciMachine *m = tpci_new();
    PCIDevice *d = tpci_add(m, TYPE_PCI_TESTDEV, "addr=2");
    unsigned checked = 0;

    /* Something other than zeros past the header. */
    for (unsigned i = 0x40; i < PCI_CONFIG_SPACE_SIZE; i++) {
        d->config[i] ^= i * 7;
    }
    for (unsigned reg = 0; reg < PCI_CONFIG_SPACE_SIZE; reg += 4) {
        for (unsigned off = 0; off < 4; off++) {
            static const unsigned lens[] = { 1, 2, 4 };

            for (unsigned l = 0; l < G_N_ELEMENTS(lens); l++) {
                unsigned len = lens[l];
                uint32_t want, got;

                got = tpci_cfg_read(m, DEVFN_TEST, reg + off, len);
                if ((off & (len - 1)) || off + len > 4) {
                    want = len == 4 ? 0xffffffff : (1u << (8 * len)) - 1;
                } else {
                    want = 0;
                    for (unsigned i = 0; i < len; i++) {
                        want |= (uint32_t)d->config[reg + off + i] << (8 * i);
                    }
                }
                if (got != want) {
                    g_error("reg 0x%02x + %u len %u: got 0x%x, want 0x%x",
                            reg, off, len, got, want);
                }
                checked++;
            }
        }
    }
    g_assert_cmpuint(checked, ==, 64 * 4 * 3);
    tpci_free(m);
}

static void test_config_disabled_and_absent(void)
{
    TestPciMachine *m = tpci_new();
    PCIDevice *d = tpci_add(m, TYPE_PCI_TESTDEV, "addr=2");

    /* Enable bit clear: the data port does not reach config space. */
    tpci_pio_write(m, PCI_HOST_CONFIG_ADDR, DEVFN_TEST << 8, 4);
    g_assert_cmphex(tpci_pio_read(m, PCI_HOST_CONFIG_DATA, 4), ==,
                    0xffffffff);
    g_assert_cmphex(tpci_pio_read(m, PCI_HOST_CONFIG_DATA + 2, 2), ==, 0xffff);
    g_assert_cmphex(tpci_pio_read(m, PCI_HOST_CONFIG_DATA + 3, 1), ==, 0xff);
    tpci_pio_write(m, PCI_HOST_CONFIG_ADDR, DEVFN_TEST << 8 | PCI_COMMAND, 4);
    tpci_pio_write(m, PCI_HOST_CONFIG_DATA, PCI_COMMAND_IO, 2);
    g_assert_cmphex(pci_config_read(d, PCI_COMMAND, 2), ==, 0);

    /* No function there: all ones, for every width. */
    g_assert_cmphex(tpci_cfg_read(m, PCI_DEVFN(3, 0), 0, 4), ==, 0xffffffff);
    g_assert_cmphex(tpci_cfg_read(m, PCI_DEVFN(2, 1), 0, 2), ==, 0xffff);
    g_assert_cmphex(tpci_cfg_read(m, PCI_DEVFN(31, 7), 0x3d, 1), ==, 0xff);
    /* Another bus. */
    tpci_pio_write(m, PCI_HOST_CONFIG_ADDR, PCI_HOST_ENABLE | 1 << 16, 4);
    g_assert_cmphex(tpci_pio_read(m, PCI_HOST_CONFIG_DATA, 4), ==,
                    0xffffffff);
    tpci_free(m);
}

static void test_config_write_rules(void)
{
    TestPciMachine *m = tpci_new();
    PCIDevice *d = tpci_add(m, TYPE_PCI_TESTDEV, "addr=2");

    /* Read-only identity. */
    tpci_cfg_write(m, DEVFN_TEST, PCI_VENDOR_ID, 0, 4);
    tpci_cfg_write(m, DEVFN_TEST, PCI_CLASS_DEVICE, 0, 2);
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, 0, 4), ==, 0x74651234);
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, PCI_CLASS_DEVICE, 2), ==,
                    PCI_CLASS_OTHERS);
    /* A byte at 0xCFD reaches the command register's high byte; bits
     * Tandem does not implement stay 0. */
    tpci_cfg_write(m, DEVFN_TEST, PCI_COMMAND + 1, 0xff, 1);
    g_assert_cmphex(pci_config_read(d, PCI_COMMAND, 2), ==,
                    PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_SERR);
    /* Status: errors are write-1-to-clear, the rest read-only. */
    pci_set_word(d->config + PCI_STATUS,
                 pci_get_word(d->config + PCI_STATUS) |
                 PCI_STATUS_DETECTED_PARITY | PCI_STATUS_REC_MASTER_ABORT);
    tpci_cfg_write(m, DEVFN_TEST, PCI_STATUS, PCI_STATUS_DETECTED_PARITY |
                   PCI_STATUS_CAP_LIST, 2);
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, PCI_STATUS, 2), ==,
                    PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_CAP_LIST);
    /* Scratch registers software may use. */
    tpci_cfg_write(m, DEVFN_TEST, PCI_INTERRUPT_LINE, 0x0b, 1);
    tpci_cfg_write(m, DEVFN_TEST, PCI_INTERRUPT_PIN, 0x04, 1);
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, PCI_INTERRUPT_LINE, 2), ==,
                    0x010b);
    tpci_free(m);
}

/* ---- BARs ---- */

static uint32_t size_bar(TestPciMachine *m, unsigned devfn, unsigned reg)
{
    uint32_t old = tpci_cfg_read(m, devfn, reg, 4), v;

    tpci_cfg_write(m, devfn, reg, 0xffffffff, 4);
    v = tpci_cfg_read(m, devfn, reg, 4);
    tpci_cfg_write(m, devfn, reg, old, 4);
    return v;
}

static void test_bar_sizing(void)
{
    TestPciMachine *m = tpci_new();
    unsigned plain = PCI_DEVFN(3, 0);

    tpci_add(m, TYPE_PCI_TESTDEV, "addr=2");
    tpci_add(m, TYPE_PCI_TESTDEV, "addr=3,vectors=0");
    /* I/O, 32 bytes: ~31 with bit 0 set. */
    g_assert_cmphex(size_bar(m, DEVFN_TEST, 0x10), ==, 0xffffffe1);
    /* 32-bit memory, 4 KiB. */
    g_assert_cmphex(size_bar(m, DEVFN_TEST, 0x14), ==, 0xfffff000);
    /* 64-bit prefetchable, 16 KiB: type bits 10b, prefetch bit, and the
     * upper dword all ones. */
    g_assert_cmphex(size_bar(m, DEVFN_TEST, 0x18), ==, 0xffffc00c);
    g_assert_cmphex(size_bar(m, DEVFN_TEST, 0x1c), ==, 0xffffffff);
    /* MSI-X's own BAR: 4 KiB. */
    g_assert_cmphex(size_bar(m, DEVFN_TEST, 0x20), ==, 0xfffff000);
    /* Not implemented: BAR5 and the expansion ROM. */
    g_assert_cmphex(size_bar(m, DEVFN_TEST, 0x24), ==, 0);
    g_assert_cmphex(size_bar(m, DEVFN_TEST, PCI_ROM_ADDRESS), ==, 0);
    g_assert_cmphex(size_bar(m, plain, 0x20), ==, 0);
    /* After sizing the flag bits are all that is left of a 0 address. */
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, 0x10, 4), ==, 1);
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, 0x18, 4), ==, 0xc);
    /* Low bits of an address are the size's: dropped. */
    tpci_cfg_write(m, DEVFN_TEST, 0x14, 0xfe0012ff, 4);
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, 0x14, 4), ==, 0xfe001000);
    tpci_free(m);
}

static void test_bar_decode(void)
{
    TestPciMachine *m = tpci_new();
    PCIDevice *d = tpci_add(m, TYPE_PCI_TESTDEV, "addr=2");

    program_bars(m, DEVFN_TEST);
    /* Programmed but not decoding. */
    g_assert_false(tpci_pio_mapped(m, TEST_IO));
    g_assert_false(tpci_mmio_mapped(m, TEST_MMIO));
    g_assert_false(tpci_mmio_mapped(m, TEST_RAM64));
    g_assert_cmphex(tpci_pio_read(m, TEST_IO, 4), ==, 0xffffffff);

    /* I/O decode only. */
    set_command(m, DEVFN_TEST, PCI_COMMAND_IO);
    g_assert_true(tpci_pio_mapped(m, TEST_IO));
    g_assert_false(tpci_mmio_mapped(m, TEST_MMIO));
    tpci_pio_write(m, TEST_IO + PCI_TESTDEV_REG_SCRATCH, 0x1234abcd, 4);
    g_assert_cmphex(tpci_pio_read(m, TEST_IO, 4), ==, 0x1234abcd);

    /* Memory decode too: the same registers through BAR1, and the
     * 64-bit BAR above 4 GiB. */
    set_command(m, DEVFN_TEST, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    g_assert_cmphex(tpci_mmio_read(m, TEST_MMIO, 4), ==, 0x1234abcd);
    g_assert_cmphex(d->bars[2].addr, ==, TEST_RAM64);
    tpci_mmio_write(m, TEST_RAM64 + 0x100, 0x1122334455667788ULL, 8);
    g_assert_cmphex(tpci_mmio_read(m, TEST_RAM64 + 0x100, 8), ==,
                    0x1122334455667788ULL);

    /* Moving a decoding BAR moves its region. */
    tpci_cfg_write(m, DEVFN_TEST, 0x14, TEST_MMIO + 0x1000, 4);
    g_assert_false(tpci_mmio_mapped(m, TEST_MMIO));
    g_assert_cmphex(tpci_mmio_read(m, TEST_MMIO + 0x1000, 4), ==, 0x1234abcd);

    /* Sizing while decoding: the BAR leaves (it never lands at the top
     * of the space) and comes back. */
    tpci_cfg_write(m, DEVFN_TEST, 0x14, 0xffffffff, 4);
    g_assert_false(tpci_mmio_mapped(m, TEST_MMIO + 0x1000));
    g_assert_false(tpci_mmio_mapped(m, 0xfffff000));
    g_assert_cmphex(d->bars[1].addr, ==, PCI_BAR_UNMAPPED);
    tpci_cfg_write(m, DEVFN_TEST, 0x14, TEST_MMIO + 0x1000, 4);
    g_assert_true(tpci_mmio_mapped(m, TEST_MMIO + 0x1000));
    tpci_cfg_write(m, DEVFN_TEST, 0x10, 0xffffffff, 4);
    g_assert_false(tpci_pio_mapped(m, TEST_IO));
    tpci_cfg_write(m, DEVFN_TEST, 0x10, TEST_IO, 4);

    /* Memory decode off: every memory BAR goes, I/O stays. */
    set_command(m, DEVFN_TEST, PCI_COMMAND_IO);
    g_assert_false(tpci_mmio_mapped(m, TEST_MMIO + 0x1000));
    g_assert_false(tpci_mmio_mapped(m, TEST_RAM64));
    g_assert_true(tpci_pio_mapped(m, TEST_IO));
    set_command(m, DEVFN_TEST, 0);
    g_assert_false(tpci_pio_mapped(m, TEST_IO));

    /* Address 0 means unassigned: no decode even when enabled. */
    tpci_cfg_write(m, DEVFN_TEST, 0x10, 0, 4);
    set_command(m, DEVFN_TEST, PCI_COMMAND_IO);
    g_assert_cmphex(d->bars[0].addr, ==, PCI_BAR_UNMAPPED);
    g_assert_false(tpci_pio_mapped(m, 0));
    tpci_free(m);
}

/* Two BARs programmed at one address: the second stays off until the
 * first moves away; a BAR over the config ports never decodes. */
static void test_bar_clash(void)
{
    TestPciMachine *m = tpci_new();
    PCIDevice *a = tpci_add(m, TYPE_PCI_TESTDEV, "addr=2");
    PCIDevice *b = tpci_add(m, TYPE_PCI_TESTDEV, "addr=3");
    unsigned fb = PCI_DEVFN(3, 0);

    tpci_cfg_write(m, DEVFN_TEST, 0x14, TEST_MMIO, 4);
    set_command(m, DEVFN_TEST, PCI_COMMAND_MEMORY);
    tpci_cfg_write(m, fb, 0x14, TEST_MMIO, 4);
    set_command(m, fb, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
    g_assert_cmphex(a->bars[1].addr, ==, TEST_MMIO);
    g_assert_cmphex(b->bars[1].addr, ==, PCI_BAR_UNMAPPED);
    tpci_mmio_write(m, TEST_MMIO, 0xaaaa, 4);
    g_assert_cmphex(((PciTestDevState *)a)->scratch, ==, 0xaaaa);

    tpci_cfg_write(m, DEVFN_TEST, 0x14, TEST_MMIO + 0x10000, 4);
    g_assert_cmphex(b->bars[1].addr, ==, TEST_MMIO);
    tpci_mmio_write(m, TEST_MMIO, 0xbbbb, 4);
    g_assert_cmphex(((PciTestDevState *)b)->scratch, ==, 0xbbbb);

    /* 0xce0-0xcff would cover 0xcf8-0xcff. */
    tpci_cfg_write(m, fb, 0x10, 0xce0, 4);
    g_assert_cmphex(b->bars[0].addr, ==, PCI_BAR_UNMAPPED);
    g_assert_cmphex(tpci_cfg_read(m, fb, 0, 4), ==, 0x74651234);
    tpci_free(m);
}

/* ---- capabilities ---- */

static char *caps_errors[3];
static unsigned caps_route_changes;

static void caps_intx_route_changed(PCIDevice *dev)
{
    caps_route_changes++;
}

static bool caps_realize(PCIDevice *dev, Error **errp)
{
    Error *err = NULL;

    pci_set_interrupt_pin(dev, 2);
    if (!pci_add_capability(dev, PCI_CAP_ID_VNDR, 0, 16, errp) ||
        !msix_init(dev, 4, 0, 0, 0x800, errp) ||
        !pci_add_capability(dev, PCI_CAP_ID_VNDR, 0x80, 20, errp)) {
        return false;
    }
    /* Each of these must fail and leave the list as it is. */
    g_assert_cmpuint(pci_add_capability(dev, 0x05, 0x90, 8, &err), ==, 0);
    caps_errors[0] = g_strdup(error_get_pretty(err));
    g_clear_pointer(&err, error_free);
    g_assert_cmpuint(pci_add_capability(dev, 0x05, 0x30, 8, &err), ==, 0);
    caps_errors[1] = g_strdup(error_get_pretty(err));
    g_clear_pointer(&err, error_free);
    g_assert_cmpuint(pci_add_capability(dev, 0x05, 0, 200, &err), ==, 0);
    caps_errors[2] = g_strdup(error_get_pretty(err));
    error_free(err);
    return true;
}

static const PCIDeviceClass caps_class = {
    .parent_class = {
        .type = {
            .name = "test-pci-caps",
            .parent = TYPE_PCI_DEVICE,
            .instance_size = sizeof(PCIDevice),
        },
        .bus_kind = BUS_KIND_PCI,
    },
    .vendor_id = 0x1234,
    .device_id = 0x0001,
    .realize = caps_realize,
    .intx_route_changed = caps_intx_route_changed,
};
PCI_DEVICE_CLASS_REGISTER(caps_class)

static void test_capability_list(void)
{
    TestPciMachine *m = tpci_new();
    PCIDevice *d = tpci_add(m, "test-pci-caps", "addr=2");
    static const uint8_t want[][2] = {
        { PCI_CAP_ID_VNDR, 0x40 }, { PCI_CAP_ID_MSIX, 0x50 },
        { PCI_CAP_ID_VNDR, 0x80 },
    };
    unsigned pos, n = 0;

    /* The walk a guest does, through the ports. */
    g_assert_true(tpci_cfg_read(m, DEVFN_TEST, PCI_STATUS, 2) &
                  PCI_STATUS_CAP_LIST);
    pos = tpci_cfg_read(m, DEVFN_TEST, PCI_CAPABILITY_LIST, 1);
    while (pos) {
        g_assert_cmpuint(n, <, G_N_ELEMENTS(want));
        g_assert_cmphex(pos, ==, want[n][1]);
        g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, pos, 1), ==, want[n][0]);
        pos = tpci_cfg_read(m, DEVFN_TEST, pos + 1, 1);
        n++;
    }
    g_assert_cmpuint(n, ==, 3);
    g_assert_cmphex(pci_find_capability(d, PCI_CAP_ID_MSIX), ==, 0x50);
    g_assert_cmphex(pci_find_capability(d, PCI_CAP_ID_VNDR), ==, 0x40);
    g_assert_cmphex(pci_find_capability(d, PCI_CAP_ID_MSI), ==, 0);
    /* MSI-X: table size N-1, table and PBA offsets with the BIR. */
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, 0x52, 2), ==, 3);
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, 0x54, 4), ==, 0);
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, 0x58, 4), ==, 0x800);
    /* The list is read-only for the guest. */
    tpci_cfg_write(m, DEVFN_TEST, 0x40, 0xffffffff, 4);
    tpci_cfg_write(m, DEVFN_TEST, PCI_CAPABILITY_LIST, 0, 1);
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, 0x40, 2), ==, 0x5009);
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, PCI_CAPABILITY_LIST, 1), ==,
                    0x40);

    g_assert_nonnull(strstr(caps_errors[0], "overlaps another at 0x90"));
    g_assert_nonnull(strstr(caps_errors[1], "outside the device part"));
    g_assert_nonnull(strstr(caps_errors[2], "no room for a 200-byte"));

    /* A list that loops (a corrupted one) still ends. */
    d->config[0x80 + PCI_CAP_LIST_NEXT] = 0x40;
    g_assert_cmphex(pci_find_capability(d, PCI_CAP_ID_MSI), ==, 0);
    d->config[0x80 + PCI_CAP_LIST_NEXT] = 0;
    for (unsigned i = 0; i < G_N_ELEMENTS(caps_errors); i++) {
        g_clear_pointer(&caps_errors[i], g_free);
    }
    tpci_free(m);
}

/* ---- INTx ---- */

static void test_intx_routing(void)
{
    TestPciMachine *m = tpci_new();
    PCIDevice *s2 = tpci_add(m, TYPE_PCI_TESTDEV, "addr=2");
    PCIDevice *s6 = tpci_add(m, TYPE_PCI_TESTDEV, "addr=6");
    PCIDevice *s4 = tpci_add(m, TYPE_PCI_TESTDEV, "addr=4");
    unsigned piix3 = PCI_DEVFN(1, 0);

    /* INTA# of slots 2 and 6 -> PIRQB, of slot 4 -> PIRQD. */
    g_assert_cmpint(pci_intx_pirq(s2), ==, 1);
    g_assert_cmpint(pci_intx_pirq(s6), ==, 1);
    g_assert_cmpint(pci_intx_pirq(s4), ==, 3);
    /* The swizzle itself: (slot - 1 + pin) mod 4. */
    g_assert_cmpuint(pci_swizzle_map_irq(2, 1), ==, 2);
    g_assert_cmpuint(pci_swizzle_map_irq(3, 3), ==, 1);
    g_assert_cmpuint(pci_swizzle_map_irq(1, 0), ==, 0);
    g_assert_cmpuint(pci_swizzle_map_irq(0, 0), ==, 3);
    /* The power-on routes: A, B -> 10, C, D -> 11. */
    g_assert_cmphex(tpci_cfg_read(m, piix3, PIIX3_PIRQRC, 4), ==,
                    0x0b0b0a0a);
    g_assert_cmphex(tpci_cfg_read(m, DEVFN_TEST, PCI_INTERRUPT_PIN, 1), ==, 1);

    pci_set_irq(s2, true);
    g_assert_true(m->irq[10]);
    g_assert_true(tpci_cfg_read(m, DEVFN_TEST, PCI_STATUS, 2) &
                  PCI_STATUS_INTERRUPT);
    /* INTx disable drops the line, not the status bit. */
    set_command(m, DEVFN_TEST, PCI_COMMAND_INTX_DISABLE);
    g_assert_false(m->irq[10]);
    g_assert_true(tpci_cfg_read(m, DEVFN_TEST, PCI_STATUS, 2) &
                  PCI_STATUS_INTERRUPT);
    set_command(m, DEVFN_TEST, 0);
    g_assert_true(m->irq[10]);

    /* Shared: the line stays up while either asserts. */
    pci_set_irq(s6, true);
    pci_set_irq(s2, false);
    g_assert_true(m->irq[10]);
    g_assert_false(tpci_cfg_read(m, DEVFN_TEST, PCI_STATUS, 2) &
                   PCI_STATUS_INTERRUPT);
    pci_set_irq(s6, false);
    g_assert_false(m->irq[10]);
    pci_set_irq(s4, true);
    g_assert_true(m->irq[11]);
    g_assert_false(m->irq[10]);
    pci_set_irq(s4, false);
    g_assert_false(m->irq[11]);

    /* The guest re-routes PIRQB while the line is up: it moves. */
    pci_set_irq(s2, true);
    tpci_cfg_write(m, piix3, PIIX3_PIRQRC + 1, 5, 1);
    g_assert_false(m->irq[10]);
    g_assert_true(m->irq[5]);
    tpci_cfg_write(m, piix3, PIIX3_PIRQRC + 1, 9, 1);
    g_assert_false(m->irq[5]);
    g_assert_true(m->irq[9]);
    /* Routing off (bit 7), and a target the PIIX3 does not allow. */
    tpci_cfg_write(m, piix3, PIIX3_PIRQRC + 1, 0x89, 1);
    g_assert_false(m->irq[9]);
    tpci_cfg_write(m, piix3, PIIX3_PIRQRC + 1, 2, 1);
    for (unsigned i = 0; i < ISA_NUM_IRQS; i++) {
        g_assert_false(m->irq[i]);
    }
    g_assert_cmpint(piix3_pirq_irq(m->piix3, 1), ==, -1);
    tpci_cfg_write(m, piix3, PIIX3_PIRQRC + 1, 10, 1);
    g_assert_true(m->irq[10]);
    /* PIRQD routed to IRQ 10 too: its line going down leaves 10 up. */
    tpci_cfg_write(m, piix3, PIIX3_PIRQRC + 3, 10, 1);
    pci_set_irq(s4, true);
    pci_set_irq(s4, false);
    g_assert_true(m->irq[10]);

    /* Through the device's own register, and MSI-X taking over. */
    pci_set_irq(s2, false);
    g_assert_false(m->irq[10]);
    tpci_cfg_write(m, DEVFN_TEST, 0x10, TEST_IO, 4);
    set_command(m, DEVFN_TEST, PCI_COMMAND_IO);
    tpci_pio_write(m, TEST_IO + PCI_TESTDEV_REG_INTX, 1, 4);
    g_assert_true(m->irq[10]);
    tpci_cfg_write(m, DEVFN_TEST, pci_find_capability(s2, PCI_CAP_ID_MSIX) +
                   PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
    g_assert_false(m->irq[10]);
    /* Reset lowers the pin. */
    qdev_reset_all();
    g_assert_false(m->irq[10]);
    g_assert_false(s2->intx_level);
    tpci_free(m);
}

/* Where a pin goes, for a device that would raise it through an irqfd,
 * and the notice when the guest moves it. */
static void test_intx_gsi(void)
{
    TestPciMachine *m = tpci_new();
    PCIDevice *d = tpci_add(m, "test-pci-caps", "addr=2");
    PCIDevice *other = tpci_add(m, TYPE_PCI_TESTDEV, "addr=4");
    unsigned piix3 = PCI_DEVFN(1, 0);

    /* Slot 2 INTB# -> PIRQC -> IRQ 11. */
    g_assert_cmpint(pci_intx_gsi(d), ==, 11);
    caps_route_changes = 0;
    tpci_cfg_write(m, piix3, PIIX3_PIRQRC + 2, 5, 1);
    g_assert_cmpuint(caps_route_changes, ==, 1);
    g_assert_cmpint(pci_intx_gsi(d), ==, 5);
    tpci_cfg_write(m, piix3, PIIX3_PIRQRC + 2, 0x85, 1);
    g_assert_cmpint(pci_intx_gsi(d), ==, -1);
    /* Reset brings the power-on route back, and says so. */
    qdev_reset_all();
    g_assert_cmpuint(caps_route_changes, >=, 3);
    g_assert_cmpint(pci_intx_gsi(d), ==, 11);
    /* The host bridge has no pin. */
    g_assert_cmpint(pci_intx_gsi(pci_bus_find(tpci_bus(m), 0)), ==, -1);
    /* Slot 4 INTA# -> PIRQD -> IRQ 11, untouched by the above. */
    g_assert_cmpint(pci_intx_gsi(other), ==, 11);
    for (unsigned i = 0; i < G_N_ELEMENTS(caps_errors); i++) {
        g_clear_pointer(&caps_errors[i], g_free);
    }
    tpci_free(m);
}

/* ---- addr= ---- */

static void assert_error(char *text, const char *want)
{
    if (!strstr(text, want)) {
        g_error("error '%s' does not contain '%s'", text, want);
    }
    g_free(text);
}

static void test_addr_property(void)
{
    TestPciMachine *m = tpci_new();
    static const char *const bad[] = {
        "addr=0x20", "addr=1.8", "addr=zz", "addr=", "addr=2.", "addr=-1",
        "addr=2.0x", "addr=.1",
    };
    PCIDevice *d;

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        assert_error(tpci_add_error(m, TYPE_PCI_TESTDEV, bad[i]),
                     "Property 'x-pci-test.addr' doesn't take value");
    }
    /* The first free slot, then the one asked for (hex, with 0x). */
    d = tpci_add(m, TYPE_PCI_TESTDEV, NULL);
    g_assert_cmphex(d->devfn, ==, PCI_DEVFN(2, 0));
    d = tpci_add(m, TYPE_PCI_TESTDEV, "addr=0x1f,bus=pci.0");
    g_assert_cmphex(d->devfn, ==, PCI_DEVFN(31, 0));
    d = tpci_add(m, TYPE_PCI_TESTDEV, "id=a,addr=0a");
    g_assert_cmphex(d->devfn, ==, PCI_DEVFN(10, 0));

    /* Taken. */
    assert_error(tpci_add_error(m, TYPE_PCI_TESTDEV, "addr=1"),
                 "PCI: slot 1 function 0 not available for x-pci-test, in "
                 "use by PIIX3");
    assert_error(tpci_add_error(m, TYPE_PCI_TESTDEV, "addr=a.0"),
                 "in use by x-pci-test (id 'a')");
    assert_error(tpci_add_error(m, TYPE_PCI_TESTDEV, "bus=nope"),
                 "Bus 'nope' not found");
    /* Function 1 beside a single-function function 0. */
    assert_error(tpci_add_error(m, TYPE_PCI_TESTDEV, "addr=a.1"),
                 "slot 10 function 0 is a single-function device");
    /* Function 0 after function 1 needs multifunction=on ... */
    d = tpci_add(m, TYPE_PCI_TESTDEV, "addr=6.1");
    g_assert_cmphex(d->devfn, ==, PCI_DEVFN(6, 1));
    {
        Error *err = NULL;

        g_assert_false(pci_bus_check(tpci_bus(m), &err));
        assert_error(g_strdup(error_get_pretty(err)),
                     "PCI: slot 6 function 1 (x-pci-test) has no function 0");
        error_free(err);
    }
    assert_error(tpci_add_error(m, TYPE_PCI_TESTDEV, "addr=6"),
                 "slot 6 already has function 1, so function 0 needs "
                 "multifunction=on");
    d = tpci_add(m, TYPE_PCI_TESTDEV, "addr=6.0,multifunction=on");
    g_assert_cmphex(tpci_cfg_read(m, PCI_DEVFN(6, 0), PCI_HEADER_TYPE, 1),
                    ==, 0x80);
    g_assert_true(pci_bus_check(tpci_bus(m), &error_abort));
    /* The auto slot skips a slot with any function in use. */
    d = tpci_add(m, TYPE_PCI_TESTDEV, NULL);
    g_assert_cmphex(d->devfn, ==, PCI_DEVFN(3, 0));
    /* The machine's own functions are not for -device. */
    assert_error(tpci_add_error(m, TYPE_PIIX3_DEVICE, NULL),
                 "expects a pluggable device type");
    tpci_free(m);
}

/* ---- DMA ---- */

static void test_dma(void)
{
    TestPciMachine *m = tpci_new();
    PCIDevice *d = tpci_add(m, TYPE_PCI_TESTDEV, "addr=2");
    RamBlock *ram = &m->mem.blocks[0];
    uint8_t buf[16];
    Error *err = NULL;

    tpci_cfg_write(m, DEVFN_TEST, 0x10, TEST_IO, 4);
    set_command(m, DEVFN_TEST, PCI_COMMAND_IO);
    tpci_pio_write(m, TEST_IO + PCI_TESTDEV_REG_DMA_ADDR_LO, 0x5008, 4);
    tpci_pio_write(m, TEST_IO + PCI_TESTDEV_REG_DMA_LEN, 16, 4);

    /* Bus mastering off: refused, RAM untouched. */
    tpci_pio_write(m, TEST_IO + PCI_TESTDEV_REG_DMA_FILL, 0x5a, 4);
    g_assert_cmphex(tpci_pio_read(m, TEST_IO + PCI_TESTDEV_REG_DMA_STATUS, 4),
                    ==, 1);
    g_assert_cmphex(ram->host[0x5008], ==, 0);
    g_assert_false(pci_dma_read(d, 0x5000, buf, 16, &err));
    assert_error(g_strdup(error_get_pretty(err)),
                 "while the guest has not enabled bus mastering");
    g_clear_pointer(&err, error_free);

    /* On: the bytes land and the page is dirty for migration. */
    g_assert_false(test_bit(5, ram->dirty));
    set_command(m, DEVFN_TEST, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
    tpci_pio_write(m, TEST_IO + PCI_TESTDEV_REG_DMA_FILL, 0x5a, 4);
    g_assert_cmphex(tpci_pio_read(m, TEST_IO + PCI_TESTDEV_REG_DMA_STATUS, 4),
                    ==, 0);
    g_assert_cmphex(ram->host[0x5008], ==, 0x5a);
    g_assert_cmphex(ram->host[0x5017], ==, 0x5a);
    g_assert_cmphex(ram->host[0x5018], ==, 0);
    g_assert_true(test_bit(5, ram->dirty));
    g_assert_true(pci_dma_read(d, 0x5008, buf, 16, &error_abort));
    g_assert_cmphex(buf[15], ==, 0x5a);

    /* Past the end of RAM: refused with the range named. */
    tpci_pio_write(m, TEST_IO + PCI_TESTDEV_REG_DMA_ADDR_LO,
                   TPCI_RAM_SIZE - 8, 4);
    tpci_pio_write(m, TEST_IO + PCI_TESTDEV_REG_DMA_FILL, 0x77, 4);
    g_assert_cmphex(tpci_pio_read(m, TEST_IO + PCI_TESTDEV_REG_DMA_STATUS, 4),
                    ==, 1);
    g_assert_cmphex(ram->host[TPCI_RAM_SIZE - 8], ==, 0);
    tpci_free(m);
}

/* ---- a hostile guest ---- */

/*
 * Random config writes of every width at every offset (through the
 * ports, so the latch is random too), interleaved with accesses to
 * wherever the BARs went: nothing crashes, the identity stays, and every
 * decoding BAR is exactly where its register and the command register
 * say (or off because of a clash).
 */
static void test_random_config_writes(void)
{
    TestPciMachine *m = tpci_new();
    PCIDevice *devs[] = {
        tpci_add(m, TYPE_PCI_TESTDEV, "addr=2"),
        tpci_add(m, TYPE_PCI_TESTDEV, "addr=3,vectors=64"),
    };
    GRand *rand = g_rand_new_with_seed(0x7a6d);
    unsigned bar_accesses = 0;

    for (unsigned i = 0; i < 200000; i++) {
        static const unsigned lens[] = { 1, 2, 4 };
        unsigned devfn = PCI_DEVFN(g_rand_int_range(rand, 0, 4), 0);
        unsigned len = lens[g_rand_int_range(rand, 0, 3)];
        unsigned reg = g_rand_int_range(rand, 0, 256) & ~(len - 1);
        uint32_t val = g_rand_int(rand);

        /* Mostly the interesting registers. */
        if (g_rand_boolean(rand)) {
            reg = (PCI_COMMAND + g_rand_int_range(rand, 0, 0x20)) & ~(len - 1);
        }
        tpci_cfg_write(m, devfn, reg, val, len);
        for (unsigned d = 0; d < G_N_ELEMENTS(devs); d++) {
            PciBar *b = &devs[d]->bars[g_rand_int_range(rand, 0, 6)];

            if (b->size && b->addr != PCI_BAR_UNMAPPED) {
                uint64_t off = g_rand_int_range(rand, 0, b->size) & ~3u;

                bar_accesses++;
                if (b->type == PCI_BAR_IO) {
                    tpci_pio_write(m, b->addr + off, val, 4);
                } else {
                    tpci_mmio_write(m, b->addr + off, val, 4);
                    tpci_mmio_read(m, b->addr + off, 8);
                }
            }
        }
    }
    /* The walk did reach BARs where the guest put them. */
    g_assert_cmpuint(bar_accesses, >, 1000);
    for (unsigned d = 0; d < G_N_ELEMENTS(devs); d++) {
        PCIDevice *dev = devs[d];
        uint16_t cmd = pci_get_word(dev->config + PCI_COMMAND);

        g_assert_cmphex(pci_get_long(dev->config), ==, 0x74651234);
        g_assert_cmphex(pci_get_word(dev->config + PCI_CLASS_DEVICE), ==,
                        PCI_CLASS_OTHERS);
        for (unsigned b = 0; b < PCI_NUM_BARS; b++) {
            PciBar *bar = &dev->bars[b];
            bool on = bar->type == PCI_BAR_IO ? cmd & PCI_COMMAND_IO
                                              : cmd & PCI_COMMAND_MEMORY;

            if (bar->addr != PCI_BAR_UNMAPPED) {
                g_assert_true(on);
                g_assert_cmphex(bar->addr, ==, pci_bar_address(dev, b));
            }
        }
    }
    g_rand_free(rand);
    tpci_free(m);
}

/* ---- the BIOS's part ---- */

static int test_pirq_irq(void *opaque, unsigned pirq)
{
    return piix3_pirq_irq(opaque, pirq);
}

static void test_firmware_setup(void)
{
    TestPciMachine *m = tpci_new();
    PCIDevice *devs[3] = {
        tpci_add(m, TYPE_PCI_TESTDEV, "addr=2"),
        tpci_add(m, TYPE_PCI_TESTDEV, "addr=4,vectors=0"),
        tpci_add(m, TYPE_PCI_TESTDEV, "addr=5"),
    };
    const PciFirmwareLayout layout = {
        .io_base = 0xc000, .io_end = 0x10000,
        .mem_base = 0xc0000000, .mem_end = 0xfec00000,
        .pirq_irq = test_pirq_irq, .opaque = m->piix3,
    };
    GArray *ranges = g_array_new(FALSE, FALSE, sizeof(uint64_t) * 3);

    pci_firmware_setup(tpci_bus(m), &layout);
    for (unsigned i = 0; i < G_N_ELEMENTS(devs); i++) {
        PCIDevice *d = devs[i];

        g_assert_cmphex(pci_config_read(d, PCI_COMMAND, 2), ==,
                        PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
        for (unsigned b = 0; b < PCI_NUM_BARS; b++) {
            PciBar *bar = &d->bars[b];
            uint64_t r[3];

            if (!bar->size) {
                continue;
            }
            g_assert_cmphex(bar->addr, !=, PCI_BAR_UNMAPPED);
            g_assert_cmphex(bar->addr & (bar->size - 1), ==, 0);
            if (bar->type == PCI_BAR_IO) {
                g_assert_cmphex(bar->addr, >=, 0xc000);
                g_assert_cmphex(bar->addr + bar->size, <=, 0x10000);
            } else {
                g_assert_cmphex(bar->addr, >=, 0xc0000000);
                g_assert_cmphex(bar->addr + bar->size, <=, 0xfec00000);
            }
            r[0] = bar->type == PCI_BAR_IO;
            r[1] = bar->addr;
            r[2] = bar->size;
            for (guint j = 0; j < ranges->len; j++) {
                uint64_t *o = &g_array_index(ranges, uint64_t, j * 3);

                g_assert_true(o[0] != r[0] || o[1] + o[2] <= r[1] ||
                              r[1] + r[2] <= o[1]);
            }
            g_array_append_vals(ranges, r, 1);
        }
    }
    g_assert_cmpuint(ranges->len, ==, 4 + 3 + 4);
    /* The largest memory BAR at the top. */
    g_assert_cmphex(devs[0]->bars[2].addr, ==, 0xfec00000 - 0x4000);
    /* Interrupt lines: slot 2 -> PIRQB -> 10, slot 4 -> PIRQD -> 11,
     * slot 5 -> PIRQA -> 10. */
    g_assert_cmpuint(devs[0]->config[PCI_INTERRUPT_LINE], ==, 10);
    g_assert_cmpuint(devs[1]->config[PCI_INTERRUPT_LINE], ==, 11);
    g_assert_cmpuint(devs[2]->config[PCI_INTERRUPT_LINE], ==, 10);
    /* The registers answer where the BIOS put them. */
    tpci_pio_write(m, devs[1]->bars[0].addr, 0x77, 4);
    g_assert_cmphex(tpci_mmio_read(m, devs[1]->bars[1].addr, 4), ==, 0x77);
    g_array_free(ranges, TRUE);
    tpci_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pci/config/identity", test_config_identity);
    g_test_add_func("/pci/config/latch", test_config_latch);
    g_test_add_func("/pci/config/every-offset", test_config_every_offset);
    g_test_add_func("/pci/config/disabled-and-absent",
                    test_config_disabled_and_absent);
    g_test_add_func("/pci/config/write-rules", test_config_write_rules);
    g_test_add_func("/pci/bar/sizing", test_bar_sizing);
    g_test_add_func("/pci/bar/decode", test_bar_decode);
    g_test_add_func("/pci/bar/clash", test_bar_clash);
    g_test_add_func("/pci/capability-list", test_capability_list);
    g_test_add_func("/pci/intx/routing", test_intx_routing);
    g_test_add_func("/pci/intx/gsi", test_intx_gsi);
    g_test_add_func("/pci/addr", test_addr_property);
    g_test_add_func("/pci/dma", test_dma);
    g_test_add_func("/pci/config/random-writes", test_random_config_writes);
    g_test_add_func("/pci/firmware-setup", test_firmware_setup);
    return g_test_run();
}
