/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP block job commands, as QEMU's HMP has them: "info block-jobs",
 * block_job_set_speed, block_job_cancel [-f], block_job_complete,
 * block_job_pause, block_job_resume, drive_mirror [-n] [-f] (-n: the
 * target exists, mode=existing; -f: sync=full, else top) and
 * block_stream device [speed [base]]: each a thin layer over the QMP
 * command of the same name. A speed is a size in bytes per second
 * whose bare number means MiB, as QEMU's HMP reads it ("100" is
 * 100 MiB/s, "1k" is 1 KiB/s). And commit (device|all), which runs no
 * job: it copies a drive's top image into its backing file and empties
 * it, there and then.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include "block/block-backend.h"
#include "block/commit.h"
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"
#include "util/keyval.h"

/* An HMP speed (QEMU's 'o' argument: a bare number is MiB). */
static bool hmp_parse_speed(const char *str, int64_t *speed)
{
    uint64_t v;

    if (str[0] == '-' || !parse_size(str, 1 << 20, &v, NULL) ||
        v > INT64_MAX) {
        return false;
    }
    *speed = (int64_t)v;
    return true;
}

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

        /* QEMU 7.2's lines, which say nothing of paused or ready. */
        if (!strcmp(j->type, "stream")) {
            hmp_printf(hmp, "Streaming device %s: Completed %" PRId64
                       " of %" PRId64 " bytes, speed limit %" PRId64
                       " bytes/s\n", j->device, j->offset, j->len,
                       j->speed);
        } else {
            hmp_printf(hmp, "Type %s, device %s: Completed %" PRId64
                       " of %" PRId64 " bytes, speed limit %" PRId64
                       " bytes/s\n", j->type, j->device, j->offset, j->len,
                       j->speed);
        }
    }
}

void hmp_block_job_set_speed(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "block_job_set_speed device speed", .min = 2, .max = 2,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    Error *err = NULL;
    int64_t speed;

    if (!w) {
        return;
    }
    if (!hmp_parse_speed(w[1], &speed)) {
        hmp_printf(hmp, "block_job_set_speed: invalid speed '%s'\n", w[1]);
        return;
    }
    qmp_block_job_set_speed(w[0], speed, &err);
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

/* block_stream device [speed [base]]: base by file name, as QEMU's. */
void hmp_block_stream(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "block_stream device [speed [base]]", .min = 1, .max = 3,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    Error *err = NULL;
    int64_t speed = 0;

    if (!w) {
        return;
    }
    if (w[1] && !hmp_parse_speed(w[1], &speed)) {
        /* QEMU's parser's words for a bad size. */
        hmp_printf(hmp, "invalid size\nTry \"help block_stream\" for more "
                   "information\n");
        return;
    }
    qmp_block_stream(NULL, w[0], w[2], NULL, NULL, NULL, w[1] != NULL,
                     speed, true, BLOCKDEV_ON_ERROR_REPORT, NULL, false,
                     false, false, false, &err);
    hmp_handle_error(hmp, err);
}

/* commit of one drive; 0 or -errno, with the words QEMU prints first. */
static int hmp_commit_drive(HmpContext *hmp, BlockBackend *blk)
{
    Error *err = NULL;
    int ret = commit_to_backing(blk_bs(blk), &err);

    if (ret == -EPERM) {
        hmp_printf(hmp, "%s\n", error_get_pretty(err));
    }
    error_free(err);
    return ret;
}

/*
 * commit device|all: as QEMU's HMP, synchronous, one level (the top
 * image into its backing file, which the drive then reads through);
 * "all" commits every drive that has a backing file, stopping at the
 * first failure. Failures are QEMU's "'commit' error for 'X': strerror".
 */
void hmp_commit(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "commit device|all", .min = 1, .max = 1,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    int ret = 0;

    if (!w) {
        return;
    }
    if (!strcmp(w[0], "all")) {
        for (BlockBackend *blk = blk_next(NULL); blk && ret == 0;
             blk = blk_next(blk)) {
            if (blk_bs(blk) && bdrv_backing_bs(blk_bs(blk))) {
                ret = hmp_commit_drive(hmp, blk);
            }
        }
    } else if (!blk_by_name(w[0]) || !blk_bs(blk_by_name(w[0]))) {
        hmp_printf(hmp, "Device '%s' not found\n", w[0]);
        return;
    } else {
        ret = hmp_commit_drive(hmp, blk_by_name(w[0]));
    }
    if (ret < 0) {
        hmp_printf(hmp, "'commit' error for '%s': %s\n", w[0],
                   g_strerror(-ret));
    }
}
