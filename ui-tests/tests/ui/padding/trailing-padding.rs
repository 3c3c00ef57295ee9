use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
struct Sample {
    value: f64,
    channel: u16,
}

fn main() {}
