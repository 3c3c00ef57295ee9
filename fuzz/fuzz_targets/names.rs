//! Topic names and their file names: decoding a file name gives a topic whose file name is that
//! file name, and every valid name round-trips through its file name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shm::TopicName;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(t) = TopicName::from_file_name(text) {
        assert_eq!(t.file_name(), text);
        assert_eq!(TopicName::new(t.as_str()).unwrap(), t);
    }
    if let Ok(t) = TopicName::new(text) {
        assert_eq!(TopicName::from_file_name(t.file_name()), Some(t.clone()));
        assert!(!t.file_name().contains('/'));
    }
});
