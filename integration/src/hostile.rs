//! Topic files made by hand, as a hostile or careless user could make them: a consistent
//! header (`docs/FORMAT.md`) around a schema of the test's choosing, sparse, so that a file
//! claiming gigabytes of values costs nothing on tmpfs.

use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::TestPose;

/// FNV-1a 64 of a schema encoding, 0 mapped to 1: the header's `schema_hash`.
pub fn schema_hash(schema: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in schema {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    if h == 0 { 1 } else { h }
}

/// Makes `path` a topic file of two slots of values of `elem_size` bytes aligned to 8,
/// described by the encoded `schema`, with a consistent header and no value yet: the header of
/// a real topic (created by a publisher of [`TestPose`] at `path`, then dropped) with the
/// layout fields rewritten. The file is sparse: only its header and schema are written.
pub fn write_topic_with_schema(path: &Path, schema: &[u8], elem_size: u64) {
    write_topic_with_layout(path, schema, elem_size, 8);
}

/// [`write_topic_with_schema`] for values aligned to `elem_align` (a power of two, at most 64).
pub fn write_topic_with_layout(path: &Path, schema: &[u8], elem_size: u64, elem_align: u64) {
    let root = path.parent().expect("a topic path has a directory");
    let topic = shm::TopicName::from_file_name(&path.file_name().unwrap().to_string_lossy())
        .expect("a topic file name");
    if !path.exists() {
        let p = shm::Publisher::<TestPose>::builder(topic.as_str())
            .root(root)
            .create()
            .expect("create a topic to rewrite");
        drop(p);
    }
    let good = std::fs::read(path).unwrap();
    let mut h = good[..320].to_vec();
    let slot_count = 2u64;
    let data_offset = 16u64.next_multiple_of(elem_align);
    let stride = (data_offset + elem_size.next_multiple_of(8)).next_multiple_of(64);
    let slots_offset = (320 + schema.len() as u64).next_multiple_of(64);
    let total = slots_offset + stride * slot_count;
    h[24..32].copy_from_slice(&schema_hash(schema).to_le_bytes());
    h[32..40].copy_from_slice(&elem_size.to_le_bytes());
    h[40..48].copy_from_slice(&elem_align.to_le_bytes());
    h[48..52].copy_from_slice(&(slot_count as u32).to_le_bytes());
    h[52..56].copy_from_slice(&(data_offset as u32).to_le_bytes());
    h[56..64].copy_from_slice(&stride.to_le_bytes());
    h[64..72].copy_from_slice(&slots_offset.to_le_bytes());
    h[72..80].copy_from_slice(&total.to_le_bytes());
    h[84..88].copy_from_slice(&(schema.len() as u32).to_le_bytes());
    h[200..208].copy_from_slice(&0u64.to_le_bytes());
    let mut bytes = h;
    bytes.extend_from_slice(schema);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    file.write_all_at(&bytes, 0).unwrap();
    file.set_len(total).unwrap();
}

/// The 131-byte schema of an outside review: `[S; 2^31]` with `S { b: bool, x: u8 }`.
pub use shm::__fuzz::schema_bomb;

/// Plants a topic file of [`schema_bomb`] values (8 GiB and more, sparse) at `path`.
pub fn plant_schema_bomb(path: &Path) {
    write_topic_with_layout(path, &schema_bomb(), 1 << 32, 1);
}
