//! Requests: one or more bios on adjacent sectors, merged, that a driver
//! carries out as one command (LKD 14, "requests" and "merging").
//!
//! A bio joins a queued request by a **back merge** (it starts where the
//! request ends) or a **front merge** (it ends where the request starts),
//! when both are the same operation on the same partition and the result
//! stays within the queue's [`QueueLimits`]. Flushes never merge: a flush
//! is a barrier (see `queue.rs`).

use alloc::vec::Vec;

use crate::bio::{Bio, Op};

/// The limits of a request queue (`/sys/block/X/queue/*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueLimits {
    /// Largest request, in sectors (`max_sectors_kb` × 2).
    pub max_sectors: u64,
    /// Most segments in one request (`max_segments`).
    pub max_segments: usize,
    /// Most requests queued, not counting those in flight
    /// (`nr_requests`).
    pub nr_requests: usize,
    /// Most requests handed to the driver at once (the device's queue
    /// depth).
    pub queue_depth: usize,
}

impl Default for QueueLimits {
    /// 128 KiB requests, 128 segments, 128 queued, 32 in flight.
    fn default() -> Self {
        QueueLimits {
            max_sectors: 256,
            max_segments: 128,
            nr_requests: 128,
            queue_depth: 32,
        }
    }
}

/// A request's id, unique per queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// How a bio joined a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeKind {
    /// Appended: the bio starts at the request's end.
    Back,
    /// Prepended: the bio ends at the request's start.
    Front,
}

/// A request: merged bios on contiguous sectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Its id.
    pub id: RequestId,
    /// Read, write or flush.
    pub op: Op,
    /// The first sector on the whole disk.
    pub sector: u64,
    /// Length in sectors.
    pub sectors: u64,
    /// The bios, in sector order.
    pub bios: Vec<Bio>,
    /// The partition its bios were submitted to.
    pub part: u32,
    /// When it was queued (ms of the caller's clock).
    pub queued_at: u64,
    /// How many times a restarted driver got it again.
    pub retries: u32,
}

impl Request {
    /// A request made of one bio (already remapped to the whole disk).
    pub fn from_bio(id: RequestId, bio: Bio, now: u64) -> Self {
        Request {
            id,
            op: bio.op,
            sector: bio.sector,
            sectors: bio.sectors(),
            part: bio.part,
            bios: alloc::vec![bio],
            queued_at: now,
            retries: 0,
        }
    }

    /// The end sector (exclusive).
    pub fn end(&self) -> u64 {
        self.sector.saturating_add(self.sectors)
    }

    fn segments(&self) -> usize {
        self.bios.iter().map(|b| b.segments.len()).sum()
    }

    /// How `bio` could join this request within `limits`, if it can.
    pub fn merge_kind(&self, bio: &Bio, limits: &QueueLimits) -> Option<MergeKind> {
        if self.op == Op::Flush || bio.op != self.op || bio.part != self.part {
            return None;
        }
        if self.sectors + bio.sectors() > limits.max_sectors
            || self.segments() + bio.segments.len() > limits.max_segments
        {
            return None;
        }
        if self.end() == bio.sector {
            Some(MergeKind::Back)
        } else if bio.sector.saturating_add(bio.sectors()) == self.sector {
            Some(MergeKind::Front)
        } else {
            None
        }
    }

    /// Joins `bio` the way [`Request::merge_kind`] said.
    pub fn merge(&mut self, bio: Bio, kind: MergeKind) {
        self.sectors += bio.sectors();
        match kind {
            MergeKind::Back => self.bios.push(bio),
            MergeKind::Front => {
                self.sector = bio.sector;
                self.bios.insert(0, bio);
            }
        }
    }
}
