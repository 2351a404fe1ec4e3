/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Netfilters: objects (-object filter-*, object-add) that sit on one
 * netdev and see, change, drop or hold the frames crossing it, as QEMU's
 * do. The abstract type "netfilter" carries the common properties:
 *
 *   netdev=ID              the netdev (a backend, never a NIC); required
 *   queue=all|rx|tx        which direction the filter sees (default all)
 *   status=on|off          off: the filter is skipped (qom-set, live)
 *   position=head|tail|id=F   where in the netdev's chain (default tail)
 *   insert=before|behind   with position=id=F: before or behind F
 *
 * QEMU's directions are named from the NETDEV's point of view, which is
 * the trap: rx is what the netdev receives, i.e. GUEST OUTPUT; tx is what
 * the netdev transmits, i.e. what goes TO THE GUEST.
 *
 *    guest                                                  outside
 *   +-----------+   queue=rx: frames the guest sends    +-----------+
 *   | NIC       | ---- walked last filter -> first ---> | netdev    |
 *   | (virtio-  |                                        | (tap,     |
 *   |  net-pci) | <--- walked first filter -> last ---- |  socket)  |
 *   +-----------+   queue=tx: frames the netdev sends   +-----------+
 *
 *   chain of netdev hn0, in creation/position order:  [f1] [f2] [f3]
 *   a frame from the outside (tx):   f1 -> f2 -> f3 -> NIC
 *   a frame from the guest (rx):     f3 -> f2 -> f1 -> tap
 *
 * So the filter nearest the guest's side of the chain is the last one,
 * whichever way the frame travels, and a filter sees traffic from the
 * outside already passed through those before it. (When two netdevs are
 * joined, hubport,netdev=, the sender's tx chain runs first, then the
 * receiver's rx chain.)
 *
 * Each filter's receive_iov answers one of three ways:
 *   0           pass: the frame goes on to the next filter, then the peer
 *   the length  consumed: dropped, or kept to be sent on later; the
 *               sender is told the frame went
 * A filter that kept a frame (filter-buffer) or makes one (filter-
 * redirector's indev, filter-rewriter's rewritten copy) sends it on with
 * netfilter_pass_to_next(): the walk resumes right after that filter.
 *
 * Lifetime: a filter joins its netdev's chain in complete() and leaves it
 * when deleted (object-del, or its netdev is deleted: QEMU deletes the
 * netdev's filters with it, and so does Tandem). Frames a filter holds
 * are sent on when it leaves (filter-buffer) rather than lost.
 *
 * Threads: everything runs on the main loop under the BQL, as net.c does.
 */
#ifndef NET_FILTER_H
#define NET_FILTER_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>
#include "net/net.h"
#include "qom/object.h"

#define TYPE_NETFILTER "netfilter"

typedef enum NetFilterDirection {
    NET_FILTER_DIRECTION_ALL,
    NET_FILTER_DIRECTION_RX,    /* to the netdev: guest output */
    NET_FILTER_DIRECTION_TX,    /* from the netdev: to the guest */
} NetFilterDirection;

typedef struct NetFilterState NetFilterState;

typedef struct NetFilterOps {
    /* After the common checks, before joining the chain. */
    bool (*setup)(NetFilterState *nf, Error **errp);
    /*
     * One frame sender sends, travelling in dir (RX or TX). Returns 0 to
     * pass it on, or its length when it was consumed (see above).
     */
    ssize_t (*receive_iov)(NetFilterState *nf, NetClientState *sender,
                           NetFilterDirection dir, const struct iovec *iov,
                           int iovcnt);
    /* Optional: status went on or off (qom-set). */
    void (*status_changed)(NetFilterState *nf);
    /* Optional: leaving the chain; still in it, so it may pass frames on. */
    void (*leave)(NetFilterState *nf);
    /* Optional: sender is being freed: forget frames it sent. */
    void (*sender_gone)(NetFilterState *nf, NetClientState *sender);
    /* Optional: frees what setup made (also after a failed setup). */
    void (*cleanup)(NetFilterState *nf);
} NetFilterOps;

struct NetFilterState {
    Object parent;
    /* properties */
    char *netdev_id;
    char *queue;
    char *status;
    char *position;
    char *insert;
    bool vnet_hdr_support;      /* the types that have it list it */
    /* state */
    const NetFilterOps *ops;
    NetClientState *netdev;     /* NULL until complete() attached it */
    NetFilterDirection direction;
    bool on;
};

/*
 * For the filter types: their TypeInfo's complete and finalize call these
 * with the type's ops. Properties of the base type, for their tables:
 * NETFILTER_VNET_HDR_PROP(Type, field) where they have vnet_hdr_support.
 */
bool netfilter_complete(Object *obj, const NetFilterOps *ops, Error **errp);
void netfilter_finalize(Object *obj);
#define NETFILTER_VNET_HDR_PROP(inst) \
    { .name = "vnet_hdr_support", .type = OBJ_PROP_BOOL, \
      .offset = offsetof(inst, nf.vnet_hdr_support), \
      .desc = "frames on the chardevs carry the vnet header length word" }

/* "rx", "tx", "all" */
const char *netfilter_direction_str(NetFilterDirection dir);

/* The direction a frame from sender takes through nf's netdev. */
NetFilterDirection netfilter_frame_direction(NetFilterState *nf,
                                             NetClientState *sender);

/*
 * Sends a frame on from just after nf, as if nf had passed it: the rest of
 * the chain, then the receiver. sender is the netdev (a frame to the
 * guest, tx) or the netdev's peer (guest output, rx). Returns what
 * net_send_iov would.
 */
ssize_t netfilter_pass_to_next(NetFilterState *nf, NetClientState *sender,
                               const struct iovec *iov, int iovcnt);

/* `info network`: nd's chain, one "  - ID: type=T,prop=value..." line a
 * filter, under a "filters:" line; nothing when it has none. */
void netfilter_info(GString *out, const NetClientState *nd);

/* A filter by id, or NULL (errp set) when id names nothing or no filter. */
NetFilterState *netfilter_find(const char *id, Error **errp);

/* ---- figures, for tests and traces ---- */

/* filter-buffer: frames held now. */
size_t filter_buffer_held(NetFilterState *nf);

/* filter-mirror / filter-redirector: the output and input counters. */
typedef struct FilterOutStats {
    uint64_t frames;                /* queued for the chardev */
    uint64_t frames_written;        /* wholly written to it */
    uint64_t buffered;              /* bytes waiting now */
    uint64_t buffered_max;
    uint64_t overflow_drops;        /* buffer full, not COLO: dropped */
    uint64_t overflow_checkpoints;  /* buffer full: checkpoint asked */
    uint64_t disconnected_drops;    /* no peer, or dropped with it */
    uint64_t injected;              /* frames read from indev, sent on */
    uint64_t in_bad;                /* broken input stream, bad vnet word */
    bool mid_frame;                 /* the peer has part of a frame now */
} FilterOutStats;
/* False when nf is neither a mirror nor a redirector. */
bool filter_out_stats(NetFilterState *nf, FilterOutStats *st);

/* filter-rewriter: its connection table (include/net/filter-rewriter.h),
 * NULL when nf is no rewriter. */
struct RewriterTable *filter_rewriter_table(NetFilterState *nf);

/* ---- for net.c ---- */

/*
 * Runs the filters a frame from sender meets on its way to sender->peer,
 * starting after `after` (NULL: from the first). Returns 0 when every
 * filter passed it (the caller delivers it) or the length when one
 * consumed it.
 */
ssize_t netfilter_walk(NetClientState *sender, NetFilterState *after,
                       const struct iovec *iov, int iovcnt);
/* nc is being freed: its filters are deleted, filters elsewhere forget
 * frames it sent. */
void netfilter_client_gone(NetClientState *nc);

/* qom-set status=on|off (and tests): true on success. */
bool netfilter_set_status(NetFilterState *nf, const char *status,
                          Error **errp);

#endif
