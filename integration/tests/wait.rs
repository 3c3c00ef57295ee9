//! Blocking waits across real processes: wake-ups, deadlines, killed waiters and publishers,
//! recreated topics, many waiters, and waiters that may only read the topic. Every wait has a
//! timeout; no assertion depends on how fast this machine is, except upper bounds far above
//! what a working wait needs.

use std::time::{Duration, Instant};

use shm::{Publisher, RecvError, Subscriber};
use shm_integration::process::{NOBODY, Proc, TIMEOUT as T, cpu_ticks, helper_for_other_users};
use shm_integration::root::TempRoot;

/// A helper whose waits never wake up on their own (a 10-minute self-check period): every
/// wake-up it reports came from the publisher (or the publisher's exit), so a lost wake-up
/// shows up as a test that times out. Its waits last 60 s, longer than the tests wait for it.
fn woken_only_by_publisher(root: &TempRoot, args: &[&str]) -> Proc {
    root.helper_with(args, &[(shm::wait::CHECK_INTERVAL_ENV, "600000")])
}

/// How often a process has gone to sleep voluntarily (its main thread).
fn sleeps(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// A `GOT seq counter age_ns missed` line, parsed.
fn got(line: &str) -> (u64, u64, u64, u64) {
    let f: Vec<u64> = line
        .split(' ')
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    (f[0], f[1], f[2], f[3])
}

/// Starts a waiter child (woken only by the publisher) and returns once it sleeps in its
/// first wait.
fn blocked_waiter(root: &TempRoot, topic: &str, count: &str, timeout_ms: &str) -> Proc {
    let mut w = woken_only_by_publisher(root, &["wait", "u64", topic, count, timeout_ms]);
    w.expect_line("READY", T);
    w.expect_line("WAITING", T);
    root.until_asleep(topic);
    w
}

#[test]
fn a_sleeping_waiter_in_another_process_is_woken_by_each_publish() {
    let root = TempRoot::new("wait-wake");
    let mut p = root.publisher::<u64>("ticks");
    let mut w = blocked_waiter(&root, "ticks", "3", "60000");
    // It sleeps until woken, it does not poll: over 300 ms it uses (almost) no CPU and hardly
    // wakes up (a 1 ms poll would wake ~300 times).
    let (cpu, woke) = (cpu_ticks(w.pid()), sleeps(w.pid()));
    std::thread::sleep(Duration::from_millis(300));
    let cpu = cpu_ticks(w.pid()) - cpu;
    let woke = sleeps(w.pid()) - woke;
    assert!(
        cpu <= 3,
        "a blocked waiter used {cpu} ticks of CPU in 300 ms"
    );
    assert!(woke <= 30, "a blocked waiter woke {woke} times in 300 ms");

    assert_eq!(p.publish(&1).unwrap(), 1);
    let line = w.expect_line("GOT", T);
    assert_eq!(got(&line).0, 1, "{line}");
    assert_eq!(
        got(&line).3,
        0,
        "the first value read misses nothing: {line}"
    );

    w.expect_line("WAITING", T);
    root.until_asleep("ticks");
    assert_eq!(p.publish(&2).unwrap(), 2);
    let line = w.expect_line("GOT", T);
    assert_eq!(
        (got(&line).0, got(&line).1, got(&line).3),
        (2, 2, 0),
        "{line}"
    );

    // Three values in a row: the waiter returns one of them, and counts the ones it skipped.
    w.expect_line("WAITING", T);
    for v in 3..=5 {
        p.publish(&v).unwrap();
    }
    let line = w.expect_line("GOT", T);
    let (seq, counter, _, missed) = got(&line);
    assert!((3..=5).contains(&seq) && counter == seq, "{line}");
    assert_eq!(
        missed,
        seq - 3,
        "values between 2 and {seq} were skipped: {line}"
    );
    w.expect_line("DONE", T);
    assert!(w.wait(T).success());
}

#[test]
fn a_waiter_into_its_own_value_gets_each_large_value_whole() {
    let root = TempRoot::new("wait-into");
    let mut p = root.publisher::<shm_integration::payload::S64K>("frames");
    let mut w = woken_only_by_publisher(&root, &["wait", "s64k", "frames", "3", "60000", "into"]);
    w.expect_line("READY", T);
    for seq in 1..=3u64 {
        w.expect_line("WAITING", T);
        root.until_asleep("frames");
        let value = shm_integration::payload::Payload::make(seq);
        assert_eq!(p.publish(&value).unwrap(), seq);
        let line = w.expect_line("GOT", T);
        let (got_seq, counter, _, missed) = got(&line);
        assert_eq!((got_seq, counter, missed), (seq, seq, 0), "{line}");
    }
    w.expect_line("DONE", T);
    assert!(w.wait(T).success());
}

#[test]
fn a_deadline_is_honoured_without_early_return() {
    let root = TempRoot::new("wait-deadline");
    let mut p = root.publisher::<u64>("quiet");
    p.publish(&7).unwrap();
    let mut s = root.subscriber::<u64>("quiet");
    assert_eq!(
        s.recv_timeout(Duration::ZERO).unwrap().value,
        7,
        "already there"
    );
    // Around and across the 50 ms self-check period.
    for ms in [0u64, 1, 10, 49, 51, 120] {
        let timeout = Duration::from_millis(ms);
        let start = Instant::now();
        let err = s.recv_timeout(timeout).unwrap_err();
        let took = start.elapsed();
        assert!(matches!(err, RecvError::Timeout { .. }), "{err}");
        assert!(
            took >= timeout,
            "returned after {took:?} of a {timeout:?} timeout"
        );
        assert!(
            took < timeout + Duration::from_millis(500),
            "returned {took:?} after a {timeout:?} deadline"
        );
        assert!(
            err.to_string().contains("no new value on topic 'quiet'"),
            "{err}"
        );
    }
    // The publisher is alive all along: a timeout, not "publisher gone".
    assert!(s.publisher_alive().unwrap());
}

#[test]
fn many_waiters_in_other_processes_are_woken_by_one_publish() {
    let root = TempRoot::new("wait-many");
    let mut p = root.publisher::<u64>("fanout");
    let mut waiters: Vec<Proc> = (0..4)
        .map(|_| {
            let mut w = woken_only_by_publisher(&root, &["wait", "u64", "fanout", "1", "60000"]);
            w.expect_line("READY", T);
            w.expect_line("WAITING", T);
            w
        })
        .collect();
    root.until_asleep("fanout");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(p.publish(&42).unwrap(), 1);
    for w in &mut waiters {
        let line = w.expect_line("GOT", T);
        assert_eq!(got(&line).0, 1, "{line}");
        w.expect_line("DONE", T);
        assert!(w.wait(T).success());
    }
}

#[test]
fn a_waiter_killed_while_sleeping_disturbs_nobody() {
    let root = TempRoot::new("wait-killed-waiter");
    let mut p = root.publisher::<u64>("robust");
    let mut victim = blocked_waiter(&root, "robust", "1", "60000");
    let mut survivor = blocked_waiter(&root, "robust", "2", "60000");
    victim.kill9();
    assert_eq!(p.publish(&1).unwrap(), 1);
    assert_eq!(got(&survivor.expect_line("GOT", T)).0, 1);
    // The killed waiter's request for a wake-up was answered once and is gone; waits go on
    // working, for new waiters too.
    survivor.expect_line("WAITING", T);
    root.until_asleep("robust");
    assert_eq!(p.publish(&2).unwrap(), 2);
    assert_eq!(got(&survivor.expect_line("GOT", T)).0, 2);
    let mut late = woken_only_by_publisher(&root, &["wait", "u64", "robust", "2", "60000"]);
    assert_eq!(
        got(&late.expect_line("GOT", T)).0,
        2,
        "the current value is new to it"
    );
    late.expect_line("WAITING", T);
    root.until_asleep("robust");
    assert_eq!(p.publish(&3).unwrap(), 3);
    assert_eq!(got(&late.expect_line("GOT", T)).0, 3);
    assert!(survivor.wait(T).success() && late.wait(T).success());
}

/// A wait's `PublisherGone`: the publisher's pid, whether its process still runs, the message.
fn gone(result: Result<shm::Sample<u64>, RecvError>) -> (String, bool, String) {
    match result {
        Err(e @ RecvError::PublisherGone { .. }) => {
            let text = e.to_string();
            let RecvError::PublisherGone {
                owner,
                still_running,
                ..
            } = e
            else {
                unreachable!()
            };
            (owner.pid.to_string(), still_running, text)
        }
        other => panic!("expected PublisherGone, got {other:?}"),
    }
}

#[test]
fn a_publisher_killed_during_a_wait_ends_it_with_publisher_gone() {
    let root = TempRoot::new("wait-killed-pub");
    let mut stepper = root.helper(&["stepper", "u64", "orphan"]);
    let pid = stepper.expect_line("READY", T)[6..].to_owned();
    let mut s = root.subscriber::<u64>("orphan");
    let waiter = std::thread::spawn(move || {
        let start = Instant::now();
        (s.recv_timeout(Duration::from_secs(15)), start.elapsed())
    });
    root.until_asleep("orphan");
    stepper.kill9();
    let (result, took) = waiter.join().unwrap();
    let (gone_pid, still_running, text) = gone(result);
    assert_eq!((gone_pid, still_running), (pid, false));
    assert!(text.contains("exited or was killed"), "{text}");
    assert!(took < Duration::from_secs(5), "noticed after {took:?}");
}

#[test]
fn a_publisher_closed_by_a_process_that_runs_on_is_not_called_killed() {
    let root = TempRoot::new("wait-closed-pub");
    let mut stepper = root.helper(&["stepper", "u64", "closed"]);
    let pid = stepper.expect_line("READY", T)[6..].to_owned();
    let mut s = root.subscriber::<u64>("closed");
    let waiter = std::thread::spawn(move || s.recv_timeout(Duration::from_secs(15)));
    root.until_asleep("closed");
    stepper.send("d");
    stepper.expect_line("DROPPED", T);
    let (gone_pid, still_running, text) = gone(waiter.join().unwrap());
    assert_eq!((gone_pid, still_running), (pid, true));
    assert!(text.contains("which still runs) closed it"), "{text}");
    assert!(!text.contains("killed"), "{text}");
    stepper.send("q");
    assert!(stepper.wait(T).success());
}

#[test]
fn a_publisher_that_exits_cleanly_ends_waits_in_other_processes() {
    let root = TempRoot::new("wait-drop-pub");
    let mut stepper = root.helper(&["stepper", "u64", "leaving"]);
    stepper.expect_line("READY", T);
    stepper.send("p");
    stepper.expect_line("PUB 1", T);
    let mut w = woken_only_by_publisher(&root, &["wait", "u64", "leaving", "3", "60000"]);
    w.expect_line("READY", T);
    assert_eq!(
        got(&w.expect_line("GOT", T)).0,
        1,
        "the value already there is new to it"
    );
    w.expect_line("WAITING", T);
    root.until_asleep("leaving");
    stepper.send("d");
    stepper.expect_line("DROPPED", T);
    let gone = w.expect_line("GONE", T);
    assert_eq!(gone, format!("GONE {}", stepper.pid()));
    // A wait that starts without a publisher waits for one to take the topic over.
    w.expect_line("WAITING", T);
    root.until_asleep("leaving");
    let mut next = root.publisher::<u64>("leaving");
    assert_eq!(
        next.publish(&2).unwrap(),
        2,
        "the new publisher continues the numbering"
    );
    assert_eq!(got(&w.expect_line("GOT", T)).0, 2);
    stepper.close_stdin();
    assert!(stepper.wait(T).success());
}

#[test]
fn a_topic_recreated_during_a_wait_is_followed() {
    let root = TempRoot::new("wait-recreate");
    // Removed by hand and made anew by another publisher: nobody wakes the old file's
    // sleepers; the waiter's periodic check finds the new file.
    let old = root.publisher::<u64>("moving");
    let mut w = root.helper(&["wait", "u64", "moving", "3", "15000"]);
    w.expect_line("WAITING", T);
    root.until_asleep("moving");
    std::fs::remove_file(root.topic_file("moving")).unwrap();
    let mut new = root.publisher::<u64>("moving");
    assert_eq!(new.publish(&1).unwrap(), 1, "a file made anew starts at 1");
    assert_eq!(got(&w.expect_line("GOT", T)).0, 1);
    drop(old);

    // Its publisher leaves: the wait ends with "publisher gone".
    w.expect_line("WAITING", T);
    root.until_asleep("moving");
    drop(new);
    w.expect_line("GONE", T);

    // The next wait starts without a publisher and sleeps on the file. A publisher with
    // another buffer_num replaces the file (and wakes the old one's sleepers): the waiter
    // follows and gets the value published in the new file.
    w.expect_line("WAITING", T);
    root.until_asleep("moving");
    let mut bigger = Publisher::<u64>::builder("moving")
        .root(root.path())
        .buffer_num(8)
        .create()
        .unwrap();
    assert!(bigger.takeover().unwrap().recreated);
    let seq = bigger.publish(&9).unwrap();
    assert_eq!(got(&w.expect_line("GOT", T)).0, seq);
    w.expect_line("DONE", T);
    assert!(w.wait(T).success());
}

#[test]
fn a_topic_recreated_with_another_type_ends_the_wait_with_the_mismatch() {
    let root = TempRoot::new("wait-retype");
    let p = root.publisher::<u64>("retyped");
    let mut w = blocked_waiter(&root, "retyped", "2", "60000");
    drop(p);
    w.expect_line("GONE", T);
    let _other = Publisher::<f64>::builder("retyped")
        .root(root.path())
        .create()
        .unwrap();
    let line = w.expect_line("ERR", T);
    assert!(line.contains("carries `f64`"), "{line}");
    w.expect_line("DONE", T);
    assert!(w.wait(T).success());
}

#[test]
fn a_subscriber_that_may_only_read_still_wakes_up() {
    // Needs root (CI runs as root) and a helper the other user can run.
    let Some(exe) = helper_for_other_users() else {
        return;
    };
    let root = TempRoot::new("wait-readonly");
    std::fs::set_permissions(
        root.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut p = Publisher::<u64>::builder("shared")
        .root(root.path())
        .mode(0o644)
        .create()
        .unwrap();
    // It cannot ask for a wake-up, so it looks at the topic every millisecond; with the
    // periodic self-check pushed out to 10 minutes, the publisher's clean exit must still be
    // reported at once (its exit bumps the futex word the poller sleeps on).
    let mut w = Proc::spawn_with(
        exe.path(),
        root.path(),
        &["wait", "u64", "shared", "2", "60000"],
        Some(NOBODY),
        &[
            (shm::wait::CHECK_INTERVAL_ENV, "600000"),
            ("SHM_TEST_OWNER", "0"),
        ],
    );
    w.expect_line("WAITING", T);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(p.publish(&5).unwrap(), 1);
    assert_eq!(got(&w.expect_line("GOT", T)).0, 1);
    // (It cannot set the sleeping flag to show it sleeps: give it time to look at the lock.)
    w.expect_line("WAITING", T);
    std::thread::sleep(Duration::from_millis(300));
    drop(p);
    w.expect_line("GONE", T);
    assert!(w.wait(T).success());
}

#[test]
fn max_age_turns_old_values_into_no_value() {
    let root = TempRoot::new("wait-max-age");
    let mut p = root.publisher::<u64>("aging");
    p.publish(&1).unwrap();
    let mut s = Subscriber::<u64>::builder("aging")
        .root(root.path())
        .max_age(Duration::from_millis(500))
        .open()
        .unwrap();
    let fresh = s.latest().unwrap().unwrap();
    assert!(fresh.is_new);
    let again = s.latest().unwrap().unwrap();
    assert!(!again.is_new, "the same value read twice is not new");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(s.latest().unwrap(), None, "older than max_age");
    // A wait ignores the stale value and returns the next one.
    let err = s.recv_timeout(Duration::from_millis(20)).unwrap_err();
    assert!(matches!(err, RecvError::Timeout { .. }), "{err}");
    p.publish(&2).unwrap();
    let next = s.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!((next.value, next.seq, next.missed), (2, 2, 0));
}

#[test]
fn a_publishers_last_value_is_returned_before_publisher_gone() {
    // The publisher publishes one value and exits at once (no clean drop). A wait that checks
    // the publisher's lock often (every ms) must never report the publisher gone while that
    // value waits unread: it reads once more after seeing the lock free.
    let root = TempRoot::new("wait-last-words");
    for round in 0..40u64 {
        let topic = format!("t{round}");
        let mut p = root.helper(&["last-words", "u64", &topic]);
        p.expect_line("READY", T);
        let mut w = root.helper_with(
            &["wait", "u64", &topic, "1", "10000"],
            &[(shm::wait::CHECK_INTERVAL_ENV, "1")],
        );
        w.expect_line("WAITING", T);
        std::thread::sleep(Duration::from_micros(round * 50));
        p.send("");
        p.expect_line("PUB 1", T);
        let first = w.expect_line("", T);
        assert!(first.starts_with("GOT 1 "), "round {round}: {first}");
        w.expect_line("DONE", T);
        assert!(w.wait(T).success());
        assert!(p.wait(T).success());
    }
}
