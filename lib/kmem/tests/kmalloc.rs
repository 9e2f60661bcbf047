//! kmalloc and kfree: size-class selection at every boundary, large
//! allocations, alignment, failures, refused frees, ksize, shrink, and the
//! `GlobalAlloc` adapter called directly (including from a `static`).

mod common;

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;

use common::{HostPages, Shared, SystemPages};
use kmem::{
    kmalloc_index, write_slabinfo, AllocError, FreeError, GfpFlags, Kmalloc, SlabAllocator,
    GFP_ATOMIC, GFP_KERNEL, KMALLOC_MAX_SIZE, KMALLOC_NAMES, KMALLOC_SIZES, PAGE_SIZE,
};

/// The cache whose active object count went up by one, if any.
fn class_used(
    kmalloc: &mut Kmalloc<HostPages>,
    size: usize,
) -> (NonNull<u8>, Option<&'static str>) {
    let before = kmalloc.slabinfo();
    let ptr = kmalloc.kmalloc(size, GFP_KERNEL).unwrap();
    let after = kmalloc.slabinfo();
    let grew: Vec<_> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| a.active_objs == b.active_objs + 1)
        .map(|(_, a)| a.name)
        .collect();
    assert!(grew.len() <= 1);
    (ptr, grew.first().copied())
}

#[test]
fn size_classes_at_every_boundary() {
    let mut kmalloc = Kmalloc::new(HostPages::new());
    for (size, expected, usable) in [
        (1, Some("kmalloc-8"), 8),
        (8, Some("kmalloc-8"), 8),
        (9, Some("kmalloc-16"), 16),
        (96, Some("kmalloc-96"), 96),
        (97, Some("kmalloc-128"), 128),
        (192, Some("kmalloc-192"), 192),
        (193, Some("kmalloc-256"), 256),
        (4097, Some("kmalloc-8k"), 8192),
        (8192, Some("kmalloc-8k"), 8192),
        (8193, None, 16384),
    ] {
        let (ptr, class) = class_used(&mut kmalloc, size);
        assert_eq!(class, expected, "size {size}");
        assert_eq!(kmalloc.ksize(ptr), Ok(usable), "size {size}");
    }
    assert_eq!(
        kmalloc.large_allocations(),
        (1, 4),
        "8193 bytes: one block of 4 pages"
    );
    assert_eq!(kmalloc_index(0), None);
    for (class, &size) in KMALLOC_SIZES.iter().enumerate() {
        assert_eq!(kmalloc_index(size), Some(class));
        assert_eq!(
            kmalloc_index(size + 1),
            KMALLOC_SIZES.get(class + 1).map(|_| class + 1)
        );
    }
    kmalloc.check().unwrap();
}

#[test]
fn alignment_guarantees() {
    let mut kmalloc = Kmalloc::new(HostPages::new());
    for size in (1..=9000).step_by(7).chain(KMALLOC_SIZES) {
        let ptr = kmalloc.kmalloc(size, GFP_KERNEL).unwrap().as_ptr() as usize;
        let class = kmalloc_index(size).map_or(0, |class| KMALLOC_SIZES[class]);
        let guaranteed = if class == 0 {
            PAGE_SIZE
        } else {
            1 << class.trailing_zeros()
        };
        assert_eq!(ptr % guaranteed, 0, "size {size}");
        assert_eq!(ptr % 8, 0);
    }
    for (size, align) in [
        (1, 16),
        (80, 64),
        (100, 128),
        (8, 4096),
        (3000, 8192),
        (10, 16384),
        (20_000, 65536),
    ] {
        let layout = Layout::from_size_align(size, align).unwrap();
        let ptr = kmalloc.alloc_layout(layout, GFP_KERNEL).unwrap();
        assert_eq!(ptr.as_ptr() as usize % align, 0, "{layout:?}");
        assert!(kmalloc.ksize(ptr).unwrap() >= size);
    }
    kmalloc.check().unwrap();
}

#[test]
fn large_allocations_come_from_the_page_source() {
    let pages = Shared::new();
    let mut kmalloc = Kmalloc::new(pages.clone());
    let big = kmalloc.kmalloc(100_000, GFP_KERNEL).unwrap(); // 25 pages: order 5
    assert_eq!(big.as_ptr() as usize % (PAGE_SIZE << 5), 0);
    assert_eq!(kmalloc.ksize(big), Ok(PAGE_SIZE << 5));
    assert_eq!(
        pages.live_pages(),
        32 + 1,
        "the block and a page of owner map"
    );
    let largest = kmalloc.kmalloc(KMALLOC_MAX_SIZE, GFP_KERNEL).unwrap();
    assert_eq!(kmalloc.ksize(largest), Ok(KMALLOC_MAX_SIZE));
    assert_eq!(
        kmalloc.kmalloc(KMALLOC_MAX_SIZE + 1, GFP_KERNEL),
        Err(AllocError::TooLarge)
    );
    assert_eq!(
        kmalloc.kmalloc(usize::MAX, GFP_KERNEL),
        Err(AllocError::TooLarge)
    );
    assert_eq!(kmalloc.kmalloc(0, GFP_KERNEL), Err(AllocError::ZeroSize));

    // SAFETY: a live block of 100,000 bytes.
    unsafe { big.as_ptr().write_bytes(0xaa, 100_000) };
    let inside = NonNull::new(big.as_ptr().wrapping_add(8)).unwrap();
    assert_eq!(
        kmalloc.kfree(inside.as_ptr()),
        Err(FreeError::NotObjectStart)
    );
    assert_eq!(
        kmalloc.kfree(big.as_ptr().wrapping_add(PAGE_SIZE)),
        Err(FreeError::NotOwned)
    );
    kmalloc.kfree(big.as_ptr()).unwrap();
    assert_eq!(
        kmalloc.kfree(big.as_ptr()),
        Err(FreeError::NotOwned),
        "a freed block is forgotten"
    );
    kmalloc.kfree(largest.as_ptr()).unwrap();
    assert_eq!(kmalloc.large_allocations(), (0, 0));
    assert_eq!(pages.live_pages(), 1, "only the map is left");

    let zeroed = kmalloc.kzalloc(50_000, GFP_KERNEL).unwrap();
    // SAFETY: a live, zeroed block of at least 50,000 bytes.
    let block = unsafe { std::slice::from_raw_parts(zeroed.as_ptr(), 50_000) };
    assert!(block.iter().all(|&b| b == 0));
    kmalloc.check().unwrap();
}

#[test]
fn refused_frees_change_nothing() {
    let mut kmalloc = Kmalloc::new(HostPages::new());
    let a = kmalloc.kmalloc(64, GFP_KERNEL).unwrap();
    let b = kmalloc.kmalloc(200, GFP_KERNEL).unwrap();
    let on_heap = Box::new(0u64);
    let before = kmalloc.slabinfo();

    assert_eq!(
        kmalloc.kfree(std::ptr::null_mut()),
        Ok(()),
        "kfree(NULL) is a no-op, as in Linux"
    );
    assert_eq!(
        kmalloc.kfree(&*on_heap as *const u64 as *mut u8),
        Err(FreeError::NotOwned)
    );
    assert_eq!(
        kmalloc.kfree(a.as_ptr().wrapping_add(4)),
        Err(FreeError::NotObjectStart)
    );
    assert_eq!(
        kmalloc.kfree(b.as_ptr().wrapping_add(256)),
        Err(FreeError::DoubleFree),
        "never handed out"
    );
    assert_eq!(kmalloc.slabinfo(), before);

    kmalloc.kfree(a.as_ptr()).unwrap();
    let after = kmalloc.slabinfo();
    assert_eq!(kmalloc.kfree(a.as_ptr()), Err(FreeError::DoubleFree));
    assert_eq!(
        kmalloc.ksize(a),
        Err(FreeError::DoubleFree),
        "ksize of a freed object"
    );
    assert_eq!(kmalloc.slabinfo(), after);
    kmalloc.check().unwrap();
}

#[test]
fn allocation_failure_and_recovery() {
    let pages = Shared::with_limit(0);
    let mut kmalloc = Kmalloc::new(pages.clone());
    assert_eq!(kmalloc.kmalloc(32, GFP_KERNEL), Err(AllocError::NoMemory));
    assert_eq!(
        kmalloc.kmalloc(20_000, GFP_KERNEL),
        Err(AllocError::NoMemory)
    );
    pages.set_limit(Some(1)); // the map fits, the large block does not
    assert_eq!(
        kmalloc.kmalloc(20_000, GFP_KERNEL),
        Err(AllocError::NoMemory)
    );
    assert_eq!(kmalloc.large_allocations(), (0, 0));
    kmalloc.check().unwrap();
    pages.set_limit(None);
    let ptr = kmalloc.kmalloc(32, GFP_ATOMIC).unwrap();
    assert_eq!(
        pages.last_gfp(),
        Some(GFP_ATOMIC),
        "the caller's flags reach the page allocator"
    );
    kmalloc.kfree(ptr.as_ptr()).unwrap();
    assert_eq!(
        kmalloc.kmalloc(32, GFP_KERNEL | GfpFlags::DMA),
        Err(AllocError::BadFlags)
    );
    kmalloc.check().unwrap();
}

/// Memory pressure: when the page source is exhausted, the empty slabs of
/// other caches are given back and the allocation is retried (unless the
/// caller asked for `__GFP_NORETRY`).
#[test]
fn an_exhausted_page_source_reclaims_empty_slabs() {
    let pages = Shared::new();
    let mut kmalloc = Kmalloc::new(pages.clone());
    // Fill 64-byte slabs, then free every object: the slabs stay, empty.
    let held: Vec<_> = (0..640)
        .map(|_| kmalloc.kmalloc(64, GFP_KERNEL).unwrap())
        .collect();
    for ptr in held {
        kmalloc.kfree(ptr.as_ptr()).unwrap();
    }
    let cached: usize = kmalloc.slabinfo().iter().map(|i| i.num_slabs).sum();
    assert!(cached >= 10, "{cached} slabs kept");
    // No page left in the source: only reclaim can serve a new class.
    pages.set_limit(Some(pages.live_pages()));
    assert_eq!(
        kmalloc.kmalloc(1000, GFP_KERNEL | GfpFlags::NORETRY),
        Err(AllocError::NoMemory),
        "NORETRY fails at once"
    );
    let big = kmalloc.kmalloc(1000, GFP_KERNEL).expect("reclaimed a page");
    assert!(
        kmalloc
            .slabinfo()
            .iter()
            .all(|i| i.num_slabs == i.active_slabs),
        "no empty slab left after reclaim"
    );
    // The pages given back serve a large block too.
    let large = kmalloc
        .kmalloc(3 * PAGE_SIZE, GFP_KERNEL)
        .expect("a large block");
    kmalloc.kfree(big.as_ptr()).unwrap();
    kmalloc.kfree(large.as_ptr()).unwrap();
    // Empty slabs again; a large block that needs their pages reclaims
    // them.
    pages.set_limit(None);
    let held: Vec<_> = (0..640)
        .map(|_| kmalloc.kmalloc(64, GFP_KERNEL).unwrap())
        .collect();
    for ptr in held {
        kmalloc.kfree(ptr.as_ptr()).unwrap();
    }
    pages.set_limit(Some(pages.live_pages()));
    let again = kmalloc.kmalloc(3 * PAGE_SIZE, GFP_KERNEL);
    assert!(again.is_ok(), "large allocation after reclaim: {again:?}");
    kmalloc.kfree(again.unwrap().as_ptr()).unwrap();
    kmalloc.check().unwrap();
}

#[test]
fn shrink_slabinfo_and_drop() {
    let pages = Shared::new();
    {
        let mut kmalloc = Kmalloc::new(pages.clone());
        let held: Vec<_> = (0..300)
            .map(|i| kmalloc.kmalloc(1 + i % 700, GFP_KERNEL).unwrap())
            .collect();
        let mut text = String::new();
        write_slabinfo(&mut text, kmalloc.slabinfo()).unwrap();
        assert_eq!(text.lines().count(), 2 + 13);
        for (line, name) in text.lines().skip(2).zip(KMALLOC_NAMES) {
            assert!(line.starts_with(&format!("{name:<17} ")), "{line}");
        }
        let in_use: usize = kmalloc
            .slabinfo()
            .iter()
            .map(|info| info.active_objs - info.in_magazine)
            .sum();
        assert_eq!(in_use, 300);

        for ptr in held {
            kmalloc.kfree(ptr.as_ptr()).unwrap();
        }
        let slab_pages: usize = kmalloc
            .slabinfo()
            .iter()
            .map(|i| i.num_slabs * i.pagesperslab as usize)
            .sum();
        assert_eq!(kmalloc.shrink(), slab_pages, "every slab was empty");
        assert!(kmalloc.slabinfo().iter().all(|info| info.num_slabs == 0));
        kmalloc.check().unwrap();
    }
    assert_eq!(
        pages.live_blocks(),
        0,
        "dropping the allocator returns its metadata"
    );
}

#[test]
fn the_global_alloc_adapter() {
    let heap = SlabAllocator::new(HostPages::new());
    let layout = Layout::from_size_align(40, 8).unwrap();
    // SAFETY: non-zero layouts; every pointer is used within its size and
    // freed once with the layout it was allocated with.
    unsafe {
        let a = heap.alloc(layout);
        assert!(!a.is_null());
        a.write_bytes(7, 40);
        let same = heap.realloc(a, layout, 64);
        assert_eq!(
            same, a,
            "40 and 64 bytes are both kmalloc-64: kept in place"
        );
        let moved = heap.realloc(same, Layout::from_size_align(64, 8).unwrap(), 1000);
        assert_ne!(moved, a);
        assert!(
            std::slice::from_raw_parts(moved, 40)
                .iter()
                .all(|&b| b == 7),
            "contents copied"
        );
        heap.dealloc(moved, Layout::from_size_align(1000, 8).unwrap());

        let zeroed = heap.alloc_zeroed(Layout::from_size_align(3000, 64).unwrap());
        assert_eq!(zeroed as usize % 64, 0);
        assert!(std::slice::from_raw_parts(zeroed, 3000)
            .iter()
            .all(|&b| b == 0));
        heap.dealloc(zeroed, Layout::from_size_align(3000, 64).unwrap());

        let huge = heap.alloc(Layout::from_size_align(KMALLOC_MAX_SIZE + 1, 8).unwrap());
        assert!(huge.is_null(), "too large: null, not a panic");

        let local = 0u8;
        heap.dealloc(&local as *const u8 as *mut u8, layout);
        assert_eq!(
            heap.failed_frees(),
            1,
            "a foreign pointer is counted and ignored"
        );
    }
    assert_eq!(heap.lock().check(), Ok(()));
}

static STATIC_HEAP: SlabAllocator<SystemPages> = SlabAllocator::new(SystemPages);

#[test]
fn the_adapter_works_from_a_static_and_across_threads() {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let mut held = Vec::new();
                for i in 0..2000usize {
                    let layout = Layout::from_size_align(1 + (i * 37 + t) % 5000, 8).unwrap();
                    // SAFETY: a non-zero layout; freed below with it.
                    let ptr = unsafe { STATIC_HEAP.alloc(layout) };
                    assert!(!ptr.is_null());
                    // SAFETY: `layout.size()` bytes are ours.
                    unsafe { ptr.write_bytes(t as u8, layout.size()) };
                    held.push((ptr, layout));
                    if i % 3 == 0 {
                        let (ptr, layout) = held.swap_remove(held.len() / 2);
                        // SAFETY: still ours; no other thread got the same memory.
                        assert!(unsafe { std::slice::from_raw_parts(ptr, layout.size()) }
                            .iter()
                            .all(|&b| b == t as u8));
                        // SAFETY: allocated above with `layout`.
                        unsafe { STATIC_HEAP.dealloc(ptr, layout) };
                    }
                }
                for (ptr, layout) in held {
                    // SAFETY: as above.
                    unsafe { STATIC_HEAP.dealloc(ptr, layout) };
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(STATIC_HEAP.failed_frees(), 0);
    let check = STATIC_HEAP.lock().check();
    assert_eq!(check, Ok(()));
    let in_use: usize = STATIC_HEAP
        .lock()
        .slabinfo()
        .iter()
        .map(|i| i.active_objs - i.in_magazine)
        .sum();
    assert_eq!(in_use, 0);
}
