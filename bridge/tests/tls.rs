//! Bridges over TLS with mutual authentication and access control, configured with
//! `config/mtls.json5` (the example the README gives), with certificates this test makes: a
//! bridge of the fleet reads the robot's topics; one whose certificate another CA signed, and
//! one of the same CA whose name the access control does not list, read nothing.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair};
use shm_integration::TestPose;
use shm_integration::root::TempRoot;

use support::{Bridge, on_free_port, prefix, publish_until};

/// A certificate authority.
struct Ca {
    cert: Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// A bridge's certificate and key (`ca.pem`, `bridge.pem`, `bridge.key`) in `dir`, for
    /// `name`, valid for `localhost` and 127.0.0.1.
    fn issue(&self, dir: &Path, name: &str) {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("ca.pem"), self.cert.pem()).unwrap();
        std::fs::write(dir.join("bridge.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("bridge.key"), key.serialize_pem()).unwrap();
    }
}

/// `config/mtls.json5` with its files in `dir` and `prefix` for its key expressions.
fn config(dir: &Path, prefix: &str) -> PathBuf {
    let example = include_str!("../config/mtls.json5");
    let text = example
        .replace("/etc/shm-bridge/", &format!("{}/", dir.display()))
        .replace("\"shm/", &format!("\"{prefix}/"));
    assert!(text.contains(&format!("\"{prefix}/@alive/**\"")), "{text}");
    let path = dir.join("zenoh.json5");
    std::fs::write(&path, text).unwrap();
    path
}

/// A bridge on `root` with the example config, its certificate made by `ca` for `name`.
fn bridge(root: &TempRoot, ca: &Ca, name: &str, prefix: &str, args: &[&str]) -> Option<Bridge> {
    let dir = root.path().join("tls");
    ca.issue(&dir, name);
    let mut all = vec!["--prefix", prefix];
    all.extend_from_slice(args);
    Bridge::try_start_config(root.path(), &config(&dir, prefix), &all, None)
}

#[test]
fn only_bridges_with_a_certificate_of_the_fleet_and_a_listed_name_read_topics() {
    let fleet = Ca::new("fleet CA");
    let other = Ca::new("someone else's CA");
    let p = prefix("tls");
    let robot = TempRoot::new("tls-robot");
    let (_robot_bridge, endpoint) = on_free_port("tls", |endpoint| {
        let args = ["--listen", endpoint, "--export", "robot/**"];
        bridge(&robot, &fleet, "robot-bridge", &p, &args)
    });
    let import = ["--connect", endpoint.as_str(), "--import", "robot/**"];
    let laptop = TempRoot::new("tls-laptop");
    let _laptop_bridge = bridge(&laptop, &fleet, "laptop-bridge", &p, &import).unwrap();
    let stranger = TempRoot::new("tls-stranger");
    let _stranger_bridge = bridge(&stranger, &other, "laptop-bridge", &p, &import).unwrap();
    let intruder = TempRoot::new("tls-intruder");
    let _intruder_bridge = bridge(&intruder, &fleet, "intruder", &p, &import).unwrap();

    let mut publisher = robot.publisher::<TestPose>("robot/pose");
    let mut sub = laptop.subscriber::<TestPose>("robot/pose");
    publish_until(&mut publisher, || sub.try_recv().unwrap().is_some());
    let mut n = publisher.next_seq();
    // For two seconds more, the others get nothing while the laptop keeps reading.
    let (mut stranger_sub, mut intruder_sub) = (
        stranger.subscriber::<TestPose>("robot/pose"),
        intruder.subscriber::<TestPose>("robot/pose"),
    );
    let until = Instant::now() + Duration::from_secs(2);
    let mut read = 0;
    while Instant::now() < until || read < 20 {
        n += 1;
        publisher.publish(&TestPose::nth(n)).unwrap();
        std::thread::sleep(Duration::from_millis(10));
        read += usize::from(sub.try_recv().unwrap().is_some());
        assert!(
            stranger_sub.latest().unwrap().is_none(),
            "another CA's bridge read"
        );
        assert!(
            intruder_sub.latest().unwrap().is_none(),
            "an unlisted name read"
        );
        assert!(n < 10_000, "the laptop read only {read} values");
    }
    assert!(
        !shm::inspect::list(Some(stranger.path()))
            .unwrap()
            .chain(shm::inspect::list(Some(intruder.path())).unwrap())
            .any(|e| matches!(e, shm::inspect::Entry::Topic(_))),
        "no topic file was made for either"
    );
}
