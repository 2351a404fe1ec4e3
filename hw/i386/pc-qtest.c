/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pc under the qtest accelerator (PCAccelOps, include/hw/i386/pc.h):
 * /dev/kvm is never opened. RAM is the machine's memfd memory, not
 * registered anywhere; ISA and PCI INTx lines go to the line model of
 * qtest-irq.c; MSI messages become RAM writes (qtest-msi.c); the PCI bus
 * has no ioeventfds, so virtio doorbells are ordinary MMIO writes handled
 * by the device at once. The -smp vCPUs exist only as objects, as in
 * QEMU's qtest, where they never run: query-cpus-fast and the QOM tree
 * (/machine/unattached/device[N]) show them, with the -cpu model's
 * features unfiltered (there is no KVM to filter against); there is no
 * KVM vCPU and no vCPU thread (run state changes only record the
 * state). There is no PIT and so no port 0x61 (it reads as 0xff, as
 * an unassigned port), no kvmclock, and the platform registers no
 * migration sections: migration is refused under qtest
 * (migration/migration.c) since there is no dirty log of a guest's
 * writes to need, nor a vCPU state to send. A -kernel is loaded if given
 * (a test may read it back), and reloaded on reset.
 */
#include "hw/i386/pc.h"
#include "hw/i386/qtest-irq.h"
#include "hw/i386/qtest-msi.h"
#include "system/cpus.h"
#include "target/i386/cpu-models.h"

/* What the vCPU objects report: the features -cpu asks for, none
 * filtered. "host" and "max" would take them from KVM, which is not
 * asked: they get only the explicit +feat choices (and hypervisor). */
static void pc_qtest_cpu_features(void)
{
    X86FeatureSet final, filtered = { 0 };

    x86_cpu_requested_features(x86_cpu_current_config(), NULL, final);
    x86_cpu_set_current_features(final, filtered);
}

static bool pc_qtest_init(PCMachine *pcms, Error **errp)
{
    pcms->qtest_irq = qtest_irq_new();
    pcms->msi_ops = &qtest_msi_ops;
    pcms->msi_opaque = &pcms->mem;
    pcms->ioeventfd_ops = NULL;
    pc_qtest_cpu_features();
    cpus_set_objects_only(pcms->cfg.smp_cpus);
    return true;
}

static bool pc_qtest_nothing(PCMachine *pcms, Error **errp)
{
    return true;
}

static void pc_qtest_set_irq(void *opaque, unsigned n, bool level)
{
    PCMachine *pcms = opaque;

    qtest_irq_set_isa(pcms->qtest_irq, n, level);
}

static void pc_qtest_stop(PCMachine *pcms)
{
}

static void pc_qtest_destroy(PCMachine *pcms)
{
    qtest_irq_free(pcms->qtest_irq);
    pcms->qtest_irq = NULL;
    cpus_set_objects_only(0);
}

const PCAccelOps pc_qtest_accel_ops = {
    .needs_kernel = false,
    .init = pc_qtest_init,
    .map_ram = pc_qtest_nothing,
    .set_irq = pc_qtest_set_irq,
    .start = pc_qtest_nothing,
    .reset = pc_qtest_nothing,
    .boot = pc_qtest_nothing,
    .stop = pc_qtest_stop,
    .destroy = pc_qtest_destroy,
};
