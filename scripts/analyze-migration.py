#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Dump a Tandem migration stream (e.g. written by `migrate file:PATH`).

Lists the records of the stream (sections with their type, idstr, instance,
version and payload size; commands; the end marker), and with -d prints the
JSON description from the trailer (-d desc) or the value of every device
field, decoded with that description (-d state). The stream format is
described in docs/devel/migration-stream.md. Only the standard library is
used. A malformed stream ends with a message naming the offset and a
non-zero exit status.

A stream written with x-stream-checksum starts with a stream-checksum
command and has a CRC32C trailer after every section, command and the
description; the trailers are skipped, or checked with --verify (slow in
pure Python: about 5 MB/s).
"""
import argparse
import json
import struct
import sys

MAGIC = 0x54444D53          # "TDMS"
VERSION = 1

REC_START, REC_PART, REC_END, REC_FULL = 0x01, 0x02, 0x03, 0x04
REC_COMMAND, REC_DESCRIPTION, REC_EOF, FOOTER = 0x05, 0x06, 0x0F, 0x7E
RECORD_NAMES = {
    REC_START: 'start', REC_PART: 'part', REC_END: 'end', REC_FULL: 'full',
    REC_COMMAND: 'command', REC_DESCRIPTION: 'description', REC_EOF: 'eof',
}
CMD_STREAM_CHECKSUM = 9
COMMAND_NAMES = {
    1: 'open-return-path', 2: 'ping', 3: 'enable-colo', 4: 'postcopy-advise',
    5: 'postcopy-listen', 6: 'postcopy-run', 7: 'switchover-start',
    8: 'switchover-abort', CMD_STREAM_CHECKSUM: 'stream-checksum',
    10: 'postcopy-preempt-done', 11: 'postcopy-recover',
    12: 'postcopy-resume', 13: 'postcopy-load',
}


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = CRC32C_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF
SCALARS = {
    'uint8': ('>B', 1), 'uint16': ('>H', 2), 'uint32': ('>I', 4),
    'uint64': ('>Q', 8), 'int8': ('>b', 1), 'int16': ('>h', 2),
    'int32': ('>i', 4), 'int64': ('>q', 8), 'bool': ('>B', 1),
}


class StreamError(Exception):
    pass


class Reader:
    """Bytes with a position; every read checks the length."""

    def __init__(self, data, base=0, what='stream'):
        self.data = data
        self.pos = 0
        self.base = base        # offset of data[0] in the file
        self.what = what

    def offset(self):
        return self.base + self.pos

    def left(self):
        return len(self.data) - self.pos

    def take(self, n):
        if n > self.left():
            raise StreamError(f'offset {self.offset()}: {self.what} truncated '
                              f'(need {n} bytes, {self.left()} left)')
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt, n):
        return struct.unpack(fmt, self.take(n))[0]

    def u8(self):
        return self.unpack('>B', 1)

    def be16(self):
        return self.unpack('>H', 2)

    def be32(self):
        return self.unpack('>I', 4)

    def counted_string(self):
        raw = self.take(self.u8())
        try:
            return raw.decode('utf-8')
        except UnicodeDecodeError:
            raise StreamError(f'offset {self.offset()}: string is not UTF-8')


class Section:
    def __init__(self, kind, offset, section_id, idstr, instance, version):
        self.kind = kind
        self.offset = offset
        self.section_id = section_id
        self.idstr = idstr
        self.instance = instance
        self.version = version
        self.payload = b''
        self.payload_offset = 0


def read_frame(r):
    """A section payload: be32-length chunks up to a zero-length one."""
    start = r.offset()
    parts = []
    while True:
        n = r.be32()
        if n == 0:
            return start, b''.join(parts)
        parts.append(r.take(n))


class Trailers:
    """x-stream-checksum: the CRC32C after each record, skipped or checked."""

    def __init__(self, r, verify):
        self.r = r
        self.verify = verify
        self.on = False

    def check(self, start, what):
        if not self.on:
            return
        end = self.r.offset()
        sent = self.r.be32()
        if self.verify and crc32c(self.r.data[start:end]) != sent:
            raise StreamError(f'offset {start}: {what}: checksum mismatch')


def parse_stream(data, verify=False):
    r = Reader(data)
    trailers = Trailers(r, verify)
    magic = r.be32()
    if magic != MAGIC:
        raise StreamError(f'offset 0: bad magic 0x{magic:08x}: not a '
                          'migration stream')
    version = r.be32()
    if version != VERSION:
        raise StreamError(f'offset 4: unsupported stream version {version}')
    records, started, desc = [], {}, None
    while True:
        off = r.offset()
        kind = r.u8()
        if kind in (REC_START, REC_FULL):
            sid = r.be32()
            idstr = r.counted_string()
            instance = r.be32()
            ver = r.be32()
            sec = Section(RECORD_NAMES[kind], off, sid, idstr, instance, ver)
            if kind == REC_START:
                started[sid] = sec
        elif kind in (REC_PART, REC_END):
            sid = r.be32()
            if sid not in started:
                raise StreamError(f'offset {off}: {RECORD_NAMES[kind]} record '
                                  f'for section id {sid}, never started')
            s0 = started[sid]
            sec = Section(RECORD_NAMES[kind], off, sid, s0.idstr,
                          s0.instance, s0.version)
        elif kind == REC_COMMAND:
            cmd = r.be16()
            payload = r.take(r.be16())
            name = COMMAND_NAMES.get(cmd, f'#{cmd}')
            if cmd == CMD_STREAM_CHECKSUM:
                if records:
                    raise StreamError(f'offset {off}: stream-checksum after '
                                      'the first record')
                trailers.on = True
            trailers.check(off, f"command '{name}'")
            records.append(('command', off, name, payload))
            continue
        elif kind == REC_EOF:
            records.append(('eof', off))
            break
        else:
            raise StreamError(f'offset {off}: unknown record type 0x{kind:02x}')
        sec.payload_offset, sec.payload = read_frame(r)
        foff = r.offset()
        marker, fid = r.u8(), r.be32()
        if marker != FOOTER or fid != sec.section_id:
            raise StreamError(f"offset {foff}: section '{sec.idstr}' (id "
                              f'{sec.section_id}): footer mismatch')
        trailers.check(off, f"section '{sec.idstr}' (id {sec.section_id})")
        records.append(('section', sec))
    if r.left():
        off = r.offset()
        if r.u8() != REC_DESCRIPTION:
            raise StreamError(f'offset {off}: trailing garbage after the EOF '
                              'record')
        text = r.take(r.be32())
        trailers.check(off, 'description')
        try:
            desc = json.loads(text.decode('utf-8'))
        except (UnicodeDecodeError, ValueError) as e:
            raise StreamError(f'offset {off}: description is not JSON: {e}')
        if r.left():
            raise StreamError(f'offset {r.offset()}: trailing garbage after '
                              'the description')
    return records, desc


def decode_vmsd(r, vmsd):
    """Field values of one description body, in a dict."""
    out = {}
    for fd in vmsd.get('fields', []):
        name, kind, size = fd['name'], fd['type'], fd['size']
        if 'count_field' in fd:
            count = out.get(fd['count_field'])
            if not isinstance(count, int) or count > fd.get('max', count):
                raise StreamError(f"offset {r.offset()}: vmstate "
                                  f"'{vmsd['name']}' field '{name}': bad "
                                  f'count {count!r}')
        else:
            count = fd.get('count')
        n = 1 if count is None else count
        if kind == 'unused':
            r.take(size)
            continue
        if kind == 'buffer':
            out[name] = r.take(n * size).hex()
        elif kind == 'struct':
            vals = [decode_vmsd(r, fd['struct']) for _ in range(n)]
            out[name] = vals if count is not None else vals[0]
        elif kind in SCALARS:
            fmt, width = SCALARS[kind]
            vals = [r.unpack(fmt, width) for _ in range(n)]
            if kind == 'bool':
                vals = [bool(v) for v in vals]
            out[name] = vals if count is not None else vals[0]
        else:
            raise StreamError(f"vmstate '{vmsd['name']}' field '{name}': "
                              f"unknown type '{kind}' in the description")
    subs = {s['name']: s for s in vmsd.get('subsections', [])}
    for _ in range(r.u8()):
        name = r.counted_string()
        r.be32()
        if name not in subs:
            raise StreamError(f"offset {r.offset()}: vmstate "
                              f"'{vmsd['name']}': unknown subsection '{name}'")
        out.setdefault('subsections', {})[name] = decode_vmsd(r, subs[name])
    return out


def print_sections(records):
    print(f"{'offset':>10}  {'type':<8} {'id':>4}  {'idstr':<24} "
          f"{'inst':>4} {'ver':>4} {'size':>10}")
    for rec in records:
        if rec[0] == 'section':
            s = rec[1]
            print(f'{s.offset:>10}  {s.kind:<8} {s.section_id:>4}  '
                  f'{s.idstr:<24} {s.instance:>4} {s.version:>4} '
                  f'{len(s.payload):>10}')
        elif rec[0] == 'command':
            print(f'{rec[1]:>10}  command  {rec[2]} ({len(rec[3])} bytes)')
        else:
            print(f'{rec[1]:>10}  eof')


def print_state(records, desc):
    if desc is None:
        raise StreamError('the stream has no description: cannot decode '
                          'device state')
    by_id = {s['section_id']: s for s in desc.get('sections', [])}
    state = []
    for rec in records:
        if rec[0] != 'section' or rec[1].kind != 'full':
            continue
        s = rec[1]
        d = by_id.get(s.section_id)
        if d is None or 'vmsd' not in d or d['idstr'] != s.idstr:
            raise StreamError(f"section '{s.idstr}' (id {s.section_id}) is "
                              'not in the description')
        r = Reader(s.payload, s.payload_offset, f"section '{s.idstr}'")
        values = decode_vmsd(r, d['vmsd'])
        if r.left():
            raise StreamError(f"section '{s.idstr}': {r.left()} bytes left "
                              'after the described fields')
        state.append({'idstr': s.idstr, 'instance_id': s.instance,
                      'version': s.version, 'fields': values})
    print(json.dumps(state, indent=2))


def main():
    ap = argparse.ArgumentParser(
        description='Dump a Tandem migration stream: its sections, the '
                    'JSON description at its end, or the device state.')
    ap.add_argument('file', nargs='?', help='stream file')
    ap.add_argument('-f', '--file', dest='file_opt', metavar='FILE',
                    help='stream file (same as the positional argument)')
    ap.add_argument('-d', '--dump', choices=['sections', 'desc', 'state'],
                    default='sections',
                    help='sections (default): list the records; desc: the '
                         'JSON description; state: field values per device')
    ap.add_argument('--verify', action='store_true',
                    help='check the CRC32C trailers of a stream written '
                         'with x-stream-checksum')
    args = ap.parse_args()
    path = args.file_opt or args.file
    if not path:
        ap.error('a stream file is required')
    try:
        with open(path, 'rb') as f:
            data = f.read()
        records, desc = parse_stream(data, args.verify)
        if args.dump == 'sections':
            print_sections(records)
        elif args.dump == 'desc':
            if desc is None:
                raise StreamError('the stream has no description')
            print(json.dumps(desc, indent=2))
        else:
            print_state(records, desc)
    except OSError as e:
        sys.exit(f'analyze-migration.py: {e}')
    except StreamError as e:
        sys.exit(f'analyze-migration.py: {path}: {e}')


if __name__ == '__main__':
    main()
