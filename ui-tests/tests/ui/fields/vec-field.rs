use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
struct Message {
    id: u64,
    field: Vec<u8>,
}

fn main() {}
