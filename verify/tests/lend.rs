//! The lending protocol under loom: a publisher claiming, writing (plain stores) and committing
//! slots while a borrower pins, reads (plain loads) and unpins them; a publisher killed at any
//! store; a borrower that never unpins. No read of a slot being written, no write of a pinned
//! slot (loom's cell checks), no torn or changed value.

use loom::sync::Arc;
use loom::thread;
use shm_verify::lend::{LOCK_ENTRY, Lender, scenario};
use shm_verify::{check, value_of};

#[test]
fn a_borrowed_slot_is_never_written_and_never_torn() {
    check(|| scenario::borrower_and_publisher(3, 4, 0));
}

#[test]
fn a_slot_borrowed_with_a_lock_is_never_written_and_never_torn() {
    check(|| scenario::borrower_and_publisher(3, 4, LOCK_ENTRY));
}

#[test]
fn a_lock_pin_and_a_claim_of_one_slot_never_both_succeed() {
    check(scenario::lock_pin_against_claim);
}

#[test]
fn pins_in_the_table_and_with_locks_together_cost_their_slots_only() {
    // A subscriber with an entry and one that pins with locks each borrow the newest value and
    // never let go; the publisher writes on in the two slots left, never into a borrowed one.
    check(|| {
        let topic = Arc::new(Lender::new(4, 1));
        topic.publish(1, 0).unwrap();
        let reader = {
            let topic = topic.clone();
            thread::spawn(move || topic.borrow(LOCK_ENTRY, 1))
        };
        let table = topic.borrow(0, 1);
        let mut start = 1;
        for seq in 2..=3 {
            start = topic.publish(seq, start).expect("a free slot") + 1;
        }
        for (seq, index, words) in [table, reader.join().unwrap()].into_iter().flatten() {
            assert_eq!(words, value_of(seq));
            assert_eq!(topic.read(index), words, "changed under a borrow");
        }
    });
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

#[test]
fn a_value_pinned_with_a_lock_stays_findable_while_the_publisher_claims() {
    // A reader that may only read the file holds value 1 (slot 0) while the publisher claims
    // a slot for value 3 from slot 0 on: a read of every value meanwhile finds value 1 where it
    // is (the publisher never marks a pinned slot, not even for a moment).
    check(|| {
        let topic = Arc::new(Lender::new(3, 1));
        topic.publish(1, 0).unwrap();
        topic.publish(2, 1).unwrap();
        let (index, _) = topic.borrow_value(LOCK_ENTRY, 1, 1).expect("value 1");
        let publisher = {
            let topic = topic.clone();
            thread::spawn(move || topic.publish(3, 0).expect("a free slot"))
        };
        let found = topic.borrow_value(0, 1, 1).map(|(i, _)| i);
        assert_eq!(found, Some(index), "value 1 missed while pinned");
        topic.unpin(0, 1);
        assert_eq!(publisher.join().unwrap(), 2, "the free slot");
        topic.unpin(LOCK_ENTRY, 1);
    });
}

#[test]
fn two_lock_pins_of_one_slot_hold_it_until_the_last_lets_go() {
    // One lock for both words: the first unpin must not release the slot the second holds.
    check(|| {
        let topic = Arc::new(Lender::new(3, 1));
        topic.publish(1, 0).unwrap();
        topic.publish(2, 1).unwrap();
        let (index, words) = topic.borrow_value(LOCK_ENTRY, 1, 1).expect("value 1");
        assert!(topic.borrow_value(LOCK_ENTRY, 2, 1).is_some());
        topic.unpin(LOCK_ENTRY, 1);
        let publisher = {
            let topic = topic.clone();
            thread::spawn(move || {
                let mut start = 0;
                for seq in 3..=4 {
                    start = topic.publish(seq, start).expect("a free slot") + 1;
                }
            })
        };
        assert_eq!(topic.read(index), words, "changed under the second pin");
        topic.unpin(LOCK_ENTRY, 2);
        publisher.join().unwrap();
    });
}
