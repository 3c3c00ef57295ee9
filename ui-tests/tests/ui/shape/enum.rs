use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(u8)]
enum Mode {
    Idle,
    Running,
}

fn main() {}
