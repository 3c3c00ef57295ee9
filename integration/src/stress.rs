//! The soak run shared by the stress test (`tests/stress.rs`, seconds) and `make stress`
//! (`shm-stress`, minutes): one writer process publishing checksummed payloads as fast as it
//! can, reader processes verifying every value they read.

use std::path::Path;
use std::time::Duration;

use crate::process::Proc;
use crate::root::TempRoot;

/// What one reader process counted (its `READ ...` line).
#[derive(Debug, Default, Clone, Copy)]
pub struct Report {
    /// Values read.
    pub reads: u64,
    /// Values newer than the one before.
    pub distinct: u64,
    /// Values whose words do not belong to one publish.
    pub torn: u64,
    /// Values older than one read before.
    pub inversions: u64,
    /// Values whose counter is not their sequence number.
    pub mislabeled: u64,
    /// Copies retried because the writer overwrote the slot.
    pub retries: u64,
}

impl Report {
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

    /// Faults: torn, inverted or mislabelled values.
    pub fn faults(&self) -> u64 {
        self.torn + self.inversions + self.mislabeled
    }
}

/// Runs `helper`'s writer of payload `kind` for `millis` ms with `readers` reader processes in
/// a private root; returns the writer's count of values and each reader's report.
pub fn soak(helper: &Path, kind: &str, readers: usize, millis: u64) -> (u64, Vec<Report>) {
    let root = TempRoot::new(&format!("stress-{kind}"));
    let t = Duration::from_secs(30 + millis / 1000);
    let mut writer = Proc::spawn(
        helper,
        root.path(),
        &["stress-write", kind, "s", &(millis + 300).to_string()],
    );
    writer.expect_line("READY", t);
    let millis = millis.to_string();
    let mut procs: Vec<Proc> = (0..readers)
        .map(|_| Proc::spawn(helper, root.path(), &["stress-read", kind, "s", &millis]))
        .collect();
    let reports: Vec<Report> = procs
        .iter_mut()
        .map(|r| Report::parse(&r.expect_line("READ ", t)))
        .collect();
    let wrote = writer.expect_line("WROTE", t);
    for r in &mut procs {
        assert!(r.wait(t).success());
    }
    assert!(writer.wait(t).success());
    let wrote = wrote
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("WROTE <count>");
    (wrote, reports)
}
