//! Behaviour across real, separate processes: the helper binary (`shm-test-helper`) is the
//! other side. Every wait has a timeout.

use std::time::Duration;

use shm::{CreateError, Publisher, ShmMessage, SubscribeError, Subscriber};
use shm_integration::TestPose;
use shm_integration::process::{NOBODY, Proc, TIMEOUT as T, helper_for_other_users, poll};
use shm_integration::root::TempRoot;

#[test]
fn values_flow_from_a_child_publisher() {
    let root = TempRoot::new("mp-flow");
    // 50 values, 5 ms apart: the parent, polling every 0.1 ms, sees most of them.
    let mut child = root.helper(&["publish", "pose", "robot/pose", "50", "5000"]);
    child.expect_line("READY", T);
    let mut s = root.subscriber::<TestPose>("robot/pose");
    let mut last = 0;
    let mut received = 0;
    while last < 50 {
        let Some(sample) = s.try_recv().unwrap() else {
            std::thread::sleep(Duration::from_micros(100));
            continue;
        };
        assert!(sample.seq > last, "order: {} after {last}", sample.seq);
        assert_eq!(
            sample.value,
            TestPose::nth(sample.seq),
            "value matches its sequence"
        );
        last = sample.seq;
        received += 1;
    }
    assert!(received >= 5, "saw only {received} of 50 values");
    assert_eq!(child.expect_line("DONE", T), "DONE 50");
    assert!(child.wait(T).success());
}

#[test]
fn values_flow_to_a_child_subscriber_started_first() {
    let root = TempRoot::new("mp-subfirst");
    let mut child = root.helper(&["subscribe", "pose", "robot/pose", "5", "15000"]);
    child.expect_line("READY", T);
    let mut p = Publisher::<TestPose>::builder("robot/pose")
        .root(root.path())
        .create()
        .unwrap();
    let mut got = Vec::new();
    let mut n = 0;
    while got.len() < 5 {
        n += 1;
        p.publish(&TestPose::nth(n)).unwrap();
        // Publish more slowly than the child polls, so it sees each value.
        if let Some(line) = child.try_expect_line("GOT", Duration::from_millis(500)) {
            got.push(line);
        }
        assert!(n < 200, "child saw only {got:?}");
    }
    for line in &got {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(
            parts[1], parts[2],
            "child's value matches its sequence: {line}"
        );
    }
    assert!(child.wait(T).success());
}

#[test]
fn the_same_struct_hashes_the_same_in_another_binary() {
    let root = TempRoot::new("mp-hash");
    let mut child = root.helper(&["hash", "pose"]);
    let line = child.expect_line("HASH", T);
    assert_eq!(line, format!("HASH {:#018x}", TestPose::SCHEMA.hash()));
    let mut child = root.helper(&["hash", "pose-v2"]);
    let line = child.expect_line("HASH", T);
    assert_ne!(line, format!("HASH {:#018x}", TestPose::SCHEMA.hash()));
}

#[test]
fn type_mismatch_is_refused_across_processes() {
    let root = TempRoot::new("mp-mismatch");
    let mut publisher = root.helper(&["hold", "pose-v2", "robot/pose"]);
    publisher.expect_line("READY", T);

    let err = Subscriber::<TestPose>::builder("robot/pose")
        .root(root.path())
        .open()
        .unwrap_err();
    assert!(matches!(err, SubscribeError::SchemaMismatch(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains("field `theta`"), "{text}");
    assert!(text.contains("field `heading_deg`"), "{text}");

    // A child subscriber of the wrong type exits with the mismatch (exit code 4).
    let mut child = root.helper(&["subscribe", "f64", "robot/pose", "1", "5000"]);
    let rest = child.rest(T);
    assert!(
        rest.iter()
            .any(|l| l.contains("carries `TestPose` but this side expects `f64`")),
        "{rest:?}"
    );
    assert_eq!(child.wait(T).code(), Some(4));
    publisher.close_stdin();
    assert!(publisher.wait(T).success());
}

#[test]
fn a_second_publisher_is_refused_while_the_first_lives() {
    let root = TempRoot::new("mp-busy");
    let mut owner = root.helper(&["hold", "u64", "owned"]);
    owner.expect_line("READY", T);

    let err = Publisher::<u64>::builder("owned")
        .root(root.path())
        .create()
        .unwrap_err();
    let CreateError::Busy { owner: info, .. } = &err else {
        panic!("expected busy, got {err}")
    };
    assert_eq!(info.pid, owner.pid());
    assert_eq!(info.process_name, "shm-test-helper");
    assert!(
        err.to_string()
            .contains(&format!("pid {} (shm-test-helper)", owner.pid())),
        "{err}"
    );
    // Same from another process: the helper exits 3 with the message.
    let mut second = root.helper(&["publish", "u64", "owned", "1", "0"]);
    let rest = second.rest(T);
    assert!(
        rest.iter().any(|l| l.contains("already published by")),
        "{rest:?}"
    );
    assert_eq!(second.wait(T).code(), Some(3));

    // After a clean exit the topic can be taken over.
    owner.close_stdin();
    assert!(owner.wait(T).success());
    let p = Publisher::<u64>::builder("owned")
        .root(root.path())
        .create()
        .unwrap();
    assert_eq!(p.takeover().unwrap().previous_publisher.pid, owner.pid());
}

#[test]
fn publisher_killed_mid_stream_leaves_last_good_value_and_is_taken_over() {
    let root = TempRoot::new("mp-kill");
    let mut s = root.subscriber::<TestPose>("robot/pose");
    let mut seen = 0;
    for round in 0..3 {
        // The child publishes as fast as it can until killed.
        let mut child = root.helper(&["publish", "pose", "robot/pose", "0", "0"]);
        let ready = child.expect_line("READY", T);
        let first: u64 = ready.split(' ').nth(2).unwrap().parse().unwrap();
        assert_eq!(first, seen + 1, "round {round}: the sequence continues");
        let live = poll(T, "values from the child", || {
            s.latest().unwrap().filter(|v| v.seq > seen + 1000)
        });
        assert!(s.publisher_alive().unwrap());
        child.kill9();

        assert!(
            !s.publisher_alive().unwrap(),
            "a killed publisher is not alive"
        );
        let last = s
            .latest()
            .unwrap()
            .expect("the last value survives a SIGKILL");
        assert!(last.seq >= live.seq);
        assert_eq!(last.value, TestPose::nth(last.seq), "not torn");
        assert_eq!(
            s.latest().unwrap().unwrap().seq,
            last.seq,
            "stable after the kill"
        );
        seen = last.seq;
    }

    // A publisher in this process takes over, keeping the value and the sequence.
    let mut p = Publisher::<TestPose>::builder("robot/pose")
        .root(root.path())
        .create()
        .unwrap();
    let t = p.takeover().unwrap().clone();
    assert!(t.kept_last_value && !t.recreated);
    assert_eq!(t.last_seq, seen);
    assert_eq!(t.previous_publisher.process_name, "shm-test-helper");
    assert_eq!(s.latest().unwrap().unwrap().seq, seen);
    let next = p.publish(&TestPose::nth(seen + 1)).unwrap();
    assert_eq!(next, seen + 1);
    assert_eq!(s.try_recv().unwrap().unwrap().value, TestPose::nth(next));
}

#[test]
fn killed_publisher_of_large_values_never_leaves_a_torn_one() {
    // 64 KiB values take microseconds to write, so a SIGKILL often lands mid-write.
    use shm_integration::payload::{Payload, S64K};
    let root = TempRoot::new("mp-kill-large");
    let mut reader = root.helper(&["subscribe", "s64k", "big", "1", "15000"]);
    reader.expect_line("READY", T);
    let mut s = root.subscriber::<S64K>("big");
    let mut last_seen = 0;
    for _ in 0..5 {
        let mut child = root.helper(&["stress-write", "s64k", "big", "60000"]);
        child.expect_line("READY", T);
        // Kill it while it is busy writing values we have not seen yet.
        poll(T, "new values", || {
            s.latest().unwrap().filter(|v| v.seq > last_seen + 10)
        });
        child.kill9();
        let v = s.latest().unwrap().expect("a value");
        assert_eq!(
            v.value.check(),
            Some(v.seq),
            "intact after a kill at seq {}",
            v.seq
        );
        assert!(v.seq > last_seen);
        last_seen = v.seq;
    }
    let got = reader.expect_line("GOT", T);
    assert!(reader.wait(T).success(), "{got}");
}

#[test]
fn a_forked_child_cannot_publish_through_its_parents_publisher() {
    let root = TempRoot::new("mp-fork");
    let mut p = Publisher::<u64>::builder("t")
        .root(root.path())
        .create()
        .unwrap();
    p.publish(&1).unwrap();
    // SAFETY: the child only calls `publish`, which on this path does one atomic load and
    // returns (no allocation, no lock), then `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let refused = p.publish(&666) == Err(shm::PublishError::ForkedProcess);
        // SAFETY: ends the child without running the parent's atexit handlers or destructors.
        unsafe { libc::_exit(if refused { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child; `status` is a valid out-pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child published"
    );
    let mut s = root.subscriber::<u64>("t");
    assert_eq!(
        s.latest().unwrap().unwrap().value,
        1,
        "nothing was written by the child"
    );
    assert_eq!(p.publish(&2), Ok(2), "the parent keeps publishing");

    // A child that lives on does not keep the topic locked once the parent's publisher is gone.
    // The child gives the lock up in its fork handler, before `fork` returns there; it then
    // says so through a pipe.
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) returns.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child only writes one byte, sleeps and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: async-signal-safe calls only, on descriptors the child owns.
        unsafe {
            libc::write(fds[1], b"x".as_ptr().cast(), 1);
            libc::sleep(30);
            libc::_exit(0);
        }
    }
    let mut byte = 0u8;
    // SAFETY: reads one byte into a local; the pipe's write end stays open in the child until
    // it exits, so this returns once the child has written.
    assert_eq!(unsafe { libc::read(fds[0], (&raw mut byte).cast(), 1) }, 1);
    // SAFETY: closes the parent's ends of the pipe.
    unsafe {
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
    drop(p);
    // Other tests of this binary spawn processes, which hold inherited descriptors for a moment
    // before `exec`: allow a few seconds. The forked child would hold the lock for 30 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let taken = loop {
        match Publisher::<u64>::builder("t").root(root.path()).create() {
            Err(CreateError::Busy { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            other => break other,
        }
    };
    // SAFETY: kills and reaps our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, &mut status, 0);
    }
    let taken = taken.expect("the forked child gave up the topic's lock");
    assert!(taken.takeover().unwrap().kept_last_value);
}

#[test]
fn subscribers_follow_a_topic_recreated_by_another_process() {
    let root = TempRoot::new("mp-recreate");
    let mut first = root.helper(&["publish", "pose", "robot/pose", "3", "0"]);
    first.expect_line("DONE", T);
    assert!(first.wait(T).success());
    let mut s = root.subscriber::<TestPose>("robot/pose");
    assert_eq!(s.latest().unwrap().unwrap().seq, 3);

    // Another type takes the topic over: the attached subscriber reports the mismatch.
    let mut other = root.helper(&["publish", "pose-v2", "robot/pose", "1", "0"]);
    other.expect_line("DONE", T);
    assert!(other.wait(T).success());
    let err = s.latest().unwrap_err();
    assert!(matches!(err, SubscribeError::SchemaMismatch(_)), "{err}");

    // Back to our type: the subscriber reattaches by itself.
    let mut back = root.helper(&["publish", "pose", "robot/pose", "2", "0"]);
    back.expect_line("DONE", T);
    assert!(back.wait(T).success());
    let v = poll(T, "reattach", || s.latest().ok().flatten());
    assert_eq!(v.value, TestPose::nth(v.seq));
    assert_eq!(v.seq, 6, "seq continues across recreation: 3 + 1 (v2) + 2");
}

#[test]
fn other_users_are_refused_owner_only_topics_and_read_widened_ones() {
    // Needs root (CI runs as root) and a helper the other user can run.
    let Some(exe) = helper_for_other_users() else {
        return;
    };
    let exe = exe.path();
    let root = TempRoot::new("mp-perm");
    let mut private = Publisher::<u64>::builder("private")
        .root(root.path())
        .create()
        .unwrap();
    private.publish(&1).unwrap();
    let mut shared = Publisher::<u64>::builder("shared")
        .root(root.path())
        .mode(0o644)
        .create()
        .unwrap();
    shared.publish(&2).unwrap();

    let mut child = Proc::spawn_as(
        exe,
        root.path(),
        &["subscribe", "u64", "private", "1", "5000"],
        Some(NOBODY),
    );
    let rest = child.rest(T);
    assert!(
        rest.iter()
            .any(|l| l.contains("permission denied") && l.contains("run as the topic's owner")),
        "{rest:?}"
    );
    assert_eq!(child.wait(T).code(), Some(3));

    // The other user trusts this one (uid 0) for the widened topic.
    let mut child = Proc::spawn_other_user(
        exe,
        root.path(),
        &["subscribe", "u64", "shared", "1", "5000"],
    );
    child.expect_line("GOT 1 2", T);
    assert!(child.wait(T).success());

    // Reading is all the other user can do: it may not take the topic over, and the refusal
    // names the file's owner.
    let mut child = Proc::spawn_as(
        exe,
        root.path(),
        &["publish", "u64", "shared", "1", "0"],
        Some(NOBODY),
    );
    let rest = child.rest(T);
    assert!(
        rest.iter()
            .any(|l| l.contains("owned by uid 0") && l.contains("left untouched")),
        "{rest:?}"
    );
    assert_eq!(child.wait(T).code(), Some(3));
}

#[test]
fn a_topic_file_removed_under_a_live_publisher_comes_back() {
    // `rm` of the file of a 1 kHz publisher (as systemd's RemoveIPC does): the publisher makes
    // it again within its check interval, with the numbers continuing, and a subscriber that
    // was reading follows without losing order or seeing a value twice.
    let root = TempRoot::new("mp-removed");
    let mut child = root.helper(&["publish", "pose", "robot/pose", "0", "1000"]);
    child.expect_line("READY", T);
    let mut s = root.subscriber::<TestPose>("robot/pose");
    let first = s.recv_timeout(T).unwrap();
    let path = root.topic_file("robot/pose");
    let before = std::fs::metadata(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let mut last = first.seq;
    // Read on across the removal: every value in order and whole.
    let back = poll(T, "the file made again", || {
        if let Some(sample) = s.try_recv().unwrap() {
            assert!(sample.seq > last, "order: {} after {last}", sample.seq);
            assert_eq!(sample.value, TestPose::nth(sample.seq));
            last = sample.seq;
        }
        std::thread::sleep(Duration::from_micros(200));
        std::fs::metadata(&path).ok()
    });
    use std::os::unix::fs::MetadataExt;
    assert_ne!(back.ino(), before.ino(), "a new file");
    assert_eq!(
        back.mode() & 0o777,
        before.mode() & 0o777,
        "with the same mode"
    );
    let info = shm::inspect::inspect(Some(root.path()), "robot/pose").unwrap();
    assert!(info.publisher_alive, "listed again, its publisher alive");
    assert_eq!(info.publisher.pid, child.pid());
    let removed_at = last;
    let after = poll(T, "values from the new file", || {
        let sample = s.try_recv().unwrap()?;
        assert!(sample.seq > last, "order: {} after {last}", sample.seq);
        assert_eq!(sample.value, TestPose::nth(sample.seq));
        last = sample.seq;
        (sample.seq > removed_at + 20).then_some(sample)
    });
    assert!(s.publisher_alive().unwrap());
    // A second publisher is refused again: the topic has its live one.
    let err = root.try_publisher::<TestPose>("robot/pose").unwrap_err();
    assert!(matches!(err, CreateError::Busy { .. }), "{err}");
    assert!(after.seq > first.seq);
    child.kill9();
}

#[test]
fn a_publisher_whose_file_another_publisher_took_stops() {
    // The file of a live publisher is removed, and another publisher makes the topic before
    // the first one looks: the first one is displaced for good (never two live publishers
    // of one topic), and subscribers read the second.
    let root = TempRoot::new("mp-displaced");
    let mut child = root.helper(&["stepper", "pose", "t"]);
    child.expect_line("READY", T);
    child.send("p");
    assert_eq!(child.expect_line("PUB", T), "PUB 1");
    std::fs::remove_file(root.topic_file("t")).unwrap();
    let mut second = root.publisher::<TestPose>("t");
    second.publish(&TestPose::nth(7)).unwrap();
    // Past the first publisher's check interval (100 ms): its next publish looks.
    std::thread::sleep(Duration::from_millis(150));
    child.send("p");
    let err = child.expect_line("ERR", T);
    assert!(
        err.contains("was removed or replaced by hand")
            && err.contains(&std::process::id().to_string()),
        "{err}"
    );
    child.send("p");
    assert!(child.expect_line("ERR", T).contains("this publisher stops"));
    let mut s = root.subscriber::<TestPose>("t");
    assert_eq!(s.latest().unwrap().unwrap().value, TestPose::nth(7));
    second.publish(&TestPose::nth(8)).unwrap();
    assert_eq!(s.latest().unwrap().unwrap().value, TestPose::nth(8));
    let info = shm::inspect::inspect(Some(root.path()), "t").unwrap();
    assert_eq!(info.publisher.pid, std::process::id());
    child.send("q");
    assert!(child.wait(T).success());
}
