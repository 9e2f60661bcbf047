//! The core's half of file mappings: `mmap_target`'s checks of the open
//! file (mode, kind) and the most protection it allows, `lend_page`
//! (a page brought in and lent; `ENXIO` past the end), and a page written
//! through a mapping becoming dirty for writeback.

mod common;
use common::*;
use libsys::proto::mm::{PROT_EXEC, PROT_READ, PROT_WRITE};
use vfs::types::*;
use vfs::Errno;

const RW: u8 = PROT_READ | PROT_WRITE;

#[test]
fn the_open_mode_bounds_the_mapping() {
    let mut v = vfs();
    write_file(&mut v, ROOT, "/f", &[7u8; 5000]);
    let ro = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    let rw = v.open(ROOT, b"/f", O_RDWR, 0).unwrap();
    let wo = v.open(ROOT, b"/f", O_WRONLY, 0).unwrap();
    let dir = v.open(ROOT, b"/", O_RDONLY, 0).unwrap();
    let (key, max) = v.mmap_target(ROOT, ro, PROT_READ, true).unwrap();
    assert_eq!(
        max,
        PROT_READ | PROT_EXEC,
        "read-only shared: never writable"
    );
    assert_eq!(
        v.mmap_target(ROOT, ro, RW, true),
        Err(Errno::EACCES),
        "PROT_WRITE, MAP_SHARED, read-only fd"
    );
    assert_eq!(
        v.mmap_target(ROOT, ro, RW, false).map(|t| t.1),
        Ok(RW | PROT_EXEC),
        "a private mapping may be written"
    );
    assert_eq!(v.mmap_target(ROOT, rw, RW, true), Ok((key, RW | PROT_EXEC)));
    assert_eq!(
        v.mmap_target(ROOT, wo, PROT_READ, false),
        Err(Errno::EACCES)
    );
    assert_eq!(
        v.mmap_target(ROOT, dir, PROT_READ, false),
        Err(Errno::ENODEV)
    );
    assert_eq!(v.mmap_target(ROOT, 99, PROT_READ, false), Err(Errno::EBADF));
    let (r, _) = v.pipe2(ROOT, 0).unwrap();
    assert_eq!(v.mmap_target(ROOT, r, PROT_READ, false), Err(Errno::ENODEV));
}

#[test]
fn a_lent_page_is_cached_and_past_the_end_is_enxio() {
    let mut v = vfs();
    write_file(&mut v, ROOT, "/f", &[7u8; 5000]);
    let fd = v.open(ROOT, b"/f", O_RDWR, 0).unwrap();
    let (key, _) = v.mmap_target(ROOT, fd, RW, true).unwrap();
    let frame = v.lend_page(key, 1).unwrap().unwrap();
    assert!(v.pcache.is_lent(key, 1));
    assert_eq!(v.pcache.lend(key, 1), Some(frame), "the same frame");
    assert_eq!(v.lend_page(key, 2), Err(Errno::ENXIO));
    // A page of tmpfs never written (a hole) is made, zero-filled.
    v.ftruncate(ROOT, fd, 3 * 4096).unwrap();
    let hole = v.lend_page(key, 2).unwrap().unwrap();
    assert!(v.pcache.read_page(key, 2).unwrap().iter().all(|&b| b == 0));
    assert_ne!(hole, frame);
    // Truncation drops it; the next ask is past the end.
    v.ftruncate(ROOT, fd, 4096).unwrap();
    assert_eq!(v.lend_page(key, 1), Err(Errno::ENXIO));
    assert!(!v.pcache.contains(key, 1));
}
