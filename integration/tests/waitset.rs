//! `shm::WaitSet` across real processes: one waiter, many topics, deadlines, intervals, a
//! killed publisher, a topic created after the attach, more topics than one `futex_waitv`
//! takes, and the fallback for kernels without it. Every wait has a timeout; no assertion
//! depends on how fast this machine is, except bounds far above what a working wait needs.

use std::time::{Duration, Instant};

use shm::{EventKind, Publisher, Subscriber, WaitSet};
use shm_integration::process::{Proc, TIMEOUT as T, cpu_ticks};
use shm_integration::root::TempRoot;

/// A `waitset` helper over `topics` whose waits never end on their own: a 10-minute check
/// period and wait, so every wake-up it reports came from a publisher. `extra`: more
/// environment (the fallback).
fn waiter(root: &TempRoot, deadline_ms: u64, topics: &[&str], extra: &[(&str, &str)]) -> Proc {
    let deadline = deadline_ms.to_string();
    let mut args = vec!["waitset", "600000", deadline.as_str()];
    args.extend_from_slice(topics);
    let mut env = vec![(shm::wait::CHECK_INTERVAL_ENV, "600000")];
    env.extend_from_slice(extra);
    let mut w = root.helper_with(&args, &env);
    w.expect_line("READY", T);
    w
}

/// Publishes on each topic in turn, and checks that the sleeping waiter reports each value
/// (read by its subscriber) and nothing else.
fn each_publish_wakes_the_waiter(extra: &[(&str, &str)], label: &str) {
    let root = TempRoot::new(label);
    let topics = ["a", "b", "c"];
    let mut pubs: Vec<Publisher<u64>> = topics.iter().map(|t| root.publisher(t)).collect();
    let mut w = waiter(&root, 0, &topics, extra);
    w.expect_line("WAITING", T);
    // Idle: it sleeps, it does not poll (a 1 ms poll would burn ticks over 300 ms only with
    // the fallback, which polls: not measured there).
    if extra.is_empty() {
        for t in topics {
            root.until_asleep(t);
        }
        let cpu = cpu_ticks(w.pid());
        std::thread::sleep(Duration::from_millis(300));
        let cpu = cpu_ticks(w.pid()) - cpu;
        assert!(
            cpu <= 3,
            "an idle wait set used {cpu} ticks of CPU in 300 ms"
        );
    }
    for round in 1..=20u64 {
        let i = (round as usize * 7) % topics.len();
        if extra.is_empty() {
            root.until_asleep(topics[i]);
        }
        let seq = pubs[i].publish(&(round * 10)).unwrap();
        let line = w.expect_line("GOT", T);
        assert_eq!(
            line,
            format!("GOT {i} {seq} {}", round * 10),
            "round {round}"
        );
        w.expect_line("WAITING", T);
    }
    w.close_stdin();
    let rest = w.rest(T);
    assert_eq!(rest, ["DONE"], "no other event: {rest:?}");
}

#[test]
fn a_sleeping_wait_set_is_woken_by_each_publish_on_any_of_its_topics() {
    each_publish_wakes_the_waiter(&[], "ws-wake");
}

#[test]
fn without_futex_waitv_the_fallback_reports_each_publish_too() {
    each_publish_wakes_the_waiter(&[(shm::waitset::FALLBACK_ENV, "1")], "ws-fallback");
}

/// Helpers that publish on demand: `p` on stdin publishes the next value (`PUB seq`).
fn stepper(root: &TempRoot, topic: &str) -> Proc {
    let mut p = root.helper(&["stepper", "u64", topic]);
    p.expect_line("READY", T);
    p
}

#[test]
fn values_on_several_topics_come_as_one_wait_s_events_in_publish_order() {
    let root = TempRoot::new("ws-order");
    let names = ["x", "y", "z"];
    let mut steppers: Vec<Proc> = names.iter().map(|n| stepper(&root, n)).collect();
    let subs: Vec<Subscriber<u64>> = names.iter().map(|n| root.subscriber(n)).collect();
    let mut set = WaitSet::new();
    let ids: Vec<_> = subs.iter().map(|s| set.attach(s).unwrap()).collect();
    assert!(set.wait(Some(Duration::from_millis(20))).is_empty());
    // y, then x, then z, each published (in its own process) before the next.
    for i in [1, 0, 2] {
        steppers[i].send("p");
        steppers[i].expect_line("PUB 1", T);
    }
    let events = set.wait(Some(T));
    let got: Vec<_> = events.iter().map(|e| (e.id, e.kind)).collect();
    assert_eq!(
        got,
        [
            (ids[1], EventKind::Value),
            (ids[0], EventKind::Value),
            (ids[2], EventKind::Value)
        ],
        "{events:?}"
    );
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at), "{events:?}");
    // Reported once: the next wait has nothing.
    assert!(set.wait(Some(Duration::from_millis(30))).is_empty());
}

#[test]
fn a_value_the_subscriber_already_read_is_not_reported() {
    let root = TempRoot::new("ws-read");
    let mut step = stepper(&root, "t");
    let mut sub: Subscriber<u64> = root.subscriber("t");
    let mut set = WaitSet::new();
    let id = set.attach(&sub).unwrap();
    step.send("p");
    step.expect_line("PUB 1", T);
    // Read directly: the set has nothing to report.
    assert_eq!(sub.try_recv().unwrap().unwrap().seq, 1);
    assert!(set.wait(Some(Duration::from_millis(30))).is_empty());
    step.send("p");
    step.expect_line("PUB 2", T);
    let events = set.wait(Some(T));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0].id, events[0].kind), (id, EventKind::Value));
    assert_eq!(sub.try_recv().unwrap().unwrap().seq, 2);
}

#[test]
fn a_topic_created_after_the_attach_is_seen() {
    let root = TempRoot::new("ws-late");
    let sub: Subscriber<u64> = root.subscriber("later");
    let mut set = WaitSet::new();
    let id = set.attach(&sub).unwrap();
    assert!(set.wait(Some(Duration::from_millis(20))).is_empty());
    let mut step = stepper(&root, "later");
    step.send("p");
    step.expect_line("PUB 1", T);
    let start = Instant::now();
    let events = set.wait(Some(T));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0].id, events[0].kind), (id, EventKind::Value));
    assert!(start.elapsed() < T, "{:?}", start.elapsed());
}

#[test]
fn a_publisher_killed_during_the_wait_is_reported_and_its_deadline_fires() {
    let root = TempRoot::new("ws-kill");
    // Publishes every 2 ms: while it runs the 400 ms deadline never fires.
    let mut p = root.helper(&["publish", "u64", "imu", "0", "2000"]);
    p.expect_line("READY", T);
    let mut sub: Subscriber<u64> = root.subscriber("imu");
    let mut set = WaitSet::new();
    set.set_spin(Duration::ZERO);
    let id = set
        .attach_deadline(&sub, Duration::from_millis(400))
        .unwrap();
    let until = Instant::now() + Duration::from_millis(1200);
    let mut values = 0;
    while Instant::now() < until {
        for e in set.wait(Some(Duration::from_millis(100))) {
            assert_eq!(e.id, id);
            assert_eq!(e.kind, EventKind::Value, "while it publishes: {e:?}");
            values += 1;
            sub.try_recv().unwrap();
        }
    }
    assert!(values > 10, "only {values} value events in 1.2 s");
    p.kill9();
    let killed = Instant::now();
    let mut gone = None;
    let mut deadlines = Vec::new();
    while deadlines.len() < 3 && killed.elapsed() < T {
        for e in set.wait(Some(T)) {
            match e.kind {
                EventKind::PublisherGone => gone = Some(killed.elapsed()),
                EventKind::Deadline => deadlines.push(killed.elapsed()),
                EventKind::Value => {}
                other => panic!("{other:?}"),
            }
        }
    }
    let gone = gone.expect("the publisher's death was reported");
    assert!(gone < Duration::from_secs(2), "noticed after {gone:?}");
    assert_eq!(deadlines.len(), 3, "{deadlines:?}");
    // The first fires 400 ms after its last value at the earliest, and they repeat every
    // 400 ms while the silence lasts.
    assert!(deadlines[0] >= Duration::from_millis(350), "{deadlines:?}");
    for w in deadlines.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_millis(390), "{deadlines:?}");
    }
}

#[test]
fn ticks_keep_their_period() {
    let mut set = WaitSet::new();
    let period = Duration::from_millis(10);
    let tick = set.attach_interval(period).unwrap();
    let start = Instant::now();
    let mut at = Vec::new();
    while start.elapsed() < Duration::from_millis(300) {
        for e in set.wait(Some(T)) {
            assert_eq!((e.id, e.kind), (tick, EventKind::Interval));
            at.push(e.at);
        }
    }
    assert!(
        (10..=31).contains(&at.len()),
        "{} ticks in 300 ms",
        at.len()
    );
    // Each tick is at its time: a whole number of periods after the first (a late wait skips
    // ticks, it does not shift them).
    for w in at.windows(2) {
        let gap = Duration::from_nanos(w[1].as_nanos() - w[0].as_nanos());
        assert!(
            !gap.is_zero() && gap.as_nanos().is_multiple_of(period.as_nanos()),
            "ticks {gap:?} apart"
        );
    }
    assert!(matches!(
        set.attach_interval(Duration::ZERO),
        Err(shm::AttachError::ZeroPeriod)
    ));
}

#[test]
fn a_waker_on_another_thread_ends_the_wait() {
    let mut set = WaitSet::new();
    let waker = set.waker();
    let start = Instant::now();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        waker.wake();
    });
    assert!(set.wait(Some(T)).is_empty());
    assert!(start.elapsed() < T);
    t.join().unwrap();
}

#[test]
fn more_topics_than_one_futex_waitv_takes_are_all_reported() {
    let root = TempRoot::new("ws-many");
    let n = 140;
    let names: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
    let mut pubs: Vec<Publisher<u64>> = names.iter().map(|t| root.publisher(t)).collect();
    let subs: Vec<Subscriber<u64>> = names.iter().map(|t| root.subscriber(t)).collect();
    let mut set = WaitSet::new();
    let ids: Vec<_> = subs.iter().map(|s| set.attach(s).unwrap()).collect();
    assert!(set.wait(Some(Duration::from_millis(20))).is_empty());
    // From another thread while the set sleeps: the first topic (woken at once) and the last
    // (looked at every millisecond).
    for i in [0, n - 1] {
        let publisher = &mut pubs[i];
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(30));
                publisher.publish(&7).unwrap();
            });
            let events = set.wait(Some(T));
            assert_eq!(events.len(), 1, "{events:?}");
            assert_eq!((events[0].id, events[0].kind), (ids[i], EventKind::Value));
        });
    }
}

#[test]
fn a_publisher_that_publishes_and_exits_at_once_is_reported_gone_at_once() {
    // The waiter's checks come every 10 minutes: only the publisher's wake-ups can tell it.
    let root = TempRoot::new("ws-exit");
    let mut step = stepper(&root, "t");
    let mut w = waiter(&root, 0, &["t"], &[]);
    w.expect_line("WAITING", T);
    root.until_asleep("t");
    step.send("p");
    step.send("d");
    step.expect_line("DROPPED", T);
    let got = w.expect_line("GOT", T);
    assert!(got.starts_with("GOT 0 1 "), "{got}");
    w.expect_line("GONE 0", T);
    // A publisher that takes the topic over is waited for as before.
    let mut again = stepper(&root, "t");
    again.send("p");
    again.expect_line("PUB 2", T);
    let got = w.expect_line("GOT", T);
    assert!(got.starts_with("GOT 0 2 "), "{got}");
}

#[test]
fn an_executor_calls_back_with_values_from_another_process_and_stops_on_an_error() {
    use std::sync::{Arc, Mutex};

    let root = TempRoot::new("ws-exec");
    let mut step = stepper(&root, "v");
    let mut exec = shm::Executor::new();
    let newest = Arc::new(Mutex::new(Vec::new()));
    let every = Arc::new(Mutex::new(Vec::new()));
    let ticks = Arc::new(Mutex::new(0u32));
    let stopper = exec.stopper();
    {
        let newest = Arc::clone(&newest);
        exec.on(root.subscriber::<u64>("v"), move |s| {
            newest.lock().unwrap().push(s.value);
            if s.value == 3 {
                stopper.stop();
            }
        })
        .unwrap();
        let every = Arc::clone(&every);
        exec.on_all(root.subscriber::<u64>("v"), move |batch| {
            every.lock().unwrap().extend(batch.iter().map(|s| s.value));
        })
        .unwrap();
        let ticks = Arc::clone(&ticks);
        exec.every(Duration::from_millis(10), move || {
            *ticks.lock().unwrap() += 1
        })
        .unwrap();
    }
    for n in 1..=3 {
        step.send("p");
        step.expect_line(&format!("PUB {n}"), T);
    }
    let start = Instant::now();
    exec.spin_until(Some(Instant::now() + T)).unwrap();
    assert!(start.elapsed() < T, "the stopper ended the spin");
    let got = newest.lock().unwrap().clone();
    assert_eq!(got.last(), Some(&3), "{got:?}");
    // The stop ended that wait's batch after its callback: the rest run at the next spin.
    exec.spin_once(Some(Duration::ZERO)).unwrap();
    assert_eq!(*every.lock().unwrap(), [1, 2, 3], "every value, once");

    // A failing callback stops the spin with its error; the next spin goes on. Its value is
    // published before the next one on "v", so it comes first in the same wait.
    let mut other = stepper(&root, "w");
    let failing = exec
        .on(root.subscriber::<u64>("w"), |s| {
            Err::<(), _>(format!("value {} refused", s.value))
        })
        .unwrap();
    other.send("p");
    other.expect_line("PUB 1", T);
    step.send("p");
    step.expect_line("PUB 4", T);
    let err = exec.spin_until(Some(Instant::now() + T)).unwrap_err();
    match &err {
        shm::SpinError::Callback { id, source } => {
            assert_eq!(*id, failing);
            assert_eq!(source.to_string(), "value 1 refused");
        }
        other => panic!("{other}"),
    }
    // The events of that wait after the failing callback are not lost: the next spin runs
    // them (the batch callback has not seen value 4 yet).
    assert_eq!(every.lock().unwrap().len(), 3);
    let until = Instant::now() + T;
    while every.lock().unwrap().len() < 4 && Instant::now() < until {
        exec.spin_once(Some(Duration::from_millis(100))).unwrap();
    }
    assert_eq!(*every.lock().unwrap(), [1, 2, 3, 4]);
    // Timers call back while it spins (a late wait gets one call for the ticks it missed).
    let before = *ticks.lock().unwrap();
    exec.spin_until(Some(Instant::now() + Duration::from_millis(300)))
        .unwrap();
    let after = *ticks.lock().unwrap();
    assert!(after > before, "{after} ticks");
}
