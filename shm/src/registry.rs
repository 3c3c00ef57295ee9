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

use std::sync::{Arc, Mutex};

pub use crate::error::LookupError;
use crate::schema::{Schema, TopicSchema};

/// Types registered at run time ([`register`]).
static RUNTIME: Mutex<Vec<Arc<TopicSchema>>> = Mutex::new(Vec::new());

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

/// Registers a message type known only at run time (a Python `Message` class, a type a tool
/// built), next to the link-time ones; registering a hash again does nothing.
pub fn register(schema: Arc<TopicSchema>) {
    if find_by_hash(schema.hash()).is_some() {
        return;
    }
    let mut runtime = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if !runtime.iter().any(|s| s.hash() == schema.hash()) {
        runtime.push(schema);
    }
}

/// Every registered type, link-time and run-time, once per hash.
pub fn schemas() -> Vec<Arc<TopicSchema>> {
    let mut out: Vec<Arc<TopicSchema>> = all().map(|s| Arc::new(TopicSchema::of(s))).collect();
    out.extend(
        RUNTIME
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned(),
    );
    out
}

/// The registered type (link-time or run-time) with this schema name.
pub fn find_schema(name: &str) -> Result<Arc<TopicSchema>, LookupError> {
    let found: Vec<Arc<TopicSchema>> = schemas()
        .into_iter()
        .filter(|s| s.desc().name == name)
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(LookupError::NotFound {
            name: name.to_owned(),
        }),
        many => Err(LookupError::Ambiguous {
            name: name.to_owned(),
            hashes: many.iter().map(|s| s.hash()).collect(),
        }),
    }
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
    fn types_register_at_run_time() {
        use crate::schema::{Primitive, SchemaDesc};
        let desc = SchemaDesc::c_struct(
            "RuntimeOnly",
            vec![("x".to_owned(), SchemaDesc::primitive(Primitive::F64))],
        )
        .unwrap();
        let schema = Arc::new(TopicSchema::new(&desc).unwrap());
        assert!(find_schema("RuntimeOnly").is_err());
        register(schema.clone());
        register(schema.clone());
        assert_eq!(find_schema("RuntimeOnly").unwrap(), schema);
        let count = schemas()
            .iter()
            .filter(|s| s.hash() == schema.hash())
            .count();
        assert_eq!(count, 1);
        // A link-time type registered again stays once.
        register(Arc::new(TopicSchema::of(f64::SCHEMA)));
        assert_eq!(find_schema("f64").unwrap().hash(), f64::SCHEMA.hash());
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
