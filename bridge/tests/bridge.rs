//! Two bridges on this machine, each on its own topic directory (two "machines"), connected
//! over loopback TCP, with real publisher and subscriber processes on both sides.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use shm::{Publisher, RecvError};
use shm_integration::TestPose;
use shm_integration::process::{Proc, TIMEOUT as T, poll};
use shm_integration::root::TempRoot;
use shm_integration::v2::TestPose as V2Pose;

use support::{BRIDGE, Bridge, pair, prefix, publish_until};

/// Value number `n` of the other `TestPose`.
fn v2_nth(n: u64) -> V2Pose {
    V2Pose {
        x: n as f64,
        y: -(n as f64),
        heading_deg: 1.5,
        _pad: 0,
        counter: n,
    }
}

#[test]
fn a_struct_topic_crosses_to_a_typed_subscriber_of_the_other_machine() {
    let (a, b) = (TempRoot::new("bridge-a"), TempRoot::new("bridge-b"));
    let p = prefix("struct");
    let (_ba, mut bb, _) = pair(
        &a,
        &["--export", "robot/**"],
        &b,
        &["--import", "robot/**"],
        &p,
    );
    let mut publisher = a.publisher::<TestPose>("robot/pose");
    let mut sub = b.subscriber::<TestPose>("robot/pose");
    let mut got = None;
    publish_until(&mut publisher, || {
        got = sub.try_recv().unwrap();
        got.is_some()
    });
    bb.expect_log("importing 'robot/pose' (TestPose)");
    // Values arrive whole and in order, checked against the counter each carries.
    let mut last = got.unwrap().value.counter;
    for _ in 0..20 {
        let n = publisher.next_seq();
        publisher.publish(&TestPose::nth(n)).unwrap();
        let s = sub.recv_timeout(T).unwrap();
        assert_eq!(s.value, TestPose::nth(s.value.counter));
        assert!(s.value.counter > last && s.value.counter <= n);
        last = s.value.counter;
    }
    // Only what the patterns say crosses.
    let mut other = a.publisher::<u64>("elsewhere/x");
    other.publish(&1).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(!b.topic_file("elsewhere/x").exists());
}

#[test]
fn a_topic_created_after_the_bridges_started_is_carried_and_its_death_crosses() {
    let (a, b) = (
        TempRoot::new("bridge-late-a"),
        TempRoot::new("bridge-late-b"),
    );
    let p = prefix("late");
    let (_ba, _bb, _) = pair(&a, &["--export", "**"], &b, &["--import", "**"], &p);
    std::thread::sleep(Duration::from_millis(300));
    // A publisher in another process, started after the bridges.
    let mut helper = a.helper(&["publish", "pose", "late/pose", "0", "20000"]);
    helper.expect_line("READY", T);
    let mut sub = b.subscriber::<TestPose>("late/pose");
    sub.recv_timeout(T).unwrap();
    assert!(
        sub.publisher_alive().unwrap(),
        "the bridge publishes it here"
    );
    // Killing the publisher on A ends a wait on B with "publisher gone", as for a local one.
    let started = Instant::now();
    helper.kill9();
    let ended = loop {
        match sub.recv_timeout(T) {
            Ok(_) => continue, // values published before the kill
            Err(e) => break e,
        }
    };
    assert!(matches!(ended, RecvError::PublisherGone { .. }), "{ended}");
    // The bridge itself runs on: the message says the remote publisher went away.
    let text = ended.to_string();
    assert!(
        text.contains("the remote publisher of topic") && text.contains("which still runs"),
        "{text}"
    );
    assert!(started.elapsed() < T);
    assert!(!sub.publisher_alive().unwrap());
    // The last value stays readable.
    assert!(sub.latest().unwrap().is_some());
}

#[test]
fn a_remote_topic_of_another_type_is_refused_and_nothing_is_overwritten() {
    let (a, b) = (
        TempRoot::new("bridge-mismatch-a"),
        TempRoot::new("bridge-mismatch-b"),
    );
    // B already has `robot/pose`, of another type, its publisher gone.
    b.publisher::<shm_integration::v2::TestPose>("robot/pose")
        .publish(&shm_integration::v2::TestPose {
            x: 1.0,
            y: 2.0,
            heading_deg: 3.0,
            _pad: 0,
            counter: 7,
        })
        .unwrap();
    let file = b.topic_file("robot/pose");
    let before = std::fs::read(&file).unwrap();
    let p = prefix("mismatch");
    let (_ba, mut bb, _) = pair(&a, &["--export", "**"], &b, &["--import", "**"], &p);
    let mut publisher = a.publisher::<TestPose>("robot/pose");
    let deadline = Instant::now() + T;
    let line = loop {
        publisher.publish(&TestPose::nth(1)).unwrap();
        if let Some(line) = bb
            .proc
            .try_expect_line("stderr: shm-bridge: refused", Duration::from_millis(50))
        {
            break line;
        }
        assert!(Instant::now() < deadline, "no refusal logged");
    };
    assert!(line.contains("refused to import 'robot/pose'"), "{line}");
    assert!(
        line.contains("carries `TestPose` (schema hash 0x"),
        "{line}"
    );
    assert!(line.contains("nothing was overwritten"), "{line}");
    publisher.publish(&TestPose::nth(2)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the local topic is untouched"
    );
}

#[test]
fn a_topic_the_bridge_imported_then_retyped_locally_is_not_overwritten_when_the_remote_returns() {
    let (a, b) = (
        TempRoot::new("bridge-return-a"),
        TempRoot::new("bridge-return-b"),
    );
    let p = prefix("return");
    let (_ba, mut bb, _) = pair(&a, &["--export", "**"], &b, &["--import", "**"], &p);
    {
        let mut remote = a.publisher::<TestPose>("robot/pose");
        let mut sub = b.subscriber::<TestPose>("robot/pose");
        publish_until(&mut remote, || sub.try_recv().unwrap().is_some());
    }
    bb.expect_log("the remote publisher of 'robot/pose' is gone");
    // Meanwhile on B, a local program makes `robot/pose` another type, and exits (the bridge
    // may still be writing a last value that was on its way: then the file is busy a moment).
    let mut local = poll(T, "the local publisher to be created", || {
        b.try_publisher::<V2Pose>("robot/pose").ok()
    });
    local.publish(&v2_nth(7)).unwrap();
    drop(local);
    let file = b.topic_file("robot/pose");
    let before = std::fs::read(&file).unwrap();
    // The remote publisher returns: B refuses, naming both types, and leaves the file alone.
    let mut remote = a.publisher::<TestPose>("robot/pose");
    let deadline = Instant::now() + T;
    let line = loop {
        remote.publish(&TestPose::nth(remote.next_seq())).unwrap();
        if let Some(line) = bb
            .proc
            .try_expect_line("stderr: shm-bridge: refused", Duration::from_millis(50))
            && line.contains("carries `TestPose` (schema hash 0x")
        {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "no refusal naming the types logged"
        );
    };
    assert!(line.contains("nothing was overwritten"), "{line}");
    for _ in 0..20 {
        remote.publish(&TestPose::nth(remote.next_seq())).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the local topic is untouched"
    );
    let mut local = b.subscriber::<V2Pose>("robot/pose");
    assert_eq!(local.latest().unwrap().unwrap().value, v2_nth(7));
}

#[test]
fn a_removed_topic_stops_its_export_and_a_remote_type_change_replaces_the_import() {
    let (a, b) = (
        TempRoot::new("bridge-retype-a"),
        TempRoot::new("bridge-retype-b"),
    );
    let p = prefix("retype");
    let (mut ba, mut bb, _) = pair(&a, &["--export", "**"], &b, &["--import", "**"], &p);
    {
        let mut v1 = a.publisher::<TestPose>("robot/pose");
        let mut sub = b.subscriber::<TestPose>("robot/pose");
        publish_until(&mut v1, || sub.try_recv().unwrap().is_some());
    }
    bb.expect_log("the remote publisher of 'robot/pose' is gone");
    // The file removed on A: its export ends (and its last value is no longer offered).
    std::fs::remove_file(a.topic_file("robot/pose")).unwrap();
    ba.expect_log("stopped exporting 'robot/pose': its file is gone");
    // Recreated on A with another type: B's bridge replaces the topic it imported itself.
    let mut v2 = a.publisher::<V2Pose>("robot/pose");
    let deadline = Instant::now() + T;
    let got = loop {
        v2.publish(&v2_nth(v2.next_seq())).unwrap();
        if let Ok(mut sub) = b.try_subscriber::<V2Pose>("robot/pose")
            && let Some(s) = sub.latest().unwrap()
        {
            break s.value;
        }
        assert!(Instant::now() < deadline, "the new type did not cross");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(got, v2_nth(got.counter));
    let lines = bb.log_until("importing 'robot/pose' (TestPose)");
    assert!(!lines.iter().any(|l| l.contains("refused")), "{lines:#?}");
}

#[test]
fn bridges_exporting_and_importing_everything_never_ping_pong() {
    let (a, b) = (
        TempRoot::new("bridge-loop-a"),
        TempRoot::new("bridge-loop-b"),
    );
    let p = prefix("loop");
    let both = ["--export", "**", "--import", "**"];
    let (mut ba, mut bb, _) = pair(&a, &both, &b, &both, &p);
    let mut on_a = a.publisher::<u64>("from/a");
    let mut on_b = b.publisher::<u64>("from/b");
    let mut a_reads_b = a.subscriber::<u64>("from/b");
    let mut b_reads_a = b.subscriber::<u64>("from/a");
    let deadline = Instant::now() + T;
    while a_reads_b.latest().unwrap().is_none() || b_reads_a.latest().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the topics did not cross");
        on_a.publish(&1).unwrap();
        on_b.publish(&1).unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    // Quiet now: nothing is published, so the topics settle (values on their way arrive) and
    // then nothing is written anywhere for a whole second (an echo between the bridges would
    // keep publishing, and never settle).
    let seqs = |r: &TempRoot| -> Vec<u64> {
        ["from/a", "from/b"]
            .iter()
            .map(|t| shm::inspect::inspect(Some(r.path()), t).unwrap().last_seq)
            .collect()
    };
    let settled = || {
        poll(T, "the topics to stay unchanged for 1 s", || {
            let before = (seqs(&a), seqs(&b));
            std::thread::sleep(Duration::from_secs(1));
            (before == (seqs(&a), seqs(&b))).then_some(before)
        })
    };
    settled();
    // Each side's own topic was written only by its own publisher.
    assert_eq!(on_a.next_seq() - 1, seqs(&a)[0]);
    assert_eq!(on_b.next_seq() - 1, seqs(&b)[1]);

    // The publisher of `from/a` moves to B: A's bridge stops exporting the topic and imports
    // it instead (its file now comes from B), and still nothing goes round.
    drop(on_a);
    bb.expect_log("the remote publisher of 'from/a' is gone");
    let mut moved = b.publisher::<u64>("from/a");
    let mut a_reads_a = a.subscriber::<u64>("from/a");
    let deadline = Instant::now() + T;
    loop {
        moved.publish(&1000).unwrap();
        if a_reads_a.latest().unwrap().is_some_and(|s| s.value == 1000) {
            break;
        }
        assert!(Instant::now() < deadline, "the moved topic did not cross");
        std::thread::sleep(Duration::from_millis(10));
    }
    ba.expect_log("'from/a' is published remotely now, its local publisher gone");
    settled();
    assert_eq!(
        moved.next_seq() - 1,
        seqs(&b)[0],
        "only B's publisher wrote it on B"
    );
}

#[test]
fn a_killed_bridge_restarted_resumes_without_cleanup() {
    let (a, b) = (
        TempRoot::new("bridge-restart-a"),
        TempRoot::new("bridge-restart-b"),
    );
    let p = prefix("restart");
    let (_ba, bb, endpoint) = pair(&a, &["--export", "**"], &b, &["--import", "**"], &p);
    let mut publisher = a.publisher::<TestPose>("robot/pose");
    let mut sub = b.subscriber::<TestPose>("robot/pose");
    publish_until(&mut publisher, || sub.try_recv().unwrap().is_some());
    // SIGKILL: no clean shutdown. Its local publisher of the topic dies with it.
    let mut bb = bb;
    bb.proc.kill9();
    poll(T, "the killed bridge's publisher to be gone", || {
        (!sub.publisher_alive().unwrap()).then_some(())
    });
    // The same command again: it takes the topic file over (same type) and carries on.
    let args = [
        "--connect",
        endpoint.as_str(),
        "--prefix",
        p.as_str(),
        "--import",
        "**",
    ];
    let _again = Bridge::start(b.path(), &args);
    let mut resumed = None;
    publish_until(&mut publisher, || {
        resumed = sub.try_recv().unwrap();
        resumed.is_some()
    });
    assert!(sub.publisher_alive().unwrap());
    let value = resumed.unwrap().value;
    assert_eq!(value, TestPose::nth(value.counter));
}

#[test]
fn a_late_importer_gets_the_current_value_and_max_rate_thins_a_topic() {
    let (a, b) = (
        TempRoot::new("bridge-rate-a"),
        TempRoot::new("bridge-rate-b"),
    );
    let p = prefix("rate");
    // A value published before any bridge runs, never again: a bridge that comes later still
    // gets it (latest-value).
    a.publisher::<u64>("config/mode").publish(&42).unwrap();
    let mut fast = a.publisher::<u64>("fast/tick");
    let (_ba, _bb, _) = pair(
        &a,
        &["--export", "**", "--max-rate", "fast/**=20"],
        &b,
        &["--import", "**"],
        &p,
    );
    let mut mode = b.subscriber::<u64>("config/mode");
    let v = mode.recv_timeout(T).unwrap();
    assert_eq!(v.value, 42);
    // 1 kHz published, at most 20 Hz carried.
    let mut tick = b.subscriber::<u64>("fast/tick");
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(2) {
        n += 1;
        fast.publish(&n).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(200));
    // Values written here by the bridge (its sequence numbers count them).
    let local = tick.latest().unwrap().map_or(0, |s| s.seq);
    assert!(
        local <= 2 * 20 + 2,
        "{local} values carried in 2 s at most 20 Hz"
    );
    assert!(local >= 5, "only {local} values carried in 2 s");
    assert!(n > 500, "the publisher ran at {n} values in 2 s");
}

#[test]
fn bad_arguments_are_refused_with_a_clear_error() {
    let root = TempRoot::new("bridge-args");
    for (args, want) in [
        (&["--export", ""][..], "an empty pattern matches nothing"),
        (&["--export", "a**"], "`**` must be a whole chunk"),
        (&["--export", "**", "--prefix", "a//b"], "--prefix 'a//b'"),
        (&["--export", "**", "--max-rate", "0"], "--max-rate 0"),
        (&[], "nothing to carry"),
    ] {
        let mut all = vec!["--root", root.path().to_str().unwrap()];
        all.extend_from_slice(args);
        let mut proc = Proc::spawn(Path::new(BRIDGE), root.path(), &all);
        let out = proc.rest(T).join("\n");
        assert_eq!(proc.wait(T).code(), Some(1), "{args:?}");
        assert!(out.contains(want), "{args:?}: {out}");
    }
    let missing = root.path().join("nope");
    let mut proc = Proc::spawn(
        Path::new(BRIDGE),
        root.path(),
        &["--root", missing.to_str().unwrap(), "--export", "**"],
    );
    assert!(proc.rest(T).join("\n").contains("is not a directory"));
}

#[test]
fn slot_counts_and_publish_times_cross_the_bridge() {
    let (a, b) = (
        TempRoot::new("bridge-ring-a"),
        TempRoot::new("bridge-ring-b"),
    );
    // A value published before any bridge ran, by a publisher long gone: it crosses with its
    // age (it once arrived as if published when it was written on the other side).
    let mut old = Publisher::<TestPose>::builder("robot/old")
        .root(a.path())
        .buffer_num(32)
        .create()
        .unwrap();
    old.publish(&TestPose::nth(1)).unwrap();
    drop(old);
    std::thread::sleep(Duration::from_millis(1500));
    let p = prefix("ring");
    let (_ba, _bb, _) = pair(
        &a,
        &["--export", "robot/**"],
        &b,
        &["--import", "robot/**", "--slots", "robot/small=4"],
        &p,
    );
    let mut sub = b.subscriber::<TestPose>("robot/old");
    let s = poll(T, "the current value of robot/old", || {
        sub.latest().unwrap()
    });
    assert_eq!(s.value, TestPose::nth(1));
    assert!(
        s.published.elapsed() >= Duration::from_millis(1500),
        "stamped when it was published, not when it crossed: {:?} ago",
        s.published.elapsed()
    );
    let old = shm::inspect::inspect(Some(b.path()), "robot/old").unwrap();
    assert_eq!(old.slots, 32, "the exporting side's ring");
    // `--slots` overrides it, for the topics of its pattern.
    let mut small = Publisher::<TestPose>::builder("robot/small")
        .root(a.path())
        .buffer_num(16)
        .create()
        .unwrap();
    let mut sub = b.subscriber::<TestPose>("robot/small");
    publish_until(&mut small, || sub.try_recv().unwrap().is_some());
    let info = shm::inspect::inspect(Some(b.path()), "robot/small").unwrap();
    assert_eq!(info.slots, 4);
}

#[test]
fn bounded_sequences_and_strings_cross_at_every_length() {
    #[derive(shm::ShmMessage, Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    struct Scan {
        counter: u64,
        frame_id: shm::BoundedString<16>,
        ranges: shm::BoundedVec<f32, 512>,
    }
    let scan = |n: u64| Scan {
        counter: n,
        frame_id: format!("lidar-{n}").as_str().try_into().unwrap(),
        ranges: shm::BoundedVec::from_slice(&vec![n as f32; (n % 513) as usize]).unwrap(),
    };
    let (a, b) = (
        TempRoot::new("bridge-bounded-a"),
        TempRoot::new("bridge-bounded-b"),
    );
    let p = prefix("bounded");
    let (_ba, mut bb, _) = pair(
        &a,
        &["--export", "scan/**"],
        &b,
        &["--import", "scan/**"],
        &p,
    );
    let mut publisher = a.publisher::<Scan>("scan/front");
    let mut sub = b.subscriber::<Scan>("scan/front");
    let deadline = Instant::now() + T;
    while sub.try_recv().unwrap().is_none() {
        assert!(Instant::now() < deadline, "nothing arrived within {T:?}");
        publisher.publish(&scan(0)).unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    bb.expect_log("importing 'scan/front' (Scan)");
    // Empty, partly filled and full (512 ranges), each arriving whole. (Warm-up values still
    // crossing may arrive first: they are skipped.)
    for n in [1026, 700, 512, 1000] {
        publisher.publish(&scan(n)).unwrap();
        let s = loop {
            let s = sub.recv_timeout(T).unwrap();
            if s.value.counter != 0 {
                break s;
            }
        };
        assert_eq!(s.value, scan(n));
    }
}

#[test]
fn bridges_stop_on_sigterm_at_once_while_topics_cross() {
    // A newcomer's bridge took 2.5 s to stop; Ctrl-C and a service manager's SIGTERM expect a
    // prompt exit (a query to a silent peer no longer holds it for its 5 s timeout).
    let (a, b) = (
        TempRoot::new("bridge-stop-a"),
        TempRoot::new("bridge-stop-b"),
    );
    let p = prefix("stop");
    let (mut ba, mut bb, _) = pair(&a, &["--export", "**"], &b, &["--import", "**"], &p);
    let mut helper = a.helper(&["publish", "pose", "stop/pose", "0", "200000"]);
    helper.expect_line("READY", T);
    bb.expect_log("importing 'stop/pose'");
    for bridge in [&mut bb, &mut ba] {
        let (rest, took) = support::stop(bridge, libc::SIGTERM);
        assert!(
            rest.iter().any(|l| l.contains("shm-bridge: stopped")),
            "{rest:#?}"
        );
        assert!(took < Duration::from_secs(2), "stopped after {took:?}");
    }
    helper.kill9();
}
