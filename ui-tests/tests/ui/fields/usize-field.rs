use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
struct Message {
    id: u64,
    field: usize,
}

fn main() {}
