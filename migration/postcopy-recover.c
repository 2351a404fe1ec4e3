/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Postcopy recovery on the RAM entry: what each side's RAM state does
 * when a postcopy migration pauses on a broken connection and resumes on
 * a new one (the sequence, the states and the wire are drawn in
 * include/migration/postcopy.h, "Recovery").
 *
 * The destination's received bitmap is the truth: every page it lacks
 * is either one the source never sent since the switch or one lost in
 * flight with the old connection, and the source cannot tell which. So
 * the source throws its own "to send" bitmap away and rebuilds it as
 * the complement of the destination's: nothing is lost, and nothing
 * the destination holds goes twice (a second copy of a page after the
 * switch is a protocol error there).
 */
#include <inttypes.h>
#include <glib.h>
#include "ram-internal.h"
#include "util/bitmap.h"
#include "trace.h"

/* The wire carries 64-bit words; the bitmaps are unsigned long. */
G_STATIC_ASSERT(sizeof(unsigned long) == sizeof(uint64_t));

/* The bits of word w of a bitmap of pages bits that stand for pages. */
static uint64_t postcopy_word_mask(size_t pages, size_t w)
{
    size_t left = pages - w * BITS_PER_LONG;

    return left >= BITS_PER_LONG ? ~0ull : (1ull << left) - 1;
}

/* ---- source ---- */

void postcopy_source_recover_begin(SaveVMState *s)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (!rs || !rs->saving) {
        return;
    }
    for (unsigned i = 0; i < rs->nr_save_blocks; i++) {
        bitmap_zero(rs->save_blocks[i].bmap, rs->save_blocks[i].pages);
    }
    __atomic_store_n(&rs->dirty_pages, 0, __ATOMIC_SEQ_CST);
    /* The destination asks again for what it still waits for. */
    postcopy_urgent_clear(rs);
    rs->recover_next_block = 0;
    rs->recover_next_word = 0;
    rs->recover_words = 0;
}

bool postcopy_source_recover_word(SaveVMState *s, uint32_t block,
                                  uint32_t word, uint64_t received,
                                  Error **errp)
{
    RamMigrationState *rs = ram_migration_state(s);
    RamBlockMig *b;

    if (!rs || !rs->saving) {
        error_setg(errp, "postcopy recovery: no RAM migration to resume");
        return false;
    }
    if (block >= rs->nr_save_blocks) {
        error_setg(errp, "postcopy recovery: received bitmap of block %"
                   PRIu32 ", but %u blocks are migrated", block,
                   rs->nr_save_blocks);
        return false;
    }
    b = &rs->save_blocks[block];
    if (word >= BITS_TO_LONGS(b->pages)) {
        error_setg(errp, "postcopy recovery: received bitmap word %" PRIu32
                   " of RAM block '%s', which has %zu pages", word,
                   b->rb->name, b->pages);
        return false;
    }
    /* In order, each word once: a repeat would be a confused peer. */
    if (block < rs->recover_next_block ||
        (block == rs->recover_next_block && word < rs->recover_next_word)) {
        error_setg(errp, "postcopy recovery: received bitmap word %" PRIu32
                   " of block %" PRIu32 " out of order", word, block);
        return false;
    }
    b->bmap[word] = ~received & postcopy_word_mask(b->pages, word);
    rs->recover_next_block = block;
    rs->recover_next_word = word + 1;
    rs->recover_words++;
    return true;
}

bool postcopy_source_recover_end(SaveVMState *s, uint32_t nblocks,
                                 uint32_t nwords, Error **errp)
{
    RamMigrationState *rs = ram_migration_state(s);
    uint64_t missing = 0;

    if (!rs || !rs->saving) {
        error_setg(errp, "postcopy recovery: no RAM migration to resume");
        return false;
    }
    if (nblocks != rs->nr_save_blocks || nwords != rs->recover_words) {
        error_setg(errp, "postcopy recovery: the destination's received "
                   "bitmap ends saying %" PRIu32 " blocks and %" PRIu32
                   " words, but %u blocks are migrated and %u words came",
                   nblocks, nwords, rs->nr_save_blocks, rs->recover_words);
        return false;
    }
    for (unsigned i = 0; i < rs->nr_save_blocks; i++) {
        RamBlockMig *b = &rs->save_blocks[i];

        missing += bitmap_count_one(b->bmap, b->pages);
    }
    __atomic_store_n(&rs->dirty_pages, missing, __ATOMIC_SEQ_CST);
    /* The background starts over from the lowest page it lacks. */
    rs->cursor_block = 0;
    rs->cursor_page = 0;
    trace_postcopy_recover_bitmap(nwords, missing);
    ram_stats_publish(rs);
    return true;
}

/* ---- destination ---- */

void postcopy_incoming_pause(SaveVMState *s)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (rs) {
        /* Its channel went with the main one; a new one comes with
         * migrate-recover. What it read is placed and marked. */
        postcopy_preempt_incoming_stop(rs);
    }
}

bool postcopy_incoming_send_bitmap(SaveVMState *s, PostcopyBitmapWordFn *fn,
                                   void *opaque, uint32_t *nblocks,
                                   uint32_t *nwords, Error **errp)
{
    RamMigrationState *rs = ram_migration_state(s);
    uint32_t n = 0;

    if (!rs || rs->pc_state != POSTCOPY_INCOMING_RUNNING) {
        error_setg(errp, "postcopy recovery: command 'postcopy-recover' "
                   "while postcopy is not running here");
        return false;
    }
    for (unsigned i = 0; i < rs->nr_load_blocks; i++) {
        RamBlockMig *b = &rs->load_blocks[i];

        for (size_t w = 0; w < BITS_TO_LONGS(b->pages); w++) {
            uint64_t mask = postcopy_word_mask(b->pages, w);
            uint64_t bits = __atomic_load_n(&b->received[w],
                                            __ATOMIC_SEQ_CST) & mask;

            if (bits == mask) {
                continue;       /* all there: the source's default */
            }
            if (!fn(opaque, i, w, bits, errp)) {
                return false;
            }
            n++;
        }
    }
    *nblocks = rs->nr_load_blocks;
    *nwords = n;
    trace_postcopy_recover_bitmap(n, 0);
    return true;
}

uint64_t postcopy_incoming_rerequest(SaveVMState *s)
{
    RamMigrationState *rs = ram_migration_state(s);

    return rs && rs->pc ? postcopy_ram_rerequest(rs->pc) : 0;
}
