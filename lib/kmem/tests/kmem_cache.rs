//! Object caches: the slab lists through empty → partial → full → partial
//! → empty, the order slabs are used in, the magazine, statistics and the
//! `/proc/slabinfo` text, constructors, refused and checked frees,
//! allocation failure, shrink and destroy.

mod common;

use std::collections::HashSet;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{HostPages, MisalignedPages, Shared};
use kmem::{
    kmem_cache_alloc, kmem_cache_create, kmem_cache_destroy, kmem_cache_free, kmem_cache_shrink,
    write_slabinfo, AllocError, CreateError, FreeError, GfpFlags, KmemCache, PageSource, SlabFlags,
    SlabInfo, TuneError, GFP_KERNEL, PAGE_SIZE, SLABINFO_HEADER, SLAB_CACHE_DMA,
    SLAB_HWCACHE_ALIGN,
};

fn new_cache<P: PageSource>(name: &'static str, size: usize, source: P) -> KmemCache<P> {
    let cache = kmem_cache_create(name, size, 0, SlabFlags::empty(), None, source).unwrap();
    cache.check().unwrap();
    cache
}

/// (full, partial, empty) slabs.
fn lists<P: PageSource>(cache: &KmemCache<P>) -> (usize, usize, usize) {
    let info = cache.info();
    (info.slabs_full, info.slabs_partial, info.slabs_empty)
}

fn alloc_n<P: PageSource>(cache: &mut KmemCache<P>, n: usize) -> Vec<NonNull<u8>> {
    (0..n).map(|_| cache.alloc(GFP_KERNEL).unwrap()).collect()
}

fn slab_of(ptr: NonNull<u8>) -> usize {
    ptr.as_ptr() as usize & !(PAGE_SIZE - 1)
}

#[test]
fn slabs_move_empty_partial_full_partial_empty() {
    // 512-byte objects: 8 per one-page slab. No magazine: every free goes
    // straight back to its slab.
    let pages = Shared::new();
    let mut cache = new_cache("lists", 512, pages.clone());
    cache.tune(0, 0).unwrap();
    assert_eq!(lists(&cache), (0, 0, 0));

    let first = cache.alloc(GFP_KERNEL).unwrap();
    assert_eq!(
        lists(&cache),
        (0, 1, 0),
        "a new slab, one object out: partial"
    );
    let mut objects = vec![first];
    objects.extend(alloc_n(&mut cache, 6));
    assert_eq!(lists(&cache), (0, 1, 0));
    objects.push(cache.alloc(GFP_KERNEL).unwrap());
    assert_eq!(lists(&cache), (1, 0, 0), "eight out: full");
    cache.check().unwrap();

    cache.free(objects.pop().unwrap()).unwrap();
    assert_eq!(lists(&cache), (0, 1, 0), "one back: partial");
    for object in objects.drain(..) {
        cache.free(object).unwrap();
    }
    assert_eq!(lists(&cache), (0, 0, 1), "all back: empty");
    cache.check().unwrap();

    let page_allocs = pages.allocs();
    let again = cache.alloc(GFP_KERNEL).unwrap();
    assert_eq!(lists(&cache), (0, 1, 0), "the empty slab is used again");
    assert_eq!(
        pages.allocs(),
        page_allocs,
        "without asking the page source"
    );
    assert_eq!(slab_of(again), slab_of(first));
}

#[test]
fn allocation_prefers_partial_then_empty_then_grows() {
    let pages = Shared::new();
    let mut cache = new_cache("order", 512, pages.clone());
    cache.tune(0, 0).unwrap();
    let a = alloc_n(&mut cache, 8); // slab A full
    let b = alloc_n(&mut cache, 8); // slab B full
    assert_eq!(lists(&cache), (2, 0, 0));
    for &object in &b {
        cache.free(object).unwrap();
    }
    cache.free(a[3]).unwrap();
    assert_eq!(lists(&cache), (0, 1, 1), "A partial, B empty");

    let next = cache.alloc(GFP_KERNEL).unwrap();
    assert_eq!(next, a[3], "from the partial slab first");
    assert_eq!(lists(&cache), (1, 0, 1));
    let next = cache.alloc(GFP_KERNEL).unwrap();
    assert_eq!(slab_of(next), slab_of(b[0]), "then from the empty slab");
    assert_eq!(lists(&cache), (1, 1, 0));

    let allocs = pages.allocs();
    let _rest = alloc_n(&mut cache, 7);
    assert_eq!(pages.allocs(), allocs, "no new slab while one has room");
    let _grown = cache.alloc(GFP_KERNEL).unwrap();
    assert_eq!(
        pages.allocs(),
        allocs + 1,
        "then a new slab from the page source"
    );
    assert_eq!(lists(&cache), (2, 1, 0));
    cache.check().unwrap();
}

#[test]
fn the_magazine_defers_frees_until_full_or_drained() {
    let mut cache = new_cache("magazine", 512, HostPages::new());
    let info = cache.info();
    assert_eq!(
        (info.limit, info.batchcount),
        (16, 8),
        "512-byte objects: 16 rounds, flush 8"
    );

    let objects = alloc_n(&mut cache, 24); // three full slabs
    assert_eq!(lists(&cache), (3, 0, 0));
    cache.free(objects[5]).unwrap();
    let info = cache.info();
    assert_eq!(
        (info.active_objs, info.in_magazine, cache.objects_in_use()),
        (24, 1, 23)
    );
    assert_eq!(
        lists(&cache),
        (3, 0, 0),
        "the slab has not seen the free yet"
    );
    assert_eq!(
        cache.alloc(GFP_KERNEL).unwrap(),
        objects[5],
        "the last freed comes back first"
    );
    assert_eq!(cache.info().in_magazine, 0);

    for &object in &objects {
        cache.free(object).unwrap();
    }
    // 16 frees filled the magazine, the 17th flushed the 8 oldest to their
    // slabs (objects 0..8: all of the first slab), 7 more filled it again.
    let info = cache.info();
    assert_eq!(
        (info.in_magazine, info.active_objs, cache.objects_in_use()),
        (16, 16, 0)
    );
    assert_eq!(lists(&cache), (2, 0, 1));
    cache.check().unwrap();

    cache.drain();
    assert_eq!(cache.info().in_magazine, 0);
    assert_eq!(lists(&cache), (0, 0, 3), "every free now reached its slab");
    cache.check().unwrap();
}

#[test]
fn tuning_is_checked() {
    let mut cache = new_cache("tune", 64, HostPages::new());
    let object = cache.alloc(GFP_KERNEL).unwrap();
    cache.free(object).unwrap();
    assert_eq!(cache.tune(33, 8), Err(TuneError::LimitTooLarge));
    assert_eq!(
        cache.info().in_magazine,
        1,
        "a refused setting changes nothing, not even a drain"
    );
    assert_eq!(cache.tune(8, 0), Err(TuneError::BadBatch));
    assert_eq!(cache.tune(8, 9), Err(TuneError::BadBatch));
    assert_eq!(cache.tune(0, 1), Err(TuneError::BadBatch));
    cache.tune(4, 1).unwrap();
    let objects = alloc_n(&mut cache, 6);
    for object in objects {
        cache.free(object).unwrap();
    }
    let info = cache.info();
    assert_eq!((info.limit, info.batchcount, info.in_magazine), (4, 1, 4));
}

#[test]
fn statistics_after_a_known_sequence() {
    // 100 bytes, cache-line aligned: 128-byte objects, 32 per page.
    let mut cache = kmem_cache_create(
        "test_cache",
        100,
        0,
        SLAB_HWCACHE_ALIGN,
        None,
        HostPages::new(),
    )
    .unwrap();
    assert_eq!(
        (cache.object_size(), cache.size(), cache.align()),
        (100, 128, 64)
    );
    let mut objects = alloc_n(&mut cache, 70);
    assert_eq!(
        cache.info(),
        SlabInfo {
            name: "test_cache",
            active_objs: 70,
            num_objs: 96,
            objsize: 128,
            objperslab: 32,
            pagesperslab: 1,
            limit: 32,
            batchcount: 16,
            sharedfactor: 0,
            active_slabs: 3,
            num_slabs: 3,
            sharedavail: 0,
            slabs_full: 2,
            slabs_partial: 1,
            slabs_empty: 0,
            in_magazine: 0,
        }
    );
    for object in objects.drain(..40) {
        cache.free(object).unwrap();
    }
    // 32 frees fill the magazine; the 33rd sends the oldest 16 to their
    // slabs; 7 more: 24 in the magazine, 70 - 16 allocated for the slabs.
    let info = cache.info();
    assert_eq!(
        (info.active_objs, info.in_magazine, cache.objects_in_use()),
        (54, 24, 30)
    );
    cache.drain();
    let info = cache.info();
    assert_eq!(
        (
            info.active_objs,
            info.num_objs,
            info.active_slabs,
            info.num_slabs
        ),
        (30, 96, 2, 3)
    );
    assert_eq!(
        (info.slabs_full, info.slabs_partial, info.slabs_empty),
        (0, 2, 1)
    );
    cache.check().unwrap();
}

#[test]
fn slabinfo_has_the_linux_format() {
    let mut dentry =
        kmem_cache_create("dentry", 192, 0, SlabFlags::empty(), None, HostPages::new()).unwrap();
    let mut inode = kmem_cache_create(
        "inode_cache",
        600,
        8,
        SlabFlags::empty(),
        None,
        HostPages::new(),
    )
    .unwrap();
    let _d = alloc_n(&mut dentry, 25);
    let _i = alloc_n(&mut inode, 7);
    assert_eq!(
        dentry.info().to_string(),
        "dentry                25     42    192   21    1 : tunables   32   16    0 : slabdata      2      2      0"
    );
    let mut text = String::new();
    write_slabinfo(&mut text, [dentry.info(), inode.info()]).unwrap();
    assert_eq!(
        text,
        "slabinfo - version: 2.1\n\
         # name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n\
         dentry                25     42    192   21    1 : tunables   32   16    0 : slabdata      2      2      0\n\
         inode_cache            7     12    600    6    1 : tunables   16    8    0 : slabdata      2      2      0\n"
    );
    assert!(text.starts_with(SLABINFO_HEADER));
}

static CONSTRUCTED: AtomicUsize = AtomicUsize::new(0);
const MAGIC: u64 = 0x5ab1_e0b7_ec75_cafe;

fn construct(object: *mut u8) {
    CONSTRUCTED.fetch_add(1, Ordering::SeqCst);
    // SAFETY: kmem passes a pointer to a whole, 8-aligned object of the
    // cache, which is 256 bytes.
    unsafe { object.cast::<u64>().write(MAGIC) };
}

#[test]
fn the_constructor_runs_once_per_object_when_its_slab_is_made() {
    let mut cache = kmem_cache_create(
        "ctor",
        256,
        0,
        SlabFlags::empty(),
        Some(construct),
        HostPages::new(),
    )
    .unwrap();
    assert_eq!(
        CONSTRUCTED.load(Ordering::SeqCst),
        0,
        "nothing before the first slab"
    );
    let first = cache.alloc(GFP_KERNEL).unwrap();
    assert_eq!(
        CONSTRUCTED.load(Ordering::SeqCst),
        16,
        "a whole slab of 16 at once"
    );
    let mut objects = vec![first];
    objects.extend(alloc_n(&mut cache, 15));
    assert_eq!(
        CONSTRUCTED.load(Ordering::SeqCst),
        16,
        "taking them runs nothing"
    );
    for &object in &objects {
        // SAFETY: a live 256-byte object of this cache.
        assert_eq!(unsafe { object.cast::<u64>().read() }, MAGIC);
    }
    for _ in 0..100 {
        let object = objects.pop().unwrap();
        cache.free(object).unwrap();
        objects.push(cache.alloc(GFP_KERNEL).unwrap());
    }
    assert_eq!(
        CONSTRUCTED.load(Ordering::SeqCst),
        16,
        "free and alloc again: no constructor"
    );
    objects.push(cache.alloc(GFP_KERNEL).unwrap());
    assert_eq!(CONSTRUCTED.load(Ordering::SeqCst), 32, "a second slab");
    assert_eq!(
        cache.alloc(GFP_KERNEL | GfpFlags::ZERO),
        Err(AllocError::BadFlags),
        "zeroing would undo it"
    );
    for object in objects {
        cache.free(object).unwrap();
    }
    assert_eq!(cache.shrink(), 2);
    let _again = cache.alloc(GFP_KERNEL).unwrap();
    assert_eq!(
        CONSTRUCTED.load(Ordering::SeqCst),
        48,
        "a new slab after shrink is constructed anew"
    );
}

#[test]
fn bad_frees_are_refused_and_change_nothing() {
    for magazine in [true, false] {
        let mut cache = new_cache("frees", 3000, HostPages::new());
        let mut other = new_cache("other", 3000, HostPages::new());
        if !magazine {
            cache.tune(0, 0).unwrap();
        }
        // 3000-byte objects: 5 in a 4-page slab, 1384 bytes left at the end.
        assert_eq!((cache.info().objperslab, cache.info().pagesperslab), (5, 4));
        let objects = alloc_n(&mut cache, 3);
        let stranger = other.alloc(GFP_KERNEL).unwrap();
        let heap = Box::new([0u8; 64]);
        let on_stack = 0u64;
        let before = cache.info();

        let base = objects[0].as_ptr() as usize;
        let refused = [
            (NonNull::from(&*heap).cast::<u8>(), FreeError::NotOwned),
            (NonNull::from(&on_stack).cast::<u8>(), FreeError::NotOwned),
            (stranger, FreeError::NotOwned),
            (
                NonNull::new((base + 1) as *mut u8).unwrap(),
                FreeError::NotObjectStart,
            ),
            (
                NonNull::new((base + 1500) as *mut u8).unwrap(),
                FreeError::NotObjectStart,
            ),
            (
                NonNull::new((base + 15_000) as *mut u8).unwrap(),
                FreeError::NotObjectStart,
            ),
            (
                NonNull::new((base + 4 * PAGE_SIZE) as *mut u8).unwrap(),
                FreeError::NotOwned,
            ),
            (
                NonNull::new((base + 3 * 3000) as *mut u8).unwrap(),
                FreeError::DoubleFree,
            ),
        ];
        for (pointer, error) in refused {
            assert_eq!(cache.free(pointer), Err(error), "{pointer:?}");
            assert_eq!(cache.info(), before);
            cache.check().unwrap();
        }

        cache.free(objects[1]).unwrap();
        let after_one = cache.info();
        assert_eq!(
            kmem_cache_free(&mut cache, objects[1]),
            Err(FreeError::DoubleFree),
            "double free"
        );
        assert_eq!(cache.info(), after_one);
        cache.check().unwrap();
        assert_eq!(
            other.free(objects[0]),
            Err(FreeError::NotOwned),
            "another cache's object"
        );
    }
}

#[test]
fn a_refusing_page_source_leaves_the_cache_consistent() {
    // Refuses everything: not even metadata.
    let pages = Shared::with_limit(0);
    let mut cache = new_cache("refused", 64, pages.clone());
    assert_eq!(cache.alloc(GFP_KERNEL), Err(AllocError::NoMemory));
    assert_eq!(lists(&cache), (0, 0, 0));
    cache.check().unwrap();

    // Metadata fits (descriptors, two bitmaps, the map: 4 pages) but the
    // slab itself is refused.
    pages.set_limit(Some(4));
    assert_eq!(cache.alloc(GFP_KERNEL), Err(AllocError::NoMemory));
    assert_eq!(cache.info().num_slabs, 0);
    cache.check().unwrap();

    // Room for two slabs: 128 objects, then NoMemory, then recovery.
    pages.set_limit(Some(6));
    let mut objects = alloc_n(&mut cache, 128);
    assert_eq!(cache.alloc(GFP_KERNEL), Err(AllocError::NoMemory));
    assert_eq!(lists(&cache), (2, 0, 0));
    cache.check().unwrap();
    let distinct: HashSet<_> = objects.iter().collect();
    assert_eq!(distinct.len(), 128);

    let back = objects.pop().unwrap();
    cache.free(back).unwrap();
    assert_eq!(
        cache.alloc(GFP_KERNEL),
        Ok(back),
        "a freed object is served without new pages"
    );
    pages.set_limit(None);
    assert!(
        cache.alloc(GFP_KERNEL).is_ok(),
        "and the cache grows again once memory is back"
    );
    cache.check().unwrap();
}

#[test]
fn a_misaligned_page_source_is_caught() {
    // 3000-byte objects: 4-page slabs, which must be 16 KiB-aligned; the
    // source returns blocks aligned only to a page.
    let mut cache = new_cache("misaligned", 3000, MisalignedPages(HostPages::new()));
    assert_eq!(cache.alloc(GFP_KERNEL), Err(AllocError::MisalignedPages));
    assert_eq!(cache.info().num_slabs, 0);
    assert_eq!(
        cache.source().0.live_blocks(),
        4,
        "only the metadata: the bad block went back"
    );
    cache.check().unwrap();
}

#[test]
fn shrink_releases_exactly_the_empty_slabs() {
    let pages = Shared::new();
    let mut cache = new_cache("shrink", 512, pages.clone());
    let objects = alloc_n(&mut cache, 40); // five full slabs of 8
    for (i, &object) in objects.iter().enumerate() {
        // SAFETY: a live 512-byte object.
        unsafe { object.as_ptr().write_bytes(i as u8, 512) };
    }
    let (empty_slabs, kept): (Vec<_>, Vec<_>) = objects.iter().enumerate().partition(|(i, _)| {
        let slab = i / 8;
        slab == 0 || slab == 2 || slab == 4 || (slab == 1 && i % 2 == 0)
    });
    for (_, &object) in &empty_slabs {
        cache.free(object).unwrap();
    }
    let live_pages = pages.live_pages();

    assert_eq!(kmem_cache_shrink(&mut cache), 3, "slabs 0, 2 and 4");
    assert_eq!(lists(&cache), (1, 1, 0), "slab 3 full, slab 1 half full");
    assert_eq!(pages.live_pages(), live_pages - 3);
    assert_eq!(cache.shrink(), 0, "nothing left to give");
    for &(i, &object) in &kept {
        // SAFETY: still live.
        assert!(unsafe { std::slice::from_raw_parts(object.as_ptr(), 512) }
            .iter()
            .all(|&b| b == i as u8));
    }
    cache.check().unwrap();
}

#[test]
fn destroy_refuses_while_objects_are_in_use_then_gives_everything_back() {
    let pages = Shared::new();
    let mut cache = new_cache("destroy", 64, pages.clone());
    let objects = alloc_n(&mut cache, 100);
    let error = kmem_cache_destroy(cache).unwrap_err();
    assert_eq!(error.in_use, 100);
    let mut cache = error.cache;
    for object in objects {
        kmem_cache_free(&mut cache, object).unwrap();
    }
    assert!(pages.live_pages() > 0);
    let _source = cache.destroy().unwrap();
    assert_eq!(pages.live_blocks(), 0, "slabs and metadata all returned");
}

#[test]
fn dropping_a_cache_returns_its_memory_but_not_live_slabs() {
    let pages = Shared::new();
    {
        let mut cache = new_cache("drop", 64, pages.clone());
        let object = kmem_cache_alloc(&mut cache, GFP_KERNEL).unwrap();
        cache.free(object).unwrap();
    }
    assert_eq!(pages.live_blocks(), 0);
    {
        let mut cache = new_cache("leak", 64, pages.clone());
        let _held = cache.alloc(GFP_KERNEL).unwrap();
    }
    assert_eq!(pages.live_pages(), 5, "the live slab and its metadata stay");
}

#[test]
fn creation_is_checked() {
    let create = |size, align| {
        kmem_cache_create(
            "bad",
            size,
            align,
            SlabFlags::empty(),
            None,
            HostPages::new(),
        )
        .map(|_| ())
    };
    assert_eq!(create(0, 0), Err(CreateError::ZeroSize));
    assert_eq!(create(64, 3), Err(CreateError::BadAlign));
    assert_eq!(create(64, 2 * PAGE_SIZE), Err(CreateError::BadAlign));
    assert_eq!(
        create(kmem::KMEM_CACHE_MAX_SIZE + 1, 0),
        Err(CreateError::TooLarge)
    );
    assert_eq!(create(kmem::KMEM_CACHE_MAX_SIZE, 0), Ok(()));
    assert_eq!(create(1, 0), Ok(()));
}

#[test]
fn objects_are_aligned_and_zeroed_on_request() {
    for align in [8, 16, 64, 256, 4096] {
        let mut cache = kmem_cache_create(
            "aligned",
            24,
            align,
            SlabFlags::empty(),
            None,
            HostPages::new(),
        )
        .unwrap();
        for object in alloc_n(&mut cache, 50) {
            assert_eq!(object.as_ptr() as usize % align, 0);
        }
    }
    let mut cache = new_cache("zero", 100, HostPages::new());
    let dirty = cache.alloc(GFP_KERNEL).unwrap();
    // SAFETY: a live 100-byte object.
    unsafe { dirty.as_ptr().write_bytes(0xff, 100) };
    cache.free(dirty).unwrap();
    let clean = cache.alloc(GFP_KERNEL | GfpFlags::ZERO).unwrap();
    assert_eq!(clean, dirty);
    // SAFETY: as above.
    assert!(unsafe { std::slice::from_raw_parts(clean.as_ptr(), 100) }
        .iter()
        .all(|&b| b == 0));
    assert_eq!(
        cache.alloc(GFP_KERNEL | GfpFlags::DMA),
        Err(AllocError::BadFlags)
    );
}

#[test]
fn dma_caches_ask_for_dma_pages() {
    let pages = Shared::new();
    let mut cache = kmem_cache_create("dma", 64, 0, SLAB_CACHE_DMA, None, pages.clone()).unwrap();
    let _object = cache.alloc(GFP_KERNEL).unwrap();
    assert_eq!(
        pages.last_gfp(),
        Some(GFP_KERNEL | GfpFlags::DMA),
        "the slab's pages are DMA pages"
    );
}
