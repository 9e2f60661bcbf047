//! `PageVec<T>`: a growable array whose memory comes straight from the page
//! source, for the slab allocator's own metadata (slab descriptors, free
//! bitmaps, the page-to-slab map).
//!
//! It cannot use `alloc::vec::Vec`: kmem is what a process's global
//! allocator is built on, so a `Vec` inside it would call back into itself
//! while its lock is held. This is the only file of the crate that turns
//! raw pages into typed memory.
//!
//! Invariants:
//! - `ptr` is either dangling with `cap == 0` and no block, or the start of
//!   a block of 2^`order` pages from the source the owner always passes in,
//!   holding `cap` elements of `T`;
//! - elements `0..len` are initialised, `len <= cap`;
//! - `T: Copy`, so moving elements to a new block is a bitwise copy and
//!   nothing needs dropping.
//!
//! A `PageVec` has no `Drop`: it cannot reach its source there. Its owner
//! must call [`PageVec::release`], or the block leaks.

use core::marker::PhantomData;
use core::mem::{align_of, size_of};
use core::ops::{Index, IndexMut};
use core::ptr::NonNull;

use buddy::GFP_KERNEL;

use crate::source::{order_for, PageSource, PAGE_SIZE};

/// Not enough memory for the metadata (or more than a 4 MiB block of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NoMemory;

pub(crate) struct PageVec<T: Copy> {
    ptr: NonNull<T>,
    len: usize,
    cap: usize,
    order: u32,
    _owns: PhantomData<T>,
}

// SAFETY: a PageVec owns its block alone, as a Vec does; sending it to
// another thread sends the only way to reach the elements.
unsafe impl<T: Copy + Send> Send for PageVec<T> {}

impl<T: Copy> PageVec<T> {
    pub const fn new() -> Self {
        const {
            assert!(size_of::<T>() > 0 && align_of::<T>() <= PAGE_SIZE);
        }
        PageVec {
            ptr: NonNull::dangling(),
            len: 0,
            cap: 0,
            order: 0,
            _owns: PhantomData,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn as_slice(&self) -> &[T] {
        // SAFETY: `ptr` is aligned and non-null (dangling only when len is
        // 0), and elements 0..len are initialised (invariant).
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: as in `as_slice`; `&mut self` makes the borrow unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Makes room for `additional` more elements, at least doubling the
    /// capacity when it must grow. On failure nothing has changed.
    ///
    /// # Safety
    ///
    /// `src` is the source every earlier block of this vector came from.
    pub unsafe fn reserve<P: PageSource + ?Sized>(
        &mut self,
        src: &mut P,
        additional: usize,
    ) -> Result<(), NoMemory> {
        let needed = self.len.checked_add(additional).ok_or(NoMemory)?;
        if needed <= self.cap {
            return Ok(());
        }
        let wanted = needed.max(self.cap * 2);
        let order =
            order_for(wanted.checked_mul(size_of::<T>()).ok_or(NoMemory)?).ok_or(NoMemory)?;
        let block = src.alloc_pages(order, GFP_KERNEL).ok_or(NoMemory)?;
        let new_ptr = block.cast::<T>();
        if self.cap > 0 {
            // SAFETY: the old block holds `len` initialised elements, the
            // new one (a fresh block, so disjoint) has room for them; T is
            // Copy. The old block came from `src` (the caller's promise)
            // and nothing points into it once `ptr` is replaced.
            unsafe {
                core::ptr::copy_nonoverlapping(self.ptr.as_ptr(), new_ptr.as_ptr(), self.len);
                src.free_pages(self.ptr.cast(), self.order);
            }
        }
        self.ptr = new_ptr;
        self.cap = (PAGE_SIZE << order) / size_of::<T>();
        self.order = order;
        Ok(())
    }

    /// Appends `value` and returns its index; the caller reserved room.
    /// Returns `None`, changing nothing, if it did not.
    pub fn push_within_capacity(&mut self, value: T) -> Option<usize> {
        if self.len == self.cap {
            return None;
        }
        // SAFETY: len < cap, so the slot is inside the block.
        unsafe { self.ptr.as_ptr().add(self.len).write(value) };
        self.len += 1;
        Some(self.len - 1)
    }

    /// Sets the length to the full capacity, filling new slots with
    /// `value` (for tables that use every slot).
    pub fn fill_to_capacity(&mut self, value: T) {
        while self.push_within_capacity(value).is_some() {}
    }

    /// Gives the block back to the source and empties the vector.
    ///
    /// # Safety
    ///
    /// As for [`reserve`](Self::reserve): `src` is this vector's source.
    pub unsafe fn release<P: PageSource + ?Sized>(&mut self, src: &mut P) {
        if self.cap > 0 {
            // SAFETY: the block came from `src` (the caller's promise) with
            // this order, and `self` forgets it below.
            unsafe { src.free_pages(self.ptr.cast(), self.order) };
        }
        *self = PageVec::new();
    }
}

impl<T: Copy> Index<usize> for PageVec<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        &self.as_slice()[index]
    }
}

impl<T: Copy> IndexMut<usize> for PageVec<T> {
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut self.as_mut_slice()[index]
    }
}
