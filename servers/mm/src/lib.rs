//! `mm`: the memory server's core (`docs/architecture.md`, "The memory
//! server"). It owns the RAM `init` gives it, hands it out in pages with
//! the `buddy` crate's allocator (LKD ch. 12, re-exported here), and is
//! the pager of every process `init` builds through it: it lays out their
//! address spaces, serves their page faults (demand paging,
//! copy-on-write) and their requests (`brk`, `mmap`, `munmap`,
//! `mprotect`, shared memory, device memory, fork), in the terms of LKD
//! ch. 15, "The Process Address Space".
//!
//! It is pure logic: `no_std` + `alloc`, no `unsafe`, and no system call.
//! Everything it needs from the machine (mapping a frame in a process,
//! zeroing or copying a frame, reading a boot module) goes through the
//! [`Machine`] trait it is handed, which the server binary implements
//! with system calls and the tests with a simulated machine.
//!
//! # Public API
//!
//! - [`Mm::new`]`(ram: &[(base, pages)]) -> Result<Mm, MmError>`: all the
//!   RAM, once. [`Mm::add_device`]`(phys, pages, space) -> Result<(), MmError>`:
//!   device memory one address space may map with `MapPhysical` (until
//!   it exits; `NotAllowed` over RAM).
//!   [`Mm::seed_tokens`]`(key)`: makes share tokens unpredictable.
//! - [`Mm::adopt`]`(id, image, args, m) -> Result<`[`Adopted`]`, MmError>`
//!   (`Adopt`): a new address space from an ELF image, under the id
//!   `init` chose (the badge the process's handles will carry).
//! - [`Mm::fork`]`(parent, child, m) -> Result<(), MmError>` (`ForkAs`):
//!   a copy-on-write duplicate under the id the server chose.
//! - [`Mm::fault`]`(space, addr, error, m) -> `[`FaultOutcome`]: a page
//!   fault, `Resume` or `Kill(reason)`.
//! - [`Mm::request`]`(from, Request, m) -> Reply`: every request without
//!   handles, answered by [`Mm::brk`], [`Mm::mmap`], [`Mm::munmap`],
//!   [`Mm::mprotect`], [`Mm::share`], [`Mm::accept`],
//!   [`Mm::map_physical`] (each public too), `Stats`, `SystemStats` and
//!   `Exit`.
//! - [`Mm::dma_alloc`] / [`Mm::dma_free`] / [`Mm::dma_release`]
//!   (`DmaAlloc`/`DmaFree`/`DmaRelease`, `dma.rs`): DMA memory;
//!   [`Mm::set_dma_limit`] its per-process allowance
//!   ([`DMA_LIMIT_PAGES`] by default), [`Mm::dma_pinned`].
//! - File mappings (`filemap.rs`): [`Mm::register_page_cache`],
//!   [`Mm::map_file`], [`Mm::file_pages`], [`Mm::file_forget`],
//!   [`Mm::file_dirty`], [`Mm::msync`]; a fault may answer
//!   [`FaultOutcome::Wait`], completed later ([`Mm::take_completions`],
//!   [`Mm::take_file_signal`]).
//! - [`Mm::maps`], [`Mm::mem_status`] (`Maps`, `Status`, `views.rs`):
//!   `/proc/<pid>/maps` lines and `/proc/<pid>/status` memory fields.
//! - Reclaim ([`reclaim`]): [`Mm::watermarks`], [`Mm::register_shrinker`]
//!   (`RegisterShrinker`; `ShrinkerScan`, `ShrinkerReport`),
//!   [`Mm::balance`] (whom to signal), [`Mm::below_low`].
//! - [`Mm::kernel_pages`] → [`KernelPages`]: pages for mm's own heap from
//!   the same buddy allocator (the server's heap grows through it).
//! - [`Mm::exit`]`(space, m) -> bool`: frees everything a process held;
//!   then [`Mm::take_released_image`] names images no process uses.
//! - Reading: [`Mm::free_pages`], [`Mm::total_pages`], [`Mm::stats`]
//!   (`ProcessStats`), [`Mm::system_stats`] (`SystemStats`, with the
//!   buddy allocator's free blocks per zone and order), [`Mm::manages`],
//!   [`Mm::areas`], [`Mm::mappings`], [`Mm::refcount`], and
//!   [`Mm::check`], which verifies every invariant.
//! - [`layout`]: where things go in an address space and the argument
//!   checks.
//!
//! # IPC protocol
//!
//! `libsys::proto::mm` (its module documentation has the table); how
//! each request is answered is on the method that answers it. A request
//! with garbage in it (zero pages, an unaligned or kernel address, a
//! range that overflows, unknown protection bits, W and X together) gets
//! `InvalidArgument` and changes nothing; no request panics. Beyond the
//! table: any request from a badge mm manages no space for gets
//! `NotAllowed`; `Munmap`/`Mprotect`/`Share` of the IPC buffer get
//! `NotAllowed`; `Share` gets `NoMemory` when the pages it must populate
//! do not fit; `MapPhysical` gets `InvalidArgument` for bad arguments;
//! and a request the machine fails half-way gets `NoMemory`.
//!
//! # Design (LKD ch. 15)
//!
//! - An address space (`space.rs`, Linux's `mm_struct`) is a set
//!   of [`Area`]s (`vm_area_struct`: start, end, protection, the most
//!   protection `mprotect` may give, and a kind: an image segment,
//!   anonymous, stack, heap, shared, device, IPC buffer) in a `BTreeMap`
//!   by start, and a page map (the page table mm keeps: address → frame,
//!   protection now, copy-on-write) in another. Areas are split by a
//!   partial `munmap`/`mprotect`/`Share`; they are never merged, except
//!   the heap as `brk` grows it.
//! - Each frame of RAM has a reference count (`struct page`'s `_count`,
//!   in `frames.rs`): one per page mapping it. A fork adds one per shared
//!   frame, an unmap drops one, and the frame returns to the buddy
//!   allocator exactly when its count reaches 0. A frame mapped more than
//!   once is either copy-on-write in every mapping (a fork's) or in a
//!   shared area in every mapping (`Share`/`Accept`).
//! - Demand paging: an area costs nothing until a page is touched; the
//!   fault maps a zeroed frame, or for an image segment the page's file
//!   bytes. Copy-on-write: a fork maps private frames read-only in both
//!   spaces; a write fault copies the frame, or takes it over when the
//!   other side has let go of it.
//! - The machine's page tables follow the page map: every change to the
//!   page map is one `map`/`unmap`/`protect` call per run of pages.
//!
//! Costs (n areas, r resident pages in a space, p pages of RAM): a fault
//! O(log n + log r); `mmap` O(n) to place (first fit) plus the pages
//! populated; `munmap`, `mprotect`, `brk` O(log n + areas and pages in the
//! range × log r); `Share`/`Accept`/`MapPhysical` O(pages of the range);
//! fork and exit O(r log r); `Stats` O(r); `SystemStats` O(1) (counters
//! kept up to date), [`Mm::check`] O(p + all resident pages). Memory: the
//! buddy's 12 bytes plus 4 bytes of count per page of RAM, and per
//! resident page a page-map entry.
//!
//! # Knowingly left out
//!
//! - No swapping: every frame is either free, mapped, a DMA block, or
//!   mm's own heap's. The page cache is the file server's area of
//!   frames, lent to file mappings (`filemap.rs`); an image's pages are
//!   still loaded per process (two processes running the same image do
//!   not share its text).
//! - RAM is given once, to [`Mm::new`]: the buddy allocator cannot take
//!   more later (a `Give` after the first `Adopt` is refused).
//! - No `PROT_NONE` areas, no `mremap`, no merging of
//!   adjacent areas, no huge pages, no per-process memory limits (one
//!   process may take all free RAM; a fault then kills it).
//! - mm is not restartable (`init` never restarts the pager: the address
//!   spaces it keeps die with it). Its own heap starts with the region the
//!   manifest gives (`heap=2048`), which must hold 16 bytes per page of
//!   RAM, and grows from the buddy allocator after that (the server's
//!   `heap.rs`); its records are `BTreeMap` nodes in kmem's `kmalloc`
//!   caches, not dedicated `kmem_cache_create` caches (stable Rust's
//!   collections take no allocator). A heap allocation that fails with
//!   RAM exhausted still ends mm.
//! - Reclaim is asynchronous: shrinkers are signalled below `low`, and an
//!   allocation that fails before they give memory back is `NoMemory`.
//!   User allocations stop at the `min` watermarks ([`Mm::keep_reserve`],
//!   which the server calls), leaving them to mm's own heap.
//!
//! A system call whose user buffer is not resident (or copy-on-write)
//! reaches mm as a fault with word 3 set; mm serves it like any fault (and
//! does not log a refusal: the call fails with `BadAddress`). The IPC
//! buffer is never faulted in: mm maps it at adoption and never makes it
//! copy-on-write.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub use buddy::{
    buddy as buddy_allocator, gfp, gfp_zone, zone, AllocError, BuddyAllocator, BuddyInfo,
    Corruption, FreeError, GfpFlags, InitError, PageBlock, PhysAddr, Zone, ZoneType, GFP_ATOMIC,
    GFP_DMA, GFP_DMA32, GFP_KERNEL, GFP_NOFS, GFP_NOIO, GFP_NOWAIT, GFP_USER, MAX_NR_ZONES,
    MAX_ORDER, MAX_RECLAIM_RETRIES, PAGE_SHIFT, PAGE_SIZE,
};

mod dma;
mod exec;
mod fault;
mod filemap;
mod frames;
pub mod layout;
pub mod machine;
mod mm;
mod process;
pub mod reclaim;
pub mod record;
mod request;
mod share;
mod space;
mod views;

pub use dma::DMA_LIMIT_PAGES;
pub use exec::EXEC_STACK_MAX;
pub use filemap::FILE_WAITS_MAX;
pub use frames::KernelPages;
pub use machine::{ImageId, Machine, MachineError, SpaceId};
pub use mm::{FaultOutcome, Mm};
pub use process::Adopted;
pub use space::{Area, AreaKind, Pte};
