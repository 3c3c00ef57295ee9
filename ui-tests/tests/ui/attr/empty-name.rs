use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
#[shm(name = "")]
struct Pose {
    x: f64,
}

fn main() {}
