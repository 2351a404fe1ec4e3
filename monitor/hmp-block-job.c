/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP block job commands, as QEMU's HMP has them: "info block-jobs",
 * block_job_set_speed, block_job_cancel [-f], block_job_complete,
 * block_job_pause, block_job_resume, and drive_mirror [-n] [-f] (-n:
 * the target exists, mode=existing; -f: sync=full, else top). Each is
 * a thin layer over the QMP command of the same name.
 */
#include <inttypes.h>
#include <string.h>
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"
#include "util/keyval.h"

void hmp_info_block_jobs(HmpContext *hmp, const char *args)
{
    Error *err = NULL;
    g_autoptr(BlockJobInfoList) list = qmp_query_block_jobs(&err);

    if (err) {
        hmp_handle_error(hmp, err);
        return;
    }
    if (!list) {
        hmp_printf(hmp, "No active jobs\n");
        return;
    }
    for (BlockJobInfoList *l = list; l; l = l->next) {
        const BlockJobInfo *j = l->value;

        hmp_printf(hmp, "Type %s, device %s: Completed %" PRId64 " of %"
                   PRId64 " bytes, speed limit %" PRId64 " bytes/s%s\n",
                   j->type, j->device, j->offset, j->len, j->speed,
                   j->status == JOB_STATUS_PAUSED ||
                   j->status == JOB_STATUS_STANDBY ? " (paused)"
                   : j->ready ? " (ready)" : "");
    }
}

/* Splits args into options (-x) and at most max words. */
static GStrv hmp_words(const char *args, const char *flags, bool *set,
                       guint min, guint max, HmpContext *hmp,
                       const char *usage)
{
    g_auto(GStrv) all = g_strsplit(args ? args : "", " ", -1);
    GPtrArray *words = g_ptr_array_new();

    for (GStrv w = all; *w; w++) {
        const char *f;

        if (!**w) {
            continue;
        }
        if ((*w)[0] == '-' && (*w)[1] && !(*w)[2] &&
            (f = strchr(flags, (*w)[1]))) {
            set[f - flags] = true;
            continue;
        }
        g_ptr_array_add(words, g_strdup(*w));
    }
    if (words->len < min || words->len > max) {
        hmp_printf(hmp, "usage: %s\n", usage);
        g_ptr_array_free(words, TRUE);
        return NULL;
    }
    g_ptr_array_add(words, NULL);
    return (GStrv)g_ptr_array_free(words, FALSE);
}

void hmp_block_job_set_speed(HmpContext *hmp, const char *args)
{
    g_auto(GStrv) w = hmp_words(args, "", NULL, 2, 2, hmp,
                                "block_job_set_speed device speed");
    Error *err = NULL;
    uint64_t speed;

    if (!w) {
        return;
    }
    if (!parse_uint(w[1], &speed, NULL) || speed > INT64_MAX) {
        hmp_printf(hmp, "block_job_set_speed: invalid speed '%s'\n", w[1]);
        return;
    }
    qmp_block_job_set_speed(w[0], (int64_t)speed, &err);
    hmp_handle_error(hmp, err);
}

void hmp_block_job_cancel(HmpContext *hmp, const char *args)
{
    bool force = false;
    g_auto(GStrv) w = hmp_words(args, "f", &force, 1, 1, hmp,
                                "block_job_cancel [-f] device");
    Error *err = NULL;

    if (w) {
        qmp_block_job_cancel(w[0], true, force, &err);
        hmp_handle_error(hmp, err);
    }
}

void hmp_block_job_complete(HmpContext *hmp, const char *args)
{
    g_auto(GStrv) w = hmp_words(args, "", NULL, 1, 1, hmp,
                                "block_job_complete device");
    Error *err = NULL;

    if (w) {
        qmp_block_job_complete(w[0], &err);
        hmp_handle_error(hmp, err);
    }
}

void hmp_block_job_pause(HmpContext *hmp, const char *args)
{
    g_auto(GStrv) w = hmp_words(args, "", NULL, 1, 1, hmp,
                                "block_job_pause device");
    Error *err = NULL;

    if (w) {
        qmp_block_job_pause(w[0], &err);
        hmp_handle_error(hmp, err);
    }
}

void hmp_block_job_resume(HmpContext *hmp, const char *args)
{
    g_auto(GStrv) w = hmp_words(args, "", NULL, 1, 1, hmp,
                                "block_job_resume device");
    Error *err = NULL;

    if (w) {
        qmp_block_job_resume(w[0], &err);
        hmp_handle_error(hmp, err);
    }
}

void hmp_drive_mirror(HmpContext *hmp, const char *args)
{
    bool set[2] = { false, false };     /* -n, -f */
    g_auto(GStrv) w = hmp_words(args, "nf", set, 2, 3, hmp,
                                "drive_mirror [-n] [-f] device target "
                                "[format]");
    DriveMirror arg = { 0 };
    Error *err = NULL;

    if (!w) {
        return;
    }
    arg.device = w[0];
    arg.target = w[1];
    arg.format = w[2];
    arg.sync = set[1] ? MIRROR_SYNC_MODE_FULL : MIRROR_SYNC_MODE_TOP;
    arg.has_mode = true;
    arg.mode = set[0] ? NEW_IMAGE_MODE_EXISTING
                      : NEW_IMAGE_MODE_ABSOLUTE_PATHS;
    qmp_drive_mirror(&arg, &err);
    hmp_handle_error(hmp, err);
}
