//! The name service (run by `init`): how a process finds a server.
//!
//! | request | reply | errors |
//! | --- | --- | --- |
//! | `Register { name }`, with the server's endpoint handle (SEND, MINT, GRANT) | `Registered` | `NotAllowed` (the boot manifest does not name this process for `name`) |
//! | `Lookup { name }` | `Found`, with a send handle badged for the caller | `NotFound` (no such server), `Unavailable` (restarting: ask again), `Failed` (it kept dying and was given up) |
//! | `Kill { name }`: kill the server registered as `name` (or, as `spawned:<name>`, the process of that name another process had `init` spawn: a driver), which `init` (or the spawner) then restarts | `Killed { pid }` (the pid it had) | `NotAllowed` (the asker's manifest entry lacks the `chaos` right, or `name` is the memory server, which is never restarted), `NotFound`, `Unavailable` (not running now: restarting), `Failed` |
//! | `Pid { name }`: the pid of the process serving `name` now (or of `spawned:<name>`) | `Pid { pid }` | as `Kill` (`Unavailable` while it restarts) |
//!
//! `Kill` and `Pid` are the restart-transparency checker's (`make chaos`): a death
//! it causes is not the server's fault, so `init` restarts the server
//! after the first, shortest delay and does not count it against the
//! server's restart budget.
//!
//! A malformed message gets `LABEL_BAD_REQUEST` (see [`crate::rpc`]).

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// The longest server name.
pub const NAME_MAX: usize = 32;
pub type Name = heapless::String<NAME_MAX>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    Register { name: Name },
    Lookup { name: Name },
    Kill { name: Name },
    Pid { name: Name },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Registered,
    Found,
    NotFound,
    NotAllowed,
    Unavailable,
    Failed,
    Killed { pid: u64 },
    Pid { pid: u64 },
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{decode, encode};

    #[test]
    fn every_message_round_trips() {
        let mut buffer = [0u8; 64];
        let name: Name = "kv".try_into().unwrap();
        for request in [
            Request::Register { name: name.clone() },
            Request::Lookup { name: name.clone() },
            Request::Kill { name: name.clone() },
            Request::Pid { name },
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
        ] {
            let n = encode(&reply, &mut buffer).unwrap();
            assert_eq!(decode::<Reply>(&buffer[..n]), Ok(reply));
        }
    }

    #[test]
    fn an_overlong_name_does_not_decode() {
        let mut bytes = vec![1u8, 33];
        bytes.extend([b'x'; 33]);
        assert!(decode::<Request>(&bytes).is_err());
    }
}
