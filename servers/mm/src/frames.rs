//! Page frames: the RAM mm hands out, and how many mappings refer to each
//! frame (the `_count` of Linux's `struct page`, LKD ch. 12 and 15).
//!
//! A frame comes from the buddy allocator with one reference (the mapping
//! its taker is about to make); a fork or an `Accept` adds references; an
//! unmap drops one. Invariants kept here:
//! - a frame is back in the buddy allocator exactly when its count is 0;
//! - `used` is the number of frames whose count is above 0, `shared` the
//!   number above 1, `references` the sum of all counts, so the system
//!   statistics cost nothing to read;
//! - `free + used == total` at every step (nothing is allocated that is
//!   not counted).
//!
//! Device frames (`MapPhysical`) are not RAM and not here: taking or
//! dropping a reference to one does nothing.
//!
//! The buddy allocator is shared with mm's own heap ([`KernelPages`]):
//! when its slabs need pages, mm takes them from the same buddy
//! (`heap` counts them), so its records grow with RAM, not up to a
//! constant. Every use of the buddy takes its lock for one call and
//! allocates nothing while holding it, so the heap may take it from
//! inside an allocation the core makes. With the heap's pages,
//! `free + used + heap == total`.
//!
//! The counts are a dense array, one `u32` per page of RAM (4 bytes per
//! 4 KiB, 0.1 %), indexed through the runs of RAM sorted by frame number:
//! finding a frame's count is a binary search over the runs, O(log runs)
//! (a handful of runs in practice), the rest is O(1).

use alloc::sync::Arc;
use alloc::vec::Vec;

use spin::Mutex;

use buddy::{BuddyAllocator, GfpFlags, PhysAddr, ZoneType, GFP_USER, PAGE_SHIFT, PAGE_SIZE};
use libsys::proto::mm::MmError;

/// A run of contiguous frames of RAM.
#[derive(Clone, Copy, Debug)]
struct Run {
    start_pfn: u64,
    /// First pfn past the run.
    end_pfn: u64,
    /// Index in `counts` of `start_pfn`.
    first: usize,
}

/// Single frames [`Pool::hot`] takes from the buddy allocator at once.
const HOT_BATCH: usize = 16;
/// The most single frames [`Pool::hot`] keeps.
const HOT_HIGH: usize = 64;

/// The buddy allocator and the pages mm's own heap holds from it.
struct Pool {
    buddy: BuddyAllocator,
    heap: u64,
    /// The flags single frames are taken with: `GFP_USER` (Normal, then
    /// DMA32, then DMA), or from DMA32 down when the machine has no Normal
    /// memory (RAM below 4 GiB: the same frames without a search of an
    /// empty zone's free lists each time).
    user_gfp: GfpFlags,
    /// Free single frames kept out of the buddy allocator for the next
    /// [`Frames::alloc`] (Linux's per-CPU page lists, `per_cpu_pages`): a
    /// fault takes one with a pop instead of a search of the free lists
    /// and a split, and a frame freed comes back with a push. Refilled
    /// [`HOT_BATCH`] at a time, at most [`HOT_HIGH`] (more frees go to the
    /// buddy allocator), and emptied into the buddy allocator before a
    /// block allocation (DMA, the heap) gives up, so that they never stand
    /// in the way of a larger block. They count as free.
    hot: heapless::Vec<u64, HOT_HIGH>,
}

impl Pool {
    /// A free single frame: from the hot list, refilled from the buddy
    /// allocator when empty.
    fn take_frame(&mut self) -> Option<u64> {
        if let Some(pfn) = self.hot.pop() {
            return Some(pfn);
        }
        for _ in 0..HOT_BATCH {
            let Ok(block) = self.buddy.alloc_page(self.user_gfp) else {
                break;
            };
            // Cannot fail: the list was empty.
            let _ = self.hot.push(block.addr.as_u64() >> PAGE_SHIFT);
        }
        // Taken in address order, handed out from the last: reversed, the
        // first fault of a run gets the lowest frame (runs of contiguous
        // frames let a fork map many pages at once).
        self.hot.reverse();
        self.hot.pop()
    }

    /// A frame freed: onto the hot list, or to the buddy allocator if the
    /// list is full.
    fn give_frame(&mut self, pfn: u64) {
        if self.hot.push(pfn).is_err() {
            let freed = self.buddy.free_page(PhysAddr::new(pfn << PAGE_SHIFT));
            debug_assert!(freed.is_ok(), "the buddy refused a frame it gave");
        }
    }

    /// Gives the hot list back to the buddy allocator (before a block
    /// allocation fails for want of them); whether there were any.
    fn drain(&mut self) -> bool {
        let any = !self.hot.is_empty();
        while let Some(pfn) = self.hot.pop() {
            let freed = self.buddy.free_page(PhysAddr::new(pfn << PAGE_SHIFT));
            debug_assert!(freed.is_ok(), "the buddy refused a frame it gave");
        }
        any
    }

    /// 2^`order` frames from the buddy allocator, after emptying the hot
    /// list if it has none.
    fn alloc_block(&mut self, gfp: GfpFlags, order: u32) -> Option<buddy::PageBlock> {
        match self.buddy.alloc_pages(gfp, order) {
            Ok(block) => Some(block),
            Err(_) if self.drain() => self.buddy.alloc_pages(gfp, order).ok(),
            Err(_) => None,
        }
    }

    /// Free frames of `zone` on the hot list.
    fn hot_in(&self, zone: ZoneType) -> u64 {
        self.hot
            .iter()
            .filter(|&&pfn| ZoneType::of(pfn << PAGE_SHIFT) == zone)
            .count() as u64
    }
}

/// Pages for mm's own heap, from the buddy allocator the frames come
/// from (Linux's `__get_free_pages(GFP_KERNEL)` for the slab layer). A
/// handle: clones share the pool.
#[derive(Clone)]
pub struct KernelPages(Arc<Mutex<Pool>>);

impl KernelPages {
    /// A block of 2^`order` pages (any zone): its first frame, or `None`.
    pub fn alloc(&self, order: u32) -> Option<u64> {
        let mut pool = self.0.lock();
        let block = pool.alloc_block(buddy::GFP_KERNEL, order)?;
        pool.heap += 1 << order;
        Some(block.addr.as_u64() >> PAGE_SHIFT)
    }

    /// Gives back a block from [`alloc`](Self::alloc); false (and nothing
    /// changes) if it is not one.
    pub fn free(&self, pfn: u64, order: u32) -> bool {
        let mut pool = self.0.lock();
        let freed = pool
            .buddy
            .free_pages(PhysAddr::new(pfn << PAGE_SHIFT), order)
            .is_ok();
        if freed {
            pool.heap -= 1 << order;
        }
        freed
    }

    /// Pages the heap holds.
    pub fn pages(&self) -> u64 {
        self.0.lock().heap
    }
}

/// The frames of RAM and their reference counts.
pub struct Frames {
    pool: Arc<Mutex<Pool>>,
    /// Free pages user allocations leave alone (for mm's own heap).
    reserve: u64,
    /// Pages of RAM in all (fixed), so that the free count is O(1):
    /// `total - used - heap`.
    total: u64,
    runs: Vec<Run>,
    counts: Vec<u32>,
    used: u64,
    shared: u64,
    references: u64,
}

impl Frames {
    /// The frames of `ram`, each `(physical base, pages)`, in any order,
    /// possibly overlapping. A base that is not page-aligned loses its
    /// partial first page (as the buddy allocator trims it).
    ///
    /// Fails with `InvalidArgument` for a range past the 52-bit physical
    /// address space and `NoMemory` when the bookkeeping does not fit.
    pub fn new(ram: &[(u64, u64)]) -> Result<Frames, MmError> {
        let mut regions = Vec::new();
        let mut pfns = Vec::new();
        for &(base, pages) in ram {
            let end = pages
                .checked_mul(PAGE_SIZE)
                .and_then(|len| base.checked_add(len))
                .ok_or(MmError::InvalidArgument)?;
            let (Ok(start), Ok(stop)) = (PhysAddr::try_new(base), PhysAddr::try_new(end)) else {
                return Err(MmError::InvalidArgument);
            };
            regions.push((start, stop));
            let (start_pfn, end_pfn) = (base.div_ceil(PAGE_SIZE), end >> PAGE_SHIFT);
            if start_pfn < end_pfn {
                pfns.push((start_pfn, end_pfn));
            }
        }
        let buddy = BuddyAllocator::new(&regions).map_err(|_| MmError::NoMemory)?;
        // The same pages the buddy allocator keeps: sorted, merged.
        pfns.sort_unstable();
        pfns.dedup_by(|next, kept| {
            let touches = next.0 <= kept.1;
            if touches {
                kept.1 = kept.1.max(next.1);
            }
            touches
        });
        let mut runs = Vec::with_capacity(pfns.len());
        let mut total = 0usize;
        for (start_pfn, end_pfn) in pfns {
            runs.push(Run {
                start_pfn,
                end_pfn,
                first: total,
            });
            total += (end_pfn - start_pfn) as usize;
        }
        let mut counts = Vec::new();
        counts
            .try_reserve_exact(total)
            .map_err(|_| MmError::NoMemory)?;
        counts.resize(total, 0);
        let mut frames = Frames {
            pool: Arc::new(Mutex::new(Pool {
                user_gfp: if buddy.zone(ZoneType::Normal).present_pages() == 0 {
                    GFP_USER | buddy::GfpFlags::DMA32
                } else {
                    GFP_USER
                },
                buddy,
                heap: 0,
                hot: heapless::Vec::new(),
            })),
            reserve: 0,
            total: 0,
            runs,
            counts,
            used: 0,
            shared: 0,
            references: 0,
        };
        frames.total = frames.pool.lock().buddy.total_pages();
        Ok(frames)
    }

    /// A fresh frame with one reference, or `None` when RAM is exhausted
    /// (down to the reserve).
    /// Its contents are whatever was there: the caller zeroes or fills it.
    pub fn alloc(&mut self) -> Option<u64> {
        let pfn = {
            let mut pool = self.pool.lock();
            if self.total - self.used - pool.heap <= self.reserve {
                return None;
            }
            pool.take_frame()?
        };
        let index = self.index(pfn)?;
        debug_assert_eq!(self.counts[index], 0, "the buddy handed out a used frame");
        self.counts[index] = 1;
        self.used += 1;
        self.references += 1;
        Some(pfn)
    }

    /// A block of 2^`order` physically contiguous frames from a zone
    /// `gfp` allows (`GFP_DMA`, `GFP_DMA32`), each with one reference,
    /// or `None`. Its frames must go back together with
    /// [`free_block`](Self::free_block), never one by one with `put`.
    pub fn alloc_block(&mut self, gfp: GfpFlags, order: u32) -> Option<u64> {
        let block = {
            let mut pool = self.pool.lock();
            if self.total - self.used - pool.heap < self.reserve + (1 << order) {
                return None;
            }
            pool.alloc_block(gfp, order)?
        };
        let first = block.addr.as_u64() >> PAGE_SHIFT;
        let pages = 1u64 << order;
        let Some(index) = self.index(first) else {
            let _ = self.pool.lock().buddy.free_pages(block.addr, order);
            return None;
        };
        // A block never crosses a run: runs are what the buddy was built on.
        for count in &mut self.counts[index..index + pages as usize] {
            *count = 1;
        }
        self.used += pages;
        self.references += pages;
        Some(first)
    }

    /// Gives back a block from [`alloc_block`](Self::alloc_block): every
    /// frame must have exactly one reference. Returns false (and changes
    /// nothing) if `first` and `order` are not such a block.
    pub fn free_block(&mut self, first: u64, order: u32) -> bool {
        let pages = 1usize << order;
        let Some(index) = self.index(first) else {
            return false;
        };
        let Some(counts) = self.counts.get_mut(index..index + pages) else {
            return false;
        };
        if counts.iter().any(|&c| c != 1) {
            return false;
        }
        if self
            .pool
            .lock()
            .buddy
            .free_pages(PhysAddr::new(first << PAGE_SHIFT), order)
            .is_err()
        {
            return false;
        }
        counts.fill(0);
        self.used -= pages as u64;
        self.references -= pages as u64;
        true
    }

    /// Free pages in zone `zone`.
    pub fn zone_free(&self, zone: ZoneType) -> u64 {
        let pool = self.pool.lock();
        pool.buddy.zone(zone).free_pages() + pool.hot_in(zone)
    }

    /// Pages present in zone `zone`.
    pub fn zone_present(&self, zone: ZoneType) -> u64 {
        self.pool.lock().buddy.zone(zone).present_pages()
    }

    /// One more mapping of `pfn` (nothing for a device frame).
    pub fn get(&mut self, pfn: u64) {
        let Some(index) = self.index(pfn) else {
            return;
        };
        debug_assert!(self.counts[index] > 0, "a reference to a free frame");
        self.counts[index] += 1;
        self.references += 1;
        if self.counts[index] == 2 {
            self.shared += 1;
        }
    }

    /// One mapping of `pfn` fewer; at zero the frame goes back to the
    /// buddy allocator (nothing for a device frame).
    pub fn put(&mut self, pfn: u64) {
        let Some(index) = self.index(pfn) else {
            return;
        };
        let count = &mut self.counts[index];
        debug_assert!(*count > 0, "a frame released twice");
        if *count == 0 {
            return;
        }
        *count -= 1;
        self.references -= 1;
        match *count {
            1 => self.shared -= 1,
            0 => {
                self.used -= 1;
                self.pool.lock().give_frame(pfn);
            }
            _ => {}
        }
    }

    /// How many mappings refer to `pfn` (0 for a free or device frame).
    pub fn count(&self, pfn: u64) -> u32 {
        self.index(pfn).map_or(0, |index| self.counts[index])
    }

    /// Whether `pfn` is RAM mm manages.
    pub fn is_ram(&self, pfn: u64) -> bool {
        self.index(pfn).is_some()
    }

    /// Whether any frame of `[start_pfn, end_pfn)` is RAM mm manages.
    pub fn overlaps_ram(&self, start_pfn: u64, end_pfn: u64) -> bool {
        self.runs
            .iter()
            .any(|run| run.start_pfn < end_pfn && start_pfn < run.end_pfn)
    }

    pub fn total_pages(&self) -> u64 {
        self.total
    }

    /// O(1): every page is free, used (counted) or the heap's.
    pub fn free_pages(&self) -> u64 {
        self.total - self.used - self.pool.lock().heap
    }

    /// Keeps `pages` free pages from user allocations (`alloc`,
    /// `alloc_block`): only mm's own heap ([`KernelPages`]) takes them.
    pub fn set_reserve(&mut self, pages: u64) {
        self.reserve = pages;
    }

    /// The handle mm's own heap takes pages through.
    pub fn kernel_pages(&self) -> KernelPages {
        KernelPages(self.pool.clone())
    }

    /// Pages mm's own heap holds.
    pub fn heap_pages(&self) -> u64 {
        self.pool.lock().heap
    }

    /// Frames with at least one mapping.
    pub fn used_pages(&self) -> u64 {
        self.used
    }

    /// Frames with more than one mapping.
    pub fn shared_pages(&self) -> u64 {
        self.shared
    }

    /// The sum of all reference counts.
    pub fn references(&self) -> u64 {
        self.references
    }

    /// Free blocks of `order` in `zone`, and pages present in it. The hot
    /// list's frames count as free blocks of order 0, so that the blocks
    /// add up to the free pages.
    pub fn zone_info(&self, zone: ZoneType, order: u32) -> (u64, u64) {
        let pool = self.pool.lock();
        let hot = if order == 0 { pool.hot_in(zone) } else { 0 };
        let zone = pool.buddy.zone(zone);
        (zone.nr_free(order) + hot, zone.present_pages())
    }

    /// Every frame with a non-zero count, and the count: O(pages).
    pub fn counted(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.runs.iter().flat_map(move |run| {
            (run.start_pfn..run.end_pfn)
                .zip(&self.counts[run.first..])
                .filter(|(_, &count)| count > 0)
                .map(|(pfn, &count)| (pfn, count))
        })
    }

    /// Checks the counters against the counts and the buddy allocator's
    /// own invariants: O(pages). Returns the first inconsistency.
    pub fn check(&self) -> Result<(), &'static str> {
        self.pool.lock().buddy.check().map_err(|c| c.what)?;
        let (mut used, mut shared, mut references) = (0, 0, 0);
        for (_, count) in self.counted() {
            used += 1;
            shared += u64::from(count > 1);
            references += u64::from(count);
        }
        if (used, shared, references) != (self.used, self.shared, self.references) {
            return Err("frame counters differ from the counts");
        }
        let pool = self.pool.lock();
        if pool.buddy.free_pages_count() + pool.hot.len() as u64 + self.used + pool.heap
            != self.total
        {
            return Err("free + used + heap != total");
        }
        Ok(())
    }

    fn index(&self, pfn: u64) -> Option<usize> {
        let at = self.runs.partition_point(|run| run.end_pfn <= pfn);
        let run = self.runs.get(at).filter(|run| run.start_pfn <= pfn)?;
        Some(run.first + (pfn - run.start_pfn) as usize)
    }
}
