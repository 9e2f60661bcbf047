//! `Exec`: a space replaced by a new image's (the old pages all freed,
//! the new stack's top pages as given, the IPC buffer fresh), a space
//! made for a process mm did not manage, and every way it fails before
//! the point of no return leaving the old space as it was.

mod common;

use common::*;
use libsys::abi::{IPC_BUFFER_ADDR, USER_STACK_TOP};
use libsys::proto::mm::MmError;
use mm::{AreaKind, EXEC_STACK_MAX};

/// Two pages of initial stack: a marker at the very top and one at the
/// start, as lib/exec's bytes would be laid out.
fn top() -> Vec<u8> {
    let mut bytes = vec![0u8; 2 * PAGE as usize];
    bytes[0] = 0x11;
    *bytes.last_mut().unwrap() = 0x22;
    bytes
}

#[test]
fn exec_replaces_the_space_and_frees_the_old_pages() {
    let mut w = World::new(128);
    let total = w.mm.total_pages();
    w.adopt(5, "old");
    let heap = w.mmap(5, None, 4, 3);
    for i in 0..4 {
        w.write(5, heap + i * PAGE, 9).unwrap();
    }
    w.write(5, DATA_AT, 0x77).unwrap();
    let entry = w.mm.exec(5, 1, &top(), &mut w.sim).unwrap();
    assert_eq!(entry, ENTRY);
    let kinds: Vec<_> = w.mm.areas(5).map(|a| a.kind).collect();
    assert!(matches!(kinds[0], AreaKind::Elf(_)));
    assert_eq!(kinds[2..], [AreaKind::IpcBuffer, AreaKind::Stack]);
    assert_eq!(
        w.stats(5).resident_pages,
        3,
        "two stack pages and the IPC buffer"
    );
    assert_eq!(w.mm.free_pages(), total - 3, "every old page went back");
    assert_eq!(w.read(5, USER_STACK_TOP - 1), Ok(0x22));
    assert_eq!(w.read(5, USER_STACK_TOP - 2 * PAGE), Ok(0x11));
    assert_eq!(
        w.read(5, DATA_AT),
        Ok(data_bytes()[0]),
        "data fresh from the image"
    );
    assert!(w.read(5, heap).is_err(), "the old mmap is gone");
    assert_eq!(w.read(5, IPC_BUFFER_ADDR), Ok(0), "a fresh IPC buffer");
    w.check();
    w.exit(5);
    assert_eq!(w.mm.free_pages(), total);
}

#[test]
fn exec_makes_a_space_for_a_process_mm_did_not_manage() {
    let mut w = World::new(64);
    let entry = w.mm.exec(42, 1, &top(), &mut w.sim).unwrap();
    w.spaces.insert(42);
    assert_eq!(entry, ENTRY);
    assert!(w.mm.manages(42));
    for (i, &byte) in TEXT.iter().enumerate() {
        assert_eq!(w.read(42, TEXT_AT + i as u64), Ok(byte));
    }
    w.check();
}

#[test]
fn exec_that_fails_leaves_the_old_space_as_it_was() {
    let mut w = World::new(64);
    w.adopt(3, "keep");
    w.write(3, DATA_AT, 0x5a).unwrap();
    let before: Vec<_> = w.mm.mappings(3).collect();
    // Not an ELF file.
    w.sim
        .images
        .insert(2, b"#!/bin/sh\necho not an ELF\n".to_vec());
    assert_eq!(w.mm.exec(3, 2, &top(), &mut w.sim), Err(MmError::BadImage));
    // A truncated ELF.
    let mut cut = program();
    cut.truncate(80);
    w.sim.images.insert(3, cut);
    assert_eq!(w.mm.exec(3, 3, &top(), &mut w.sim), Err(MmError::BadImage));
    // A segment over the stack.
    w.sim.images.insert(
        4,
        elf(
            &[(USER_STACK_TOP - PAGE, 0x100, vec![1], 5)],
            USER_STACK_TOP - PAGE,
        ),
    );
    assert_eq!(w.mm.exec(3, 4, &top(), &mut w.sim), Err(MmError::BadImage));
    // Stack bytes not whole pages, or too many.
    assert_eq!(
        w.mm.exec(3, 1, &[0u8; 100], &mut w.sim),
        Err(MmError::InvalidArgument)
    );
    let huge = vec![0u8; (EXEC_STACK_MAX + PAGE) as usize];
    assert_eq!(
        w.mm.exec(3, 1, &huge, &mut w.sim),
        Err(MmError::InvalidArgument)
    );
    // An unknown image (empty bytes).
    assert_eq!(w.mm.exec(3, 99, &top(), &mut w.sim), Err(MmError::BadImage));
    let after: Vec<_> = w.mm.mappings(3).collect();
    assert_eq!(before, after);
    assert_eq!(w.read(3, DATA_AT), Ok(0x5a), "the old data is still there");
    w.check();
}

#[test]
fn exec_without_frames_for_the_stack_fails_before_dropping_anything() {
    let mut w = World::new(8);
    w.adopt(1, "");
    // Take every free frame.
    let free = w.mm.free_pages();
    let at = w.mmap(1, None, free, 3);
    for i in 0..free {
        w.write(1, at + i * PAGE, 1).unwrap();
    }
    assert_eq!(w.mm.exec(1, 1, &top(), &mut w.sim), Err(MmError::NoMemory));
    assert_eq!(w.read(1, at), Ok(1));
    w.check();
}

#[test]
fn exec_of_a_forked_child_leaves_the_parent_alone() {
    let mut w = World::new(64);
    w.adopt(1, "");
    w.write(1, DATA_AT, 0x33).unwrap();
    w.fork(1, 2);
    w.mm.exec(2, 1, &top(), &mut w.sim).unwrap();
    assert_eq!(w.read(2, DATA_AT), Ok(data_bytes()[0]));
    assert_eq!(w.read(1, DATA_AT), Ok(0x33));
    w.write(1, DATA_AT, 0x34).unwrap();
    assert_eq!(w.stats(1).cow_copies, 0, "the parent takes its page over");
    w.check();
}
