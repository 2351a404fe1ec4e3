# SPDX-License-Identifier: GPL-2.0-or-later
"""Command line of scripts/qapi-gen.py."""
import argparse
import os
import sys

from .error import SchemaError
from .gen_c import CGen
from .gen_doc import generate as generate_doc
from .gen_introspect import introspection_entries
from .schema import Schema


def _write(path, text):
    """Writes only when the content changes, so make-style tools stay calm."""
    try:
        with open(path, encoding='utf-8') as f:
            if f.read() == text:
                return
    except OSError:
        pass
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description='Generate C and docs from a QAPI schema.')
    ap.add_argument('schema')
    ap.add_argument('-o', '--output-dir', help='where the C files go')
    ap.add_argument('-p', '--prefix', default='', help='file name prefix (e.g. test-)')
    ap.add_argument('--doc', help='write the Markdown reference here')
    ap.add_argument('--check-doc', metavar='FILE',
                    help='exit 1 if FILE differs from the generated reference')
    ap.add_argument('--source-name', help='schema name shown in banners')
    a = ap.parse_args(argv)
    try:
        schema = Schema(a.schema)
    except SchemaError as e:
        print(str(e), file=sys.stderr)
        return 1
    source = a.source_name or os.path.basename(a.schema)
    if a.output_dir:
        os.makedirs(a.output_dir, exist_ok=True)
        g = CGen(schema, a.prefix, source)
        files = {
            'qapi-types.h': g.types_h(), 'qapi-types.c': g.types_c(),
            'qapi-visit.h': g.visit_h(), 'qapi-visit.c': g.visit_c(),
            'qapi-commands.h': g.commands_h(), 'qapi-commands.c': g.commands_c(),
            'qapi-events.h': g.events_h(), 'qapi-events.c': g.events_c(),
            'qapi-introspect.h': g.introspect_h(),
            'qapi-introspect.c': g.introspect_c(introspection_entries(schema)),
        }
        for name, text in files.items():
            _write(os.path.join(a.output_dir, a.prefix + name), text)
    if a.doc or a.check_doc:
        doc = generate_doc(schema, source)
        if a.doc:
            _write(a.doc, doc)
        if a.check_doc:
            try:
                with open(a.check_doc, encoding='utf-8') as f:
                    old = f.read()
            except OSError:
                old = None
            if old != doc:
                print('%s is out of date: run `ninja -C build qmp-reference`'
                      % a.check_doc, file=sys.stderr)
                return 1
    return 0
