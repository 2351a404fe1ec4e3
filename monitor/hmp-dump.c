/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP dump-guest-memory and info dump, in QEMU 7.2's syntax and words,
 * over the QMP commands of dump/dump-qmp.c.
 *
 *   dump-guest-memory [-p] [-d] [-z|-l|-s|-w] filename [begin length]
 *     -p paging, -d detach (return at once; info dump shows progress),
 *     -z/-l/-s kdump-zlib/lzo/snappy, -w win-dmp (all refused by QMP);
 *     begin and length are expressions, as pmemsave's addr and size
 */
#include <inttypes.h>
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"

void hmp_dump_guest_memory(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "dump-guest-memory [-p] [-d] [-z|-l|-s|-w] filename "
                 "[begin length]",
        .flags = "pdzlsw", .min = 1, .max = 3,
    };
    static const DumpGuestMemoryFormat formats[] = {
        DUMP_GUEST_MEMORY_FORMAT_KDUMP_ZLIB,
        DUMP_GUEST_MEMORY_FORMAT_KDUMP_LZO,
        DUMP_GUEST_MEMORY_FORMAT_KDUMP_SNAPPY,
        DUMP_GUEST_MEMORY_FORMAT_WIN_DMP,
    };
    bool set[6] = { false };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, set);
    g_autofree char *protocol = NULL;
    DumpGuestMemoryFormat format = DUMP_GUEST_MEMORY_FORMAT_ELF;
    unsigned nformats = 0;
    uint64_t begin = 0, length = 0;
    Error *err = NULL;

    if (!w) {
        return;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(formats); i++) {
        if (set[2 + i]) {
            format = formats[i];
            nformats++;
        }
    }
    if (nformats > 1) {
        error_setg(&err, "only one of '-z|-l|-s|-w' can be set");
        hmp_handle_error(hmp, err);
        return;
    }
    if ((w[1] && !hmp_parse_expr(w[1], &begin, &err)) ||
        (w[1] && w[2] && !hmp_parse_expr(w[2], &length, &err))) {
        hmp_handle_error(hmp, err);
        return;
    }
    protocol = g_strconcat("file:", w[0], NULL);
    /* A begin without a length reaches QMP, which names what is missing. */
    qmp_dump_guest_memory(set[0], protocol, true, set[1], w[1] != NULL,
                          begin, w[1] && w[2], length, true, format, &err);
    hmp_handle_error(hmp, err);
}

void hmp_info_dump(HmpContext *hmp, const char *args)
{
    g_autoptr(DumpQueryResult) r = qmp_query_dump(NULL);

    hmp_printf(hmp, "Status: %s\n", DumpStatus_str(r->status));
    if (r->status == DUMP_STATUS_ACTIVE && r->total) {
        hmp_printf(hmp, "Finished: %.2f %%\n",
                   100.0 * r->completed / r->total);
    }
}
