//! The memory server's client side: `mmap`, `munmap`, `mprotect`, `brk`,
//! sharing ranges between processes, a copy-on-write duplicate of the
//! address space, and the statistics (`libsys::proto::mm` is the
//! protocol).
//!
//! Every process `init` starts after `mm` is managed by it; these calls
//! find `mm` through the name service (once; the handle is kept, badged
//! with this process's id, so `mm` knows whose memory a request is about).

use core::sync::atomic::{AtomicU32, Ordering};

use crate::abi::{Handle, SysError};
use crate::handle::{Endpoint, OwnedHandle, Process};
use crate::proto::mm::{
    CacheInfo, FileAnswer, FileWant, MapEntry, MemStatus, MmError, ProcessStats, Reply, Request,
    SystemStats, CACHES_MAX, FILE_BATCH, MAPS_MAX, MSYNC_FILES, PROT_EXEC, PROT_READ, PROT_WRITE,
};
use crate::rpc::{self, RpcError};

/// Why a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// `mm` said no.
    Mm(MmError),
    /// There is no memory server (or it could not be reached).
    NoServer,
    Rpc(RpcError),
    /// A reply of the wrong kind.
    Protocol,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Mm(e) => write!(f, "{e}"),
            Error::NoServer => write!(f, "no memory server"),
            Error::Rpc(e) => write!(f, "{e}"),
            Error::Protocol => write!(f, "unexpected reply from mm"),
        }
    }
}

/// `mm`'s handle, looked up once (0: not yet).
static MM: AtomicU32 = AtomicU32::new(0);

fn server() -> Result<core::mem::ManuallyDrop<Endpoint>, Error> {
    let mut raw = MM.load(Ordering::Acquire);
    if raw == 0 {
        let endpoint = crate::names::lookup("mm").map_err(|_| Error::NoServer)?;
        let made = endpoint.0.into_raw().0;
        raw = match MM.compare_exchange(0, made, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => made,
            Err(theirs) => {
                // Another thread looked it up first: ours goes.
                // SAFETY: `made` is ours alone.
                drop(unsafe { OwnedHandle::from_raw(Handle(made)) });
                theirs
            }
        };
    }
    // SAFETY: kept open for the process's life (ManuallyDrop).
    Ok(core::mem::ManuallyDrop::new(unsafe {
        Endpoint::from_raw(Handle(raw))
    }))
}

/// Uses handle `raw` as `mm`'s from now on: for a process `fork_as` made,
/// which has no name service and is handed its handle. The handle number
/// it had before is forgotten, not closed (in a fork child it is a copy of
/// the parent's number, which names nothing of the child's).
pub fn set_server(raw: Handle) {
    MM.store(raw.0, Ordering::Release);
}

/// Whether this process can reach a memory server.
pub fn available() -> bool {
    server().is_ok()
}

fn call(request: &Request) -> Result<Reply, Error> {
    call_with(request, &[]).map(|(reply, _)| reply)
}

fn call_with(request: &Request, handles: &[Handle]) -> Result<(Reply, crate::ipc::Message), Error> {
    let mm = server()?;
    match rpc::call_with::<Request, Reply>(&mm, request, handles) {
        Ok((Reply::Error(e), _)) => Err(Error::Mm(e)),
        Ok(done) => Ok(done),
        Err(RpcError::Sys(SysError::PeerDied)) => Err(Error::NoServer),
        Err(e) => Err(Error::Rpc(e)),
    }
}

/// `PROT_*` bits from a protection.
pub fn prot_bits(prot: crate::abi::Protection) -> u8 {
    use crate::abi::Protection;
    let mut bits = 0;
    if prot.contains(Protection::READ) {
        bits |= PROT_READ;
    }
    if prot.contains(Protection::WRITE) {
        bits |= PROT_WRITE;
    }
    if prot.contains(Protection::EXEC) {
        bits |= PROT_EXEC;
    }
    bits
}

/// Maps `pages` of anonymous memory at `at` (or where `mm` chooses);
/// with `populate`, every page now (or `NoMemory`). Returns the address.
pub fn mmap(
    at: Option<u64>,
    pages: u64,
    prot: crate::abi::Protection,
    populate: bool,
) -> Result<u64, Error> {
    match call(&Request::Mmap {
        at,
        pages,
        prot: prot_bits(prot),
        populate,
    })? {
        Reply::Mapped(address) => Ok(address),
        _ => Err(Error::Protocol),
    }
}

pub fn munmap(at: u64, pages: u64) -> Result<(), Error> {
    match call(&Request::Munmap { at, pages })? {
        Reply::Done => Ok(()),
        _ => Err(Error::Protocol),
    }
}

pub fn mprotect(at: u64, pages: u64, prot: crate::abi::Protection) -> Result<(), Error> {
    match call(&Request::Mprotect {
        at,
        pages,
        prot: prot_bits(prot),
    })? {
        Reply::Done => Ok(()),
        _ => Err(Error::Protocol),
    }
}

/// Moves the break to `end` (`None`: where is it?); returns the break.
pub fn brk(end: Option<u64>) -> Result<u64, Error> {
    match call(&Request::Brk { end })? {
        Reply::Brk(at) => Ok(at),
        _ => Err(Error::Protocol),
    }
}

/// Offers `pages` at `at` to another process; returns the token it
/// passes to [`accept`].
pub fn share(at: u64, pages: u64, writable: bool) -> Result<u64, Error> {
    match call(&Request::Share {
        at,
        pages,
        writable,
    })? {
        Reply::Token(token) => Ok(token),
        _ => Err(Error::Protocol),
    }
}

/// Maps a range another process offered with [`share`]; returns where.
pub fn accept(token: u64, at: Option<u64>) -> Result<u64, Error> {
    match call(&Request::Accept { token, at })? {
        Reply::Mapped(address) => Ok(address),
        _ => Err(Error::Protocol),
    }
}

/// Maps device memory `[phys, phys + pages * 4096)` — registers `init`
/// allowed this process (the manifest's `device=`) — at `at` or where `mm`
/// chooses, uncached, read-only or read-write; returns where.
pub fn map_physical(phys: u64, pages: u64, at: Option<u64>, writable: bool) -> Result<u64, Error> {
    match call(&Request::MapPhysical {
        phys,
        pages,
        at,
        writable,
    })? {
        Reply::Mapped(address) => Ok(address),
        _ => Err(Error::Protocol),
    }
}

/// Maps device-memory `region` (a handle this process was given: a BAR
/// from devmgr) at `at` or where `mm` chooses, uncached, read-only or
/// read-write; returns where. `mm` gets a copy of the handle, which it
/// keeps while this process lives; the caller may close its own.
pub fn map_region(
    region: &crate::handle::MemoryRegion,
    at: Option<u64>,
    writable: bool,
) -> Result<u64, Error> {
    match call_with(&Request::MapRegion { at, writable }, &[region.raw()])?.0 {
        Reply::Mapped(address) => Ok(address),
        _ => Err(Error::Protocol),
    }
}

/// DMA memory a device can reach (Linux's `dma_alloc_coherent`): `pages`
/// physically contiguous, zeroed pages, all below physical address
/// `limit` (`1 << 32` for a 32-bit device, `DMA_LIMIT_MIN` = 16 MiB for an
/// ISA one), mapped read-write here. Returns (address here, physical
/// address for the device). Charged to this process (4 MiB by default);
/// `Mm(OverLimit)` past that, `Mm(InvalidArgument)` for 0 or more than
/// `DMA_PAGES_MAX` pages or a limit below 16 MiB, `Mm(NoMemory)` if no
/// such block is free. A `fork_as` child does not get the mapping.
pub fn dma_alloc_coherent(pages: u64, limit: u64) -> Result<(u64, u64), Error> {
    dma_alloc(pages, limit, false)
}

/// Like [`dma_alloc_coherent`], but the block outlives this process's
/// hold on it: freed or at exit it is unmapped but kept until the device
/// manager releases it (`DmaRelease`: the device has stopped).
pub fn dma_alloc_held(pages: u64, limit: u64) -> Result<(u64, u64), Error> {
    dma_alloc(pages, limit, true)
}

fn dma_alloc(pages: u64, limit: u64, hold: bool) -> Result<(u64, u64), Error> {
    match call(&Request::DmaAlloc { pages, limit, hold })? {
        Reply::Dma { at, phys } => Ok((at, phys)),
        _ => Err(Error::Protocol),
    }
}

/// Frees the DMA block mapped at `at` (Linux's `dma_free_coherent`):
/// `Mm(NotMapped)` if no block of this process starts there.
pub fn dma_free_coherent(at: u64) -> Result<(), Error> {
    match call(&Request::DmaFree { at })? {
        Reply::Done => Ok(()),
        _ => Err(Error::Protocol),
    }
}

/// The areas of process `pid` (`None`: this one), as `/proc/<pid>/maps`
/// lines (`MapEntry` prints as one), from address `from` on: up to
/// `MAPS_MAX`, and whether more follow. Only `init` may look at another
/// process (`Mm(NotAllowed)`).
pub fn maps(
    pid: Option<u64>,
    from: u64,
) -> Result<(heapless::Vec<MapEntry, MAPS_MAX>, bool), Error> {
    match call(&Request::Maps { pid, from })? {
        Reply::Maps { areas, more } => Ok((areas, more)),
        _ => Err(Error::Protocol),
    }
}

/// The memory fields of `/proc/<pid>/status` (`None`: this process).
pub fn status(pid: Option<u64>) -> Result<MemStatus, Error> {
    match call(&Request::Status { pid })? {
        Reply::Status(status) => Ok(status),
        _ => Err(Error::Protocol),
    }
}

/// The memory server's own slab caches, as `/proc/slabinfo` lines.
pub fn slabinfo() -> Result<heapless::Vec<CacheInfo, CACHES_MAX>, Error> {
    match call(&Request::SlabInfo)? {
        Reply::Slabs(caches) => Ok(caches),
        _ => Err(Error::Protocol),
    }
}

/// This process's memory.
pub fn stats() -> Result<ProcessStats, Error> {
    match call(&Request::Stats)? {
        Reply::Stats(stats) => Ok(stats),
        _ => Err(Error::Protocol),
    }
}

/// The system's memory (`/proc/meminfo`, `/proc/buddyinfo`).
pub fn system_stats() -> Result<SystemStats, Error> {
    match call(&Request::SystemStats)? {
        Reply::System(stats) => Ok(stats),
        _ => Err(Error::Protocol),
    }
}

/// A copy-on-write duplicate of this address space in `child` (a new,
/// empty process this process holds with MAP and MANAGE): returns the
/// child's `mm` id, its `mm` handle and the pager its threads must have.
pub fn fork_as(child: &Process) -> Result<(u64, Endpoint, Endpoint), Error> {
    let (reply, msg) = call_with(&Request::ForkAs, &[child.raw()])?;
    let id = match reply {
        Reply::Forked { id } => id,
        _ => return Err(Error::Protocol),
    };
    let (client, pager) = client_and_pager(&msg)?;
    Ok((id, client, pager))
}

/// The two handles a `ForkAs` or `Exec` reply carries: the new space's
/// `mm` client handle and the pager its threads must have.
fn client_and_pager(msg: &crate::ipc::Message) -> Result<(Endpoint, Endpoint), Error> {
    match msg.handles() {
        [client, pager] => {
            // SAFETY: the kernel just put these into our table, and they
            // are taken from the message once, here.
            let (client, pager) = unsafe {
                (
                    Endpoint::from_raw(Handle(*client as u32)),
                    Endpoint::from_raw(Handle(*pager as u32)),
                )
            };
            Ok((client, pager))
        }
        _ => Err(Error::Protocol),
    }
}

/// `Exec` (the memory half of `execve`): gives `process` (held with MAP
/// and MANAGE) a new address space running the ELF image in `image`
/// (`image_size` bytes of a readable region), the first `stack_len`
/// bytes of `stack` (whole pages) on top of its stack. Returns its `mm`
/// id, the entry point, its `mm` handle and the pager its threads must
/// have. Its old space, if mm managed it, is gone unless this fails with
/// `InvalidArgument`, `BadImage` or `NoMemory` before the point of no
/// return (see `proto::mm::Request::Exec`).
pub fn exec_process(
    process: &Process,
    image: Handle,
    image_size: u64,
    stack: Handle,
    stack_len: u64,
) -> Result<(u64, u64, Endpoint, Endpoint), Error> {
    let request = Request::Exec {
        image_size,
        stack_len,
    };
    let (reply, msg) = call_with(&request, &[process.raw(), image, stack])?;
    let (id, entry) = match reply {
        Reply::Execed { id, entry } => (id, entry),
        _ => return Err(Error::Protocol),
    };
    let (client, pager) = client_and_pager(&msg)?;
    Ok((id, entry, client, pager))
}

/// The file server's page cache: an area `mm` made in this process
/// (`RegisterPageCache`) whose pages — *slots* — are the frames file
/// mappings map. Made once per process: its slices are this process's
/// alone to borrow (other processes reach the frames only through their
/// own mappings, as with any shared memory).
pub struct PageCacheArena {
    base: u64,
    pages: u64,
}

impl PageCacheArena {
    /// Slots it holds.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// Slot `slot`'s 4 KiB (empty past the end).
    pub fn page(&self, slot: u64) -> &[u8] {
        if slot >= self.pages {
            return &[];
        }
        // SAFETY: `mm` mapped `[base, base + pages × 4 KiB)` read-write
        // into this process for its whole life (it refuses to unmap,
        // reprotect or share the area, and makes it once per process), so
        // the slot is valid memory; Rust borrows of it go through `self`.
        unsafe {
            core::slice::from_raw_parts(
                (self.base + slot * crate::abi::PAGE_SIZE) as *const u8,
                crate::abi::PAGE_SIZE as usize,
            )
        }
    }

    /// Slot `slot`'s 4 KiB, to write (empty past the end).
    pub fn page_mut(&mut self, slot: u64) -> &mut [u8] {
        if slot >= self.pages {
            return &mut [];
        }
        // SAFETY: as in `page`; `&mut self` makes this the only borrow.
        unsafe {
            core::slice::from_raw_parts_mut(
                (self.base + slot * crate::abi::PAGE_SIZE) as *mut u8,
                crate::abi::PAGE_SIZE as usize,
            )
        }
    }
}

/// (the file server) Makes this process's page cache of `pages` slots;
/// `mm` signals `bit` of `note` when file faults wait (`file_pages`).
pub fn register_page_cache(
    pages: u64,
    note: &crate::handle::Notification,
    bit: u8,
) -> Result<PageCacheArena, Error> {
    match call_with(&Request::RegisterPageCache { pages, bit }, &[note.raw()])? {
        (Reply::Mapped(base), _) => Ok(PageCacheArena { base, pages }),
        _ => Err(Error::Protocol),
    }
}

/// (the file server) Maps `pages` pages of file `file` from page `index`
/// into process `pid` (`Request::MapFile`); returns the address.
#[allow(clippy::too_many_arguments)]
pub fn map_file(
    pid: u64,
    at: Option<u64>,
    pages: u64,
    prot: u8,
    max_prot: u8,
    shared: bool,
    file: u64,
    index: u64,
) -> Result<u64, Error> {
    match call(&Request::MapFile {
        pid,
        at,
        pages,
        prot,
        max_prot,
        shared,
        file,
        index,
    })? {
        Reply::Mapped(at) => Ok(at),
        _ => Err(Error::Protocol),
    }
}

/// (the file server) Answers waiting file faults; returns the faults
/// that wait now, and whether more do.
pub fn file_pages(
    answers: heapless::Vec<FileAnswer, FILE_BATCH>,
) -> Result<(heapless::Vec<FileWant, FILE_BATCH>, bool), Error> {
    match call(&Request::FilePages { answers })? {
        Reply::FileWants { wants, more } => Ok((wants, more)),
        _ => Err(Error::Protocol),
    }
}

/// (the file server) Slot `slot` is to hold other data: every mapping of
/// it goes. Returns whether a mapping had written it.
pub fn file_forget(slot: u64) -> Result<bool, Error> {
    match call(&Request::FileForget { slot })? {
        Reply::Forgot { dirty } => Ok(dirty),
        _ => Err(Error::Protocol),
    }
}

/// (the file server) (file, page) pairs written through shared mappings
/// since the last call, and whether there are more.
pub fn file_dirty(
    file: Option<u64>,
) -> Result<(heapless::Vec<(u64, u64), FILE_BATCH>, bool), Error> {
    match call(&Request::FileDirty { file })? {
        Reply::Dirty { pages, more } => Ok((pages, more)),
        _ => Err(Error::Protocol),
    }
}

/// `msync`'s first half: the files of the shared file mappings in
/// `[at, at + pages)` (`NotMapped` for a hole).
pub fn msync(at: u64, pages: u64) -> Result<heapless::Vec<u64, MSYNC_FILES>, Error> {
    match call(&Request::Msync { at, pages })? {
        Reply::Files(files) => Ok(files),
        _ => Err(Error::Protocol),
    }
}
