/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MSI on KVM (see include/hw/i386/kvm-msi.h): KVM_SIGNAL_MSI, the MSI
 * entries of the GSI routing table, and irqfds on them.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "hw/i386/kvm-msi.h"
#include "trace.h"

#define KVM_MSI_FIRST_GSI   24      /* after the IOAPIC's pins */

struct KvmMsiRouter {
    KvmState *kvm;
    unsigned max_gsi;               /* KVM_CAP_IRQ_ROUTING */
    GHashTable *routes;             /* gsi -> PciMsiMessage * */
};

KvmMsiRouter *kvm_msi_router_new(KvmState *kvm)
{
    KvmMsiRouter *r = g_new0(KvmMsiRouter, 1);
    int n = kvm_check_extension(kvm, KVM_CAP_IRQ_ROUTING);

    r->kvm = kvm;
    r->max_gsi = n > KVM_MSI_FIRST_GSI ? (unsigned)n : 0;
    r->routes = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    return r;
}

void kvm_msi_router_free(KvmMsiRouter *r)
{
    if (r) {
        g_hash_table_destroy(r->routes);
        g_free(r);
    }
}

static bool kvm_msi_send(void *opaque, PciMsiMessage msg, Error **errp)
{
    KvmMsiRouter *r = opaque;
    struct kvm_msi m = {
        .address_lo = (uint32_t)msg.address,
        .address_hi = msg.address >> 32,
        .data = msg.data,
    };
    int ret = ioctl(r->kvm->vm_fd, KVM_SIGNAL_MSI, &m);

    /* 0: the guest blocked it (e.g. a bad destination): not an error. */
    if (ret < 0) {
        error_setg_errno(errp, errno, "KVM_SIGNAL_MSI to 0x%" G_GINT64_MODIFIER
                         "x data 0x%x failed", msg.address, msg.data);
        return false;
    }
    return true;
}

static void kvm_msi_irqchip_entry(struct kvm_irq_routing_entry *e,
                                  unsigned gsi, unsigned chip, unsigned pin)
{
    *e = (struct kvm_irq_routing_entry) {
        .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
        .u.irqchip = { .irqchip = chip, .pin = pin },
    };
}

/* Writes the whole table: KVM's defaults, then every MSI route. */
static bool kvm_msi_commit(KvmMsiRouter *r, Error **errp)
{
    unsigned n = 16 * 2 + 8 + g_hash_table_size(r->routes);
    g_autofree struct kvm_irq_routing *t =
        g_malloc0(sizeof(*t) + n * sizeof(struct kvm_irq_routing_entry));
    struct kvm_irq_routing_entry *e = t->entries;
    GHashTableIter it;
    gpointer key, value;

    for (unsigned gsi = 0; gsi < 24; gsi++) {
        kvm_msi_irqchip_entry(e++, gsi, KVM_IRQCHIP_IOAPIC, gsi);
        if (gsi < 16) {
            kvm_msi_irqchip_entry(e++, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
                                                    : KVM_IRQCHIP_PIC_SLAVE,
                                  gsi % 8);
        }
    }
    g_hash_table_iter_init(&it, r->routes);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        PciMsiMessage *msg = value;

        *e++ = (struct kvm_irq_routing_entry) {
            .gsi = GPOINTER_TO_UINT(key), .type = KVM_IRQ_ROUTING_MSI,
            .u.msi = { .address_lo = (uint32_t)msg->address,
                       .address_hi = msg->address >> 32,
                       .data = msg->data },
        };
    }
    t->nr = e - t->entries;
    if (ioctl(r->kvm->vm_fd, KVM_SET_GSI_ROUTING, t) < 0) {
        error_setg_errno(errp, errno, "KVM_SET_GSI_ROUTING with %u entries "
                         "failed", t->nr);
        return false;
    }
    trace_kvm_msi_commit(t->nr);
    return true;
}

static int kvm_msi_route_add(void *opaque, PciMsiMessage msg, Error **errp)
{
    KvmMsiRouter *r = opaque;

    for (unsigned gsi = KVM_MSI_FIRST_GSI; gsi < r->max_gsi; gsi++) {
        if (g_hash_table_contains(r->routes, GUINT_TO_POINTER(gsi))) {
            continue;
        }
        g_hash_table_insert(r->routes, GUINT_TO_POINTER(gsi),
                            g_memdup2(&msg, sizeof(msg)));
        if (!kvm_msi_commit(r, errp)) {
            g_hash_table_remove(r->routes, GUINT_TO_POINTER(gsi));
            return -1;
        }
        return gsi;
    }
    error_setg(errp, "no free GSI for an MSI route (KVM allows %u)",
               r->max_gsi);
    return -1;
}

static bool kvm_msi_route_update(void *opaque, int gsi, PciMsiMessage msg,
                                 Error **errp)
{
    KvmMsiRouter *r = opaque;
    PciMsiMessage *cur = g_hash_table_lookup(r->routes,
                                             GUINT_TO_POINTER(gsi));

    g_assert(cur);
    if (cur->address == msg.address && cur->data == msg.data) {
        return true;
    }
    *cur = msg;
    return kvm_msi_commit(r, errp);
}

static void kvm_msi_route_del(void *opaque, int gsi)
{
    KvmMsiRouter *r = opaque;
    g_autoptr(Error) err = NULL;

    if (g_hash_table_remove(r->routes, GUINT_TO_POINTER(gsi)) &&
        !kvm_msi_commit(r, &err)) {
        /* The GSI stays routed in KVM until the next commit; nothing
         * raises it any more. */
        trace_kvm_msi_error(error_get_pretty(err));
    }
}

static bool kvm_msi_irqfd(KvmMsiRouter *r, int gsi, int fd, bool assign,
                          Error **errp)
{
    struct kvm_irqfd irqfd = {
        .fd = fd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
    };

    if (ioctl(r->kvm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
        error_setg_errno(errp, errno, "KVM_IRQFD %s fd %d on GSI %d failed",
                         assign ? "assigning" : "deassigning", fd, gsi);
        return false;
    }
    return true;
}

static bool kvm_msi_irqfd_add(void *opaque, int gsi, int fd, Error **errp)
{
    return kvm_msi_irqfd(opaque, gsi, fd, true, errp);
}

static void kvm_msi_irqfd_del(void *opaque, int gsi, int fd)
{
    g_autoptr(Error) err = NULL;

    if (!kvm_msi_irqfd(opaque, gsi, fd, false, &err)) {
        trace_kvm_msi_error(error_get_pretty(err));
    }
}

const PciMsiOps kvm_msi_ops = {
    .send = kvm_msi_send,
    .route_add = kvm_msi_route_add,
    .route_update = kvm_msi_route_update,
    .route_del = kvm_msi_route_del,
    .irqfd_add = kvm_msi_irqfd_add,
    .irqfd_del = kvm_msi_irqfd_del,
};
