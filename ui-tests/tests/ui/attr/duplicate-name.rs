use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
#[shm(name = "Pose")]
#[shm(name = "Pose2")]
struct Pose {
    x: f64,
}

fn main() {}
