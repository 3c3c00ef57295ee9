//! Negative control: without the pairing of the publisher's fence and the sleeper's membarrier,
//! the model finds the lost wake-up. Shows the wake-up check can fail (`wake.rs` runs the same
//! scenario with the protocol intact).

use shm_verify::{check, scenario, weaken};

#[test]
#[should_panic(expected = "lost wake-up")]
fn without_the_membarrier_pairing_a_wake_up_is_lost() {
    weaken::drop_light_fence();
    check(scenario::one_sleeper_one_publish);
}
