//! Recording and replay (`make bench-record`, in `make bench`), in one run:
//! - recording throughput, uncompressed, zstd and lz4, of 8-byte values published at full speed and
//!   of 900 KiB frames (4-bit noise) published at full speed: messages/s and MB/s written, and the share of
//!   the values published that the recorder missed (the ring moved on before it read them);
//! - the publisher's cost (ns per publish of an 8-byte value) with no recorder and with one
//!   recording it, rounds alternating;
//! - replay timing: a 1 kHz topic recorded for a second and played back; how late each message
//!   is published against its recorded time (p50, p99).
//!
//! The publisher runs on one thread (CPU 0), the recorder on another (CPU 1, when there are
//! two), as two processes would. Each figure is the median over the rounds.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use shm::Publisher;
use shm::dynamic::{AnyPublisher, TopicSchema};
use shm::schema::{Primitive, SchemaDesc};
use shm_benches::{Root, pin_to_cpu};
use shm_record::player::{PlayOptions, Player};
use shm_record::recorder::{Compression, RecordOptions, Recorder, Stats};

const ROUNDS: usize = 3;
const RUN: Duration = Duration::from_secs(1);
const FRAME: usize = 900 * 1024;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs a recorder of `topic` on its own thread until `stop`, polling without pause.
fn recorder_thread(
    root: &Path,
    topic: &str,
    file: &Path,
    compression: Option<Compression>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(Stats, Duration)> {
    let options = RecordOptions {
        root: Some(root.to_path_buf()),
        compression,
        ..RecordOptions::default()
    };
    let mut recorder = Recorder::create(file, &[topic], options).expect("recorder");
    std::thread::spawn(move || {
        pin_to_cpu(1);
        let t0 = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            if recorder.poll().expect("poll") == 0 {
                std::hint::spin_loop();
            }
        }
        let took = t0.elapsed();
        (recorder.finish().expect("finish"), took)
    })
}

struct Throughput {
    messages_per_s: f64,
    /// Values recorded, MB/s (their CDR).
    in_mb_per_s: f64,
    /// The file written, MB/s.
    file_mb_per_s: f64,
    missed_share: f64,
}

/// Publishes as fast as it can for `RUN` while a recorder records; what the recorder kept up
/// with.
fn throughput(root: &Path, n: usize, frame: bool, compression: Option<Compression>) -> Throughput {
    let file = root.join(format!("t{n}.mcap"));
    let desc = if frame {
        SchemaDesc::array(SchemaDesc::primitive(Primitive::U8), FRAME as u64)
    } else {
        SchemaDesc::primitive(Primitive::U64)
    };
    let schema = Arc::new(TopicSchema::new(&desc).expect("schema"));
    let topic = format!("bench/t{n}");
    let mut publisher = AnyPublisher::builder(&topic, schema)
        .root(root)
        .buffer_num(if frame { 8 } else { 1024 })
        .create()
        .expect("publisher");
    let stop = Arc::new(AtomicBool::new(false));
    let handle = recorder_thread(root, &topic, &file, compression, Arc::clone(&stop));
    // Frames of 4-bit noise (zstd makes them about half as large), 16 different ones in turn
    // (two frames in one chunk are never the same); the first 8 bytes count.
    let kinds = if frame { 16 } else { 1 };
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut values: Vec<Vec<u8>> = (0..kinds)
        .map(|_| {
            (0..desc.size)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x & 0x0f) as u8
                })
                .collect()
        })
        .collect();
    let t0 = Instant::now();
    let mut published = 0u64;
    while t0.elapsed() < RUN {
        let value = &mut values[published as usize % kinds];
        value[..8].copy_from_slice(&published.to_ne_bytes());
        publisher.publish(value).expect("publish");
        published += 1;
    }
    std::thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    let (stats, took) = handle.join().expect("recorder");
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    drop(publisher);
    let _ = std::fs::remove_file(&file);
    let _ = shm::remove_topic_in(root, &topic);
    Throughput {
        messages_per_s: stats.messages as f64 / took.as_secs_f64(),
        in_mb_per_s: stats.bytes as f64 / 1e6 / took.as_secs_f64(),
        file_mb_per_s: size as f64 / 1e6 / took.as_secs_f64(),
        missed_share: 1.0 - stats.messages as f64 / published as f64,
    }
}

/// ns per publish of an 8-byte value for `RUN`, with a recorder or without.
fn publish_cost(root: &Path, n: usize, recording: bool) -> f64 {
    let topic = format!("bench/p{n}");
    let mut publisher = Publisher::<u64>::builder(&topic)
        .root(root)
        .buffer_num(1024)
        .create()
        .expect("publisher");
    let stop = Arc::new(AtomicBool::new(false));
    let file = root.join(format!("p{n}.mcap"));
    let handle = recording.then(|| recorder_thread(root, &topic, &file, None, Arc::clone(&stop)));
    let t0 = Instant::now();
    let mut count = 0u64;
    while t0.elapsed() < RUN {
        for _ in 0..1000 {
            publisher.publish(&count).expect("publish");
            count += 1;
        }
    }
    let ns = t0.elapsed().as_nanos() as f64 / count as f64;
    stop.store(true, Ordering::Relaxed);
    if let Some(h) = handle {
        h.join().expect("recorder");
    }
    drop(publisher);
    let _ = std::fs::remove_file(&file);
    let _ = shm::remove_topic_in(root, &topic);
    ns
}

/// A 1 kHz topic recorded for `RUN`, then played: (p50, p99) of how late each message was.
fn replay_timing(root: &Path, n: usize) -> (Duration, Duration) {
    let topic = format!("bench/r{n}");
    let file = root.join(format!("r{n}.mcap"));
    let mut publisher = Publisher::<u64>::builder(&topic)
        .root(root)
        .buffer_num(64)
        .create()
        .expect("publisher");
    let options = RecordOptions {
        root: Some(root.to_path_buf()),
        ..RecordOptions::default()
    };
    let mut recorder = Recorder::create(&file, &[topic.as_str()], options).expect("recorder");
    let t0 = Instant::now();
    for i in 0..1000u32 {
        let due = t0 + Duration::from_millis(u64::from(i));
        while Instant::now() < due {
            recorder.poll().expect("poll");
            std::thread::sleep(Duration::from_micros(100));
        }
        publisher.publish(&u64::from(i)).expect("publish");
    }
    recorder.finish().expect("finish");
    drop(publisher);
    let options = PlayOptions {
        root: Some(root.to_path_buf()),
        ..PlayOptions::default()
    };
    let mut player = Player::open(std::slice::from_ref(&file), options).expect("player");
    let stats = player.play(&|| false).expect("play");
    assert_eq!(stats.messages, 1000);
    drop(player);
    let _ = std::fs::remove_file(&file);
    let _ = shm::remove_topic_in(root, &topic);
    (stats.lateness_p50, stats.lateness_p99)
}

fn main() {
    if !shm_benches::benchmarking("record") {
        return;
    }
    pin_to_cpu(0);
    let root = Root::new("record");
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    println!(
        "recording at full publishing speed, median of {ROUNDS} rounds of {} s:",
        RUN.as_secs()
    );
    println!(
        "  {:<24} {:>12} {:>12} {:>12} {:>8}",
        "values", "messages/s", "values MB/s", "file MB/s", "missed"
    );
    for (label, frame, compression) in [
        ("8 B, uncompressed", false, None),
        ("8 B, zstd", false, Some(Compression::Zstd)),
        ("8 B, lz4", false, Some(Compression::Lz4)),
        ("900 KiB, uncompressed", true, None),
        ("900 KiB, zstd", true, Some(Compression::Zstd)),
        ("900 KiB, lz4", true, Some(Compression::Lz4)),
    ] {
        let runs: Vec<Throughput> = (0..ROUNDS)
            .map(|_| throughput(root.path(), next(), frame, compression))
            .collect();
        println!(
            "  {label:<24} {:>12.0} {:>12.1} {:>12.1} {:>7.1}%",
            median(runs.iter().map(|r| r.messages_per_s).collect()),
            median(runs.iter().map(|r| r.in_mb_per_s).collect()),
            median(runs.iter().map(|r| r.file_mb_per_s).collect()),
            100.0 * median(runs.iter().map(|r| r.missed_share).collect()),
        );
    }
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        without.push(publish_cost(root.path(), next(), false));
        with.push(publish_cost(root.path(), next(), true));
    }
    let (without, with) = (median(without), median(with));
    println!(
        "publish of 8 B: {without:.1} ns alone, {with:.1} ns while recorded ({:.2}x)",
        with / without
    );
    let timings: Vec<(Duration, Duration)> = (0..ROUNDS)
        .map(|_| replay_timing(root.path(), next()))
        .collect();
    let p50 = median(timings.iter().map(|t| t.0.as_secs_f64() * 1e3).collect());
    let p99 = median(timings.iter().map(|t| t.1.as_secs_f64() * 1e3).collect());
    println!("replay of a 1 kHz topic: late by {p50:.3} ms (p50), {p99:.3} ms (p99)");
}
