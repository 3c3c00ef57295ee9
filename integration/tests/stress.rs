//! Concurrency stress across processes: one writer publishing checksummed payloads as fast as
//! it can, two readers in other processes verifying every value they read. Any torn read (a
//! value mixed from two publishes) fails the checksum; any older value after a newer one is an
//! inversion. Both must be zero, over millions of reads.

use std::path::Path;
use std::time::Duration;

use shm_integration::process::Proc;
use shm_integration::root::TempRoot;

/// How long each size runs. Four sizes keep the whole test well under a minute.
const MILLIS: u64 = 2500;

#[derive(Debug, Default)]
struct Report {
    reads: u64,
    distinct: u64,
    torn: u64,
    inversions: u64,
    mislabeled: u64,
    retries: u64,
}

fn parse(line: &str) -> Report {
    let mut r = Report::default();
    for kv in line.split_whitespace().skip(1) {
        let (k, v) = kv.split_once('=').expect("key=value");
        let v: u64 = v.parse().expect("number");
        match k {
            "reads" => r.reads = v,
            "distinct" => r.distinct = v,
            "torn" => r.torn = v,
            "inversions" => r.inversions = v,
            "mislabeled" => r.mislabeled = v,
            "retries" => r.retries = v,
            _ => {}
        }
    }
    r
}

fn run(kind: &str) -> Vec<Report> {
    let root = TempRoot::new(&format!("stress-{kind}"));
    let exe = Path::new(env!("CARGO_BIN_EXE_shm-test-helper"));
    let t = Duration::from_secs(30);
    let millis = MILLIS.to_string();
    let mut writer = Proc::spawn(
        exe,
        root.path(),
        &["stress-write", kind, "s", &(MILLIS + 300).to_string()],
    );
    writer.expect_line("READY", t);
    let mut readers: Vec<Proc> = (0..2)
        .map(|_| Proc::spawn(exe, root.path(), &["stress-read", kind, "s", &millis]))
        .collect();
    let reports: Vec<Report> = readers
        .iter_mut()
        .map(|r| parse(&r.expect_line("READ ", t)))
        .collect();
    let wrote = writer.expect_line("WROTE", t);
    for r in &mut readers {
        assert!(r.wait(t).success());
    }
    assert!(writer.wait(t).success());
    eprintln!("{kind}: {wrote}; readers: {reports:?}");
    reports
}

#[test]
fn no_torn_reads_and_no_inversions_under_contention() {
    let mut total_reads = 0;
    let mut total_retries = 0;
    for kind in ["s8", "s64", "s1k", "s64k"] {
        for r in run(kind) {
            assert_eq!(r.torn, 0, "{kind}: torn reads: {r:?}");
            assert_eq!(r.inversions, 0, "{kind}: order inversions: {r:?}");
            assert_eq!(
                r.mislabeled, 0,
                "{kind}: value and sequence disagree: {r:?}"
            );
            // The readers really raced a moving writer.
            assert!(
                r.distinct > 100,
                "{kind}: only {} distinct values: {r:?}",
                r.distinct
            );
            total_reads += r.reads;
            total_retries += r.retries;
        }
    }
    eprintln!("total reads {total_reads}, retried reads {total_retries}");
    assert!(total_reads > 3_000_000, "only {total_reads} reads");
}
