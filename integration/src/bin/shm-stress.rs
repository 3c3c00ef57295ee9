//! `make stress`: a soak of writers at full speed with reader processes (8 B, 4 KiB and 64 KiB
//! checksummed values), then a loop of publishers killed with SIGKILL mid-write and taken over,
//! then a loop of borrowers of a lending topic killed while they hold values. Prints the
//! figures and exits non-zero on any fault.
//!
//! ```text
//! shm-stress <seconds per size> <kills> <readers>
//! ```

use std::path::Path;
use std::process::exit;
use std::time::{Duration, Instant};

use shm::{Publisher, Subscriber};
use shm_integration::payload::{Payload, S4K, S8, S64K};
use shm_integration::process::{Proc, helper_exe, helper_for_other_users};
use shm_integration::root::TempRoot;
use shm_integration::stress::soak;

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .map(|a| a.parse().expect("a number"))
        .unwrap_or(default)
}

/// A small deterministic generator for the kill delays (xorshift64).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[derive(Debug, Default)]
struct KillFaults {
    /// A value read after the kill whose words do not belong to one publish.
    torn: u64,
    /// Two reads after the kill returned different values.
    unstable: u64,
    /// The value read after the kill is older than one read before it.
    lost: u64,
    /// The next publisher did not continue right after the last complete value.
    gaps: u64,
    /// A writer never published, or a read never returned.
    hangs: u64,
}

impl KillFaults {
    fn total(&self) -> u64 {
        self.torn + self.unstable + self.lost + self.gaps + self.hangs
    }
}

/// One round: a writer process publishes `T` flat out; this process reads it; the writer is
/// killed at a random moment; the topic must hold its newest complete value, stably, and a new
/// publisher must continue right after it.
fn kill_round<T: Payload>(
    helper: &Path,
    root: &TempRoot,
    kind: &str,
    rng: &mut Rng,
    faults: &mut KillFaults,
) {
    let t = Duration::from_secs(10);
    let mut s = Subscriber::<T>::builder(kind)
        .root(root.path())
        .open()
        .expect("open");
    let before = s.latest().ok().flatten().map_or(0, |v| v.seq);
    let mut writer = Proc::spawn(helper, root.path(), &["stress-write", kind, kind, "60000"]);
    if writer.try_expect_line("READY", t).is_none() {
        faults.hangs += 1;
        return;
    }
    // Until the writer has published something new, then a random moment later.
    let deadline = Instant::now() + t;
    let mut seen = before;
    while seen <= before {
        match s.latest() {
            Ok(Some(v)) => seen = v.seq,
            Ok(None) => {}
            Err(e) => panic!("{kind}: read failed: {e}"),
        }
        if Instant::now() > deadline {
            faults.hangs += 1;
            return;
        }
    }
    std::thread::sleep(Duration::from_micros(rng.below(3000)));
    if let Ok(Some(v)) = s.latest() {
        seen = v.seq;
    }
    writer.kill9();

    let (a, b) = match (s.latest(), s.latest()) {
        (Ok(Some(a)), Ok(Some(b))) => (a, b),
        other => panic!(
            "{kind}: no value after the kill: {:?}",
            other.0.map(|v| v.map(|v| v.seq))
        ),
    };
    if a.value.check() != Some(a.seq) || b.value.check() != Some(b.seq) {
        faults.torn += 1;
    }
    if a.seq != b.seq {
        faults.unstable += 1;
    }
    if a.seq < seen {
        faults.lost += 1;
    }
    let mut next = Publisher::<T>::builder(kind)
        .root(root.path())
        .create()
        .expect("take over");
    let continues = next.takeover().map(|t| t.last_seq) == Some(a.seq)
        && next.publish(&T::make(a.seq + 1)).ok() == Some(a.seq + 1);
    if !continues {
        faults.gaps += 1;
    }
}

#[derive(Debug, Default)]
struct BorrowFaults {
    /// A borrowed value that was not whole, or changed while held (seen by a borrower or here).
    changed: u64,
    /// A killed borrower's entry or pins were not reclaimed: a subscriber reserving as much was
    /// refused afterwards.
    leaked: u64,
    /// The publisher stopped publishing (or failed) around a kill.
    stalls: u64,
}

impl BorrowFaults {
    fn total(&self) -> u64 {
        self.changed + self.leaked + self.stalls
    }
}

/// Borrowers killed at random points: a lending publisher process writes 64 KiB values flat
/// out into 6 slots; each round starts a borrower process (2 pins) that borrows, checks and
/// drops values as fast as it can, kills it after a random delay, then checks that another
/// subscriber reserving 2 pins is admitted at once (the dead one's entry and pins reclaimed),
/// that the publisher goes on, and that what this process borrows is whole and stays so. With
/// `other` (a helper another user can run, when this runs as root) the topic admits other users
/// and every second borrower is another user's, pinning with locks.
fn borrower_kills(helper: &Path, other: Option<&Path>, kills: u64, rng: &mut Rng) -> BorrowFaults {
    let t = Duration::from_secs(10);
    let root = TempRoot::new("stress-borrowers");
    let mut faults = BorrowFaults::default();
    let mode = if other.is_some() { "644" } else { "600" };
    let mut flood = Proc::spawn(
        helper,
        root.path(),
        &["lend-flood", "s64k", "frames", "0", "6", mode],
    );
    if flood.try_expect_line("READY", t).is_none() {
        faults.stalls += 1;
        return faults;
    }
    let mut watcher = Subscriber::<S64K>::builder("frames")
        .root(root.path())
        .open()
        .expect("open");
    for round in 0..kills {
        let args = ["borrow-churn", "s64k", "frames", "2"];
        let mut b = match other {
            Some(exe) if round % 2 == 1 => Proc::spawn_other_user(exe, root.path(), &args),
            _ => Proc::spawn(helper, root.path(), &args),
        };
        if b.try_expect_line("READY", t).is_none() {
            faults.leaked += 1;
            continue;
        }
        std::thread::sleep(Duration::from_micros(rng.below(3000)));
        b.kill9();
        faults.changed += b
            .available()
            .iter()
            .filter(|l| l.starts_with("CHANGED") || l.starts_with("TORN"))
            .count() as u64;
        // The killed borrower's place is free again at once.
        match Subscriber::<S64K>::builder("frames")
            .root(root.path())
            .max_borrowed(2)
            .open()
        {
            Ok(mut s) => match s.borrow() {
                Ok(Some(v)) if v.check() == Some(v.seq()) => {}
                _ => faults.changed += 1,
            },
            Err(_) => faults.leaked += 1,
        }
        // The publisher goes on.
        let before = watcher.latest().ok().flatten().map_or(0, |v| v.seq);
        let deadline = Instant::now() + t;
        loop {
            match watcher.try_borrow() {
                Ok(Some(v)) if v.seq() > before => {
                    if v.check() != Some(v.seq()) {
                        faults.changed += 1;
                    }
                    break;
                }
                Ok(_) => {}
                Err(_) => {
                    faults.stalls += 1;
                    break;
                }
            }
            if Instant::now() > deadline {
                faults.stalls += 1;
                break;
            }
        }
    }
    if flood.available().iter().any(|l| !l.starts_with("READY")) {
        // The flood only prints at its end: anything else is an error it hit.
        faults.stalls += 1;
    }
    flood.kill9();
    faults
}

fn main() {
    let seconds = arg(1, 60);
    let kills = arg(2, 1000);
    let readers = arg(3, 3) as usize;
    let helper = helper_exe();
    let mut failed = false;

    println!("== soak: one writer at full speed, {readers} reader processes, {seconds} s per size");
    println!("| value | written | reads | torn | inversions | mislabelled | retried copies |");
    println!("|---|---|---|---|---|---|---|");
    let mut total_reads = 0u64;
    for (kind, label) in [("s8", "8 B"), ("s4k", "4 KiB"), ("s64k", "64 KiB")] {
        let (wrote, reports) = soak(&helper, kind, readers, seconds * 1000);
        let sum =
            |f: fn(&shm_integration::stress::Report) -> u64| -> u64 { reports.iter().map(f).sum() };
        let faults = sum(|r| r.faults());
        failed |= faults > 0;
        total_reads += sum(|r| r.reads);
        println!(
            "| {label} | {wrote} | {} | {} | {} | {} | {} |",
            sum(|r| r.reads),
            sum(|r| r.torn),
            sum(|r| r.inversions),
            sum(|r| r.mislabeled),
            sum(|r| r.retries)
        );
    }
    println!("total reads: {total_reads}");

    println!("== kill loop: {kills} publishers killed with SIGKILL mid-write, each taken over");
    let start = Instant::now();
    let mut faults = KillFaults::default();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id()));
    let root = TempRoot::new("stress-kills");
    for i in 0..kills {
        match i % 3 {
            0 => kill_round::<S8>(&helper, &root, "s8", &mut rng, &mut faults),
            1 => kill_round::<S4K>(&helper, &root, "s4k", &mut rng, &mut faults),
            _ => kill_round::<S64K>(&helper, &root, "s64k", &mut rng, &mut faults),
        }
    }
    println!(
        "kills: {kills} in {:.1} s; torn: {}, unstable: {}, lost last values: {}, sequence gaps: {}, hangs: {}",
        start.elapsed().as_secs_f64(),
        faults.torn,
        faults.unstable,
        faults.lost,
        faults.gaps,
        faults.hangs
    );
    failed |= faults.total() > 0;

    println!(
        "== borrower kills: {kills} borrowers of a lending topic killed with SIGKILL while they borrow"
    );
    let start = Instant::now();
    // As root, half of them are another user's, pinning with locks.
    let other = helper_for_other_users();
    if other.is_some() {
        println!("(every second borrower is another user's, pinning with locks)");
    }
    let borrow_faults = borrower_kills(&helper, other.as_ref().map(|r| r.path()), kills, &mut rng);
    println!(
        "kills: {kills} in {:.1} s; torn or changed under a borrow: {}, leaked slots: {}, publisher stalls: {}",
        start.elapsed().as_secs_f64(),
        borrow_faults.changed,
        borrow_faults.leaked,
        borrow_faults.stalls
    );
    failed |= borrow_faults.total() > 0;
    if failed {
        println!("FAULTS FOUND");
        exit(1);
    }
    println!("no faults");
}
