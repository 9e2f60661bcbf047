//! Fork: copy-on-write duplicates. Frames are shared until written; a
//! write copies exactly one page; the last holder takes a page over
//! without copying; the IPC buffer is copied at once; shared memory stays
//! shared; exits give every frame back.

mod common;

use common::*;
use libsys::abi::IPC_BUFFER_ADDR;
use libsys::proto::mm::{MmError, Reply, Request, PROT_READ, PROT_WRITE};

const RW: u8 = PROT_READ | PROT_WRITE;

/// A process with 4 written pages of mmap memory at the returned address,
/// and a written data page.
fn parent(w: &mut World) -> u64 {
    w.adopt(1, "parent");
    let at = w.mmap(1, None, 4, RW);
    for page in 0..4 {
        w.write(1, at + page * PAGE, 0x10 + page as u8).unwrap();
    }
    w.write(1, DATA_AT, 0xda).unwrap();
    at
}

#[test]
fn frames_are_shared_until_written_then_copied_once() {
    let mut w = World::new(128);
    let total = w.mm.total_pages();
    let at = parent(&mut w);
    let resident = w.stats(1).resident_pages;
    assert_eq!(resident, 2 + 4 + 1);
    let free = w.mm.free_pages();
    w.fork(1, 2);
    w.check();

    // Everything is shared but the IPC buffer, which was copied.
    assert_eq!(w.mm.free_pages(), free - 1);
    for id in [1, 2] {
        assert_eq!(w.stats(id).resident_pages, resident);
        assert_eq!(w.stats(id).shared_pages, resident - 1);
    }
    assert_eq!(w.mm.system_stats().shared_pages, resident - 1);
    assert_eq!(w.read(2, at + 3 * PAGE), Ok(0x13));
    assert_eq!(w.read(2, DATA_AT), Ok(0xda));
    assert_eq!(
        w.stats(2).faults,
        0,
        "the child's pages are mapped, read-only"
    );

    // The child writes: one copy, and each side sees its own byte.
    w.write(2, at, 0xc0).unwrap();
    assert_eq!(w.stats(2).cow_copies, 1);
    assert_eq!(w.mm.free_pages(), free - 2);
    assert_eq!(w.read(2, at), Ok(0xc0));
    assert_eq!(w.read(1, at), Ok(0x10));
    assert_eq!(
        w.read(2, at + 1),
        Ok(0x00),
        "the rest of the page was copied"
    );
    w.write(2, at + 1, 0xc1).unwrap();
    assert_eq!(w.stats(2).cow_copies, 1, "the copy is the child's now");

    // The parent holds the last reference to the old frame: takes it over.
    let copies = w.sim.copies;
    w.write(1, at, 0x99).unwrap();
    assert_eq!(w.stats(1).cow_copies, 0);
    assert_eq!(w.sim.copies, copies, "no frame copied");
    assert_eq!(w.mm.free_pages(), free - 2);
    assert_eq!(w.read(2, at), Ok(0xc0));

    // The parent writes a still-shared page: copy; the child then takes
    // the original over.
    w.write(1, at + PAGE, 0x98).unwrap();
    assert_eq!(w.stats(1).cow_copies, 1);
    w.write(2, at + PAGE, 0xc2).unwrap();
    assert_eq!(w.stats(2).cow_copies, 1);
    assert_eq!(
        (w.read(1, at + PAGE), w.read(2, at + PAGE)),
        (Ok(0x98), Ok(0xc2))
    );
    assert_eq!(w.stats(1).shared_pages, resident - 3);
    w.check();

    w.exit(1);
    assert_eq!(w.stats(2).shared_pages, 0);
    assert_eq!(w.read(2, at + 2 * PAGE), Ok(0x12));
    w.exit(2);
    assert_eq!(w.mm.free_pages(), total);
    w.check();
}

#[test]
fn the_ipc_buffer_is_copied_not_shared() {
    let mut w = World::new(64);
    w.adopt(1, "");
    w.write(1, IPC_BUFFER_ADDR, 0x11).unwrap();
    w.fork(1, 2);
    assert_ne!(
        w.sim.tables[&(1, IPC_BUFFER_ADDR)].0,
        w.sim.tables[&(2, IPC_BUFFER_ADDR)].0
    );
    assert_eq!(
        w.sim.tables[&(2, IPC_BUFFER_ADDR)].1,
        RW,
        "writable without a fault"
    );
    assert_eq!(w.read(2, IPC_BUFFER_ADDR), Ok(0x11));
    w.write(2, IPC_BUFFER_ADDR, 0x22).unwrap();
    assert_eq!(w.read(1, IPC_BUFFER_ADDR), Ok(0x11));
    assert_eq!(w.stats(2).faults, 0);
    w.check();
}

#[test]
fn demand_paged_and_read_only_pages_after_a_fork() {
    let mut w = World::new(64);
    w.adopt(1, "");
    w.read(1, TEXT_AT).unwrap();
    let at = w.mmap(1, None, 2, RW);
    w.fork(1, 2);
    // Not resident at fork: each side gets its own zeroed page.
    w.write(1, at, 1).unwrap();
    assert_eq!(w.read(2, at), Ok(0));
    assert_eq!(w.stats(2).cow_copies, 0);
    // Text is shared read-only, and stays so.
    assert_eq!(w.sim.tables[&(1, TEXT_AT)].0, w.sim.tables[&(2, TEXT_AT)].0);
    assert_eq!(w.write(2, TEXT_AT, 0), Err("write to a read-only area"));
    // Made writable after the fork, it is still copied on write.
    let text = Request::Mprotect {
        at: TEXT_AT,
        pages: 1,
        prot: RW,
    };
    assert_eq!(w.request(2, text), Reply::Done);
    assert_eq!(
        w.sim.tables[&(2, TEXT_AT)].1,
        PROT_READ,
        "copy-on-write stays read-only"
    );
    w.write(2, TEXT_AT, 0xcc).unwrap();
    assert_eq!(w.stats(2).cow_copies, 1);
    assert_eq!(w.read(1, TEXT_AT), Ok(TEXT[0]));
    w.check();
}

#[test]
fn a_chain_of_forks_gives_everything_back() {
    let mut w = World::new(128);
    let total = w.mm.total_pages();
    let at = parent(&mut w);
    w.fork(1, 2);
    w.fork(2, 3);
    w.write(3, at, 3).unwrap();
    w.fork(3, 4);
    assert_eq!(w.mm.refcount(w.sim.tables[&(1, at + PAGE)].0), 4);
    assert_eq!(w.mm.refcount(w.sim.tables[&(4, at)].0), 2);
    w.write(2, at + PAGE, 2).unwrap();
    w.check();
    for (id, byte) in [(1, 0x10), (2, 0x10), (3, 3), (4, 3)] {
        assert_eq!(w.read(id, at), Ok(byte));
    }
    for id in [3, 1, 4, 2] {
        w.exit(id);
        w.check();
    }
    assert_eq!(w.mm.free_pages(), total);
}

#[test]
fn fork_refuses_and_undoes() {
    let mut w = World::new(64);
    let at = parent(&mut w);
    let fork = |w: &mut World, parent, child| w.mm.fork(parent, child, &mut w.sim);
    assert_eq!(
        fork(&mut w, 9, 2),
        Err(MmError::NotAllowed),
        "no such parent"
    );
    assert_eq!(
        fork(&mut w, 1, 1),
        Err(MmError::NotAllowed),
        "child id in use"
    );
    assert_eq!(fork(&mut w, 1, 0), Err(MmError::InvalidArgument));
    let free = w.mm.free_pages();
    w.sim.maps_left = Some(3);
    assert_eq!(fork(&mut w, 1, 2), Err(MmError::NoMemory));
    w.sim.maps_left = None;
    assert!(!w.mm.manages(2));
    assert_eq!(w.mm.free_pages(), free);
    w.check();
    // The parent's pages stayed copy-on-write: it takes them over.
    w.write(1, at, 0x77).unwrap();
    assert_eq!(w.stats(1).cow_copies, 0);
    assert_eq!(w.mm.free_pages(), free);
    w.check();
}

#[test]
fn a_failed_copy_on_write_leaves_the_original_mapped() {
    let mut w = World::new(64);
    let at = parent(&mut w);
    w.fork(1, 2);
    let free = w.mm.free_pages();
    // The kernel's MAP_REPLACE unmaps the original and then fails.
    w.sim.fail_next_replace = true;
    assert!(
        w.write(2, at, 0x22).is_err(),
        "the machine refused the copy"
    );
    w.check();
    assert_eq!(w.mm.free_pages(), free, "the copy's frame was freed");
    assert_eq!(w.read(2, at), Ok(0x10), "the original is still there");
    w.write(2, at, 0x22).unwrap();
    assert_eq!(w.read(1, at), Ok(0x10));
    w.check();
}

#[test]
fn shared_memory_stays_shared_across_a_fork() {
    let mut w = World::new(64);
    w.adopt(1, "");
    let at = w.mmap(1, None, 2, RW);
    let Reply::Token(_) = w.request(
        1,
        Request::Share {
            at,
            pages: 2,
            writable: true,
        },
    ) else {
        panic!()
    };
    w.fork(1, 2);
    w.write(2, at, 0x42).unwrap();
    assert_eq!(w.read(1, at), Ok(0x42));
    assert_eq!(w.stats(2).cow_copies, 0);
    assert_eq!(w.mm.refcount(w.sim.tables[&(1, at)].0), 2);
    w.check();
}

#[test]
fn fork_maps_contiguous_frames_a_run_at_a_time() {
    let mut w = World::new(256);
    w.adopt(1, "parent");
    let at = w.mmap(1, None, 32, RW);
    for page in 0..32 {
        w.write(1, at + page * PAGE, page as u8).unwrap();
    }
    // The runs a fork may map in one call each: contiguous pages on
    // contiguous frames with one protection (the IPC buffer is a copy).
    let pages: Vec<(u64, u64)> = w.mm.mappings(1).map(|(v, pte)| (v, pte.pfn)).collect();
    let runs = 1 + pages
        .windows(2)
        .filter(|p| !(p[1].0 == p[0].0 + PAGE && p[1].1 == p[0].1 + 1))
        .count() as u64;
    assert!(runs < pages.len() as u64, "the frames are not contiguous");
    w.sim.map_runs = 0;
    w.fork(1, 2);
    w.check();
    assert!(
        w.sim.map_runs <= runs + 1,
        "{} calls for {runs} runs",
        w.sim.map_runs
    );
    for page in 0..32 {
        assert_eq!(w.read(2, at + page * PAGE), Ok(page as u8));
    }
    w.write(2, at, 0xee).unwrap();
    assert_eq!(w.read(1, at), Ok(0));
    w.exit(2);
    w.exit(1);
    w.check();
}

#[test]
fn a_dead_child_gives_its_frames_back_without_unmapping() {
    let mut w = World::new(128);
    let at = parent(&mut w);
    let free = w.mm.free_pages();
    w.fork(1, 2);
    w.write(2, at, 0xc0).unwrap();
    assert_eq!(w.mm.free_pages(), free - 2, "the IPC buffer and one copy");
    // The kernel dropped the dead child's page tables before telling mm.
    let before = w.sim.tables.len();
    assert!(w.mm.exit_dead(2, &mut w.sim));
    assert_eq!(w.sim.tables.len(), before, "nothing unmapped");
    w.sim.tables.retain(|&(space, _), _| space != 2);
    w.spaces.remove(&2);
    assert_eq!(w.mm.free_pages(), free);
    assert!(!w.mm.exit_dead(2, &mut w.sim), "already gone");
    w.check();
    // The parent takes its pages over.
    w.write(1, at, 0x11).unwrap();
    assert_eq!(w.stats(1).cow_copies, 0);
    assert_eq!(w.read(1, at), Ok(0x11));
}
