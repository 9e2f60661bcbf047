//! `/proc/<pid>/maps` and `/proc/<pid>/status` as mm serves them: the
//! lines Linux prints, and who may look.

mod common;

use common::*;
use libsys::proto::mm::{MapKind, MmError, Reply, Request, CONTROL_BADGE, PROT_READ, PROT_WRITE};

fn maps(w: &mut World, from: u64, pid: Option<u64>, at: u64) -> Reply {
    w.request(from, Request::Maps { pid, from: at })
}

#[test]
fn maps_lists_every_area_as_linux_prints_it() {
    let mut w = World::new(256);
    w.adopt(1, "");
    let anon = w.mmap(1, None, 2, PROT_READ | PROT_WRITE);
    w.request(
        1,
        Request::Brk {
            end: Some(0x40_6000),
        },
    );
    let Reply::Maps { areas, more } = maps(&mut w, 1, None, 0) else {
        panic!()
    };
    assert!(!more);
    let lines: Vec<String> = areas.iter().map(|a| a.to_string()).collect();
    assert_eq!(
        lines[0],
        "00400000-00401000 r-xp 00000000 00:00 0          [image]"
    );
    assert!(lines
        .iter()
        .any(|l| l.ends_with("[heap]") && l.contains(" rw-p ")));
    assert!(lines.iter().any(|l| l.ends_with("[stack]")));
    let anon_line = format!("{anon:08x}-{:08x} rw-p 00000000 00:00 0", anon + 2 * PAGE);
    assert!(lines.contains(&anon_line), "{lines:?}");
    // From an address: only the areas ending above it.
    let Reply::Maps { areas, .. } = maps(&mut w, 1, None, anon) else {
        panic!()
    };
    assert_eq!(areas[0].start, anon);
    assert_eq!(areas[0].kind, MapKind::Anon);
}

#[test]
fn status_counts_resident_stack_data_and_text() {
    let mut w = World::new(256);
    w.adopt(1, "");
    let anon = w.mmap(1, None, 4, PROT_READ | PROT_WRITE);
    w.write(1, anon, 1).unwrap();
    w.exec(1, TEXT_AT).unwrap();
    let Reply::Status(s) = w.request(1, Request::Status { pid: None }) else {
        panic!()
    };
    let stats = w.stats(1);
    assert_eq!(s.vm_size, stats.virtual_pages * 4);
    assert_eq!(s.vm_rss, stats.resident_pages * 4);
    assert_eq!(s.rss_anon, s.vm_rss);
    assert_eq!(s.vm_exe, 4);
    assert!(s.vm_data >= 16 && s.vm_stk > 0 && s.vm_pte >= 3);
    assert!(s.to_string().starts_with("VmSize:\t"));
    w.fork(1, 2);
    let Reply::Status(s) = w.request(2, Request::Status { pid: None }) else {
        panic!()
    };
    assert_eq!(s.rss_anon, s.vm_rss, "copy-on-write pages are anonymous");
}

#[test]
fn only_init_sees_another_process() {
    let mut w = World::new(256);
    w.adopt(1, "");
    w.adopt(2, "");
    assert_eq!(
        maps(&mut w, 2, Some(1), 0),
        Reply::Error(MmError::NotAllowed)
    );
    let status = w.request(2, Request::Status { pid: Some(1) });
    assert_eq!(status, Reply::Error(MmError::NotAllowed));
    assert!(matches!(
        maps(&mut w, CONTROL_BADGE, Some(1), 0),
        Reply::Maps { .. }
    ));
    assert!(matches!(maps(&mut w, 2, Some(2), 0), Reply::Maps { .. }));
    let none = w.request(CONTROL_BADGE, Request::Status { pid: Some(9) });
    assert_eq!(none, Reply::Error(MmError::NotAllowed));
}

/// `AllowViews` (init only) lets one process — the file server's
/// procfs — see every space, and no one else.
#[test]
fn a_process_init_allowed_sees_every_space() {
    let mut w = World::new(256);
    w.adopt(1, "");
    w.adopt(2, "");
    w.adopt(3, "");
    // Only init may allow it; a process cannot allow itself.
    assert_eq!(
        w.request(3, Request::AllowViews { id: 3 }),
        Reply::Error(MmError::NotAllowed)
    );
    assert_eq!(
        maps(&mut w, 3, Some(1), 0),
        Reply::Error(MmError::NotAllowed)
    );
    assert_eq!(
        w.request(CONTROL_BADGE, Request::AllowViews { id: 3 }),
        Reply::Done
    );
    assert!(matches!(maps(&mut w, 3, Some(1), 0), Reply::Maps { .. }));
    assert!(matches!(
        w.request(3, Request::Status { pid: Some(2) }),
        Reply::Status(_)
    ));
    // Others are still refused.
    assert_eq!(
        maps(&mut w, 2, Some(1), 0),
        Reply::Error(MmError::NotAllowed)
    );
}
