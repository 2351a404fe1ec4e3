/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-blk, the device model: requests from the guest's queues to the
 * BlockBackend and back, the error policies, configuration space and
 * migration. The rules are in include/hw/block/virtio-blk.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include "block/block.h"
#include "block/permission.h"
#include "hw/block/virtio-blk.h"
#include "qapi/qapi-events.h"
#include "system/runstate.h"
#include "trace.h"

struct VirtIOBlockReq {
    VirtIOBlock *s;
    VirtQueue *vq;
    VirtQueueElement *elem;
    uint32_t type;
    uint64_t sector;            /* first 512-byte sector */
    BlockIov qiov;              /* IN / OUT data; iov is ours */
    uint64_t bytes;             /* DISCARD / WRITE_ZEROES length */
    int flags;                  /* BDRV_REQ_* */
};

static VirtIOBlock *virtio_blk_of(VirtIODevice *vdev)
{
    return (VirtIOBlock *)vdev;
}

/* Little-endian fields of headers and configuration space. */
static uint32_t ld32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT32_FROM_LE(v);
}

static uint64_t ld64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT64_FROM_LE(v);
}

static void st16(uint8_t *p, uint16_t v)
{
    v = GUINT16_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}

static void st32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}

static void st64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}

static const char *const virtio_blk_type_names[] = {
    [VIRTIO_BLK_T_IN] = "in",
    [VIRTIO_BLK_T_OUT] = "out",
    [VIRTIO_BLK_T_FLUSH] = "flush",
    [VIRTIO_BLK_T_GET_ID] = "get-id",
    [VIRTIO_BLK_T_GET_LIFETIME] = "get-lifetime",
    [VIRTIO_BLK_T_DISCARD] = "discard",
    [VIRTIO_BLK_T_WRITE_ZEROES] = "write-zeroes",
    [VIRTIO_BLK_T_SECURE_ERASE] = "secure-erase",
};

static const char *virtio_blk_type_name(uint32_t type)
{
    if (type < G_N_ELEMENTS(virtio_blk_type_names) &&
        virtio_blk_type_names[type]) {
        return virtio_blk_type_names[type];
    }
    return "unknown";
}

/* ---- completion ---- */

static void virtio_blk_req_free(VirtIOBlockReq *req)
{
    g_free(req->qiov.iov);
    g_free(req->elem);
    g_free(req);
}

/*
 * Writes the status byte and gives the element back. An element from
 * before a reset or a load is stale: its buffers may belong to someone
 * else by now, so nothing is written into them.
 */
static void virtio_blk_req_complete(VirtIOBlockReq *req, uint8_t status)
{
    VirtIOBlock *s = req->s;
    VirtQueueElement *elem = req->elem;

    trace_virtio_blk_complete(s->name, req->vq->index, elem->head,
                              virtio_blk_type_name(req->type), status);
    if (elem->epoch == req->vq->epoch) {
        virtqueue_elem_to_guest(req->vq, elem, elem->in_len - 1, &status, 1);
        /* The whole writable part: an IN's data came through in_sg. */
        virtqueue_push(req->vq, elem, elem->in_len);
        virtio_notify(&s->vdev, req->vq);
    }
    virtio_blk_req_free(req);
}

static bool virtio_blk_is_read(const VirtIOBlockReq *req)
{
    return req->type == VIRTIO_BLK_T_IN;
}

static BlockErrorAction virtio_blk_error_action(VirtIOBlock *s, bool is_read,
                                                int ret)
{
    BlockdevOnError policy = is_read ? s->rerror : s->werror;

    if (policy == BLOCKDEV_ON_ERROR_AUTO) {
        /* The drive's werror= / rerror=, else enospc / report. */
        policy = blk_get_on_error(s->blk, is_read);
    }
    switch (policy) {
    case BLOCKDEV_ON_ERROR_IGNORE:
        return BLOCK_ERROR_ACTION_IGNORE;
    case BLOCKDEV_ON_ERROR_STOP:
        return BLOCK_ERROR_ACTION_STOP;
    case BLOCKDEV_ON_ERROR_ENOSPC:
        return ret == -ENOSPC ? BLOCK_ERROR_ACTION_STOP
                              : BLOCK_ERROR_ACTION_REPORT;
    case BLOCKDEV_ON_ERROR_REPORT:
    default:
        return BLOCK_ERROR_ACTION_REPORT;
    }
}

/* A request failed at the backend: the policy decides, the event tells. */
static void virtio_blk_req_failed(VirtIOBlockReq *req, int ret,
                                  const Error *err)
{
    VirtIOBlock *s = req->s;
    bool is_read = virtio_blk_is_read(req);
    BlockErrorAction action = virtio_blk_error_action(s, is_read, ret);

    s->errors++;
    trace_virtio_blk_error(s->name, virtio_blk_type_name(req->type),
                           req->sector, ret, BlockErrorAction_str(action),
                           err ? error_get_pretty(err) : "");
    qapi_event_send_block_io_error(blk_name(s->blk),
                                   bdrv_get_node_name(blk_bs(s->blk)),
                                   is_read ? IO_OPERATION_TYPE_READ
                                           : IO_OPERATION_TYPE_WRITE,
                                   action, true, ret == -ENOSPC,
                                   g_strerror(-ret));
    switch (action) {
    case BLOCK_ERROR_ACTION_STOP:
        /* Kept for the next run (virtio_blk_runstate_changed). */
        g_queue_push_tail(&s->parked, req);
        vm_stop_request(RUN_STATE_IO_ERROR);
        break;
    case BLOCK_ERROR_ACTION_IGNORE:
        virtio_blk_req_complete(req, VIRTIO_BLK_S_OK);
        break;
    case BLOCK_ERROR_ACTION_REPORT:
    default:
        virtio_blk_req_complete(req, VIRTIO_BLK_S_IOERR);
        break;
    }
}

/* The backend's callback (main loop or a drainer, BQL). */
static void virtio_blk_req_done(void *opaque, int ret, const Error *err)
{
    VirtIOBlockReq *req = opaque;

    req->s->in_flight--;
    if (req->type == VIRTIO_BLK_T_IN && req->elem->epoch == req->vq->epoch) {
        /* A parked read keeps what it wrote; the dirty rule wants it
         * marked even though the element is not pushed yet. */
        virtqueue_elem_mark_dirty(req->vq, req->elem, req->elem->in_len);
    }
    if (ret < 0) {
        virtio_blk_req_failed(req, ret, err);
        return;
    }
    virtio_blk_req_complete(req, VIRTIO_BLK_S_OK);
}

/* ---- submission ---- */

static void virtio_blk_req_submit(VirtIOBlockReq *req)
{
    VirtIOBlock *s = req->s;
    uint64_t offset = req->sector * VIRTIO_BLK_SECTOR;

    s->in_flight++;
    trace_virtio_blk_submit(s->name, req->vq->index, req->elem->head,
                            virtio_blk_type_name(req->type), req->sector,
                            req->type == VIRTIO_BLK_T_IN ||
                            req->type == VIRTIO_BLK_T_OUT ? req->qiov.size
                                                          : req->bytes);
    switch (req->type) {
    case VIRTIO_BLK_T_IN:
        blk_aio_preadv(s->blk, offset, &req->qiov, virtio_blk_req_done, req);
        break;
    case VIRTIO_BLK_T_OUT:
        blk_aio_pwritev(s->blk, offset, &req->qiov, 0, virtio_blk_req_done,
                        req);
        break;
    case VIRTIO_BLK_T_FLUSH:
        blk_aio_flush(s->blk, virtio_blk_req_done, req);
        break;
    case VIRTIO_BLK_T_DISCARD:
        blk_aio_pdiscard(s->blk, offset, req->bytes, virtio_blk_req_done,
                         req);
        break;
    case VIRTIO_BLK_T_WRITE_ZEROES:
        blk_aio_pwrite_zeroes(s->blk, offset, req->bytes, req->flags,
                              virtio_blk_req_done, req);
        break;
    default:
        g_assert_not_reached();
    }
}

/* Whether [sector, sector + bytes) is whole logical blocks on the disk. */
static bool virtio_blk_range_ok(VirtIOBlock *s, uint64_t sector,
                                uint64_t bytes)
{
    uint64_t lbs = s->logical_block_size;

    if ((sector * VIRTIO_BLK_SECTOR) % lbs || bytes % lbs) {
        return false;
    }
    return sector <= s->capacity &&
           bytes / VIRTIO_BLK_SECTOR <= s->capacity - sector;
}

/* IN / OUT: the data part of the element, checked. Returns a status to
 * answer at once, or -1 to submit. */
static int virtio_blk_prepare_rw(VirtIOBlockReq *req)
{
    VirtIOBlock *s = req->s;
    VirtQueueElement *elem = req->elem;
    BlockIov all;

    if (req->type == VIRTIO_BLK_T_IN) {
        all = (BlockIov) { elem->in_sg, (int)elem->in_num, elem->in_len };
        block_iov_slice(&req->qiov, &all, 0, elem->in_len - 1);
    } else {
        if (!blk_is_writable(s->blk)) {
            return VIRTIO_BLK_S_IOERR;
        }
        all = (BlockIov) { elem->out_sg, (int)elem->out_num, elem->out_len };
        block_iov_slice(&req->qiov, &all, VIRTIO_BLK_HDR_LEN,
                        elem->out_len - VIRTIO_BLK_HDR_LEN);
    }
    if (req->qiov.niov > VIRTIO_BLK_IOV_MAX ||
        !virtio_blk_range_ok(s, req->sector, req->qiov.size)) {
        block_acct_invalid(blk_get_stats(s->blk),
                           req->type == VIRTIO_BLK_T_IN ? BLOCK_ACCT_READ
                                                        : BLOCK_ACCT_WRITE);
        return VIRTIO_BLK_S_IOERR;
    }
    return req->qiov.size ? -1 : VIRTIO_BLK_S_OK;
}

/* DISCARD / WRITE_ZEROES: one segment, checked. Status or -1. */
static int virtio_blk_prepare_dwz(VirtIOBlockReq *req)
{
    VirtIOBlock *s = req->s;
    VirtQueueElement *elem = req->elem;
    bool discard = req->type == VIRTIO_BLK_T_DISCARD;
    unsigned feature = discard ? VIRTIO_BLK_F_DISCARD
                               : VIRTIO_BLK_F_WRITE_ZEROES;
    uint32_t max = discard ? s->max_discard_sectors
                           : s->max_write_zeroes_sectors;
    uint8_t seg[VIRTIO_BLK_DWZ_SEG_LEN];
    uint32_t num, flags;

    if (!virtio_has_feature(&s->vdev, feature) ||
        elem->out_len != VIRTIO_BLK_HDR_LEN + VIRTIO_BLK_DWZ_SEG_LEN) {
        /* One segment (max_*_seg is 1); none or several: unsupported. */
        return VIRTIO_BLK_S_UNSUPP;
    }
    virtqueue_elem_from_guest(elem, VIRTIO_BLK_HDR_LEN, seg, sizeof(seg));
    req->sector = ld64(seg);
    num = ld32(seg + 8);
    flags = ld32(seg + 12);
    if (flags & ~(uint32_t)VIRTIO_BLK_DWZ_F_UNMAP ||
        (discard && flags)) {
        /* Spec 5.2.6.2: a discard with the unmap flag is unsupported. */
        return VIRTIO_BLK_S_UNSUPP;
    }
    req->bytes = (uint64_t)num * VIRTIO_BLK_SECTOR;
    req->flags = (flags & VIRTIO_BLK_DWZ_F_UNMAP) ? BDRV_REQ_MAY_UNMAP : 0;
    if (!blk_is_writable(s->blk) || num > max ||
        !virtio_blk_range_ok(s, req->sector, req->bytes)) {
        block_acct_invalid(blk_get_stats(s->blk),
                           discard ? BLOCK_ACCT_UNMAP : BLOCK_ACCT_WRITE);
        return VIRTIO_BLK_S_IOERR;
    }
    return num ? -1 : VIRTIO_BLK_S_OK;
}

static int virtio_blk_get_id(VirtIOBlockReq *req)
{
    VirtIOBlock *s = req->s;
    char id[VIRTIO_BLK_ID_BYTES] = { 0 };

    /* NUL-padded, not terminated when it fills all 20 bytes; a longer
     * serial is cut, as QEMU does. */
    if (s->serial) {
        memcpy(id, s->serial, MIN(strlen(s->serial), sizeof(id)));
    }
    virtqueue_elem_to_guest(req->vq, req->elem, 0, id,
                            MIN(sizeof(id), req->elem->in_len - 1));
    return VIRTIO_BLK_S_OK;
}

/*
 * One popped chain. False when the chain cannot be a request at all (the
 * queue is broken now and the element was freed).
 */
static bool virtio_blk_handle_request(VirtIOBlock *s, VirtQueue *vq,
                                      VirtQueueElement *elem)
{
    uint8_t hdr[VIRTIO_BLK_HDR_LEN];
    VirtIOBlockReq *req;
    int status;

    if (elem->out_len < VIRTIO_BLK_HDR_LEN || elem->in_len < 1) {
        virtio_error(&s->vdev, vq, "request with %" PRIu64 " readable and "
                     "%" PRIu64 " writable bytes: no room for the %u-byte "
                     "header and the status byte", elem->out_len,
                     elem->in_len, VIRTIO_BLK_HDR_LEN);
        g_free(elem);
        return false;
    }
    virtqueue_elem_from_guest(elem, 0, hdr, sizeof(hdr));
    req = g_new0(VirtIOBlockReq, 1);
    req->s = s;
    req->vq = vq;
    req->elem = elem;
    req->type = ld32(hdr);
    req->sector = ld64(hdr + 8);
    s->requests++;

    switch (req->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        status = virtio_blk_prepare_rw(req);
        break;
    case VIRTIO_BLK_T_FLUSH:
        status = -1;
        break;
    case VIRTIO_BLK_T_GET_ID:
        status = virtio_blk_get_id(req);
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        status = virtio_blk_prepare_dwz(req);
        break;
    default:
        status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
    if (status < 0) {
        virtio_blk_req_submit(req);
    } else {
        virtio_blk_req_complete(req, status);
    }
    return true;
}

static void virtio_blk_handle_queue(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOBlock *s = virtio_blk_of(vdev);
    VirtQueueElement *elem;

    /* The core stops after queue-size pops of a hostile ring; a queue
     * keeps at most its size in flight, so this ends. */
    while ((elem = virtqueue_pop(vq))) {
        if (!virtio_blk_handle_request(s, vq, elem)) {
            break;
        }
    }
}

/* ---- run state: parked requests and queues after a load ---- */

static void virtio_blk_runstate_changed(RunState old_state,
                                        RunState new_state, void *opaque)
{
    VirtIOBlock *s = opaque;
    VirtIOBlockReq *req;
    Error *err = NULL;

    if (new_state != RUN_STATE_RUNNING) {
        return;
    }
    /* Attached on a migration destination: claim the disk for the guest. */
    if (!blk_dev_guest_starts(s->blk, &err)) {
        warn_report("virtio-blk '%s': the guest runs while another user "
                    "may still write its disk: %s", s->name,
                    error_get_pretty(err));
        error_free(err);
    }
    trace_virtio_blk_resume(s->name, g_queue_get_length(&s->parked));
    while ((req = g_queue_pop_head(&s->parked))) {
        if (req->elem->epoch != req->vq->epoch) {
            virtio_blk_req_free(req);
            continue;
        }
        virtio_blk_req_submit(req);
    }
    /*
     * After a load the chains in flight at the source are handed out
     * again by pop; the driver, waiting for them, may not kick.
     */
    for (uint32_t i = 0; i < s->vdev.num_queues; i++) {
        VirtQueue *vq = virtio_queue(&s->vdev, i);

        if (virtqueue_ready(vq)) {
            virtio_blk_handle_queue(&s->vdev, vq);
        }
    }
}

/* ---- the virtio device ---- */

static void virtio_blk_drop_parked(VirtIOBlock *s)
{
    VirtIOBlockReq *req;

    while ((req = g_queue_pop_head(&s->parked))) {
        virtio_blk_req_free(req);
    }
}

static void virtio_blk_reset(VirtIODevice *vdev)
{
    VirtIOBlock *s = virtio_blk_of(vdev);

    /* Nothing may still read into buffers the driver takes back. */
    blk_drain(s->blk);
    virtio_blk_drop_parked(s);
    blk_set_enable_write_cache(s->blk, s->wce);
}

static void virtio_blk_status_changed(VirtIODevice *vdev, uint8_t old,
                                      uint8_t status)
{
    VirtIOBlock *s = virtio_blk_of(vdev);

    if ((status & VIRTIO_STATUS_FEATURES_OK) &&
        !(old & VIRTIO_STATUS_FEATURES_OK)) {
        /* Without FLUSH the driver believes every write is stable. */
        blk_set_enable_write_cache(s->blk, s->wce &&
                                   virtio_has_feature(vdev,
                                                      VIRTIO_BLK_F_FLUSH));
    }
}

static void virtio_blk_config_read(VirtIODevice *vdev)
{
    VirtIOBlock *s = virtio_blk_of(vdev);
    uint8_t *c = vdev->config;
    int64_t len = blk_getlength(s->blk);
    unsigned exp = 0;

    if (len >= 0) {
        s->capacity = (uint64_t)len / VIRTIO_BLK_SECTOR;
    }
    while ((s->logical_block_size << exp) < s->physical_block_size) {
        exp++;
    }
    memset(c, 0, VIRTIO_BLK_CFG_LEN);
    st64(c + VIRTIO_BLK_CFG_CAPACITY, s->capacity);
    st32(c + VIRTIO_BLK_CFG_SEG_MAX, s->queue_size - 2);
    st32(c + VIRTIO_BLK_CFG_BLK_SIZE, s->logical_block_size);
    c[VIRTIO_BLK_CFG_PHYS_BLOCK_EXP] = exp;
    c[VIRTIO_BLK_CFG_WRITEBACK] = s->wce;
    st16(c + VIRTIO_BLK_CFG_NUM_QUEUES, s->num_queues);
    st32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, s->max_discard_sectors);
    st32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 1);
    st32(c + VIRTIO_BLK_CFG_DISCARD_ALIGN,
             s->logical_block_size / VIRTIO_BLK_SECTOR);
    st32(c + VIRTIO_BLK_CFG_MAX_WZ_SECTORS, s->max_write_zeroes_sectors);
    st32(c + VIRTIO_BLK_CFG_MAX_WZ_SEG, 1);
    c[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = 1;
}

/*
 * The backend's size changed (block_resize): the capacity follows, and
 * a driver that is up is told by a configuration-change interrupt, as
 * QEMU does; otherwise it would only see the new size if it happened to
 * read the configuration again.
 */
static void virtio_blk_resize(void *dev)
{
    VirtIOBlock *s = dev;
    int64_t len = blk_getlength(s->blk);

    if (len < 0 || (uint64_t)len / VIRTIO_BLK_SECTOR == s->capacity) {
        return;
    }
    trace_virtio_blk_resize(s->name, s->capacity,
                            (uint64_t)len / VIRTIO_BLK_SECTOR);
    virtio_blk_config_read(&s->vdev);
    virtio_config_changed(&s->vdev);
}

static const VirtioDeviceOps virtio_blk_ops = {
    .status_changed = virtio_blk_status_changed,
    .reset = virtio_blk_reset,
    .config_read = virtio_blk_config_read,
};

/* ---- realize ---- */

bool virtio_blk_parse_on_error(const char *name, const char *text,
                               BlockdevOnError *out, Error **errp)
{
    if (!BlockdevOnError_parse(text, out)) {
        /* QEMU's text for an enum property, and the values. */
        error_setg(errp, "Parameter '%s' does not accept value '%s' "
                   "(report, ignore, enospc, stop, auto)", name, text);
        return false;
    }
    return true;
}

static bool virtio_blk_check_props(VirtIOBlock *s, Error **errp)
{
    uint32_t lbs = s->logical_block_size, pbs;

    if (!s->physical_block_size) {
        s->physical_block_size = lbs;
    }
    pbs = s->physical_block_size;

    if (s->queue_size & (s->queue_size - 1)) {
        error_setg(errp, "queue-size property must be a power of 2 (got "
                   "%u)", s->queue_size);
        return false;
    }
    if (lbs & (lbs - 1) || pbs & (pbs - 1)) {
        error_setg(errp, "logical_block_size and physical_block_size must "
                   "be powers of 2 (got %u and %u)", lbs, pbs);
        return false;
    }
    if (pbs < lbs) {
        error_setg(errp, "physical_block_size (%u) must not be smaller "
                   "than logical_block_size (%u)", pbs, lbs);
        return false;
    }
    return true;
}

/* drive=: a -drive's backend, or a new one on a -blockdev node. */
static bool virtio_blk_open_drive(VirtIOBlock *s, Error **errp)
{
    BlockDriverState *bs;

    if (!s->drive_id) {
        error_setg(errp, "drive property not set");
        return false;
    }
    s->blk = blk_by_name(s->drive_id);
    if (s->blk) {
        s->blk_owned = false;
    } else {
        bs = bdrv_find_node(s->drive_id);
        if (!bs) {
            error_setg(errp, "Property 'virtio-blk-pci.drive' can't find "
                       "value '%s'", s->drive_id);
            return false;
        }
        /* Claims nothing yet: blk_attach_dev() claims for the device. */
        s->blk = blk_new_perm(NULL, bs, 0, BLK_PERM_ALL, errp);
        if (!s->blk) {
            return false;
        }
        s->blk_owned = true;
    }
    if (!blk_attach_dev(s->blk, s, s->qdev_path, s->share_rw, errp)) {
        if (s->blk_owned) {
            blk_unref(s->blk);
        }
        s->blk = NULL;
        return false;
    }
    blk_set_dev_resize_cb(s->blk, virtio_blk_resize);
    return true;
}

static void virtio_blk_close_drive(VirtIOBlock *s)
{
    if (!s->blk) {
        return;
    }
    blk_drain(s->blk);
    blk_set_enable_write_cache(s->blk, s->wce);
    blk_detach_dev(s->blk, s);
    if (s->blk_owned) {
        blk_unref(s->blk);
    }
    s->blk = NULL;
}

bool virtio_blk_realize(VirtIOBlock *s, GuestMemory *mem, const char *name,
                        Error **errp)
{
    uint64_t features = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
                        VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
                        VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
                        VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY) |
                        VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
                        VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
    int64_t len;

    s->name = name;
    if (!virtio_blk_check_props(s, errp) || !virtio_blk_open_drive(s, errp)) {
        return false;
    }
    len = blk_getlength(s->blk);
    if (len < 0) {
        error_setg_errno(errp, (int)-len, "drive '%s': cannot get its size",
                         s->drive_id);
        virtio_blk_close_drive(s);
        return false;
    }
    s->capacity = (uint64_t)len / VIRTIO_BLK_SECTOR;
    s->wce = blk_enable_write_cache(s->blk);
    if (s->num_queues > 1) {
        features |= VIRTIO_BIT(VIRTIO_BLK_F_MQ);
    }
    if (!blk_is_writable(s->blk)) {
        features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
    }
    if (s->discard) {
        features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD);
    }
    if (s->write_zeroes) {
        features |= VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    }
    g_queue_init(&s->parked);
    virtio_init(&s->vdev, "virtio-blk", VIRTIO_ID_BLOCK, &virtio_blk_ops, mem,
                features, VIRTIO_BLK_CFG_LEN);
    for (uint32_t i = 0; i < s->num_queues; i++) {
        virtio_add_queue(&s->vdev, s->queue_size, virtio_blk_handle_queue);
    }
    virtio_reset(&s->vdev);
    virtio_blk_config_read(&s->vdev);
    runstate_add_change_notifier(virtio_blk_runstate_changed, s);
    trace_virtio_blk_realize(name, s->drive_id, s->capacity, s->num_queues,
                             features);
    return true;
}

void virtio_blk_unrealize(VirtIOBlock *s)
{
    if (!s->blk) {
        return;
    }
    runstate_remove_change_notifier(virtio_blk_runstate_changed, s);
    virtio_blk_close_drive(s);
    virtio_blk_drop_parked(s);
    virtio_cleanup(&s->vdev);
}

/* ---- migration ---- */

/*
 * Nothing may run on the host once the state is captured: a write landing
 * after the destination (or the COLO secondary) took over would reorder
 * with its own, and a completion would change RAM behind the final pass.
 */
static bool virtio_blk_pre_save(void *opaque, Error **errp)
{
    VirtIOBlock *s = opaque;

    blk_drain(s->blk);
    trace_virtio_blk_drained(s->name, g_queue_get_length(&s->parked));
    return true;
}

/* Loading over a running device (COLO): its requests end first. */
static bool virtio_blk_pre_load(void *opaque, Error **errp)
{
    VirtIOBlock *s = opaque;

    blk_drain(s->blk);
    return true;
}

static bool virtio_blk_post_load(void *opaque, int version_id, Error **errp)
{
    VirtIOBlock *s = opaque;

    /* Parked requests are in flight in the loaded state, popped again
     * when the VM runs (virtio_blk_runstate_changed). */
    virtio_blk_drop_parked(s);
    if (!virtio_has_feature(&s->vdev, VIRTIO_F_VERSION_1) &&
        s->vdev.status & VIRTIO_STATUS_FEATURES_OK) {
        error_setg(errp, "virtio-blk: features without VERSION_1");
        return false;
    }
    blk_set_enable_write_cache(s->blk, s->wce &&
                               (!(s->vdev.status & VIRTIO_STATUS_FEATURES_OK) ||
                                virtio_has_feature(&s->vdev,
                                                   VIRTIO_BLK_F_FLUSH)));
    virtio_blk_config_read(&s->vdev);
    return true;
}

const VMStateDescription vmstate_virtio_blk = {
    .name = "virtio-blk",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = virtio_blk_pre_save,
    .pre_load = virtio_blk_pre_load,
    .post_load = virtio_blk_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(vdev, VirtIOBlock, vmstate_virtio_device,
                       VirtIODevice),
        VMSTATE_END_OF_LIST()
    },
};
