/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The comparison core of colo-compare: primary and secondary guest
 * output frames go in, the primary's frames come out (through a release
 * callback) once the secondary produced the same, and a mismatch, a
 * packet older than compare_timeout or a full queue / table is reported
 * as "checkpoint needed" with its reason. No threads, no timers, no I/O:
 * the caller (the colo-compare object, on its iothread) feeds frames,
 * passes the clock in, asks for expiry at its scan cycle and flushes
 * after the checkpoint. The rules are in docs/devel/colo-net.md.
 *
 * Per primary frame:
 *
 *   in --> HELD --(secondary twin compared equal)--> released (matched)
 *     |      |--(mismatch / timeout / bound)--> checkpoint needed, stays
 *     |      |                                  HELD until the flush
 *     |      '--(colo_compare_flush)--> released (after the checkpoint)
 *     '--(no comparable content: pure TCP ACK)--> released at once
 *
 * Not thread-safe: one caller at a time (the compare iothread).
 */
#ifndef NET_COLO_COMPARE_CORE_H
#define NET_COLO_COMPARE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/colo.h"

typedef enum ColoCompareAction {
    COLO_COMPARE_HOLD,          /* waiting for the other side */
    COLO_COMPARE_RELEASE,       /* primary frames were released */
    COLO_COMPARE_CHECKPOINT,    /* the caller must checkpoint, then flush */
} ColoCompareAction;

typedef enum ColoCheckpointReason {
    COLO_CHECKPOINT_NONE,
    COLO_CHECKPOINT_MISMATCH,
    COLO_CHECKPOINT_TIMEOUT,
    COLO_CHECKPOINT_QUEUE_FULL,
    COLO_CHECKPOINT_TABLE_FULL,
    COLO_CHECKPOINT__MAX,
} ColoCheckpointReason;

extern const char *const colo_checkpoint_reason_names[COLO_CHECKPOINT__MAX];

typedef struct ColoCompareVerdict {
    ColoCompareAction action;
    ColoCheckpointReason reason;    /* NONE unless action is CHECKPOINT */
    ColoProto proto;                /* of the frame that decided it */
} ColoCompareVerdict;

/* Called for each primary frame released, in each connection's order;
 * the frame is the core's copy, valid during the call only, and begins
 * with a virtio-net header of vnet_hdr_len bytes (the length it was
 * parsed with). */
typedef void ColoCompareReleaseFn(void *opaque, const uint8_t *frame,
                                  size_t len, size_t vnet_hdr_len);

typedef struct ColoCompareConfig {
    uint64_t compare_timeout_ns;    /* QEMU: compare_timeout, 3000 ms */
    uint32_t max_queue_size;        /* per queue; QEMU default 1024 */
    uint32_t max_connections;       /* QEMU: 16384 */
    size_t vnet_hdr_len;            /* 0 without vnet_hdr_support; see
                                       colo_compare_set_vnet_hdr_len */
    ColoCompareReleaseFn *release;
    void *opaque;
} ColoCompareConfig;

#define COLO_COMPARE_LATENCY_SAMPLES 4096

typedef struct ColoCompareStats {
    uint64_t compared[COLO_PROTO__MAX];     /* = matched + mismatched */
    uint64_t matched[COLO_PROTO__MAX];
    uint64_t mismatched[COLO_PROTO__MAX];
    uint64_t passed;            /* released with nothing to compare */
    uint64_t flushed;           /* released by colo_compare_flush */
    uint64_t secondary_dropped; /* secondary frames over the queue bound */
    uint64_t checkpoints[COLO_CHECKPOINT__MAX];
    uint64_t held;              /* primary frames held now */
    uint64_t held_max;
    /* ring of the last N "primary in -> released" delays, ns */
    uint64_t latency[COLO_COMPARE_LATENCY_SAMPLES];
    uint64_t latency_count;     /* samples ever taken */
} ColoCompareStats;

typedef struct ColoCompare ColoCompare;

ColoCompare *colo_compare_new(const ColoCompareConfig *cfg);
void colo_compare_free(ColoCompare *cc);

/* The virtio-net header length of the frames fed from now on (the
 * framed stream carries one per frame with vnet_hdr_support). */
void colo_compare_set_vnet_hdr_len(ColoCompare *cc, size_t vnet_hdr_len);

/* A frame of the primary's (resp. secondary's) guest output at time now
 * (ns, any monotonic origin). The frame is copied. */
ColoCompareVerdict colo_compare_primary(ColoCompare *cc, const uint8_t *buf,
                                        size_t len, uint64_t now);
ColoCompareVerdict colo_compare_secondary(ColoCompare *cc, const uint8_t *buf,
                                          size_t len, uint64_t now);

/* The expiry scan (every expired_scan_cycle): CHECKPOINT/TIMEOUT when a
 * primary frame has been held compare_timeout or longer, else HOLD. */
ColoCompareVerdict colo_compare_expire(ColoCompare *cc, uint64_t now);

/* After the checkpoint: releases every held primary frame, drops every
 * secondary frame and re-bases TCP streams (the secondary now equals the
 * primary); connections other than TCP are forgotten. */
void colo_compare_flush(ColoCompare *cc, uint64_t now);

const ColoCompareStats *colo_compare_stats(const ColoCompare *cc);
size_t colo_compare_connections(const ColoCompare *cc);

/* The pct-th percentile (0..100) of the latency samples kept, in ns; 0
 * when there are none. */
uint64_t colo_compare_latency_percentile(const ColoCompareStats *st,
                                         unsigned pct);

#endif
