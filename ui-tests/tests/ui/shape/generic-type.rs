use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
struct Stamped<T> {
    stamp: u64,
    value: T,
}

fn main() {}
