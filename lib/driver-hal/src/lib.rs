//! `driver-hal`: the one crate that holds a driver's `unsafe`, so that
//! every driver crate can say `#![forbid(unsafe_code)]` (Tock's rule; the
//! project's "`unsafe` is fenced and explained").
//!
//! - [`reg`] and [`window`] (pure, host-tested): typed registers — an
//!   offset, a width and an access mode in the type (`Reg<u16, ReadWrite>`)
//!   — bit fields with their encodings, and the bounds and alignment rule
//!   every access is checked against.
//! - [`port`]: port I/O (`in`/`out`) behind an [`port::IoWindow`], a range
//!   of ports the kernel opened to this process, read and written through
//!   typed registers.
//! - [`mmio`]: device memory mapped by `mm` (`map_physical`), read and
//!   written volatile through typed registers.
//! - [`dma`]: DMA memory from `mm` (`dma_alloc_coherent`) as a safe
//!   [`dma::DmaBuffer`] with the physical address the device is told;
//!   every access volatile and bounds-checked.
//! - [`bounce`]: a bounce pool — for a buffer the driver did not
//!   allocate (`mm` has no virtual-to-physical call, and a heap buffer is
//!   neither contiguous nor pinned) the data is copied through DMA memory;
//!   its slot accounting is pure and host-tested.
//! - [`windows`] (pure, host-tested): the driver's own DMA blocks, in
//!   which a buffer is translated to its physical address, not bounced.
//! - [`bars`] (pure, host-tested): the shadow of a function's BAR
//!   registers that the `virtio-drivers` crate sizes by writing them.
//! - [`hal`]: the `virtio-drivers` crate's `Hal` on top of the above
//!   (BARs from the regions devmgr handed the driver).
//! - [`virtio`]: the crate's PCI configuration access through devmgr, its
//!   PCI transport, and a virtio-blk device with a safe non-blocking
//!   request interface (the virtio-blk driver's).
//!
//! The parts that touch the machine exist only for the target
//! (`target_os = "none"`); the host builds the pure parts and tests them.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod bars;
pub mod bounce;
pub mod reg;
pub mod window;
pub mod windows;

#[cfg(target_os = "none")]
pub mod dma;
#[cfg(target_os = "none")]
pub mod hal;
#[cfg(target_os = "none")]
pub mod mmio;
#[cfg(target_os = "none")]
pub mod port;
#[cfg(target_os = "none")]
pub mod virtio;

pub use reg::{Field, ReadOnly, ReadWrite, Reg, WriteOnly};
pub use window::AccessError;
