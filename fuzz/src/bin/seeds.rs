//! Writes seed inputs for every fuzz target into `<dir>/<target>/`: real topic files (scalar,
//! array, struct, nested struct; fresh, published, taken over, replaced), their headers and
//! schema encodings, and real file names.

use std::path::Path;

use shm::{Publisher, ShmMessage, TopicName};
use shm::{BoundedString, BoundedVec};
use shm_fuzz::{Imu, Pose, Scan, TOPIC, scratch_root};

fn save(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(name), bytes).unwrap();
}

fn topic<T: ShmMessage + Copy>(dir: &Path, root: &Path, name: &str, value: T, publishes: u64) {
    let _ = std::fs::remove_file(root.join(TopicName::new(TOPIC).unwrap().file_name()));
    let mut p = Publisher::<T>::builder(TOPIC).root(root).create().unwrap();
    for _ in 0..publishes {
        p.publish(&value).unwrap();
    }
    let bytes = std::fs::read(p.path()).unwrap();
    save(dir, "topic_read", name, &bytes);
    save(dir, "topic_takeover", name, &bytes);
    let mut header = bytes[..128].to_vec();
    header.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    save(dir, "header", name, &header);
    save(dir, "schema", name, &T::SCHEMA.encode());
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: seeds <dir>");
    let dir = Path::new(&dir);
    let root = scratch_root();
    let pose = Pose {
        position: [1.0, 2.0, 3.0],
        heading: 0.5,
        tracking: true,
        _reserved: [0; 7],
    };
    topic(dir, &root, "f64-empty", 0.0f64, 0);
    topic(dir, &root, "f64", 1.5f64, 5);
    topic(dir, &root, "bool", true, 2);
    topic(dir, &root, "array", [7u16; 5], 3);
    topic(dir, &root, "pose", pose, 4);
    topic(
        dir,
        &root,
        "imu",
        Imu {
            stamp: 9,
            pose,
            flags: [true; 8],
        },
        7,
    );
    let scan = |n: usize, frame: &str| Scan {
        frame_id: BoundedString::try_from(frame).unwrap(),
        ranges: BoundedVec::from_slice(&[2.5; 32][..n]).unwrap(),
        poses: BoundedVec::from_slice(&[pose; 4][..n.min(4)]).unwrap(),
    };
    topic(dir, &root, "scan-empty", scan(0, ""), 1);
    topic(dir, &root, "scan", scan(3, "lidar"), 2);
    topic(dir, &root, "scan-full", scan(32, "ümlaut-frame-15"), 3);
    // The outside review's schema bomb: `[S; 2^31]`, `S { b: bool, x: u8 }`.
    save(dir, "schema", "bomb", &shm::__fuzz::schema_bomb());
    for (i, name) in ["robot/pose", "a_b", "日本語", "arm/joint_1.state", "a-b"]
        .iter()
        .enumerate()
    {
        let file = TopicName::new(name).unwrap().file_name().to_owned();
        save(dir, "names", &format!("name{i}"), file.as_bytes());
    }
    // File names of names an older version allowed (`%`, `x y`, `/lead`), which decode to no
    // topic name now.
    for (i, file) in ["shm.%25", "shm.x%20y", "shm.%2Flead"].iter().enumerate() {
        save(dir, "names", &format!("old{i}"), file.as_bytes());
    }
    std::fs::remove_dir_all(&root).unwrap();
}
