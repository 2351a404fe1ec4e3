/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What ram.c (the live "ram" entry of precopy) and ram-checkpoint.c (COLO's
 * per-checkpoint RAM transfer and the secondary's RAM cache hook) share.
 */
#ifndef MIGRATION_RAM_INTERNAL_H
#define MIGRATION_RAM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include "migration/colo-ram-cache.h"
#include "migration/postcopy.h"
#include "migration/ram.h"

/*
 * The memfd extent around the last page looked at: [start, end) is a hole
 * (never written, reads as zero) or data. Guest RAM of an idle VM is mostly
 * holes, and reading a hole of a shared memfd allocates it, so the zero
 * check asks the file first: two lseek() calls per extent instead of a
 * page fault per page, on both sides.
 */
typedef struct RamExtent {
    uint64_t start, end;        /* byte offsets in the memfd; end 0: none */
    bool hole;
} RamExtent;

typedef struct RamBlockMig {
    RamBlock *rb;
    size_t pages;
    unsigned long *bmap;        /* source: pages still to send */
    unsigned long *scratch;     /* source: what the last take returned */
    unsigned long *received;    /* destination: pages written by loading */
    RamExtent extent;
} RamBlockMig;

typedef struct RamMigrationState {
    SaveVMState *s;
    GuestMemory *mem;
    KvmState *kvm;

    /* Source. */
    RamBlockMig *save_blocks;
    unsigned nr_save_blocks;
    bool saving;
    bool we_started_logging;
    /* Set bits over all bmaps. bmap bits are cleared and dirty_pages
     * decremented atomically: with a preempt channel the return-path
     * thread sends requested pages itself (postcopy.c). */
    uint64_t dirty_pages;
    unsigned cursor_block;
    size_t cursor_page;
    bool first_pass_done;       /* atomic: the cursor wrapped once */
    int64_t period_start_us;
    uint64_t period_dirtied;
    uint64_t period_sent;
    RamMigrationStats st;       /* migration thread's; published below */
    /* Postcopy (postcopy.c): after the switch no more harvests, and the
     * return path's requests queue here for ram_send_dirty. */
    bool postcopy;              /* atomic */
    GMutex urgent_lock;
    GCond urgent_cond;          /* (urgent_lock) a request was queued */
    GQueue urgent;              /* (urgent_lock) PostcopyUrgent */
    unsigned urgent_pending;    /* atomic: urgent's length */
    /* The preempt channel (postcopy-preempt): requested pages go there,
     * sent by whoever reads the request (the return-path thread). */
    GMutex preempt_lock;
    QEMUFile *preempt_f;        /* (preempt_lock) NULL: none */
    bool preempt_ended;         /* (preempt_lock) its EOS went out */
    uint64_t pre_normal, pre_zero, pre_bytes, pre_requests; /* atomic */
    GMutex published_lock;
    RamMigrationStats published;    /* (published_lock) for other threads */
    /* Postcopy recovery (postcopy-recover.c; migration thread): where
     * the destination's received bitmap has got to. */
    uint32_t recover_next_block, recover_next_word, recover_words;

    /* Destination. */
    RamBlockMig *load_blocks;
    unsigned nr_load_blocks;
    unsigned last_load_block;   /* lookup cache */
    bool have_block_list;
    uint64_t load_pages;
    uint64_t load_zero;
    ColoRamCache *colo_cache;   /* COLO secondary: pages land here */
    bool svm_logging;           /* COLO secondary: we started KVM logging */
    unsigned long **svm_dirty;  /* COLO secondary: per block, last take */
    /* Postcopy destination (postcopy.c): the incoming thread's, except
     * the fault thread reads received bits and calls pc_send. */
    PostcopyIncomingState pc_state;
    PostcopyRam *pc;            /* from postcopy-listen to the end; set
                                   and cleared under pc_lock, which other
                                   threads (query-migrate) take to read
                                   its figures */
    GMutex pc_lock;
    uint8_t *pc_buf;            /* one page, for UFFDIO_COPY's source */
    PostcopyRequestSendFn *pc_send;
    PostcopyRunFn *pc_run;
    PostcopyListenFn *pc_listen;
    PostcopyLoadFn *pc_load;    /* strict switch: postcopy-load */
    void *pc_opaque;
    PostcopyRamStats pc_stats;  /* the last pc's, once it is freed */
    /* Blocktime (postcopy_incoming_set_blocktime): enabled on each pc;
     * the last pc's figures kept once it is freed (pc_bt_last). */
    bool pc_bt;
    unsigned pc_bt_vcpus;
    PostcopyVcpuOfFn *pc_bt_fn;
    void *pc_bt_opaque;
    PostcopyBlocktimeInfo pc_bt_last;
    /* The preempt channel's reader (postcopy.c): a thread placing the
     * pages it carries, from its attach to postcopy-preempt-done or the
     * load's end. */
    GMutex pre_lock;
    GCond pre_cond;             /* (pre_lock) attached */
    QEMUFile *pre_in;           /* (pre_lock) */
    GThread *pre_thread;        /* (pre_lock) */
    Error *pre_err;             /* the thread's, read after the join */
    bool pre_bad;               /* atomic: it failed on a bad record */
    PostcopyListenFn *pre_error_fn;     /* then called (its thread) */
    uint64_t pre_placed;        /* atomic: pages it placed */
} RamMigrationState;

/*
 * True if the page at byte offset off of the block's memfd is a hole. A
 * page the guest writes right after we looked is dirty in KVM's log and
 * goes again in a later pass, as with any page that changes after it
 * was read.
 */
bool ram_page_is_hole(RamBlockMig *b, uint64_t off);
/* Harvest: KVM's log into RamBlock.dirty, then into the bitmaps. */
bool ram_dirty_sync(RamMigrationState *rs, Error **errp);
/* Sends marked pages (all of them unless limited); returns how many. */
uint64_t ram_send_dirty(RamMigrationState *rs, QEMUFile *f, bool limited);
void ram_stats_publish(RamMigrationState *rs);
/* bytes more of the stream were RAM's: counted in transferred and in
 * the phase's figure (postcopy, guest stopped here, or precopy). */
void ram_account(RamMigrationState *rs, uint64_t bytes);
bool ram_load_stream_ok(QEMUFile *f, Error **errp);
/* Validates and writes one page record (into the COLO cache if set). */
bool ram_load_page(RamMigrationState *rs, QEMUFile *f, uint64_t gpa,
                   bool zero, Error **errp);
/* The COLO secondary's dirty log (ram-checkpoint.c starts it): stopped
 * if we started it, bitmaps freed. Also at unregister. */
void ram_svm_log_release(RamMigrationState *rs);
/* Claims page of b for sending (clears its bit atomically): false if
 * another sender took it first. */
bool ram_take_page(RamMigrationState *rs, RamBlockMig *b, size_t page);
/* One page record (ZERO or PAGE); true if it was zero. */
bool ram_send_page(RamMigrationState *rs, QEMUFile *f, RamBlockMig *b,
                   size_t page);

/* postcopy.c's hooks into ram.c. */
/* Sends the queued requested pages still to send; returns how many. */
uint64_t postcopy_send_urgent(RamMigrationState *rs, QEMUFile *f);
/* A DISCARD record (after its header). */
bool postcopy_load_discard(RamMigrationState *rs, QEMUFile *f, Error **errp);
/* A page record while listening: placed through userfaultfd. */
bool postcopy_load_page(RamMigrationState *rs, RamBlockMig *b, QEMUFile *f,
                        uint64_t gpa, bool zero, Error **errp);
/* Load set-up and clean-up: back to none, userfaultfd released. */
void postcopy_load_reset(RamMigrationState *rs);
/* Source: empties the request queue (setup, cleanup). */
void postcopy_urgent_clear(RamMigrationState *rs);
/* postcopy-preempt.c: source: forgets the preempt channel (the
 * migration owns the file); whether one is set; sends the pages
 * [first, +npages) of block there, those not taken yet (any thread,
 * guest stopped). */
void postcopy_preempt_source_close(RamMigrationState *rs);
bool postcopy_preempt_active(RamMigrationState *rs);
bool postcopy_preempt_send(RamMigrationState *rs, uint32_t block,
                           size_t first, size_t npages, Error **errp);
/* Destination: the postcopy-preempt-done command; the reader stopped
 * (its channel shut down) and joined, at the load's end. */
LoadVMCommandResult postcopy_preempt_done_cmd(const uint8_t *data,
                                              uint16_t len, void *opaque,
                                              Error **errp);
void postcopy_preempt_incoming_stop(RamMigrationState *rs);

/* The state registered in s (the opaque of its "ram" entry), or NULL. */
RamMigrationState *ram_migration_state(SaveVMState *s);

#endif
