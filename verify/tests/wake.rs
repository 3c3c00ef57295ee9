//! The wake-up handshake under loom: a subscriber about to sleep and a publisher. Every wait
//! has no deadline in the model, so a lost wake-up is a deadlock, which loom reports.

use loom::sync::Arc;
use loom::thread;
use shm::__model::{SlotRead, sleep, wake_ticket};
use shm_verify::{Ring, check as model};

/// The waiter's side of one wait: ticket, look, sleep, look again; returns what it read.
fn wait_for_first_value(ring: &Ring) -> SlotRead {
    let ticket = wake_ticket(ring);
    let mut cursor = None;
    if let (SlotRead::Done { .. }, _) = ring.read(&mut cursor) {
        return SlotRead::Done { seq: 1, time_ns: 1 };
    }
    sleep(ring, ticket, 0, u64::MAX, 0);
    ring.read(&mut cursor).0
}

#[test]
fn a_sleeping_subscriber_is_woken_by_the_publish_it_waits_for() {
    // Both halves of the publisher's fence: registered for membarrier (light) or not.
    for light_fence in [true, false] {
        model(move || {
            let ring = Arc::new(Ring::new(2));
            let waiter = {
                let ring = ring.clone();
                thread::spawn(move || wait_for_first_value(&ring))
            };
            ring.publish(1, light_fence);
            assert!(matches!(
                waiter.join().unwrap(),
                SlotRead::Done { seq: 1, .. }
            ));
        });
    }
}

#[test]
fn two_sleepers_are_both_woken_by_one_publish() {
    model(|| {
        let ring = Arc::new(Ring::new(2));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let ring = ring.clone();
                thread::spawn(move || wait_for_first_value(&ring))
            })
            .collect();
        ring.publish(1, true);
        for w in waiters {
            assert!(matches!(w.join().unwrap(), SlotRead::Done { seq: 1, .. }));
        }
    });
}

#[test]
fn the_publishers_exit_wakes_a_sleeper_waiting_for_a_value_that_never_comes() {
    model(|| {
        let ring = Arc::new(Ring::new(2));
        let waiter = {
            let ring = ring.clone();
            thread::spawn(move || {
                // As a wait step: the ticket first, then the lock; sleep only if it is held.
                let ticket = wake_ticket(&*ring);
                if ring.lock_held() {
                    sleep(&*ring, ticket, 0, u64::MAX, 0);
                }
            })
        };
        ring.release();
        waiter.join().unwrap(); // returns: a deadlock otherwise
    });
}

#[test]
fn no_sleep_is_ever_left_unwoken() {
    // The scenario of the negative control (`control_wake.rs`), with the protocol intact.
    model(shm_verify::scenario::one_sleeper_one_publish);
}

#[test]
fn retiring_the_file_wakes_a_sleeper() {
    // A replacement or removal: the sleeper returns (to look at the path again).
    model(|| {
        let ring = Arc::new(Ring::new(3));
        let waiter = {
            let ring = ring.clone();
            thread::spawn(move || {
                let ticket = wake_ticket(&*ring);
                sleep(&*ring, ticket, 0, u64::MAX, 0);
            })
        };
        ring.retire();
        waiter.join().unwrap(); // returns: a deadlock otherwise
    });
}
