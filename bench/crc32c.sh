#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# CRC32C throughput (x-stream-checksum's cost): bench/crc32c.sh [BUILD]
exec "${1:-build}/bench/crc32c/bench-crc32c"
