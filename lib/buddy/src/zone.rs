//! Zones (LKD ch. 12, "Zones"): physical memory grouped by what hardware
//! can reach it, each with its own free lists, one per order
//! (`free_area[order]`).
//!
//! On x86_64 there are three: ZONE_DMA below 16 MiB (ISA DMA), ZONE_DMA32
//! below 4 GiB (32-bit devices) and ZONE_NORMAL above. Invariants kept
//! here:
//! - a free list holds only first pages of free blocks of its order, all in
//!   this zone, doubly linked through the memory map (`PageInfo::prev` and
//!   `next`, indices into the map, `NIL` ending a list);
//! - `nr_free` of an order is exactly the length of its list, so the free
//!   page count of a zone is computed from them and cannot drift.
//!
//! A zone boundary is a multiple of 4 MiB, the largest block, so a
//! naturally aligned block never straddles one; the memory map also splits
//! its spans at the boundaries, so the buddy of a block is always looked
//! for in the block's own zone.

use core::fmt;

use crate::memmap::{PageInfo, PageState, NIL};
use crate::{MAX_ORDER, PAGE_SHIFT};

/// Number of zones (Linux's `MAX_NR_ZONES` on x86_64 without HIGHMEM).
pub const MAX_NR_ZONES: usize = 3;

/// Which zone (Linux's `enum zone_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ZoneType {
    /// Below 16 MiB: memory ISA devices can DMA into.
    Dma = 0,
    /// Below 4 GiB: memory 32-bit devices can DMA into.
    Dma32 = 1,
    /// Everything above 4 GiB.
    Normal = 2,
}

impl ZoneType {
    /// All zones, lowest first (the order `/proc/buddyinfo` prints them).
    pub const ALL: [ZoneType; MAX_NR_ZONES] = [ZoneType::Dma, ZoneType::Dma32, ZoneType::Normal];

    /// The name Linux gives the zone in `/proc/buddyinfo` and `/proc/zoneinfo`.
    pub const fn name(self) -> &'static str {
        match self {
            ZoneType::Dma => "DMA",
            ZoneType::Dma32 => "DMA32",
            ZoneType::Normal => "Normal",
        }
    }

    /// First physical address past the zone (`u64::MAX` for Normal).
    pub const fn end(self) -> u64 {
        match self {
            ZoneType::Dma => 16 << 20,
            ZoneType::Dma32 => 4 << 30,
            ZoneType::Normal => u64::MAX,
        }
    }

    /// The zone that holds physical address `addr`.
    pub const fn of(addr: u64) -> ZoneType {
        if addr < ZoneType::Dma.end() {
            ZoneType::Dma
        } else if addr < ZoneType::Dma32.end() {
            ZoneType::Dma32
        } else {
            ZoneType::Normal
        }
    }

    /// The zones a request whose highest acceptable zone is `self` tries,
    /// in order (Linux's zonelist): Normal, then DMA32, then DMA. A DMA32
    /// request never gets Normal memory; a DMA request only DMA memory.
    pub const fn fallback(self) -> &'static [ZoneType] {
        match self {
            ZoneType::Normal => &[ZoneType::Normal, ZoneType::Dma32, ZoneType::Dma],
            ZoneType::Dma32 => &[ZoneType::Dma32, ZoneType::Dma],
            ZoneType::Dma => &[ZoneType::Dma],
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// First page frame number past the zone.
    pub(crate) const fn end_pfn(self) -> u64 {
        match self {
            ZoneType::Normal => u64::MAX,
            _ => self.end() >> PAGE_SHIFT,
        }
    }
}

impl fmt::Display for ZoneType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One order's free list (Linux's `struct free_area`).
#[derive(Clone, Copy, Debug)]
struct FreeArea {
    /// Memory-map index of the first block, or `NIL`.
    head: u32,
    /// Blocks on the list.
    nr_free: u64,
}

/// A zone: its free lists and how many pages it has (Linux's `struct zone`
/// without the watermarks and LRU lists).
#[derive(Clone, Debug)]
pub struct Zone {
    kind: ZoneType,
    free_area: [FreeArea; MAX_ORDER as usize],
    present_pages: u64,
}

impl Zone {
    pub(crate) const fn new(kind: ZoneType) -> Zone {
        Zone {
            kind,
            free_area: [FreeArea {
                head: NIL,
                nr_free: 0,
            }; MAX_ORDER as usize],
            present_pages: 0,
        }
    }

    /// Which zone this is.
    pub fn kind(&self) -> ZoneType {
        self.kind
    }

    /// The zone's name as Linux prints it ("DMA", "DMA32", "Normal").
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// Pages of RAM the zone manages, free or not.
    pub fn present_pages(&self) -> u64 {
        self.present_pages
    }

    /// Free blocks of `order` (a column of `/proc/buddyinfo`); 0 for an
    /// order above 10.
    pub fn nr_free(&self, order: u32) -> u64 {
        self.free_area
            .get(order as usize)
            .map_or(0, |area| area.nr_free)
    }

    /// Free pages in the zone: the sum over orders of blocks × 2^order.
    pub fn free_pages(&self) -> u64 {
        (0..MAX_ORDER)
            .map(|order| self.nr_free(order) << order)
            .sum()
    }

    pub(crate) fn add_present(&mut self, pages: u64) {
        self.present_pages += pages;
    }

    /// Puts the block whose first page is `index` at the head of the
    /// `order` list and marks it free.
    pub(crate) fn add_free(&mut self, map: &mut [PageInfo], index: u32, order: u32) {
        let area = &mut self.free_area[order as usize];
        let old_head = area.head;
        map[index as usize] = PageInfo {
            prev: NIL,
            next: old_head,
            state: PageState::Free(order as u8),
        };
        if old_head != NIL {
            map[old_head as usize].prev = index;
        }
        area.head = index;
        area.nr_free += 1;
    }

    /// Takes the block whose first page is `index` off the `order` list.
    /// The caller gives the page its new state.
    pub(crate) fn del_free(&mut self, map: &mut [PageInfo], index: u32, order: u32) {
        let area = &mut self.free_area[order as usize];
        let PageInfo { prev, next, .. } = map[index as usize];
        if prev == NIL {
            area.head = next;
        } else {
            map[prev as usize].next = next;
        }
        if next != NIL {
            map[next as usize].prev = prev;
        }
        map[index as usize].prev = NIL;
        map[index as usize].next = NIL;
        area.nr_free -= 1;
    }

    /// Takes the first block off the `order` list, if there is one.
    pub(crate) fn pop_free(&mut self, map: &mut [PageInfo], order: u32) -> Option<u32> {
        let head = self.free_area[order as usize].head;
        if head == NIL {
            return None;
        }
        self.del_free(map, head, order);
        Some(head)
    }

    /// The memory-map indices on the `order` list, head first.
    pub(crate) fn free_list<'a>(
        &self,
        map: &'a [PageInfo],
        order: u32,
    ) -> impl Iterator<Item = u32> + 'a {
        let mut next = self.free_area[order as usize].head;
        core::iter::from_fn(move || {
            if next == NIL {
                return None;
            }
            let index = next;
            next = map[index as usize].next;
            Some(index)
        })
    }
}
