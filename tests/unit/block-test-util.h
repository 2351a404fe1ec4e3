/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers for the block unit tests: scratch files in a private directory,
 * node options built from a dotted string ("driver=raw,file.driver=file,
 * file.filename=/x"), and running qemu-img (tests/common/qemu-img-util.h).
 */
#ifndef TESTS_UNIT_BLOCK_TEST_UTIL_H
#define TESTS_UNIT_BLOCK_TEST_UTIL_H

#include <glib.h>
#include "block/block.h"
#include "block/block-backend.h"

/* A directory removed with its contents at exit (mkdtemp under /tmp). */
const char *bt_dir(void);
/* A path in bt_dir(); g_free it. */
char *bt_path(const char *name);
/* A file of size bytes whose byte i is (i * 7 + seed) & 0xff. */
void bt_make_pattern_file(const char *path, uint64_t size, int seed);
unsigned char bt_pattern(uint64_t i, int seed);

/* Options from JSON text (aborts on a bad literal: the test is wrong). */
BlockdevOptions *bt_opts(const char *json);
/* Opens from JSON, the test expects success. */
BlockDriverState *bt_open(const char *json);
/* Opens from JSON, expects failure whose message contains part. */
void bt_open_fails(const char *json, const char *part);

/*
 * Plays a guest device on a drive: a -drive's backend claims write (and
 * may be written) only while a device is attached (block-backend.h).
 * The device shares nothing; detach it before drive_del.
 */
void bt_attach_guest(BlockBackend *blk);
void bt_detach_guest(BlockBackend *blk);

/* qemu-img: bt_qemu_img(), bt_qemu_img_check(), bt_have_qemu_img(). */
#include "qemu-img-util.h"

#endif
