use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
struct Log {
    level: u32,
    text: String,
    tags: Vec<String>,
}

fn main() {}
