/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by the NBD server tests (nbd-server-test-util.c): the main loop
 * and subprocess peers, the server and its exports, and a raw protocol
 * client. Every helper fails the test (g_error / g_assert) rather than
 * return an error the caller could forget.
 */
#ifndef TESTS_UNIT_NBD_SERVER_TEST_UTIL_H
#define TESTS_UNIT_NBD_SERVER_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "block/block.h"
#include "nbd/nbd.h"

/* The export size the protocol-level tests use. */
#define HC_SIZE (1 << 20)

/* The server's unix socket, in the scratch directory (main() sets it). */
extern char *nbdt_sock_path;

/* ---- the main loop and subprocess peers ---- */

/* Spins the main loop for ms milliseconds. */
void nbdt_spin_ms(int ms);
/*
 * Runs a shell command line while the main loop serves it; returns its
 * exit status with stdout+stderr in *out (when out is not NULL). A peer
 * still running after 120 s fails the test.
 */
int nbdt_run_peer(char **out, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Negative fds among those the main loop polls: stale watches. */
unsigned nbdt_dead_watches(void);
/* Fails the test, naming the package script, if tool is not installed. */
void nbdt_require_tool(const char *tool);

/* ---- server and exports ---- */

void nbdt_server_start(uint32_t max_connections);
/* Stops the server and waits until every export is deleted. */
void nbdt_server_stop(void);
NbdExport *nbdt_export_add(const char *id, const char *node, bool writable,
                           const char *description);
/* The quoted nbd+unix URI of export name (g_free it). */
char *nbdt_uri(const char *name);
/* A node of format fmt (raw, qcow2) over the file at path. */
BlockDriverState *nbdt_file_node(const char *fmt, const char *node,
                                 const char *path);
/* A raw file node of size bytes with the pattern of seed. */
BlockDriverState *nbdt_raw_node(const char *node, const char *file,
                                uint64_t size, int seed);
/* nbdinfo --size of export name, -1 if nbdinfo failed. */
int64_t nbdt_nbdinfo_size(const char *name);
/* The export answers nbdinfo with its size: still healthy. */
void nbdt_check_healthy(const char *name, int64_t size);
/* The node's first size bytes hold bt_pattern(seed). */
void nbdt_check_pattern_node(BlockDriverState *bs, uint64_t size, int seed);

/* ---- a client written here, for protocol-level tests ---- */

int hc_connect(void);
void hc_send(int fd, const void *buf, size_t len);
/* Reads exactly len bytes while the server runs; false on EOF. */
bool hc_recv(int fd, void *buf, size_t len);
/* The server closes the connection (after any bytes it still sends). */
void hc_expect_closed(int fd);
/* Greeting read, client flags sent. */
int hc_start(uint32_t flags);
void hc_option(int fd, uint32_t opt, const void *data, uint32_t len);
/* Reads one option reply; returns its type, skips its data. */
uint32_t hc_opt_reply(int fd, uint32_t opt);
/* NBD_OPT_GO for name on fd: in transmission after. */
int hc_go_on(int fd, const char *name);
/* A new client in transmission on name, without structured replies. */
int hc_go(const char *name);
void hc_request(int fd, uint16_t type, uint16_t flags,
                uint64_t cookie, uint64_t offset, uint32_t len);
/* A simple reply: returns its error, checks the cookie. */
uint32_t hc_simple_reply(int fd, uint64_t cookie);

/* Big-endian fields of the wire format. */
static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static inline void put64(uint8_t *p, uint64_t v)
{
    put32(p, v >> 32);
    put32(p + 4, v);
}

static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static inline uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

#endif
