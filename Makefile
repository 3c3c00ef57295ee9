# `make demo` runs the two-process demo; `make test` runs every check CI runs.
CARGO ?= cargo
PYTHON ?= python3
VENV ?= .venv
VENV_PYTHON = $(abspath $(VENV))/bin/python
EXAMPLES_DIR = $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/debug/examples

.PHONY: test demo bench bench-python fmt-check clippy rust-test python-test python-install examples clean

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

## Criterion benchmarks (publish/subscribe by size, cross-process round trip), then the
## wake-up latency of blocking waits across processes.
bench:
	$(CARGO) bench --locked -p shm-benches --bench pubsub
	$(CARGO) bench --locked -p shm-benches --bench wakeup

clean:
	$(CARGO) clean

## Python benchmark: publish/subscribe per-call cost, a cross-process round trip and the
## wake-up latency of subscribe(timeout).
bench-python: python-install
	$(VENV_PYTHON) benches/python/bench_pubsub.py
