//! Dentries and the dentry cache (LKD 13, "The Dentry Object" and "The
//! Dentry Cache").
//!
//! A [`Dentry`] is one component of a path: a name in a parent directory
//! and the inode it names — or none (a *negative* dentry, remembering that
//! the name does not exist so the next lookup need not ask the file
//! system). Dentries live in a table of slots and are found by a hash of
//! (parent, name) in buckets, as Linux's `dentry_hashtable`.
//!
//! Invariants:
//! - a dentry's reference count is its users (open files, working
//!   directories, mounts) plus its children: a parent outlives its children;
//! - a dentry with no references is *unused* and sits on the LRU list,
//!   from which [`Dcache::shrink`] frees the oldest; an unhashed dentry
//!   (its name was removed while in use) is freed as soon as it is unused;
//! - a positive dentry holds one reference on its inode; what frees one
//!   returns that inode's key for the caller to release (`iput`).

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use crate::types::{Ino, InodeKey, SbId};

pub type DentryId = u32;

/// Hash buckets (Linux sizes its table by memory; 1024 chains here).
const D_HASH_BUCKETS: usize = 1024;
/// Linux's `dentry-state` age limit, reported as is.
const AGE_LIMIT: u64 = 45;

#[derive(Clone, Debug)]
pub struct Dentry {
    /// The parent (the root of a superblock is its own parent).
    pub parent: DentryId,
    pub name: Vec<u8>,
    pub sb: SbId,
    /// The inode named, `None` for a negative dentry.
    pub inode: Option<Ino>,
    /// How many file systems are mounted on it.
    pub mounted: u32,
    refs: u32,
    hashed: bool,
    /// Its place on the LRU list (0: not on it).
    lru: u64,
}

impl Dentry {
    pub fn key(&self) -> Option<InodeKey> {
        self.inode.map(|ino| (self.sb, ino))
    }
    pub fn is_hashed(&self) -> bool {
        self.hashed
    }
    pub fn refs(&self) -> u32 {
        self.refs
    }
}

/// `/proc/sys/fs/dentry-state`: nr_dentry, nr_unused, age_limit,
/// want_pages, nr_negative, dummy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DentryState {
    pub nr_dentry: u64,
    pub nr_unused: u64,
    pub age_limit: u64,
    pub want_pages: u64,
    pub nr_negative: u64,
    pub dummy: u64,
}

/// Lookup figures, for tests and statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DcacheStats {
    pub hits: u64,
    pub misses: u64,
}

pub struct Dcache {
    slots: Vec<Option<Dentry>>,
    free: Vec<DentryId>,
    buckets: Vec<Vec<DentryId>>,
    lru: BTreeMap<u64, DentryId>,
    next_stamp: u64,
    nr_dentry: u64,
    nr_negative: u64,
    pub stats: DcacheStats,
}

impl Default for Dcache {
    fn default() -> Self {
        Self::new()
    }
}

fn name_hash(parent: DentryId, name: &[u8]) -> usize {
    // FNV-1a over the name, mixed with the parent as Linux mixes the
    // parent's address into `d_hash`.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ (parent as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &b in name {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h ^ (h >> 29)) as usize % D_HASH_BUCKETS
}

impl Dcache {
    pub fn new() -> Dcache {
        Dcache {
            slots: Vec::new(),
            free: Vec::new(),
            buckets: vec![Vec::new(); D_HASH_BUCKETS],
            lru: BTreeMap::new(),
            next_stamp: 1,
            nr_dentry: 0,
            nr_negative: 0,
            stats: DcacheStats::default(),
        }
    }

    /// The dentry `d` (callers hold ids only of live dentries).
    pub fn get(&self, d: DentryId) -> &Dentry {
        self.slots[d as usize].as_ref().expect("live dentry")
    }
    fn get_mut(&mut self, d: DentryId) -> &mut Dentry {
        self.slots[d as usize].as_mut().expect("live dentry")
    }
    pub fn is_live(&self, d: DentryId) -> bool {
        matches!(self.slots.get(d as usize), Some(Some(_)))
    }

    pub fn state(&self) -> DentryState {
        DentryState {
            nr_dentry: self.nr_dentry,
            nr_unused: self.lru.len() as u64,
            age_limit: AGE_LIMIT,
            want_pages: 0,
            nr_negative: self.nr_negative,
            dummy: 0,
        }
    }

    /// The hashed child `name` of `parent`, if cached (`d_lookup`).
    pub fn lookup(&mut self, parent: DentryId, name: &[u8]) -> Option<DentryId> {
        let bucket = &self.buckets[name_hash(parent, name)];
        let found = bucket.iter().copied().find(|&d| {
            let e = self.get(d);
            e.parent == parent && e.name == name && e.hashed
        });
        match found {
            Some(d) => {
                self.stats.hits += 1;
                self.touch(d);
                Some(d)
            }
            None => {
                self.stats.misses += 1;
                None
            }
        }
    }

    fn touch(&mut self, d: DentryId) {
        let stamp = self.next_stamp;
        let e = self.get_mut(d);
        if e.lru != 0 {
            let old = e.lru;
            e.lru = stamp;
            self.lru.remove(&old);
            self.lru.insert(stamp, d);
            self.next_stamp += 1;
        }
    }

    fn insert_slot(&mut self, dentry: Dentry) -> DentryId {
        self.nr_dentry += 1;
        if dentry.inode.is_none() {
            self.nr_negative += 1;
        }
        match self.free.pop() {
            Some(d) => {
                self.slots[d as usize] = Some(dentry);
                d
            }
            None => {
                self.slots.push(Some(dentry));
                (self.slots.len() - 1) as DentryId
            }
        }
    }

    /// A superblock's root dentry, with one reference (the superblock's).
    pub fn alloc_root(&mut self, sb: SbId, ino: Ino) -> DentryId {
        let d = self.insert_slot(Dentry {
            parent: 0,
            name: Vec::new(),
            sb,
            inode: Some(ino),
            mounted: 0,
            refs: 1,
            hashed: false,
            lru: 0,
        });
        self.get_mut(d).parent = d;
        d
    }

    /// A new hashed, unused child (`d_alloc` + `d_add`); the caller has
    /// taken the inode reference a positive dentry holds.
    pub fn alloc(&mut self, parent: DentryId, name: &[u8], inode: Option<Ino>) -> DentryId {
        let sb = self.get(parent).sb;
        self.get_mut(parent).refs += 1;
        self.unlru(parent);
        let d = self.insert_slot(Dentry {
            parent,
            name: name.to_vec(),
            sb,
            inode,
            mounted: 0,
            refs: 0,
            hashed: true,
            lru: 0,
        });
        self.buckets[name_hash(parent, name)].push(d);
        self.enlru(d);
        d
    }

    fn enlru(&mut self, d: DentryId) {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.get_mut(d).lru = stamp;
        self.lru.insert(stamp, d);
    }

    fn unlru(&mut self, d: DentryId) {
        let e = self.get_mut(d);
        if e.lru != 0 {
            let old = e.lru;
            e.lru = 0;
            self.lru.remove(&old);
        }
    }

    /// Takes a reference (`dget`).
    pub fn dget(&mut self, d: DentryId) {
        self.get_mut(d).refs += 1;
        self.unlru(d);
    }

    /// Drops a reference (`dput`); returns the inodes whose references
    /// were released by dentries this freed.
    pub fn dput(&mut self, d: DentryId) -> Vec<InodeKey> {
        let mut released = Vec::new();
        let mut cur = d;
        loop {
            let e = self.get_mut(cur);
            e.refs = e.refs.saturating_sub(1);
            if e.refs > 0 {
                break;
            }
            if e.hashed {
                self.enlru(cur);
                break;
            }
            if e.parent == cur {
                // A superblock root: freed when its superblock goes.
                self.free_slot(cur, &mut released);
                break;
            }
            let parent = e.parent;
            self.free_slot(cur, &mut released);
            cur = parent;
        }
        released
    }

    fn unhash_only(&mut self, d: DentryId) {
        let e = self.get(d);
        if !e.hashed {
            return;
        }
        let bucket = name_hash(e.parent, &e.name);
        self.buckets[bucket].retain(|&x| x != d);
        self.get_mut(d).hashed = false;
    }

    fn free_slot(&mut self, d: DentryId, released: &mut Vec<InodeKey>) {
        self.unhash_only(d);
        self.unlru(d);
        let Some(e) = self.slots[d as usize].take() else {
            return;
        };
        self.nr_dentry -= 1;
        match e.key() {
            Some(key) => released.push(key),
            None => self.nr_negative -= 1,
        }
        self.free.push(d);
    }

    /// A negative dentry now names `ino` (`d_instantiate`); the caller
    /// has taken the inode reference.
    pub fn instantiate(&mut self, d: DentryId, ino: Ino) {
        let e = self.get_mut(d);
        if e.inode.is_none() {
            e.inode = Some(ino);
            self.nr_negative -= 1;
        }
    }

    /// The name was removed (`d_delete`): an unused dentry turns negative
    /// (its inode reference is returned); one in use is unhashed and
    /// freed when its last user goes.
    pub fn delete(&mut self, d: DentryId) -> Option<InodeKey> {
        if self.get(d).refs == 0 {
            let e = self.get_mut(d);
            let key = e.key();
            if e.inode.take().is_some() {
                self.nr_negative += 1;
            }
            key
        } else {
            self.unhash_only(d);
            None
        }
    }

    /// Removes `d` from the hash so lookups no longer find it (`d_drop`):
    /// freed when unused (an unused one is freed now).
    pub fn drop_name(&mut self, d: DentryId) -> Vec<InodeKey> {
        self.unhash_only(d);
        if self.get(d).refs == 0 {
            self.get_mut(d).refs = 1;
            return self.dput(d);
        }
        Vec::new()
    }

    /// Moves `d` to `name` in `new_parent` (`d_move`); returns inodes
    /// released if the old parent was freed.
    pub fn d_move(&mut self, d: DentryId, new_parent: DentryId, name: &[u8]) -> Vec<InodeKey> {
        let was_hashed = self.get(d).hashed;
        self.unhash_only(d);
        let old_parent = self.get(d).parent;
        self.get_mut(new_parent).refs += 1;
        self.unlru(new_parent);
        let e = self.get_mut(d);
        e.parent = new_parent;
        e.name = name.to_vec();
        if was_hashed {
            e.hashed = true;
            self.buckets[name_hash(new_parent, name)].push(d);
        }
        self.dput(old_parent)
    }

    /// Frees up to `nr` unused dentries, least recently used first
    /// (`prune_dcache_sb`); a parent left unused joins the list. Returns
    /// the inode references released.
    pub fn shrink(&mut self, nr: u64) -> Vec<InodeKey> {
        self.shrink_where(nr, None)
    }

    /// Frees every unused dentry of superblock `sb` (before an unmount).
    pub fn shrink_sb(&mut self, sb: SbId) -> Vec<InodeKey> {
        self.shrink_where(u64::MAX, Some(sb))
    }

    fn shrink_where(&mut self, nr: u64, sb: Option<SbId>) -> Vec<InodeKey> {
        let mut released = Vec::new();
        let mut freed = 0;
        while freed < nr {
            let victim = self
                .lru
                .values()
                .copied()
                .find(|&d| sb.is_none_or(|s| self.get(d).sb == s));
            let Some(d) = victim else { break };
            let parent = self.get(d).parent;
            self.free_slot(d, &mut released);
            freed += 1;
            if parent != d {
                released.extend(self.dput(parent));
            }
        }
        released
    }

    /// The names from the root of `d`'s superblock down to `d`.
    pub fn components(&self, mut d: DentryId) -> Vec<&[u8]> {
        let mut names = Vec::new();
        while self.get(d).parent != d {
            names.push(self.get(d).name.as_slice());
            d = self.get(d).parent;
        }
        names.reverse();
        names
    }

    /// Whether `d` is `ancestor` or below it.
    pub fn is_subdir(&self, mut d: DentryId, ancestor: DentryId) -> bool {
        loop {
            if d == ancestor {
                return true;
            }
            let parent = self.get(d).parent;
            if parent == d {
                return false;
            }
            d = parent;
        }
    }
}

impl Dcache {
    /// Counts a mount on `d` (or one fewer).
    pub fn set_mounted(&mut self, d: DentryId, up: bool) {
        let e = self.get_mut(d);
        e.mounted = if up {
            e.mounted + 1
        } else {
            e.mounted.saturating_sub(1)
        };
    }
}
