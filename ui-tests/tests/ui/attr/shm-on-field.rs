use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
struct Pose {
    #[shm(name = "x_m")]
    x: f64,
}

fn main() {}
