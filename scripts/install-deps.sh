#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install the Debian 12 packages Tandem needs to build and test. Does nothing
# (and touches no network) when everything is already installed, so `make`
# targets can call it every time.
set -euo pipefail

packages=(
    # build
    gcc make meson ninja-build pkg-config python3
    libglib2.0-dev libjson-c-dev
    # the block layer's AIO engines (block/io_uring.c, block/linux-aio.c)
    liburing-dev libaio-dev
    # -netdev user (optional: without it a stub refuses -netdev user)
    libslirp-dev
    # the nbd block driver, an NBD client (optional: block/nbd-stub.c)
    libnbd-dev
    # tests
    python3-pytest
    # the libFuzzer target (tests/fuzz; skipped when clang is missing)
    clang libclang-rt-14-dev
    # real peers used by tests and benchmarks
    qemu-system-x86 qemu-utils socat iproute2 libnbd-bin tcpdump nbdkit
    # clients of the test guest's network services (tests/functional/test_guest_net.py)
    iputils-ping curl wrk redis-tools
    # the stock Linux boot check takes vmlinuz from this package
    dpkg-dev
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root, or install them by hand" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
