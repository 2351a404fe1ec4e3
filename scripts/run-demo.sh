#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# `make run`: boots the built-in test guest with the `count` workload on
# the console. Ctrl-A x quits (Ctrl-C too). When COLO lands this becomes
# the fault-tolerance demo.
set -euo pipefail
build=${1:-build}
echo "Booting the built-in guest (workload=count); Ctrl-A x or Ctrl-C to quit." >&2
exec "$build/tandem-system-x86_64" -accel kvm -m 256 -smp 1 -nographic \
    -kernel "$build/tests/guest/tandem-guest.elf" -append "workload=count"
