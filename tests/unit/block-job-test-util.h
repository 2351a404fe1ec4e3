/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers the block job tests share (test-block-job.c: the job core and
 * the mirror; test-block-commit.c: stream and commit), in-process over
 * the QMP test client (qmp-test-client.h):
 * - Mon: a QMP client that keeps the events it reads, with the job's
 *   JOB_STATUS_CHANGE statuses in order, and waits bounded by
 *   EVENT_WAIT_US;
 * - Writer: a guest stand-in that keeps writing a backend (asynchronous
 *   writes of 512 B to 8 KiB at random sectors, one in flight, one
 *   every WRITER_GAP_US at most) and remembers in want what the disk
 *   must hold, to be checked byte for byte after the job.
 */
#ifndef TESTS_UNIT_BLOCK_JOB_TEST_UTIL_H
#define TESTS_UNIT_BLOCK_JOB_TEST_UTIL_H

#include <glib.h>
#include <json-c/json.h>
#include "qmp-test-client.h"
#include "block/block-backend.h"

#define MIB (1024 * 1024)
#define EVENT_WAIT_US (30 * G_TIME_SPAN_SECOND)

typedef struct Mon {
    Client *c;
    GQueue events;          /* json_object *, in arrival order */
    GString *statuses;      /* JOB_STATUS_CHANGE statuses, "a,b,..." */
} Mon;

Mon *mon_new(void);
void mon_free(Mon *m);
/* Sends a command; returns its reply (owned), keeping events aside. */
json_object *mon_cmd(Mon *m, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* The command succeeds / fails with class cls and desc containing part. */
void mon_ok(Mon *m, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void mon_err(Mon *m, const char *cls, const char *part, const char *fmt,
             ...) G_GNUC_PRINTF(4, 5);
/* Takes the first kept event called name, waiting for it (owned). */
json_object *mon_event(Mon *m, const char *name);
bool mon_has_event(Mon *m, const char *name);
/* The member key (NULL: the entry) of query's entry for job id; the
 * reply to free is in *resp_out. */
json_object *job_field(Mon *m, const char *query, const char *id,
                       const char *key, json_object **resp_out);
/* query-jobs' status of id, "(none)" once dismissed (g_free). */
char *job_status(Mon *m, const char *id);
/* Spins the main loop until the job's status is want. */
void wait_status(Mon *m, const char *id, const char *want);
/* human-monitor-command; returns its output (g_free). */
char *mon_hmp(Mon *m, const char *cmd);

typedef struct Writer {
    BlockBackend *blk;
    uint64_t size;
    uint8_t *want;          /* what the disk must hold, owned */
    int in_flight;
    unsigned seq;
    GRand *rand;
    bool failed;
    int64_t last_us;        /* of the last submission */
} Writer;

/* A writer of blk, whose disk holds image's bytes (a raw file) now. */
void writer_init(Writer *w, BlockBackend *blk, const char *image);
/* ... or want's (size of blk; the writer takes it). */
void writer_init_want(Writer *w, BlockBackend *blk, uint8_t *want);
/* Submits one write now (the caller keeps writes from overlapping). */
void writer_submit(Writer *w);
/* One step: a write when none is in flight and the gap has passed, and
 * a main loop iteration. */
void writer_step(Writer *w, Mon *m);
/* Until no write is in flight; none may have failed. */
void writer_drain(Writer *w, Mon *m);
void writer_free(Writer *w);
/* Waits for an event while the writer keeps writing. */
json_object *event_while_writing(Mon *m, Writer *w, const char *name);
/* The file at path holds exactly want[0, size). */
void check_file(const char *path, const uint8_t *want, uint64_t size);

#endif
