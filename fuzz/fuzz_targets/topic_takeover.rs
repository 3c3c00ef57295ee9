//! A whole topic file of arbitrary bytes at a topic's path, taken over by a publisher (reused in
//! place, or replaced when its type or slot count differ) that then publishes; a subscriber reads
//! the result. Anything but success or a clean error is a bug.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shm::{Publisher, Subscriber, TopicName};
use shm_fuzz::{Pose, TOPIC, scratch_root};

fuzz_target!(|data: &[u8]| {
    static ROOT: OnceLock<std::path::PathBuf> = OnceLock::new();
    let root = ROOT.get_or_init(scratch_root);
    let path = root.join(TopicName::new(TOPIC).unwrap().file_name());
    // A fresh file each time (the last publisher may have replaced the file or its mode).
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, data).unwrap();
    if let Ok(mut p) = Publisher::<Pose>::builder(TOPIC).root(root).create() {
        let pose = Pose {
            position: [0.0; 3],
            heading: 1.0,
            tracking: false,
            _reserved: [0; 7],
        };
        let seq = match p.publish(&pose) {
            Ok(seq) => seq,
            // A damaged file whose numbers ran out refuses publishes, as documented.
            Err(shm::PublishError::SequenceExhausted) => return,
            Err(e) => panic!("publish after a takeover: {e}"),
        };
        let mut s = Subscriber::<Pose>::builder(TOPIC)
            .root(root)
            .open()
            .unwrap();
        let v = s.latest().unwrap().unwrap();
        assert_eq!(v.seq, seq);
        assert_eq!(v.value.heading, 1.0);
    }
});
