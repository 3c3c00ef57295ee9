use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C, align(32))]
struct Block {
    data: [u64; 2],
}

fn main() {}
