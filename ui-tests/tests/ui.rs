//! Runs the derive's compile-fail and compile-pass cases.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    for topic in ["padding", "fields", "repr", "shape", "attr", "bounded"] {
        t.compile_fail(format!("tests/ui/{topic}/*.rs"));
    }
    t.pass("tests/ui/pass/*.rs");
}
