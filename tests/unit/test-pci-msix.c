/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MSI-X and the migration of a PCI function, without KVM
 * (tests/unit/pci-test-machine.h records the messages KVM would get):
 * table writes through the BAR, masking and the PBA, the function mask,
 * irqfd attachments following the masks, and a function's sections
 * saved and loaded (round trip, and streams that must be refused).
 * Delivery by a real KVM is the last case, skipped without /dev/kvm.
 */
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "hw/i386/kvm-msi.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci-testdev.h"
#include "kvm-skip.h"
#include "pci-test-machine.h"

#define DEVFN_TEST  PCI_DEVFN(2, 0)
#define TEST_IO     0xc100
#define TEST_MMIO   0xfe001000ULL
#define MSIX_BASE   0xfe100000ULL
#define MSI_ADDR    0xfee00000ULL

typedef struct MsixFixture {
    TestPciMachine *m;
    PCIDevice *d;
    unsigned cap;
} MsixFixture;

static void msix_setup(MsixFixture *f, const char *props)
{
    f->m = tpci_new();
    f->d = tpci_add(f->m, TYPE_PCI_TESTDEV, props);
    f->cap = pci_find_capability(f->d, PCI_CAP_ID_MSIX);
    g_assert_cmpuint(f->cap, !=, 0);
    tpci_cfg_write(f->m, DEVFN_TEST, 0x10, TEST_IO, 4);
    tpci_cfg_write(f->m, DEVFN_TEST, 0x14, TEST_MMIO, 4);
    tpci_cfg_write(f->m, DEVFN_TEST, 0x20, MSIX_BASE, 4);
    tpci_cfg_write(f->m, DEVFN_TEST, PCI_COMMAND,
                   PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
}

static void msix_control_write(MsixFixture *f, uint16_t v)
{
    tpci_cfg_write(f->m, DEVFN_TEST, f->cap + PCI_MSIX_FLAGS, v, 2);
}

static uint64_t entry_addr(unsigned vector, unsigned field)
{
    return MSIX_BASE + vector * PCI_MSIX_ENTRY_SIZE + field;
}

static void entry_program(MsixFixture *f, unsigned vector, uint32_t data)
{
    tpci_mmio_write(f->m, entry_addr(vector, PCI_MSIX_ENTRY_LOWER_ADDR),
                    MSI_ADDR, 4);
    tpci_mmio_write(f->m, entry_addr(vector, PCI_MSIX_ENTRY_UPPER_ADDR), 0, 4);
    tpci_mmio_write(f->m, entry_addr(vector, PCI_MSIX_ENTRY_DATA), data, 4);
}

static void entry_mask(MsixFixture *f, unsigned vector, bool masked)
{
    tpci_mmio_write(f->m, entry_addr(vector, PCI_MSIX_ENTRY_VECTOR_CTRL),
                    masked, 4);
}

static uint64_t pba(MsixFixture *f)
{
    return tpci_mmio_read(f->m, MSIX_BASE + PCI_TESTDEV_MSIX_PBA, 8);
}

static unsigned sent(MsixFixture *f)
{
    return f->m->msi_sent->len;
}

static PciMsiMessage last_sent(MsixFixture *f)
{
    g_assert_cmpuint(sent(f), >, 0);
    return g_array_index(f->m->msi_sent, PciMsiMessage, sent(f) - 1);
}

/* ---- delivery and masking ---- */

static void test_msix_masking(void)
{
    MsixFixture f;

    msix_setup(&f, "addr=2,vectors=4");
    /* Power-on: every vector masked, nothing pending, MSI-X off. */
    for (unsigned v = 0; v < 4; v++) {
        g_assert_cmphex(tpci_mmio_read(f.m, entry_addr(v, 12), 4), ==, 1);
    }
    g_assert_cmphex(pba(&f), ==, 0);
    entry_program(&f, 0, 0x4041);
    entry_program(&f, 1, 0x4042);
    g_assert_cmphex(tpci_mmio_read(f.m, entry_addr(0, 0), 8), ==, MSI_ADDR);
    g_assert_cmphex(tpci_mmio_read(f.m, entry_addr(0, 8), 4), ==, 0x4041);

    /* Disabled: a notify is dropped, not even pending. */
    msix_notify(f.d, 0);
    g_assert_cmpuint(sent(&f), ==, 0);
    g_assert_cmphex(pba(&f), ==, 0);

    /* Enabled but masked: pending. */
    msix_control_write(&f, PCI_MSIX_FLAGS_ENABLE);
    g_assert_true(msix_enabled(f.d));
    msix_notify(f.d, 0);
    g_assert_cmpuint(sent(&f), ==, 0);
    g_assert_cmphex(pba(&f), ==, 1);
    g_assert_true(msix_is_pending(f.d, 0));

    /* Unmasking sends the pending message and clears the bit. */
    entry_mask(&f, 0, false);
    g_assert_cmpuint(sent(&f), ==, 1);
    g_assert_cmphex(last_sent(&f).address, ==, MSI_ADDR);
    g_assert_cmphex(last_sent(&f).data, ==, 0x4041);
    g_assert_cmphex(pba(&f), ==, 0);
    msix_notify(f.d, 0);
    g_assert_cmpuint(sent(&f), ==, 2);

    /* The function mask holds everything back the same way. */
    msix_control_write(&f, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    msix_notify(f.d, 0);
    g_assert_cmpuint(sent(&f), ==, 2);
    g_assert_cmphex(pba(&f), ==, 1);
    msix_control_write(&f, PCI_MSIX_FLAGS_ENABLE);
    g_assert_cmpuint(sent(&f), ==, 3);
    g_assert_cmphex(pba(&f), ==, 0);

    /* Through the device's register; vector 1 still masked. */
    tpci_pio_write(f.m, TEST_IO + PCI_TESTDEV_REG_MSIX, 1, 4);
    g_assert_cmphex(pba(&f), ==, 2);
    entry_mask(&f, 1, false);
    g_assert_cmphex(last_sent(&f).data, ==, 0x4042);

    /* Guest mistakes: a vector the device lacks, PBA writes, reserved
     * control bits, odd-sized table accesses. */
    msix_notify(f.d, 4);
    tpci_pio_write(f.m, TEST_IO + PCI_TESTDEV_REG_MSIX, 1000, 4);
    g_assert_cmpuint(sent(&f), ==, 4);
    tpci_mmio_write(f.m, MSIX_BASE + PCI_TESTDEV_MSIX_PBA, ~0ULL, 8);
    g_assert_cmphex(pba(&f), ==, 0);
    tpci_mmio_write(f.m, entry_addr(2, 12), 0xfffffffe, 4);
    g_assert_cmphex(tpci_mmio_read(f.m, entry_addr(2, 12), 4), ==, 0);
    tpci_mmio_write(f.m, entry_addr(3, 1), 0xffff, 2);
    g_assert_cmphex(tpci_mmio_read(f.m, entry_addr(3, 0), 4), ==, 0);
    g_assert_cmphex(tpci_mmio_read(f.m, entry_addr(3, 1), 2), ==, 0xffff);
    /* Past the table and PBA: the device's part of the BAR (none). */
    g_assert_cmphex(tpci_mmio_read(f.m, MSIX_BASE + 0xf00, 4), ==,
                    0xffffffff);

    /* Only enable and function mask are writable in the control word. */
    msix_control_write(&f, 0xffff);
    g_assert_cmphex(tpci_cfg_read(f.m, DEVFN_TEST, f.cap + 2, 2), ==,
                    0xc003);

    /* Reset: masked, disabled, table cleared. */
    qdev_reset_all();
    g_assert_false(msix_enabled(f.d));
    g_assert_true(msix_is_masked(f.d, 0));
    g_assert_cmphex(msix_get_message(f.d, 0).address, ==, 0);
    tpci_free(f.m);
}

/* ---- irqfds ---- */

static bool irqfd_attached(MsixFixture *f, int fd)
{
    return g_hash_table_contains(f->m->irqfds, GINT_TO_POINTER(fd));
}

static PciMsiMessage *route_of(MsixFixture *f, unsigned vector)
{
    return g_hash_table_lookup(f->m->routes,
                               GINT_TO_POINTER(f->d->msix->vectors[vector].gsi));
}

static void test_msix_irqfd(void)
{
    MsixFixture f;
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    uint64_t one = 1, count;

    g_assert_cmpint(fd, >=, 0);
    msix_setup(&f, "addr=2,vectors=2");
    entry_program(&f, 0, 0x51);
    msix_control_write(&f, PCI_MSIX_FLAGS_ENABLE);

    /* The route is made at once; the irqfd waits for the unmask. */
    g_assert_true(msix_vector_set_irqfd(f.d, 0, fd, &error_abort));
    g_assert_cmpuint(g_hash_table_size(f.m->routes), ==, 1);
    g_assert_false(irqfd_attached(&f, fd));
    entry_mask(&f, 0, false);
    g_assert_true(irqfd_attached(&f, fd));
    g_assert_cmphex(route_of(&f, 0)->data, ==, 0x51);

    /* The guest changes the message while unmasked: the route follows. */
    tpci_mmio_write(f.m, entry_addr(0, PCI_MSIX_ENTRY_DATA), 0x52, 4);
    g_assert_cmphex(route_of(&f, 0)->data, ==, 0x52);
    g_assert_true(irqfd_attached(&f, fd));

    /* Masked: detached; an interrupt written meanwhile is pending. */
    entry_mask(&f, 0, true);
    g_assert_false(irqfd_attached(&f, fd));
    g_assert_cmpint(write(fd, &one, sizeof(one)), ==, sizeof(one));
    g_assert_cmphex(pba(&f), ==, 1);
    g_assert_cmpint(read(fd, &count, sizeof(count)), <, 0);   /* drained */
    g_assert_cmpuint(sent(&f), ==, 0);

    /* Unmask: the pending one goes out by message, the irqfd returns. */
    entry_mask(&f, 0, false);
    g_assert_cmpuint(sent(&f), ==, 1);
    g_assert_cmphex(last_sent(&f).data, ==, 0x52);
    g_assert_cmphex(pba(&f), ==, 0);
    g_assert_true(irqfd_attached(&f, fd));

    /* Disabling MSI-X detaches too; a write then is pending at unmask. */
    msix_control_write(&f, 0);
    g_assert_false(irqfd_attached(&f, fd));
    g_assert_cmpint(write(fd, &one, sizeof(one)), ==, sizeof(one));
    msix_control_write(&f, PCI_MSIX_FLAGS_ENABLE);
    g_assert_cmpuint(sent(&f), ==, 2);
    g_assert_true(irqfd_attached(&f, fd));

    /* Detaching drops the route. */
    g_assert_true(msix_vector_set_irqfd(f.d, 0, -1, &error_abort));
    g_assert_false(irqfd_attached(&f, fd));
    g_assert_cmpuint(g_hash_table_size(f.m->routes), ==, 0);

    /* Attached again, then the device goes: nothing left behind. */
    g_assert_true(msix_vector_set_irqfd(f.d, 1, fd, &error_abort));
    tpci_free(f.m);
    close(fd);
}

/* A bus without route hooks: the device learns it at once. */
static bool send_only(void *opaque, PciMsiMessage msg, Error **errp)
{
    return true;
}

static void test_msix_irqfd_unsupported(void)
{
    static const PciMsiOps ops = { .send = send_only };
    MsixFixture f;
    Error *err = NULL;

    msix_setup(&f, "addr=2");
    f.d->bus->msi_ops = &ops;
    g_assert_false(msix_vector_set_irqfd(f.d, 0, 0, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "no irqfd routing"));
    error_free(err);
    f.d->bus->msi_ops = &tpci_msi_ops;
    tpci_free(f.m);
}

/* ---- migration of a function ---- */

static GBytes *save_function(PCIDevice *d)
{
    QEMUFile *f = qemu_file_new_mem_output();
    const uint8_t *data;
    size_t len;
    GBytes *bytes;

    g_assert_true(vmstate_save(f, pci_device_vmsd(), d, NULL, &error_abort));
    data = qemu_file_mem_output_data(f, &len);
    g_assert_cmpint(qemu_file_get_error(f, NULL), ==, 0);
    bytes = g_bytes_new(data, len);
    qemu_fclose(f);
    return bytes;
}

static bool load_function(PCIDevice *d, const void *data, size_t len,
                          Error **errp)
{
    QEMUFile *f = qemu_file_new_mem_input(data, len, 0);
    bool ok = vmstate_load(f, pci_device_vmsd(), d, 1, errp);

    qemu_fclose(f);
    return ok;
}

static void test_vmstate_roundtrip(void)
{
    MsixFixture f;
    g_autoptr(GBytes) saved = NULL;
    uint8_t config[PCI_CONFIG_SPACE_SIZE];
    size_t len;
    const uint8_t *data;

    msix_setup(&f, "addr=2,vectors=2");
    entry_program(&f, 1, 0x77);
    entry_mask(&f, 1, false);
    msix_control_write(&f, PCI_MSIX_FLAGS_ENABLE);
    msix_notify(f.d, 0);                /* masked: pending */
    tpci_cfg_write(f.m, DEVFN_TEST, PCI_INTERRUPT_LINE, 11, 1);
    pci_set_irq(f.d, true);
    memcpy(config, f.d->config, sizeof(config));
    saved = save_function(f.d);

    /* Everything changes ... */
    tpci_cfg_write(f.m, DEVFN_TEST, 0x14, TEST_MMIO + 0x10000, 4);
    tpci_cfg_write(f.m, DEVFN_TEST, PCI_COMMAND, PCI_COMMAND_IO, 2);
    tpci_cfg_write(f.m, DEVFN_TEST, PCI_INTERRUPT_LINE, 5, 1);
    msix_control_write(&f, 0);
    pci_set_irq(f.d, false);
    g_assert_false(tpci_mmio_mapped(f.m, TEST_MMIO));

    /* ... and comes back with the load, regions and all. */
    data = g_bytes_get_data(saved, &len);
    g_assert_true(load_function(f.d, data, len, &error_abort));
    g_assert_cmpmem(f.d->config, sizeof(config), config, sizeof(config));
    g_assert_true(tpci_mmio_mapped(f.m, TEST_MMIO));
    g_assert_false(tpci_mmio_mapped(f.m, TEST_MMIO + 0x10000));
    g_assert_cmphex(f.d->bars[4].addr, ==, MSIX_BASE);
    g_assert_true(msix_enabled(f.d));
    g_assert_true(msix_is_pending(f.d, 0));
    g_assert_cmphex(msix_get_message(f.d, 1).data, ==, 0x77);
    g_assert_false(msix_is_masked(f.d, 1));
    g_assert_true(f.d->intx_level);
    /* MSI-X enabled: the pin stays off the bus. */
    for (unsigned i = 0; i < ISA_NUM_IRQS; i++) {
        g_assert_false(f.m->irq[i]);
    }
    tpci_free(f.m);
}

/* A stream whose read-only bytes are not this function's (another
 * device, or corruption) is refused and changes nothing. */
static void test_vmstate_refused(void)
{
    MsixFixture f;
    g_autoptr(GBytes) saved = NULL;
    g_autofree uint8_t *bad = NULL;
    const void *data;
    uint8_t config[PCI_CONFIG_SPACE_SIZE];
    PCIDevice *plain;
    Error *err = NULL;
    size_t len;

    msix_setup(&f, "addr=2,vectors=2");
    saved = save_function(f.d);
    /* Two statements: the order of a call's arguments is unspecified,
     * so len must be set before it is read. */
    data = g_bytes_get_data(saved, &len);
    bad = g_memdup2(data, len);
    tpci_cfg_write(f.m, DEVFN_TEST, 0x14, TEST_MMIO + 0x10000, 4);
    memcpy(config, f.d->config, sizeof(config));

    /* The config buffer is the first field: byte 0 is the vendor ID. */
    bad[0] ^= 0xff;
    g_assert_false(load_function(f.d, bad, len, &err));
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "read-only config byte 0x00 is 0xcb in the "
                            "stream but 0x34 here"));
    g_clear_pointer(&err, error_free);
    g_assert_cmpmem(f.d->config, sizeof(config), config, sizeof(config));
    g_assert_true(tpci_mmio_mapped(f.m, TEST_MMIO + 0x10000));

    /* An MSI-X table size field that is not ours. */
    bad[0] ^= 0xff;
    bad[f.cap + PCI_MSIX_FLAGS] = 7;
    g_assert_false(load_function(f.d, bad, len, &err));
    g_clear_pointer(&err, error_free);

    /* A function without MSI-X refuses the section of one with it. */
    plain = tpci_add(f.m, TYPE_PCI_TESTDEV, "addr=3,vectors=0");
    g_assert_false(load_function(plain, g_bytes_get_data(saved, NULL), len,
                                 &err));
    g_clear_pointer(&err, error_free);

    /* Truncated. */
    g_assert_false(load_function(f.d, g_bytes_get_data(saved, NULL), 100,
                                 &err));
    g_clear_pointer(&err, error_free);
    g_assert_cmpmem(f.d->config, sizeof(config), config, sizeof(config));
    tpci_free(f.m);
}

/* Through the machine's registry: the host's latch, every function's
 * config and the device's own section, as a COLO checkpoint sends them. */
static void test_savevm_device_blob(void)
{
    MsixFixture f;
    PciTestDevState *t;
    QEMUFile *out, *in;
    const uint8_t *data;
    size_t len;

    msix_setup(&f, "addr=2");
    t = (PciTestDevState *)f.d;
    tpci_pio_write(f.m, TEST_IO + PCI_TESTDEV_REG_SCRATCH, 0xfeedbeef, 4);
    tpci_pio_write(f.m, PCI_HOST_CONFIG_ADDR, PCI_HOST_ENABLE | 0x1004, 4);
    out = qemu_file_new_mem_output();
    g_assert_true(savevm_state_save_device_blob(f.m->sv, out, true,
                                                &error_abort));
    data = qemu_file_mem_output_data(out, &len);

    t->scratch = 0;
    tpci_pio_write(f.m, PCI_HOST_CONFIG_ADDR, 0, 4);
    tpci_cfg_write(f.m, PCI_DEVFN(1, 0), PIIX3_PIRQRC, 5, 1);
    tpci_cfg_write(f.m, DEVFN_TEST, PCI_COMMAND, 0, 2);

    in = qemu_file_new_mem_input(data, len, 0);
    g_assert_true(loadvm_load_device_blob(f.m->sv, in, &error_abort));
    qemu_fclose(in);
    qemu_fclose(out);
    g_assert_cmphex(t->scratch, ==, 0xfeedbeef);
    g_assert_cmphex(tpci_pio_read(f.m, PCI_HOST_CONFIG_ADDR, 4), ==,
                    PCI_HOST_ENABLE | 0x1004);
    g_assert_cmpint(piix3_pirq_irq(f.m->piix3, 0), ==, 10);
    g_assert_true(tpci_pio_mapped(f.m, TEST_IO));
    tpci_free(f.m);
}

/* ---- with KVM ---- */

/* The KVM side of the seam: an MSI route and an irqfd on a real VM. */
static void test_kvm_msi_router(void)
{
    KvmState kvm = { .kvm_fd = -1, .vm_fd = -1 };
    const KvmOptions opts = { 0 };
    KvmMsiRouter *r;
    PciMsiMessage msg = { .address = MSI_ADDR, .data = 0x4041 };
    int fd = eventfd(0, EFD_CLOEXEC);
    int gsi;

    g_assert_true(kvm_init(&kvm, &opts, &error_abort));
    g_assert_true(kvm_create_irqchip(&kvm, &error_abort));
    r = kvm_msi_router_new(&kvm);
    gsi = kvm_msi_ops.route_add(r, msg, &error_abort);
    g_assert_cmpint(gsi, >=, 24);
    msg.data = 0x4042;
    g_assert_true(kvm_msi_ops.route_update(r, gsi, msg, &error_abort));
    g_assert_true(kvm_msi_ops.irqfd_add(r, gsi, fd, &error_abort));
    kvm_msi_ops.irqfd_del(r, gsi, fd);
    kvm_msi_ops.route_del(r, gsi);
    kvm_msi_router_free(r);
    kvm_destroy(&kvm);
    close(fd);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pci/msix/masking", test_msix_masking);
    g_test_add_func("/pci/msix/irqfd", test_msix_irqfd);
    g_test_add_func("/pci/msix/irqfd-unsupported",
                    test_msix_irqfd_unsupported);
    g_test_add_func("/pci/vmstate/roundtrip", test_vmstate_roundtrip);
    g_test_add_func("/pci/vmstate/refused", test_vmstate_refused);
    g_test_add_func("/pci/vmstate/device-blob", test_savevm_device_blob);
    test_add_kvm_func("/pci/kvm/msi-router", test_kvm_msi_router);
    return g_test_run();
}
