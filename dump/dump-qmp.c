/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP dump-guest-memory, query-dump and
 * query-dump-guest-memory-capability: QEMU 7.2's arguments, checks in
 * its order and its words; the dump itself is dump/dump.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "dump/dump.h"
#include "monitor/monitor.h"
#include "qapi/qapi-commands.h"
#include "system/runstate.h"
#include "util/fdset.h"

/* "fd:NAME" or "file:PATH" to an fd the dump will own; -1 with errp. */
static int dump_open_protocol(const char *protocol, Error **errp)
{
    const char *arg;
    int fd;

    if ((arg = g_str_has_prefix(protocol, "fd:") ? protocol + 3 : NULL)) {
        fd = monitor_take_named_fd(arg, NULL);
        if (fd < 0) {
            error_setg(errp, "File descriptor named '%s' has not been found",
                       arg);
        }
        return fd;
    }
    if ((arg = g_str_has_prefix(protocol, "file:") ? protocol + 5 : NULL)) {
        /* Read-only for the owner, as QEMU creates its dumps. */
        fd = fdset_open(arg, O_WRONLY | O_CREAT | O_TRUNC, S_IRUSR);
        if (fd < 0) {
            error_setg_errno(errp, errno, "Could not open '%s'", arg);
        }
        return fd;
    }
    error_setg(errp, "Invalid parameter 'protocol'");
    return -1;
}

void qmp_dump_guest_memory(bool paging, const char *protocol,
                           bool has_detach, bool detach, bool has_begin,
                           int64_t begin, bool has_length, int64_t length,
                           bool has_format, DumpGuestMemoryFormat format,
                           Error **errp)
{
    DumpState *ds = dump_current();
    DumpRequest req = {
        .paging = paging,
        .detach = has_detach && detach,
        .filter = has_begin,
        .begin = begin,
        .length = length,
        .format = has_format ? format : DUMP_GUEST_MEMORY_FORMAT_ELF,
    };
    int fd;

    if (runstate_get() == RUN_STATE_INMIGRATE) {
        error_setg(errp, "Dump not allowed during incoming migration.");
        return;
    }
    if (dump_in_progress(ds)) {
        error_setg(errp, "There is a dump in process, please wait.");
        return;
    }
    /* QEMU says "kdump-compressed" for win-dmp too, and checks this
     * before whether begin and length come as a pair. */
    if (req.format != DUMP_GUEST_MEMORY_FORMAT_ELF &&
        (paging || has_begin || has_length)) {
        error_setg(errp, "kdump-compressed format doesn't support paging or "
                   "filter");
        return;
    }
    /* Tandem writes no kdump-compressed format: QEMU's words for a
     * format its build lacks. */
    switch (req.format) {
    case DUMP_GUEST_MEMORY_FORMAT_KDUMP_ZLIB:
    case DUMP_GUEST_MEMORY_FORMAT_KDUMP_LZO:
    case DUMP_GUEST_MEMORY_FORMAT_KDUMP_SNAPPY:
        error_setg(errp, "%s is not available now",
                   DumpGuestMemoryFormat_str(req.format));
        return;
    default:
        break;
    }
    if (has_begin && !has_length) {
        error_setg(errp, "Parameter 'length' is missing");
        return;
    }
    if (!has_begin && has_length) {
        error_setg(errp, "Parameter 'begin' is missing");
        return;
    }
    fd = dump_open_protocol(protocol, errp);
    if (fd < 0) {
        return;
    }
    dump_start(ds, fd, &req, errp);
}

DumpQueryResult *qmp_query_dump(Error **errp)
{
    return dump_query(dump_current());
}

DumpGuestMemoryCapability *qmp_query_dump_guest_memory_capability(
    Error **errp)
{
    DumpGuestMemoryCapability *cap = g_new0(DumpGuestMemoryCapability, 1);

    /* Only what works: libvirt refuses --format for anything else. */
    cap->formats = g_new0(DumpGuestMemoryFormatList, 1);
    cap->formats->value = DUMP_GUEST_MEMORY_FORMAT_ELF;
    return cap;
}
