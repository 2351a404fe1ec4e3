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
    # clients of the test guest's network services (tests/functional/test_guest_net.py, bench/net)
    iputils-ping curl wrk redis-tools
    # the stock Linux boot check takes vmlinuz from this package
    dpkg-dev
    # libvirt managing Tandem (tests/functional/test_libvirt.py runs its
    # own libvirtd; libvirt-daemon-system, which would start the system's,
    # is left out)
    libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
)

# libvirt's QEMU driver will not start without its build's default user,
# which libvirt-daemon-system would create: create it as that package does.
libvirt_user() {
    getent passwd libvirt-qemu >/dev/null && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: user libvirt-qemu is missing: run as root" >&2
        return 1
    fi
    useradd --system --user-group --no-create-home \
        --home-dir /var/lib/libvirt --shell /usr/sbin/nologin libvirt-qemu
}

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    libvirt_user
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
libvirt_user
