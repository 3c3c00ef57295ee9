//! The service roles of the helper binary (`shm-test-helper serve|call|call-flag ...`), for
//! the tests in `tests/services.rs`. They talk over stdout lines; stdin EOF ends a server.
//!
//! ```text
//! serve <service> <mode> <max_clients> <queue>  # Server<u64, u64>; prints READY, GOT <x>, BAD <seq>
//!     modes: square (x*x), slow (x*x after 300 ms), hang (never answers), one (x*x, then exits),
//!            whoami (the client's pid), gated (answers x*x when a line comes on stdin)
//! call <service> <first> <count>   # Client<u64, u64>: calls first..first+count, checks x*x; OK <count> | ERR <kind> <x>
//! call <service> <x> hang          # sends x, prints SENT, and waits to be killed
//! call-flood <service> <millis>   # calls as fast as it can for millis ms, whatever the answers; CALLS <n>
//! action-serve <action> <mode>  # ActionServer<u64, u64, u64>: READY, GOAL <n> <id>; each goal in a thread
//!     modes: count (feedback 1..=n every 10 ms, then succeed(n); canceled(i) on request),
//!            reject-odd (rejects odd goals, counts the others), hang (feedback 1, then never ends)
//! action-send <action> <n>        # ActionClient: ACCEPTED <id>, FEEDBACK <v>..., RESULT <status> <outcome>
//! call-flag <service>              # Client<Flags, u64>: sends Flags { armed: true, .. }, prints SENT, then OK <v> | ERR <kind>
//! serve-set <square> <double> <action> <topic>  # one thread, one WaitSet: Server<u64, u64>s
//!     answering x*x and 2x, an ActionServer<u64, u64, u64> succeeding with 3n, a
//!     Subscriber<u64> printing VALUE <v>; READY, then SERVED <service> <x>, GOAL <n>
//! serve-exec <square> <double> <topic>  # the same on an Executor (serve, serve, on)
//! peek <file>                      # opens a file to read: READABLE | DENIED | ERR <why>
//! action-cancel-id <action> <id>  # a cancel request for goal <id> by hand: STATUS <s> ID <id>
//! action-discover <action>        # the types the tool learns: TYPES <goal> <feedback> <outcome>
//! ```
//!
//! Across users: `serve` admits the users and groups `SHM_TEST_ADMIT` lists (`u<uid>` and
//! `g<gid>`, comma-separated), with the descriptor mode `SHM_TEST_MODE` (octal) if set; the clients of `call` and `call ... hang` call a server of user
//! `SHM_TEST_SERVER_OWNER` when it is set.

use std::io::BufRead;
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::Duration;

use shm::action::{ActionClient, ActionServer, GoalError};
use shm::{CallError, Client, Request, Server, ServerError, TopicOwner};

use crate::Flags;

/// A short name for a call error, as the helper prints it.
pub fn kind(e: &CallError) -> &'static str {
    match e {
        CallError::Timeout { .. } => "timeout",
        CallError::ServerGone { .. } => "server-gone",
        CallError::NoServer { .. } => "no-server",
        CallError::Busy { .. } => "busy",
        CallError::SchemaMismatch(_) => "mismatch",
        CallError::BadRequest { .. } => "bad-request",
        CallError::NoReply { .. } => "no-reply",
        CallError::TooManyClients { .. } => "too-many-clients",
        CallError::NotAdmitted { .. } => "not-admitted",
        CallError::UntrustedServer { .. } => "untrusted-server",
        _ => "other",
    }
}

fn stdin_lines() -> Receiver<Option<String>> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(Some(line)).is_err() {
                return;
            }
        }
        let _ = tx.send(None);
    });
    rx
}

fn fail(what: impl std::fmt::Display) -> ! {
    println!("ERR {what}");
    std::process::exit(1)
}

/// Runs a service role; `args[0]` is the role.
pub fn main(args: &[String]) {
    let arg = |i: usize| args.get(i).map_or("", String::as_str);
    let num = |i: usize| -> u64 {
        arg(i)
            .parse()
            .unwrap_or_else(|_| fail(format!("bad number {:?}", arg(i))))
    };
    match arg(0) {
        "serve" => serve(arg(1), arg(2), num(3) as usize, num(4) as usize),
        "peek" => match std::fs::File::open(arg(1)) {
            Ok(_) => println!("READABLE"),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => println!("DENIED"),
            Err(e) => fail(e),
        },
        "call" if arg(3) == "hang" => {
            let client = client(arg(1));
            let _pending = client.send(&num(2)).unwrap_or_else(|e| fail(kind(&e)));
            println!("SENT");
            loop {
                std::thread::sleep(Duration::from_secs(60));
            }
        }
        "call" => {
            let client = client(arg(1));
            let (first, count) = (num(2), num(3));
            for x in first..first + count {
                match client.call(&x, Duration::from_secs(20)) {
                    Ok(y) if y == x * x => {}
                    Ok(y) => fail(format!("wrong {x} {y}")),
                    Err(e) => fail(format!("{} {x}", kind(&e))),
                }
            }
            println!("OK {count}");
        }
        "call-flood" => {
            // Calls for `millis` ms as fast as it can, whatever the answers; prints CALLS <n>.
            let client = Client::<u64, u64>::new(arg(1)).unwrap_or_else(|e| fail(e));
            let end = std::time::Instant::now() + Duration::from_millis(num(2));
            let mut calls = 0u64;
            while std::time::Instant::now() < end {
                let _ = client.call(&calls, Duration::from_millis(100));
                calls += 1;
            }
            println!("CALLS {calls}");
        }
        "call-flag" => {
            let client = Client::<Flags, u64>::new(arg(1)).unwrap_or_else(|e| fail(e));
            let flags = Flags {
                armed: true,
                moving: false,
                count: 7,
            };
            let pending = client.send(&flags).unwrap_or_else(|e| fail(kind(&e)));
            println!("SENT");
            match pending.wait(Duration::from_secs(20)) {
                Ok(v) => println!("OK {v}"),
                Err(e) => fail(kind(&e)),
            }
        }
        "action-serve" => action_serve(arg(1), arg(2)),
        "action-discover" => {
            // The action's types as the tool learns them: TYPES <goal> <feedback> <outcome>.
            let client =
                shm::action::AnyActionClient::discover_trusting(arg(1), None, server_owner())
                    .unwrap_or_else(|e| fail(e));
            let [g, f, o] = client.types().map(|t| t.type_name());
            println!("TYPES {g} {f} {o}");
        }
        "action-cancel-id" => {
            // A cancel request for goal `id`, sent as the action's service request by hand
            // (`ActionRequest { kind: 2, goal_id, goal }`): prints STATUS <the reply's status>.
            let client = shm::service::AnyClient::builder(arg(1))
                .server_owner(server_owner())
                .create()
                .unwrap_or_else(|e| fail(e));
            let mut request = Vec::new();
            for word in [2, num(2), 0u64] {
                request.extend_from_slice(&word.to_ne_bytes());
            }
            let reply = client
                .call(&request, Duration::from_secs(20))
                .unwrap_or_else(|e| fail(e));
            let word = |at: usize| {
                u64::from_ne_bytes(
                    reply[at..at + 8]
                        .try_into()
                        .unwrap_or_else(|_| fail("short reply")),
                )
            };
            println!("STATUS {} ID {}", word(8), word(0));
        }
        "serve-set" => serve_set(arg(1), arg(2), arg(3), arg(4)),
        "serve-exec" => serve_exec(arg(1), arg(2), arg(3)),
        "action-send" => {
            let client = ActionClient::<u64, u64, u64>::trusting(arg(1), None, server_owner())
                .unwrap_or_else(|e| fail(e));
            let mut handle = match client.send_goal(&num(2), Duration::from_secs(20)) {
                Ok(handle) => handle,
                Err(GoalError::Rejected { .. }) => fail("rejected"),
                Err(e) => fail(e),
            };
            println!("ACCEPTED {}", handle.id());
            while let Some(v) = handle
                .feedback(Duration::from_secs(20))
                .unwrap_or_else(|e| fail(e))
            {
                println!("FEEDBACK {v}");
            }
            let r = handle
                .result(Duration::from_secs(20))
                .unwrap_or_else(|e| fail(e));
            println!("RESULT {} {:?}", r.status, r.outcome);
        }
        other => fail(format!("unknown service role {other}")),
    }
}

/// The users (`Some(uid), None`) and groups (`None, Some(gid)`) `SHM_TEST_ADMIT` lists.
fn admitted() -> Vec<(Option<u32>, Option<u32>)> {
    let list = std::env::var("SHM_TEST_ADMIT").unwrap_or_default();
    let id = |s: &str| -> u32 { s.parse().unwrap_or_else(|_| fail("bad SHM_TEST_ADMIT")) };
    list.split(',')
        .filter_map(|who| match who.split_at_checked(1)? {
            ("u", uid) => Some((Some(id(uid)), None)),
            ("g", gid) => Some((None, Some(id(gid)))),
            _ => None,
        })
        .collect()
}

/// Whose server the clients call: `SHM_TEST_SERVER_OWNER`, else this user's.
fn server_owner() -> TopicOwner {
    match std::env::var("SHM_TEST_SERVER_OWNER") {
        Ok(uid) => TopicOwner::Uid(
            uid.parse()
                .unwrap_or_else(|_| fail("bad SHM_TEST_SERVER_OWNER")),
        ),
        Err(_) => TopicOwner::Me,
    }
}

/// A `Client<u64, u64>` of `service`, of the server user `SHM_TEST_SERVER_OWNER` names.
fn client(service: &str) -> Client<u64, u64> {
    let mut builder = Client::<u64, u64>::builder(service);
    if let Ok(uid) = std::env::var("SHM_TEST_SERVER_OWNER") {
        let uid = uid
            .parse()
            .unwrap_or_else(|_| fail("bad SHM_TEST_SERVER_OWNER"));
        builder = builder.server_owner(TopicOwner::Uid(uid));
    }
    builder
        .create()
        .unwrap_or_else(|e| fail(format!("{} create: {e}", kind(&e))))
}

fn serve(service: &str, mode: &str, max_clients: usize, queue: usize) {
    let mut builder = Server::<u64, u64>::builder(service)
        .max_clients(max_clients)
        .queue(queue);
    for who in std::env::var("SHM_TEST_ADMIT")
        .unwrap_or_default()
        .split(',')
    {
        let id = |s: &str| s.parse().unwrap_or_else(|_| fail("bad SHM_TEST_ADMIT"));
        builder = match who.split_at_checked(1) {
            Some(("u", uid)) => builder.admit_user(id(uid)),
            Some(("g", gid)) => builder.admit_group(id(gid)),
            _ => builder,
        };
    }
    if let Ok(mode) = std::env::var("SHM_TEST_MODE") {
        let mode = u32::from_str_radix(&mode, 8).unwrap_or_else(|_| fail("bad SHM_TEST_MODE"));
        builder = builder.mode(mode);
    }
    let mut server = builder.create().unwrap_or_else(|e| fail(e));
    let stdin = stdin_lines();
    println!("READY");
    let mut held: Vec<Request<u64, u64>> = Vec::new();
    loop {
        match stdin.try_recv() {
            Ok(Some(_)) => {
                for request in held.drain(..) {
                    let x = *request.value();
                    request.reply(&(x * x)).unwrap_or_else(|e| fail(e));
                }
            }
            Ok(None) | Err(TryRecvError::Disconnected) => return,
            Err(TryRecvError::Empty) => {}
        }
        let request = match server.recv_timeout(Duration::from_millis(20)) {
            Ok(request) => request,
            Err(ServerError::Timeout { .. }) => continue,
            Err(ServerError::BadRequest { seq, .. }) => {
                println!("BAD {seq}");
                continue;
            }
            Err(e) => fail(e),
        };
        let x = *request.value();
        println!("GOT {x}");
        match mode {
            "square" => request.reply(&(x * x)).unwrap_or_else(|e| fail(e)),
            "slow" => {
                std::thread::sleep(Duration::from_millis(300));
                request.reply(&(x * x)).unwrap_or_else(|e| fail(e));
            }
            "one" => {
                // Answers, then exits at once: its reply must still be its client's answer.
                request.reply(&(x * x)).unwrap_or_else(|e| fail(e));
                std::process::exit(0);
            }
            "whoami" => {
                let pid = request.client().map_or(0, |c| u64::from(c.process.pid));
                request.reply(&pid).unwrap_or_else(|e| fail(e));
            }
            "hang" | "gated" => held.push(request),
            other => fail(format!("unknown mode {other}")),
        }
    }
}

fn action_serve(action: &str, mode: &str) {
    let mut builder = ActionServer::<u64, u64, u64>::builder(action);
    for (uid, gid) in admitted() {
        builder = match (uid, gid) {
            (Some(uid), _) => builder.admit_user(uid),
            (_, Some(gid)) => builder.admit_group(gid),
            _ => builder,
        };
    }
    let mut server = builder.create().unwrap_or_else(|e| fail(e));
    let stdin = stdin_lines();
    println!("READY");
    loop {
        if let Ok(None) | Err(TryRecvError::Disconnected) = stdin.try_recv() {
            return;
        }
        let request = match server.recv_timeout(Duration::from_millis(20)) {
            Ok(request) => request,
            Err(ServerError::Timeout { .. }) => continue,
            Err(e) => fail(e),
        };
        let n = *request.value();
        if mode == "reject-odd" && n % 2 == 1 {
            println!("REJECTED {n}");
            request.reject();
            continue;
        }
        let goal = request.accept().unwrap_or_else(|e| fail(e));
        println!("GOAL {n} {}", goal.id());
        let hang = mode == "hang";
        std::thread::spawn(move || {
            if hang {
                goal.publish_feedback(&1).unwrap_or_else(|e| fail(e));
                std::mem::forget(goal); // never ends (until the process is killed)
                return;
            }
            for i in 1..=n {
                std::thread::sleep(Duration::from_millis(10));
                if goal.is_cancel_requested() {
                    let id = goal.id();
                    goal.canceled(&i).unwrap_or_else(|e| fail(e));
                    println!("CANCELED {id}");
                    return;
                }
                goal.publish_feedback(&i).unwrap_or_else(|e| fail(e));
            }
            let id = goal.id();
            goal.succeed(&n).unwrap_or_else(|e| fail(e));
            println!("DONE {id}");
        });
    }
}

/// Two services, an action and a topic served by one thread on one wait set.
fn serve_set(square: &str, double: &str, action: &str, topic: &str) {
    let mut squares = Server::<u64, u64>::new(square).unwrap_or_else(|e| fail(e));
    let mut doubles = Server::<u64, u64>::new(double).unwrap_or_else(|e| fail(e));
    let mut actions = ActionServer::<u64, u64, u64>::new(action).unwrap_or_else(|e| fail(e));
    let mut values = shm::Subscriber::<u64>::new(topic).unwrap_or_else(|e| fail(e));
    let mut set = shm::WaitSet::new();
    let ids = [
        set.attach(&squares).unwrap_or_else(|e| fail(e)),
        set.attach(&doubles).unwrap_or_else(|e| fail(e)),
        set.attach(&actions).unwrap_or_else(|e| fail(e)),
        set.attach(&values).unwrap_or_else(|e| fail(e)),
    ];
    let tick = set
        .attach_interval(Duration::from_millis(20))
        .unwrap_or_else(|e| fail(e));
    let stdin = stdin_lines();
    println!("READY");
    loop {
        for event in set.wait(None) {
            if event.id == tick {
                if let Ok(None) | Err(TryRecvError::Disconnected) = stdin.try_recv() {
                    return;
                }
                continue;
            }
            let which = ids.iter().position(|id| *id == event.id);
            let kind = event.kind;
            match which {
                Some(k @ (0 | 1)) if kind == shm::EventKind::Request => {
                    let (server, name) = if k == 0 {
                        (&mut squares, square)
                    } else {
                        (&mut doubles, double)
                    };
                    while let Some(request) = server.try_recv().unwrap_or_else(|e| fail(e)) {
                        let x = *request.value();
                        let reply = if k == 0 { x * x } else { 2 * x };
                        request.reply(&reply).unwrap_or_else(|e| fail(e));
                        println!("SERVED {name} {x}");
                    }
                }
                Some(2) if kind == shm::EventKind::Request => {
                    while let Some(goal) = actions.try_recv().unwrap_or_else(|e| fail(e)) {
                        let n = *goal.value();
                        let goal = goal.accept().unwrap_or_else(|e| fail(e));
                        goal.publish_feedback(&n).unwrap_or_else(|e| fail(e));
                        goal.succeed(&(3 * n)).unwrap_or_else(|e| fail(e));
                        println!("GOAL {n}");
                    }
                }
                Some(3) if kind == shm::EventKind::Value => {
                    while let Some(sample) = values.try_recv().unwrap_or_else(|e| fail(e)) {
                        println!("VALUE {}", sample.value);
                    }
                }
                Some(3) if kind == shm::EventKind::PublisherGone => {}
                _ => fail(format!("unexpected event {kind} of {:?}", event.id)),
            }
        }
    }
}

/// Two services and a topic on one executor.
fn serve_exec(square: &str, double: &str, topic: &str) {
    let mut exec = shm::Executor::new();
    let name = square.to_owned();
    exec.serve(
        Server::<u64, u64>::new(square).unwrap_or_else(|e| fail(e)),
        move |x| {
            println!("SERVED {name} {x}");
            x * x
        },
    )
    .unwrap_or_else(|e| fail(e));
    let name = double.to_owned();
    exec.serve(
        Server::<u64, u64>::new(double).unwrap_or_else(|e| fail(e)),
        move |x| {
            println!("SERVED {name} {x}");
            2 * x
        },
    )
    .unwrap_or_else(|e| fail(e));
    exec.on(
        shm::Subscriber::<u64>::new(topic).unwrap_or_else(|e| fail(e)),
        |s| println!("VALUE {}", s.value),
    )
    .unwrap_or_else(|e| fail(e));
    let stopper = exec.stopper();
    let stdin = stdin_lines();
    std::thread::spawn(move || {
        while let Ok(Some(_)) = stdin.recv() {}
        stopper.stop();
    });
    println!("READY");
    exec.spin().unwrap_or_else(|e| fail(e));
}
