//! Who may have made a file this library maps: the rules that keep a topic directory shared by
//! several users (`/dev/shm` is world-writable) from handing one user's process a file another
//! user controls.
//!
//! - A publisher reuses or replaces only a topic file owned by its effective uid and writable by
//!   nobody else; anything else is refused before it is mapped (a planted file could be read,
//!   forged or truncated under the publisher by the user who planted it).
//! - A subscriber reads only files owned by the owner it trusts ([`TopicOwner`], by default its
//!   own effective uid) and writable by nobody else, for the same reason: whoever owns a file
//!   decides the values read from it.

use std::fmt;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;

/// The process that publishes (or last published) a topic, as recorded in its header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublisherProcess {
    /// Process id.
    pub pid: u32,
    /// Process name (`/proc/<pid>/comm`, at most 15 bytes), as the file records it: any
    /// process can name itself anything, so print it through [`printable`](crate::text::printable)
    /// (as `Display` does).
    pub process_name: String,
    /// Process start time in clock ticks after boot, which tells a reused pid apart.
    pub start_ticks: u64,
    /// The node name the process gave itself ([`set_node_name`](crate::set_node_name),
    /// `SHM_NODE_NAME`), or empty; checked when read (a file's bytes that are no valid node
    /// name give none).
    pub node_name: String,
}

impl PublisherProcess {
    /// No known process.
    pub(crate) fn unknown() -> PublisherProcess {
        PublisherProcess {
            pid: 0,
            process_name: String::new(),
            start_ticks: 0,
            node_name: String::new(),
        }
    }
}

impl fmt::Display for PublisherProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.node_name.is_empty() && self.pid != 0 {
            // (Node names hold no character a terminal obeys: checked when read.)
            write!(f, "node {} (pid {}", self.node_name, self.pid)?;
            if !self.process_name.is_empty() {
                write!(f, ", {}", crate::text::printable(&self.process_name))?;
            }
            return f.write_str(")");
        }
        match (self.pid, self.process_name.is_empty()) {
            (0, _) => f.write_str("another process"),
            (pid, true) => write!(f, "pid {pid}"),
            (pid, false) => write!(
                f,
                "pid {pid} ({})",
                crate::text::printable(&self.process_name)
            ),
        }
    }
}

/// Whose topic files a subscriber reads; see
/// [`SubscriberBuilder::owner`](crate::SubscriberBuilder::owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TopicOwner {
    /// Files owned by this process's effective user (the default): topics published by the same
    /// user. Any other user could create a topic file first (the directory is shared) and
    /// decide what this subscriber reads.
    #[default]
    Me,
    /// Files owned by this user id: a topic another user publishes for this one (with a mode
    /// that lets it read, such as `0o644`).
    Uid(u32),
    /// Files of any owner: for tools that inspect every topic and show who owns it.
    Anyone,
}

impl TopicOwner {
    /// The one uid trusted, if it is one uid.
    pub(crate) fn uid(self) -> Option<u32> {
        match self {
            TopicOwner::Me => Some(effective_uid()),
            TopicOwner::Uid(uid) => Some(uid),
            TopicOwner::Anyone => None,
        }
    }
}

impl fmt::Display for TopicOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicOwner::Me => write!(f, "this user ({})", Uid(effective_uid())),
            TopicOwner::Uid(uid) => Uid(*uid).fmt(f),
            TopicOwner::Anyone => f.write_str("any user"),
        }
    }
}

/// A uid, displayed with its user name when `/etc/passwd` has one: `uid 65534 (nobody)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uid(pub u32);

impl Uid {
    /// This process's effective uid: the user whose topics [`TopicOwner::Me`] trusts.
    pub fn current() -> Uid {
        Uid(effective_uid())
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match user_name(self.0) {
            Some(name) => write!(f, "uid {} ({name})", self.0),
            None => write!(f, "uid {}", self.0),
        }
    }
}

/// The user name of `uid` from `/etc/passwd`, if it lists one.
fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?;
        (id.parse() == Ok(uid)).then(|| name.to_owned())
    })
}

/// This process's effective uid.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Who owns a file, and its permission bits: what an ownership refusal reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileOwner {
    /// The owner.
    pub uid: Uid,
    /// The permission bits (`0o644`, ...).
    pub mode: u32,
}

impl FileOwner {
    pub(crate) fn of(meta: &Metadata) -> FileOwner {
        FileOwner {
            uid: Uid(meta.uid()),
            mode: meta.mode() & 0o7777,
        }
    }

    /// Whether users other than the owner may write the file.
    pub(crate) fn writable_by_others(self) -> bool {
        self.mode & 0o022 != 0
    }
}

impl fmt::Display for FileOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "owned by {}, mode {:#o}", self.uid, self.mode)
    }
}

/// `Some(owner)` if a publisher must not reuse, replace or remove this file: anything not owned
/// by the effective uid, whatever its type (root can open another user's FIFO or device, and
/// must not remove it), or a regular file that other users may write. (This user's files that
/// are not regular files are refused later, as not topics.)
pub(crate) fn foreign_to_publisher(meta: &Metadata) -> Option<FileOwner> {
    let owner = FileOwner::of(meta);
    (owner.uid.0 != effective_uid() || (meta.is_file() && owner.writable_by_others()))
        .then_some(owner)
}

/// `Some(owner)` if a subscriber trusting `trusted_uid` (`None`: anyone; resolved once, when
/// the subscriber was made) must not read this file: a regular file of another owner, or one
/// writable by users other than its owner.
pub(crate) fn untrusted_by_subscriber(
    meta: &Metadata,
    trusted_uid: Option<u32>,
) -> Option<FileOwner> {
    let owner = FileOwner::of(meta);
    let trusted = trusted_uid.is_none_or(|uid| uid == owner.uid.0);
    (meta.is_file() && (!trusted || owner.writable_by_others())).then_some(owner)
}

/// Which other users' files a reader accepts besides its own user's: the clients a service's
/// server admits ([`AnyServerBuilder::admit_user`](crate::service::AnyServerBuilder::admit_user),
/// [`admit_group`](crate::service::AnyServerBuilder::admit_group)).
#[derive(Debug, Default)]
pub(crate) struct Admission {
    uids: Vec<u32>,
    gids: Vec<u32>,
    /// Whether a uid is a member of an admitted group, as the user database said, and when it
    /// was asked (a lookup may be slow, and its answer changes: asked again after
    /// [`MEMBERSHIP_TTL`]).
    members: std::sync::Mutex<std::collections::HashMap<u32, (bool, std::time::Instant)>>,
}

impl Admission {
    /// Admits these users, and the members of these groups.
    pub(crate) fn new(uids: Vec<u32>, gids: Vec<u32>) -> Admission {
        let readers = crate::sys::Readers::new(uids, gids);
        Admission {
            uids: readers.uids().to_vec(),
            gids: readers.gids().to_vec(),
            members: Default::default(),
        }
    }

    /// Whether another user than this process's is admitted at all.
    pub(crate) fn admits_others(&self) -> bool {
        !self.uids.is_empty() || !self.gids.is_empty()
    }

    /// The users and groups named, as readers of the files that admit them.
    pub(crate) fn readers(&self) -> crate::sys::Readers {
        crate::sys::Readers::new(self.uids.iter().copied(), self.gids.iter().copied())
    }

    /// Whether files of `uid` are accepted: this user's, an admitted user's, or those of a
    /// member of an admitted group (its primary group or a supplementary one, as the user
    /// database lists it).
    pub(crate) fn admits(&self, uid: u32) -> bool {
        if uid == effective_uid() || self.uids.contains(&uid) {
            return true;
        }
        if self.gids.is_empty() {
            return false;
        }
        let mut members = self
            .members
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        match members.get(&uid) {
            Some((member, at)) if now.duration_since(*at) < MEMBERSHIP_TTL => *member,
            _ => {
                let member = self.gids.iter().any(|&gid| member_of(uid, gid));
                members.insert(uid, (member, now));
                member
            }
        }
    }
}

/// How long an answer of the user database on a group's members is used: a user added to an
/// admitted group (or removed) is served accordingly within this time.
const MEMBERSHIP_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether the user database lists `uid` as a member of group `gid` (its primary group, or a
/// supplementary one); `false` for a uid it does not know.
pub(crate) fn member_of(uid: u32, gid: u32) -> bool {
    let mut buf = vec![0u8; 4096];
    // SAFETY: an all-zero `passwd` is a valid value (null pointers and zeros), only written by
    // `getpwuid_r`.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    loop {
        // SAFETY: `pwd`, `buf` (of `buf.len()` bytes) and `found` are valid for writes for the
        // call; the strings `pwd` points to afterwards live in `buf`, used only while it lives.
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        };
        match rc {
            0 => break,
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 2, 0),
            _ => return false,
        }
    }
    if found.is_null() {
        return false;
    }
    if pwd.pw_gid == gid {
        return true;
    }
    let mut groups = vec![0 as libc::gid_t; 64];
    loop {
        let mut count = groups.len() as libc::c_int;
        // SAFETY: `pwd.pw_name` is the NUL-terminated name in `buf` (alive); `groups` has room
        // for `count` entries, which `getgrouplist` writes at most, setting `count` to how many
        // there are.
        let rc =
            unsafe { libc::getgrouplist(pwd.pw_name, pwd.pw_gid, groups.as_mut_ptr(), &mut count) };
        if rc >= 0 {
            groups.truncate(usize::try_from(count).unwrap_or(0));
            return groups.contains(&gid);
        }
        // Too small: `count` is how many it needs.
        let needed = usize::try_from(count).unwrap_or(0);
        if needed <= groups.len() || needed > 1 << 16 {
            return false;
        }
        groups.resize(needed, 0);
    }
}
