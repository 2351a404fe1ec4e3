/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the migration and COLO qtests share, on top of libqtest: waits on
 * query-migrate's status, waits on the test guest's progress (its serial
 * file and its status page), a COLO pair (a primary and a secondary
 * process of the count workload brought up to COLO) and a fault proxy
 * that can hold the COLO checkpoint-reply between them. Every wait is
 * bounded by qtest_timeout_ms() and fails the test when it runs out.
 */
#ifndef TESTS_QTEST_MIGRATION_HELPERS_H
#define TESTS_QTEST_MIGRATION_HELPERS_H

#include "libqtest.h"

/* The guest's status page: workload lines printed (tests/guest/README). */
#define TG_LINES_ADDR       (TG_STATUS_ADDR + 0x028)
/* What the count workload prints on every line. */
#define TG_COUNT_LINE       "TG count="

/* ---- query-migrate ---- */

/*
 * Polls query-migrate until its status is one of want (NULL-terminated);
 * returns that status (valid until the next call).
 */
const char *migrate_wait_status_in(QTestState *s, const char *const *want);
/* Polls until the status is want; "failed" (when not wanted) ends the
 * wait at once, as a test failure. */
void migrate_wait_status(QTestState *s, const char *want);

/* ---- the test guest's progress ---- */

/* The serial file holds more than `than` count lines; returns how many. */
unsigned tg_wait_serial_grows(const char *path, unsigned than);
/* The serial file gets at least one count line more than it has now. */
unsigned tg_wait_serial_more(const char *path);
/* The guest printed more than `than` lines (status page); returns how
 * many. */
uint64_t tg_wait_lines_grow(QTestState *s, uint64_t than);

/* ---- COLO ---- */

/* query-colo-status must read mode / last-mode / reason (NULL: any). */
void colo_assert_status(QTestState *s, const char *mode,
                        const char *last_mode, const char *reason);

/* Waits for COLO_EXIT on s with mode and reason (NULL: any reason). */
void colo_wait_exit(QTestState *s, const char *mode, const char *reason);

typedef struct ColoProxy ColoProxy;

/*
 * A TCP proxy from a listening port of its own to target_port, forwarding
 * both directions. Armed, it holds back the next COLO checkpoint-reply on
 * the secondary -> primary stream (the return path): the secondary then
 * sits stopped between checkpoint-request and vmstate-send (the primary
 * waits for the reply, well within its peer timeout) until released.
 */
ColoProxy *colo_proxy_new(int target_port);
int colo_proxy_port(ColoProxy *p);
void colo_proxy_arm(ColoProxy *p);
/* Waits until a checkpoint-reply is held; false after timeout_ms. */
bool colo_proxy_wait_holding(ColoProxy *p, int timeout_ms);
/* Forwards the held reply and everything after it. */
void colo_proxy_release(ColoProxy *p);
/* Closes both connections and the listening socket. */
void colo_proxy_free(ColoProxy *p);

typedef struct ColoPair {
    QTestState *pri;
    QTestState *sec;
    char *pri_serial;
    char *sec_serial;
    char *sec_trace;            /* colo_failover_state of the secondary */
    ColoProxy *proxy;           /* between them, when the test holds bytes */
} ColoPair;

/*
 * Starts a primary and a secondary (-incoming defer, both with the oob
 * capability) on the count workload, brings COLO up with a 300 ms
 * checkpoint delay and returns once both report it and the guest made
 * progress on both. with_proxy: the primary connects through a ColoProxy.
 */
void colo_pair_start(ColoPair *c, bool with_proxy);
/* Quits whichever sides still run (a killed one is NULL), frees the rest. */
void colo_pair_stop(ColoPair *c);

#endif
