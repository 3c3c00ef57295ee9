//! Benchmarks live in `benches/`; run them with `make bench` or
//! `cargo bench -p shm-benches`.
