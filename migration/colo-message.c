/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO control messages: the table of COLOMessage (name, value, direction)
 * and their encoding on a QEMUFile. Every message sent or received is
 * traced by name; a peer that sends an unknown or unexpected message gets
 * an error naming both, never an abort. Wire format:
 * include/migration/colo-message.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <glib.h>
#include "migration/colo-message.h"
#include "trace.h"

/* Index = wire value (QAPI COLOMessage order). */
static const ColoMessageInfo colo_messages[COLO_MESSAGE__MAX] = {
    /* be32 0 */
    [COLO_MESSAGE_CHECKPOINT_READY] = {
        .name = "checkpoint-ready", .dir = COLO_DIR_SVM_TO_PVM },
    /* be32 1 */
    [COLO_MESSAGE_CHECKPOINT_REQUEST] = {
        .name = "checkpoint-request", .dir = COLO_DIR_PVM_TO_SVM },
    /* be32 2 */
    [COLO_MESSAGE_CHECKPOINT_REPLY] = {
        .name = "checkpoint-reply", .dir = COLO_DIR_SVM_TO_PVM },
    /* be32 3 */
    [COLO_MESSAGE_VMSTATE_SEND] = {
        .name = "vmstate-send", .dir = COLO_DIR_PVM_TO_SVM },
    /* be32 4, be64 blob length */
    [COLO_MESSAGE_VMSTATE_SIZE] = {
        .name = "vmstate-size", .has_value = true,
        .dir = COLO_DIR_PVM_TO_SVM },
    /* be32 5 */
    [COLO_MESSAGE_VMSTATE_RECEIVED] = {
        .name = "vmstate-received", .dir = COLO_DIR_SVM_TO_PVM },
    /* be32 6 */
    [COLO_MESSAGE_VMSTATE_LOADED] = {
        .name = "vmstate-loaded", .dir = COLO_DIR_SVM_TO_PVM },
};

/* Tandem's own messages, outside QEMU's range. */
static const ColoMessageInfo colo_x_ram_presend = {
    .name = "x-ram-presend", .dir = COLO_DIR_PVM_TO_SVM,
};

static const ColoMessageInfo *colo_message_lookup(uint32_t id)
{
    if (id < COLO_MESSAGE__MAX) {
        return &colo_messages[id];
    }
    if (id == (uint32_t)COLO_MESSAGE_X_RAM_PRESEND) {
        return &colo_x_ram_presend;
    }
    return NULL;
}

const ColoMessageInfo *colo_message_info(ColoMessage msg)
{
    const ColoMessageInfo *info = colo_message_lookup(msg);

    g_assert(info);
    return info;
}

const char *colo_message_name(ColoMessage msg)
{
    const ColoMessageInfo *info = colo_message_lookup(msg);

    return info ? info->name : "unknown";
}

static bool colo_put(QEMUFile *f, ColoMessage msg, uint64_t value,
                     Error **errp)
{
    const ColoMessageInfo *info = colo_message_info(msg);

    qemu_put_be32(f, msg);
    if (info->has_value) {
        qemu_put_be64(f, value);
    }
    qemu_fflush(f);
    trace_colo_send_message(info->name, value, qemu_file_get_error(f, NULL));
    if (qemu_file_get_error(f, errp)) {
        error_prepend(errp, "COLO: sending %s: ", info->name);
        return false;
    }
    return true;
}

bool colo_send_message(QEMUFile *f, ColoMessage msg, Error **errp)
{
    g_assert(!colo_message_info(msg)->has_value);
    return colo_put(f, msg, 0, errp);
}

bool colo_send_message_value(QEMUFile *f, ColoMessage msg, uint64_t value,
                             Error **errp)
{
    g_assert(colo_message_info(msg)->has_value);
    return colo_put(f, msg, value, errp);
}

/* Turns f's sticky error into *errp, naming what we were waiting for. */
static bool colo_stream_ok(QEMUFile *f, ColoMessage expect, Error **errp)
{
    if (qemu_file_get_error(f, NULL)) {
        error_setg(errp, "COLO: receiving %s: %s", colo_message_name(expect),
                   qemu_file_error_message(f));
        return false;
    }
    return true;
}

bool colo_receive_one_of(QEMUFile *f, const ColoMessage *expect,
                         unsigned n, ColoMessage *got, uint64_t *value,
                         Error **errp)
{
    const ColoMessageInfo *want = colo_message_info(expect[0]);
    const ColoMessageInfo *info;
    uint32_t id = qemu_get_be32(f);
    uint64_t v = 0;
    unsigned i;

    if (!colo_stream_ok(f, expect[0], errp)) {
        return false;
    }
    info = colo_message_lookup(id);
    if (!info) {
        trace_colo_receive_unknown(id);
        qemu_file_set_error(f, -EINVAL, "COLO: unknown message 0x%" PRIx32,
                            id);
        error_setg(errp, "COLO: unknown message 0x%" PRIx32, id);
        return false;
    }
    for (i = 0; i < n && (uint32_t)expect[i] != id; i++) {
        /* look for it */
    }
    if (i == n) {
        trace_colo_receive_unexpected(info->name, want->name);
        qemu_file_set_error(f, -EPROTO, "COLO: expected %s, got %s",
                            want->name, info->name);
        error_setg(errp, "COLO: expected %s, got %s", want->name,
                   info->name);
        return false;
    }
    if (info->has_value) {
        g_assert(value);
        v = qemu_get_be64(f);
        if (!colo_stream_ok(f, expect[i], errp)) {
            return false;
        }
        *value = v;
    }
    if (got) {
        *got = expect[i];
    }
    trace_colo_receive_message(info->name, v);
    return true;
}

bool colo_receive_message(QEMUFile *f, ColoMessage expect, uint64_t *value,
                          Error **errp)
{
    return colo_receive_one_of(f, &expect, 1, NULL, value, errp);
}
