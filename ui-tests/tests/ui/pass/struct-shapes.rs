use shm::ShmMessage;

#[derive(ShmMessage)]
#[repr(C)]
struct Rgb(u8, u8, u8);

#[derive(ShmMessage)]
#[repr(transparent)]
struct Meters(f64);

#[derive(ShmMessage)]
#[repr(C, packed)]
struct Packed {
    tag: u8,
    value: u32,
}

#[derive(ShmMessage)]
#[repr(C, align(16))]
struct Aligned {
    words: [u64; 2],
}

#[derive(ShmMessage)]
#[repr(C)]
struct Tick;

#[derive(ShmMessage)]
#[repr(C)]
struct r#Type {
    r#type: u32,
}

// Names the generated code uses itself do not collide with the user's.
#[derive(ShmMessage)]
#[repr(C)]
struct __SHM_TWIN_LAYOUT;

#[derive(ShmMessage)]
#[repr(C)]
struct __ShmSelf(u8);

fn main() {
    assert_eq!(Rgb::SCHEMA.size(), 3);
    let shm::schema::SchemaKind::Struct(f) = Rgb::SCHEMA.kind() else { panic!() };
    assert_eq!(f[2].name(), "2");
    assert_eq!(Meters::SCHEMA.size(), 8);
    assert_eq!(Packed::SCHEMA.size(), 5);
    assert_eq!(Packed::SCHEMA.align(), 1);
    assert_eq!(Aligned::SCHEMA.align(), 16);
    assert_eq!(Tick::SCHEMA.size(), 0);
    let shm::schema::SchemaKind::Struct(f) = Type::SCHEMA.kind() else { panic!() };
    assert_eq!(f[0].name(), "type");

    // Declared inside a function body, too.
    #[derive(ShmMessage)]
    #[repr(C)]
    struct Local {
        a: i16,
        b: i16,
    }
    assert_eq!(Local::SCHEMA.size(), 4);
}
