//! The name service (run by `init`): how a process finds a server.
//!
//! | request | reply | errors |
//! | --- | --- | --- |
//! | `Register { name }`, with the server's endpoint handle (SEND, MINT, GRANT) | `Registered` | `NotAllowed` (the boot manifest does not name this process for `name`) |
//! | `Lookup { name }` | `Found`, with a send handle badged for the caller | `NotFound` (no such server), `Unavailable` (restarting: ask again), `Failed` (it kept dying and was given up) |
//! | `Kill { name, mode }`: kill the server registered as `name` (or, as `spawned:<name>`, the process of that name another process had `init` spawn: a driver), which `init` (or the spawner) then restarts | `Killed { pid }` (the pid it had) | `NotAllowed` (the asker's manifest entry has neither the `chaos` nor the `service` right), `NotRestartable` (the memory server, which is never restarted, or a server placed in the kernel), `NotFound`, `Unavailable` (not running now: restarting), `Failed` |
//! | `Pid { name }`: the pid of the process serving `name` now (or of `spawned:<name>`) | `Pid { pid }` | as `Kill` (`Unavailable` while it restarts) |
//! | `List { from }`: the servers `init` runs and the processes it spawned for others, from the `from`-th on | `Servers { servers, more }`: at most [`LIST_MAX`] [`ServerInfo`]s; `more` if there are others after them (ask again from `from + servers.len()`) | none: anyone may ask, as anyone may run `ps` |
//!
//! `Kill` and `Pid` are the restart-transparency checker's (`make chaos`)
//! and the process server's, which asks on behalf of root's `service
//! kill` and `service restart` (`proc::Request::KillServer`). A
//! [`KillMode::Restart`] is not the server's fault, so `init` restarts the
//! server after the first, shortest delay and does not count it against
//! the server's restart budget; a [`KillMode::Fail`] is handled as if the
//! server had died by itself (a restart of its budget, after its
//! back-off; given up once the budget is spent).
//!
//! A malformed message gets `LABEL_BAD_REQUEST` (see [`crate::rpc`]).

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// The longest server name.
pub const NAME_MAX: usize = 32;
pub type Name = heapless::String<NAME_MAX>;

/// Entries one `List` reply holds.
pub const LIST_MAX: usize = 16;

/// How a death `Kill` causes counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum KillMode {
    /// Not the server's fault: restarted at once, its budget untouched.
    Restart,
    /// As if it had died by itself: a restart of its budget.
    Fail,
}

/// Where a server stands, as `List` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum ServerState {
    /// Started, its name not registered yet.
    Starting,
    /// Running, its name registered (a spawned child: running).
    Running,
    /// Dead, a restart due.
    Restarting,
    /// Given up: it kept dying and its budget is spent.
    Failed,
    /// Placed in the kernel (`placement=mono`): no process.
    InKernel,
}

impl ServerState {
    /// The word `service list` shows.
    pub fn name(&self) -> &'static str {
        match self {
            ServerState::Starting => "starting",
            ServerState::Running => "running",
            ServerState::Restarting => "restarting",
            ServerState::Failed => "failed",
            ServerState::InKernel => "in-kernel",
        }
    }
}

/// One line of `service list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct ServerInfo {
    /// The name it registers (a spawned child: the name it was spawned
    /// as, which `Kill` takes as `spawned:<name>`).
    pub name: Name,
    /// Its process now (0: none).
    pub pid: u64,
    pub state: ServerState,
    /// Restarts used, of its budget (a spawned child's are its
    /// spawner's to keep: 0 of 0).
    pub restarts: u32,
    pub budget: u32,
    /// Whether `Kill` may kill it (not the memory server, nor a server
    /// in the kernel).
    pub restartable: bool,
    /// The process that had it spawned (0: a server of the manifest).
    pub spawner: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    Register { name: Name },
    Lookup { name: Name },
    Kill { name: Name, mode: KillMode },
    Pid { name: Name },
    List { from: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Registered,
    Found,
    NotFound,
    NotAllowed,
    Unavailable,
    Failed,
    Killed {
        pid: u64,
    },
    Pid {
        pid: u64,
    },
    NotRestartable,
    Servers {
        servers: heapless::Vec<ServerInfo, LIST_MAX>,
        more: bool,
    },
}

/// The `List` reply for `from` over every entry, `all`: at most
/// [`LIST_MAX`] from the `from`-th on, and whether more follow.
pub fn page(all: &[ServerInfo], from: u32) -> Reply {
    let start = (from as usize).min(all.len());
    let end = all.len().min(start + LIST_MAX);
    let mut servers = heapless::Vec::new();
    for s in &all[start..end] {
        // Cannot fail: at most LIST_MAX.
        let _ = servers.push(s.clone());
    }
    Reply::Servers {
        servers,
        more: end < all.len(),
    }
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{decode, encode};

    #[test]
    fn every_message_round_trips() {
        let mut buffer = [0u8; crate::abi::ipc::PAYLOAD_MAX];
        let name: Name = "kv".try_into().unwrap();
        for request in [
            Request::Register { name: name.clone() },
            Request::Lookup { name: name.clone() },
            Request::Kill {
                name: name.clone(),
                mode: KillMode::Restart,
            },
            Request::Kill {
                name: name.clone(),
                mode: KillMode::Fail,
            },
            Request::Pid { name },
            Request::List { from: u32::MAX },
        ] {
            let n = encode(&request, &mut buffer).unwrap();
            assert_eq!(decode::<Request>(&buffer[..n]), Ok(request));
        }
        for reply in [
            Reply::Registered,
            Reply::Found,
            Reply::NotFound,
            Reply::NotAllowed,
            Reply::Unavailable,
            Reply::Failed,
            Reply::Killed { pid: 7 },
            Reply::Pid { pid: u64::MAX },
            Reply::NotRestartable,
            page(&servers(LIST_MAX), 0),
        ] {
            let n = encode(&reply, &mut buffer).unwrap();
            assert_eq!(decode::<Reply>(&buffer[..n]), Ok(reply));
        }
    }

    /// `n` servers with the longest name and the largest figures.
    fn servers(n: usize) -> Vec<ServerInfo> {
        (0..n)
            .map(|i| ServerInfo {
                name: core::iter::repeat_n('x', NAME_MAX).collect(),
                pid: u64::MAX - i as u64,
                state: ServerState::Restarting,
                restarts: u32::MAX,
                budget: u32::MAX,
                restartable: true,
                spawner: u64::MAX,
            })
            .collect()
    }

    #[test]
    fn lists_come_in_pages() {
        let all = servers(LIST_MAX + 3);
        let Reply::Servers { servers, more } = page(&all, 0) else {
            panic!("not a page");
        };
        assert_eq!((servers.len(), more), (LIST_MAX, true));
        assert_eq!(servers[0], all[0]);
        let Reply::Servers { servers, more } = page(&all, LIST_MAX as u32) else {
            panic!("not a page");
        };
        assert_eq!((servers.len(), more), (3, false));
        assert_eq!(servers[2], all[LIST_MAX + 2]);
        for from in [LIST_MAX as u32 + 3, u32::MAX] {
            assert_eq!(
                page(&all, from),
                Reply::Servers {
                    servers: heapless::Vec::new(),
                    more: false
                }
            );
        }
        let Reply::Servers { servers, more } = page(&all[..LIST_MAX], 0) else {
            panic!("not a page");
        };
        assert_eq!((servers.len(), more), (LIST_MAX, false), "exactly full");
    }

    #[test]
    fn an_overlong_name_does_not_decode() {
        let mut bytes = vec![1u8, 33];
        bytes.extend([b'x'; 33]);
        assert!(decode::<Request>(&bytes).is_err());
    }
}
