/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What virtio.c (the device: status, features, queue configuration) and
 * virtqueue.c (the split ring) call of each other. Not for device models
 * or transports: they use hw/virtio/virtio.h and hw/virtio/virtqueue.h.
 */
#ifndef HW_VIRTIO_VIRTIO_INTERNAL_H
#define HW_VIRTIO_VIRTIO_INTERNAL_H

#include "hw/virtio/virtio.h"

void virtqueue_init(VirtQueue *vq, VirtIODevice *vdev, unsigned index,
                    uint16_t num_max, VirtQueueHandler handle);
void virtqueue_cleanup(VirtQueue *vq);
/* Disabled, addresses 0, size num_max, nothing in flight, new epoch. */
void virtqueue_reset(VirtQueue *vq);
/* Checks the ring addresses (alignment, inside RAM) for the current
 * size and sets the host views; false (errp set) names what is wrong. */
bool virtqueue_map_rings(VirtQueue *vq, Error **errp);
/* Whether the driver wants an interrupt for what was pushed since the
 * last one; records the used index as signalled. */
bool virtqueue_should_notify(VirtQueue *vq);

#endif
