#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run every Tandem test and end with one line: "N passed, N failed"
(", N skipped" follows when a test could not run here, and the reasons
are listed just above it).

Unit tests are GTest binaries run with --tap (each "ok"/"not ok" line is
one test); functional tests are pytest files under tests/functional, run
with Debian's /usr/bin/python3 and counted from pytest's JUnit XML. A unit
binary that crashes or exits non-zero without reporting counts as one
failure, so a crash can never look like a pass.
"""
import argparse
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAP_RE = re.compile(r'^(not ok|ok)\b(.*)$')
UNIT_TIMEOUT = 300
# The fuzz runner builds every target with clang on first use, then
# fuzzes each for a fixed budget: on a loaded 2-core host that alone can
# pass 300 s (meson gives it as long).
UNIT_TIMEOUTS = {'test-fuzz': 900}


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.skip_reasons = {}
        self.failures = []

    def skip(self, reason):
        self.skipped += 1
        reason = reason.strip() or 'no reason given'
        self.skip_reasons[reason] = self.skip_reasons.get(reason, 0) + 1

    def fail(self, name):
        self.failed += 1
        self.failures.append(name)


def unit_binaries(build):
    # GTest programs: unit tests, then qtests (tests/qtest: they start
    # Tandem themselves and talk qtest/QMP to it).
    found = []
    for sub in ('unit', 'qtest'):
        d = os.path.join(build, 'tests', sub)
        if not os.path.isdir(d):
            continue
        found += sorted(os.path.join(d, f) for f in os.listdir(d)
                        if f.startswith('test-') and os.access(os.path.join(d, f), os.X_OK)
                        and os.path.isfile(os.path.join(d, f)))
    return found


def run_unit(binary, tally):
    name = os.path.basename(binary)
    limit = UNIT_TIMEOUTS.get(name, UNIT_TIMEOUT)
    start = time.monotonic()
    try:
        p = subprocess.run([binary, '--tap'], capture_output=True, text=True,
                           timeout=limit, cwd=ROOT)
        out, rc = p.stdout, p.returncode
        err = p.stderr
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or '')
        err = 'timed out after %ds' % limit
        rc = -1
    seen = 0
    for line in out.splitlines():
        m = TAP_RE.match(line)
        if not m:
            continue
        seen += 1
        if '# SKIP' in m.group(2):
            tally.skip(m.group(2).split('# SKIP', 1)[1])
        elif m.group(1) == 'ok':
            tally.passed += 1
        else:
            tally.fail('%s:%s' % (name, m.group(2).strip()))
    if rc != 0 and not any(f.startswith(name + ':') for f in tally.failures):
        tally.fail('%s (exit status %d)' % (name, rc))
    status = 'ok' if rc == 0 else 'FAIL'
    print('unit  %-28s %3d tests  %5.1fs  %s' % (name, seen, time.monotonic() - start, status),
          flush=True)
    if rc != 0:
        sys.stdout.write(out[-4000:])
        sys.stdout.write(err[-4000:])


def run_functional(build, tally, extra):
    xml = os.path.join(build, 'functional-results.xml')
    env = dict(os.environ)
    env['TANDEM_BUILD'] = os.path.abspath(build)
    env['PYTHONDONTWRITEBYTECODE'] = '1'
    cmd = ['/usr/bin/python3', '-m', 'pytest', '-p', 'no:cacheprovider',
           '--junitxml', xml, '-rfE', os.path.join(ROOT, 'tests', 'functional')]
    cmd += ['-v'] if env.get('CI') else ['-q']
    cmd += extra
    if os.path.exists(xml):
        os.unlink(xml)
    rc = subprocess.run(cmd, cwd=ROOT, env=env).returncode
    if not os.path.exists(xml):
        tally.fail('pytest (exit status %d, no results)' % rc)
        return
    root = ET.parse(xml).getroot()
    for case in root.iter('testcase'):
        name = '%s::%s' % (case.get('classname'), case.get('name'))
        if case.find('failure') is not None or case.find('error') is not None:
            tally.fail(name)
        elif case.find('skipped') is not None:
            tally.skip(case.find('skipped').get('message', ''))
        else:
            tally.passed += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--build', default='build')
    ap.add_argument('--unit-only', action='store_true')
    ap.add_argument('--functional-only', action='store_true')
    ap.add_argument('pytest_args', nargs='*', help='extra pytest arguments (after --)')
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    tally = Tally()
    if not a.functional_only:
        for b in unit_binaries(build):
            run_unit(b, tally)
    if not a.unit_only:
        run_functional(build, tally, a.pytest_args)
    if tally.failures:
        print('\nFailed:')
        for f in tally.failures:
            print('  ' + f)
    if tally.skip_reasons:
        print('\nSkipped:')
        for reason, n in sorted(tally.skip_reasons.items(), key=lambda kv: -kv[1]):
            print('  %4d  %s' % (n, reason))
    line = '%d passed, %d failed' % (tally.passed, tally.failed)
    if tally.skipped:
        line += ', %d skipped' % tally.skipped
    print(line)
    return 1 if tally.failed else 0


if __name__ == '__main__':
    sys.exit(main())
