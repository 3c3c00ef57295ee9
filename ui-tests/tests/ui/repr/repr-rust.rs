use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(Rust)]
struct Pose {
    x: f64,
    y: f64,
}

fn main() {}
