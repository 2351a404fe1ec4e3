/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filter-rewriter's connection table, apart from the object so the unit
 * tests and the fuzz target drive it frame by frame.
 *
 * On a COLO secondary, the primary's guest (PVM) and the secondary's (SVM)
 * pick different initial sequence numbers for the TCP connections they
 * open or accept. The outside peer only ever sees the PVM's numbers
 * (colo-compare releases the PVM's frames), so every frame the SVM sends
 * and receives is translated, per connection:
 *
 *   offset = ISN(PVM) - ISN(SVM)
 *   from the SVM (queue rx):  seq += offset
 *   to the SVM   (queue tx):  ack -= offset
 *
 * ISN(SVM) is the seq of the SVM's SYN (it connects) or SYN-ACK (it
 * accepts); ISN(PVM) + 1 is the first ack the peer sends towards the
 * guest after that (the SYN-ACK it sends back, or its handshake ACK),
 * because the peer acknowledges what it saw, the PVM's SYN. A frame that
 * arrives before the SVM's SYN was seen is passed as it is.
 *
 * Checksums are patched incrementally (RFC 1624, eqn. 3) for exactly the
 * words changed, never recomputed; a frame whose vnet header says
 * NEEDS_CSUM carries only the pseudo-header sum, which seq/ack are not
 * part of, and is left alone.
 *
 * A connection is forgotten when a RST passes either way, or when both
 * FINs were sent and each acknowledged (the handshake completed).
 * After a checkpoint the SVM equals the PVM: every offset becomes 0
 * (QEMU does the same). The table holds at most REWRITER_MAX_CONNS;
 * at the bound zero-offset connections are forgotten first. At failover, connections with a non-zero offset
 * keep being translated (they must survive the promotion), the others
 * are forgotten, and no new connection is tracked.
 */
#ifndef NET_FILTER_REWRITER_H
#define NET_FILTER_REWRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Connections tracked at most (QEMU's table size); see rewriter_has_room
 * in net/filter-rewriter.c for what happens at the bound. */
#define REWRITER_MAX_CONNS  16384

typedef struct RewriterTable RewriterTable;

RewriterTable *rewriter_table_new(void);
void rewriter_table_free(RewriterTable *t);

/*
 * One frame buf[0..len) (its first vnet_hdr_len bytes a virtio-net
 * header), to_svm: travelling towards the secondary's guest. Translates
 * it in place and updates the table; true when buf was changed. Any
 * bytes are safe (hostile guests, the fuzz target).
 */
bool rewriter_process(RewriterTable *t, bool to_svm, uint8_t *buf,
                      size_t len, size_t vnet_hdr_len);

void rewriter_checkpoint(RewriterTable *t);
void rewriter_failover(RewriterTable *t);

/* Tracked connections; SYNs not tracked for want of room; the offset
 * of the connection a frame belongs to. */
unsigned rewriter_conn_count(RewriterTable *t);
uint64_t rewriter_untracked(RewriterTable *t);
bool rewriter_conn_offset(RewriterTable *t, const uint8_t *buf, size_t len,
                          size_t vnet_hdr_len, uint32_t *offset);

/* RFC 1624: the checksum after one 16-bit word changed from old to new
 * (all three as read from the wire, big-endian). */
uint16_t rewriter_csum_update16(uint16_t csum, uint16_t old, uint16_t new);

#endif
