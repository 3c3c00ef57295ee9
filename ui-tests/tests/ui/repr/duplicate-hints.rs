use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C, align(16), align(8))]
struct Hinted {
    value: u64,
}

#[derive(ShmMessage)]
#[repr(C)]
#[repr(C)]
struct Twice {
    value: u64,
}

fn main() {}
