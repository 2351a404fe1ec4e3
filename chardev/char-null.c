/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The null backend: output vanishes, input never comes. */
#include "chardev/char.h"

static bool null_open(Chardev *chr, const KeyvalList *opts, Error **errp)
{
    chr->connected = true;
    return true;
}

static ssize_t null_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    return len;
}

static const char *const null_options[] = { NULL };

const ChardevClass chardev_null_class = {
    .name = "null",
    .instance_size = sizeof(Chardev),
    .options = null_options,
    .open = null_open,
    .write = null_write,
};
