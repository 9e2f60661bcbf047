//! The process heap: `Box`, `Vec` and `String` for every program.
//!
//! The global allocator is `kmem`'s slab allocator (object caches and the
//! `kmalloc` size classes, LKD ch. 12), built on pages of a memory region
//! the process was given: at start the whole region is mapped at
//! [`HEAP_BASE`], and [`RegionPages`] hands out aligned runs of its pages
//! (2^order of them) from a bitmap. In a process the memory server
//! manages, the region is an `mmap` of `mm`'s, demand-zero: pages are
//! faulted in as the slabs first touch them.
//!
//! A process may give the heap more pages once its region is used up
//! ([`set_more_pages`]): the memory server does, from its own buddy
//! allocator, so its heap grows with what it must keep track of.
//!
//! A process without a heap region gets null from every allocation (and
//! Rust's allocation-error path ends it): the kernel's own test programs
//! run without one.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

#[cfg(feature = "rt")]
use kmem::SlabAllocator;
use kmem::{GfpFlags, PageSource};
pub use kmem::{SlabInfo, SLABINFO_HEADER};

/// Where the heap region is mapped.
pub const HEAP_BASE: u64 = 0x1000_0000_0000;
/// The most pages a heap can have: 64 MiB (the bitmap's size).
pub const HEAP_MAX_PAGES: u64 = 16384;
/// The first process's heap: the first pages of its largest memory region
/// (8 MiB). `Memory::from_init` starts after them.
pub const INIT_HEAP_PAGES: u64 = 2048;

static BASE: AtomicU64 = AtomicU64::new(0);
static PAGES: AtomicU64 = AtomicU64::new(0);
/// Heap pages from here up were never handed out: with a memory server
/// behind the heap they are not even mapped yet, and read as zero when
/// they are (so `__GFP_ZERO` need not touch them).
static FRESH: AtomicU64 = AtomicU64::new(0);
/// Whether fresh pages are known to be zero (demand-zero from `mm`).
static FRESH_IS_ZERO: AtomicU64 = AtomicU64::new(0);

/// Where the heap takes pages once its region is used up, and gives
/// them back: blocks of 2^order pages, aligned to their size, mapped
/// read-write, outside the region. Called under the allocator's lock, so
/// they must not allocate.
pub struct MorePages {
    pub alloc: fn(order: u32) -> Option<NonNull<u8>>,
    pub free: fn(block: NonNull<u8>, order: u32),
}

static MORE: AtomicPtr<MorePages> = AtomicPtr::new(core::ptr::null_mut());

/// Lets the heap grow past its region through `more` (once; a later call
/// replaces it, blocks already taken go back to the one that gave them
/// only if it is the same).
pub fn set_more_pages(more: &'static MorePages) {
    MORE.store(
        more as *const MorePages as *mut MorePages,
        Ordering::Release,
    );
}

fn more_pages() -> Option<&'static MorePages> {
    // SAFETY: MORE is null or a `&'static MorePages` (set_more_pages).
    unsafe { MORE.load(Ordering::Acquire).as_ref() }
}

/// Pages of the heap region, by a bitmap (set = in use).
pub struct RegionPages {
    used: [u64; (HEAP_MAX_PAGES / 64) as usize],
}

impl RegionPages {
    pub const fn new() -> Self {
        RegionPages {
            used: [0; (HEAP_MAX_PAGES / 64) as usize],
        }
    }

    fn is_used(&self, page: u64) -> bool {
        self.used[(page / 64) as usize] & (1 << (page % 64)) != 0
    }

    fn set(&mut self, page: u64, used: bool) {
        let word = &mut self.used[(page / 64) as usize];
        if used {
            *word |= 1 << (page % 64);
        } else {
            *word &= !(1 << (page % 64));
        }
    }
}

impl Default for RegionPages {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every block handed out is a run of pages of the heap region,
// mapped read-write for the process's life, marked used until freed, so no
// two live blocks overlap.
unsafe impl PageSource for RegionPages {
    fn alloc_pages(&mut self, order: u32, gfp: GfpFlags) -> Option<NonNull<u8>> {
        let (base, pages) = (BASE.load(Ordering::Relaxed), PAGES.load(Ordering::Relaxed));
        let count = 1u64.checked_shl(order)?;
        let mut first = 0;
        while first + count <= pages {
            match (first..first + count).find(|&p| self.is_used(p)) {
                None => {
                    for p in first..first + count {
                        self.set(p, true);
                    }
                    let address = base + first * crate::abi::PAGE_SIZE;
                    let fresh = FRESH.fetch_max(first + count, Ordering::Relaxed);
                    let known_zero = first >= fresh && FRESH_IS_ZERO.load(Ordering::Relaxed) != 0;
                    if gfp.contains(GfpFlags::ZERO) && !known_zero {
                        // SAFETY: the run was just taken: mapped, ours.
                        unsafe {
                            core::ptr::write_bytes(
                                address as *mut u8,
                                0,
                                (count * crate::abi::PAGE_SIZE) as usize,
                            )
                        };
                    }
                    return NonNull::new(address as *mut u8);
                }
                // Runs are aligned to their size (as a buddy's are).
                Some(used) => first = (used / count + 1) * count,
            }
        }
        let block = (more_pages()?.alloc)(order)?;
        if gfp.contains(GfpFlags::ZERO) {
            // SAFETY: the block was just given to us, mapped read-write
            // (MorePages' contract).
            unsafe {
                core::ptr::write_bytes(block.as_ptr(), 0, (count * crate::abi::PAGE_SIZE) as usize)
            };
        }
        Some(block)
    }

    unsafe fn free_pages(&mut self, block: NonNull<u8>, order: u32) {
        let (base, pages) = (BASE.load(Ordering::Relaxed), PAGES.load(Ordering::Relaxed));
        let address = block.as_ptr() as u64;
        if address < base || address >= base + pages * crate::abi::PAGE_SIZE {
            // Not the region's: it came from `MorePages`.
            if let Some(more) = more_pages() {
                (more.free)(block, order);
            }
            return;
        }
        let first = (address - base) / crate::abi::PAGE_SIZE;
        for p in first..first + (1 << order) {
            self.set(p, false);
        }
    }
}

#[cfg(feature = "rt")]
#[global_allocator]
static ALLOCATOR: SlabAllocator<RegionPages> = SlabAllocator::new(RegionPages::new());

/// Makes the `pages` pages mapped at [`HEAP_BASE`] the heap (once, at
/// start). `demand_zero`: they are the memory server's, and read as zero
/// until first written.
pub fn init(pages: u64, demand_zero: bool) {
    BASE.store(HEAP_BASE, Ordering::Relaxed);
    PAGES.store(pages.min(HEAP_MAX_PAGES), Ordering::Relaxed);
    FRESH_IS_ZERO.store(u64::from(demand_zero), Ordering::Relaxed);
}

/// Heap pages in all.
pub fn pages() -> u64 {
    PAGES.load(Ordering::Relaxed)
}

/// Gives the empty slabs of every cache back (to the region, or to
/// `MorePages`): the pages given back. The memory server's own shrinker.
#[cfg(feature = "rt")]
pub fn shrink() -> usize {
    ALLOCATOR.lock().shrink()
}

/// This process's `kmalloc` caches, one [`kmem::SlabInfo`] each (a line of
/// `/proc/slabinfo`). Taken under the allocator's lock and copied out, so
/// the caller may allocate while it prints them.
#[cfg(feature = "rt")]
pub fn slabinfo() -> impl Iterator<Item = kmem::SlabInfo> {
    ALLOCATOR.lock().slabinfo().into_iter()
}
