#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# `make run`: the COLO fault-tolerance demo (scripts/colo-demo.py): a
# primary and a secondary on localhost, live checkpoint figures, then the
# primary is killed and the secondary carries the guest on.
#
#   scripts/run-demo.sh [BUILD] [colo-demo.py options]
#   scripts/run-demo.sh [BUILD] --single
#
# --single boots one guest with the `count` workload on the console instead,
# as `make run` did before COLO: Ctrl-A x quits (Ctrl-C too).
set -euo pipefail
here=$(dirname "$0")
build=build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    build=$1
    shift
fi
if [ "${1:-}" = "--single" ]; then
    echo "Booting the built-in guest (workload=count); Ctrl-A x or Ctrl-C to quit." >&2
    exec "$build/tandem-system-x86_64" -accel kvm -m 256 -smp 1 -nographic \
        -kernel "$build/tests/guest/tandem-guest.elf" -append "workload=count"
fi
exec /usr/bin/python3 "$here/colo-demo.py" "$build" "$@"
