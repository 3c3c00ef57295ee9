//! Negative control: without the acquire fence before the reader's fallback load of the publish
//! sequence (added after this model found its absence), the model finds a read of "no value"
//! after a value. Shows the check can fail for this one fence (`ring.rs` runs the same scenario
//! with it).

use shm_verify::{check, scenario, weaken};

#[test]
#[should_panic(expected = "no value after a value")]
fn without_the_fence_before_the_fallback_a_value_disappears() {
    weaken::drop_light_fence();
    weaken::drop_fence_before_fallback();
    check(|| scenario::reader_and_writer(2, 3, true));
}
