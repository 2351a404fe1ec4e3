/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The secret object type (see include/qom/secret.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "qom/object.h"
#include "qom/secret.h"
#include "util/fdset.h"

typedef struct Secret {
    Object parent;
    /* properties */
    char *data;
    char *file;
    char *format;           /* "raw" or "base64" */
    char *keyid;
    char *iv;
    /* the bytes, once complete() has loaded them */
    uint8_t *raw;
    size_t rawlen;
} Secret;

/* Strict base64: the alphabet, a length that is a multiple of 4, and
 * '=' only as the last one or two characters. g_base64_decode() would
 * skip anything else silently. */
static bool secret_base64_valid(const char *s, size_t len)
{
    size_t pad = 0;

    if (len % 4) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=') {
            pad++;
        } else if (pad || !(g_ascii_isalnum(s[i]) || s[i] == '+' ||
                            s[i] == '/')) {
            return false;
        }
    }
    return pad <= 2;
}

/* The whole file, through fdset_open() so /dev/fdset/N works too. */
static bool secret_read_file(const char *path, char **text, size_t *len,
                             Error **errp)
{
    GString *buf = g_string_new(NULL);
    int fd = fdset_open(path, O_RDONLY, 0);
    char chunk[4096];
    ssize_t n;

    if (fd < 0) {
        error_setg(errp, "Unable to read %s: %s", path, g_strerror(errno));
        g_string_free(buf, TRUE);
        return false;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            error_setg(errp, "Unable to read %s: %s", path,
                       g_strerror(errno));
            close(fd);
            memset(buf->str, 0, buf->len);
            g_string_free(buf, TRUE);
            return false;
        }
        g_string_append_len(buf, chunk, n);
    }
    close(fd);
    memset(chunk, 0, sizeof(chunk));
    *len = buf->len;
    *text = g_string_free(buf, FALSE);
    return true;
}

static bool secret_read(Secret *sec, char **text, size_t *len, Error **errp)
{
    if (sec->data && sec->file) {
        error_setg(errp, "'data' and 'file' are mutually exclusive");
        return false;
    }
    if (sec->file) {
        return secret_read_file(sec->file, text, len, errp);
    }
    if (sec->data) {
        *text = g_strdup(sec->data);
        *len = strlen(sec->data);
        return true;
    }
    error_setg(errp, "Either 'file' or 'data' must be provided");
    return false;
}

static bool secret_complete(Object *obj, Error **errp)
{
    Secret *sec = (Secret *)obj;
    g_autofree char *text = NULL;
    size_t len;
    gsize n;

    if (strcmp(sec->format, "raw") && strcmp(sec->format, "base64")) {
        error_setg(errp, "Parameter 'format' does not accept value '%s'",
                   sec->format);
        return false;
    }
    if (sec->keyid || sec->iv) {
        error_setg(errp, "secret '%s': encrypted secrets (keyid, iv) are "
                   "not supported yet", obj->id);
        return false;
    }
    if (!secret_read(sec, &text, &len, errp)) {
        return false;
    }
    if (!strcmp(sec->format, "raw")) {
        sec->raw = g_malloc(len + 1);
        memcpy(sec->raw, text, len);
        sec->raw[len] = 0;
        sec->rawlen = len;
    } else {
        if (!secret_base64_valid(text, len)) {
            error_setg(errp, "secret '%s': the data is not valid base64",
                       obj->id);
            memset(text, 0, len);
            return false;
        }
        sec->raw = g_base64_decode(text, &n);
        sec->raw = g_realloc(sec->raw, n + 1);
        sec->raw[n] = 0;
        sec->rawlen = n;
    }
    memset(text, 0, len);
    return true;
}

/* The bytes do not outlive the object in freed memory. */
static void secret_finalize(Object *obj)
{
    Secret *sec = (Secret *)obj;

    if (sec->raw) {
        memset(sec->raw, 0, sec->rawlen);
        g_free(sec->raw);
    }
    if (sec->data) {
        memset(sec->data, 0, strlen(sec->data));
    }
}

static Secret *secret_find(const char *id, Error **errp)
{
    Object *obj = object_find(id);

    if (!obj) {
        error_setg(errp, "No secret with id '%s'", id);
        return NULL;
    }
    if (!type_is_a(obj->type, "secret")) {
        error_setg(errp, "Object '%s' is not a secret", id);
        return NULL;
    }
    return (Secret *)obj;
}

bool qcrypto_secret_lookup(const char *id, uint8_t **data, size_t *len,
                           Error **errp)
{
    Secret *sec = secret_find(id, errp);

    if (!sec) {
        return false;
    }
    *data = g_memdup2(sec->raw, sec->rawlen + 1);
    *len = sec->rawlen;
    return true;
}

char *qcrypto_secret_lookup_as_utf8(const char *id, Error **errp)
{
    uint8_t *data;
    size_t len;

    if (!qcrypto_secret_lookup(id, &data, &len, errp)) {
        return NULL;
    }
    if (!g_utf8_validate((const char *)data, len, NULL)) {
        error_setg(errp, "Data from secret %s is not valid UTF-8", id);
        memset(data, 0, len);
        g_free(data);
        return NULL;
    }
    return (char *)data;
}

char *qcrypto_secret_lookup_as_base64(const char *id, Error **errp)
{
    uint8_t *data;
    size_t len;
    char *b64;

    if (!qcrypto_secret_lookup(id, &data, &len, errp)) {
        return NULL;
    }
    b64 = g_base64_encode(data, len);
    memset(data, 0, len);
    g_free(data);
    return b64;
}

static const ObjectProperty secret_props[] = {
    OBJ_PROP("data", OBJ_PROP_STR, Secret, data,
             "the secret itself (or use file)"),
    OBJ_PROP("file", OBJ_PROP_STR, Secret, file,
             "a file holding the secret"),
    { .name = "format", .type = OBJ_PROP_STR,
      .offset = offsetof(Secret, format),
      .desc = "how data or the file is encoded: raw or base64",
      .default_value = "raw" },
    OBJ_PROP("keyid", OBJ_PROP_STR, Secret, keyid,
             "the secret that encrypts this one (not supported yet)"),
    OBJ_PROP("iv", OBJ_PROP_STR, Secret, iv,
             "the encryption's initialization vector (not supported yet)"),
    { NULL },
};

static const TypeInfo secret_type_info = {
    .name = "secret",
    .parent = "object",
    .description = "bytes other objects name by id (passwords, keys)",
    .user_creatable = true,
    .instance_size = sizeof(Secret),
    .props = secret_props,
    .complete = secret_complete,
    .finalize = secret_finalize,
};
TYPE_REGISTER(secret_type_info)
