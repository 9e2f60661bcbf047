//! Share / Accept: the same frames in two address spaces, a token used
//! once, read-only shares that stay read-only, and ranges that cannot be
//! shared.

mod common;

use common::*;
use libsys::abi::IPC_BUFFER_ADDR;
use libsys::proto::mm::{MmError, Reply, Request, PROT_READ, PROT_WRITE};
use mm::AreaKind;

const RW: u8 = PROT_READ | PROT_WRITE;

fn share(w: &mut World, from: u64, at: u64, pages: u64, writable: bool) -> Reply {
    w.request(
        from,
        Request::Share {
            at,
            pages,
            writable,
        },
    )
}

fn accept(w: &mut World, from: u64, token: u64, at: Option<u64>) -> Reply {
    w.request(from, Request::Accept { token, at })
}

#[test]
fn writes_through_one_mapping_are_seen_through_the_other() {
    let mut w = World::new(64);
    let total = w.mm.total_pages();
    w.adopt(1, "");
    w.adopt(2, "");
    let at = w.mmap(1, None, 4, RW);
    w.write(1, at, 0x51).unwrap();
    let Reply::Token(token) = share(&mut w, 1, at, 4, true) else {
        panic!()
    };
    assert_eq!(
        w.stats(1).resident_pages,
        2 + 4,
        "shared pages are populated"
    );
    assert!(w.mm.areas(1).any(|area| area.kind == AreaKind::Shared));
    let Reply::Mapped(there) = accept(&mut w, 2, token, None) else {
        panic!()
    };
    assert_eq!(w.read(2, there), Ok(0x51));
    w.write(2, there + 3 * PAGE + 9, 0x52).unwrap();
    assert_eq!(w.read(1, at + 3 * PAGE + 9), Ok(0x52));
    assert_eq!(w.stats(2).shared_pages, 4);
    assert_eq!(w.mm.system_stats().shared_pages, 4);
    w.check();

    assert_eq!(
        accept(&mut w, 2, token, None),
        Reply::Error(MmError::BadToken),
        "used"
    );
    assert_eq!(
        accept(&mut w, 2, token ^ 1, None),
        Reply::Error(MmError::BadToken)
    );

    // The sharer lets go: the frames live on in the accepter.
    assert_eq!(w.request(1, Request::Munmap { at, pages: 4 }), Reply::Done);
    assert_eq!(w.read(2, there + 3 * PAGE + 9), Ok(0x52));
    assert_eq!(w.stats(2).shared_pages, 0);
    w.exit(2);
    w.exit(1);
    assert_eq!(w.mm.free_pages(), total);
    w.check();
}

#[test]
fn a_read_only_share_stays_read_only() {
    let mut w = World::new(64);
    w.adopt(1, "");
    w.adopt(2, "");
    let at = w.mmap(1, None, 2, RW);
    let Reply::Token(token) = share(&mut w, 1, at, 2, false) else {
        panic!()
    };
    let fixed = 0x3000_0000_0000;
    assert_eq!(accept(&mut w, 2, token, Some(fixed)), Reply::Mapped(fixed));
    w.write(1, at, 7).unwrap();
    assert_eq!(w.read(2, fixed), Ok(7));
    assert_eq!(w.write(2, fixed, 8), Err("write to a read-only area"));
    let upgrade = Request::Mprotect {
        at: fixed,
        pages: 2,
        prot: RW,
    };
    assert_eq!(w.request(2, upgrade), Reply::Error(MmError::NotAllowed));
    let reshare = share(&mut w, 2, fixed, 1, true);
    assert_eq!(
        reshare,
        Reply::Error(MmError::NotAllowed),
        "no write through a re-share"
    );
    w.check();
}

#[test]
fn what_cannot_be_shared_or_accepted() {
    let mut w = World::new(64);
    w.adopt(1, "");
    w.adopt(2, "");
    let at = w.mmap(1, None, 2, RW);
    let e = Reply::Error;
    assert_eq!(
        share(&mut w, 1, IPC_BUFFER_ADDR, 1, false),
        e(MmError::NotAllowed)
    );
    assert_eq!(
        share(&mut w, 1, TEXT_AT, 1, false),
        e(MmError::NotAllowed),
        "executable"
    );
    let read_only = Request::Mprotect {
        at,
        pages: 1,
        prot: PROT_READ,
    };
    assert_eq!(w.request(1, read_only), Reply::Done);
    assert_eq!(
        share(&mut w, 1, at, 1, true),
        e(MmError::NotAllowed),
        "read-only"
    );
    assert_eq!(share(&mut w, 1, at, 3, false), e(MmError::NotMapped));
    assert_eq!(
        share(&mut w, 1, at + 1, 1, false),
        e(MmError::InvalidArgument)
    );
    assert_eq!(share(&mut w, 1, at, 0, false), e(MmError::InvalidArgument));

    // A token whose range the sharer unmapped is stale.
    let Reply::Token(token) = share(&mut w, 1, at + PAGE, 1, true) else {
        panic!()
    };
    assert_eq!(
        w.request(
            1,
            Request::Munmap {
                at: at + PAGE,
                pages: 1
            }
        ),
        Reply::Done
    );
    assert_eq!(accept(&mut w, 2, token, None), e(MmError::BadToken));
    // A token of a process that exited too.
    let Reply::Token(token) = share(&mut w, 1, at, 1, false) else {
        panic!()
    };
    w.exit(1);
    assert_eq!(accept(&mut w, 2, token, None), e(MmError::BadToken));
    w.check();
}

#[test]
fn an_accept_that_fails_keeps_the_token() {
    let mut w = World::new(64);
    w.adopt(1, "");
    w.adopt(2, "");
    let at = w.mmap(1, None, 2, RW);
    let Reply::Token(token) = share(&mut w, 1, at, 2, true) else {
        panic!()
    };
    assert_eq!(
        accept(&mut w, 2, token, Some(TEXT_AT)),
        Reply::Error(MmError::Overlap)
    );
    assert_eq!(
        accept(&mut w, 2, token, Some(5)),
        Reply::Error(MmError::InvalidArgument)
    );
    w.sim.maps_left = Some(1);
    assert_eq!(
        accept(&mut w, 2, token, None),
        Reply::Error(MmError::NoMemory)
    );
    w.sim.maps_left = None;
    w.check();
    assert!(matches!(accept(&mut w, 2, token, None), Reply::Mapped(_)));
    w.check();
}

#[test]
fn sharing_a_copy_on_write_page_gives_the_sharer_its_own_frame() {
    let mut w = World::new(64);
    w.adopt(1, "");
    w.adopt(3, "");
    let at = w.mmap(1, None, 1, RW);
    w.write(1, at, 1).unwrap();
    w.fork(1, 2);
    let Reply::Token(token) = share(&mut w, 1, at, 1, true) else {
        panic!()
    };
    assert_eq!(w.stats(1).cow_copies, 1);
    let Reply::Mapped(there) = accept(&mut w, 3, token, None) else {
        panic!()
    };
    w.write(3, there, 3).unwrap();
    assert_eq!(w.read(1, at), Ok(3));
    assert_eq!(
        w.read(2, at),
        Ok(1),
        "the fork's child is not part of the share"
    );
    w.check();
}
