//! The fixed header's validation, a pure function of its 128 bytes and the file's size: input
//! is the header followed by the size (8 bytes). Must give a layout or a `FormatError`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 136 {
        return;
    }
    let size = u64::from_le_bytes(data[128..136].try_into().unwrap());
    let _ = shm::__fuzz::validate_header(&data[..128], size);
});
