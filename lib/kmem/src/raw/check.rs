//! `RawCache::check`: verifies, the slow way, every invariant `raw.rs`,
//! `slab.rs` and `magazine.rs` promise, against the owner map. O(slabs ×
//! objects); for tests and debugging, never on a fast path. Returns the
//! first broken invariant it finds.

use super::RawCache;
use crate::slab::{SlabState, NIL};
use crate::slabmap::{Owner, SlabMap};
use crate::source::PAGE_SIZE;

const STATES: [SlabState; 4] = [
    SlabState::Empty,
    SlabState::Partial,
    SlabState::Full,
    SlabState::Unused,
];

impl RawCache {
    pub fn check(&self, map: &SlabMap) -> Result<(), &'static str> {
        let slabs = self.slabs.as_slice();
        let mut active = 0;
        let mut listed = 0;
        for state in STATES {
            let mut prev = NIL;
            let mut count = 0;
            for id in self.lists.iter(slabs, state).take(slabs.len() + 1) {
                let slab = &slabs[id as usize];
                if slab.state != state || slab.prev != prev {
                    return Err("slab list links or states broken");
                }
                if state != SlabState::Unused {
                    self.check_slab(id, map)?;
                    active += slab.inuse as usize;
                }
                prev = id;
                count += 1;
            }
            if count != self.lists.len(state) {
                return Err("list length wrong");
            }
            listed += count;
        }
        if listed != slabs.len() {
            return Err("descriptor on no list");
        }
        if active != self.active_objs {
            return Err("active_objs differs from the slabs");
        }
        self.check_magazine()
    }

    /// One slab: bitmap against `inuse` and the free hint, its list, its
    /// pages in the map.
    fn check_slab(&self, id: u32, map: &SlabMap) -> Result<(), &'static str> {
        let g = &self.geometry;
        let slab = &self.slabs[id as usize];
        let (first, _) = self.state_bit(id, 0);
        let free_bits = &self.bitmap.as_slice()[first..][..g.words as usize];
        let cached_bits = &self.cached.as_slice()[first..][..g.words as usize];
        let free: u32 = free_bits.iter().map(|w| w.count_ones()).sum();
        let beyond_last = (0..g.words * 64).filter(|&i| i >= g.objects).any(|i| {
            (free_bits[i as usize / 64] | cached_bits[i as usize / 64]) & (1 << (i % 64)) != 0
        });
        if beyond_last || free + slab.inuse != g.objects {
            return Err("bitmap disagrees with inuse");
        }
        if free_bits[..slab.free_hint as usize].iter().any(|&w| w != 0) {
            return Err("free object before free_hint");
        }
        if g.state_for(slab.inuse) != slab.state {
            return Err("slab on the wrong list");
        }
        let owner = Some(Owner::Slab {
            cache: self.tag,
            slab: id,
        });
        if (0..g.pages_per_slab()).any(|page| map.get(slab.base + page * PAGE_SIZE) != owner) {
            return Err("slab page missing from the owner map");
        }
        Ok(())
    }

    /// The magazine's rounds are exactly the objects with a `cached` bit,
    /// and none of them is also free in its slab.
    fn check_magazine(&self) -> Result<(), &'static str> {
        let cached = self.cached.as_slice();
        let count: usize = cached.iter().map(|w| w.count_ones() as usize).sum();
        let overlap = cached
            .iter()
            .zip(self.bitmap.as_slice())
            .any(|(c, f)| c & f != 0);
        if overlap || count != self.magazine.len() {
            return Err("cached bits disagree with the magazine");
        }
        for round in self.magazine.rounds() {
            let slab = self
                .slabs
                .as_slice()
                .get(round.slab as usize)
                .ok_or("magazine round in no slab")?;
            let (word, bit) = self.state_bit(round.slab, round.index);
            if slab.state == SlabState::Unused
                || round.addr != slab.base + round.index as usize * self.geometry.size
                || cached[word] & bit == 0
            {
                return Err("magazine round not a cached object");
            }
        }
        Ok(())
    }
}
