//! A process's credentials (LKD's `struct cred`): real, effective and
//! saved user and group ids and the supplementary groups, with Linux's
//! rules for changing them and for who may signal whom. Root is effective
//! uid 0 (there are no separate capabilities).

use alloc::vec::Vec;

use crate::errno::Errno;

/// The most supplementary groups a process may have (`NGROUPS_MAX` is
/// 65,536 on Linux; a bound this small keeps the table's memory small).
pub const NGROUPS_MAX: usize = 32;

/// User and group ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    groups: Vec<u32>,
}

impl Credentials {
    /// Real, effective and saved ids all `uid`/`gid`, no groups.
    pub fn new(uid: u32, gid: u32) -> Credentials {
        Credentials {
            uid,
            euid: uid,
            suid: uid,
            gid,
            egid: gid,
            sgid: gid,
            groups: Vec::new(),
        }
    }

    /// Root: effective uid 0 (Linux's `CAP_SETUID`, `CAP_KILL`, ...).
    pub const fn is_root(&self) -> bool {
        self.euid == 0
    }

    pub fn groups(&self) -> &[u32] {
        &self.groups
    }

    /// `setuid(uid)`: root sets all three ids; anyone else may set the
    /// effective uid to the real or saved one. `EPERM` otherwise.
    pub fn setuid(&mut self, uid: u32) -> Result<(), Errno> {
        if self.is_root() {
            (self.uid, self.euid, self.suid) = (uid, uid, uid);
        } else if uid == self.uid || uid == self.suid {
            self.euid = uid;
        } else {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// `setgid(gid)`: as [`Credentials::setuid`], with root still decided
    /// by the effective uid.
    pub fn setgid(&mut self, gid: u32) -> Result<(), Errno> {
        if self.is_root() {
            (self.gid, self.egid, self.sgid) = (gid, gid, gid);
        } else if gid == self.gid || gid == self.sgid {
            self.egid = gid;
        } else {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// `setgroups(groups)`: root only (`EPERM`); `EINVAL` beyond
    /// [`NGROUPS_MAX`].
    pub fn setgroups(&mut self, groups: &[u32]) -> Result<(), Errno> {
        if !self.is_root() {
            return Err(Errno::EPERM);
        }
        if groups.len() > NGROUPS_MAX {
            return Err(Errno::EINVAL);
        }
        self.groups = groups.to_vec();
        Ok(())
    }

    /// Linux's `kill_ok_by_cred`: the sender's real or effective uid
    /// equals the target's real or saved uid, or the sender is root.
    pub fn may_signal(&self, target: &Credentials) -> bool {
        self.is_root()
            || [self.uid, self.euid]
                .iter()
                .any(|&id| id == target.uid || id == target.suid)
    }

    /// `AT_SECURE`: the program runs with ids that differ from the user's
    /// (set-id), so its C library should distrust the environment.
    pub const fn secure(&self) -> bool {
        self.uid != self.euid || self.gid != self.egid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setuid_rules() {
        let mut root = Credentials::new(0, 0);
        root.setuid(1000).unwrap();
        assert_eq!((root.uid, root.euid, root.suid), (1000, 1000, 1000));
        assert_eq!(root.setuid(0), Err(Errno::EPERM), "root gave itself up");

        // A program set-uid to 2000, run by user 1000.
        let mut setuid_prog = Credentials {
            euid: 2000,
            suid: 2000,
            ..Credentials::new(1000, 100)
        };
        setuid_prog.setuid(1000).unwrap();
        assert_eq!(
            (setuid_prog.uid, setuid_prog.euid, setuid_prog.suid),
            (1000, 1000, 2000)
        );
        setuid_prog.setuid(2000).unwrap();
        assert_eq!(setuid_prog.euid, 2000, "back to the saved uid");
        assert_eq!(setuid_prog.setuid(3000), Err(Errno::EPERM));
    }

    #[test]
    fn setgid_and_groups() {
        let mut user = Credentials::new(1000, 100);
        assert_eq!(user.setgid(0), Err(Errno::EPERM));
        user.setgid(100).unwrap();
        assert_eq!(user.setgroups(&[1, 2]), Err(Errno::EPERM));
        let mut root = Credentials::new(0, 0);
        root.setgid(50).unwrap();
        assert_eq!((root.gid, root.egid, root.sgid), (50, 50, 50));
        root.setgroups(&[1, 2, 3]).unwrap();
        assert_eq!(root.groups(), &[1, 2, 3]);
        assert_eq!(root.setgroups(&[0; NGROUPS_MAX + 1]), Err(Errno::EINVAL));
    }

    #[test]
    fn kill_permission() {
        let alice = Credentials::new(1000, 100);
        let bob = Credentials::new(1001, 100);
        let root = Credentials::new(0, 0);
        assert!(alice.may_signal(&alice));
        assert!(!alice.may_signal(&bob));
        assert!(root.may_signal(&bob));
        assert!(!bob.may_signal(&root));
        // Bob running a program set-uid to alice: effective alice.
        let bob_as_alice = Credentials {
            euid: 1000,
            suid: 1000,
            ..Credentials::new(1001, 100)
        };
        assert!(
            bob_as_alice.may_signal(&alice),
            "effective uid = target's real"
        );
        assert!(alice.may_signal(&bob_as_alice), "real uid = target's saved");
        assert!(bob.may_signal(&bob_as_alice), "real = real");
        assert!(bob_as_alice.secure() && !bob.secure());
    }
}
