//! The other process in multi-process tests. Talks over stdout lines (`READY`, `GOT`, ...),
//! with `SHM_ROOT` naming the topic directory.
//!
//! ```text
//! shm-test-helper publish   <kind> <topic> <count> <interval_us>   # count 0: forever
//! shm-test-helper hold      <kind> <topic>                         # publish 1 value, wait for stdin EOF
//! shm-test-helper subscribe <kind> <topic> <count> <timeout_ms>
//! shm-test-helper wait      <kind> <topic> <count> <timeout_ms>    # blocking recv_timeout
//! shm-test-helper stepper   <kind> <topic>         # stdin: p = publish (PUB seq / ERR why), d = drop, q = exit(0)
//! shm-test-helper hash      <kind>
//! shm-test-helper creator   <kind>           # stdin: topic names; creates each, publishes once
//! shm-test-helper last-words <kind> <topic>  # publish 1 value, then exit at once (no drop)
//! shm-test-helper burst <kind> <topic> <buffer_num>  # stdin: counts; publishes each burst at full speed
//! shm-test-helper flood <kind> <topic> <buffer_num> <millis>  # publishes at full speed
//! shm-test-helper stress-write <kind> <topic> <millis>
//! shm-test-helper stress-read  <kind> <topic> <millis>
//! shm-test-helper slice-recv   <topic> <count> <timeout_ms>  # Subscriber<[u64]>: GOT <seq> <len> <counter|torn>
//! shm-test-helper slice-latest <topic> <last>                # latest_into until value <last>: READ reads=.. torn=.. rooms=..
//! shm-test-helper waitset <timeout_ms> <deadline_ms> <topic>...  # one WaitSet over u64 topics (deadline 0: none)
//!     prints WAITING before each wait, then per event: GOT <i> <seq> <value> | NONE <i> |
//!     DEADLINE <i> | GONE <i> | TIMEOUT; stdin EOF ends it
//! ```
//! Service roles (`serve`, `call`, `call-flag`): see `shm_integration::services`.
//!
//! kinds: pose, pose-v2, u64, i64, f64, bool, s8, s64, s1k, s4k, s64k, svar (1 to 2048 words)
//!
//! `SHM_HELPER_COMM=<name>` renames the process first (`prctl(PR_SET_NAME)`, at most 15
//! bytes), as any program may, to test what tools print of the name a header records.

use std::io::{BufRead, Read};
use std::process::exit;
use std::time::{Duration, Instant};

use shm::{
    Publisher, RecvError, ShmMessage, SubscribeError, Subscriber, SubscriberBuilder, TopicOwner,
};
use shm_integration::payload::{Payload, S1K, S4K, S6M, S8, S64, S64K, SVar, check_slice};
use shm_integration::{TestPose, v2};

/// A message the helper can make from a counter and check.
trait Kind: ShmMessage + Copy {
    fn make(counter: u64) -> Self;
    /// The counter this value was made from, if it is intact.
    fn check(&self) -> Option<u64>;
}

impl Kind for TestPose {
    fn make(c: u64) -> Self {
        TestPose::nth(c)
    }
    fn check(&self) -> Option<u64> {
        (*self == TestPose::nth(self.counter)).then_some(self.counter)
    }
}

impl Kind for v2::TestPose {
    fn make(c: u64) -> Self {
        v2::TestPose {
            x: c as f64,
            y: -(c as f64),
            heading_deg: c as f32,
            _pad: 0,
            counter: c,
        }
    }
    fn check(&self) -> Option<u64> {
        Some(self.counter)
    }
}

impl Kind for u64 {
    fn make(c: u64) -> Self {
        c
    }
    fn check(&self) -> Option<u64> {
        Some(*self)
    }
}

impl Kind for i64 {
    fn make(c: u64) -> Self {
        -(c as i64)
    }
    fn check(&self) -> Option<u64> {
        Some(self.unsigned_abs())
    }
}

impl Kind for f64 {
    fn make(c: u64) -> Self {
        c as f64 + 0.5
    }
    fn check(&self) -> Option<u64> {
        Some(*self as u64)
    }
}

impl Kind for bool {
    fn make(c: u64) -> Self {
        c % 2 == 1
    }
    fn check(&self) -> Option<u64> {
        Some(u64::from(*self))
    }
}

macro_rules! payload_kinds {
    ($($t:ty),*) => {$(
        impl Kind for $t {
            fn make(c: u64) -> Self {
                <$t as Payload>::make(c)
            }
            fn check(&self) -> Option<u64> {
                <$t as Payload>::check(self)
            }
        }
    )*};
}
payload_kinds!(S8, S64, S1K, S4K, S64K);

impl Kind for SVar {
    fn make(c: u64) -> Self {
        SVar::make(c)
    }
    fn check(&self) -> Option<u64> {
        SVar::check(self)
    }
}

fn fail(msg: impl std::fmt::Display, code: i32) -> ! {
    eprintln!("{msg}");
    exit(code)
}

fn arg(args: &[String], i: usize) -> &str {
    args.get(i)
        .map(String::as_str)
        .unwrap_or_else(|| fail(format!("missing argument {i}"), 2))
}

fn num(args: &[String], i: usize) -> u64 {
    arg(args, i)
        .parse()
        .unwrap_or_else(|_| fail(format!("argument {i} is not a number"), 2))
}

/// A subscriber trusting the owner named by `SHM_TEST_OWNER` (a uid, or `any`), else the
/// default (this user).
fn open_subscriber<T: Kind>(topic: &str) -> Result<Subscriber<T>, SubscribeError> {
    test_owner(Subscriber::<T>::builder(topic)).open()
}

/// `builder` trusting the owner named by `SHM_TEST_OWNER` (a uid, or `any`), if set.
fn test_owner<T: ?Sized + shm::TopicType>(builder: SubscriberBuilder<T>) -> SubscriberBuilder<T> {
    match std::env::var("SHM_TEST_OWNER").ok().as_deref() {
        None => builder,
        Some("any") => builder.owner(TopicOwner::Anyone),
        Some(uid) => builder.owner(TopicOwner::Uid(
            uid.parse()
                .unwrap_or_else(|_| fail("SHM_TEST_OWNER is not a uid", 2)),
        )),
    }
}

fn publish<T: Kind>(args: &[String]) {
    let topic = arg(args, 2);
    let count = num(args, 3);
    let interval = Duration::from_micros(num(args, 4));
    let mut p = Publisher::<T>::new(topic).unwrap_or_else(|e| fail(e, 3));
    let first = p.next_seq();
    println!("READY {} {}", std::process::id(), first);
    let mut n = 0;
    let mut last = 0;
    while count == 0 || n < count {
        last = p
            .publish(&T::make(first + n))
            .unwrap_or_else(|e| fail(e, 3));
        n += 1;
        if !interval.is_zero() {
            std::thread::sleep(interval);
        }
    }
    println!("DONE {last}");
}

fn hold<T: Kind>(args: &[String]) {
    let topic = arg(args, 2);
    let mut p = Publisher::<T>::new(topic).unwrap_or_else(|e| fail(e, 3));
    let seq = p
        .publish(&T::make(p.next_seq()))
        .unwrap_or_else(|e| fail(e, 3));
    println!("READY {} {seq}", std::process::id());
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    println!("BYE");
}

fn subscribe<T: Kind>(args: &[String]) {
    let topic = arg(args, 2);
    let count = num(args, 3);
    let timeout = Duration::from_millis(num(args, 4));
    let mut s = match open_subscriber::<T>(topic) {
        Ok(s) => s,
        Err(e @ SubscribeError::SchemaMismatch(_)) => fail(e, 4),
        Err(e) => fail(e, 3),
    };
    println!("READY {}", std::process::id());
    let start = Instant::now();
    let mut got = 0;
    while got < count {
        if start.elapsed() > timeout {
            fail(format!("timed out with {got} of {count} values"), 5);
        }
        match s.try_recv() {
            Ok(Some(sample)) => {
                let Some(c) = sample.value.check() else {
                    fail(format!("torn value at seq {}", sample.seq), 6)
                };
                println!("GOT {} {c}", sample.seq);
                got += 1;
            }
            Ok(None) => std::thread::sleep(Duration::from_micros(100)),
            Err(e @ SubscribeError::SchemaMismatch(_)) => fail(e, 4),
            Err(e) => fail(e, 3),
        }
    }
}

/// Blocking waits: one line per `recv_timeout` (`GOT seq counter age_ns missed`, `TIMEOUT
/// waited_us`, `GONE pid`, `ERR message`), each after a `WAITING` line.
fn wait<T: Kind>(args: &[String]) {
    let topic = arg(args, 2);
    let count = num(args, 3);
    let timeout = Duration::from_millis(num(args, 4));
    // `into`: wait with `recv_timeout_into`, into one value on the heap (filled with garbage
    // first, so a wait that returned without writing it shows up as a torn value).
    let into = args.get(5).is_some_and(|a| a == "into");
    let mut out = Box::new(T::make(u64::MAX));
    let mut s = open_subscriber::<T>(topic).unwrap_or_else(|e| fail(e, 3));
    println!("READY {}", std::process::id());
    for _ in 0..count {
        println!("WAITING");
        let received = if into {
            s.recv_timeout_into(&mut out, timeout)
                .map(|sample| sample.map(|()| *out))
        } else {
            s.recv_timeout(timeout)
        };
        match received {
            Ok(sample) => {
                let age = sample.age().as_nanos();
                let Some(c) = sample.value.check() else {
                    fail(format!("torn value at seq {}", sample.seq), 6)
                };
                println!("GOT {} {c} {age} {}", sample.seq, sample.missed);
            }
            Err(RecvError::Timeout { waited, .. }) => println!("TIMEOUT {}", waited.as_micros()),
            Err(RecvError::PublisherGone { owner, .. }) => println!("GONE {}", owner.pid),
            Err(e) => println!("ERR {e}"),
        }
    }
    println!("DONE");
}

/// A publisher driven by stdin lines: `p` publishes the next value (`PUB seq`), `d` drops the
/// publisher (`DROPPED`), `q` exits at once without dropping it.
fn stepper<T: Kind>(args: &[String]) {
    let topic = arg(args, 2);
    let mut p = Some(Publisher::<T>::new(topic).unwrap_or_else(|e| fail(e, 3)));
    println!("READY {}", std::process::id());
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        match (line.trim(), p.as_mut()) {
            ("p", Some(publisher)) => match publisher.publish(&T::make(publisher.next_seq())) {
                Ok(seq) => println!("PUB {seq}"),
                Err(e) => println!("ERR {e}"),
            },
            ("d", _) => {
                p = None;
                println!("DROPPED");
            }
            ("q", _) => exit(0),
            (other, _) => fail(format!("bad command {other:?}"), 2),
        }
    }
}

fn stress_write<T: Kind>(args: &[String]) {
    let topic = arg(args, 2);
    let millis = num(args, 3);
    let mut p = Publisher::<T>::new(topic).unwrap_or_else(|e| fail(e, 3));
    println!("READY {}", std::process::id());
    let end = Instant::now() + Duration::from_millis(millis);
    let mut n = 0u64;
    // Check the clock only every 64 publishes, so the writer runs flat out.
    loop {
        for _ in 0..64 {
            let c = p.next_seq();
            p.publish(&T::make(c)).unwrap_or_else(|e| fail(e, 3));
            n += 1;
        }
        if Instant::now() >= end {
            break;
        }
    }
    println!("WROTE {n}");
}

fn stress_read<T: Kind>(args: &[String]) {
    let topic = arg(args, 2);
    let millis = num(args, 3);
    let mut s = open_subscriber::<T>(topic).unwrap_or_else(|e| fail(e, 3));
    println!("READY {}", std::process::id());
    let end = Instant::now() + Duration::from_millis(millis);
    let (mut reads, mut distinct, mut torn, mut inversions, mut mislabeled) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut last_seq = 0u64;
    let mut into = T::make(0);
    loop {
        for i in 0..16 {
            // Every other read into a reused value (`latest_into`), the others by value.
            let read = if i % 2 == 0 {
                s.latest()
            } else {
                s.latest_into(&mut into)
                    .map(|r| r.map(|sample| sample.map(|()| into)))
            };
            match read {
                Ok(Some(sample)) => {
                    reads += 1;
                    match sample.value.check() {
                        None => torn += 1,
                        // The writer publishes counter == seq.
                        Some(c) if c != sample.seq => mislabeled += 1,
                        Some(_) => {}
                    }
                    if sample.seq < last_seq {
                        inversions += 1;
                    } else if sample.seq > last_seq {
                        distinct += 1;
                        last_seq = sample.seq;
                    }
                }
                Ok(None) => {}
                Err(e) => fail(e, 3),
            }
        }
        if Instant::now() >= end {
            break;
        }
    }
    println!(
        "READ reads={reads} distinct={distinct} torn={torn} inversions={inversions} mislabeled={mislabeled} retries={}",
        s.retries()
    );
}

/// For each topic name read from stdin: creates the topic, publishes value 1 and, once
/// `publish` returned, prints `PUBLISHED <topic> <seq>` (the other side then reads the topic).
fn creator<T: Kind>(_: &[String]) {
    println!("READY {}", std::process::id());
    let mut keep = Vec::new();
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let topic = line.trim();
        let mut p = Publisher::<T>::new(topic).unwrap_or_else(|e| fail(e, 3));
        let seq = p.publish(&T::make(1)).unwrap_or_else(|e| fail(e, 3));
        println!("PUBLISHED {topic} {seq}");
        keep.push(p);
    }
}

/// Publishes one value and exits at once, without dropping the publisher: the kernel releases
/// the lock when the process ends, with no wake-up from the library.
fn last_words<T: Kind>(args: &[String]) {
    let topic = arg(args, 2);
    let mut p = Publisher::<T>::new(topic).unwrap_or_else(|e| fail(e, 3));
    println!("READY {}", std::process::id());
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    let seq = p
        .publish(&T::make(p.next_seq()))
        .unwrap_or_else(|e| fail(e, 3));
    println!("PUB {seq}");
    exit(0);
}

/// For each number `k` read from stdin: publishes `k` values as fast as it can, then prints
/// `PUB <last seq>`.
fn burst<T: Kind>(args: &[String]) {
    let topic = arg(args, 2);
    let buffer_num = num(args, 3) as usize;
    let mut p = Publisher::<T>::builder(topic)
        .buffer_num(buffer_num)
        .create()
        .unwrap_or_else(|e| fail(e, 3));
    println!("READY {}", std::process::id());
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let k: u64 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| fail("not a count", 2));
        let mut last = 0;
        for _ in 0..k {
            last = p
                .publish(&T::make(p.next_seq()))
                .unwrap_or_else(|e| fail(e, 3));
        }
        println!("PUB {last}");
    }
}

/// Publishes as fast as it can for `millis` ms with `buffer_num` slots; prints `FIRST <seq>`
/// after the first value, `DONE <last seq>` at the end.
fn flood<T: Kind>(args: &[String]) {
    let topic = arg(args, 2);
    let buffer_num = num(args, 3) as usize;
    let millis = num(args, 4);
    let mut p = Publisher::<T>::builder(topic)
        .buffer_num(buffer_num)
        .create()
        .unwrap_or_else(|e| fail(e, 3));
    let first = p
        .publish(&T::make(p.next_seq()))
        .unwrap_or_else(|e| fail(e, 3));
    println!("FIRST {first}");
    let end = Instant::now() + Duration::from_millis(millis);
    let mut last = first;
    while Instant::now() < end {
        for _ in 0..64 {
            last = p
                .publish(&T::make(p.next_seq()))
                .unwrap_or_else(|e| fail(e, 3));
        }
    }
    println!("DONE {last}");
}

fn hash<T: Kind>(_: &[String]) {
    println!("HASH {:#018x}", T::SCHEMA.hash());
}

fn dispatch<T: Kind>(args: &[String]) {
    match arg(args, 0) {
        "publish" => publish::<T>(args),
        "hold" => hold::<T>(args),
        "subscribe" => subscribe::<T>(args),
        "wait" => wait::<T>(args),
        "stepper" => stepper::<T>(args),
        "stress-write" => stress_write::<T>(args),
        "stress-read" => stress_read::<T>(args),
        "hash" => hash::<T>(args),
        "creator" => creator::<T>(args),
        "last-words" => last_words::<T>(args),
        "burst" => burst::<T>(args),
        "flood" => flood::<T>(args),
        other => fail(format!("unknown command {other}"), 2),
    }
}

/// One wait set over several `u64` topics: reports each event (reading the subscriber on a
/// value), until stdin closes.
fn waitset(args: &[String]) {
    let timeout = Duration::from_millis(num(args, 1));
    let deadline = num(args, 2);
    let mut subs: Vec<Subscriber<u64>> = args[3..]
        .iter()
        .map(|t| open_subscriber::<u64>(t).unwrap_or_else(|e| fail(e, 3)))
        .collect();
    let mut set = shm::WaitSet::new();
    let ids: Vec<shm::AttachmentId> = subs
        .iter()
        .map(|s| {
            if deadline > 0 {
                set.attach_deadline(s, Duration::from_millis(deadline))
            } else {
                set.attach(s)
            }
            .unwrap_or_else(|e| fail(e, 3))
        })
        .collect();
    // Stdin closing ends the loop (a thread wakes the set).
    let waker = set.waker();
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&closed);
    std::thread::spawn(move || {
        let _ = std::io::stdin().lock().read_to_end(&mut Vec::new());
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        waker.wake();
    });
    println!("READY {}", std::process::id());
    while !closed.load(std::sync::atomic::Ordering::SeqCst) {
        println!("WAITING");
        let events = set.wait(Some(timeout));
        if events.is_empty() && !closed.load(std::sync::atomic::Ordering::SeqCst) {
            println!("TIMEOUT");
        }
        for e in events {
            let i = ids
                .iter()
                .position(|id| *id == e.id)
                .expect("an id of this set");
            match e.kind {
                shm::EventKind::Value => match subs[i].try_recv() {
                    Ok(Some(s)) => println!("GOT {i} {} {}", s.seq, s.value),
                    Ok(None) => println!("NONE {i}"),
                    Err(e) => println!("ERR {i} {e}"),
                },
                shm::EventKind::Deadline => println!("DEADLINE {i}"),
                shm::EventKind::PublisherGone => println!("GONE {i}"),
                other => println!("OTHER {i} {other}"),
            }
        }
    }
    println!("DONE");
}

fn slice_subscriber(topic: &str) -> Subscriber<[u64]> {
    Subscriber::<[u64]>::new(topic).unwrap_or_else(|e| fail(e, 3))
}

/// Receives `count` slice values, printing each as it is read.
fn slice_recv(args: &[String]) {
    let mut s = slice_subscriber(arg(args, 1));
    let (count, timeout) = (num(args, 2), Duration::from_millis(num(args, 3)));
    println!("READY {}", std::process::id());
    let mut out = Vec::new();
    for _ in 0..count {
        match s.recv_timeout_into(&mut out, timeout) {
            Ok(sample) => {
                let check = check_slice(&out).map_or("torn".to_owned(), |c| c.to_string());
                println!("GOT {} {} {check}", sample.seq, out.len());
            }
            Err(e) => fail(e, 4),
        }
    }
}

/// Reads the newest slice value in a loop until it reads the value of counter `last` (at
/// most 60 s), counting torn values and the rooms it saw.
fn slice_latest(args: &[String]) {
    let mut s = slice_subscriber(arg(args, 1));
    let last = num(args, 2);
    let end = Instant::now() + Duration::from_secs(60);
    println!("READY {}", std::process::id());
    let (mut reads, mut torn, mut rooms) = (0u64, 0u64, std::collections::BTreeSet::new());
    let mut out = Vec::new();
    loop {
        if Instant::now() > end {
            fail("the last value never came", 4);
        }
        match s.latest_into(&mut out) {
            Ok(Some(_)) => {
                reads += 1;
                let counter = check_slice(&out);
                torn += u64::from(counter.is_none());
                rooms.extend(s.max_len());
                if counter == Some(last) {
                    break;
                }
            }
            Ok(None) => {}
            Err(e) => fail(e, 3),
        }
    }
    println!("READ reads={reads} torn={torn} rooms={}", rooms.len());
}

/// A lending publisher of `count` values (0: until killed) written in place (`loan`), as fast
/// as it can, from counter 1 on, into a topic of `slots` slots (and the octal mode given
/// next, if any); prints `DONE last-seq`.
fn lend_flood<P: Payload>(args: &[String]) {
    let topic = arg(args, 2);
    let count = num(args, 3);
    let slots = num(args, 4) as usize;
    let mode = args.get(5).map_or(shm::DEFAULT_MODE, |m| {
        u32::from_str_radix(m, 8).unwrap_or_else(|_| fail("the mode is not octal", 2))
    });
    let mut p = Publisher::<P>::builder(topic)
        .lending(true)
        .buffer_num(slots)
        .mode(mode)
        .create()
        .unwrap_or_else(|e| fail(e, 3));
    println!("READY {}", std::process::id());
    let mut last = 0;
    for c in (1..).take_while(|c| count == 0 || *c <= count) {
        let mut loan = p.loan().unwrap_or_else(|e| fail(e, 4));
        loan.fill(c);
        last = loan.publish().unwrap_or_else(|e| fail(e, 4));
    }
    println!("DONE {last}");
}

/// A subscriber of a lending topic that borrows `max` values (each newer than the last), says
/// `HELD seq counter` for each, then holds them until it is killed.
fn borrow_hold<P: Payload>(args: &[String]) {
    let topic = arg(args, 2);
    let max = num(args, 3) as u32;
    let mut s = test_owner(Subscriber::<P>::builder(topic))
        .max_borrowed(max)
        .open()
        .unwrap_or_else(|e| fail(e, 3));
    println!("READY {}", std::process::id());
    let mut held = Vec::new();
    for _ in 0..max {
        let b = s
            .borrow_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| fail(e, 4));
        println!("HELD {} {}", b.seq(), b.check().map_or(-1, |c| c as i64));
        held.push(b);
    }
    println!("HOLDING");
    loop {
        std::thread::sleep(Duration::from_secs(1));
        if held.iter().any(|b| b.check() != Some(b.seq())) {
            fail("a borrowed value changed", 5);
        }
    }
}

/// A subscriber of a lending topic that borrows values as fast as it can (up to `max` at once)
/// and checks that each is whole and unchanged while it holds it, and reads a copy beside them
/// whenever it lets one go; on a fault it says `CHANGED seq` (or `TORN seq` for a copy) and
/// exits with 5. Runs until killed.
fn borrow_churn<P: Payload>(args: &[String]) {
    let topic = arg(args, 2);
    let max = num(args, 3) as usize;
    let mut s = test_owner(Subscriber::<P>::builder(topic))
        .max_borrowed(max as u32)
        .open()
        .unwrap_or_else(|e| fail(e, 3));
    println!("READY {}", std::process::id());
    let mut held = std::collections::VecDeque::new();
    // SAFETY: zeros are a valid payload (ShmMessage's contract).
    let mut copy: Box<P> = unsafe { Box::new_zeroed().assume_init() };
    loop {
        match s.borrow() {
            Ok(Some(b)) => {
                if b.check() != Some(b.seq()) {
                    println!("CHANGED {}", b.seq());
                    exit(5);
                }
                held.push_back(b);
            }
            Ok(None) => {}
            Err(e) => fail(e, 4),
        }
        if held.len() == max {
            for b in &held {
                if b.check() != Some(b.seq()) {
                    println!("CHANGED {}", b.seq());
                    exit(5);
                }
            }
            held.pop_front();
            // A copy beside the borrows, through a free pin word.
            match s.latest_into(&mut copy) {
                Ok(Some(read)) if copy.check() != Some(read.seq) => {
                    println!("TORN {}", read.seq);
                    exit(5);
                }
                Ok(_) => {}
                Err(e) => fail(e, 4),
            }
        }
    }
}

fn main() {
    if let Ok(name) = std::env::var("SHM_HELPER_COMM") {
        let name = std::ffi::CString::new(name).unwrap_or_else(|e| fail(e, 2));
        // SAFETY: PR_SET_NAME reads a NUL-terminated string (the kernel copies at most 16
        // bytes of it); `name` lives across the call.
        if unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) } != 0 {
            fail(std::io::Error::last_os_error(), 3);
        }
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    match arg(&args, 0) {
        "slice-recv" => return slice_recv(&args),
        "slice-latest" => return slice_latest(&args),
        "waitset" => return waitset(&args),
        "serve" | "peek" | "action-cancel-id" | "action-discover" | "call" | "call-flood"
        | "call-flag" | "action-serve" | "action-send" | "serve-set" | "serve-exec" => {
            return shm_integration::services::main(&args);
        }
        "lend-flood" | "borrow-hold" | "borrow-churn" => {
            let run: fn(&[String]) = match (arg(&args, 0), arg(&args, 1)) {
                ("lend-flood", "u64") => lend_flood::<S8>,
                ("lend-flood", "s64k") => lend_flood::<S64K>,
                ("lend-flood", "s6m") => lend_flood::<S6M>,
                ("borrow-hold", "u64") => borrow_hold::<S8>,
                ("borrow-hold", "s64k") => borrow_hold::<S64K>,
                ("borrow-hold", "s6m") => borrow_hold::<S6M>,
                ("borrow-churn", "u64") => borrow_churn::<S8>,
                ("borrow-churn", "s64k") => borrow_churn::<S64K>,
                (_, other) => fail(format!("unknown kind {other}"), 2),
            };
            return run(&args);
        }
        _ => {}
    }
    match arg(&args, 1) {
        "pose" => dispatch::<TestPose>(&args),
        "pose-v2" => dispatch::<v2::TestPose>(&args),
        "u64" => dispatch::<u64>(&args),
        "i64" => dispatch::<i64>(&args),
        "f64" => dispatch::<f64>(&args),
        "bool" => dispatch::<bool>(&args),
        "s8" => dispatch::<S8>(&args),
        "s64" => dispatch::<S64>(&args),
        "s1k" => dispatch::<S1K>(&args),
        "s4k" => dispatch::<S4K>(&args),
        "s64k" => dispatch::<S64K>(&args),
        "svar" => dispatch::<SVar>(&args),
        other => fail(format!("unknown kind {other}"), 2),
    }
}
