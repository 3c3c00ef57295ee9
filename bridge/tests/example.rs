//! The bridge example (`examples/rust/bridge/two_bridges.sh`) runs as its README says: two
//! bridges over loopback, the Rust pose examples on either side. Needs the examples built
//! (`cargo test` of the workspace, or `cargo build -p shm-examples --examples`).

use std::path::Path;
use std::process::Command;

#[test]
fn the_two_bridges_example_carries_poses() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository");
    let me = std::env::current_exe().expect("own path");
    // target/<profile>/deps/<test>
    let profile = me
        .parent()
        .and_then(Path::parent)
        .expect("the profile directory");
    let examples = profile.join("examples");
    assert!(
        examples.join("pose_publisher").is_file() && examples.join("pose_subscriber").is_file(),
        "build the examples first: cargo build -p shm-examples --examples"
    );
    // A port another process takes before the bridge binds it makes the script exit with 75:
    // try another.
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let out = Command::new("bash")
            .arg(repo.join("examples/rust/bridge/two_bridges.sh"))
            .env("CARGO_TARGET_DIR", profile.parent().expect("target"))
            .env("SHM_BRIDGE", env!("CARGO_BIN_EXE_shm-bridge"))
            .env("PORT", port.to_string())
            .output()
            .expect("run the example");
        if out.status.code() == Some(75) {
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let poses = text
            .lines()
            .filter(|l| l.starts_with("[laptop] sub #"))
            .count();
        assert_eq!(poses, 5, "{text}");
        assert!(text.contains("== done"), "{text}");
        return;
    }
    panic!("no free port in 5 tries");
}
