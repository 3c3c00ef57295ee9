//! Lending topics: values written in place (`loan`) and read in place (`borrow`), and read and
//! published by copy beside them; pins that keep a borrowed slot unchanged, their limits, and
//! their reclamation, in one process and across real processes.

use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use shm::{PublishError, Publisher, RecvError, SubscribeError, Subscriber};
use shm_integration::payload::{Payload, S6M, S8, S64K};
use shm_integration::process::{Proc, TIMEOUT as T, helper_for_other_users};
use shm_integration::root::TempRoot;

fn lending<T: shm::ShmMessage>(root: &TempRoot, topic: &str, slots: usize) -> Publisher<T> {
    Publisher::<T>::builder(topic)
        .root(root.path())
        .lending(true)
        .buffer_num(slots)
        .create()
        .unwrap()
}

fn subscriber<T: shm::ShmMessage>(root: &TempRoot, topic: &str, max: u32) -> Subscriber<T> {
    Subscriber::<T>::builder(topic)
        .root(root.path())
        .max_borrowed(max)
        .open()
        .unwrap()
}

#[test]
fn loans_are_read_by_borrowers_and_copiers_alike() {
    let root = TempRoot::new("lend-basic");
    let mut p = lending::<S64K>(&root, "frames", 10);
    let mut b = subscriber::<S64K>(&root, "frames", 2);
    let mut c = subscriber::<S64K>(&root, "frames", 1);
    assert!(b.borrow().unwrap().is_none(), "nothing published yet");
    let mut loan = p.loan().unwrap();
    assert_eq!(loan.seq(), 1);
    *loan = S64K::make(1);
    assert_eq!(loan.publish().unwrap(), 1);
    {
        let frame = b.borrow().unwrap().unwrap();
        assert_eq!((frame.seq(), frame.check()), (1, Some(1)));
        assert!(frame.is_new());
        // Copies and borrows of the same topic, side by side.
        let copy = c.latest().unwrap().unwrap();
        assert_eq!(copy.value.check(), Some(1));
        // Published by copy while the borrow lives: the borrowed slot is left alone.
        for i in 2..=50 {
            assert_eq!(p.publish(&S64K::make(i)).unwrap(), i);
        }
        assert_eq!(frame.check(), Some(1), "a borrowed value never changes");
        let newest = b.try_borrow().unwrap().unwrap();
        assert_eq!((newest.seq(), newest.check()), (50, Some(50)));
        assert_eq!(newest.missed(), 48);
        // Two held: the third read is refused (a copy needs a pin too).
        assert!(matches!(
            b.borrow(),
            Err(SubscribeError::BorrowLimit {
                max_borrowed: 2,
                ..
            })
        ));
        assert!(matches!(
            b.latest(),
            Err(SubscribeError::BorrowLimit { .. })
        ));
    }
    // Released: reads work again; nothing new for `try_borrow`.
    assert!(b.try_borrow().unwrap().is_none());
    assert_eq!(b.latest().unwrap().unwrap().seq, 50);
    // Every value the ring still holds, by copy.
    let all = c.try_recv_all().unwrap();
    assert!(!all.is_empty());
    assert_eq!(all.last().unwrap().seq, 50);
    for s in &all {
        assert_eq!(s.value.check(), Some(s.seq));
    }
    // Dropping a loan publishes nothing.
    drop(p.loan().unwrap());
    assert!(c.try_recv().unwrap().is_none());
    assert_eq!(p.publish(&S64K::make(51)).unwrap(), 51);
    let waited = b.borrow_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!((waited.seq(), waited.check()), (51, Some(51)));
}

#[test]
fn pinned_slots_are_never_overwritten_and_exhaustion_is_an_error() {
    let root = TempRoot::new("lend-pool");
    // 4 slots: the newest value, the one being written, and two subscribers' pins.
    let mut p = lending::<u64>(&root, "ticks", 4);
    let mut a = subscriber::<u64>(&root, "ticks", 1);
    let mut b = subscriber::<u64>(&root, "ticks", 1);
    // A third subscriber does not fit, and says how many slots it needs.
    let refused = Subscriber::<u64>::builder("ticks")
        .root(root.path())
        .open()
        .unwrap_err();
    assert!(
        matches!(
            refused,
            SubscribeError::TooManyBorrowers {
                slots: 4,
                needed: 5,
                ..
            }
        ),
        "{refused}"
    );
    assert!(refused.to_string().contains(".buffer_num(5)"), "{refused}");
    p.publish(&1).unwrap();
    let held_a = a.borrow().unwrap().unwrap();
    p.publish(&2).unwrap();
    let held_b = b.borrow().unwrap().unwrap();
    // Two pinned, one newest (2, pinned too): one slot left to write, again and again.
    for v in 3..100 {
        p.publish(&v).unwrap();
        assert_eq!((*held_a, *held_b), (1, 2));
    }
    drop(held_b);
    let held_b = b.borrow().unwrap().unwrap();
    assert_eq!(*held_b, 99);
    // Now the newest (99) is pinned by b, 1 by a: the slot being written is the last free one.
    p.publish(&100).unwrap();
    // A borrowed value outlives its subscriber, and keeps its slot (and its entry) until it
    // is dropped: only then can another subscriber take the place.
    drop(a);
    assert!(matches!(
        Subscriber::<u64>::builder("ticks").root(root.path()).open(),
        Err(SubscribeError::TooManyBorrowers { .. })
    ));
    assert_eq!(*held_a, 1);
    drop(held_a);
    let mut c = subscriber::<u64>(&root, "ticks", 1);
    let held_c = c.borrow().unwrap().unwrap();
    assert_eq!(*held_c, 100);
    // Slots: 100 (newest, pinned by c), 99 (pinned by b): two more for the publisher.
    p.publish(&101).unwrap();
    drop(held_b);
    drop(held_c);
    p.publish(&102).unwrap();
    assert_eq!(*b.borrow().unwrap().unwrap(), 102);
}

#[test]
fn loans_on_copying_topics_and_borrows_of_them_are_refused() {
    let root = TempRoot::new("lend-refused");
    let mut p = root.publisher::<u64>("plain");
    let mut s = root.subscriber::<u64>("plain");
    assert!(matches!(p.loan(), Err(PublishError::NotLending { .. })));
    p.publish(&7).unwrap();
    let e = s.borrow().unwrap_err();
    assert!(matches!(e, SubscribeError::NotLending { .. }), "{e}");
    assert!(matches!(
        s.borrow_timeout(Duration::from_millis(10)),
        Err(RecvError::Subscribe(SubscribeError::NotLending { .. }))
    ));
    assert!(matches!(
        Subscriber::<u64>::builder("plain")
            .root(root.path())
            .max_borrowed(8)
            .open(),
        Err(SubscribeError::InvalidMaxBorrowed {
            requested: 8,
            max: 7
        })
    ));
}

#[test]
fn slices_are_lent_and_borrowed_as_their_elements() {
    let root = TempRoot::new("lend-slices");
    let mut p = Publisher::<[f32]>::builder("scan")
        .root(root.path())
        .lending(true)
        .max_len(1024)
        .create()
        .unwrap();
    let mut s = Subscriber::<[f32]>::builder("scan")
        .root(root.path())
        .open()
        .unwrap();
    let mut loan = p.loan_slice(3).unwrap();
    loan.copy_from_slice(&[1.0, 2.0, 3.0]);
    loan.publish().unwrap();
    assert_eq!(&*s.borrow().unwrap().unwrap(), &[1.0, 2.0, 3.0]);
    p.publish(&[4.0; 100]).unwrap();
    let got = s.try_borrow().unwrap().unwrap();
    assert_eq!((got.len(), got[99]), (100, 4.0));
    drop(got);
    assert_eq!(s.latest().unwrap().unwrap().value, vec![4.0; 100]);
    assert!(matches!(
        p.loan_slice(2000),
        Err(PublishError::TooLong { .. })
    ));
}

/// A borrowed value stays whole and unchanged while a publisher in another process writes the
/// other slots as fast as it can; copies read beside it are never torn.
fn borrowed_values_stay_unchanged<P: Payload>(kind: &str, rounds: u32) {
    let root = TempRoot::new(&format!("lend-steady-{kind}"));
    // Publishes until killed: however slow this machine is, it outlasts the rounds.
    let mut flood = root.helper(&["lend-flood", kind, "frames", "0", "10"]);
    flood.expect_line("READY", T);
    let mut s = subscriber::<P>(&root, "frames", 2);
    // SAFETY: zeros are a valid payload (ShmMessage's contract).
    let mut copy: Box<P> = unsafe { Box::new_zeroed().assume_init() };
    // An upper bound far above what the rounds need, only so that a stuck publisher fails.
    let deadline = Instant::now() + T * 3;
    let (mut rounds_done, mut overtaken) = (0, 0);
    while rounds_done < rounds {
        assert!(
            Instant::now() < deadline,
            "the publisher stopped publishing"
        );
        let Some(held) = s.try_borrow().unwrap() else {
            continue;
        };
        let seq = held.seq();
        assert_eq!(held.check(), Some(seq), "a borrowed value is whole");
        // Hold it while the publisher moves on, reading copies of newer values meanwhile.
        let until = s.last_seq() + 20;
        while s.latest_into(&mut copy).unwrap().unwrap().seq < until {
            assert!(
                copy.check().is_some(),
                "a copy beside a borrow is never torn"
            );
            assert!(
                Instant::now() < deadline,
                "the publisher stopped publishing"
            );
        }
        overtaken += u32::from(s.latest_into(&mut copy).unwrap().unwrap().seq > seq);
        assert_eq!(held.check(), Some(seq), "a borrowed value never changes");
        rounds_done += 1;
    }
    assert!(
        overtaken > 0,
        "the publisher never published past a borrowed value"
    );
    // It never failed (a failure ends it with a message and a nonzero code).
    assert!(flood.available().is_empty(), "{:?}", flood.available());
    flood.kill9();
}

#[test]
fn borrowed_values_stay_unchanged_while_the_publisher_runs_flat_out() {
    borrowed_values_stay_unchanged::<S64K>("s64k", 50);
}

#[test]
fn borrowed_6_mib_frames_stay_unchanged_while_the_publisher_runs_flat_out() {
    borrowed_values_stay_unchanged::<S6M>("s6m", 5);
}

#[test]
fn a_borrower_killed_holding_slots_is_reclaimed() {
    let root = TempRoot::new("lend-kill");
    // 4 slots: the publisher's 2, and 2 for the child.
    let mut p = lending::<S8>(&root, "ticks", 4);
    p.publish(&S8::make(1)).unwrap();
    let mut child = root.helper(&["borrow-hold", "u64", "ticks", "2"]);
    holds_values_1_and_2(&mut p, &mut child);
    // Full: another subscriber is refused; the publisher still writes its free slot.
    assert!(matches!(
        Subscriber::<S8>::builder("ticks").root(root.path()).open(),
        Err(SubscribeError::TooManyBorrowers { needed: 5, .. })
    ));
    for i in 3..=100 {
        p.publish(&S8::make(i)).unwrap();
    }
    child.kill9();
    // Its entry and pins went with it.
    slots_turn_again(&root, &mut p, 100);
}

/// After a borrower holding 2 values was killed: a subscriber holding 2 takes its place, and
/// all slots turn again (`newest` is the last value published).
/// Waits until `child`, a `borrow-hold` helper holding 2 values of `p`'s topic where `p`
/// published value 1, holds value 1 and then value 2, which this publishes.
fn holds_values_1_and_2(p: &mut Publisher<S8>, child: &mut Proc) {
    child.expect_line("READY", T);
    let line = child.expect_line("HELD", T);
    assert!(line.starts_with("HELD 1 1"), "{line}");
    p.publish(&S8::make(2)).unwrap();
    let line = child.expect_line("HELD", T);
    assert!(line.starts_with("HELD 2 2"), "{line}");
    child.expect_line("HOLDING", T);
}

fn slots_turn_again(root: &TempRoot, p: &mut Publisher<S8>, newest: u64) {
    let mut s = subscriber::<S8>(root, "ticks", 2);
    let a = s.borrow().unwrap().unwrap();
    for i in newest + 1..=newest + 10 {
        p.publish(&S8::make(i)).unwrap();
    }
    let b = s.borrow().unwrap().unwrap();
    assert_eq!((a.check(), b.check()), (Some(newest), Some(newest + 10)));
}

/// Pins of another process that never lets go, beyond what it reserved (a misbehaving
/// peer): when every slot but the newest is pinned, a publish fails and overwrites nothing;
/// once that process is gone its pins are reclaimed.
#[test]
fn pool_exhaustion_is_an_error_never_an_overwrite() {
    let root = TempRoot::new("lend-exhaust");
    let mut p = lending::<u64>(&root, "ticks", 4);
    for v in 1..=4 {
        p.publish(&v).unwrap();
    }
    let path = root.topic_file("ticks");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    // The pin table starts on the page after the schema (docs/FORMAT.md): entry 0.
    let pins_offset = 4096;
    let lock = |start: u64, kind: i32| {
        // SAFETY: a zeroed flock is a valid value; F_OFD_SETLK only reads it.
        let mut l: libc::flock = unsafe { std::mem::zeroed() };
        l.l_type = kind as libc::c_short;
        l.l_whence = libc::SEEK_SET as libc::c_short;
        l.l_start = start as libc::off_t;
        l.l_len = 1;
        // SAFETY: `l` outlives the call; the descriptor is open.
        unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &mut l) }
    };
    assert_eq!(lock(pins_offset, libc::F_WRLCK), 0, "entry 0 is free");
    // Pin every slot (slot numbers plus one), beyond the one pin a subscriber may reserve.
    for slot in 0..4u64 {
        file.write_all_at(&(slot + 1).to_ne_bytes(), pins_offset + 8 + slot * 8)
            .unwrap();
    }
    let e = p.publish(&5).unwrap_err();
    assert!(matches!(e, PublishError::AllPinned { slots: 4, .. }), "{e}");
    assert!(matches!(p.loan(), Err(PublishError::AllPinned { .. })));
    // Nothing was overwritten: 4 is still the newest value, whole.
    assert_eq!(
        root.subscriber::<u64>("ticks")
            .latest()
            .unwrap()
            .unwrap()
            .value,
        4
    );
    // The misbehaving peer goes away (its lock with it): its pins are reclaimed.
    drop(file);
    assert_eq!(p.publish(&5).unwrap(), 5);
    let mut s = root.subscriber::<u64>("ticks");
    assert_eq!(s.latest().unwrap().unwrap().value, 5);
}

/// A publisher killed between naming the newest value's slot and its sequence number leaves
/// `publish_seq` one behind: readers return that newest value (complete), and do not retry
/// forever. A slot number the file does not have is reported as damage.
#[test]
fn the_newest_slot_is_read_from_its_stamp_and_checked() {
    let root = TempRoot::new("lend-newest");
    let mut p = lending::<u64>(&root, "ticks", 4);
    p.publish(&1).unwrap();
    p.publish(&2).unwrap();
    let path = root.topic_file("ticks");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    // publish_seq (offset 200) back to 1, as if the publisher died before storing 2.
    file.write_all_at(&1u64.to_ne_bytes(), 200).unwrap();
    let mut s = root.subscriber::<u64>("ticks");
    let got = s.latest().unwrap().unwrap();
    assert_eq!((got.seq, got.value), (2, 2));
    assert_eq!(*s.borrow().unwrap().unwrap(), 2);
    drop(s);
    // newest_slot (offset 208) naming slot 9 of 4.
    file.write_all_at(&9u32.to_ne_bytes(), 208).unwrap();
    let mut s = root.subscriber::<u64>("ticks");
    let e = s.latest().unwrap_err();
    assert!(e.to_string().contains("newest_slot"), "{e}");
    assert!(s.borrow().unwrap_err().to_string().contains("newest_slot"));
    drop(p);
}

/// A child forked while its parent holds a borrowed value has a copy of it: dropping that copy
/// must not release the parent's pin (the entry is the parent's), or the publisher would write
/// the slot under the parent's reference.
#[test]
fn a_forked_child_does_not_release_its_parents_borrow() {
    let root = TempRoot::new("lend-fork");
    let mut p = lending::<S64K>(&root, "frames", 4);
    p.publish(&S64K::make(1)).unwrap();
    let mut s = subscriber::<S64K>(&root, "frames", 1);
    let held = s.borrow().unwrap().unwrap();
    // SAFETY: the child only drops its copy of the borrow (atomic stores and a reference count
    // decrement that does not free: the subscriber still holds the mapping), then `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        drop(held);
        // SAFETY: ends the child without running destructors or atexit handlers.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child; `status` is a valid out-pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    for i in 2..=20 {
        p.publish(&S64K::make(i)).unwrap();
    }
    assert_eq!(
        (held.seq(), held.check()),
        (1, Some(1)),
        "the parent's borrowed value was overwritten"
    );
}

/// Another user's subscriber may only read the topic file (mode `0o644`): it pins and reserves
/// with locks instead of pin entries. Its borrowed values stay unchanged while the publisher
/// writes on, its reservation counts against the slots, and its locks go with it.
#[test]
fn another_users_borrower_pins_with_locks() {
    // Needs root (CI runs as root) and a helper the other user can run.
    let Some(exe) = helper_for_other_users() else {
        return;
    };
    let root = TempRoot::new("lend-other");
    // 5 slots: the publisher's 2, 2 for the other user's borrower, 1 for ours.
    let mut p = Publisher::<S8>::builder("ticks")
        .root(root.path())
        .lending(true)
        .buffer_num(5)
        .mode(0o644)
        .create()
        .unwrap();
    p.publish(&S8::make(1)).unwrap();
    let mut child = Proc::spawn_other_user(
        exe.path(),
        root.path(),
        &["borrow-hold", "u64", "ticks", "2"],
    );
    holds_values_1_and_2(&mut p, &mut child);
    let info = shm::inspect::inspect(Some(root.path()), "ticks").unwrap();
    let pins = info.lending.unwrap();
    assert_eq!(
        (
            pins.subscribers,
            pins.reserved,
            pins.reserved_by_readers,
            pins.pinned
        ),
        (0, 2, 2, 2),
        "{pins:?}"
    );
    // Our subscriber fits in the slot left; one more does not.
    let mut s = subscriber::<S8>(&root, "ticks", 1);
    assert!(matches!(
        Subscriber::<S8>::builder("ticks").root(root.path()).open(),
        Err(SubscribeError::TooManyBorrowers { needed: 6, .. })
    ));
    // The publisher writes on in the slots left, never into the two the child holds (it checks
    // them every second and exits with a message if one changed), while we borrow too.
    for i in 3..=3000 {
        p.publish(&S8::make(i)).unwrap();
        if i % 100 == 0 {
            let b = s.borrow().unwrap().unwrap();
            assert_eq!((b.seq(), b.check()), (i, Some(i)));
        }
    }
    std::thread::sleep(Duration::from_millis(1200));
    assert!(child.available().is_empty(), "{:?}", child.available());
    child.kill9();
    // Its locks went with it.
    slots_turn_again(&root, &mut p, 3000);
    let pins = shm::inspect::inspect(Some(root.path()), "ticks")
        .unwrap()
        .lending
        .unwrap();
    // Nothing of the killed reader is left; only our subscriber `s` holds a reservation.
    assert_eq!(
        (pins.reserved_by_readers, pins.reserved, pins.pinned),
        (0, 1, 0)
    );

    // A topic made owner-only, whose file was opened to others afterwards (chmod): its header
    // says 0o600, so its publisher asks for no locks, and another user's reader is refused.
    let mut private = lending::<S8>(&root, "private", 4);
    private.publish(&S8::make(1)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let path = root.topic_file("private");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut child = Proc::spawn_other_user(
        exe.path(),
        root.path(),
        &["borrow-hold", "u64", "private", "1"],
    );
    let rest = child.rest(T);
    assert!(
        rest.iter().any(|l| l.contains("made for its owner only")),
        "{rest:?}"
    );
    assert_eq!(child.wait(T).code(), Some(3));
    // Its next publisher admits other users: the topic is made anew with that mode in its
    // header, and the same reader borrows.
    drop(private);
    let mut again = Publisher::<S8>::builder("private")
        .root(root.path())
        .lending(true)
        .buffer_num(4)
        .mode(0o644)
        .create()
        .unwrap();
    assert!(again.takeover().is_some_and(|t| t.recreated));
    again.publish(&S8::make(2)).unwrap();
    let mut child = Proc::spawn_other_user(
        exe.path(),
        root.path(),
        &["borrow-hold", "u64", "private", "1"],
    );
    let line = child.expect_line("HELD", T);
    assert!(line.starts_with("HELD 2 2"), "{line}");
    child.kill9();
}

/// Another user's subscriber borrowing (and copying) as fast as it can, with locks, while a
/// publisher writes 64 KiB values in place flat out: no borrowed value changes, no copy is
/// torn.
#[test]
fn another_users_borrower_never_sees_a_value_change_under_a_flat_out_publisher() {
    let Some(exe) = helper_for_other_users() else {
        return;
    };
    let root = TempRoot::new("lend-other-churn");
    let mut flood = root.helper(&["lend-flood", "s64k", "frames", "0", "6", "644"]);
    flood.expect_line("READY", T);
    let mut churn = Proc::spawn_other_user(
        exe.path(),
        root.path(),
        &["borrow-churn", "s64k", "frames", "2"],
    );
    churn.expect_line("READY", T);
    // The flood's values keep moving while the churn runs: both still at it after a while.
    let mut s = Subscriber::<S64K>::builder("frames")
        .root(root.path())
        .open()
        .unwrap();
    // SAFETY: zeros are a valid payload (ShmMessage's contract).
    let mut copy: Box<S64K> = unsafe { Box::new_zeroed().assume_init() };
    // The flood says READY before its first value: wait for one.
    let first = s.recv_timeout_into(&mut copy, T).unwrap().seq;
    std::thread::sleep(Duration::from_secs(2));
    let later = s
        .latest_into(&mut copy)
        .unwrap()
        .map_or(first, |got| got.seq);
    assert!(
        later > first + 100,
        "the publisher stalled: {first} → {later}"
    );
    assert!(churn.available().is_empty(), "{:?}", churn.available());
    assert!(flood.available().is_empty(), "{:?}", flood.available());
    churn.kill9();
    flood.kill9();
}
