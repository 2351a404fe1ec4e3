#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds and runs the fuzz targets (QMP input; the incoming migration stream
# and COLO messages; virtio rings and device sections; qcow2 images;
# virtio-net; COLO's frame parser and comparison core; virtio-blk;
# filter-rewriter; the return path and postcopy's preempt channel; the
# NBD server) for a fixed, short budget each and reports the result as
# TAP. Meson copies this to build/tests/unit/test-fuzz
# (filling in the paths), where the unit test runner picks it up; it also
# runs from the source tree: tests/fuzz/run-fuzz.sh [BUILD_DIR].
#
# The fuzz build is separate from the normal one: build/fuzz-build,
# configured with clang, ASan+UBSan and coverage instrumentation for
# libFuzzer, set up on first use (about a minute on 2 cores) and only
# rebuilt incrementally afterwards. Nothing here touches the normal build.
#
# Environment: FUZZ_RUNS (QMP, default 20000), FUZZ_STREAM_RUNS (stream,
# default 200000: it runs about 20 times faster), FUZZ_VIRTIO_RUNS (virtio,
# default 200000), FUZZ_BLOCK_RUNS (qcow2 images, default 3000: with its
# modelled overlays it runs about 60 a second),
# FUZZ_VIRTIO_NET_RUNS (virtio-net, default 20000), FUZZ_COLO_RUNS (COLO
# frames, default 200000), FUZZ_VIRTIO_BLK_RUNS (virtio-blk, default
# 3000: it runs about 300 a second), FUZZ_REWRITER_RUNS (filter-rewriter
# frames, default 200000), FUZZ_RETURN_PATH_RUNS (return path and
# preempt channel, default 10000: it runs about 300 a second),
# FUZZ_NBD_SERVER_RUNS (NBD clients, default 4000: 200 to 400 a second,
# each a connection plus a health check), FUZZ_MAX_TIME (seconds per
# target, default 60), FUZZ_BUILD (default BUILD_DIR/fuzz-build), CLANG
# (default clang). Crashing inputs are kept as
# FUZZ_BUILD/NAME-artifacts/crash-*.
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
STREAM_RUNS=${FUZZ_STREAM_RUNS:-200000}
VIRTIO_RUNS=${FUZZ_VIRTIO_RUNS:-200000}
BLOCK_RUNS=${FUZZ_BLOCK_RUNS:-3000}
VIRTIO_NET_RUNS=${FUZZ_VIRTIO_NET_RUNS:-20000}
COLO_RUNS=${FUZZ_COLO_RUNS:-200000}
VIRTIO_BLK_RUNS=${FUZZ_VIRTIO_BLK_RUNS:-3000}
REWRITER_RUNS=${FUZZ_REWRITER_RUNS:-200000}
RETURN_PATH_RUNS=${FUZZ_RETURN_PATH_RUNS:-10000}
NBD_SERVER_RUNS=${FUZZ_NBD_SERVER_RUNS:-4000}
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

echo "1..10"
# Reports test N as failed with a reason and the tail of a log.
not_ok() {
    echo "not ok $1 - $2"
    if [ -f "$3" ]; then
        tail -n 40 "$3" | sed 's/^/# /'
    fi
}

: >"$LOG"
if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
    rm -rf "$FUZZ_BUILD"
    if ! CC=$CLANG meson setup "$FUZZ_BUILD" "$SRC" \
        -Dfuzzing=true -Dbuildtype=debugoptimized -Dwerror=false \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fsanitize=fuzzer-no-link >>"$LOG" 2>&1; then
        not_ok 1 "fuzz-qmp: meson setup failed (log: $LOG)" "$LOG"
        not_ok 2 "fuzz-stream: meson setup failed (log: $LOG)" "$LOG"
        not_ok 3 "fuzz-virtio: meson setup failed (log: $LOG)" "$LOG"
        not_ok 4 "fuzz-block-qcow2: meson setup failed (log: $LOG)" "$LOG"
        not_ok 5 "fuzz-virtio-net: meson setup failed (log: $LOG)" "$LOG"
        not_ok 6 "fuzz-colo: meson setup failed (log: $LOG)" "$LOG"
        not_ok 7 "fuzz-virtio-blk: meson setup failed (log: $LOG)" "$LOG"
        not_ok 8 "fuzz-rewriter: meson setup failed (log: $LOG)" "$LOG"
        not_ok 9 "fuzz-return-path: meson setup failed (log: $LOG)" "$LOG"
        not_ok 10 "fuzz-nbd-server: meson setup failed (log: $LOG)" "$LOG"
        exit 1
    fi
fi

# run_target N NAME RUNS MAX_LEN [SEED_DIR]: builds and runs one target
# for the budget; new inputs go to a scratch corpus (the first directory),
# seeds are read from the source tree and never written to. A target that
# makes its own seeds (fuzz-stream: FUZZ_STREAM_SEEDS=DIR, fuzz-virtio:
# FUZZ_VIRTIO_SEEDS=DIR) writes them into the scratch corpus first.
run_target() {
    n=$1 name=$2 runs=$3 max_len=$4 seeds=${5:-}
    if ! ninja -C "$FUZZ_BUILD" "tests/fuzz/$name" >>"$LOG" 2>&1; then
        not_ok "$n" "$name: build failed (log: $LOG)" "$LOG"
        return 1
    fi
    work=$FUZZ_BUILD/$name-work
    artifacts=$FUZZ_BUILD/$name-artifacts
    rm -rf "$work"
    mkdir -p "$work" "$artifacts"
    runlog=$FUZZ_BUILD/$name.log
    seed_var=
    case "$name" in
    fuzz-stream) seed_var=FUZZ_STREAM_SEEDS ;;
    fuzz-virtio) seed_var=FUZZ_VIRTIO_SEEDS ;;
    fuzz-block-qcow2) seed_var=FUZZ_BLOCK_SEEDS ;;
    fuzz-virtio-net) seed_var=FUZZ_VIRTIO_NET_SEEDS ;;
    fuzz-virtio-blk) seed_var=FUZZ_VIRTIO_BLK_SEEDS ;;
    fuzz-rewriter) seed_var=FUZZ_REWRITER_SEEDS ;;
    fuzz-colo) seed_var=FUZZ_COLO_SEEDS ;;
    fuzz-return-path) seed_var=FUZZ_RETURN_PATH_SEEDS ;;
    fuzz-nbd-server) seed_var=FUZZ_NBD_SERVER_SEEDS ;;
    esac
    if [ -n "$seed_var" ] &&
        ! env "$seed_var=$work" "$FUZZ_BUILD/tests/fuzz/$name" \
            >"$runlog" 2>&1; then
        not_ok "$n" "$name: writing its seeds failed (log: $runlog)" "$runlog"
        return 1
    fi
    # fuzz-qmp guesses command names slowly: a dictionary of the
    # schema's commands and QMP's keys, made from the source each run.
    dict=
    if [ "$name" = fuzz-qmp ]; then
        dict=$FUZZ_BUILD/fuzz-qmp.dict
        {
            for key in execute exec-oob arguments id qmp_capabilities \
                    enable oob; do
                echo "\"$key\""
            done
            sed -n "s/.*'command': *'\([a-z0-9_-]*\)'.*/\"\1\"/p" \
                "$SRC"/qapi/*.json
        } >"$dict"
    fi
    start=$(date +%s)
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
    "$FUZZ_BUILD/tests/fuzz/$name" -runs="$runs" -max_len="$max_len" \
        -max_total_time="$MAX_TIME" -timeout=20 -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" \
        ${dict:+-dict="$dict"} "$work" $seeds >>"$runlog" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$runlog" | tail -n 1)
    if [ "$rc" -ne 0 ] || [ -z "$done_runs" ]; then
        not_ok "$n" "$name: exit status $rc after ${secs}s (log: $runlog, artifacts: $artifacts)" "$runlog"
        return 1
    fi
    cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\).*/\1/p' "$runlog" | tail -n 1)
    echo "ok $n - $name $done_runs runs in ${secs}s${cov:+ (cov $cov)}"
}

status=0
run_target 1 fuzz-qmp "$RUNS" 4096 "$SRC/tests/fuzz/corpus/qmp" || status=1
run_target 2 fuzz-stream "$STREAM_RUNS" 65536 || status=1
run_target 3 fuzz-virtio "$VIRTIO_RUNS" 32768 || status=1
run_target 4 fuzz-block-qcow2 "$BLOCK_RUNS" 65536 || status=1
run_target 5 fuzz-virtio-net "$VIRTIO_NET_RUNS" 160000 || status=1
run_target 6 fuzz-colo "$COLO_RUNS" 70000 || status=1
run_target 7 fuzz-virtio-blk "$VIRTIO_BLK_RUNS" 80000 || status=1
run_target 8 fuzz-rewriter "$REWRITER_RUNS" 70000 || status=1
run_target 9 fuzz-return-path "$RETURN_PATH_RUNS" 20000 || status=1
run_target 10 fuzz-nbd-server "$NBD_SERVER_RUNS" 70000 || status=1
exit $status
