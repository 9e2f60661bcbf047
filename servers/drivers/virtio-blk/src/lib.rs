//! `virtio-blk`: the virtio block driver as a thin process of its own
//! (LKD 14's driver half; MINIX 3's block driver). devmgr starts it for
//! the PCI function 1af4:1001 with exactly that function's resources; it
//! brings the device up and then only **submits** and **completes**: the
//! block server (`blk`) keeps the queues, the schedulers, the statistics
//! and every request until this driver has completed it, and gives what a
//! dead instance held to the next one.
//!
//! The pure core, host-tested:
//!
//! - [`virtio`]: the legacy virtio PCI interface's registers and the
//!   virtio-blk request header and status; [`virtio::queue`], the split
//!   virtqueue.
//! - [`table`]: the requests the driver holds, each with a bounce buffer
//!   of its own DMA memory, and the checks of what `blk` submits (a
//!   request names pieces of `blk`'s pool window, never a physical
//!   address).
//!
//! The binary (`main.rs`, feature `main`) gives it the machine: the I/O
//! window of BAR 0 (`driver_hal::port`), DMA memory from `mm`
//! (`driver_hal::dma`), the INTx line devmgr passed, and the `blkdrv`
//! protocol (`libsys::proto::blkdrv`) on the endpoint of its device node.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod table;
pub mod virtio;
