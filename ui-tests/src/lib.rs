//! Compile-fail (`tests/ui/<topic>/*.rs`, each with the `.stderr` the compiler prints) and
//! compile-pass (`tests/ui/pass/*.rs`) tests of `#[derive(ShmMessage)]`. Regenerate the
//! expected output with `TRYBUILD=overwrite cargo test -p shm-ui-tests` and read the diff.
