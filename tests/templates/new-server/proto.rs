//! `__name__`: the protocol, and the client stub (made by
//! `make new-server NAME=__name__`; see docs/writing-a-server.md).
//!
//! | request | reply | errors |
//! | --- | --- | --- |
//! | `Echo { text }` | `Echoed(text)` | — |
//! | `Count` | `Count(n)`: requests this client made so far | — |
//!
//! Text longer than [`TEXT_MAX`] bytes does not fit the type: a client
//! cannot build it, and bytes that claim it do not decode
//! (`LABEL_BAD_REQUEST`).

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

pub const TEXT_MAX: usize = 64;
pub type Text = heapless::String<TEXT_MAX>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    Echo { text: Text },
    Count,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Echoed(Text),
    Count(u64),
}

// Every message fits one IPC payload: checked when libsys compiles.
const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

/// Why a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientError {
    Rpc(crate::rpc::RpcError),
    /// Text too long for the protocol, refused before sending.
    TooLong,
    /// A reply of the wrong kind.
    Protocol,
}

impl core::fmt::Display for ClientError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ClientError::Rpc(e) => write!(f, "{e}"),
            ClientError::TooLong => write!(f, "text too long"),
            ClientError::Protocol => write!(f, "unexpected reply"),
        }
    }
}

/// The client stub: `__name__`'s requests as methods.
#[cfg(target_os = "none")]
pub struct Client {
    endpoint: crate::handle::Endpoint,
}

#[cfg(target_os = "none")]
impl Client {
    /// Finds `__name__` through the name service.
    pub fn connect() -> Result<Client, crate::names::NameError> {
        crate::names::lookup_wait("__name__", 2_000).map(|endpoint| Client { endpoint })
    }

    fn call(&self, request: &Request) -> Result<Reply, ClientError> {
        crate::rpc::call(&self.endpoint, request).map_err(ClientError::Rpc)
    }

    pub fn echo(&self, text: &str) -> Result<Text, ClientError> {
        let text = Text::try_from(text).map_err(|_| ClientError::TooLong)?;
        match self.call(&Request::Echo { text })? {
            Reply::Echoed(text) => Ok(text),
            _ => Err(ClientError::Protocol),
        }
    }

    pub fn count(&self) -> Result<u64, ClientError> {
        match self.call(&Request::Count)? {
            Reply::Count(n) => Ok(n),
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
        let mut buffer = [0u8; 256];
        let text: Text = "hi".try_into().unwrap();
        for request in [Request::Echo { text: text.clone() }, Request::Count] {
            let n = encode(&request, &mut buffer).unwrap();
            assert_eq!(decode::<Request>(&buffer[..n]), Ok(request));
        }
        for reply in [Reply::Echoed(text), Reply::Count(u64::MAX)] {
            let n = encode(&reply, &mut buffer).unwrap();
            assert_eq!(decode::<Reply>(&buffer[..n]), Ok(reply));
        }
    }

    #[test]
    fn truncated_oversized_and_garbage_requests_are_errors() {
        let mut buffer = [0u8; 256];
        let text: Text = "hello".try_into().unwrap();
        let n = encode(&Request::Echo { text }, &mut buffer).unwrap();
        for cut in 0..n {
            assert!(decode::<Request>(&buffer[..cut]).is_err(), "truncated at {cut}");
        }
        let mut oversized = vec![0u8, TEXT_MAX as u8 + 1];
        oversized.extend([b'x'; TEXT_MAX + 1]);
        assert!(decode::<Request>(&oversized).is_err());
        assert!(decode::<Request>(&[7]).is_err(), "no such variant");
    }
}
