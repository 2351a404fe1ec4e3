/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-blk (virtio 1.x section 5.2), the device model: transport
 * independent, on the virtio core (include/hw/virtio/virtio.h) and a
 * BlockBackend (include/block/block-backend.h). virtio-blk-pci puts it on
 * PCI (hw/virtio/virtio-blk-pci.c).
 *
 * Queues: num-queues request queues (VIRTIO_BLK_F_MQ when more than one),
 * all alike. A request is one descriptor chain:
 *
 *   out  le32 type; le32 reserved; le64 sector     the 16-byte header
 *   out  data (OUT; DISCARD / WRITE_ZEROES: one 16-byte segment
 *        { le64 sector; le32 num_sectors; le32 flags })
 *   in   data (IN, GET_ID)
 *   in   u8 status                                 the last writable byte
 *
 * The device does not care how the buffers are cut into descriptors. A
 * chain without room for the header or the status byte cannot be answered
 * and puts the device in NEEDS_RESET (virtio_error). Everything else gets
 * a status: OK, IOERR (sectors past the end or misaligned, a read-only
 * disk written, more than VIRTIO_BLK_IOV_MAX segments of data, a failed
 * request the error policy reports) or UNSUPP (an unknown type, a discard or
 * write-zeroes not negotiated, with more than one segment or with flags
 * the type does not allow). Sectors are 512 bytes whatever blk_size is.
 *
 * Requests go to the BlockBackend's asynchronous calls straight from and
 * into guest RAM (no copy); many are in flight at once. The completion
 * (main loop, BQL) writes the status byte and pushes the element with the
 * length of the whole writable part, so the core marks every byte the
 * request could have written dirty (an IN's data was written by a block
 * worker through in_sg, which the dirty rule then covers).
 *
 * FLUSH reaches the host as the block layer's flush (fdatasync on a file
 * node, nothing with cache=unsafe). A driver that does not negotiate
 * VIRTIO_BLK_F_FLUSH gets a write-through disk: every write is flushed
 * before it completes (the backend's write cache goes off until reset).
 *
 * Error policy (werror for writes, flushes, discards and write-zeroes,
 * rerror for reads): report (IOERR), ignore (OK), stop (the request is
 * parked, the VM stops in io-error, and when it runs again every parked
 * request is submitted again in order), enospc (stop on ENOSPC, else
 * report). Every failure sends BLOCK_IO_ERROR with the action taken.
 *
 * Migration and COLO: pre_save drains the backend (blk_drain also works on
 * the migration thread, which holds the BQL), so no request is running on
 * the host when the state is captured and no completion changes RAM
 * afterwards. Requests parked by a stop policy were never pushed: they are
 * in flight in the core's state, and the destination pops them again and
 * submits them when it runs (a request is an idempotent read or write).
 * pre_load drains too, and drops whatever was parked: the loaded state
 * says what is in flight.
 */
#ifndef HW_BLOCK_VIRTIO_BLK_H
#define HW_BLOCK_VIRTIO_BLK_H

#include "block/block-backend.h"
#include "hw/virtio/virtio.h"

#define VIRTIO_ID_BLOCK             2
#define TYPE_VIRTIO_BLK_PCI         "virtio-blk-pci"

/* Feature bits (spec 5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX       1
#define VIRTIO_BLK_F_SEG_MAX        2
#define VIRTIO_BLK_F_GEOMETRY       4
#define VIRTIO_BLK_F_RO             5
#define VIRTIO_BLK_F_BLK_SIZE       6
#define VIRTIO_BLK_F_FLUSH          9
#define VIRTIO_BLK_F_TOPOLOGY       10
#define VIRTIO_BLK_F_CONFIG_WCE     11
#define VIRTIO_BLK_F_MQ             12
#define VIRTIO_BLK_F_DISCARD        13
#define VIRTIO_BLK_F_WRITE_ZEROES   14

/* Device configuration (little-endian), byte offsets. */
#define VIRTIO_BLK_CFG_CAPACITY         0   /* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX         8   /* le32 */
#define VIRTIO_BLK_CFG_SEG_MAX          12  /* le32 */
#define VIRTIO_BLK_CFG_GEOMETRY         16  /* le16 cyl, u8 heads, u8 secs */
#define VIRTIO_BLK_CFG_BLK_SIZE         20  /* le32 */
#define VIRTIO_BLK_CFG_PHYS_BLOCK_EXP   24  /* u8 */
#define VIRTIO_BLK_CFG_ALIGN_OFFSET     25  /* u8 */
#define VIRTIO_BLK_CFG_MIN_IO_SIZE      26  /* le16 */
#define VIRTIO_BLK_CFG_OPT_IO_SIZE      28  /* le32 */
#define VIRTIO_BLK_CFG_WRITEBACK        32  /* u8 */
#define VIRTIO_BLK_CFG_NUM_QUEUES       34  /* le16 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS  36  /* le32 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG      40  /* le32 */
#define VIRTIO_BLK_CFG_DISCARD_ALIGN        44  /* le32 */
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS       48  /* le32 */
#define VIRTIO_BLK_CFG_MAX_WZ_SEG           52  /* le32 */
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP         56  /* u8 */
#define VIRTIO_BLK_CFG_LEN                  60

/* Request types (spec 5.2.6). */
#define VIRTIO_BLK_T_IN             0
#define VIRTIO_BLK_T_OUT            1
#define VIRTIO_BLK_T_FLUSH          4
#define VIRTIO_BLK_T_GET_ID         8
#define VIRTIO_BLK_T_GET_LIFETIME   10
#define VIRTIO_BLK_T_DISCARD        11
#define VIRTIO_BLK_T_WRITE_ZEROES   13
#define VIRTIO_BLK_T_SECURE_ERASE   14

/* Status byte. */
#define VIRTIO_BLK_S_OK             0
#define VIRTIO_BLK_S_IOERR          1
#define VIRTIO_BLK_S_UNSUPP         2

#define VIRTIO_BLK_HDR_LEN          16
#define VIRTIO_BLK_DWZ_SEG_LEN      16
#define VIRTIO_BLK_DWZ_F_UNMAP      1
#define VIRTIO_BLK_ID_BYTES         20
#define VIRTIO_BLK_SECTOR           512
/* Segments of data one request may have (the host's IOV_MAX). */
#define VIRTIO_BLK_IOV_MAX          1024
#define VIRTIO_BLK_QUEUES_MAX       16
#define VIRTIO_BLK_QUEUE_SIZE_MAX   1024

typedef struct VirtIOBlockReq VirtIOBlockReq;

typedef struct VirtIOBlock {
    VirtIODevice vdev;          /* first */
    /* Properties. */
    char *drive_id;
    char *serial;
    uint32_t num_queues;
    uint32_t queue_size;
    BlockdevOnError werror;
    BlockdevOnError rerror;
    bool discard;
    bool write_zeroes;
    bool share_rw;
    uint32_t logical_block_size;
    uint32_t physical_block_size;
    uint32_t max_discard_sectors;
    uint32_t max_write_zeroes_sectors;

    const char *name;           /* the device's id or PCI path: traces */
    const char *qdev_path;      /* for query-block, or NULL (no id) */
    BlockBackend *blk;
    bool blk_owned;             /* made here for a -blockdev node */
    bool wce;                   /* the drive's write cache setting */
    uint64_t capacity;          /* in 512-byte sectors */
    /* Requests the stop policy parked, oldest first, for the next run. */
    GQueue parked;
    unsigned in_flight;         /* submitted to the backend */

    /* Counters (tests, traces). */
    uint64_t requests;
    uint64_t errors;            /* failed at the backend */
} VirtIOBlock;

/*
 * Properties set, realize: finds drive= (a -drive id or a -blockdev
 * node-name), attaches to it, checks the properties against it, offers
 * the features, initializes vdev on mem. name names the device in errors
 * and traces.
 */
bool virtio_blk_realize(VirtIOBlock *s, GuestMemory *mem, const char *name,
                        Error **errp);
void virtio_blk_unrealize(VirtIOBlock *s);

/* The property parser of werror= / rerror= (BlockdevOnError names);
 * name is the property's, for the error. */
bool virtio_blk_parse_on_error(const char *name, const char *text,
                               BlockdevOnError *out, Error **errp);

extern const VMStateDescription vmstate_virtio_blk;

#endif
