//! `kv`, the key–value store: the protocol, and the client stub.
//!
//! Each client (told apart by its handle's badge) has its own keys and its
//! own quota: at most [`QUOTA_KEYS`] keys and [`QUOTA_BYTES`] bytes of keys
//! and values.
//!
//! | request | reply | errors (`Reply::Error`) |
//! | --- | --- | --- |
//! | `Put { key, value }` | `Done` | `EmptyKey`, `QuotaKeys`, `QuotaBytes`, `TooManyClients` (a new client while [`CLIENTS_MAX`] hold keys) |
//! | `Get { key }` | `Value(value)` | `NotFound` |
//! | `Delete { key }` | `Done` | `NotFound` |
//! | `List { after }` | `Keys(keys)`: up to [`LIST_MAX`] keys after `after`, in order | — |
//! | `Stats` | `Stats { keys, bytes }` (this client's) | — |
//!
//! Keys longer than [`KEY_MAX`] bytes or values longer than [`VALUE_MAX`]
//! do not fit the types: a client cannot build them, and bytes that claim
//! them do not decode (`LABEL_BAD_REQUEST`).

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

pub const KEY_MAX: usize = 64;
pub const VALUE_MAX: usize = 1024;
/// Keys one `List` returns at most.
pub const LIST_MAX: usize = 16;
/// Keys per client.
pub const QUOTA_KEYS: u32 = 64;
/// Bytes (keys and values) per client.
pub const QUOTA_BYTES: u32 = 16 * 1024;
/// Clients holding keys at once: kv never learns that a client died, so
/// what dead clients left counts until deleted or kv restarts; this bounds
/// the whole store to `CLIENTS_MAX × QUOTA_BYTES` (2 MiB, half kv's heap).
pub const CLIENTS_MAX: usize = 128;

pub type Key = heapless::String<KEY_MAX>;
pub type Value = heapless::Vec<u8, VALUE_MAX>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    Put { key: Key, value: Value },
    Get { key: Key },
    Delete { key: Key },
    List { after: Option<Key> },
    Stats,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum KvError {
    NotFound,
    EmptyKey,
    QuotaKeys,
    QuotaBytes,
    /// [`CLIENTS_MAX`] other clients hold keys.
    TooManyClients,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Done,
    Value(Value),
    Keys(heapless::Vec<Key, LIST_MAX>),
    Stats { keys: u32, bytes: u32 },
    Error(KvError),
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

impl core::fmt::Display for KvError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            KvError::NotFound => "no such key",
            KvError::EmptyKey => "empty key",
            KvError::QuotaKeys => "too many keys",
            KvError::QuotaBytes => "too many bytes",
            KvError::TooManyClients => "too many clients hold keys",
        })
    }
}

client_stub! {
    /// The client stub: `kv`'s requests as methods.
    server: "kv", error: Kv
}

client_error! {
    /// Why a `kv` call failed: the store said no, or the call itself failed.
    Kv(KvError),
    /// A key or value too long for the protocol, refused before sending.
    TooLong => "key or value too long",
    /// A reply of the wrong kind.
    Protocol => "unexpected reply",
}

#[cfg(target_os = "none")]
impl Client {
    fn key(key: &str) -> Result<Key, ClientError> {
        Key::try_from(key).map_err(|_| ClientError::TooLong)
    }

    pub fn put(&self, key: &str, value: &[u8]) -> Result<(), ClientError> {
        let value = Value::from_slice(value).map_err(|_| ClientError::TooLong)?;
        match self.call(&Request::Put {
            key: Self::key(key)?,
            value,
        })? {
            Reply::Done => Ok(()),
            _ => Err(ClientError::Protocol),
        }
    }

    pub fn get(&self, key: &str) -> Result<Value, ClientError> {
        match self.call(&Request::Get {
            key: Self::key(key)?,
        })? {
            Reply::Value(v) => Ok(v),
            _ => Err(ClientError::Protocol),
        }
    }

    pub fn delete(&self, key: &str) -> Result<(), ClientError> {
        match self.call(&Request::Delete {
            key: Self::key(key)?,
        })? {
            Reply::Done => Ok(()),
            _ => Err(ClientError::Protocol),
        }
    }

    pub fn list(&self, after: Option<&str>) -> Result<heapless::Vec<Key, LIST_MAX>, ClientError> {
        let after = after.map(Self::key).transpose()?;
        match self.call(&Request::List { after })? {
            Reply::Keys(keys) => Ok(keys),
            _ => Err(ClientError::Protocol),
        }
    }

    /// This client's (keys, bytes).
    pub fn stats(&self) -> Result<(u32, u32), ClientError> {
        match self.call(&Request::Stats)? {
            Reply::Stats { keys, bytes } => Ok((keys, bytes)),
            _ => Err(ClientError::Protocol),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{decode, encode, fits};

    fn key(text: &str) -> Key {
        text.try_into().unwrap()
    }

    #[test]
    fn every_message_round_trips() {
        let mut buffer = [0u8; crate::abi::ipc::PAYLOAD_MAX];
        let requests = [
            Request::Put {
                key: key("k"),
                value: Value::from_slice(&[1, 2, 3]).unwrap(),
            },
            Request::Get { key: key("k") },
            Request::Delete { key: key("k") },
            Request::List {
                after: Some(key("a")),
            },
            Request::List { after: None },
            Request::Stats,
        ];
        for request in requests {
            let n = encode(&request, &mut buffer).unwrap();
            assert_eq!(decode::<Request>(&buffer[..n]), Ok(request));
        }
        let mut keys = heapless::Vec::new();
        keys.push(key("a")).unwrap();
        let replies = [
            Reply::Done,
            Reply::Value(Value::from_slice(b"v").unwrap()),
            Reply::Keys(keys),
            Reply::Stats { keys: 3, bytes: 99 },
            Reply::Error(KvError::QuotaBytes),
        ];
        for reply in replies {
            let n = encode(&reply, &mut buffer).unwrap();
            assert_eq!(decode::<Reply>(&buffer[..n]), Ok(reply));
        }
    }

    #[test]
    fn the_largest_messages_fit_and_really_encode() {
        assert!(fits::<Request>() && fits::<Reply>());
        let mut buffer = [0u8; crate::abi::ipc::PAYLOAD_MAX];
        let big = Request::Put {
            key: key(&"k".repeat(KEY_MAX)),
            value: Value::from_slice(&[0xff; VALUE_MAX]).unwrap(),
        };
        assert!(encode(&big, &mut buffer).unwrap() <= Request::POSTCARD_MAX_SIZE);
        let keys: heapless::Vec<Key, LIST_MAX> =
            (0..LIST_MAX).map(|_| key(&"z".repeat(KEY_MAX))).collect();
        assert!(encode(&Reply::Keys(keys), &mut buffer).unwrap() <= Reply::POSTCARD_MAX_SIZE);
    }

    #[test]
    fn truncated_oversized_and_garbage_requests_are_errors() {
        let mut buffer = [0u8; crate::abi::ipc::PAYLOAD_MAX];
        let n = encode(
            &Request::Put {
                key: key("key"),
                value: Value::from_slice(b"value").unwrap(),
            },
            &mut buffer,
        )
        .unwrap();
        for cut in 0..n {
            assert!(
                decode::<Request>(&buffer[..cut]).is_err(),
                "truncated at {cut}"
            );
        }
        // A value claiming more than VALUE_MAX bytes.
        let mut oversized = vec![0u8, 1, b'k'];
        oversized.extend([0x81, 0x08]); // varint 1025
        oversized.extend(vec![0u8; 1025]);
        assert!(decode::<Request>(&oversized).is_err());
        assert!(decode::<Request>(&[42, 0, 0]).is_err(), "no such variant");
    }
}
