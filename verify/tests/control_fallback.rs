//! Negative control: without the acquire fence before the reader's fallback load of the publish
//! sequence (added after this model found its absence), the model finds a read of "no value"
//! after a value. Shows the check can fail for this one fence.

use loom::sync::Arc;
use loom::thread;
use shm::__model::SlotRead;
use shm_verify::{Ring, weaken};

#[test]
#[should_panic(expected = "no value after a value")]
fn without_the_fence_before_the_fallback_a_value_disappears() {
    weaken::drop_light_fence();
    weaken::drop_fence_before_fallback();
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
        let mut newest = 0;
        for _ in 0..3 {
            for _ in 0..2 {
                match ring.read(&mut cursor).0 {
                    SlotRead::Retry => continue,
                    SlotRead::Empty => assert_eq!(newest, 0, "no value after a value"),
                    SlotRead::Done { seq, .. } => newest = seq,
                    SlotRead::Corrupt { .. } => panic!("damaged"),
                }
                break;
            }
        }
        writer.join().unwrap();
    });
}
