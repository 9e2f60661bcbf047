//! Adopting a process from an ELF image: the layout, demand loading of
//! its segments (file bytes, zeros for `.bss`), the arguments on the
//! stack, the IPC buffer, the guard page, and every way adopting fails
//! without leaving anything behind.

mod common;

use common::*;
use libsys::abi::{IPC_BUFFER_ADDR, USER_STACK_TOP};
use libsys::proto::mm::{MmError, CONTROL_BADGE, PAGER_BADGE};
use mm::layout::STACK_BOTTOM;
use mm::{AreaKind, FaultOutcome};

#[test]
fn adopt_lays_out_the_space_and_puts_the_arguments_on_top_of_the_stack() {
    let mut w = World::new(64);
    let total = w.mm.total_pages();
    let adopted = w.adopt(7, "hello world");
    assert_eq!(adopted.id, 7);
    assert_eq!(adopted.entry, ENTRY);
    assert_eq!(adopted.args_at, (USER_STACK_TOP - 11) & !0xf);
    assert_eq!(adopted.args_at % 16, 0);
    assert_eq!(adopted.stack, adopted.args_at - 8);
    assert_eq!(adopted.args_len, 11);

    let kinds: Vec<_> = w.mm.areas(7).map(|area| area.kind).collect();
    assert!(matches!(kinds[0], AreaKind::Elf(_)));
    assert!(matches!(kinds[1], AreaKind::Elf(_)));
    assert_eq!(kinds[2..], [AreaKind::IpcBuffer, AreaKind::Stack]);
    let stats = w.stats(7);
    assert_eq!(
        stats.resident_pages, 2,
        "the stack's top page and the IPC buffer"
    );
    assert_eq!(
        stats.brk, 0x40_4000,
        "the heap starts after the last segment"
    );
    assert_eq!(w.mm.free_pages(), total - 2);

    let args: Vec<u8> = (0..11)
        .map(|i| w.read(7, adopted.args_at + i).unwrap())
        .collect();
    assert_eq!(args, b"hello world");
    assert_eq!(
        w.read(7, adopted.args_at - 1),
        Ok(0),
        "the rest of the page is zero"
    );
    assert_eq!(w.stats(7).faults, 0, "the top page was populated at adopt");
    w.check();
}

#[test]
fn segments_are_loaded_on_demand_with_bss_zeroed() {
    let mut w = World::new(64);
    w.adopt(1, "");
    for (i, &byte) in TEXT.iter().enumerate() {
        assert_eq!(w.read(1, TEXT_AT + i as u64), Ok(byte));
    }
    assert_eq!(w.read(1, TEXT_AT + 0xff), Ok(0), "past the file bytes");
    assert_eq!(w.exec(1, ENTRY), Ok(()));
    assert_eq!(w.stats(1).resident_pages, 3);

    for (i, &byte) in data_bytes().iter().enumerate() {
        assert_eq!(w.read(1, DATA_AT + i as u64), Ok(byte));
    }
    assert_eq!(
        w.read(1, DATA_AT - 1),
        Ok(0),
        "before the segment, in its page"
    );
    assert_eq!(w.read(1, 0x40_2000), Ok(0), ".bss");
    assert_eq!(
        w.read(1, 0x40_3fff),
        Ok(0),
        ".bss, last byte of the last page"
    );
    assert_eq!(w.stats(1).resident_pages, 6);
    assert_eq!(w.stats(1).faults, 4);

    // The data is private and writable; the text is neither writable nor
    // is the data executable.
    w.write(1, DATA_AT, 0xee).unwrap();
    assert_eq!(w.read(1, DATA_AT), Ok(0xee));
    assert_eq!(w.write(1, TEXT_AT, 0), Err("write to a read-only area"));
    assert_eq!(w.exec(1, DATA_AT), Err("execute in a non-executable area"));
    assert_eq!(w.read(1, 0x40_4000), Err("fault outside any area"));
    assert_eq!(w.read(1, 0), Err("fault outside any area"));
    w.check();
}

#[test]
fn the_stack_is_demand_zero_above_a_guard_page_over_the_ipc_buffer() {
    let mut w = World::new(64);
    w.adopt(1, "x");
    assert_eq!(w.read(1, IPC_BUFFER_ADDR), Ok(0));
    w.write(1, IPC_BUFFER_ADDR + 8, 3).unwrap();
    assert_eq!(
        w.stats(1).faults,
        0,
        "the IPC buffer is mapped writable at once"
    );
    assert_eq!(w.read(1, USER_STACK_TOP - 3 * PAGE), Ok(0));
    w.write(1, STACK_BOTTOM, 1).unwrap();
    assert_eq!(w.stats(1).resident_pages, 4);
    assert_eq!(
        w.read(1, STACK_BOTTOM - 1),
        Err("fault outside any area"),
        "guard page"
    );
    assert_eq!(w.read(1, USER_STACK_TOP), Err("fault outside any area"));
    w.check();
}

#[test]
fn exit_frees_everything_and_releases_the_image_with_its_last_user() {
    let mut w = World::new(64);
    let total = w.mm.total_pages();
    w.adopt(1, "a");
    w.read(1, DATA_AT).unwrap();
    w.fork(1, 2);
    w.exit(1);
    assert_eq!(w.mm.take_released_image(), None, "the child still runs it");
    w.read(2, 0x40_2000).unwrap();
    w.exit(2);
    assert_eq!(w.mm.take_released_image(), Some(1));
    assert_eq!(w.mm.free_pages(), total);
    assert!(!w.mm.exit(2, &mut w.sim), "exit twice");
    assert_eq!(
        w.mm.fault(2, DATA_AT, PF_USER, &mut w.sim),
        FaultOutcome::Kill("not a process mm manages")
    );
    w.check();
}

#[test]
fn adopt_refuses_and_leaves_nothing_behind() {
    let mut w = World::new(64);
    let free = w.mm.free_pages();
    w.sim.images.insert(2, b"not an elf file at all".to_vec());
    let on_stack = elf(
        &[(USER_STACK_TOP - PAGE, 0x10, vec![0xc3], 5)],
        USER_STACK_TOP - PAGE,
    );
    w.sim.images.insert(3, on_stack);
    let long = "x".repeat(1025);
    let mut adopt = |id, image, args: &str| w.mm.adopt(id, image, args, &mut w.sim).map(|_| ());
    assert_eq!(adopt(5, 2, ""), Err(MmError::BadImage));
    assert_eq!(adopt(5, 9, ""), Err(MmError::BadImage), "no such image");
    assert_eq!(
        adopt(5, 3, ""),
        Err(MmError::BadImage),
        "a segment on the stack"
    );
    assert_eq!(adopt(5, 1, &long), Err(MmError::InvalidArgument));
    assert_eq!(adopt(CONTROL_BADGE, 1, ""), Err(MmError::InvalidArgument));
    assert_eq!(adopt(PAGER_BADGE | 5, 1, ""), Err(MmError::InvalidArgument));
    assert_eq!(adopt(5, 1, &long[..1024]), Ok(()));
    assert_eq!(adopt(5, 1, ""), Err(MmError::NotAllowed), "id in use");
    assert!(w.mm.exit(5, &mut w.sim));
    assert_eq!(w.mm.free_pages(), free);

    // The machine refuses the second mapping: the first is undone.
    w.sim.maps_left = Some(1);
    assert_eq!(
        w.mm.adopt(6, 1, "", &mut w.sim).map(|_| ()),
        Err(MmError::NoMemory)
    );
    assert!(!w.mm.manages(6));
    assert!(w.sim.tables.is_empty());
    assert_eq!(w.mm.free_pages(), free);
    w.sim.maps_left = None;

    // Not enough memory for the two pages.
    let mut tiny = World::new(1);
    assert_eq!(
        tiny.mm.adopt(1, 1, "", &mut tiny.sim).map(|_| ()),
        Err(MmError::NoMemory)
    );
    assert_eq!(tiny.mm.free_pages(), 1);
    w.check();
}

#[test]
fn empty_arguments_leave_the_stack_pointer_just_below_the_top() {
    let mut w = World::new(8);
    let adopted = w.adopt(3, "");
    assert_eq!(adopted.args_at, USER_STACK_TOP);
    assert_eq!(adopted.stack, USER_STACK_TOP - 8);
    assert_eq!(adopted.args_len, 0);
    w.check();
}
