//! The page cache (LKD chapter 16): file data in pages, per inode.
//!
//! Each inode's pages form its [`AddressSpace`] (Linux's
//! `struct address_space`: an index → page map, here a B-tree standing in
//! for the radix tree/XArray), kept by the [`PageCache`] under the inode's
//! key. Frames come from a [`PageProvider`] — a `Vec` on the host, frames
//! lent by the memory server in the system.
//!
//! Invariants:
//! - the counters (`Cached:`, `Dirty:`, `Writeback:`) always equal the
//!   pages in those states;
//! - a page is dirty or under writeback or clean, never dirty and under
//!   writeback at once (a write during writeback makes it dirty again
//!   once the writeback ends: [`PageCache::end_writeback`]);
//! - an inode is on the dirty list exactly while it has dirty pages,
//!   ordered by when it first became dirty (Linux's `b_dirty` and
//!   `dirtied_when`), so writeback takes the oldest first;
//! - an *unevictable* space (tmpfs: the cache is the only copy) is never
//!   dirty-accounted, written back or shrunk.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::types::PAGE_SIZE;

/// Names one frame the provider lent.
pub type FrameId = u64;

/// Where page frames come from.
pub trait PageProvider {
    /// A zero-filled frame, or `None` when none is left.
    fn alloc_page(&mut self) -> Option<FrameId>;
    fn free_page(&mut self, frame: FrameId);
    /// The frame's `PAGE_SIZE` bytes (an unknown frame gives an empty slice).
    fn page(&self, frame: FrameId) -> &[u8];
    fn page_mut(&mut self, frame: FrameId) -> &mut [u8];
    /// How many frames the provider can lend at most (for the dirty limits).
    fn total_pages(&self) -> u64;
    /// A page that file mappings map (it was [`PageCache::lend`]ed) is
    /// about to be freed: the mappings must go first (the memory server's
    /// `FileForget`). Returns whether a mapping had written it.
    fn forget(&mut self, _frame: FrameId) -> bool {
        false
    }
}

/// Frames from the heap, at most `limit` of them (host tests; the server
/// until the memory server lends frames).
pub struct VecPageProvider {
    frames: Vec<Option<Box<[u8]>>>,
    free: Vec<FrameId>,
    limit: usize,
    in_use: usize,
}

impl VecPageProvider {
    pub fn new(limit: usize) -> VecPageProvider {
        VecPageProvider {
            frames: Vec::new(),
            free: Vec::new(),
            limit,
            in_use: 0,
        }
    }
    pub fn in_use(&self) -> usize {
        self.in_use
    }
}

impl PageProvider for VecPageProvider {
    fn alloc_page(&mut self) -> Option<FrameId> {
        if self.in_use >= self.limit {
            return None;
        }
        self.in_use += 1;
        let page = vec![0u8; PAGE_SIZE].into_boxed_slice();
        match self.free.pop() {
            Some(id) => {
                self.frames[id as usize] = Some(page);
                Some(id)
            }
            None => {
                self.frames.push(Some(page));
                Some(self.frames.len() as u64 - 1)
            }
        }
    }
    fn free_page(&mut self, frame: FrameId) {
        if let Some(slot) = self.frames.get_mut(frame as usize) {
            if slot.take().is_some() {
                self.in_use -= 1;
                self.free.push(frame);
            }
        }
    }
    fn page(&self, frame: FrameId) -> &[u8] {
        match self.frames.get(frame as usize) {
            Some(Some(p)) => p,
            _ => &[],
        }
    }
    fn page_mut(&mut self, frame: FrameId) -> &mut [u8] {
        match self.frames.get_mut(frame as usize) {
            Some(Some(p)) => p,
            _ => &mut [],
        }
    }
    fn total_pages(&self) -> u64 {
        self.limit as u64
    }
}

#[derive(Clone, Copy, Debug)]
struct Page {
    frame: FrameId,
    dirty: bool,
    writeback: bool,
    /// The page's place on the LRU list (0 for unevictable spaces).
    lru: u64,
    /// Used since it was last put at the young end of the list (Linux's
    /// `PG_referenced`): a use sets the bit instead of moving the page,
    /// and the shrinker gives such a page a second chance.
    referenced: bool,
    /// File mappings map its frame ([`PageCache::lend`]): never shrunk;
    /// forgotten by the provider before it is freed.
    lent: bool,
}

/// One inode's cached pages.
#[derive(Debug, Default)]
pub struct AddressSpace {
    pages: BTreeMap<u64, Page>,
    unevictable: bool,
    /// When the first of its dirty pages became dirty (its key on the
    /// dirty list).
    dirtied_when: Option<(u64, u64)>,
    nr_dirty: u64,
}

/// The flusher's tunables (Linux's `vm.dirty_*`), in the caller's clock
/// units (centiseconds, as `dirty_expire_centisecs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WritebackConfig {
    /// A dirty inode older than this is written back by the periodic
    /// flush (3000 = 30 s).
    pub dirty_expire: u64,
    /// Background writeback starts above this percentage of the pages.
    pub dirty_background_ratio: u64,
    /// Writers are made to write back above this percentage.
    pub dirty_ratio: u64,
}

impl Default for WritebackConfig {
    fn default() -> Self {
        WritebackConfig {
            dirty_expire: 3000,
            dirty_background_ratio: 10,
            dirty_ratio: 20,
        }
    }
}

/// Why writeback runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WbReason {
    /// The periodic flush: only inodes dirty for longer than `dirty_expire`.
    Periodic,
    /// Over a dirty threshold, `sync`, `fsync`, `umount` or reclaim: any.
    All,
}

/// How dirty the cache is against the limits (ordered: `Below` <
/// `Background` < `Throttle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DirtyState {
    Below,
    /// Above `dirty_background_ratio`: the flusher should run.
    Background,
    /// Above `dirty_ratio`: writers should wait for writeback.
    Throttle,
}

/// The `/proc/meminfo` figures, in pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageCacheStats {
    pub cached: u64,
    pub dirty: u64,
    pub writeback: u64,
}

impl PageCacheStats {
    /// `(Cached, Dirty, Writeback)` in kB, as `/proc/meminfo` prints them.
    pub fn meminfo_kb(&self) -> (u64, u64, u64) {
        let kb = PAGE_SIZE as u64 / 1024;
        (self.cached * kb, self.dirty * kb, self.writeback * kb)
    }
}

/// Pages of one inode to write back, in index order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WritebackBatch<K> {
    pub key: K,
    pub indices: Vec<u64>,
}

/// Every address space, the LRU list and the dirty list.
pub struct PageCache<K: Ord + Copy> {
    provider: Box<dyn PageProvider>,
    spaces: BTreeMap<K, AddressSpace>,
    lru: BTreeMap<u64, (K, u64)>,
    dirty_inodes: BTreeMap<(u64, u64), K>,
    next_stamp: u64,
    stats: PageCacheStats,
    pub config: WritebackConfig,
}

impl<K: Ord + Copy> PageCache<K> {
    pub fn new(provider: Box<dyn PageProvider>) -> PageCache<K> {
        PageCache {
            provider,
            spaces: BTreeMap::new(),
            lru: BTreeMap::new(),
            dirty_inodes: BTreeMap::new(),
            next_stamp: 1,
            stats: PageCacheStats::default(),
            config: WritebackConfig::default(),
        }
    }

    pub fn stats(&self) -> PageCacheStats {
        self.stats
    }

    fn stamp(&mut self) -> u64 {
        self.next_stamp += 1;
        self.next_stamp
    }

    /// Makes sure `key` has an address space; `unevictable` for a space
    /// whose pages are the only copy.
    pub fn open_space(&mut self, key: K, unevictable: bool) {
        self.spaces.entry(key).or_insert_with(|| AddressSpace {
            unevictable,
            ..AddressSpace::default()
        });
    }

    pub fn nr_pages(&self, key: K) -> u64 {
        self.spaces.get(&key).map_or(0, |s| s.pages.len() as u64)
    }

    pub fn contains(&self, key: K, index: u64) -> bool {
        self.spaces
            .get(&key)
            .is_some_and(|s| s.pages.contains_key(&index))
    }

    /// The first cached page at or after `index` (for `SEEK_DATA`).
    pub fn next_page(&self, key: K, index: u64) -> Option<u64> {
        let space = self.spaces.get(&key)?;
        space.pages.range(index..).next().map(|(i, _)| *i)
    }

    /// Marks a use of the page (no list is changed: see `shrink`).
    fn touch(&mut self, key: K, index: u64) -> Option<FrameId> {
        let page = self.spaces.get_mut(&key)?.pages.get_mut(&index)?;
        page.referenced = true;
        Some(page.frame)
    }

    /// The bytes of a cached page (marks it recently used).
    pub fn read_page(&mut self, key: K, index: u64) -> Option<&[u8]> {
        let frame = self.touch(key, index)?;
        Some(self.provider.page(frame))
    }

    /// The bytes of a cached page to change (then call [`Self::set_dirty`]).
    pub fn page_mut(&mut self, key: K, index: u64) -> Option<&mut [u8]> {
        let frame = self.touch(key, index)?;
        Some(self.provider.page_mut(frame))
    }

    /// Brings page `index` of `key` into the cache, filled by `fill`
    /// (a file system's `readpage`), unless it is there already. When no
    /// frame is free it shrinks clean pages first; `ENOMEM` if none can be
    /// had, or what `fill` returned (the frame is then given back).
    pub fn add_page(
        &mut self,
        key: K,
        index: u64,
        fill: &mut dyn FnMut(&mut [u8]) -> Result<(), Errno>,
    ) -> Result<(), Errno> {
        if self.contains(key, index) {
            return Ok(());
        }
        let frame = match self.provider.alloc_page() {
            Some(f) => f,
            None => {
                self.shrink(1);
                self.provider.alloc_page().ok_or(Errno::ENOMEM)?
            }
        };
        if let Err(e) = fill(self.provider.page_mut(frame)) {
            self.provider.free_page(frame);
            return Err(e);
        }
        self.open_space(key, false);
        let stamp = self.stamp();
        let space = self.spaces.get_mut(&key).ok_or(Errno::EIO)?;
        let lru = if space.unevictable { 0 } else { stamp };
        space.pages.insert(
            index,
            Page {
                frame,
                dirty: false,
                writeback: false,
                lru,
                referenced: false,
                lent: false,
            },
        );
        if lru != 0 {
            self.lru.insert(lru, (key, index));
        }
        self.stats.cached += 1;
        Ok(())
    }

    /// Marks a cached page dirty at time `now` (no effect on an
    /// unevictable space or a page not cached).
    pub fn set_dirty(&mut self, key: K, index: u64, now: u64) {
        let stamp = self.stamp();
        let Some(space) = self.spaces.get_mut(&key) else {
            return;
        };
        if space.unevictable {
            return;
        }
        let Some(page) = space.pages.get_mut(&index) else {
            return;
        };
        if page.dirty {
            return;
        }
        page.dirty = true;
        space.nr_dirty += 1;
        self.stats.dirty += 1;
        if space.dirtied_when.is_none() {
            space.dirtied_when = Some((now, stamp));
            self.dirty_inodes.insert((now, stamp), key);
        }
    }

    pub fn is_dirty(&self, key: K, index: u64) -> bool {
        self.spaces
            .get(&key)
            .and_then(|s| s.pages.get(&index))
            .is_some_and(|p| p.dirty)
    }

    fn drop_page(&mut self, key: K, index: u64) {
        let Some(space) = self.spaces.get_mut(&key) else {
            return;
        };
        let Some(page) = space.pages.remove(&index) else {
            return;
        };
        if page.dirty {
            space.nr_dirty -= 1;
            self.stats.dirty -= 1;
            if space.nr_dirty == 0 {
                if let Some(when) = space.dirtied_when.take() {
                    self.dirty_inodes.remove(&when);
                }
            }
        }
        if page.writeback {
            self.stats.writeback -= 1;
        }
        if page.lru != 0 {
            self.lru.remove(&page.lru);
        }
        self.stats.cached -= 1;
        if page.lent {
            self.provider.forget(page.frame);
        }
        self.provider.free_page(page.frame);
    }

    /// The frame of a cached page, marked as mapped by files from now on
    /// (never shrunk; forgotten before it is freed): `None` if not cached.
    pub fn lend(&mut self, key: K, index: u64) -> Option<FrameId> {
        let page = self.spaces.get_mut(&key)?.pages.get_mut(&index)?;
        page.lent = true;
        Some(page.frame)
    }

    /// Whether file mappings map the page.
    pub fn is_lent(&self, key: K, index: u64) -> bool {
        self.spaces
            .get(&key)
            .and_then(|s| s.pages.get(&index))
            .is_some_and(|p| p.lent)
    }

    /// Drops the pages wholly past `size` and zeroes the tail of the page
    /// `size` ends in (`truncate_inode_pages` and the partial-page zeroing).
    pub fn truncate(&mut self, key: K, size: u64) {
        let first_gone = size.div_ceil(PAGE_SIZE as u64);
        let gone: Vec<u64> = match self.spaces.get(&key) {
            Some(s) => s.pages.range(first_gone..).map(|(i, _)| *i).collect(),
            None => return,
        };
        for index in gone {
            self.drop_page(key, index);
        }
        let tail = (size % PAGE_SIZE as u64) as usize;
        if tail != 0 {
            if let Some(page) = self.page_mut(key, size / PAGE_SIZE as u64) {
                page[tail..].fill(0);
            }
        }
    }

    /// Drops the whole address space (the inode is evicted).
    pub fn remove_space(&mut self, key: K) {
        self.truncate(key, 0);
        self.spaces.remove(&key);
    }

    /// The oldest dirty inode (for [`WbReason::Periodic`]: only if it has
    /// been dirty for `dirty_expire`), its dirty pages now under writeback,
    /// or `None` when there is nothing to write.
    pub fn start_writeback(&mut self, now: u64, reason: WbReason) -> Option<WritebackBatch<K>> {
        let (&when, &key) = self.dirty_inodes.iter().next()?;
        if reason == WbReason::Periodic && now < when.0.saturating_add(self.config.dirty_expire) {
            return None;
        }
        Some(self.writeback_inode(key).unwrap_or(WritebackBatch {
            key,
            indices: Vec::new(),
        }))
    }

    /// Puts every dirty page of `key` under writeback (for `fsync`), or
    /// `None` if it has none.
    pub fn writeback_inode(&mut self, key: K) -> Option<WritebackBatch<K>> {
        let space = self.spaces.get_mut(&key)?;
        let when = space.dirtied_when.take()?;
        self.dirty_inodes.remove(&when);
        let mut indices = Vec::new();
        for (index, page) in space.pages.iter_mut() {
            if page.dirty {
                page.dirty = false;
                page.writeback = true;
                indices.push(*index);
            }
        }
        space.nr_dirty = 0;
        let n = indices.len() as u64;
        self.stats.dirty -= n;
        self.stats.writeback += n;
        Some(WritebackBatch { key, indices })
    }

    /// The bytes of a page under writeback, for `writepage`.
    pub fn writeback_page(&self, key: K, index: u64) -> Option<&[u8]> {
        let page = self.spaces.get(&key)?.pages.get(&index)?;
        Some(self.provider.page(page.frame))
    }

    /// Ends the writeback of one page; a failed write leaves it dirty
    /// again (dirtied at `now`) to be retried.
    pub fn end_writeback(&mut self, key: K, index: u64, result: Result<(), Errno>, now: u64) {
        let Some(page) = self
            .spaces
            .get_mut(&key)
            .and_then(|s| s.pages.get_mut(&index))
        else {
            return;
        };
        if !page.writeback {
            return;
        }
        page.writeback = false;
        self.stats.writeback -= 1;
        if result.is_err() {
            self.set_dirty(key, index, now);
        }
    }

    /// Whether the periodic flush has work: the oldest dirty inode has
    /// been dirty for `dirty_expire`.
    pub fn has_expired(&self, now: u64) -> bool {
        self.dirty_inodes
            .keys()
            .next()
            .is_some_and(|w| now >= w.0.saturating_add(self.config.dirty_expire))
    }

    /// Dirty (and under-writeback) pages against the thresholds, as
    /// percentages of the provider's pages.
    pub fn dirty_state(&self) -> DirtyState {
        let total = self.provider.total_pages().max(1);
        let dirty = (self.stats.dirty + self.stats.writeback) * 100;
        if dirty > total * self.config.dirty_ratio {
            DirtyState::Throttle
        } else if dirty > total * self.config.dirty_background_ratio {
            DirtyState::Background
        } else {
            DirtyState::Below
        }
    }

    /// Frees up to `nr` clean pages, least recently used first (dirty and
    /// under-writeback pages are skipped: the flusher must write them
    /// first; so are pages file mappings map, which may be dirty through
    /// them). Returns how many were freed: the memory server's shrinker
    /// calls it.
    pub fn shrink(&mut self, nr: u64) -> u64 {
        // From the old end: a clean page not used since it was put at the
        // young end goes; a used one gets a second chance (its bit
        // cleared, moved to the young end), so pages go least recently
        // used first as a use moved them before, without a use costing
        // two list changes. A second pass meets the pages moved by the
        // first.
        let mut victims: Vec<(K, u64)> = Vec::new();
        // Stamps from here on are the pages the first pass moved.
        let mut from = 0;
        for _ in 0..2 {
            let mut second_chance = Vec::new();
            for (&stamp, &(key, index)) in self.lru.range(from..) {
                if victims.len() as u64 >= nr {
                    break;
                }
                let Some(p) = self.spaces.get(&key).and_then(|s| s.pages.get(&index)) else {
                    continue;
                };
                if p.dirty || p.writeback || p.lent {
                    continue;
                }
                if p.referenced {
                    second_chance.push((stamp, key, index));
                } else {
                    victims.push((key, index));
                }
            }
            from = self.next_stamp + 1;
            let moved = !second_chance.is_empty();
            for (old, key, index) in second_chance {
                let stamp = self.stamp();
                if let Some(p) = self
                    .spaces
                    .get_mut(&key)
                    .and_then(|s| s.pages.get_mut(&index))
                {
                    p.referenced = false;
                    p.lru = stamp;
                    self.lru.remove(&old);
                    self.lru.insert(stamp, (key, index));
                }
            }
            if victims.len() as u64 >= nr || !moved {
                break;
            }
        }
        for (key, index) in &victims {
            self.drop_page(*key, *index);
        }
        victims.len() as u64
    }
}
