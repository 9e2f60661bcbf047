//! The page-to-owner map: for every page the slab layer got from its source,
//! who owns it. It plays the part of Linux's `virt_to_page(obj)->slab_cache`
//! (the `struct page` of a slab page names its cache), which a user-space
//! allocator does not have.
//!
//! `kmem_cache_free` and `kfree` look an object's page up here before they
//! touch anything, so a pointer the allocator never handed out is found
//! out without being dereferenced.
//!
//! It is an open-addressing hash table with linear probing (Fibonacci
//! hashing of the page number) and backward-shift deletion, in memory from
//! the page source. Invariants:
//! - the table length is 0 or a power of two; an entry with `page == 0` is
//!   empty (page 0 is never a slab: `NonNull` blocks are non-zero and
//!   page-aligned);
//! - at most half the slots are used, so every probe ends at an empty slot;
//! - every entry is reachable from its home slot without crossing an empty
//!   slot (kept by backward-shift deletion).

use crate::pagevec::{NoMemory, PageVec};
use crate::source::{PageSource, PAGE_SHIFT, PAGE_SIZE};

/// Tag bits of an owner word: which cache, or `LARGE_TAG`.
const TAG_SHIFT: u32 = 27;
const LARGE_TAG: u32 = 31;

/// Who owns a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// A page of slab `slab` of cache number `cache` (0 for a lone
    /// `KmemCache`, the size-class index for kmalloc's caches).
    Slab { cache: u32, slab: u32 },
    /// The first page of a large kmalloc block of 2^order pages.
    Large { order: u32 },
}

/// Most slabs one cache may have: the slab index must fit beside the tag.
pub(crate) const MAX_SLABS: usize = 1 << TAG_SHIFT;

impl Owner {
    fn encode(self) -> u32 {
        match self {
            Owner::Slab { cache, slab } => (cache << TAG_SHIFT) | slab,
            Owner::Large { order } => (LARGE_TAG << TAG_SHIFT) | order,
        }
    }

    fn decode(word: u32) -> Owner {
        let (tag, rest) = (word >> TAG_SHIFT, word & ((1 << TAG_SHIFT) - 1));
        if tag == LARGE_TAG {
            Owner::Large { order: rest }
        } else {
            Owner::Slab {
                cache: tag,
                slab: rest,
            }
        }
    }
}

#[derive(Clone, Copy)]
struct Entry {
    page: usize,
    owner: u32,
}

const EMPTY: Entry = Entry { page: 0, owner: 0 };

pub(crate) struct SlabMap {
    table: PageVec<Entry>,
    used: usize,
}

impl SlabMap {
    pub const fn new() -> Self {
        SlabMap {
            table: PageVec::new(),
            used: 0,
        }
    }

    /// The owner of the page holding byte address `addr`.
    #[inline]
    pub fn get(&self, addr: usize) -> Option<Owner> {
        let page = addr & !(PAGE_SIZE - 1);
        let table = self.table.as_slice();
        if table.is_empty() {
            return None;
        }
        let mask = table.len() - 1;
        let mut slot = home(page, table.len());
        loop {
            let entry = table[slot];
            if entry.page == page {
                return Some(Owner::decode(entry.owner));
            }
            if entry.page == 0 {
                return None;
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Makes room for `additional` more pages, rebuilding the table twice
    /// as large if needed. On failure nothing has changed.
    ///
    /// # Safety
    ///
    /// `src` is the source this map always used.
    pub unsafe fn reserve<P: PageSource + ?Sized>(
        &mut self,
        src: &mut P,
        additional: usize,
    ) -> Result<(), NoMemory> {
        let needed = self.used.checked_add(additional).ok_or(NoMemory)?;
        if needed * 2 <= self.table.len() {
            return Ok(());
        }
        let mut bigger = PageVec::new();
        // SAFETY: `bigger` is new; its block comes from `src`, like ours.
        unsafe { bigger.reserve(src, (needed * 2).max(self.table.len() * 2))? };
        bigger.fill_to_capacity(EMPTY);
        debug_assert!(bigger.len().is_power_of_two());
        let mut old = core::mem::replace(&mut self.table, bigger);
        for entry in old.as_slice().iter().filter(|entry| entry.page != 0) {
            self.place(*entry);
        }
        // SAFETY: the old table's block came from `src` (caller's promise).
        unsafe { old.release(src) };
        Ok(())
    }

    /// Records `owner` for the page at `page` (page-aligned, not yet in
    /// the map); the caller reserved room.
    pub fn insert(&mut self, page: usize, owner: Owner) {
        debug_assert!(page != 0 && page.is_multiple_of(PAGE_SIZE) && self.get(page).is_none());
        debug_assert!((self.used + 1) * 2 <= self.table.len());
        self.place(Entry {
            page,
            owner: owner.encode(),
        });
        self.used += 1;
    }

    /// Forgets the page at `page`; returns its owner if it was there.
    pub fn remove(&mut self, page: usize) -> Option<Owner> {
        let table = self.table.as_mut_slice();
        if table.is_empty() {
            return None;
        }
        let mask = table.len() - 1;
        let mut hole = home(page, table.len());
        while table[hole].page != page {
            if table[hole].page == 0 {
                return None;
            }
            hole = (hole + 1) & mask;
        }
        let owner = Owner::decode(table[hole].owner);
        // Backward shift: pull later entries of the run into the hole
        // unless that would move one before its home slot.
        let mut next = (hole + 1) & mask;
        while table[next].page != 0 {
            let home_of_next = home(table[next].page, table.len());
            if (next.wrapping_sub(home_of_next) & mask) >= (next.wrapping_sub(hole) & mask) {
                table[hole] = table[next];
                hole = next;
            }
            next = (next + 1) & mask;
        }
        table[hole] = EMPTY;
        self.used -= 1;
        Some(owner)
    }

    /// Pages in the map.
    pub fn len(&self) -> usize {
        self.used
    }

    /// Gives the table back to the source; the map is empty afterwards.
    ///
    /// # Safety
    ///
    /// `src` is the source this map always used.
    pub unsafe fn release<P: PageSource + ?Sized>(&mut self, src: &mut P) {
        // SAFETY: passed on from the caller.
        unsafe { self.table.release(src) };
        self.used = 0;
    }

    fn place(&mut self, entry: Entry) {
        let table = self.table.as_mut_slice();
        let mask = table.len() - 1;
        let mut slot = home(entry.page, table.len());
        while table[slot].page != 0 {
            slot = (slot + 1) & mask;
        }
        table[slot] = entry;
    }
}

/// The slot a page hashes to in a table of `len` (a power of two) slots.
#[inline]
fn home(page: usize, len: usize) -> usize {
    let hash = ((page >> PAGE_SHIFT) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (hash >> (64 - len.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A page source over the host allocator, enough for these tests.
    struct Host;

    // SAFETY: blocks from `alloc` with a layout aligned to their size.
    unsafe impl PageSource for Host {
        fn alloc_pages(
            &mut self,
            order: u32,
            _: buddy::GfpFlags,
        ) -> Option<core::ptr::NonNull<u8>> {
            let layout =
                std::alloc::Layout::from_size_align(PAGE_SIZE << order, PAGE_SIZE << order).ok()?;
            // SAFETY: the layout has a non-zero size.
            core::ptr::NonNull::new(unsafe { std::alloc::alloc(layout) })
        }

        unsafe fn free_pages(&mut self, block: core::ptr::NonNull<u8>, order: u32) {
            let layout =
                std::alloc::Layout::from_size_align(PAGE_SIZE << order, PAGE_SIZE << order)
                    .unwrap();
            // SAFETY: allocated above with this layout (the caller's promise).
            unsafe { std::alloc::dealloc(block.as_ptr(), layout) }
        }
    }

    #[test]
    fn owners_round_trip() {
        for owner in [
            Owner::Slab { cache: 0, slab: 0 },
            Owner::Slab {
                cache: 12,
                slab: MAX_SLABS as u32 - 1,
            },
            Owner::Large { order: 10 },
        ] {
            assert_eq!(Owner::decode(owner.encode()), owner);
        }
    }

    #[test]
    fn behaves_like_a_hash_map_under_random_inserts_and_removes() {
        let mut map = SlabMap::new();
        let mut model: HashMap<usize, Owner> = HashMap::new();
        let mut x = 0x1234_5678_9abc_def1u64;
        for step in 0..200_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Clustered pages (many hashing close together) and far ones.
            let page = if x.is_multiple_of(3) {
                (x as usize % 4096 + 1) << 12
            } else {
                (x as usize % 100_000 + 1) << 12
            };
            let present = model.contains_key(&page);
            if present && x.is_multiple_of(2) {
                assert_eq!(map.remove(page), model.remove(&page));
            } else if !present {
                let owner = Owner::Slab {
                    cache: step % 13,
                    slab: step,
                };
                // SAFETY: this map only ever uses `Host`.
                unsafe { map.reserve(&mut Host, 1).unwrap() };
                map.insert(page, owner);
                model.insert(page, owner);
            }
            assert_eq!(
                map.get(page + (x as usize % PAGE_SIZE)),
                model.get(&page).copied()
            );
            assert_eq!(map.len(), model.len());
        }
        for (&page, &owner) in &model {
            assert_eq!(map.get(page), Some(owner));
        }
        assert_eq!(map.get(0x7777_0000_0000), None);
        // SAFETY: as above.
        unsafe { map.release(&mut Host) };
    }
}
