# `make demo` runs the two-process demo; `make test` runs every check CI runs.
CARGO ?= cargo
PYTHON ?= python3
VENV ?= .venv
VENV_PYTHON = $(abspath $(VENV))/bin/python
EXAMPLES_DIR = $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/debug/examples

.PHONY: test demo bench bench-rust bench-python fmt-check clippy rust-test python-test python-install examples clean

## Everything CI checks: formatting, lints, all Rust tests (unit, doc, ui, multi-process), and
## the Python module built from scratch into .venv with its pytest suite (incl. Rust interop).
test: fmt-check clippy rust-test python-test

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

rust-test:
	$(CARGO) test --locked

## The project's virtual environment, with the tools of python/requirements-dev.txt.
$(VENV)/.ready: python/requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -r python/requirements-dev.txt
	touch $@

## Builds and installs shm_pub_sub into .venv as a user would (`pip install ./python`), with the
## pinned maturin of the venv instead of the newest one from PyPI.
python-install: $(VENV)/.ready
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./python

examples:
	$(CARGO) build --locked -p shm-examples --examples

python-test: python-install examples
	cd python && SHM_EXAMPLES_DIR=$(EXAMPLES_DIR) $(VENV_PYTHON) -m pytest

## A publisher and a subscriber process exchanging a robot pose.
demo: examples
	./scripts/demo.sh

## Every benchmark, in a few minutes: the Rust ones, then the Python module next to its peers
## (installed into the benchmark's own environment, .venv-bench). Tables go to the terminal;
## JSON files and the chart to $(BENCH_OUT).
bench: bench-rust bench-python

## Criterion (publish/subscribe by size next to memcpy, 0-16 subscribers, round trip), the
## round trip's p50/p99 next to a bare seqlock, and the wake-up latency of blocking waits.
bench-rust:
	$(CARGO) bench --locked -p shm-benches --bench pubsub
	$(CARGO) bench --locked -p shm-benches --bench pingpong
	$(CARGO) bench --locked -p shm-benches --bench wakeup

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

clean:
	$(CARGO) clean
