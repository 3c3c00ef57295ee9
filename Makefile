# `make demo` runs the two-process demo; `make test` runs every check CI runs.
CARGO ?= cargo
PYTHON ?= python3
VENV ?= .venv

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
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r python/requirements-dev.txt
	touch $@

## Builds and installs shm_pub_sub into .venv exactly as a user would: `pip install ./python`.
python-install: $(VENV)/.ready
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./python

examples:
	$(CARGO) build --locked -p shm-examples --examples

python-test: python-install examples
	cd python && SHM_EXAMPLES_DIR=$(CURDIR)/target/debug/examples ../$(VENV)/bin/python -m pytest

## A publisher and a subscriber process exchanging a robot pose.
demo: examples
	./scripts/demo.sh

## Criterion benchmarks (publish/subscribe by size, cross-process round trip).
bench:
	$(CARGO) bench --locked -p shm-benches --bench pubsub

clean:
	$(CARGO) clean

## Python benchmark: publish/subscribe per-call cost and a cross-process round trip.
bench-python: python-install
	$(VENV)/bin/python benches/python/bench_pubsub.py
