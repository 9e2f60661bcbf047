//! Transfer buffers: where a request's data sits between the client and
//! the device. The block server has one pool of DMA memory, cut into
//! [`SLOTS`] slots of [`SLOT_PAGES`] pages (one `Read` or `Write` of up
//! to 64 KiB each). A client's data is grant-copied into (or out of) its
//! slot; the bio names the slot's pages as segments, one per page, as
//! Linux's `bio_vec`s do; and a request's segments — several bios once
//! merged — become the device's buffers, neighbouring pieces joined
//! ([`extents`]). A client never names a physical address.

use alloc::vec::Vec;

use crate::bio::{Segment, PAGE_SIZE, SECTOR_SIZE};

/// Slots in the pool (transfers outstanding at once).
pub const SLOTS: usize = 16;
/// Pages per slot: 64 KiB, the largest transfer.
pub const SLOT_PAGES: u64 = 16;
/// Most sectors one slot holds.
pub const SLOT_SECTORS: u32 = (SLOT_PAGES as u32 * PAGE_SIZE) / SECTOR_SIZE;

/// Which slots are in use.
#[derive(Debug)]
pub struct SlotPool {
    used: [bool; SLOTS],
}

impl Default for SlotPool {
    fn default() -> Self {
        SlotPool::new()
    }
}

impl SlotPool {
    /// Every slot free.
    pub fn new() -> SlotPool {
        SlotPool {
            used: [false; SLOTS],
        }
    }

    /// Takes a free slot, if there is one.
    pub fn alloc(&mut self) -> Option<usize> {
        let slot = self.used.iter().position(|u| !u)?;
        self.used[slot] = true;
        Some(slot)
    }

    /// Gives `slot` back (a slot out of range or already free: nothing).
    pub fn free(&mut self, slot: usize) {
        if let Some(u) = self.used.get_mut(slot) {
            *u = false;
        }
    }

    /// Slots in use.
    pub fn in_use(&self) -> usize {
        self.used.iter().filter(|&&u| u).count()
    }
}

/// The byte offset of `slot` in the pool.
pub fn slot_offset(slot: usize) -> u64 {
    slot as u64 * SLOT_PAGES * u64::from(PAGE_SIZE)
}

/// The segments of `sectors` sectors in `slot`: one per page, the last
/// one short. Empty for 0 sectors or more than [`SLOT_SECTORS`].
pub fn segments(slot: usize, sectors: u32) -> Vec<Segment> {
    if sectors > SLOT_SECTORS {
        return Vec::new();
    }
    let mut left = sectors * SECTOR_SIZE;
    let first_page = slot as u64 * SLOT_PAGES;
    let mut out = Vec::new();
    let mut page = first_page;
    while left > 0 {
        let len = left.min(PAGE_SIZE);
        out.push(Segment {
            page,
            offset: 0,
            len,
        });
        left -= len;
        page += 1;
    }
    out
}

/// Segments as (byte offset in the pool, length) pieces, a piece that
/// starts where the previous one ends joined to it: what the device is
/// given, one buffer per piece.
pub fn extents<'a>(segments: impl IntoIterator<Item = &'a Segment>) -> Vec<(u64, u32)> {
    let mut out: Vec<(u64, u32)> = Vec::new();
    for s in segments {
        let at = s.page * u64::from(PAGE_SIZE) + u64::from(s.offset);
        match out.last_mut() {
            Some((start, len)) if *start + u64::from(*len) == at => *len += s.len,
            _ => out.push((at, s.len)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_reused() {
        let mut pool = SlotPool::new();
        let all: Vec<usize> = (0..SLOTS).map(|_| pool.alloc().unwrap()).collect();
        assert_eq!(all, (0..SLOTS).collect::<Vec<_>>());
        assert_eq!(pool.alloc(), None);
        pool.free(5);
        pool.free(99);
        assert_eq!(pool.in_use(), SLOTS - 1);
        assert_eq!(pool.alloc(), Some(5));
    }

    #[test]
    fn a_transfer_is_cut_into_pages() {
        let s = segments(2, 9);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].page, s[0].len), (32, 4096));
        assert_eq!((s[1].page, s[1].len), (33, 512));
        assert_eq!(segments(0, SLOT_SECTORS).len(), SLOT_PAGES as usize);
        assert!(segments(0, SLOT_SECTORS + 1).is_empty());
        assert!(segments(0, 0).is_empty());
    }

    #[test]
    fn neighbouring_pieces_join_and_others_do_not() {
        let mut segs = segments(1, 16);
        assert_eq!(extents(&segs), [(slot_offset(1), 8192)]);
        // A merged request: slot 1's two pages, then slot 0's one.
        segs.extend(segments(0, 1));
        assert_eq!(extents(&segs), [(slot_offset(1), 8192), (0, 512)]);
        // Slot 0 then slot 1: adjacent in the pool only at a slot's end.
        let full: Vec<Segment> = segments(0, SLOT_SECTORS)
            .into_iter()
            .chain(segments(1, 8))
            .collect();
        assert_eq!(extents(&full), [(0, 65536 + 4096)]);
    }
}
