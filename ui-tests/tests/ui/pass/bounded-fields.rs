// Bounded sequences and strings as fields, nested, in arrays, and as topic types.
use shm::{BoundedString, BoundedVec, Publisher, ShmMessage};

#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Detection {
    label: BoundedString<32>,
    score: f32,
    id: u32,
}

#[derive(ShmMessage, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Detections {
    stamp_ns: u64,
    items: BoundedVec<Detection, 64>,
    names: [BoundedString<8>; 4],
    ranges: BoundedVec<BoundedVec<f32, 16>, 2>,
}

fn main() {
    assert!(Detections::SCHEMA.has_bounded());
    let _ = Publisher::<BoundedVec<Detection, 64>>::new;
    let _ = Publisher::<Detections>::new;
}
