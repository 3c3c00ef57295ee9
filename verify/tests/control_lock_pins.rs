//! Negative control: a publisher that does not ask the kernel for the pin locks of subscribers
//! that may only read the file writes a slot one of them pinned. Shows the lock-pin check can
//! fail (`lend.rs` runs the same scenario whole). Its own test binary: the weakening is global.

use shm_verify::check;
use shm_verify::lend::{scenario, weaken};

#[test]
#[should_panic(expected = "Causality violation")]
fn without_asking_for_lock_pins_a_slot_pinned_with_a_lock_is_written() {
    weaken::ignore_lock_pins();
    check(scenario::lock_pin_against_claim);
}
