/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A PCI machine for unit tests, without KVM: the port and MMIO buses, 1
 * MiB of guest RAM, an ISA bus whose interrupt lines are recorded, the
 * PCI host on ports 0xCF8/0xCFC with the i440FX at 00.0 and the PIIX3 at
 * 01.0 (as the pc machine builds them), its own migration registry, and
 * an MSI recorder standing in for KVM (messages sent, routes, irqfds).
 * One machine at a time: its bus is "pci.0".
 */
#ifndef TESTS_UNIT_PCI_TEST_MACHINE_H
#define TESTS_UNIT_PCI_TEST_MACHINE_H

#include "hw/core/isa-bus.h"
#include "hw/pci/i440fx.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci-host.h"

#define TPCI_RAM_SIZE (1u << 20)

typedef struct TestPciMachine {
    IoBus pio;
    IoBus mmio;
    GuestMemory mem;
    IsaBus isa;
    SaveVMState *sv;
    PciHostState host;
    PIIX3State *piix3;
    bool irq[ISA_NUM_IRQS];         /* ISA line levels as last set */
    unsigned irq_changes;
    GArray *msi_sent;               /* PciMsiMessage, in order */
    GHashTable *routes;             /* gsi -> PciMsiMessage * */
    int next_gsi;
    GHashTable *irqfds;             /* fd -> gsi, attached now */
    unsigned irqfd_attaches;
} TestPciMachine;

extern const PciMsiOps tpci_msi_ops;

TestPciMachine *tpci_new(void);
void tpci_free(TestPciMachine *m);
PciBus *tpci_bus(TestPciMachine *m);

/* Creates and realizes a device on pci.0; props "k=v,k=v" or NULL. */
PCIDevice *tpci_add(TestPciMachine *m, const char *type, const char *props);
/* The same, expected to fail: returns the error text (g_free it). */
char *tpci_add_error(TestPciMachine *m, const char *type, const char *props);

/* Config mechanism #1 through the port handlers, as a guest does it. */
uint32_t tpci_cfg_read(TestPciMachine *m, unsigned devfn, unsigned reg,
                      unsigned len);
void tpci_cfg_write(TestPciMachine *m, unsigned devfn, unsigned reg,
                   uint32_t val, unsigned len);

/* Port and MMIO accesses; *_read return ~0 (by size) when unmapped. */
uint64_t tpci_pio_read(TestPciMachine *m, uint64_t addr, unsigned size);
void tpci_pio_write(TestPciMachine *m, uint64_t addr, uint64_t v,
                   unsigned size);
uint64_t tpci_mmio_read(TestPciMachine *m, uint64_t addr, unsigned size);
void tpci_mmio_write(TestPciMachine *m, uint64_t addr, uint64_t v,
                    unsigned size);
bool tpci_pio_mapped(TestPciMachine *m, uint64_t addr);

/* Every device's state as a COLO blob (all subsections), and back. */
GBytes *tpci_save_devices(TestPciMachine *m);
bool tpci_load_devices(TestPciMachine *m, GBytes *b, Error **errp);
bool tpci_mmio_mapped(TestPciMachine *m, uint64_t addr);

#endif
