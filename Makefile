# VWR: the two commands are `make run` and `make test`. Everything they need is installed and
# built by the targets below; nothing is done by hand.

BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= 2
VWR_ARGS ?=
# Fuzzing (docs/fuzzing.md): clang 14 with libFuzzer, ASan and UBSan, in its own build tree.
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= http ticket token config journal form iprange jws rule_expr

.PHONY: all deps configure build run test test-unit test-integration test-sanitize test-tsan fuzz \
        fuzz-build bench bench-micro format tidy clean

all: build

deps:
	@scripts/install-deps

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Starts the server on the built-in default config: public API on 127.0.0.1:8080, admin on :8081.
run: build
	$(BUILD_DIR)/vwr serve $(VWR_ARGS)

# Every test: unit (label "unit") and integration against the real binary (label "integration"),
# then every fuzz target for 30 s.
test: build
	ctest --test-dir $(BUILD_DIR) -j$(JOBS) --output-on-failure --timeout 600
	$(MAKE) fuzz FUZZ_SECONDS=30

test-unit: build
	ctest --test-dir $(BUILD_DIR) -j$(JOBS) --output-on-failure -L unit

test-integration: build
	ctest --test-dir $(BUILD_DIR) -j$(JOBS) --output-on-failure -L integration

# The suite again, built with AddressSanitizer and UndefinedBehaviorSanitizer: memory errors,
# leaks and undefined behaviour fail the tests. It is the fuzzers' tree ($(FUZZ_BUILD_DIR)/:
# clang, ASan + UBSan), so that CI compiles the sanitized code once for both.
# Every unit and integration test runs; left out are the browser and nginx end-to-end tests
# (they check what Chromium shows, and reach no server code the integration tests do not) and
# the load generator's long crowd runs (its parts run as unit tests): they cost CI minutes here
# without reaching more code. `cmake --preset dev` (build-dev/) is the same with g++ in Debug,
# for a debugger.
SANITIZE_EXCLUDE ?= ^(browser|e2e)\.|test_loadgen$$
test-sanitize: deps $(FUZZ_BUILD_DIR)/build.ninja
	cmake -S . -B $(FUZZ_BUILD_DIR) $(FUZZ_CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --test-dir $(FUZZ_BUILD_DIR) -j$(JOBS) --output-on-failure --timeout 900 -LE fuzz \
	  -E '$(SANITIZE_EXCLUDE)'

# The concurrency suites (label "concurrency": the store, counters, connection caps and the
# server driven by many connections) built with ThreadSanitizer (build-tsan/): a data race fails.
# At -O1 with minimal debug info (the tsan preset): reports still name file and line, and the
# tree compiles about a third faster than at -O2 -g.
test-tsan: deps
	cmake --preset tsan -DVWR_BUILD_BENCH=OFF
	cmake --build build-tsan -j $(JOBS) --target tsan_tests
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --test-dir build-tsan -j$(JOBS) --output-on-failure --timeout 900 -L concurrency

# Each fuzz target in FUZZ_TARGETS for FUZZ_SECONDS, $(JOBS) at a time, on a scratch corpus in
# $(FUZZ_BUILD_DIR)/corpus/ seeded from fuzz/corpus/; fails if one finds a crash, saved in
# $(FUZZ_BUILD_DIR)/artifacts/. `make fuzz-http` runs one target.
empty :=
space := $(empty) $(empty)
fuzz_tests = ^fuzz\.($(subst $(space),|,$(strip $(FUZZ_TARGETS))))$$

# -O0 with line tables only, and assertions on: the sanitizers' reports still name file and
# line, and the tree, which CI compiles from scratch, builds in well under half the time it
# takes at -O1 (measured on 2 cores: 397 s against about 970 s), for about 150 s more of test
# time and fewer runs per second of fuzzing. For a long fuzzing session, a tree at -O1 runs
# faster: FUZZ_OPT=-O1 (in another FUZZ_BUILD_DIR, to keep this one).
FUZZ_OPT ?= -O0
FUZZ_CMAKE_FLAGS = -DCMAKE_BUILD_TYPE=Debug -DVWR_FUZZ=ON -DVWR_BUILD_TESTS=ON \
  -DVWR_BUILD_BENCH=OFF "-DCMAKE_CXX_FLAGS_DEBUG=$(FUZZ_OPT) -gline-tables-only"
$(FUZZ_BUILD_DIR)/build.ninja: | deps
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja $(FUZZ_CMAKE_FLAGS)

fuzz-build: deps $(FUZZ_BUILD_DIR)/build.ninja
	cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target $(FUZZ_TARGETS:%=%_fuzz)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --test-dir $(FUZZ_BUILD_DIR) -j$(JOBS) --output-on-failure \
	  --no-tests=error -L fuzz -R '$(fuzz_tests)' --timeout $$(( $(FUZZ_SECONDS) + 120 ))

# Not .PHONY: make skips pattern rules for phony targets.
fuzz-%:
	$(MAKE) fuzz FUZZ_TARGETS=$*

# Load benchmark against nginx on this machine (see docs/benchmarks.md).
bench: build
	bench/load/compare-nginx.sh

bench-micro: build
	for b in $(BUILD_DIR)/bench/vwr_bench_*; do $$b --benchmark_min_time=0.05; done

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'bench/*.cpp')

tidy: configure
	clang-tidy -p $(BUILD_DIR) --quiet $$(git ls-files 'src/*.cpp')

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_BUILD_DIR)
