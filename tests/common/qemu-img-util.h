/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running Debian's qemu-img and qemu-io from tests (GLib only): the
 * block unit tests and the qtests use them as the independent peers
 * that make images and check what Tandem wrote into them.
 */
#ifndef TESTS_COMMON_QEMU_IMG_UTIL_H
#define TESTS_COMMON_QEMU_IMG_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/* qemu-img with printf arguments: returns its exit status, output in *out. */
int bt_qemu_img(char **out, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* qemu-img check must report a clean qcow2 image. */
void bt_qemu_img_check(const char *path);
bool bt_have_qemu_img(void);
/* qemu-io with printf arguments, the same way. */
int bt_qemu_io(char **out, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/*
 * The backing chain the stream and commit tests share: three qcow2
 * images of 4 MiB, base <- mid <- top (each over the one before, by
 * absolute name, format qcow2), each with data of its own, 64 KiB a
 * piece, so every byte of the disk tells which image it came from:
 *
 *   offset   base    mid     top     the guest reads
 *   0        0x11                    0x11
 *   64k              0x22            0x22
 *   128k                     0x33    0x33
 *   192k     0x14            0x34    0x34   (top hides base)
 *   256k     0x15    zeroes          0      (a zero cluster hides base)
 *   320k..   -       -       -       0
 */
void bt_make_test_chain(const char *base, const char *mid, const char *top);
/*
 * qemu-io (read-only, sharing the image) reads what the guest reads
 * from target, a chain's top image or an NBD URI with its own options
 * in opts ("-f raw"); writes_at, if not NULL, names one more 64 KiB
 * stretch offset whose pattern byte is writes_pat (a write made during
 * a job).
 */
void bt_check_test_chain_view(const char *target, const char *opts,
                              const uint64_t *writes_at,
                              const uint8_t *writes_pat, int n_writes);

#endif
