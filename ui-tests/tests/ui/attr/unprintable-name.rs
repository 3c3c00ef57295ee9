use shm::ShmMessage;

// A name that would reorder or recolour what the `shm` tool prints is refused here, as every
// reader of a topic file refuses it.
#[derive(ShmMessage)]
#[repr(C)]
#[shm(name = "Pose\u{202e}gnp.exe")]
struct Pose {
    x: f64,
}

#[derive(ShmMessage)]
#[repr(C)]
#[shm(name = "\x1b[31mRed")]
struct Red {
    x: f64,
}

fn main() {}
