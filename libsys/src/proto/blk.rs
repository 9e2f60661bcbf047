//! `blk`, the block server (LKD 14): block devices (`vda`, the virtio
//! disk; `ram0`, the RAM disk) behind request queues and I/O schedulers
//! — the protocol, and the client stub.
//!
//! Data never travels in the message: a `Read` lends the server a window
//! of the caller's memory to write (`Grant::write`), a `Write` one to read
//! (`Grant::read`), of at least `count` × 512 bytes; the server copies
//! through it with grant copy, and answers a read or write when the device
//! has completed it (reply later: the server serves others meanwhile).
//! A client never names a physical address.
//!
//! | request | reply | errors (`Reply::Error`) |
//! | --- | --- | --- |
//! | `List { start }` | `Names { names, total }`: up to [`LIST_MAX`] device names from `start` | — |
//! | `Info { dev }` | `Info(DeviceInfo)`: size in sectors, sector size, largest transfer | `NoSuchDevice` |
//! | `Read { dev, sector, count }` + write window | `Done(bytes)` when the data is in the window | `NoSuchDevice`, `BadCount` (0 or over [`TRANSFER_MAX_SECTORS`]), `OutOfRange`, `NoWindow` (none, read-only, or too small), `Busy` (every transfer buffer in use), `QueueFull`, `Io(status)` |
//! | `Write { dev, sector, count }` + read window | `Done(bytes)` when the device has the data | as `Read` (the window must be readable) |
//! | `Flush { dev }` | `Done(0)` once every write completed before it is durable | `NoSuchDevice`, `QueueFull`, `Io` |
//! | `Stat { dev }` | `Stat(DiskStat)`: the eleven counters of `/sys/block/<dev>/stat` | `NoSuchDevice` |
//! | `Scheduler { dev, set }` | `Text`: `/sys/block/<dev>/queue/scheduler` (`[noop] deadline`), after switching to `set` if given | `NoSuchDevice`, `UnknownScheduler` |
//! | `DriverUp { device }` | `Done(0)` at once; then the server opens `device` (a PCI function, `0000:00:03.0`) through devmgr and attaches the driver behind it (`libsys::proto::blkdrv`): a block driver that started says so | `NoSuchDevice` (not a device the server has a disk for) |
//! | `Reread { dev }` | `Done(n)`: the disk's partition table read again (Linux's `BLKRRPART`): its old partitions removed (devmgr `remove` uevents: their `/dev` nodes go), the `n` new ones added | `NoSuchDevice` (not a disk), `QueueFull` (transfers on its partitions pending) |
//!
//! A disk's partitions (`vda1`, `vda5`) are devices of their own: `Info`,
//! `Read`, `Write`, `Flush` and `Stat` take them, sectors counted from the
//! partition's start and bounded by its end; `List` names each disk then
//! its partitions.
//!
//! A message that does not decode, or carries handles, gets
//! `LABEL_BAD_REQUEST`.

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// Longest device name.
pub const NAME_MAX: usize = 16;
/// Device names in one `Names` page.
pub const LIST_MAX: usize = 16;
/// The sector size of every device (bytes).
pub const SECTOR_SIZE: u32 = 512;
/// Most sectors one `Read` or `Write` moves (64 KiB).
pub const TRANSFER_MAX_SECTORS: u32 = 128;
/// Longest scheduler attribute text.
pub const TEXT_MAX: usize = 64;

pub type Name = heapless::String<NAME_MAX>;

/// What a device is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct DeviceInfo {
    /// Its size in sectors.
    pub sectors: u64,
    /// Bytes per sector ([`SECTOR_SIZE`]).
    pub sector_size: u32,
    /// Most sectors one request moves ([`TRANSFER_MAX_SECTORS`]).
    pub max_sectors: u32,
}

/// `/sys/block/<dev>/stat`, in Linux's order (sectors of 512 bytes, times
/// in ms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct DiskStat {
    pub read_ios: u64,
    pub read_merges: u64,
    pub read_sectors: u64,
    pub read_ticks: u64,
    pub write_ios: u64,
    pub write_merges: u64,
    pub write_sectors: u64,
    pub write_ticks: u64,
    pub in_flight: u64,
    pub io_ticks: u64,
    pub time_in_queue: u64,
}

impl DiskStat {
    /// The counters in the file's order.
    pub fn fields(&self) -> [u64; 11] {
        [
            self.read_ios,
            self.read_merges,
            self.read_sectors,
            self.read_ticks,
            self.write_ios,
            self.write_merges,
            self.write_sectors,
            self.write_ticks,
            self.in_flight,
            self.io_ticks,
            self.time_in_queue,
        ]
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    List {
        start: u32,
    },
    Info {
        dev: Name,
    },
    Read {
        dev: Name,
        sector: u64,
        count: u32,
    },
    Write {
        dev: Name,
        sector: u64,
        count: u32,
    },
    Flush {
        dev: Name,
    },
    Stat {
        dev: Name,
    },
    Scheduler {
        dev: Name,
        set: Option<Name>,
    },
    DriverUp {
        device: Name,
    },
    /// Reads the disk's partition table again (Linux's `BLKRRPART`).
    Reread {
        dev: Name,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum BlkError {
    NoSuchDevice,
    /// A count of 0 or over [`TRANSFER_MAX_SECTORS`].
    BadCount,
    /// Sectors past the end of the device.
    OutOfRange,
    /// No window lent, the wrong kind, or shorter than the transfer.
    NoWindow,
    /// Every transfer buffer is in use: try again.
    Busy,
    /// The device's queue is full: try again.
    QueueFull,
    UnknownScheduler,
    /// Copying through the window failed (the caller unmapped it?).
    CopyFailed,
    /// The device failed the request (virtio-blk's status byte, or the
    /// block layer's code).
    Io(i32),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Names {
        names: heapless::Vec<Name, LIST_MAX>,
        total: u32,
    },
    Info(DeviceInfo),
    Done(u64),
    Stat(DiskStat),
    Text(heapless::String<TEXT_MAX>),
    Error(BlkError),
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

impl core::fmt::Display for BlkError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BlkError::NoSuchDevice => f.write_str("no such device"),
            BlkError::BadCount => f.write_str("bad sector count"),
            BlkError::OutOfRange => f.write_str("sectors out of range"),
            BlkError::NoWindow => f.write_str("no usable window lent"),
            BlkError::Busy => f.write_str("every transfer buffer is in use"),
            BlkError::QueueFull => f.write_str("queue full"),
            BlkError::UnknownScheduler => f.write_str("unknown scheduler"),
            BlkError::CopyFailed => f.write_str("grant copy failed"),
            BlkError::Io(code) => write!(f, "I/O error {code}"),
        }
    }
}

client_error! {
    /// Why a `blk` call failed: the server said no, or the call failed.
    Blk(BlkError),
    /// A name too long for the protocol, or a buffer shorter than the
    /// transfer, refused before sending.
    BadArgument => "bad argument",
    /// A reply of the wrong kind.
    Unexpected => "unexpected reply",
}

client_stub! {
    /// The client stub: `blk`'s requests as methods. Each call uses the
    /// calling thread's IPC buffer.
    server: "blk", error: Blk
}

#[cfg(target_os = "none")]
impl Client {
    fn name(dev: &str) -> Result<Name, ClientError> {
        Name::try_from(dev).map_err(|_| ClientError::BadArgument)
    }

    /// One page of device names from `start`, and how many there are.
    pub fn list(&self, start: u32) -> Result<(heapless::Vec<Name, LIST_MAX>, u32), ClientError> {
        match self.call(&Request::List { start })? {
            Reply::Names { names, total } => Ok((names, total)),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// The size and geometry of `dev`.
    pub fn info(&self, dev: &str) -> Result<DeviceInfo, ClientError> {
        match self.call(&Request::Info {
            dev: Self::name(dev)?,
        })? {
            Reply::Info(info) => Ok(info),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Reads `buffer.len() / 512` sectors of `dev` from `sector` into
    /// `buffer` (a multiple of 512 bytes, at most 64 KiB).
    pub fn read(&self, dev: &str, sector: u64, buffer: &mut [u8]) -> Result<(), ClientError> {
        let count = Self::count(buffer.len())?;
        let request = Request::Read {
            dev: Self::name(dev)?,
            sector,
            count,
        };
        let grant = crate::grant::Grant::write(buffer).map_err(|_| ClientError::BadArgument)?;
        self.call_granting(&request, grant).map(|_| ())
    }

    /// Writes `data` (a multiple of 512 bytes, at most 64 KiB) to `dev`
    /// from `sector`.
    pub fn write(&self, dev: &str, sector: u64, data: &[u8]) -> Result<(), ClientError> {
        let count = Self::count(data.len())?;
        let request = Request::Write {
            dev: Self::name(dev)?,
            sector,
            count,
        };
        let grant = crate::grant::Grant::read(data).map_err(|_| ClientError::BadArgument)?;
        self.call_granting(&request, grant).map(|_| ())
    }

    /// Makes every completed write of `dev` durable.
    pub fn flush(&self, dev: &str) -> Result<(), ClientError> {
        match self.call(&Request::Flush {
            dev: Self::name(dev)?,
        })? {
            Reply::Done(_) => Ok(()),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// `/sys/block/<dev>/stat`.
    pub fn stat(&self, dev: &str) -> Result<DiskStat, ClientError> {
        match self.call(&Request::Stat {
            dev: Self::name(dev)?,
        })? {
            Reply::Stat(s) => Ok(s),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Reads disk `dev`'s partition table again (`BLKRRPART`); how many
    /// partitions it has now.
    pub fn reread(&self, dev: &str) -> Result<u64, ClientError> {
        match self.call(&Request::Reread {
            dev: Self::name(dev)?,
        })? {
            Reply::Done(n) => Ok(n),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// `/sys/block/<dev>/queue/scheduler`, after switching to `set`.
    pub fn scheduler(
        &self,
        dev: &str,
        set: Option<&str>,
    ) -> Result<heapless::String<TEXT_MAX>, ClientError> {
        let set = set.map(Self::name).transpose()?;
        match self.call(&Request::Scheduler {
            dev: Self::name(dev)?,
            set,
        })? {
            Reply::Text(t) => Ok(t),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// The sector count of a buffer of `len` bytes.
    /// `DriverUp`: the block driver of PCI function `device` is up.
    /// Bounded by `timeout_ns`: the server may be calling the driver at
    /// that moment (a driver that gives up here is found through devmgr
    /// all the same).
    pub fn driver_up(&self, device: &str, timeout_ns: u64) -> Result<(), ClientError> {
        use crate::abi::ipc::PAYLOAD_MAX;
        use crate::rpc::{self, RpcError, LABEL_REPLY, LABEL_REQUEST};
        let request = Request::DriverUp {
            device: Self::name(device)?,
        };
        let length = rpc::encode_payload(&request).map_err(ClientError::Rpc)?;
        let msg = crate::ipc::Message::new(LABEL_REQUEST).with_payload(length);
        let answer = self
            .endpoint()
            .call(&msg, timeout_ns)
            .map_err(|e| ClientError::Rpc(RpcError::Sys(e)))?;
        if answer.label() != LABEL_REPLY {
            return Err(ClientError::Unexpected);
        }
        let mut bytes = [0u8; PAYLOAD_MAX];
        let n = crate::ipc::read_payload(answer.info.length.into(), &mut bytes);
        match rpc::decode::<Reply>(&bytes[..n]) {
            Ok(Reply::Done(_)) => Ok(()),
            Ok(Reply::Error(e)) => Err(ClientError::Blk(e)),
            _ => Err(ClientError::Unexpected),
        }
    }

    fn count(len: usize) -> Result<u32, ClientError> {
        let sectors = len / SECTOR_SIZE as usize;
        if !len.is_multiple_of(SECTOR_SIZE as usize) || sectors == 0 {
            return Err(ClientError::BadArgument);
        }
        u32::try_from(sectors).map_err(|_| ClientError::BadArgument)
    }

    /// Sends `request` lending `grant`; the reply's `Done` count.
    fn call_granting(
        &self,
        request: &Request,
        grant: crate::grant::Grant,
    ) -> Result<u64, ClientError> {
        use crate::abi::ipc::{FOREVER, PAYLOAD_MAX};
        use crate::rpc::{self, RpcError, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST};
        let length = rpc::encode_payload(request).map_err(ClientError::Rpc)?;
        let msg = crate::ipc::Message::new(LABEL_REQUEST).with_payload(length);
        let answer = self
            .endpoint()
            .call_with_grant(&msg, grant, FOREVER)
            .map_err(|e| ClientError::Rpc(RpcError::Sys(e)))?;
        match answer.label() {
            LABEL_REPLY => {}
            LABEL_BAD_REQUEST => return Err(ClientError::Rpc(RpcError::BadRequest)),
            other => return Err(ClientError::Rpc(RpcError::UnexpectedLabel(other))),
        }
        let n = (answer.info.length as usize).min(PAYLOAD_MAX);
        // SAFETY: this thread's IPC buffer, which the reply was just
        // written into; the slice is decoded from and dropped at once.
        let reply = rpc::decode::<Reply>(&unsafe { crate::ipc::buffer() }[..n]);
        match reply.map_err(ClientError::Rpc)? {
            Reply::Done(bytes) => Ok(bytes),
            Reply::Error(e) => Err(ClientError::Blk(e)),
            _ => Err(ClientError::Unexpected),
        }
    }
}
