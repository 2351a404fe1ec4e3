# SPDX-License-Identifier: GPL-2.0-or-later
#
# A thin wrapper over meson/ninja. `make run` and `make check` install
# what is missing (scripts/install-deps.sh), configure, build, then run.

BUILD ?= build
TANDEM = $(BUILD)/tandem-system-x86_64
GUEST = $(BUILD)/tests/guest/tandem-guest.elf
BENCH_ARGS ?=
RUN_ARGS ?=

.PHONY: all deps build check run bench clean distclean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	BUILDDIR=$(BUILD) ./configure

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

check: build
	@/usr/bin/python3 tests/run-all.py --build $(BUILD)

run: build
	@scripts/run-demo.sh $(BUILD) $(RUN_ARGS)

bench: build
	@for b in bench/*.sh; do [ -x "$$b" ] && "$$b" $(BUILD); done; true
	@bench/migration $(BUILD) $(BENCH_ARGS)
	@bench/colo $(BUILD) $(BENCH_ARGS)
	@bench/postcopy $(BUILD) $(BENCH_ARGS)
	@bench/net $(BUILD) $(BENCH_ARGS)
	@bench/block $(BUILD) $(BENCH_ARGS)
	@bench/colo-net $(BUILD) $(BENCH_ARGS)
	@bench/colo-compare $(BUILD) $(BENCH_ARGS)

clean:
	-ninja -C $(BUILD) clean

distclean:
	rm -rf $(BUILD)
