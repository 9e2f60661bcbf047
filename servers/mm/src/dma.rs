//! DMA memory (`DmaAlloc`/`DmaFree`: Linux's `dma_alloc_coherent` and
//! `dma_free_coherent`, LKD ch. 12's `GFP_DMA` zones put to use): a block
//! of physically contiguous frames below a physical limit a device can
//! reach, zeroed, mapped read-write into the driver, with its physical
//! address returned so the driver can program the device with it.
//!
//! Rules kept here:
//! - The block comes from the buddy allocator whole (2^order frames, the
//!   request rounded up as Linux's `get_order` does); that whole block is
//!   what is pinned and charged to the caller, against its allowance
//!   ([`DMA_LIMIT_PAGES`] by default, `Space::dma_limit`; a manifest
//!   option through `init` would set it with [`Mm::set_dma_limit`]).
//! - Pinned: the frames are never copy-on-write, never swapped or moved;
//!   `Munmap`, `Mprotect` and `Share` of a DMA area are `NotAllowed`;
//!   `fork_as` gives the child no mapping of it (a hole there).
//! - A block goes back on `DmaFree` or when its process exits, unless it
//!   was allocated with `hold`: then it stays pinned (unmapped from the
//!   process) until `DmaRelease` — the device manager saying the device
//!   has stopped, so it can no longer write into frames someone else got.
//!
//! Costs: an allocation O(pages) (zeroing and mapping) plus the buddy's
//! O(orders); a free O(pages + log blocks).

use buddy::{ZoneType, GFP_DMA, GFP_DMA32, GFP_KERNEL, PAGE_SHIFT, PAGE_SIZE};
use libsys::proto::mm::{MmError, DMA_LIMIT_MIN, DMA_PAGES_MAX};

use crate::layout::{pages_of, PROT_RW};
use crate::machine::{Machine, SpaceId};
use crate::mm::Mm;
use crate::request::place;
use crate::space::{Area, AreaKind, DmaBlock, Pte, Space};

/// The DMA memory a process may hold unless told otherwise: 4 MiB.
pub const DMA_LIMIT_PAGES: u64 = 1024;

/// Where the DMA32 zone ends (4 GiB) and the DMA zone ends (16 MiB).
const DMA32_END: u64 = 1 << 32;
const DMA_END: u64 = 16 << 20;

/// A block of DMA memory held after its process let it go (`hold`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeldBlock {
    pub order: u32,
    pub owner: SpaceId,
}

/// The smallest order whose block holds `pages` pages.
fn order_of(pages: u64) -> u32 {
    pages.next_power_of_two().trailing_zeros()
}

impl Mm {
    /// `DmaAlloc`: `pages` physically contiguous frames, all below
    /// physical address `limit`, zeroed, mapped read-write into `from` at
    /// the lowest free range of the mmap zone. Returns (address, physical
    /// address).
    ///
    /// `InvalidArgument` for 0 or more than [`DMA_PAGES_MAX`] pages or a
    /// `limit` below [`DMA_LIMIT_MIN`]; `OverLimit` if the block would
    /// take the caller past its allowance; `NoMemory` if no zone below the
    /// limit has such a block free (or the machine refuses a mapping);
    /// `NoSpace` without a free address range. Nothing is left behind on
    /// failure.
    pub fn dma_alloc(
        &mut self,
        from: SpaceId,
        pages: u64,
        limit: u64,
        hold: bool,
        m: &mut dyn Machine,
    ) -> Result<(u64, u64), MmError> {
        if pages == 0 || pages > DMA_PAGES_MAX || limit < DMA_LIMIT_MIN {
            return Err(MmError::InvalidArgument);
        }
        let order = order_of(pages);
        let space = self.spaces.get(&from).ok_or(MmError::NotAllowed)?;
        if space.dma_pages + (1 << order) > space.dma_limit {
            return Err(MmError::OverLimit);
        }
        let start = place(space, None, pages)?;
        let pfn = self.dma_block(order, limit).ok_or_else(|| {
            self.alloc_failures += 1;
            MmError::NoMemory
        })?;
        for frame in pfn..pfn + (1 << order) {
            m.zero(frame);
        }
        let space = self.spaces.get_mut(&from).ok_or(MmError::NotAllowed)?;
        if let Err(e) = map_block(from, space, start, pfn, pages, m) {
            self.frames.free_block(pfn, order);
            return Err(e);
        }
        let block = DmaBlock {
            pfn,
            order,
            pages,
            hold,
        };
        space.dma.insert(start, block);
        space.dma_pages += 1 << order;
        self.dma_pinned += 1 << order;
        Ok((start, pfn << PAGE_SHIFT))
    }

    /// `DmaFree`: unmaps the block `from` has at `at` and frees it (or,
    /// for a held block, keeps it pinned until `DmaRelease`); the caller's
    /// allowance gets the pages back. `NotMapped` if no block of `from`'s
    /// starts at `at` (freed already, never allocated, or another's).
    pub fn dma_free(&mut self, from: SpaceId, at: u64, m: &mut dyn Machine) -> Result<(), MmError> {
        let space = self.spaces.get_mut(&from).ok_or(MmError::NotAllowed)?;
        let block = space.dma.remove(&at).ok_or(MmError::NotMapped)?;
        unmap_block(from, space, at, &block, m);
        self.let_go(from, block);
        Ok(())
    }

    /// `DmaRelease` (the device manager, through `init`): frees a held
    /// block, by its physical address, once its process has let it go.
    /// `NotMapped` if no held block starts there.
    pub fn dma_release(&mut self, phys: u64) -> Result<(), MmError> {
        let pfn = phys >> PAGE_SHIFT;
        if !phys.is_multiple_of(PAGE_SIZE) {
            return Err(MmError::InvalidArgument);
        }
        let held = self.dma_held.remove(&pfn).ok_or(MmError::NotMapped)?;
        self.frames.free_block(pfn, held.order);
        self.dma_pinned -= 1 << held.order;
        Ok(())
    }

    /// Sets how many DMA pages `space` may hold (`NotAllowed` for a space
    /// mm does not manage). Blocks it has already stay.
    pub fn set_dma_limit(&mut self, space: SpaceId, pages: u64) -> Result<(), MmError> {
        let space = self.spaces.get_mut(&space).ok_or(MmError::NotAllowed)?;
        space.dma_limit = pages;
        Ok(())
    }

    /// Pages of DMA memory pinned (mapped, or held for the device manager).
    pub fn dma_pinned(&self) -> u64 {
        self.dma_pinned
    }

    /// Unmaps and lets go of every DMA block of `space` (it is exiting).
    pub(crate) fn dma_exit(&mut self, id: SpaceId, space: &mut Space, m: &mut dyn Machine) {
        while let Some((at, block)) = space.dma.pop_first() {
            unmap_block(id, space, at, &block, m);
            self.let_go(id, block);
        }
    }

    /// A block its process no longer maps: freed, or held.
    fn let_go(&mut self, owner: SpaceId, block: DmaBlock) {
        if let Some(space) = self.spaces.get_mut(&owner) {
            space.dma_pages -= 1 << block.order;
        }
        if block.hold {
            let held = HeldBlock {
                order: block.order,
                owner,
            };
            self.dma_held.insert(block.pfn, held);
        } else {
            self.frames.free_block(block.pfn, block.order);
            self.dma_pinned -= 1 << block.order;
        }
    }

    /// A block of 2^`order` frames wholly below `limit`: from the highest
    /// zone that starts below the limit, down to DMA. A block the buddy
    /// gives above the limit (the zone reaches past it) goes back and the
    /// next zone down is tried.
    fn dma_block(&mut self, order: u32, limit: u64) -> Option<u64> {
        let zones = [
            (GFP_KERNEL, ZoneType::Normal, DMA32_END),
            (GFP_DMA32, ZoneType::Dma32, DMA_END),
            (GFP_DMA, ZoneType::Dma, 0),
        ];
        for (gfp, zone, zone_start) in zones {
            if zone_start >= limit || self.frames.zone_present(zone) == 0 {
                continue;
            }
            let Some(pfn) = self.frames.alloc_block(gfp, order) else {
                continue;
            };
            let end = (pfn + (1 << order)) << PAGE_SHIFT;
            if end <= limit {
                return Some(pfn);
            }
            self.frames.free_block(pfn, order);
        }
        None
    }
}

/// Maps `pages` frames from `pfn` at `start` in `space` as a DMA area, or
/// nothing (`NoMemory` if the machine refuses).
fn map_block(
    id: SpaceId,
    space: &mut Space,
    start: u64,
    pfn: u64,
    pages: u64,
    m: &mut dyn Machine,
) -> Result<(), MmError> {
    let end = start + pages * PAGE_SIZE;
    for (i, page) in pages_of(start, end).enumerate() {
        if m.map(id, page, pfn + i as u64, PROT_RW, false).is_err() {
            let _ = m.unmap(id, start, i as u64);
            return Err(MmError::NoMemory);
        }
    }
    space.insert(Area {
        start,
        end,
        prot: PROT_RW,
        max_prot: PROT_RW,
        kind: AreaKind::Dma,
    });
    for (i, page) in pages_of(start, end).enumerate() {
        let pte = Pte {
            pfn: pfn + i as u64,
            prot: PROT_RW,
            cow: false,
        };
        space.pages.insert(page, pte);
    }
    Ok(())
}

/// Unmaps block `block` at `at` from `space`, and removes its area and
/// pages (the frames are the caller's to free).
fn unmap_block(id: SpaceId, space: &mut Space, at: u64, block: &DmaBlock, m: &mut dyn Machine) {
    let end = at + block.pages * PAGE_SIZE;
    let _ = m.unmap(id, at, block.pages);
    for page in pages_of(at, end) {
        space.pages.remove(&page);
    }
    space.areas.remove(&at);
}
