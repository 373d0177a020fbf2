# Portico: the two commands are `make run` (demo) and `make test` (all tests).
.PHONY: all deps build run test bench fuzz soak clean configure-release configure-test

RELEASE_DIR := build/release
TEST_DIR    := build/test
JOBS        ?= $(shell nproc)

all: build

deps:
	@./scripts/setup-deps.sh

configure-release: deps
	@test -f $(RELEASE_DIR)/build.ninja || cmake -S . -B $(RELEASE_DIR) -G Ninja \
		-DCMAKE_BUILD_TYPE=Release -DPORTICO_TESTS=OFF -DPORTICO_BENCH=ON >/dev/null

configure-test: deps
	@test -f $(TEST_DIR)/build.ninja || cmake -S . -B $(TEST_DIR) -G Ninja \
		-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DPORTICO_SANITIZE=ON \
		-DPORTICO_TESTS=ON -DPORTICO_BENCH=OFF >/dev/null

# Release build: the binary is build/release/portico.
build: configure-release
	@ninja -C $(RELEASE_DIR) -j $(JOBS) portico

# The demo: backends + Portico with examples/kong.yml. Ctrl-C stops everything.
run: build
	@./scripts/run-demo.sh

# Every test (unit, integration, end-to-end) on the sanitizer build. The release binary
# (`make run`'s) is built first, so a commit cannot break the demo's build unnoticed.
test: build configure-test
	@ninja -C $(TEST_DIR) -j $(JOBS)
	@cd $(TEST_DIR) && ctest --output-on-failure

# Every libFuzzer target for FUZZ_SECONDS each (default 600), then executions and edges covered
# per target (tests/fuzz/run.sh; make test runs each for 20 s); then the HTTP/1.1 differential
# test against llhttp with FUZZ_MUTATIONS random mutations (make test runs 20000, seed 1).
FUZZ_SECONDS ?= 600
FUZZ_MUTATIONS ?= 1000000
fuzz: configure-test
	@tests/fuzz/run.sh $(TEST_DIR) $(FUZZ_SECONDS)
	@ninja -C $(TEST_DIR) -j $(JOBS) http_differential_runner
	@/usr/bin/python3 tests/http_differential/differential.py --runner $(TEST_DIR)/tests/http_differential_runner \
		--mutations $(FUZZ_MUTATIONS) --seed $$(date +%s)

# An hour (SOAK_SECONDS) of mixed traffic with targets killed, Redis restarted and Admin API
# writes, on the release build; RSS, descriptors and upstream connections must stay flat and no
# request be lost (bench/soak.py; the figures go to bench/results/soak.txt).
SOAK_SECONDS ?= 3600
soak: build
	@/usr/bin/python3 bench/soak.py --duration $(SOAK_SECONDS) --bin $(RELEASE_DIR)/portico

# Portico vs nginx vs HAProxy, same backend and load; also the microbenchmarks.
bench: configure-release
	@ninja -C $(RELEASE_DIR) -j $(JOBS)
	@./bench/run.sh

clean:
	rm -rf build
