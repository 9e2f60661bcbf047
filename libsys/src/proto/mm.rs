//! `mm`, the memory server: the protocol, and the client stub.
//!
//! Every process `init` starts after `mm` is *managed* by it: `mm` is its
//! pager (a page fault is a message to `mm`, which maps a page and lets
//! the thread go on) and the owner of all its memory, and the process asks
//! it for more through the handle its `Lookup` of `mm` gives, badged with
//! its id (a `fork_as` child, which has no name service, is handed one).
//!
//! | request | reply | errors (`Reply::Error`) |
//! | --- | --- | --- |
//! | `Brk { end }` | `Brk(end)`: the break after the call (`None` asks) | `NoMemory`, `InvalidArgument` |
//! | `Mmap { at, pages, prot, populate }` | `Mapped(address)` | `NoMemory`, `InvalidArgument`, `Overlap`, `NoSpace` |
//! | `Munmap { at, pages }` | `Done` | `InvalidArgument`, `NotMapped` |
//! | `Mprotect { at, pages, prot }` | `Done` | `InvalidArgument`, `NotMapped`, `NotAllowed` |
//! | `Share { at, pages, writable }` | `Token(t)`: for another process to `Accept` | `InvalidArgument`, `NotMapped`, `NotAllowed` |
//! | `Accept { token, at }` | `Mapped(address)` | `BadToken`, `Overlap`, `NoSpace` |
//! | `MapPhysical { phys, pages, at, writable }` | `Mapped(address)` | `NotAllowed` (not device memory `init` allowed this process), `InvalidArgument`, `Overlap`, `NoSpace` |
//! | `DmaAlloc { pages, limit, hold }` | `Dma { at, phys }`: `pages` physically contiguous, zeroed, pinned pages below physical address `limit`, mapped read-write at `at` | `InvalidArgument` (0 or more than `DMA_PAGES_MAX` pages, `limit` below `DMA_LIMIT_MIN`), `OverLimit` (the caller's DMA allowance), `NoMemory`, `NoSpace` |
//! | `DmaFree { at }` | `Done` | `NotMapped` (no block of the caller's starts at `at`: a double free, a foreign address) |
//! | `Maps { pid }` | `Maps { areas, more }`: up to `MAPS_MAX` areas from `from` on | `NotAllowed` (not the caller's own space, unless it is `init`), `InvalidArgument` |
//! | `Status { pid }` | `Status(MemStatus)`: `/proc/<pid>/status`'s memory fields | `NotAllowed`, `InvalidArgument` |
//! | `RegisterShrinker { bit, seeks }`, with a notification (SIGNAL) | `Shrinker { id }` | `InvalidArgument` (no notification, bit > 63, seeks 0), `OverLimit` (32 in all, 4 a process) |
//! | `ShrinkerScan { id }` | `Scan(pages)`: what to give back now | `NotMapped` (not the caller's shrinker) |
//! | `ShrinkerReport { id, count, freed }` | `Done` | `NotMapped` |
//! | `Stats` | `Stats(ProcessStats)` | — |
//! | `SystemStats` | `System(SystemStats)` | — |
//! | `SlabInfo` | `Slabs(caches)`: mm's own heap, as `/proc/slabinfo` | — |
//! | `ForkAs`, with a process handle (MAP, MANAGE) | `Forked { id }`, with two handles: the child's `mm` handle and its pager | `NotAllowed` (managed already), `NoMemory` |
//! | `Exec { image_size, stack_len }`, with [process (MAP, MANAGE), image region, stack region] | `Execed { id, entry }`, with the process's `mm` handle and pager | `InvalidArgument`, `BadImage`, `NoMemory` (the old space intact unless the machine failed past the point of no return) |
//! | `Msync { at, pages }` | `Files(files)`: the files of the shared file mappings in the range (the caller then asks vfs to write them back) | `InvalidArgument`, `NotMapped` |
//! | file server only: `RegisterPageCache { pages, bit }` with a notification | `Mapped(address)` of its page-cache area | `NotAllowed` (not a process `init` started, or one is registered), `InvalidArgument` |
//! | file server only: `MapFile { pid, at, pages, prot, max_prot, shared, file, index }` | `Mapped(address)` in process `pid` | `NotAllowed` (not the page cache's owner, `prot` beyond `max_prot`, `pid` unmanaged or the owner itself), `InvalidArgument`, `Overlap`, `NoSpace` |
//! | file server only: `FilePages { answers }` | `FileWants { wants, more }` | `NotAllowed` |
//! | file server only: `FileForget { slot }` | `Forgot { dirty }` | `NotAllowed` |
//! | file server only: `FileDirty { file }` | `Dirty { pages, more }` | `NotAllowed` |
//! | `MapRegion { at, writable }`, with a device-memory region | `Mapped(address)` | `InvalidArgument`, `NotAllowed` (RAM), `OverLimit` |
//! | control (`init` only): `Adopt`, `Give`, `GiveDevice`, `Exit`, `DmaRelease`, `AllowViews` | see each | `NotAllowed` from anyone else |
//!
//! Addresses and lengths are in bytes and pages: `at` must be
//! page-aligned, `pages` at least 1. Memory is demand-paged: a mapping
//! costs nothing until a page is touched, unless `populate` asks for every
//! page at once (then `NoMemory` is returned rather than a later kill).

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// The longest argument string `Adopt` copies onto a new stack.
pub const ARGS_MAX: usize = 1024;
/// Pages the stack area of an adopted process spans (1 MiB); the top page
/// holds its arguments.
pub const STACK_PAGES: u64 = 256;
/// Orders of the buddy allocator (blocks of 2^0 … 2^10 pages).
pub const ORDERS: usize = 11;
/// Zones: DMA (< 16 MiB), DMA32 (< 4 GiB), Normal.
pub const ZONES: usize = 3;

/// A badge bit: the handle a process's threads fault through (set as
/// their pager). Requests come through handles without it.
pub const PAGER_BADGE: u64 = 1 << 63;
/// The badge of `init`'s control handle.
pub const CONTROL_BADGE: u64 = 0;

/// The most pages one `DmaAlloc` gives: a buddy block of order 10 (4 MiB).
pub const DMA_PAGES_MAX: u64 = 1024;
/// The lowest physical limit `DmaAlloc` accepts: the end of the DMA zone
/// (16 MiB, ISA's 24-bit addresses), the narrowest a device may need.
pub const DMA_LIMIT_MIN: u64 = 16 << 20;
/// The most areas one `Maps` reply carries (no more than `Slabs` takes:
/// every `Reply` is as large as its largest variant, and is moved a few
/// times per request).
pub const MAPS_MAX: usize = 24;

/// Protection bits (as `libsys::abi::Protection`).
pub const PROT_READ: u8 = 1;
pub const PROT_WRITE: u8 = 2;
pub const PROT_EXEC: u8 = 4;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    Brk {
        end: Option<u64>,
    },
    Mmap {
        at: Option<u64>,
        pages: u64,
        prot: u8,
        populate: bool,
    },
    Munmap {
        at: u64,
        pages: u64,
    },
    Mprotect {
        at: u64,
        pages: u64,
        prot: u8,
    },
    Share {
        at: u64,
        pages: u64,
        writable: bool,
    },
    Accept {
        token: u64,
        at: Option<u64>,
    },
    MapPhysical {
        phys: u64,
        pages: u64,
        at: Option<u64>,
        writable: bool,
    },
    /// `dma_alloc_coherent`: `pages` physically contiguous pages, all
    /// below physical address `limit`, zeroed, pinned, mapped read-write
    /// into the caller. With `hold`, the block is not freed when the caller
    /// frees it or exits, but kept until `DmaRelease` (the device manager
    /// says the device has stopped using it).
    DmaAlloc {
        pages: u64,
        limit: u64,
        hold: bool,
    },
    /// `dma_free_coherent` of the block mapped at `at`.
    DmaFree {
        at: u64,
    },
    /// (`init`, later the device manager) Frees a held DMA block, by its
    /// physical address, once its process let go of it.
    DmaRelease {
        phys: u64,
    },
    /// `/proc/<pid>/maps`: the areas of space `pid` (the caller's own:
    /// `None`), from address `from` on.
    Maps {
        pid: Option<u64>,
        from: u64,
    },
    /// `/proc/<pid>/status`'s memory fields of space `pid` (`None`: the
    /// caller's own).
    Status {
        pid: Option<u64>,
    },
    /// Registers a shrinker (Linux's `register_shrinker`): the message
    /// carries a notification (SIGNAL) on whose `bit` mm asks for memory
    /// back when free memory runs low; `seeks` (Linux's, 2 by default)
    /// says how costly its objects are to recreate: cheaper ones are
    /// asked first.
    RegisterShrinker {
        bit: u8,
        seeks: u32,
    },
    /// `scan_objects`: how many pages shrinker `id` should give back now.
    ShrinkerScan {
        id: u32,
    },
    /// `count_objects`: shrinker `id` freed `freed` pages and could free
    /// `count` more.
    ShrinkerReport {
        id: u32,
        count: u64,
        freed: u64,
    },
    Stats,
    SystemStats,
    /// The memory server's own slab caches (its heap: area and page
    /// records live there), as `/proc/slabinfo` shows a kernel's.
    SlabInfo,
    /// Duplicates the caller's address space, copy-on-write, into the
    /// process whose handle (MAP, MANAGE) the message carries.
    ForkAs,
    /// (`init`) Manage the new process whose handles the message carries:
    /// [process (MAP, MANAGE), its ELF image (a memory region, READ)].
    /// `mm` lays out its address space from the image (demand-loaded), a
    /// stack with `args` on top and an IPC buffer. `id` is the process's
    /// id in the name service: the badge its lookup of `mm` will carry.
    Adopt {
        id: u64,
        image_size: u64,
        args: heapless::String<ARGS_MAX>,
    },
    /// `execve`'s memory half (the process server's, or any holder of the
    /// process's handle): replaces the address space of the process
    /// whose handles the message carries — [process (MAP, MANAGE), its
    /// new ELF image (a memory region, READ), its initial stack (a memory
    /// region, READ)] — or makes one for a process mm does not manage
    /// yet. The image's segments are demand-loaded from it; the first
    /// `stack_len` bytes of the stack region (whole pages, at most half
    /// the stack area) become the top of the new stack; the IPC buffer
    /// is fresh. The space's id is the process's pid. A failed `Exec`
    /// before the old space is dropped leaves it as it was.
    Exec {
        image_size: u64,
        stack_len: u64,
    },
    /// (`init`) RAM to manage: the message carries up to four memory
    /// regions (READ, WRITE, MANAGE). Only before the first `Adopt`.
    Give,
    /// (`init`) Device memory process `id` (adopted already) may map with
    /// `MapPhysical`, and no one else: the message carries up to four
    /// device-memory regions (READ, WRITE). The permission ends when the
    /// process does.
    GiveDevice {
        id: u64,
    },
    /// (`init`) Process `id` (the file server, for `/proc/<pid>/maps`
    /// and `status`) may look at any space with `Maps` and `Status`, as
    /// `init` may: the manifest's `views`.
    AllowViews {
        id: u64,
    },
    /// (`init`) Process `id` is dead: free everything it had.
    Exit {
        id: u64,
    },
    /// Maps the device-memory region the message carries (one handle:
    /// a BAR devmgr took from the kernel and passed to its driver) at
    /// `at` or where `mm` chooses, uncached; returns `Mapped(address)`.
    /// Holding the region is the right to map it: `mm` keeps the handle
    /// for as long as the caller lives. `InvalidArgument` without exactly
    /// one region, `NotAllowed` for one that overlaps RAM, `OverLimit`
    /// past [`MAP_REGIONS_MAX`] regions per process.
    MapRegion {
        at: Option<u64>,
        writable: bool,
    },
    /// (the file server, once: a process `init` started) Makes its page
    /// cache: an area of `pages` demand-zero pages (at most
    /// [`PAGE_CACHE_MAX`]) whose frames are the page cache's, lent to the
    /// mappings of files. The message carries a notification (SIGNAL):
    /// `mm` sets `bit` on it when file faults wait for pages
    /// (`FilePages`).
    RegisterPageCache {
        pages: u64,
        bit: u8,
    },
    /// (the file server) Maps file `file` (the file server's key for it),
    /// from page `index` of the file on, into process `pid`: `pages`
    /// pages at `at` (fixed: `Overlap` over another area) or anywhere,
    /// with `prot`, never more than `max_prot` (what the open file
    /// allows). `shared`: `MAP_SHARED` (writes go to the page-cache
    /// page), else `MAP_PRIVATE` (copy-on-write on the first write).
    MapFile {
        pid: u64,
        at: Option<u64>,
        pages: u64,
        prot: u8,
        max_prot: u8,
        shared: bool,
        file: u64,
        index: u64,
    },
    /// (the file server) Answers waiting file faults, and asks which wait
    /// now: the reply is `FileWants`.
    FilePages {
        answers: heapless::Vec<FileAnswer, FILE_BATCH>,
    },
    /// (the file server) Page-cache page `slot` is about to hold other
    /// data (evicted, truncated, the file gone): every mapping of it is
    /// removed first. `Forgot { dirty }`: whether a mapping wrote it since
    /// the last `FileDirty`.
    FileForget {
        slot: u64,
    },
    /// (the file server) Pages of `file` (all files: `None`) written
    /// through shared mappings since the last call: they are made
    /// read-only again (the next write is seen) and listed in `Dirty`.
    FileDirty {
        file: Option<u64>,
    },
    /// `msync`: `[at, at + pages)` must be mapped (`NotMapped`); the
    /// reply lists the files of the shared file mappings in it
    /// (`Files`), for the caller to ask the file server to write back.
    Msync {
        at: u64,
        pages: u64,
    },
}

/// Entries in one `FilePages`, `FileWants` or `Dirty` message.
pub const FILE_BATCH: usize = 16;
/// The most pages a page cache (`RegisterPageCache`) may span (256 MiB).
pub const PAGE_CACHE_MAX: u64 = 1 << 16;
/// Files one `Msync` reply names at most.
pub const MSYNC_FILES: usize = 4;

/// The file server's answer to one waiting file fault (`FileWant`):
/// the page-cache page that holds it, or `None` (past the end of the
/// file, or unreadable: the faulting process gets `SIGBUS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct FileAnswer {
    pub token: u64,
    pub slot: Option<u64>,
}

/// A file fault waiting for a page: page `index` of file `file`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct FileWant {
    pub token: u64,
    pub file: u64,
    pub index: u64,
}

/// Device regions one process may have mapped through `MapRegion`.
pub const MAP_REGIONS_MAX: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum MmError {
    NoMemory,
    InvalidArgument,
    /// The range overlaps a mapping.
    Overlap,
    /// The range is not (all) mapped.
    NotMapped,
    /// Not allowed: a protection the area cannot have, memory that is not
    /// this process's, a control request from a process that is not `init`.
    NotAllowed,
    BadToken,
    /// The ELF image did not load.
    BadImage,
    /// No free range of addresses that large.
    NoSpace,
    /// Beyond the caller's allowance (DMA memory).
    OverLimit,
}

/// What an area is, for `/proc/<pid>/maps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum MapKind {
    /// A segment of the program's image.
    Image,
    Anon,
    Heap,
    Stack,
    Shared,
    Device,
    Dma,
    IpcBuffer,
    /// A mapping of a file (`MapFile`).
    File,
    /// The file server's page cache.
    PageCache,
}

impl MapKind {
    /// The name column of `/proc/<pid>/maps` ("" for anonymous memory).
    pub fn name(self) -> &'static str {
        match self {
            MapKind::Image => "[image]",
            MapKind::Anon => "",
            MapKind::Heap => "[heap]",
            MapKind::Stack => "[stack]",
            MapKind::Shared => "[shared]",
            MapKind::Device => "[device]",
            MapKind::Dma => "[dma]",
            MapKind::IpcBuffer => "[ipcbuf]",
            MapKind::File => "[file]",
            MapKind::PageCache => "[pagecache]",
        }
    }
}

/// One line of `/proc/<pid>/maps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct MapEntry {
    pub start: u64,
    pub end: u64,
    /// `PROT_*` bits.
    pub prot: u8,
    /// Shared with other processes (`s`) rather than private (`p`).
    pub shared: bool,
    /// The file offset (an image segment's offset in its file).
    pub offset: u64,
    pub kind: MapKind,
}

impl core::fmt::Display for MapEntry {
    /// The line as Linux prints it: `start-end perms offset dev inode
    /// name`, without the newline (no files yet: device 00:00, inode 0).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let bit = |b: u8, c: char| if self.prot & b != 0 { c } else { '-' };
        write!(
            f,
            "{:08x}-{:08x} {}{}{}{} {:08x} 00:00 0",
            self.start,
            self.end,
            bit(PROT_READ, 'r'),
            bit(PROT_WRITE, 'w'),
            bit(PROT_EXEC, 'x'),
            if self.shared { 's' } else { 'p' },
            self.offset
        )?;
        let name = self.kind.name();
        if name.is_empty() {
            Ok(())
        } else {
            write!(f, "{:>width$}{name}", "", width = 10)
        }
    }
}

/// The memory fields of `/proc/<pid>/status`, in KiB as Linux prints
/// them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct MemStatus {
    pub vm_size: u64,
    pub vm_rss: u64,
    pub rss_anon: u64,
    pub rss_shmem: u64,
    /// Data, heap and anonymous mappings (private, writable, not stack).
    pub vm_data: u64,
    pub vm_stk: u64,
    /// Executable image segments.
    pub vm_exe: u64,
    /// Page tables: an estimate from the resident pages (one 4 KiB table
    /// per 512 pages, at least one per level in use).
    pub vm_pte: u64,
    /// DMA memory pinned for it (not a Linux field).
    pub vm_pin: u64,
}

impl core::fmt::Display for MemStatus {
    /// The lines, as in `/proc/<pid>/status` (each ending in a newline).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let fields = [
            ("VmSize", self.vm_size),
            ("VmRSS", self.vm_rss),
            ("RssAnon", self.rss_anon),
            ("RssShmem", self.rss_shmem),
            ("VmData", self.vm_data),
            ("VmStk", self.vm_stk),
            ("VmExe", self.vm_exe),
            ("VmPTE", self.vm_pte),
            ("VmPin", self.vm_pin),
        ];
        for (name, kib) in fields {
            writeln!(f, "{name}:\t{kib:>8} kB")?;
        }
        Ok(())
    }
}

/// One process's memory, as `mm` sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct ProcessStats {
    /// Pages its areas span (Linux's `VmSize` / 4 KiB).
    pub virtual_pages: u64,
    /// Pages mapped now (`VmRSS` / 4 KiB).
    pub resident_pages: u64,
    /// Of those, pages that another mapping shares (copy-on-write or
    /// shared).
    pub shared_pages: u64,
    pub areas: u32,
    /// Page faults `mm` served for it.
    pub faults: u64,
    /// Copy-on-write faults that copied a page.
    pub cow_copies: u64,
    /// The break.
    pub brk: u64,
    /// DMA pages charged to it, and its allowance.
    pub dma_pages: u64,
    pub dma_limit: u64,
}

/// The whole system's memory: the fields of Linux's `/proc/meminfo` that
/// apply, and `/proc/buddyinfo`'s free blocks per order and zone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct SystemStats {
    /// `MemTotal`, in pages: all the memory `mm` manages.
    pub total_pages: u64,
    /// `MemFree`.
    pub free_pages: u64,
    /// `AnonPages`: pages mapped for processes.
    pub anon_pages: u64,
    /// `Shmem`: pages mapped in more than one place.
    pub shared_pages: u64,
    /// The processes `mm` manages (pages for).
    pub processes: u32,
    /// Free blocks per zone and order.
    pub buddy: [[u32; ORDERS]; ZONES],
    /// Pages present per zone.
    pub zone_pages: [u64; ZONES],
    /// `DmaPinned`: pages of DMA memory (held or mapped).
    pub dma_pinned_pages: u64,
    /// Free pages per zone, and its `min`/`low`/`high` watermarks.
    pub zone_free: [u64; ZONES],
    pub watermarks: [[u64; 3]; ZONES],
    /// Shrinkers registered, and pages they gave back in all.
    pub shrinkers: u32,
    pub reclaimed_pages: u64,
    /// Allocations refused for want of memory (after reclaim).
    pub alloc_failures: u64,
    /// Pages `mm`'s own heap took from its buddy allocator (beyond the
    /// region it started with): its records' growth.
    pub mm_heap_pages: u64,
}

/// The most caches a `SlabInfo` reply lists.
pub const CACHES_MAX: usize = 16;

/// One slab cache's figures: a line of `/proc/slabinfo` (see
/// `kmem::SlabInfo` for what each column means).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct CacheInfo {
    pub name: heapless::String<20>,
    pub active_objs: u32,
    pub num_objs: u32,
    pub objsize: u32,
    pub objperslab: u32,
    pub pagesperslab: u32,
    pub limit: u32,
    pub batchcount: u32,
    pub active_slabs: u32,
    pub num_slabs: u32,
}

impl core::fmt::Display for CacheInfo {
    /// The `/proc/slabinfo` line (version 2.1), without the newline.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let wide = |n: u32| n as usize;
        let line = kmem::SlabInfo {
            name: "",
            active_objs: wide(self.active_objs),
            num_objs: wide(self.num_objs),
            objsize: wide(self.objsize),
            objperslab: self.objperslab,
            pagesperslab: self.pagesperslab,
            limit: self.limit,
            batchcount: self.batchcount,
            sharedfactor: 0,
            active_slabs: wide(self.active_slabs),
            num_slabs: wide(self.num_slabs),
            sharedavail: 0,
            slabs_full: 0,
            slabs_partial: 0,
            slabs_empty: 0,
            in_magazine: 0,
        };
        line.write_line(self.name.as_str(), f)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Brk(u64),
    Mapped(u64),
    Done,
    Token(u64),
    Stats(ProcessStats),
    System(SystemStats),
    Slabs(heapless::Vec<CacheInfo, CACHES_MAX>),
    Forked {
        id: u64,
    },
    /// To `Adopt`: the process's id, where its first thread starts, its
    /// stack pointer and its argument string (`rdi`, `rsi`). Carries two
    /// handles: the process's `mm` handle (SEND, badged) and its pager
    /// (SEND, badged with `PAGER_BADGE`).
    Adopted {
        id: u64,
        entry: u64,
        stack: u64,
        args_at: u64,
        args_len: u64,
    },
    /// To `Exec`: the space's id (the pid) and the new entry point.
    /// Carries two handles, as `Adopted` does: the process's `mm` handle
    /// and its pager.
    Execed {
        id: u64,
        entry: u64,
    },
    /// To `DmaAlloc`: where the block is mapped, and its physical address.
    Dma {
        at: u64,
        phys: u64,
    },
    /// To `Maps`: areas in address order; `more` if there are areas past
    /// the last one (ask again from its end).
    Maps {
        areas: heapless::Vec<MapEntry, MAPS_MAX>,
        more: bool,
    },
    Status(MemStatus),
    /// To `RegisterShrinker`: its id.
    Shrinker {
        id: u32,
    },
    /// To `ShrinkerScan`: pages to give back.
    Scan(u64),
    /// To `Give`: the pages now managed.
    Given {
        pages: u64,
    },
    /// To `FilePages`: faults waiting for pages; `more` if others wait
    /// beyond these.
    FileWants {
        wants: heapless::Vec<FileWant, FILE_BATCH>,
        more: bool,
    },
    /// To `FileForget`: whether a mapping had written the page.
    Forgot {
        dirty: bool,
    },
    /// To `FileDirty`: (file, page index) written through mappings;
    /// `more` if there are others (ask again).
    Dirty {
        pages: heapless::Vec<(u64, u64), FILE_BATCH>,
        more: bool,
    },
    /// To `Msync`: the files of the shared mappings in the range.
    Files(heapless::Vec<u64, MSYNC_FILES>),
    Error(MmError),
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

impl core::fmt::Display for MmError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            MmError::NoMemory => "out of memory",
            MmError::InvalidArgument => "invalid argument",
            MmError::Overlap => "overlaps a mapping",
            MmError::NotMapped => "not mapped",
            MmError::NotAllowed => "not allowed",
            MmError::BadToken => "no such share token",
            MmError::BadImage => "not a loadable program",
            MmError::NoSpace => "no free address range that large",
            MmError::OverLimit => "over the process's allowance",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{decode, encode};

    #[test]
    fn every_message_round_trips() {
        let mut buffer = [0u8; 4096];
        let requests = [
            Request::Brk { end: Some(0x1000) },
            Request::Brk { end: None },
            Request::Mmap {
                at: None,
                pages: 3,
                prot: PROT_READ | PROT_WRITE,
                populate: true,
            },
            Request::Munmap {
                at: 0x4000,
                pages: 1,
            },
            Request::Mprotect {
                at: 0x4000,
                pages: 2,
                prot: PROT_READ,
            },
            Request::Share {
                at: 0x4000,
                pages: 2,
                writable: true,
            },
            Request::Accept {
                token: u64::MAX,
                at: Some(0x8000),
            },
            Request::MapPhysical {
                phys: 0xfee0_0000,
                pages: 1,
                at: None,
                writable: true,
            },
            Request::Stats,
            Request::SystemStats,
            Request::SlabInfo,
            Request::ForkAs,
            Request::Exec {
                image_size: 70_000,
                stack_len: 8192,
            },
            Request::Adopt {
                id: 3,
                image_size: 70_000,
                args: "@ns=3 hello".try_into().unwrap(),
            },
            Request::Give,
            Request::GiveDevice { id: 4 },
            Request::Exit { id: 7 },
            Request::RegisterPageCache {
                pages: 4096,
                bit: 3,
            },
            Request::MapFile {
                pid: 9,
                at: None,
                pages: 2,
                prot: PROT_READ,
                max_prot: PROT_READ | PROT_WRITE,
                shared: true,
                file: 77,
                index: 1,
            },
            Request::FilePages {
                answers: (0..FILE_BATCH as u64)
                    .map(|t| FileAnswer {
                        token: t,
                        slot: (t % 2 == 0).then_some(u64::MAX),
                    })
                    .collect(),
            },
            Request::FileForget { slot: 3 },
            Request::FileDirty { file: Some(77) },
            Request::Msync {
                at: 0x1000,
                pages: 1,
            },
            Request::MapRegion {
                at: None,
                writable: true,
            },
        ];
        for request in requests {
            let n = encode(&request, &mut buffer).unwrap();
            assert_eq!(decode::<Request>(&buffer[..n]), Ok(request));
        }
        let mut system = SystemStats {
            total_pages: 9,
            ..SystemStats::default()
        };
        system.buddy[2][10] = 44;
        let replies = [
            Reply::Brk(0x2000),
            Reply::Mapped(0x7000),
            Reply::Done,
            Reply::Token(5),
            Reply::Stats(ProcessStats {
                resident_pages: 3,
                ..ProcessStats::default()
            }),
            Reply::System(system),
            Reply::Forked { id: 4 },
            Reply::Adopted {
                id: 2,
                entry: 0x40_1000,
                stack: 0x7fff_0000,
                args_at: 0x7fff_0100,
                args_len: 11,
            },
            Reply::Given { pages: 1 << 20 },
            Reply::FileWants {
                wants: (0..FILE_BATCH as u64)
                    .map(|t| FileWant {
                        token: t,
                        file: u64::MAX,
                        index: u64::MAX,
                    })
                    .collect(),
                more: true,
            },
            Reply::Forgot { dirty: true },
            Reply::Dirty {
                pages: (0..FILE_BATCH as u64).map(|i| (u64::MAX, i)).collect(),
                more: false,
            },
            Reply::Files((0..MSYNC_FILES as u64).collect()),
            Reply::Error(MmError::NoSpace),
        ];
        for reply in replies {
            let n = encode(&reply, &mut buffer).unwrap();
            assert_eq!(decode::<Reply>(&buffer[..n]), Ok(reply));
        }
    }

    #[test]
    fn a_cache_prints_as_its_slabinfo_line_and_a_full_list_fits() {
        let cache = CacheInfo {
            name: "kmalloc-64".try_into().unwrap(),
            active_objs: 3,
            num_objs: 64,
            objsize: 64,
            objperslab: 64,
            pagesperslab: 1,
            limit: 32,
            batchcount: 16,
            active_slabs: 1,
            num_slabs: 1,
        };
        assert_eq!(
            alloc::format!("{cache}"),
            "kmalloc-64             3     64     64   64    1 : tunables   32   16    0 : slabdata      1      1      0"
        );
        let full = Reply::Slabs((0..CACHES_MAX).map(|_| cache.clone()).collect());
        let mut buffer = [0u8; 4096];
        let n = encode(&full, &mut buffer).unwrap();
        assert_eq!(decode::<Reply>(&buffer[..n]), Ok(full));
    }

    #[test]
    fn bad_bytes_are_errors() {
        assert!(decode::<Request>(&[]).is_err());
        assert!(decode::<Request>(&[200]).is_err(), "no such variant");
        assert!(decode::<Request>(&[1, 1]).is_err(), "truncated");
        // Args claiming more than ARGS_MAX bytes.
        let mut bytes = vec![11u8, 1, 1, 0x81, 0x08];
        bytes.extend(vec![b'a'; 1025]);
        assert!(decode::<Request>(&bytes).is_err());
    }
}
