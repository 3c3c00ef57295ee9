use shm::ShmMessage;

// A zero-sized field can still force alignment, and so padding before it.
#[derive(ShmMessage)]
#[repr(C)]
struct Marked {
    tag: u8,
    _align: [u64; 0],
    value: u64,
}

fn main() {}
