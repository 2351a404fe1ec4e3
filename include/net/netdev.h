/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Creating and deleting netdevs: the user-facing side of net/ that
 * -netdev, -nic, netdev_add and netdev_del share.
 *
 * A netdev's options are one KeyvalList whatever the source: the command
 * line's "tap,id=n0,ifname=t0" as typed (a repeated hostfwd=/guestfwd=
 * becomes hostfwd.0=, hostfwd.1=, ...), netdev_add's JSON flattened
 * into the same keys ("addr.type=inet,addr.host=..." for the nested
 * SocketAddress of stream/dgram, on/off for booleans). Every backend
 * therefore parses its options in exactly one place.
 *
 * Netdevs are created while the command line is parsed (as -device
 * devices are), so they exist before any NIC is realized and joins one
 * by id; their fds are watched from the default GLib context, the one
 * the main loop runs.
 */
#ifndef NET_NETDEV_H
#define NET_NETDEV_H

#include <stdbool.h>
#include "net/net.h"
#include "util/keyval.h"

/* "tap", "user", ... as QEMU's NetClientDriver spells them. */
const char *net_client_kind_str(NetClientKind kind);

/*
 * -netdev ARG. Parses (type is the implied first key) and creates the
 * netdev. Returns it, or NULL with errp set.
 */
NetClientState *net_netdev_add_cmdline(const char *arg, Error **errp);
/* The same from parsed options (netdev_add's path). */
NetClientState *net_netdev_add_keyval(const KeyvalList *opts, Error **errp);
/* netdev_del: QEMU's errors for a missing id or a NIC. */
bool net_netdev_del(const char *id, Error **errp);

/*
 * -nic TYPE[,model=M][,mac=MAC][,netdev options]: a netdev of TYPE with a
 * generated id (or id=) and a device of model M (default
 * virtio-net-pci) joined to it, created through the device registry.
 * "-nic none" creates nothing.
 */
bool net_nic_add_cmdline(const char *arg, Error **errp);

/*
 * -net TYPE,... (legacy): every -net joins hub 0. "-net nic[,model=M]
 * [,macaddr=MAC]" is a NIC on a new port; "-net user,..." and the other
 * types are that netdev behind a new port.
 */
bool net_legacy_add_cmdline(const char *arg, Error **errp);

/*
 * hostfwd_add / hostfwd_remove on a user netdev (NULL: the first one):
 * spec is hostfwd='s "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT"
 * for add, "[tcp|udp]:[HOSTADDR]:HOSTPORT" for remove.
 */
bool net_slirp_hostfwd_add(const char *netdev, const char *spec,
                           Error **errp);
bool net_slirp_hostfwd_remove(const char *netdev, const char *spec,
                              Error **errp);

/* `info usernet`: each user netdev's connections as libslirp tabulates
 * them, under QEMU's heading "Hub N (ID):". */
char *net_slirp_info_usernet(void);

/* `info network` in QEMU's layout (hubs, then NICs with their peers,
 * then netdevs on their own). */
char *net_info_network(void);

#endif
