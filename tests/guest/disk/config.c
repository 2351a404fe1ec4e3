/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: the disk options from the command line: qd=,
 * flush-every=, pattern=seq|rand, disk-size=, rw=, bs=, persist=on|off.
 */
#include "disk.h"

struct disk_config diskcfg = {
    .qd = 8,
    .flush_every = 64,
    .pattern = PATTERN_SEQ,
    .rw = RW_RANDRW,
    .bs = 4096,
};

static bool is(const char *s, size_t n, const char *want)
{
    return n == strlen(want) && !memcmp(s, want, n);
}

bool disk_option(const char *key, size_t kn, const char *v, size_t vn, bool *ok)
{
    static const char *const rw_names[] = {
        [RW_RANDRW] = "randrw", [RW_RANDREAD] = "randread",
        [RW_RANDWRITE] = "randwrite", [RW_READ] = "read", [RW_WRITE] = "write",
    };
    u64 x = 0;
    u32 i;

    if (is(key, kn, "qd")) {
        *ok = tg_parse_num(v, vn, &x) && x >= 1 && x <= 64;
        diskcfg.qd = (u32)x;
    } else if (is(key, kn, "flush-every")) {
        *ok = tg_parse_num(v, vn, &x) && x >= 1 && x <= 4096;
        diskcfg.flush_every = (u32)x;
    } else if (is(key, kn, "pattern")) {
        *ok = is(v, vn, "seq") || is(v, vn, "rand");
        diskcfg.pattern = is(v, vn, "rand") ? PATTERN_RAND : PATTERN_SEQ;
    } else if (is(key, kn, "disk-size")) {
        *ok = tg_parse_num(v, vn, &x) && x >= 2 * DISK_BLOCK && !(x % DISK_BLOCK) &&
              x <= (u64)DISK_SLOTS_MAX * DISK_BLOCK;
        diskcfg.area = x;
    } else if (is(key, kn, "rw")) {
        *ok = false;
        for (i = 0; i < sizeof(rw_names) / sizeof(rw_names[0]); i++) {
            if (is(v, vn, rw_names[i])) {
                diskcfg.rw = i;
                *ok = true;
            }
        }
    } else if (is(key, kn, "bs")) {
        *ok = tg_parse_num(v, vn, &x) && x >= BLK_SECTOR && x <= 65536 && !(x % BLK_SECTOR);
        diskcfg.bs = (u32)x;
    } else if (is(key, kn, "persist")) {
        *ok = is(v, vn, "on") || is(v, vn, "off");
        diskcfg.persist = is(v, vn, "on");
    } else {
        return false;
    }
    return true;
}
