//! A whole topic file of arbitrary bytes at a topic's path, read by subscribers of three types
//! (twice each, so the cursor path runs too). Anything but a value or a clean error (panic,
//! crash, hang, sanitizer report) is a bug. A file truncated under a live mapping cannot happen
//! here: nothing else touches it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shm::{ShmMessage, Subscriber, TopicName, TopicOwner};
use shm_fuzz::{Imu, Pose, TOPIC, scratch_root};

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
    }
}

fuzz_target!(|data: &[u8]| {
    static ROOT: OnceLock<std::path::PathBuf> = OnceLock::new();
    let root = ROOT.get_or_init(scratch_root);
    std::fs::write(root.join(TopicName::new(TOPIC).unwrap().file_name()), data).unwrap();
    read::<f64>(root);
    read::<Pose>(root);
    read::<Imu>(root);
});
