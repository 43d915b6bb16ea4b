# dhohub: the two commands of the README, and the builds around them.
#   make demo   install what is missing, build, run the demo
#   make test   install what is missing, build, run every test
# Other targets: deps, build, install, package, asan, valgrind, soak, fuzz,
# bench, clean.
#   make install [DESTDIR=D]   dhohub, man pages, units, config (prefix: as
#                              configured, -DCMAKE_INSTALL_PREFIX; /usr/local)
#   make package        build-pkg/dhohub_VERSION_ARCH.deb
#   make package-test   installs it into a throw-away overlay of this system
#   make fuzz FUZZ_SECONDS=300   fuzz each decoder harness for 5 minutes

BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_DURATION ?=
PKG_BUILD ?= build-pkg

.PHONY: all deps build install package package-test demo test asan valgrind soak fuzz bench clean

all: build

deps:
	@scripts/deps.sh

# $(BUILD) is configured once; again only when the packages on the machine
# changed since (dpkg's status file is newer than the stamp, as after a
# `make deps` that installed something), so that what deps installed is
# found instead of a configure error or a stale cache. The stamp is written
# only by a configure that succeeded.
DPKG_STATUS ?= /var/lib/dpkg/status
CONFIGURED = $(BUILD)/.dho-configured

build: deps
	@if [ ! -f $(CONFIGURED) ] || [ $(DPKG_STATUS) -nt $(CONFIGURED) ]; then \
		echo cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo; \
		cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo && touch $(CONFIGURED); \
	fi
	cmake --build $(BUILD) -j$(JOBS)

# DESTDIR from the environment or the command line stages the tree.
install: build
	cmake --install $(BUILD)

# The package is configured for the prefix /usr, so that the units name
# /usr/bin/dhohub and the configuration is /etc/dhohub/dhohub.conf.
package: deps
	cmake -S . -B $(PKG_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr
	cmake --build $(PKG_BUILD) -j$(JOBS) --target dhohub dho_man
	cd $(PKG_BUILD) && cpack -G DEB

# Installs that package into a throw-away overlay of this system (root).
package-test: package
	tests/install/test_deb.sh $(PKG_BUILD)/dhohub_*.deb

demo: build
	$(BUILD)/hub/dhohub demo $(if $(DEMO_DURATION),--duration $(DEMO_DURATION))

test: build
	cd $(BUILD) && ctest --output-on-failure -j1

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DDHO_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j1

valgrind: build
	cd $(BUILD) && DHO_VALGRIND=1 ctest --output-on-failure -j1 -L integration

# The fault tests at length: 200 kill -9, 10 broker restarts, longer streams.
soak: build
	cd $(BUILD) && DHO_SOAK=1 ctest --output-on-failure -j1 -R integ_faults

# The benchmarks print their figures (docs/performance.md); BENCH_RULES_ARGS,
# BENCH_INGEST_ARGS, BENCH_DRAIN_ARGS, BENCH_SCALE_ARGS and BENCH_WEB_ARGS
# pass options, e.g.
# make bench BENCH_SCALE_ARGS="--patients 10000". bench_scale writes about
# 6 GiB under $$TMPDIR at its defaults (5.3 GiB measured).
bench: build
	$(BUILD)/bench/bench_rules $(BENCH_RULES_ARGS)
	$(BUILD)/bench/bench_ingest $(BENCH_INGEST_ARGS)
	$(BUILD)/bench/bench_drain $(BENCH_DRAIN_ARGS)
	$(BUILD)/bench/bench_scale $(BENCH_SCALE_ARGS)
	$(BUILD)/bench/bench_web $(BENCH_WEB_ARGS)

# libFuzzer needs clang. CC is read only when FUZZ_BUILD is configured for
# the first time; CMake refuses DHO_FUZZ in a directory set up for gcc.
fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDHO_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target dho_fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(PKG_BUILD)
