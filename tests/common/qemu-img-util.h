/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running Debian's qemu-img from tests (GLib only): the block unit tests
 * and the qtests use it as the independent peer that makes images and
 * checks what Tandem wrote into them.
 */
#ifndef TESTS_COMMON_QEMU_IMG_UTIL_H
#define TESTS_COMMON_QEMU_IMG_UTIL_H

#include <stdbool.h>
#include <glib.h>

/* qemu-img with printf arguments: returns its exit status, output in *out. */
int bt_qemu_img(char **out, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* qemu-img check must report a clean qcow2 image. */
void bt_qemu_img_check(const char *path);
bool bt_have_qemu_img(void);

#endif
