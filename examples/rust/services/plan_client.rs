//! Calls the `path_planner` service once: sends a `PlanRequest` and prints the `Plan` it gets,
//! or why there is none (no server, a timeout, a server that died mid-call).
//!
//! ```text
//! cargo run -p shm-examples --example plan_client -- [--service demo/plan] [--x 3] [--y 4] [--timeout-ms 1000]
//! ```

use std::time::Duration;

use shm::Client;
use shm_examples::{Args, DEFAULT_SERVICE, Plan, PlanRequest};

/// What `--help` prints.
const USAGE: &str = "Calls the `path_planner` service once: sends a `PlanRequest` and prints the `Plan` it gets,\nor why there is none (no server, a timeout, a server that died mid-call).\n\nUsage:\n  plan_client [--service demo/plan] [--x 3] [--y 4] [--timeout-ms 1000]";

fn main() {
    let args = Args::from_env(USAGE);
    let service: String = args.get("service", DEFAULT_SERVICE.to_owned());
    let goal = [args.get("x", 3.0), args.get("y", 4.0)];
    let timeout = Duration::from_millis(args.get("timeout-ms", 1000));
    let request = PlanRequest {
        start: [0.0, 0.0],
        goal,
    };
    let plan = Client::<PlanRequest, Plan>::new(&service).and_then(|c| c.call(&request, timeout));
    match plan {
        Ok(plan) => println!(
            "plan to {goal:?}: {:.2} m in {} steps{}",
            plan.length,
            plan.steps,
            if plan.reachable {
                ""
            } else {
                " (out of reach)"
            }
        ),
        Err(e) => {
            eprintln!("plan_client: {e}");
            std::process::exit(1)
        }
    }
}
