//! The page cache: counters, dirty tracking, writeback order (oldest dirty
//! inode first, its pages in index order), the dirty-expire age and the
//! thresholds, failed writeback redirtying, shrink (clean pages only, least
//! recently used first), truncation, unevictable spaces, read-ahead — on
//! its own and under a file system with a store (`DiskFs`): reads through
//! `readpage` once, writes dirtying pages, `fsync`, the periodic flush,
//! `sync`, and umount writing back.

mod common;
use common::*;
use std::cell::RefCell;
use std::rc::Rc;
use vfs::pagecache::*;
use vfs::readahead::{ReadAhead, RA_INIT_PAGES, RA_MAX_PAGES};
use vfs::types::*;
use vfs::{Errno, Io, Vfs};

fn cache(pages: usize) -> PageCache<u64> {
    PageCache::new(Box::new(VecPageProvider::new(pages)))
}

fn add(c: &mut PageCache<u64>, key: u64, index: u64, byte: u8) {
    c.add_page(key, index, &mut |p| {
        p.fill(byte);
        Ok(())
    })
    .unwrap();
}

#[test]
fn pages_and_counters() {
    let mut c = cache(8);
    add(&mut c, 1, 0, 0xaa);
    add(&mut c, 1, 5, 0xbb);
    add(&mut c, 1, 5, 0xcc);
    assert_eq!(
        c.read_page(1, 5).unwrap()[0],
        0xbb,
        "an added page is not re-filled"
    );
    assert_eq!(
        c.stats(),
        PageCacheStats {
            cached: 2,
            dirty: 0,
            writeback: 0
        }
    );
    c.set_dirty(1, 0, 10);
    c.set_dirty(1, 0, 11);
    c.set_dirty(1, 9, 11);
    assert_eq!(
        c.stats().dirty,
        1,
        "dirtying twice counts once; an absent page not at all"
    );
    assert_eq!(c.stats().meminfo_kb(), (8, 4, 0));
    let err = c.add_page(1, 1, &mut |_| Err(Errno::EIO));
    assert_eq!(err, Err(Errno::EIO));
    assert!(!c.contains(1, 1));
    assert_eq!(c.stats().cached, 2);
    assert_eq!(c.next_page(1, 1), Some(5));
}

#[test]
fn writeback_takes_the_oldest_dirty_inode_first() {
    let mut c = cache(16);
    for key in [1, 2, 3] {
        for i in 0..3 {
            add(&mut c, key, i, 0);
        }
    }
    c.set_dirty(2, 2, 100);
    c.set_dirty(2, 0, 150);
    c.set_dirty(3, 1, 120);
    c.set_dirty(1, 1, 130);
    let order: Vec<WritebackBatch<u64>> =
        std::iter::from_fn(|| c.start_writeback(1000, WbReason::All)).collect();
    assert_eq!(
        order,
        [
            WritebackBatch {
                key: 2,
                indices: vec![0, 2]
            },
            WritebackBatch {
                key: 3,
                indices: vec![1]
            },
            WritebackBatch {
                key: 1,
                indices: vec![1]
            },
        ]
    );
    assert_eq!(c.stats().dirty, 0);
    assert_eq!(c.stats().writeback, 4);
    c.end_writeback(2, 0, Ok(()), 1000);
    c.end_writeback(2, 2, Err(Errno::EIO), 1000);
    assert!(c.is_dirty(2, 2), "a failed write leaves the page dirty");
    assert_eq!(
        c.stats(),
        PageCacheStats {
            cached: 9,
            dirty: 1,
            writeback: 2
        }
    );
}

#[test]
fn periodic_writeback_waits_for_dirty_expire() {
    let mut c = cache(8);
    add(&mut c, 1, 0, 0);
    add(&mut c, 2, 0, 0);
    c.set_dirty(1, 0, 1000);
    c.set_dirty(2, 0, 2000);
    assert_eq!(c.config.dirty_expire, 3000);
    assert!(!c.has_expired(3999));
    assert_eq!(c.start_writeback(3999, WbReason::Periodic), None);
    assert!(c.has_expired(4000));
    let batch = c.start_writeback(4000, WbReason::Periodic).unwrap();
    assert_eq!(batch.key, 1);
    assert_eq!(
        c.start_writeback(4000, WbReason::Periodic),
        None,
        "inode 2 is younger"
    );
    c.config.dirty_expire = 100;
    assert_eq!(c.start_writeback(4000, WbReason::Periodic).unwrap().key, 2);
}

#[test]
fn dirty_thresholds() {
    let mut c = cache(100);
    for i in 0..30 {
        add(&mut c, 1, i, 0);
    }
    for i in 0..10 {
        c.set_dirty(1, i, 0);
    }
    assert_eq!(c.dirty_state(), DirtyState::Below, "10% is not above 10%");
    c.set_dirty(1, 10, 0);
    assert_eq!(c.dirty_state(), DirtyState::Background);
    for i in 11..21 {
        c.set_dirty(1, i, 0);
    }
    assert_eq!(c.dirty_state(), DirtyState::Throttle);
    // Pages under writeback still count.
    c.start_writeback(0, WbReason::All).unwrap();
    assert_eq!(c.dirty_state(), DirtyState::Throttle);
}

#[test]
fn shrink_frees_clean_pages_least_recently_used_first() {
    let mut c = cache(8);
    for i in 0..4 {
        add(&mut c, 1, i, 0);
    }
    c.set_dirty(1, 0, 0);
    c.read_page(1, 1).unwrap();
    // LRU order now: 2, 3, 1 (0 is dirty).
    assert_eq!(c.shrink(1), 1);
    assert!(!c.contains(1, 2));
    assert_eq!(c.shrink(10), 2);
    assert!(c.contains(1, 0), "the dirty page stays");
    assert_eq!(c.stats().cached, 1);
    let batch = c.start_writeback(0, WbReason::All).unwrap();
    assert_eq!(c.shrink(10), 0, "nor is a page under writeback freed");
    c.end_writeback(batch.key, 0, Ok(()), 0);
    assert_eq!(c.shrink(10), 1);
    assert_eq!(c.stats(), PageCacheStats::default());
}

#[test]
fn a_full_provider_evicts_clean_pages() {
    let mut c = cache(2);
    add(&mut c, 1, 0, 0);
    add(&mut c, 1, 1, 0);
    add(&mut c, 2, 0, 0);
    assert!(!c.contains(1, 0), "the oldest clean page made room");
    c.set_dirty(1, 1, 0);
    c.set_dirty(2, 0, 0);
    let err = c.add_page(3, 0, &mut |_| Ok(()));
    assert_eq!(err, Err(Errno::ENOMEM), "only dirty pages left");
}

#[test]
fn truncate_and_unevictable_spaces() {
    let mut c = cache(8);
    for i in 0..3 {
        add(&mut c, 1, i, 0xff);
    }
    c.set_dirty(1, 2, 0);
    c.truncate(1, 4096 + 10);
    assert!(c.contains(1, 1) && !c.contains(1, 2));
    assert_eq!(c.stats().dirty, 0);
    let page = c.read_page(1, 1).unwrap();
    assert!(page[..10].iter().all(|&b| b == 0xff));
    assert!(page[10..].iter().all(|&b| b == 0));
    c.open_space(7, true);
    add(&mut c, 7, 0, 1);
    c.set_dirty(7, 0, 0);
    assert_eq!(c.stats().dirty, 0, "tmpfs pages are not dirty-accounted");
    assert_eq!(c.shrink(100), 2, "only inode 1's pages");
    assert!(c.contains(7, 0));
    c.remove_space(7);
    assert_eq!(c.stats().cached, 0);
}

#[test]
fn read_ahead_window() {
    let mut ra = ReadAhead::default();
    assert_eq!(ra.on_read(0, 1, 1000), 1..1 + RA_INIT_PAGES);
    assert!(ra.on_read(1, 1, 1000).is_empty(), "well inside the window");
    assert_eq!(
        ra.on_read(2, 1, 1000),
        5..13,
        "half-way: the next window, doubled"
    );
    assert!(ra.on_read(3, 3, 1000).is_empty());
    assert_eq!(ra.on_read(6, 4, 1000), 13..29);
    assert!(ra.on_read(10, 10, 1000).is_empty());
    assert_eq!(
        ra.on_read(20, 30, 1000),
        50..50 + RA_MAX_PAGES,
        "capped, after what was read"
    );
    assert!(ra.on_read(500, 1, 1000).is_empty(), "a random read: none");
    assert_eq!(ra.size, 0);
    assert!(ra.on_read(502, 1, 1000).is_empty(), "still not sequential");
    assert_eq!(
        ra.on_read(503, 1, 1000),
        504..504 + RA_INIT_PAGES,
        "a new stream"
    );
    let mut small = ReadAhead::default();
    assert_eq!(small.on_read(0, 1, 3), 1..3, "not past the end of the file");
}

fn disk_vfs() -> (Vfs, Rc<RefCell<Disk>>) {
    let mut v = vfs();
    let disk = Rc::new(RefCell::new(Disk::default()));
    v.register_filesystem(Box::new(DiskFsType(disk.clone())))
        .unwrap();
    mkdir(&mut v, ROOT, "/disk", 0o755);
    v.mount(ROOT, b"/dev/vda", b"/disk", "diskfs", 0, b"")
        .unwrap();
    (v, disk)
}

#[test]
fn a_disk_file_system_reads_through_the_cache() {
    let (mut v, disk) = disk_vfs();
    write_file(&mut v, ROOT, "/disk/f", &vec![5u8; 3 * 4096]);
    v.sync().unwrap();
    let ino = v.stat(ROOT, b"/disk/f").unwrap().st_ino;
    assert_eq!(disk.borrow().data[&ino], vec![5u8; 3 * 4096]);
    // Drop the cached pages: reads go to the disk, once per page.
    v.shrink_pages(u64::MAX);
    disk.borrow_mut().reads.clear();
    let fd = v.open(ROOT, b"/disk/f", O_RDONLY, 0).unwrap();
    let mut buf = [0u8; 100];
    v.read(ROOT, fd, &mut buf).unwrap();
    // The first read brings in the read-ahead window too.
    assert_eq!(disk.borrow().reads, [(ino, 1), (ino, 2), (ino, 0)]);
    assert_eq!(
        read_file(&mut v, ROOT, "/disk/f").unwrap(),
        vec![5u8; 3 * 4096]
    );
    assert_eq!(disk.borrow().reads.len(), 3, "then from the cache");
    // Closed and shrunk, the cached inode leaves core; it comes back.
    v.close(ROOT, fd).unwrap();
    v.shrink_dcache(u64::MAX);
    let inodes = v.nr_inodes();
    v.shrink_pages(u64::MAX);
    assert!(v.nr_inodes() < inodes);
    assert_eq!(
        read_file(&mut v, ROOT, "/disk/f").unwrap(),
        vec![5u8; 3 * 4096]
    );
}

#[test]
fn writes_dirty_pages_until_fsync() {
    let (mut v, disk) = disk_vfs();
    v.set_time(Timespec { sec: 100, nsec: 0 });
    let fd = v.open(ROOT, b"/disk/f", O_CREAT | O_RDWR, 0o644).unwrap();
    assert_eq!(v.write(ROOT, fd, &[1u8; 5000]).unwrap(), Io::Done(5000));
    assert_eq!(v.pcache.stats().dirty, 2);
    assert!(
        disk.borrow().writes.is_empty(),
        "write returns before writeback"
    );
    v.fsync(ROOT, fd).unwrap();
    let ino = v.fstat(ROOT, fd).unwrap().st_ino;
    assert_eq!(disk.borrow().writes, [(ino, 0), (ino, 1)]);
    assert_eq!(v.pcache.stats().dirty, 0);
    // A failing disk: fsync reports EIO and the page stays dirty.
    v.pwrite(ROOT, fd, b"x", 0).unwrap();
    disk.borrow_mut().fail_writes = true;
    assert_eq!(v.fsync(ROOT, fd), Err(Errno::EIO));
    assert_eq!(v.pcache.stats().dirty, 1);
    disk.borrow_mut().fail_writes = false;
    v.fsync(ROOT, fd).unwrap();
    assert_eq!(v.pcache.stats().dirty, 0);
}

#[test]
fn the_flusher_writes_expired_inodes_oldest_first() {
    let (mut v, disk) = disk_vfs();
    v.set_time(Timespec { sec: 10, nsec: 0 });
    write_file(&mut v, ROOT, "/disk/old", b"o");
    v.set_time(Timespec { sec: 20, nsec: 0 });
    write_file(&mut v, ROOT, "/disk/new", b"n");
    let old = v.stat(ROOT, b"/disk/old").unwrap().st_ino;
    let new = v.stat(ROOT, b"/disk/new").unwrap().st_ino;
    v.set_time(Timespec { sec: 39, nsec: 0 });
    assert_eq!(v.flush(), 0, "nothing 30 s old yet");
    v.set_time(Timespec { sec: 40, nsec: 0 });
    assert_eq!(v.flush(), 1);
    assert_eq!(disk.borrow().writes, [(old, 0)]);
    v.set_time(Timespec { sec: 60, nsec: 0 });
    assert_eq!(v.flush(), 1);
    assert_eq!(disk.borrow().writes, [(old, 0), (new, 0)]);
}

#[test]
fn umount_writes_back_and_frees_the_cache() {
    let (mut v, disk) = disk_vfs();
    write_file(&mut v, ROOT, "/disk/f", b"keep me");
    let cached = v.pcache.stats().cached;
    assert!(cached >= 1);
    v.umount(ROOT, b"/disk", 0).unwrap();
    assert_eq!(disk.borrow().writes.len(), 1);
    assert_eq!(v.pcache.stats().cached, cached - 1);
    assert_eq!(v.pcache.stats().dirty, 0);
}

#[test]
fn tmpfs_pages_stay_and_are_not_dirty() {
    let mut v = vfs();
    write_file(&mut v, ROOT, "/f", &[3u8; 8192]);
    let st = v.pcache.stats();
    assert_eq!((st.cached, st.dirty), (2, 0));
    assert_eq!(v.shrink_pages(100), 0, "the cache is tmpfs's only copy");
    assert_eq!(read_file(&mut v, ROOT, "/f").unwrap(), vec![3u8; 8192]);
    v.unlink(ROOT, b"/f").unwrap();
    assert_eq!(v.pcache.stats().cached, 0, "eviction frees the pages");
}

#[test]
fn writers_above_dirty_ratio_write_back_themselves() {
    let mut v = vfs_with(100, Default::default());
    let disk = Rc::new(RefCell::new(Disk::default()));
    v.register_filesystem(Box::new(DiskFsType(disk.clone())))
        .unwrap();
    mkdir(&mut v, ROOT, "/disk", 0o755);
    v.mount(ROOT, b"d", b"/disk", "diskfs", 0, b"").unwrap();
    write_file(&mut v, ROOT, "/disk/a", &[1u8; 15 * 4096]);
    assert_eq!(v.pcache.stats().dirty, 15, "below 20%: nothing written");
    assert!(disk.borrow().writes.is_empty());
    assert_eq!(v.pcache.dirty_state(), DirtyState::Background);
    write_file(&mut v, ROOT, "/disk/b", &[2u8; 10 * 4096]);
    assert!(v.pcache.dirty_state() < DirtyState::Throttle);
    let a = v.stat(ROOT, b"/disk/a").unwrap().st_ino;
    assert_eq!(disk.borrow().writes[0], (a, 0), "the oldest inode first");
    // The periodic flush brings it under the background threshold; a
    // failing disk stops it instead of spinning.
    v.set_time(Timespec { sec: 1, nsec: 0 });
    write_file(&mut v, ROOT, "/disk/c", &[3u8; 3 * 4096]);
    assert_eq!(v.pcache.stats().dirty, 13, "b's 10 and c's 3");
    disk.borrow_mut().fail_writes = true;
    v.pcache.config.dirty_expire = 0;
    assert_eq!(v.flush(), 1);
    disk.borrow_mut().fail_writes = false;
    v.flush();
    assert_eq!(
        v.pcache.stats().dirty,
        0,
        "expire 0: everything is old enough"
    );
}

#[test]
fn pending_reads_block_and_complete_later() {
    let (mut v, disk) = disk_vfs();
    write_file(&mut v, ROOT, "/disk/f", &[4u8; 2 * 4096]);
    v.sync().unwrap();
    let ino = v.stat(ROOT, b"/disk/f").unwrap().st_ino;
    let sb = 1;
    v.shrink_pages(u64::MAX);
    disk.borrow_mut().async_reads = true;
    disk.borrow_mut().reads.clear();
    let fd = v.open(ROOT, b"/disk/f", O_RDONLY, 0).unwrap();
    let ufd = v.open(USER, b"/disk/f", O_RDONLY, 0).unwrap();
    let mut buf = vec![0u8; 4096];
    assert_eq!(v.pread(ROOT, fd, &mut buf, 0).unwrap(), Io::Blocked(0));
    assert_eq!(v.pread(USER, ufd, &mut buf, 10).unwrap(), Io::Blocked(0));
    assert_eq!(
        disk.borrow().reads,
        [(ino, 0)],
        "one readpage for a page in flight"
    );
    assert!(v.take_wakeups().is_empty());
    let data = disk.borrow().page_bytes(ino, 0);
    v.complete_readpage(sb, ino, 0, Ok(&data)).unwrap();
    assert_eq!(v.take_wakeups(), [ROOT, USER]);
    assert_eq!(v.pread(ROOT, fd, &mut buf, 0).unwrap(), Io::Done(4096));
    assert!(buf.iter().all(|&b| b == 4));
    assert_eq!(
        v.complete_readpage(sb, ino, 0, Ok(&data)),
        Err(Errno::EINVAL),
        "not in flight"
    );
    // A read across a cached page and a pending one moves what it can.
    let mut two = vec![0u8; 8192];
    assert_eq!(v.read(ROOT, fd, &mut two).unwrap(), Io::Blocked(4096));
    assert_eq!(v.lseek(ROOT, fd, 0, SEEK_CUR).unwrap(), 4096);
    // A failed read reaches the next reader of the page, once.
    v.complete_readpage(sb, ino, 1, Err(Errno::EIO)).unwrap();
    assert_eq!(v.take_wakeups(), [ROOT]);
    assert_eq!(v.read(ROOT, fd, &mut two), Err(Errno::EIO));
    assert_eq!(
        v.read(ROOT, fd, &mut two).unwrap(),
        Io::Blocked(0),
        "asked again"
    );
    // A partial write into a page on disk waits for it too; a cancelled
    // waiter is not woken.
    let wfd = v.open(ROOT, b"/disk/f", O_WRONLY, 0).unwrap();
    v.cancel_wait(ROOT);
    assert_eq!(
        v.pwrite(ROOT, wfd, b"xy", 4096 + 5).unwrap(),
        Io::Blocked(0)
    );
    v.cancel_wait(ROOT);
    let data = disk.borrow().page_bytes(ino, 1);
    v.complete_readpage(sb, ino, 1, Ok(&data)).unwrap();
    assert!(v.take_wakeups().is_empty());
    assert_eq!(v.pwrite(ROOT, wfd, b"xy", 4096 + 5).unwrap(), Io::Done(2));
    // Whole pages and pages past the end are not read before a write.
    let reads = disk.borrow().reads.len();
    assert_eq!(
        v.pwrite(ROOT, wfd, &[9u8; 4096], 0).unwrap(),
        Io::Done(4096)
    );
    assert_eq!(v.pwrite(ROOT, wfd, b"tail", 3 * 4096).unwrap(), Io::Done(4));
    assert_eq!(disk.borrow().reads.len(), reads);
}

/// A provider that records the frames it was asked to forget (the memory
/// server's `FileForget` in the system).
struct Forgetting {
    inner: VecPageProvider,
    forgotten: Rc<RefCell<Vec<FrameId>>>,
}

impl PageProvider for Forgetting {
    fn alloc_page(&mut self) -> Option<FrameId> {
        self.inner.alloc_page()
    }
    fn free_page(&mut self, frame: FrameId) {
        self.inner.free_page(frame)
    }
    fn page(&self, frame: FrameId) -> &[u8] {
        self.inner.page(frame)
    }
    fn page_mut(&mut self, frame: FrameId) -> &mut [u8] {
        self.inner.page_mut(frame)
    }
    fn total_pages(&self) -> u64 {
        self.inner.total_pages()
    }
    fn forget(&mut self, frame: FrameId) -> bool {
        self.forgotten.borrow_mut().push(frame);
        false
    }
}

#[test]
fn lent_pages_are_not_shrunk_and_are_forgotten_before_they_go() {
    let forgotten = Rc::new(RefCell::new(Vec::new()));
    let mut c: PageCache<u64> = PageCache::new(Box::new(Forgetting {
        inner: VecPageProvider::new(8),
        forgotten: forgotten.clone(),
    }));
    add(&mut c, 1, 0, 1);
    add(&mut c, 1, 1, 2);
    add(&mut c, 1, 2, 3);
    let lent = c.lend(1, 1).unwrap();
    assert_eq!(c.lend(1, 9), None, "not cached");
    assert!(c.is_lent(1, 1) && !c.is_lent(1, 0));
    assert_eq!(c.shrink(8), 2, "the lent page stays");
    assert!(c.contains(1, 1));
    assert!(forgotten.borrow().is_empty());
    c.truncate(1, 100);
    assert_eq!(&forgotten.borrow()[..], &[lent], "forgotten as it goes");
    assert!(!c.contains(1, 1));
}

#[test]
fn used_pages_get_a_second_chance() {
    let mut c = cache(8);
    for i in 0..5 {
        add(&mut c, 1, i, 0);
    }
    c.read_page(1, 0).unwrap();
    c.read_page(1, 1).unwrap();
    // The unused pages go first, oldest first, whatever their place.
    assert_eq!(c.shrink(3), 3);
    assert!(c.contains(1, 0) && c.contains(1, 1));
    // The used ones were moved to the young end in their order: 0 first.
    assert_eq!(c.shrink(1), 1);
    assert!(!c.contains(1, 0) && c.contains(1, 1));
    // Every page used: the first pass moves them all, the second frees.
    for i in 2..4 {
        add(&mut c, 1, i, 0);
        c.read_page(1, i).unwrap();
    }
    c.read_page(1, 1).unwrap();
    assert_eq!(c.shrink(2), 2);
    assert_eq!(c.stats().cached, 1);
    assert_eq!(c.shrink(10), 1);
    assert_eq!(c.stats(), PageCacheStats::default());
}
