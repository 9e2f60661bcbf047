//! File-backed mappings (`filemap.rs`): the page cache's frames mapped
//! into processes, faults that wait for the file server and are answered,
//! shared writes seen by every mapping and collected as dirty, private
//! copies, splits and partial unmaps that keep the file offsets right,
//! forgetting (truncation), and requests that must be refused.

mod common;

use common::*;
use libsys::proto::mm::{
    FileAnswer, MmError, Reply, Request, FILE_BATCH, PROT_EXEC, PROT_READ, PROT_WRITE,
};
use mm::{AreaKind, FaultOutcome};

const RW: u8 = PROT_READ | PROT_WRITE;
/// The file server's space id (adopted by init, as the real one is).
const VFS: u64 = 10;
const FILE: u64 = 0xf11e;
const FAULT_READ: u64 = 1 << 2;
const FAULT_WRITE: u64 = (1 << 2) | (1 << 1);

/// A world with a file server whose page cache has 32 slots; returns the
/// world and the cache's base.
fn world() -> (World, u64) {
    let mut w = World::new(256);
    w.adopt(VFS, "");
    w.adopt(1, "");
    w.adopt(2, "");
    let base = w.mm.register_page_cache(VFS, 32).unwrap();
    (w, base)
}

/// The file server fills slot `slot` with `byte` (its own store into its
/// page cache).
fn fill(w: &mut World, base: u64, slot: u64, byte: u8) {
    for offset in [0, 100, PAGE - 1] {
        w.write(VFS, base + slot * PAGE + offset, byte).unwrap();
    }
}

#[allow(clippy::too_many_arguments)]
fn map_file(
    w: &mut World,
    pid: u64,
    at: Option<u64>,
    pages: u64,
    prot: u8,
    max_prot: u8,
    shared: bool,
    index: u64,
) -> Reply {
    w.request(
        VFS,
        Request::MapFile {
            pid,
            at,
            pages,
            prot,
            max_prot,
            shared,
            file: FILE,
            index,
        },
    )
}

fn mapped(reply: Reply) -> u64 {
    match reply {
        Reply::Mapped(at) => at,
        other => panic!("not mapped: {other:?}"),
    }
}

/// The file server's turn: answers `answers`, returns the wants.
fn file_pages(w: &mut World, answers: &[(u64, Option<u64>)]) -> Vec<(u64, u64, u64)> {
    let answers = answers
        .iter()
        .map(|&(token, slot)| FileAnswer { token, slot })
        .collect();
    match w.request(VFS, Request::FilePages { answers }) {
        Reply::FileWants { wants, .. } => {
            wants.iter().map(|w| (w.token, w.file, w.index)).collect()
        }
        other => panic!("FilePages: {other:?}"),
    }
}

/// A fault that must wait; returns its token.
fn waits(w: &mut World, space: u64, addr: u64, error: u64) -> u64 {
    match w.mm.fault(space, addr, error, &mut w.sim) {
        FaultOutcome::Wait(token) => token,
        other => panic!("expected a wait, got {other:?}"),
    }
}

/// Serves one waiting fault of `space` at `addr` with `slot`, all the way.
fn serve(w: &mut World, space: u64, addr: u64, error: u64, slot: u64) {
    let token = waits(w, space, addr, error);
    assert!(w.mm.take_file_signal().is_some(), "the file server is told");
    let wants = file_pages(w, &[]);
    assert!(wants.iter().any(|&(t, f, _)| t == token && f == FILE));
    assert!(file_pages(w, &[(token, Some(slot))]).is_empty());
    assert_eq!(w.mm.take_completions(), vec![(token, FaultOutcome::Resume)]);
}

#[test]
fn a_shared_mapping_maps_the_page_cache_frame_itself() {
    let (mut w, base) = world();
    fill(&mut w, base, 3, 0x61);
    let a = mapped(map_file(&mut w, 1, None, 2, RW, RW, true, 0));
    let b = mapped(map_file(&mut w, 2, None, 2, RW, RW, true, 0));
    serve(&mut w, 1, a + 100, FAULT_READ, 3);
    assert_eq!(w.read(1, a + 100), Ok(0x61));
    let cached = w.mm.file_cached(FILE, 0).unwrap();
    assert_eq!(w.mm.refcount(cached), 2, "the cache and one mapping");
    // The second process finds it in the index: no wait.
    assert_eq!(
        w.mm.fault(2, b, FAULT_READ, &mut w.sim),
        FaultOutcome::Resume
    );
    assert_eq!(w.mm.refcount(cached), 3);
    // Writes through either are the other's and the page cache's.
    w.write(2, b + 7, 0x77).unwrap();
    assert_eq!(w.read(1, a + 7), Ok(0x77));
    assert_eq!(w.read(VFS, base + 3 * PAGE + 7), Ok(0x77));
    w.check();
    w.exit(2);
    assert_eq!(w.mm.refcount(cached), 2);
    w.check();
}

#[test]
fn a_clean_shared_page_is_read_only_until_written_then_dirty() {
    let (mut w, base) = world();
    fill(&mut w, base, 0, 1);
    let a = mapped(map_file(&mut w, 1, None, 1, RW, RW, true, 5));
    serve(&mut w, 1, a, FAULT_READ, 0);
    let prot = w.mm.mappings(1).find(|&(v, _)| v == a).unwrap().1.prot;
    assert_eq!(prot, PROT_READ, "clean: read-only");
    let dirty = |w: &mut World| match w.request(VFS, Request::FileDirty { file: Some(FILE) }) {
        Reply::Dirty { pages, more } => (pages.to_vec(), more),
        other => panic!("{other:?}"),
    };
    assert_eq!(dirty(&mut w), (vec![], false));
    w.write(1, a, 9).unwrap();
    assert_eq!(dirty(&mut w), (vec![(FILE, 5)], false));
    assert_eq!(dirty(&mut w), (vec![], false), "collected once");
    let prot = w.mm.mappings(1).find(|&(v, _)| v == a).unwrap().1.prot;
    assert_eq!(prot, PROT_READ, "read-only again: the next write is seen");
    w.write(1, a, 10).unwrap();
    assert_eq!(dirty(&mut w), (vec![(FILE, 5)], false));
    // mprotect keeps a clean page read-only.
    assert_eq!(
        w.request(
            1,
            Request::Mprotect {
                at: a,
                pages: 1,
                prot: RW
            }
        ),
        Reply::Done
    );
    w.check();
}

#[test]
fn a_private_mapping_copies_on_the_first_write() {
    let (mut w, base) = world();
    fill(&mut w, base, 1, 0x41);
    let a = mapped(map_file(&mut w, 1, None, 1, RW, RW, false, 0));
    serve(&mut w, 1, a, FAULT_READ, 1);
    let cached = w.mm.file_cached(FILE, 0).unwrap();
    assert_eq!(
        w.mm.mappings(1).find(|&(v, _)| v == a).unwrap().1.pfn,
        cached
    );
    w.write(1, a, 0x42).unwrap();
    assert_ne!(
        w.mm.mappings(1).find(|&(v, _)| v == a).unwrap().1.pfn,
        cached
    );
    assert_eq!(w.read(VFS, base + PAGE), Ok(0x41), "the file is untouched");
    assert_eq!(w.read(1, a), Ok(0x42));
    // A write fault on a page not yet cached waits, then maps a copy.
    let b = mapped(map_file(&mut w, 2, None, 1, RW, RW, false, 0));
    assert_eq!(
        w.mm.fault(2, b, FAULT_WRITE, &mut w.sim),
        FaultOutcome::Resume,
        "cached: copied at once"
    );
    assert_eq!(w.read(2, b), Ok(0x41));
    assert_eq!(w.mm.refcount(cached), 1, "only the cache holds it");
    w.check();
}

#[test]
fn fork_shares_shared_file_pages_and_copies_private_ones_on_write() {
    let (mut w, base) = world();
    fill(&mut w, base, 2, 5);
    fill(&mut w, base, 4, 6);
    let s = mapped(map_file(&mut w, 1, None, 1, RW, RW, true, 0));
    let p = mapped(map_file(&mut w, 1, None, 1, RW, RW, false, 1));
    serve(&mut w, 1, s, FAULT_WRITE, 2);
    serve(&mut w, 1, p, FAULT_READ, 4);
    w.fork(1, 3);
    w.write(3, s, 0x33).unwrap();
    assert_eq!(w.read(1, s), Ok(0x33), "shared stays shared");
    w.write(3, p, 0x44).unwrap();
    assert_eq!(w.read(1, p), Ok(6), "private is copied");
    w.check();
}

#[test]
fn a_partial_unmap_and_split_keep_the_file_offsets() {
    let (mut w, base) = world();
    fill(&mut w, base, 7, 0x13);
    let a = mapped(map_file(&mut w, 1, None, 4, RW, RW, true, 10));
    assert_eq!(
        w.request(
            1,
            Request::Munmap {
                at: a + PAGE,
                pages: 1
            }
        ),
        Reply::Done
    );
    let areas: Vec<_> =
        w.mm.areas(1)
            .filter(|a| matches!(a.kind, AreaKind::File { .. }))
            .collect();
    assert_eq!(areas.len(), 2);
    assert_eq!(
        areas[1].kind,
        AreaKind::File {
            file: FILE,
            index: 12,
            shared: true
        }
    );
    let token = waits(&mut w, 1, a + 3 * PAGE, FAULT_READ);
    assert_eq!(file_pages(&mut w, &[]), vec![(token, FILE, 13)]);
    // mprotect splits too.
    assert_eq!(
        w.request(
            1,
            Request::Mprotect {
                at: a + 2 * PAGE,
                pages: 1,
                prot: PROT_READ
            }
        ),
        Reply::Done
    );
    assert!(file_pages(&mut w, &[(token, Some(7))]).is_empty());
    assert_eq!(w.read(1, a + 3 * PAGE), Ok(0x13));
    let token = waits(&mut w, 1, a + 2 * PAGE, FAULT_READ);
    assert_eq!(file_pages(&mut w, &[]), vec![(token, FILE, 12)]);
    // The fault on the unmapped hole kills.
    assert!(matches!(
        w.mm.fault(1, a + PAGE, FAULT_READ, &mut w.sim),
        FaultOutcome::Kill(_)
    ));
    w.check();
}

#[test]
fn forgetting_a_page_unmaps_it_and_past_the_end_is_sigbus() {
    let (mut w, base) = world();
    fill(&mut w, base, 5, 0x55);
    let a = mapped(map_file(&mut w, 1, None, 2, RW, RW, true, 0));
    let b = mapped(map_file(&mut w, 2, None, 1, RW, RW, false, 0));
    serve(&mut w, 1, a, FAULT_WRITE, 5);
    assert_eq!(
        w.mm.fault(2, b, FAULT_READ, &mut w.sim),
        FaultOutcome::Resume
    );
    // Truncation: the file server forgets slot 5.
    assert_eq!(
        w.request(VFS, Request::FileForget { slot: 5 }),
        Reply::Forgot { dirty: true }
    );
    assert!(w.mm.mappings(1).all(|(v, _)| v != a));
    assert!(w.mm.mappings(2).all(|(v, _)| v != b));
    assert_eq!(w.mm.file_cached(FILE, 0), None);
    w.check();
    let token = waits(&mut w, 1, a, FAULT_READ);
    file_pages(&mut w, &[]);
    file_pages(&mut w, &[(token, None)]);
    assert!(matches!(
        w.mm.take_completions()[..],
        [(t, FaultOutcome::Bus(_))] if t == token
    ));
    assert_eq!(
        w.request(VFS, Request::FileForget { slot: 5 }),
        Reply::Forgot { dirty: false },
        "forgetting twice is harmless"
    );
    w.check();
}

#[test]
fn msync_names_the_files_of_shared_mappings() {
    let (mut w, _) = world();
    let a = mapped(map_file(&mut w, 1, None, 2, RW, RW, true, 0));
    let p = mapped(map_file(&mut w, 1, Some(a + 2 * PAGE), 1, RW, RW, false, 0));
    assert_eq!(p, a + 2 * PAGE);
    match w.request(1, Request::Msync { at: a, pages: 3 }) {
        Reply::Files(files) => assert_eq!(&files[..], &[FILE]),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        w.request(1, Request::Msync { at: a, pages: 4 }),
        Reply::Error(MmError::NotMapped)
    );
    assert_eq!(
        w.request(
            1,
            Request::Msync {
                at: a + 1,
                pages: 1
            }
        ),
        Reply::Error(MmError::InvalidArgument)
    );
}

#[test]
fn the_file_server_leaving_kills_the_waiting_faults() {
    let (mut w, _) = world();
    let a = mapped(map_file(&mut w, 1, None, 1, RW, RW, true, 0));
    let token = waits(&mut w, 1, a, FAULT_READ);
    w.exit(VFS);
    assert!(matches!(
        w.mm.take_completions()[..],
        [(t, FaultOutcome::Kill(_))] if t == token
    ));
    assert!(matches!(
        w.mm.fault(1, a, FAULT_READ, &mut w.sim),
        FaultOutcome::Kill(_)
    ));
    w.check();
}

#[test]
fn waits_are_bounded_and_batched() {
    let (mut w, _) = world();
    let pages = mm::FILE_WAITS_MAX as u64 + 1;
    let a = mapped(map_file(&mut w, 1, None, pages, RW, RW, true, 0));
    for i in 0..mm::FILE_WAITS_MAX as u64 {
        waits(&mut w, 1, a + i * PAGE, FAULT_READ);
    }
    assert!(matches!(
        w.mm.fault(1, a + (pages - 1) * PAGE, FAULT_READ, &mut w.sim),
        FaultOutcome::Kill(_)
    ));
    let mut handed = 0;
    loop {
        match w.request(
            VFS,
            Request::FilePages {
                answers: heapless::Vec::new(),
            },
        ) {
            Reply::FileWants { wants, more } => {
                assert!(wants.len() <= FILE_BATCH);
                handed += wants.len();
                if !more {
                    break;
                }
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(handed, mm::FILE_WAITS_MAX);
}

#[test]
fn hostile_requests_get_typed_errors() {
    let (mut w, base) = world();
    let err = |e| Reply::Error(e);
    // Only the owner maps files, forgets, answers.
    let from_1 = Request::MapFile {
        pid: 2,
        at: None,
        pages: 1,
        prot: PROT_READ,
        max_prot: RW,
        shared: true,
        file: FILE,
        index: 0,
    };
    assert_eq!(w.request(1, from_1), err(MmError::NotAllowed));
    assert_eq!(
        w.request(1, Request::FileForget { slot: 0 }),
        err(MmError::NotAllowed)
    );
    assert_eq!(
        w.request(
            1,
            Request::FilePages {
                answers: heapless::Vec::new()
            }
        ),
        err(MmError::NotAllowed)
    );
    assert_eq!(
        w.request(1, Request::FileDirty { file: None }),
        err(MmError::NotAllowed)
    );
    // A second page cache, or one from a process init did not adopt.
    assert_eq!(w.mm.register_page_cache(1, 4), Err(MmError::NotAllowed));
    w.fork(2, 40);
    w.exit(VFS);
    assert_eq!(w.mm.register_page_cache(40, 4), Err(MmError::NotAllowed));
    w.adopt(VFS, "");
    assert_eq!(
        w.mm.register_page_cache(VFS, 1 << 20),
        Err(MmError::InvalidArgument)
    );
    let base2 = w.mm.register_page_cache(VFS, 8).unwrap();
    let _ = base;
    // PROT_WRITE on a read-only file's shared mapping.
    assert_eq!(
        map_file(&mut w, 1, None, 1, RW, PROT_READ, true, 0),
        err(MmError::NotAllowed)
    );
    // W^X, unaligned, kernel half, overflowing, zero pages.
    assert_eq!(
        map_file(&mut w, 1, None, 1, RW | PROT_EXEC, 7, true, 0),
        err(MmError::InvalidArgument)
    );
    assert_eq!(
        map_file(&mut w, 1, Some(0x1234), 1, RW, RW, true, 0),
        err(MmError::InvalidArgument)
    );
    assert_eq!(
        map_file(&mut w, 1, Some(0xffff_8000_0000_0000), 1, RW, RW, true, 0),
        err(MmError::InvalidArgument)
    );
    assert_eq!(
        map_file(
            &mut w,
            1,
            Some(0x7000_0000_0000),
            u64::MAX / PAGE,
            RW,
            RW,
            true,
            0
        ),
        err(MmError::InvalidArgument)
    );
    assert_eq!(
        map_file(&mut w, 1, None, 0, RW, RW, true, 0),
        err(MmError::InvalidArgument)
    );
    assert_eq!(
        map_file(&mut w, 1, None, 2, RW, RW, true, u64::MAX - 1),
        err(MmError::InvalidArgument)
    );
    // MAP_FIXED over another area; the owner itself; an unknown pid.
    let a = mapped(map_file(&mut w, 1, None, 2, RW, RW, true, 0));
    assert_eq!(
        map_file(&mut w, 1, Some(a + PAGE), 1, RW, RW, true, 0),
        err(MmError::Overlap)
    );
    assert_eq!(
        map_file(&mut w, VFS, None, 1, RW, RW, true, 0),
        err(MmError::NotAllowed)
    );
    assert_eq!(
        map_file(&mut w, 99, None, 1, RW, RW, true, 0),
        err(MmError::NotAllowed)
    );
    // The page cache cannot be unmapped, reprotected or shared.
    for request in [
        Request::Munmap {
            at: base2,
            pages: 1,
        },
        Request::Mprotect {
            at: base2,
            pages: 1,
            prot: PROT_READ,
        },
        Request::Share {
            at: base2,
            pages: 1,
            writable: false,
        },
    ] {
        assert_eq!(w.request(VFS, request), err(MmError::NotAllowed));
    }
    // Nor can a file mapping be shared.
    assert_eq!(
        w.request(
            1,
            Request::Share {
                at: a,
                pages: 1,
                writable: false
            }
        ),
        err(MmError::NotAllowed)
    );
    // An answer naming a slot outside the cache, or one not filled.
    let token = waits(&mut w, 1, a, FAULT_READ);
    file_pages(&mut w, &[(token, Some(1 << 40))]);
    assert!(matches!(
        w.mm.take_completions()[..],
        [(_, FaultOutcome::Kill(_))]
    ));
    let token = waits(&mut w, 1, a, FAULT_READ);
    file_pages(&mut w, &[(token, Some(3))]);
    assert!(matches!(
        w.mm.take_completions()[..],
        [(_, FaultOutcome::Kill(_))]
    ));
    // Unknown tokens are ignored.
    file_pages(&mut w, &[(12345, Some(0))]);
    assert!(w.mm.take_completions().is_empty());
    w.check();
}
