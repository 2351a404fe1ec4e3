#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds and runs the QMP fuzz target for a fixed, short budget and reports
# the result as TAP. Meson copies this to build/tests/unit/test-fuzz-qmp
# (filling in the paths), where the unit test runner picks it up; it also
# runs from the source tree: tests/fuzz/run-fuzz.sh [BUILD_DIR].
#
# The fuzz build is separate from the normal one: build/fuzz-build,
# configured with clang, ASan+UBSan and coverage instrumentation for
# libFuzzer, set up on first use (about a minute on 2 cores) and only
# rebuilt incrementally afterwards. Nothing here touches the normal build.
#
# Environment: FUZZ_RUNS (default 20000), FUZZ_MAX_TIME (seconds, default
# 60), FUZZ_BUILD (default BUILD_DIR/fuzz-build), CLANG (default clang).
# Crashing inputs are kept as FUZZ_BUILD/fuzz-qmp-artifacts/crash-*.
set -u

SRC='@SOURCE_ROOT@'
BUILD='@BUILD_ROOT@'
case "$SRC" in
@*) # not configured by meson: running from the source tree
    SRC=$(cd "$(dirname "$0")/../.." && pwd)
    BUILD=${1:-$SRC/build}
    case "$BUILD" in --tap) BUILD=$SRC/build ;; esac
    ;;
esac
FUZZ_BUILD=${FUZZ_BUILD:-$BUILD/fuzz-build}
RUNS=${FUZZ_RUNS:-20000}
MAX_TIME=${FUZZ_MAX_TIME:-60}
CLANG=${CLANG:-clang}
LOG=$FUZZ_BUILD.log

if ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "1..0 # SKIP clang not installed"
    exit 0
fi
probe=$(mktemp -d)
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ return 0; }\n' \
    >"$probe/p.c"
if ! "$CLANG" -fsanitize=fuzzer,address,undefined "$probe/p.c" \
        -o "$probe/p" >/dev/null 2>&1; then
    rm -rf "$probe"
    echo "1..0 # SKIP clang cannot link libFuzzer (install libclang-rt-14-dev)"
    exit 0
fi
rm -rf "$probe"

echo "1..1"
fail() {
    echo "not ok 1 - fuzz-qmp: $1"
    if [ -f "$2" ]; then
        tail -n 40 "$2" | sed 's/^/# /'
    fi
    exit 1
}

: >"$LOG"
if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
    rm -rf "$FUZZ_BUILD"
    CC=$CLANG meson setup "$FUZZ_BUILD" "$SRC" \
        -Dfuzzing=true -Dbuildtype=debugoptimized -Dwerror=false \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fsanitize=fuzzer-no-link >>"$LOG" 2>&1 ||
        fail "meson setup failed (log: $LOG)" "$LOG"
fi
ninja -C "$FUZZ_BUILD" tests/fuzz/fuzz-qmp >>"$LOG" 2>&1 ||
    fail "build failed (log: $LOG)" "$LOG"

# New inputs go to a scratch corpus (the first directory), seeds are read
# from the source tree and never written to.
work=$FUZZ_BUILD/fuzz-qmp-work
artifacts=$FUZZ_BUILD/fuzz-qmp-artifacts
rm -rf "$work"
mkdir -p "$work" "$artifacts"
runlog=$FUZZ_BUILD/fuzz-qmp.log
start=$(date +%s)
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
"$FUZZ_BUILD/tests/fuzz/fuzz-qmp" -runs="$RUNS" -max_len=4096 \
    -max_total_time="$MAX_TIME" -timeout=20 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$work" "$SRC/tests/fuzz/corpus/qmp" >"$runlog" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))
done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$runlog" | tail -n 1)
if [ "$rc" -ne 0 ] || [ -z "$done_runs" ]; then
    fail "exit status $rc after ${secs}s (log: $runlog, artifacts: $artifacts)" \
        "$runlog"
fi
cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\).*/\1/p' "$runlog" | tail -n 1)
echo "ok 1 - fuzz-qmp $done_runs runs in ${secs}s${cov:+ (cov $cov)}"
exit 0
