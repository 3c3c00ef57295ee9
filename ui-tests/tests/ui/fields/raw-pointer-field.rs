use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
struct Message {
    id: u64,
    field: *const u8,
}

fn main() {}
