//! The lending protocol under loom: a publisher claiming, writing (plain stores) and committing
//! slots while a borrower pins, reads (plain loads) and unpins them; a publisher killed at any
//! store; a borrower that never unpins. No read of a slot being written, no write of a pinned
//! slot (loom's cell checks), no torn or changed value.

use loom::sync::Arc;
use loom::thread;
use shm_verify::lend::{Lender, scenario};
use shm_verify::{check, value_of};

#[test]
fn a_borrowed_slot_is_never_written_and_never_torn() {
    check(|| scenario::borrower_and_publisher(3, 4));
}

#[test]
fn a_borrower_that_never_lets_go_costs_its_slot_only() {
    check(|| {
        let topic = Arc::new(Lender::new(3, 1));
        topic.publish(1, 0).unwrap();
        let borrower = {
            let topic = topic.clone();
            // Pins and never unpins (killed holding it).
            thread::spawn(move || topic.borrow(0, 1))
        };
        let mut start = 1;
        for seq in 2..=4 {
            start = topic.publish(seq, start).expect("a free slot") + 1;
        }
        if let Some((seq, index, words)) = borrower.join().unwrap() {
            assert_eq!(words, value_of(seq));
            assert_eq!(topic.read(index), words, "changed under a borrow");
        }
    });
}

#[test]
fn a_publisher_killed_at_any_store_leaves_borrowers_whole_values() {
    // One lending publish is 5 stores here (odd stamp, value, time, stamp, newest slot, publish
    // sequence: the value write counts as one): kill before each of the stores of values 2 and 3.
    for kill_after in 0..=12 {
        check(move || {
            let topic = Arc::new(Lender::new(3, 1));
            topic.publish(1, 0).unwrap();
            let publisher = {
                let topic = topic.clone();
                thread::spawn(move || {
                    topic.kill_after(kill_after);
                    let mut start = 1;
                    for seq in 2..=3 {
                        start = topic.publish(seq, start).map_or(start, |i| i + 1);
                    }
                })
            };
            if let Some((seq, index, words)) = topic.borrow(0, 1) {
                assert_eq!(words, value_of(seq), "torn value at seq {seq}");
                assert_eq!(topic.read(index), words, "changed under a borrow");
                topic.unpin(0, 1);
            }
            publisher.join().unwrap();
            // A new publisher takes over and continues after the highest stamp.
            topic.revive();
            let seq = 4;
            assert!(topic.publish(seq, 0).is_some());
            let (got, _, words) = topic.borrow(0, 1).expect("the new value");
            assert_eq!((got, words), (seq, value_of(seq)));
        });
    }
}

#[test]
fn a_pin_and_a_claim_of_one_slot_never_both_succeed() {
    check(scenario::pin_against_claim);
}

#[test]
fn a_pin_word_used_again_orders_the_reads_of_its_previous_slot() {
    check(scenario::pin_word_reused);
}
