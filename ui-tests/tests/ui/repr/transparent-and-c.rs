use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C, transparent)]
struct Meters(f64);

fn main() {}
