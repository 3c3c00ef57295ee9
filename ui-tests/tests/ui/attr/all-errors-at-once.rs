use shm::ShmMessage;

// A missing repr, a bad attribute and generics are all reported in one go.
#[derive(ShmMessage)]
#[shm(name = "")]
struct Wrapper<T> {
    value: T,
}

fn main() {}
