//! Reclaim on a simulated machine: the watermarks of its zone, and the
//! shrinkers asked in order (cheapest first, then as registered), each
//! for at most what it can give, until `high` would be reached; nothing
//! asked above `low`; an allocation that still fails is `NoMemory`.

mod common;

use common::*;
use libsys::proto::mm::{MmError, Reply, Request, PROT_READ, PROT_WRITE};
use mm::reclaim::{plan, Shrinker, Watermarks};

const RW: u8 = PROT_READ | PROT_WRITE;

fn shrinker(seeks: u32, count: u64, asked: u64) -> Shrinker {
    Shrinker {
        id: 0,
        owner: 1,
        bit: 0,
        seeks,
        count,
        asked,
    }
}

#[test]
fn the_plan_asks_cheapest_first_and_stops_at_high() {
    let marks = Watermarks {
        min: 100,
        low: 150,
        high: 200,
    };
    let list = [shrinker(2, 30, 0), shrinker(1, 20, 0), shrinker(2, 500, 0)];
    assert!(plan(150, marks, &list).is_empty(), "at low: nothing");
    // 120 free: 80 wanted: 20 from the cheap one, 30, then 30 of 500.
    assert_eq!(plan(120, marks, &list), vec![(1, 20), (0, 30), (2, 30)]);
    // Pages already asked for count as coming.
    let owing = [shrinker(2, 30, 30), shrinker(1, 20, 0), shrinker(2, 500, 0)];
    assert_eq!(plan(120, marks, &owing), vec![(1, 20), (2, 30)]);
    // Not enough anywhere: everyone gives what they can.
    let poor = [shrinker(2, 3, 0), shrinker(2, 4, 0)];
    assert_eq!(plan(0, marks, &poor), vec![(0, 3), (1, 4)]);
}

#[test]
fn shrinkers_are_signalled_below_low_and_memory_comes_back() {
    // 2048 pages (all DMA): min_free_kbytes 362, so min 90, low 112, high 134.
    let mut w = World::new(2048);
    let marks = w.mm.watermarks()[0];
    assert_eq!((marks.min, marks.low, marks.high), (90, 112, 134));
    w.adopt(1, "");
    w.adopt(2, "");
    let register = |w: &mut World, from, bit, seeks| match w.mm.register_shrinker(from, bit, seeks)
    {
        Ok(id) => id,
        Err(e) => panic!("{e:?}"),
    };
    let cache = register(&mut w, 1, 3, 2);
    let cheap = register(&mut w, 2, 5, 1);
    assert!(w.mm.balance().is_empty(), "plenty free: no one is asked");
    // Each "cache" holds populated memory it reports as freeable.
    let mut held = Vec::new();
    for (from, id) in [(1, cache), (2, cheap)] {
        let Reply::Mapped(at) = w.request(
            from,
            Request::Mmap {
                at: None,
                pages: 64,
                prot: RW,
                populate: true,
            },
        ) else {
            panic!()
        };
        held.push((from, at));
        let report = Request::ShrinkerReport {
            id,
            count: 64,
            freed: 0,
        };
        assert_eq!(w.request(from, report), Reply::Done);
    }
    // Someone else takes memory down to 100 free pages.
    let free = w.mm.free_pages();
    let Reply::Mapped(_) = w.request(
        1,
        Request::Mmap {
            at: None,
            pages: free - 50,
            prot: RW,
            populate: true,
        },
    ) else {
        panic!()
    };
    assert_eq!(w.mm.free_pages(), 50);
    // 84 wanted: the cheap one first (64), then 20 of the other.
    assert_eq!(w.mm.balance(), vec![(2, 5), (1, 3)]);
    assert!(w.mm.balance().is_empty(), "asked already: not asked twice");
    for (i, (from, id)) in [(2, cheap), (1, cache)].into_iter().enumerate() {
        let Reply::Scan(pages) = w.request(from, Request::ShrinkerScan { id }) else {
            panic!()
        };
        assert_eq!(pages, [64, 20][i]);
        let at = held.iter().find(|h| h.0 == from).unwrap().1;
        assert_eq!(w.request(from, Request::Munmap { at, pages }), Reply::Done);
        let report = Request::ShrinkerReport {
            id,
            count: 64 - pages,
            freed: pages,
        };
        assert_eq!(w.request(from, report), Reply::Done);
    }
    assert_eq!(w.mm.free_pages(), 134, "back at high");
    assert!(w.mm.balance().is_empty());
    let stats = w.mm.system_stats();
    assert_eq!((stats.shrinkers, stats.reclaimed_pages), (2, 84));
    assert_eq!(stats.watermarks[0], [90, 112, 134]);
    // Another process's shrinker is not yours.
    let scan = w.request(1, Request::ShrinkerScan { id: cheap });
    assert_eq!(scan, Reply::Error(MmError::NotMapped));
    // An exited process's shrinkers go.
    w.exit(2);
    assert_eq!(w.mm.system_stats().shrinkers, 1);
    w.check();
}

#[test]
fn an_allocation_that_still_fails_is_no_memory_and_counted() {
    let mut w = World::new(256);
    w.adopt(1, "");
    let free = w.mm.free_pages();
    let populate = Request::Mmap {
        at: None,
        pages: free + 1,
        prot: RW,
        populate: true,
    };
    assert_eq!(w.request(1, populate), Reply::Error(MmError::NoMemory));
    assert_eq!(w.mm.system_stats().alloc_failures, 1);
    assert_eq!(w.mm.free_pages(), free, "nothing left behind");
    w.check();
}

#[test]
fn registration_is_bounded_and_checked() {
    let mut w = World::new(256);
    w.adopt(1, "");
    assert_eq!(
        w.mm.register_shrinker(1, 64, 2),
        Err(MmError::InvalidArgument)
    );
    assert_eq!(
        w.mm.register_shrinker(1, 1, 0),
        Err(MmError::InvalidArgument)
    );
    assert_eq!(w.mm.register_shrinker(9, 1, 2), Err(MmError::NotAllowed));
    for bit in 0..4 {
        w.mm.register_shrinker(1, bit, 2).unwrap();
    }
    assert_eq!(w.mm.register_shrinker(1, 5, 2), Err(MmError::OverLimit));
}

#[test]
fn mm_heap_pages_come_from_the_same_buddy_and_are_counted() {
    let mut w = World::new(256);
    w.adopt(1, "");
    let free = w.mm.free_pages();
    let heap = w.mm.kernel_pages();
    let block = heap.alloc(2).unwrap();
    assert_eq!(block % 4, 0, "a buddy block, aligned");
    assert_eq!(w.mm.free_pages(), free - 4);
    assert_eq!(w.mm.system_stats().mm_heap_pages, 4);
    w.mm.check().unwrap();
    assert!(!heap.free(block, 0), "the wrong order changes nothing");
    assert!(!heap.free(block + 1, 2), "not a block");
    assert!(heap.free(block, 2));
    assert!(!heap.free(block, 2), "double free");
    assert_eq!(w.mm.free_pages(), free);
    assert_eq!(heap.pages(), 0);
    w.check();
}

#[test]
fn the_reserve_is_left_to_mm_s_own_heap() {
    // 2048 pages: min 90.
    let mut w = World::new(2048);
    w.mm.keep_reserve();
    w.adopt(1, "");
    let at = w.mmap(1, None, 4096, RW);
    let mut touched = 0;
    while w.write(1, at + touched * PAGE, 1).is_ok() {
        touched += 1;
    }
    assert_eq!(w.mm.free_pages(), 90, "user pages stop at min");
    let dma = w.request(
        1,
        Request::DmaAlloc {
            pages: 1,
            limit: u64::MAX,
            hold: false,
        },
    );
    assert_eq!(dma, Reply::Error(MmError::NoMemory));
    let heap = w.mm.kernel_pages();
    assert!(heap.alloc(0).is_some(), "mm's heap may take the reserve");
    w.mm.check().unwrap();
}
