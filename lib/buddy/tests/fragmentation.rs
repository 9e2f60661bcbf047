//! External fragmentation, and coalescing: half the memory free, yet no
//! two free pages are buddies, so not even an order-1 block can be had;
//! freeing the other half merges everything back into one order-10 block.
//! (`docs/labs.md`, lab 1, starts from this test.)

use buddy::{BuddyAllocator, PhysAddr, ZoneType, GFP_DMA32};

#[test]
fn fragmentation_and_coalescing() {
    // 4 MiB of RAM at 16 MiB: 1024 pages in ZONE_DMA32, one order-10 block.
    let start = 16 << 20;
    let mut buddy =
        BuddyAllocator::new(&[(PhysAddr::new(start), PhysAddr::new(start + (4 << 20)))]).unwrap();
    print!("fresh:      {}", buddy.buddyinfo());

    // Take every page, one at a time.
    let pages: Vec<_> = std::iter::from_fn(|| buddy.alloc_page(GFP_DMA32).ok()).collect();
    print!("all taken:  {}", buddy.buddyinfo());
    assert_eq!(pages.len(), 1024);

    // Give back every other page: half the memory is free...
    for page in pages.iter().step_by(2) {
        buddy.free_page(page.addr).unwrap();
    }
    print!("every 2nd:  {}", buddy.buddyinfo());
    let dma32 = buddy.zone(ZoneType::Dma32);
    assert_eq!(dma32.free_pages(), 512);
    // ...but not one pair of buddies is free together: no order-1 block.
    assert_eq!(dma32.nr_free(0), 512);
    assert_eq!(dma32.nr_free(1), 0);
    assert!(buddy.alloc_pages(GFP_DMA32, 1).is_err());

    // Give back the rest: every block merges with its buddy, up to order 10.
    for page in pages.iter().skip(1).step_by(2) {
        buddy.free_page(page.addr).unwrap();
    }
    print!("all freed:  {}", buddy.buddyinfo());
    assert_eq!(buddy.zone(ZoneType::Dma32).nr_free(10), 1);
}
