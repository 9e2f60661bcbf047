//! Named object caches, the slab layer's interface (LKD ch. 12, "Slab
//! Allocator Interface"): `kmem_cache_create`, `kmem_cache_alloc`,
//! `kmem_cache_free`, `kmem_cache_shrink`, `kmem_cache_destroy`.
//!
//! A [`KmemCache`] owns its page source together with the slab algorithm
//! (`RawCache`) and the page-to-slab map, which is what makes its methods
//! safe: every page it gives back goes to the source it came from.
//!
//! Freeing is checked, not trusted: the object's page is looked up in the
//! cache's map (a foreign pointer is never dereferenced), the offset must
//! be the start of an object, and the slab's bitmaps must say it is handed
//! out (neither free in its slab nor waiting in the magazine). A pointer
//! from elsewhere, into the middle of an object, or freed twice is an
//! error and changes nothing.

use core::fmt;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;

use bitflags::bitflags;
use buddy::GfpFlags;

use crate::error::{AllocError, CreateError, FreeError, TuneError};
use crate::raw::RawCache;
use crate::slab::{Geometry, ARCH_MIN_ALIGN, CACHE_LINE_SIZE};
use crate::slabinfo::SlabInfo;
use crate::slabmap::{Owner, SlabMap};
use crate::source::{PageSource, PAGE_SIZE};

bitflags! {
    /// Cache flags (the `SLAB_*` flags of `kmem_cache_create`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct SlabFlags: u32 {
        /// `SLAB_HWCACHE_ALIGN`: align objects to a cache line (64 bytes)
        /// so two objects never share one (no false sharing).
        const HWCACHE_ALIGN = 1 << 0;
        /// `SLAB_CACHE_DMA`: slabs come from ZONE_DMA.
        const CACHE_DMA = 1 << 1;
        /// `SLAB_CACHE_DMA32`: slabs come from ZONE_DMA32 or below.
        const CACHE_DMA32 = 1 << 2;
    }
}

/// `SLAB_HWCACHE_ALIGN`.
pub const SLAB_HWCACHE_ALIGN: SlabFlags = SlabFlags::HWCACHE_ALIGN;
/// `SLAB_CACHE_DMA`.
pub const SLAB_CACHE_DMA: SlabFlags = SlabFlags::CACHE_DMA;
/// `SLAB_CACHE_DMA32`.
pub const SLAB_CACHE_DMA32: SlabFlags = SlabFlags::CACHE_DMA32;

/// An object cache (Linux's `struct kmem_cache`) with its page source.
pub struct KmemCache<P: PageSource> {
    raw: RawCache,
    map: SlabMap,
    source: P,
}

/// Creates a cache of `size`-byte objects named `name` whose slabs come
/// from `source` (Linux's `kmem_cache_create`, plus the source).
///
/// `align` is the objects' alignment: 0 means the default of 8 bytes;
/// otherwise a power of two up to the page size. `ctor`, if given, is
/// called once on every object when its slab is created; objects should be
/// freed in their constructed state, since a later allocation gets them
/// back as they are.
///
/// Fails for size 0, for objects larger than 32 KiB once aligned, and for
/// a bad alignment. Allocates nothing until the first `alloc`.
pub fn kmem_cache_create<P: PageSource>(
    name: &'static str,
    size: usize,
    align: usize,
    flags: SlabFlags,
    ctor: Option<fn(*mut u8)>,
    source: P,
) -> Result<KmemCache<P>, CreateError> {
    if size == 0 {
        return Err(CreateError::ZeroSize);
    }
    let mut align = if align == 0 { ARCH_MIN_ALIGN } else { align };
    if !align.is_power_of_two() || align > PAGE_SIZE {
        return Err(CreateError::BadAlign);
    }
    if flags.contains(SlabFlags::HWCACHE_ALIGN) {
        align = align.max(CACHE_LINE_SIZE);
    }
    let geometry = Geometry::new(size, align).ok_or(CreateError::TooLarge)?;
    Ok(KmemCache {
        raw: RawCache::new(name, geometry, flags, ctor, 0),
        map: SlabMap::new(),
        source,
    })
}

/// `kmem_cache_alloc`: see [`KmemCache::alloc`].
pub fn kmem_cache_alloc<P: PageSource>(
    cache: &mut KmemCache<P>,
    gfp: GfpFlags,
) -> Result<NonNull<u8>, AllocError> {
    cache.alloc(gfp)
}

/// `kmem_cache_free`: see [`KmemCache::free`].
pub fn kmem_cache_free<P: PageSource>(
    cache: &mut KmemCache<P>,
    obj: NonNull<u8>,
) -> Result<(), FreeError> {
    cache.free(obj)
}

/// `kmem_cache_shrink`: see [`KmemCache::shrink`].
pub fn kmem_cache_shrink<P: PageSource>(cache: &mut KmemCache<P>) -> usize {
    cache.shrink()
}

/// `kmem_cache_destroy`: see [`KmemCache::destroy`].
#[allow(
    clippy::result_large_err,
    reason = "the refused cache is handed back whole; kmem has no heap to box it in"
)]
pub fn kmem_cache_destroy<P: PageSource>(cache: KmemCache<P>) -> Result<P, DestroyError<P>> {
    cache.destroy()
}

/// `kmem_cache_destroy` refused: objects are still in use. The cache is
/// handed back unchanged.
pub struct DestroyError<P: PageSource> {
    pub cache: KmemCache<P>,
    pub in_use: usize,
}

impl<P: PageSource> fmt::Debug for DestroyError<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cache {} busy: {} objects in use",
            self.cache.name(),
            self.in_use
        )
    }
}

impl<P: PageSource> KmemCache<P> {
    /// An object (Linux's `kmem_cache_alloc`), constructed if the cache has
    /// a constructor, zeroed with `__GFP_ZERO` (only for caches without
    /// one). Aligned to the cache's alignment.
    ///
    /// Takes the most recently freed object from the magazine, else one
    /// from a partial slab, else from an empty one, else grows the cache by
    /// one slab, passing `gfp` on to the page source. Fails with `NoMemory`
    /// if the source has no memory (the cache is unchanged), `BadFlags` for
    /// a zone modifier in `gfp` (the zone is the cache's, see
    /// [`SlabFlags::CACHE_DMA`]) or `__GFP_ZERO` with a constructor.
    #[inline]
    pub fn alloc(&mut self, gfp: GfpFlags) -> Result<NonNull<u8>, AllocError> {
        const SLOW: GfpFlags = GfpFlags::ZERO.union(GfpFlags::DMA).union(GfpFlags::DMA32);
        if gfp.intersects(SLOW) {
            return self.alloc_checked(gfp);
        }
        // SAFETY: `self.source` and `self.map` are the only source and map
        // this cache has ever been given (no method replaces them).
        unsafe { self.raw.alloc(&mut self.source, &mut self.map, gfp) }
    }

    /// Gives `obj` back (Linux's `kmem_cache_free`): into the magazine, or,
    /// when that is full, its oldest objects go back to their slabs first.
    ///
    /// Fails, changing nothing, with `NotOwned` if `obj` is not in one of
    /// this cache's slabs, `NotObjectStart` if it points inside an object,
    /// `DoubleFree` if the object is free already (in its slab or in the
    /// magazine). The memory at `obj` is never read or written.
    #[inline]
    pub fn free(&mut self, obj: NonNull<u8>) -> Result<(), FreeError> {
        match self.map.get(obj.as_ptr() as usize) {
            Some(Owner::Slab { slab, .. }) => self.raw.free_in_slab(slab, obj),
            _ => Err(FreeError::NotOwned),
        }
    }

    /// Returns the objects waiting in the magazine to their slabs, so the
    /// slab lists show every free (Linux's `drain_array`).
    pub fn drain(&mut self) {
        self.raw.drain();
    }

    /// Sets the magazine's size (`limit` objects, 0 for none) and how many
    /// objects go back to the slabs when it is full (`batchcount`), as
    /// writing `name limit batchcount 0` to Linux's `/proc/slabinfo` does.
    /// Drains the magazine, then applies the setting. Fails, changing
    /// nothing, for a limit above
    /// [`MAGAZINE_CAPACITY`](crate::MAGAZINE_CAPACITY) or a batch not in
    /// `1..=limit`.
    pub fn tune(&mut self, limit: u32, batchcount: u32) -> Result<(), TuneError> {
        self.raw.tune(limit, batchcount)
    }

    /// Objects handed out and not yet freed.
    pub fn objects_in_use(&self) -> usize {
        self.raw.objects_in_use()
    }

    /// Drains the magazine, then gives every empty slab back to the page
    /// source (Linux's `kmem_cache_shrink`, what the system calls under
    /// memory pressure). Returns the number of pages given back.
    pub fn shrink(&mut self) -> usize {
        // SAFETY: as in `alloc`.
        unsafe { self.raw.shrink(&mut self.source, &mut self.map) }
    }

    /// Destroys the cache, giving all its memory back, and returns the page
    /// source (Linux's `kmem_cache_destroy`). Fails if objects are still in
    /// use, handing the cache back unchanged.
    #[allow(
        clippy::result_large_err,
        reason = "the refused cache is handed back whole; kmem has no heap to box it in"
    )]
    pub fn destroy(mut self) -> Result<P, DestroyError<P>> {
        let in_use = self.raw.objects_in_use();
        if in_use > 0 {
            return Err(DestroyError {
                cache: self,
                in_use,
            });
        }
        self.release();
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped or used again, so the source is
        // moved out exactly once; the other fields hold no memory any more
        // (released above) and have no drop glue.
        Ok(unsafe { core::ptr::read(&this.source) })
    }

    /// The cache's statistics (its `/proc/slabinfo` line).
    pub fn info(&self) -> SlabInfo {
        self.raw.info()
    }

    /// The name given at creation.
    pub fn name(&self) -> &'static str {
        self.raw.name()
    }

    /// The object size asked for at creation.
    pub fn object_size(&self) -> usize {
        self.raw.geometry().object_size
    }

    /// Bytes between objects: the size rounded up to the alignment.
    pub fn size(&self) -> usize {
        self.raw.geometry().size
    }

    /// The objects' alignment.
    pub fn align(&self) -> usize {
        self.raw.geometry().align
    }

    /// The page source (read-only: replacing it would strand the slabs).
    pub fn source(&self) -> &P {
        &self.source
    }

    /// Checks the cache's invariants (lists, bitmaps, counts, the map):
    /// O(slabs × objects), for tests and debugging.
    pub fn check(&self) -> Result<(), &'static str> {
        self.raw.check(&self.map)?;
        let pages = (self.raw.info().num_slabs) * self.raw.geometry().pages_per_slab();
        if self.map.len() != pages {
            return Err("owner map holds pages of no slab");
        }
        Ok(())
    }

    #[cold]
    fn alloc_checked(&mut self, gfp: GfpFlags) -> Result<NonNull<u8>, AllocError> {
        let zeroed = gfp.contains(GfpFlags::ZERO);
        if gfp.intersects(GfpFlags::DMA | GfpFlags::DMA32) || (zeroed && self.raw.has_ctor()) {
            return Err(AllocError::BadFlags);
        }
        // SAFETY: as in `alloc`.
        let obj = unsafe { self.raw.alloc(&mut self.source, &mut self.map, gfp) }?;
        // SAFETY: the object is `size` bytes inside a slab we own, and was
        // just handed out, so no one else uses it.
        unsafe { obj.as_ptr().write_bytes(0, self.raw.geometry().size) };
        Ok(obj)
    }

    /// Gives back the empty slabs and, if no object is in use, everything.
    fn release(&mut self) {
        // SAFETY: as in `alloc`.
        unsafe {
            if self.raw.release(&mut self.source, &mut self.map) {
                self.map.release(&mut self.source);
            }
        }
    }
}

/// Dropping a cache gives back its empty slabs and, if no object is in
/// use, all its memory. Slabs with objects still in use are leaked rather
/// than freed under their users.
impl<P: PageSource> Drop for KmemCache<P> {
    fn drop(&mut self) {
        self.release();
    }
}
