//! Services and actions on a wait set, across real processes: one thread serves two services,
//! an action and a topic; pending calls attached to a set report their end once, and their
//! server's death. Every wait has a timeout.

use std::time::{Duration, Instant};

use shm::action::ActionClient;
use shm::{AttachmentId, CallError, Client, EventKind, GoalStatus, WaitSet};
use shm_integration::process::{Proc, TIMEOUT as T};
use shm_integration::root::TempRoot;

fn client(root: &TempRoot, service: &str) -> Client<u64, u64> {
    Client::builder(service).root(root.path()).create().unwrap()
}

/// Calls both services from two threads at once, each call checked.
fn call_both(root: &TempRoot) {
    std::thread::scope(|s| {
        let square: fn(u64) -> u64 = |x| x * x;
        let double: fn(u64) -> u64 = |x| 2 * x;
        for (service, f) in [("m/square", square), ("m/double", double)] {
            s.spawn(move || {
                let client = client(root, service);
                for x in 1..=200u64 {
                    assert_eq!(client.call(&x, T).unwrap(), f(x), "{service} {x}");
                }
                // Several outstanding at once.
                let pending: Vec<_> = (1000..1008u64)
                    .map(|x| (x, client.send(&x).unwrap()))
                    .collect();
                for (x, p) in pending {
                    assert_eq!(p.wait(T).unwrap(), f(x), "{service} {x}");
                }
            });
        }
    });
}

fn expect_value(root: &TempRoot, server: &mut Proc) {
    let mut publisher = root.publisher::<u64>("m/values");
    publisher.publish(&5).unwrap();
    server.expect_line("VALUE 5", T);
}

#[test]
fn one_thread_serves_two_services_an_action_and_a_topic_on_one_wait_set() {
    let root = TempRoot::new("svc-set");
    let mut server = root.helper(&["serve-set", "m/square", "m/double", "m/act", "m/values"]);
    server.expect_line("READY", T);
    call_both(&root);
    let actions =
        ActionClient::<u64, u64, u64>::in_root("m/act", Some(root.path().into())).unwrap();
    let mut goal = actions.send_goal(&7, T).unwrap();
    assert_eq!(goal.feedback(T).unwrap(), Some(7));
    let result = goal.result(T).unwrap();
    assert_eq!(
        (result.status, result.outcome),
        (GoalStatus::Succeeded, Some(21))
    );
    expect_value(&root, &mut server);
    server.close_stdin();
    assert!(server.wait(T).success());
}

#[test]
fn an_executor_serves_two_services_and_reads_a_topic() {
    let root = TempRoot::new("svc-exec");
    let mut server = root.helper(&["serve-exec", "m/square", "m/double", "m/values"]);
    server.expect_line("READY", T);
    call_both(&root);
    expect_value(&root, &mut server);
    server.close_stdin();
    assert!(server.wait(T).success());
}

/// The events of one wait: (attachment, kind) pairs.
fn wait_events(set: &mut WaitSet, timeout: Duration) -> Vec<(shm::AttachmentId, EventKind)> {
    set.wait(Some(timeout))
        .into_iter()
        .map(|e| (e.id, e.kind))
        .collect()
}

#[test]
fn pending_calls_on_a_wait_set_report_their_end_once() {
    let root = TempRoot::new("svc-set-pending");
    let mut server = root.helper(&["serve", "m/gated", "gated", "8", "8"]);
    server.expect_line("READY", T);
    let client = client(&root, "m/gated");
    let mut calls: Vec<_> = (1..=3u64).map(|x| client.send(&x).unwrap()).collect();
    let mut set = WaitSet::new();
    let ids: Vec<_> = calls.iter().map(|p| set.attach(p).unwrap()).collect();
    assert_eq!(set.len(), 3);
    for x in 1..=3 {
        server.expect_line(&format!("GOT {x}"), T);
    }
    // Held by the server: nothing ended.
    assert_eq!(wait_events(&mut set, Duration::from_millis(200)), vec![]);
    for p in &mut calls {
        assert!(p.try_wait().unwrap().is_none());
    }
    server.send("go");
    let mut ended = vec![None; 3];
    let started = Instant::now();
    while ended.iter().any(Option::is_none) {
        assert!(started.elapsed() < T, "calls not reported: {ended:?}");
        for (id, kind) in wait_events(&mut set, T) {
            assert_eq!(kind, EventKind::Reply);
            let k = ids.iter().position(|i| *i == id).unwrap();
            assert!(ended[k].is_none(), "call {k} reported twice");
            ended[k] = Some(
                calls[k]
                    .try_wait()
                    .unwrap()
                    .expect("a reported call has ended"),
            );
            assert!(set.detach(id));
        }
    }
    assert_eq!(ended, vec![Some(1), Some(4), Some(9)]);
    assert!(set.is_empty());
    // A call attached after it ended is reported at once.
    let mut late = client.send(&6).unwrap();
    server.expect_line("GOT 6", T);
    server.send("go");
    let started = Instant::now();
    let reply = loop {
        if let Some(v) = late.try_wait().unwrap() {
            break v;
        }
        assert!(started.elapsed() < T);
        std::thread::sleep(Duration::from_millis(1));
    };
    assert_eq!(reply, 36);
    let id = set.attach(&late).unwrap();
    assert_eq!(wait_events(&mut set, T), vec![(id, EventKind::Reply)]);
    // Over: a second take is NoReply.
    assert!(matches!(late.try_wait(), Err(CallError::NoReply { .. })));
}

/// A call its server received and holds unanswered, attached to a new set: the root (which
/// holds the files), the server, the call, the set and the call's id in it.
fn hung_call(label: &str) -> (TempRoot, Proc, shm::Pending<u64>, WaitSet, AttachmentId) {
    let root = TempRoot::new(label);
    let mut server = root.helper(&["serve", "m/hang", "hang", "8", "8"]);
    server.expect_line("READY", T);
    let call = client(&root, "m/hang").send(&2).unwrap();
    server.expect_line("GOT 2", T);
    let mut set = WaitSet::new();
    let id = set.attach(&call).unwrap();
    (root, server, call, set, id)
}

#[test]
fn a_pending_call_on_a_wait_set_ends_when_its_server_is_killed() {
    let (_root, mut server, mut call, mut set, id) = hung_call("svc-set-killed");
    assert_eq!(wait_events(&mut set, Duration::from_millis(100)), vec![]);
    server.kill9();
    let started = Instant::now();
    assert_eq!(wait_events(&mut set, T), vec![(id, EventKind::Reply)]);
    // Noticed at the liveness checks' pace (50 ms), far below this bound.
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(call.try_wait(), Err(CallError::ServerGone { .. })));
}

#[test]
fn a_call_attached_right_before_its_server_is_killed_ends() {
    // Killed before the set first looks at the server.
    let (_root, mut server, mut call, mut set, id) = hung_call("svc-set-killed-at-once");
    server.kill9();
    assert_eq!(wait_events(&mut set, T), vec![(id, EventKind::Reply)]);
    assert!(matches!(call.try_wait(), Err(CallError::ServerGone { .. })));
}

#[test]
fn a_goal_read_while_another_goal_publishes_is_still_reported() {
    let root = TempRoot::new("svc-set-goal-pumped");
    let mut server = shm::ActionServer::<u64, u64, u64>::builder("m/act")
        .root(root.path())
        .create()
        .unwrap();
    let mut set = WaitSet::new();
    let id = set.attach(&server).unwrap();
    let mut first = root.helper(&["action-send", "m/act", "2"]);
    assert_eq!(wait_events(&mut set, T), vec![(id, EventKind::Request)]);
    let running = server.try_recv().unwrap().unwrap().accept().unwrap();
    first.expect_line("ACCEPTED", T);
    // A second goal comes while the first one's calls read the action's requests (as a goal
    // running in a worker thread does): the set, which did not read it, reports it all the
    // same.
    let mut second = root.helper(&["action-send", "m/act", "3"]);
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(500) {
        running.publish_feedback(&1).unwrap();
        let _ = running.is_cancel_requested();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(wait_events(&mut set, T), vec![(id, EventKind::Request)]);
    let goal = server.try_recv().unwrap().expect("the second goal");
    assert_eq!(*goal.value(), 3);
    goal.accept().unwrap().succeed(&3).unwrap();
    second.expect_line("RESULT", T);
    running.succeed(&2).unwrap();
    first.expect_line("RESULT", T);
}
