//! Negative control: without the publisher's full fence between marking a slot and checking its
//! pins, the model finds a write to a pinned slot (or a torn or changed borrowed value). Shows
//! the lending check can fail (`lend.rs` runs the same scenario with the fence).

use shm_verify::check;
use shm_verify::lend::{scenario, weaken};

#[test]
#[should_panic(expected = "Causality violation")]
fn without_the_claim_fence_a_pinned_slot_is_written() {
    weaken::drop_claim_fence();
    check(scenario::pin_against_claim);
}
