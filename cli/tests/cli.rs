//! The `shm` binary as users run it: a separate process reading and writing topics that this
//! test process publishes and subscribes with the typed API (and another user's, as root).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use shm_integration::TestPose;
use shm_integration::process::{NOBODY, Proc, TIMEOUT as T, helper_for_other_users, poll};
use shm_integration::root::TempRoot;

const SHM: &str = env!("CARGO_BIN_EXE_shm");

/// A finished command: exit code, standard output lines, standard error lines.
struct Run {
    code: Option<i32>,
    out: Vec<String>,
    err: Vec<String>,
}

impl Run {
    fn json(&self) -> Json {
        serde_json::from_str(&self.out.join("\n"))
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:#?}", self.out))
    }

    fn err_text(&self) -> String {
        self.err.join("\n")
    }
}

/// Runs `shm args...` on `root` to completion (at most [`T`]).
fn shm(root: &Path, args: &[&str]) -> Run {
    let mut p = spawn(root, args);
    let lines = p.rest(T);
    let code = p.wait(T).code();
    let (err, out): (Vec<_>, Vec<_>) = lines.into_iter().partition(|l| l.starts_with("stderr: "));
    Run {
        code,
        out,
        err: err
            .into_iter()
            .map(|l| l["stderr: ".len()..].to_owned())
            .collect(),
    }
}

/// `shm args...` still running, for commands that wait.
fn spawn(root: &Path, args: &[&str]) -> Proc {
    Proc::spawn(Path::new(SHM), root, args)
}

fn signal(p: &Proc, sig: libc::c_int) {
    // SAFETY: kill(2) on our own live child with a valid signal; no memory involved.
    assert_eq!(unsafe { libc::kill(p.pid() as libc::pid_t, sig) }, 0);
}

fn json_line(line: &str) -> Json {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
}

#[test]
fn list_and_info_describe_a_struct_topic_of_another_process() {
    let root = TempRoot::new("cli-list");
    let mut p = root.publisher::<TestPose>("robot/pose");
    for i in 1..=5 {
        p.publish(&TestPose::nth(i)).unwrap();
    }
    let list = shm(root.path(), &["list", "--json"]);
    assert_eq!(list.code, Some(0), "{}", list.err_text());
    let topics = list.json();
    let t = &topics[0];
    assert_eq!(t["topic"], "robot/pose");
    assert_eq!(t["type"], "TestPose");
    assert_eq!(
        (t["size"].as_u64(), t["slots"].as_u64()),
        (Some(32), Some(3))
    );
    assert_eq!(t["last_seq"], 5);
    assert_eq!(t["publisher"]["alive"], true);
    assert_eq!(t["publisher"]["pid"], std::process::id());

    let plain = shm(root.path(), &["list"]);
    assert!(plain.out[0].starts_with("TOPIC"), "{:#?}", plain.out);
    assert!(
        plain.out[1].starts_with("robot/pose  TestPose  32 B  3"),
        "{:#?}",
        plain.out
    );
    assert!(plain.out[1].contains(&format!("pid {}", std::process::id())));

    let info = shm(root.path(), &["info", "robot/pose", "--json"]);
    assert_eq!(info.code, Some(0), "{}", info.err_text());
    let i = info.json();
    assert_eq!(i["value"]["counter"], 5);
    assert_eq!(i["value"]["theta"], 1.25);
    let decl = i["declaration"].as_str().unwrap();
    assert!(decl.contains("struct TestPose {"), "{decl}");
    assert!(
        decl.contains("counter: u64,") && decl.contains("// offset 24"),
        "{decl}"
    );

    let plain = shm(root.path(), &["info", "robot/pose"]).out.join("\n");
    assert!(
        plain.contains("TestPose { x: 5.0, y: -5.0, theta: 1.25, counter: 5 }"),
        "{plain}"
    );
    assert!(plain.contains(", alive"), "{plain}");

    drop(p);
    let gone = shm(root.path(), &["list", "--json"]).json();
    assert_eq!(gone[0]["publisher"]["alive"], false);
}

#[test]
fn list_reports_files_that_are_not_topics_and_carries_on() {
    let root = TempRoot::new("cli-list-bad");
    root.publisher::<u64>("good").publish(&1).unwrap();
    std::fs::write(root.path().join("shm.bad"), b"not a topic file").unwrap();
    let run = shm(root.path(), &["list"]);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    assert!(
        run.out
            .iter()
            .any(|l| l.split_whitespace().take(2).eq(["good", "u64"])),
        "{:#?}",
        run.out
    );
    assert!(
        run.out
            .last()
            .unwrap()
            .contains("1 more files named like topics"),
        "{:#?}",
        run.out
    );
    let all = shm(root.path(), &["list", "--all"]);
    assert!(
        all.out
            .iter()
            .any(|l| l.starts_with("not a topic:") && l.contains("shm.bad")),
        "{:#?}",
        all.out
    );
    let missing = shm(&root.path().join("nope"), &["list"]);
    assert_eq!(missing.code, Some(1));
    assert!(
        missing.err_text().contains("cannot list"),
        "{}",
        missing.err_text()
    );
}

/// Publishes `TestPose::nth(2..=2000)` at full speed under a running `shm echo --json args`
/// (after it printed value 1) and returns the `(seq, missed)` of every line up to seq 2000,
/// each line checked against its value.
fn burst_under_echo(slots: usize, args: &[&str]) -> Vec<(u64, u64)> {
    let root = TempRoot::new("cli-echo");
    let mut p = shm::Publisher::<TestPose>::builder("robot/pose")
        .root(root.path())
        .buffer_num(slots)
        .create()
        .unwrap();
    p.publish(&TestPose::nth(1)).unwrap();
    let mut echo = spawn(
        root.path(),
        &[&["echo", "robot/pose", "--json"], args].concat(),
    );
    // The value the topic holds when echo starts comes first.
    let first = json_line(&echo.line(T));
    assert_eq!(
        (first["seq"].as_u64(), first["missed"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(first["value"]["counter"], 1);
    for i in 2..=2000 {
        p.publish(&TestPose::nth(i)).unwrap();
    }
    let mut lines = Vec::new();
    while lines.last().is_none_or(|&(seq, _)| seq < 2000) {
        let v = json_line(&echo.line(T));
        let seq = v["seq"].as_u64().unwrap();
        assert_eq!(v["value"]["counter"], seq, "{v}");
        lines.push((seq, v["missed"].as_u64().unwrap()));
    }
    signal(&echo, libc::SIGINT);
    assert_eq!(
        echo.wait(T).code(),
        Some(130),
        "Ctrl-C ends echo as a shell expects"
    );
    lines
}

#[test]
fn echo_prints_new_values_in_order_with_exact_missed_counts() {
    // Faster than echo prints: values are overwritten before echo reads them, and each line
    // says exactly how many.
    let mut last = 1;
    for (seq, missed) in burst_under_echo(3, &[]) {
        assert_eq!(missed, seq - last - 1, "#{seq}");
        last = seq;
    }
}

#[test]
fn echo_all_prints_every_value_the_ring_still_holds() {
    // A ring that holds the whole burst: every value, none missed, however slow echo is.
    let lines = burst_under_echo(2048, &["--all"]);
    let want: Vec<_> = (2..=2000).map(|seq| (seq, 0)).collect();
    assert_eq!(lines, want);
}

#[test]
fn echo_waits_for_a_topic_then_follows_publisher_restarts() {
    let root = TempRoot::new("cli-echo-wait");
    let mut echo = spawn(root.path(), &["echo", "later", "-n", "2"]);
    echo.expect_line("stderr: shm: waiting for topic 'later'", T);
    let mut p = root.publisher::<u64>("later");
    p.publish(&41).unwrap();
    assert_eq!(echo.expect_line("#", T), "#1 41");
    // The publisher exits; echo says so and waits for the next one, which continues the
    // sequence.
    drop(p);
    echo.expect_line("stderr: shm: the publisher of 'later'", T);
    let mut p = root.publisher::<u64>("later");
    p.publish(&42).unwrap();
    assert_eq!(echo.expect_line("#", T), "#2 42");
    assert_eq!(echo.wait(T).code(), Some(0));
}

#[test]
fn echo_selects_fields_and_refuses_bad_paths() {
    let root = TempRoot::new("cli-echo-field");
    root.publisher::<[f64; 3]>("xyz")
        .publish(&[1.5, 2.5, 3.5])
        .unwrap();
    let run = shm(root.path(), &["echo", "xyz", "-n", "1", "--field", "[1]"]);
    assert_eq!(
        (run.code, run.out.as_slice()),
        (Some(0), &["#1 2.5".to_owned()][..])
    );
    let run = shm(root.path(), &["echo", "xyz", "-n", "1", "--field", "[3]"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.err_text().contains("index 3 of an array of 3"),
        "{}",
        run.err_text()
    );
    let run = shm(root.path(), &["echo", "xyz", "-n", "1", "--field", "x"]);
    assert!(
        run.err_text().contains("has no fields"),
        "{}",
        run.err_text()
    );
    // A struct topic with no value yet: a wrong field is refused at once, with the fields.
    drop(root.publisher::<TestPose>("pose"));
    let run = shm(root.path(), &["echo", "pose", "--field", "gyr"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.err_text()
            .contains("`TestPose` has no field `gyr` (its fields: x, y, theta, counter)"),
        "{}",
        run.err_text()
    );
}

#[test]
fn echo_times_out_with_a_clear_error() {
    let root = TempRoot::new("cli-echo-timeout");
    root.publisher::<u64>("quiet").publish(&1).unwrap();
    let run = shm(root.path(), &["echo", "quiet", "--new", "--timeout", "0.2"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.out.is_empty(),
        "--new skips the current value: {:#?}",
        run.out
    );
    assert!(
        run.err_text()
            .contains("no new value on topic 'quiet' within 0.2 s"),
        "{}",
        run.err_text()
    );
    let run = shm(root.path(), &["echo", "quiet", "--timeout", "-1"]);
    assert_eq!(run.code, Some(2), "a usage error");
    assert!(
        run.err_text().contains("expects 0 to 31536000 seconds"),
        "{}",
        run.err_text()
    );
}

#[test]
fn echo_ends_quietly_when_its_reader_goes_away() {
    let root = TempRoot::new("cli-echo-pipe");
    let mut p = root.publisher::<u64>("fast");
    p.publish(&0).unwrap();
    let mut child = Command::new(SHM)
        .args(["echo", "fast"])
        .env(shm::ROOT_ENV, root.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "#1 0\n");
    drop(out); // `shm echo fast | head -1`
    let deadline = Instant::now() + T;
    let status = loop {
        p.publish(&1).unwrap();
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("echo kept running with no reader");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!((status.code(), err.as_str()), (Some(0), ""));
}

#[test]
fn hz_measures_the_rate_from_publish_times() {
    let root = TempRoot::new("cli-hz");
    // A ring of 5 s of values: even a tool descheduled for seconds under load misses none.
    let mut p = shm::Publisher::<u64>::builder("tick")
        .root(root.path())
        .buffer_num(1024)
        .create()
        .unwrap();
    p.publish(&0).unwrap();
    let mut hz = spawn(root.path(), &["hz", "tick", "-n", "2", "--json"]);
    // About 200 Hz: sleeps only ever overshoot, so the true rate is at most that.
    let start = Instant::now();
    let mut reports = Vec::new();
    let mut n = 0u64;
    while reports.len() < 2 && start.elapsed() < T {
        n += 1;
        p.publish(&n).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        if let Some(line) = hz.try_expect_line("{", Duration::ZERO) {
            reports.push(json_line(&line));
        }
    }
    assert_eq!(reports.len(), 2, "two reports in {:?}", start.elapsed());
    let r = &reports[1];
    let rate = r["rate_hz"].as_f64().unwrap_or_else(|| panic!("{r}"));
    assert!(rate > 10.0 && rate <= 201.0, "{r}");
    // The intervals agree with the rate (none were missed: the ring holds them all).
    assert_eq!(r["missed_total"], 0, "{r}");
    let mean = r["mean_interval_ns"].as_f64().unwrap();
    assert!((mean * rate / 1e9 - 1.0).abs() < 0.05, "{r}");
    assert!(r["min_interval_ns"].as_u64() >= Some(5_000_000), "{r}");
    assert_eq!(hz.wait(T).code(), Some(0));
}

#[test]
fn pub_writes_values_typed_subscribers_read() {
    let root = TempRoot::new("cli-pub");
    let run = shm(root.path(), &["pub", "speed", "2.5", "--type", "f64"]);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    assert_eq!(run.out, ["published #1 on 'speed' (f64)"]);
    let mut sub = root.subscriber::<f64>("speed");
    assert_eq!(sub.latest().unwrap().unwrap().value, 2.5);
    // An existing topic keeps its type; the next value continues its sequence.
    assert_eq!(shm(root.path(), &["pub", "speed", "-inf"]).code, Some(0));
    let s = sub.try_recv().unwrap().unwrap();
    assert_eq!((s.value, s.seq), (f64::NEG_INFINITY, 2));

    let mut p = root.publisher::<TestPose>("pose");
    p.publish(&TestPose::nth(1)).unwrap();
    drop(p);
    let value = r#"{"x": 1, "y": 2.5, "theta": -0.5, "counter": 99}"#;
    let run = shm(root.path(), &["pub", "pose", value]);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    let got = root
        .subscriber::<TestPose>("pose")
        .latest()
        .unwrap()
        .unwrap();
    let want = TestPose {
        x: 1.0,
        y: 2.5,
        theta: -0.5,
        counter: 99,
    };
    assert_eq!((got.value, got.seq), (want, 2));

    let args = [
        "pub",
        "v",
        "[1, 2, 3]",
        "--type",
        "[i32; 3]",
        "--slots",
        "8",
    ];
    let run = shm(root.path(), &args);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    let mut s = root.subscriber::<[i32; 3]>("v");
    assert_eq!(s.latest().unwrap().unwrap().value, [1, 2, 3]);
    assert_eq!(shm(root.path(), &["list", "--json"]).json()[2]["slots"], 8);
}

#[test]
fn pub_repeats_at_a_rate() {
    let root = TempRoot::new("cli-pub-rate");
    let start = Instant::now();
    let args = ["pub", "n", "7", "-t", "i64", "--rate", "200", "-n", "20"];
    let run = shm(root.path(), &args);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    // 19 periods of 5 ms at least (deadlines are never early).
    assert!(
        start.elapsed() >= Duration::from_millis(95),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(run.out, ["published 20 values (#1 to #20) on 'n' (i64)"]);
    let mut sub = root.subscriber::<i64>("n");
    let s = sub.latest().unwrap().unwrap();
    assert_eq!((s.value, s.seq), (7, 20));
    // Until stopped.
    let mut forever = spawn(root.path(), &["pub", "n", "8", "--rate", "1000"]);
    poll(T, "values from pub --rate", || {
        sub.try_recv()
            .unwrap()
            .filter(|s| s.value == 8 && s.seq >= 23)
    });
    signal(&forever, libc::SIGTERM);
    let last = forever.expect_line("published", T);
    assert!(last.contains(" values (#21 to #"), "{last}");
    assert_eq!(forever.wait(T).code(), Some(143), "128 + SIGTERM");
}

#[test]
fn pub_refuses_bad_input_and_changes_nothing() {
    let root = TempRoot::new("cli-pub-bad");
    let mut p = root.publisher::<TestPose>("pose");
    p.publish(&TestPose::nth(3)).unwrap();
    let file = root.topic_file("pose");
    let before = std::fs::read(&file).unwrap();
    let value = r#"{"x": 1, "y": 2, "theta": 3, "counter": 1}"#;
    let cases: [(&[&str], &str); 6] = [
        (&["pub", "pose", value], "is already published by"),
        (
            &["pub", "pose", r#"{"x": "a"}"#],
            "field `x`: expects f64, got the string",
        ),
        (&["pub", "pose", "{x: 1}"], "is not JSON"),
        (
            &["pub", "pose", "1", "--type", "f64"],
            "carries TestPose, not f64",
        ),
        (&["pub", "new", "1"], "give its type with --type"),
        (
            &["pub", "new", "1", "--type", "float"],
            "`float` is not a type",
        ),
    ];
    for (args, want) in cases {
        let run = shm(root.path(), args);
        assert_eq!(run.code, Some(1), "{args:?}");
        assert!(
            run.err_text().contains(want),
            "{args:?}: {}",
            run.err_text()
        );
    }
    assert_eq!(std::fs::read(&file).unwrap(), before);
    drop(p);
    let before = std::fs::read(&file).unwrap();
    let negative = r#"{"x": 1, "y": 2, "theta": 3, "counter": -1}"#;
    let unknown = r#"{"x": 1, "y": 2, "theta": 3, "counter": 1, "z": 0}"#;
    for (args, want) in [
        (["pub", "pose", negative], "-1 is out of range for u64"),
        (["pub", "pose", unknown], "has no field `z`"),
        // A value that is no struct is wrong as a whole, not in its first field.
        (
            ["pub", "pose", "[1, 2]"],
            "value: expects a struct `TestPose`",
        ),
    ] {
        let run = shm(root.path(), &args);
        assert_eq!(run.code, Some(1), "{args:?}");
        assert!(
            run.err_text().contains(want),
            "{args:?}: {}",
            run.err_text()
        );
    }
    // Nothing was created, taken over or written.
    assert!(!root.topic_file("new").exists());
    assert_eq!(std::fs::read(&file).unwrap(), before);
    for (args, want) in [
        (
            &["pub", "pose", value, "--rate", "0"][..],
            "expects 0.001 to 1000000 Hz",
        ),
        (&["pub", "pose", value, "-n", "0"], "0 is not in 1.."),
        (
            &["pub", "pose", value, "--slots", "1"],
            "expects 2 to 4096 slots",
        ),
    ] {
        let run = shm(root.path(), args);
        assert_eq!(run.code, Some(2), "{args:?}: a usage error");
        assert!(
            run.err_text().contains(want),
            "{args:?}: {}",
            run.err_text()
        );
    }
    let huge = ["pub", "x", "1", "--type", "[u8; 18446744073709551615]"];
    let run = shm(root.path(), &huge);
    assert_eq!(run.code, Some(1));
    assert!(
        run.err_text().contains("at most 4294967296 bytes"),
        "{}",
        run.err_text()
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn rm_and_clean_remove_only_abandoned_topics_of_this_user() {
    let root = TempRoot::new("cli-clean");
    let mut live = root.publisher::<u64>("live");
    live.publish(&1).unwrap();
    root.publisher::<u64>("abandoned").publish(&1).unwrap();
    std::fs::write(root.path().join("shm.damaged"), b"junk").unwrap();

    let run = shm(root.path(), &["rm", "live"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.err_text().contains("is still published by"),
        "{}",
        run.err_text()
    );

    let dry = shm(root.path(), &["clean", "--dry-run", "--invalid"]);
    assert_eq!(dry.code, Some(0), "{}", dry.err_text());
    assert!(
        dry.out
            .iter()
            .any(|l| l.starts_with("would remove 'abandoned'"))
    );
    assert!(
        dry.out
            .iter()
            .any(|l| l.starts_with("would remove 'damaged'"))
    );
    assert!(root.topic_file("abandoned").exists() && root.topic_file("damaged").exists());

    // A file that is not a topic is removed only when asked.
    let run = shm(root.path(), &["clean"]);
    assert_eq!(
        run.out,
        [
            "removed 'abandoned': its publisher is gone",
            "removed 1 topic"
        ]
    );
    assert!(!root.topic_file("abandoned").exists() && root.topic_file("damaged").exists());
    let run = shm(root.path(), &["rm", "damaged"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.err_text().contains("shm rm --invalid damaged"),
        "{}",
        run.err_text()
    );
    let run = shm(root.path(), &["clean", "--invalid"]);
    assert_eq!(run.out.last().map(String::as_str), Some("removed 1 topic"));
    assert!(!root.topic_file("damaged").exists());
    assert!(root.topic_file("live").exists());
    live.publish(&2).unwrap();

    drop(live);
    let run = shm(root.path(), &["rm", "live", "never"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.out, ["removed 'live'"]);
    assert!(
        run.err_text().contains("no topic 'never'"),
        "{}",
        run.err_text()
    );
}

#[test]
fn another_users_topic_is_read_only_when_trusted_and_never_removed() {
    let Some(exe) = helper_for_other_users() else {
        return;
    };
    let root = TempRoot::shared("cli-owner");
    let mut theirs = Proc::spawn_as(
        exe.path(),
        root.path(),
        &["publish", "u64", "theirs", "1", "0"],
        Some(NOBODY),
    );
    theirs.expect_line("DONE", T);
    assert!(theirs.wait(T).success());
    let file = root.topic_file("theirs");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();

    let run = shm(root.path(), &["echo", "theirs", "-n", "1"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.err_text().contains("--owner 65534"),
        "{}",
        run.err_text()
    );
    let run = shm(
        root.path(),
        &["echo", "theirs", "-n", "1", "--owner", "65534"],
    );
    assert_eq!(
        (run.code, run.out.len()),
        (Some(0), 1),
        "{}",
        run.err_text()
    );
    // Listed with its owner; left alone by clean and rm.
    let list = shm(root.path(), &["list"]);
    assert!(
        list.out[1].ends_with("uid 65534 (nobody)"),
        "{:#?}",
        list.out
    );
    let clean = shm(root.path(), &["clean"]);
    assert_eq!(
        clean.out,
        [format!("nothing to clean in {}", root.path().display())]
    );
    let run = shm(root.path(), &["rm", "theirs"]);
    assert!(
        run.err_text().contains("left untouched"),
        "{}",
        run.err_text()
    );
    assert!(file.exists());
}

#[test]
fn help_sentences_are_whole() {
    let root = TempRoot::new("cli-help");
    let help = shm(root.path(), &["pub", "--help"]).out.join("\n");
    assert!(
        help.contains("(checked against an existing topic's type)")
            && help.contains("a field left out is zeros, as in Python"),
        "{help}"
    );
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let root = TempRoot::new("cli-usage");
    let run = shm(root.path(), &["lsit"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.err_text().contains("list"),
        "suggests the right command: {}",
        run.err_text()
    );
    let run = shm(root.path(), &["--help"]);
    assert_eq!(run.code, Some(0));
    assert!(run.out.iter().any(|l| l.contains("echo")), "{:#?}", run.out);
    let run = shm(root.path(), &["echo", ""]);
    assert_eq!(run.code, Some(1));
    assert!(run.err_text().contains("topic name"), "{}", run.err_text());
}

#[test]
fn json_keeps_every_float_and_pub_reads_it_back() {
    let root = TempRoot::new("cli-json-floats");
    root.publisher::<[f64; 3]>("v")
        .publish(&[f64::NAN, f64::INFINITY, -0.5])
        .unwrap();
    let run = shm(root.path(), &["echo", "v", "--once", "--json"]);
    let line = json_line(&run.out[0]);
    assert_eq!(line["value"], serde_json::json!(["nan", "inf", -0.5]));
    // The JSON echo prints is a value pub accepts (here from standard input).
    let mut child = Command::new(SHM)
        .args(["pub", "w", "-", "--type", "[f64; 3]"])
        .env(shm::ROOT_ENV, root.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let value = line["value"].to_string();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), value.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    let got = root
        .subscriber::<[f64; 3]>("w")
        .latest()
        .unwrap()
        .unwrap()
        .value;
    assert!(
        got[0].is_nan() && got[1] == f64::INFINITY && got[2] == -0.5,
        "{got:?}"
    );
}

#[test]
fn pub_fills_reserved_fields_and_echo_cuts_long_arrays_short() {
    #[derive(shm::ShmMessage, Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    struct Frame {
        id: u32,
        _reserved: [u8; 4],
        pixels: [u8; 100],
    }
    let root = TempRoot::new("cli-frame");
    let mut p = root.publisher::<Frame>("frame");
    p.publish(&Frame {
        id: 1,
        _reserved: [0; 4],
        pixels: [7; 100],
    })
    .unwrap();
    drop(p);
    let run = shm(root.path(), &["echo", "frame", "--once"]);
    let line = &run.out[0];
    assert!(line.ends_with("7, 7, … 100 elements] }"), "{line}");
    let full = shm(root.path(), &["echo", "frame", "--once", "--full"]);
    assert!(full.out[0].len() > line.len() && !full.out[0].contains('…'));
    // Fields left out are zeros, as Python's constructor leaves them (`id`, `_reserved`).
    let run = shm(root.path(), &["pub", "frame", "{}"]);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    let got = root.subscriber::<Frame>("frame").latest().unwrap().unwrap();
    let zeros = Frame {
        id: 0,
        _reserved: [0; 4],
        pixels: [0; 100],
    };
    assert_eq!(got.value, zeros);
    let pixels = serde_json::to_string(&vec![3u8; 100]).unwrap();
    let value = format!(r#"{{"id": 2, "pixels": {pixels}}}"#);
    let run = shm(root.path(), &["pub", "frame", &value]);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    let got = root
        .subscriber::<Frame>("frame")
        .latest()
        .unwrap()
        .unwrap()
        .value;
    let want = Frame {
        id: 2,
        _reserved: [0; 4],
        pixels: [3; 100],
    };
    assert_eq!(got, want);
}

#[test]
fn odd_files_named_like_topics_never_break_list_or_clean() {
    use std::os::unix::ffi::OsStrExt;
    let root = TempRoot::new("cli-odd");
    root.publisher::<u64>("ok").publish(&1).unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"shm.\xff\x1b[2J");
    std::fs::write(root.path().join(odd), b"junk").unwrap();
    std::fs::create_dir(root.path().join("shm.dir")).unwrap();
    let run = shm(root.path(), &["list", "--all", "--json"]);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    assert_eq!(run.json().as_array().unwrap().len(), 3, "{:#?}", run.out);
    let run = shm(root.path(), &["list", "--all"]);
    assert!(
        run.out.iter().all(|l| !l.contains('\u{1b}')),
        "{:#?}",
        run.out
    );
    // Neither the directory nor a file whose name is no topic name is removed.
    let run = shm(root.path(), &["clean", "--invalid", "--dry-run"]);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    assert_eq!(
        run.out,
        [
            "would remove 'ok': its publisher is gone",
            "would remove 1 topic"
        ]
    );
}

/// `shm args...` on `root` with at most `bytes` of address space, to completion.
fn shm_limited(root: &Path, args: &[&str], bytes: u64) -> Run {
    let mut p = Proc::spawn_limited(Path::new(SHM), root, args, &[], bytes);
    let lines = p.rest(T);
    let status = p.wait(T);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        None,
        "`shm {}` died: {lines:#?}",
        args.join(" ")
    );
    let (err, out): (Vec<_>, Vec<_>) = lines.into_iter().partition(|l| l.starts_with("stderr: "));
    Run {
        code: status.code(),
        out,
        err: err
            .into_iter()
            .map(|l| l["stderr: ".len()..].to_owned())
            .collect(),
    }
}

#[test]
fn a_schema_bomb_is_listed_in_bounded_memory() {
    // 131 bytes of schema claiming 4 GiB values holding 2^31 bools, in another user's sparse
    // file (ours when not root): `shm list` once took 16 GiB over it and aborted. Now every
    // command that looks at it stays within 256 MiB of address space, and a topic of this
    // user beside it is listed as usual.
    let root = TempRoot::shared("cli-bomb");
    let path = root.topic_file("bomb");
    shm_integration::hostile::plant_schema_bomb(&path);
    if helper_for_other_users().is_some() {
        std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    let mut p = root.publisher::<TestPose>("robot/pose");
    p.publish(&TestPose::nth(1)).unwrap();
    const LIMIT: u64 = 256 << 20;
    let list = shm_limited(root.path(), &["list"], LIMIT);
    assert_eq!(list.code, Some(0), "{}", list.err_text());
    let text = list.out.join("\n");
    assert!(
        text.contains("robot/pose") && text.contains("TestPose"),
        "{text}"
    );
    assert!(
        text.contains("bomb") && text.contains("[S; 2147483648]"),
        "{text}"
    );
    let json = shm_limited(root.path(), &["list", "--json", "--all"], LIMIT);
    assert_eq!(json.code, Some(0), "{}", json.err_text());
    assert_eq!(json.json().as_array().map(Vec::len), Some(2));
    let info = shm_limited(root.path(), &["info", "bomb", "--owner", "any"], LIMIT);
    assert_eq!(info.code, Some(0), "{}", info.err_text());
    let text = info.out.join("\n");
    assert!(text.contains("struct S {"), "{text}");
    // (Its value is not read: the file is not this user's, or too large to map here.)
    assert!(text.contains("last       none yet"), "{text}");
    let clean = shm_limited(root.path(), &["clean", "--dry-run", "--invalid"], LIMIT);
    assert_eq!(clean.code, Some(0), "{}", clean.err_text());
}

#[test]
fn names_from_files_never_reach_the_terminal_raw() {
    // A process may name itself anything (prctl), and that name is recorded in the header of
    // the topics it publishes: `shm list`, `info` and `--json` print it escaped.
    let root = TempRoot::new("cli-escape");
    let mut p = root.helper_with(
        &["hold", "pose", "t"],
        &[("SHM_HELPER_COMM", "\u{1b}[31mFORGED\u{9b}")],
    );
    p.expect_line("READY", T);
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["info", "t"],
        &["info", "t", "--json"],
    ] {
        let run = shm(root.path(), args);
        assert_eq!(run.code, Some(0), "{args:?}: {}", run.err_text());
        for line in run.out.iter().chain(&run.err) {
            assert!(
                !line.chars().any(shm::text::is_unprintable),
                "{args:?} printed a control character: {line:?}"
            );
        }
        let all = run.out.join("\n");
        assert!(all.contains("FORGED"), "{args:?}: {all}");
        if args.contains(&"--json") {
            // Written as JSON escapes, which JSON readers decode to the name as it is.
            assert!(all.contains("\\u001b[31mFORGED\\u009b"), "{all}");
            let json = run.json();
            let topic = if json.is_array() { &json[0] } else { &json };
            assert_eq!(topic["publisher"]["name"], "\u{1b}[31mFORGED\u{9b}");
        }
    }
    p.close_stdin();
    p.wait(T);
}

#[test]
fn another_users_fifo_is_never_removed_even_by_root() {
    // Root can open another user's FIFO (or device): `rm --invalid` and `clean --invalid` leave
    // it alone whatever its type, as they leave another user's regular files.
    let Some(_) = helper_for_other_users() else {
        return;
    };
    let root = TempRoot::shared("cli-fifo");
    let path = root.topic_file("pipe");
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo reads a NUL-terminated path that lives across the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    std::os::unix::fs::lchown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
    let run = shm(root.path(), &["rm", "--invalid", "pipe"]);
    assert_eq!(run.code, Some(1), "{:#?}", run.out);
    assert!(
        run.err_text().contains("uid 65534"),
        "names the owner: {}",
        run.err_text()
    );
    let run = shm(root.path(), &["clean", "--invalid"]);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_fifo(),
        "the FIFO is still there"
    );
}

#[test]
fn a_large_value_is_printed_without_building_it() {
    // A 16 MiB frame: `echo` and `info` print its first elements, and `--json` all of them,
    // from its bytes as they are walked (building it first took 840 MB), within 256 MiB of
    // address space beside the topic's 48 MiB mapping.
    let root = TempRoot::new("cli-large");
    let mut p = shm::Publisher::<[u8; 16 << 20]>::builder("camera/frame")
        .root(root.path())
        .create()
        .unwrap();
    let mut frame = vec![0u8; 16 << 20];
    for (i, b) in frame.iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    let frame: Box<[u8; 16 << 20]> = frame.into_boxed_slice().try_into().unwrap();
    p.publish(&frame).unwrap();
    const LIMIT: u64 = 320 << 20;
    // By default a block this large is summarised, in text and JSON; `--full` prints it all.
    let echo = shm_limited(root.path(), &["echo", "camera/frame", "--once"], LIMIT);
    assert_eq!(echo.code, Some(0), "{}", echo.err_text());
    assert_eq!(echo.out, ["#1 <16777216 u8: min 0, max 250, mean 125>"]);
    let info = shm_limited(root.path(), &["info", "camera/frame"], LIMIT);
    assert_eq!(info.code, Some(0), "{}", info.err_text());
    assert!(
        info.out
            .iter()
            .any(|l| l == "value      <16777216 u8: min 0, max 250, mean 125>"),
        "{:#?}",
        info.out
    );
    let json = shm_limited(
        root.path(),
        &["echo", "camera/frame", "--once", "--json"],
        LIMIT,
    );
    assert_eq!(json.code, Some(0), "{}", json.err_text());
    let summary = &json_line(&json.out[0])["value"];
    assert_eq!(summary["shape"], serde_json::json!([16 << 20]));
    assert_eq!(
        (&summary["dtype"], &summary["min"], &summary["max"]),
        (&"u8".into(), &0.into(), &250.into())
    );
    assert!(
        (summary["mean"].as_f64().unwrap() - 124.99953).abs() < 1e-4,
        "{summary}"
    );
    let echo = shm_limited(
        root.path(),
        &["echo", "camera/frame", "--once", "--full"],
        LIMIT,
    );
    assert!(echo.out[0].starts_with("#1 [0, 1, 2, ") && echo.out[0].ends_with(", 124]"));
    let json = shm_limited(
        root.path(),
        &["echo", "camera/frame", "--once", "--json", "--full"],
        LIMIT,
    );
    assert_eq!(json.code, Some(0), "{}", json.err_text());
    let line = json_line(&json.out[0]);
    let values = line["value"].as_array().unwrap();
    assert_eq!(values.len(), 16 << 20);
    assert!(
        values
            .iter()
            .enumerate()
            .all(|(i, v)| v == (i % 251) as u64)
    );
    let field = shm_limited(
        root.path(),
        &["echo", "camera/frame", "--once", "--field", "[300]"],
        LIMIT,
    );
    assert_eq!(field.out, ["#1 49"], "{}", field.err_text());
}

#[test]
fn bounded_sequences_and_strings_in_info_echo_and_pub() {
    #[derive(shm::ShmMessage, Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    struct Echo {
        angle: f32,
        ring: u32,
    }
    #[derive(shm::ShmMessage, Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    struct Scan {
        stamp: u64,
        frame_id: shm::BoundedString<16>,
        ranges: shm::BoundedVec<f32, 8>,
        echoes: shm::BoundedVec<Echo, 2>,
    }
    let root = TempRoot::new("cli-bounded");
    let mut p = root.publisher::<Scan>("scan");
    let scan = Scan {
        stamp: 7,
        frame_id: "lidar\u{1b}[2J".try_into().unwrap(),
        ranges: shm::BoundedVec::from_slice(&[1.5, 2.5]).unwrap(),
        echoes: shm::BoundedVec::from_slice(&[Echo {
            angle: 0.5,
            ring: 3,
        }])
        .unwrap(),
    };
    p.publish(&scan).unwrap();
    let info = shm(root.path(), &["info", "scan"]);
    assert_eq!(info.code, Some(0), "{}", info.err_text());
    let text = info.out.join("\n");
    for want in [
        "frame_id",
        "BoundedString<16>",
        "ranges",
        "BoundedVec<f32, 8>",
        "BoundedVec<Echo, 2>",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    // JSON: an array of the elements held, a JSON string (escaped).
    let run = shm(root.path(), &["echo", "scan", "--once", "--json"]);
    let line = json_line(&run.out[0]);
    assert_eq!(
        line["value"],
        serde_json::json!({"stamp": 7, "frame_id": "lidar\u{1b}[2J",
            "ranges": [1.5, 2.5], "echoes": [{"angle": 0.5, "ring": 3}]})
    );
    assert!(run.out[0].contains(r"lidar\u001b[2J"), "{}", run.out[0]);
    // Text: the string quoted, its escape sequence never reaching the terminal raw.
    let run = shm(root.path(), &["echo", "scan", "--once"]);
    assert!(
        run.out[0].contains(r#"frame_id: "lidar\u{1b}[2J", ranges: [1.5, 2.5], echoes: [Echo {"#),
        "{}",
        run.out[0]
    );
    drop(p);
    // pub takes them (empty, full), and refuses too long with the field and its capacity.
    let full = r#"{"stamp": 1, "frame_id": "0123456789abcdef", "ranges": [1, 2, 3, 4, 5, 6, 7, 8], "echoes": []}"#;
    let run = shm(root.path(), &["pub", "scan", full]);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    let got = root.subscriber::<Scan>("scan").latest().unwrap().unwrap();
    assert_eq!(got.value.frame_id.as_str(), "0123456789abcdef");
    assert_eq!(&got.value.ranges[..], &[1., 2., 3., 4., 5., 6., 7., 8.]);
    assert!(got.value.echoes.is_empty());
    let file = root.topic_file("scan");
    let before = std::fs::read(&file).unwrap();
    let cases = [
        (
            r#"{"stamp": 1, "frame_id": "0123456789abcdefg", "ranges": [], "echoes": []}"#,
            "field `frame_id`: is 17 bytes of UTF-8, more than its capacity 16 (a BoundedString<16>)",
        ),
        (
            r#"{"stamp": 1, "frame_id": "", "ranges": [1, 2, 3, 4, 5, 6, 7, 8, 9], "echoes": []}"#,
            "field `ranges`: has 9 elements, more than its capacity 8 (a BoundedVec<f32, 8>)",
        ),
        (
            r#"{"stamp": 1, "frame_id": 5, "ranges": [], "echoes": []}"#,
            "expects a string of at most 16 bytes, got the integer 5",
        ),
        (
            r#"{"stamp": 1, "frame_id": "", "ranges": [], "echoes": [{"angle": 1, "ring": -1}]}"#,
            "echoes[0].ring",
        ),
    ];
    for (value, want) in cases {
        let run = shm(root.path(), &["pub", "scan", value]);
        assert_eq!(run.code, Some(1), "{value}");
        assert!(run.err_text().contains(want), "{value}: {}", run.err_text());
    }
    assert_eq!(std::fs::read(&file).unwrap(), before, "nothing changed");
    // Types the tool creates.
    let run = shm(
        root.path(),
        &["pub", "names", r#""hé""#, "--type", "BoundedString<8>"],
    );
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    let mut names = root.subscriber::<shm::BoundedString<8>>("names");
    assert_eq!(names.latest().unwrap().unwrap().value, "hé");
    let run = shm(
        root.path(),
        &["pub", "odd", "[]", "--type", "BoundedVec<u8, 5>"],
    );
    assert_eq!(run.code, Some(1));
    assert!(
        run.err_text()
            .contains("choose a capacity that is a multiple of 8"),
        "{}",
        run.err_text()
    );
}

#[test]
fn info_shows_a_lending_topics_subscribers_and_pins() {
    let root = TempRoot::new("cli-lending");
    let mut p = shm::Publisher::<[u64; 512]>::builder("camera/frame")
        .root(root.path())
        .lending(true)
        .buffer_num(6)
        .create()
        .unwrap();
    let mut loan = p.loan().unwrap();
    loan[0] = 42;
    loan.publish().unwrap();
    let mut s = shm::Subscriber::<[u64; 512]>::builder("camera/frame")
        .root(root.path())
        .max_borrowed(2)
        .open()
        .unwrap();
    let held = s.borrow().unwrap().unwrap();
    let i = shm(root.path(), &["info", "camera/frame", "--json", "--full"]).json();
    // The tool's own read pinned and released a slot meanwhile; this subscriber's stays.
    assert_eq!(i["lending"]["entries"], 4);
    assert_eq!(i["lending"]["subscribers"], 1);
    assert_eq!(i["lending"]["reserved_slots"], 2);
    assert_eq!(i["lending"]["pinned_slots"], 1);
    assert_eq!(i["last_seq"], 1);
    assert_eq!(i["value"][0], 42);
    let plain = shm(root.path(), &["info", "camera/frame"]).out.join("\n");
    assert!(
        plain.contains("yes: 1 of 4 subscriber entries taken, 2 slots reserved, 1 pinned now"),
        "{plain}"
    );
    drop(held);
    let i = shm(root.path(), &["info", "camera/frame", "--json"]).json();
    assert_eq!(i["lending"]["pinned_slots"], 0);
}

#[test]
fn f32_prints_as_written_and_types_take_the_python_spelling() {
    let root = TempRoot::new("cli-f32");
    // Python's spellings of types: `f32[3]`, `u8[2, 3]`, `seq[f32, 8]`, `string[16]`.
    let run = shm(
        root.path(),
        &["pub", "g", "[9.81, 0.1, -1e30]", "--type", "f32[3]"],
    );
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    let mut sub = root.subscriber::<[f32; 3]>("g");
    assert_eq!(sub.latest().unwrap().unwrap().value, [9.81, 0.1, -1e30]);
    // The shortest text that reads back as the same f32, in text and JSON.
    let echo = shm(root.path(), &["echo", "g", "--once"]);
    assert_eq!(echo.out, ["#1 [9.81, 0.1, -1e30]"], "{}", echo.err_text());
    let json = shm(root.path(), &["echo", "g", "--once", "--json"]);
    assert_eq!(
        json_line(&json.out[0])["value"],
        serde_json::json!([9.81, 0.1, -1e30])
    );
    for (ty, value, want) in [
        (
            "u8[2, 3]",
            "[[1, 2, 3], [4, 5, 6]]",
            "#1 [[1, 2, 3], [4, 5, 6]]",
        ),
        ("seq[f32, 8]", "[0.5, 2]", "#1 [0.5, 2.0]"),
        ("string[16]", r#""hi""#, r#"#1 "hi""#),
    ] {
        let topic = format!("t{}", ty.len());
        let run = shm(root.path(), &["pub", &topic, value, "--type", ty]);
        assert_eq!(run.code, Some(0), "{ty}: {}", run.err_text());
        let echo = shm(root.path(), &["echo", &topic, "--once"]);
        assert_eq!(echo.out, [want], "{ty}: {}", echo.err_text());
    }
    let info = shm(root.path(), &["info", "t8", "--json"]).json();
    assert_eq!(info["type"], "[[u8; 3]; 2]");
    let run = shm(root.path(), &["pub", "x", "1", "--type", "f32[x]"]);
    assert!(
        run.err_text()
            .contains("an array such as `[f64; 3]` (or `f64[3]`)"),
        "{}",
        run.err_text()
    );
}

#[test]
fn echo_and_hz_say_when_the_publisher_is_gone() {
    let root = TempRoot::new("cli-gone");
    // A topic whose publisher left before it published anything.
    drop(root.publisher::<u64>("idle"));
    let echo = shm(root.path(), &["echo", "idle", "--timeout", "0.5"]);
    assert_eq!(echo.code, Some(1));
    assert!(
        echo.err_text()
            .contains("topic 'idle' has no value and its publisher is gone; waiting for a new one"),
        "{}",
        echo.err_text()
    );
    let hz = shm(root.path(), &["hz", "idle", "-n", "1"]);
    assert_eq!(
        hz.out,
        ["no new values: the publisher is gone"],
        "{}",
        hz.err_text()
    );
    let hz = shm(root.path(), &["hz", "idle", "-n", "1", "--json"]).json();
    assert_eq!(
        (&hz["rate_hz"], &hz["publisher_alive"]),
        (&Json::Null, &false.into())
    );
    // While a publisher lives (and publishes nothing), hz says only that nothing came.
    let _p = root.publisher::<u64>("idle");
    let hz = shm(root.path(), &["hz", "idle", "-n", "1"]);
    assert_eq!(hz.out, ["no new values"], "{}", hz.err_text());
}

#[test]
fn patterns_select_topics_to_list_find_remove_and_clean() {
    let root = TempRoot::new("cli-globs");
    let mut live = root.publisher::<u64>("robot/arm/live");
    live.publish(&1).unwrap();
    for t in ["robot/arm/old", "robot/leg/old", "camera/front"] {
        root.publisher::<u64>(t).publish(&1).unwrap();
    }
    root.publisher::<f64>("robot/speed").publish(&0.5).unwrap();
    let names = |run: &Run| -> Vec<String> {
        run.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["topic"].as_str().unwrap().to_owned())
            .collect()
    };
    // list PATTERN, --type; find TYPE.
    let run = shm(root.path(), &["list", "robot/*/old", "--json"]);
    assert_eq!(names(&run), ["robot/arm/old", "robot/leg/old"]);
    let run = shm(
        root.path(),
        &["list", "/robot/**", "--type", "f64", "--json"],
    );
    assert_eq!(names(&run), ["robot/speed"]);
    let run = shm(root.path(), &["list", "nothing/*"]);
    assert_eq!(run.out.len(), 1);
    assert!(
        run.out[0].starts_with("no matching topics in"),
        "{:?}",
        run.out
    );
    let run = shm(root.path(), &["find", "u64"]);
    assert_eq!(
        run.out,
        [
            "camera/front",
            "robot/arm/live",
            "robot/arm/old",
            "robot/leg/old"
        ]
    );
    // A pattern removes what it matches of this user, never a live topic, and says so.
    let run = shm(root.path(), &["rm", "robot/arm/*"]);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    assert_eq!(
        run.out,
        [
            "kept 1 topic(s) matching 'robot/arm/*' whose publisher is alive",
            "removed 'robot/arm/old'"
        ]
    );
    assert!(root.topic_file("robot/arm/live").exists());
    let run = shm(root.path(), &["rm", "nothing/**"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.err_text()
            .contains("no topic of this user matches 'nothing/**'")
    );
    // clean PATTERN leaves what does not match.
    let run = shm(root.path(), &["clean", "camera/*"]);
    assert_eq!(
        run.out,
        [
            "removed 'camera/front': its publisher is gone",
            "removed 1 topic"
        ]
    );
    assert!(root.topic_file("robot/leg/old").exists());
    // A file whose name an older version allowed (`a b`) is no topic any name reaches: it is
    // listed with the remedy, and `clean --invalid` removes it by its file name.
    drop(root.publisher::<u64>("ab"));
    std::fs::rename(root.topic_file("ab"), root.path().join("shm.a%20b")).unwrap();
    let all = shm(root.path(), &["list", "--all"]).out.join("\n");
    assert!(all.contains("`shm clean --invalid` removes it"), "{all}");
    let run = shm(root.path(), &["clean", "--invalid"]);
    assert!(
        run.out
            .iter()
            .any(|l| l == "removed file shm.a%20b: its name is no topic name"),
        "{:?}",
        run.out
    );
    assert!(!root.path().join("shm.a%20b").exists());
    // A pattern is never a name: `*` is refused as a topic name, with the grammar.
    let run = shm(root.path(), &["pub", "robot/*", "1", "--type", "u64"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.err_text().contains("topic name contains '*' at byte 6")
            && run.err_text().contains("letters, digits"),
        "{}",
        run.err_text()
    );
}

#[test]
fn bw_and_delay_measure_a_live_topic() {
    let root = TempRoot::new("cli-bw");
    let mut p = root.publisher::<[u8; 1000]>("frames");
    p.publish(&[0; 1000]).unwrap();
    let mut bw = spawn(root.path(), &["bw", "frames", "-n", "2", "--json"]);
    let mut delay = spawn(root.path(), &["delay", "frames", "-n", "2", "--json"]);
    let start = Instant::now();
    let (mut bws, mut delays) = (Vec::new(), Vec::new());
    while (bws.len() < 2 || delays.len() < 2) && start.elapsed() < T {
        p.publish(&[1; 1000]).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        if let Some(line) = bw.try_expect_line("{", Duration::ZERO) {
            bws.push(json_line(&line));
        }
        if let Some(line) = delay.try_expect_line("{", Duration::ZERO) {
            delays.push(json_line(&line));
        }
    }
    assert!(
        bws.len() == 2 && delays.len() == 2,
        "two reports of each in {:?}: {bws:?} {delays:?}",
        start.elapsed()
    );
    let (b, d) = (&bws[1], &delays[1]);
    // About 200 values of 1000 bytes per second: at most 201 kB/s, and each value whole.
    assert_eq!(b["mean_value_bytes"], 1000.0, "{b}");
    let bps = b["bytes_per_s"].as_f64().unwrap_or_else(|| panic!("{b}"));
    assert!(bps > 10_000.0 && bps <= 201_000.0, "{b}");
    // A delay is positive and below the test's whole run.
    let (mean, max) = (
        d["mean_ns"].as_f64().unwrap(),
        d["max_ns"].as_f64().unwrap(),
    );
    assert!(
        mean > 0.0 && mean <= max && max < T.as_nanos() as f64,
        "{d}"
    );
    assert_eq!(
        (bw.wait(T).code(), delay.wait(T).code()),
        (Some(0), Some(0))
    );
}

#[test]
fn colour_only_on_request_or_a_terminal_and_completions_for_shells() {
    let root = TempRoot::new("cli-colour");
    root.publisher::<u64>("t").publish(&1).unwrap();
    // Into a pipe: plain; `--color always`: ANSI styles; NO_COLOR has no say over `always`.
    let plain = shm(root.path(), &["list"]);
    assert!(!plain.out.join("\n").contains('\u{1b}'));
    let coloured = shm(root.path(), &["list", "--color", "always"]);
    assert!(
        coloured.out[0].starts_with("\u{1b}[1mTOPIC"),
        "{:?}",
        coloured.out
    );
    let err = shm(root.path(), &["info", "none", "--color", "always"]);
    assert!(
        err.err[0].starts_with("\u{1b}[1;31mshm: error:\u{1b}[0m"),
        "{:?}",
        err.err
    );
    let never = shm(root.path(), &["list", "--color", "never"]);
    assert!(never.out[0].starts_with("TOPIC") && !never.out.join("\n").contains('\u{1b}'));
    // On a terminal (a pseudo-terminal made by util-linux's `script`), `auto` colours unless
    // NO_COLOR is set.
    let on_terminal = |no_color: Option<&str>| -> String {
        // Quoted for `sh -c`, as the checkout may be anywhere.
        let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
        let command = format!(
            "{} --root {} list",
            quote(SHM),
            quote(&root.path().display().to_string())
        );
        let mut script = Command::new("script");
        script
            .args(["-qec", &command, "/dev/null"])
            .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            script.env("NO_COLOR", v);
        }
        let output = script
            .env("TERM", "xterm")
            .output()
            .expect("util-linux `script`");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    // (`script` is in Debian's essential packages; a machine without it skips this part.)
    if Command::new("script").arg("--version").output().is_ok() {
        assert!(on_terminal(None).contains("\u{1b}[1mTOPIC"));
        assert!(!on_terminal(Some("1")).contains('\u{1b}'));
        assert!(
            on_terminal(Some("")).contains('\u{1b}'),
            "an empty NO_COLOR is unset"
        );
    } else {
        eprintln!("no `script` here: colour on a terminal not checked");
    }
    for shell in ["bash", "zsh", "fish"] {
        let script = shm(root.path(), &["completions", shell]);
        assert_eq!(script.code, Some(0));
        assert!(script.out.join("\n").contains("shm"), "{shell}");
    }
}

#[test]
fn a_topic_directory_on_disk_is_warned_about_once() {
    // A directory next to the build (on the checkout's file system), unless that is a tmpfs.
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("disk-root-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let on_tmpfs = Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(&dir)
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "tmpfs");
    let run = shm(&dir, &["pub", "t", "1", "--type", "u64", "-n", "2"]);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    let warnings: Vec<&String> = run
        .err
        .iter()
        .filter(|l| l.starts_with("shm: warning:"))
        .collect();
    if on_tmpfs {
        assert!(warnings.is_empty(), "{warnings:?}");
    } else {
        assert_eq!(warnings.len(), 1, "once per directory: {:?}", run.err);
        assert!(
            warnings[0].contains("not a memory file system (tmpfs)"),
            "{}",
            warnings[0]
        );
    }
    // Silenced on request; a tmpfs root (the tests' own) is never warned about.
    let mut quiet = Proc::spawn_with(
        Path::new(SHM),
        &dir,
        &["pub", "t", "2"],
        None,
        &[("SHM_WARNINGS", "0")],
    );
    assert!(quiet.rest(T).iter().all(|l| !l.contains("warning")));
    assert!(quiet.wait(T).success());
    let root = TempRoot::new("cli-tmpfs");
    let run = shm(root.path(), &["pub", "t", "1", "--type", "u64"]);
    assert!(run.err.is_empty(), "{:?}", run.err);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_process_named_by_its_node_is_shown_so() {
    let root = TempRoot::new("cli-node");
    // `shm pub` names itself from SHM_NODE_NAME, as any program of the library does.
    let mut p = Proc::spawn_with(
        Path::new(SHM),
        root.path(),
        &["pub", "imu", "1", "--type", "u64", "--rate", "100"],
        None,
        &[("SHM_NODE_NAME", "imu_driver")],
    );
    let info = poll(T, "the topic", || {
        let run = shm(root.path(), &["info", "imu", "--json"]);
        (run.code == Some(0)).then(|| run.json())
    });
    assert_eq!(info["publisher"]["node"], "imu_driver", "{info}");
    let list = shm(root.path(), &["list"]).out.join("\n");
    assert!(
        list.contains(&format!("node imu_driver (pid {}, shm)", p.pid())),
        "{list}"
    );
    // A second publisher is told which node holds the topic.
    let run = shm(root.path(), &["pub", "imu", "2"]);
    assert!(
        run.err_text()
            .contains("is already published by node imu_driver (pid"),
        "{}",
        run.err_text()
    );
    signal(&p, libc::SIGINT);
    p.wait(T);
    // An invalid name in the environment is ignored, with a warning.
    let mut bad = Proc::spawn_with(
        Path::new(SHM),
        root.path(),
        &["pub", "other", "1", "--type", "u64"],
        None,
        &[("SHM_NODE_NAME", "two words")],
    );
    let lines = bad.rest(T);
    assert!(bad.wait(T).success());
    assert!(
        lines
            .iter()
            .any(|l| l.contains("SHM_NODE_NAME ignored: node name \"two words\" holds ' '")),
        "{lines:?}"
    );
    let info = shm(root.path(), &["info", "other", "--json"]).json();
    assert_eq!(info["publisher"]["node"], Json::Null);
}

/// A helper process serving `service` (`serve` squares u64s; `action-serve` counts).
fn served(root: &TempRoot, args: &[&str]) -> Proc {
    let mut p = root.helper(args);
    p.expect_line("READY", T);
    p
}

#[test]
fn list_shows_services_and_actions_as_one_row_each() {
    let root = TempRoot::new("cli-svc-list");
    let s = served(&root, &["serve", "math/square", "hang", "8", "8"]);
    let _a = served(&root, &["action-serve", "count", "count"]);
    let mut caller = root.helper(&["call", "math/square", "5", "hang"]);
    caller.expect_line("SENT", T);
    let run = shm(root.path(), &["list"]);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    let text = run.out.join("\n");
    let service = run
        .out
        .iter()
        .find(|l| l.starts_with("math/square"))
        .unwrap_or_else(|| panic!("{text}"));
    let cells: Vec<&str> = service
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(cells[1], "service u64 -> u64", "{service}");
    assert_eq!(cells[2], format!("pid {} (shm-test-helper)", s.pid()));
    assert_eq!(
        &cells[3..],
        ["1", "1"],
        "one client, one request unanswered: {service}"
    );
    assert!(text.contains("action u64 -> u64"), "{text}");
    // Their topics are not listed one by one (unless --all).
    assert!(!text.contains(".call/"), "{text}");
    assert!(
        shm(root.path(), &["list", "--all"])
            .out
            .join("\n")
            .contains("math/square/.call/0")
    );
}

#[test]
fn call_prints_the_reply_as_json_and_fails_clearly() {
    let root = TempRoot::new("cli-svc-call");
    let _s = served(&root, &["serve", "math/square", "square", "8", "8"]);
    let run = shm(root.path(), &["call", "math/square", "12"]);
    assert_eq!(
        (run.code, run.out.clone()),
        (Some(0), vec!["144".to_owned()]),
        "{}",
        run.err_text()
    );
    let run = shm(root.path(), &["call", "math/square", "1.5"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.err_text().contains("does not fit the type u64"),
        "{}",
        run.err_text()
    );
    let run = shm(root.path(), &["call", "nobody", "1"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.err_text()
            .contains("no server runs for service 'nobody'"),
        "{}",
        run.err_text()
    );
    let run = shm(root.path(), &["info", "math/square"]);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    assert!(
        run.out[0].starts_with("service math/square (server pid "),
        "{:?}",
        run.out
    );
    assert!(
        run.out.iter().any(|l| l == "request: u64") && run.out.iter().any(|l| l == "reply: u64")
    );
}

#[test]
fn action_send_prints_feedback_then_the_outcome() {
    let root = TempRoot::new("cli-act-send");
    let _a = served(&root, &["action-serve", "count", "count"]);
    let run = shm(root.path(), &["action", "send", "count", "3"]);
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    assert!(run.out[0].starts_with("accepted goal "), "{:?}", run.out);
    assert_eq!(
        &run.out[1..],
        ["feedback 1", "feedback 2", "feedback 3", "succeeded 3"]
    );
    let run = shm(
        root.path(),
        &["action", "send", "count", "100000", "--cancel-after", "2"],
    );
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    assert_eq!(
        &run.out[1..4],
        ["feedback 1", "feedback 2", "cancel asked: canceling"]
    );
    assert!(
        run.out.last().unwrap().starts_with("canceled "),
        "{:?}",
        run.out
    );
    let run = shm(root.path(), &["info", "count", "--json"]);
    let info = run.json();
    assert_eq!(info["kind"], "action");
    assert_eq!(info["feedback"]["type"], "u64");
}

#[test]
fn record_splits_and_compresses_and_play_takes_its_options_from_the_command_line() {
    let root = TempRoot::new("cli-record-play");
    // A ring of 64: the recorder loses nothing even when the machine is loaded.
    let mut publisher = shm::Publisher::<u64>::builder("rec/count")
        .root(root.path())
        .buffer_num(64)
        .create()
        .unwrap();
    let file = root.path().join("run.mcap");
    let file_arg = file.to_str().unwrap();
    let args = [
        "record",
        "-o",
        file_arg,
        "rec/*",
        "--compression",
        "lz4",
        "--split-duration",
        "1",
    ];
    let mut rec = spawn(root.path(), &args);
    assert_eq!(
        rec.line(T),
        format!(
            "recording rec/* into {}",
            root.path().join("run_0.mcap").display()
        )
    );
    assert_eq!(rec.line(T), "recording 'rec/count'");
    let start = Instant::now();
    let mut last = 0;
    while start.elapsed() < Duration::from_millis(2200) {
        last += 1;
        publisher.publish(&last).unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    signal(&rec, libc::SIGINT);
    let lines = rec.rest(T);
    assert_eq!(rec.wait(T).code(), Some(130), "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("going on in ") && l.ends_with("run_1.mcap")),
        "{lines:#?}"
    );
    let summary = lines.last().unwrap();
    let parts: usize = summary
        .rsplit_once(" into ")
        .and_then(|(_, rest)| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(parts >= 2, "{summary}");
    assert!(summary.ends_with("files (0 missed)"), "{summary}");
    let files: Vec<String> = (0..parts)
        .map(|n| {
            root.path()
                .join(format!("run_{n}.mcap"))
                .display()
                .to_string()
        })
        .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();

    let info = shm(root.path(), &[&["bag", "info"][..], &files].concat());
    assert_eq!(info.code, Some(0), "{}", info.err_text());
    let recorded = summary.split(' ').nth(1).unwrap();
    assert!(
        info.out.contains(&format!("messages:  {recorded}")),
        "{:#?}",
        info.out
    );

    // Played onto another name: its last value is the last one recorded.
    drop(publisher);
    let run = shm(
        root.path(),
        &[
            &["play", "--rate", "4", "--remap", "rec/count=rec/again"][..],
            &files,
        ]
        .concat(),
    );
    assert_eq!(run.code, Some(0), "{}", run.err_text());
    assert!(
        run.out[0].starts_with("playing 1 topic(s): rec/again"),
        "{:#?}",
        run.out
    );
    let mut again = root.subscriber::<u64>("rec/again");
    assert_eq!(again.latest().unwrap().unwrap().value, last);

    // Bad options: usage errors (2) or refusals (1), nothing written.
    for (args, code, says) in [
        (&["play", "--rate", "0", files[0]][..], 1, "a rate of 0"),
        (
            &["play", "--remap", "nothing", files[0]][..],
            2,
            "expects FROM=TO",
        ),
        (
            &["record", "-o", "x.mcap", "a", "--split-size", "10KB"][..],
            2,
            "at least 1M",
        ),
        (
            &["record", "-o", "x.mcap", "a", "--split-duration", "0.5"][..],
            2,
            "at least 1 second",
        ),
        (
            &["record", "-o", "x.mcap", "a", "--compression", "gzip"][..],
            2,
            "gzip",
        ),
        (&["bag", "info", file_arg][..], 1, "No such file"),
    ] {
        let run = shm(root.path(), args);
        assert_eq!(run.code, Some(code), "{args:?}: {}", run.err_text());
        assert!(
            run.err_text().contains(says),
            "{args:?}: {}",
            run.err_text()
        );
    }
    assert!(!Path::new("x.mcap").exists());
}
