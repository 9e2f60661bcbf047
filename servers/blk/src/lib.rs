//! The block layer's core: LKD chapter 14 in a pure library that the
//! `blk` server runs behind IPC, between clients (the VFS) and the thin
//! block drivers (the virtio-blk driver process, the RAM disk).
//!
//! - [`bio`]: `bio`s — an operation, a sector, segments of the client's
//!   pages (`bio_vec`s) — and the layer's errors.
//! - [`request`]: requests built from bios by back and front **merging**,
//!   within the queue's limits.
//! - [`sched`]: the **I/O schedulers** behind one trait: `noop` (FIFO)
//!   and `deadline` (sector-sorted sweeps in batches, read and write
//!   expiry, writes never starved).
//! - [`queue`]: the **request queue**: merging, the scheduler (switchable
//!   at run time through the `scheduler` attribute), flushes as barriers,
//!   bounds.
//! - [`stats`]: per-disk and per-partition counters in the order of
//!   `/sys/block/X/stat` and `/proc/diskstats`.
//! - [`inflight`] and [`disk`]: a disk (`gendisk`) with its partitions and
//!   the requests its driver holds, tagged with the driver instance, so
//!   that when a driver dies its requests go, in order, to the restarted
//!   instance and each completes exactly once — MINIX 3's transparent
//!   block-driver recovery.
//! - [`part`]: MBR (with logical partitions) and GPT (with CRC32 checks
//!   and the backup header) into `vda1`… .
//! - [`ramdisk`]: the RAM disk (`brd`), pages on the first write.
//! - [`transfer`]: the DMA pool's transfer slots and how a request's
//!   segments become device buffers.
//! - [`service`]: the `blk` server's request logic (decode step, slots,
//!   bios, completions), which the binary (`src/main`) serves.
//!
//! Time is a millisecond count passed in by the caller (the server's
//! clock; a simulated one in the tests); nothing here blocks or sleeps.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod bio;
pub mod disk;
pub mod inflight;
pub mod part;
pub mod queue;
pub mod ramdisk;
pub mod request;
pub mod sched;
pub mod service;
pub mod stats;
pub mod transfer;

pub use bio::{Bio, BlkError, Op, Segment, SECTOR_SIZE};
pub use disk::{Completion, Disk};
pub use queue::Queued;
pub use request::{QueueLimits, Request, RequestId};
