//! What the recorder's and the player's tests share: a topic type of every kind of field, and
//! a directory of a test's own.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use shm::{BoundedString, BoundedVec, ShmMessage};

/// A value of fixed arrays, a bounded string and a bounded sequence.
#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub(crate) struct Reading {
    pub(crate) id: u32,
    pub(crate) ok: bool,
    pub(crate) _reserved: [u8; 3],
    pub(crate) grid: [[f32; 2]; 2],
    pub(crate) label: BoundedString<16>,
    pub(crate) samples: BoundedVec<i16, 8>,
}

/// A directory of this test's own under /dev/shm, removed afterwards.
pub(crate) struct Dir(pub(crate) PathBuf);

impl Dir {
    pub(crate) fn new(label: &str) -> Dir {
        static N: AtomicU32 = AtomicU32::new(0);
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let path = base.join(format!(
            "shm-record-test.{}.{}.{label}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn reading(i: u32) -> Reading {
    let mut samples = BoundedVec::new();
    for k in 0..(i % 8) {
        samples.push(k as i16 - 3);
    }
    Reading {
        id: i,
        ok: i.is_multiple_of(2),
        _reserved: [0; 3],
        grid: [[i as f32, 0.5], [-1.0, 2.0]],
        label: format!("r{i}").as_str().try_into().unwrap(),
        samples,
    }
}
