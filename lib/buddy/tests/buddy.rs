//! Targeted tests of the buddy allocator: zone fallback, exhaustion and
//! recovery, every kind of bad free, the `/proc/buddyinfo` text, the
//! reclaim-and-retry loop and `__GFP_ZERO`.

use buddy::{
    AllocError, BuddyAllocator, FreeError, GfpFlags, InitError, PageBlock, PhysAddr, ZoneType,
    GFP_ATOMIC, GFP_DMA, GFP_DMA32, GFP_KERNEL, MAX_RECLAIM_RETRIES, PAGE_SIZE,
};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

fn buddy(ranges: &[(u64, u64)]) -> BuddyAllocator {
    let regions: Vec<_> = ranges
        .iter()
        .map(|&(start, end)| (PhysAddr::new(start), PhysAddr::new(end)))
        .collect();
    BuddyAllocator::new(&regions).unwrap()
}

/// 4 pages in each zone.
fn three_zones() -> BuddyAllocator {
    buddy(&[
        (MIB, MIB + 16 * KIB),
        (16 * MIB, 16 * MIB + 16 * KIB),
        (4 * GIB, 4 * GIB + 16 * KIB),
    ])
}

fn take_all(buddy: &mut BuddyAllocator, gfp: GfpFlags) -> Vec<PageBlock> {
    std::iter::from_fn(|| buddy.alloc_page(gfp).ok()).collect()
}

fn zones_of(blocks: &[PageBlock]) -> Vec<ZoneType> {
    blocks.iter().map(|block| block.zone).collect()
}

#[test]
fn normal_falls_back_to_dma32_then_dma() {
    let mut buddy = three_zones();
    let blocks = take_all(&mut buddy, GFP_KERNEL);
    use ZoneType::*;
    assert_eq!(
        zones_of(&blocks),
        [Normal, Normal, Normal, Normal, Dma32, Dma32, Dma32, Dma32, Dma, Dma, Dma, Dma]
    );
    for block in &blocks {
        assert_eq!(ZoneType::of(block.addr.as_u64()), block.zone);
    }
    assert_eq!(buddy.alloc_page(GFP_KERNEL), Err(AllocError::NoMemory));
}

#[test]
fn dma32_never_gets_normal_memory() {
    let mut buddy = three_zones();
    let blocks = take_all(&mut buddy, GFP_KERNEL | GFP_DMA32);
    use ZoneType::*;
    assert_eq!(
        zones_of(&blocks),
        [Dma32, Dma32, Dma32, Dma32, Dma, Dma, Dma, Dma]
    );
    assert_eq!(
        buddy.zone(Normal).free_pages(),
        4,
        "Normal memory must be left alone"
    );
}

#[test]
fn dma_only_gets_dma_memory() {
    let mut buddy = three_zones();
    let blocks = take_all(&mut buddy, GFP_KERNEL | GFP_DMA);
    assert_eq!(zones_of(&blocks), [ZoneType::Dma; 4]);
    assert_eq!(buddy.free_pages_count(), 8);
    assert_eq!(
        buddy.alloc_page(GFP_ATOMIC | GFP_DMA),
        Err(AllocError::NoMemory)
    );
}

#[test]
fn both_zone_modifiers_are_refused() {
    let mut buddy = three_zones();
    assert_eq!(
        buddy.alloc_page(GFP_DMA | GFP_DMA32),
        Err(AllocError::InvalidZoneFlags)
    );
    assert_eq!(buddy.free_pages_count(), 12);
}

#[test]
fn exhaustion_then_recovery() {
    let mut buddy = buddy(&[(0, 64 * KIB)]);
    let initial = buddy.buddyinfo().to_string();
    let mut blocks = take_all(&mut buddy, GFP_KERNEL);
    assert_eq!(blocks.len(), 16);
    assert_eq!(buddy.free_pages_count(), 0);
    assert_eq!(buddy.alloc_page(GFP_KERNEL), Err(AllocError::NoMemory));

    let one = blocks.pop().unwrap();
    buddy.free_page(one.addr).unwrap();
    assert_eq!(buddy.alloc_page(GFP_KERNEL).unwrap().addr, one.addr);

    // Every even page free: 8 pages, but no two of them buddies.
    for block in blocks.iter().step_by(2) {
        buddy.free_page(block.addr).unwrap();
    }
    assert_eq!(buddy.free_pages_count(), 8);
    assert_eq!(buddy.zone(ZoneType::Dma).nr_free(0), 8);
    assert_eq!(buddy.alloc_pages(GFP_KERNEL, 1), Err(AllocError::NoMemory));
    buddy.check().unwrap();

    buddy.free_page(one.addr).unwrap();
    for block in blocks.iter().skip(1).step_by(2) {
        buddy.free_page(block.addr).unwrap();
    }
    assert_eq!(buddy.buddyinfo().to_string(), initial);
    assert!(
        buddy.alloc_pages(GFP_KERNEL, 4).is_ok(),
        "fully merged again"
    );
}

#[test]
fn orders_above_ten_are_errors() {
    let mut buddy = buddy(&[(0, 64 * MIB)]);
    assert_eq!(
        buddy.alloc_pages(GFP_KERNEL, 11),
        Err(AllocError::InvalidOrder(11))
    );
    assert_eq!(
        buddy.alloc_pages(GFP_KERNEL, u32::MAX),
        Err(AllocError::InvalidOrder(u32::MAX))
    );
    assert_eq!(
        buddy.free_pages(PhysAddr::new(0), 11),
        Err(FreeError::InvalidOrder(11))
    );
    let block = buddy.alloc_pages(GFP_KERNEL, 10).unwrap();
    assert_eq!(block.size(), 4 * MIB);
}

#[test]
fn bad_frees_are_refused_and_change_nothing() {
    let mut buddy = buddy(&[(0, 2 * MIB)]);
    let block = buddy.alloc_pages(GFP_KERNEL, 2).unwrap();
    let addr = block.addr;
    let before = buddy.buddyinfo().to_string();
    let free_before = buddy.free_pages_count();

    let cases = [
        (addr + 1u64, 2, FreeError::Misaligned(addr + 1u64)),
        (
            PhysAddr::new(2 * MIB),
            0,
            FreeError::NotManaged(PhysAddr::new(2 * MIB)),
        ),
        (
            PhysAddr::new(GIB),
            2,
            FreeError::NotManaged(PhysAddr::new(GIB)),
        ),
        (
            addr,
            1,
            FreeError::WrongOrder {
                addr,
                allocated: 2,
                given: 1,
            },
        ),
        (
            addr,
            3,
            FreeError::WrongOrder {
                addr,
                allocated: 2,
                given: 3,
            },
        ),
        (
            addr + PAGE_SIZE,
            0,
            FreeError::NotAllocated(addr + PAGE_SIZE),
        ),
        (
            addr + 4 * PAGE_SIZE,
            2,
            FreeError::NotAllocated(addr + 4 * PAGE_SIZE),
        ),
    ];
    for (bad, order, expected) in cases {
        assert_eq!(buddy.free_pages(bad, order), Err(expected));
        assert_eq!(buddy.buddyinfo().to_string(), before);
        assert_eq!(buddy.free_pages_count(), free_before);
    }

    buddy.free_pages(addr, 2).unwrap();
    let after_free = buddy.buddyinfo().to_string();
    assert_eq!(
        buddy.free_pages(addr, 2),
        Err(FreeError::NotAllocated(addr)),
        "double free"
    );
    assert_eq!(buddy.buddyinfo().to_string(), after_free);
    buddy.check().unwrap();
}

#[test]
fn init_trims_merges_and_skips() {
    // Unaligned ends are trimmed, an empty region skipped, overlaps counted once.
    let buddy = buddy(&[
        (0x1234, 0x3456),
        (0x7000, 0x7fff),
        (0x10000, 0x20000),
        (0x18000, 0x30000),
        (0x30000, 0x31000),
    ]);
    assert_eq!(buddy.total_pages(), 1 + 0x21);
    assert_eq!(buddy.free_pages_count(), buddy.total_pages());

    let mut empty = BuddyAllocator::new(&[]).unwrap();
    assert_eq!(empty.total_pages(), 0);
    assert_eq!(empty.alloc_page(GFP_KERNEL), Err(AllocError::NoMemory));
    assert_eq!(empty.buddyinfo().to_string(), "");
}

#[test]
fn init_refuses_too_many_pages() {
    let huge = [(PhysAddr::new(0), PhysAddr::new(1 << 46))];
    assert_eq!(
        BuddyAllocator::new(&huge).err(),
        Some(InitError::TooManyPages)
    );
}

#[test]
fn buddyinfo_has_the_linux_format() {
    // DMA: 160 pages below 640 KiB (one order-7 and one order-5 block)
    // and 1 MiB..16 MiB (one each of orders 8 and 9, three of order 10);
    // DMA32: one order-10 block and one page. Normal is empty: not shown.
    let mut buddy = buddy(&[
        (0, 0xa0000),
        (MIB, 16 * MIB),
        (16 * MIB, 20 * MIB + 4 * KIB),
    ]);
    assert_eq!(
        buddy.buddyinfo().to_string(),
        "Node 0, zone      DMA      0      0      0      0      0      1      0      1      1      1      3 \n\
         Node 0, zone    DMA32      1      0      0      0      0      0      0      0      0      0      1 \n"
    );
    // The first page comes from the DMA32 single page, the second splits
    // the order-10 block: one block of each order 0..=9 is left over.
    let first = buddy.alloc_page(GFP_KERNEL).unwrap();
    assert_eq!(first.addr.as_u64(), 20 * MIB);
    let second = buddy.alloc_page(GFP_KERNEL).unwrap();
    assert_eq!(second.addr.as_u64(), 16 * MIB);
    assert_eq!(
        buddy.buddyinfo().to_string(),
        "Node 0, zone      DMA      0      0      0      0      0      1      0      1      1      1      3 \n\
         Node 0, zone    DMA32      1      1      1      1      1      1      1      1      1      1      0 \n"
    );
    assert_eq!(buddy.zone(ZoneType::Dma32).free_pages(), 1023);
    assert_eq!(buddy.zone(ZoneType::Dma32).present_pages(), 1025);
    assert_eq!(buddy.zone(ZoneType::Dma).present_pages(), 160 + 3840);
}

#[test]
fn reclaim_hook_gets_memory_back() {
    let mut buddy = buddy(&[(0, 16 * KIB)]);
    let mut cache = take_all(&mut buddy, GFP_KERNEL); // a "slab cache" holding every page
    let mut calls = 0;
    let block = buddy
        .alloc_pages_reclaim(GFP_KERNEL, 0, |buddy, gfp, order| {
            calls += 1;
            assert_eq!((gfp, order), (GFP_KERNEL, 0));
            let victim = cache.pop().unwrap();
            buddy.free_page(victim.addr).is_ok()
        })
        .unwrap();
    assert_eq!(calls, 1);
    assert_eq!(block.order, 0);
}

#[test]
fn reclaim_is_bounded_and_respects_the_flags() {
    let mut buddy = buddy(&[(0, 16 * KIB)]);
    let _all = take_all(&mut buddy, GFP_KERNEL);

    let mut calls = 0;
    let hopeful = buddy.alloc_pages_reclaim(GFP_KERNEL, 0, |_, _, _| {
        calls += 1;
        true // claims progress but frees nothing
    });
    assert_eq!(hopeful, Err(AllocError::NoMemory));
    assert_eq!(calls, MAX_RECLAIM_RETRIES);

    let mut calls = 0;
    let stuck = buddy.alloc_pages_reclaim(GFP_KERNEL, 0, |_, _, _| {
        calls += 1;
        false
    });
    assert_eq!((stuck, calls), (Err(AllocError::NoMemory), 1));

    for gfp in [GFP_ATOMIC, GFP_KERNEL | GfpFlags::NORETRY] {
        let result =
            buddy.alloc_pages_reclaim(gfp, 0, |_, _, _| panic!("{gfp:?} must not reclaim"));
        assert_eq!(result, Err(AllocError::NoMemory));
    }
}

#[test]
fn gfp_zero_is_reported_to_the_caller() {
    let mut buddy = buddy(&[(0, 64 * KIB)]);
    assert!(
        buddy
            .alloc_page(GFP_KERNEL | GfpFlags::ZERO)
            .unwrap()
            .must_zero
    );
    assert!(!buddy.alloc_page(GFP_KERNEL).unwrap().must_zero);
}

#[test]
fn blocks_never_straddle_a_zone_boundary() {
    // 12 MiB..20 MiB: order-10 blocks (4 MiB) on both sides of 16 MiB.
    let mut buddy = buddy(&[(12 * MIB + 4 * KIB, 20 * MIB)]);
    let blocks: Vec<_> = std::iter::from_fn(|| buddy.alloc_pages(GFP_KERNEL, 10).ok()).collect();
    assert_eq!(
        blocks.len(),
        1,
        "only 16..20 MiB holds a whole aligned 4 MiB block"
    );
    assert_eq!(blocks[0].addr.as_u64(), 16 * MIB);
    assert_eq!(blocks[0].zone, ZoneType::Dma32);
    let dma = buddy.alloc_pages(GFP_KERNEL, 9).unwrap();
    assert_eq!((dma.zone, dma.addr.as_u64()), (ZoneType::Dma, 14 * MIB));
    buddy.check().unwrap();
}
