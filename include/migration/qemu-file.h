/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMUFile: the buffered byte stream every migration protocol (savevm
 * framing, vmstate, RAM, COLO) writes to and reads from. It sits on a
 * channel (an ops table: an fd for sockets, pipes and files; an in-memory
 * buffer for tests and COLO checkpoints) and carries a sticky error: the
 * first failure (a short read, a write error, a protocol violation found by
 * a caller) is recorded with an errno-style code and a message, and from
 * then on every put is a no-op and every get returns zeros. Protocol code
 * therefore reads as a straight line and checks qemu_file_get_error() once
 * at each protocol boundary.
 *
 * A file is either for writing or for reading, never both.
 *
 * Framing: between qemu_file_frame_begin() and qemu_file_frame_end() the
 * bytes written are sent as chunks (be32 length + bytes) followed by a
 * zero-length chunk, without copying the payload; a reader in the same
 * mode sees only the payload and cannot read past the end of the frame.
 * savevm uses this so that every section's size is known to the loader and
 * to scripts/analyze-migration.py (see docs/devel/migration-stream.md).
 */
#ifndef MIGRATION_QEMU_FILE_H
#define MIGRATION_QEMU_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include "util/error.h"

typedef struct QEMUFile QEMUFile;

/*
 * A channel. writev must write everything or fail; read returns the bytes
 * read (0 at end of stream). Both return -errno on failure and then set
 * *errp. shutdown makes blocked and later reads/writes fail (cancel, yank);
 * it may be called from another thread. close releases the channel.
 */
typedef struct QEMUFileOps {
    const char *name;
    ssize_t (*writev)(void *opaque, const struct iovec *iov, int iovcnt,
                      Error **errp);
    ssize_t (*read)(void *opaque, uint8_t *buf, size_t len, Error **errp);
    int (*shutdown)(void *opaque, Error **errp);
    int (*close)(void *opaque, Error **errp);
} QEMUFileOps;

QEMUFile *qemu_file_new(const QEMUFileOps *ops, void *opaque, bool writable);
/* The channel's opaque, if f runs over ops (else NULL). */
void *qemu_file_channel(QEMUFile *f, const QEMUFileOps *ops);
bool qemu_file_is_writable(QEMUFile *f);

/* fd channels (channel-fd.c). With close_fd, qemu_fclose() closes fd. */
QEMUFile *qemu_file_new_fd_output(int fd, bool close_fd);
QEMUFile *qemu_file_new_fd_input(int fd, bool close_fd);

/* In-memory channels (channel-mem.c). The input copies data. max_read,
 * when non-zero, caps each channel read (tests use 1 to cross every
 * buffer boundary). */
QEMUFile *qemu_file_new_mem_output(void);
QEMUFile *qemu_file_new_mem_input(const void *data, size_t len,
                                  size_t max_read);
/* Flushes and returns everything written so far; valid until the next
 * write or qemu_fclose(). */
const uint8_t *qemu_file_mem_output_data(QEMUFile *f, size_t *len);

/* Flushes, closes the channel and frees f. Returns the sticky error or the
 * close error (0 or -errno); the message is dropped: check
 * qemu_file_get_error() first when it matters. */
int qemu_fclose(QEMUFile *f);

/* Sticky error. The first call wins; later ones are ignored. ret is
 * -errno (never 0). */
void qemu_file_set_error(QEMUFile *f, int ret, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* Returns 0, or the -errno of the first error and (if errp) a copy of its
 * message in *errp. */
int qemu_file_get_error(QEMUFile *f, Error **errp);
const char *qemu_file_error_message(QEMUFile *f);
/* The sticky error is the channel's (a read or write failed, the stream
 * ended early, or it was shut down), not a bad record: what postcopy
 * recovery can heal with a new connection. */
bool qemu_file_transport_failed(QEMUFile *f);

/* Writing. Everything is buffered until qemu_fflush() or a full buffer. */
void qemu_put_byte(QEMUFile *f, uint8_t v);
void qemu_put_be16(QEMUFile *f, uint16_t v);
void qemu_put_be32(QEMUFile *f, uint32_t v);
void qemu_put_be64(QEMUFile *f, uint64_t v);
void qemu_put_buffer(QEMUFile *f, const void *buf, size_t len);
/* Queues buf by reference (a guest page: no copy). buf must stay valid and
 * unchanged until the next qemu_fflush(), which callers do before they
 * return control (savevm flushes at the end of every section). */
void qemu_put_buffer_nocopy(QEMUFile *f, const void *buf, size_t len);
/* u8 length + bytes; strings longer than 255 bytes set the error. */
void qemu_put_counted_string(QEMUFile *f, const char *str);
void qemu_fflush(QEMUFile *f);

/* Reading. On a short stream (or a read past the end of a frame) they set
 * the error -ENODATA ("unexpected end of stream") and return zeros. */
uint8_t qemu_get_byte(QEMUFile *f);
uint16_t qemu_get_be16(QEMUFile *f);
uint32_t qemu_get_be32(QEMUFile *f);
uint64_t qemu_get_be64(QEMUFile *f);
/* Fills buf with exactly len bytes, or zeroes it and returns false. */
bool qemu_get_buffer(QEMUFile *f, void *buf, size_t len);
bool qemu_file_skip(QEMUFile *f, size_t len);
/* Reads a counted string into buf (256 bytes, NUL-terminated). Returns
 * its length; on error buf is "" and the sticky error is set. */
size_t qemu_get_counted_string(QEMUFile *f, char buf[256]);
/* True when the channel has no more data (blocks until it knows). Does
 * not set an error at end of stream. */
bool qemu_file_at_eof(QEMUFile *f);

/* Framing (see above). On the reading side frame_end skips whatever the
 * reader left unread up to the frame's end and returns how many bytes that
 * was, so the caller can name the section that was not fully consumed;
 * writers get 0. */
void qemu_file_frame_begin(QEMUFile *f);
uint64_t qemu_file_frame_end(QEMUFile *f);
/* Reader: appends what is left of the frame to out and ends the frame;
 * more than max bytes in out is an error (-EFBIG). False on error. */
bool qemu_file_frame_read_rest(QEMUFile *f, GByteArray *out, size_t max);

/*
 * Checksums (the x-stream-checksum capability, docs/migration.md).
 *
 * set_checksums() marks the stream as one whose records end with a
 * CRC32C trailer; the file only carries the flag, savevm, loadvm and
 * COLO read it and write or check the trailers.
 *
 * crc_begin() starts a CRC32C over every wire byte put (writer) or
 * consumed (reader) from then on, chunk headers of a frame included and
 * in wire order; crc_end() stops it and returns it. Neither may be called
 * inside a frame. While a CRC runs, qemu_put_buffer_nocopy() copies its
 * data (memory queued by reference could change before the flush and no
 * longer match the CRC) unless set_nocopy_stable() promises it will not,
 * as for guest RAM while the guest is stopped.
 */
void qemu_file_set_checksums(QEMUFile *f, bool on);
bool qemu_file_checksums(QEMUFile *f);
void qemu_file_crc_begin(QEMUFile *f);
uint32_t qemu_file_crc_end(QEMUFile *f);
void qemu_file_set_nocopy_stable(QEMUFile *f, bool on);

/* Bytes put (writer, including buffered ones) or consumed (reader). */
uint64_t qemu_file_transferred(QEMUFile *f);

/* Rate limiting, in bytes per second over 100 ms windows (0: none).
 * qemu_file_rate_limit() is true when the caller should stop sending
 * until qemu_file_rate_limit_delay_us() have passed (or there is an
 * error, when it should stop altogether). */
void qemu_file_set_rate_limit(QEMUFile *f, uint64_t bytes_per_sec);
bool qemu_file_rate_limit(QEMUFile *f);
int64_t qemu_file_rate_limit_delay_us(QEMUFile *f);
/* Tests substitute a clock (microseconds); NULL restores the real one. */
void qemu_file_set_clock(QEMUFile *f, int64_t (*now_us)(void));

/* Unblocks a reader or writer in another thread; later operations fail
 * with -EPIPE "stream shut down". */
int qemu_file_shutdown(QEMUFile *f);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(QEMUFile, qemu_fclose)

#endif
