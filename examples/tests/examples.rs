//! Every Rust example, run as a user runs it: separate processes on a private topic directory,
//! checked by what they print. (The Python examples' tests run them against these:
//! `python/tests/test_examples.py`.)

use shm_integration::process::{Proc, TIMEOUT};
use shm_integration::root::TempRoot;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>`: where cargo put this test, the examples (`examples/`) and the `shm` tool.
fn profile_dir() -> PathBuf {
    let me = std::env::current_exe().expect("own path");
    me.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

fn example(name: &str) -> PathBuf {
    let path = profile_dir().join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is missing: `cargo test -p shm-examples` builds the examples",
        path.display()
    );
    path
}

/// The number after `key=` in `line`.
fn field(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key))
        .and_then(|v| v.trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("no {key}<number> in {line:?}"))
}

#[test]
fn pubsub_scalars_cross_from_the_publisher_to_the_subscriber() {
    let root = TempRoot::new("ex-pubsub");
    let mut sub = Proc::spawn(
        &example("scalar_subscriber"),
        root.path(),
        &[
            "--type",
            "i64",
            "--topic",
            "demo/count",
            "--count",
            "3",
            "--timeout",
            "20",
        ],
    );
    sub.expect_line("subscribed", TIMEOUT);
    let mut publisher = Proc::spawn(
        &example("scalar_publisher"),
        root.path(),
        &["--type", "i64", "--topic", "demo/count"],
    );
    publisher.expect_line("publishing", TIMEOUT);
    for (i, v) in [10, 20, 30].into_iter().enumerate() {
        publisher.send(&v.to_string());
        publisher.expect_line(&format!("published {}", i + 1), TIMEOUT);
        assert_eq!(sub.line(TIMEOUT), format!("{} {v}", i + 1));
    }
    assert!(sub.wait(TIMEOUT).success());
    publisher.close_stdin();
    assert!(publisher.wait(TIMEOUT).success());
}

#[test]
fn structs_poses_flow_and_detections_are_relayed() {
    let root = TempRoot::new("ex-structs");
    let mut sub = Proc::spawn(
        &example("pose_subscriber"),
        root.path(),
        &["--count", "5", "--timeout", "20"],
    );
    sub.expect_line("subscribed", TIMEOUT);
    let mut publisher = Proc::spawn(
        &example("pose_publisher"),
        root.path(),
        &["--rate", "50", "--count", "200"],
    );
    for _ in 0..5 {
        let line = sub.expect_line("sub #", TIMEOUT);
        assert!(line.contains("tracking=true"), "{line}");
    }
    assert!(sub.wait(TIMEOUT).success());
    publisher.kill9();

    // The relay reads detections and publishes them changed: a typed round trip through it.
    let mut relay = Proc::spawn(
        &example("detection_relay"),
        root.path(),
        &["--in", "d/in", "--out", "d/out", "--count", "1"],
    );
    relay.expect_line("relaying", TIMEOUT);
    let mut input = shm::Publisher::<shm_examples::Detection>::builder("d/in")
        .root(root.path())
        .create()
        .unwrap();
    let mut output = shm::Subscriber::<shm_examples::Detection>::builder("d/out")
        .root(root.path())
        .open()
        .unwrap();
    let detection = shm_examples::Detection {
        boxes: [shm_examples::BoundingBox {
            min: [1.0, 2.0],
            max: [3.0, 4.0],
        }; 2],
        scores: [[0.5, 0.25]; 3],
        label: 7,
        valid: false,
        _reserved: [0],
    };
    input.publish(&detection).unwrap();
    relay.expect_line("relayed #1", TIMEOUT);
    let relayed = output.recv_timeout(TIMEOUT).unwrap().value;
    assert_eq!((relayed.label, relayed.valid), (8, true));
    assert_eq!(relayed.scores, [[1.0, 0.5]; 3]);
    assert!(relay.wait(TIMEOUT).success());
}

#[test]
fn camera_frames_cross_whole_and_in_order() {
    let root = TempRoot::new("ex-camera");
    let mut sub = Proc::spawn(
        &example("frame_subscriber"),
        root.path(),
        &["--count", "5", "--timeout", "20"],
    );
    sub.expect_line("subscribed", TIMEOUT);
    let mut publisher = Proc::spawn(
        &example("frame_publisher"),
        root.path(),
        &["--rate", "30", "--count", "300"],
    );
    let mut last = None;
    for _ in 0..5 {
        let line = sub.expect_line("frame ", TIMEOUT);
        // The bar is where the publisher drew it for that frame: the whole frame crossed.
        let n = line
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap();
        assert_eq!(field(&line, "x="), n % 640, "{line}");
        assert!(last < Some(n), "{line} after frame {last:?}");
        last = Some(n);
    }
    assert!(sub.wait(TIMEOUT).success());
    publisher.kill9();
}

#[test]
fn waits_report_values_silence_and_a_publisher_gone() {
    let root = TempRoot::new("ex-waits");
    let mut waiter = Proc::spawn(
        &example("waiter"),
        root.path(),
        &["--topic", "t", "--timeout-ms", "300", "--count", "3"],
    );
    waiter.expect_line("waiting on 't'", TIMEOUT);
    // Nothing published: the wait ends at its timeout, again and again.
    waiter.expect_line("nothing new within 300 ms (no publisher)", TIMEOUT);
    let mut publisher = Proc::spawn(
        &example("scalar_publisher"),
        root.path(),
        &["--type", "f64", "--topic", "t"],
    );
    publisher.expect_line("publishing", TIMEOUT);
    publisher.send("21.5");
    publisher.expect_line("published 1", TIMEOUT);
    waiter.expect_line("#1 21.5 (", TIMEOUT);
    // The publisher exits: a wait that saw it alive says so at once, one that began after the
    // exit times out seeing no publisher; either way the waiter goes on waiting.
    publisher.close_stdin();
    assert!(publisher.wait(TIMEOUT).success());
    loop {
        let line = waiter.line(TIMEOUT);
        if line == "the publisher is gone" || line.ends_with("(no publisher)") {
            break;
        }
        assert_eq!(
            line, "nothing new within 300 ms",
            "while the publisher lived"
        );
    }
    // A new publisher takes the topic over; both its values arrive, one by one or together
    // (the ring holds three).
    let mut next = Proc::spawn(
        &example("scalar_publisher"),
        root.path(),
        &["--type", "f64", "--topic", "t"],
    );
    next.expect_line("publishing", TIMEOUT);
    next.send("22");
    next.expect_line("published 2", TIMEOUT);
    next.send("23");
    next.expect_line("published 3", TIMEOUT);
    let rest = waiter.rest(TIMEOUT);
    assert!(rest.iter().any(|l| l.starts_with("#2 22")), "{rest:?}");
    assert!(rest.iter().any(|l| l.starts_with("#3 23")), "{rest:?}");
    assert_eq!(
        rest.last().map(String::as_str),
        Some("done after 3 value(s)")
    );
    assert!(waiter.wait(TIMEOUT).success());
    next.close_stdin();
    assert!(next.wait(TIMEOUT).success());
}

/// `plan_client args...` on `root`, run to its end: (success, stdout, stderr).
fn plan_client(root: &TempRoot, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(example("plan_client"))
        .args(args)
        .env("SHM_ROOT", root.path())
        .output()
        .expect("run plan_client");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8 output");
    (out.status.success(), text(out.stdout), text(out.stderr))
}

#[test]
fn services_plan_answers_each_client_and_says_who_asked() {
    let root = TempRoot::new("ex-services");
    // No server yet: the client says so and fails.
    let (ok, _, err) = plan_client(&root, &["--x", "3", "--y", "4"]);
    assert!(!ok);
    assert!(
        err.contains("no server runs for service 'demo/plan'"),
        "{err}"
    );
    let mut planner = Proc::spawn(&example("path_planner"), root.path(), &["--count", "2"]);
    planner.expect_line("serving 'demo/plan'", TIMEOUT);
    // A second server is refused while the first runs.
    let mut second = Proc::spawn(&example("path_planner"), root.path(), &[]);
    assert!(!second.wait(TIMEOUT).success());
    let (ok, out, err) = plan_client(&root, &["--x", "3", "--y", "4"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "plan to [3.0, 4.0]: 5.00 m in 10 steps");
    let line = planner.expect_line("#1 from pid ", TIMEOUT);
    assert!(
        line.ends_with("(plan_client): [0.0, 0.0] -> [3.0, 4.0]: 5.00 m, 10 steps"),
        "{line}"
    );
    let (ok, out, _) = plan_client(&root, &["--x", "300", "--y", "0"]);
    assert!(ok);
    assert_eq!(
        out.trim(),
        "plan to [300.0, 0.0]: 300.00 m in 600 steps (out of reach)"
    );
    assert_eq!(
        planner.rest(TIMEOUT).last().map(String::as_str),
        Some("served 2 request(s)")
    );
    assert!(planner.wait(TIMEOUT).success());
}

/// `navigate_client args...` on `root`, run to its end: (success, stdout lines, stderr).
fn navigate_client(root: &TempRoot, args: &[&str]) -> (bool, Vec<String>, String) {
    let out = Command::new(example("navigate_client"))
        .args(args)
        .env("SHM_ROOT", root.path())
        .output()
        .expect("run navigate_client");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8 output");
    let lines = text(out.stdout).lines().map(str::to_owned).collect();
    (out.status.success(), lines, text(out.stderr))
}

#[test]
fn actions_navigate_reports_feedback_cancels_rejects_and_outlives_its_server() {
    let root = TempRoot::new("ex-actions");
    let mut navigator = Proc::spawn(&example("navigator"), root.path(), &["--count", "3"]);
    navigator.expect_line("serving action 'demo/navigate'", TIMEOUT);
    let (ok, lines, err) = navigate_client(&root, &["--x", "3", "--y", "4"]);
    assert!(ok, "{err}");
    assert!(
        lines[0].starts_with("goal ") && lines[0].ends_with(" accepted"),
        "{lines:?}"
    );
    assert_eq!(lines[1], "at [0.30, 0.40], 4.50 m to go");
    assert_eq!(
        lines.last().unwrap(),
        "succeeded at [3.00, 4.00] after 10 steps"
    );
    assert_eq!(lines.len(), 12, "{lines:?}");
    let (ok, lines, err) =
        navigate_client(&root, &["--x", "30", "--y", "0", "--cancel-after", "3"]);
    assert!(ok, "{err}");
    assert_eq!(lines[4], "cancel asked: canceling", "{lines:?}");
    let last = lines.last().unwrap();
    assert!(last.starts_with("canceled at ["), "{lines:?}");
    // The third goal is rejected; the navigator then ends (count 3).
    let (ok, _, err) = navigate_client(&root, &["--speed", "0"]);
    assert!(!ok);
    assert!(err.contains("rejected the goal"), "{err}");
    assert_eq!(
        navigator.rest(TIMEOUT).last().map(String::as_str),
        Some("served 3 goal(s)")
    );
    assert!(navigator.wait(TIMEOUT).success());
    // A navigator killed mid-goal: the client's goal ends aborted.
    let mut navigator = Proc::spawn(&example("navigator"), root.path(), &[]);
    navigator.expect_line("serving action", TIMEOUT);
    let mut client = Proc::spawn(&example("navigate_client"), root.path(), &["--x", "100"]);
    client.expect_line("at [", TIMEOUT);
    navigator.kill9();
    assert_eq!(
        client.rest(TIMEOUT).last().map(String::as_str),
        Some("aborted (the server is gone)")
    );
}

#[test]
fn waits_stop_cleanly_on_ctrl_c() {
    let root = TempRoot::new("ex-waits-stop");
    let mut waiter = Proc::spawn(
        &example("waiter"),
        root.path(),
        &["--topic", "t", "--timeout-ms", "100"],
    );
    waiter.expect_line("waiting on 't'", TIMEOUT);
    // SAFETY: kill with a pid of a child this test started and has not waited for.
    let sent = unsafe { libc::kill(waiter.pid() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    let rest = waiter.rest(TIMEOUT);
    assert_eq!(
        rest.last().map(String::as_str),
        Some("done after 0 value(s)")
    );
    assert!(waiter.wait(TIMEOUT).success());
}

#[test]
fn the_tool_demo_runs_end_to_end() {
    let shm = profile_dir().join("shm");
    assert!(
        shm.is_file(),
        "{} is missing: build the tool (`cargo build -p shm-cli`; `cargo test` of the workspace does)",
        shm.display()
    );
    let target = profile_dir().parent().expect("target").to_path_buf();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("rust/tool/demo.sh");
    let out = Command::new("bash")
        .arg(&demo)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("run the demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("[shm list]") && text.contains("demo/robot/pose"),
        "{text}"
    );
    assert!(text.contains("[shm echo]"), "{text}");
    assert!(text.contains("== done: 20 poses crossed"), "{text}");
}

#[test]
fn every_example_prints_its_usage_on_help_and_touches_nothing() {
    let root = TempRoot::new("ex-help");
    // Every example this package declares (`[[example]]` in its manifest).
    let manifest = include_str!("../Cargo.toml");
    let names: Vec<&str> = manifest
        .split("[[example]]")
        .skip(1)
        .filter_map(|section| {
            let line = section
                .lines()
                .find(|l| l.trim_start().starts_with("name"))?;
            line.split('"').nth(1)
        })
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        let exe = example(name);
        for flag in ["--help", "-h"] {
            let mut p = Proc::spawn(&exe, root.path(), &[flag]);
            let out = p.rest(TIMEOUT);
            assert!(p.wait(TIMEOUT).success(), "{name} {flag}");
            assert!(
                out.iter().any(|l| l.trim_start().starts_with(name)),
                "{name} {flag}: {out:?}"
            );
        }
    }
    // Nothing was published: no topic file was made.
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
}
