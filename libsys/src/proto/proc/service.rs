//! `service kill` and `service restart` through the process server
//! (`Request::KillServer`): who may, and what the answer means.
//!
//! The process server knows who its caller is (its effective uid); `init`,
//! whose reincarnation server kills and restarts servers, knows only
//! process ids. So the tool asks the process server, which checks the
//! caller and then asks `init`'s name service itself (`Kill`, with the
//! `service` right its manifest entry has), as it does `reboot(2)` with
//! the power control. The checks, in order:
//!
//! - the caller's effective uid is 0 (root), else `EPERM`;
//! - the server is not the process server itself, else `EBUSY` (it would
//!   die in the middle of this very request; its state, the process
//!   table, does not survive a restart anyway);
//!
//! then `init`'s answer: `Killed { pid }` is the pid the server had;
//! `NotFound` `ESRCH` (no such server); `NotRestartable` `EINVAL` (the
//! memory server, or a server in the kernel); `Unavailable` `EAGAIN`
//! (restarting already: ask again); `Failed` `ESRCH` (given up: nothing
//! runs); `NotAllowed` `ENOSYS` (the process server's entry lacks the
//! `service` right).

use crate::errno::Errno;
use crate::proto::name::Reply;

/// The process server's own checks, before it asks `init`.
pub fn check(euid: u32, name: &str) -> Result<(), Errno> {
    if euid != crate::proto::cred::ROOT {
        return Err(Errno::EPERM);
    }
    if name == super::NAME {
        return Err(Errno::EBUSY);
    }
    Ok(())
}

/// What `init`'s answer to `Kill` means for the caller: the pid the
/// server had, or the errno.
pub fn outcome(reply: &Reply) -> Result<u64, Errno> {
    match reply {
        Reply::Killed { pid } => Ok(*pid),
        Reply::NotFound | Reply::Failed => Err(Errno::ESRCH),
        Reply::NotRestartable => Err(Errno::EINVAL),
        Reply::Unavailable => Err(Errno::EAGAIN),
        Reply::NotAllowed => Err(Errno::ENOSYS),
        Reply::Registered | Reply::Found | Reply::Pid { .. } | Reply::Servers { .. } => {
            Err(Errno::EIO)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_only_and_never_the_process_server_itself() {
        assert_eq!(check(0, "kv"), Ok(()));
        assert_eq!(check(1000, "kv"), Err(Errno::EPERM));
        assert_eq!(check(1000, "proc"), Err(Errno::EPERM), "privilege first");
        assert_eq!(check(0, "proc"), Err(Errno::EBUSY));
        assert_eq!(check(0, "spawned:kbd"), Ok(()));
    }

    #[test]
    fn inits_answers_as_errnos() {
        assert_eq!(outcome(&Reply::Killed { pid: 9 }), Ok(9));
        assert_eq!(outcome(&Reply::NotFound), Err(Errno::ESRCH));
        assert_eq!(outcome(&Reply::Failed), Err(Errno::ESRCH));
        assert_eq!(outcome(&Reply::NotRestartable), Err(Errno::EINVAL));
        assert_eq!(outcome(&Reply::Unavailable), Err(Errno::EAGAIN));
        assert_eq!(outcome(&Reply::NotAllowed), Err(Errno::ENOSYS));
        assert_eq!(outcome(&Reply::Pid { pid: 9 }), Err(Errno::EIO));
    }
}
