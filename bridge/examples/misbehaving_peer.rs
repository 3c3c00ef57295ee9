//! A Zenoh peer that does to an importing `shm-bridge` what a hostile one could: floods it with
//! topics, sends values larger than it accepts, asks for rings that would fill its memory,
//! answers a schema query with a schema bomb, or never answers. For the bridge's tests, and for
//! trying a deployment's limits (`--max-topics`, `--max-value-size`, `--max-total-size`) by hand:
//!
//! ```text
//! shm-bridge --listen tcp/127.0.0.1:7447 --import '**' &
//! cargo run -p shm-bridge --example misbehaving_peer -- tcp/127.0.0.1:7447 shm flood
//! ```
//!
//! Arguments: the bridge's endpoint, its `--prefix`, and what to do: `flood` (values of 50
//! topics `flood/0` ..., one named with terminal escape sequences), `sizes` (`huge/a`: 2 MiB values; `ring/a`: 64 KiB values asking for
//! 4096 slots; `bomb/a`: a value whose schema, when asked for, is 131 bytes describing 4 GiB
//! with 2^31 `bool`s), `silent` (values of `silent/a`, whose schema query is never answered).
//! Prints `READY` once it sent its first values, then sends them again every 50 ms until
//! killed.

#[path = "../src/keys.rs"]
#[allow(dead_code)]
mod keys;
#[path = "../src/wire.rs"]
#[allow(dead_code)]
mod wire;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use shm::schema::{Primitive, SchemaDesc};
use zenoh::Wait as _;

use wire::Header;

/// A topic this peer sends: its schema (answered when asked, unless `None`), the header's slot
/// count, and the payload's size.
struct Topic {
    name: String,
    schema: Vec<u8>,
    answered: bool,
    slots: u32,
    payload: usize,
}

fn bytes_schema(len: u64) -> Vec<u8> {
    SchemaDesc::array(SchemaDesc::primitive(Primitive::U8), len).encode()
}

fn topics(what: &str) -> Vec<Topic> {
    let topic = |name: String, schema: Vec<u8>, slots, payload| Topic {
        name,
        schema,
        answered: true,
        slots,
        payload,
    };
    match what {
        "flood" => (0..50)
            .map(|i| {
                // One name would recolour a terminal and set its title, were it printed raw.
                let name = match i {
                    49 => "flood/\u{1b}]0;pwned\u{7}\u{1b}[31mred".to_owned(),
                    i => format!("flood/{i}"),
                };
                topic(name, bytes_schema(8), 3, 8)
            })
            .collect(),
        "sizes" => vec![
            topic("huge/a".into(), bytes_schema(2 << 20), 3, 2 << 20),
            topic("ring/a".into(), bytes_schema(64 << 10), 4096, 64 << 10),
            // The payload is small: the bridge learns the size from the schema.
            topic("bomb/a".into(), shm::__fuzz::schema_bomb(), 3, 16),
        ],
        "silent" => vec![Topic {
            answered: false,
            ..topic("silent/a".into(), bytes_schema(8), 3, 8)
        }],
        other => panic!("unknown behaviour {other}: flood, sizes or silent"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, prefix, what] = args.as_slice() else {
        eprintln!("usage: misbehaving_peer ENDPOINT PREFIX flood|sizes|silent");
        std::process::exit(2);
    };
    let topics = topics(what);
    let mut config = zenoh::Config::default();
    config
        .insert_json5("connect/endpoints", &format!("[{endpoint:?}]"))
        .unwrap();
    config
        .insert_json5("scouting/multicast/enabled", "false")
        .unwrap();
    let session = zenoh::open(config).wait().unwrap();
    let answers: Vec<(String, Vec<u8>)> = topics
        .iter()
        .filter(|t| t.answered)
        .map(|t| {
            let key = format!("{prefix}/@schema/{}", keys::topic_key(&t.name));
            (key, t.schema.clone())
        })
        .collect();
    // Queries about topics it does not answer are held open (a query ends when its last
    // queryable lets it go): the asking bridge waits until its own timeout.
    let held = std::sync::Mutex::new(Vec::new());
    let _schemas = session
        .declare_queryable(format!("{prefix}/@schema/**"))
        .callback(move |query| {
            let asked = query.key_expr().as_str().to_owned();
            match answers.iter().find(|(key, _)| *key == asked) {
                Some((key, schema)) => {
                    let _ = query.reply(key.clone(), schema.clone()).wait();
                }
                None => held.lock().unwrap().push(query),
            }
        })
        .wait()
        .unwrap();
    let export = u64::from(std::process::id()) << 32 | 0x5eed;
    let mut seq = 0;
    loop {
        seq += 1;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        for t in &topics {
            let header = Header {
                hash: shm::schema::schema_hash_of_encoding(&t.schema),
                seq,
                published_unix_ns: now,
                missed: 0,
                export,
                slots: t.slots,
            };
            let key = format!("{prefix}/{}", keys::topic_key(&t.name));
            session
                .put(key, vec![0u8; t.payload])
                .attachment(header.encode().to_vec())
                .wait()
                .unwrap();
        }
        if seq == 1 {
            println!("READY");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
