//! Random alloc/free stress with content checks: every object is filled
//! with a pattern of its own when allocated and checked just before it is
//! freed, so two live objects that overlapped would show. Runs over named
//! caches (with and without magazines, with and without a constructor) and
//! over kmalloc (all classes and large blocks), with seeded randomness, the
//! full invariant check every few hundred steps, and a leak check at the
//! end.

mod common;

use std::collections::BTreeMap;
use std::ptr::NonNull;

use common::Shared;
use kmem::{kmem_cache_create, AllocError, Kmalloc, KmemCache, SlabFlags, GFP_KERNEL};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Live objects: start → (length, pattern seed).
#[derive(Default)]
struct Live(BTreeMap<usize, (usize, u8)>);

/// The pattern of an object: word i of it is `seed * K + i`, then the
/// tail bytes. Objects are at least 8-aligned, so words are aligned.
fn pattern_word(seed: u8, i: usize) -> u64 {
    u64::from(seed).wrapping_mul(0x0101_0101_0101_0101)
        ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl Live {
    fn add(&mut self, ptr: NonNull<u8>, len: usize, seed: u8) {
        let start = ptr.as_ptr() as usize;
        assert_eq!(start % 8, 0);
        if let Some((&s, &(l, _))) = self.0.range(..start + len).next_back() {
            assert!(s + l <= start, "{start:#x}+{len} overlaps live {s:#x}+{l}");
        }
        // SAFETY: a freshly allocated, 8-aligned object of at least `len`
        // bytes; it holds `len / 8` whole words and then the tail bytes.
        unsafe {
            let words = std::slice::from_raw_parts_mut(ptr.as_ptr().cast::<u64>(), len / 8);
            for (i, word) in words.iter_mut().enumerate() {
                *word = pattern_word(seed, i);
            }
            for i in len / 8 * 8..len {
                *ptr.as_ptr().add(i) = seed ^ i as u8;
            }
        }
        self.0.insert(start, (len, seed));
    }

    fn take(&mut self, rng: &mut Rng) -> Option<NonNull<u8>> {
        let key = *self.0.keys().nth(rng.below(self.0.len().max(1)))?;
        let (len, seed) = self.0.remove(&key).unwrap();
        // SAFETY: a live object of `len` bytes, written by `add`.
        unsafe {
            let words = std::slice::from_raw_parts(key as *const u64, len / 8);
            for (i, &word) in words.iter().enumerate() {
                assert_eq!(
                    word,
                    pattern_word(seed, i),
                    "object {key:#x} corrupted at word {i}"
                );
            }
            for i in len / 8 * 8..len {
                assert_eq!(
                    *(key as *const u8).add(i),
                    seed ^ i as u8,
                    "object {key:#x} corrupted at byte {i}"
                );
            }
        }
        NonNull::new(key as *mut u8)
    }
}

fn stress_cache(cache: &mut KmemCache<Shared>, seed: u64, steps: usize) {
    let mut rng = Rng(seed);
    let mut live = Live::default();
    let size = cache.object_size();
    for step in 0..steps {
        // Phases of growth and shrinkage, so slabs fill and empty.
        let grow = (step / 1000) % 2 == 0;
        if live.0.is_empty() || rng.below(100) < if grow { 65 } else { 35 } {
            match cache.alloc(GFP_KERNEL) {
                Ok(ptr) => live.add(ptr, size, rng.next() as u8),
                Err(AllocError::NoMemory) => {}
                Err(other) => panic!("{other:?}"),
            }
        } else {
            let ptr = live.take(&mut rng).unwrap();
            cache.free(ptr).unwrap();
        }
        if rng.below(500) == 0 {
            cache.shrink();
        }
        if step % 500 == 0 {
            cache.check().unwrap_or_else(|e| panic!("step {step}: {e}"));
            assert_eq!(cache.objects_in_use(), live.0.len());
        }
    }
    while let Some(ptr) = live.take(&mut rng) {
        cache.free(ptr).unwrap();
    }
    cache.check().unwrap();
}

#[test]
fn caches_under_random_load() {
    for (size, align, magazine, limit) in [
        (8, 0, true, None),
        (64, 0, true, None),
        (100, 64, false, None),
        (700, 0, true, Some(40)),
        (3000, 0, false, None),
        (3000, 0, true, Some(30)),
        (20_000, 0, true, None),
    ] {
        for seed in [1, 77, 0xdead_beef] {
            let pages = match limit {
                Some(pages) => Shared::with_limit(pages),
                None => Shared::new(),
            };
            let mut cache = kmem_cache_create(
                "stress",
                size,
                align,
                SlabFlags::empty(),
                None,
                pages.clone(),
            )
            .unwrap();
            if !magazine {
                cache.tune(0, 0).unwrap();
            }
            stress_cache(&mut cache, seed, 6000);
            let _source = cache.destroy().unwrap();
            assert_eq!(pages.live_blocks(), 0, "size {size}: pages leaked");
        }
    }
}

#[test]
fn kmalloc_under_random_load() {
    for seed in [3, 99, 12345] {
        let pages = Shared::with_limit(2000);
        {
            let mut kmalloc = Kmalloc::new(pages.clone());
            let mut rng = Rng(seed);
            let mut live = Live::default();
            for step in 0..8000 {
                if live.0.is_empty() || rng.below(100) < 55 {
                    let size = match rng.below(10) {
                        0..=6 => 1 + rng.below(256),
                        7 | 8 => 1 + rng.below(8192),
                        _ => 8193 + rng.below(200_000),
                    };
                    match kmalloc.kmalloc(size, GFP_KERNEL) {
                        Ok(ptr) => live.add(ptr, size, rng.next() as u8),
                        Err(AllocError::NoMemory) => {}
                        Err(other) => panic!("{other:?}"),
                    }
                } else {
                    let ptr = live.take(&mut rng).unwrap();
                    kmalloc.kfree(ptr.as_ptr()).unwrap();
                }
                if step % 500 == 0 {
                    kmalloc
                        .check()
                        .unwrap_or_else(|e| panic!("step {step}: {e}"));
                }
            }
            while let Some(ptr) = live.take(&mut rng) {
                kmalloc.kfree(ptr.as_ptr()).unwrap();
            }
            kmalloc.check().unwrap();
            let (blocks, pages_held) = kmalloc.large_allocations();
            assert_eq!((blocks, pages_held), (0, 0));
        }
        assert_eq!(pages.live_blocks(), 0, "kmalloc leaked pages");
    }
}
