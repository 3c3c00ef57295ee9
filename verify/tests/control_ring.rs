//! Negative control: without the seqlock's acquire and release fences, the model finds a torn
//! value. Shows the ring check can fail (`ring.rs` runs the same scenario with the fences).

use shm_verify::{check, scenario, weaken};

#[test]
#[should_panic(expected = "torn value")]
fn without_the_seqlock_fences_a_torn_value_is_read() {
    weaken::drop_light_fence();
    weaken::drop_acquire_release_fences();
    check(|| scenario::reader_and_writer(2, 3, true));
}
