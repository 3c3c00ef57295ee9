use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
struct Message {
    id: u64,
    field: String,
}

fn main() {}
