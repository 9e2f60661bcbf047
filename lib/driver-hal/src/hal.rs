//! The `virtio-drivers` crate's [`Hal`] for this system: what a virtio
//! driver written against that crate asks of the platform, from `mm` and
//! this crate's pieces.
//!
//! - `dma_alloc`/`dma_dealloc`: `mm`'s `dma_alloc_coherent` (zeroed,
//!   contiguous, pinned, below 4 GiB) and `dma_free_coherent`.
//! - `mmio_phys_to_virt`: the BARs devmgr handed the driver
//!   ([`VirtioHal::give_bar`]: device-memory region handles, mapped
//!   through `mm`'s `MapRegion` the first time the crate asks, kept for
//!   the process's life); an address in none of them falls back to
//!   `map_physical` (which refuses memory the manifest's `device=` did
//!   not allow).
//! - `share`/`unshare`: a buffer inside a DMA window the driver
//!   registered ([`VirtioHal::add_window`]: its own DMA memory) is given
//!   by address, no copy; any other (a heap buffer: `mm` has no
//!   virtual-to-physical call, and such memory is neither contiguous nor
//!   pinned) goes through the [`BouncePool`] set up by
//!   [`VirtioHal::init`]: copied in at `share` if the device reads it,
//!   out at `unshare` if it writes it.
//!
//! The crate's `Hal` cannot return an error from `share` or
//! `mmio_phys_to_virt`: when the pool is exhausted or not set up, or a
//! mapping is refused, the driver process panics (and devmgr restarts
//! it) rather than give the device a wrong address.

use alloc::vec::Vec;
use core::ptr::NonNull;

use spin::Mutex;
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

use libsys::handle::MemoryRegion;

use crate::bounce::{BouncePool, Direction};
use crate::dma::DmaBuffer;
use crate::mmio::MmioRegion;
use crate::windows::{Window, WindowError, Windows};

/// DMA memory below 4 GiB.
pub const DMA_LIMIT: u64 = 1 << 32;
/// BAR mappings a driver may make through `mmio_phys_to_virt`.
pub const MMIO_MAPPINGS_MAX: usize = 8;

static BOUNCE: Mutex<Option<BouncePool>> = Mutex::new(None);
/// The BARs mapped for the crate through `map_physical`, kept for the
/// process's life.
static MMIO: Mutex<Vec<MmioRegion>> = Mutex::new(Vec::new());
/// The BARs devmgr handed this driver, mapped when first asked for.
static BARS: Mutex<Vec<Bar>> = Mutex::new(Vec::new());
/// The driver's DMA memory that `share` translates instead of bouncing.
static WINDOWS: Mutex<Windows> = Mutex::new(Windows::new());

/// A BAR handed to the driver: its region, and its mapping once made.
struct Bar {
    region: MemoryRegion,
    phys: u64,
    len: u64,
    mapped: Option<MmioRegion>,
}

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

    /// Hands the crate a BAR devmgr gave this driver (a device-memory
    /// region handle): `mmio_phys_to_virt` maps it when an address inside
    /// it is asked for. The error of the region's `info`.
    pub fn give_bar(region: MemoryRegion) -> Result<(), libsys::abi::SysError> {
        let info = region.info()?;
        BARS.lock().push(Bar {
            region,
            phys: info.base,
            len: info.pages * libsys::abi::PAGE_SIZE,
            mapped: None,
        });
        Ok(())
    }

    /// Registers DMA memory of the driver's (which must outlive its
    /// registration: [`VirtioHal::remove_window`] before dropping it) so
    /// that a buffer inside it is shared by address.
    pub fn add_window(memory: &DmaBuffer) -> Result<(), WindowError> {
        WINDOWS.lock().add(Window {
            virt: memory.addr(),
            phys: memory.phys(),
            len: memory.len(),
        })
    }

    /// Forgets the window of `memory`.
    pub fn remove_window(memory: &DmaBuffer) {
        WINDOWS.lock().remove(memory.addr());
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
// address of the buffer itself (inside a registered DMA window: contiguous
// and pinned) or of bounce pages lent to that buffer alone until `unshare`.
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
        let end = paddr.saturating_add(size as u64);
        let mut bars = BARS.lock();
        if let Some(bar) = bars
            .iter_mut()
            .find(|b| paddr >= b.phys && end <= b.phys + b.len)
        {
            if bar.mapped.is_none() {
                match MmioRegion::from_region(&bar.region, bar.len) {
                    Ok(region) => bar.mapped = Some(region),
                    Err(e) => panic!("driver-hal: cannot map the BAR at {:#x}: {e}", bar.phys),
                }
            }
            let at = bar.mapped.as_ref().map_or(0, MmioRegion::addr) + (paddr - bar.phys);
            return NonNull::new(at as *mut u8).unwrap_or(NonNull::dangling());
        }
        drop(bars);
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
        if let Some(phys) = WINDOWS
            .lock()
            .translate(data.as_ptr() as u64, data.len() as u64)
        {
            return phys;
        }
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
        if WINDOWS.lock().holds_phys(paddr) {
            // Shared by address: the device wrote the buffer itself.
            return;
        }
        // SAFETY: as in `share`; the range is the one shared at `paddr`.
        let out = unsafe { buffer.as_mut() };
        if let Some(pool) = BOUNCE.lock().as_mut() {
            // `NotShared` (an address no share gave) leaves `out` as it is.
            let _ = pool.unshare(paddr, out, direction(direction_));
        }
    }
}
