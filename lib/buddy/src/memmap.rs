//! The memory map: one [`PageInfo`] per page of RAM the allocator manages,
//! like Linux's `mem_map` array of `struct page`, and the spans that say
//! which physical pages those are.
//!
//! Physical memory has holes (the ISA hole, MMIO below 4 GiB, sparse
//! regions far apart), so the map is not indexed by page frame number
//! directly: the RAM is cut into *spans*, each a run of contiguous pages
//! inside one zone, and the spans' pages are numbered one after another.
//! Invariants kept here:
//! - spans are sorted, disjoint, non-empty, and never cross a zone
//!   boundary; two adjacent spans are in different zones (the regions
//!   given at init are trimmed to whole pages, sorted and merged first);
//! - `span.first` is the map index of `span.start_pfn`, and the indices of
//!   a span follow those of the span before it, so both lookups (pfn to
//!   index, index to pfn) are a binary search over the spans;
//! - every index fits in a `u32` below [`NIL`].
//!
//! Cost: 12 bytes per 4 KiB page (0.29 %), allocated once at init, plus
//! 32 bytes per span.

use alloc::vec::Vec;

use x86_64::PhysAddr;

use crate::zone::ZoneType;
use crate::{InitError, PAGE_SHIFT};

/// "No page": ends a free list.
pub(crate) const NIL: u32 = u32::MAX;

/// What a page is, from the buddy allocator's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PageState {
    /// Inside a block, free or allocated, but not its first page.
    Tail,
    /// First page of a free block of this order, on its zone's free list.
    Free(u8),
    /// First page of a block of this order that `alloc_pages` handed out.
    Allocated(u8),
}

/// Per-page state: the free-list links (meaningful while the page heads a
/// free block) and the state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PageInfo {
    pub prev: u32,
    pub next: u32,
    pub state: PageState,
}

/// A run of contiguous pages of RAM inside one zone.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    pub start_pfn: u64,
    /// First pfn past the span.
    pub end_pfn: u64,
    /// Map index of `start_pfn`.
    pub first: u32,
    pub zone: ZoneType,
}

impl Span {
    pub fn pages(&self) -> u64 {
        self.end_pfn - self.start_pfn
    }

    pub fn contains_pfn(&self, pfn: u64) -> bool {
        self.start_pfn <= pfn && pfn < self.end_pfn
    }

    pub fn index_of(&self, pfn: u64) -> u32 {
        self.first + (pfn - self.start_pfn) as u32
    }

    pub fn pfn_of(&self, index: u32) -> u64 {
        self.start_pfn + u64::from(index - self.first)
    }
}

/// The spans and the per-page array.
pub(crate) struct MemMap {
    pub spans: Vec<Span>,
    pub pages: Vec<PageInfo>,
}

impl MemMap {
    /// Builds the map for `regions` (`[start, end)` physical ranges in any
    /// order, possibly overlapping, unaligned or empty). Every page starts
    /// as `Tail`; the caller puts the blocks on the free lists.
    pub fn new(regions: &[(PhysAddr, PhysAddr)]) -> Result<MemMap, InitError> {
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        ranges
            .try_reserve_exact(regions.len())
            .map_err(|_| InitError::NoMemoryForMap)?;
        for &(start, end) in regions {
            // Whole pages only: round the start up and the end down.
            let start_pfn = start.as_u64().div_ceil(1 << PAGE_SHIFT);
            let end_pfn = end.as_u64() >> PAGE_SHIFT;
            if start_pfn < end_pfn {
                ranges.push((start_pfn, end_pfn));
            }
        }
        ranges.sort_unstable();

        // Merge overlapping and touching ranges, then cut at zone ends.
        ranges.dedup_by(|next, kept| {
            let touches = next.0 <= kept.1;
            if touches {
                kept.1 = kept.1.max(next.1);
            }
            touches
        });
        let mut spans: Vec<Span> = Vec::new();
        let mut total: u64 = 0;
        for (start, end) in ranges {
            cut_at_zones(&mut spans, &mut total, start, end)?;
        }

        if total >= u64::from(NIL) {
            return Err(InitError::TooManyPages);
        }
        let mut pages = Vec::new();
        pages
            .try_reserve_exact(total as usize)
            .map_err(|_| InitError::NoMemoryForMap)?;
        pages.resize(
            total as usize,
            PageInfo {
                prev: NIL,
                next: NIL,
                state: PageState::Tail,
            },
        );
        Ok(MemMap { spans, pages })
    }

    /// The span holding page frame `pfn`, if it is RAM the map covers.
    pub fn span_of_pfn(&self, pfn: u64) -> Option<&Span> {
        let at = self.spans.partition_point(|span| span.end_pfn <= pfn);
        self.spans.get(at).filter(|span| span.contains_pfn(pfn))
    }

    /// The span holding map index `index` (which must be a valid index).
    pub fn span_of_index(&self, index: u32) -> &Span {
        let at = self
            .spans
            .partition_point(|span| u64::from(span.first) + span.pages() <= u64::from(index));
        &self.spans[at]
    }
}

/// Appends `[start, end)` to `spans`, cut where it crosses a zone end.
fn cut_at_zones(
    spans: &mut Vec<Span>,
    total: &mut u64,
    mut start: u64,
    end: u64,
) -> Result<(), InitError> {
    while start < end {
        let zone = ZoneType::of(start << PAGE_SHIFT);
        let piece_end = end.min(zone.end_pfn());
        if *total + (piece_end - start) >= u64::from(NIL) {
            return Err(InitError::TooManyPages);
        }
        spans
            .try_reserve(1)
            .map_err(|_| InitError::NoMemoryForMap)?;
        spans.push(Span {
            start_pfn: start,
            end_pfn: piece_end,
            first: *total as u32,
            zone,
        });
        *total += piece_end - start;
        start = piece_end;
    }
    Ok(())
}
