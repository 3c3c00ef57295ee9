//! Publish and subscribe costs by message size next to a plain `memcpy` of the same size, the
//! publisher's cost with 0 to 64 subscriber processes, and a cross-process round trip.
//!
//! The round trip re-executes this binary as an echo process (`SHM_BENCH_ECHO=<root>`): it
//! busy-polls topic `ping` and publishes every new value on `pong`; the benchmark publishes a
//! ping and busy-polls for the matching pong.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use shm::{BoundedVec, PublishClock, Publisher, ShmMessage, Subscriber};

const ECHO_ENV: &str = "SHM_BENCH_ECHO";
const READER_ENV: &str = "SHM_BENCH_READER";

struct Root(PathBuf);

impl Root {
    fn new(label: &str) -> Root {
        let p = PathBuf::from(format!("/dev/shm/shm-bench.{}.{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir(&p).expect("create bench root");
        Root(p)
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn publisher<T: ShmMessage>(root: &Path, topic: &str) -> Publisher<T> {
    Publisher::builder(topic)
        .root(root)
        .create()
        .expect("publisher")
}

fn subscriber<T: ShmMessage>(root: &Path, topic: &str) -> Subscriber<T> {
    Subscriber::builder(topic)
        .root(root)
        .open()
        .expect("subscriber")
}

fn bench_size<T: ShmMessage + Copy>(c: &mut Criterion, root: &Path, label: &str, value: &T) {
    let bytes = size_of::<T>() as u64;
    let mut p = publisher::<T>(root, label);
    let mut s = subscriber::<T>(root, label);
    p.publish(value).unwrap();

    // The reference: a plain copy of the same size between two buffers of this process.
    let src: Vec<u8> = vec![7; bytes as usize];
    let mut dst: Vec<u8> = vec![0; bytes as usize];
    let mut g = c.benchmark_group("memcpy");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function(BenchmarkId::from_parameter(label), |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&mut dst);
        })
    });
    g.finish();

    let mut g = c.benchmark_group("publish");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function(BenchmarkId::from_parameter(label), |b| {
        b.iter(|| p.publish(black_box(value)).unwrap())
    });
    g.finish();

    // Returns the value by value: fine for small messages, a copy too many for big ones.
    if bytes <= 64 * 1024 {
        let mut g = c.benchmark_group("subscribe_latest");
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| black_box(s.latest().expect("read").expect("value").seq))
        });
        g.finish();
    }

    let mut out = Box::new(*value);
    let mut g = c.benchmark_group("subscribe_latest_into");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function(BenchmarkId::from_parameter(label), |b| {
        b.iter(|| {
            let seq = s.latest_into(&mut out).expect("read").expect("value").seq;
            black_box(&mut out);
            seq
        })
    });
    g.finish();

    // Polling for something new when the newest value was read already: no copy, at any size.
    let mut g = c.benchmark_group("subscribe_try_recv_into_nothing_new");
    g.bench_function(BenchmarkId::from_parameter(label), |b| {
        b.iter(|| black_box(s.try_recv_into(&mut out).expect("read").is_none()))
    });
    g.finish();
}

fn sizes(c: &mut Criterion) {
    let root = Root::new("sizes");
    bench_size(c, &root.0, "8B", &0u64);
    bench_size(c, &root.0, "64B", &[1u64; 8]);
    bench_size(c, &root.0, "1KiB", &[2u64; 128]);
    bench_size(c, &root.0, "4KiB", &[5u64; 512]);
    let big = vec![3u64; 8192].into_boxed_slice();
    let big: Box<[u64; 8192]> = big.try_into().expect("64 KiB");
    bench_size(c, &root.0, "64KiB", &*big);
    let huge = vec![4u64; 131_072].into_boxed_slice();
    let huge: Box<[u64; 131_072]> = huge.try_into().expect("1 MiB");
    bench_size(c, &root.0, "1MiB", &*huge);

    // Coarse timestamps: the publish without its ~20 ns precise clock read.
    let mut p = Publisher::<u64>::builder("coarse")
        .root(&root.0)
        .clock(PublishClock::Coarse)
        .create()
        .expect("publisher");
    let mut g = c.benchmark_group("publish_coarse_timestamps");
    g.throughput(Throughput::Bytes(8));
    g.bench_function(BenchmarkId::from_parameter("8B"), |b| {
        b.iter(|| p.publish(black_box(&0u64)).unwrap())
    });
    g.finish();
}

/// 1 MiB of room for `f32`s: a bounded sequence copied only as far as it is filled.
type Ranges = BoundedVec<f32, 262_144>;

fn ranges(len: usize) -> Box<Ranges> {
    let mut v = Ranges::new_boxed();
    v.extend_from_slice(&vec![1.5; len]).expect("fits");
    v
}

/// A bounded sequence of 1 MiB of room, holding 1,000 values and full, in the groups of the
/// fixed sizes (`publish`, `subscribe_latest_into`), then the targets side by side.
fn bounded(c: &mut Criterion) {
    let root = Root::new("bounded");
    for (label, value) in [
        ("BoundedVec1MiB/1000", ranges(1000)),
        ("BoundedVec1MiB/full", ranges(262_144)),
    ] {
        let topic = label.replace('/', "_");
        let mut p = publisher::<Ranges>(&root.0, &topic);
        let mut s = subscriber::<Ranges>(&root.0, &topic);
        p.publish(&value).unwrap();
        let mut g = c.benchmark_group("publish");
        g.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| p.publish(black_box(&*value)).unwrap())
        });
        g.finish();
        let mut out = ranges(0);
        let mut g = c.benchmark_group("subscribe_latest_into");
        g.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                let seq = s.latest_into(&mut out).expect("read").expect("value").seq;
                black_box(&mut out);
                seq
            })
        });
        g.finish();
    }
    bounded_targets(&root.0);
}

/// The median time of one call of `f`, from `rounds` batches of `per_round` calls.
fn median_ns(mut f: impl FnMut(), rounds: usize, per_round: u32) -> Vec<f64> {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_round {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(per_round)
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One publish and one read of the bounded sequence next to the fixed message each target names,
/// measured in alternating batches in this one run, as medians and ratios.
fn bounded_targets(root: &Path) {
    fn pair<A: ShmMessage, B: ShmMessage>(
        root: &Path,
        name: &str,
        a: &A,
        b: &B,
        per_round: u32,
    ) -> [(f64, f64); 2] {
        let (mut pa, mut sa) = (
            publisher::<A>(root, &format!("{name}_a")),
            subscriber::<A>(root, &format!("{name}_a")),
        );
        let (mut pb, mut sb) = (
            publisher::<B>(root, &format!("{name}_b")),
            subscriber::<B>(root, &format!("{name}_b")),
        );
        pa.publish(a).unwrap();
        pb.publish(b).unwrap();
        // SAFETY: zeros are a valid value of every message type (ShmMessage's contract).
        let mut oa: Box<A> = unsafe { Box::new_zeroed().assume_init() };
        // SAFETY: as above.
        let mut ob: Box<B> = unsafe { Box::new_zeroed().assume_init() };
        let (mut pub_a, mut pub_b, mut sub_a, mut sub_b) = (vec![], vec![], vec![], vec![]);
        for _ in 0..15 {
            pub_a.extend(median_ns(|| drop(black_box(pa.publish(a))), 3, per_round));
            pub_b.extend(median_ns(|| drop(black_box(pb.publish(b))), 3, per_round));
            sub_a.extend(median_ns(
                || drop(black_box(sa.latest_into(&mut oa))),
                3,
                per_round,
            ));
            sub_b.extend(median_ns(
                || drop(black_box(sb.latest_into(&mut ob))),
                3,
                per_round,
            ));
        }
        [
            (median(pub_a), median(pub_b)),
            (median(sub_a), median(sub_b)),
        ]
    }
    println!("\nbounded sequences next to fixed messages (medians of 45 batches, one run):");
    println!("| case | op | bounded | fixed | ratio | target |");
    println!("|---|---|---|---|---|---|");
    let fixed_4k = [5u64; 512];
    let huge: Box<[u64; 131_072]> = vec![4u64; 131_072]
        .into_boxed_slice()
        .try_into()
        .expect("1 MiB");
    let cases = [
        (
            "1,000 of 262,144 f32 vs fixed 4 KiB",
            pair(root, "t1000", &*ranges(1000), &fixed_4k, 2000),
            1.3,
        ),
        (
            "full 262,144 f32 vs fixed 1 MiB",
            pair(root, "tfull", &*ranges(262_144), &*huge, 20),
            1.1,
        ),
    ];
    for (case, [publish, read], target) in cases {
        for (op, (bounded, fixed)) in [("publish", publish), ("read into", read)] {
            let ratio = bounded / fixed;
            let verdict = if ratio <= target { "met" } else { "MISSED" };
            println!(
                "| {case} | {op} | {bounded:.0} ns | {fixed:.0} ns | {ratio:.2}× | ≤ {target}×: {verdict} |"
            );
        }
    }
    // A slice publisher's elements go straight into the topic: no slower than publishing a
    // `BoundedVec` value already assembled (the elements copied once either way).
    for (n, per_round) in [(1000, 2000), (262_144, 20)] {
        let (slice, assembled) = slice_pair(root, n, per_round);
        let ratio = slice / assembled;
        let verdict = if ratio <= 1.1 { "met" } else { "MISSED" };
        println!(
            "| {n} f32: `Publisher<[f32]>` vs `BoundedVec` value | publish | {slice:.0} ns | {assembled:.0} ns | {ratio:.2}× | ≤ 1.1×: {verdict} |"
        );
    }
}

/// Medians of publishing `n` elements from a `&[f32]` with a slice publisher, and of
/// publishing the same elements as a `BoundedVec` value, in alternating batches.
fn slice_pair(root: &Path, n: usize, per_round: u32) -> (f64, f64) {
    let topic = format!("slice_{n}");
    let mut ps = Publisher::<[f32]>::builder(&topic)
        .root(root)
        .max_len(262_144)
        .create()
        .expect("create a slice publisher");
    let mut pv = publisher::<Ranges>(root, &format!("{topic}_vec"));
    let elems = vec![2.5f32; n];
    let value = ranges(n);
    let (mut slice, mut assembled) = (vec![], vec![]);
    for _ in 0..15 {
        slice.extend(median_ns(
            || drop(black_box(ps.publish(&elems))),
            3,
            per_round,
        ));
        assembled.extend(median_ns(
            || drop(black_box(pv.publish(&value))),
            3,
            per_round,
        ));
    }
    (median(slice), median(assembled))
}

/// Lending topics: the publisher's cost with 0 and 8 subscribers holding borrowed values (it
/// checks their pins on every publish) and on a topic other users may read (it also asks the
/// kernel for their pin locks), and copies in and out of a lending topic's slots next
/// to `memcpy` and to a copying topic's, measured in alternating batches in this one run.
fn lending(c: &mut Criterion) {
    let root = Root::new("lending");
    let lend = |topic: &str| {
        Publisher::<[u64; 8]>::builder(topic)
            .root(&root.0)
            .lending(true)
            .create()
            .expect("lending publisher")
    };
    let (mut idle, mut held) = (lend("idle"), lend("held"));
    // Readable by other users: its publisher asks the kernel for their pin locks per publish.
    let mut shared = Publisher::<[u64; 8]>::builder("shared")
        .root(&root.0)
        .lending(true)
        .mode(0o644)
        .create()
        .expect("lending publisher");
    shared.publish(&[1; 8]).unwrap();
    idle.publish(&[1; 8]).unwrap();
    held.publish(&[1; 8]).unwrap();
    // Eight subscribers, each holding the value it borrowed (8 pins of the 10 slots).
    let mut subs: Vec<Subscriber<[u64; 8]>> = (0..8)
        .map(|_| subscriber::<[u64; 8]>(&root.0, "held"))
        .collect();
    let _borrowed: Vec<_> = subs
        .iter_mut()
        .map(|s| s.borrow().expect("borrow").expect("a value"))
        .collect();
    let mut g = c.benchmark_group("publish_64B_lending");
    g.bench_function("0_borrowers", |b| {
        b.iter(|| idle.publish(black_box(&[2; 8])).unwrap())
    });
    g.bench_function("8_borrowers", |b| {
        b.iter(|| held.publish(black_box(&[2; 8])).unwrap())
    });
    g.finish();
    let (mut a, mut b, mut o) = (vec![], vec![], vec![]);
    for _ in 0..15 {
        a.extend(median_ns(
            || drop(black_box(idle.publish(&[3; 8]))),
            3,
            20_000,
        ));
        b.extend(median_ns(
            || drop(black_box(held.publish(&[3; 8]))),
            3,
            20_000,
        ));
        o.extend(median_ns(
            || drop(black_box(shared.publish(&[3; 8]))),
            3,
            20_000,
        ));
    }
    let (a, b, o) = (median(a), median(b), median(o));
    println!("\nlending topics (medians of 45 batches, one run):");
    println!("| case | figure | reference | ratio | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| publish 64 B with 8 borrowers vs none | {b:.1} ns | {a:.1} ns | {:.2}× | flat |",
        b / a
    );
    println!(
        "| publish 64 B, topic readable by others (mode 0o644) vs owner-only | {o:.1} ns | \
         {a:.1} ns | {:.2}× | two lock queries |",
        o / a
    );

    // 1 MiB by copy: a lending topic's publish and read next to `memcpy` and a copying topic.
    let huge: Box<[u64; 131_072]> = vec![4u64; 131_072]
        .into_boxed_slice()
        .try_into()
        .expect("1 MiB");
    let mut lp = Publisher::<[u64; 131_072]>::builder("big_lending")
        .root(&root.0)
        .lending(true)
        .create()
        .expect("publisher");
    let mut ls = subscriber::<[u64; 131_072]>(&root.0, "big_lending");
    let mut cp = publisher::<[u64; 131_072]>(&root.0, "big_copying");
    let mut cs = subscriber::<[u64; 131_072]>(&root.0, "big_copying");
    lp.publish(&huge).unwrap();
    cp.publish(&huge).unwrap();
    let mut out = huge.clone();
    let (src, mut dst) = (vec![7u8; 1 << 20], vec![0u8; 1 << 20]);
    let (mut m, mut lpub, mut cpub, mut lread, mut cread) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..15 {
        m.extend(median_ns(|| dst.copy_from_slice(black_box(&src)), 3, 50));
        lpub.extend(median_ns(|| drop(black_box(lp.publish(&huge))), 3, 50));
        cpub.extend(median_ns(|| drop(black_box(cp.publish(&huge))), 3, 50));
        lread.extend(median_ns(
            || drop(black_box(ls.latest_into(&mut out))),
            3,
            50,
        ));
        cread.extend(median_ns(
            || drop(black_box(cs.latest_into(&mut out))),
            3,
            50,
        ));
    }
    let m = median(m);
    for (case, v, target) in [
        ("publish 1 MiB, lending topic", median(lpub), "≤ 1.1×"),
        ("publish 1 MiB, copying topic", median(cpub), ""),
        ("latest_into 1 MiB, lending topic", median(lread), "≤ 1.1×"),
        ("latest_into 1 MiB, copying topic", median(cread), ""),
    ] {
        println!(
            "| {case} vs memcpy | {:.1} µs | {:.1} µs | {:.2}× | {target} |",
            v / 1e3,
            m / 1e3,
            v / m
        );
    }
}

/// Subscriber processes reading the topic in a loop (one read every 50 µs each).
struct Readers(Vec<Child>);

impl Drop for Readers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The publisher's cost with 0, 1, 4, 16 and 64 subscriber processes reading its topic.
fn fan_out(c: &mut Criterion) {
    let root = Root::new("fanout");
    let mut p = publisher::<[u64; 8]>(&root.0, "fanout");
    p.publish(&[0; 8]).unwrap();
    let mut g = c.benchmark_group("publish_64B_with_subscribers");
    g.throughput(Throughput::Bytes(64));
    for n in [0usize, 1, 4, 16, 64] {
        let _readers = Readers(
            (0..n)
                .map(|_| {
                    Command::new(std::env::current_exe().expect("own path"))
                        .env(READER_ENV, &root.0)
                        .spawn()
                        .expect("spawn a reader")
                })
                .collect(),
        );
        std::thread::sleep(Duration::from_millis(200));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| p.publish(black_box(&[1; 8])).unwrap())
        });
    }
    g.finish();
}

/// A subscriber process of `fan_out`.
fn reader(root: &Path) {
    let mut s = subscriber::<[u64; 8]>(root, "fanout");
    let parent = std::os::unix::process::parent_id();
    while std::os::unix::process::parent_id() == parent {
        black_box(s.latest().expect("read"));
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// Kills the echo process when the benchmark ends, however it ends.
struct Echo(Child);

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn round_trip(c: &mut Criterion) {
    let root = Root::new("rtt");
    let mut ping = publisher::<u64>(&root.0, "ping");
    let mut pong = subscriber::<u64>(&root.0, "pong");
    let _echo = Echo(
        Command::new(std::env::current_exe().expect("own path"))
            .env(ECHO_ENV, &root.0)
            .spawn()
            .expect("spawn echo process"),
    );
    // Wait until the echo answers.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 0u64;
    loop {
        n += 1;
        ping.publish(&n).unwrap();
        std::thread::sleep(Duration::from_millis(1));
        if pong.latest().expect("read").is_some_and(|s| s.value == n) {
            break;
        }
        assert!(Instant::now() < deadline, "echo process did not answer");
    }
    let mut g = c.benchmark_group("cross_process");
    g.bench_function("round_trip_8B", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                n += 1;
                ping.publish(&n).unwrap();
                loop {
                    if pong.try_recv().expect("read").is_some_and(|s| s.value == n) {
                        break;
                    }
                    std::hint::spin_loop();
                }
            }
            start.elapsed()
        })
    });
    g.finish();
}

/// The echo side of the round trip.
fn echo(root: &Path) {
    let mut ping = subscriber::<u64>(root, "ping");
    let mut pong = publisher::<u64>(root, "pong");
    let parent = std::os::unix::process::parent_id();
    let mut idle = 0u32;
    loop {
        match ping.try_recv().expect("read") {
            Some(s) => {
                pong.publish(&s.value).unwrap();
                idle = 0;
            }
            None => {
                idle = idle.wrapping_add(1);
                // Stop if the benchmark went away.
                if idle.is_multiple_of(1 << 20) && std::os::unix::process::parent_id() != parent {
                    return;
                }
                std::hint::spin_loop();
            }
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = sizes, bounded, lending, fan_out, round_trip
}

fn main() {
    if let Some(root) = std::env::var_os(ECHO_ENV) {
        echo(Path::new(&root));
        return;
    }
    if let Some(root) = std::env::var_os(READER_ENV) {
        reader(Path::new(&root));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
