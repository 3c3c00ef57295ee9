# `make demo` runs the two-process demo; `make test` runs every check CI runs.
CARGO ?= cargo
PYTHON ?= python3
VENV ?= .venv
VENV_PYTHON = $(abspath $(VENV))/bin/python
TARGET_DIR = $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
EXAMPLES_DIR = $(TARGET_DIR)/debug/examples
BRIDGE_EXE = $(TARGET_DIR)/debug/shm-bridge

.PHONY: bench-record c-build c-test c-lib c-header cpp-build cpp-test bench-cpp doc test demo bench bench-rust bench-peers bench-python fmt-check clippy rust-test bridge-test bridge python-test python-install examples clean \
	verify loom fuzz fuzz-tools stress test-repeat test-repeat-mp lint-python test-pythons wheel

## Everything CI checks: formatting, lints, all Rust tests (unit, doc, ui, multi-process), the
## Zenoh bridge's tests (two bridges over loopback), and the Python module built from scratch
## into .venv with its pytest suite (incl. Rust interop and the bridge).
test: fmt-check clippy doc rust-test bridge-test c-test cpp-test python-test

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) clippy -p shm --all-targets --locked --features serde -- -D warnings

## The API docs of every crate (the bridge, a binary, aside), refusing broken links and other
## rustdoc warnings.
doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --exclude shm-bridge --no-deps --locked

rust-test:
	$(CARGO) test --locked
	$(CARGO) test --locked -p shm --features serde --lib dynamic

## The bridge is not in the default build (Zenoh is large): its tests run here.
bridge-test:
	$(CARGO) test --locked -p shm-bridge

bridge:
	$(CARGO) build --locked -p shm-bridge

## The project's virtual environment, with the tools of python/requirements-dev.txt.
$(VENV)/.ready: python/requirements-dev.txt python/requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -r python/requirements-dev.txt
	touch $@

## Builds and installs shm_pub_sub into .venv as a user would (`pip install ./python`), with the
## pinned maturin of the venv instead of the newest one from PyPI.
python-install: $(VENV)/.ready
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./python

examples:
	$(CARGO) build --locked -p shm-examples --examples
	$(CARGO) build --locked -p shm-cli

## ruff (lint and format) over every Python file of the repository, mypy's stubtest of the type
## stub against the compiled module (as pydantic-core's `lint-python`), mypy over the examples
## and python/tests/typing, and pyright (VS Code's checker; basedpyright from PyPI bundles its
## node) over the same files: message fields have their Python types under both, with no plugin.
lint-python: python-install
	$(VENV)/bin/ruff check python examples/python benches/python
	$(VENV)/bin/ruff format --check python examples/python benches/python
	cd python && $(VENV_PYTHON) -m mypy.stubtest shm_pub_sub._shm_pub_sub shm_pub_sub.mypy
	$(VENV_PYTHON) -m mypy --config-file mypy.ini examples/python python/tests/typing
	$(VENV)/bin/basedpyright --pythonpath $(VENV_PYTHON) --project pyrightconfig.json

python-test: python-install examples bridge lint-python c-build
	cd python && SHM_EXAMPLES_DIR=$(EXAMPLES_DIR) SHM_BRIDGE=$(BRIDGE_EXE) SHM_C_PEER=$(C_PEER) $(VENV_PYTHON) -m pytest

## The C API: libshm.a/.so and <shm/shm.h> (shm-c/), a C program on it (shm-c/tests/c/),
## compiled as a C user would, with every warning an error; the header also compiles as C++.
C_FLAGS := -std=c11 -Wall -Wextra -Werror -pedantic
C_OUT := $(TARGET_DIR)/c
C_PEER := $(C_OUT)/shm_c_peer
c-build:
	$(CARGO) build --locked -p shm-c --features testing
	mkdir -p $(C_OUT)
	$(CC) $(C_FLAGS) -DSHM_TESTING -Ishm-c/include shm-c/tests/c/shm_c_peer.c \
		$(TARGET_DIR)/debug/libshm_c.a -lpthread -ldl -lm -o $(C_PEER)
	printf '#include <shm/shm.h>\nint main(void) { return shm_status_name(SHM_OK) == 0; }\n' \
		| $(CXX) -x c++ -std=c++17 -Wall -Wextra -Werror -pedantic -Ishm-c/include - \
		-x none $(TARGET_DIR)/debug/libshm_c.a -lpthread -ldl -lm -o $(C_OUT)/header_as_cpp
	$(C_OUT)/header_as_cpp
	# The guide's C example compiles as written.
	sed -n '/^```c$$/,/^```$$/p' docs/c.md | sed '1d;$$d' \
		| $(CC) $(C_FLAGS) -Ishm-c/include -x c - -fsyntax-only

c-test: c-build
	SHM_C_PEER=$(C_PEER) $(CARGO) test --locked -p shm-c --features testing

## The C library as C programs link it: target/c/lib/libshm.a and libshm.so (release), with
## <shm/shm.h> in shm-c/include.
c-lib:
	$(CARGO) build --locked --release -p shm-c
	mkdir -p $(C_OUT)/lib
	cp $(TARGET_DIR)/release/libshm_c.a $(C_OUT)/lib/libshm.a
	cp $(TARGET_DIR)/release/libshm_c.so $(C_OUT)/lib/libshm.so

## The C++ layer (<shm/shm.hpp>) and the C and C++ examples, built by CMake (CMakeLists.txt) as
## a user builds them, then ctest: the C++ API's tests, the compile-fail checks, the C header as
## C11, and C++ -> Rust -> Python and back (python/tests/test_cpp.py); all of it again under
## AddressSanitizer and UndefinedBehaviorSanitizer; then the installed package used by a separate
## CMake project (find_package) and through pkg-config. libshm is the debug build of c-build.
CPP_BUILD := $(TARGET_DIR)/cmake
CPP_ASAN_BUILD := $(TARGET_DIR)/cmake-asan
CPP_RELEASE_BUILD := $(TARGET_DIR)/cmake-release
CPP_RELEASE_CONFIGURE := -DCMAKE_BUILD_TYPE=Release -DSHM_CARGO_PROFILE=release -DSHM_BUILD_TESTS=OFF -DSHM_BUILD_EXAMPLES=OFF -DSHM_BUILD_BENCH=ON
CPP_CONFIGURE := -DSHM_CARGO_PROFILE=debug -DSHM_CARGO_FEATURES=testing -DSHM_PYTHON=$(VENV_PYTHON) -DSHM_EXAMPLES_DIR=$(EXAMPLES_DIR)
cpp-build: c-build
	cmake -S . -B $(CPP_BUILD) $(CPP_CONFIGURE)
	cmake --build $(CPP_BUILD) --parallel 2
	# The guide's C++ example (its ```cpp block; fragments are ```c++) compiles as written.
	sed -n '/^```cpp$$/,/^```$$/p' docs/c.md | sed '1d;$$d' \
		| $(CXX) -std=c++17 -Wall -Wextra -Werror -pedantic -Ishm-c/include -x c++ - -fsyntax-only

cpp-test: cpp-build examples python-install
	cd $(CPP_BUILD) && ctest --output-on-failure --timeout 600
	cmake -S . -B $(CPP_ASAN_BUILD) $(CPP_CONFIGURE) -DSHM_SANITIZE=ON
	cmake --build $(CPP_ASAN_BUILD) --parallel 2
	cd $(CPP_ASAN_BUILD) && ctest --output-on-failure --timeout 600 -E '^compile_fail_'
	# The package as users get it: the release library, installed and used by other projects.
	cmake -S . -B $(CPP_RELEASE_BUILD) $(CPP_RELEASE_CONFIGURE)
	cmake --build $(CPP_RELEASE_BUILD) --parallel 2
	scripts/cpp-install-test.sh $(CPP_RELEASE_BUILD)

## C++ next to Rust in one run: publish, latest and a cross-process round trip of 8 bytes
## (benches/benches/cpp.rs runs shm-c/bench/bench.cpp, built in release by CMake).
bench-cpp:
	cmake -S . -B $(CPP_RELEASE_BUILD) $(CPP_RELEASE_CONFIGURE)
	cmake --build $(CPP_RELEASE_BUILD) --parallel 2
	SHM_CPP_BENCH=$(CPP_RELEASE_BUILD)/shm_cpp_bench $(CARGO) bench --locked -p shm-benches --bench cpp

## Writes shm-c/include/shm/shm.h from shm-c/src/lib.rs (cbindgen); c-test checks it.
c-header:
	SHM_UPDATE_HEADER=1 $(CARGO) test --locked -p shm-c --test c_api the_header_kept

## A publisher and a subscriber process exchanging a robot pose, and the `shm` tool looking on.
demo: examples
	$(CARGO) build --locked -p shm-cli
	./examples/rust/tool/demo.sh

## Every benchmark, in a few minutes: the Rust ones, then the Python module next to its peers
## (installed into the benchmark's own environment, .venv-bench). Tables go to the terminal;
## JSON files and the chart to $(BENCH_OUT).
bench: bench-rust bench-python bench-cpp bench-record

## Recording throughput (8 B and 900 KiB values at full speed; uncompressed, zstd and lz4; the
## share missed), the publisher's cost while recorded, and replay timing (p50/p99 lateness).
bench-record:
	$(CARGO) bench --locked -p shm-benches --bench record

## Criterion (publish/subscribe by size next to memcpy, 0-64 subscribers, round trip), the
## round trip's p50/p99 next to a bare seqlock, the wake-up latency of blocking waits (one-way,
## request/reply exchange, by idle time), scale (10,000 topics, 64 waiting processes), and the
## `shm` tool (listing 10,000 topics, echo latency next to a library subscriber), and the
## Zenoh bridge pair next to plain Zenoh (latency, throughput).
bench-rust:
	$(CARGO) bench --locked -p shm-benches --bench pubsub
	$(CARGO) bench --locked -p shm-benches --bench pingpong
	$(CARGO) bench --locked -p shm-benches --bench wakeup
	$(CARGO) bench --locked -p shm-benches --bench waitset
	$(CARGO) bench --locked -p shm-benches --bench exchange
	$(CARGO) bench --locked -p shm-benches --bench scale
	$(CARGO) build --locked --release -p shm-cli
	$(CARGO) bench --locked -p shm-benches --bench tool
	$(CARGO) bench --locked -p shm-bridge --bench bridge
	$(MAKE) bench-peers

## Large values between two processes, zero-copy and by copy, next to eclipse iceoryx2 (a
## crate of its own outside the workspace, so iceoryx2 stays out of every other build: about
## a minute to build cold, and a minute to run).
bench-peers:
	cd benches/peers && $(CARGO) run --locked --release --bin shm-bench-peers
	cd benches/peers && $(CARGO) run --locked --release --bin services

BENCH_VENV ?= .venv-bench
BENCH_PYTHON = $(abspath $(BENCH_VENV))/bin/python
BENCH_OUT ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/bench

## The benchmark's environment: the module's build tools, and each peer on its own (one that
## fails to install is reported and skipped).
$(BENCH_VENV)/.ready: python/requirements-dev.txt benches/python/requirements-peers.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PYTHON) -m pip install --quiet --disable-pip-version-check -r python/requirements-dev.txt
	grep -v '^#' benches/python/requirements-peers.txt | while read -r peer; do \
	  $(BENCH_PYTHON) -m pip install --quiet --disable-pip-version-check "$$peer" \
	    || echo "bench: could not install $$peer; the benchmark skips it"; \
	done
	touch $@

## Python: per-call cost, round trip and wake-up of shm_pub_sub, then the comparison with
## multiprocessing.shared_memory/Pipe/Queue, iceoryx2, pyzmq and faster-fifo.
bench-python: $(BENCH_VENV)/.ready
	$(BENCH_PYTHON) -m pip install --quiet --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./python
	mkdir -p $(BENCH_OUT)
	$(BENCH_PYTHON) benches/python/bench_pubsub.py --json $(BENCH_OUT)/pubsub.json
	$(BENCH_PYTHON) benches/python/bench_peers.py --json $(BENCH_OUT)/peers.json --png $(BENCH_OUT)/peers.png

## The proofs `make test` leaves to CI's second step: the loom models of the publish, read and
## wake-up protocols, every fuzz target for a short time, and a short soak-and-kill run.
verify: loom
	$(MAKE) fuzz FUZZ_SECONDS=$(or $(VERIFY_FUZZ_SECONDS),15)
	$(MAKE) stress STRESS_SECONDS=$(or $(VERIFY_STRESS_SECONDS),3) STRESS_KILLS=$(or $(VERIFY_STRESS_KILLS),150)

## loom explores every interleaving (within a preemption bound) of the real ring and wake-up code
## (verify/): about a minute.
loom:
	$(CARGO) test --locked -p shm-verify

CARGO_FUZZ_VERSION = 0.13.2
fuzz-tools:
	@$(CARGO) +nightly --version >/dev/null || { echo "make fuzz needs a nightly toolchain (cargo +nightly)" >&2; exit 1; }
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) +nightly install --locked cargo-fuzz --version $(CARGO_FUZZ_VERSION)

## Every fuzz target (header, schema, names, topic files read and taken over) for FUZZ_SECONDS
## each, with FUZZ_JOBS workers, under AddressSanitizer; prints executions per target.
FUZZ_SECONDS ?= 300
FUZZ_JOBS ?= 1
fuzz: fuzz-tools
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_WORK=$(TARGET_DIR)/fuzz ./scripts/fuzz.sh

## A soak (writers at full speed, reader processes, 8 B / 4 KiB / 64 KiB checksummed values,
## STRESS_SECONDS per size) and a loop of STRESS_KILLS publishers killed mid-write and taken over.
STRESS_SECONDS ?= 60
STRESS_KILLS ?= 1000
STRESS_READERS ?= 3
stress:
	$(CARGO) build --locked -p shm-integration --bins
	$(TARGET_DIR)/debug/shm-stress $(STRESS_SECONDS) $(STRESS_KILLS) $(STRESS_READERS)

## Flakiness hunts: `make test` REPEAT times in a row, and the multi-process and wait tests
## (Rust and Python) REPEAT times; LOAD CPU hogs run meanwhile (LOAD=2 on a 2-core machine).
REPEAT ?= 20
LOAD ?= 0
test-repeat:
	./scripts/repeat.sh $(REPEAT) $(LOAD) $(MAKE) --no-print-directory test
test-repeat-mp: python-install examples bridge
	$(CARGO) build --locked -p shm-integration -p shm-cli -p shm-bridge -p shm-examples --tests
	./scripts/repeat.sh $(REPEAT) $(LOAD) sh -c '$(CARGO) test --locked -q -p shm-integration --test multiprocess --test wait --test discovery --test ownership --test slices --test lending --test stress && $(CARGO) test --locked -q -p shm-cli --test cli && $(CARGO) test --locked -q -p shm-examples --test examples && $(CARGO) test --locked -q -p shm-bridge --test bridge --test example && cd python && SHM_EXAMPLES_DIR=$(EXAMPLES_DIR) SHM_BRIDGE=$(BRIDGE_EXE) $(VENV_PYTHON) -m pytest -q tests/test_processes.py tests/test_wait.py tests/test_reliability.py tests/test_interop.py tests/test_cli.py tests/test_messages.py tests/test_bridge.py tests/test_examples.py tests/test_bounded.py tests/test_lending.py'

## Every CPython the package claims (3.9 to 3.13 here): a wheel each, installed without Rust
## into a fresh environment, and the whole pytest suite.
test-pythons: $(VENV)/.ready examples bridge
	./scripts/test-pythons.sh

## Wheels another machine installs without Rust (manylinux, for this machine's CPython, or every
## interpreter listed in WHEEL_PYTHONS), in $(TARGET_DIR)/wheels.
wheel: $(VENV)/.ready
	cd python && $(abspath $(VENV))/bin/maturin build --release --locked -o $(TARGET_DIR)/wheels \
	  $(foreach py,$(or $(WHEEL_PYTHONS),$(PYTHON)),-i $(py))

clean:
	$(CARGO) clean
