use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
union Bits {
    f: f32,
    u: u32,
}

fn main() {}
