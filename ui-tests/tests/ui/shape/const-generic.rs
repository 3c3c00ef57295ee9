use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
struct Samples<const N: usize> {
    values: [f32; N],
}

fn main() {}
