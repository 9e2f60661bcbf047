//! The `virtio-drivers` crate's [`Hal`] for this system: what a virtio
//! driver written against that crate asks of the platform, from `mm` and
//! this crate's pieces.
//!
//! - `dma_alloc`/`dma_dealloc`: `mm`'s `dma_alloc_coherent` (zeroed,
//!   contiguous, pinned, below 4 GiB for the legacy queue's 32-bit page
//!   number) and `dma_free_coherent`.
//! - `mmio_phys_to_virt`: a BAR mapped by `mm` (`map_physical`, which
//!   refuses memory the manifest's `device=` did not allow), kept for the
//!   process's life; at most [`MMIO_MAPPINGS_MAX`].
//! - `share`/`unshare`: through the [`BouncePool`] set up by
//!   [`VirtioHal::init`], since `mm` gives no physical address for
//!   ordinary memory.
//!
//! The crate's `Hal` cannot return an error from `share` or
//! `mmio_phys_to_virt`: when the pool is exhausted or not set up, or a
//! mapping is refused, the driver process panics (and is restarted)
//! rather than give the device a wrong address. A driver sizes the pool
//! for its queue depth times its largest buffer.
//!
//! blk's driver does not use this (its device is the legacy interface,
//! which the crate's PCI transport does not speak); it is here, whole,
//! for the drivers that will.

use alloc::vec::Vec;
use core::ptr::NonNull;

use spin::Mutex;
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

use crate::bounce::{BouncePool, Direction};
use crate::mmio::MmioRegion;

/// DMA memory below 4 GiB.
pub const DMA_LIMIT: u64 = 1 << 32;
/// BAR mappings a driver may make through `mmio_phys_to_virt`.
pub const MMIO_MAPPINGS_MAX: usize = 8;

static BOUNCE: Mutex<Option<BouncePool>> = Mutex::new(None);
/// The BARs mapped for the crate, kept for the process's life.
static MMIO: Mutex<Vec<MmioRegion>> = Mutex::new(Vec::new());

/// The `Hal` of a driver process.
pub struct VirtioHal;

impl VirtioHal {
    /// Sets up the bounce pool `share` uses: `pages` pages of DMA memory.
    /// The errors of `mm::dma_alloc_coherent`; a second call replaces the
    /// pool (the driver must have no share live).
    pub fn init(pages: u64) -> Result<(), libsys::mm::Error> {
        let pool = BouncePool::new(pages, DMA_LIMIT)?;
        *BOUNCE.lock() = Some(pool);
        Ok(())
    }

    /// The bounce pool's counters, if it is set up.
    pub fn bounce_stats() -> Option<crate::bounce::BounceStats> {
        BOUNCE.lock().as_ref().map(BouncePool::stats)
    }
}

fn direction(d: BufferDirection) -> Direction {
    match d {
        BufferDirection::DriverToDevice => Direction::ToDevice,
        BufferDirection::DeviceToDriver => Direction::FromDevice,
        BufferDirection::Both => Direction::Both,
    }
}

// SAFETY: `dma_alloc` returns `mm`'s zeroed, page-aligned mapping of
// pages no one else maps; `mmio_phys_to_virt` returns a fresh mapping of
// the BAR, kept for the process's life; `share` returns the physical
// address of bounce pages lent to that buffer alone until `unshare`.
unsafe impl Hal for VirtioHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        match libsys::mm::dma_alloc_coherent(pages as u64, DMA_LIMIT) {
            Ok((at, phys)) => match NonNull::new(at as *mut u8) {
                Some(pointer) => (phys, pointer),
                None => (0, NonNull::dangling()),
            },
            // Physical address 0: the crate's `Dma::new` turns it into
            // `Error::DmaError`.
            Err(_) => (0, NonNull::dangling()),
        }
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, _pages: usize) -> i32 {
        match libsys::mm::dma_free_coherent(vaddr.as_ptr() as u64) {
            Ok(()) => 0,
            Err(_) => -1,
        }
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        let mut mapped = MMIO.lock();
        assert!(
            mapped.len() < MMIO_MAPPINGS_MAX,
            "driver-hal: more than {MMIO_MAPPINGS_MAX} BAR mappings"
        );
        let region = match MmioRegion::map(paddr, size as u64) {
            Ok(region) => region,
            Err(e) => panic!("driver-hal: cannot map the BAR at {paddr:#x}: {e}"),
        };
        let at = region.addr();
        mapped.push(region);
        NonNull::new(at as *mut u8).unwrap_or(NonNull::dangling())
    }

    unsafe fn share(buffer: NonNull<[u8]>, direction_: BufferDirection) -> PhysAddr {
        // SAFETY: the caller promises a valid, non-empty range no one else
        // touches during this call (the trait's contract).
        let data = unsafe { buffer.as_ref() };
        let mut pool = BOUNCE.lock();
        let Some(pool) = pool.as_mut() else {
            panic!("driver-hal: share before VirtioHal::init");
        };
        match pool.share(data, direction(direction_)) {
            Ok(phys) => phys,
            Err(e) => panic!(
                "driver-hal: no bounce pages for {} bytes: {e:?}",
                data.len()
            ),
        }
    }

    unsafe fn unshare(paddr: PhysAddr, mut buffer: NonNull<[u8]>, direction_: BufferDirection) {
        // SAFETY: as in `share`; the range is the one shared at `paddr`.
        let out = unsafe { buffer.as_mut() };
        if let Some(pool) = BOUNCE.lock().as_mut() {
            // `NotShared` (an address no share gave) leaves `out` as it is.
            let _ = pool.unshare(paddr, out, direction(direction_));
        }
    }
}
