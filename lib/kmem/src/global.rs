//! [`SlabAllocator`]: kmalloc behind a spin lock, as a `GlobalAlloc`, so a
//! process's `#[global_allocator]` can be the slab allocator over pages
//! from `mm`:
//!
//! ```ignore
//! #[global_allocator]
//! static HEAP: SlabAllocator<MmPages> = SlabAllocator::new(MmPages);
//! ```
//!
//! A request is served from the smallest kmalloc class that meets both the
//! layout's size and its alignment, or by a block of pages above 8 KiB
//! (see `kmalloc.rs`). `dealloc` frees by address through the owner map,
//! so it does not depend on the layout being right; `realloc` keeps the
//! object when the new layout falls in the same class.
//!
//! Limit: like kmalloc, at most 4 MiB (one block of the largest order) per
//! allocation; a larger request gets null, which Rust's collections turn
//! into an allocation-failure abort. Bigger buffers are the business of
//! `mmap` in the memory server, not of the slab layer.
//!
//! `GlobalAlloc::dealloc` cannot report an error; a free that kmem refuses
//! (a pointer it never handed out, a double free) is counted in
//! [`SlabAllocator::failed_frees`] and otherwise ignored, which leaves the
//! allocator consistent.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};

use buddy::{GfpFlags, GFP_KERNEL};
use spin::{Mutex, MutexGuard};

use crate::kmalloc::{layout_class, Kmalloc};
use crate::source::PageSource;

/// The slab allocator as a global allocator.
pub struct SlabAllocator<P: PageSource> {
    kmalloc: Mutex<Kmalloc<P>>,
    failed_frees: AtomicUsize,
}

impl<P: PageSource> SlabAllocator<P> {
    /// The allocator over `source`; a `const fn` for use in a `static`.
    pub const fn new(source: P) -> Self {
        SlabAllocator {
            kmalloc: Mutex::new(Kmalloc::new(source)),
            failed_frees: AtomicUsize::new(0),
        }
    }

    /// The kmalloc state, locked: for statistics (`slabinfo`), `shrink`,
    /// or direct `kmalloc` calls. Do not allocate through the global
    /// allocator while holding it: the lock is not reentrant.
    pub fn lock(&self) -> MutexGuard<'_, Kmalloc<P>> {
        self.kmalloc.lock()
    }

    /// Frees that were refused (pointer not ours, or freed twice).
    pub fn failed_frees(&self) -> usize {
        self.failed_frees.load(Ordering::Relaxed)
    }
}

// SAFETY: `alloc` returns null or a block of at least `layout.size()`
// bytes aligned to `layout.align()` (kmalloc's placement picks a class or
// page block with both), owned by the caller until `dealloc`; kmem never
// hands out the same memory twice while it is live (the slab bitmaps and
// the owner map guarantee it), and all state is behind the lock.
unsafe impl<P: PageSource + Send> GlobalAlloc for SlabAllocator<P> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.alloc_with(layout, GFP_KERNEL)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.alloc_with(layout, GFP_KERNEL | GfpFlags::ZERO)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        if self.kmalloc.lock().kfree(ptr).is_err() {
            self.failed_frees.fetch_add(1, Ordering::Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size`, rounded up to
        // `layout.align()`, does not overflow (`GlobalAlloc::realloc`).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if layout_class(layout).is_some() && layout_class(layout) == layout_class(new_layout) {
            return ptr;
        }
        let new = self.alloc_with(new_layout, GFP_KERNEL);
        if !new.is_null() {
            // SAFETY: `ptr` is live with `layout.size()` bytes (caller's
            // promise), `new` is a fresh, disjoint block of `new_size`.
            unsafe { ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            // SAFETY: `ptr` was allocated here with `layout` (caller's promise).
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

impl<P: PageSource> SlabAllocator<P> {
    fn alloc_with(&self, layout: Layout, gfp: GfpFlags) -> *mut u8 {
        self.kmalloc
            .lock()
            .alloc_layout(layout, gfp)
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }
}
