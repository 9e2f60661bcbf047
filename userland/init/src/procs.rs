//! The process table: for every process `init` started, by its pid (the
//! kernel's process id — one pid space), its credentials and its parent,
//! and how many children each has in flight. It answers the credentials
//! protocol (`libsys::proto::cred`) and makes the spawn protocol's
//! stateful checks (`libsys::proto::spawn`): the caller is known, the
//! credentials it asks for are its to give, it stays under its quota of
//! children.
//!
//! A child inherits its parent's credentials unless the parent is root
//! (effective uid 0) and asks for others (`run_as`); a non-root parent
//! asking for others is refused, even for its own ids (Linux lets only
//! `CAP_SETUID` change ids at will; here the rule is simply "root only").
//! The table is bounded ([`PROCS_MAX`] entries); the process server takes
//! it over later.

use alloc::vec::Vec;

use libsys::proto::cred::{CredError, Credentials};
use libsys::proto::spawn::SpawnError;

/// The bit `init` sets in the badge of a handle to its credentials
/// service: `init` serves the name service and `cred` on its one endpoint,
/// and tells them apart by this bit of the badge it minted itself. A pid
/// never reaches it; the rest of the badge is the caller's pid.
pub const CRED_TAG: u64 = 1 << 63;

/// The bit `init` sets in the badge of a handle to its spawn service
/// (`libsys::proto::spawn`), as [`CRED_TAG`] for credentials.
pub const SPAWN_TAG: u64 = 1 << 62;

/// Which of `init`'s services a request on its endpoint is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// The name service, from process `pid` (0: `init` itself or a
    /// server in the kernel).
    Names { pid: u64 },
    /// The credentials service, from process `pid`.
    Cred { pid: u64 },
    /// The spawn service, from process `pid`.
    Spawn { pid: u64 },
}

impl Service {
    /// The service and caller a badge names.
    pub fn of(badge: u64) -> Service {
        if badge & CRED_TAG != 0 {
            Service::Cred {
                pid: badge & !(CRED_TAG | SPAWN_TAG),
            }
        } else if badge & SPAWN_TAG != 0 {
            Service::Spawn {
                pid: badge & !SPAWN_TAG,
            }
        } else {
            Service::Names { pid: badge }
        }
    }

    /// The badge of a handle to the credentials service for `pid`.
    pub fn cred_badge(pid: u64) -> u64 {
        pid | CRED_TAG
    }

    /// The badge of a handle to the spawn service for `pid`.
    pub fn spawn_badge(pid: u64) -> u64 {
        pid | SPAWN_TAG
    }
}

/// Processes the table holds at most.
pub const PROCS_MAX: usize = 256;
/// Children of one process not yet reaped.
pub const CHILDREN_MAX: u32 = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Proc {
    pid: u64,
    parent: Option<u64>,
    cred: Credentials,
    /// Children it spawned that are not reaped yet.
    children: u32,
}

/// Why a process cannot be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    /// [`PROCS_MAX`] processes are in the table.
    Full,
    /// The pid is in the table already.
    Duplicate,
}

#[derive(Clone, Debug, Default)]
pub struct Table {
    procs: Vec<Proc>,
}

impl Table {
    pub const fn new() -> Self {
        Table { procs: Vec::new() }
    }

    fn get(&self, pid: u64) -> Option<&Proc> {
        self.procs.iter().find(|p| p.pid == pid)
    }

    fn insert(&mut self, proc: Proc) -> Result<(), TableError> {
        if self.get(proc.pid).is_some() {
            return Err(TableError::Duplicate);
        }
        if self.procs.len() >= PROCS_MAX {
            return Err(TableError::Full);
        }
        self.procs.push(proc);
        Ok(())
    }

    /// A process `init` started from its manifest, with the entry's ids.
    pub fn add_started(&mut self, pid: u64, uid: u32, gid: u32) -> Result<(), TableError> {
        self.insert(Proc {
            pid,
            parent: None,
            cred: Credentials::of(uid, gid),
            children: 0,
        })
    }

    /// The credentials of `pid`.
    pub fn credentials(&self, pid: u64) -> Result<Credentials, CredError> {
        self.get(pid)
            .map(|p| p.cred.clone())
            .ok_or(CredError::UnknownPid)
    }

    /// The spawn protocol's checks for a request from `parent` that asks
    /// to run as `run_as` (or as itself): the child's credentials, or
    /// why not. Changes nothing; [`Table::add_child`] records the child.
    pub fn admit(
        &self,
        parent: u64,
        run_as: Option<(u32, u32)>,
    ) -> Result<Credentials, SpawnError> {
        let p = self.get(parent).ok_or(SpawnError::NotPermitted)?;
        if p.children >= CHILDREN_MAX {
            return Err(SpawnError::TooManyChildren);
        }
        if self.procs.len() >= PROCS_MAX {
            return Err(SpawnError::StartFailed);
        }
        match run_as {
            None => Ok(p.cred.clone()),
            Some((uid, gid)) if p.cred.is_root() => Ok(Credentials::of(uid, gid)),
            Some(_) => Err(SpawnError::NotPermitted),
        }
    }

    /// Records `pid`, a child of `parent` with credentials `cred` (from
    /// [`Table::admit`]), and counts it against its parent's quota.
    pub fn add_child(
        &mut self,
        pid: u64,
        parent: u64,
        cred: Credentials,
    ) -> Result<(), TableError> {
        self.insert(Proc {
            pid,
            parent: Some(parent),
            cred,
            children: 0,
        })?;
        if let Some(p) = self.procs.iter_mut().find(|p| p.pid == parent) {
            p.children += 1;
        }
        Ok(())
    }

    /// `pid` has ended and been reaped: it leaves the table and no longer
    /// counts against its parent. Its own children stay (orphans keep
    /// their credentials; nobody counts them any more).
    pub fn reaped(&mut self, pid: u64) {
        let Some(i) = self.procs.iter().position(|p| p.pid == pid) else {
            return;
        };
        let gone = self.procs.swap_remove(i);
        if let Some(parent) = gone.parent {
            if let Some(p) = self.procs.iter_mut().find(|p| p.pid == parent) {
                p.children = p.children.saturating_sub(1);
            }
        }
        for orphan in self.procs.iter_mut().filter(|p| p.parent == Some(pid)) {
            orphan.parent = None;
        }
    }

    /// How many children of `pid` are in flight.
    pub fn children(&self, pid: u64) -> u32 {
        self.get(pid).map_or(0, |p| p.children)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_badge_names_the_service_and_the_pid() {
        assert_eq!(Service::of(5), Service::Names { pid: 5 });
        assert_eq!(
            Service::of(Service::cred_badge(5)),
            Service::Cred { pid: 5 }
        );
        assert_eq!(Service::of(0), Service::Names { pid: 0 });
        assert_eq!(
            Service::of(Service::spawn_badge(7)),
            Service::Spawn { pid: 7 }
        );
    }

    #[test]
    fn started_processes_have_their_manifest_ids_and_others_are_unknown() {
        let mut t = Table::new();
        t.add_started(3, 0, 0).unwrap();
        t.add_started(4, 1000, 100).unwrap();
        assert_eq!(t.credentials(3), Ok(Credentials::root()));
        assert_eq!(t.credentials(4), Ok(Credentials::of(1000, 100)));
        assert_eq!(t.credentials(5), Err(CredError::UnknownPid));
        assert_eq!(t.add_started(4, 0, 0), Err(TableError::Duplicate));
    }

    #[test]
    fn a_child_inherits_unless_a_root_parent_asks_otherwise() {
        let mut t = Table::new();
        t.add_started(1, 0, 0).unwrap();
        t.add_started(2, 1000, 100).unwrap();
        assert_eq!(t.admit(1, None), Ok(Credentials::root()));
        let other = t.admit(1, Some((500, 50))).unwrap();
        assert_eq!(other, Credentials::of(500, 50));
        t.add_child(10, 1, other).unwrap();
        assert_eq!(t.credentials(10), Ok(Credentials::of(500, 50)));
        assert_eq!(t.admit(2, None), Ok(Credentials::of(1000, 100)));
        assert_eq!(
            t.admit(2, Some((1000, 100))),
            Err(SpawnError::NotPermitted),
            "only root chooses"
        );
        assert_eq!(t.admit(99, None), Err(SpawnError::NotPermitted), "unknown");
    }

    #[test]
    fn the_quota_counts_children_until_they_are_reaped() {
        let mut t = Table::new();
        t.add_started(1, 0, 0).unwrap();
        for pid in 0..CHILDREN_MAX as u64 {
            let cred = t.admit(1, None).unwrap();
            t.add_child(100 + pid, 1, cred).unwrap();
        }
        assert_eq!(t.admit(1, None), Err(SpawnError::TooManyChildren));
        t.reaped(100);
        assert_eq!(t.children(1), CHILDREN_MAX - 1);
        assert_eq!(t.credentials(100), Err(CredError::UnknownPid));
        assert!(t.admit(1, None).is_ok());
        t.reaped(12345);
        assert_eq!(t.children(1), CHILDREN_MAX - 1, "an unknown pid is a no-op");
    }

    #[test]
    fn orphans_keep_their_credentials_and_the_table_is_bounded() {
        let mut t = Table::new();
        t.add_started(1, 0, 0).unwrap();
        t.add_child(2, 1, Credentials::of(7, 7)).unwrap();
        t.add_child(3, 2, Credentials::of(7, 7)).unwrap();
        t.reaped(2);
        assert_eq!(t.credentials(3), Ok(Credentials::of(7, 7)));
        t.reaped(3);
        assert_eq!(t.children(1), 0);
        let mut t = Table::new();
        for pid in 0..PROCS_MAX as u64 {
            t.add_started(pid, 0, 0).unwrap();
        }
        assert_eq!(t.add_started(9999, 0, 0), Err(TableError::Full));
        assert_eq!(t.admit(0, None), Err(SpawnError::StartFailed));
    }
}
