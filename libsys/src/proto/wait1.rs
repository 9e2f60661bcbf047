//! `wait1`, the `/dev/wait1` ring buffer of the slide deck: the protocol,
//! and the client stub.
//!
//! One device shared by every client: a FIFO of at most [`CAPACITY`]
//! bytes. A `Read` on an empty device and a `Write` on a full one block
//! (the reply comes when the other side has made progress), unless the
//! request says `nonblock` (`O_NONBLOCK`): then `WouldBlock`. A write
//! takes what fits and says how much (a short write, as a pipe's); one
//! that blocked moves its bytes as room appears and is answered when all
//! are in, or, let out of its call (`Thread::unblock`), with how many it
//! moved (`Interrupted` if none: `-EINTR`); a read
//! returns what is there, up to `max`. Blocked callers are served in the
//! order they came, readers and writers each in their own queue; a new
//! request never overtakes a blocked one of its kind.
//!
//! | request | reply | errors (`Reply::Error`) |
//! | --- | --- | --- |
//! | `Write { bytes, nonblock }` | `Written(n)`: the first `n` (≥ 1) of `bytes` are in the FIFO | `EmptyWrite`, `WouldBlock`, `TooManyWaiters` |
//! | `Read { max, nonblock }` | `Data(bytes)`: 1 to `max` bytes, oldest first | `ZeroMax`, `TooLarge` (`max` > [`READ_MAX`]), `WouldBlock`, `TooManyWaiters` |
//! | `Stats` | `Stats(Stats)` | — |
//!
//! A write longer than [`WRITE_MAX`] does not fit the type: a client
//! cannot build it, and bytes that claim it do not decode
//! (`LABEL_BAD_REQUEST`), like any other malformed message. At most
//! [`WAITERS_MAX`] callers may be blocked at once, at most
//! [`WAITERS_PER_CLIENT`] of them one client's (`TooManyWaiters`: so a
//! client hoarding the queue leaves room for others).

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// The bytes the FIFO holds: a ring of [`RING_SIZE`] slots, one always
/// left unused (the deck's ring buffer: `head == tail` is empty).
pub const CAPACITY: usize = RING_SIZE - 1;
/// Slots in the ring.
pub const RING_SIZE: usize = 4096;
/// Bytes one `Write` carries at most.
pub const WRITE_MAX: usize = 1024;
/// Bytes one `Read` returns at most (its largest `max`).
pub const READ_MAX: usize = 1024;
/// Callers blocked at once, readers and writers together.
pub const WAITERS_MAX: usize = 64;
/// Callers of one client (one badge) blocked at once: a quarter of
/// [`WAITERS_MAX`].
pub const WAITERS_PER_CLIENT: usize = WAITERS_MAX / 4;

pub type Bytes = heapless::Vec<u8, WRITE_MAX>;
pub type Data = heapless::Vec<u8, READ_MAX>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    Write { bytes: Bytes, nonblock: bool },
    Read { max: u32, nonblock: bool },
    Stats,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Wait1Error {
    /// A write of no bytes.
    EmptyWrite,
    /// A read of at most 0 bytes.
    ZeroMax,
    /// A read's `max` above [`READ_MAX`] (or a write above [`WRITE_MAX`]
    /// handed to the core by other means than this protocol).
    TooLarge,
    /// A `nonblock` request that would have had to wait.
    WouldBlock,
    /// [`WAITERS_MAX`] callers wait already, or [`WAITERS_PER_CLIENT`]
    /// of this client's.
    TooManyWaiters,
    /// The caller was let out of its blocked call (a signal): `EINTR`.
    Interrupted,
}

/// The device's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Stats {
    /// Bytes written into the FIFO since the server started.
    pub bytes_in: u64,
    /// Bytes read out of it.
    pub bytes_out: u64,
    /// Bytes in it now.
    pub buffered: u32,
    /// Readers blocked now (including any that gave up or died and have
    /// not been found out yet: that happens when they would be answered).
    pub readers_blocked: u32,
    /// Writers blocked now (likewise).
    pub writers_blocked: u32,
    /// Blocked callers answered after a wake-up.
    pub wakeups: u64,
    /// `WouldBlock` answers.
    pub would_block: u64,
    /// Blocked callers found gone when answered (their data kept).
    pub gone: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Written(u32),
    Data(Data),
    Stats(Stats),
    Error(Wait1Error),
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

impl core::fmt::Display for Wait1Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Wait1Error::EmptyWrite => "empty write",
            Wait1Error::ZeroMax => "read of 0 bytes",
            Wait1Error::TooLarge => "request too large",
            Wait1Error::WouldBlock => "would block",
            Wait1Error::TooManyWaiters => "too many blocked callers",
            Wait1Error::Interrupted => "interrupted",
        })
    }
}

client_error! {
    /// Why a `wait1` call failed: the device said no, or the call failed.
    Wait1(Wait1Error),
    /// More than [`WRITE_MAX`] bytes for one `write`, or a `max` above
    /// [`READ_MAX`], refused before sending.
    TooLong => "more than one request carries",
    /// A reply of the wrong kind.
    Protocol => "unexpected reply",
}

client_stub! {
    /// The client stub: `wait1`'s requests as methods. Each blocking method
    /// blocks the calling thread in its `call` until the server answers.
    server: "wait1", error: Wait1
}

#[cfg(target_os = "none")]
impl Client {
    fn write_with(&self, bytes: &[u8], nonblock: bool) -> Result<usize, ClientError> {
        let bytes = Bytes::from_slice(bytes).map_err(|_| ClientError::TooLong)?;
        match self.call(&Request::Write { bytes, nonblock })? {
            Reply::Written(n) => Ok(n as usize),
            _ => Err(ClientError::Protocol),
        }
    }

    fn read_with(&self, max: usize, nonblock: bool) -> Result<Data, ClientError> {
        let max = u32::try_from(max).map_err(|_| ClientError::TooLong)?;
        match self.call(&Request::Read { max, nonblock })? {
            Reply::Data(data) => Ok(data),
            _ => Err(ClientError::Protocol),
        }
    }

    /// Writes some of `bytes` (at most [`WRITE_MAX`]), blocking while the
    /// device is full; how many were taken (≥ 1).
    pub fn write(&self, bytes: &[u8]) -> Result<usize, ClientError> {
        self.write_with(bytes, false)
    }

    /// As [`Client::write`]; `WouldBlock` instead of blocking.
    pub fn write_nonblock(&self, bytes: &[u8]) -> Result<usize, ClientError> {
        self.write_with(bytes, true)
    }

    /// Writes all of `bytes`, in as many requests as it takes (any
    /// length). Another writer's bytes may come between two requests.
    pub fn write_all(&self, mut bytes: &[u8]) -> Result<(), ClientError> {
        while !bytes.is_empty() {
            let n = self.write(&bytes[..bytes.len().min(WRITE_MAX)])?;
            bytes = &bytes[n.min(bytes.len())..];
        }
        Ok(())
    }

    /// Reads 1 to `max` bytes (`max` ≤ [`READ_MAX`]), blocking while the
    /// device is empty.
    pub fn read(&self, max: usize) -> Result<Data, ClientError> {
        self.read_with(max, false)
    }

    /// As [`Client::read`]; `WouldBlock` instead of blocking.
    pub fn read_nonblock(&self, max: usize) -> Result<Data, ClientError> {
        self.read_with(max, true)
    }

    pub fn stats(&self) -> Result<Stats, ClientError> {
        match self.call(&Request::Stats)? {
            Reply::Stats(stats) => Ok(stats),
            _ => Err(ClientError::Protocol),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{decode, encode, fits};

    #[test]
    fn every_message_round_trips() {
        let mut buffer = [0u8; crate::abi::ipc::PAYLOAD_MAX];
        let requests = [
            Request::Write {
                bytes: Bytes::from_slice(b"hello").unwrap(),
                nonblock: false,
            },
            Request::Write {
                bytes: Bytes::new(),
                nonblock: true,
            },
            Request::Read {
                max: 7,
                nonblock: true,
            },
            Request::Read {
                max: u32::MAX,
                nonblock: false,
            },
            Request::Stats,
        ];
        for request in requests {
            let n = encode(&request, &mut buffer).unwrap();
            assert_eq!(decode::<Request>(&buffer[..n]), Ok(request));
        }
        let stats = Stats {
            bytes_in: u64::MAX,
            bytes_out: 3,
            buffered: 4095,
            readers_blocked: 2,
            writers_blocked: 1,
            wakeups: 9,
            would_block: 1,
            gone: 1,
        };
        let replies = [
            Reply::Written(5),
            Reply::Data(Data::from_slice(b"hel").unwrap()),
            Reply::Stats(stats),
            Reply::Error(Wait1Error::WouldBlock),
            Reply::Error(Wait1Error::TooManyWaiters),
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
        let big = Request::Write {
            bytes: Bytes::from_slice(&[0xff; WRITE_MAX]).unwrap(),
            nonblock: true,
        };
        assert!(encode(&big, &mut buffer).unwrap() <= Request::POSTCARD_MAX_SIZE);
        let data = Reply::Data(Data::from_slice(&[0xff; READ_MAX]).unwrap());
        assert!(encode(&data, &mut buffer).unwrap() <= Reply::POSTCARD_MAX_SIZE);
    }

    #[test]
    fn truncated_oversized_and_garbage_requests_are_errors() {
        let mut buffer = [0u8; 64];
        let n = encode(
            &Request::Write {
                bytes: Bytes::from_slice(b"abc").unwrap(),
                nonblock: false,
            },
            &mut buffer,
        )
        .unwrap();
        for cut in 0..n {
            assert!(decode::<Request>(&buffer[..cut]).is_err(), "cut at {cut}");
        }
        // A write claiming WRITE_MAX + 1 bytes.
        let mut oversized = vec![0u8, 0x81, 0x08];
        oversized.extend(vec![0u8; WRITE_MAX + 1]);
        oversized.push(0);
        assert!(decode::<Request>(&oversized).is_err());
        assert!(decode::<Request>(&[3]).is_err(), "no such variant");
        assert!(decode::<Request>(&[1, 5, 2]).is_err(), "not a bool");
        assert!(decode::<Request>(&[2, 0]).is_err(), "trailing byte");
    }
}
