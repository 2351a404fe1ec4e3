/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * KVM_IOEVENTFD for PCI doorbells: see include/hw/i386/kvm-ioeventfd.h.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include "hw/i386/kvm-ioeventfd.h"
#include "trace.h"

static bool kvm_ioeventfd(KvmState *kvm, uint64_t addr, unsigned len, int fd,
                          bool assign, Error **errp)
{
    struct kvm_ioeventfd e = {
        .addr = addr, .len = len, .fd = fd,
        .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
    };

    trace_kvm_ioeventfd(addr, len, fd, assign);
    if (ioctl(kvm->vm_fd, KVM_IOEVENTFD, &e) < 0) {
        error_setg_errno(errp, errno, "KVM_IOEVENTFD %s fd %d at 0x%"
                         G_GINT64_MODIFIER "x (%u bytes) failed",
                         assign ? "assigning" : "deassigning", fd, addr, len);
        return false;
    }
    return true;
}

static bool kvm_ioeventfd_assign(void *opaque, uint64_t addr, unsigned len,
                                 int fd, Error **errp)
{
    return kvm_ioeventfd(opaque, addr, len, fd, true, errp);
}

static void kvm_ioeventfd_deassign(void *opaque, uint64_t addr, unsigned len,
                                   int fd)
{
    g_autoptr(Error) err = NULL;

    if (!kvm_ioeventfd(opaque, addr, len, fd, false, &err)) {
        trace_kvm_ioeventfd_error(error_get_pretty(err));
    }
}

const PciIoeventfdOps kvm_ioeventfd_ops = {
    .assign = kvm_ioeventfd_assign,
    .deassign = kvm_ioeventfd_deassign,
};
