//! `virtio-blk`: the virtio block driver as a thin process of its own
//! (LKD 14's driver half; MINIX 3's block driver). devmgr starts it for
//! the PCI function 1af4:1001 (QEMU's transitional device) or 1af4:1042
//! (the modern-only one) with exactly that function's resources; it
//! brings the device up and then only **submits** and **completes**: the
//! block server (`blk`) keeps the queues, the schedulers, the statistics
//! and every request until this driver has completed it, and gives what a
//! dead instance held to the next one.
//!
//! The device itself is driven by the `virtio-drivers` crate (its PCI
//! transport and `VirtIOBlk`, the modern virtio PCI interface), through
//! `driver-hal::virtio`, which holds the `unsafe` the crate's
//! non-blocking request calls need.
//!
//! The pure core, host-tested:
//!
//! - [`cost`]: the driver's own time (instructions under `-icount`) per
//!   request, by handler, reported every 256 finished requests.
//! - [`table`]: the requests the driver holds, each in a slot of the
//!   driver's own DMA memory, and the checks of what `blk` submits (a
//!   request names pieces of `blk`'s pool window, never a physical
//!   address).
//!
//! The binary (`main.rs`, feature `main`) gives it the machine: the
//! memory BARs devmgr handed it, the function's configuration space
//! through devmgr, DMA memory from `mm`, the INTx line devmgr passed, and
//! the `blkdrv` protocol (`libsys::proto::blkdrv`) on the endpoint of its
//! device node.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod cost;
pub mod table;
