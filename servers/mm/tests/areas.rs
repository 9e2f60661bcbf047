//! The area requests: `Mmap` (demand paging, populate, placement),
//! `Munmap` (freeing, splitting), `Brk`, `Mprotect` (and W^X),
//! `MapPhysical`, the statistics, who may send what, and arguments that
//! must be refused.

mod common;

use common::*;
use libsys::abi::IPC_BUFFER_ADDR;
use libsys::proto::mm::{
    MmError, Reply, Request, CONTROL_BADGE, PAGER_BADGE, PROT_EXEC, PROT_READ, PROT_WRITE,
};
use mm::layout::{MMAP_BASE, MMAP_END, USER_END};
use mm::ZoneType;

const RW: u8 = PROT_READ | PROT_WRITE;
const HEAP: u64 = 0x40_4000;

fn error(e: MmError) -> Reply {
    Reply::Error(e)
}

#[test]
fn mmap_is_demand_paged_and_munmap_gives_the_pages_back() {
    let mut w = World::new(64);
    w.adopt(1, "");
    let (free, resident) = (w.mm.free_pages(), w.stats(1).resident_pages);
    let at = w.mmap(1, None, 16, RW);
    assert_eq!(at, MMAP_BASE);
    assert_eq!(w.stats(1).virtual_pages, 1 + 3 + 1 + 254 + 16);
    assert_eq!(w.mm.free_pages(), free, "nothing until touched");
    for page in 0..5 {
        assert_eq!(w.read(1, at + page * PAGE + 100), Ok(0));
        w.write(1, at + page * PAGE, page as u8 + 1).unwrap();
        assert_eq!(w.stats(1).resident_pages, resident + page + 1);
    }
    assert_eq!(w.mm.free_pages(), free - 5);
    assert_eq!(w.read(1, at + 4 * PAGE), Ok(5));
    assert_eq!(w.mmap(1, None, 1, RW), at + 16 * PAGE, "first fit, above");
    w.check();

    assert_eq!(w.request(1, Request::Munmap { at, pages: 16 }), Reply::Done);
    assert_eq!(w.mm.free_pages(), free);
    assert_eq!(w.stats(1).resident_pages, resident);
    assert_eq!(w.read(1, at), Err("fault outside any area"));
    assert_eq!(w.mmap(1, None, 2, RW), at, "the hole is reused");
    w.check();
}

#[test]
fn munmap_splits_areas_and_refuses_holes_and_the_ipc_buffer() {
    let mut w = World::new(64);
    w.adopt(1, "");
    let at = w.mmap(1, None, 8, RW);
    for page in 0..8 {
        w.write(1, at + page * PAGE, 10 + page as u8).unwrap();
    }
    let areas = w.stats(1).areas;
    let free = w.mm.free_pages();
    let middle = at + 3 * PAGE;
    assert_eq!(
        w.request(
            1,
            Request::Munmap {
                at: middle,
                pages: 2
            }
        ),
        Reply::Done
    );
    assert_eq!(w.stats(1).areas, areas + 1);
    assert_eq!(w.mm.free_pages(), free + 2);
    assert_eq!(w.read(1, middle), Err("fault outside any area"));
    assert_eq!(w.read(1, middle + PAGE), Err("fault outside any area"));
    assert_eq!(w.read(1, at + 2 * PAGE), Ok(12));
    assert_eq!(w.read(1, at + 5 * PAGE), Ok(15));
    assert_eq!(
        w.request(1, Request::Munmap { at, pages: 8 }),
        error(MmError::NotMapped),
        "a hole in the range"
    );
    assert_eq!(w.read(1, at), Ok(10), "a refused munmap changed nothing");
    assert_eq!(
        w.request(
            1,
            Request::Munmap {
                at: IPC_BUFFER_ADDR,
                pages: 1
            }
        ),
        error(MmError::NotAllowed)
    );
    w.check();
}

#[test]
fn fixed_mappings_are_checked() {
    let mut w = World::new(64);
    w.adopt(1, "");
    let at = 0x5000_0000;
    assert_eq!(w.mmap(1, Some(at), 4, RW), at);
    let mut mmap = |at, pages, prot| {
        w.request(
            1,
            Request::Mmap {
                at: Some(at),
                pages,
                prot,
                populate: false,
            },
        )
    };
    assert_eq!(mmap(at + 3 * PAGE, 2, RW), error(MmError::Overlap));
    assert_eq!(mmap(at - PAGE, 2, RW), error(MmError::Overlap));
    assert_eq!(mmap(TEXT_AT, 1, RW), error(MmError::Overlap), "the image");
    assert_eq!(
        mmap(at + 100, 1, RW),
        error(MmError::InvalidArgument),
        "unaligned"
    );
    assert_eq!(mmap(0, 1, RW), error(MmError::InvalidArgument), "page 0");
    assert_eq!(
        mmap(USER_END, 1, RW),
        error(MmError::InvalidArgument),
        "kernel half"
    );
    assert_eq!(
        mmap(USER_END - PAGE, 2, RW),
        error(MmError::InvalidArgument)
    );
    assert_eq!(
        mmap(0xffff_ffff_ffff_f000, 1, RW),
        error(MmError::InvalidArgument)
    );
    assert_eq!(
        mmap(PAGE, u64::MAX / 2, RW),
        error(MmError::InvalidArgument),
        "overflow"
    );
    assert_eq!(
        mmap(PAGE, 0, RW),
        error(MmError::InvalidArgument),
        "zero pages"
    );
    assert_eq!(
        mmap(0x6000_0000, 1, 0),
        error(MmError::InvalidArgument),
        "no access"
    );
    assert_eq!(
        mmap(0x6000_0000, 1, 8),
        error(MmError::InvalidArgument),
        "unknown bit"
    );
    assert_eq!(
        mmap(USER_END - PAGE, 1, PROT_WRITE),
        Reply::Mapped(USER_END - PAGE)
    );
    let mut anywhere = |pages| {
        w.request(
            1,
            Request::Mmap {
                at: None,
                pages,
                prot: RW,
                populate: false,
            },
        )
    };
    assert_eq!(
        anywhere(1 << 40),
        error(MmError::InvalidArgument),
        "past user space"
    );
    let zone = (MMAP_END - MMAP_BASE) / PAGE;
    assert_eq!(anywhere(zone + 1), error(MmError::NoSpace));
    assert_eq!(
        anywhere(zone - 1),
        Reply::Mapped(MMAP_BASE),
        "huge, but demand-paged"
    );
    w.check();
}

#[test]
fn brk_grows_and_shrinks_the_heap() {
    let mut w = World::new(64);
    w.adopt(1, "");
    let brk = |w: &mut World, end| w.request(1, Request::Brk { end });
    assert_eq!(brk(&mut w, None), Reply::Brk(HEAP));
    assert_eq!(brk(&mut w, Some(HEAP + 0x1800)), Reply::Brk(HEAP + 0x1800));
    assert_eq!(w.stats(1).brk, HEAP + 0x1800);
    w.write(1, HEAP, 1).unwrap();
    w.write(1, HEAP + 0x17ff, 2).unwrap();
    w.write(1, HEAP + 0x1fff, 3).unwrap();
    assert_eq!(w.write(1, HEAP + 0x2000, 4), Err("fault outside any area"));
    assert_eq!(brk(&mut w, Some(HEAP + 0x3000)), Reply::Brk(HEAP + 0x3000));
    assert_eq!(w.stats(1).areas, 5, "the heap grew in place");
    assert_eq!(w.read(1, HEAP + 0x2000), Ok(0));

    let free = w.mm.free_pages();
    assert_eq!(brk(&mut w, Some(HEAP + 0x800)), Reply::Brk(HEAP + 0x800));
    assert_eq!(w.mm.free_pages(), free + 2, "pages 1 and 2 freed");
    assert_eq!(w.read(1, HEAP + 0x1000), Err("fault outside any area"));
    assert_eq!(w.read(1, HEAP), Ok(1));
    assert_eq!(brk(&mut w, Some(HEAP - 1)), error(MmError::InvalidArgument));
    assert_eq!(brk(&mut w, Some(u64::MAX)), error(MmError::InvalidArgument));

    w.mmap(1, Some(HEAP + 0x10000), 1, RW);
    assert_eq!(brk(&mut w, Some(HEAP + 0x20000)), error(MmError::NoMemory));
    assert_eq!(brk(&mut w, None), Reply::Brk(HEAP + 0x800), "unchanged");
    assert_eq!(brk(&mut w, Some(HEAP)), Reply::Brk(HEAP));
    assert_eq!(w.mm.free_pages(), free + 3);
    assert_eq!(w.read(1, HEAP), Err("fault outside any area"));
    w.check();
}

#[test]
fn mprotect_changes_what_may_be_done_and_w_xor_x_holds() {
    let mut w = World::new(64);
    w.adopt(1, "");
    let at = w.mmap(1, None, 4, RW);
    for page in 0..4 {
        w.write(1, at + page * PAGE, 1).unwrap();
    }
    let protect =
        |w: &mut World, at, pages, prot| w.request(1, Request::Mprotect { at, pages, prot });
    assert_eq!(protect(&mut w, at + PAGE, 1, PROT_READ), Reply::Done);
    assert_eq!(w.stats(1).areas, 4 + 3);
    assert_eq!(w.write(1, at + PAGE, 2), Err("write to a read-only area"));
    assert_eq!(w.read(1, at + PAGE), Ok(1));
    w.write(1, at + 2 * PAGE, 2).unwrap();
    assert_eq!(protect(&mut w, at + PAGE, 1, RW), Reply::Done);
    w.write(1, at + PAGE, 2).unwrap();

    assert_eq!(protect(&mut w, at, 1, PROT_EXEC), Reply::Done);
    assert_eq!(w.exec(1, at), Ok(()));
    assert_eq!(w.write(1, at, 0), Err("write to a read-only area"));
    let wx = PROT_WRITE | PROT_EXEC;
    assert_eq!(protect(&mut w, at, 1, wx), error(MmError::InvalidArgument));
    assert_eq!(
        w.request(
            1,
            Request::Mmap {
                at: None,
                pages: 1,
                prot: wx | PROT_READ,
                populate: false
            }
        ),
        error(MmError::InvalidArgument)
    );
    assert_eq!(protect(&mut w, at, 5, PROT_READ), error(MmError::NotMapped));
    assert_eq!(
        protect(&mut w, IPC_BUFFER_ADDR, 1, PROT_READ),
        error(MmError::NotAllowed)
    );
    // The image's text may become writable (its frames are private).
    assert_eq!(protect(&mut w, TEXT_AT, 1, RW), Reply::Done);
    w.write(1, TEXT_AT, 0x90).unwrap();
    assert_eq!(w.exec(1, TEXT_AT), Err("execute in a non-executable area"));
    w.check();
}

#[test]
fn populate_maps_everything_or_nothing() {
    let mut w = World::new(64);
    let total = w.mm.total_pages();
    w.adopt(1, "");
    let populate = |w: &mut World, pages| {
        w.request(
            1,
            Request::Mmap {
                at: None,
                pages,
                prot: RW,
                populate: true,
            },
        )
    };
    let mut taken = Vec::new();
    for _ in 0..3 {
        let Reply::Mapped(at) = populate(&mut w, 16) else {
            panic!()
        };
        taken.push(at);
    }
    assert_eq!(w.stats(1).resident_pages, 2 + 48);
    assert_eq!(
        w.read(1, taken[2] + 15 * PAGE),
        Ok(0),
        "populated pages are zeroed"
    );
    assert_eq!(w.stats(1).faults, 0);
    let before = (w.stats(1), w.mm.free_pages(), w.sim.tables.len());
    assert_eq!(populate(&mut w, 15), error(MmError::NoMemory));
    assert_eq!((w.stats(1), w.mm.free_pages(), w.sim.tables.len()), before);

    // The machine fails half-way: what was mapped is undone.
    w.sim.maps_left = Some(3);
    assert_eq!(populate(&mut w, 8), error(MmError::NoMemory));
    w.sim.maps_left = None;
    assert_eq!((w.stats(1), w.mm.free_pages(), w.sim.tables.len()), before);
    w.check();

    assert_eq!(
        w.request(
            1,
            Request::Munmap {
                at: taken[0],
                pages: 16
            }
        ),
        Reply::Done
    );
    assert_eq!(populate(&mut w, 15), Reply::Mapped(taken[0]));
    w.exit(1);
    assert_eq!(w.mm.free_pages(), total);
    w.check();
}

#[test]
fn control_requests_only_from_init() {
    let mut w = World::new(64);
    let total = w.mm.total_pages();
    w.adopt(1, "");
    w.adopt(2, "");
    let adopt = Request::Adopt {
        id: 9,
        image_size: 10,
        args: "x".try_into().unwrap(),
    };
    for from in [1, 2, 77, PAGER_BADGE | 1] {
        assert_eq!(w.request(from, adopt.clone()), error(MmError::NotAllowed));
        assert_eq!(
            w.request(from, Request::GiveDevice { id: 1 }),
            error(MmError::NotAllowed)
        );
        assert_eq!(
            w.request(from, Request::Exit { id: 2 }),
            error(MmError::NotAllowed)
        );
    }
    assert!(w.mm.manages(2));
    let control = CONTROL_BADGE;
    assert_eq!(
        w.request(control, adopt),
        error(MmError::InvalidArgument),
        "needs handles"
    );
    assert_eq!(
        w.request(control, Request::Give),
        error(MmError::InvalidArgument)
    );
    assert_eq!(
        w.request(1, Request::ForkAs),
        error(MmError::InvalidArgument)
    );
    assert_eq!(
        w.request(control, Request::Exit { id: 5 }),
        error(MmError::InvalidArgument)
    );
    assert_eq!(
        w.request(control, Request::Stats),
        error(MmError::NotAllowed),
        "init has no space"
    );
    assert_eq!(w.request(control, Request::Exit { id: 2 }), Reply::Done);
    assert_eq!(
        w.request(PAGER_BADGE | control, Request::Exit { id: 1 }),
        Reply::Done
    );
    w.spaces.clear();
    assert_eq!(w.mm.free_pages(), total);
    assert_eq!(
        w.request(1, Request::Brk { end: None }),
        error(MmError::NotAllowed)
    );
    w.check();
}

#[test]
fn statistics_add_up() {
    let mut w = World::new(300);
    w.adopt(1, "");
    let at = w.mmap(1, None, 3, RW);
    w.write(1, at, 1).unwrap();
    let Reply::Stats(stats) = w.request(1, Request::Stats) else {
        panic!()
    };
    assert_eq!(stats.resident_pages, 3);
    assert_eq!(stats.shared_pages, 0);
    assert_eq!(stats.areas, 5);
    assert_eq!(stats.faults, 1);
    let Reply::System(system) = w.request(77, Request::SystemStats) else {
        panic!()
    };
    assert_eq!(system.total_pages, 300);
    assert_eq!(system.free_pages, 297);
    assert_eq!(system.anon_pages, 3);
    assert_eq!(system.processes, 1);
    let free: u64 = system
        .buddy
        .iter()
        .flat_map(|zone| {
            zone.iter()
                .enumerate()
                .map(|(order, &n)| u64::from(n) << order)
        })
        .sum();
    assert_eq!(free, system.free_pages);
    assert_eq!(
        system.zone_pages[ZoneType::Dma as usize],
        300,
        "RAM at 1 MiB is DMA"
    );
    assert_eq!(system.zone_pages.iter().sum::<u64>(), 300);
}

#[test]
fn device_memory_is_mapped_directly_and_never_freed() {
    let mut w = World::new(64);
    let free = w.mm.free_pages();
    let device = 0xfee0_0000;
    assert_eq!(w.mm.add_device(device, 4, 1), Ok(()));
    assert_eq!(
        w.mm.add_device(RAM_BASE + PAGE, 1, 1),
        Err(MmError::NotAllowed),
        "RAM"
    );
    assert_eq!(
        w.mm.add_device(device + 1, 1, 1),
        Err(MmError::InvalidArgument)
    );
    w.adopt(1, "");
    let map = |w: &mut World, phys, pages, writable| {
        w.request(
            1,
            Request::MapPhysical {
                phys,
                pages,
                at: None,
                writable,
            },
        )
    };
    let Reply::Mapped(at) = map(&mut w, device + PAGE, 2, true) else {
        panic!()
    };
    assert_eq!(w.sim.tables[&(1, at + PAGE)], (0xfee02, RW));
    w.write(1, at, 9).unwrap();
    assert_eq!(w.sim.frame(0xfee01)[0], 9);
    assert_eq!(
        map(&mut w, device + 3 * PAGE, 2, true),
        error(MmError::NotAllowed),
        "past"
    );
    assert_eq!(
        map(&mut w, RAM_BASE, 1, true),
        error(MmError::NotAllowed),
        "RAM"
    );
    assert_eq!(
        map(&mut w, device + 8, 1, true),
        error(MmError::InvalidArgument)
    );
    assert_eq!(
        map(&mut w, device, 0, true),
        error(MmError::InvalidArgument)
    );
    assert_eq!(
        map(&mut w, !0xfff, 4, true),
        error(MmError::InvalidArgument)
    );
    let Reply::Mapped(ro) = map(&mut w, device, 1, false) else {
        panic!()
    };
    assert_eq!(w.write(1, ro, 1), Err("write to a read-only area"));
    let upgrade = Request::Mprotect {
        at: ro,
        pages: 1,
        prot: RW,
    };
    assert_eq!(w.request(1, upgrade), error(MmError::NotAllowed));
    // Device memory is one process's: another may not map it.
    w.adopt(2, "");
    assert!(matches!(map(&mut w, device, 1, false), Reply::Mapped(_)));
    let other = Request::MapPhysical {
        phys: device,
        pages: 1,
        at: None,
        writable: false,
    };
    assert_eq!(w.request(2, other.clone()), error(MmError::NotAllowed));
    assert_eq!(w.mm.free_pages(), free - 4, "only the adopted pages");
    w.check();
    w.exit(1);
    w.exit(2);
    assert_eq!(w.mm.free_pages(), free);
    w.check();
    // The permission ended with the process: a new space under the same
    // id has none.
    w.adopt(1, "");
    assert_eq!(w.request(1, other), error(MmError::NotAllowed));
}

/// Unmapping and exiting take resident pages out in batches (mm's heap is
/// fixed: no array of every page): ranges of many batches, and a batch
/// boundary in the middle of a run, lose and leak nothing.
#[test]
fn large_ranges_are_released_in_batches() {
    let mut w = World::new(4096);
    let initial = w.mm.free_pages();
    w.adopt(1, "");
    let free = w.mm.free_pages();
    let pages = 3000;
    let Reply::Mapped(at) = w.request(
        1,
        Request::Mmap {
            at: None,
            pages,
            prot: RW,
            populate: true,
        },
    ) else {
        panic!("populate")
    };
    assert_eq!(w.mm.free_pages(), free - pages);
    // Leave a hole every so often so runs and batches do not line up.
    let hole = at + 1000 * PAGE;
    assert_eq!(
        w.request(1, Request::Munmap { at: hole, pages: 3 }),
        Reply::Done
    );
    assert_eq!(w.mm.free_pages(), free - pages + 3);
    let middle = at + 100 * PAGE;
    assert_eq!(
        w.request(
            1,
            Request::Munmap {
                at: middle,
                pages: 900
            }
        ),
        Reply::Done
    );
    assert_eq!(w.mm.free_pages(), free - pages + 903);
    for page in [middle, middle + 899 * PAGE, hole] {
        assert!(!w.sim.tables.contains_key(&(1, page)), "{page:#x} mapped");
    }
    assert!(w.sim.tables.contains_key(&(1, middle - PAGE)));
    assert!(w.sim.tables.contains_key(&(1, hole + 3 * PAGE)));
    w.check();
    w.exit(1);
    assert_eq!(w.mm.free_pages(), initial);
    w.check();
}
