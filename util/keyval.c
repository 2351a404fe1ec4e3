/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parser for the "key=value,key=value" option syntax and the number, size
 * and boolean parsers the command line shares with it. Everything a user
 * types ends up here, so malformed input must always come back as an Error
 * naming what was wrong, never as a crash or a silently wrong number.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "util/keyval.h"

typedef struct KeyvalPair {
    char *key;
    char *value;
} KeyvalPair;

struct KeyvalList {
    GArray *pairs;   /* of KeyvalPair, in order of appearance */
};

static void keyval_pair_clear(gpointer p)
{
    KeyvalPair *pair = p;

    g_free(pair->key);
    g_free(pair->value);
}

static KeyvalList *keyval_new(void)
{
    KeyvalList *kv = g_new0(KeyvalList, 1);

    kv->pairs = g_array_new(FALSE, FALSE, sizeof(KeyvalPair));
    g_array_set_clear_func(kv->pairs, keyval_pair_clear);
    return kv;
}

void keyval_free(KeyvalList *kv)
{
    if (kv) {
        g_array_unref(kv->pairs);
        g_free(kv);
    }
}

/* Takes ownership of key and value, also on failure. */
static bool keyval_add(KeyvalList *kv, char *key, char *value, Error **errp)
{
    KeyvalPair pair = { key, value };

    if (!*key) {
        error_setg(errp, "Parameter name is empty (before '=%s')", value);
        goto fail;
    }
    if (keyval_get(kv, key)) {
        error_setg(errp, "Parameter '%s' given more than once", key);
        goto fail;
    }
    g_array_append_val(kv->pairs, pair);
    return true;

fail:
    g_free(key);
    g_free(value);
    return false;
}

/*
 * Elements are separated by single commas; ",," is a literal comma. An
 * element is "key=value" when it has a '=' and no literal comma comes before
 * the first one (keys never contain commas). Otherwise it is bare: the
 * implied key's value if it is the first element, else a "flag" meaning
 * flag=on. With no implied key a bare first element is an error, as the
 * header promises "every element must be key=value" there. A trailing
 * comma ends the last element and adds nothing, so "a=1," is "a=1"; the
 * empty string is the empty list.
 */
KeyvalList *keyval_parse(const char *str, const char *implied_key,
                         Error **errp)
{
    g_autoptr(KeyvalList) kv = keyval_new();
    const char *s = str;
    bool first = true;

    while (*s) {
        GString *elem = g_string_new(NULL);
        /* Offset of the first '=' in elem, or -1; -2 once a literal comma
         * has been seen before any '=' (the element can't be key=value). */
        gssize eq = -1;
        char *text;

        for (; *s; s++) {
            if (*s == ',') {
                if (s[1] != ',') {
                    break;
                }
                s++;
                if (eq == -1) {
                    eq = -2;
                }
            } else if (*s == '=' && eq == -1) {
                eq = elem->len;
            }
            g_string_append_c(elem, *s);
        }
        if (*s == ',') {
            s++;   /* the separator */
        }

        text = g_string_free(elem, FALSE);
        if (eq >= 0) {
            text[eq] = '\0';
            if (!keyval_add(kv, g_strdup(text), g_strdup(text + eq + 1),
                            errp)) {
                g_free(text);
                return NULL;
            }
            g_free(text);
        } else if (!*text) {
            /* Only a leading single ',' can make an empty element: a ','
             * after a separator would have formed a ",," escape. */
            error_setg(errp, "Expected a parameter before ','");
            g_free(text);
            return NULL;
        } else if (first && implied_key) {
            if (!keyval_add(kv, g_strdup(implied_key), text, errp)) {
                return NULL;
            }
        } else if (first) {
            error_setg(errp, "Expected '=' after parameter '%s'", text);
            g_free(text);
            return NULL;
        } else {
            if (eq == -2) {
                error_setg(errp, "Invalid parameter name '%s'", text);
                g_free(text);
                return NULL;
            }
            if (!keyval_add(kv, text, g_strdup("on"), errp)) {
                return NULL;
            }
        }
        first = false;
    }
    return g_steal_pointer(&kv);
}

size_t keyval_count(const KeyvalList *kv)
{
    return kv->pairs->len;
}

const char *keyval_key_at(const KeyvalList *kv, size_t i)
{
    g_assert(i < kv->pairs->len);
    return g_array_index(kv->pairs, KeyvalPair, i).key;
}

const char *keyval_value_at(const KeyvalList *kv, size_t i)
{
    g_assert(i < kv->pairs->len);
    return g_array_index(kv->pairs, KeyvalPair, i).value;
}

const char *keyval_get(const KeyvalList *kv, const char *key)
{
    for (guint i = 0; i < kv->pairs->len; i++) {
        KeyvalPair *p = &g_array_index(kv->pairs, KeyvalPair, i);
        if (!strcmp(p->key, key)) {
            return p->value;
        }
    }
    return NULL;
}

bool keyval_get_bool(const KeyvalList *kv, const char *key, bool def,
                     bool *out, Error **errp)
{
    const char *v = keyval_get(kv, key);

    if (!v) {
        *out = def;
        return true;
    }
    if (!parse_bool(v, out, NULL)) {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return false;
    }
    return true;
}

bool keyval_get_u64(const KeyvalList *kv, const char *key, uint64_t def,
                    uint64_t *out, Error **errp)
{
    const char *v = keyval_get(kv, key);

    if (!v) {
        *out = def;
        return true;
    }
    if (!parse_uint(v, out, NULL)) {
        error_setg(errp, "Parameter '%s' expects an integer", key);
        return false;
    }
    return true;
}

bool keyval_get_size(const KeyvalList *kv, const char *key, uint64_t def,
                     uint64_t *out, Error **errp)
{
    const char *v = keyval_get(kv, key);

    if (!v) {
        *out = def;
        return true;
    }
    if (!parse_size(v, 1, out, NULL)) {
        error_setg(errp, "Parameter '%s' expects a size "
                   "(optional suffix B, K, M, G, T, P or E)", key);
        return false;
    }
    return true;
}

bool keyval_check_known(const KeyvalList *kv, const char *const *known,
                        const char *what, Error **errp)
{
    for (guint i = 0; i < kv->pairs->len; i++) {
        const char *key = g_array_index(kv->pairs, KeyvalPair, i).key;
        bool found = false;

        for (const char *const *k = known; *k; k++) {
            if (!strcmp(*k, key)) {
                found = true;
                break;
            }
        }
        if (!found) {
            if (what) {
                error_setg(errp, "%s: Invalid parameter '%s'", what, key);
            } else {
                error_setg(errp, "Invalid parameter '%s'", key);
            }
            return false;
        }
    }
    return true;
}

bool parse_uint(const char *str, uint64_t *out, Error **errp)
{
    char *end;
    unsigned long long v;

    /* strtoull would skip blanks and accept a sign (negating the value), so
     * insist on a digit first. */
    if (!isdigit((unsigned char)str[0])) {
        error_setg(errp, "'%s' is not a valid number", str);
        return false;
    }
    errno = 0;
    v = strtoull(str, &end, 0);
    if (*end) {
        error_setg(errp, "'%s' is not a valid number", str);
        return false;
    }
    if (errno == ERANGE) {
        error_setg(errp, "'%s' is too large (the limit is %" PRIu64 ")",
                   str, UINT64_MAX);
        return false;
    }
    *out = v;
    return true;
}

/*
 * The suffix letters are case-insensitive ("1g" == "1G"); "B" means bytes
 * and is only useful to override a default_unit of MiB. P and E go beyond
 * the header's list so that absurd sizes give a range error, not a syntax
 * error. A fraction is truncated to whole bytes, but a fraction of a byte
 * ("1.5" with default_unit 1, or "1.5B") is rejected.
 */
bool parse_size(const char *str, uint64_t default_unit, uint64_t *out,
                Error **errp)
{
    const char *s = str;
    uint64_t whole = 0, frac = 0, frac_div = 1, unit;
    unsigned __int128 total;
    bool have_frac = false;

    if (!isdigit((unsigned char)*s)) {
        goto invalid;
    }
    for (; isdigit((unsigned char)*s); s++) {
        unsigned digit = *s - '0';
        if (whole > (UINT64_MAX - digit) / 10) {
            goto too_large;
        }
        whole = whole * 10 + digit;
    }
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char)*s)) {
            goto invalid;
        }
        have_frac = true;
        for (; isdigit((unsigned char)*s); s++) {
            /* Digits beyond 10^-18 cannot change a whole-byte result for
             * any unit up to 2^60, so drop them rather than overflow. */
            if (frac_div < 1000000000000000000ULL) {
                frac = frac * 10 + (*s - '0');
                frac_div *= 10;
            }
        }
    }

    switch (g_ascii_toupper(*s)) {
    case '\0': unit = default_unit; break;
    case 'B': unit = 1; break;
    case 'K': unit = 1ULL << 10; break;
    case 'M': unit = 1ULL << 20; break;
    case 'G': unit = 1ULL << 30; break;
    case 'T': unit = 1ULL << 40; break;
    case 'P': unit = 1ULL << 50; break;
    case 'E': unit = 1ULL << 60; break;
    default: goto invalid;
    }
    if (*s && s[1]) {
        goto invalid;   /* one suffix letter, nothing after it */
    }
    if (have_frac && unit == 1) {
        error_setg(errp, "'%s': a size in bytes cannot have a fraction", str);
        return false;
    }

    total = (unsigned __int128)whole * unit
            + (unsigned __int128)frac * unit / frac_div;
    if (total > UINT64_MAX) {
        goto too_large;
    }
    *out = (uint64_t)total;
    return true;

invalid:
    error_setg(errp, "'%s' is not a valid size (optional suffix "
               "B, K, M, G, T, P or E)", str);
    return false;
too_large:
    error_setg(errp, "'%s' is too large (the limit is 16 EiB - 1)", str);
    return false;
}

bool parse_bool(const char *str, bool *out, Error **errp)
{
    if (!strcmp(str, "on") || !strcmp(str, "yes") || !strcmp(str, "true")) {
        *out = true;
        return true;
    }
    if (!strcmp(str, "off") || !strcmp(str, "no") || !strcmp(str, "false")) {
        *out = false;
        return true;
    }
    error_setg(errp, "'%s' is not a valid boolean, use on or off", str);
    return false;
}
