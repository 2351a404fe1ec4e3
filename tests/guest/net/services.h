/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: the TCP services serve.c listens with.
 */
#ifndef TG_NET_SERVICES_H
#define TG_NET_SERVICES_H

#include "tcp.h"

extern const struct tcp_service echo_service;   /* echo.c, port 7 */
extern const struct tcp_service http_service;   /* http.c, port 80 */
extern const struct tcp_service resp_service;   /* resp.c, port 6379 */

/* kv.c: the RESP server's store, in guest RAM */
enum kv_result { KV_OK, KV_FULL, KV_TOO_BIG };
bool kv_init(void);
bool kv_get(const u8 *key, u32 klen, const u8 **val, u32 *vlen);
enum kv_result kv_set(const u8 *key, u32 klen, const u8 *val, u32 vlen);
bool kv_del(const u8 *key, u32 klen);
u32 kv_count(void);
void kv_clear(void);

#define KV_KEY_MAX      128
#define KV_VAL_MAX      1024

#endif
