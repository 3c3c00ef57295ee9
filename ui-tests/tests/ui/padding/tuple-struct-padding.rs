use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
struct Pair(u8, u32);

fn main() {}
