//! Negative control: without the seqlock's acquire and release fences, the model finds a torn
//! or mislabelled value. Shows the ring check can fail.

use loom::sync::Arc;
use loom::thread;
use shm::__model::SlotRead;
use shm_verify::{Ring, value_of, weaken};

#[test]
#[should_panic(expected = "torn")]
fn without_the_seqlock_fences_a_torn_value_is_read() {
    weaken::drop_acquire_release_fences();
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(|| {
        let ring = Arc::new(Ring::new(2));
        let writer = {
            let ring = ring.clone();
            thread::spawn(move || {
                for seq in 1..=3 {
                    ring.publish(seq, true);
                }
            })
        };
        let mut cursor = None;
        for _ in 0..3 {
            if let (SlotRead::Done { seq, .. }, words) = ring.read(&mut cursor) {
                assert_eq!(words, value_of(seq), "torn value at seq {seq}");
            }
        }
        writer.join().unwrap();
    });
}
