use shm::ShmMessage;

#[repr(C)]
struct Inner {
    x: f64,
}

#[derive(ShmMessage)]
#[repr(C)]
struct Outer {
    inner: Inner,
}

fn main() {}
