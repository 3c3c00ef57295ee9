//! Every value still in the ring (`try_recv_all`): a slower reader gets every value it can, in
//! order, never torn, and counts exactly the values overwritten before it read them.

use std::time::{Duration, Instant};

use shm::Subscriber;
use shm_integration::payload::{Payload, S64};
use shm_integration::process::TIMEOUT as T;
use shm_integration::root::TempRoot;

fn last_seq(line: &str) -> u64 {
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_reader_that_keeps_up_gets_every_value_of_every_burst() {
    // Bursts published at full speed into 256 slots, each read after it: every value, in
    // order, none missed; a burst longer than the ring loses exactly its oldest values.
    let root = TempRoot::new("batch-bursts");
    let mut p = root.helper(&["burst", "s64", "imu", "256"]);
    p.expect_line("READY", T);
    let mut s: Subscriber<S64> = root.subscriber("imu");
    let mut expected_next = 1;
    for k in [1u64, 10, 200, 256, 3, 255] {
        p.send(&k.to_string());
        let last = last_seq(&p.expect_line("PUB", T));
        let batch = s.try_recv_all().unwrap();
        let seqs: Vec<u64> = batch.iter().map(|v| v.seq).collect();
        assert_eq!(
            seqs,
            (expected_next..=last).collect::<Vec<_>>(),
            "burst {k}"
        );
        for v in &batch {
            assert_eq!(v.value.check(), Some(v.seq), "intact");
            assert_eq!(v.missed, 0);
            assert!(v.is_new);
        }
        expected_next = last + 1;
    }
    // 300 values into 256 slots: the first 44 are gone before the read.
    p.send("300");
    let last = last_seq(&p.expect_line("PUB", T));
    let batch = s.try_recv_all().unwrap();
    assert_eq!(batch.len(), 256);
    assert_eq!(batch[0].seq, last - 255);
    assert_eq!(batch[0].missed, 44, "exactly the values overwritten");
    assert!(batch[1..].iter().all(|v| v.missed == 0));
    assert!(s.try_recv_all().unwrap().is_empty(), "nothing new");
    assert_eq!(s.last_seq(), last);
}

#[test]
fn a_reader_every_millisecond_accounts_for_every_value_of_a_full_speed_publisher() {
    // The publisher writes as fast as it can for 300 ms; the reader reads every millisecond.
    // Whatever it receives is in order and intact, and received + missed is exactly every value
    // published after the first one it saw.
    let root = TempRoot::new("batch-flood");
    let mut s: Subscriber<S64> = root.subscriber("imu");
    let mut p = root.helper(&["flood", "s64", "imu", "256", "300"]);
    let first = last_seq(&p.expect_line("FIRST", T));
    let (mut received, mut missed, mut last) = (0u64, 0u64, 0u64);
    let mut first_seen = None;
    let deadline = Instant::now() + T;
    let mut done = None;
    loop {
        for v in s.try_recv_all().unwrap() {
            assert!(v.seq > last, "in order: {} after {last}", v.seq);
            assert_eq!(v.value.check(), Some(v.seq), "intact");
            if first_seen.is_none() {
                first_seen = Some(v.seq);
            } else {
                assert_eq!(v.missed, v.seq - last - 1, "missed counts the gap");
            }
            missed += v.missed;
            received += 1;
            last = v.seq;
        }
        if done.is_none() {
            done = p
                .try_expect_line("DONE", Duration::ZERO)
                .map(|l| last_seq(&l));
        }
        if done.is_some_and(|d| last == d) {
            break;
        }
        assert!(Instant::now() < deadline, "the reader never caught up");
        std::thread::sleep(Duration::from_millis(1));
    }
    let first_seen = first_seen.unwrap();
    assert!(first_seen >= first);
    assert_eq!(
        received + missed,
        last - first_seen + 1,
        "every value accounted for"
    );
    eprintln!(
        "received {received}, missed {missed} of {}",
        last - first_seen + 1
    );
}

#[test]
fn a_blocking_batch_read_waits_for_the_first_new_value() {
    let root = TempRoot::new("batch-wait");
    let mut s: Subscriber<S64> = root.subscriber("imu");
    let mut p = root.helper(&["burst", "s64", "imu", "16"]);
    p.expect_line("READY", T);
    let waited = s.recv_all_timeout(Duration::from_millis(20));
    assert!(matches!(waited, Err(shm::RecvError::Timeout { .. })));
    p.send("5");
    // The wait ends with the first new value; the rest of the burst may still be on its way
    // (the helper publishes while this reader wakes up), and the next batches bring it.
    let mut batch = s.recv_all_timeout(T).unwrap();
    assert!(!batch.is_empty());
    while batch.len() < 5 {
        batch.extend(s.recv_all_timeout(T).unwrap());
    }
    let got: Vec<_> = batch.iter().map(|v| v.value.check()).collect();
    assert_eq!(got, [1, 2, 3, 4, 5].map(Some));
    assert!(batch.iter().all(|v| v.missed == 0));
}
