//! `mm`: the memory server's core (DESIGN.md, Servers: `mm`). The page
//! allocator it hands frames out with is the `buddy` crate (LKD ch. 12),
//! re-exported here; the address spaces it pages for (LKD ch. 15) are
//! built on it.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub use buddy::{
    buddy as buddy_allocator, gfp, gfp_zone, zone, AllocError, BuddyAllocator, BuddyInfo,
    Corruption, FreeError, GfpFlags, InitError, PageBlock, PhysAddr, Zone, ZoneType, GFP_ATOMIC,
    GFP_DMA, GFP_DMA32, GFP_KERNEL, GFP_NOFS, GFP_NOIO, GFP_NOWAIT, GFP_USER, MAX_NR_ZONES,
    MAX_ORDER, MAX_RECLAIM_RETRIES, PAGE_SHIFT, PAGE_SIZE,
};
