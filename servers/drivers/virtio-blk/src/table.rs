//! The requests the driver holds: each from its `Submit` until `blk`
//! reaps it, with a buffer of the driver's own DMA memory (a *slot*,
//! `driver_hal::virtio::BlkDevice`'s) that the device reads or writes.
//!
//! [`Table::check`] is the decode step of a `Submit`: the id is new, a
//! read or write names 1 to [`PIECES_MAX`] pieces of whole sectors that
//! fit one slot (and, for a write, the readable window lent with it),
//! the sectors lie inside the disk, a flush names none, and a slot is
//! free. A request's pieces lie one after the other in its slot
//! ([`placement`]): the device sees one buffer, whatever `blk` merged.
//!
//! When a new `blk` says `Hello` (it restarted), the requests the old one
//! left are *orphans* ([`Table::abandon`]): the device still finishes
//! them (their slots stay taken until then), but no one hears of them,
//! and their ids may be used again.

use alloc::vec::Vec;

use libsys::proto::blkdrv::{DrvError, Op, Pieces, PIECES_MAX};

/// Bytes in a sector.
pub const SECTOR: u32 = 512;
/// Bytes one slot holds: the largest request (128 sectors).
pub const SLOT_BYTES: u64 = 64 * 1024;
/// Most requests held at once (slots).
pub const DEPTH_MAX: usize = 8;

/// A request the driver holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub id: u64,
    pub op: Op,
    pub pieces: Pieces,
    /// Its slot of DMA memory.
    pub slot: usize,
    /// `None` while on the device; then its status (0: done).
    pub status: Option<i32>,
    /// Left by a previous `blk`: finished silently.
    pub orphan: bool,
}

/// What the window lent with a `Submit` allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lent {
    /// The driver may read it (a write's data).
    pub readable: bool,
    pub len: u64,
}

/// The requests held, at most `depth`.
#[derive(Debug)]
pub struct Table {
    depth: usize,
    capacity: u64,
    held: Vec<Held>,
}

/// The byte offset of `slot` in the slots' memory.
pub fn slot_offset(slot: usize) -> u64 {
    slot as u64 * SLOT_BYTES
}

/// Where each piece goes: (offset in the window, offset in the slot,
/// length), the pieces one after the other in the slot.
pub fn placement(pieces: &Pieces) -> Vec<(u64, u64, u32)> {
    let mut at = 0u64;
    pieces
        .iter()
        .map(|p| {
            let here = at;
            at += u64::from(p.len);
            (u64::from(p.offset), here, p.len)
        })
        .collect()
}

/// The bytes `pieces` move.
pub fn bytes(pieces: &Pieces) -> u64 {
    pieces.iter().map(|p| u64::from(p.len)).sum()
}

impl Table {
    /// Room for `depth` requests (1 to [`DEPTH_MAX`]) on a disk of
    /// `capacity` sectors.
    pub fn new(depth: usize, capacity: u64) -> Table {
        Table {
            depth: depth.clamp(1, DEPTH_MAX),
            capacity,
            held: Vec::new(),
        }
    }

    /// Requests it holds at once.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Requests held (orphans too).
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Requests still on the device.
    pub fn on_device(&self) -> usize {
        self.held.iter().filter(|h| h.status.is_none()).count()
    }

    /// Finished requests `blk` has not reaped.
    pub fn finished(&self) -> usize {
        self.held
            .iter()
            .filter(|h| h.status.is_some() && !h.orphan)
            .count()
    }

    fn free_slot(&self) -> Option<usize> {
        (0..self.depth).find(|s| self.held.iter().all(|h| h.slot != *s))
    }

    /// The decode step of `Submit { id, op, sector, pieces }` with
    /// `window` lent; returns the bytes it moves. `DuplicateId`,
    /// `BadRequest`, `NoWindow`, `OutOfRange`, `Busy`, in that order.
    pub fn check(
        &self,
        id: u64,
        op: Op,
        sector: u64,
        pieces: &Pieces,
        window: Option<Lent>,
    ) -> Result<u64, DrvError> {
        if self.held.iter().any(|h| h.id == id && !h.orphan) {
            return Err(DrvError::DuplicateId);
        }
        let total = bytes(pieces);
        if op == Op::Flush {
            if !pieces.is_empty() {
                return Err(DrvError::BadRequest);
            }
        } else {
            let whole = pieces.iter().all(|p| p.len > 0 && p.len % SECTOR == 0);
            if pieces.is_empty() || pieces.len() > PIECES_MAX || !whole || total > SLOT_BYTES {
                return Err(DrvError::BadRequest);
            }
            if op == Op::Write {
                let w = window.filter(|w| w.readable).ok_or(DrvError::NoWindow)?;
                let inside = pieces
                    .iter()
                    .all(|p| u64::from(p.offset) + u64::from(p.len) <= w.len);
                if !inside {
                    return Err(DrvError::NoWindow);
                }
            }
            let end = sector.checked_add(total / u64::from(SECTOR));
            if end.is_none_or(|e| e > self.capacity) {
                return Err(DrvError::OutOfRange);
            }
        }
        if self.free_slot().is_none() {
            return Err(DrvError::Busy);
        }
        Ok(total)
    }

    /// Takes a checked request in: its slot. `Busy` if none is free.
    pub fn admit(&mut self, id: u64, op: Op, pieces: Pieces) -> Result<usize, DrvError> {
        let slot = self.free_slot().ok_or(DrvError::Busy)?;
        self.held.push(Held {
            id,
            op,
            pieces,
            slot,
            status: None,
            orphan: false,
        });
        Ok(slot)
    }

    /// Drops the request in `slot` again (the device refused it).
    pub fn drop_slot(&mut self, slot: usize) {
        self.held.retain(|h| h.slot != slot);
    }

    /// The request in `slot` finished with `status`; false if no request
    /// on the device has that slot (a bogus completion).
    pub fn finish(&mut self, slot: usize, status: i32) -> bool {
        match self
            .held
            .iter_mut()
            .find(|h| h.slot == slot && h.status.is_none())
        {
            Some(h) => {
                h.status = Some(status);
                true
            }
            None => false,
        }
    }

    /// A new `blk`: what the old one left becomes orphans.
    pub fn abandon(&mut self) {
        for h in &mut self.held {
            h.orphan = true;
        }
        self.held.retain(|h| h.status.is_none());
    }

    /// Takes out up to `max` finished requests (in the order they were
    /// submitted), and every finished orphan; true if finished ones are
    /// left.
    pub fn reap(&mut self, max: usize) -> (Vec<Held>, bool) {
        self.held.retain(|h| !(h.orphan && h.status.is_some()));
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.held.len() && out.len() < max {
            if self.held[i].status.is_some() {
                out.push(self.held.remove(i));
            } else {
                i += 1;
            }
        }
        (out, self.finished() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libsys::proto::blkdrv::Piece;

    fn pieces(list: &[(u32, u32)]) -> Pieces {
        list.iter()
            .map(|&(offset, len)| Piece { offset, len })
            .collect()
    }

    const POOL: Option<Lent> = Some(Lent {
        readable: true,
        len: 1 << 20,
    });

    #[test]
    fn well_formed_requests_pass_and_take_slots_until_the_depth() {
        let mut t = Table::new(2, 1000);
        let p = pieces(&[(0, 4096)]);
        assert_eq!(t.check(1, Op::Read, 0, &p, None), Ok(4096));
        assert_eq!(t.admit(1, Op::Read, p.clone()), Ok(0));
        assert_eq!(t.check(2, Op::Write, 8, &p, POOL), Ok(4096));
        assert_eq!(t.admit(2, Op::Write, p.clone()), Ok(1));
        assert_eq!(t.check(3, Op::Read, 0, &p, None), Err(DrvError::Busy));
        assert_eq!(
            t.check(1, Op::Read, 0, &p, None),
            Err(DrvError::DuplicateId)
        );
        assert_eq!(t.on_device(), 2);
    }

    #[test]
    fn malformed_requests_get_typed_errors() {
        let t = Table::new(4, 1000);
        let none = pieces(&[]);
        assert_eq!(
            t.check(1, Op::Read, 0, &none, None),
            Err(DrvError::BadRequest)
        );
        let odd = pieces(&[(0, 100)]);
        assert_eq!(
            t.check(1, Op::Read, 0, &odd, None),
            Err(DrvError::BadRequest)
        );
        let big = pieces(&[(0, 65536), (65536, 512)]);
        assert_eq!(
            t.check(1, Op::Read, 0, &big, None),
            Err(DrvError::BadRequest)
        );
        let one = pieces(&[(0, 512)]);
        assert_eq!(
            t.check(1, Op::Flush, 0, &one, None),
            Err(DrvError::BadRequest)
        );
        assert_eq!(t.check(1, Op::Flush, 0, &none, None), Ok(0));
        // Past the end, and wrapping.
        assert_eq!(
            t.check(1, Op::Read, 1000, &one, None),
            Err(DrvError::OutOfRange)
        );
        assert_eq!(t.check(1, Op::Read, 999, &one, None), Ok(512));
        assert_eq!(
            t.check(1, Op::Read, u64::MAX, &one, None),
            Err(DrvError::OutOfRange)
        );
        // A write needs a readable window that covers its pieces.
        assert_eq!(
            t.check(1, Op::Write, 0, &one, None),
            Err(DrvError::NoWindow)
        );
        let write_only = Some(Lent {
            readable: false,
            len: 1 << 20,
        });
        assert_eq!(
            t.check(1, Op::Write, 0, &one, write_only),
            Err(DrvError::NoWindow)
        );
        let short = Some(Lent {
            readable: true,
            len: 511,
        });
        assert_eq!(
            t.check(1, Op::Write, 0, &one, short),
            Err(DrvError::NoWindow)
        );
    }

    #[test]
    fn pieces_lie_one_after_the_other_in_the_slot() {
        let p = pieces(&[(8192, 4096), (0, 512)]);
        assert_eq!(placement(&p), [(8192, 0, 4096), (0, 4096, 512)]);
        assert_eq!(bytes(&p), 4608);
        assert_eq!(slot_offset(3), 3 * 65536);
    }

    #[test]
    fn finished_requests_are_reaped_in_submission_order_once() {
        let mut t = Table::new(4, 1000);
        let p = pieces(&[(0, 512)]);
        for id in 10..13 {
            t.admit(id, Op::Read, p.clone()).unwrap();
        }
        assert!(t.finish(2, 0));
        assert!(t.finish(0, 1));
        assert!(!t.finish(0, 0), "finished twice");
        assert!(!t.finish(3, 0), "no request there");
        let (done, more) = t.reap(1);
        assert_eq!(done.len(), 1);
        assert_eq!((done[0].id, done[0].status), (10, Some(1)));
        assert!(more);
        let (done, more) = t.reap(8);
        assert_eq!(done.iter().map(|h| h.id).collect::<Vec<_>>(), [12]);
        assert!(!more);
        assert_eq!(t.len(), 1);
        // Its slot is free again.
        assert_eq!(t.admit(13, Op::Read, p), Ok(0));
    }

    #[test]
    fn a_new_blk_orphans_what_the_old_one_left() {
        let mut t = Table::new(2, 1000);
        let p = pieces(&[(0, 512)]);
        t.admit(1, Op::Read, p.clone()).unwrap();
        t.admit(2, Op::Read, p.clone()).unwrap();
        t.finish(1, 0);
        t.abandon();
        // The finished one is gone at once; the other keeps its slot
        // until the device is done, and its id may be used again.
        assert_eq!(t.len(), 1);
        assert_eq!(t.check(1, Op::Read, 0, &p, None), Ok(512));
        assert_eq!(t.admit(1, Op::Read, p.clone()), Ok(1));
        assert_eq!(t.check(3, Op::Read, 0, &p, None), Err(DrvError::Busy));
        t.finish(0, 0);
        t.finish(1, 0);
        let (done, more) = t.reap(8);
        assert_eq!(done.iter().map(|h| h.id).collect::<Vec<_>>(), [1]);
        assert!(!done[0].orphan);
        assert!(!more);
        assert!(t.is_empty());
    }
}
