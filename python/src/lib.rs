//! Placeholder for the `shm_pub_sub` Python module (PyO3 + maturin), which the Python issue
//! builds on this crate. It only checks that the built-in scalar messages the module will
//! expose (`bool`, `i64`, `f64`) are found in the registry by name.

#[cfg(test)]
mod tests {
    #[test]
    fn python_scalars_are_registered() {
        for name in ["bool", "i64", "f64"] {
            assert_eq!(shm::registry::find(name).unwrap().name(), name);
        }
    }
}
