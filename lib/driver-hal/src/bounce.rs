//! A bounce pool: DMA memory through which a buffer the driver did not
//! allocate reaches the device (Linux's swiotlb, on a small scale). `mm`
//! gives no physical address for ordinary memory — a heap buffer is not
//! contiguous, not pinned and may be above a device's limit — so
//! `share` copies the data into a run of the pool's pages (for a device
//! that reads it) and gives the run's physical address; `unshare` copies
//! what the device wrote back out (for a buffer it writes) and frees the
//! run.
//!
//! [`BounceSlots`] is the accounting — which pages are lent, under which
//! physical address, how many at most — pure and host-tested;
//! [`BouncePool`] (target only) is the same over a [`crate::dma::DmaBuffer`].
//! A run is found first-fit; a share that finds no run is refused
//! (`Exhausted`), never waited for, and counted.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

/// The pool's page size.
pub const PAGE: u64 = 4096;

/// Why a share or unshare was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BounceError {
    /// Zero bytes, or more than the whole pool.
    BadLength,
    /// No free run of pages long enough now.
    Exhausted,
    /// Not the address of a live share.
    NotShared,
}

/// Counters of a pool, for a driver's stats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BounceStats {
    /// Pages lent now.
    pub in_use: u64,
    /// The most ever lent at once.
    pub high_water: u64,
    /// Shares made, and refused for want of room.
    pub shares: u64,
    pub exhausted: u64,
}

/// Which of `pages` pages are lent, by run.
#[derive(Debug)]
pub struct BounceSlots {
    used: Vec<bool>,
    /// Live runs: first page → (pages, bytes).
    runs: BTreeMap<u64, (u64, u64)>,
    stats: BounceStats,
}

impl BounceSlots {
    pub fn new(pages: u64) -> BounceSlots {
        BounceSlots {
            used: vec![false; pages as usize],
            runs: BTreeMap::new(),
            stats: BounceStats::default(),
        }
    }

    /// Pages in the pool.
    pub fn pages(&self) -> u64 {
        self.used.len() as u64
    }

    pub fn stats(&self) -> BounceStats {
        self.stats
    }

    /// Lends a run for `bytes`: its first page.
    pub fn take(&mut self, bytes: u64) -> Result<u64, BounceError> {
        let want = bytes.div_ceil(PAGE);
        if bytes == 0 || want > self.pages() {
            return Err(BounceError::BadLength);
        }
        let mut start = 0u64;
        let mut free = 0u64;
        for (i, &used) in self.used.iter().enumerate() {
            if used {
                free = 0;
                start = i as u64 + 1;
                continue;
            }
            free += 1;
            if free == want {
                for page in &mut self.used[start as usize..(start + want) as usize] {
                    *page = true;
                }
                self.runs.insert(start, (want, bytes));
                self.stats.in_use += want;
                self.stats.high_water = self.stats.high_water.max(self.stats.in_use);
                self.stats.shares += 1;
                return Ok(start);
            }
        }
        self.stats.exhausted += 1;
        Err(BounceError::Exhausted)
    }

    /// The bytes lent under the run starting at page `first`.
    pub fn bytes(&self, first: u64) -> Result<u64, BounceError> {
        self.runs
            .get(&first)
            .map(|&(_, bytes)| bytes)
            .ok_or(BounceError::NotShared)
    }

    /// Gives the run starting at page `first` back.
    pub fn give_back(&mut self, first: u64) -> Result<(), BounceError> {
        let (pages, _) = self.runs.remove(&first).ok_or(BounceError::NotShared)?;
        for page in &mut self.used[first as usize..(first + pages) as usize] {
            *page = false;
        }
        self.stats.in_use -= pages;
        Ok(())
    }

    /// The first page of the run holding physical address `phys`, for a
    /// pool whose page 0 is at `base`: only a run's own start counts.
    pub fn run_at(&self, base: u64, phys: u64) -> Result<u64, BounceError> {
        let offset = phys.checked_sub(base).ok_or(BounceError::NotShared)?;
        if !offset.is_multiple_of(PAGE) || !self.runs.contains_key(&(offset / PAGE)) {
            return Err(BounceError::NotShared);
        }
        Ok(offset / PAGE)
    }
}

/// The accounting over real DMA memory.
#[cfg(target_os = "none")]
#[derive(Debug)]
pub struct BouncePool {
    memory: crate::dma::DmaBuffer,
    slots: BounceSlots,
}

/// Which way a shared buffer's data goes (the `virtio-drivers` crate's
/// `BufferDirection`, without depending on it here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The device reads it: copied in at share.
    ToDevice,
    /// The device writes it: copied out at unshare.
    FromDevice,
    /// Both.
    Both,
}

#[cfg(target_os = "none")]
impl BouncePool {
    /// A pool of `pages` pages of DMA memory below `limit`: the errors of
    /// `mm::dma_alloc_coherent`.
    pub fn new(pages: u64, limit: u64) -> Result<BouncePool, libsys::mm::Error> {
        Ok(BouncePool {
            memory: crate::dma::DmaBuffer::alloc(pages, limit)?,
            slots: BounceSlots::new(pages),
        })
    }

    pub fn stats(&self) -> BounceStats {
        self.slots.stats()
    }

    /// Lends a run for `data` (copied in if the device reads it) and
    /// returns the physical address the device is given.
    pub fn share(&mut self, data: &[u8], direction: Direction) -> Result<u64, BounceError> {
        let first = self.slots.take(data.len() as u64)?;
        let offset = first * PAGE;
        if direction != Direction::FromDevice {
            // Inside: the run is inside the pool (`take` checked its size).
            let _ = self.memory.copy_in(offset, data);
        }
        Ok(self.memory.phys() + offset)
    }

    /// Ends the share at `phys`: what the device wrote is copied into
    /// `out` (if it writes), and the run freed. `NotShared` for an address
    /// no share gave.
    pub fn unshare(
        &mut self,
        phys: u64,
        out: &mut [u8],
        direction: Direction,
    ) -> Result<(), BounceError> {
        let first = self.slots.run_at(self.memory.phys(), phys)?;
        let bytes = self.slots.bytes(first)?;
        if direction != Direction::ToDevice {
            let n = (out.len() as u64).min(bytes) as usize;
            let _ = self.memory.copy_out(first * PAGE, &mut out[..n]);
        }
        self.slots.give_back(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_first_fit_and_counted() {
        let mut s = BounceSlots::new(8);
        assert_eq!(s.take(1), Ok(0));
        assert_eq!(s.take(PAGE + 1), Ok(1), "two pages");
        assert_eq!(s.take(3 * PAGE), Ok(3));
        assert_eq!(s.stats().in_use, 6);
        assert_eq!(s.bytes(1), Ok(PAGE + 1));
        s.give_back(1).unwrap();
        assert_eq!(s.take(PAGE), Ok(1), "the hole is reused");
        assert_eq!(s.take(2 * PAGE), Ok(6));
        let stats = s.stats();
        assert_eq!((stats.in_use, stats.high_water, stats.shares), (7, 7, 5));
    }

    #[test]
    fn exhaustion_and_bad_lengths_are_refused_and_nothing_leaks() {
        let mut s = BounceSlots::new(4);
        assert_eq!(s.take(0), Err(BounceError::BadLength));
        assert_eq!(s.take(5 * PAGE), Err(BounceError::BadLength));
        let a = s.take(2 * PAGE).unwrap();
        let b = s.take(PAGE).unwrap();
        assert_eq!(s.take(2 * PAGE), Err(BounceError::Exhausted));
        assert_eq!(s.stats().exhausted, 1);
        s.give_back(a).unwrap();
        // Two free pages, but not next to each other's end: 0,1 free, 2
        // used, 3 free — a run of two fits at 0.
        assert_eq!(s.take(2 * PAGE), Ok(0));
        s.give_back(0).unwrap();
        s.give_back(b).unwrap();
        assert_eq!(s.stats().in_use, 0);
        assert_eq!(s.take(4 * PAGE), Ok(0), "the whole pool again");
    }

    #[test]
    fn unknown_and_repeated_give_backs_are_refused() {
        let mut s = BounceSlots::new(4);
        let a = s.take(PAGE).unwrap();
        assert_eq!(s.give_back(3), Err(BounceError::NotShared));
        s.give_back(a).unwrap();
        assert_eq!(s.give_back(a), Err(BounceError::NotShared), "twice");
        assert_eq!(s.stats().in_use, 0);
    }

    #[test]
    fn only_a_runs_own_start_is_an_address_of_it() {
        let mut s = BounceSlots::new(4);
        let base = 0x10_0000;
        let first = s.take(2 * PAGE).unwrap();
        assert_eq!(s.run_at(base, base + first * PAGE), Ok(first));
        assert_eq!(
            s.run_at(base, base + PAGE),
            Err(BounceError::NotShared),
            "inside"
        );
        assert_eq!(s.run_at(base, base + 8), Err(BounceError::NotShared));
        assert_eq!(s.run_at(base, base - PAGE), Err(BounceError::NotShared));
    }
}
