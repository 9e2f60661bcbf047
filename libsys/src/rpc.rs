//! Typed IPC: requests and replies as Rust enums, `postcard`-encoded into
//! the IPC buffer's payload.
//!
//! A request goes out with label [`LABEL_REQUEST`]; the answer comes back
//! with [`LABEL_REPLY`] and the encoded reply, or with
//! [`LABEL_BAD_REQUEST`] when the server could not decode what it got
//! (truncated, oversized or garbage bytes: the server answers that and
//! keeps serving). A protocol's messages must fit a payload: each
//! `proto::<server>` module checks [`fits`] at compile time, with sizes
//! from postcard's `MaxSize` (which is why messages use `heapless`
//! strings and vectors, with fixed capacities, rather than `String`).

use core::fmt;

use postcard::experimental::max_size::MaxSize;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::abi::ipc::PAYLOAD_MAX;
use crate::abi::SysError;

/// A request.
pub const LABEL_REQUEST: u32 = 0x7270_0001;
/// A reply to a request that decoded.
pub const LABEL_REPLY: u32 = 0x7270_0002;
/// The request did not decode; no reply payload.
pub const LABEL_BAD_REQUEST: u32 = 0x7270_0003;
/// The reply did not encode (a server bug); no reply payload.
pub const LABEL_SERVER_ERROR: u32 = 0x7270_0004;

/// Why a typed call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpcError {
    /// The system call failed (e.g. `PeerDied`: the server is gone).
    Sys(SysError),
    /// The request did not encode (it cannot: the payload fits by
    /// construction; kept for completeness).
    Encode,
    /// The reply did not decode.
    Decode,
    /// The server could not decode the request.
    BadRequest,
    /// The server failed to encode its reply.
    ServerError,
    /// A reply with a label no protocol uses.
    UnexpectedLabel(u32),
}

impl From<SysError> for RpcError {
    fn from(e: SysError) -> Self {
        RpcError::Sys(e)
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpcError::Sys(e) => write!(f, "{e}"),
            RpcError::Encode => write!(f, "the request does not encode"),
            RpcError::Decode => write!(f, "the reply does not decode"),
            RpcError::BadRequest => write!(f, "the server could not decode the request"),
            RpcError::ServerError => write!(f, "the server could not encode its reply"),
            RpcError::UnexpectedLabel(l) => write!(f, "unexpected reply label {l:#x}"),
        }
    }
}

/// Whether every value of `T` encodes into one payload.
pub const fn fits<T: MaxSize>() -> bool {
    T::POSTCARD_MAX_SIZE <= PAYLOAD_MAX
}

/// Encodes `value` into `buffer`; returns the bytes used.
pub fn encode<T: Serialize>(value: &T, buffer: &mut [u8]) -> Result<usize, RpcError> {
    postcard::to_slice(value, buffer)
        .map(|used| used.len())
        .map_err(|_| RpcError::Encode)
}

/// Decodes a `T` from exactly `bytes` (trailing bytes are an error: a
/// message is one value).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, RpcError> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        _ => Err(RpcError::Decode),
    }
}

#[cfg(target_os = "none")]
mod calls {
    use super::*;
    use crate::abi::ipc::FOREVER;
    use crate::abi::Handle;
    use crate::handle::Endpoint;
    use crate::ipc::{self, Message};

    /// Sends `request` on `endpoint` (with `handles` transferred) and
    /// returns the decoded reply and the raw reply message (whose last
    /// words hold any handles it carried).
    ///
    /// Uses the main thread's IPC buffer.
    pub fn call_with<Req: Serialize, Rep: DeserializeOwned>(
        endpoint: &Endpoint,
        request: &Req,
        handles: &[Handle],
    ) -> Result<(Rep, Message), RpcError> {
        call_within(endpoint, request, handles, FOREVER)
    }

    /// As [`call_with`], giving up after `timeout_ns` for the send and
    /// the reply together (`RpcError::Sys(TimedOut)`): for a server that
    /// must not wait without bound on one that may be waiting on it.
    pub fn call_within<Req: Serialize, Rep: DeserializeOwned>(
        endpoint: &Endpoint,
        request: &Req,
        handles: &[Handle],
        timeout_ns: u64,
    ) -> Result<(Rep, Message), RpcError> {
        // SAFETY: the main thread's buffer; no reference into it is held
        // across the call below (the slice ends before it).
        let length = encode(request, unsafe { ipc::buffer() })?;
        let msg = Message::new(LABEL_REQUEST)
            .with_payload(length as u16)
            .with_handles(handles);
        let reply = endpoint.call(&msg, timeout_ns)?;
        match reply.label() {
            LABEL_REPLY => {
                let n = (reply.info.length as usize).min(PAYLOAD_MAX);
                // SAFETY: as above; the reply was written into it.
                let value = decode(&unsafe { ipc::buffer() }[..n])?;
                Ok((value, reply))
            }
            LABEL_BAD_REQUEST => Err(RpcError::BadRequest),
            LABEL_SERVER_ERROR => Err(RpcError::ServerError),
            other => Err(RpcError::UnexpectedLabel(other)),
        }
    }

    /// The request a message just received carries: its label must be
    /// `LABEL_REQUEST` (else `UnexpectedLabel`), its payload (copied out
    /// of this thread's IPC buffer) must decode as a `T` (else `Decode`).
    /// For servers that run their own receive loop (`init`, `mm`).
    pub fn decode_request<T: DeserializeOwned>(msg: &Message) -> Result<T, RpcError> {
        if msg.label() != LABEL_REQUEST {
            return Err(RpcError::UnexpectedLabel(msg.label()));
        }
        let mut bytes = [0u8; PAYLOAD_MAX];
        let n = ipc::read_payload(msg.info.length as usize, &mut bytes);
        decode(&bytes[..n])
    }

    /// As [`call_with`], with the handles the reply carried owned (each
    /// closes when dropped; see [`crate::ipc::Received::take_handles`]).
    pub fn call_taking<Req: Serialize, Rep: DeserializeOwned>(
        endpoint: &Endpoint,
        request: &Req,
        handles: &[Handle],
    ) -> Result<(Rep, ipc::TakenHandles), RpcError> {
        let (value, reply) = call_with(endpoint, request, handles)?;
        Ok((value, ipc::Received::new(0, reply).take_handles()))
    }

    /// Replies `reply` (encoded into this thread's IPC buffer) to the last
    /// caller, moving `handles` to it: for servers that run their own
    /// receive loop (`init`'s name service) rather than
    /// [`crate::server::serve`].
    pub fn reply<Rep: Serialize>(reply: &Rep, handles: &[Handle]) -> Result<(), RpcError> {
        // SAFETY: this thread's buffer; no reference is held across the
        // reply.
        let length = encode(reply, unsafe { ipc::buffer() })?;
        let mut msg = Message::new(LABEL_REPLY).with_payload(length as u16);
        if !handles.is_empty() {
            msg = msg.with_handles(handles).moving_handles();
        }
        ipc::reply(&msg).map_err(RpcError::Sys)
    }

    /// Sends `request` on `endpoint` lending `grant` (a window of this
    /// process's memory the server copies into or out of: a `read`'s
    /// buffer, a `write`'s bytes), and returns the decoded reply. The
    /// buffer behind the grant must stay alive and untouched until this
    /// returns (the window is revoked at the reply).
    pub fn call_granted<Req: Serialize, Rep: DeserializeOwned>(
        endpoint: &Endpoint,
        request: &Req,
        grant: crate::grant::Grant,
    ) -> Result<Rep, RpcError> {
        // SAFETY: the main thread's buffer; no reference into it is held
        // across the call below (the slice ends before it).
        let length = encode(request, unsafe { ipc::buffer() })?;
        let msg = grant.lend(Message::new(LABEL_REQUEST).with_payload(length as u16));
        let reply = endpoint.call(&msg, FOREVER)?;
        match reply.label() {
            LABEL_REPLY => {
                let n = (reply.info.length as usize).min(PAYLOAD_MAX);
                // SAFETY: as above; the reply was written into it.
                decode(&unsafe { ipc::buffer() }[..n])
            }
            LABEL_BAD_REQUEST => Err(RpcError::BadRequest),
            LABEL_SERVER_ERROR => Err(RpcError::ServerError),
            other => Err(RpcError::UnexpectedLabel(other)),
        }
    }

    /// Sends `request` on `endpoint` and returns the decoded reply.
    pub fn call<Req: Serialize, Rep: DeserializeOwned>(
        endpoint: &Endpoint,
        request: &Req,
    ) -> Result<Rep, RpcError> {
        call_with(endpoint, request, &[]).map(|(reply, _)| reply)
    }
}

#[cfg(target_os = "none")]
pub use calls::{call, call_granted, call_taking, call_with, call_within, decode_request, reply};

/// Encodes `value` into this thread's IPC buffer, as the payload of the
/// next message it sends; returns the length for
/// [`crate::ipc::Message::with_payload`] (`Encode` if it does not fit).
///
/// The safe way to encode into the buffer: the bytes go in through a raw
/// pointer, one by one, and no reference into the buffer is made, so even
/// a `Serialize` that makes IPC calls of its own (and so has the kernel
/// write the buffer meanwhile) breaks no aliasing rule; its payload is
/// merely garbage.
#[cfg(target_os = "none")]
pub fn encode_payload<T: Serialize>(value: &T) -> Result<u16, RpcError> {
    let flavor = IpcBufferFlavor {
        start: crate::ipc::buffer_address() as *mut u8,
        length: 0,
    };
    postcard::serialize_with_flavor(value, flavor)
        .map(|length| length as u16)
        .map_err(|_| RpcError::Encode)
}

/// A postcard output that writes this thread's IPC buffer through a raw
/// pointer (see [`encode_payload`]); its output is the length written.
#[cfg(target_os = "none")]
struct IpcBufferFlavor {
    start: *mut u8,
    length: usize,
}

#[cfg(target_os = "none")]
impl postcard::ser_flavors::Flavor for IpcBufferFlavor {
    type Output = usize;

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        if self.length >= PAYLOAD_MAX {
            return Err(postcard::Error::SerializeBufferFull);
        }
        // SAFETY: `start` is this thread's IPC buffer, a page mapped
        // writable (`ipc::adopt`) that no reference is held into (only
        // `unsafe` code can make one); `length < PAYLOAD_MAX`, its size.
        unsafe { self.start.add(self.length).write(byte) };
        self.length += 1;
        Ok(())
    }

    fn finalize(self) -> postcard::Result<usize> {
        Ok(self.length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, MaxSize, Debug, PartialEq)]
    enum Small {
        A,
        B(u32),
        C { text: heapless::String<8> },
    }

    #[test]
    fn values_round_trip_and_trailing_bytes_are_refused() {
        let mut buffer = [0u8; 64];
        for value in [
            Small::A,
            Small::B(70_000),
            Small::C {
                text: "hi".try_into().unwrap(),
            },
        ] {
            let n = encode(&value, &mut buffer).unwrap();
            assert_eq!(decode::<Small>(&buffer[..n]), Ok(value));
            assert_eq!(
                decode::<Small>(&buffer[..n + 1]),
                Err(RpcError::Decode),
                "a trailing byte"
            );
        }
        assert!(fits::<Small>());
    }

    #[test]
    fn garbage_truncated_and_oversized_input_decode_to_errors() {
        assert_eq!(decode::<Small>(&[]), Err(RpcError::Decode));
        assert_eq!(
            decode::<Small>(&[9]),
            Err(RpcError::Decode),
            "no such variant"
        );
        assert_eq!(
            decode::<Small>(&[1, 0x80]),
            Err(RpcError::Decode),
            "truncated varint"
        );
        // A string longer than its capacity.
        assert_eq!(
            decode::<Small>(&[2, 9, b'a', b'a', b'a', b'a', b'a', b'a', b'a', b'a', b'a']),
            Err(RpcError::Decode)
        );
        let mut small = [0u8; 2];
        assert_eq!(
            encode(&Small::B(u32::MAX), &mut small),
            Err(RpcError::Encode),
            "does not fit the buffer"
        );
    }
}
