//! `cred`, the credentials protocol: "what are this pid's credentials".
//!
//! One pid space: the pid asked about is the kernel's process id (the one
//! `process_info` reports and the badge servers see on a request), so a
//! server that wants to know who its caller is asks with `Caller::badge`.
//! `init` answers for every process it started until the process server
//! exists; then the process server answers the same requests.
//!
//! | request | reply | errors (`Reply::Error`) |
//! | --- | --- | --- |
//! | `Get { pid }` | `Credentials(Credentials)` | `UnknownPid` |
//! | `Caller` | `Caller { pid }`: the pid the server saw on the request (its badge) | — |
//!
//! `Caller` is how a process checks the one-pid-space rule from outside:
//! the badge on its handle is its kernel pid.
//!
//! A process has a real and an effective user and group id and at most
//! [`GROUPS_MAX`] supplementary groups (Linux's `struct cred`: `uid`,
//! `euid`, `gid`, `egid`, `group_info`). Root is uid 0.

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// Supplementary groups one process holds at most.
pub const GROUPS_MAX: usize = 16;
/// The name its server registers (`init` answers it now).
pub const NAME: &str = "cred";
/// The superuser's user id.
pub const ROOT: u32 = 0;

pub type Groups = heapless::Vec<u32, GROUPS_MAX>;

/// A process's credentials (Linux's `struct cred`, the ids only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Credentials {
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    pub groups: Groups,
}

impl Credentials {
    /// The superuser's: every id 0, no supplementary group.
    pub fn root() -> Credentials {
        Credentials::default()
    }

    /// Real and effective ids `uid`/`gid`, no supplementary group.
    pub fn of(uid: u32, gid: u32) -> Credentials {
        Credentials {
            uid,
            euid: uid,
            gid,
            egid: gid,
            groups: Groups::new(),
        }
    }

    /// Whether the effective user is root (who may start a child with
    /// other credentials).
    pub fn is_root(&self) -> bool {
        self.euid == ROOT
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    Get { pid: u64 },
    Caller,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum CredError {
    /// No process the server started has this pid (or it has ended).
    UnknownPid,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Credentials(Credentials),
    Caller { pid: u64 },
    Error(CredError),
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

impl core::fmt::Display for CredError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CredError::UnknownPid => "no such process",
        })
    }
}

client_error! {
    /// Why a credentials call failed: the server said no, or the call failed.
    Cred(CredError),
    /// A reply of the wrong kind.
    Protocol => "unexpected reply",
}

client_stub! {
    /// The client stub: the credentials of a pid.
    server: "cred",
    error: Cred
}

#[cfg(target_os = "none")]
impl Client {
    /// The credentials of process `pid`.
    pub fn get(&self, pid: u64) -> Result<Credentials, ClientError> {
        match self.call(&Request::Get { pid })? {
            Reply::Credentials(c) => Ok(c),
            _ => Err(ClientError::Protocol),
        }
    }

    /// The pid the server sees this process as (the badge of its handle).
    pub fn caller(&self) -> Result<u64, ClientError> {
        match self.call(&Request::Caller)? {
            Reply::Caller { pid } => Ok(pid),
            _ => Err(ClientError::Protocol),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{decode, encode};

    #[test]
    fn every_message_round_trips() {
        let mut buffer = [0u8; 4096];
        for request in [Request::Get { pid: u64::MAX }, Request::Caller] {
            let n = encode(&request, &mut buffer).unwrap();
            assert_eq!(decode::<Request>(&buffer[..n]), Ok(request));
        }
        let mut full = Credentials::of(1000, 100);
        for g in 0..GROUPS_MAX as u32 {
            full.groups.push(g).unwrap();
        }
        for reply in [
            Reply::Credentials(Credentials::root()),
            Reply::Credentials(full),
            Reply::Caller { pid: 7 },
            Reply::Error(CredError::UnknownPid),
        ] {
            let n = encode(&reply, &mut buffer).unwrap();
            assert_eq!(decode::<Reply>(&buffer[..n]), Ok(reply));
        }
    }

    #[test]
    fn too_many_groups_do_not_decode() {
        // A list that claims one group more than the type holds.
        let mut buffer = [0u8; 256];
        let n = encode(&Credentials::root(), &mut buffer).unwrap();
        assert_eq!(n, 5, "four ids of one byte and an empty list");
        buffer[4] = GROUPS_MAX as u8 + 1;
        (0..=GROUPS_MAX).for_each(|i| buffer[5 + i] = 1);
        assert!(decode::<Credentials>(&buffer[..5 + GROUPS_MAX + 1]).is_err());
    }

    #[test]
    fn root_is_the_effective_uid_zero() {
        assert!(Credentials::root().is_root());
        assert!(!Credentials::of(1000, 1000).is_root());
        let setuid_root = Credentials {
            euid: 0,
            ..Credentials::of(1000, 1000)
        };
        assert!(setuid_root.is_root());
    }
}
