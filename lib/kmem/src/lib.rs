//! `kmem`: the slab allocator of LKD chapter 12 (after Bonwick, "The Slab
//! Allocator", 1994), for the memory server and for every process's heap.
//! Pure logic, `no_std`, host-tested; it uses no heap of its own: all its
//! memory, metadata included, comes from a [`PageSource`].
//!
//! # Public API
//!
//! **Object caches.** [`kmem_cache_create`]`(name, size, align, flags, ctor,
//! source)` → [`KmemCache`]: a cache of equal objects in slabs of 2^order
//! pages kept on full / partial / empty lists.
//! - [`KmemCache::alloc`]`(gfp)` (`kmem_cache_alloc`): the last freed
//!   object from the magazine, else one from a partial slab, else from an
//!   empty one, else from a new slab (whose objects the constructor is run
//!   on once). Errors: [`AllocError`].
//! - [`KmemCache::free`]`(obj)` (`kmem_cache_free`): checked, never
//!   trusted: a pointer not in this cache's slabs, not at an object start,
//!   or already free is a [`FreeError`] and changes nothing. How: the
//!   object's page is looked up in a page-to-slab map before anything is
//!   touched, and two bitmaps per slab say which objects are free in the
//!   slab and which wait in the magazine.
//! - [`KmemCache::shrink`] (`kmem_cache_shrink`): drains the magazine, then
//!   gives exactly the empty slabs back. [`KmemCache::destroy`]
//!   (`kmem_cache_destroy`): gives all memory back, or refuses while
//!   objects are in use. [`KmemCache::drain`], [`KmemCache::tune`]: the
//!   magazine.
//! - [`KmemCache::info`] → [`SlabInfo`]: active/total objects, object size,
//!   objects and pages per slab, slabs full/partial/empty, the magazine's
//!   tunables and fill; its `Display` is the cache's `/proc/slabinfo`
//!   line, [`write_slabinfo`] the whole file (version 2.1).
//!   [`KmemCache::objects_in_use`] counts what callers hold.
//!
//! **kmalloc.** [`Kmalloc`]`::new(source)` (a `const fn`): `kmalloc(size,
//! gfp)`, `kzalloc`, `kfree(ptr)`, `ksize(ptr)`, `shrink()`, `slabinfo()`.
//! Classes 8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192
//! bytes ([`KMALLOC_SIZES`]); larger sizes up to 4 MiB get whole page
//! blocks, whose order is remembered in the owner map. Size 0 is
//! `ZeroSize`, more than 4 MiB `TooLarge`. Alignment: 8 bytes at least, the
//! size itself for power-of-two sizes (see `kmalloc.rs`). Memory pressure:
//! when the page source refuses, kmalloc shrinks every cache (their empty
//! slabs go back) and retries once, as Linux's reclaim does before an
//! allocation fails — unless the caller passed `__GFP_NORETRY`.
//!
//! **Global allocator.** [`SlabAllocator`]`<P>`: kmalloc behind a spin lock,
//! implementing `GlobalAlloc`, with a `const fn new` for a `static`.
//!
//! **Page sources.** [`PageSource`] is the one thing kmem needs from
//! outside: naturally aligned blocks of 2^order pages (from `mm` over IPC
//! in the system, from the host allocator in tests). Slab descriptors,
//! bitmaps and the map live in blocks from the same source, so kmem can be
//! the global allocator without calling itself.
//!
//! # Design notes
//!
//! - Slab metadata is off-slab (descriptor array + per-slab bitmaps):
//!   objects start at the slab's first byte, and kmem never writes into a
//!   free object, so constructed objects stay constructed.
//! - Each cache has a *magazine* (Bonwick's magazine layer, Linux SLAB's
//!   per-CPU `array_cache`): up to 32 recently freed objects (fewer for
//!   big objects) that the next allocations take first, LIFO. A free is
//!   still fully checked before it goes in. When the magazine is full its
//!   oldest half goes back to the slabs. So a freed object reaches its
//!   slab (and the slab its new list) only then, or on
//!   [`KmemCache::drain`] / [`KmemCache::shrink`]; [`KmemCache::tune`]`(0,
//!   0)` turns the magazine off. It brought the 64-byte alloc+free pair
//!   from 1.8x to about 1.05x of glibc's malloc (see
//!   `examples/kmem_bench.rs`).
//! - Cost of metadata: 32 bytes per slab, two bits per object, and 32 to
//!   64 bytes per slab page in the owner map (16-byte slots, kept at most
//!   half full); 512 bytes of magazine per cache.
//!
//! # IPC protocol
//!
//! None: kmem is a library linked into each process (and into `mm`). Its
//! only dependency on the rest of the system is the `PageSource` a caller
//! plugs in.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

mod cache;
mod error;
mod global;
mod kmalloc;
mod magazine;
mod pagevec;
mod raw;
mod slab;
mod slabinfo;
mod slabmap;
mod source;

pub use buddy::{GfpFlags, GFP_ATOMIC, GFP_KERNEL};
pub use cache::{
    kmem_cache_alloc, kmem_cache_create, kmem_cache_destroy, kmem_cache_free, kmem_cache_shrink,
    DestroyError, KmemCache, SlabFlags, SLAB_CACHE_DMA, SLAB_CACHE_DMA32, SLAB_HWCACHE_ALIGN,
};
pub use error::{AllocError, CreateError, FreeError, TuneError};
pub use global::SlabAllocator;
pub use kmalloc::{
    kmalloc_index, Kmalloc, KMALLOC_MAX_CACHE_SIZE, KMALLOC_MAX_SIZE, KMALLOC_NAMES, KMALLOC_SIZES,
};
pub use magazine::MAGAZINE_CAPACITY;
pub use slab::{ARCH_MIN_ALIGN, CACHE_LINE_SIZE, KMEM_CACHE_MAX_SIZE, MAX_SLAB_ORDER};
pub use slabinfo::{write_slabinfo, SlabInfo, SLABINFO_HEADER};
pub use source::{order_for, PageSource, MAX_ORDER, PAGE_SHIFT, PAGE_SIZE};
