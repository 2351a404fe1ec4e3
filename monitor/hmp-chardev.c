/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP's character device commands: info chardev, chardev-add (the
 * -chardev syntax) and chardev-remove, as QEMU spells them. COLO's
 * failover runbook removes the proxy chardevs and re-protection adds
 * them back.
 */
#include <string.h>
#include "chardev/char.h"
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"

void hmp_info_chardev(HmpContext *hmp, const char *args)
{
    g_autoptr(ChardevInfoList) list = qmp_query_chardev(NULL);

    for (ChardevInfoList *l = list; l; l = l->next) {
        hmp_printf(hmp, "%s: filename=%s\n", l->value->label,
                   l->value->filename);
    }
}

/* chardev-add BACKEND,id=ID[,...] */
void hmp_chardev_add(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "chardev-add BACKEND,id=ID[,...]", .min = 1, .max = 1,
        .rest = true,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    Error *err = NULL;

    if (w) {
        chardev_new_from_opts(w[0], &err);
        hmp_handle_error(hmp, err);
    }
}

void hmp_chardev_remove(HmpContext *hmp, const char *args)
{
    hmp_one_word(hmp, args, "chardev-remove ID", qmp_chardev_remove);
}
