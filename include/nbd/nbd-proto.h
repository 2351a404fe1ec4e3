/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD wire protocol as the server speaks it, written from the
 * protocol specification (NetworkBlockDevice/nbd doc/proto.md): magics,
 * flags, option and command numbers, reply types, error values, and the
 * fixed sizes of each message. Everything on the wire is big-endian.
 *
 * Handshake (fixed newstyle only; oldstyle is not spoken):
 *
 *   S: u64 NBDMAGIC  u64 IHAVEOPT  u16 handshake flags
 *   C: u32 client flags
 *   repeat:
 *     C: u64 IHAVEOPT  u32 option  u32 length  [length bytes]
 *     S: u64 REPLY_MAGIC  u32 option  u32 reply type  u32 length  [data]
 *   until NBD_OPT_EXPORT_NAME (answered by u64 size, u16 transmission
 *   flags, 124 zero bytes unless NBD_FLAG_C_NO_ZEROES) or NBD_OPT_GO
 *   answered by NBD_REP_ACK; NBD_OPT_ABORT ends the session.
 *
 * Transmission:
 *
 *   C: u32 REQUEST_MAGIC  u16 flags  u16 type  u64 cookie  u64 offset
 *      u32 length  [length bytes for NBD_CMD_WRITE]
 *   S: simple reply:     u32 SIMPLE_REPLY_MAGIC  u32 error  u64 cookie
 *                        [data for a successful NBD_CMD_READ]
 *   S: structured chunk: u32 STRUCTURED_REPLY_MAGIC  u16 flags  u16 type
 *                        u64 cookie  u32 length  [length bytes]
 */
#ifndef NBD_NBD_PROTO_H
#define NBD_NBD_PROTO_H

#include <stdint.h>

#define NBD_DEFAULT_PORT            10809

#define NBD_INIT_MAGIC              0x4e42444d41474943ULL   /* NBDMAGIC */
#define NBD_OPTS_MAGIC              0x49484156454f5054ULL   /* IHAVEOPT */
#define NBD_REP_MAGIC               0x0003e889045565a9ULL
#define NBD_REQUEST_MAGIC           0x25609513U
#define NBD_SIMPLE_REPLY_MAGIC      0x67446698U
#define NBD_STRUCTURED_REPLY_MAGIC  0x668e33efU

/* Sizes of the fixed parts. */
#define NBD_HANDSHAKE_SIZE          18      /* 8 + 8 + 2 */
#define NBD_OPT_HEADER_SIZE         16      /* 8 + 4 + 4 */
#define NBD_REP_HEADER_SIZE         20      /* 8 + 4 + 4 + 4 */
#define NBD_REQUEST_SIZE            28      /* 4 + 2 + 2 + 8 + 8 + 4 */
#define NBD_SIMPLE_REPLY_SIZE       16      /* 4 + 4 + 8 */
#define NBD_CHUNK_HEADER_SIZE       20      /* 4 + 2 + 2 + 8 + 4 */
#define NBD_EXPORT_NAME_REPLY_PAD   124

/* Strings (names, descriptions, messages) are at most this long. */
#define NBD_MAX_STRING_SIZE         4096

/* Handshake flags (server, u16). */
#define NBD_FLAG_FIXED_NEWSTYLE     (1 << 0)
#define NBD_FLAG_NO_ZEROES          (1 << 1)

/* Client flags (u32). */
#define NBD_FLAG_C_FIXED_NEWSTYLE   (1 << 0)
#define NBD_FLAG_C_NO_ZEROES        (1 << 1)

/* Transmission flags (u16). */
#define NBD_FLAG_HAS_FLAGS          (1 << 0)
#define NBD_FLAG_READ_ONLY          (1 << 1)
#define NBD_FLAG_SEND_FLUSH         (1 << 2)
#define NBD_FLAG_SEND_FUA           (1 << 3)
#define NBD_FLAG_ROTATIONAL         (1 << 4)
#define NBD_FLAG_SEND_TRIM          (1 << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES  (1 << 6)
#define NBD_FLAG_SEND_DF            (1 << 7)
#define NBD_FLAG_CAN_MULTI_CONN     (1 << 8)
#define NBD_FLAG_SEND_RESIZE        (1 << 9)
#define NBD_FLAG_SEND_CACHE         (1 << 10)
#define NBD_FLAG_SEND_FAST_ZERO     (1 << 11)

/* Options. */
enum {
    NBD_OPT_EXPORT_NAME = 1,
    NBD_OPT_ABORT = 2,
    NBD_OPT_LIST = 3,
    NBD_OPT_PEEK_EXPORT = 4,        /* withdrawn */
    NBD_OPT_STARTTLS = 5,
    NBD_OPT_INFO = 6,
    NBD_OPT_GO = 7,
    NBD_OPT_STRUCTURED_REPLY = 8,
    NBD_OPT_LIST_META_CONTEXT = 9,
    NBD_OPT_SET_META_CONTEXT = 10,
    NBD_OPT_EXTENDED_HEADERS = 11,
};

/* Option reply types; errors have bit 31 set. */
#define NBD_REP_ERR(n)              ((1U << 31) | (n))
enum {
    NBD_REP_ACK = 1,
    NBD_REP_SERVER = 2,
    NBD_REP_INFO = 3,
    NBD_REP_META_CONTEXT = 4,
};
#define NBD_REP_ERR_UNSUP           NBD_REP_ERR(1)
#define NBD_REP_ERR_POLICY          NBD_REP_ERR(2)
#define NBD_REP_ERR_INVALID         NBD_REP_ERR(3)
#define NBD_REP_ERR_PLATFORM        NBD_REP_ERR(4)
#define NBD_REP_ERR_TLS_REQD        NBD_REP_ERR(5)
#define NBD_REP_ERR_UNKNOWN         NBD_REP_ERR(6)
#define NBD_REP_ERR_SHUTDOWN        NBD_REP_ERR(7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD NBD_REP_ERR(8)
#define NBD_REP_ERR_TOO_BIG         NBD_REP_ERR(9)

/* NBD_REP_INFO types (u16 at the start of the reply data). */
enum {
    NBD_INFO_EXPORT = 0,            /* u64 size, u16 transmission flags */
    NBD_INFO_NAME = 1,              /* string */
    NBD_INFO_DESCRIPTION = 2,       /* string */
    NBD_INFO_BLOCK_SIZE = 3,        /* u32 minimum, preferred, maximum */
};

/* Commands. */
enum {
    NBD_CMD_READ = 0,
    NBD_CMD_WRITE = 1,
    NBD_CMD_DISC = 2,
    NBD_CMD_FLUSH = 3,
    NBD_CMD_TRIM = 4,
    NBD_CMD_CACHE = 5,
    NBD_CMD_WRITE_ZEROES = 6,
    NBD_CMD_BLOCK_STATUS = 7,
    NBD_CMD_RESIZE = 8,
};

/* Command flags (u16). */
#define NBD_CMD_FLAG_FUA            (1 << 0)
#define NBD_CMD_FLAG_NO_HOLE        (1 << 1)
#define NBD_CMD_FLAG_DF             (1 << 2)
#define NBD_CMD_FLAG_REQ_ONE        (1 << 3)
#define NBD_CMD_FLAG_FAST_ZERO      (1 << 4)

/* Structured reply chunk flags and types. */
#define NBD_REPLY_FLAG_DONE         (1 << 0)
enum {
    NBD_REPLY_TYPE_NONE = 0,
    NBD_REPLY_TYPE_OFFSET_DATA = 1, /* u64 offset, data */
    NBD_REPLY_TYPE_OFFSET_HOLE = 2, /* u64 offset, u32 size */
    NBD_REPLY_TYPE_BLOCK_STATUS = 5,/* u32 context id, (u32 len, u32 flags)+ */
    NBD_REPLY_TYPE_ERROR = (1 << 15) + 1,        /* u32 err, u16 len, msg */
    NBD_REPLY_TYPE_ERROR_OFFSET = (1 << 15) + 2, /* ... then u64 offset */
};

/* Error values on the wire (not the host's errno numbers). */
enum {
    NBD_SUCCESS = 0,
    NBD_EPERM = 1,
    NBD_EIO = 5,
    NBD_ENOMEM = 12,
    NBD_EINVAL = 22,
    NBD_ENOSPC = 28,
    NBD_EOVERFLOW = 75,
    NBD_ENOTSUP = 95,
    NBD_ESHUTDOWN = 108,
};

/* The base:allocation metadata context. */
#define NBD_META_BASE_ALLOCATION    "base:allocation"
#define NBD_STATE_HOLE              (1 << 0)
#define NBD_STATE_ZERO              (1 << 1)

#endif
