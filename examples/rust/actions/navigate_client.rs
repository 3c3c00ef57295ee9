//! Sends the `navigator` action one goal and follows it: prints each position the server
//! reports, optionally cancels after some of them, and prints how the goal ended.
//!
//! ```text
//! cargo run -p shm-examples --example navigate_client -- [--action demo/navigate] [--x 3] [--y 4] [--speed 0.5] [--cancel-after 0]
//! ```

use std::time::Duration;

use shm::ActionClient;
use shm::action::GoalError;
use shm_examples::{Args, DEFAULT_ACTION, NavigateFeedback, NavigateGoal, NavigateOutcome};

/// What `--help` prints.
const USAGE: &str = "Sends the `navigator` action one goal and follows it: prints each position the server\nreports, optionally cancels after some of them, and prints how the goal ended.\n\nUsage:\n  navigate_client [--action demo/navigate] [--x 3] [--y 4] [--speed 0.5] [--cancel-after 0]";

fn main() {
    let args = Args::from_env(USAGE);
    let action: String = args.get("action", DEFAULT_ACTION.to_owned());
    let goal = NavigateGoal {
        target: [args.get("x", 3.0), args.get("y", 4.0)],
        speed: args.get("speed", 0.5),
    };
    let cancel_after: u32 = args.get("cancel-after", 0);
    let fail = |e: &dyn std::fmt::Display| -> ! {
        eprintln!("navigate_client: {e}");
        std::process::exit(1)
    };
    let client = ActionClient::<NavigateGoal, NavigateFeedback, NavigateOutcome>::new(&action)
        .unwrap_or_else(|e| fail(&e));
    let second = Duration::from_secs(1);
    let mut handle = match client.send_goal(&goal, second) {
        Ok(handle) => handle,
        Err(e @ GoalError::Rejected { .. }) => fail(&e),
        Err(e) => fail(&e),
    };
    println!("goal {} accepted", handle.id());
    let mut seen = 0;
    while let Some(f) = handle.feedback(second * 5).unwrap_or_else(|e| fail(&e)) {
        seen += 1;
        println!(
            "at [{:.2}, {:.2}], {:.2} m to go",
            f.position[0], f.position[1], f.remaining
        );
        if seen == cancel_after {
            let status = handle.cancel(second).unwrap_or_else(|e| fail(&e));
            println!("cancel asked: {status}");
        }
    }
    let result = handle.result(second * 5).unwrap_or_else(|e| fail(&e));
    match result.outcome {
        Some(o) => println!(
            "{} at [{:.2}, {:.2}] after {} steps",
            result.status, o.position[0], o.position[1], o.steps
        ),
        None => println!("{} (the server is gone)", result.status),
    }
}
