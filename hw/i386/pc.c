/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pc machine (layout in include/hw/i386/pc.h): builds the VM in
 * dependency order (accelerator: KVM and its irqchip, RAM, devices,
 * kernel, vCPUs; the accelerator's part through PCAccelOps, the KVM one
 * here and the qtest one in pc-qtest.c), and puts
 * it back to its just-booted state on reset by restoring the state each
 * part had at creation and loading the kernel again. Every device and
 * vCPU is registered for migration in savevm_default() once it exists.
 */
#include <stdio.h>
#include <string.h>
#include "hw/core/loader.h"
#include "hw/i386/kvm-ioeventfd.h"
#include "hw/i386/pc.h"
#include "hw/pci/pci-firmware.h"
#include "system/memory-backend.h"
#include "system/cpus.h"
#include "target/i386/cpu.h"
#include "trace.h"

#define PC_EBDA_START       0x9fc00ULL
#define PC_BIOS_START       0xf0000ULL
#define PC_KVM_RESERVED     0xfeffc000ULL
#define PC_KVM_RESERVED_SIZE 0x4000ULL
#define PC_HIGHMEM_START    0x100000000ULL

static PCMachine *pc_current;

PCMachine *pc_machine_current(void)
{
    return pc_current;
}

static void pc_set_isa_irq(void *opaque, unsigned n, bool level)
{
    PCMachine *pcms = opaque;

    kvm_set_irq_line(&pcms->kvm, n, level);
}

static bool pc_memory_init(PCMachine *pcms, Error **errp)
{
    MachineRamSpec spec;
    uint64_t ram, lowmem, highmem;
    g_autofree char *high_name = NULL;
    E820Table *e = &pcms->e820;
    RamBlock *b;

    if (!memory_backend_machine_ram(pcms->cfg.memory_backend,
                                    PC_DEFAULT_RAM_ID,
                                    pcms->cfg.ram_size,
                                    pcms->cfg.ram_size_given,
                                    pcms->cfg.dump_guest_core, &spec, errp)) {
        return false;
    }
    ram = pcms->cfg.ram_size = spec.size;
    if (ram < PC_MIN_RAM_SIZE) {
        error_setg(errp, "memory backend '%s' is too small: the pc machine "
                   "needs at least %llu MiB", spec.name, PC_MIN_RAM_SIZE >> 20);
        return false;
    }
    lowmem = ram < PC_LOWMEM_ALL_BELOW ? ram : PC_LOWMEM_SPLIT;
    pcms->ram_below_4g = lowmem;
    highmem = ram - lowmem;
    high_name = g_strdup_printf("%s.high", spec.name);
    if (!(b = guest_memory_add_ram(&pcms->mem, spec.name, 0, lowmem, errp)) ||
        !memory_backend_apply(&spec, b, errp)) {
        return false;
    }
    if (highmem &&
        (!(b = guest_memory_add_ram(&pcms->mem, high_name, PC_HIGHMEM_START,
                                    highmem, errp)) ||
         !memory_backend_apply(&spec, b, errp))) {
        return false;
    }
    e820_add(e, 0, PC_EBDA_START, E820_RAM);
    e820_add(e, PC_EBDA_START, 0xa0000 - PC_EBDA_START, E820_RESERVED);
    e820_add(e, PC_BIOS_START, 0x100000 - PC_BIOS_START, E820_RESERVED);
    e820_add(e, 0x100000, lowmem - 0x100000, E820_RAM);
    e820_add(e, PC_KVM_RESERVED, PC_KVM_RESERVED_SIZE, E820_RESERVED);
    if (highmem) {
        e820_add(e, PC_HIGHMEM_START, highmem, E820_RAM);
    }
    return pcms->accel->map_ram(pcms, errp);
}

/* The ISA bus: the port I/O space and the in-kernel PIC/IOAPIC lines. */
static bool pc_isa_bus_init(PCMachine *pcms, Error **errp)
{
    pcms->isa_bus = (IsaBus) {
        .bus = { .name = "isa.0", .kind = BUS_KIND_ISA },
        .pio = &pcms->pio,
        .set_irq = pcms->accel->set_irq,
        .irq_opaque = pcms,
    };
    if (!qdev_bus_register(&pcms->isa_bus.bus, errp)) {
        return false;
    }
    pcms->isa_bus_registered = true;
    return true;
}

/* A machine device on pci.0 at addr (created here, not by -device). */
static DeviceState *pc_pci_builtin(PCMachine *pcms, const char *type,
                                   const char *addr, bool multifunction,
                                   Error **errp)
{
    DeviceState *dev = qdev_new(type, errp);

    if (!dev) {
        return NULL;
    }
    if (!qdev_set_prop(dev, "addr", addr, errp) ||
        (multifunction &&
         !qdev_set_prop(dev, "multifunction", "on", errp))) {
        qdev_delete(dev);
        return NULL;
    }
    if (!strcmp(type, TYPE_PIIX3_DEVICE)) {
        ((PIIX3State *)dev)->isa = &pcms->isa_bus;
    }
    return qdev_realize(dev, &pcms->pci_host.bus.bus, errp) ? dev : NULL;
}

/* The PCI host and bus, the host bridge at 00.0 and the PIIX3 at 01.0
 * (multi-function, as QEMU's), before any -device is realized, so that
 * -device functions without addr= land from slot 2 on. */
static bool pc_pci_init(PCMachine *pcms, Error **errp)
{
    DeviceState *piix3;

    if (!pci_host_init(&pcms->pci_host, &pcms->pio, &pcms->mmio, &pcms->mem,
                       savevm_default(), pcms->msi_ops, pcms->msi_opaque,
                       errp) ||
        !pc_pci_builtin(pcms, TYPE_I440FX_PCI_DEVICE, "0", false, errp) ||
        !(piix3 = pc_pci_builtin(pcms, TYPE_PIIX3_DEVICE, "1", true,
                                 errp))) {
        return false;
    }
    pcms->pci_host.bus.ioeventfd_ops = pcms->ioeventfd_ops;
    pcms->pci_host.bus.ioeventfd_opaque = pcms->ioeventfd_opaque;
    pcms->piix3 = (PIIX3State *)piix3;
    return true;
}

static int pc_pirq_irq(void *opaque, unsigned pirq)
{
    PCMachine *pcms = opaque;

    return piix3_pirq_irq(pcms->piix3, pirq);
}

/* The BIOS's part (include/hw/pci/pci-firmware.h): at start and at
 * every reset. */
static void pc_pci_firmware(PCMachine *pcms)
{
    const PciFirmwareLayout layout = {
        .io_base = PC_PCI_IO_START, .io_end = PC_PCI_IO_END,
        .mem_base = MAX(PC_PCI_MEM_START, pcms->ram_below_4g),
        .mem_end = PC_PCI_MEM_END,
        .pirq_irq = pc_pirq_irq, .opaque = pcms,
    };

    pci_firmware_setup(&pcms->pci_host.bus, &layout);
}

/* PCI interrupts are level-triggered and shared: mark the PIRQ targets
 * level in the PIC's ELCR, as the BIOS would (the IOAPIC's trigger mode
 * is the guest's to program). */
static void pc_irqchip_pci_levels(KvmIrqchipState *st)
{
    static const uint8_t irqs[PCI_INTX_PINS] = PIIX3_DEFAULT_PIRQ_IRQS;

    for (unsigned i = 0; i < PCI_INTX_PINS; i++) {
        if (irqs[i] >= 8) {
            st->pic_slave.chip.pic.elcr |= 1u << (irqs[i] - 8);
        } else {
            st->pic_master.chip.pic.elcr |= 1u << irqs[i];
        }
    }
}

/* One isa-serial per -serial, COM1 first, through the device registry. */
static bool pc_serial_init(PCMachine *pcms, Error **errp)
{
    for (unsigned i = 0; i < PC_MAX_SERIAL; i++) {
        Chardev *chr = pcms->cfg.serial[i];
        g_autofree char *index = g_strdup_printf("%u", i);
        DeviceState *dev;

        if (!chr) {
            continue;
        }
        dev = qdev_new(TYPE_ISA_SERIAL, errp);
        if (!dev) {
            return false;
        }
        if (!qdev_set_prop(dev, "index", index, errp) ||
            !qdev_set_prop(dev, "chardev", chr->id, errp)) {
            qdev_delete(dev);
            return false;
        }
        if (!qdev_realize(dev, &pcms->isa_bus.bus, errp)) {
            return false;
        }
    }
    return true;
}

/* -device: created (and checked) while the command line was parsed;
 * wired now that the buses exist. The UARTs, whoever made them, are
 * migrated by index (pc_vmstate_step). */
static bool pc_devices_init(PCMachine *pcms, Error **errp)
{
    if (!qdev_realize_pending(errp) ||
        !pci_bus_check(&pcms->pci_host.bus, errp)) {
        return false;
    }
    for (unsigned i = 0; i < PC_MAX_SERIAL; i++) {
        pcms->serial[i] = isa_serial_find(i);
    }
    pc_pci_firmware(pcms);
    return true;
}

/* A multiboot header lies within the first 8 KiB; a bzImage's at 0x1f1. */
#define PC_KERNEL_HEADER_SIZE  8192

static bool pc_kernel_header_check(const uint8_t *head, size_t len,
                                   void *opaque, Error **errp)
{
    const char *path = opaque;

    if (multiboot_probe(head, len) || linux_boot_probe(head, len)) {
        return true;
    }
    error_setg(errp, "kernel '%s' is neither a multiboot image nor a Linux "
               "bzImage", path);
    return false;
}

/* Before KVM is opened: a bad -kernel is reported at once. */
static bool pc_read_kernel(PCMachine *pcms, Error **errp)
{
    const LoaderImageSpec spec = {
        .what = "kernel",
        .max_size = pcms->cfg.ram_size,
        .header_size = PC_KERNEL_HEADER_SIZE,
        .check = pc_kernel_header_check,
        .opaque = (void *)pcms->cfg.kernel,
    };

    return loader_read_image(pcms->cfg.kernel, &spec, &pcms->kernel_image,
                             &pcms->kernel_size, errp);
}

/* The PCI pins for the MP table, each where the PIIX3 routes it now;
 * functions of one slot share its pins, so each (slot, pin) once. */
static unsigned pc_mptable_pci(PCMachine *pcms, MPTablePciIntx *out)
{
    uint8_t seen[PCI_SLOT_MAX] = { 0 };
    unsigned n = 0;

    for (unsigned devfn = 0; devfn < PCI_SLOT_MAX * PCI_FUNC_MAX; devfn++) {
        PCIDevice *dev = pci_bus_find(&pcms->pci_host.bus, devfn);
        unsigned slot = PCI_SLOT(devfn), pin;
        int irq;

        if (!dev || !(pin = dev->config[PCI_INTERRUPT_PIN]) ||
            (seen[slot] & (1u << pin)) || (irq = pci_intx_gsi(dev)) < 0) {
            continue;
        }
        seen[slot] |= 1u << pin;
        out[n++] = (MPTablePciIntx) { .slot = slot, .pin = pin, .irq = irq };
    }
    return n;
}

/* Loads the kernel into RAM and decides where vCPU 0 starts. */
static bool pc_load_kernel(PCMachine *pcms, Error **errp)
{
    X86BootInput in = {
        .mem = &pcms->mem,
        .e820 = &pcms->e820,
        .ram_size = pcms->cfg.ram_size,
        .smp_cpus = pcms->cfg.smp_cpus,
        .kernel_path = pcms->cfg.kernel,
        .initrd_path = pcms->cfg.initrd,
        .cmdline = pcms->cfg.append ? pcms->cfg.append : "",
    };
    const uint8_t *img = pcms->kernel_image;
    size_t size = pcms->kernel_size;
    MPTablePciIntx pci[MPTABLE_MAX_PCI_INTX];
    unsigned nr_pci;

    if (!img) {
        return true;    /* qtest without -kernel: RAM stays as it is */
    }
    nr_pci = pc_mptable_pci(pcms, pci);
    if (!mptable_write(&pcms->mem, pcms->cfg.smp_cpus, pci, nr_pci, errp)) {
        return false;
    }
    if (multiboot_probe(img, size)) {
        return multiboot_load(&in, img, size, &pcms->boot, errp);
    }
    /* pc_kernel_header_check() let only these two formats in. */
    return linux_boot_load(&in, img, size, &pcms->boot, errp);
}

static bool pc_boot_cpu(PCMachine *pcms, Error **errp)
{
    if (!pcms->kernel_image) {
        /* A destination without -kernel: its vCPUs wait for migrated
         * state and never run without it (pc_machine_can_run). */
        return true;
    }
    return x86_cpu_set_boot_state(&cpus_get(0)->kvm, &pcms->boot, errp);
}

/*
 * Without firmware, a VM started without -kernel has nothing of its own
 * to run: only a migration (or a COLO checkpoint) gives its vCPUs a
 * guest. Until one has, its vCPUs must not start.
 */
bool pc_machine_can_run(PCMachine *pcms, Error **errp)
{
    if (pcms->kernel_image || !pcms->accel->needs_kernel ||
        (pcms->cpu_migration && pcms->cpu_migration[0]->loaded)) {
        return true;
    }
    error_setg(errp, "nothing to run: this VM was started without -kernel "
               "and no migration has brought a guest in");
    return false;
}

/*
 * The machine's migration sections, in save (and load) order: the
 * interrupt controllers and PIT, port 0x61, the UARTs (instance = port
 * index), the vCPUs (instance = vCPU index), and kvmclock last so that its
 * KVM_SET_CLOCK comes after the vCPUs' TSCs are restored. Step n registers
 * (or unregisters) one of them; absent UARTs are steps that do nothing.
 */
enum {
    PC_VMSTATE_IRQCHIP,
    PC_VMSTATE_PORT61,
    PC_VMSTATE_SERIAL0,
    PC_VMSTATE_CPU0 = PC_VMSTATE_SERIAL0 + PC_MAX_SERIAL,
};

static unsigned pc_vmstate_steps(PCMachine *pcms)
{
    return PC_VMSTATE_CPU0 + pcms->cfg.smp_cpus + 1;   /* + kvmclock */
}

static bool pc_vmstate_step(PCMachine *pcms, unsigned step, bool add,
                            Error **errp)
{
    SaveVMState *sv = savevm_default();
    unsigned kvmclock_step = pc_vmstate_steps(pcms) - 1;

    if (step == PC_VMSTATE_IRQCHIP) {
        if (!add) {
            kvm_irqchip_vmstate_unregister(sv);
            return true;
        }
        return kvm_irqchip_vmstate_register(sv, &pcms->irqchip_migration,
                                            errp);
    }
    if (step == PC_VMSTATE_PORT61) {
        if (!add) {
            port61_vmstate_unregister(sv);
            return true;
        }
        return port61_vmstate_register(pcms->port61, sv, errp);
    }
    if (step < PC_VMSTATE_CPU0) {
        unsigned i = step - PC_VMSTATE_SERIAL0;

        if (!pcms->serial[i]) {
            return true;
        }
        if (!add) {
            serial_vmstate_unregister(pcms->serial[i], sv, i);
            return true;
        }
        return serial_vmstate_register(pcms->serial[i], sv, i, errp);
    }
    if (step < kvmclock_step) {
        X86CPUMigration *m = pcms->cpu_migration[step - PC_VMSTATE_CPU0];

        if (!add) {
            x86_cpu_vmstate_unregister(sv, m);
            return true;
        }
        return x86_cpu_vmstate_register(sv, m, errp);
    }
    if (!add) {
        kvmclock_vmstate_unregister(sv);
        return true;
    }
    return kvmclock_vmstate_register(sv, pcms->kvmclock, errp);
}

/* Unregisters steps [0, n). */
static void pc_vmstate_unregister(PCMachine *pcms, unsigned n)
{
    while (n--) {
        pc_vmstate_step(pcms, n, false, NULL);
    }
}

static bool pc_vmstate_register(PCMachine *pcms, Error **errp)
{
    unsigned n = pc_vmstate_steps(pcms);

    pcms->irqchip_migration.kvm = &pcms->kvm;
    pcms->kvmclock = kvmclock_new(&pcms->kvm);
    pcms->cpu_migration = g_new0(X86CPUMigration *, pcms->cfg.smp_cpus);
    for (unsigned i = 0; i < pcms->cfg.smp_cpus; i++) {
        pcms->cpu_migration[i] = x86_cpu_migration_new(&cpus_get(i)->kvm);
    }
    for (unsigned step = 0; step < n; step++) {
        if (!pc_vmstate_step(pcms, step, true, errp)) {
            /* Only what we registered: a failed step may have collided
             * with an entry that is someone else's. */
            pc_vmstate_unregister(pcms, step);
            return false;
        }
    }
    pcms->vmstate_registered = true;
    return true;
}

/* ---- the KVM accelerator's part (PCAccelOps, pc.h) ---- */

static bool pc_kvm_init(PCMachine *pcms, Error **errp)
{
    if (!kvm_init(&pcms->kvm, &pcms->cfg.kvm, errp) ||
        !kvm_create_irqchip(&pcms->kvm, errp) ||
        !(pcms->port61 = port61_new(&pcms->pio, &pcms->kvm, errp))) {
        return false;
    }
    pcms->msi_router = kvm_msi_router_new(&pcms->kvm);
    pcms->msi_ops = &kvm_msi_ops;
    pcms->msi_opaque = pcms->msi_router;
    pcms->ioeventfd_ops = &kvm_ioeventfd_ops;
    pcms->ioeventfd_opaque = &pcms->kvm;
    return true;
}

static bool pc_kvm_map_ram(PCMachine *pcms, Error **errp)
{
    return kvm_register_memory(&pcms->kvm, &pcms->mem, errp);
}

static bool pc_kvm_start(PCMachine *pcms, Error **errp)
{
    CpusConfig cpus_cfg = {
        .kvm = &pcms->kvm,
        .pio = &pcms->pio,
        .mmio = &pcms->mmio,
        .nr_cpus = pcms->cfg.smp_cpus,
        .debug_threads = pcms->cfg.debug_threads,
    };

    if (!cpus_create(&cpus_cfg, errp) ||
        !kvm_irqchip_get_state(&pcms->kvm, &pcms->irqchip_reset_state,
                               errp)) {
        return false;
    }
    pc_irqchip_pci_levels(&pcms->irqchip_reset_state);
    return kvm_irqchip_put_state(&pcms->kvm, &pcms->irqchip_reset_state,
                                 errp) &&
           pc_boot_cpu(pcms, errp) &&
           pc_vmstate_register(pcms, errp);
}

static bool pc_kvm_reset(PCMachine *pcms, Error **errp)
{
    if (!cpus_reset_all(errp) ||
        !kvm_irqchip_put_state(&pcms->kvm, &pcms->irqchip_reset_state,
                               errp)) {
        return false;
    }
    port61_reset(pcms->port61);
    return true;
}

static void pc_kvm_stop(PCMachine *pcms)
{
    if (pcms->vmstate_registered) {
        pc_vmstate_unregister(pcms, pc_vmstate_steps(pcms));
        pcms->vmstate_registered = false;
    }
    for (unsigned i = 0; pcms->cpu_migration && i < pcms->cfg.smp_cpus;
         i++) {
        x86_cpu_migration_free(pcms->cpu_migration[i]);
    }
    g_free(pcms->cpu_migration);
    kvmclock_free(pcms->kvmclock);
    if (cpus_count()) {
        cpus_destroy();
    }
}

static void pc_kvm_destroy(PCMachine *pcms)
{
    kvm_msi_router_free(pcms->msi_router);
    pcms->msi_router = NULL;
    g_free(pcms->port61);
    if (pcms->kvm.kvm_fd > 0) {
        kvm_destroy(&pcms->kvm);
    }
}

static const PCAccelOps pc_kvm_accel_ops = {
    .needs_kernel = true,
    .init = pc_kvm_init,
    .map_ram = pc_kvm_map_ram,
    .set_irq = pc_set_isa_irq,
    .start = pc_kvm_start,
    .reset = pc_kvm_reset,
    .boot = pc_boot_cpu,
    .stop = pc_kvm_stop,
    .destroy = pc_kvm_destroy,
};

/* ---- the machine ---- */

PCMachine *pc_machine_new(const PCMachineConfig *cfg, Error **errp)
{
    PCMachine *pcms = g_new0(PCMachine, 1);

    pcms->cfg = *cfg;
    pcms->accel = cfg->accel == ACCEL_QTEST ? &pc_qtest_accel_ops
                                            : &pc_kvm_accel_ops;
    pcms->pio.name = "pio";
    pcms->mmio.name = "mmio";
    if (!pcms->cfg.kernel && pcms->accel->needs_kernel &&
        !pcms->cfg.incoming) {
        error_setg(errp, "no kernel given: Tandem has no firmware and boots "
                   "a multiboot image or Linux bzImage with -kernel (a "
                   "migration destination, -incoming, needs none)");
        goto fail;
    }
    if ((pcms->cfg.kernel && !pc_read_kernel(pcms, errp)) ||
        !pcms->accel->init(pcms, errp) ||
        !pc_memory_init(pcms, errp) ||
        !pc_isa_bus_init(pcms, errp) ||
        !pc_pci_init(pcms, errp) ||
        !pc_serial_init(pcms, errp) ||
        !pc_devices_init(pcms, errp) ||
        !pc_load_kernel(pcms, errp) ||
        !pcms->accel->start(pcms, errp)) {
        goto fail;
    }
    trace_pc_machine_new(cfg->ram_size, cfg->smp_cpus);
    pc_current = pcms;
    return pcms;

fail:
    pc_machine_free(pcms);
    return NULL;
}

bool pc_machine_reset(PCMachine *pcms, Error **errp)
{
    trace_pc_machine_reset();
    if (!pcms->kernel_image && pcms->accel->needs_kernel) {
        /* QEMU would run its firmware, which finds nothing to boot. */
        error_setg(errp, "no kernel to boot: this VM was started without "
                   "-kernel (its guest came by migration) and Tandem has no "
                   "firmware; the guest stays stopped");
        return false;
    }
    if (!pcms->accel->reset(pcms, errp)) {
        return false;
    }
    qdev_reset_all();
    pci_host_reset(&pcms->pci_host);
    pc_pci_firmware(pcms);
    return pc_load_kernel(pcms, errp) && pcms->accel->boot(pcms, errp);
}

void pc_machine_free(PCMachine *pcms)
{
    if (!pcms) {
        return;
    }
    if (pc_current == pcms) {
        pc_current = NULL;
    }
    pcms->accel->stop(pcms);
    /* The PCI functions go with their bus (the PIIX3 lowers its IRQs
     * while KVM still exists), then the ISA devices with theirs (the
     * UARTs among them). */
    pci_host_cleanup(&pcms->pci_host);
    pcms->piix3 = NULL;
    if (pcms->isa_bus_registered) {
        qdev_bus_unregister(&pcms->isa_bus.bus);
    }
    memset(pcms->serial, 0, sizeof(pcms->serial));
    pcms->accel->destroy(pcms);
    guest_memory_free(&pcms->mem);
    io_bus_free(&pcms->pio);
    io_bus_free(&pcms->mmio);
    g_free(pcms->kernel_image);
    g_free(pcms);
}
