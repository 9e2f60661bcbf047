//! `kmalloc` and `kfree` (LKD ch. 12, "kmalloc()"): byte-sized allocations
//! served by thirteen general caches, `kmalloc-8` to `kmalloc-8k`, and
//! anything larger straight from the page source.
//!
//! Size classes are Linux's: 8, 16, 32, 64, 96, 128, 192, 256, 512, 1024,
//! 2048, 4096, 8192. A request gets the smallest class that holds it;
//! above 8 KiB it gets a block of 2^order pages (up to 4 MiB).
//!
//! Alignment guarantees: every object is aligned to the largest power of
//! two that divides its class size (8 bytes at least; 32 for kmalloc-96,
//! 64 for kmalloc-192, the size itself for the power-of-two classes), and
//! a large block to its own size. [`Kmalloc::alloc_layout`] picks a class
//! that also meets a `Layout`'s alignment.
//!
//! How `kfree` knows what it frees: the caches share one page-to-owner map
//! in which every page of every slab names its cache and slab, and the
//! first page of a large block names its order. So `kfree` needs no size,
//! and the order of a large block is remembered in the map, not in a
//! header (the block's memory is never touched). Invariant: the map holds
//! exactly the pages of the caches' slabs and the first pages of the live
//! large blocks.

use core::alloc::Layout;
use core::ptr::NonNull;

use buddy::GfpFlags;

use crate::error::{AllocError, FreeError};
use crate::raw::RawCache;
use crate::slab::{Geometry, ARCH_MIN_ALIGN};
use crate::slabinfo::SlabInfo;
use crate::slabmap::{Owner, SlabMap};
use crate::source::{order_for, PageSource, MAX_ORDER, PAGE_SIZE};
use crate::SlabFlags;

/// The size classes, smallest first.
pub const KMALLOC_SIZES: [usize; 13] = [
    8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
];
/// The classes' cache names, as in Linux's `/proc/slabinfo`.
pub const KMALLOC_NAMES: [&str; 13] = [
    "kmalloc-8",
    "kmalloc-16",
    "kmalloc-32",
    "kmalloc-64",
    "kmalloc-96",
    "kmalloc-128",
    "kmalloc-192",
    "kmalloc-256",
    "kmalloc-512",
    "kmalloc-1k",
    "kmalloc-2k",
    "kmalloc-4k",
    "kmalloc-8k",
];
/// The largest size served from a cache.
pub const KMALLOC_MAX_CACHE_SIZE: usize = 8192;
/// The largest size kmalloc serves at all: one block of the largest order.
pub const KMALLOC_MAX_SIZE: usize = PAGE_SIZE << (MAX_ORDER - 1);

const CLASSES: usize = KMALLOC_SIZES.len();

/// Flags that take `alloc_slow`: zone modifiers (refused) and zeroing.
const SLOW_FLAGS: GfpFlags = GfpFlags::ZERO.union(GfpFlags::DMA).union(GfpFlags::DMA32);

/// Class for sizes 1..=192, indexed by `(size - 1) / 8` (Linux's
/// `size_index` table: the non-power-of-two classes make `fls()` alone
/// wrong there).
const SMALL_INDEX: [u8; 24] = [
    0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6,
];

const GEOMETRY: [Geometry; CLASSES] = {
    let mut geometry = [match Geometry::new(8, ARCH_MIN_ALIGN) {
        Some(g) => g,
        None => panic!("kmalloc-8"),
    }; CLASSES];
    let mut class = 0;
    while class < CLASSES {
        geometry[class] = match Geometry::new(KMALLOC_SIZES[class], ARCH_MIN_ALIGN) {
            Some(g) => g,
            None => panic!("a kmalloc class does not fit a slab"),
        };
        class += 1;
    }
    geometry
};

/// The class for a `size`-byte request (Linux's `kmalloc_index`), or
/// `None` for 0 bytes or more than 8 KiB.
#[inline]
pub const fn kmalloc_index(size: usize) -> Option<usize> {
    if size == 0 || size > KMALLOC_MAX_CACHE_SIZE {
        None
    } else if size <= 192 {
        Some(SMALL_INDEX[(size - 1) / 8] as usize)
    } else {
        // 256 → 7, 512 → 8, ... 8192 → 12: one class per power of two.
        let log2_ceil = usize::BITS - (size - 1).leading_zeros();
        Some(log2_ceil as usize - 1)
    }
}

/// The alignment every object of class `class` has.
const fn class_align(class: usize) -> usize {
    1 << KMALLOC_SIZES[class].trailing_zeros()
}

/// Where an allocation of `size` bytes aligned to `align` is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placement {
    Class(usize),
    Large(u32),
}

fn placement(size: usize, align: usize) -> Result<Placement, AllocError> {
    if size == 0 {
        return Err(AllocError::ZeroSize);
    }
    let bytes = size.max(align);
    match kmalloc_index(bytes) {
        Some(class) if class_align(class) >= align => Ok(Placement::Class(class)),
        // kmalloc-96 and kmalloc-192 are less aligned than their size: the
        // next class is a power of two.
        Some(class) => Ok(Placement::Class(class + 1)),
        None => order_for(bytes)
            .map(Placement::Large)
            .ok_or(AllocError::TooLarge),
    }
}

/// The general-purpose allocator: the kmalloc caches and large blocks over
/// one page source.
pub struct Kmalloc<P: PageSource> {
    caches: [RawCache; CLASSES],
    map: SlabMap,
    large_blocks: usize,
    large_pages: usize,
    source: P,
}

impl<P: PageSource> Kmalloc<P> {
    /// The allocator, with no memory yet: caches grow on first use. A
    /// `const fn`, so it can initialise a `static`.
    pub const fn new(source: P) -> Self {
        const fn class(class: usize) -> RawCache {
            RawCache::new(
                KMALLOC_NAMES[class],
                GEOMETRY[class],
                SlabFlags::empty(),
                None,
                class as u32,
            )
        }
        Kmalloc {
            caches: [
                class(0),
                class(1),
                class(2),
                class(3),
                class(4),
                class(5),
                class(6),
                class(7),
                class(8),
                class(9),
                class(10),
                class(11),
                class(12),
            ],
            map: SlabMap::new(),
            large_blocks: 0,
            large_pages: 0,
            source,
        }
    }

    /// At least `size` bytes (Linux's `kmalloc`), aligned as the file
    /// comment says; zeroed with `__GFP_ZERO`.
    ///
    /// Fails with `ZeroSize` for 0 bytes, `TooLarge` above 4 MiB,
    /// `BadFlags` for a zone modifier (there are no DMA kmalloc caches),
    /// `NoMemory` when the page source has none.
    #[inline]
    pub fn kmalloc(&mut self, size: usize, gfp: GfpFlags) -> Result<NonNull<u8>, AllocError> {
        match kmalloc_index(size) {
            Some(class) if !gfp.intersects(SLOW_FLAGS) => self.alloc_class(class, gfp),
            _ => self.alloc_slow(size, 1, gfp),
        }
    }

    /// `kmalloc` with `__GFP_ZERO` (Linux's `kzalloc`).
    pub fn kzalloc(&mut self, size: usize, gfp: GfpFlags) -> Result<NonNull<u8>, AllocError> {
        self.kmalloc(size, gfp | GfpFlags::ZERO)
    }

    /// Memory for `layout`: its size in the smallest class (or block) that
    /// also meets its alignment. Fails as `kmalloc` does, and with
    /// `TooLarge` for an alignment above 4 MiB.
    #[inline]
    pub fn alloc_layout(
        &mut self,
        layout: Layout,
        gfp: GfpFlags,
    ) -> Result<NonNull<u8>, AllocError> {
        // Every class is at least ARCH_MIN_ALIGN-aligned.
        match kmalloc_index(layout.size()) {
            Some(class) if layout.align() <= ARCH_MIN_ALIGN && !gfp.intersects(SLOW_FLAGS) => {
                self.alloc_class(class, gfp)
            }
            _ => self.alloc_slow(layout.size(), layout.align(), gfp),
        }
    }

    /// Frees what `kmalloc` returned (Linux's `kfree`). A null pointer is
    /// ignored, as in Linux.
    ///
    /// Fails, changing nothing, with `NotOwned` for a pointer kmalloc did
    /// not hand out (or a large block already freed), `NotObjectStart` for
    /// one inside an object or block, `DoubleFree` for a freed object. The
    /// memory at `ptr` is never read.
    #[inline]
    pub fn kfree(&mut self, ptr: *mut u8) -> Result<(), FreeError> {
        let Some(ptr) = NonNull::new(ptr) else {
            return Ok(());
        };
        match self.map.get(ptr.as_ptr() as usize) {
            Some(Owner::Slab { cache, slab }) => match self.caches.get_mut(cache as usize) {
                Some(cache) => cache.free_in_slab(slab, ptr),
                None => Err(FreeError::NotOwned),
            },
            Some(Owner::Large { order }) => self.free_large(ptr, order),
            None => Err(FreeError::NotOwned),
        }
    }

    /// The usable size of a live allocation (Linux's `ksize`): its class
    /// size or block size. Fails as `kfree` would.
    pub fn ksize(&self, ptr: NonNull<u8>) -> Result<usize, FreeError> {
        match self.map.get(ptr.as_ptr() as usize) {
            Some(Owner::Slab { cache, slab }) => {
                let cache = self.caches.get(cache as usize).ok_or(FreeError::NotOwned)?;
                cache.check_allocated(slab, ptr)?;
                Ok(cache.geometry().size)
            }
            Some(Owner::Large { order }) if (ptr.as_ptr() as usize).is_multiple_of(PAGE_SIZE) => {
                Ok(PAGE_SIZE << order)
            }
            Some(Owner::Large { .. }) => Err(FreeError::NotObjectStart),
            None => Err(FreeError::NotOwned),
        }
    }

    /// Gives the empty slabs of every cache back to the page source;
    /// returns the pages given back.
    pub fn shrink(&mut self) -> usize {
        let (source, map) = (&mut self.source, &mut self.map);
        // SAFETY: every cache here has only ever used this source and map.
        self.caches
            .iter_mut()
            .map(|cache| unsafe { cache.shrink(source, map) })
            .sum()
    }

    /// Statistics of the thirteen caches, smallest first.
    pub fn slabinfo(&self) -> [SlabInfo; CLASSES] {
        core::array::from_fn(|class| self.caches[class].info())
    }

    /// Live large blocks and the pages they hold.
    pub fn large_allocations(&self) -> (usize, usize) {
        (self.large_blocks, self.large_pages)
    }

    /// The page source.
    pub fn source(&self) -> &P {
        &self.source
    }

    /// Checks every cache's invariants and the map: for tests and
    /// debugging.
    pub fn check(&self) -> Result<(), &'static str> {
        let mut pages = self.large_blocks;
        for cache in &self.caches {
            cache.check(&self.map)?;
            pages += cache.info().num_slabs * cache.geometry().pages_per_slab();
        }
        if pages != self.map.len() {
            return Err("owner map holds pages of no slab or block");
        }
        Ok(())
    }

    /// The fast path: an object of class `class`, no special flags.
    #[inline]
    fn alloc_class(&mut self, class: usize, gfp: GfpFlags) -> Result<NonNull<u8>, AllocError> {
        // SAFETY: every cache here has only ever used this source and map.
        match unsafe { self.caches[class].alloc(&mut self.source, &mut self.map, gfp) } {
            Err(AllocError::NoMemory) => self.alloc_class_after_reclaim(class, gfp),
            done => done,
        }
    }

    /// The slow path of [`alloc_class`](Self::alloc_class) when the page
    /// source said no: reclaim, and one more try.
    #[cold]
    #[inline(never)]
    fn alloc_class_after_reclaim(
        &mut self,
        class: usize,
        gfp: GfpFlags,
    ) -> Result<NonNull<u8>, AllocError> {
        if !self.reclaim(gfp) {
            return Err(AllocError::NoMemory);
        }
        // SAFETY: every cache here has only ever used this source and map.
        unsafe { self.caches[class].alloc(&mut self.source, &mut self.map, gfp) }
    }

    /// Under memory pressure (the page source said no): gives the empty
    /// slabs of every cache back, as Linux's reclaim shrinks the slab
    /// caches before an allocation fails, unless the caller asked to fail
    /// at once (`__GFP_NORETRY`). Whether any page came back (worth a
    /// retry).
    #[cold]
    fn reclaim(&mut self, gfp: GfpFlags) -> bool {
        !gfp.contains(GfpFlags::NORETRY) && self.shrink() > 0
    }

    /// Everything else: alignment above 8, large sizes, errors, zeroing.
    #[cold]
    fn alloc_slow(
        &mut self,
        size: usize,
        align: usize,
        gfp: GfpFlags,
    ) -> Result<NonNull<u8>, AllocError> {
        if gfp.intersects(GfpFlags::DMA | GfpFlags::DMA32) {
            return Err(AllocError::BadFlags);
        }
        let (ptr, usable) = match placement(size, align)? {
            Placement::Class(class) => (self.alloc_class(class, gfp)?, KMALLOC_SIZES[class]),
            Placement::Large(order) => (self.alloc_large(order, gfp)?, PAGE_SIZE << order),
        };
        if gfp.contains(GfpFlags::ZERO) {
            // SAFETY: `usable` bytes at `ptr` are an object or block we own
            // and just handed out.
            unsafe { ptr.as_ptr().write_bytes(0, usable) };
        }
        Ok(ptr)
    }

    fn alloc_large(&mut self, order: u32, gfp: GfpFlags) -> Result<NonNull<u8>, AllocError> {
        // SAFETY: the map has only ever used this source.
        if unsafe { self.map.reserve(&mut self.source, 1) }.is_err() {
            if !self.reclaim(gfp) {
                return Err(AllocError::NoMemory);
            }
            // SAFETY: as above.
            unsafe { self.map.reserve(&mut self.source, 1) }.map_err(|_| AllocError::NoMemory)?;
        }
        let block = match self.source.alloc_pages(order, gfp) {
            Some(block) => block,
            None if self.reclaim(gfp) => self
                .source
                .alloc_pages(order, gfp)
                .ok_or(AllocError::NoMemory)?,
            None => return Err(AllocError::NoMemory),
        };
        if !(block.as_ptr() as usize).is_multiple_of(PAGE_SIZE << order) {
            // SAFETY: just allocated from this source with this order.
            unsafe { self.source.free_pages(block, order) };
            return Err(AllocError::MisalignedPages);
        }
        self.map
            .insert(block.as_ptr() as usize, Owner::Large { order });
        self.large_blocks += 1;
        self.large_pages += 1 << order;
        Ok(block)
    }

    fn free_large(&mut self, ptr: NonNull<u8>, order: u32) -> Result<(), FreeError> {
        if !(ptr.as_ptr() as usize).is_multiple_of(PAGE_SIZE) {
            return Err(FreeError::NotObjectStart);
        }
        self.map.remove(ptr.as_ptr() as usize);
        // SAFETY: the map said this page starts a live block of this order
        // from this source; it is off the map now, so it is freed once.
        unsafe { self.source.free_pages(ptr, order) };
        self.large_blocks -= 1;
        self.large_pages -= 1 << order;
        Ok(())
    }
}

/// Dropping the allocator gives back the empty slabs and, for each cache
/// with no object in use, all its memory. Live objects and large blocks
/// are leaked rather than freed under their users.
impl<P: PageSource> Drop for Kmalloc<P> {
    fn drop(&mut self) {
        let (source, map) = (&mut self.source, &mut self.map);
        let mut all = self.large_blocks == 0;
        for cache in &mut self.caches {
            // SAFETY: every cache here has only ever used this source and map.
            all &= unsafe { cache.release(source, map) };
        }
        if all {
            // SAFETY: as above; no page is in the map any more.
            unsafe { map.release(source) };
        }
    }
}

/// Which class `layout` is served from, if a cache serves it: two layouts
/// with the same class can share an object (used by `realloc`).
pub(crate) fn layout_class(layout: Layout) -> Option<usize> {
    match placement(layout.size(), layout.align()) {
        Ok(Placement::Class(class)) => Some(class),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_agrees_with_a_linear_search_for_every_size() {
        for size in 1..=KMALLOC_MAX_CACHE_SIZE {
            let expected = KMALLOC_SIZES.iter().position(|&class| class >= size);
            assert_eq!(kmalloc_index(size), expected, "size {size}");
        }
        assert_eq!(kmalloc_index(0), None);
        assert_eq!(kmalloc_index(KMALLOC_MAX_CACHE_SIZE + 1), None);
    }

    #[test]
    fn placement_meets_alignment() {
        assert_eq!(placement(80, 8), Ok(Placement::Class(4)));
        assert_eq!(
            placement(80, 64),
            Ok(Placement::Class(5)),
            "kmalloc-96 is only 32-aligned"
        );
        assert_eq!(placement(150, 128), Ok(Placement::Class(7)));
        assert_eq!(placement(8, 4096), Ok(Placement::Class(11)));
        assert_eq!(placement(8, 8192), Ok(Placement::Class(12)));
        assert_eq!(placement(8, 16384), Ok(Placement::Large(2)));
        assert_eq!(placement(8193, 8), Ok(Placement::Large(2)));
        assert_eq!(placement(KMALLOC_MAX_SIZE, 8), Ok(Placement::Large(10)));
        assert_eq!(
            placement(KMALLOC_MAX_SIZE + 1, 8),
            Err(AllocError::TooLarge)
        );
        assert_eq!(placement(0, 8), Err(AllocError::ZeroSize));
        for (class, size) in KMALLOC_SIZES.iter().enumerate() {
            assert_eq!(GEOMETRY[class].size, *size);
        }
    }
}
