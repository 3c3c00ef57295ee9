//! The process-wide registry of message types.
//!
//! Every `#[derive(ShmMessage)]` type and every built-in primitive registers its [`Schema`] at
//! link time (a `linkme` distributed slice: no start-up code, nothing for the user to call).
//! Look-ups go by schema name or by schema hash; tools and the Python module use them to find a
//! type from what a topic header says.
//!
//! ```
//! let f64_schema = shm::registry::find("f64").unwrap();
//! assert_eq!(f64_schema.size(), 8);
//! assert!(shm::registry::find_by_hash(f64_schema.hash()).is_some());
//! ```

pub use crate::error::LookupError;
use crate::schema::Schema;

/// The link-time list of registered schemas. Entries are added by `#[derive(ShmMessage)]`.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static REGISTRY: [&'static Schema];

/// Every registered schema, once per distinct hash.
pub fn all() -> impl Iterator<Item = &'static Schema> {
    REGISTRY
        .iter()
        .enumerate()
        .filter(|(i, s)| !REGISTRY[..*i].iter().any(|t| t.hash() == s.hash()))
        .map(|(_, s)| *s)
}

/// The registered type with this schema name.
pub fn find(name: &str) -> Result<&'static Schema, LookupError> {
    let found: Vec<&'static Schema> = all().filter(|s| s.name() == name).collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(LookupError::NotFound {
            name: name.to_owned(),
        }),
        many => Err(LookupError::Ambiguous {
            name: name.to_owned(),
            hashes: many.iter().map(|s| s.hash()).collect(),
        }),
    }
}

/// The registered type with this schema hash.
pub fn find_by_hash(hash: u64) -> Option<&'static Schema> {
    REGISTRY.iter().copied().find(|s| s.hash() == hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ShmMessage;

    #[test]
    fn builtins_are_registered() {
        for name in [
            "bool", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64",
        ] {
            let s = find(name).unwrap();
            assert_eq!(s.name(), name);
            assert!(std::ptr::eq(find_by_hash(s.hash()).unwrap(), s));
        }
        assert_eq!(find("i64").unwrap().hash(), i64::SCHEMA.hash());
        assert!(matches!(find("String"), Err(LookupError::NotFound { .. })));
    }

    #[test]
    fn all_is_deduplicated() {
        let hashes: Vec<u64> = all().map(|s| s.hash()).collect();
        let mut sorted = hashes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), hashes.len());
        assert!(hashes.len() >= 11);
    }
}
