//! DMA memory (`DmaAlloc`/`DmaFree`/`DmaRelease`): contiguous blocks below
//! a physical limit, zeroed, pinned, charged, not inherited by a fork,
//! freed on exit or held for the device manager; and every bad request
//! gets its typed error.

mod common;

use common::*;
use libsys::proto::mm::{MmError, Reply, Request, CONTROL_BADGE, DMA_LIMIT_MIN, PROT_READ};

const MIB: u64 = 1 << 20;

/// RAM in all three zones: 4 MiB from 1 MiB (DMA), 4 MiB at 64 MiB
/// (DMA32), 4 MiB at 4 GiB (Normal).
fn zoned() -> World {
    let mut sim = Sim::default();
    sim.images.insert(1, program());
    World {
        mm: mm::Mm::new(&[(MIB, 1024), (64 * MIB, 1024), (1 << 32, 1024)]).unwrap(),
        sim,
        spaces: Default::default(),
    }
}

fn alloc(
    w: &mut World,
    from: u64,
    pages: u64,
    limit: u64,
    hold: bool,
) -> Result<(u64, u64), MmError> {
    match w.request(from, Request::DmaAlloc { pages, limit, hold }) {
        Reply::Dma { at, phys } => Ok((at, phys)),
        Reply::Error(e) => Err(e),
        other => panic!("{other:?}"),
    }
}

fn free(w: &mut World, from: u64, at: u64) -> Result<(), MmError> {
    match w.request(from, Request::DmaFree { at }) {
        Reply::Done => Ok(()),
        Reply::Error(e) => Err(e),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_block_is_contiguous_below_its_limit_zeroed_and_writable() {
    let mut w = zoned();
    w.adopt(1, "");
    let before = w.mm.system_stats();
    for (limit, pages) in [(u64::MAX, 3), (1 << 32, 5), (DMA_LIMIT_MIN, 2)] {
        let (at, phys) = alloc(&mut w, 1, pages, limit, false).unwrap();
        let block = pages.next_power_of_two() * PAGE;
        assert!(phys + block <= limit, "{phys:#x} above {limit:#x}");
        assert_eq!(phys % block, 0, "a buddy block is aligned to its size");
        for i in 0..pages {
            let (pfn, _) = w.sim.tables[&(1, at + i * PAGE)];
            assert_eq!(pfn, phys / PAGE + i, "physically contiguous");
            assert_eq!(w.read(1, at + i * PAGE + 17), Ok(0), "zeroed");
            w.write(1, at + i * PAGE, 0x77).unwrap();
        }
        w.check();
    }
    let after = w.mm.system_stats();
    assert_eq!(after.dma_pinned_pages, 4 + 8 + 2);
    assert_eq!(before.free_pages - after.free_pages, 14);
    assert_eq!(w.stats(1).dma_pages, 14);
    w.exit(1);
    let gone = w.mm.system_stats();
    assert_eq!(gone.dma_pinned_pages, 0);
    assert_eq!(gone.free_pages, w.mm.total_pages());
    w.check();
}

#[test]
fn a_limit_in_the_dma32_zone_is_kept_even_when_the_zone_reaches_past_it() {
    // DMA32 RAM from 64 MiB; a limit of 32 MiB must fall back to DMA.
    let mut w = zoned();
    w.adopt(1, "");
    let (_, phys) = alloc(&mut w, 1, 1, 32 * MIB, false).unwrap();
    assert!(phys < 16 * MIB);
    w.check();
}

#[test]
fn bad_requests_get_typed_errors_and_change_nothing() {
    let mut w = zoned();
    w.adopt(1, "");
    w.adopt(2, "");
    let before = w.mm.system_stats();
    assert_eq!(
        alloc(&mut w, 1, 0, u64::MAX, false),
        Err(MmError::InvalidArgument)
    );
    assert_eq!(
        alloc(&mut w, 1, 1025, u64::MAX, false),
        Err(MmError::InvalidArgument)
    );
    assert_eq!(
        alloc(&mut w, 1, u64::MAX, u64::MAX, false),
        Err(MmError::InvalidArgument)
    );
    assert_eq!(
        alloc(&mut w, 1, 1, MIB, false),
        Err(MmError::InvalidArgument)
    );
    // The default allowance is 4 MiB: 1024 pages in all.
    let (big, _) = alloc(&mut w, 1, 1024, u64::MAX, false).unwrap();
    assert_eq!(
        alloc(&mut w, 1, 1, u64::MAX, false),
        Err(MmError::OverLimit)
    );
    free(&mut w, 1, big).unwrap();
    assert_eq!(free(&mut w, 1, big), Err(MmError::NotMapped), "double free");
    let (at, _) = alloc(&mut w, 1, 2, u64::MAX, false).unwrap();
    assert_eq!(
        free(&mut w, 2, at),
        Err(MmError::NotMapped),
        "another's block"
    );
    assert_eq!(
        free(&mut w, 1, at + PAGE),
        Err(MmError::NotMapped),
        "not its start"
    );
    // Pinned: no munmap, mprotect or share of it.
    let unmap = w.request(1, Request::Munmap { at, pages: 1 });
    assert_eq!(unmap, Reply::Error(MmError::NotAllowed));
    let protect = w.request(
        1,
        Request::Mprotect {
            at,
            pages: 1,
            prot: PROT_READ,
        },
    );
    assert_eq!(protect, Reply::Error(MmError::NotAllowed));
    let share = w.request(
        1,
        Request::Share {
            at,
            pages: 1,
            writable: false,
        },
    );
    assert_eq!(share, Reply::Error(MmError::NotAllowed));
    free(&mut w, 1, at).unwrap();
    // Not from init, who has no space; and release is init's.
    let release = w.request(1, Request::DmaRelease { phys: 0 });
    assert_eq!(release, Reply::Error(MmError::NotAllowed));
    assert_eq!(w.mm.system_stats(), before);
    w.check();
}

#[test]
fn a_block_larger_than_any_free_one_is_no_memory() {
    let mut w = World::new(64);
    w.adopt(1, "");
    assert_eq!(
        alloc(&mut w, 1, 64, u64::MAX, false),
        Err(MmError::NoMemory)
    );
    assert_eq!(w.mm.system_stats().alloc_failures, 1);
    w.check();
}

#[test]
fn a_fork_child_gets_no_mapping_and_the_parent_keeps_its_block() {
    let mut w = zoned();
    w.adopt(1, "");
    let (at, phys) = alloc(&mut w, 1, 1, u64::MAX, false).unwrap();
    w.write(1, at, 9).unwrap();
    w.fork(1, 2);
    assert!(w.read(2, at).is_err(), "the child has a hole there");
    assert_eq!(w.stats(2).dma_pages, 0);
    w.write(1, at, 10).unwrap();
    assert_eq!(w.sim.tables[&(1, at)].0, phys / PAGE, "never copied");
    w.check();
    w.exit(2);
    w.exit(1);
    w.check();
}

#[test]
fn a_held_block_outlives_its_process_until_released() {
    let mut w = zoned();
    w.adopt(1, "");
    let (_, phys) = alloc(&mut w, 1, 2, u64::MAX, true).unwrap();
    w.exit(1);
    assert_eq!(w.mm.system_stats().dma_pinned_pages, 2);
    assert_ne!(w.mm.free_pages(), w.mm.total_pages());
    w.check();
    let release = |w: &mut World| w.request(CONTROL_BADGE, Request::DmaRelease { phys });
    assert_eq!(release(&mut w), Reply::Done);
    assert_eq!(release(&mut w), Reply::Error(MmError::NotMapped));
    assert_eq!(w.mm.free_pages(), w.mm.total_pages());
    w.check();
}

#[test]
fn the_allowance_can_be_changed() {
    let mut w = zoned();
    w.adopt(1, "");
    w.mm.set_dma_limit(1, 2).unwrap();
    assert_eq!(
        alloc(&mut w, 1, 3, u64::MAX, false),
        Err(MmError::OverLimit)
    );
    alloc(&mut w, 1, 2, u64::MAX, false).unwrap();
    assert_eq!(w.mm.set_dma_limit(9, 2), Err(MmError::NotAllowed));
}

#[test]
fn frames_kept_for_faults_do_not_stand_in_the_way_of_a_block() {
    // 64 pages; after a process touches and lets go of most of them,
    // the freed frames sit on the hot list for the next faults, and the
    // buddy allocator alone has no 32-page block left.
    let mut w = World::new(64);
    w.adopt(1, "");
    let free = w.mm.free_pages();
    let pages = free - 8;
    let at = w.mmap(1, None, pages, PROT_READ | libsys::proto::mm::PROT_WRITE);
    for page in 0..pages {
        w.write(1, at + page * PAGE, 1).unwrap();
    }
    assert!(matches!(
        w.request(1, Request::Munmap { at, pages }),
        Reply::Done
    ));
    assert_eq!(w.mm.free_pages(), free);
    w.check();
    // The free blocks (the hot list's frames as order 0) add up.
    let system = w.mm.system_stats();
    let blocks: u64 = system
        .buddy
        .iter()
        .flat_map(|zone| zone.iter().enumerate().map(|(o, &n)| u64::from(n) << o))
        .sum();
    assert_eq!(blocks, system.free_pages);
    let (_, phys) = alloc(&mut w, 1, 32, 1 << 32, false).expect("a 32-page block");
    assert_eq!(phys % (32 * PAGE), 0);
    w.check();
}
