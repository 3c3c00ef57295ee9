use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
#[shm(name = Pose)]
struct Pose {
    x: f64,
}

fn main() {}
