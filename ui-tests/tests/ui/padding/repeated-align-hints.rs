use shm::ShmMessage;

// The compiler applies the largest `align` hint (16): 8 bytes of trailing padding.
#[derive(ShmMessage)]
#[repr(C, align(16), align(8))]
struct Hinted {
    value: u64,
}

fn main() {}

// Even with rustc's lint against conflicting hints allowed, the padding is found.
#[allow(conflicting_repr_hints)]
#[derive(ShmMessage)]
#[repr(C, align(16), align(8))]
struct HintedAllowed {
    value: u64,
}
