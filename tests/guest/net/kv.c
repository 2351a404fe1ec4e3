/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: the key-value store behind the RESP server, in guest
 * RAM.  Fixed sizes so memory use is bounded and known: KV_ENTRIES
 * entries of at most KV_KEY_MAX / KV_VAL_MAX bytes, found through an
 * open-addressing index (linear probing, tombstones on delete) of twice
 * as many slots, hashed with FNV-1a.
 */
#include "services.h"

#define KV_ENTRIES      4096
#define KV_SLOTS        (2 * KV_ENTRIES)
#define SLOT_EMPTY      0
#define SLOT_TOMB       0xffff          /* deleted: keep probing past it */

struct kv_entry {
    u16 klen, vlen;
    u8 key[KV_KEY_MAX];
    u8 val[KV_VAL_MAX];
};

static struct kv_entry *entries;
static u16 *slots;                      /* entry index + 1, or EMPTY / TOMB */
static u16 *free_stack;
static u32 nfree;

static u32 hash(const u8 *p, u32 n)
{
    u32 h = 2166136261u, i;

    for (i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

void kv_clear(void)
{
    u32 i;

    memset(slots, 0, KV_SLOTS * sizeof(*slots));
    for (i = 0; i < KV_ENTRIES; i++) {
        free_stack[i] = (u16)(KV_ENTRIES - 1 - i);
    }
    nfree = KV_ENTRIES;
    STATUS->net.resp_keys = 0;
}

bool kv_init(void)
{
    entries = tg_alloc(KV_ENTRIES * sizeof(*entries), 64);
    slots = tg_alloc(KV_SLOTS * sizeof(*slots), 64);
    free_stack = tg_alloc(KV_ENTRIES * sizeof(*free_stack), 64);
    if (!entries || !slots || !free_stack) {
        return false;
    }
    kv_clear();
    return true;
}

/* Slot holding key, or -1; *insert gets the first reusable slot seen. */
static int lookup(const u8 *key, u32 klen, int *insert)
{
    u32 i, s = hash(key, klen) % KV_SLOTS;

    *insert = -1;
    for (i = 0; i < KV_SLOTS; i++, s = (s + 1) % KV_SLOTS) {
        u16 v = slots[s];

        if (v == SLOT_EMPTY) {
            if (*insert < 0) {
                *insert = (int)s;
            }
            return -1;
        }
        if (v == SLOT_TOMB) {
            if (*insert < 0) {
                *insert = (int)s;
            }
            continue;
        }
        if (entries[v - 1].klen == klen && !memcmp(entries[v - 1].key, key, klen)) {
            return (int)s;
        }
    }
    return -1;
}

bool kv_get(const u8 *key, u32 klen, const u8 **val, u32 *vlen)
{
    int ins, s;

    if (klen > KV_KEY_MAX || (s = lookup(key, klen, &ins)) < 0) {
        return false;
    }
    *val = entries[slots[s] - 1].val;
    *vlen = entries[slots[s] - 1].vlen;
    return true;
}

enum kv_result kv_set(const u8 *key, u32 klen, const u8 *val, u32 vlen)
{
    struct kv_entry *e;
    int ins, s;

    if (klen > KV_KEY_MAX || vlen > KV_VAL_MAX) {
        return KV_TOO_BIG;
    }
    s = lookup(key, klen, &ins);
    if (s >= 0) {
        e = &entries[slots[s] - 1];
    } else {
        if (!nfree || ins < 0) {
            return KV_FULL;
        }
        u16 idx = free_stack[--nfree];
        slots[ins] = (u16)(idx + 1);
        e = &entries[idx];
        e->klen = (u16)klen;
        memcpy(e->key, key, klen);
        STATUS->net.resp_keys++;
    }
    e->vlen = (u16)vlen;
    memcpy(e->val, val, vlen);
    return KV_OK;
}

bool kv_del(const u8 *key, u32 klen)
{
    int ins, s;

    if (klen > KV_KEY_MAX || (s = lookup(key, klen, &ins)) < 0) {
        return false;
    }
    free_stack[nfree++] = (u16)(slots[s] - 1);
    slots[s] = SLOT_TOMB;
    STATUS->net.resp_keys--;
    return true;
}

u32 kv_count(void)
{
    return KV_ENTRIES - nfree;
}
