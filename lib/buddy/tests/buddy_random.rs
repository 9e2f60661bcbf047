//! Property-style tests of the buddy allocator: long seeded random
//! sequences of allocations and frees (and bad frees) over several memory
//! layouts, checking after every step that pages are conserved, that no
//! two blocks overlap, that every block is aligned, inside one zone and in
//! RAM, that `NoMemory` only comes when no allowed zone has a big enough
//! block, and at the end that freeing everything restores the initial free
//! lists exactly.

use std::collections::BTreeMap;

use buddy::{
    gfp_zone, AllocError, BuddyAllocator, GfpFlags, PageBlock, PhysAddr, ZoneType, GFP_ATOMIC,
    GFP_DMA, GFP_DMA32, GFP_KERNEL, MAX_ORDER, PAGE_SIZE,
};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// xorshift64*: small, seeded, good enough to drive a test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn regions(ranges: &[(u64, u64)]) -> Vec<(PhysAddr, PhysAddr)> {
    ranges
        .iter()
        .map(|&(start, end)| (PhysAddr::new(start), PhysAddr::new(end)))
        .collect()
}

/// Memory layouts: odd sizes, unaligned ends, holes, zone-straddling
/// regions, tiny regions, overlapping regions, regions far apart.
fn layouts() -> Vec<(&'static str, Vec<(u64, u64)>)> {
    vec![
        (
            "pc-like low memory and a region across 16 MiB",
            vec![
                (0x1000, 0x9fc00),
                (MIB, 15 * MIB + 12 * KIB),
                (15 * MIB + 12 * KIB, 17 * MIB + 20 * KIB),
            ],
        ),
        (
            "across 4 GiB with a hole below it",
            vec![
                (0x3000, 0x5000),
                (3 * GIB + 7 * 4 * KIB, 4 * GIB - 5 * MIB),
                (4 * GIB - 4 * MIB, 4 * GIB + 3 * MIB + 4 * KIB),
            ],
        ),
        (
            "tiny, overlapping and far apart",
            vec![
                (0x1234, 0x3456),
                (0x7000, 0x7fff),
                (16 * MIB - 64 * KIB, 16 * MIB + 64 * KIB),
                (16 * MIB, 16 * MIB + MIB + 4 * KIB),
                (64 * GIB + 4 * KIB, 64 * GIB + 2 * MIB + 8 * KIB),
                (1 << 40, (1 << 40) + 9 * MIB),
            ],
        ),
        (
            "one odd region in Normal",
            vec![(5 * GIB + 12345, 5 * GIB + 3 * MIB + 777)],
        ),
    ]
}

fn free_lists(buddy: &BuddyAllocator) -> Vec<Vec<u64>> {
    ZoneType::ALL
        .iter()
        .map(|&zone| {
            (0..MAX_ORDER)
                .map(|order| buddy.zone(zone).nr_free(order))
                .collect()
        })
        .collect()
}

fn in_ram(ranges: &[(u64, u64)], start: u64, end: u64) -> bool {
    (start..end).step_by(PAGE_SIZE as usize).all(|page| {
        ranges
            .iter()
            .any(|&(s, e)| s <= page && page + PAGE_SIZE <= e)
    })
}

/// Mostly small orders, sometimes large ones.
fn random_order(rng: &mut Rng) -> u32 {
    match rng.below(10) {
        0..=5 => rng.below(3) as u32,
        6..=8 => rng.below(7) as u32,
        _ => rng.below(u64::from(MAX_ORDER)) as u32,
    }
}

fn random_gfp(rng: &mut Rng) -> GfpFlags {
    [
        GFP_KERNEL,
        GFP_KERNEL,
        GFP_ATOMIC,
        GFP_KERNEL | GFP_DMA32,
        GFP_KERNEL | GFP_DMA,
    ][rng.below(5) as usize]
}

/// Checks a fresh block against the blocks held and the request.
fn check_block(
    block: &PageBlock,
    gfp: GfpFlags,
    order: u32,
    held: &BTreeMap<u64, u64>,
    ranges: &[(u64, u64)],
) {
    let start = block.addr.as_u64();
    let end = start + block.size();
    assert_eq!(block.order, order);
    assert_eq!(
        start % block.size(),
        0,
        "block at {start:#x} not aligned to order {order}"
    );
    assert_eq!(
        ZoneType::of(start),
        block.zone,
        "block at {start:#x} reported in the wrong zone"
    );
    assert_eq!(
        ZoneType::of(end - 1),
        block.zone,
        "block at {start:#x} straddles a zone boundary"
    );
    assert!(
        block.zone <= gfp_zone(gfp).unwrap(),
        "{gfp:?} got {:?} memory",
        block.zone
    );
    assert!(
        in_ram(ranges, start, end),
        "block at {start:#x} is not all RAM"
    );
    if let Some((&s, &e)) = held.range(..end).next_back() {
        assert!(
            e <= start,
            "block {start:#x}..{end:#x} overlaps held {s:#x}..{e:#x}"
        );
    }
}

fn run(name: &str, ranges: &[(u64, u64)], seed: u64, steps: usize) {
    let mut buddy = BuddyAllocator::new(&regions(ranges)).unwrap();
    let total = buddy.total_pages();
    let initial = free_lists(&buddy);
    assert_eq!(
        buddy.free_pages_count(),
        total,
        "{name}: not all free at start"
    );
    buddy.check().unwrap();

    let mut rng = Rng(seed);
    let mut held: BTreeMap<u64, u64> = BTreeMap::new();
    let mut blocks: Vec<PageBlock> = Vec::new();
    let mut freed: Vec<PageBlock> = Vec::new();
    let mut held_pages = 0u64;
    let (mut allocs, mut failures, mut bad_frees) = (0, 0, 0);

    for step in 0..steps {
        if blocks.is_empty() || rng.below(100) < 55 {
            let (gfp, order) = (random_gfp(&mut rng), random_order(&mut rng));
            match buddy.alloc_pages(gfp, order) {
                Ok(block) => {
                    check_block(&block, gfp, order, &held, ranges);
                    held.insert(block.addr.as_u64(), block.addr.as_u64() + block.size());
                    held_pages += 1 << order;
                    blocks.push(block);
                    allocs += 1;
                }
                Err(AllocError::NoMemory) => {
                    // Only when no allowed zone has a block of this order or larger.
                    for &zone in gfp_zone(gfp).unwrap().fallback() {
                        for larger in order..MAX_ORDER {
                            assert_eq!(
                                buddy.zone(zone).nr_free(larger),
                                0,
                                "{name}: NoMemory with a free block"
                            );
                        }
                    }
                    failures += 1;
                }
                Err(other) => panic!("{name}: unexpected {other:?}"),
            }
        } else if !freed.is_empty() && rng.below(10) == 0 {
            // A double free, a free with the wrong order, or of a tail page:
            // each must fail and change nothing.
            let victim = freed[rng.below(freed.len() as u64) as usize];
            if held.contains_key(&victim.addr.as_u64()) {
                continue;
            }
            let before = buddy.buddyinfo().to_string();
            let (addr, order) = match rng.below(3) {
                0 => (victim.addr, victim.order),
                1 => (victim.addr, (victim.order + 1) % MAX_ORDER),
                _ => (victim.addr + PAGE_SIZE, 0),
            };
            let inside_held = held
                .range(..=addr.as_u64())
                .next_back()
                .is_some_and(|(_, &end)| addr.as_u64() < end);
            if inside_held {
                continue; // a tail of a block held again: not a bad free of ours to make
            }
            assert!(
                buddy.free_pages(addr, order).is_err(),
                "{name}: bad free of {addr:?} accepted"
            );
            assert_eq!(
                buddy.buddyinfo().to_string(),
                before,
                "{name}: bad free changed the free lists"
            );
            bad_frees += 1;
        } else {
            let block = blocks.swap_remove(rng.below(blocks.len() as u64) as usize);
            buddy.free_pages(block.addr, block.order).unwrap();
            held.remove(&block.addr.as_u64());
            held_pages -= 1 << block.order;
            freed.push(block);
            if freed.len() > 64 {
                let _oldest = freed.swap_remove(0);
            }
        }
        assert_eq!(
            buddy.free_pages_count() + held_pages,
            total,
            "{name}: pages not conserved at step {step}"
        );
        if step % 256 == 0 {
            buddy
                .check()
                .unwrap_or_else(|c| panic!("{name}, step {step}: {c:?}"));
        }
    }

    while let Some(block) = blocks.pop() {
        buddy.free_pages(block.addr, block.order).unwrap();
    }
    buddy.check().unwrap();
    assert_eq!(buddy.free_pages_count(), total);
    assert_eq!(
        free_lists(&buddy),
        initial,
        "{name}: free lists not fully coalesced"
    );
    assert!(allocs > 100, "{name}: only {allocs} allocations succeeded");
    eprintln!("{name}, seed {seed}: {allocs} allocations, {failures} NoMemory, {bad_frees} bad frees refused");
}

#[test]
fn random_sequences_keep_every_invariant() {
    for (name, ranges) in layouts() {
        for seed in [1, 0x9e37_79b9_7f4a_7c15, 42] {
            run(name, &ranges, seed, 6000);
        }
    }
}

/// A small layout, so that memory runs out often and fallback and
/// NoMemory paths are exercised as much as the happy path.
#[test]
fn random_sequences_under_memory_pressure() {
    let ranges = [
        (0x1000, 0x2a000),
        (16 * MIB - 40 * KIB, 16 * MIB + 60 * KIB),
        (4 * GIB, 4 * GIB + 32 * KIB),
    ];
    for seed in 1..=8 {
        run("pressure", &ranges, seed, 4000);
    }
}
