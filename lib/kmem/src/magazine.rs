//! The magazine: a small per-cache stack of recently freed objects that
//! `alloc` takes from first (Bonwick's magazine layer; Linux SLAB's
//! per-CPU `array_cache`, whose `limit` and `batchcount` are the
//! "tunables" columns of `/proc/slabinfo`). One per cache: the servers are
//! single-threaded, and the `SlabAllocator` lock covers the rest.
//!
//! Why: with it, the common free-then-alloc pattern touches no slab list
//! and no slab counter; an object goes onto the stack when freed and comes
//! back, still warm in the CPU cache, at the next allocation.
//!
//! Invariants:
//! - `len <= limit <= MAGAZINE_CAPACITY`, `1 <= batch <= limit` unless
//!   `limit == 0` (no magazine);
//! - rounds `0..len` are objects that were freed and not handed out again,
//!   oldest first, each recorded with its slab and index so that taking it
//!   back needs no lookup. (Their state bits are the cache's business, see
//!   `raw.rs`.)

use crate::error::TuneError;

/// Most objects a magazine can hold.
pub const MAGAZINE_CAPACITY: usize = 32;

/// One object in the magazine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Round {
    pub addr: usize,
    pub slab: u32,
    pub index: u32,
}

const NO_ROUND: Round = Round {
    addr: 0,
    slab: 0,
    index: 0,
};

pub(crate) struct Magazine {
    rounds: [Round; MAGAZINE_CAPACITY],
    len: u32,
    limit: u32,
    batch: u32,
}

impl Magazine {
    /// A magazine sized for objects of `size` bytes: fewer rounds for
    /// larger objects (as Linux's `enable_cpucache()` scales `limit`), so a
    /// magazine never holds much more than 16 KiB; it flushes half when full.
    pub const fn for_size(size: usize) -> Magazine {
        let limit = if size > 4096 {
            2
        } else if size > 1024 {
            4
        } else if size > 256 {
            16
        } else {
            MAGAZINE_CAPACITY as u32
        };
        Magazine {
            rounds: [NO_ROUND; MAGAZINE_CAPACITY],
            len: 0,
            limit,
            batch: limit / 2,
        }
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    pub fn batch(&self) -> u32 {
        self.batch
    }

    /// Whether `limit` and `batch` are a valid setting:
    /// `limit <= MAGAZINE_CAPACITY` and `1 <= batch <= limit`, or both 0
    /// for no magazine.
    pub const fn check_tunables(limit: u32, batch: u32) -> Result<(), TuneError> {
        if limit as usize > MAGAZINE_CAPACITY {
            Err(TuneError::LimitTooLarge)
        } else if (limit == 0 && batch == 0) || (1 <= batch && batch <= limit) {
            Ok(())
        } else {
            Err(TuneError::BadBatch)
        }
    }

    /// Sets the limit and batch if they are valid and the magazine is
    /// empty (the caller drained it); otherwise changes nothing.
    pub fn tune(&mut self, limit: u32, batch: u32) -> Result<(), TuneError> {
        Self::check_tunables(limit, batch)?;
        if self.len == 0 {
            self.limit = limit;
            self.batch = batch;
        }
        Ok(())
    }

    /// Whether a free can go in: the magazine exists and is not full.
    #[inline]
    pub fn has_room(&self) -> bool {
        self.len < self.limit
    }

    /// Pushes a freed object; the caller checked `has_room`.
    #[inline]
    pub fn push(&mut self, round: Round) {
        if let Some(slot) = self.rounds.get_mut(self.len as usize) {
            *slot = round;
            self.len += 1;
        }
    }

    /// The most recently freed object.
    #[inline]
    pub fn pop(&mut self) -> Option<Round> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        Some(self.rounds[self.len as usize])
    }

    /// Forgets the `n` oldest rounds (all if fewer), which the caller has
    /// dealt with.
    pub fn discard_oldest(&mut self, n: usize) {
        let n = n.min(self.len as usize);
        self.rounds.copy_within(n..self.len as usize, 0);
        self.len -= n as u32;
    }

    /// The rounds held, oldest first.
    pub fn rounds(&self) -> &[Round] {
        &self.rounds[..self.len as usize]
    }
}
