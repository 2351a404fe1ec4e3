/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The `pc` machine: RAM (all below 4 GiB up to 3.5 GiB of it; with more,
 * 3 GiB below 4 GiB and the rest above, as QEMU's pc lays it out),
 * an e820 map, the in-kernel irqchip and PIT (under -accel qtest instead:
 * an interrupt line model, MSI into RAM, no vCPUs; see PCAccelOps), an
 * ISA bus for the devices of the registry (up to four 16550 UARTs from
 * -serial, anything from -device such as isa-debug-exit), a PCI bus
 * "pci.0" behind an i440FX
 * host bridge (config mechanism #1 at 0xCF8/0xCFC; 00.0 host bridge,
 * 01.0 PIIX3 ISA bridge routing PIRQ A-D to IRQs 10, 10, 11, 11, PCI
 * functions from -device from slot 2 on), and a kernel booted directly
 * (multiboot or Linux bzImage) since there is no firmware: the machine
 * assigns BARs and interrupt lines as a BIOS would
 * (include/hw/pci/pci-firmware.h).
 *
 * Guest-physical layout:
 *   0x00000000-0x0009fbff  RAM (conventional)
 *   0x0009fc00-0x0009ffff  reserved (EBDA)
 *   0x000f0000-0x000fffff  reserved (BIOS area: MP table)
 *   0x00100000-lowmem      RAM
 *   0xfeffc000-0xfeffffff  reserved (KVM's TSS and identity map on VMX)
 *   lowmem-0xfebfffff      PCI memory BARs (assigned from the top down,
 *                          not below 0xc0000000)
 *   0xfec00000             IOAPIC, 0xfee00000 LAPIC (in-kernel)
 *   0x100000000-...        RAM above 4 GiB, if any
 */
#ifndef HW_I386_PC_H
#define HW_I386_PC_H

#include "accel/kvm.h"
#include "hw/char/serial.h"
#include "hw/core/isa-bus.h"
#include "hw/core/qdev.h"
#include "hw/i386/boot.h"
#include "hw/i386/e820.h"
#include "hw/i386/kvm-irqchip.h"
#include "hw/i386/kvm-msi.h"
#include "hw/i386/kvmclock.h"
#include "hw/i386/port61.h"
#include "hw/pci/i440fx.h"
#include "hw/pci/pci-host.h"
#include "system/ioport.h"
#include "system/accel.h"
#include "system/memory.h"
#include "target/i386/machine.h"
#include "util/keyval.h"

#define PC_MAX_SERIAL SERIAL_ISA_MAX_PORTS
/*
 * QEMU's split of RAM around the PCI hole: up to 3.5 GiB of RAM all lies
 * below 4 GiB; from 3.5 GiB on, 3 GiB lies below and the rest from 4 GiB,
 * which keeps 1 GiB below 4 GiB for 32-bit BARs.
 */
#define PC_LOWMEM_ALL_BELOW 0xe0000000ULL
#define PC_LOWMEM_SPLIT     0xc0000000ULL
#define PC_MIN_RAM_SIZE (16ULL << 20)   /* see MIN_RAM_SIZE in system/vl.c */
#define PC_DEFAULT_RAM_ID "pc.ram"      /* RAM without memory-backend= */
/* Where the machine puts PCI BARs (I/O window [0xc000, 0x10000)). */
#define PC_PCI_MEM_START PC_LOWMEM_SPLIT    /* or lowmem, if higher */
#define PC_PCI_MEM_END   0xfec00000ULL
#define PC_PCI_IO_START  0xc000
#define PC_PCI_IO_END    0x10000

typedef struct PCMachine PCMachine;

/*
 * What differs between accelerators (include/system/accel.h) in building
 * and running the pc: the KVM ops live in pc.c, the qtest ops in
 * pc-qtest.c. The machine calls them in this order:
 *   init      before RAM: open the VM, create the interrupt controllers;
 *             set PCMachine's msi_* and ioeventfd_* for the PCI bus
 *   map_ram   RAM allocated: make it the guest's (KVM memory slots)
 *   set_irq   an ISA line (GSI 0-15) changes level (opaque: the machine)
 *   start     devices realized, kernel loaded: the vCPUs, their boot
 *             state, and the platform's migration sections
 *   reset     system reset, before the devices reset
 *   boot      after reset reloaded the kernel
 *   stop      teardown, before the devices go (the vCPUs end)
 *   destroy   teardown, after the devices went
 */
typedef struct PCAccelOps {
    bool needs_kernel;          /* no firmware: vCPUs must boot something */
    bool (*init)(PCMachine *pcms, Error **errp);
    bool (*map_ram)(PCMachine *pcms, Error **errp);
    void (*set_irq)(void *opaque, unsigned n, bool level);
    bool (*start)(PCMachine *pcms, Error **errp);
    bool (*reset)(PCMachine *pcms, Error **errp);
    bool (*boot)(PCMachine *pcms, Error **errp);
    void (*stop)(PCMachine *pcms);
    void (*destroy)(PCMachine *pcms);
} PCAccelOps;

extern const PCAccelOps pc_qtest_accel_ops;     /* hw/i386/pc-qtest.c */

typedef struct PCMachineConfig {
    uint64_t ram_size;
    unsigned smp_cpus;
    const char *kernel;
    const char *initrd;             /* NULL if none */
    const char *append;             /* NULL if none */
    Chardev *serial[PC_MAX_SERIAL]; /* NULL = no UART there */
    KvmOptions kvm;
    bool debug_threads;
    /* -machine memory-backend=ID (NULL: RAM of its own,
     * PC_DEFAULT_RAM_ID), and
     * whether -m was given (include/system/memory-backend.h). */
    const char *memory_backend;
    bool ram_size_given;
    bool dump_guest_core;           /* -machine dump-guest-core */
    AccelKind accel;                /* ACCEL_KVM or ACCEL_QTEST */
    /* -incoming given: the guest comes by migration, so no -kernel is
     * needed (QEMU's functional tests start destinations without one). */
    bool incoming;
} PCMachineConfig;

struct PCMachine {
    PCMachineConfig cfg;
    const PCAccelOps *accel;
    KvmState kvm;
    GuestMemory mem;
    E820Table e820;
    uint64_t ram_below_4g;          /* RAM from 0 up to here (lowmem) */
    IoBus pio;
    IoBus mmio;
    KvmIrqchipState irqchip_reset_state;
    uint8_t *kernel_image;          /* kept to reload it on reset */
    size_t kernel_size;
    X86BootState boot;
    /* The bus every device of the registry (include/hw/core/qdev.h)
     * plugs into; its devices are deleted with the machine. */
    IsaBus isa_bus;
    bool isa_bus_registered;
    /* PCI: the host (config ports, bus pci.0), its MSI delivery through
     * KVM, and the ISA bridge that routes INTx. */
    PciHostState pci_host;
    const PciMsiOps *msi_ops;           /* set by accel->init */
    void *msi_opaque;
    const PciIoeventfdOps *ioeventfd_ops;   /* NULL: doorbells are MMIO */
    void *ioeventfd_opaque;
    KvmMsiRouter *msi_router;
    /* Under qtest: the interrupt line model, MSI into RAM. */
    struct QtestIrqState *qtest_irq;
    PIIX3State *piix3;
    /* The UARTs by index, whether -serial or -device made them (owned by
     * the registry; kept for migration order and tests). */
    SerialState *serial[PC_MAX_SERIAL];
    Port61State *port61;
    /* Migration: the buffers of the sections that are not a device's own
     * struct, and whether everything is in savevm_default(). */
    KvmIrqchipMigration irqchip_migration;
    KvmClockState *kvmclock;
    X86CPUMigration **cpu_migration;    /* [cfg.smp_cpus] */
    bool vmstate_registered;
};

/* Creates everything; the vCPUs exist, parked, with the kernel loaded
 * (under qtest: no vCPUs, and the kernel only if one was given). */
PCMachine *pc_machine_new(const PCMachineConfig *cfg, Error **errp);
/* The machine of this process (NULL before it exists). */
PCMachine *pc_machine_current(void);

/* Back to the just-booted state; vCPUs must be paused. A VM started
 * without -kernel cannot be reset (no firmware to reboot through). */
bool pc_machine_reset(PCMachine *pcms, Error **errp);
/* Whether the vCPUs have a guest to run: a kernel, or migrated state. */
bool pc_machine_can_run(PCMachine *pcms, Error **errp);
void pc_machine_free(PCMachine *pcms);

#endif
