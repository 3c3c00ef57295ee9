// Three `f32`s fill 12 bytes: 4 bytes of padding would follow them.
use shm::{BoundedVec, ShmMessage};

#[derive(ShmMessage, Clone, Copy)]
#[repr(C)]
struct Triangle {
    corners: BoundedVec<f32, 3>,
}

fn main() {}
