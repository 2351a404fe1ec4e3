# SPDX-License-Identifier: GPL-2.0-or-later
"""Valid Ethernet / IPv4 frames for driving a colo-compare object by hand:
TCP segments of a simulated connection (handshake, data, FIN), UDP
datagrams and ICMP echo requests, with real checksums (RFC 1071, RFC 793
pseudo-header), and the length-prefixed stream framing colo-compare's
chardevs speak: a 4-byte big-endian frame length (vnet_hdr_support=off),
then the frame.

The frames are what a guest sends: the guest at 10.0.2.15 is the TCP
client (its SYN, its ACK of the server's SYN-ACK, then its data). The
server's half never reaches colo-compare (it is not the guest's output),
so it is not built. Python 3 standard library only.
"""
import struct

GUEST_MAC = bytes.fromhex('525400123456')
GW_MAC = bytes.fromhex('525400000202')
GUEST_IP = bytes([10, 0, 2, 15])
PEER_IP = bytes([10, 0, 2, 2])

TCP_FIN, TCP_SYN, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x08, 0x10


def csum(b):
    """The Internet checksum: one's complement of the one's complement sum
    of the 16-bit words (a trailing odd byte padded with zero)."""
    if len(b) % 2:
        b += b'\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff


def ipv4_frame(proto, l4, ip_id, src=GUEST_IP, dst=PEER_IP, ttl=64):
    """Ethernet + IPv4 (no options, DF) around an L4 segment whose own
    checksum is already filled in."""
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), ip_id & 0xffff,
                     0x4000, ttl, proto, 0, src, dst)
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return GW_MAC + GUEST_MAC + b'\x08\x00' + ip + l4


def _l4_with_csum(proto, head, payload, off, src, dst):
    pseudo = src + dst + struct.pack('!BBH', 0, proto,
                                     len(head) + len(payload))
    c = csum(pseudo + head + payload)
    if proto == 17 and c == 0:
        c = 0xffff          # UDP: zero means "no checksum"
    return head[:off] + struct.pack('!H', c) + head[off + 2:] + payload


def tcp_frame(sport, dport, seq, ack, flags, payload=b'', ip_id=0,
              window=64240):
    head = struct.pack('!HHIIBBHHH', sport, dport, seq & 0xffffffff,
                       ack & 0xffffffff, 5 << 4, flags, window, 0, 0)
    return ipv4_frame(6, _l4_with_csum(6, head, payload, 16, GUEST_IP,
                                       PEER_IP), ip_id)


def udp_frame(sport, dport, payload, ip_id=0):
    head = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0)
    return ipv4_frame(17, _l4_with_csum(17, head, payload, 6, GUEST_IP,
                                        PEER_IP), ip_id)


def icmp_echo_frame(ident, seqno, payload, ip_id=0):
    head = struct.pack('!BBHHH', 8, 0, 0, ident, seqno)
    msg = head + payload
    msg = msg[:2] + struct.pack('!H', csum(msg)) + msg[4:]
    return ipv4_frame(1, msg, ip_id)


def encode(frame):
    """One frame as colo-compare's chardevs carry it (no vnet header)."""
    return struct.pack('!I', len(frame)) + frame


class FrameDecoder:
    """Splits a byte stream back into frames (the inverse of encode)."""

    MAX = 65536 + 4096

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        """Returns the frames data completes, in order."""
        self.buf += data
        frames = []
        while len(self.buf) >= 4:
            n = struct.unpack('!I', self.buf[:4])[0]
            if n == 0 or n > self.MAX:
                raise ValueError('frame length %d out of range' % n)
            if len(self.buf) < 4 + n:
                break
            frames.append(bytes(self.buf[4:4 + n]))
            del self.buf[:4 + n]
        return frames


class TcpFlow:
    """The guest's side of one TCP connection: builds its segments with
    the running sequence number. Both guests of a COLO pair number the
    same (on the secondary filter-rewriter makes it so), so the primary's
    and the secondary's segments of one flow come from one TcpFlow, or
    from two built alike (segment() with an explicit seq)."""

    def __init__(self, sport, dport=80, isn=0x10000000, peer_isn=0x20000000):
        self.sport, self.dport = sport, dport
        self.isn, self.peer_isn = isn, peer_isn
        self.seq = isn + 1          # next byte after the SYN
        self.ack = peer_isn + 1     # after the server's SYN-ACK
        self.ip_id = 1

    def _id(self):
        self.ip_id = (self.ip_id + 1) & 0xffff
        return self.ip_id

    def handshake(self):
        """The guest's two handshake segments: SYN, then the ACK of the
        server's SYN-ACK (a pure acknowledgement)."""
        return [tcp_frame(self.sport, self.dport, self.isn, 0, TCP_SYN,
                          ip_id=self._id()),
                tcp_frame(self.sport, self.dport, self.seq, self.ack,
                          TCP_ACK, ip_id=self._id())]

    def segment_at(self, seq, payload):
        return tcp_frame(self.sport, self.dport, seq, self.ack,
                         TCP_PSH | TCP_ACK, payload, ip_id=self._id())

    def data(self, payload, pieces=1):
        """payload as `pieces` consecutive segments (nearly equal sizes);
        advances the stream by len(payload)."""
        out, seq, step = [], self.seq, -(-len(payload) // pieces)
        for i in range(0, len(payload), step):
            out.append(self.segment_at(seq + i, payload[i:i + step]))
        self.seq += len(payload)
        return out

    def resegmented(self, payload, p_pieces, s_pieces):
        """The same bytes cut into p_pieces segments for the primary and
        s_pieces for the secondary: (primary frames, secondary frames)."""
        seq = self.seq
        pri = self.data(payload, p_pieces)
        end = self.seq
        self.seq = seq
        sec = self.data(payload, s_pieces)
        assert self.seq == end
        return pri, sec

    def fin(self):
        f = tcp_frame(self.sport, self.dport, self.seq, self.ack,
                      TCP_FIN | TCP_ACK, ip_id=self._id())
        self.seq += 1
        return f


def payload(n, tag):
    """n bytes that differ between tags and along the stream."""
    pat = ('%d:' % tag).encode() + bytes(range(32, 127))
    return (pat * (n // len(pat) + 1))[:n]
