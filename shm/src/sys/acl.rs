//! POSIX access ACLs on the files a process creates: how one user lets *named* other users (or
//! groups) read a file, and nobody else. Mode bits cannot say "readable by uid 1001 and not by
//! uid 1002"; an access ACL can. A service uses them so that a client of another user reads
//! only its own replies, and a server reads only the requests meant for it.
//!
//! The ACL is written whole (`fsetxattr` of `system.posix_acl_access`, the kernel's binary
//! form): the owner's and others' bits from the mode, read for each named user and group, a
//! mask of read. The mask shows as the file's group bits, so a file with named readers has
//! mode `0o640` (for an asked `0o600`), and no named entry can ever write it: the checks on
//! mode bits (`writable_by_others`) stay sound.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;

/// Who besides the owner (and the mode's group and others) may read a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Readers {
    /// User ids, sorted, without duplicates.
    uids: Vec<u32>,
    /// Group ids, sorted, without duplicates.
    gids: Vec<u32>,
}

impl Readers {
    /// Readers made of these users and groups (in any order, repeats allowed).
    pub(crate) fn new(
        uids: impl IntoIterator<Item = u32>,
        gids: impl IntoIterator<Item = u32>,
    ) -> Readers {
        let mut uids: Vec<u32> = uids.into_iter().collect();
        let mut gids: Vec<u32> = gids.into_iter().collect();
        uids.sort_unstable();
        uids.dedup();
        gids.sort_unstable();
        gids.dedup();
        Readers { uids, gids }
    }

    /// Whether no user or group is named.
    pub(crate) fn is_empty(&self) -> bool {
        self.uids.is_empty() && self.gids.is_empty()
    }

    /// The users named.
    pub(crate) fn uids(&self) -> &[u32] {
        &self.uids
    }

    /// The groups named.
    pub(crate) fn gids(&self) -> &[u32] {
        &self.gids
    }

    /// The mode a file with these readers shows: `mode` with the group bits of the mask
    /// (read) added when some reader is named.
    pub(crate) fn mode(&self, mode: u32) -> u32 {
        if self.is_empty() { mode } else { mode | 0o040 }
    }
}

const XATTR: &[u8] = b"system.posix_acl_access\0";
const VERSION: u32 = 2;
const TAG_USER_OBJ: u16 = 0x01;
const TAG_USER: u16 = 0x02;
const TAG_GROUP_OBJ: u16 = 0x04;
const TAG_GROUP: u16 = 0x08;
const TAG_MASK: u16 = 0x10;
const TAG_OTHER: u16 = 0x20;
const NO_ID: u32 = u32::MAX;
const READ: u16 = 4;

/// The kernel's binary form of the access ACL for `mode` and `readers`: a version word, then
/// entries of (tag, permissions, id), sorted by tag then id, as `posix_acl_valid` wants.
fn encode(mode: u32, readers: &Readers) -> Vec<u8> {
    let bits = |shift: u32| ((mode >> shift) & 7) as u16;
    let mut out = Vec::with_capacity(4 + 8 * (4 + readers.uids.len() + readers.gids.len()));
    out.extend_from_slice(&VERSION.to_le_bytes());
    let mut entry = |tag: u16, perm: u16, id: u32| {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&perm.to_le_bytes());
        out.extend_from_slice(&id.to_le_bytes());
    };
    entry(TAG_USER_OBJ, bits(6), NO_ID);
    for &uid in &readers.uids {
        entry(TAG_USER, READ, uid);
    }
    entry(TAG_GROUP_OBJ, bits(3), NO_ID);
    for &gid in &readers.gids {
        entry(TAG_GROUP, READ, gid);
    }
    // Read, and whatever the group already has (the mode's group bits are never write: a
    // topic file's mode is checked to be at most 0o644 by its publisher's callers).
    entry(TAG_MASK, READ | bits(3), NO_ID);
    entry(TAG_OTHER, bits(0), NO_ID);
    out
}

/// Gives `file` exactly `mode` and the access ACL of `readers`: with no reader, no ACL at all
/// (one left by an earlier writer of the file is removed), so the mode alone decides. Fails
/// with `Unsupported` on a file system without ACLs when readers are named.
pub(crate) fn set_access(file: &File, mode: u32, readers: &Readers) -> io::Result<()> {
    let fd = file.as_raw_fd();
    if readers.is_empty() {
        // The mode first: on a file with an access list it sets the mask, so that no named
        // reader can open the file from here on (removing the list first would leave its mask
        // as the group bits a moment, letting the file's group in).
        if file.metadata()?.permissions().mode() & 0o7777 != mode {
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        return remove_acl(fd);
    }
    // The ACL sets the mode bits too (owner, mask as group, others).
    let value = encode(mode, readers);
    // SAFETY: `fd` is an open descriptor owned by `file`, alive for the call; the name is a
    // NUL-terminated string; `value` is an initialised buffer of `value.len()` bytes, alive for
    // the call, which only reads it.
    let rc = unsafe {
        libc::fsetxattr(
            fd,
            XATTR.as_ptr().cast(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    Err(match e.raw_os_error() {
        Some(libc::EOPNOTSUPP) => io::Error::new(
            io::ErrorKind::Unsupported,
            "this file system keeps no access lists (POSIX ACLs), which letting one named \
             user or group read a file needs; use a root directory on tmpfs (/dev/shm) or \
             another file system with ACLs",
        ),
        _ => e,
    })
}

/// Whether `file` has an access ACL naming users or groups (beyond its mode bits).
pub(crate) fn has_acl(file: &File) -> bool {
    // SAFETY: the descriptor is `file`'s, open for the call; the name is NUL-terminated; a
    // null buffer of size 0 asks only for the value's size (nothing is written).
    let size = unsafe {
        libc::fgetxattr(
            file.as_raw_fd(),
            XATTR.as_ptr().cast(),
            std::ptr::null_mut(),
            0,
        )
    };
    size > 0
}

/// Removes the access ACL of the file `fd`, if it has one.
fn remove_acl(fd: std::os::fd::RawFd) -> io::Result<()> {
    // SAFETY: `fd` is an open descriptor, alive for the call (the caller holds its file); the
    // name is a NUL-terminated string.
    let rc = unsafe { libc::fremovexattr(fd, XATTR.as_ptr().cast()) };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        // No ACL there, or none possible: the mode is all there is.
        Some(libc::ENODATA | libc::EOPNOTSUPP) => Ok(()),
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_sorted_entries_with_a_read_mask() {
        let acl = encode(0o600, &Readers::new([7, 3, 7], [9]));
        let words: Vec<(u16, u16, u32)> = acl[4..]
            .chunks(8)
            .map(|c| {
                (
                    u16::from_le_bytes([c[0], c[1]]),
                    u16::from_le_bytes([c[2], c[3]]),
                    u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                )
            })
            .collect();
        assert_eq!(u32::from_le_bytes(acl[..4].try_into().unwrap()), 2);
        assert_eq!(
            words,
            vec![
                (TAG_USER_OBJ, 6, NO_ID),
                (TAG_USER, 4, 3),
                (TAG_USER, 4, 7),
                (TAG_GROUP_OBJ, 0, NO_ID),
                (TAG_GROUP, 4, 9),
                (TAG_MASK, 4, NO_ID),
                (TAG_OTHER, 0, NO_ID),
            ]
        );
    }

    #[test]
    fn sets_and_removes_on_a_real_file() {
        let path = crate::default_root().join(format!(
            ".shm-acl-test.{}.{:x}",
            std::process::id(),
            crate::sys::random_u64()
        ));
        let file = File::create(&path).unwrap();
        let _ = std::fs::remove_file(&path); // the open file is enough
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .unwrap();
        let readers = Readers::new([65534], []);
        match set_access(&file, 0o600, &readers) {
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                eprintln!("skipped: {e}");
                return;
            }
            r => r.unwrap(),
        }
        let mode = || file.metadata().unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(), readers.mode(0o600));
        assert_eq!(mode(), 0o640);
        assert!(has_acl(&file));
        set_access(&file, 0o600, &Readers::default()).unwrap();
        assert_eq!(mode(), 0o600);
        assert!(!has_acl(&file));
        // None left: removing again is no error.
        set_access(&file, 0o644, &Readers::default()).unwrap();
        assert_eq!(mode(), 0o644);
    }
}
