//! procfs on the host, with a fake of the servers behind it: the fixed
//! files parse as Linux's, `/proc/<pid>` comes and goes with the process
//! (dcache hits revalidated), `self` follows the caller, a snapshot is
//! made per open and reads at any offset of it agree, writing is refused,
//! `maps` is the owner's, and a source that fails gives an error rather
//! than a wrong file.

mod common;
use common::*;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use libsys::abi::ProcessTime;
use libsys::proto::mm::{CacheInfo, MapEntry, MapKind, MemStatus, SystemStats};
use libsys::proto::proc::TaskInfo;
use vfs::procfs::{ProcFsType, ProcSource};
use vfs::types::*;
use vfs::{Errno, Io, Vfs};

/// What the fake servers know; tests change it under the mount.
#[derive(Default)]
struct World {
    tasks: BTreeMap<u64, TaskInfo>,
    system: SystemStats,
    uptime_ns: u64,
    calls: u64,
    broken: bool,
}

#[derive(Clone)]
struct Fake(Rc<RefCell<World>>);

impl ProcSource for Fake {
    fn tasks(&mut self, after: u64) -> Result<Vec<TaskInfo>, Errno> {
        let mut w = self.0.borrow_mut();
        w.calls += 1;
        if w.broken {
            return Err(Errno::EAGAIN);
        }
        // Pages of two, as the process server pages its list.
        Ok(w.tasks
            .range(after + 1..)
            .take(2)
            .map(|(_, t)| t.clone())
            .collect())
    }
    fn cmdline(&mut self, pid: u64) -> Result<Vec<u8>, Errno> {
        let w = self.0.borrow();
        let t = w.tasks.get(&pid).ok_or(Errno::ESRCH)?;
        Ok(format!("/bin/{}\0-x\0", t.comm).into_bytes())
    }
    fn mem_status(&mut self, pid: u64) -> Result<MemStatus, Errno> {
        Ok(MemStatus {
            vm_size: 400 + pid,
            vm_rss: 40,
            ..MemStatus::default()
        })
    }
    fn maps(&mut self, _pid: u64) -> Result<Vec<MapEntry>, Errno> {
        Ok(vec![MapEntry {
            start: 0x40_0000,
            end: 0x40_2000,
            prot: 5,
            shared: false,
            offset: 0,
            kind: MapKind::Image,
        }])
    }
    fn system(&mut self) -> Result<SystemStats, Errno> {
        let w = self.0.borrow();
        if w.broken {
            return Err(Errno::EIO);
        }
        Ok(w.system)
    }
    fn slabs(&mut self) -> Result<Vec<CacheInfo>, Errno> {
        let mut c = CacheInfo::default();
        c.name.push_str("vm_area").unwrap();
        c.active_objs = 7;
        c.num_objs = 32;
        c.objsize = 128;
        Ok(vec![c])
    }
    fn uptime(&mut self) -> (u64, Option<u64>) {
        (self.0.borrow().uptime_ns, None)
    }
    /// devmgr's table, as it would send it.
    fn interrupts(&mut self) -> Result<String, Errno> {
        if self.0.borrow().broken {
            return Err(Errno::EAGAIN);
        }
        Ok("           CPU0\n192:         26   PCI-MSI      192-edge   edu\n".into())
    }
    /// The kernel's figures for pid 2 only.
    fn times(&mut self, pid: u64) -> Option<ProcessTime> {
        (pid == 2).then_some(ProcessTime {
            pid,
            cpu_ns: 1_234_567_890,
            threads: 3,
            start_ns: 2_500_000_000,
            ..ProcessTime::default()
        })
    }
}

fn task(pid: u64, ppid: u64, uid: u32, comm: &str) -> TaskInfo {
    TaskInfo {
        pid,
        ppid,
        pgid: pid,
        sid: 1,
        uid,
        state: b'S',
        comm: comm.try_into().unwrap(),
    }
}

/// A core with procfs on /proc; ROOT (1) and USER (2) are processes.
fn setup() -> (Vfs, Rc<RefCell<World>>) {
    let world = Rc::new(RefCell::new(World::default()));
    {
        let mut w = world.borrow_mut();
        w.tasks.insert(1, task(1, 0, 0, "init"));
        w.tasks.insert(2, task(2, 1, 1000, "sh"));
        w.system.total_pages = 32768;
        w.system.free_pages = 20000;
        w.system.dma_pinned_pages = 3;
        w.system.zone_pages = [4096, 28672, 0];
        w.system.buddy[1][10] = 12;
        w.uptime_ns = 12_345_000_000;
    }
    let mut v = vfs();
    let fake = Fake(world.clone());
    v.register_filesystem(Box::new(ProcFsType::new(Box::new(move || {
        Box::new(fake.clone()) as Box<dyn ProcSource>
    }))))
    .unwrap();
    mkdir(&mut v, ROOT, "/proc", 0o555);
    v.mount(ROOT, b"proc", b"/proc", "proc", 0, b"").unwrap();
    (v, world)
}

fn text(v: &mut Vfs, c: u64, path: &str) -> String {
    String::from_utf8(read_file(v, c, path).unwrap()).unwrap()
}

/// The kB figure of `field` in meminfo text.
fn field_kb(meminfo: &str, field: &str) -> u64 {
    let line = meminfo
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {meminfo}"));
    let mut words = line.split_whitespace().skip(1);
    let n = words.next().unwrap().parse().unwrap();
    assert_eq!(words.next(), Some("kB"));
    n
}

#[test]
fn meminfo_has_mm_figures_and_the_page_cache() {
    let (mut v, _) = setup();
    write_file(&mut v, ROOT, "/cached", &[7u8; 3 * 4096]);
    let m = text(&mut v, USER, "/proc/meminfo");
    assert_eq!(field_kb(&m, "MemTotal"), 32768 * 4);
    assert_eq!(field_kb(&m, "MemFree"), 20000 * 4);
    assert_eq!(field_kb(&m, "DmaPinned"), 12);
    assert!(field_kb(&m, "Cached") >= 12, "tmpfs pages are cached: {m}");
    assert!(field_kb(&m, "MemAvailable") >= field_kb(&m, "MemFree"));
    field_kb(&m, "Dirty");
    field_kb(&m, "Writeback");
}

#[test]
fn buddyinfo_slabinfo_uptime_filesystems_mounts() {
    let (mut v, _) = setup();
    let b = text(&mut v, ROOT, "/proc/buddyinfo");
    let lines: Vec<&str> = b.lines().collect();
    assert_eq!(lines.len(), 2, "the zones with pages: {b}");
    assert!(lines[1].starts_with("Node 0, zone    DMA32"));
    assert_eq!(lines[1].split_whitespace().count(), 4 + 11);
    assert_eq!(lines[1].split_whitespace().last(), Some("12"));
    // slabinfo is root's only (0400), as Linux's.
    assert_eq!(
        read_file(&mut v, USER, "/proc/slabinfo"),
        Err(Errno::EACCES)
    );
    let s = text(&mut v, ROOT, "/proc/slabinfo");
    assert!(s.starts_with("slabinfo - version: 2.1\n# name"));
    assert!(s.lines().nth(2).unwrap().starts_with("vm_area"));
    assert_eq!(text(&mut v, ROOT, "/proc/uptime"), "12.34 0.00\n");
    let f = text(&mut v, ROOT, "/proc/filesystems");
    assert!(
        f.contains("nodev\ttmpfs\n") && f.contains("nodev\tproc\n"),
        "{f}"
    );
    let m = text(&mut v, ROOT, "/proc/mounts");
    assert!(m.contains(" / tmpfs rw"), "{m}");
    assert!(m.contains("proc /proc proc rw"), "{m}");
    let d = text(&mut v, ROOT, "/proc/sys/fs/dentry-state");
    let nums: Vec<u64> = d.split('\t').map(|n| n.trim().parse().unwrap()).collect();
    assert_eq!(nums.len(), 6);
    assert!(nums[0] > 0);
    let fd = v.open(ROOT, b"/", O_RDONLY, 0).unwrap();
    let f = text(&mut v, ROOT, "/proc/sys/fs/file-nr");
    assert_eq!(
        f, "1\t0\t8192\n",
        "the open of / (the limit is the default)"
    );
    v.close(ROOT, fd).unwrap();
}

#[test]
fn readdir_lists_the_fixed_entries_and_the_live_pids() {
    let (mut v, world) = setup();
    for pid in [7, 30, 31, 400] {
        world.borrow_mut().tasks.insert(pid, task(pid, 1, 0, "x"));
    }
    let names = list_dir(&mut v, ROOT, "/proc");
    for want in [
        ".", "..", "meminfo", "self", "sys", "1", "2", "7", "30", "31", "400",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    // Resumed after a process went, a listing neither repeats nor skips.
    let fd = v.open(ROOT, b"/proc", O_RDONLY | O_DIRECTORY, 0).unwrap();
    let first = v.getdents64(ROOT, fd, 24 * 12).unwrap();
    assert!(!first.is_empty());
    world.borrow_mut().tasks.remove(&7);
    let mut rest = Vec::new();
    loop {
        let buf = v.getdents64(ROOT, fd, 4096).unwrap();
        if buf.is_empty() {
            break;
        }
        rest.extend(vfs::dirent::parse_dirents(&buf).unwrap());
    }
    let mut all: Vec<String> = vfs::dirent::parse_dirents(&first)
        .unwrap()
        .into_iter()
        .chain(rest)
        .map(|d| String::from_utf8(d.name).unwrap())
        .collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "no entry twice");
    assert!(all.iter().any(|n| n == "400"));
    v.close(ROOT, fd).unwrap();
}

#[test]
fn pid_files_name_the_process() {
    let (mut v, _) = setup();
    let s = text(&mut v, USER, "/proc/2/status");
    assert!(s.contains("Name:\tsh\n") && s.contains("Pid:\t2\n"), "{s}");
    assert!(
        s.contains("PPid:\t1\n") && s.contains("Uid:\t1000\t"),
        "{s}"
    );
    assert!(s.contains("VmSize:\t     402 kB"), "mm's lines: {s}");
    let st = text(&mut v, USER, "/proc/2/stat");
    let fields: Vec<&str> = st.split_whitespace().collect();
    assert_eq!(fields.len(), 52);
    assert_eq!(&fields[..5], &["2", "(sh)", "S", "1", "2"]);
    // utime (14) in clock ticks of 10 ms, stime (15) 0, num_threads
    // (20), starttime (22) in ticks since boot: the kernel's figures.
    assert_eq!((fields[13], fields[14]), ("123", "0"), "{st}");
    assert_eq!((fields[19], fields[21]), ("3", "250"), "{st}");
    assert_eq!(fields[22], (402 * 1024).to_string(), "vsize in bytes");
    assert!(s.contains("Threads:\t3\n"), "{s}");
    // Without the kernel's figures: no time, one thread.
    let st = text(&mut v, ROOT, "/proc/1/stat");
    let fields: Vec<&str> = st.split_whitespace().collect();
    assert_eq!(
        (fields[13], fields[19], fields[21]),
        ("0", "1", "0"),
        "{st}"
    );
    assert_eq!(
        read_file(&mut v, USER, "/proc/2/cmdline").unwrap(),
        b"/bin/sh\0-x\0"
    );
    let m = text(&mut v, USER, "/proc/2/maps");
    assert!(m.starts_with("00400000-00402000 r-xp"), "{m}");
    // Another user's maps: no.
    assert_eq!(read_file(&mut v, USER, "/proc/1/maps"), Err(Errno::EACCES));
    assert!(read_file(&mut v, ROOT, "/proc/2/maps").is_ok());
    let st = v.stat(ROOT, b"/proc/2").unwrap();
    assert_eq!((st.st_mode & S_IFMT, st.st_uid), (S_IFDIR, 1000));
    assert_eq!(
        list_dir(&mut v, USER, "/proc/2"),
        [".", "..", "status", "stat", "cmdline", "maps"]
    );
}

#[test]
fn self_follows_the_caller() {
    let (mut v, _) = setup();
    assert_eq!(v.readlink(USER, b"/proc/self", 64).unwrap(), b"2");
    assert_eq!(v.readlink(ROOT, b"/proc/self", 64).unwrap(), b"1");
    let s = text(&mut v, USER, "/proc/self/status");
    assert!(s.contains("Pid:\t2\n"), "{s}");
    let s = text(&mut v, ROOT, "/proc/self/status");
    assert!(
        s.contains("Pid:\t1\n"),
        "the cached link is not the other caller's: {s}"
    );
    // A caller procfs knows no process of: the link leads nowhere.
    assert_eq!(
        read_file(&mut v, OTHER, "/proc/self/status"),
        Err(Errno::ENOENT)
    );
}

#[test]
fn a_gone_process_leaves_and_a_new_one_appears() {
    let (mut v, world) = setup();
    assert_eq!(
        read_file(&mut v, ROOT, "/proc/9/status"),
        Err(Errno::ENOENT)
    );
    world.borrow_mut().tasks.insert(9, task(9, 2, 0, "child"));
    // The cached negative entry is revalidated.
    assert!(text(&mut v, ROOT, "/proc/9/status").contains("Pid:\t9"));
    // A descriptor open across the death keeps its snapshot.
    let fd = v.open(ROOT, b"/proc/9/stat", O_RDONLY, 0).unwrap();
    let dir = v.open(ROOT, b"/proc/9", O_RDONLY | O_DIRECTORY, 0).unwrap();
    world.borrow_mut().tasks.remove(&9);
    assert_eq!(
        read_file(&mut v, ROOT, "/proc/9/status"),
        Err(Errno::ENOENT)
    );
    assert_eq!(v.stat(ROOT, b"/proc/9").unwrap_err(), Errno::ENOENT);
    assert!(!list_dir(&mut v, ROOT, "/proc").iter().any(|n| n == "9"));
    let mut buf = [0u8; 64];
    assert!(matches!(v.read(ROOT, fd, &mut buf), Ok(Io::Done(n)) if n > 0));
    // Through the directory it held: gone too.
    assert_eq!(
        v.openat(ROOT, dir, b"status", O_RDONLY, 0),
        Err(Errno::ENOENT)
    );
    assert_eq!(v.getdents64(ROOT, dir, 4096), Err(Errno::ENOENT));
    v.close(ROOT, fd).unwrap();
    v.close(ROOT, dir).unwrap();
}

#[test]
fn a_snapshot_is_per_open_and_reads_at_offsets_agree() {
    let (mut v, world) = setup();
    let fd = v.open(ROOT, b"/proc/uptime", O_RDONLY, 0).unwrap();
    let mut a = [0u8; 3];
    v.read(ROOT, fd, &mut a).unwrap();
    world.borrow_mut().uptime_ns = 99_990_000_000;
    let mut rest = [0u8; 32];
    let Io::Done(n) = v.read(ROOT, fd, &mut rest).unwrap() else {
        panic!()
    };
    let mut whole = a.to_vec();
    whole.extend_from_slice(&rest[..n]);
    assert_eq!(whole, b"12.34 0.00\n", "one open, one snapshot");
    let mut again = [0u8; 5];
    assert_eq!(v.pread(ROOT, fd, &mut again, 0).unwrap(), Io::Done(5));
    assert_eq!(&again, b"12.34");
    assert_eq!(v.pread(ROOT, fd, &mut again, 1 << 40).unwrap(), Io::Done(0));
    v.close(ROOT, fd).unwrap();
    assert_eq!(text(&mut v, ROOT, "/proc/uptime"), "99.99 0.00\n");
}

#[test]
fn writes_and_namespace_changes_are_refused() {
    let (mut v, _) = setup();
    assert_eq!(
        v.open(ROOT, b"/proc/meminfo", O_WRONLY, 0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        v.open(USER, b"/proc/meminfo", O_RDWR, 0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        v.open(ROOT, b"/proc/new", O_CREAT | O_WRONLY, 0o644),
        Err(Errno::EACCES)
    );
    assert_eq!(v.unlink(ROOT, b"/proc/meminfo"), Err(Errno::EACCES));
    assert_eq!(v.mkdir(ROOT, b"/proc/d", 0o755), Err(Errno::EACCES));
    assert_eq!(
        read_file(&mut v, ROOT, "/proc/0/status"),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        read_file(&mut v, ROOT, "/proc/02/status"),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        read_file(&mut v, ROOT, "/proc/99999999999999999999999/status"),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        read_file(&mut v, ROOT, "/proc/2/nothing"),
        Err(Errno::ENOENT)
    );
}

#[test]
fn a_failing_source_is_an_error_not_a_wrong_file() {
    let (mut v, world) = setup();
    world.borrow_mut().broken = true;
    assert_eq!(read_file(&mut v, ROOT, "/proc/meminfo"), Err(Errno::EIO));
    assert!(read_file(&mut v, ROOT, "/proc/2/status").is_err());
    world.borrow_mut().broken = false;
    assert!(text(&mut v, ROOT, "/proc/2/status").contains("Pid:\t2"));
}

#[test]
fn revalidation_costs_one_question_per_pid_component() {
    let (mut v, world) = setup();
    text(&mut v, ROOT, "/proc/meminfo");
    let before = world.borrow().calls;
    text(&mut v, ROOT, "/proc/meminfo");
    assert_eq!(world.borrow().calls, before, "fixed files ask no one");
}

fn kernel(pid: u64, name: &str, threads: u64, running: u64) -> ProcessTime {
    let mut k = ProcessTime {
        pid,
        threads,
        running,
        ..ProcessTime::default()
    };
    k.name[..name.len()].copy_from_slice(name.as_bytes());
    k
}

#[test]
fn processes_only_the_kernel_knows_join_the_list() {
    use vfs::procfs::{kernel_task, merge_tasks};
    let from_proc = [
        task(1, 0, 0, "init"),
        task(8, 1, 0, "vfs"),
        task(20, 8, 0, "sh"),
    ];
    let from_kernel = [
        kernel(1, "init", 1, 0),
        kernel(2, "mm", 1, 1),
        kernel(3, "gone", 0, 0),
        kernel(8, "vfs", 2, 0),
        kernel(9, "kv", 1, 0),
        kernel(11, "nobody", 1, 0),
    ];
    let uid_of = |pid: u64| match pid {
        11 => None,
        9 => Some(1000),
        _ => Some(0),
    };
    let all = merge_tasks(&from_proc, false, &from_kernel, false, uid_of);
    let seen: Vec<(u64, &str, u8, u32)> = all
        .iter()
        .map(|t| (t.pid, t.comm.as_str(), t.state, t.uid))
        .collect();
    // mm runs, kv sleeps (owned by 1000), an ended process and one
    // whose owner init cannot tell stay out; proc's entries win.
    assert_eq!(
        seen,
        [
            (1, "init", b'S', 0),
            (2, "mm", b'R', 0),
            (8, "vfs", b'S', 0),
            (9, "kv", b'S', 1000),
            (20, "sh", b'S', 0),
        ]
    );
    assert_eq!(all[1].ppid, 1, "init's");
    // A full kernel page ends the merged one at its last pid: sh (20)
    // comes with the next page, asked after 9.
    let page = merge_tasks(&from_proc, false, &from_kernel[..5], true, uid_of);
    assert_eq!(page.last().map(|t| t.pid), Some(9));
    let next = merge_tasks(&from_proc[2..], false, &from_kernel[5..], false, uid_of);
    assert_eq!(next.iter().map(|t| t.pid).collect::<Vec<_>>(), [20]);
    // Likewise a full page of the process server's.
    let page = merge_tasks(&from_proc[..2], true, &from_kernel, false, uid_of);
    assert_eq!(page.last().map(|t| t.pid), Some(8));
    // A name the kernel cut at 16 bytes: comm keeps 15, as Linux's.
    let long = kernel_task(&kernel(5, "a-very-long-name", 1, 1), 0);
    assert_eq!(long.comm.as_str(), "a-very-long-nam");
}

/// `/proc/interrupts` is devmgr's table, read-only, fetched at each open.
#[test]
fn interrupts_come_from_the_device_manager() {
    let (mut v, world) = setup();
    let t = text(&mut v, USER, "/proc/interrupts");
    assert!(t.starts_with("           CPU0\n"), "{t}");
    assert!(t.contains("PCI-MSI      192-edge   edu"), "{t}");
    world.borrow_mut().broken = true;
    assert_eq!(
        read_file(&mut v, USER, "/proc/interrupts"),
        Err(Errno::EAGAIN)
    );
}
