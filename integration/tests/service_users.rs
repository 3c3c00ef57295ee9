//! Services across users: a server admits other users (or a group) explicitly, a client calls
//! only a server of the user it trusts, and no client reads another user's requests or
//! replies. Real processes, each run as its own user (the tests run as root to start them;
//! elsewhere they return early, saying so).

use std::path::{Path, PathBuf};

use shm::TopicName;
use shm_integration::process::{Proc, Reachable, TIMEOUT as T, helper_for_other_users};
use shm_integration::root::TempRoot;

/// The users the tests run processes as (no user database entry needed).
const SERVER: u32 = 65532;
const ALICE: u32 = 65533;
const MALLORY: u32 = 65531;

fn file_of(root: &TempRoot, topic: &str) -> PathBuf {
    root.path().join(TopicName::new(topic).unwrap().file_name())
}

fn spawn(exe: &Reachable, root: &TempRoot, uid: u32, env: &[(&str, &str)], args: &[&str]) -> Proc {
    Proc::spawn_with(exe.path(), root.path(), args, Some(uid), env)
}

/// A server of `service` run as [`SERVER`], admitting `admit` (`SHM_TEST_ADMIT`).
fn server(exe: &Reachable, root: &TempRoot, service: &str, admit: &str) -> Proc {
    server_with(exe, root, service, &[("SHM_TEST_ADMIT", admit)])
}

fn server_with(exe: &Reachable, root: &TempRoot, service: &str, env: &[(&str, &str)]) -> Proc {
    let mut s = spawn(
        exe,
        root,
        SERVER,
        env,
        &["serve", service, "square", "64", "64"],
    );
    s.expect_line("READY", T);
    s
}

/// An action server of `action` run as [`SERVER`], admitting `admit`, in `mode`.
fn action_server(exe: &Reachable, root: &TempRoot, action: &str, mode: &str, admit: &str) -> Proc {
    let args = ["action-serve", action, mode];
    let mut s = spawn(exe, root, SERVER, &[("SHM_TEST_ADMIT", admit)], &args);
    s.expect_line("READY", T);
    s
}

/// Whether user `uid` can open `path` for reading.
fn peek(exe: &Reachable, root: &TempRoot, uid: u32, path: &Path) -> String {
    let mut p = spawn(exe, root, uid, &[], &["peek", path.to_str().unwrap()]);
    let line = p.line(T);
    assert!(p.wait(T).success(), "{line}");
    line
}

const TRUST_SERVER: (&str, &str) = ("SHM_TEST_SERVER_OWNER", "65532");

#[test]
fn an_admitted_user_calls_and_nobody_else_reads_its_requests_or_replies() {
    let Some(exe) = helper_for_other_users() else {
        return;
    };
    let root = TempRoot::shared("svc-users");
    let mut s = server(&exe, &root, "svc", &format!("u{ALICE}"));
    let mut alice = spawn(
        &exe,
        &root,
        ALICE,
        &[TRUST_SERVER],
        &["call", "svc", "1", "3"],
    );
    alice.expect_line("OK 3", T);
    assert!(alice.wait(T).success());
    // A call that stays connected: its request and its reply are in the slot's files.
    let mut held = spawn(
        &exe,
        &root,
        ALICE,
        &[TRUST_SERVER],
        &["call", "svc", "7", "hang"],
    );
    held.expect_line("SENT", T);
    s.expect_line("GOT 7", T);
    let (call, reply) = (
        file_of(&root, "svc/.call/0"),
        file_of(&root, "svc/.reply/0"),
    );
    assert!(call.exists() && reply.exists());
    // Alice reads her replies; Mallory reads neither her requests nor her replies (nor the
    // service's descriptor, which names who is admitted).
    assert_eq!(peek(&exe, &root, ALICE, &reply), "READABLE");
    assert_eq!(peek(&exe, &root, MALLORY, &reply), "DENIED");
    assert_eq!(peek(&exe, &root, MALLORY, &call), "DENIED");
    let descriptor = file_of(&root, "svc/.service");
    assert_eq!(peek(&exe, &root, MALLORY, &descriptor), "DENIED");
    // Mallory's call is refused, and says why.
    let mut mallory = spawn(
        &exe,
        &root,
        MALLORY,
        &[TRUST_SERVER],
        &["call", "svc", "1", "1"],
    );
    let line = mallory.line(T);
    assert!(line.starts_with("ERR not-admitted"), "{line}");
    assert!(!mallory.wait(T).success());
    held.kill9();
    drop(s);
}

#[test]
fn a_client_calls_another_users_server_only_when_it_trusts_that_user() {
    let Some(exe) = helper_for_other_users() else {
        return;
    };
    let root = TempRoot::shared("svc-trust");
    let _s = server(&exe, &root, "svc", &format!("u{ALICE}"));
    // Without trusting the server's user: refused before anything is sent.
    let mut alice = spawn(&exe, &root, ALICE, &[], &["call", "svc", "1", "1"]);
    let line = alice.line(T);
    assert!(line.starts_with("ERR untrusted-server"), "{line}");
    assert!(
        line.contains("server_owner(TopicOwner::Uid(65532))"),
        "{line}"
    );
    assert!(!alice.wait(T).success());
    // Trusting another user than the server's: refused too.
    let other = [("SHM_TEST_SERVER_OWNER", "65530")];
    let mut alice = spawn(&exe, &root, ALICE, &other, &["call", "svc", "1", "1"]);
    let line = alice.line(T);
    assert!(line.starts_with("ERR untrusted-server"), "{line}");
    assert!(!alice.wait(T).success());
    // No call file was left for the server to read.
    assert!(!file_of(&root, "svc/.call/0").exists());
}

#[test]
fn a_slot_taken_by_another_user_gets_a_new_reply_topic_only_that_user_reads() {
    let Some(exe) = helper_for_other_users() else {
        return;
    };
    let root = TempRoot::shared("svc-handover");
    // A descriptor readable by everyone: the replies stay each client's all the same.
    let admit = format!("u{ALICE},u{MALLORY}");
    let _s = server_with(
        &exe,
        &root,
        "svc",
        &[("SHM_TEST_ADMIT", &admit), ("SHM_TEST_MODE", "644")],
    );
    let mut alice = spawn(
        &exe,
        &root,
        ALICE,
        &[TRUST_SERVER],
        &["call", "svc", "2", "2"],
    );
    alice.expect_line("OK 2", T);
    assert!(alice.wait(T).success());
    let reply = file_of(&root, "svc/.reply/0");
    assert_eq!(peek(&exe, &root, ALICE, &reply), "READABLE");
    assert_eq!(peek(&exe, &root, MALLORY, &reply), "DENIED");
    // Alice's slot file is removed (by hand, by an administrator): Mallory's client takes
    // slot 0, and the server answers it in a reply topic made anew for her (Alice's replies
    // are not in it, and Alice cannot read it).
    std::fs::remove_file(file_of(&root, "svc/.call/0")).unwrap();
    let mut mallory = spawn(
        &exe,
        &root,
        MALLORY,
        &[TRUST_SERVER],
        &["call", "svc", "5", "1"],
    );
    mallory.expect_line("OK 1", T);
    assert!(mallory.wait(T).success());
    assert_eq!(peek(&exe, &root, MALLORY, &reply), "READABLE");
    assert_eq!(peek(&exe, &root, ALICE, &reply), "DENIED");
    let replies = shm::inspect::inspect(Some(root.path()), "svc/.reply/0").unwrap();
    assert_eq!(replies.owner.uid.0, SERVER);
}

/// Two users of the user database: one whose primary group is `gid`, one that is no member
/// of it. `None` if the database has no such pair.
fn member_and_stranger() -> Option<(u32, u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let users: Vec<(String, u32, u32)> = passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((
                f.first()?.to_string(),
                f.get(2)?.parse().ok()?,
                f.get(3)?.parse().ok()?,
            ))
        })
        .filter(|(_, uid, _)| *uid != 0)
        .collect();
    let listed = |name: &str, gid: u32| {
        group.lines().any(|l| {
            let f: Vec<&str> = l.split(':').collect();
            f.get(2).and_then(|g| g.parse().ok()) == Some(gid)
                && f.get(3).is_some_and(|m| m.split(',').any(|m| m == name))
        })
    };
    let (_, member, gid) = users.iter().find(|(_, _, gid)| *gid != 0)?;
    let (_, stranger, _) = users
        .iter()
        .find(|(name, _, g)| g != gid && !listed(name, *gid))?;
    Some((*member, *stranger, *gid))
}

#[test]
fn a_server_admits_the_members_of_a_group() {
    let Some(exe) = helper_for_other_users() else {
        return;
    };
    let Some((member, stranger, gid)) = member_and_stranger() else {
        eprintln!("skipped: the user database lists no member and non-member of a group");
        return;
    };
    let root = TempRoot::shared("svc-group");
    let _s = server(&exe, &root, "svc", &format!("g{gid}"));
    let mut m = spawn(
        &exe,
        &root,
        member,
        &[TRUST_SERVER],
        &["call", "svc", "3", "2"],
    );
    m.expect_line("OK 2", T);
    assert!(m.wait(T).success());
    let mut x = spawn(
        &exe,
        &root,
        stranger,
        &[TRUST_SERVER],
        &["call", "svc", "3", "1"],
    );
    let line = x.line(T);
    assert!(line.starts_with("ERR not-admitted"), "{line}");
    assert!(!x.wait(T).success());
}

#[test]
fn an_admitted_users_goals_are_followed_by_it_only_and_canceled_by_it_only() {
    let Some(exe) = helper_for_other_users() else {
        return;
    };
    let root = TempRoot::shared("act-users");
    let admit = format!("u{ALICE},u{MALLORY}");
    let s = action_server(&exe, &root, "act", "count", &admit);
    // Alice's goal: accepted, its feedback and result read in her own topics.
    let mut alice = spawn(
        &exe,
        &root,
        ALICE,
        &[TRUST_SERVER],
        &["action-send", "act", "3"],
    );
    alice.expect_line("ACCEPTED", T);
    for v in 1..=3 {
        alice.expect_line(&format!("FEEDBACK {v}"), T);
    }
    alice.expect_line("RESULT succeeded Some(3)", T);
    assert!(alice.wait(T).success());
    let feedback = file_of(&root, &format!("act/.feedback/u{ALICE}"));
    let result = file_of(&root, &format!("act/.result/u{ALICE}"));
    for file in [&feedback, &result] {
        assert_eq!(peek(&exe, &root, ALICE, file), "READABLE");
        assert_eq!(peek(&exe, &root, MALLORY, file), "DENIED");
    }
    // The server's own user's topics are its own.
    assert_eq!(
        peek(&exe, &root, ALICE, &file_of(&root, "act/.feedback")),
        "DENIED"
    );
    // The action's types are Alice's to learn all the same (as `shm action send --owner`
    // does).
    let mut d = spawn(
        &exe,
        &root,
        ALICE,
        &[TRUST_SERVER],
        &["action-discover", "act"],
    );
    d.expect_line("TYPES u64 u64 u64", T);
    assert!(d.wait(T).success());
    drop(s);

    // A goal that runs on: Mallory cannot cancel it by its id, Alice can.
    let _s = action_server(&exe, &root, "act2", "hang", &admit);
    let mut alice = spawn(
        &exe,
        &root,
        ALICE,
        &[TRUST_SERVER],
        &["action-send", "act2", "1"],
    );
    let id = alice.expect_line("ACCEPTED", T);
    let id = id.split_whitespace().nth(1).unwrap().to_owned();
    let cancel = |uid, id: &str| {
        let args = ["action-cancel-id", "act2", id];
        let mut c = spawn(&exe, &root, uid, &[TRUST_SERVER], &args);
        let line = c.line(T);
        assert!(c.wait(T).success(), "{line}");
        line
    };
    // Another user's goal is answered exactly as an id nobody holds.
    let nobodys = (id.parse::<u64>().unwrap() ^ 1).to_string();
    assert_eq!(cancel(MALLORY, &nobodys), format!("STATUS 0 ID {nobodys}"));
    assert_eq!(cancel(MALLORY, &id), format!("STATUS 0 ID {id}"));
    // 2: Canceling, in the action's protocol.
    assert_eq!(cancel(ALICE, &id), format!("STATUS 2 ID {id}"));
    alice.kill9();
}
