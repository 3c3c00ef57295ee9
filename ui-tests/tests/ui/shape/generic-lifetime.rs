use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
struct View<'a> {
    data: &'a [u8; 4],
}

fn main() {}
