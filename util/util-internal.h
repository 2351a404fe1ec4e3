/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private glue between the util/ sources: error.c reports go to the same
 * -D log that trace.c owns, so error.c needs a way to reach it without the
 * log file becoming part of the public trace.h contract.
 */
#ifndef UTIL_UTIL_INTERNAL_H
#define UTIL_UTIL_INTERNAL_H

#include <stddef.h>

/* Writes len bytes to the -D log file, if one is set; a no-op otherwise. */
void trace_log_write_raw(const char *buf, size_t len);

#endif
