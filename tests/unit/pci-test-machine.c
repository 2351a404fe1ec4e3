/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The unit tests' PCI machine (see the header).
 */
#include <string.h>
#include <glib.h>
#include "migration/qemu-file.h"
#include "migration/savevm.h"
#include "pci-test-machine.h"

static void tpci_set_irq(void *opaque, unsigned n, bool level)
{
    TestPciMachine *m = opaque;

    g_assert_cmpuint(n, <, ISA_NUM_IRQS);
    m->irq[n] = level;
    m->irq_changes++;
}

/* ---- the MSI recorder ---- */

static bool tpci_msi_send(void *opaque, PciMsiMessage msg, Error **errp)
{
    TestPciMachine *m = opaque;

    g_array_append_val(m->msi_sent, msg);
    return true;
}

static int tpci_route_add(void *opaque, PciMsiMessage msg, Error **errp)
{
    TestPciMachine *m = opaque;
    int gsi = m->next_gsi++;

    g_hash_table_insert(m->routes, GINT_TO_POINTER(gsi),
                        g_memdup2(&msg, sizeof(msg)));
    return gsi;
}

static bool tpci_route_update(void *opaque, int gsi, PciMsiMessage msg,
                             Error **errp)
{
    TestPciMachine *m = opaque;
    PciMsiMessage *cur = g_hash_table_lookup(m->routes, GINT_TO_POINTER(gsi));

    g_assert_nonnull(cur);
    *cur = msg;
    return true;
}

static void tpci_route_del(void *opaque, int gsi)
{
    TestPciMachine *m = opaque;

    g_assert_true(g_hash_table_remove(m->routes, GINT_TO_POINTER(gsi)));
}

static bool tpci_irqfd_add(void *opaque, int gsi, int fd, Error **errp)
{
    TestPciMachine *m = opaque;

    g_assert_true(g_hash_table_contains(m->routes, GINT_TO_POINTER(gsi)));
    g_assert_false(g_hash_table_contains(m->irqfds, GINT_TO_POINTER(fd)));
    g_hash_table_insert(m->irqfds, GINT_TO_POINTER(fd), GINT_TO_POINTER(gsi));
    m->irqfd_attaches++;
    return true;
}

static void tpci_irqfd_del(void *opaque, int gsi, int fd)
{
    TestPciMachine *m = opaque;

    g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(
                        m->irqfds, GINT_TO_POINTER(fd))), ==, gsi);
    g_hash_table_remove(m->irqfds, GINT_TO_POINTER(fd));
}

const PciMsiOps tpci_msi_ops = {
    .send = tpci_msi_send,
    .route_add = tpci_route_add,
    .route_update = tpci_route_update,
    .route_del = tpci_route_del,
    .irqfd_add = tpci_irqfd_add,
    .irqfd_del = tpci_irqfd_del,
};

/* ---- the machine ---- */

static PCIDevice *tpci_builtin(TestPciMachine *m, const char *type,
                              const char *addr, bool multifunction)
{
    DeviceState *dev = qdev_new(type, &error_abort);

    g_assert_true(qdev_set_prop(dev, "addr", addr, &error_abort));
    if (multifunction) {
        g_assert_true(qdev_set_prop(dev, "multifunction", "on",
                                    &error_abort));
    }
    if (!strcmp(type, TYPE_PIIX3_DEVICE)) {
        ((PIIX3State *)dev)->isa = &m->isa;
    }
    g_assert_true(qdev_realize(dev, &m->host.bus.bus, &error_abort));
    return PCI_DEVICE(dev);
}

TestPciMachine *tpci_new(void)
{
    TestPciMachine *m = g_new0(TestPciMachine, 1);

    m->pio.name = "pio";
    m->mmio.name = "mmio";
    g_assert_nonnull(guest_memory_add_ram(&m->mem, "test.ram", 0,
                                          TPCI_RAM_SIZE, &error_abort));
    m->isa = (IsaBus) {
        .bus = { .name = "isa.0", .kind = BUS_KIND_ISA },
        .pio = &m->pio, .set_irq = tpci_set_irq, .irq_opaque = m,
    };
    m->sv = savevm_state_new();
    m->msi_sent = g_array_new(FALSE, FALSE, sizeof(PciMsiMessage));
    m->routes = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    m->irqfds = g_hash_table_new(NULL, NULL);
    m->next_gsi = 24;
    g_assert_true(pci_host_init(&m->host, &m->pio, &m->mmio, &m->mem, m->sv,
                                &tpci_msi_ops, m, &error_abort));
    tpci_builtin(m, TYPE_I440FX_PCI_DEVICE, "0", false);
    m->piix3 = (PIIX3State *)tpci_builtin(m, TYPE_PIIX3_DEVICE, "1", true);
    return m;
}

void tpci_free(TestPciMachine *m)
{
    pci_host_cleanup(&m->host);
    qdev_delete_all();
    savevm_state_free(m->sv);
    guest_memory_free(&m->mem);
    io_bus_free(&m->pio);
    io_bus_free(&m->mmio);
    g_array_free(m->msi_sent, TRUE);
    g_hash_table_destroy(m->routes);
    g_hash_table_destroy(m->irqfds);
    g_free(m);
}

PciBus *tpci_bus(TestPciMachine *m)
{
    return &m->host.bus;
}

static DeviceState *tpci_create(const char *type, const char *props,
                               Error **errp)
{
    g_autofree char *opt = props ? g_strdup_printf("%s,%s", type, props)
                                 : g_strdup(type);
    DeviceState *dev = qdev_create_cmdline(opt, errp);

    if (!dev) {
        return NULL;
    }
    return qdev_realize(dev, NULL, errp) ? dev : NULL;
}

PCIDevice *tpci_add(TestPciMachine *m, const char *type, const char *props)
{
    return PCI_DEVICE(tpci_create(type, props, &error_abort));
}

char *tpci_add_error(TestPciMachine *m, const char *type, const char *props)
{
    Error *err = NULL;
    char *text;

    g_assert_null(tpci_create(type, props, &err));
    g_assert_nonnull(err);
    text = g_strdup(error_get_pretty(err));
    error_free(err);
    return text;
}

/* ---- accesses ---- */

uint32_t tpci_cfg_read(TestPciMachine *m, unsigned devfn, unsigned reg,
                      unsigned len)
{
    tpci_pio_write(m, PCI_HOST_CONFIG_ADDR,
                  PCI_HOST_ENABLE | devfn << 8 | (reg & 0xfc), 4);
    return tpci_pio_read(m, PCI_HOST_CONFIG_DATA + (reg & 3), len);
}

void tpci_cfg_write(TestPciMachine *m, unsigned devfn, unsigned reg,
                   uint32_t val, unsigned len)
{
    tpci_pio_write(m, PCI_HOST_CONFIG_ADDR,
                  PCI_HOST_ENABLE | devfn << 8 | (reg & 0xfc), 4);
    tpci_pio_write(m, PCI_HOST_CONFIG_DATA + (reg & 3), val, len);
}

uint64_t tpci_pio_read(TestPciMachine *m, uint64_t addr, unsigned size)
{
    uint64_t v;

    io_bus_read(&m->pio, addr, size, &v);
    return v;
}

void tpci_pio_write(TestPciMachine *m, uint64_t addr, uint64_t v,
                   unsigned size)
{
    io_bus_write(&m->pio, addr, size, v);
}

uint64_t tpci_mmio_read(TestPciMachine *m, uint64_t addr, unsigned size)
{
    uint64_t v;

    io_bus_read(&m->mmio, addr, size, &v);
    return v;
}

void tpci_mmio_write(TestPciMachine *m, uint64_t addr, uint64_t v,
                    unsigned size)
{
    io_bus_write(&m->mmio, addr, size, v);
}

bool tpci_pio_mapped(TestPciMachine *m, uint64_t addr)
{
    uint64_t v;

    return io_bus_read(&m->pio, addr, 1, &v);
}

bool tpci_mmio_mapped(TestPciMachine *m, uint64_t addr)
{
    uint64_t v;

    return io_bus_read(&m->mmio, addr, 1, &v);
}

GBytes *tpci_save_devices(TestPciMachine *m)
{
    QEMUFile *out = qemu_file_new_mem_output();
    const uint8_t *data;
    size_t len;
    GBytes *b;

    g_assert_true(savevm_state_save_device_blob(m->sv, out, true,
                                                &error_abort));
    data = qemu_file_mem_output_data(out, &len);
    g_assert_cmpint(qemu_file_get_error(out, NULL), ==, 0);
    b = g_bytes_new(data, len);
    qemu_fclose(out);
    return b;
}

bool tpci_load_devices(TestPciMachine *m, GBytes *b, Error **errp)
{
    size_t len;
    const uint8_t *data = g_bytes_get_data(b, &len);
    QEMUFile *in = qemu_file_new_mem_input(data, len, 0);
    bool ok = loadvm_load_device_blob(m->sv, in, errp);

    qemu_fclose(in);
    return ok;
}
