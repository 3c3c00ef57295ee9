//! An action: drives toward each goal's target (one thread per goal, so several run at once),
//! publishing the position every 20 ms step, stopping when a client cancels, and ending with
//! where it got to. Goals with a speed that is not positive are rejected.
//!
//! ```text
//! cargo run -p shm-examples --example navigator -- [--action demo/navigate] [--count 0]
//! cargo run -p shm-examples --example navigate_client -- --x 3 --y 4   # another terminal
//! ```

use std::time::Duration;

use shm::ActionServer;
use shm::service::ServerError;
use shm_examples::{Args, DEFAULT_ACTION, NavigateFeedback, NavigateGoal, NavigateOutcome};

/// What `--help` prints.
const USAGE: &str = "An action: drives toward each goal's target (one thread per goal, so several run at once),\npublishing the position every 20 ms step, stopping when a client cancels, and ending with\nwhere it got to. Goals with a speed that is not positive are rejected.\n\nUsage:\n  navigator [--action demo/navigate] [--count 0]\n  navigate_client --x 3 --y 4   # another terminal";

fn main() {
    let args = Args::from_env(USAGE);
    let action: String = args.get("action", DEFAULT_ACTION.to_owned());
    let count: u64 = args.get("count", 0);
    let _signals = shm::stop::install();
    let mut server = ActionServer::<NavigateGoal, NavigateFeedback, NavigateOutcome>::new(&action)
        .unwrap_or_else(|e| {
            eprintln!("navigator: {e}");
            std::process::exit(1)
        });
    println!("serving action '{action}'");
    let mut running = Vec::new();
    let mut received = 0;
    while (count == 0 || received < count) && !shm::stop::requested() {
        let request = match server.recv_timeout(Duration::from_millis(100)) {
            Ok(request) => request,
            Err(ServerError::Timeout { .. }) => continue,
            Err(e) => {
                eprintln!("navigator: {e}");
                continue;
            }
        };
        received += 1;
        let goal = *request.value();
        if goal.speed <= 0.0 || goal.speed.is_nan() {
            println!("rejected {:?} at speed {}", goal.target, goal.speed);
            request.reject();
            continue;
        }
        let active = match request.accept() {
            Ok(active) => active,
            Err(e) => {
                eprintln!("navigator: {e}");
                continue;
            }
        };
        println!(
            "goal {}: to {:?} at {} m/step",
            active.id(),
            goal.target,
            goal.speed
        );
        running.push(std::thread::spawn(move || {
            let id = active.id();
            let total = goal.steps();
            for step in 1..=total {
                std::thread::sleep(Duration::from_millis(20));
                let position = goal.position_after(step);
                let outcome = NavigateOutcome {
                    position,
                    steps: step,
                    _reserved: [0; 4],
                };
                if active.is_cancel_requested() {
                    println!("goal {id}: canceled at {position:?}");
                    let _ = active.canceled(&outcome);
                    return;
                }
                let remaining = (goal.target[0] - position[0]).hypot(goal.target[1] - position[1]);
                let _ = active.publish_feedback(&NavigateFeedback {
                    position,
                    remaining,
                });
            }
            let outcome = NavigateOutcome {
                position: goal.position_after(total),
                steps: total,
                _reserved: [0; 4],
            };
            println!("goal {id}: reached {:?} in {total} steps", outcome.position);
            let _ = active.succeed(&outcome);
        }));
    }
    for goal in running {
        let _ = goal.join();
    }
    println!("served {received} goal(s)");
}
