//! Actions across real processes: a goal with feedback and a result, cancel, rejection,
//! several goals at once, the status list, a server killed mid-goal, another type refused.

use shm::action::{ActionClient, GoalError, GoalStatus};
use shm::service::CallError;
use shm_integration::process::{Proc, TIMEOUT as T};
use shm_integration::root::TempRoot;

type Counter = ActionClient<u64, u64, u64>;

fn client(root: &TempRoot, action: &str) -> Counter {
    ActionClient::in_root(action, Some(root.path().to_path_buf())).unwrap()
}

fn server(root: &TempRoot, action: &str, mode: &str) -> Proc {
    let mut p = root.helper(&["action-serve", action, mode]);
    p.expect_line("READY", T);
    p
}

#[test]
fn a_goal_reports_its_feedback_in_order_then_its_outcome() {
    let root = TempRoot::new("act-basic");
    let _s = server(&root, "count", "count");
    let client = client(&root, "count");
    let mut goal = client.send_goal(&5, T).unwrap();
    let mut feedback = Vec::new();
    while let Some(v) = goal.feedback(T).unwrap() {
        feedback.push(v);
    }
    assert_eq!(feedback, [1, 2, 3, 4, 5]);
    let result = goal.result(T).unwrap();
    assert_eq!(
        (result.status, result.outcome),
        (GoalStatus::Succeeded, Some(5))
    );
    assert_eq!(goal.status(), Some(GoalStatus::Succeeded));
    // A result asked for again (or late) is the same.
    assert_eq!(goal.result(T).unwrap().outcome, Some(5));
}

#[test]
fn a_goal_is_canceled_on_request() {
    let root = TempRoot::new("act-cancel");
    let mut s = server(&root, "long", "count");
    let client = client(&root, "long");
    let mut goal = client.send_goal(&100_000, T).unwrap();
    assert_eq!(goal.feedback(T).unwrap(), Some(1));
    assert_eq!(goal.cancel(T).unwrap(), GoalStatus::Canceling);
    let result = goal.result(T).unwrap();
    assert_eq!(result.status, GoalStatus::Canceled);
    let at = result.outcome.unwrap();
    assert!((1..100_000).contains(&at), "{at}");
    s.expect_line(&format!("CANCELED {}", goal.id()), T);
    // The feedback ends with the goal.
    while goal.feedback(T).unwrap().is_some() {}
    // Canceling an ended goal says how it ended.
    assert_eq!(goal.cancel(T).unwrap(), GoalStatus::Canceled);
}

#[test]
fn a_rejected_goal_is_an_error() {
    let root = TempRoot::new("act-reject");
    let _s = server(&root, "even", "reject-odd");
    let client = client(&root, "even");
    let e = client.send_goal(&3, T).unwrap_err();
    assert!(matches!(e, GoalError::Rejected { .. }), "{e}");
    assert!(client.send_goal(&2, T).is_ok());
}

#[test]
fn several_goals_at_once_each_get_their_own_feedback_and_outcome() {
    let root = TempRoot::new("act-many");
    let _s = server(&root, "many", "count");
    let client = client(&root, "many");
    let mut goals: Vec<_> = [6u64, 3, 9]
        .iter()
        .map(|n| (*n, client.send_goal(n, T).unwrap()))
        .collect();
    let ids: Vec<u64> = goals.iter().map(|(_, g)| g.id()).collect();
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );
    let listed = client.statuses();
    for id in &ids {
        assert!(
            listed.iter().any(|(i, _)| i == id),
            "{id} not in {listed:?}"
        );
    }
    for (n, goal) in &mut goals {
        let mut feedback = Vec::new();
        while let Some(v) = goal.feedback(T).unwrap() {
            feedback.push(v);
        }
        assert_eq!(feedback, (1..=*n).collect::<Vec<_>>());
        assert_eq!(goal.result(T).unwrap().outcome, Some(*n));
    }
    // Another process's client runs a goal too.
    let mut other = root.helper(&["action-send", "many", "2"]);
    other.expect_line("ACCEPTED", T);
    assert_eq!(other.expect_line("RESULT", T), "RESULT succeeded Some(2)");
}

#[test]
fn a_server_killed_mid_goal_ends_it_aborted_for_its_client() {
    let root = TempRoot::new("act-killed");
    let mut s = server(&root, "fragile", "hang");
    let client = client(&root, "fragile");
    let mut goal = client.send_goal(&7, T).unwrap();
    assert_eq!(goal.feedback(T).unwrap(), Some(1));
    s.kill9();
    assert_eq!(goal.feedback(T).unwrap(), None, "the feedback ends");
    let result = goal.result(T).unwrap();
    assert_eq!((result.status, result.outcome), (GoalStatus::Aborted, None));
}

#[test]
fn a_client_of_other_types_is_refused_naming_the_field() {
    let root = TempRoot::new("act-mismatch");
    let _s = server(&root, "typed", "count");
    let e = ActionClient::<u32, u64, u64>::in_root("typed", Some(root.path().to_path_buf()))
        .and_then(|c| {
            c.send_goal(&1, T).map_err(|e| match e {
                GoalError::Call(c) => c,
                e => panic!("{e}"),
            })
        })
        .unwrap_err();
    assert!(matches!(e, CallError::SchemaMismatch(_)), "{e}");
    assert!(e.to_string().contains("goal"), "{e}");
}

#[test]
fn results_asked_for_often_cost_the_client_nothing() {
    let root = TempRoot::new("act-poll");
    let _s = server(&root, "poll", "count");
    let client = client(&root, "poll");
    let mut goal = client.send_goal(&100_000, T).unwrap();
    // Far more short waits than the 8 calls a client may have outstanding.
    for _ in 0..20 {
        let e = goal
            .result(std::time::Duration::from_millis(5))
            .unwrap_err();
        assert!(
            matches!(e, GoalError::Call(CallError::Timeout { .. })),
            "{e}"
        );
    }
    assert_eq!(goal.cancel(T).unwrap(), GoalStatus::Canceling);
    assert_eq!(goal.result(T).unwrap().status, GoalStatus::Canceled);
    // A zero wait reads what came: the feedback up to the end, then the end.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut last = None;
    while let Some(v) = goal.feedback(std::time::Duration::ZERO).unwrap() {
        last = Some(v);
    }
    assert!(last.is_some());
}

#[test]
fn a_goal_of_a_server_replaced_by_another_ends_aborted() {
    let root = TempRoot::new("act-replaced");
    let mut s = server(&root, "swap", "hang");
    let client = client(&root, "swap");
    let mut goal = client.send_goal(&7, T).unwrap();
    assert_eq!(goal.feedback(T).unwrap(), Some(1));
    s.kill9();
    // A new server at once, before the client looked: it does not know the goal.
    let _s2 = server(&root, "swap", "count");
    assert_eq!(goal.feedback(T).unwrap(), None);
    let result = goal.result(T).unwrap();
    assert_eq!((result.status, result.outcome), (GoalStatus::Aborted, None));
    // The new server runs new goals.
    let mut next = client.send_goal(&2, T).unwrap();
    assert_eq!(next.result(T).unwrap().outcome, Some(2));
}
