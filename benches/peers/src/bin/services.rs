//! Request/reply round trips between two processes pinned to two CPUs: `shm` services next to
//! eclipse iceoryx2's request-response and a Unix-domain socket written here, side by side in
//! one run; each blocking (the waiting side sleeps in the kernel until woken) and spinning
//! (it polls), with an 8-byte and a 4 KiB request and reply. p50 and p99 of each call's time,
//! and the ratios the issue targets; then 64 `shm` client processes calling one server at once
//! (calls per second, p99). Also a `shm` pub/sub round trip, spinning: the floor a spinning
//! call is compared with.
//!
//! The binary runs itself again as the server (`SERVICES_SERVER=<case>:<size>`) and as the
//! 64 clients (`SERVICES_CLIENT=<calls>`).

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use iceoryx2::prelude::*;
use shm::service::{AnyClient, CallError};
use shm::{Client, Publisher, Server, ServerError, ShmMessage, Subscriber};

const SERVER_ENV: &str = "SERVICES_SERVER";
const CLIENT_ENV: &str = "SERVICES_CLIENT";
const ROOT_ENV: &str = "SERVICES_ROOT";
const CALLS: usize = 20_000;
const WARMUP: usize = 2_000;
const MANY: usize = 64;
const MANY_CALLS: usize = 2_000;

/// A request and reply value: its first and last words carry the call's number.
trait Payload: ShmMessage + ZeroCopySend + Copy + std::fmt::Debug + Send + 'static {
    fn make(n: u64) -> Self;
    /// The number, if the first and last words agree.
    fn number(&self) -> Option<u64>;
}

impl Payload for u64 {
    fn make(n: u64) -> u64 {
        n
    }
    fn number(&self) -> Option<u64> {
        Some(*self)
    }
}

impl Payload for [u64; 512] {
    fn make(n: u64) -> [u64; 512] {
        let mut v = [0; 512];
        v[0] = n;
        v[511] = n;
        v
    }
    fn number(&self) -> Option<u64> {
        (self[0] == self[511]).then_some(self[0])
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Case {
    ShmBlocking,
    IoxBlocking,
    Socket,
    ShmSpinning,
    IoxSpinning,
    /// A `Publisher<P>` / `Subscriber<P>` each way, polling: the floor.
    ShmPubSub,
}

const CASES: [Case; 6] = [
    Case::ShmBlocking,
    Case::IoxBlocking,
    Case::Socket,
    Case::ShmSpinning,
    Case::IoxSpinning,
    Case::ShmPubSub,
];

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::ShmBlocking => "shm service, blocking",
            Case::IoxBlocking => "iceoryx2 request-response, blocking",
            Case::Socket => "Unix socket, blocking",
            Case::ShmSpinning => "shm service, spinning",
            Case::IoxSpinning => "iceoryx2 request-response, spinning",
            Case::ShmPubSub => "shm pub/sub round trip, spinning",
        }
    }

    fn code(self) -> usize {
        CASES.iter().position(|c| *c == self).expect("listed")
    }

    fn spinning(self) -> bool {
        matches!(
            self,
            Case::ShmSpinning | Case::IoxSpinning | Case::ShmPubSub
        )
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

fn parent_gone(parent: u32) -> bool {
    std::os::unix::process::parent_id() != parent
}

/// An iceoryx2 node with the benchmark's request-response service on `root`; its event
/// services (the wake-ups of the blocking cases) come from [`Iox::event`].
struct Iox<P: Payload> {
    node: Node<ipc::Service>,
    rr: iceoryx2::service::port_factory::request_response::PortFactory<ipc::Service, P, (), P, ()>,
    root: String,
}

impl<P: Payload> Iox<P> {
    fn open(root: &str) -> Iox<P> {
        let node = NodeBuilder::new()
            .create::<ipc::Service>()
            .expect("iceoryx2 node");
        let rr = node
            .service_builder(&Self::name(root, "rr"))
            .request_response::<P, P>()
            .open_or_create()
            .expect("iceoryx2 service");
        Iox {
            node,
            rr,
            root: root.to_owned(),
        }
    }

    fn name(root: &str, s: &str) -> ServiceName {
        format!("{root}/{s}").as_str().try_into().expect("name")
    }

    fn event(&self, s: &str) -> iceoryx2::service::port_factory::event::PortFactory<ipc::Service> {
        self.node
            .service_builder(&Self::name(&self.root, s))
            .event()
            .open_or_create()
            .expect("iceoryx2 event service")
    }
}

// ---- the server process ----------------------------------------------------------------

fn serve<P: Payload>(case: Case, root: &str) {
    let parent = std::os::unix::process::parent_id();
    match case {
        Case::ShmBlocking | Case::ShmSpinning => {
            let mut server = Server::<P, P>::builder("bench/svc")
                .root(root)
                .max_clients(MANY)
                .create()
                .expect("shm server");
            println!("ready");
            loop {
                let request = if case.spinning() {
                    match server.try_recv() {
                        Ok(Some(r)) => r,
                        _ => {
                            std::hint::spin_loop();
                            continue;
                        }
                    }
                } else {
                    match server.recv_timeout(Duration::from_millis(500)) {
                        Ok(r) => r,
                        Err(ServerError::Timeout { .. }) if parent_gone(parent) => return,
                        Err(_) => continue,
                    }
                };
                let v = *request.value();
                request.reply(&v).expect("reply");
            }
        }
        Case::ShmPubSub => {
            let mut publisher = Publisher::<P>::builder("bench/pong")
                .root(root)
                .create()
                .expect("publisher");
            let mut subscriber = Subscriber::<P>::builder("bench/ping")
                .root(root)
                .open()
                .expect("subscriber");
            println!("ready");
            let mut idle = 0u32;
            loop {
                match subscriber.try_recv() {
                    Ok(Some(s)) => {
                        publisher.publish(&s.value).expect("publish");
                        idle = 0;
                    }
                    _ => {
                        idle = idle.wrapping_add(1);
                        if idle.is_multiple_of(1 << 22) && parent_gone(parent) {
                            return;
                        }
                        std::hint::spin_loop();
                    }
                }
            }
        }
        Case::Socket => {
            let path = format!("{root}/socket");
            let _ = std::fs::remove_file(&path);
            let listener = UnixListener::bind(&path).expect("bind");
            println!("ready");
            let (mut stream, _) = listener.accept().expect("accept");
            let mut buf = vec![0u8; size_of::<P>()];
            while stream.read_exact(&mut buf).is_ok() {
                stream.write_all(&buf).expect("write");
            }
        }
        Case::IoxBlocking | Case::IoxSpinning => {
            let iox = Iox::<P>::open(root);
            let server = iox.rr.server_builder().create().expect("iceoryx2 server");
            let requests = iox
                .event("req")
                .listener_builder()
                .create()
                .expect("listener");
            let replies = iox
                .event("resp")
                .notifier_builder()
                .create()
                .expect("notifier");
            println!("ready");
            loop {
                while let Some(request) = server.receive().expect("receive") {
                    let v = *request.payload();
                    request.send_copy(v).expect("send");
                    drop(request);
                    if !case.spinning() {
                        replies.notify().expect("notify");
                    }
                }
                if case.spinning() {
                    std::hint::spin_loop();
                } else {
                    // Woken by the client's notify (counted: one sent before the wait is not lost).
                    let _ = requests.timed_wait(|_| {}, Duration::from_millis(500));
                    if parent_gone(parent) {
                        return;
                    }
                }
            }
        }
    }
}

// ---- the calling side ------------------------------------------------------------------

/// Makes calls: `call(n)` sends request `n` and waits for its reply.
trait Caller {
    fn call(&mut self, n: u64);
}

struct ShmCaller<P> {
    client: Client<P, P>,
    spin: bool,
}

impl<P: Payload> Caller for ShmCaller<P> {
    fn call(&mut self, n: u64) {
        let request = P::make(n);
        let reply = if self.spin {
            let any: &AnyClient = self.client.as_any();
            // SAFETY: `P: ShmMessage` has no padding, so its bytes are initialised; the slice
            // borrows `request` only for this call.
            let bytes = unsafe {
                std::slice::from_raw_parts((&raw const request).cast::<u8>(), size_of::<P>())
            };
            let mut pending = any.send(bytes).expect("send");
            loop {
                match pending.wait_until(Instant::now() + Duration::from_micros(1)) {
                    Ok(Some(reply)) => break reply[..8].try_into().map(u64::from_ne_bytes),
                    Ok(None) => std::hint::spin_loop(),
                    Err(e) => panic!("call: {e}"),
                }
            }
            .expect("8 bytes")
        } else {
            match self.client.call(&request, Duration::from_secs(5)) {
                Ok(reply) => reply.number().expect("intact"),
                Err(CallError::Busy { .. }) => return self.call(n),
                Err(e) => panic!("call: {e}"),
            }
        };
        assert_eq!(reply, n);
    }
}

struct SocketCaller {
    stream: UnixStream,
    buf: Vec<u8>,
}

impl Caller for SocketCaller {
    fn call(&mut self, n: u64) {
        let len = self.buf.len();
        self.buf[..8].copy_from_slice(&n.to_ne_bytes());
        self.buf[len - 8..].copy_from_slice(&n.to_ne_bytes());
        self.stream.write_all(&self.buf).expect("write");
        self.stream.read_exact(&mut self.buf).expect("read");
        assert_eq!(self.buf[..8], n.to_ne_bytes());
    }
}

struct IoxCaller<P: Payload> {
    _node: Node<ipc::Service>,
    client: iceoryx2::port::client::Client<ipc::Service, P, (), P, ()>,
    requests: iceoryx2::port::notifier::Notifier<ipc::Service>,
    replies: iceoryx2::port::listener::Listener<ipc::Service>,
    spin: bool,
}

impl<P: Payload> Caller for IoxCaller<P> {
    fn call(&mut self, n: u64) {
        let pending = self.client.send_copy(P::make(n)).expect("send");
        if !self.spin {
            self.requests.notify().expect("notify");
        }
        let reply = loop {
            if let Some(r) = pending.receive().expect("receive") {
                break *r.payload();
            }
            if self.spin {
                std::hint::spin_loop();
            } else {
                let _ = self.replies.timed_wait(|_| {}, Duration::from_millis(100));
            }
        };
        assert_eq!(reply.number(), Some(n));
    }
}

/// The shm pub/sub floor: publish `n`, poll for its echo.
struct PubSubCaller<P: Payload> {
    publisher: Publisher<P>,
    subscriber: Subscriber<P>,
}

impl<P: Payload> Caller for PubSubCaller<P> {
    fn call(&mut self, n: u64) {
        self.publisher.publish(&P::make(n)).expect("publish");
        loop {
            if let Ok(Some(s)) = self.subscriber.try_recv()
                && s.value.number() == Some(n)
            {
                return;
            }
            std::hint::spin_loop();
        }
    }
}

fn caller<P: Payload>(case: Case, root: &str) -> Box<dyn Caller> {
    match case {
        Case::ShmBlocking | Case::ShmSpinning => Box::new(ShmCaller::<P> {
            client: Client::builder("bench/svc")
                .root(root)
                .create()
                .expect("client"),
            spin: case.spinning(),
        }),
        Case::Socket => Box::new(SocketCaller {
            stream: UnixStream::connect(format!("{root}/socket")).expect("connect"),
            buf: vec![0; size_of::<P>()],
        }),
        Case::IoxBlocking | Case::IoxSpinning => {
            let iox = Iox::<P>::open(root);
            let client = iox.rr.client_builder().create().expect("iceoryx2 client");
            let requests = iox
                .event("req")
                .notifier_builder()
                .create()
                .expect("notifier");
            let replies = iox
                .event("resp")
                .listener_builder()
                .create()
                .expect("listener");
            while iox.rr.dynamic_config().number_of_servers() == 0 {
                std::thread::yield_now();
            }
            Box::new(IoxCaller::<P> {
                _node: iox.node,
                client,
                requests,
                replies,
                spin: case.spinning(),
            })
        }
        Case::ShmPubSub => {
            let publisher = Publisher::<P>::builder("bench/ping")
                .root(root)
                .create()
                .expect("publisher");
            let subscriber = Subscriber::<P>::builder("bench/pong")
                .root(root)
                .open()
                .expect("subscriber");
            Box::new(PubSubCaller {
                publisher,
                subscriber,
            })
        }
    }
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server of `case` at `size` on `root`; returns once it is ready.
fn server(case: Case, size: usize, root: &str) -> Kill {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(SERVER_ENV, format!("{}:{size}", case.code()))
        .env(ROOT_ENV, root)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let mut line = [0u8; 6];
    child
        .stdout
        .as_mut()
        .expect("stdout")
        .read_exact(&mut line)
        .expect("server ready");
    Kill(child)
}

/// (p50, p99) in ns of `CALLS` calls of `case` at `size`.
fn measure(case: Case, size: usize, root: &str) -> (f64, f64) {
    let root = format!("{root}/{}-{size}", case.code());
    std::fs::create_dir_all(&root).expect("case root");
    let _server = server(case, size, &root);
    let mut me = match size {
        8 => caller::<u64>(case, &root),
        _ => caller::<[u64; 512]>(case, &root),
    };
    let mut times = Vec::with_capacity(CALLS);
    for n in 0..(WARMUP + CALLS) as u64 {
        let start = Instant::now();
        me.call(n + 1);
        if n as usize >= WARMUP {
            times.push(start.elapsed().as_nanos() as f64);
        }
    }
    percentiles(&mut times)
}

fn percentiles(times: &mut [f64]) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (at(0.5), at(0.99))
}

/// One of the 64 clients: `calls` blocking calls; prints the sorted call times' p50 and p99.
fn many_client(calls: usize, root: &str) {
    let client = Client::<u64, u64>::builder("bench/svc")
        .root(root)
        .create()
        .expect("client");
    let mut times = Vec::with_capacity(calls);
    for n in 0..calls as u64 {
        let start = Instant::now();
        loop {
            match client.call(&n, Duration::from_secs(10)) {
                Ok(v) => {
                    assert_eq!(v, n);
                    break;
                }
                Err(CallError::Busy { .. }) => std::thread::yield_now(),
                Err(e) => panic!("call: {e}"),
            }
        }
        times.push(start.elapsed().as_nanos() as f64);
    }
    let (p50, p99) = percentiles(&mut times);
    println!("{p50} {p99}");
}

/// 64 client processes calling one blocking shm server: (calls per second, median p50, worst
/// p99).
fn many(root: &str) -> (f64, f64, f64) {
    let root = format!("{root}/many");
    std::fs::create_dir_all(&root).expect("many root");
    let _server = server(Case::ShmBlocking, 8, &root);
    let started = Instant::now();
    let clients: Vec<Child> = (0..MANY)
        .map(|_| {
            Command::new(std::env::current_exe().expect("own path"))
                .env(CLIENT_ENV, MANY_CALLS.to_string())
                .env(ROOT_ENV, &root)
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn client")
        })
        .collect();
    let mut p50s = Vec::new();
    let mut p99 = 0f64;
    for c in clients {
        let out = c.wait_with_output().expect("client output");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let mut it = text
            .split_whitespace()
            .map(|w| w.parse::<f64>().expect("number"));
        p50s.push(it.next().expect("p50"));
        p99 = p99.max(it.next().expect("p99"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    p50s.sort_by(f64::total_cmp);
    (
        (MANY * MANY_CALLS) as f64 / elapsed,
        p50s[p50s.len() / 2],
        p99,
    )
}

fn us(ns: f64) -> String {
    if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn main() {
    if let Ok(case) = std::env::var(SERVER_ENV) {
        let (case, size) = case.split_once(':').expect("case:size");
        let case = CASES[case.parse::<usize>().expect("case")];
        let root = std::env::var(ROOT_ENV).expect("root");
        pin_to_cpu(1);
        match size {
            "8" => serve::<u64>(case, &root),
            _ => serve::<[u64; 512]>(case, &root),
        }
        return;
    }
    if let Ok(calls) = std::env::var(CLIENT_ENV) {
        let root = std::env::var(ROOT_ENV).expect("root");
        many_client(calls.parse().expect("calls"), &root);
        return;
    }
    let root = format!("/dev/shm/shm-bench-services.{}", std::process::id());
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir(&root).expect("bench root");
    pin_to_cpu(0);
    println!(
        "\ncall round trips between two processes pinned to two CPUs ({CALLS} calls after {WARMUP}, one run):"
    );
    println!("| case | 8 B p50 | 8 B p99 | 4 KiB p50 | 4 KiB p99 |");
    println!("|---|---|---|---|---|");
    let mut p50 = [[0f64; 2]; CASES.len()];
    for case in CASES {
        let small = measure(case, 8, &root);
        let large = measure(case, 4096, &root);
        p50[case.code()] = [small.0, large.0];
        println!(
            "| {} | {} | {} | {} | {} |",
            case.name(),
            us(small.0),
            us(small.1),
            us(large.0),
            us(large.1)
        );
    }
    let ratio = |a: Case, b: Case, i: usize| p50[a.code()][i] / p50[b.code()][i];
    for (i, size) in ["8 B", "4 KiB"].iter().enumerate() {
        let iox = ratio(Case::ShmBlocking, Case::IoxBlocking, i);
        let sock = ratio(Case::ShmBlocking, Case::Socket, i);
        let spin = ratio(Case::ShmSpinning, Case::ShmPubSub, i);
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        println!(
            "{size}: blocking p50 shm/iceoryx2 {iox:.2}× (target ≤ 0.7×: {}), shm/socket {sock:.2}× (target ≤ 0.5×: {}); spinning shm call / shm pub/sub round trip {spin:.2}× (target ≤ 3×: {})",
            verdict(iox <= 0.7),
            verdict(sock <= 0.5),
            verdict(spin <= 3.0)
        );
    }
    let (rate, p50, p99) = many(&root);
    println!(
        "\n{MANY} client processes × {MANY_CALLS} blocking calls each, one shm server: {:.0} calls/s, p50 {} (median of the clients), p99 {} (worst client)",
        rate,
        us(p50),
        us(p99)
    );
    let _ = std::fs::remove_dir_all(&root);
}
