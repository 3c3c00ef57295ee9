//! A whole topic file of arbitrary bytes at a topic's path, read by subscribers of four types
//! (twice each, so the cursor path runs too; then into a value, which must be valid after any
//! outcome; one type holds bounded sequences and a string). Anything but a value or a clean error (panic,
//! crash, hang, sanitizer report) is a bug. A file truncated under a live mapping cannot happen
//! here: nothing else touches it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shm::{ShmMessage, Subscriber, TopicName, TopicOwner};
use shm_fuzz::{Imu, Pose, Scan, TOPIC, scratch_root};

fn read<T: ShmMessage>(root: &std::path::Path) {
    if let Ok(mut s) = Subscriber::<T>::builder(TOPIC)
        .root(root)
        .owner(TopicOwner::Anyone)
        .open()
    {
        for _ in 0..2 {
            if s.latest().is_err() {
                break;
            }
        }
        let _ = s.try_recv();
        // Into a value: whatever the file holds, it is a valid value afterwards.
        // SAFETY: zeros are a valid value of every message type (ShmMessage's contract).
        let mut out: Box<T> = unsafe { Box::new_zeroed().assume_init() };
        let _ = s.latest_into(&mut out);
        let schema = shm::dynamic::TopicSchema::of(T::SCHEMA);
        // SAFETY: a message has no padding: its bytes are initialised.
        let bytes = unsafe {
            std::slice::from_raw_parts((&*out as *const T).cast::<u8>(), size_of::<T>())
        };
        assert!(schema.is_valid(bytes), "latest_into left an invalid value");
    }
}

fuzz_target!(|data: &[u8]| {
    static ROOT: OnceLock<std::path::PathBuf> = OnceLock::new();
    let root = ROOT.get_or_init(scratch_root);
    std::fs::write(root.join(TopicName::new(TOPIC).unwrap().file_name()), data).unwrap();
    read::<f64>(root);
    read::<Pose>(root);
    read::<Imu>(root);
    read::<Scan>(root);
});
