/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one socket layer: every listener and connector (the socket chardev,
 * migration, and next NBD, -netdev socket/stream/dgram and colo-compare)
 * parses, resolves, connects and listens through these functions, so the
 * rules below hold for all of them and are written once.
 *
 * The address is QAPI's flat SocketAddress (qapi/migration.json): inet
 * (host, port, ipv4/ipv6, to), unix (path) or fd (a number; QEMU's getfd
 * names are not supported yet). QMP hands it over as is or in the older
 * nested SocketAddressLegacy shape (qapi/char.json), the command line as
 * a legacy string; all three end up in the same struct. vsock is not in
 * the schema and is refused by the parser.
 *
 * Legacy strings (socket_parse):
 *
 *   tcp:HOST:PORT  or  HOST:PORT      inet; HOST may be [v6addr]; an
 *                                     unbracketed HOST is split at the
 *                                     last ':' (so ::1:4444 works too)
 *   unix:PATH                         unix
 *   fd:N                              fd
 *
 * Options after a comma (",server=on,wait=off", ",ipv4=on") are not part
 * of the address: they stay with the user (the chardev's keyval options).
 *
 * The rules:
 *
 *  - Ports: one parser, socket_parse_port(). A port is a decimal number
 *    0..65535 or a TCP service name from /etc/services (resolved here,
 *    so the rest of the layer only sees numbers). Anything else is
 *    "invalid port 'X'". Port 0 asks the kernel for a free port when
 *    listening; socket_local_address() tells which one it gave.
 *
 *  - Hosts: an empty host means "every address" for a listener and
 *    "this machine" (loopback) for a connector.
 *
 *  - Address families: ipv4=/ipv6= are tri-state. A family is used unless
 *    it is turned off, or the other one alone is turned on: neither given
 *    or both on means both; ipv4=on or ipv6=off means IPv4 only; ipv6=on
 *    or ipv4=off means IPv6 only; both off is an error.
 *
 *  - Dual stack: a listener on a wildcard host ("" or "::") with both
 *    families allowed is one IPv6 socket with IPV6_V6ONLY off, so it takes
 *    IPv4 clients too (as ::ffff:a.b.c.d); if the host has no IPv6 it
 *    falls back to 0.0.0.0. "0.0.0.0" (and "0") is an IPv4 address and
 *    listens on IPv4 only. A named host listens on the first of its
 *    resolved addresses that binds (one listening socket per listener).
 *
 *  - Stale UNIX socket files: a unix listener whose path exists removes
 *    it only if it is a socket nobody listens on (a connect to it fails
 *    with ECONNREFUSED). A live socket, a regular file or anything else
 *    is refused with an error naming the path; it is never clobbered.
 *    (The probe costs a live server one connection that closes at
 *    once.) The listener's owner removes its socket file when it is done with
 *    it (socket_unlink_unix()).
 *
 *  - Connects are bounded: every connect has a timeout (0: the layer's
 *    default, SOCKET_CONNECT_TIMEOUT_MS) and may have a cancel flag that
 *    another thread sets (atomically, e.g. __atomic_store_n); the flag is
 *    looked at every SOCKET_CANCEL_POLL_MS while the connect waits. Each
 *    resolved address is tried in order under one overall deadline.
 *
 * Returned fds are blocking and close-on-exec; a caller that wants
 * O_NONBLOCK sets it. Errors name the address as socket_address_to_string
 * prints it (tcp:HOST:PORT, tcp:[V6]:PORT, unix:PATH, fd:N).
 *
 * Nothing here keeps state: the functions are safe to call from any
 * thread (getaddrinfo may block: a main-loop caller accepts that for
 * numeric or local addresses only).
 */
#ifndef UTIL_SOCKETS_H
#define UTIL_SOCKETS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "qapi/qapi-types.h"
#include "util/error.h"

#define SOCKET_CONNECT_TIMEOUT_MS   5000
#define SOCKET_CANCEL_POLL_MS       20

/* ---- parsing ---- */

/* Numeric 0..65535 or a service name; "invalid port 'X'" otherwise. */
bool socket_parse_port(const char *str, uint16_t *port, Error **errp);

/* A legacy string (see above) as a new SocketAddress, checked. */
SocketAddress *socket_parse(const char *str, Error **errp);

/* QMP's nested shape as the flat one (a deep copy). */
SocketAddress *socket_address_from_legacy(const SocketAddressLegacy *legacy);

SocketAddress *socket_address_dup(const SocketAddress *addr);

/*
 * Checks an address built by hand or received over QMP and normalises it
 * in place: a service name port becomes its number; a unix path must be
 * non-empty and fit sun_path; an fd must be a number; ipv4=off,ipv6=off
 * is refused. socket_parse() already did this.
 */
bool socket_address_check(SocketAddress *addr, Error **errp);

/* tcp:HOST:PORT, tcp:[V6]:PORT, unix:PATH or fd:N. */
char *socket_address_to_string(const SocketAddress *addr);

/* The fd number of an fd address (checked: a number, not a name). */
bool socket_address_fd(const SocketAddress *addr, int *fd, Error **errp);

/* ---- connecting and listening ---- */

/*
 * Connects a stream socket to an inet or unix address; returns the fd
 * or -1 with *errp set ("Failed to connect to 'ADDR': REASON",
 * "connection to 'ADDR' cancelled", or a resolution error).
 * timeout_ms 0 means SOCKET_CONNECT_TIMEOUT_MS; cancel may be NULL.
 */
int socket_connect(const SocketAddress *addr, int timeout_ms,
                   const bool *cancel, Error **errp);

/*
 * Listens on an inet or unix address (the dual-stack and stale-file rules
 * above); returns the fd or -1 with *errp set. With inet 'to', the ports
 * from port to 'to' are tried in turn until one is free.
 */
int socket_listen(const SocketAddress *addr, int backlog, Error **errp);

/* Removes a unix listener's socket file; nothing for other addresses. */
void socket_unlink_unix(const SocketAddress *addr);

/*
 * An inet or unix address as a sockaddr (the first resolved one), for
 * callers that make their own socket: datagram netdevs. passive: an
 * empty host is the wildcard, not loopback.
 */
bool socket_address_to_sockaddr(const SocketAddress *addr, bool passive,
                                struct sockaddr_storage *ss, socklen_t *len,
                                Error **errp);

/* What fd is bound / connected to, numeric (NULL on failure). */
SocketAddress *socket_local_address(int fd, Error **errp);
SocketAddress *socket_peer_address(int fd, Error **errp);

/* HOST:PORT, or [HOST]:PORT when HOST has a ':' (IPv6). */
char *socket_host_port_string(const char *host, const char *port);

#endif
