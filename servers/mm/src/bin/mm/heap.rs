//! `mm`'s own heap grows from its buddy allocator: the region `init`
//! gives it (`heap=` in the manifest) is only where it starts — enough
//! for the buddy allocator's memory map and the frame counts (16 bytes
//! per page of RAM) — and once that is used up, the slab allocator takes
//! blocks of pages from the same buddy allocator the frames come from
//! ([`mm::KernelPages`]), through the RAM window where every page mm
//! manages is mapped already. So the number of areas and resident pages
//! mm can keep track of is bounded by RAM, not by a constant. Empty slabs
//! go back to the buddy allocator when kmem shrinks (mm's own shrinker,
//! run when free memory falls below the `low` watermark).
//!
//! The window of each RAM region is placed so that a buddy block, aligned
//! physically to its size, is aligned virtually too (kmem finds a slab by
//! masking an object's address); a block that straddles two regions'
//! windows goes back and the allocation fails over to the region's pages.
#![forbid(unsafe_code)]

use alloc::vec::Vec;
use core::ptr::NonNull;

use libsys::abi::PAGE_SIZE;
use libsys::heap::MorePages;
use mm::KernelPages;

/// The pages, and each RAM window: (first pfn, pages, address here).
struct Grow {
    pages: KernelPages,
    windows: Vec<(u64, u64, u64)>,
}

static GROW: spin::Once<Grow> = spin::Once::new();

static MORE: MorePages = MorePages {
    alloc: alloc_block,
    free: free_block,
};

/// Lets the heap grow from `pages`, through the windows (first pfn,
/// pages, address) of the RAM mm manages. Once.
pub(crate) fn install(pages: KernelPages, windows: Vec<(u64, u64, u64)>) {
    GROW.call_once(|| Grow { pages, windows });
    libsys::heap::set_more_pages(&MORE);
}

fn alloc_block(order: u32) -> Option<NonNull<u8>> {
    let grow = GROW.get()?;
    let Some(pfn) = grow.pages.alloc(order) else {
        rec!("kalloc {order} none");
        return None;
    };
    rec!("kalloc {order} {pfn:#x}");
    let count = 1u64 << order;
    let at = grow
        .windows
        .iter()
        .find(|&&(first, pages, _)| first <= pfn && pfn + count <= first + pages)
        .map(|&(first, _, at)| at + (pfn - first) * PAGE_SIZE)
        .filter(|at| at % (count * PAGE_SIZE) == 0);
    match at {
        Some(at) => NonNull::new(at as *mut u8),
        None => {
            rec!("kfree {pfn:#x} {order}");
            grow.pages.free(pfn, order);
            None
        }
    }
}

fn free_block(block: NonNull<u8>, order: u32) {
    let Some(grow) = GROW.get() else {
        return;
    };
    let address = block.as_ptr() as u64;
    let pfn = grow
        .windows
        .iter()
        .find(|&&(_, pages, at)| at <= address && address < at + pages * PAGE_SIZE)
        .map(|&(first, _, at)| first + (address - at) / PAGE_SIZE);
    if let Some(pfn) = pfn {
        rec!("kfree {pfn:#x} {order}");
        grow.pages.free(pfn, order);
    }
}
