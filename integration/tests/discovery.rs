//! Causality: once `publish` returned, a read that starts afterwards, in any process, sees that
//! value, even when the subscriber was created before the topic existed. And polling a missing
//! topic costs no syscall while nothing changes under the root.

use std::time::Duration;

use shm::{Subscriber, TopicOwner};
use shm_integration::TestPose;
use shm_integration::process::TIMEOUT as T;
use shm_integration::root::TempRoot;

#[test]
fn a_value_published_before_a_read_in_this_process_is_seen_by_it() {
    // The sequence of the report: subscriber first, one empty read, then the publisher.
    let root = TempRoot::new("causal-local");
    let mut s = root.subscriber::<TestPose>("t");
    assert!(s.latest().unwrap().is_none());
    let mut p = root.publisher::<TestPose>("t");
    p.publish(&TestPose::nth(9)).unwrap();
    let v = s
        .latest()
        .unwrap()
        .expect("the value published before this read");
    assert_eq!(v.value, TestPose::nth(9));

    // Removed and created again: the same.
    drop(p);
    assert!(shm::remove_topic_in(root.path(), "t").unwrap());
    assert!(s.latest().unwrap().is_none());
    let mut p = root.publisher::<TestPose>("t");
    p.publish(&TestPose::nth(10)).unwrap();
    assert_eq!(s.latest().unwrap().unwrap().value, TestPose::nth(10));
}

#[test]
fn a_value_published_by_another_process_before_a_read_is_seen_by_it_1000_times() {
    // Process A creates a topic and publishes, then says so through a pipe; this process, whose
    // subscriber was created before the topic, reads the pipe, then reads the topic: never a
    // miss.
    let root = TempRoot::new("causal-mp");
    let mut a = root.helper(&["creator", "pose"]);
    a.expect_line("READY", T);
    for round in 0..1000 {
        let topic = format!("causal/{round}");
        let mut s = root.subscriber::<TestPose>(&topic);
        assert!(s.latest().unwrap().is_none());
        a.send(&topic);
        a.expect_line(&format!("PUBLISHED {topic} 1"), T);
        let v = s.latest().unwrap();
        assert_eq!(
            v.map(|v| v.value),
            Some(TestPose::nth(1)),
            "round {round}: the read after the pipe missed the value"
        );
    }
}

#[test]
fn a_topic_removed_by_hand_and_made_anew_is_followed_at_once() {
    // `rm` gives no sign inside the old mapping; the new file's creation moves the generation
    // counter, which an attached subscriber looks at on every read.
    let root = TempRoot::new("causal-rm");
    let mut p = root.publisher::<TestPose>("t");
    p.publish(&TestPose::nth(1)).unwrap();
    let mut s = root.subscriber::<TestPose>("t");
    assert_eq!(s.latest().unwrap().unwrap().seq, 1);
    std::fs::remove_file(root.topic_file("t")).unwrap();
    drop(p);
    let mut p = root.publisher::<TestPose>("t");
    p.publish(&TestPose::nth(2)).unwrap();
    let v = s.latest().unwrap().unwrap();
    assert_eq!(
        v.value,
        TestPose::nth(2),
        "the new file's value, at the first read"
    );
}

#[test]
fn polling_a_missing_topic_opens_nothing_until_a_topic_is_announced() {
    // A read of a missing topic would find a file placed by hand if it tried to open the path:
    // it does not (no generation change, so no `open()`), yet it finds a topic as soon as a
    // publisher announces one. (`strace` of the Python equivalent: docs/performance.md.)
    let root = TempRoot::new("causal-quiet");
    let mut s = root.subscriber::<TestPose>("t");
    assert!(s.latest().unwrap().is_none());
    // A valid topic file copied into place by hand, without the library: no announcement.
    let other = TempRoot::new("causal-quiet-src");
    let mut p = other.publisher::<TestPose>("t");
    p.publish(&TestPose::nth(5)).unwrap();
    std::fs::copy(other.topic_file("t"), root.topic_file("t")).unwrap();
    for _ in 0..1000 {
        assert!(
            s.latest().unwrap().is_none(),
            "a read opened the path although nothing announced a change"
        );
    }
    // Any topic creation under the root moves the counter: the next read looks and finds it.
    let _unrelated = root.publisher::<TestPose>("unrelated");
    assert_eq!(s.latest().unwrap().unwrap().value, TestPose::nth(5));
}

#[test]
fn a_subscriber_trusting_any_owner_looks_on_every_read() {
    // No single counter to watch: it opens the path on each read while the topic is missing,
    // so even a file placed by hand is found at once.
    let root = TempRoot::new("causal-any");
    let mut s = Subscriber::<TestPose>::builder("t")
        .root(root.path())
        .owner(TopicOwner::Anyone)
        .open()
        .unwrap();
    assert!(s.latest().unwrap().is_none());
    let other = TempRoot::new("causal-any-src");
    let mut p = other.publisher::<TestPose>("t");
    p.publish(&TestPose::nth(6)).unwrap();
    std::fs::copy(other.topic_file("t"), root.topic_file("t")).unwrap();
    assert_eq!(s.latest().unwrap().unwrap().value, TestPose::nth(6));
}

#[test]
fn a_generation_file_removed_by_hand_is_replaced_and_watched_again() {
    let root = TempRoot::new("causal-genrm");
    let mut s = root.subscriber::<TestPose>("t");
    assert!(s.latest().unwrap().is_none());
    let generation = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".shm-generation.")
        })
        .expect("the subscriber made its user's generation file");
    std::fs::remove_file(&generation).unwrap();
    // Within the by-hand check period (10 ms), reads notice and map the new file.
    std::thread::sleep(Duration::from_millis(15));
    for _ in 0..64 {
        let _ = s.latest().unwrap();
    }
    let mut p = root.publisher::<TestPose>("t");
    p.publish(&TestPose::nth(3)).unwrap();
    assert_eq!(s.latest().unwrap().unwrap().value, TestPose::nth(3));
}

#[test]
fn a_subscriber_whose_attach_failed_looks_again_at_its_next_read() {
    // The topic appears, but the first look fails (here: others may write the file); once the
    // file is fixed (no announcement), the next read must look again, not report "no data"
    // forever because the counter has not moved.
    use std::os::unix::fs::PermissionsExt;
    let root = TempRoot::new("causal-retry");
    let mut s = root.subscriber::<TestPose>("t");
    let mut p = root.publisher::<TestPose>("t");
    p.publish(&TestPose::nth(4)).unwrap();
    let path = root.topic_file("t");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert!(s.latest().is_err(), "the untrusted file is refused");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(s.latest().unwrap().unwrap().value, TestPose::nth(4));
}

#[test]
fn a_generation_file_made_again_by_a_publisher_does_not_hide_its_topic() {
    // The counter's file is removed by hand; a publisher makes it again and counts its topic
    // (1); the subscriber, which saw 1 on the old file, maps the new one: equal numbers, yet
    // the path must be looked at.
    let root = TempRoot::new("causal-genagain");
    drop(root.publisher::<TestPose>("a"));
    let mut s = root.subscriber::<TestPose>("b");
    assert!(s.latest().unwrap().is_none());
    let generation = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".shm-generation.")
        })
        .unwrap();
    std::fs::remove_file(&generation).unwrap();
    let mut p = root.publisher::<TestPose>("b");
    p.publish(&TestPose::nth(8)).unwrap();
    // Within the by-hand check period, a read maps the new counter file and looks.
    std::thread::sleep(Duration::from_millis(15));
    let found = (0..64).find_map(|_| s.latest().unwrap());
    assert_eq!(found.map(|v| v.value), Some(TestPose::nth(8)));
}
