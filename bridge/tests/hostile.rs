//! An importing bridge facing a misbehaving peer (`examples/misbehaving_peer.rs`, a separate
//! process speaking the bridge's protocol): what it can make the bridge create is bounded, a
//! schema bomb costs nothing, a peer that never answers delays only its own topic, and an
//! exporting bridge never opens files outside its patterns.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use shm_integration::TestPose;
use shm_integration::process::{Proc, TIMEOUT as T, poll};
use shm_integration::root::TempRoot;

use support::{Bridge, on_free_port, pair, prefix, publish_until};

/// The importing bridge's address space: Zenoh's runtime reserves about 500 MB; the schema
/// bomb's 2^31 runs once took 16 GiB.
const MEMORY: u64 = 2 << 30;

/// The example built next to this test.
fn misbehaving_peer() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join("examples/misbehaving_peer");
    assert!(
        path.is_file(),
        "{} is missing: cargo test builds it",
        path.display()
    );
    path
}

/// An importing bridge on `root` listening on a free port, under [`MEMORY`], with `args`.
fn importer(root: &TempRoot, prefix: &str, args: &[&str]) -> (Bridge, String) {
    on_free_port("tcp", |endpoint| {
        let mut all = vec!["--listen", endpoint, "--prefix", prefix, "--import", "**"];
        all.extend_from_slice(args);
        Bridge::try_start_with(root.path(), &all, Some(MEMORY))
    })
}

/// The misbehaving peer, connected to `endpoint`, once it sent its first values.
fn peer(root: &TempRoot, endpoint: &str, prefix: &str, what: &str) -> Proc {
    let mut p = Proc::spawn(&misbehaving_peer(), root.path(), &[endpoint, prefix, what]);
    p.expect_line("READY", T);
    p
}

/// Topic files in `root` whose topic starts with `start`.
fn files(root: &TempRoot, start: &str) -> Vec<String> {
    shm::inspect::list(Some(root.path()))
        .unwrap()
        .filter_map(|e| match e {
            shm::inspect::Entry::Topic(info) if info.topic.starts_with(start) => Some(info.topic),
            _ => None,
        })
        .collect()
}

/// Stops the bridge with SIGINT and returns the rest of its log; it must exit cleanly (not
/// killed by an allocation it could not make).
fn stop(bridge: &mut Bridge) -> Vec<String> {
    support::stop(bridge, libc::SIGINT).0
}

#[test]
fn a_flood_of_topics_stops_at_max_topics_with_one_line_each() {
    let root = TempRoot::new("hostile-flood");
    let p = prefix("flood");
    let (mut bridge, endpoint) = importer(&root, &p, &["--max-topics", "5"]);
    let mut flood = peer(&root, &endpoint, &p, "flood");
    poll(T, "5 topics imported", || {
        (files(&root, "flood/").len() == 5).then_some(())
    });
    // The peer goes on sending all 50 for a while: no more files, no repeated lines.
    std::thread::sleep(Duration::from_millis(500));
    flood.kill9();
    assert_eq!(files(&root, "flood/").len(), 5);
    let log = stop(&mut bridge);
    let refused: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("5 remote topics are followed already (--max-topics)"))
        .collect();
    assert_eq!(refused.len(), 45, "one line per refused topic: {log:#?}");
    for line in &log {
        assert!(
            !line.chars().any(shm::text::is_unprintable),
            "a peer's name reached the log raw: {line:?}"
        );
    }
    let named = log
        .iter()
        .filter(|l| l.contains("flood/\\u{1b}]0;pwned"))
        .count()
        + files(&root, "flood/\u{1b}").len();
    assert_eq!(
        named, 1,
        "the escape-named topic is imported or refused: {log:#?}"
    );
}

#[test]
fn values_rings_and_schemas_too_large_are_refused_in_bounded_memory() {
    let root = TempRoot::new("hostile-sizes");
    let p = prefix("sizes");
    let (mut bridge, endpoint) = importer(
        &root,
        &p,
        &["--max-value-size", "1M", "--max-total-size", "16M"],
    );
    let mut sizes = peer(&root, &endpoint, &p, "sizes");
    // Each refused with one line, whatever their order.
    let mut log = Vec::new();
    for topic in ["'bomb/a'", "'ring/a'", "'huge/a'"] {
        if !log.iter().any(|l: &String| l.contains(topic)) {
            log.extend(bridge.log_until(topic));
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    sizes.kill9();
    log.extend(stop(&mut bridge));
    let line = |topic: &str| {
        let lines: Vec<&String> = log
            .iter()
            .filter(|l| l.contains(topic) && l.contains("import '"))
            .filter(|l| l.contains("refused") || l.contains("cannot"))
            .collect();
        assert_eq!(lines.len(), 1, "one line for {topic}: {log:#?}");
        lines[0].clone()
    };
    let bomb = line("'bomb/a'");
    assert!(
        bomb.contains(
            "its values are 4294967296 bytes ([S; 2147483648]), above --max-value-size 1048576"
        ),
        "{bomb}"
    );
    let ring = line("'ring/a'");
    assert!(
        ring.contains("its file (4096 slots of 65536 bytes) would take")
            && ring.contains("16777216 --max-total-size allows"),
        "{ring}"
    );
    let huge = line("'huge/a'");
    assert!(
        huge.contains("its values are 2097152 bytes, above --max-value-size 1048576"),
        "{huge}"
    );
    assert!(files(&root, "").is_empty(), "no file was made");
}

#[test]
fn a_peer_that_never_answers_delays_only_its_own_topic() {
    // A topic from a real exporting bridge keeps flowing while the importer waits (5 s) for
    // the schema of a topic whose peer never answers: it once held every topic of the pattern
    // for as long.
    let (a, b) = (
        TempRoot::new("hostile-silent-a"),
        TempRoot::new("hostile-silent-b"),
    );
    let p = prefix("silent");
    let (mut importer, _exporter, endpoint) =
        pair(&b, &["--import", "**"], &a, &["--export", "ok/**"], &p);
    let mut publisher = a.publisher::<TestPose>("ok/pose");
    let mut sub = b.subscriber::<TestPose>("ok/pose");
    let mut first = None;
    publish_until(&mut publisher, || {
        first = sub.try_recv().unwrap();
        first.is_some()
    });
    let first = first.unwrap();
    let _silent = peer(&b, &endpoint, &p, "silent");
    // Values published now arrive while the silent topic's schema is still asked for: before
    // the importer gives up on it (after 5 s), not after (as when it waited for it).
    let mut later = None;
    publish_until(&mut publisher, || {
        later = sub.try_recv().unwrap().filter(|s| s.seq > first.seq + 5);
        later.is_some()
    });
    let later = later.unwrap();
    assert_eq!(later.value, TestPose::nth(later.value.counter));
    let so_far = importer.proc.available();
    assert!(
        so_far.iter().all(|l| !l.contains("'silent/a'")),
        "the value waited for the silent topic's query to fail: {so_far:#?}"
    );
    let log = importer.log_until("'silent/a'");
    let silent = log.last().unwrap();
    assert!(
        silent.contains("no bridge answered with its schema"),
        "{silent}"
    );
}

#[test]
fn topics_whose_schema_never_came_give_their_place_back() {
    // With room for one topic, a silent peer's topic takes it while its schema is asked for;
    // once the query failed, it is let go and a real topic is imported (it once kept the place
    // for as long as the bridge ran).
    let (a, b) = (
        TempRoot::new("hostile-place-a"),
        TempRoot::new("hostile-place-b"),
    );
    let p = prefix("place");
    let (mut importer, endpoint) = importer(&b, &p, &["--max-topics", "1"]);
    let mut silent = peer(&b, &endpoint, &p, "silent");
    importer.log_until("'silent/a'");
    silent.kill9();
    let _exporter = Bridge::start(
        a.path(),
        &["--connect", &endpoint, "--prefix", &p, "--export", "ok/**"],
    );
    let mut publisher = a.publisher::<TestPose>("ok/pose");
    let mut sub = b.subscriber::<TestPose>("ok/pose");
    publish_until(&mut publisher, || sub.try_recv().unwrap().is_some());
}

#[test]
fn an_exporter_never_opens_files_outside_its_patterns_and_survives_a_bomb_in_them() {
    // Schema bombs planted in the exporting root, one outside the pattern and one inside: the
    // exporter (under a memory limit) opens only the second, and carries the real topic on.
    let a = TempRoot::new("hostile-export");
    shm_integration::hostile::plant_schema_bomb(&a.topic_file("other/bomb"));
    shm_integration::hostile::plant_schema_bomb(&a.topic_file("robot/bomb"));
    let p = prefix("exportbomb");
    let (mut ba, _) = on_free_port("tcp", |endpoint| {
        let args = ["--listen", endpoint, "--prefix", &p, "--export", "robot/**"];
        Bridge::try_start_with(a.path(), &args, Some(MEMORY))
    });
    let opened = Opens::watch(&a.topic_file("other/bomb"));
    let mut publisher = a.publisher::<TestPose>("robot/pose");
    publisher.publish(&TestPose::nth(1)).unwrap();
    ba.expect_log("exporting 'robot/pose'");
    // Several scans (every 200 ms) later:
    std::thread::sleep(Duration::from_millis(700));
    stop(&mut ba);
    assert_eq!(opened.count(), 0, "a file outside the pattern was opened");
}

/// Counts the opens of a file (inotify), by any process.
struct Opens {
    fd: libc::c_int,
}

impl Opens {
    fn watch(path: &Path) -> Opens {
        // SAFETY: inotify_init1 takes flags only.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(fd >= 0, "{}", std::io::Error::last_os_error());
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `fd` is the inotify descriptor just made; `c` is a NUL-terminated path that
        // lives across the call.
        let wd = unsafe { libc::inotify_add_watch(fd, c.as_ptr(), libc::IN_OPEN) };
        assert!(wd >= 0, "{}", std::io::Error::last_os_error());
        Opens { fd }
    }

    /// Opens since the watch began.
    fn count(&self) -> usize {
        let mut buf = [0u8; 4096];
        let mut n = 0;
        loop {
            // SAFETY: reads into `buf`, which is valid for its length, from our descriptor.
            let got = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if got <= 0 {
                return n;
            }
            let mut at = 0;
            while at + std::mem::size_of::<libc::inotify_event>() <= got as usize {
                // SAFETY: the kernel wrote whole events into `buf` up to `got`; the header is
                // read unaligned, by value.
                let event: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buf.as_ptr().add(at).cast()) };
                if event.mask & libc::IN_OPEN != 0 {
                    n += 1;
                }
                at += std::mem::size_of::<libc::inotify_event>() + event.len as usize;
            }
        }
    }
}

impl Drop for Opens {
    fn drop(&mut self) {
        // SAFETY: closes the descriptor this value owns, once.
        unsafe { libc::close(self.fd) };
    }
}
