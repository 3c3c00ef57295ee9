//! A topic directory shared by several users (`/dev/shm` is world-writable): nobody adopts,
//! maps, widens or reads as trusted a file another user controls.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use shm::{CreateError, Publisher, RemoveError, SubscribeError, Subscriber, TopicOwner, Uid};
use shm_integration::TestPose;
use shm_integration::process::{NOBODY, Proc, TIMEOUT as T, helper_for_other_users};
use shm_integration::root::TempRoot;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn open(
    root: &TempRoot,
    topic: &str,
    owner: TopicOwner,
) -> Result<Subscriber<TestPose>, SubscribeError> {
    Subscriber::builder(topic)
        .root(root.path())
        .owner(owner)
        .open()
}

#[test]
fn a_topic_file_others_may_write_is_neither_adopted_nor_read() {
    let root = TempRoot::new("own-0666");
    let mut p = root.try_publisher::<TestPose>("t").unwrap();
    p.publish(&TestPose::nth(1)).unwrap();
    drop(p);
    let path = root.topic_file("t");
    chmod(&path, 0o666);
    let before = std::fs::read(&path).unwrap();

    let err = root.try_publisher::<TestPose>("t").unwrap_err();
    match &err {
        CreateError::ForeignFile { owner, .. } => assert_eq!(owner.mode, 0o666),
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("mode 0o666"), "{err}");
    // Not even with another buffer_num, which would replace the file (and, before, inherit
    // its read bits).
    let err = Publisher::<TestPose>::builder("t")
        .root(root.path())
        .buffer_num(5)
        .create()
        .unwrap_err();
    assert!(matches!(err, CreateError::ForeignFile { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "left untouched");

    for owner in [TopicOwner::Me, TopicOwner::Anyone] {
        let err = open(&root, "t", owner).unwrap_err();
        assert!(
            matches!(err, SubscribeError::UntrustedOwner { .. }),
            "{owner:?}: {err}"
        );
        assert!(err.to_string().contains("could be forged"), "{err}");
    }
    assert!(matches!(
        shm::remove_topic_in(root.path(), "t"),
        Err(RemoveError::ForeignFile { .. })
    ));
}

/// The attack of the report: another user creates the topic's file first (after a reboot),
/// makes it writable by everyone and waits for the real publisher and its subscribers.
#[test]
fn a_topic_file_planted_by_another_user_is_refused_by_publishers_and_subscribers() {
    // Needs root (CI runs as root) and a helper the other user can run.
    let Some(exe) = helper_for_other_users() else {
        return;
    };
    let root = TempRoot::shared("own-planted");
    let mut planter = Proc::spawn_as(
        exe.path(),
        root.path(),
        &["publish", "pose", "robot/pose", "1", "0"],
        Some(NOBODY),
    );
    planter.expect_line("DONE", T);
    assert!(planter.wait(T).success());
    let path = root.topic_file("robot/pose");
    let before = std::fs::read(&path).unwrap();

    for mode in [0o600, 0o666] {
        chmod(&path, mode);
        // The real publisher (root here, a service user in life) refuses to adopt it.
        let err = root.try_publisher::<TestPose>("robot/pose").unwrap_err();
        match &err {
            CreateError::ForeignFile { owner, .. } => {
                assert_eq!((owner.uid, owner.mode), (Uid(NOBODY), mode));
            }
            other => panic!("{other}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("uid 65534") && msg.contains("left untouched"),
            "{msg}"
        );
        // Its subscribers read nothing from it: by default they trust their own user only.
        let err = open(&root, "robot/pose", TopicOwner::Me).unwrap_err();
        match &err {
            SubscribeError::UntrustedOwner { owner, .. } => assert_eq!(owner.uid, Uid(NOBODY)),
            other => panic!("{other}"),
        }
        let hint = if mode == 0o600 {
            "owner(TopicOwner::Uid(65534))"
        } else {
            "could be forged"
        };
        assert!(err.to_string().contains(hint), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "left untouched");
    }
    // Trusting that user explicitly reads its topic, unless others may write the file.
    chmod(&path, 0o644);
    let mut s = open(&root, "robot/pose", TopicOwner::Uid(NOBODY)).unwrap();
    assert_eq!(s.latest().unwrap().unwrap().value, TestPose::nth(1));
    chmod(&path, 0o666);
    assert!(matches!(
        open(&root, "robot/pose", TopicOwner::Uid(NOBODY)),
        Err(SubscribeError::UntrustedOwner { .. })
    ));
    assert!(matches!(
        shm::remove_topic_in(root.path(), "robot/pose"),
        Err(RemoveError::ForeignFile { .. })
    ));
}

#[test]
fn another_users_subscriber_reads_a_widened_topic_only_when_it_trusts_the_owner() {
    // Needs root (CI runs as root) and a helper the other user can run.
    let Some(exe) = helper_for_other_users() else {
        return;
    };
    let root = TempRoot::new("own-widened");
    let mut p = Publisher::<u64>::builder("shared")
        .root(root.path())
        .mode(0o644)
        .create()
        .unwrap();
    p.publish(&2).unwrap();
    let args = ["subscribe", "u64", "shared", "1", "5000"];
    let mut child = Proc::spawn_as(exe.path(), root.path(), &args, Some(NOBODY));
    let rest = child.rest(T);
    assert!(
        rest.iter()
            .any(|l| l.contains("uid 0") && l.contains("owner=0")),
        "{rest:?}"
    );
    assert_eq!(child.wait(T).code(), Some(3));
    let mut child = Proc::spawn_other_user(exe.path(), root.path(), &args);
    child.expect_line("GOT 1 2", T);
    assert!(child.wait(T).success());
}
