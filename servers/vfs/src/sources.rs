//! Where procfs's and sysfs's figures come from in the running system:
//! the process server (`proc`: the task list, command lines), the kernel
//! (`process_times`: CPU times, and the processes `proc` never met, whose
//! owners `init`'s credentials service tells), the memory
//! server (`mm`: the system's memory, a process's areas and memory
//! fields, its slab caches), the kernel's clock, and the device manager
//! (`devmgr`: the sysfs tree).
//!
//! Every call is **bounded** ([`CALL_TIMEOUT_NS`]): the loop that makes
//! it serves everyone else, and the process server itself calls vfs
//! (fork, exec, exit) — were both to call each other at once, the
//! timeout ends vfs's side and the open gets `EAGAIN`, rather than the
//! two waiting for ever. A server that is not there (yet: vfs starts
//! before `proc`) is looked up again at the next use.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use libsys::abi::ipc::PAYLOAD_MAX;
use libsys::abi::SysError;
use libsys::errno::Errno;
use libsys::handle::Endpoint;
use libsys::ipc::{self, Message};
use libsys::proto::blk::{self, BlkError, DiskStat};
use libsys::proto::cred;
use libsys::proto::devmgr::{self, DevError};
use libsys::proto::mm::{self, CacheInfo, MapEntry, MemStatus, MmError, SystemStats};
use libsys::proto::proc::{self, TaskInfo};
use libsys::rpc::{self, LABEL_REPLY, LABEL_REQUEST};
use serde::de::DeserializeOwned;
use serde::Serialize;
use vfs::blockattrs::BlockStats;
use vfs::procfs::{kernel_task, merge_tasks, ProcSource};
use vfs::sysfs::{Node, SysSource};

/// How long one question to another server may take (send and reply).
const CALL_TIMEOUT_NS: u64 = 500_000_000;
/// Pages of a listing or a command line read at most (a bound on a
/// server that keeps saying "more").
const PAGES_MAX: u32 = 64;

/// A server found by name, looked up again after a failure.
struct Peer {
    name: &'static str,
    endpoint: Option<Endpoint>,
}

impl Peer {
    const fn new(name: &'static str) -> Peer {
        Peer {
            name,
            endpoint: None,
        }
    }

    /// One bounded call: `EAGAIN` when it timed out, `EIO` when the
    /// server is missing or answered nonsense.
    fn call<Req: Serialize, Rep: DeserializeOwned>(&mut self, request: &Req) -> Result<Rep, Errno> {
        if self.endpoint.is_none() {
            self.endpoint = libsys::names::lookup_wait(self.name, 0).ok();
        }
        let endpoint = self.endpoint.as_ref().ok_or(Errno::EIO)?;
        let result = bounded_call(endpoint, request);
        if matches!(result, Err(Errno::EIO)) {
            self.endpoint = None;
        }
        result
    }
}

fn bounded_call<Req: Serialize, Rep: DeserializeOwned>(
    endpoint: &Endpoint,
    request: &Req,
) -> Result<Rep, Errno> {
    let length = rpc::encode_payload(request).map_err(|_| Errno::EIO)?;
    let msg = Message::new(LABEL_REQUEST).with_payload(length);
    let reply = match endpoint.call(&msg, CALL_TIMEOUT_NS) {
        Ok(r) => r,
        Err(SysError::TimedOut) => return Err(Errno::EAGAIN),
        Err(_) => return Err(Errno::EIO),
    };
    if reply.label() != LABEL_REPLY {
        return Err(Errno::EIO);
    }
    let mut buf = [0u8; PAYLOAD_MAX];
    let n = ipc::read_payload(reply.info.length.into(), &mut buf);
    rpc::decode(&buf[..n]).map_err(|_| Errno::EIO)
}

/// Owners remembered (pids are never reused: a pid's owner never
/// changes); forgotten all at once past this many.
const UIDS_MAX: usize = 256;

/// procfs's source: `proc`, `mm`, the kernel (`process_times`, the
/// clock), and `init`'s credentials service for the owners of the
/// processes only the kernel knows.
pub struct ProcIpc {
    proc: Peer,
    mm: Peer,
    cred: Peer,
    devmgr: Peer,
    uids: BTreeMap<u64, u32>,
}

impl ProcIpc {
    pub fn boxed() -> Box<dyn ProcSource> {
        Box::new(ProcIpc {
            proc: Peer::new(proc::NAME),
            mm: Peer::new("mm"),
            cred: Peer::new(cred::NAME),
            devmgr: Peer::new("devmgr"),
            uids: BTreeMap::new(),
        })
    }

    /// The process server's page of processes after `after`, and whether
    /// it is full (more may follow).
    fn proc_page(&mut self, after: u64) -> Result<(Vec<TaskInfo>, bool), Errno> {
        match self.proc.call(&proc::Request::List { after })? {
            proc::Reply::Tasks(tasks) => {
                let full = tasks.len() == proc::LIST_MAX;
                Ok((tasks.into_iter().collect(), full))
            }
            proc::Reply::Error(e) => Err(e),
            _ => Err(Errno::EIO),
        }
    }

    /// Whom `init` says process `pid` runs as (its effective uid).
    fn uid_of(&mut self, pid: u64) -> Option<u32> {
        if let Some(&uid) = self.uids.get(&pid) {
            return Some(uid);
        }
        let uid = match self.cred.call(&cred::Request::Get { pid }).ok()? {
            cred::Reply::Credentials(c) => c.euid,
            _ => return None,
        };
        if self.uids.len() >= UIDS_MAX {
            self.uids.clear();
        }
        self.uids.insert(pid, uid);
        Some(uid)
    }

    fn mm(&mut self, request: &mm::Request) -> Result<mm::Reply, Errno> {
        match self.mm.call(request)? {
            mm::Reply::Error(e) => Err(mm_errno(e)),
            r => Ok(r),
        }
    }
}

fn mm_errno(e: MmError) -> Errno {
    match e {
        MmError::NotAllowed => Errno::EACCES,
        MmError::InvalidArgument => Errno::ESRCH,
        MmError::NoMemory => Errno::ENOMEM,
        _ => Errno::EIO,
    }
}

impl ProcSource for ProcIpc {
    /// The process server's list merged with the kernel's.
    fn tasks(&mut self, after: u64) -> Result<Vec<TaskInfo>, Errno> {
        let (from_proc, proc_full) = self.proc_page(after)?;
        let kernel = libsys::syscall::process_times(after).unwrap_or_default();
        let kernel_full = kernel.entries().len() == libsys::abi::PROCESS_TIMES_MAX;
        Ok(merge_tasks(
            &from_proc,
            proc_full,
            kernel.entries(),
            kernel_full,
            |pid| self.uid_of(pid),
        ))
    }

    /// One process: the process server's, else the kernel's (one owner
    /// to ask for, not a page's).
    fn task(&mut self, pid: u64) -> Result<Option<TaskInfo>, Errno> {
        let after = pid.saturating_sub(1);
        let (from_proc, _) = self.proc_page(after)?;
        if let Some(t) = from_proc.into_iter().find(|t| t.pid == pid) {
            return Ok(Some(t));
        }
        let kernel = libsys::syscall::process_times(after).unwrap_or_default();
        let Some(k) = kernel
            .entries()
            .first()
            .filter(|k| k.pid == pid && k.threads > 0)
        else {
            return Ok(None);
        };
        Ok(self.uid_of(pid).map(|uid| kernel_task(k, uid)))
    }

    fn cmdline(&mut self, pid: u64) -> Result<Vec<u8>, Errno> {
        let mut line = Vec::new();
        for _ in 0..PAGES_MAX {
            let from = line.len() as u32;
            match self.proc.call(&proc::Request::Cmdline { pid, from })? {
                proc::Reply::Cmdline { bytes, total } => {
                    line.extend_from_slice(&bytes);
                    if bytes.is_empty() || line.len() >= total as usize {
                        return Ok(line);
                    }
                }
                // A process only the kernel knows: no command line, as
                // a Linux kernel thread's.
                proc::Reply::Error(Errno::ESRCH) if line.is_empty() => return Ok(line),
                proc::Reply::Error(e) => return Err(e),
                _ => return Err(Errno::EIO),
            }
        }
        Ok(line)
    }

    fn mem_status(&mut self, pid: u64) -> Result<MemStatus, Errno> {
        match self.mm(&mm::Request::Status { pid: Some(pid) })? {
            mm::Reply::Status(s) => Ok(s),
            _ => Err(Errno::EIO),
        }
    }

    fn maps(&mut self, pid: u64) -> Result<Vec<MapEntry>, Errno> {
        let mut all: Vec<MapEntry> = Vec::new();
        let mut from = 0;
        for _ in 0..PAGES_MAX {
            let request = mm::Request::Maps {
                pid: Some(pid),
                from,
            };
            let mm::Reply::Maps { areas, more } = self.mm(&request)? else {
                return Err(Errno::EIO);
            };
            let last = areas.last().map(|a| a.end);
            all.extend(areas);
            match last {
                Some(end) if more && end > from => from = end,
                _ => break,
            }
        }
        Ok(all)
    }

    fn system(&mut self) -> Result<SystemStats, Errno> {
        match self.mm(&mm::Request::SystemStats)? {
            mm::Reply::System(s) => Ok(s),
            _ => Err(Errno::EIO),
        }
    }

    /// mm's caches, then this server's own heap's.
    fn slabs(&mut self) -> Result<Vec<CacheInfo>, Errno> {
        let mut caches: Vec<CacheInfo> = match self.mm(&mm::Request::SlabInfo)? {
            mm::Reply::Slabs(c) => c.into_iter().collect(),
            _ => return Err(Errno::EIO),
        };
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        for c in libsys::heap::slabinfo() {
            let mut name = heapless::String::new();
            for ch in "vfs-".chars().chain(c.name.chars()) {
                if name.push(ch).is_err() {
                    break;
                }
            }
            caches.push(CacheInfo {
                name,
                active_objs: narrow(c.active_objs),
                num_objs: narrow(c.num_objs),
                objsize: narrow(c.objsize),
                objperslab: c.objperslab,
                pagesperslab: c.pagesperslab,
                limit: c.limit,
                batchcount: c.batchcount,
                active_slabs: narrow(c.active_slabs),
                num_slabs: narrow(c.num_slabs),
            });
        }
        Ok(caches)
    }

    fn uptime(&mut self) -> (u64, Option<u64>) {
        let up = libsys::syscall::clock().map_or(0, |c| c.uptime_ns);
        (up, None)
    }

    /// devmgr's table (it holds the IRQ control and knows the users).
    /// The block server's counters, numbered from devmgr's class devices.
    fn diskstats(&mut self) -> Result<String, Errno> {
        let mut sys = DevmgrIpc {
            devmgr: Peer::new("devmgr"),
        };
        vfs::blockattrs::diskstats(&mut BlkIpc::new(), &mut sys)
    }

    fn interrupts(&mut self) -> Result<String, Errno> {
        match self.devmgr.call(&devmgr::Request::Interrupts)? {
            devmgr::Reply::Text(t) => Ok(t.as_str().into()),
            devmgr::Reply::Error(e) => Err(dev_errno(e)),
            _ => Err(Errno::EIO),
        }
    }

    /// The kernel's figures (`process_times`, which needs no handle).
    fn times(&mut self, pid: u64) -> Option<libsys::abi::ProcessTime> {
        let times = libsys::syscall::process_times(pid.checked_sub(1)?).ok()?;
        times.entries().first().copied().filter(|t| t.pid == pid)
    }
}

/// The block attributes' source: the block server `blk`.
pub struct BlkIpc {
    blk: Peer,
}

impl BlkIpc {
    pub fn new() -> BlkIpc {
        BlkIpc {
            blk: Peer::new("blk"),
        }
    }

    pub fn boxed() -> Box<dyn BlockStats> {
        Box::new(BlkIpc::new())
    }

    fn call(&mut self, request: &blk::Request) -> Result<blk::Reply, Errno> {
        match self.blk.call(request)? {
            blk::Reply::Error(e) => Err(blk_errno(e)),
            r => Ok(r),
        }
    }
}

fn blk_errno(e: BlkError) -> Errno {
    match e {
        BlkError::NoSuchDevice => Errno::ENOENT,
        BlkError::UnknownScheduler => Errno::EINVAL,
        BlkError::Busy | BlkError::QueueFull => Errno::EBUSY,
        _ => Errno::EIO,
    }
}

fn blk_name(dev: &str) -> Result<blk::Name, Errno> {
    blk::Name::try_from(dev).map_err(|_| Errno::ENOENT)
}

impl BlockStats for BlkIpc {
    fn devices(&mut self) -> Result<Vec<String>, Errno> {
        let mut all = Vec::new();
        for _ in 0..PAGES_MAX {
            let request = blk::Request::List {
                start: all.len() as u32,
            };
            match self.call(&request)? {
                blk::Reply::Names { names, total } => {
                    let empty = names.is_empty();
                    all.extend(names.iter().map(|n| String::from(n.as_str())));
                    if empty || all.len() >= total as usize {
                        break;
                    }
                }
                _ => return Err(Errno::EIO),
            }
        }
        Ok(all)
    }

    fn stat(&mut self, dev: &str) -> Result<DiskStat, Errno> {
        match self.call(&blk::Request::Stat {
            dev: blk_name(dev)?,
        })? {
            blk::Reply::Stat(s) => Ok(s),
            _ => Err(Errno::EIO),
        }
    }

    fn scheduler(&mut self, dev: &str, set: Option<&str>) -> Result<String, Errno> {
        let set = set
            .map(|s| blk::Name::try_from(s).map_err(|_| Errno::EINVAL))
            .transpose()?;
        match self.call(&blk::Request::Scheduler {
            dev: blk_name(dev)?,
            set,
        })? {
            blk::Reply::Text(t) => Ok(String::from(t.as_str())),
            _ => Err(Errno::EIO),
        }
    }
}

/// sysfs's source: `devmgr`.
pub struct DevmgrIpc {
    devmgr: Peer,
}

impl DevmgrIpc {
    pub fn boxed() -> Box<dyn SysSource> {
        Box::new(DevmgrIpc {
            devmgr: Peer::new("devmgr"),
        })
    }

    fn call(&mut self, request: &devmgr::Request) -> Result<devmgr::Reply, DevError> {
        match self.devmgr.call(request) {
            Ok(devmgr::Reply::Error(e)) => Err(e),
            Ok(r) => Ok(r),
            // Not a devmgr answer: the call itself failed.
            Err(_) => Err(DevError::NoSpace),
        }
    }
}

fn dev_path(path: &str) -> Result<devmgr::Path, Errno> {
    devmgr::Path::try_from(path).map_err(|_| Errno::ENAMETOOLONG)
}

fn dev_errno(e: DevError) -> Errno {
    match e {
        DevError::NotFound | DevError::NoSuchDevice | DevError::NoSuchDriver => Errno::ENOENT,
        DevError::IsDirectory => Errno::EISDIR,
        DevError::NotDirectory => Errno::ENOTDIR,
        DevError::WriteOnly | DevError::ReadOnly | DevError::NotAllowed => Errno::EACCES,
        DevError::InvalidValue | DevError::NoMatch | DevError::BusMismatch => Errno::EINVAL,
        DevError::AlreadyBound => Errno::EBUSY,
        DevError::NotBound => Errno::ENODEV,
        DevError::TooLong => Errno::EFBIG,
        _ => Errno::EIO,
    }
}

impl SysSource for DevmgrIpc {
    /// A path lists (a directory), reads (an attribute), or is
    /// write-only; anything else does not exist.
    fn node(&mut self, path: &str) -> Result<Option<Node>, Errno> {
        let p = dev_path(path)?;
        match self.call(&devmgr::Request::Read { path: p.clone() }) {
            Ok(_) | Err(DevError::TooLong) => {
                let write = path.ends_with("/uevent");
                return Ok(Some(Node::File { read: true, write }));
            }
            Err(DevError::WriteOnly) => {
                return Ok(Some(Node::File {
                    read: false,
                    write: true,
                }))
            }
            Err(DevError::IsDirectory) => return Ok(Some(Node::Dir)),
            Err(DevError::NotFound) => {}
            Err(e) => return Err(dev_errno(e)),
        }
        match self.call(&devmgr::Request::List { path: p, start: 0 }) {
            Ok(_) => Ok(Some(Node::Dir)),
            Err(DevError::NotFound | DevError::NotDirectory) => Ok(None),
            Err(e) => Err(dev_errno(e)),
        }
    }

    fn list(&mut self, path: &str) -> Result<Vec<String>, Errno> {
        let p = dev_path(path)?;
        let mut all = Vec::new();
        for _ in 0..PAGES_MAX {
            let request = devmgr::Request::List {
                path: p.clone(),
                start: all.len() as u32,
            };
            match self.call(&request).map_err(dev_errno)? {
                devmgr::Reply::Names { names, total } => {
                    let empty = names.is_empty();
                    all.extend(names.iter().map(|n| String::from(n.as_str())));
                    if empty || all.len() >= total as usize {
                        break;
                    }
                }
                _ => return Err(Errno::EIO),
            }
        }
        Ok(all)
    }

    fn read(&mut self, path: &str) -> Result<Vec<u8>, Errno> {
        let request = devmgr::Request::Read {
            path: dev_path(path)?,
        };
        match self.call(&request).map_err(dev_errno)? {
            devmgr::Reply::Text(t) => Ok(t.as_bytes().to_vec()),
            _ => Err(Errno::EIO),
        }
    }

    fn write(&mut self, path: &str, value: &[u8]) -> Result<(), Errno> {
        let value = heapless::Vec::from_slice(value).map_err(|_| Errno::EINVAL)?;
        let request = devmgr::Request::Write {
            path: dev_path(path)?,
            value,
        };
        self.call(&request).map(|_| ()).map_err(dev_errno)
    }
}
