/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MSI messages as RAM writes under qtest (see include/hw/i386/qtest-msi.h).
 */
#include <inttypes.h>
#include "hw/i386/qtest-msi.h"
#include "trace.h"

static bool qtest_msi_send(void *opaque, PciMsiMessage msg, Error **errp)
{
    GuestMemory *mem = opaque;
    uint32_t data = msg.data;   /* little-endian, as the guest sees it */

    if (!guest_memory_host_ptr(mem, msg.address, sizeof(data))) {
        trace_qtest_msi_drop(msg.address, msg.data);
        error_setg(errp, "MSI write to 0x%" PRIx64 " is not RAM (under qtest "
                   "MSI reaches RAM only)", msg.address);
        return false;
    }
    trace_qtest_msi_write(msg.address, msg.data);
    return guest_memory_write(mem, msg.address, &data, sizeof(data), errp);
}

const PciMsiOps qtest_msi_ops = {
    .send = qtest_msi_send,
};
