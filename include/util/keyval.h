/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command line's "key=value,key=value" option syntax, as QEMU spells
 * it: ",," is a literal comma inside a value; the first element may omit
 * "key=" when the option has an implied key (-machine pc -> type=pc,
 * -device isa-debug-exit -> driver=isa-debug-exit, -m 256 -> size=256).
 * A bare "flag" after the first element means "flag=on"; "noflag" is not
 * accepted (it is deprecated in QEMU and ambiguous).
 *
 * Keys keep their order of appearance; a repeated key is an error.
 */
#ifndef UTIL_KEYVAL_H
#define UTIL_KEYVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

typedef struct KeyvalList KeyvalList;

/* implied_key may be NULL: then every element must be key=value. */
KeyvalList *keyval_parse(const char *str, const char *implied_key,
                         Error **errp);
void keyval_free(KeyvalList *kv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KeyvalList, keyval_free)

size_t keyval_count(const KeyvalList *kv);
const char *keyval_key_at(const KeyvalList *kv, size_t i);
const char *keyval_value_at(const KeyvalList *kv, size_t i);
/* NULL when absent. */
const char *keyval_get(const KeyvalList *kv, const char *key);

/*
 * Typed getters: when the key is absent *out = def and true is returned.
 * Errors name the key: "Parameter 'iobase' expects an integer".
 */
bool keyval_get_bool(const KeyvalList *kv, const char *key, bool def,
                     bool *out, Error **errp);
bool keyval_get_u64(const KeyvalList *kv, const char *key, uint64_t def,
                    uint64_t *out, Error **errp);
/* A size with optional suffix B/K/M/G/T (powers of 1024). */
bool keyval_get_size(const KeyvalList *kv, const char *key, uint64_t def,
                     uint64_t *out, Error **errp);

/*
 * Fails with "Invalid parameter 'KEY'" (what, e.g. "-machine", is prefixed)
 * for the first key not in the NULL-terminated list `known`.
 */
bool keyval_check_known(const KeyvalList *kv, const char *const *known,
                        const char *what, Error **errp);

/*
 * Plain parsers shared by the getters and the command line.
 * parse_uint accepts decimal, 0x hex and 0 octal, rejects trailing junk,
 * sign and overflow. parse_size multiplies a bare number by
 * default_unit (1 for bytes, 1 MiB for -m) and accepts B/K/M/G/T suffixes,
 * including fractions like "1.5G".
 */
bool parse_uint(const char *str, uint64_t *out, Error **errp);
bool parse_size(const char *str, uint64_t default_unit, uint64_t *out,
                Error **errp);
bool parse_bool(const char *str, bool *out, Error **errp);

#endif
