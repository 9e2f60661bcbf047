//! The name service (run by `init`): how a process finds a server.
//!
//! | request | reply | errors |
//! | --- | --- | --- |
//! | `Register { name }`, with the server's endpoint handle (SEND, MINT, GRANT) | `Registered` | `NotAllowed` (the boot manifest does not name this process for `name`) |
//! | `Lookup { name }` | `Found`, with a send handle badged for the caller | `NotFound` (no such server), `Unavailable` (restarting: ask again), `Failed` (it kept dying and was given up) |
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Registered,
    Found,
    NotFound,
    NotAllowed,
    Unavailable,
    Failed,
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
            Request::Lookup { name },
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
