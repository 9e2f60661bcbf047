//! `RawCache`: the slab algorithm of one object cache (LKD ch. 12, "Slab
//! Allocator"; the slides' "Slab Algorithm"), without the page source it
//! gets its pages from. [`KmemCache`](crate::KmemCache) pairs one with its
//! source; [`Kmalloc`](crate::Kmalloc) keeps thirteen that share one.
//!
//! Allocation takes the most recently freed object from the magazine
//! (`magazine.rs`) if there is one, else an object from the first partial
//! slab, else from an empty slab, else grows the cache by a new slab
//! (running the constructor on each of its objects, once). Freeing looks
//! the object's page up in the owner map, checks that an object starts
//! there and is in use, then puts it in the magazine; when the magazine is
//! full its oldest `batch` objects go back to their slabs, which move
//! between the lists. `drain` empties the magazine; `shrink` drains, then
//! gives the empty slabs back to the source.
//!
//! Each object is in exactly one of three states, kept in two bitmaps per
//! slab: *free in its slab* (`free` bit set), *in the magazine* (`cached`
//! bit set), or *handed out* (neither). So a double free is caught whether
//! the first free went to the slab or to the magazine.
//!
//! Invariants (besides those of `slab.rs` and `magazine.rs`):
//! - every page of every slab is in the owner map as `Owner::Slab` with
//!   this cache's tag and the slab's index, and no other page is;
//! - a slab's `inuse` counts its objects handed out *or* in the magazine
//!   (for the slab layer both are allocated, as in Linux's SLAB), and
//!   `active_objs` is the sum of `inuse`;
//! - the magazine's rounds are exactly the objects whose `cached` bit is
//!   set;
//! - `grow` makes every fallible request (metadata room, map room, the
//!   pages) before it changes anything, so a failure leaves the cache as it
//!   was.
//!
//! The functions that may give pages back to the source are `unsafe`: the
//! caller promises it passes the same source every time.

use core::ptr::NonNull;

use buddy::GfpFlags;

use crate::error::{AllocError, FreeError, TuneError};
use crate::magazine::{Magazine, Round};
use crate::pagevec::PageVec;
use crate::slab::{Geometry, Slab, SlabLists, SlabState, NIL};
use crate::slabinfo::SlabInfo;
use crate::slabmap::{Owner, SlabMap, MAX_SLABS};
use crate::source::{PageSource, PAGE_SIZE};
use crate::SlabFlags;

mod check;

pub(crate) struct RawCache {
    name: &'static str,
    geometry: Geometry,
    flags: SlabFlags,
    ctor: Option<fn(*mut u8)>,
    /// This cache's number in its owner map.
    tag: u32,
    slabs: PageVec<Slab>,
    /// Free-in-slab bits: `geometry.words` words per slab, slab i at
    /// `i * words`.
    bitmap: PageVec<u64>,
    /// In-the-magazine bits, laid out as `bitmap`.
    cached: PageVec<u64>,
    lists: SlabLists,
    /// Objects allocated from the slabs' point of view (sum of `inuse`).
    active_objs: usize,
    magazine: Magazine,
}

impl RawCache {
    pub const fn new(
        name: &'static str,
        geometry: Geometry,
        flags: SlabFlags,
        ctor: Option<fn(*mut u8)>,
        tag: u32,
    ) -> RawCache {
        RawCache {
            name,
            geometry,
            flags,
            ctor,
            tag,
            slabs: PageVec::new(),
            bitmap: PageVec::new(),
            cached: PageVec::new(),
            lists: SlabLists::new(),
            active_objs: 0,
            magazine: Magazine::for_size(geometry.size),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Objects handed out to callers (not free, not in the magazine).
    pub fn objects_in_use(&self) -> usize {
        self.active_objs - self.magazine.len()
    }

    pub fn has_ctor(&self) -> bool {
        self.ctor.is_some()
    }

    /// An object, growing the cache if no slab has a free one.
    ///
    /// # Safety
    ///
    /// `src` and `map` are the source and map this cache always used.
    #[inline]
    pub unsafe fn alloc<P: PageSource + ?Sized>(
        &mut self,
        src: &mut P,
        map: &mut SlabMap,
        gfp: GfpFlags,
    ) -> Result<NonNull<u8>, AllocError> {
        if let Some(round) = self.magazine.pop() {
            let (word, bit) = self.state_bit(round.slab, round.index);
            self.cached[word] &= !bit;
            // SAFETY: a round's address is an object inside a slab block,
            // which is non-null.
            return Ok(unsafe { NonNull::new_unchecked(round.addr as *mut u8) });
        }
        let mut id = self.lists.head(SlabState::Partial);
        if id == NIL {
            id = self.lists.head(SlabState::Empty);
        }
        if id == NIL {
            // SAFETY: passed on from the caller.
            id = unsafe { self.grow(src, map, gfp)? };
        }
        Ok(self.take_object(id))
    }

    /// Frees `ptr`, which the owner map says lies in slab `id` of this
    /// cache: into the magazine, or into the slab if there is no magazine.
    /// Fails without changing anything if no object starts at `ptr` or the
    /// object is free already.
    #[inline]
    pub fn free_in_slab(&mut self, id: u32, ptr: NonNull<u8>) -> Result<(), FreeError> {
        let (index, word, bit) = self.locate_in_use(id, ptr)?;
        if self.magazine.limit() == 0 {
            self.return_to_slab(id, index);
            return Ok(());
        }
        if !self.magazine.has_room() {
            self.flush(self.magazine.batch() as usize);
        }
        self.cached[word] |= bit;
        self.magazine.push(Round {
            addr: ptr.as_ptr() as usize,
            slab: id,
            index,
        });
        Ok(())
    }

    /// Returns every object in the magazine to its slab (Linux's
    /// `drain_array`).
    pub fn drain(&mut self) {
        self.flush(self.magazine.len());
    }

    /// Sets the magazine's limit and batch (see `Magazine::tune`): checks
    /// them, then drains the magazine and applies them. A refusal changes
    /// nothing.
    pub fn tune(&mut self, limit: u32, batch: u32) -> Result<(), TuneError> {
        Magazine::check_tunables(limit, batch)?;
        self.drain();
        self.magazine.tune(limit, batch)
    }

    /// Whether an object starts at `ptr` in slab `id` and is handed out.
    pub fn check_allocated(&self, id: u32, ptr: NonNull<u8>) -> Result<(), FreeError> {
        self.locate_in_use(id, ptr).map(|_| ())
    }

    /// The object at `ptr` in slab `id`, if one starts there and it is
    /// handed out (neither free in the slab nor in the magazine): its
    /// index, and its state bit (see `state_bit`).
    #[inline]
    fn locate_in_use(&self, id: u32, ptr: NonNull<u8>) -> Result<(u32, usize, u64), FreeError> {
        let base = self.slabs[id as usize].base;
        let index = self
            .geometry
            .object_index((ptr.as_ptr() as usize).wrapping_sub(base))
            .ok_or(FreeError::NotObjectStart)?;
        let (word, bit) = self.state_bit(id, index);
        if (self.bitmap[word] | self.cached[word]) & bit != 0 {
            return Err(FreeError::DoubleFree);
        }
        Ok((index, word, bit))
    }

    /// Where object `index` of slab `id` has its bit in `bitmap` and
    /// `cached`: the word's index and the bit's mask.
    #[inline]
    fn state_bit(&self, id: u32, index: u32) -> (usize, u64) {
        let word = id as usize * self.geometry.words as usize + (index / 64) as usize;
        (word, 1 << (index % 64))
    }

    /// Drains the magazine, then gives every empty slab back to `src`;
    /// returns the pages freed.
    ///
    /// # Safety
    ///
    /// `src` and `map` are the source and map this cache always used.
    pub unsafe fn shrink<P: PageSource + ?Sized>(
        &mut self,
        src: &mut P,
        map: &mut SlabMap,
    ) -> usize {
        self.drain();
        let mut pages = 0;
        loop {
            let id = self.lists.head(SlabState::Empty);
            if id == NIL {
                return pages;
            }
            let base = self.slabs[id as usize].base;
            for page in 0..self.geometry.pages_per_slab() {
                map.remove(base + page * PAGE_SIZE);
            }
            // SAFETY: `base` is a block of this order from `src` (caller's
            // promise), its objects are all free so nothing we handed out
            // points into it, and it is off the map and the lists below.
            unsafe { src.free_pages(NonNull::new_unchecked(base as *mut u8), self.geometry.order) };
            self.lists.unlink(self.slabs.as_mut_slice(), id);
            self.slabs[id as usize] = Slab::UNUSED;
            self.lists
                .push(self.slabs.as_mut_slice(), id, SlabState::Unused);
            pages += self.geometry.pages_per_slab();
        }
    }

    /// Gives everything back when no object is in use; otherwise only the
    /// empty slabs, leaving the rest (and the metadata describing it) in
    /// place. Returns whether everything went.
    ///
    /// # Safety
    ///
    /// As for [`shrink`](Self::shrink).
    pub unsafe fn release<P: PageSource + ?Sized>(
        &mut self,
        src: &mut P,
        map: &mut SlabMap,
    ) -> bool {
        // SAFETY: passed on from the caller.
        unsafe { self.shrink(src, map) };
        if self.active_objs > 0 {
            return false;
        }
        // SAFETY: no slab is left, so no descriptor or bitmap word is
        // needed; both came from `src` (caller's promise).
        unsafe {
            self.slabs.release(src);
            self.bitmap.release(src);
            self.cached.release(src);
        }
        self.lists = SlabLists::new();
        true
    }

    /// The cache's line of `/proc/slabinfo`, and the list lengths.
    pub fn info(&self) -> SlabInfo {
        let g = &self.geometry;
        let (full, partial, empty) = (
            self.lists.len(SlabState::Full),
            self.lists.len(SlabState::Partial),
            self.lists.len(SlabState::Empty),
        );
        let num_slabs = full + partial + empty;
        SlabInfo {
            name: self.name,
            active_objs: self.active_objs,
            num_objs: num_slabs * g.objects as usize,
            objsize: g.size,
            objperslab: g.objects,
            pagesperslab: g.pages_per_slab() as u32,
            limit: self.magazine.limit(),
            batchcount: self.magazine.batch(),
            sharedfactor: 0,
            active_slabs: full + partial,
            num_slabs,
            sharedavail: 0,
            slabs_full: full,
            slabs_partial: partial,
            slabs_empty: empty,
            in_magazine: self.magazine.len(),
        }
    }

    /// Takes the first free object of slab `id`, which has one.
    #[inline]
    fn take_object(&mut self, id: u32) -> NonNull<u8> {
        let geometry = self.geometry;
        let slab = &mut self.slabs.as_mut_slice()[id as usize];
        let words = &mut self.bitmap.as_mut_slice()[id as usize * geometry.words as usize..]
            [..geometry.words as usize];
        let mut word = slab.free_hint as usize;
        while words[word] == 0 {
            word += 1;
        }
        let bit = words[word].trailing_zeros() as usize;
        words[word] &= words[word] - 1;
        slab.free_hint = word as u32;
        slab.inuse += 1;
        let addr = slab.base + (word * 64 + bit) * geometry.size;
        let state = geometry.state_for(slab.inuse);
        self.lists.relist(self.slabs.as_mut_slice(), id, state);
        self.active_objs += 1;
        // SAFETY: `base` is a non-null block address and the object lies
        // inside the block, so the sum is non-null.
        unsafe { NonNull::new_unchecked(addr as *mut u8) }
    }

    /// Marks object `index` of slab `id` free in its slab and moves the
    /// slab to the list it now belongs on.
    fn return_to_slab(&mut self, id: u32, index: u32) {
        let (word, bit) = self.state_bit(id, index);
        self.bitmap[word] |= bit;
        let slab = &mut self.slabs[id as usize];
        slab.inuse -= 1;
        slab.free_hint = slab.free_hint.min(index / 64);
        let state = self.geometry.state_for(slab.inuse);
        self.lists.relist(self.slabs.as_mut_slice(), id, state);
        self.active_objs -= 1;
    }

    /// Returns the `n` oldest objects of the magazine to their slabs
    /// (Linux's `cache_flusharray`).
    fn flush(&mut self, n: usize) {
        let n = n.min(self.magazine.len());
        for i in 0..n {
            let round = self.magazine.rounds()[i];
            let (word, bit) = self.state_bit(round.slab, round.index);
            self.cached[word] &= !bit;
            self.return_to_slab(round.slab, round.index);
        }
        self.magazine.discard_oldest(n);
    }

    /// Adds a slab to the empty list and returns its index.
    ///
    /// # Safety
    ///
    /// `src` and `map` are the source and map this cache always used.
    unsafe fn grow<P: PageSource + ?Sized>(
        &mut self,
        src: &mut P,
        map: &mut SlabMap,
        gfp: GfpFlags,
    ) -> Result<u32, AllocError> {
        let g = self.geometry;
        // Check first: a descriptor slot, room in the map, then the pages.
        // A spare slot made here and not used stays on the Unused list.
        if self.lists.head(SlabState::Unused) == NIL {
            // SAFETY: passed on from the caller.
            unsafe { self.add_unused_slot(src) }?;
        }
        // SAFETY: passed on from the caller.
        unsafe { map.reserve(src, g.pages_per_slab()) }.map_err(|_| AllocError::NoMemory)?;
        let block = src
            .alloc_pages(g.order, gfp | self.zone_flags())
            .ok_or(AllocError::NoMemory)?;
        let base = block.as_ptr() as usize;
        if !base.is_multiple_of(g.slab_bytes()) {
            // SAFETY: just allocated from `src` with this order, unused.
            unsafe { src.free_pages(block, g.order) };
            return Err(AllocError::MisalignedPages);
        }

        // Act: nothing below can fail.
        let id = self.lists.head(SlabState::Unused);
        self.lists.unlink(self.slabs.as_mut_slice(), id);
        self.slabs[id as usize] = Slab {
            base,
            ..Slab::UNUSED
        };
        let words =
            &mut self.bitmap.as_mut_slice()[id as usize * g.words as usize..][..g.words as usize];
        for (i, word) in words.iter_mut().enumerate() {
            let objects_here = (g.objects as usize).saturating_sub(i * 64).min(64);
            *word = if objects_here == 64 {
                u64::MAX
            } else {
                (1 << objects_here) - 1
            };
        }
        for page in 0..g.pages_per_slab() {
            map.insert(
                base + page * PAGE_SIZE,
                Owner::Slab {
                    cache: self.tag,
                    slab: id,
                },
            );
        }
        if let Some(ctor) = self.ctor {
            for object in 0..g.objects as usize {
                ctor((base + object * g.size) as *mut u8);
            }
        }
        self.lists
            .push(self.slabs.as_mut_slice(), id, SlabState::Empty);
        Ok(id)
    }

    /// Appends a descriptor and its bitmap words, on the Unused list.
    ///
    /// # Safety
    ///
    /// `src` is the source this cache always used.
    unsafe fn add_unused_slot<P: PageSource + ?Sized>(
        &mut self,
        src: &mut P,
    ) -> Result<(), AllocError> {
        let words = self.geometry.words as usize;
        if self.slabs.len() >= MAX_SLABS {
            return Err(AllocError::NoMemory);
        }
        // SAFETY: passed on from the caller.
        unsafe {
            self.slabs
                .reserve(src, 1)
                .map_err(|_| AllocError::NoMemory)?;
            self.bitmap
                .reserve(src, words)
                .map_err(|_| AllocError::NoMemory)?;
            self.cached
                .reserve(src, words)
                .map_err(|_| AllocError::NoMemory)?;
        }
        for _ in 0..words {
            self.bitmap.push_within_capacity(0);
            self.cached.push_within_capacity(0);
        }
        if let Some(id) = self.slabs.push_within_capacity(Slab::UNUSED) {
            self.lists
                .push(self.slabs.as_mut_slice(), id as u32, SlabState::Unused);
        }
        Ok(())
    }

    fn zone_flags(&self) -> GfpFlags {
        let mut gfp = GfpFlags::empty();
        if self.flags.contains(SlabFlags::CACHE_DMA) {
            gfp |= GfpFlags::DMA;
        }
        if self.flags.contains(SlabFlags::CACHE_DMA32) {
            gfp |= GfpFlags::DMA32;
        }
        gfp
    }
}
