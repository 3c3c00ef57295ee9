use shm::ShmMessage;

#[derive(ShmMessage, Clone, Copy)]
#[repr(C, packed)]
struct Packed {
    tag: u8,
    value: u32,
    big: u64,
}

#[derive(ShmMessage, Clone, Copy)]
#[repr(C)]
#[repr(align(8))]
struct TwoAttributes {
    value: u64,
}

fn main() {
    assert_eq!(Packed::SCHEMA.size(), 13);
    assert_eq!(Packed::SCHEMA.align(), 1);
    let shm::schema::SchemaKind::Struct(f) = Packed::SCHEMA.kind() else { panic!() };
    assert_eq!((f[1].offset(), f[2].offset()), (1, 5));
    assert_eq!(TwoAttributes::SCHEMA.align(), 8);
}
