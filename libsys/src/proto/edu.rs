//! `edu`, the driver of QEMU's `edu` teaching device (PCI 1234:11e8; the
//! driver lab, docs/labs/06-pci-edu.md): the protocol, and the client
//! stub.
//!
//! The driver is a process devmgr starts for the device; a program
//! reaches it through its device node — devmgr's `Open` of the device's
//! slot gives a handle to the driver, badged for the caller — not through
//! the name service. When the driver dies, calls on that handle fail with
//! `PeerDied`; once devmgr has started it again, a new `Open` reaches the
//! new process.
//!
//! | request | reply | errors (`Reply::Error`) |
//! | --- | --- | --- |
//! | `Identify` | `Id(raw)`: the identification register (`0x010000ed`: major 1, minor 0) | — |
//! | `Liveness { value }` | `Value(!value)`: the device inverts what is written | `NotImplemented` (a starting tree) |
//! | `Factorial { n }` | `Value(n!)` (modulo 2^32), computed by the device, answered from its interrupt | `Busy` ([`QUEUE_MAX`] operations queued) |
//! | `DmaWrite { offset, data }` | `Done`: `data` copied into the device's buffer at `offset` by the device's DMA engine, answered from its interrupt | `BadRange` (empty, or past [`DMA_END`]: QEMU 7.2 aborts on a transfer that ends at the buffer's end), `Busy` |
//! | `DmaRead { offset, len }` | `Data(bytes)`: `len` bytes of the device's buffer from `offset`, by DMA | `BadRange`, `Busy` |
//! | `Stats` | `Stats(Stats)`: interrupts taken, operations done | — |
//!
//! The device does one thing at a time; the driver queues up to
//! [`QUEUE_MAX`] requests behind the one it runs and answers each when
//! its interrupt says it is done.

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// Bytes one DMA request moves at most.
pub const DMA_MAX: usize = 1024;
/// The device's DMA buffer (at offset `0x40000` of its BAR 0).
pub const DMA_BUFFER: usize = 4096;
/// Where a DMA transfer may end at most: QEMU 7.2's range check refuses
/// (aborting the whole machine) a transfer that ends exactly at the
/// buffer's end, so the driver keeps its last byte out of reach.
pub const DMA_END: usize = DMA_BUFFER - 1;
/// Requests waiting behind the running one, at most.
pub const QUEUE_MAX: usize = 16;

pub type Data = heapless::Vec<u8, DMA_MAX>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    Identify,
    Liveness { value: u32 },
    Factorial { n: u32 },
    DmaWrite { offset: u16, data: Data },
    DmaRead { offset: u16, len: u16 },
    Stats,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum EduError {
    /// A DMA range outside the device's buffer, or empty.
    BadRange,
    /// [`QUEUE_MAX`] requests wait already.
    Busy,
    /// This part of the driver is a stub (a lab's starting tree).
    NotImplemented,
}

/// The driver's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Stats {
    /// Interrupts that said the device finished something.
    pub irqs: u64,
    /// Interrupts with no status bit set (a shared line's other device).
    pub spurious: u64,
    pub factorials: u64,
    /// DMA transfers done, both ways.
    pub dmas: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Id(u32),
    Value(u32),
    Done,
    Data(Data),
    Stats(Stats),
    Error(EduError),
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

impl core::fmt::Display for EduError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            EduError::BadRange => "DMA range outside the device's buffer",
            EduError::Busy => "too many requests queued",
            EduError::NotImplemented => "not implemented (a lab stub)",
        })
    }
}

client_error! {
    /// Why an `edu` call failed: the driver said no, or the call failed.
    Edu(EduError),
    /// More than [`DMA_MAX`] bytes for one request, refused before sending.
    TooLong => "more than one request carries",
    /// A reply of the wrong kind.
    Protocol => "unexpected reply",
}

client_stub! {
    /// The client stub. Make it with `Client::from_endpoint` from the
    /// handle devmgr's `Open` gives (the driver registers no name).
    server: "edu", error: Edu
}

#[cfg(target_os = "none")]
impl Client {
    fn value(&self, request: &Request) -> Result<u32, ClientError> {
        match self.call(request)? {
            Reply::Value(v) | Reply::Id(v) => Ok(v),
            _ => Err(ClientError::Protocol),
        }
    }

    /// The identification register.
    pub fn identify(&self) -> Result<u32, ClientError> {
        self.value(&Request::Identify)
    }

    /// What the liveness register gives back for `value` (its inverse).
    pub fn liveness(&self, value: u32) -> Result<u32, ClientError> {
        self.value(&Request::Liveness { value })
    }

    /// `n!` modulo 2^32, computed by the device.
    pub fn factorial(&self, n: u32) -> Result<u32, ClientError> {
        self.value(&Request::Factorial { n })
    }

    /// Copies `data` into the device's buffer at `offset`, by DMA.
    pub fn dma_write(&self, offset: u16, data: &[u8]) -> Result<(), ClientError> {
        let data = Data::from_slice(data).map_err(|_| ClientError::TooLong)?;
        match self.call(&Request::DmaWrite { offset, data })? {
            Reply::Done => Ok(()),
            _ => Err(ClientError::Protocol),
        }
    }

    /// `len` bytes of the device's buffer from `offset`, by DMA.
    pub fn dma_read(&self, offset: u16, len: u16) -> Result<Data, ClientError> {
        match self.call(&Request::DmaRead { offset, len })? {
            Reply::Data(d) => Ok(d),
            _ => Err(ClientError::Protocol),
        }
    }

    pub fn stats(&self) -> Result<Stats, ClientError> {
        match self.call(&Request::Stats)? {
            Reply::Stats(s) => Ok(s),
            _ => Err(ClientError::Protocol),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{decode, encode};

    #[test]
    fn every_message_round_trips_and_oversized_data_does_not_decode() {
        let mut buffer = [0u8; crate::abi::ipc::PAYLOAD_MAX];
        let full = Data::from_slice(&[0xa5; DMA_MAX]).unwrap();
        let requests = [
            Request::Identify,
            Request::Liveness { value: u32::MAX },
            Request::Factorial { n: 12 },
            Request::DmaWrite {
                offset: u16::MAX,
                data: full.clone(),
            },
            Request::DmaRead {
                offset: 7,
                len: u16::MAX,
            },
            Request::Stats,
        ];
        for r in requests {
            let n = encode(&r, &mut buffer).unwrap();
            assert_eq!(decode::<Request>(&buffer[..n]), Ok(r));
        }
        let replies = [
            Reply::Id(0x0100_00ed),
            Reply::Value(3_628_800),
            Reply::Done,
            Reply::Data(full),
            Reply::Stats(Stats {
                irqs: u64::MAX,
                ..Stats::default()
            }),
            Reply::Error(EduError::Busy),
        ];
        for r in replies {
            let n = encode(&r, &mut buffer).unwrap();
            assert_eq!(decode::<Reply>(&buffer[..n]), Ok(r));
        }
        // A DmaWrite that claims one byte more than DMA_MAX.
        let big = heapless::Vec::<u8, { DMA_MAX + 1 }>::from_slice(&[1; DMA_MAX + 1]).unwrap();
        let mut bytes = alloc::vec![3u8, 0]; // variant 3, offset 0
        let n = encode(&big, &mut buffer).unwrap();
        bytes.extend_from_slice(&buffer[..n]);
        assert!(decode::<Request>(&bytes).is_err());
    }
}
