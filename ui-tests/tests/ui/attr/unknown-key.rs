use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
#[shm(rename = "Pose")]
struct Pose {
    x: f64,
}

fn main() {}
