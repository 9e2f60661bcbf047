//! `buddy`: the physical page allocator of LKD chapter 12, which the memory
//! server (`servers/mm`) allocates frames with and the slab allocator
//! (`kmem`) builds on: a binary buddy allocator over zones, driven by GFP
//! flags. It is pure logic, `no_std`, tested on the host; it never touches
//! the memory it manages, only its own bookkeeping, so the same code runs
//! in the user-space server and linked into the kernel.
//!
//! # Public API
//!
//! - [`BuddyAllocator::new`]`(regions)`: the allocator over physical
//!   `[start, end)` ranges of RAM (any order, unaligned, overlapping, tiny
//!   or far apart). The memory map costs 12 bytes per 4 KiB page, allocated
//!   once from the heap here; nothing is allocated afterwards.
//! - [`BuddyAllocator::alloc_pages`]`(gfp, order)` →
//!   `Result<`[`PageBlock`]`, `[`AllocError`]`>`: 2^order contiguous pages,
//!   order 0..=10, naturally aligned, from the zone the flags name or a
//!   lower one (Normal → DMA32 → DMA). [`PageBlock::must_zero`] carries
//!   `__GFP_ZERO` back to the caller, who maps the block and must clear it.
//!   [`BuddyAllocator::alloc_pages_reclaim`] adds a bounded
//!   reclaim-and-retry loop for callers that may wait.
//! - [`BuddyAllocator::free_pages`]`(addr, order)` → `Result<(), `[`FreeError`]`>`:
//!   merges the block with its buddy as far as it goes. A double free, an
//!   address never handed out, a misaligned address or a wrong order is an
//!   error and changes nothing.
//! - `alloc_page` / `free_page`: the order-0 shorthands.
//! - Counts: [`BuddyAllocator::zone`]`(kind)` gives a [`Zone`]'s present and
//!   free pages and free blocks per order ([`Zone::nr_free`]);
//!   [`BuddyAllocator::buddyinfo`] formats them exactly as Linux's
//!   `/proc/buddyinfo`:
//!   ```text
//!   Node 0, zone      DMA      1      0      1      0      2      1      1      0      1      1      3
//!   ```
//!   (every number is followed by a space, as in Linux).
//! - [`BuddyAllocator::check`]: verifies every invariant (O(pages)).
//! - [`GfpFlags`] and the `GFP_*` type flags (`GFP_KERNEL`, `GFP_ATOMIC`,
//!   `GFP_DMA`, `GFP_DMA32`, ...); [`gfp_zone`].
//!
//! # IPC protocol
//!
//! None: this is a library. The memory server (`servers/mm`) serves
//! `libsys::proto::mm` with it.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod buddy;
pub mod gfp;
mod memmap;
pub mod zone;

pub use buddy::{
    AllocError, BuddyAllocator, BuddyInfo, Corruption, FreeError, InitError, PageBlock,
    MAX_RECLAIM_RETRIES,
};
pub use gfp::{
    gfp_zone, GfpFlags, GFP_ATOMIC, GFP_DMA, GFP_DMA32, GFP_KERNEL, GFP_NOFS, GFP_NOIO, GFP_NOWAIT,
    GFP_USER,
};
pub use x86_64::PhysAddr;
pub use zone::{Zone, ZoneType, MAX_NR_ZONES};

/// log2 of the page size.
pub const PAGE_SHIFT: u32 = 12;
/// The page size: 4 KiB.
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// Number of orders: blocks are 2^0 to 2^(MAX_ORDER - 1) = 1024 pages
/// (4 MiB), as Linux's `MAX_ORDER` of 11 before 6.4.
pub const MAX_ORDER: u32 = 11;
