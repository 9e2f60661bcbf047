//! Permission checks from mode bits and credentials, as Linux's
//! `generic_permission`: the owner class if the caller owns the file, else
//! the group class if it is in the file's group, else the others; root
//! passes every read and write check and passes an execute check if any
//! execute bit is set or the file is a directory. Sticky directories
//! (`S_ISVTX`, e.g. `/tmp`) let only the file's owner, the directory's
//! owner or root remove or rename an entry.

use libsys::errno::Errno;

use crate::types::{is_dir, Cred, InodeAttr, MAY_EXEC, MAY_READ, MAY_WRITE, S_ISVTX};

/// `Ok` if `cred` may access the inode as `mask` (`MAY_*`), else `EACCES`.
pub fn permission(attr: &InodeAttr, cred: &Cred, mask: u32) -> Result<(), Errno> {
    let mask = mask & (MAY_READ | MAY_WRITE | MAY_EXEC);
    if cred.is_root() {
        if mask & MAY_EXEC != 0 && !is_dir(attr.mode) && attr.mode & 0o111 == 0 {
            return Err(Errno::EACCES);
        }
        return Ok(());
    }
    let bits = if cred.uid == attr.uid {
        (attr.mode >> 6) & 7
    } else if cred.in_group(attr.gid) {
        (attr.mode >> 3) & 7
    } else {
        attr.mode & 7
    };
    if bits & mask == mask {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// Whether the sticky bit of `dir` forbids `cred` removing `victim`
/// (Linux's `check_sticky`): then the call fails with `EPERM`.
pub fn sticky_forbids(dir: &InodeAttr, victim: &InodeAttr, cred: &Cred) -> bool {
    dir.mode & S_ISVTX != 0 && !cred.is_root() && cred.uid != victim.uid && cred.uid != dir.uid
}

/// Whether `cred` owns the inode or is root (`inode_owner_or_capable`):
/// what `chmod` and setting times need.
pub fn owner_or_root(attr: &InodeAttr, cred: &Cred) -> bool {
    cred.is_root() || cred.uid == attr.uid
}
