use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
struct Message {
    id: u64,
    field: (u32, u32),
}

fn main() {}
