#!@PYTHON@
# SPDX-License-Identifier: GPL-2.0-or-later
"""TAP tests for scripts/qapi-gen.py (meson copies this to
build/tests/unit/test-qapi-gen, filling in the paths).

- every tests/qapi-schema/bad-*.json must be rejected with exit status 1
  and exactly the message its '# expect: LINE: TEXT' comment names, as
  'FILE:LINE: TEXT' ($FILE and $DIR in TEXT stand for the file's path
  and directory);
- the real schema and the test schema must compile;
- docs/qmp-reference.md must match what the generator makes of the schema
  (refresh it with `ninja -C build qmp-reference`).
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

SRC = '@SOURCE_ROOT@'
PYTHON = '@PYTHON@'
GEN = os.path.join(SRC, 'scripts', 'qapi-gen.py')


def run(args):
    p = subprocess.run([PYTHON, GEN] + args, capture_output=True, text=True,
                       env=dict(os.environ, PYTHONDONTWRITEBYTECODE='1'))
    return p.returncode, p.stderr.strip()


def main():
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(glob.glob(os.path.join(SRC, 'tests', 'qapi-schema', 'bad-*.json'))):
            name = os.path.basename(path)
            with open(path, encoding='utf-8') as f:
                m = re.search(r'^# expect: (\d+): (.*)$', f.read(), re.M)
            if not m:
                results.append((False, name, 'no "# expect: LINE: TEXT" comment'))
                continue
            text = m.group(2).replace('$FILE', path)
            text = text.replace('$DIR', os.path.dirname(path))
            want = '%s:%s: %s' % (path, m.group(1), text)
            rc, err = run(['-o', tmp, path])
            ok = rc == 1 and err == want
            results.append((ok, 'rejects ' + name,
                            '' if ok else 'exit %d\n got:  %s\n want: %s' % (rc, err, want)))
        for schema in ('qapi/qapi-schema.json', 'tests/qapi-schema/qapi-schema-test.json'):
            rc, err = run(['-o', tmp, '--doc', os.path.join(tmp, 'doc.md'),
                           os.path.join(SRC, schema)])
            results.append((rc == 0 and not err, 'compiles ' + schema, err))
        rc, err = run(['--check-doc', os.path.join(SRC, 'docs', 'qmp-reference.md'),
                       '--source-name', 'qapi/qapi-schema.json',
                       os.path.join(SRC, 'qapi', 'qapi-schema.json')])
        results.append((rc == 0, 'docs/qmp-reference.md is up to date', err))
    print('TAP version 13')
    print('1..%d' % len(results))
    failed = 0
    for i, (ok, desc, detail) in enumerate(results, 1):
        print('%s %d %s' % ('ok' if ok else 'not ok', i, desc))
        if not ok:
            failed += 1
            for line in detail.splitlines():
                print('# ' + line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
