# `make demo` runs the two-process demo; `make test` runs every check CI runs.
CARGO ?= cargo

.PHONY: test demo bench fmt-check clippy rust-test clean

## Everything CI checks: formatting, lints, all Rust tests (unit, doc, ui, multi-process).
test: fmt-check clippy rust-test

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

rust-test:
	$(CARGO) test --locked

## A publisher and a subscriber process exchanging a robot pose.
demo:
	$(CARGO) build --locked -p shm-examples --examples
	./scripts/demo.sh

## Criterion benchmarks (publish/subscribe by size, cross-process round trip).
bench:
	$(CARGO) bench --locked -p shm-benches --bench pubsub

clean:
	$(CARGO) clean
