/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vCPU threads. Each vCPU has a thread that loops on KVM_RUN with the BQL
 * dropped and handles exits with it held. Pausing all vCPUs is one
 * function, used by stop, reset, migration and COLO:
 *
 *   cpus_pause_all():  for each vCPU: stop = true, immediate_exit = 1,
 *                      signal SIG_IPI; then wait until every vCPU is parked
 *   cpus_resume_all(): stop = false, wake them
 *
 * Setting immediate_exit before the signal closes the race where the
 * signal lands just before the thread enters KVM_RUN: KVM then returns at
 * once with EINTR. Both flags are written under the BQL, which the thread
 * holds when it decides to enter KVM_RUN.
 */
#ifndef SYSTEM_CPUS_H
#define SYSTEM_CPUS_H

#include <pthread.h>
#include <stdbool.h>
#include "accel/kvm.h"
#include "system/ioport.h"
#include "target/i386/cpu.h"

typedef struct CPUState {
    unsigned index;
    KvmVcpu kvm;
    pthread_t thread;
    pthread_cond_t wake;    /* a parked thread waits here, with the BQL */
    bool thread_started;
    int thread_id;          /* kernel tid, for query-cpus-fast */
    /* BQL-protected: */
    bool stop;              /* asked to park */
    bool stopped;           /* parked */
    bool exit;              /* thread must end */
    bool exit_incomplete;   /* last exit (I/O, MMIO) awaits KVM_RUN */
    /* The state at creation, restored on system reset. */
    X86CPUState *reset_state;
} CPUState;

/* Where the vCPUs send their port I/O and MMIO exits. */
typedef struct CpusConfig {
    KvmState *kvm;
    IoBus *pio;
    IoBus *mmio;
    unsigned nr_cpus;
    bool debug_threads;     /* -name debug-threads=on: name the threads */
} CpusConfig;

/* Creates the vCPUs and their threads, all parked. */
bool cpus_create(const CpusConfig *cfg, Error **errp);
void cpus_destroy(void);
unsigned cpus_count(void);
CPUState *cpus_get(unsigned index);

/*
 * The vCPUs QMP and QOM show (query-cpus-fast, /machine/unattached/
 * device[N]): the KVM vCPUs, or under qtest the -smp vCPUs, which exist
 * only as objects (no KVM vCPU, no thread), as QEMU's qtest vCPUs never
 * run. cpus_set_objects_only() records that count (0 clears it).
 */
void cpus_set_objects_only(unsigned nr_cpus);
unsigned cpus_shown_count(void);
/* The thread-id query-cpus-fast gives: an objects-only vCPU has no
 * thread of its own, so the main thread's (the process id). */
int cpus_shown_thread_id(unsigned index);

/* BQL held, main loop (never a vCPU thread). */
void cpus_pause_all(void);
void cpus_resume_all(void);
/* Restores every vCPU's power-on state. vCPUs paused. */
bool cpus_reset_all(Error **errp);

/* The vCPU the calling thread runs, or NULL. */
CPUState *cpus_current(void);

#endif
