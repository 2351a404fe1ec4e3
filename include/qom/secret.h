/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Secrets: -object secret,id=ID,data=TEXT|file=PATH[,format=raw|base64]
 * (and object-add). A secret holds bytes other objects name by id
 * (passwords for block and network backends, TLS keys), so no secret
 * ever has to appear in a command line or a QMP log. The bytes are the
 * data or the file's contents, base64-decoded when format=base64.
 * Encrypted secrets (keyid=, iv=) are refused for now.
 *
 * The lookups follow QEMU's names and errors. Under the BQL.
 */
#ifndef QOM_SECRET_H
#define QOM_SECRET_H

#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

/* The secret's bytes (g_free; a NUL follows them, not counted). */
bool qcrypto_secret_lookup(const char *id, uint8_t **data, size_t *len,
                           Error **errp);
/* As text: fails when the bytes are not valid UTF-8 or hold a NUL. */
char *qcrypto_secret_lookup_as_utf8(const char *id, Error **errp);
/* The bytes, base64-encoded. */
char *qcrypto_secret_lookup_as_base64(const char *id, Error **errp);

#endif
