//! The C API from a real C program (`tests/c/shm_c_peer.c`, built by `make c-test`, which
//! names it in `SHM_C_PEER`), run as a separate process next to Rust publishers and
//! subscribers of the same struct; and the header kept in the repository checked against the
//! one cbindgen generates from `src/lib.rs`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use shm::{Publisher, ShmMessage, Subscriber};

/// The C program's `struct Reading`, described the Rust way.
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Reading {
    value: f64,
    id: u32,
    ok: bool,
    _reserved: [u8; 3],
}

fn peer() -> PathBuf {
    let path = std::env::var_os("SHM_C_PEER").expect(
        "SHM_C_PEER names the C test program; run these tests with `make c-test`, which builds it",
    );
    PathBuf::from(path)
}

/// A fresh topic directory under /dev/shm, removed on drop.
struct Root(PathBuf);

impl Root {
    fn new(label: &str) -> Root {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = PathBuf::from(format!(
            "/dev/shm/shm-c-test.{}.{}.{label}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&path).unwrap();
        Root(path)
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The C program with `args`, in `root`, its stdout read line by line.
struct Peer {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Peer {
    fn spawn(root: &Path, args: &[&str]) -> Peer {
        let mut child = Command::new(peer())
            .args(args)
            .env(shm::ROOT_ENV, root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the C program");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer { child, lines }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a line from the C program within 20 s")
    }

    fn finish(mut self) -> bool {
        drop(self.child.stdin.take());
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("the C program did not exit within 20 s");
    }
}

#[test]
fn the_c_api_refuses_what_it_documents() {
    let root = Root::new("checks");
    let p = Peer::spawn(&root.0, &["checks", "c/checks"]);
    let mut lines = Vec::new();
    loop {
        let line = p.line();
        if line == "DONE" || line.starts_with("ERR") {
            lines.push(line);
            break;
        }
        lines.push(line);
    }
    assert_eq!(lines.last().map(String::as_str), Some("DONE"), "{lines:#?}");
    let failed: Vec<_> = lines.iter().filter(|l| !l.starts_with("OK")).collect();
    assert_eq!(failed, [&"DONE".to_owned()], "{lines:#?}");
    // The panic check is compiled in (SHM_TESTING): no unwind crossed into C.
    assert!(
        lines.iter().any(|l| l.contains("a panic inside")),
        "{lines:#?}"
    );
    assert!(p.finish());
}

#[test]
fn a_c_publisher_is_read_by_a_rust_subscriber() {
    let root = Root::new("c-to-rust");
    let p = Peer::spawn(&root.0, &["pub", "c/readings", "5"]);
    assert_eq!(p.line(), "PUBLISHED 5");
    let mut sub = Subscriber::<Reading>::builder("c/readings")
        .root(&root.0)
        .open()
        .unwrap();
    let all = sub.try_recv_all().unwrap();
    let got: Vec<Reading> = all.iter().map(|s| s.value).collect();
    let want: Vec<Reading> = (1..=5)
        .map(|i| Reading {
            value: f64::from(i) * 0.5,
            id: i,
            ok: i % 2 == 0,
            _reserved: [0; 3],
        })
        .collect();
    // A three-slot ring: the last three of five.
    assert_eq!(got, want[2..]);
    assert_eq!(all.last().unwrap().seq, 5);
    assert!(sub.publisher_alive().unwrap());
    assert!(p.finish());
}

#[test]
fn a_rust_publisher_is_read_by_a_c_subscriber() {
    let root = Root::new("rust-to-c");
    let p = Peer::spawn(&root.0, &["sub", "c/readings", "3"]);
    assert_eq!(p.line(), "READY");
    let mut publisher = Publisher::<Reading>::builder("c/readings")
        .root(&root.0)
        .create()
        .unwrap();
    for i in 1..=3u32 {
        publisher
            .publish(&Reading {
                value: f64::from(i) + 0.25,
                id: 10 + i,
                ok: i == 2,
                _reserved: [0; 3],
            })
            .unwrap();
        let want = format!(
            "GOT {} {:.1} {} seq={i}",
            10 + i,
            f64::from(i) + 0.25,
            u8::from(i == 2)
        );
        assert_eq!(p.line(), want);
    }
    assert!(p.finish());
}

#[test]
fn a_c_subscriber_of_another_type_is_refused_with_the_field_diff() {
    let root = Root::new("c-mismatch");
    let mut publisher = Publisher::<u64>::builder("c/readings")
        .root(&root.0)
        .create()
        .unwrap();
    publisher.publish(&7).unwrap();
    let p = Peer::spawn(&root.0, &["sub", "c/readings", "1"]);
    let line = p.line();
    // The message names both types (the topic's `u64`, the program's struct).
    assert!(
        line.starts_with("ERR subscriber: SHM_ERR_SCHEMA_MISMATCH:")
            && line.contains("Reading")
            && line.contains("u64"),
        "{line}"
    );
    assert!(!p.finish());
    // The C program reads a scalar topic, as a C user's first program does.
    let p = Peer::spawn(&root.0, &["scalar", "c/readings"]);
    assert_eq!(p.line(), "VALUE 7");
    assert!(p.finish());
}

#[test]
fn the_header_kept_in_the_repository_is_the_generated_one() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let kept_path = format!("{dir}/include/shm/shm.h");
    if std::env::var_os("SHM_UPDATE_HEADER").is_some() {
        std::fs::File::create(&kept_path)
            .unwrap()
            .write_all(&generated)
            .unwrap();
        return;
    }
    let kept = std::fs::read(&kept_path).unwrap_or_default();
    assert!(
        kept == generated,
        "shm-c/include/shm/shm.h is not what cbindgen makes of shm-c/src/lib.rs: run `make c-header` and commit it"
    );
}
