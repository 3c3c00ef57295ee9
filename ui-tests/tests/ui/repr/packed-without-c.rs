use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(packed)]
struct Pose {
    x: f64,
    y: u8,
}

fn main() {}
