//! The slot ring under loom: one writer (possibly killed at any store, then taken over) and a
//! reader following stamps. No torn value, no order inversion, and once no writer is left,
//! every read returns the same, newest complete value.

use loom::sync::Arc;
use loom::thread;
use shm_verify::scenario::{self, read_checked};
use shm_verify::{Ring, check, weaken};

fn model(f: impl Fn() + Sync + Send + 'static) {
    // No subscriber sleeps in these checks: the publisher's light fence is only a compiler
    // fence, with nothing on the other side.
    weaken::drop_light_fence();
    check(f);
}

#[test]
fn a_reader_never_sees_a_torn_or_older_value() {
    for light_fence in [true, false] {
        model(move || scenario::reader_and_writer(2, 3, light_fence));
    }
}

#[test]
fn a_reader_of_a_three_slot_ring_never_sees_a_torn_or_older_value() {
    // The default ring size: the slot after the cursor is no longer the slot before it.
    model(|| scenario::reader_and_writer(3, 4, true));
}

#[test]
fn a_writer_killed_at_any_store_leaves_a_stable_newest_value_and_is_continued() {
    // One publish is 6 stores here (odd stamp, time, two words, stamp, publish sequence):
    // kill the writer before each of the 3 × 6 stores of values 1 to 3, and after all of them.
    for kill_after in 0..=18 {
        model(move || {
            let ring = Arc::new(Ring::new(2));
            let writer = {
                let ring = ring.clone();
                thread::spawn(move || {
                    ring.kill_after(kill_after);
                    for seq in 1..=3 {
                        ring.publish(seq, true);
                    }
                })
            };
            let mut cursor = None;
            let mut newest = 0;
            read_checked(&ring, &mut cursor, &mut newest, 2);
            writer.join().unwrap();

            // Nothing writes now: every read, with this reader's cursor or none, returns the
            // same value: the complete one with the highest number.
            let highest = ring.last_seq();
            for _ in 0..2 {
                read_checked(&ring, &mut cursor, &mut newest, 1);
                assert_eq!(newest, highest, "killed after {kill_after} stores");
                let mut fresh = 0;
                read_checked(&ring, &mut None, &mut fresh, 1);
                assert_eq!(fresh, highest);
            }

            // A new publisher continues after it; readers see its value next.
            ring.revive();
            ring.publish(highest + 1, true);
            read_checked(&ring, &mut cursor, &mut newest, 1);
            assert_eq!(newest, highest + 1);
        });
    }
}

#[test]
fn a_takeover_racing_a_reader_never_reuses_a_stamp() {
    // The old writer was killed right after completing value 2's stamp (before naming it):
    // a reader following stamps may already have returned 2. The new writer continues after
    // the highest stamp (3, 4), while the reader reads: never a value 2 that is not value 2.
    model(|| {
        let ring = Arc::new(Ring::new(2));
        ring.publish(1, true);
        ring.kill_after(5); // value 2: all stores but the publish sequence
        ring.publish(2, true);
        ring.revive();
        let mut cursor = None;
        let mut newest = 0;
        read_checked(&ring, &mut cursor, &mut newest, 1);
        assert_eq!(newest, 2);
        let writer = {
            let ring = ring.clone();
            thread::spawn(move || {
                let next = ring.last_seq() + 1;
                assert_eq!(next, 3);
                ring.publish(next, true);
                ring.publish(next + 1, true);
            })
        };
        for _ in 0..2 {
            read_checked(&ring, &mut cursor, &mut newest, 2);
        }
        writer.join().unwrap();
        read_checked(&ring, &mut cursor, &mut newest, 1);
        assert_eq!(newest, 4);
    });
}
