//! A page source over the host allocator for tests and the benchmark:
//! blocks aligned to their size, every live block tracked (so a test can
//! see leaks and wrong frees), and a limit to make it refuse.

#![allow(dead_code)]

use std::alloc::{alloc, dealloc, Layout};
use std::collections::HashMap;
use std::ptr::NonNull;

use kmem::{GfpFlags, PageSource, PAGE_SIZE};

#[derive(Debug, Default)]
pub struct HostPages {
    live: HashMap<usize, u32>,
    live_pages: usize,
    /// Refuse any request that would take the live pages above this.
    pub limit: Option<usize>,
    pub allocs: usize,
    pub frees: usize,
    pub refused: usize,
    pub last_gfp: Option<GfpFlags>,
}

impl HostPages {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_limit(pages: usize) -> Self {
        HostPages {
            limit: Some(pages),
            ..Self::default()
        }
    }

    pub fn live_blocks(&self) -> usize {
        self.live.len()
    }

    pub fn live_pages(&self) -> usize {
        self.live_pages
    }

    fn layout(order: u32) -> Layout {
        Layout::from_size_align(PAGE_SIZE << order, PAGE_SIZE << order).unwrap()
    }
}

// SAFETY: blocks come from the host allocator with a layout of their own
// size and alignment, and are tracked until freed.
unsafe impl PageSource for HostPages {
    fn alloc_pages(&mut self, order: u32, gfp: GfpFlags) -> Option<NonNull<u8>> {
        self.last_gfp = Some(gfp);
        if self
            .limit
            .is_some_and(|limit| self.live_pages + (1 << order) > limit)
        {
            self.refused += 1;
            return None;
        }
        // SAFETY: the layout's size is not zero.
        let block = NonNull::new(unsafe { alloc(Self::layout(order)) })?;
        self.live.insert(block.as_ptr() as usize, order);
        self.live_pages += 1 << order;
        self.allocs += 1;
        Some(block)
    }

    unsafe fn free_pages(&mut self, block: NonNull<u8>, order: u32) {
        let recorded = self.live.remove(&(block.as_ptr() as usize));
        assert_eq!(
            recorded,
            Some(order),
            "kmem freed a block it does not own, or with the wrong order"
        );
        self.live_pages -= 1 << order;
        self.frees += 1;
        // SAFETY: allocated in `alloc_pages` with this layout.
        unsafe { dealloc(block.as_ptr(), Self::layout(order)) };
    }
}

/// A source that returns blocks aligned only to a page: breaks the
/// contract on purpose, to see kmem notice.
pub struct MisalignedPages(pub HostPages);

// SAFETY: the blocks are valid and exclusive; only the alignment promise
// is broken, which kmem checks before relying on it.
unsafe impl PageSource for MisalignedPages {
    fn alloc_pages(&mut self, order: u32, gfp: GfpFlags) -> Option<NonNull<u8>> {
        let block = self.0.alloc_pages(order + 1, gfp)?;
        // SAFETY: one page into a block twice the size asked for.
        Some(unsafe { block.add(PAGE_SIZE) })
    }

    unsafe fn free_pages(&mut self, block: NonNull<u8>, order: u32) {
        // SAFETY: undoes `alloc_pages` above.
        unsafe { self.0.free_pages(block.sub(PAGE_SIZE), order + 1) }
    }
}

/// A `HostPages` several owners can share, so a test can look at it (or
/// change its limit) while a cache owns a handle.
#[derive(Clone, Debug, Default)]
pub struct Shared(pub std::rc::Rc<std::cell::RefCell<HostPages>>);

impl Shared {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_limit(pages: usize) -> Self {
        Shared(std::rc::Rc::new(std::cell::RefCell::new(
            HostPages::with_limit(pages),
        )))
    }

    pub fn set_limit(&self, limit: Option<usize>) {
        self.0.borrow_mut().limit = limit;
    }

    pub fn live_pages(&self) -> usize {
        self.0.borrow().live_pages()
    }

    pub fn live_blocks(&self) -> usize {
        self.0.borrow().live_blocks()
    }

    pub fn allocs(&self) -> usize {
        self.0.borrow().allocs
    }

    pub fn last_gfp(&self) -> Option<GfpFlags> {
        self.0.borrow().last_gfp
    }
}

// SAFETY: forwards to the shared `HostPages`.
unsafe impl PageSource for Shared {
    fn alloc_pages(&mut self, order: u32, gfp: GfpFlags) -> Option<NonNull<u8>> {
        self.0.borrow_mut().alloc_pages(order, gfp)
    }

    unsafe fn free_pages(&mut self, block: NonNull<u8>, order: u32) {
        // SAFETY: the caller's promise, passed on.
        unsafe { self.0.borrow_mut().free_pages(block, order) }
    }
}

/// Pages from `std::alloc::System`, untracked: usable in a `static` (a
/// `const` value) and under a `#[global_allocator]` (it never allocates
/// through the global allocator itself).
pub struct SystemPages;

// SAFETY: blocks from `System` with a layout of their own size and
// alignment.
unsafe impl PageSource for SystemPages {
    fn alloc_pages(&mut self, order: u32, _gfp: GfpFlags) -> Option<NonNull<u8>> {
        let layout = HostPages::layout(order);
        // SAFETY: the layout's size is not zero.
        NonNull::new(unsafe { std::alloc::GlobalAlloc::alloc(&std::alloc::System, layout) })
    }

    unsafe fn free_pages(&mut self, block: NonNull<u8>, order: u32) {
        // SAFETY: allocated above with this layout (the caller's promise).
        unsafe {
            std::alloc::GlobalAlloc::dealloc(
                &std::alloc::System,
                block.as_ptr(),
                HostPages::layout(order),
            )
        }
    }
}
