use shm::ShmMessage;

// Every gap is reported, each at the field it follows.
#[derive(ShmMessage)]
#[repr(C)]
struct Status {
    armed: bool,
    speed: f64,
    mode: u16,
    odometer: u64,
    fault: bool,
}

fn main() {}
