/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * calc-dirty-rate / query-dirty-rate: how fast the guest dirties its RAM,
 * measured in the background, so an operator can tell before migrating
 * whether precopy will converge at the link's speed (docs/migration.md).
 *
 * Status machine (DirtyRateStatus, one measurement at a time):
 *
 *   unstarted --calc-dirty-rate--> measuring --period over--> measured
 *   measured --calc-dirty-rate--> measuring
 *
 * Modes:
 *   page-sampling  a sample of each block's pages is hashed (CRC32C)
 *                  before and after the period; the share that changed
 *                  is scaled to the block. Reads RAM only: any
 *                  accelerator, during an outgoing migration too.
 *   dirty-bitmap   every page the dirty log reports (KVM's log, or ring,
 *                  plus our own writes into RamBlock.dirty) is counted.
 *   dirty-ring     the same, counted per vCPU from KVM's dirty rings.
 * The two dirty-log modes consume RamBlock.dirty, which migration and
 * COLO own while they run: they are refused then, and migrate is refused
 * while they count (a migration blocker, DIRTY_RATE_MIGRATION_BLOCKER).
 *
 * The command takes the sample (or starts the log) itself, so the period
 * begins before it returns; a thread waits out the period and counts,
 * reading guest RAM, or taking the BQL to harvest and stop KVM's log.
 * dirty_rate_shutdown() joins it before the RAM goes.
 * The commands act on migration_current()'s DirtyRate.
 */
#ifndef MIGRATION_DIRTY_RATE_H
#define MIGRATION_DIRTY_RATE_H

#include <stdbool.h>
#include <stdint.h>
#include "accel/kvm.h"
#include "system/memory.h"
#include "util/error.h"

#define DIRTY_RATE_DEFAULT_SAMPLE_PAGES 512     /* per GiB, as QEMU */
#define DIRTY_RATE_MIN_SAMPLE_PAGES 128
#define DIRTY_RATE_MAX_SAMPLE_PAGES 16384
#define DIRTY_RATE_MIN_CALC_TIME 1              /* seconds */
#define DIRTY_RATE_MAX_CALC_TIME 60

/*
 * Page-sampling's two halves, for the thread and for tests: pick and
 * hash the pages (the same seed picks the same pages), then count per
 * block how many of them hash differently now and scale to bytes.
 */
typedef struct DirtyRateSample DirtyRateSample;
DirtyRateSample *dirty_rate_sample_take(GuestMemory *mem,
                                        uint64_t pages_per_gib,
                                        uint32_t seed);
/* Estimated bytes dirtied since the sample was taken. */
uint64_t dirty_rate_sample_changed_bytes(const DirtyRateSample *sample,
                                         GuestMemory *mem);
/* How many pages it hashed in all (for tests and the trace). */
uint64_t dirty_rate_sample_pages(const DirtyRateSample *sample);
void dirty_rate_sample_free(DirtyRateSample *sample);

/* MB/s (MiB, truncated, as QEMU) for bytes over elapsed_us. */
int64_t dirty_rate_mbps(uint64_t bytes, int64_t elapsed_us);

/*
 * The measurement state of one machine, owned by its MigrationState
 * (migration_dirty_rate()): the status, the last figures, the thread.
 */
typedef struct DirtyRate DirtyRate;
DirtyRate *dirty_rate_new(void);
void dirty_rate_free(DirtyRate *dr);

/*
 * The guest dr measures: its RAM and, when it runs under KVM, its
 * KvmState (NULL under qtest: only our own writes are logged). Set by
 * main() before the monitor runs; without it the commands say the
 * machine has no RAM.
 */
void dirty_rate_set_machine(DirtyRate *dr, GuestMemory *mem, KvmState *kvm);

/* At exit, with the BQL: stop a measurement and join its thread
 * (migration_shutdown() calls it). */
void dirty_rate_shutdown(DirtyRate *dr);

#endif
