//! Slabs and their three lists (LKD ch. 12, "Design of the Slab Layer"):
//! a slab is one block of 2^order pages cut into equal objects; a cache
//! keeps its slabs on `slabs_full`, `slabs_partial` and `slabs_empty`.
//!
//! The slab descriptors are kept *off-slab*, in an array the cache owns
//! (Linux's `OFF_SLAB` layout, here for every cache), with one free bitmap
//! per slab beside them. So the allocator never writes into a slab's pages:
//! the objects start at the first byte of the block, and a free object
//! keeps whatever its constructor (or its last user) left in it, which is
//! what Bonwick's constructed-object caching relies on.
//!
//! Invariants:
//! - a slab with `inuse == 0` is on the empty list, with
//!   `inuse == objects` on the full list, otherwise on the partial list;
//!   a descriptor slot whose slab was given back is on the `Unused` list;
//! - bit i of a slab's bitmap is set exactly when object i is free, and
//!   `inuse` is the number of clear bits among the first `objects`;
//! - no bitmap word before `free_hint` has a set bit;
//! - each list is doubly linked through `prev`/`next` (indices into the
//!   descriptor array, [`NIL`] ending a list) and `len` counts it.

use crate::source::{PAGE_SHIFT, PAGE_SIZE};

pub(crate) const NIL: u32 = u32::MAX;

/// Largest slab: 2^3 pages (32 KiB), as SLUB's default `slub_max_order`.
pub const MAX_SLAB_ORDER: u32 = 3;
/// Largest object a cache can hold: one per slab of the largest order.
pub const KMEM_CACHE_MAX_SIZE: usize = PAGE_SIZE << MAX_SLAB_ORDER;
/// The alignment every object gets at least (Linux's
/// `ARCH_KMALLOC_MINALIGN` on x86_64).
pub const ARCH_MIN_ALIGN: usize = 8;
/// A cache line, for `SLAB_HWCACHE_ALIGN`.
pub const CACHE_LINE_SIZE: usize = 64;

/// Which list a slab is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SlabState {
    Empty = 0,
    Partial = 1,
    Full = 2,
    /// Not a slab: a free descriptor slot.
    Unused = 3,
}

/// A slab descriptor (Linux's `struct slab`): 32 bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slab {
    /// Address of the block, and of its first object.
    pub base: usize,
    /// Objects handed out.
    pub inuse: u32,
    /// First bitmap word that may have a free object.
    pub free_hint: u32,
    pub prev: u32,
    pub next: u32,
    pub state: SlabState,
}

impl Slab {
    pub const UNUSED: Slab = Slab {
        base: 0,
        inuse: 0,
        free_hint: 0,
        prev: NIL,
        next: NIL,
        state: SlabState::Unused,
    };
}

/// A list head and its length.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SlabList {
    pub head: u32,
    pub len: usize,
}

/// The four lists of a cache, indexed by [`SlabState`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct SlabLists([SlabList; 4]);

impl SlabLists {
    pub const fn new() -> Self {
        SlabLists([SlabList { head: NIL, len: 0 }; 4])
    }

    pub fn head(&self, state: SlabState) -> u32 {
        self.0[state as usize].head
    }

    pub fn len(&self, state: SlabState) -> usize {
        self.0[state as usize].len
    }

    /// Puts slab `id` (on no list) at the head of the `state` list.
    pub fn push(&mut self, slabs: &mut [Slab], id: u32, state: SlabState) {
        let list = &mut self.0[state as usize];
        let old_head = list.head;
        let slab = &mut slabs[id as usize];
        slab.state = state;
        slab.prev = NIL;
        slab.next = old_head;
        if old_head != NIL {
            slabs[old_head as usize].prev = id;
        }
        list.head = id;
        list.len += 1;
    }

    /// Takes slab `id` off the list it is on.
    pub fn unlink(&mut self, slabs: &mut [Slab], id: u32) {
        let Slab {
            prev, next, state, ..
        } = slabs[id as usize];
        let list = &mut self.0[state as usize];
        if prev == NIL {
            list.head = next;
        } else {
            slabs[prev as usize].next = next;
        }
        if next != NIL {
            slabs[next as usize].prev = prev;
        }
        list.len -= 1;
    }

    /// Moves slab `id` to the `state` list if it is not on it already.
    #[inline]
    pub fn relist(&mut self, slabs: &mut [Slab], id: u32, state: SlabState) {
        if slabs[id as usize].state != state {
            self.unlink(slabs, id);
            self.push(slabs, id, state);
        }
    }

    /// The slabs on the `state` list, head first.
    pub fn iter<'a>(&self, slabs: &'a [Slab], state: SlabState) -> impl Iterator<Item = u32> + 'a {
        let mut next = self.head(state);
        core::iter::from_fn(move || {
            let id = next;
            (id != NIL).then(|| {
                next = slabs[id as usize].next;
                id
            })
        })
    }
}

/// How a cache cuts its slabs: computed once when the cache is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// The size the cache was asked for.
    pub object_size: usize,
    /// Distance between objects: `object_size` rounded up to `align`.
    pub size: usize,
    pub align: usize,
    /// Slabs are 2^order pages.
    pub order: u32,
    /// Objects per slab.
    pub objects: u32,
    /// Bitmap words per slab.
    pub words: u32,
    /// ⌈2^32 / size⌉: `offset * reciprocal >> 32` is `offset / size` for
    /// every multiple of `size` in a slab (Linux SLAB's
    /// `reciprocal_buffer_size`), without a division on the free path.
    pub reciprocal: u32,
}

impl Geometry {
    /// The layout for objects of `object_size` bytes aligned to `align`
    /// (a power of two, at least [`ARCH_MIN_ALIGN`]), or `None` if such an
    /// object does not fit in the largest slab.
    ///
    /// The order is the smallest that wastes at most 1/8 of the slab, as
    /// Linux's `calculate_slab_order()` aims to.
    pub const fn new(object_size: usize, align: usize) -> Option<Geometry> {
        if object_size == 0
            || object_size > KMEM_CACHE_MAX_SIZE
            || !align.is_power_of_two()
            || align > PAGE_SIZE
        {
            return None;
        }
        let align = if align < ARCH_MIN_ALIGN {
            ARCH_MIN_ALIGN
        } else {
            align
        };
        let size = object_size.div_ceil(align) * align;
        if size > KMEM_CACHE_MAX_SIZE {
            return None;
        }
        // LAB 3 BEGIN: the slab's order (calculate_slab_order: waste at most 1/8)
        let mut order = 0;
        loop {
            let slab = PAGE_SIZE << order;
            let objects = slab / size;
            if (objects > 0 && (slab - objects * size) * 8 <= slab) || order == MAX_SLAB_ORDER {
                break;
            }
            order += 1;
        }
        // LAB 3 STUB
        // // The smallest slab one object fits in, whatever it wastes.
        // let mut order = 0;
        // while (PAGE_SIZE << order) < size {
        //     order += 1;
        // }
        // LAB 3 END
        let objects = ((PAGE_SIZE << order) / size) as u32;
        Some(Geometry {
            object_size,
            size,
            align,
            order,
            objects,
            words: objects.div_ceil(64),
            reciprocal: ((1u64 << 32).div_ceil(size as u64)) as u32,
        })
    }

    pub const fn slab_bytes(&self) -> usize {
        PAGE_SIZE << self.order
    }

    pub const fn pages_per_slab(&self) -> usize {
        1 << self.order
    }

    /// The list a slab with `inuse` objects handed out belongs on.
    #[inline]
    pub fn state_for(&self, inuse: u32) -> SlabState {
        if inuse == 0 {
            SlabState::Empty
        } else if inuse == self.objects {
            SlabState::Full
        } else {
            SlabState::Partial
        }
    }

    /// Index of the object starting `offset` bytes into a slab, or `None`
    /// if no object starts there.
    #[inline]
    pub fn object_index(&self, offset: usize) -> Option<u32> {
        if offset >= self.slab_bytes() {
            return None;
        }
        let index = ((offset as u64 * u64::from(self.reciprocal)) >> 32) as u32;
        (index < self.objects && index as usize * self.size == offset).then_some(index)
    }
}

// The page size the arithmetic above assumes.
const _: () = assert!(PAGE_SIZE == 1 << PAGE_SHIFT && PAGE_SIZE == 4096);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_of_common_sizes() {
        let g = Geometry::new(64, 8).unwrap();
        assert_eq!((g.size, g.order, g.objects, g.words), (64, 0, 64, 1));
        let g = Geometry::new(96, 8).unwrap();
        assert_eq!((g.size, g.order, g.objects), (96, 0, 42));
        let g = Geometry::new(8, 8).unwrap();
        assert_eq!((g.objects, g.words), (512, 8));
        let g = Geometry::new(3000, 8).unwrap();
        assert_eq!(
            (g.size, g.order, g.objects),
            (3000, 2, 5),
            "order 0 and 1 waste more than 1/8"
        );
        let g = Geometry::new(8192, 8).unwrap();
        assert_eq!((g.order, g.objects), (1, 1));
        let g = Geometry::new(100, 64).unwrap();
        assert_eq!((g.size, g.objects), (128, 32));
        assert_eq!(Geometry::new(1, 1).unwrap().size, 8);
        assert_eq!(Geometry::new(0, 8), None);
        assert_eq!(Geometry::new(KMEM_CACHE_MAX_SIZE + 1, 8), None);
        assert_eq!(Geometry::new(64, 3), None);
        assert_eq!(Geometry::new(64, 2 * PAGE_SIZE), None);
    }

    #[test]
    fn object_index_matches_division_for_every_offset() {
        for size in [
            8,
            24,
            96,
            192,
            1000,
            3000,
            4096,
            8192,
            10_000,
            KMEM_CACHE_MAX_SIZE,
        ] {
            let g = Geometry::new(size, 8).unwrap();
            for offset in 0..g.slab_bytes() + 64 {
                let expected = (offset % g.size == 0 && offset / g.size < g.objects as usize)
                    .then(|| (offset / g.size) as u32);
                assert_eq!(
                    g.object_index(offset),
                    expected,
                    "size {size}, offset {offset}"
                );
            }
        }
    }
}
