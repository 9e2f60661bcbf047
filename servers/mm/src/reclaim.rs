//! Reclaim (LKD ch. 12 and 16; Linux's `mm/vmscan.c`): per-zone
//! watermarks and a registry of shrinkers.
//!
//! **Watermarks** are computed as Linux's `__setup_per_zone_wmarks` does,
//! from the pages each zone manages: `min_free_kbytes` is
//! `sqrt(16 × lowmem KiB)` clamped to [128 KiB, 256 MiB]; each zone's
//! `min` is its share of that by size; `low` and `high` add one and two
//! times the larger of `min / 4` and 0.1 % of the zone
//! (`watermark_scale_factor` = 10).
//!
//! **Shrinkers** (Linux's `struct shrinker`): a server that keeps memory
//! it could give back (a cache) registers with a notification bit and
//! keeps mm told how many pages it could free (`count_objects`, in pages
//! here). When free memory falls below `low`, [`plan`] decides whom to ask
//! for how much (`scan_objects`): mm signals their bits, each asks what it
//! should scan (`ShrinkerScan`), frees memory (`munmap`), and reports its
//! new count. The order: the cheapest to recreate first (lowest `seeks`,
//! Linux's `DEFAULT_SEEKS` = 2), then in registration order; each is asked
//! for at most what it says it can free, and asking stops once the pages
//! asked for would bring free memory back to `high`.
//!
//! Everything here is pure: the server signals, the core decides.

use alloc::vec::Vec;

use libsys::proto::mm::MmError;

use crate::machine::SpaceId;

/// Linux's `DEFAULT_SEEKS`: what recreating an object costs, relatively.
pub const DEFAULT_SEEKS: u32 = 2;
/// The most shrinkers registered at once, and per process.
pub const SHRINKERS_MAX: usize = 32;
pub const SHRINKERS_PER_PROCESS: usize = 4;
/// `watermark_scale_factor`, in ten-thousandths of a zone.
const WATERMARK_SCALE_FACTOR: u64 = 10;

/// A zone's watermarks, in pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Watermarks {
    pub min: u64,
    pub low: u64,
    pub high: u64,
}

/// Linux's `min_free_kbytes` for `lowmem_pages` pages:
/// `int_sqrt(lowmem_kbytes * 16)`, clamped to [128, 262144].
pub fn min_free_kbytes(lowmem_pages: u64) -> u64 {
    let kbytes = lowmem_pages.saturating_mul(4).saturating_mul(16);
    kbytes.isqrt().clamp(128, 262_144)
}

/// The watermarks of a zone managing `zone_pages` pages, of
/// `total_pages` in all zones.
pub fn watermarks(zone_pages: u64, total_pages: u64) -> Watermarks {
    if zone_pages == 0 || total_pages == 0 {
        return Watermarks::default();
    }
    let pages_min = min_free_kbytes(total_pages) / 4;
    let min = (u128::from(pages_min) * u128::from(zone_pages) / u128::from(total_pages)) as u64;
    let step = (min / 4).max(zone_pages * WATERMARK_SCALE_FACTOR / 10_000);
    Watermarks {
        min,
        low: min + step,
        high: min + 2 * step,
    }
}

/// A registered shrinker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shrinker {
    pub id: u32,
    pub owner: SpaceId,
    /// The notification bit mm signals to ask it.
    pub bit: u8,
    pub seeks: u32,
    /// Pages it says it could free now (its last `count_objects`).
    pub count: u64,
    /// Pages mm asked it for and it has not yet taken (`ShrinkerScan`).
    pub asked: u64,
}

/// The registry, in registration order.
#[derive(Clone, Debug, Default)]
pub struct Shrinkers {
    list: Vec<Shrinker>,
    next_id: u32,
    /// Pages shrinkers said they freed, in all.
    pub reclaimed: u64,
}

impl Shrinkers {
    /// Registers a shrinker of `owner` signalled on `bit`: its id.
    /// `InvalidArgument` for a bit above 63 or `seeks` 0; `OverLimit`
    /// past [`SHRINKERS_MAX`] or [`SHRINKERS_PER_PROCESS`].
    pub fn register(&mut self, owner: SpaceId, bit: u8, seeks: u32) -> Result<u32, MmError> {
        if bit > 63 || seeks == 0 {
            return Err(MmError::InvalidArgument);
        }
        let theirs = self.list.iter().filter(|s| s.owner == owner).count();
        if self.list.len() >= SHRINKERS_MAX || theirs >= SHRINKERS_PER_PROCESS {
            return Err(MmError::OverLimit);
        }
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.next_id;
        self.list.push(Shrinker {
            id,
            owner,
            bit,
            seeks,
            count: 0,
            asked: 0,
        });
        Ok(id)
    }

    fn find(&mut self, owner: SpaceId, id: u32) -> Result<&mut Shrinker, MmError> {
        self.list
            .iter_mut()
            .find(|s| s.id == id && s.owner == owner)
            .ok_or(MmError::NotMapped)
    }

    /// `owner`'s report: it freed `freed` pages and could free `count`
    /// more. `NotMapped` for a shrinker that is not `owner`'s.
    pub fn report(
        &mut self,
        owner: SpaceId,
        id: u32,
        count: u64,
        freed: u64,
    ) -> Result<(), MmError> {
        let shrinker = self.find(owner, id)?;
        shrinker.count = count;
        self.reclaimed = self.reclaimed.saturating_add(freed);
        Ok(())
    }

    /// What `owner`'s shrinker `id` should scan now (and no longer owes).
    pub fn take_scan(&mut self, owner: SpaceId, id: u32) -> Result<u64, MmError> {
        let shrinker = self.find(owner, id)?;
        Ok(core::mem::take(&mut shrinker.asked))
    }

    /// Forgets `owner`'s shrinkers (it exited), or one of them.
    pub fn unregister(&mut self, owner: SpaceId, id: Option<u32>) {
        self.list
            .retain(|s| s.owner != owner || id.is_some_and(|id| id != s.id));
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Shrinker> {
        self.list.iter()
    }

    /// Asks the shrinkers for memory as [`plan`] decides, given `free`
    /// pages and the watermarks: records what each is asked and returns
    /// those to signal (owner, bit).
    pub fn balance(&mut self, free: u64, marks: Watermarks) -> Vec<(SpaceId, u8)> {
        let asks = plan(free, marks, &self.list);
        let mut signal = Vec::new();
        for (index, pages) in asks {
            let shrinker = &mut self.list[index];
            shrinker.asked += pages;
            signal.push((shrinker.owner, shrinker.bit));
        }
        signal
    }
}

/// The reclaim policy: below `low`, whom to ask for how many pages
/// (index in `shrinkers`, pages), so that free memory would be back at
/// `high`. Pages already asked for and not yet taken count as coming.
/// Order: lowest `seeks` first, then registration order; each is asked
/// for at most its count less what it owes; stops when enough is asked.
pub fn plan(free: u64, marks: Watermarks, shrinkers: &[Shrinker]) -> Vec<(usize, u64)> {
    let mut asks = Vec::new();
    if free >= marks.low {
        return asks;
    }
    let coming: u64 = shrinkers.iter().map(|s| s.asked).sum();
    let mut wanted = marks.high.saturating_sub(free).saturating_sub(coming);
    let mut order: Vec<usize> = (0..shrinkers.len()).collect();
    order.sort_by_key(|&i| shrinkers[i].seeks);
    for i in order {
        if wanted == 0 {
            break;
        }
        let can = shrinkers[i].count.saturating_sub(shrinkers[i].asked);
        let ask = can.min(wanted);
        if ask > 0 {
            asks.push((i, ask));
            wanted -= ask;
        }
    }
    asks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermarks_follow_linux() {
        // 512 MiB in one zone: min_free_kbytes = sqrt(524288 * 16) = 2896.
        assert_eq!(min_free_kbytes(131_072), 2896);
        let w = watermarks(131_072, 131_072);
        assert_eq!(w.min, 724);
        // max(724 / 4, 131072 * 10 / 10000 = 131) = 181.
        assert_eq!((w.low, w.high), (905, 1086));
        // Clamped below: a tiny machine still keeps 128 KiB.
        assert_eq!(min_free_kbytes(16), 128);
        assert_eq!(min_free_kbytes(u64::MAX), 262_144);
        // A zone's share by size.
        let small = watermarks(4096, 131_072);
        assert_eq!(small.min, 724 * 4096 / 131_072);
        assert_eq!(watermarks(0, 100), Watermarks::default());
    }
}
