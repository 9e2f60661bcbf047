//! `blkdrv`: between the block server (`blk`) and a block driver process
//! (the virtio-blk driver, `servers/drivers/virtio-blk`) — the protocol,
//! and the block server's side of it.
//!
//! The driver is thin: it puts requests on its device and says when they
//! are done; everything else (queues, schedulers, statistics, partitions,
//! the requests' data) stays in `blk`, which keeps each request until the
//! driver completed it and gives what a dead driver held to its restarted
//! instance (MINIX 3's transparent block-driver recovery).
//!
//! `blk` reaches a driver through its device node (devmgr's `Open` of the
//! PCI function), never through the name service, so only a holder of
//! devmgr's trust reaches it. The data travels through **windows** of
//! `blk`'s transfer pool, never as physical addresses: a `Submit` of a
//! write lends the pool to read, and the driver copies the request's
//! pieces into DMA memory of its own (bounce buffers) before it starts
//! the device; a `Reap` lends the pool to write, and the driver copies
//! each finished read's data from its buffers into the pieces. A driver
//! therefore touches no memory but its own, whatever it is sent.
//!
//! | request | reply | errors (`Reply::Error`) |
//! | --- | --- | --- |
//! | `Hello { bit }` + a notification (SIGNAL) | `Geometry(Geometry)`; from now on the driver signals `1 << bit` on the notification when requests finish | `BadRequest` (no handle, or `bit` over 63) |
//! | `Submit { id, op, sector, pieces }` (+ read window for a write) | `Queued`: on the device | `NotReady` (no `Hello`), `Busy` ([`Geometry::queue_depth`] requests held), `BadRequest` (pieces empty, unaligned, over [`PIECES_MAX`] or [`Geometry::max_sectors`], or a flush with pieces), `OutOfRange` (past the disk's end), `NoWindow` (a write without a readable window covering its pieces), `CopyFailed`, `DuplicateId` |
//! | `Reap` + write window (the pool) | `Completed { done, more }`: up to [`REAP_MAX`] finished requests, each with its status; a finished read's data is in its pieces first (status [`STATUS_COPY_FAILED`] if that copy failed); `more` if others wait | `NotReady`, `NoWindow` |
//!
//! A `Reap` also rings the device's doorbell again if it holds requests
//! (a notify lost while a restarted devmgr sized the BARs), and collects
//! what finished without an interrupt. Calls on the node fail with
//! `PeerDied` once the driver is gone: that is how `blk` learns it.

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// Most pieces one request names.
pub const PIECES_MAX: usize = 32;
/// Most completions one `Reap` returns.
pub const REAP_MAX: usize = 32;
/// The status of a read whose data could not be copied into the pool
/// (`-EFAULT`).
pub const STATUS_COPY_FAILED: i32 = -14;

/// What a request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Op {
    Read,
    Write,
    Flush,
}

/// `len` bytes at `offset` in the pool window (both multiples of 512 for
/// `len`; the offset is any byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Piece {
    pub offset: u32,
    pub len: u32,
}

pub type Pieces = heapless::Vec<Piece, PIECES_MAX>;

/// What the device is and takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Geometry {
    /// Its size in 512-byte sectors.
    pub sectors: u64,
    /// Requests it holds at once.
    pub queue_depth: u32,
    /// Most sectors in one request.
    pub max_sectors: u32,
    /// Whether a flush reaches the device (else it completes at once).
    pub flush: bool,
}

/// A finished request: `status` 0 for success, a device status (1 I/O
/// error, 2 unsupported) or a negative errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Done {
    pub id: u64,
    pub status: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    Hello {
        bit: u8,
    },
    Submit {
        id: u64,
        op: Op,
        sector: u64,
        pieces: Pieces,
    },
    Reap,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum DrvError {
    NotReady,
    Busy,
    BadRequest,
    OutOfRange,
    NoWindow,
    CopyFailed,
    DuplicateId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Geometry(Geometry),
    Queued,
    Completed {
        done: heapless::Vec<Done, REAP_MAX>,
        more: bool,
    },
    Error(DrvError),
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

impl core::fmt::Display for DrvError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            DrvError::NotReady => "no Hello yet",
            DrvError::Busy => "the device holds its queue depth",
            DrvError::BadRequest => "malformed request",
            DrvError::OutOfRange => "sectors past the disk's end",
            DrvError::NoWindow => "no usable window lent",
            DrvError::CopyFailed => "grant copy failed",
            DrvError::DuplicateId => "a request with that id is held already",
        })
    }
}

/// Why a call to the driver failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The driver refused the request.
    Refused(DrvError),
    /// The driver is gone (`PeerDied`), did not answer in time, or
    /// answered nonsense: `blk` treats it as dead.
    Dead(crate::abi::SysError),
    /// The answer did not decode or was not the one asked for.
    Protocol,
}

impl core::fmt::Display for CallError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CallError::Refused(e) => write!(f, "refused: {e}"),
            CallError::Dead(e) => write!(f, "driver gone: {e}"),
            CallError::Protocol => f.write_str("unexpected answer"),
        }
    }
}

/// The block server's handle on one driver: calls with a timeout, so a
/// driver that hangs cannot hold `blk`.
#[cfg(target_os = "none")]
pub struct Driver {
    endpoint: crate::handle::Endpoint,
    timeout_ns: u64,
}

#[cfg(target_os = "none")]
impl Driver {
    /// The driver behind `endpoint` (its device node), each call waiting
    /// at most `timeout_ns`.
    pub fn new(endpoint: crate::handle::Endpoint, timeout_ns: u64) -> Driver {
        Driver {
            endpoint,
            timeout_ns,
        }
    }

    /// `Hello`: the driver signals `1 << bit` on `notification` when
    /// requests finish; returns the device's geometry.
    pub fn hello(
        &self,
        notification: &crate::handle::Notification,
        bit: u8,
    ) -> Result<Geometry, CallError> {
        use crate::abi::Rights;
        let signal = notification
            .dup(Rights::SEND, None)
            .map_err(CallError::Dead)?;
        let raw = signal.0.into_raw();
        let msg = Self::encode(&Request::Hello { bit })?.with_handles(&[raw]);
        let msg = msg.moving_handles();
        match self.call(&msg)? {
            Reply::Geometry(g) => Ok(g),
            _ => Err(CallError::Protocol),
        }
    }

    /// `Submit`: `window` is the pool (readable) for a write.
    pub fn submit(
        &self,
        id: u64,
        op: Op,
        sector: u64,
        pieces: Pieces,
        window: Option<crate::abi::grant::Window>,
    ) -> Result<(), CallError> {
        let mut msg = Self::encode(&Request::Submit {
            id,
            op,
            sector,
            pieces,
        })?;
        if let Some(w) = window {
            msg = lend(msg, w);
        }
        match self.call(&msg)? {
            Reply::Queued => Ok(()),
            _ => Err(CallError::Protocol),
        }
    }

    /// `Reap`: `window` is the pool (writable).
    pub fn reap(
        &self,
        window: crate::abi::grant::Window,
    ) -> Result<(heapless::Vec<Done, REAP_MAX>, bool), CallError> {
        let msg = lend(Self::encode(&Request::Reap)?, window);
        match self.call(&msg)? {
            Reply::Completed { done, more } => Ok((done, more)),
            _ => Err(CallError::Protocol),
        }
    }

    fn encode(request: &Request) -> Result<crate::ipc::Message, CallError> {
        let length = crate::rpc::encode_payload(request).map_err(|_| CallError::Protocol)?;
        Ok(crate::ipc::Message::new(crate::rpc::LABEL_REQUEST).with_payload(length))
    }

    fn call(&self, msg: &crate::ipc::Message) -> Result<Reply, CallError> {
        use crate::abi::ipc::PAYLOAD_MAX;
        let answer = self
            .endpoint
            .call(msg, self.timeout_ns)
            .map_err(CallError::Dead)?;
        if answer.label() != crate::rpc::LABEL_REPLY {
            return Err(CallError::Protocol);
        }
        let mut bytes = [0u8; PAYLOAD_MAX];
        let n = crate::ipc::read_payload(answer.info.length.into(), &mut bytes);
        match crate::rpc::decode::<Reply>(&bytes[..n]) {
            Ok(Reply::Error(e)) => Err(CallError::Refused(e)),
            Ok(reply) => Ok(reply),
            Err(_) => Err(CallError::Protocol),
        }
    }
}

/// `msg` lending `window`.
#[cfg(target_os = "none")]
fn lend(mut msg: crate::ipc::Message, window: crate::abi::grant::Window) -> crate::ipc::Message {
    let mut words = msg.words;
    msg.info.flags |= window.encode(&mut words);
    msg.words = words;
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_request_and_reply_round_trip() {
        let mut pieces = Pieces::new();
        for i in 0..PIECES_MAX as u32 {
            pieces
                .push(Piece {
                    offset: i * 4096,
                    len: 4096,
                })
                .unwrap();
        }
        let rq = Request::Submit {
            id: u64::MAX,
            op: Op::Write,
            sector: u64::MAX,
            pieces,
        };
        let mut buf = [0u8; 4096];
        let n = crate::rpc::encode(&rq, &mut buf).unwrap();
        assert_eq!(crate::rpc::decode::<Request>(&buf[..n]).unwrap(), rq);
        let mut done = heapless::Vec::new();
        done.push(Done { id: 7, status: -14 }).unwrap();
        let reply = Reply::Completed { done, more: true };
        let n = crate::rpc::encode(&reply, &mut buf).unwrap();
        assert_eq!(crate::rpc::decode::<Reply>(&buf[..n]).unwrap(), reply);
    }
}
