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

void hmp_block_job_set_speed(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "block_job_set_speed device speed", .min = 2, .max = 2,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    Error *err = NULL;
    uint64_t speed;

    if (!w) {
        return;
    }
    if (!parse_size(w[1], 1, &speed, NULL) || speed > INT64_MAX) {
        hmp_printf(hmp, "block_job_set_speed: invalid speed '%s'\n", w[1]);
        return;
    }
    qmp_block_job_set_speed(w[0], (int64_t)speed, &err);
    hmp_handle_error(hmp, err);
}

void hmp_block_job_cancel(HmpContext *hmp, const char *args)
{
    bool force = false;
    static const HmpArgs spec = {
        .usage = "block_job_cancel [-f] device", .flags = "f", .min = 1,
        .max = 1,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, &force);
    Error *err = NULL;

    if (w) {
        qmp_block_job_cancel(w[0], true, force, &err);
        hmp_handle_error(hmp, err);
    }
}

void hmp_block_job_complete(HmpContext *hmp, const char *args)
{
    hmp_one_word(hmp, args, "block_job_complete device",
                 qmp_block_job_complete);
}

void hmp_block_job_pause(HmpContext *hmp, const char *args)
{
    hmp_one_word(hmp, args, "block_job_pause device", qmp_block_job_pause);
}

void hmp_block_job_resume(HmpContext *hmp, const char *args)
{
    hmp_one_word(hmp, args, "block_job_resume device", qmp_block_job_resume);
}

void hmp_drive_mirror(HmpContext *hmp, const char *args)
{
    bool set[2] = { false, false };     /* -n, -f */
    static const HmpArgs spec = {
        .usage = "drive_mirror [-n] [-f] device target [format]",
        .flags = "nf", .min = 2, .max = 3,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, set);
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
