//! procfs (`/proc`): files generated from the figures of the servers
//! that own them, as Linux's `fs/proc` makes them from the kernel's.
//!
//! - The whole system: `meminfo` (mm's `SystemStats` and the page
//!   cache's `Cached`/`Dirty`/`Writeback`), `buddyinfo` (mm's free blocks
//!   per zone and order), `slabinfo` (mm's and this server's slab caches),
//!   `uptime`, `mounts` (the mount table), `filesystems` (the registry),
//!   `sys/fs/{dentry-state,file-nr,inode-nr}` (the dcache, the open-file
//!   table, the in-core inodes), and `self`, a symbolic link to the
//!   caller's `/proc/<pid>`.
//! - One directory per live process, `/proc/<pid>`, with `status`,
//!   `stat`, `cmdline` (from the process server) and `maps` plus the
//!   memory fields of `status` (from mm). The kernel's `process_times`
//!   adds the CPU time, the threads and the start time, and the
//!   processes the process server never met — servers `init` started
//!   that never called it — with their name and whether they run
//!   ([`kernel_task`], [`merge_tasks`]).
//!
//! What lives elsewhere comes through a [`ProcSource`] (the server's talks
//! to `proc` and `mm` by IPC; the host tests give a fake); what the core
//! knows comes in the [`FsContext`] handed to `snapshot`. Every file's
//! contents are made once per open (see `seqfile`), so reads within one
//! open agree. Processes come and go behind the dcache's back, so every
//! hit under `/proc` is revalidated (`d_revalidate`): a cached
//! `/proc/<pid>` goes once the process is gone (reaped: a zombie stays,
//! as in Linux), and a cached negative answer goes once the pid exists.
//!
//! Inode numbers: the fixed entries below 16; `pid << 4 | kind` for a
//! process's directory and files. Directory positions: the fixed entries
//! from 2, then a process at `PID_POS + pid`, so a `getdents64` resumed
//! after processes came or went neither repeats nor skips a live one.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use libsys::abi::ProcessTime;
use libsys::errno::Errno;
use libsys::proto::mm::{CacheInfo, MapEntry, MemStatus, SystemStats, ZONES};
use libsys::proto::proc::TaskInfo;

use crate::fs::{DirEntry, FileSystem, FileSystemType, FsContext};
use crate::types::*;

/// `f_type` of procfs (Linux's `PROC_SUPER_MAGIC`).
pub const PROC_SUPER_MAGIC: u64 = 0x9fa0;

/// What procfs asks the rest of the system. Every call may fail (the
/// server is gone or too slow: `EAGAIN`/`EIO`); a pid that does not
/// exist is `Ok(None)` or `ESRCH`.
pub trait ProcSource {
    /// Live processes (zombies included) with pids above `after`, in
    /// ascending pid order; fewer than asked is fine (the caller asks
    /// again after the last).
    fn tasks(&mut self, after: u64) -> Result<Vec<TaskInfo>, Errno>;
    /// Process `pid`, if it lives.
    fn task(&mut self, pid: u64) -> Result<Option<TaskInfo>, Errno> {
        let first = self.tasks(pid.saturating_sub(1))?.into_iter().next();
        Ok(first.filter(|t| t.pid == pid))
    }
    /// Its command line: the arguments, each ending in a NUL.
    fn cmdline(&mut self, pid: u64) -> Result<Vec<u8>, Errno>;
    /// The memory fields of its `status` (`EACCES`/`EPERM` if mm will
    /// not say).
    fn mem_status(&mut self, pid: u64) -> Result<MemStatus, Errno>;
    /// Its memory areas, in address order.
    fn maps(&mut self, pid: u64) -> Result<Vec<MapEntry>, Errno>;
    /// The system's memory.
    fn system(&mut self) -> Result<SystemStats, Errno>;
    /// Slab caches to show (mm's, then the server's own).
    fn slabs(&mut self) -> Result<Vec<CacheInfo>, Errno>;
    /// Nanoseconds since boot, and of those the CPU spent idle if known.
    fn uptime(&mut self) -> (u64, Option<u64>);
    /// Its CPU time, threads and start time (the kernel's
    /// `process_times`), if known.
    fn times(&mut self, pid: u64) -> Option<ProcessTime>;
    /// `/proc/interrupts`, as the device manager puts it together
    /// (`ENOENT` from a source that has none).
    fn interrupts(&mut self) -> Result<String, Errno> {
        Err(Errno::ENOENT)
    }
    /// `/proc/diskstats`, from the block server (`ENOENT` from a source
    /// that has none).
    fn diskstats(&mut self) -> Result<String, Errno> {
        Err(Errno::ENOENT)
    }
}

// ---- inode numbers ----

const ROOT: Ino = 1;
const MEMINFO: Ino = 2;
const BUDDYINFO: Ino = 3;
const SLABINFO: Ino = 4;
const UPTIME: Ino = 5;
const MOUNTS: Ino = 6;
const FILESYSTEMS: Ino = 7;
const SELF: Ino = 8;
const SYS: Ino = 9;
const SYS_FS: Ino = 10;
const DENTRY_STATE: Ino = 11;
const FILE_NR: Ino = 12;
const INODE_NR: Ino = 13;
const INTERRUPTS: Ino = 14;
const DISKSTATS: Ino = 15;

/// A process's entries: `pid << PID_SHIFT | kind`.
const PID_SHIFT: u32 = 4;
const PID_DIR: u64 = 1;
const PID_STATUS: u64 = 2;
const PID_STAT: u64 = 3;
const PID_CMDLINE: u64 = 4;
const PID_MAPS: u64 = 5;
/// The largest pid procfs shows (its inode numbers must not wrap).
pub const PID_MAX: u64 = u64::MAX >> (PID_SHIFT + 1);

/// Directory position of process `pid` in `/proc`.
const PID_POS: u64 = 1 << 32;

/// The fixed entries of a directory: name, inode, mode.
type Fixed = (&'static [u8], Ino, u32);

const ROOT_ENTRIES: &[Fixed] = &[
    (b"meminfo", MEMINFO, S_IFREG | 0o444),
    (b"buddyinfo", BUDDYINFO, S_IFREG | 0o444),
    (b"slabinfo", SLABINFO, S_IFREG | 0o400),
    (b"uptime", UPTIME, S_IFREG | 0o444),
    (b"mounts", MOUNTS, S_IFREG | 0o444),
    (b"filesystems", FILESYSTEMS, S_IFREG | 0o444),
    (b"interrupts", INTERRUPTS, S_IFREG | 0o444),
    (b"diskstats", DISKSTATS, S_IFREG | 0o444),
    (b"self", SELF, S_IFLNK | 0o777),
    (b"sys", SYS, S_IFDIR | 0o555),
];
const SYS_ENTRIES: &[Fixed] = &[(b"fs", SYS_FS, S_IFDIR | 0o555)];
const SYS_FS_ENTRIES: &[Fixed] = &[
    (b"dentry-state", DENTRY_STATE, S_IFREG | 0o444),
    (b"file-nr", FILE_NR, S_IFREG | 0o444),
    (b"inode-nr", INODE_NR, S_IFREG | 0o444),
];
const PID_ENTRIES: &[(&[u8], u64, u32)] = &[
    (b"status", PID_STATUS, S_IFREG | 0o444),
    (b"stat", PID_STAT, S_IFREG | 0o444),
    (b"cmdline", PID_CMDLINE, S_IFREG | 0o444),
    (b"maps", PID_MAPS, S_IFREG | 0o444),
];

/// The fixed entries of directory `dir`, if it is a fixed one.
fn fixed_entries(dir: Ino) -> Option<&'static [Fixed]> {
    match dir {
        ROOT => Some(ROOT_ENTRIES),
        SYS => Some(SYS_ENTRIES),
        SYS_FS => Some(SYS_FS_ENTRIES),
        _ => None,
    }
}

/// The mode of a fixed inode.
fn fixed_mode(ino: Ino) -> Option<u32> {
    if ino == ROOT {
        return Some(S_IFDIR | 0o555);
    }
    [ROOT_ENTRIES, SYS_ENTRIES, SYS_FS_ENTRIES]
        .iter()
        .flat_map(|e| e.iter())
        .find(|e| e.1 == ino)
        .map(|e| e.2)
}

/// `(pid, kind)` of a process inode.
fn split(ino: Ino) -> Option<(u64, u64)> {
    let pid = ino >> PID_SHIFT;
    (pid > 0).then_some((pid, ino & ((1 << PID_SHIFT) - 1)))
}

fn pid_ino(pid: u64, kind: u64) -> Ino {
    pid << PID_SHIFT | kind
}

/// A decimal pid name (no sign, no leading zero), within [`PID_MAX`].
fn parse_pid(name: &[u8]) -> Option<u64> {
    if name.is_empty() || name.len() > 19 || name[0] == b'0' {
        return None;
    }
    let mut pid: u64 = 0;
    for &b in name {
        if !b.is_ascii_digit() {
            return None;
        }
        pid = pid * 10 + u64::from(b - b'0');
    }
    (pid <= PID_MAX).then_some(pid)
}

/// The type `proc` in the registry.
pub struct ProcFsType {
    make: Box<dyn Fn() -> Box<dyn ProcSource>>,
}

impl ProcFsType {
    /// `make` gives each mount its source.
    pub fn new(make: Box<dyn Fn() -> Box<dyn ProcSource>>) -> ProcFsType {
        ProcFsType { make }
    }
}

impl FileSystemType for ProcFsType {
    fn name(&self) -> &'static str {
        "proc"
    }
    fn mount(
        &self,
        _source: &[u8],
        _flags: u32,
        _data: &[u8],
    ) -> Result<Box<dyn FileSystem>, Errno> {
        Ok(Box::new(ProcFs {
            source: (self.make)(),
        }))
    }
}

/// One mounted procfs.
pub struct ProcFs {
    source: Box<dyn ProcSource>,
}

impl ProcFs {
    pub fn new(source: Box<dyn ProcSource>) -> ProcFs {
        ProcFs { source }
    }

    /// Process `pid`, or `ENOENT` if it is gone.
    fn live(&mut self, pid: u64) -> Result<TaskInfo, Errno> {
        self.source.task(pid)?.ok_or(Errno::ENOENT)
    }
}

impl crate::fs::SuperOperations for ProcFs {
    fn magic(&self) -> u64 {
        PROC_SUPER_MAGIC
    }
    fn root_ino(&self) -> Ino {
        ROOT
    }
    fn read_inode(&mut self, ino: Ino) -> Result<InodeAttr, Errno> {
        let (mode, uid) = match (fixed_mode(ino), split(ino)) {
            (Some(mode), _) => (mode, 0),
            (None, Some((pid, kind))) => {
                let mode = match kind {
                    PID_DIR => S_IFDIR | 0o555,
                    k => {
                        PID_ENTRIES
                            .iter()
                            .find(|e| e.1 == k)
                            .ok_or(Errno::ESTALE)?
                            .2
                    }
                };
                let task = self.source.task(pid)?.ok_or(Errno::ESTALE)?;
                (mode, task.uid)
            }
            _ => return Err(Errno::ESTALE),
        };
        Ok(InodeAttr {
            ino,
            mode,
            nlink: if is_dir(mode) { 2 } else { 1 },
            uid,
            gid: uid,
            ..InodeAttr::default()
        })
    }
    /// Attributes are generated: a change (`chmod`) is not kept.
    fn write_inode(&mut self, _ino: Ino, _attr: &InodeAttr) -> Result<(), Errno> {
        Ok(())
    }
    fn evict_inode(&mut self, _ino: Ino) {}
    fn statfs(&self) -> StatFs {
        StatFs {
            f_type: PROC_SUPER_MAGIC,
            f_bsize: PAGE_SIZE as u64,
            f_namelen: NAME_MAX as u64,
            f_frsize: PAGE_SIZE as u64,
            ..StatFs::default()
        }
    }
    fn max_file_size(&self) -> u64 {
        0
    }
    fn revalidates(&self) -> bool {
        true
    }
}

impl crate::fs::InodeOperations for ProcFs {
    fn lookup(&mut self, dir: Ino, name: &[u8]) -> Result<Option<Ino>, Errno> {
        if let Some(entries) = fixed_entries(dir) {
            if let Some(e) = entries.iter().find(|e| e.0 == name) {
                return Ok(Some(e.1));
            }
            if dir != ROOT {
                return Ok(None);
            }
            let Some(pid) = parse_pid(name) else {
                return Ok(None);
            };
            return Ok(self.source.task(pid)?.map(|_| pid_ino(pid, PID_DIR)));
        }
        match split(dir) {
            Some((pid, PID_DIR)) => {
                if self.source.task(pid)?.is_none() {
                    return Ok(None);
                }
                let found = PID_ENTRIES.iter().find(|e| e.0 == name);
                Ok(found.map(|e| pid_ino(pid, e.1)))
            }
            _ => Err(Errno::ENOTDIR),
        }
    }
    fn create(&mut self, _dir: Ino, _name: &[u8], _new: &NewInode<'_>) -> Result<Ino, Errno> {
        Err(Errno::EACCES)
    }
    fn link(&mut self, _dir: Ino, _name: &[u8], _ino: Ino) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    fn unlink(&mut self, _dir: Ino, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EACCES)
    }
    fn rmdir(&mut self, _dir: Ino, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EACCES)
    }
    fn rename(&mut self, _: Ino, _: &[u8], _: Ino, _: &[u8]) -> Result<(), Errno> {
        Err(Errno::EACCES)
    }
    fn readlink(&mut self, _ino: Ino) -> Result<Vec<u8>, Errno> {
        Err(Errno::EINVAL)
    }
    /// `self` names the caller's directory (a caller that is no process
    /// procfs knows gets `ENOENT` when it follows it).
    fn readlink_as(&mut self, ino: Ino, caller: ClientId) -> Result<Vec<u8>, Errno> {
        match ino {
            SELF => Ok(format!("{caller}").into_bytes()),
            _ => Err(Errno::EINVAL),
        }
    }
    fn is_empty_dir(&mut self, _dir: Ino) -> Result<bool, Errno> {
        Ok(false)
    }
    /// A cached answer under `/proc` holds while the process it names
    /// still lives (or, for a negative pid entry, still does not).
    fn d_revalidate(&mut self, dir: Ino, name: &[u8], ino: Option<Ino>) -> bool {
        let pid = match (dir, split(dir)) {
            (ROOT, _) => match parse_pid(name) {
                Some(pid) => pid,
                None => return true,
            },
            (_, Some((pid, PID_DIR))) => pid,
            _ => return true,
        };
        match self.source.task(pid) {
            Ok(task) => task.is_some() == ino.is_some(),
            // Cannot tell: look again (the lookup says what it can).
            Err(_) => false,
        }
    }
}

impl crate::fs::FileOperations for ProcFs {
    fn readdir(
        &mut self,
        dir: Ino,
        pos: u64,
        emit: &mut dyn FnMut(&DirEntry<'_>) -> bool,
    ) -> Result<(), Errno> {
        if let Some(entries) = fixed_entries(dir) {
            for (i, e) in entries
                .iter()
                .enumerate()
                .skip((pos as usize).saturating_sub(2))
            {
                let next_pos = i as u64 + 3;
                if !emit(&DirEntry {
                    ino: e.1,
                    name: e.0,
                    dtype: dtype_of(e.2),
                    next_pos,
                }) {
                    return Ok(());
                }
            }
            return if dir == ROOT {
                self.readdir_pids(pos, emit)
            } else {
                Ok(())
            };
        }
        let Some((pid, PID_DIR)) = split(dir) else {
            return Err(Errno::ENOTDIR);
        };
        self.live(pid)?;
        for (i, e) in PID_ENTRIES
            .iter()
            .enumerate()
            .skip((pos as usize).saturating_sub(2))
        {
            let entry = DirEntry {
                ino: pid_ino(pid, e.1),
                name: e.0,
                dtype: dtype_of(e.2),
                next_pos: i as u64 + 3,
            };
            if !emit(&entry) {
                break;
            }
        }
        Ok(())
    }
    fn is_uncached(&self, ino: Ino) -> bool {
        let mode = fixed_mode(ino).or_else(|| {
            let (_, kind) = split(ino)?;
            PID_ENTRIES.iter().find(|e| e.1 == kind).map(|e| e.2)
        });
        mode.is_some_and(is_reg)
    }
    /// Every file is read-only (`EACCES` for writing, even for root).
    fn open(&mut self, _ino: Ino, flags: u32) -> Result<(), Errno> {
        if flags & O_ACCMODE != O_RDONLY {
            return Err(Errno::EACCES);
        }
        Ok(())
    }
    fn snapshot(&mut self, ino: Ino, ctx: &FsContext) -> Option<Result<Vec<u8>, Errno>> {
        if !self.is_uncached(ino) {
            return None;
        }
        let text = match ino {
            MEMINFO => self.source.system().map(|s| meminfo(&s, ctx)),
            BUDDYINFO => self.source.system().map(|s| buddyinfo(&s)),
            SLABINFO => self.source.slabs().map(|c| slabinfo(&c)),
            UPTIME => Ok(uptime(self.source.uptime())),
            MOUNTS => return Some(Ok(ctx.mounts.clone())),
            FILESYSTEMS => Ok(filesystems(&ctx.filesystems)),
            DENTRY_STATE => Ok(dentry_state(ctx)),
            FILE_NR => Ok(format!("{}\t0\t{}\n", ctx.nr_files, ctx.file_max)),
            INODE_NR => Ok(format!("{}\t0\n", ctx.nr_inodes)),
            INTERRUPTS => self.source.interrupts(),
            DISKSTATS => self.source.diskstats(),
            _ => return Some(self.pid_file(ino, ctx)),
        };
        Some(text.map(String::into_bytes))
    }
}

impl crate::fs::AddressSpaceOperations for ProcFs {
    fn readpage(&mut self, _: Ino, _: u64, _: &mut [u8]) -> Result<crate::fs::PageIo, Errno> {
        Err(Errno::EINVAL)
    }
    fn writepage(&mut self, _: Ino, _: u64, _: &[u8]) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
}

impl ProcFs {
    /// The live pids from position `pos` on.
    fn readdir_pids(
        &mut self,
        pos: u64,
        emit: &mut dyn FnMut(&DirEntry<'_>) -> bool,
    ) -> Result<(), Errno> {
        let mut after = pos.saturating_sub(PID_POS).saturating_sub(1);
        if pos < PID_POS {
            after = 0;
        }
        loop {
            let tasks = self.source.tasks(after)?;
            let Some(last) = tasks.last().map(|t| t.pid) else {
                return Ok(());
            };
            for t in tasks.iter().filter(|t| t.pid > after && t.pid <= PID_MAX) {
                let name = format!("{}", t.pid);
                let entry = DirEntry {
                    ino: pid_ino(t.pid, PID_DIR),
                    name: name.as_bytes(),
                    dtype: DT_DIR,
                    next_pos: PID_POS + t.pid + 1,
                };
                if !emit(&entry) {
                    return Ok(());
                }
            }
            if last <= after {
                return Ok(());
            }
            after = last;
        }
    }

    /// A file of `/proc/<pid>`.
    fn pid_file(&mut self, ino: Ino, ctx: &FsContext) -> Result<Vec<u8>, Errno> {
        let (pid, kind) = split(ino).ok_or(Errno::ENOENT)?;
        let task = self.live(pid)?;
        match kind {
            PID_STATUS => {
                let memory = self.source.mem_status(pid).ok();
                let times = self.source.times(pid);
                Ok(status(&task, memory.as_ref(), times.as_ref()).into_bytes())
            }
            PID_STAT => {
                let memory = self.source.mem_status(pid).ok();
                let times = self.source.times(pid);
                Ok(stat(&task, memory.as_ref(), times.as_ref()).into_bytes())
            }
            PID_CMDLINE => self.source.cmdline(pid),
            PID_MAPS => {
                // Another user's layout is theirs (Linux asks
                // ptrace_may_access): only the owner and root.
                if ctx.caller_uid != 0 && ctx.caller_uid != task.uid {
                    return Err(Errno::EACCES);
                }
                Ok(maps(&self.source.maps(pid)?).into_bytes())
            }
            _ => Err(Errno::ENOENT),
        }
    }
}

// ---- processes the process server does not know ----

/// What procfs shows of a process only the kernel knows (one `init`
/// started that never called the process server: most servers): its
/// kernel name as the command, `R` if a thread runs or waits for the CPU
/// else `S`, `init` as its parent, group and session, and `uid` (whom
/// `init` says it runs as).
pub fn kernel_task(k: &ProcessTime, uid: u32) -> TaskInfo {
    let mut comm = heapless::String::new();
    for c in k.name().chars() {
        if comm.push(c).is_err() {
            break;
        }
    }
    TaskInfo {
        pid: k.pid,
        ppid: 1,
        pgid: 1,
        sid: 1,
        uid,
        state: if k.running > 0 { b'R' } else { b'S' },
        comm,
    }
}

/// The processes after some pid, in pid order, from a page of the
/// process server's list (`from_proc`; `proc_full`: there may be more
/// after it) and a page of the kernel's (`from_kernel`, `kernel_full`
/// likewise). Only pids both pages cover go in (up to the smaller last
/// pid of a full page), so the next page, asked after the last pid
/// returned, misses none. The process server's entry wins; a process
/// only the kernel knows goes in if it has threads (not one that ended
/// and waits to be reaped) and `uid_of` knows its owner.
pub fn merge_tasks(
    from_proc: &[TaskInfo],
    proc_full: bool,
    from_kernel: &[ProcessTime],
    kernel_full: bool,
    mut uid_of: impl FnMut(u64) -> Option<u32>,
) -> Vec<TaskInfo> {
    let last = |full: bool, pid: Option<u64>| if full { pid } else { None };
    let bound = match (
        last(proc_full, from_proc.last().map(|t| t.pid)),
        last(kernel_full, from_kernel.last().map(|k| k.pid)),
    ) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => u64::MAX,
    };
    let mut out: Vec<TaskInfo> = from_proc
        .iter()
        .filter(|t| t.pid <= bound)
        .cloned()
        .collect();
    for k in from_kernel
        .iter()
        .filter(|k| k.pid <= bound && k.threads > 0)
    {
        if out.iter().any(|t| t.pid == k.pid) {
            continue;
        }
        if let Some(uid) = uid_of(k.pid) {
            out.push(kernel_task(k, uid));
        }
    }
    out.sort_by_key(|t| t.pid);
    out
}

// ---- the generators: pure functions of the figures ----

/// `/proc/meminfo`: Linux's field names, in kB.
pub fn meminfo(s: &SystemStats, ctx: &FsContext) -> String {
    let kb = |pages: u64| pages * (PAGE_SIZE as u64 / 1024);
    let (cached, dirty, writeback) = ctx.page_cache.meminfo_kb();
    // What could be had without swapping: free memory and the clean
    // part of the page cache (its dirty pages must be written first).
    let available = kb(s.free_pages) + cached.saturating_sub(dirty + writeback);
    let fields = [
        ("MemTotal", kb(s.total_pages)),
        ("MemFree", kb(s.free_pages)),
        ("MemAvailable", available),
        ("Buffers", 0),
        ("Cached", cached),
        ("AnonPages", kb(s.anon_pages)),
        ("Shmem", kb(s.shared_pages)),
        ("Dirty", dirty),
        ("Writeback", writeback),
        ("DmaPinned", kb(s.dma_pinned_pages)),
        ("MmHeap", kb(s.mm_heap_pages)),
    ];
    let mut out = String::new();
    for (name, value) in fields {
        let _ = writeln!(out, "{:<16}{value:>8} kB", format!("{name}:"));
    }
    out
}

const ZONE_NAMES: [&str; ZONES] = ["DMA", "DMA32", "Normal"];

/// `/proc/buddyinfo`: free blocks per order of each zone with pages.
pub fn buddyinfo(s: &SystemStats) -> String {
    let mut out = String::new();
    for (zone, name) in ZONE_NAMES.iter().enumerate() {
        if s.zone_pages[zone] == 0 {
            continue;
        }
        let _ = write!(out, "Node 0, zone {name:>8} ");
        for free in s.buddy[zone] {
            let _ = write!(out, "{free:>6} ");
        }
        out.push('\n');
    }
    out
}

/// `/proc/slabinfo`, version 2.1.
pub fn slabinfo(caches: &[CacheInfo]) -> String {
    let mut out = String::from(
        "slabinfo - version: 2.1\n# name            <active_objs> <num_objs> <objsize> \
         <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : \
         slabdata <active_slabs> <num_slabs> <sharedavail>\n",
    );
    for c in caches {
        let _ = writeln!(out, "{c}");
    }
    out
}

/// `/proc/uptime`: seconds since boot and idle, to the hundredth.
pub fn uptime((up_ns, idle_ns): (u64, Option<u64>)) -> String {
    let cs = |ns: u64| ns / 10_000_000;
    let (up, idle) = (cs(up_ns), cs(idle_ns.unwrap_or(0)));
    format!(
        "{}.{:02} {}.{:02}\n",
        up / 100,
        up % 100,
        idle / 100,
        idle % 100
    )
}

/// `/proc/filesystems`: `nodev` before the types that need no device.
pub fn filesystems(types: &[(&str, bool)]) -> String {
    let mut out = String::new();
    for (name, device) in types {
        let _ = writeln!(out, "{}\t{name}", if *device { "" } else { "nodev" });
    }
    out
}

fn dentry_state(ctx: &FsContext) -> String {
    let d = ctx.dentry_state;
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\n",
        d.nr_dentry, d.nr_unused, d.age_limit, d.want_pages, d.nr_negative, d.dummy
    )
}

/// The long name of a state letter, as `status` prints it.
fn state_name(state: u8) -> &'static str {
    match state {
        b'R' => "R (running)",
        b'S' => "S (sleeping)",
        b'T' => "T (stopped)",
        b'Z' => "Z (zombie)",
        b'D' => "D (disk sleep)",
        _ => "? (unknown)",
    }
}

/// `/proc/<pid>/status`: who it is, its threads if the kernel said, then
/// mm's memory lines if mm said.
pub fn status(t: &TaskInfo, memory: Option<&MemStatus>, times: Option<&ProcessTime>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Name:\t{}", t.comm);
    let _ = writeln!(out, "State:\t{}", state_name(t.state));
    let _ = writeln!(out, "Tgid:\t{}", t.pid);
    let _ = writeln!(out, "Pid:\t{}", t.pid);
    let _ = writeln!(out, "PPid:\t{}", t.ppid);
    let _ = writeln!(out, "NSpgid:\t{}", t.pgid);
    let _ = writeln!(out, "NSsid:\t{}", t.sid);
    let _ = writeln!(out, "Uid:\t{0}\t{0}\t{0}\t{0}", t.uid);
    if let Some(times) = times {
        let _ = writeln!(out, "Threads:\t{}", times.threads);
    }
    if let Some(m) = memory {
        let _ = write!(out, "{m}");
    }
    out
}

/// Clock ticks per second of `stat`'s times (Linux's `USER_HZ`, what
/// `sysconf(_SC_CLK_TCK)` says).
pub const USER_HZ: u64 = 100;

/// Nanoseconds in clock ticks ([`USER_HZ`]), rounded down.
fn ticks(ns: u64) -> u64 {
    ns / (1_000_000_000 / USER_HZ)
}

/// `/proc/<pid>/stat`: Linux's first 52 fields, those not kept here 0
/// (faults, children's times, signals). From the kernel, if it said:
/// `utime` is all the CPU time (the kernel does not split user from
/// system time, so `stime` is 0), `num_threads`, and `starttime` in
/// clock ticks since boot. `vsize` in bytes and `rss` in pages from mm.
pub fn stat(t: &TaskInfo, memory: Option<&MemStatus>, times: Option<&ProcessTime>) -> String {
    let (vsize, rss) = memory.map_or((0, 0), |m| (m.vm_size * 1024, m.vm_rss / 4));
    let (utime, threads, start) = times.map_or((0, 1, 0), |t| {
        (ticks(t.cpu_ns), t.threads, ticks(t.start_ns))
    });
    let mut out = format!(
        "{} ({}) {} {} {} {} 0 -1 0",
        t.pid,
        t.comm,
        char::from(t.state),
        t.ppid,
        t.pgid,
        t.sid
    );
    // minflt, cminflt, majflt, cmajflt, utime, stime, cutime, cstime,
    // priority 20, nice 0, num_threads, itrealvalue 0, starttime; then
    // vsize, rss, and 28 more.
    let _ = write!(out, " 0 0 0 0 {utime} 0 0 0 20 0 {threads} 0 {start}");
    let _ = write!(out, " {vsize} {rss}");
    for _ in 0..28 {
        out.push_str(" 0");
    }
    out.push('\n');
    out
}

/// `/proc/<pid>/maps`: one line per area.
pub fn maps(areas: &[MapEntry]) -> String {
    let mut out = String::new();
    for a in areas {
        let _ = writeln!(out, "{a}");
    }
    out
}
