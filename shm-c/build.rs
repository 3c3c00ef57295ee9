//! Names the shared library `libshm.so` (its SONAME): it is installed under that name (CMake's
//! `cmake --install`, `make c-lib`), and programs linked against it then look for that name.

fn main() {
    println!("cargo::rustc-cdylib-link-arg=-Wl,-soname,libshm.so");
}
