//! A service: plans straight paths for whoever asks (`PlanRequest` in, `Plan` out), says who
//! asked, and stops cleanly on Ctrl-C. One server per service: a second one is refused, and one
//! started after this one was killed takes the service over.
//!
//! ```text
//! cargo run -p shm-examples --example path_planner -- [--service demo/plan] [--count 0]
//! cargo run -p shm-examples --example plan_client -- --x 3 --y 4   # another terminal
//! ```

use std::time::Duration;

use shm::{Server, ServerError};
use shm_examples::{Args, DEFAULT_SERVICE, Plan, PlanRequest};

/// What `--help` prints.
const USAGE: &str = "A service: plans straight paths for whoever asks (`PlanRequest` in, `Plan` out), says who\nasked, and stops cleanly on Ctrl-C. One server per service: a second one is refused, and one\nstarted after this one was killed takes the service over.\n\nUsage:\n  path_planner [--service demo/plan] [--count 0]\n  plan_client --x 3 --y 4   # another terminal";

fn main() {
    let args = Args::from_env(USAGE);
    let service: String = args.get("service", DEFAULT_SERVICE.to_owned());
    let count: u64 = args.get("count", 0);
    let _signals = shm::stop::install();
    let mut server = Server::<PlanRequest, Plan>::new(&service).unwrap_or_else(|e| {
        eprintln!("path_planner: {e}");
        std::process::exit(1)
    });
    println!("serving '{service}'");
    let mut served = 0;
    // `server.serve(|request| Plan::straight(request))` is the whole loop when nothing else is
    // to be done; this one also says who asked.
    while (count == 0 || served < count) && !shm::stop::requested() {
        let request = match server.recv_timeout(Duration::from_millis(100)) {
            Ok(request) => request,
            Err(ServerError::Timeout { .. }) => continue,
            Err(e) => {
                eprintln!("path_planner: {e}");
                continue;
            }
        };
        let plan = Plan::straight(request.value());
        let who = request.client().map_or_else(
            || "a client that left".to_owned(),
            |c| c.process.to_string(),
        );
        println!(
            "#{} from {who}: {:?} -> {:?}: {:.2} m, {} steps",
            request.seq(),
            request.value().start,
            request.value().goal,
            plan.length,
            plan.steps
        );
        if let Err(e) = request.reply(&plan) {
            eprintln!("path_planner: {e}");
        }
        served += 1;
    }
    println!("served {served} request(s)");
}
