/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading the files a user names for the guest to boot (-kernel, -initrd,
 * multiboot modules). A path on the command line may name anything: a
 * FIFO (whose open() blocks until a writer comes), /dev/zero (endless),
 * a huge sparse file. So every such file is opened without blocking,
 * must be a regular file, may not be larger than the caller's bound (the
 * guest's RAM: it has to fit there), and, where the format has a header,
 * is judged on its header before the rest is read.
 */
#ifndef HW_CORE_LOADER_H
#define HW_CORE_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

/*
 * Judges the first bytes of an image (up to the header size asked for;
 * fewer when the file is shorter). False with *errp set rejects the file
 * before the rest of it is read.
 */
typedef bool LoaderHeaderCheck(const uint8_t *head, size_t len, void *opaque,
                               Error **errp);

typedef struct LoaderImageSpec {
    const char *what;           /* "kernel", "initrd", ...: for errors */
    uint64_t max_size;          /* larger files are refused unread */
    size_t header_size;         /* bytes passed to check (0: no check) */
    LoaderHeaderCheck *check;
    void *opaque;
} LoaderImageSpec;

/*
 * Reads the file at path whole into *data (g_free it), *size bytes.
 * Errors read "could not load WHAT 'PATH': reason".
 */
bool loader_read_image(const char *path, const LoaderImageSpec *spec,
                       uint8_t **data, size_t *size, Error **errp);

#endif
