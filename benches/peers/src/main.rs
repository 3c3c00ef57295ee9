//! Round trips of large values between two processes pinned to two CPUs, busy-polling, for
//! `shm` and eclipse iceoryx2 side by side in one run: the sender writes the first and last
//! 8 bytes of a value of N bytes and publishes it; the receiver reads those bytes and answers
//! the same way. Zero-copy (a loan written in place, a borrow read in place) and by copy (a
//! whole value copied in and out). Medians of batch means, with the ratios the issue targets.
//!
//! The binary runs itself again as the echo process (`PEERS_ECHO=<case>`).

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use iceoryx2::prelude::*;

const SIZES: [usize; 6] = [8, 4096, 65_536, 1 << 20, 6 << 20, 24 << 20];
const ECHO_ENV: &str = "PEERS_ECHO";
const ROOT_ENV: &str = "PEERS_ROOT";

/// One side of a round trip: sends value `n` (writing its first and last word), and polls for
/// a value, returning its first word once its last word matches.
trait Side {
    fn send(&mut self, n: u64);
    fn poll(&mut self) -> Option<u64>;
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Lib {
    /// shm, lending topic, `loan_slice_uninit().reuse()` / `try_borrow`.
    ShmZeroCopy,
    /// shm, lending topic, `publish(&[u64])` / `try_recv_into(&mut Vec)`.
    ShmCopyLending,
    /// shm, copying topic (the default), `publish` / `try_recv_into`.
    ShmCopy,
    /// iceoryx2, `loan_slice_uninit` written in place / `receive` read in place.
    IoxZeroCopy,
    /// iceoryx2, `loan_slice_uninit().write_from_slice` / `receive` copied out.
    IoxCopy,
}

const LIBS: [Lib; 5] = [
    Lib::ShmZeroCopy,
    Lib::IoxZeroCopy,
    Lib::ShmCopyLending,
    Lib::ShmCopy,
    Lib::IoxCopy,
];

impl Lib {
    fn name(self) -> &'static str {
        match self {
            Lib::ShmZeroCopy => "shm zero-copy",
            Lib::ShmCopyLending => "shm copy (lending topic)",
            Lib::ShmCopy => "shm copy (copying topic)",
            Lib::IoxZeroCopy => "iceoryx2 zero-copy",
            Lib::IoxCopy => "iceoryx2 copy",
        }
    }

    fn code(self) -> usize {
        LIBS.iter().position(|l| *l == self).expect("listed")
    }
}

struct ShmSide {
    p: shm::Publisher<[u64]>,
    s: shm::Subscriber<[u64]>,
    words: usize,
    copy: bool,
    buf: Vec<u64>,
    out: Vec<u64>,
}

impl ShmSide {
    fn new(root: &str, out: &str, inp: &str, words: usize, lib: Lib) -> ShmSide {
        let lending = lib != Lib::ShmCopy;
        let p = shm::Publisher::<[u64]>::builder(out)
            .root(root)
            .lending(lending)
            .max_len(words)
            .create()
            .expect("shm publisher");
        let s = shm::Subscriber::<[u64]>::builder(inp)
            .root(root)
            .open()
            .expect("shm subscriber");
        ShmSide {
            p,
            s,
            words,
            copy: lib != Lib::ShmZeroCopy,
            buf: vec![0; words],
            out: Vec::with_capacity(words),
        }
    }
}

impl Side for ShmSide {
    fn send(&mut self, n: u64) {
        if self.copy {
            self.buf[0] = n;
            self.buf[self.words - 1] = n;
            self.p.publish(&self.buf).expect("publish");
            return;
        }
        let mut loan = self.p.loan_slice_uninit(self.words).expect("loan").reuse();
        loan[0] = n;
        loan[self.words - 1] = n;
        loan.publish().expect("publish");
    }

    fn poll(&mut self) -> Option<u64> {
        if self.copy {
            self.s.try_recv_into(&mut self.out).expect("read")?;
            return (self.out[self.words - 1] == self.out[0]).then_some(self.out[0]);
        }
        let v = self.s.try_borrow().expect("borrow")?;
        (v[self.words - 1] == v[0]).then_some(v[0])
    }
}

struct IoxSide {
    _node: Node<ipc::Service>,
    p: iceoryx2::port::publisher::Publisher<ipc::Service, [u64], ()>,
    s: iceoryx2::port::subscriber::Subscriber<ipc::Service, [u64], ()>,
    words: usize,
    copy: bool,
    buf: Vec<u64>,
}

impl IoxSide {
    fn new(prefix: &str, out: &str, inp: &str, words: usize, lib: Lib) -> IoxSide {
        let node = NodeBuilder::new()
            .create::<ipc::Service>()
            .expect("iceoryx2 node");
        let service = |name: &str| {
            node.service_builder(
                &format!("{prefix}/{name}")
                    .as_str()
                    .try_into()
                    .expect("name"),
            )
            .publish_subscribe::<[u64]>()
            .open_or_create()
            .expect("iceoryx2 service")
        };
        let p = service(out)
            .publisher_builder()
            .initial_max_slice_len(words)
            .create()
            .expect("iceoryx2 publisher");
        let s = service(inp)
            .subscriber_builder()
            .create()
            .expect("iceoryx2 subscriber");
        IoxSide {
            _node: node,
            p,
            s,
            words,
            copy: lib == Lib::IoxCopy,
            buf: vec![0; words],
        }
    }
}

impl Side for IoxSide {
    fn send(&mut self, n: u64) {
        let mut sample = self.p.loan_slice_uninit(self.words).expect("loan");
        let sample = if self.copy {
            self.buf[0] = n;
            self.buf[self.words - 1] = n;
            sample.write_from_slice(&self.buf)
        } else {
            let payload = sample.payload_mut();
            payload[0].write(n);
            payload[self.words - 1].write(n);
            // SAFETY: the loaned memory is initialised shared memory (zeros or earlier
            // values of this `u64` slice, any bit pattern of which is valid); the first and
            // last words were just written, as in the shm case.
            unsafe { sample.assume_init() }
        };
        sample.send().expect("send");
    }

    fn poll(&mut self) -> Option<u64> {
        let sample = self.s.receive().expect("receive")?;
        let v = sample.payload();
        if self.copy {
            self.buf.copy_from_slice(v);
            return (self.buf[self.words - 1] == self.buf[0]).then_some(self.buf[0]);
        }
        (v[self.words - 1] == v[0]).then_some(v[0])
    }
}

fn side(lib: Lib, size: usize, root: &str, echo: bool, pass: u32) -> Box<dyn Side> {
    let words = (size / 8).max(1);
    let (out, inp) = if echo {
        ("pong", "ping")
    } else {
        ("ping", "pong")
    };
    let tag = format!("{}-{size}-{pass}", lib.code());
    match lib {
        Lib::ShmZeroCopy | Lib::ShmCopyLending | Lib::ShmCopy => Box::new(ShmSide::new(
            root,
            &format!("{out}-{tag}"),
            &format!("{inp}-{tag}"),
            words,
            lib,
        )),
        Lib::IoxZeroCopy | Lib::IoxCopy => {
            let prefix = format!("shm-bench-peers-{}-{tag}", run_id());
            Box::new(IoxSide::new(&prefix, out, inp, words, lib))
        }
    }
}

/// The benchmark run's id (its process's pid), the same in the echo process.
fn run_id() -> u32 {
    if std::env::var_os(ECHO_ENV).is_some() {
        std::os::unix::process::parent_id()
    } else {
        std::process::id()
    }
}

fn pin_to_cpu(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is empty; CPU_SET and sched_setaffinity get valid pointers.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The echo process: answers every new value with the same value.
fn echo(case: &str) {
    let mut parts = case.split(':');
    let lib = LIBS[parts
        .next()
        .and_then(|c| c.parse::<usize>().ok())
        .expect("lib")];
    let size: usize = parts.next().and_then(|s| s.parse().ok()).expect("size");
    let pass: u32 = parts.next().and_then(|s| s.parse().ok()).expect("pass");
    let root = std::env::var(ROOT_ENV).expect("root");
    pin_to_cpu(1);
    let mut side = side(lib, size, &root, true, pass);
    let parent = std::os::unix::process::parent_id();
    let mut idle = 0u32;
    loop {
        match side.poll() {
            Some(n) => {
                side.send(n);
                idle = 0;
            }
            None => {
                idle = idle.wrapping_add(1);
                if idle.is_multiple_of(1 << 20) && std::os::unix::process::parent_id() != parent {
                    return;
                }
                std::hint::spin_loop();
            }
        }
    }
}

struct Echo(Child);

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The median round trip (ns) of `lib` at `size`, from batch means.
fn measure(lib: Lib, size: usize, root: &str, pass: u32) -> f64 {
    let _echo = Echo(
        Command::new(std::env::current_exe().expect("own path"))
            .env(ECHO_ENV, format!("{}:{size}:{pass}", lib.code()))
            .env(ROOT_ENV, root)
            .spawn()
            .expect("spawn echo"),
    );
    let mut me = side(lib, size, root, false, pass);
    // Until the echo answers (its subscriber may attach after a first send).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut n = 1u64;
    'ready: loop {
        n += 1;
        me.send(n);
        // Long enough for the echo to answer a large value copied twice.
        let until = Instant::now() + Duration::from_millis(if size <= 65_536 { 5 } else { 500 });
        while Instant::now() < until {
            if me.poll() == Some(n) {
                break 'ready;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} at {size}: no echo",
            lib.name()
        );
    }
    let per_batch = match size {
        s if s <= 65_536 => 2000,
        s if s <= 1 << 20 => 200,
        _ => 20,
    };
    let mut batches = Vec::new();
    for round in 0..23 {
        let start = Instant::now();
        for _ in 0..per_batch {
            n += 1;
            me.send(n);
            loop {
                if me.poll() == Some(n) {
                    break;
                }
                std::hint::spin_loop();
            }
        }
        // The first three batches warm up.
        if round >= 3 {
            batches.push(start.elapsed().as_nanos() as f64 / f64::from(per_batch));
        }
    }
    batches.sort_by(f64::total_cmp);
    batches[batches.len() / 2]
}

fn label(size: usize) -> String {
    match size {
        s if s >= 1 << 20 => format!("{} MiB", s >> 20),
        s if s >= 1024 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

fn us(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn main() {
    if let Ok(case) = std::env::var(ECHO_ENV) {
        echo(&case);
        return;
    }
    let root = format!("/dev/shm/shm-bench-peers.{}", std::process::id());
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir(&root).expect("bench root");
    pin_to_cpu(0);
    // Three passes over every case, interleaved, each case's figure the median of its three
    // (this machine is noisy: a pass alone can be off by several times).
    let mut runs = vec![vec![Vec::new(); LIBS.len()]; SIZES.len()];
    for pass in 0..3 {
        for (s, size) in SIZES.iter().enumerate() {
            for (l, lib) in LIBS.iter().enumerate() {
                runs[s][l].push(measure(*lib, *size, &root, pass));
            }
        }
        eprintln!("pass {} of 3 done", pass + 1);
    }
    let table: Vec<(usize, Vec<f64>)> = SIZES
        .iter()
        .zip(runs)
        .map(|(size, row)| {
            let row = row
                .into_iter()
                .map(|mut r| {
                    r.sort_by(f64::total_cmp);
                    r[r.len() / 2]
                })
                .collect();
            (*size, row)
        })
        .collect();
    let _ = std::fs::remove_dir_all(&root);
    println!(
        "\nround trips between two processes pinned to two CPUs, busy-polling (each the median of 3 interleaved passes of 20 batches, one run):"
    );
    print!("| size |");
    for lib in LIBS {
        print!(" {} |", lib.name());
    }
    println!(" zero-copy shm/iceoryx2 | copy shm (lending)/iceoryx2 |");
    println!("|---|{}---|---|", "---|".repeat(LIBS.len()));
    let base = table[0].1[Lib::ShmZeroCopy.code()];
    for (size, row) in &table {
        print!("| {} |", label(*size));
        for v in row {
            print!(" {} |", us(*v));
        }
        let zc = row[Lib::ShmZeroCopy.code()] / row[Lib::IoxZeroCopy.code()];
        let cp = row[Lib::ShmCopyLending.code()] / row[Lib::IoxCopy.code()];
        println!(" {zc:.2}× | {cp:.2}× |");
    }
    let flat = table.last().expect("sizes").1[Lib::ShmZeroCopy.code()] / base;
    println!(
        "\nshm zero-copy at 24 MiB / at 8 B: {flat:.2}× (target ≤ 1.5×: {})",
        if flat <= 1.5 { "met" } else { "MISSED" }
    );
}
