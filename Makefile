# VWR: the two commands are `make run` and `make test`. Everything they need is installed and
# built by the targets below; nothing is done by hand.

BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= 2
VWR_ARGS ?=

.PHONY: all deps configure build run test test-unit test-integration test-sanitize test-tsan bench \
        bench-micro format tidy clean

all: build

deps:
	@scripts/install-deps

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR)

# Starts the server on the built-in default config: public API on 127.0.0.1:8080, admin on :8081.
run: build
	$(BUILD_DIR)/vwr serve $(VWR_ARGS)

# Every test: unit (label "unit") and integration against the real binary (label "integration").
test: build
	ctest --test-dir $(BUILD_DIR) -j$(JOBS) --output-on-failure --timeout 600

test-unit: build
	ctest --test-dir $(BUILD_DIR) -j$(JOBS) --output-on-failure -L unit

test-integration: build
	ctest --test-dir $(BUILD_DIR) -j$(JOBS) --output-on-failure -L integration

# The whole suite again, built with AddressSanitizer and UndefinedBehaviorSanitizer (Debug,
# build-dev/): memory errors, leaks and undefined behaviour fail the tests.
test-sanitize: deps
	cmake --preset dev -DVWR_BUILD_BENCH=OFF
	cmake --build build-dev
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --test-dir build-dev -j$(JOBS) --output-on-failure --timeout 900

# The concurrency suites (label "concurrency": the store, counters, connection caps and the
# server driven by many connections) built with ThreadSanitizer (build-tsan/): a data race fails.
test-tsan: deps
	cmake --preset tsan -DVWR_BUILD_BENCH=OFF
	cmake --build build-tsan
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --test-dir build-tsan -j$(JOBS) --output-on-failure --timeout 900 -L concurrency

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
	rm -rf $(BUILD_DIR)
