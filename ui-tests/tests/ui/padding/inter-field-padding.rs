use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
struct Reading {
    valid: u8,
    value: f64,
}

fn main() {}
