//! Where slabs come from: the [`PageSource`] trait, the slab allocator's
//! only view of the page allocator (LKD's `kmem_getpages()` and
//! `kmem_freepages()` call `__get_free_pages()` and `free_pages()`).
//!
//! In the running system a source asks the `mm` server for pages mapped
//! into the caller's address space; in host tests and benchmarks it is the
//! host's allocator. Every address here is virtual.
//!
//! The contract, which kmem relies on for memory safety and therefore makes
//! the trait `unsafe` to implement: a block of 2^order pages is valid for
//! reads and writes, owned by the caller alone until it is given back, and
//! aligned to its own size (as a buddy block is). kmem checks the alignment
//! anyway, since it finds a slab from an object by masking the address.

use core::ptr::NonNull;

use buddy::GfpFlags;

/// log2 of the page size.
pub const PAGE_SHIFT: u32 = buddy::PAGE_SHIFT;
/// The page size, 4 KiB.
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// Orders 0..MAX_ORDER: the largest block a source is asked for is
/// 2^(MAX_ORDER - 1) pages = 4 MiB.
pub const MAX_ORDER: u32 = buddy::MAX_ORDER;

/// A supplier of naturally aligned blocks of 2^order pages.
///
/// # Safety
///
/// An implementation promises that a block returned by `alloc_pages` is
/// `PAGE_SIZE << order` bytes valid for reads and writes, aligned to that
/// size, not handed to anyone else, and stays so until it is passed to
/// `free_pages`.
pub unsafe trait PageSource {
    /// A block of 2^`order` pages, or `None` if there is no memory (or the
    /// source will not give any). `gfp` is the request's GFP mask, passed
    /// on to the page allocator (zone modifiers, `WAIT`, `NORETRY`).
    fn alloc_pages(&mut self, order: u32, gfp: GfpFlags) -> Option<NonNull<u8>>;

    /// Gives a block back.
    ///
    /// # Safety
    ///
    /// `block` and `order` are exactly what an earlier `alloc_pages` of
    /// this same source returned, the block has not been freed since, and
    /// nothing uses its memory any more.
    unsafe fn free_pages(&mut self, block: NonNull<u8>, order: u32);
}

// SAFETY: forwards to `P`, whose blocks keep the promises above.
unsafe impl<P: PageSource + ?Sized> PageSource for &mut P {
    fn alloc_pages(&mut self, order: u32, gfp: GfpFlags) -> Option<NonNull<u8>> {
        (**self).alloc_pages(order, gfp)
    }

    unsafe fn free_pages(&mut self, block: NonNull<u8>, order: u32) {
        // SAFETY: the caller's promise about `block` is passed on unchanged.
        unsafe { (**self).free_pages(block, order) }
    }
}

/// The smallest order whose block holds `bytes` bytes, or `None` above
/// 4 MiB.
pub const fn order_for(bytes: usize) -> Option<u32> {
    let pages = bytes.div_ceil(PAGE_SIZE);
    let order = if pages <= 1 {
        0
    } else {
        usize::BITS - (pages - 1).leading_zeros()
    };
    if order < MAX_ORDER {
        Some(order)
    } else {
        None
    }
}
