//! The memory server, from a managed process's side (run by `init` from the
//! test manifest, after `mm` is up):
//!
//! - demand paging: a large `mmap` costs nothing until touched; touching it
//!   page by page grows the resident count by one a page (the kernel's own
//!   count of mapped pages agrees), `munmap` gives every page back;
//! - `brk` grows and shrinks the heap area;
//! - copy-on-write: after `fork_as`, parent and child see their own writes,
//!   and the frames are shared until one writes;
//! - a shared range (`share`/`accept`) is seen by both sides;
//! - `mprotect` to read-only, then a write: the child is killed; a touch
//!   above the break: killed;
//! - `populate` until `NoMemory`, then recovery; a demand-paged child that
//!   runs the system out of memory is killed and the system stays up;
//! - bad arguments get errors, never a crash of `mm`;
//! - DMA memory (`dma_alloc_coherent`): below the limit asked, aligned,
//!   zeroed, writable, counted in `DmaPinned` and the process's charge;
//!   past the allowance, bad counts, a double free: typed errors; a
//!   child's block is freed when it exits;
//! - pages the manifest gives it (`memory=`) map into it alongside what
//!   `mm` pages;
//! - at the end every page is back: the free count is where it started.
//!
//! Children are copies of this process made with `fork_as`, running one
//! of the `child_*` functions below on a stack mapped before the fork.
#![no_std]
#![no_main]
// A test (or benchmark) of raw memory and the raw ABI, fenced: `unsafe` is
// denied here and allowed only on the items that say why (each block has
// its SAFETY comment). Listed in docs/architecture.md, "`unsafe` stays in
// `libsys`".
#![deny(unsafe_code)]

use core::sync::atomic::{AtomicU64, Ordering};

use libsys::abi::ipc::FOREVER;
use libsys::abi::{Handle, ProcessStatus, Protection, Rights, Syscall};
use libsys::format_text;
use libsys::handle::{Endpoint, Process};
use libsys::mm::{self, Error};
use libsys::proto::mm::{MmError, ProcessStats, SystemStats};
use libsys::syscall::call6;
use userland::Tally;

libsys::entry!(main);

type Why = libsys::rt::TextBuf<256>;

const RW: Protection = Protection::READ.union(Protection::WRITE);

/// Pages of the stack fork children run on (mapped before each fork).
const CHILD_STACK_PAGES: u64 = 16;

/// A global the copy-on-write test writes on both sides.
static SHARED_GLOBAL: AtomicU64 = AtomicU64::new(0);

fn main(args: &str) -> u64 {
    let mut t = Tally::new();
    // `pages=<n>`: how many pages the many-pages test makes resident.
    let many = args
        .split_whitespace()
        .find_map(|word| word.strip_prefix("pages="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(MANY_PAGES);
    let (start, mine) = match snapshot() {
        Ok(both) => both,
        Err(e) => {
            t.check("mm: reachable", Err(format_args!("{e}")));
            return t.status();
        }
    };
    libsys::println!(
        "mmtest: mm manages {} pages, {} free; {} processes",
        start.total_pages,
        start.free_pages,
        start.processes
    );
    t.record(
        "mm: demand paging of a 1024-page mmap; munmap gives it back",
        demand_paging(),
    );
    t.record("mm: brk grows and shrinks the heap area", brk());
    t.record(
        "mm: mmap/munmap/mprotect refuse bad arguments",
        bad_arguments(),
    );
    t.record(
        "mm: copy-on-write after fork_as: each side sees its own writes",
        copy_on_write(),
    );
    t.record(
        "mm: a shared range is seen by both processes",
        shared_range(),
    );
    t.record(
        "mm: a write after mprotect read-only kills the child",
        forbidden_write(),
    );
    t.record("mm: a touch above the break kills the child", above_break());
    t.record(
        "mm: a system call's buffer in untouched or copy-on-write memory is faulted in; a bad one is BadAddress, not a kill",
        syscall_buffers(),
    );
    t.record(
        "mm: pages given by the manifest (memory=) map into the process",
        memory_gift(),
    );
    t.record(
        "mm: device memory init allowed (the HPET) maps read-only; other ranges are refused",
        device_memory(),
    );
    t.record(
        "mm: DMA memory: contiguous below its limit, zeroed, writable, pinned and charged; over the allowance refused; freed by exit",
        dma_memory(),
    );
    t.record(
        "mm: many resident pages, then a fork: mm's heap grows from its buddy and gives back",
        many_pages(many),
    );
    t.record(
        "mm: populate until NoMemory, then recover",
        populate_until_no_memory(),
    );
    t.record(
        "mm: a child that exhausts memory is killed; the system stays up",
        exhaust(),
    );
    // Free pages plus this process's own (its stack and heap may have
    // grown meanwhile) must be where they were.
    let end = snapshot();
    t.record(
        "mm: every page is back when the test processes are gone",
        match end {
            Ok((end, now))
                if end.free_pages + now.resident_pages + end.mm_heap_pages
                    == start.free_pages + mine.resident_pages + start.mm_heap_pages =>
            {
                Ok(())
            }
            Ok((end, now)) => Err(format_text!(
                "free + ours + mm's heap: {} + {} + {} at the start, {} + {} + {} at the end",
                start.free_pages,
                mine.resident_pages,
                start.mm_heap_pages,
                end.free_pages,
                now.resident_pages,
                end.mm_heap_pages
            )),
            Err(e) => Err(format_text!("stats: {e}")),
        },
    );
    t.status()
}

trait Step<T> {
    fn step(self, what: &str) -> Result<T, Why>;
}

impl<T, E: core::fmt::Display> Step<T> for Result<T, E> {
    fn step(self, what: &str) -> Result<T, Why> {
        self.map_err(|e| format_text!("{what}: {e}"))
    }
}

macro_rules! ensure {
    ($cond:expr, $($why:tt)*) => {
        if !$cond {
            return Err(format_text!($($why)*));
        }
    };
}

/// The manifest gives this test `memory=` pages (`@mem`): a program that
/// builds processes itself (the bench) maps them into itself, which needs
/// MAP on its own process handle even though `mm` pages its heap.
// `unsafe` here: reads the pages mm mapped at a raw address.
#[allow(unsafe_code)]
fn memory_gift() -> Result<(), Why> {
    let (region, pages) = libsys::env::memory_region().ok_or(format_text!("no @mem given"))?;
    let me = libsys::env::self_process().ok_or(format_text!("no @self given"))?;
    ensure!(pages >= 2, "{pages} pages given");
    let mut memory = libsys::mem::Memory::new(me, region, pages);
    let (run, at) = memory.alloc_mapped(2).step("map two pages of @mem")?;
    // SAFETY: the two pages just mapped read-write.
    let seen = unsafe {
        (at as *mut u64).write_volatile(0x6d656d);
        ((at + 4096) as *mut u64).write_volatile(7);
        (at as *const u64).read_volatile()
    };
    ensure!(seen == 0x6d656d, "read back {seen:#x}");
    memory.unmap_self(at, 2).step("unmap")?;
    memory.free(run);
    Ok(())
}

/// The system's and this process's figures, taken with no page fault of
/// ours in between: a fault between the two requests (a new stack page, say)
/// would move a page from the free count to ours and count it twice.
fn snapshot() -> Result<(SystemStats, ProcessStats), Error> {
    loop {
        let before = mm::stats()?;
        let system = mm::system_stats()?;
        let after = mm::stats()?;
        if before.resident_pages == after.resident_pages {
            return Ok((system, after));
        }
    }
}

/// The manifest allows this test the HPET's page (`device=0xfed00000:1`).
// `unsafe` here: reads a device register page mapped at a raw address.
#[allow(unsafe_code)]
fn device_memory() -> Result<(), Why> {
    const HPET: u64 = 0xfed0_0000;
    let at = mm::map_physical(HPET, 1, None, false).step("map_physical(HPET)")?;
    // SAFETY: the HPET's registers, just mapped read-only; the capabilities
    // register (offset 0) is read-only.
    let caps = unsafe { (at as *const u64).read_volatile() };
    ensure!(
        (caps >> 16) & 0xffff == 0x8086 && caps >> 32 != 0,
        "HPET capabilities read {caps:#x}"
    );
    // A write to the read-only mapping would kill us; mprotect may not
    // raise it either.
    let raise = mm::mprotect(at, 1, RW);
    ensure!(
        matches!(raise, Err(Error::Mm(MmError::NotAllowed))),
        "mprotect of a read-only device mapping: {raise:?}"
    );
    for (phys, pages, why) in [
        (HPET + 4096, 1, "the next page"),
        (HPET, 2, "one page too many"),
        (0xfee0_0000, 1, "the local APIC"),
    ] {
        let got = mm::map_physical(phys, pages, None, true);
        ensure!(
            matches!(got, Err(Error::Mm(MmError::NotAllowed))),
            "{why}: {got:?}"
        );
    }
    let bad = mm::map_physical(HPET + 8, 1, None, true);
    ensure!(
        matches!(bad, Err(Error::Mm(MmError::InvalidArgument))),
        "an unaligned address: {bad:?}"
    );
    mm::munmap(at, 1).step("munmap")?;
    Ok(())
}

/// A page-aligned buffer in `.bss`: the copy-on-write target of
/// [`syscall_buffers`].
#[repr(C, align(4096))]
struct PageBuffer(core::cell::UnsafeCell<[u64; 512]>);
// SAFETY: only the test's one thread (or the fork child's) touches it.
// `unsafe` here: a page-aligned static buffer shared with a forked child.
#[allow(unsafe_code)]
unsafe impl Sync for PageBuffer {}
static COW_BUFFER: PageBuffer = PageBuffer(core::cell::UnsafeCell::new([0; 512]));

/// `clock(out)`: the kernel writes a `ClockInfo` at `out`.
fn clock_into(out: u64) -> Result<(), libsys::abi::SysError> {
    call6(Syscall::Clock, [out, 0, 0, 0, 0, 0]).map(|_| ())
}

// `unsafe` here: the forked child writes the copy-on-write buffer.
#[allow(unsafe_code)]
extern "C" fn child_syscall_into_cow(marker: u64, mm_handle: u64) -> ! {
    child_setup(mm_handle);
    let buffer = COW_BUFFER.0.get() as u64;
    // The page is the parent's too, read-only here: the kernel's write
    // needs mm to copy it first.
    let done = clock_into(buffer).is_ok();
    // SAFETY: our copy of the buffer, just written by the kernel.
    let hz = unsafe { (*COW_BUFFER.0.get())[1] };
    exit(if done && hz > 0 && hz != marker { 0 } else { 1 })
}

/// The kernel writes into user memory for a system call: memory `mm` has
/// not mapped yet is faulted in (the call runs again), a copy-on-write
/// page is copied, and memory no area allows is `BadAddress` while the
/// process lives on.
// `unsafe` here: a system call writing into a copy-on-write page.
#[allow(unsafe_code)]
fn syscall_buffers() -> Result<(), Why> {
    let before = mm::stats().step("stats")?.resident_pages;
    let fresh = mm::mmap(None, 1, RW, false).step("mmap")?;
    clock_into(fresh).step("clock into an untouched page")?;
    // SAFETY: the page just mapped (and filled by the kernel).
    let hz = unsafe { (fresh as *const u64).add(1).read_volatile() };
    ensure!(hz > 0, "clock wrote hz {hz}");
    let after = mm::stats().step("stats")?.resident_pages;
    ensure!(
        after > before,
        "resident {before} -> {after}: not faulted in"
    );
    mm::mprotect(fresh, 1, Protection::READ).step("mprotect")?;
    let read_only = clock_into(fresh);
    ensure!(
        read_only == Err(libsys::abi::SysError::BadAddress),
        "clock into a read-only page: {read_only:?}"
    );
    mm::munmap(fresh, 1).step("munmap")?;
    let nowhere = clock_into(fresh);
    ensure!(
        nowhere == Err(libsys::abi::SysError::BadAddress),
        "clock into no area: {nowhere:?}"
    );
    // Copy-on-write: the parent's page, shared with a fork child.
    const MARKER: u64 = 0x6d61726b;
    // SAFETY: this thread alone touches the buffer now.
    unsafe { (*COW_BUFFER.0.get())[1] = MARKER };
    let status = Fork::start(child_syscall_into_cow, MARKER)?.wait()?;
    ensure!(
        status == ProcessStatus::Exited(0),
        "the child's clock into a copy-on-write page ended {status:?}"
    );
    // SAFETY: as above.
    let mine = unsafe { (*COW_BUFFER.0.get())[1] };
    ensure!(mine == MARKER, "the parent's copy changed to {mine:#x}");
    Ok(())
}

/// The kernel's count of pages mapped in this process.
fn kernel_mapped() -> u64 {
    let me = libsys::env::self_process().unwrap_or(Handle(0));
    let mut info = libsys::abi::ProcessInfo::default();
    let _ = call6(
        Syscall::ProcessInfo,
        [u64::from(me.0), &mut info as *mut _ as u64, 0, 0, 0, 0],
    );
    info.mapped_pages
}

// `unsafe` here: writes a raw address mm maps on demand.
#[allow(unsafe_code)]
fn touch(address: u64, value: u64) {
    // SAFETY: an address inside a mapping of ours (mm maps it on the
    // fault if it is not yet).
    unsafe { (address as *mut u64).write_volatile(value) }
}

// `unsafe` here: reads a raw address mm maps on demand.
#[allow(unsafe_code)]
fn peek(address: u64) -> u64 {
    // SAFETY: as in `touch`.
    unsafe { (address as *const u64).read_volatile() }
}

fn demand_paging() -> Result<(), Why> {
    const PAGES: u64 = 1024;
    let before = mm::stats().step("stats")?;
    let free_before = free_plus_mine()?;
    let at = mm::mmap(None, PAGES, RW, false).step("mmap")?;
    // (This process's own stack may take a page or two meanwhile: the
    // checks allow for SLACK pages.)
    const SLACK: u64 = 2;
    let mapped = mm::stats().step("stats")?;
    ensure!(
        mapped.resident_pages <= before.resident_pages + SLACK
            && mapped.virtual_pages == before.virtual_pages + PAGES,
        "after mmap: resident {} (was {}), virtual {} (was {})",
        mapped.resident_pages,
        before.resident_pages,
        mapped.virtual_pages,
        before.virtual_pages
    );
    for page in 0..PAGES {
        touch(at + page * 4096, page);
        if page % 256 == 255 {
            let now = mm::stats().step("stats")?;
            let grew = now.resident_pages - mapped.resident_pages;
            ensure!(
                (page + 1..=page + 1 + SLACK).contains(&grew),
                "after touching {} pages resident grew by {grew}",
                page + 1
            );
            let kernel = kernel_mapped();
            ensure!(
                kernel.abs_diff(now.resident_pages) <= SLACK,
                "mm says {} resident, the kernel has {kernel} mapped",
                now.resident_pages
            );
        }
    }
    for page in (0..PAGES).step_by(97) {
        ensure!(peek(at + page * 4096) == page, "page {page} lost its value");
    }
    let touched = mm::stats().step("stats")?;
    let faults = touched.faults - before.faults;
    ensure!(faults >= PAGES, "{faults} faults for {PAGES} pages");
    mm::munmap(at, PAGES).step("munmap")?;
    let after = mm::stats().step("stats")?;
    ensure!(
        after.resident_pages + PAGES <= touched.resident_pages + SLACK
            && after.resident_pages + PAGES + SLACK >= touched.resident_pages
            && after.virtual_pages == before.virtual_pages,
        "munmap: resident {} then {}, virtual {} (was {})",
        touched.resident_pages,
        after.resident_pages,
        after.virtual_pages,
        before.virtual_pages
    );
    let free_after = free_plus_mine()?;
    ensure!(
        free_after == free_before,
        "free pages {free_before} before, {free_after} after"
    );
    Ok(())
}

fn brk() -> Result<(), Why> {
    let start = mm::brk(None).step("brk query")?;
    let resident = mm::stats().step("stats")?.resident_pages;
    let grown = mm::brk(Some(start + 16 * 4096)).step("brk grow")?;
    ensure!(
        grown == start + 16 * 4096,
        "brk grew to {grown:#x} from {start:#x}"
    );
    for page in 0..16 {
        touch(start + page * 4096, 7);
    }
    let now = mm::stats().step("stats")?;
    ensure!(
        (resident + 16..=resident + 18).contains(&now.resident_pages) && now.brk == grown,
        "after touching the new heap: resident {} (was {resident}), brk {:#x}",
        now.resident_pages,
        now.brk
    );
    let back = mm::brk(Some(start)).step("brk shrink")?;
    ensure!(back == start, "brk shrank to {back:#x}");
    let after = mm::stats().step("stats")?.resident_pages;
    // Sixteen pages go; a stack page or two may come meanwhile.
    ensure!(
        after + 14 <= now.resident_pages,
        "after shrinking resident is {after}, was {} with the heap grown",
        now.resident_pages
    );
    Ok(())
}

fn bad_arguments() -> Result<(), Why> {
    let cases: [(&str, Result<u64, Error>, MmError); 6] = [
        (
            "zero pages",
            mm::mmap(None, 0, RW, false),
            MmError::InvalidArgument,
        ),
        (
            "unaligned",
            mm::mmap(Some(0x2000_0000_0123), 1, RW, false),
            MmError::InvalidArgument,
        ),
        (
            "kernel address",
            mm::mmap(Some(0xffff_8000_0000_0000), 1, RW, false),
            MmError::InvalidArgument,
        ),
        (
            "write and execute",
            mm::mmap(None, 1, RW | Protection::EXEC, false),
            MmError::InvalidArgument,
        ),
        (
            "over the heap",
            mm::mmap(Some(libsys::heap::HEAP_BASE), 1, RW, false),
            MmError::Overlap,
        ),
        (
            "2^60 pages",
            mm::mmap(None, 1 << 60, RW, false),
            MmError::InvalidArgument,
        ),
    ];
    for (what, got, want) in cases {
        match got {
            Err(Error::Mm(e)) if e == want => {}
            Err(Error::Mm(MmError::NoSpace)) if what == "2^60 pages" => {}
            other => return Err(format_text!("{what}: {other:?}, expected {want:?}")),
        }
    }
    match mm::munmap(0x3000_0000_0000, 4) {
        Err(Error::Mm(MmError::NotMapped | MmError::InvalidArgument)) => {}
        other => return Err(format_text!("munmap of nothing: {other:?}")),
    }
    match mm::accept(0x1234_5678, None) {
        Err(Error::Mm(MmError::BadToken)) => {}
        other => return Err(format_text!("accept of a made-up token: {other:?}")),
    }
    // Garbage bytes: a decode error, and mm keeps serving.
    let ep = libsys::names::lookup("mm").step("lookup mm")?;
    let length = libsys::ipc::write_payload(&[0xff; 6]).step("write the payload")?;
    let msg = libsys::ipc::Message::new(libsys::rpc::LABEL_REQUEST).with_payload(length);
    match ep.call(&msg, FOREVER) {
        Ok(reply) if reply.label() == libsys::rpc::LABEL_BAD_REQUEST => {}
        other => return Err(format_text!("garbage: {other:?}")),
    }
    // A control request from a process that is not init.
    let request = libsys::proto::mm::Request::Exit { id: 1 };
    match libsys::rpc::call::<_, libsys::proto::mm::Reply>(&ep, &request) {
        Ok(libsys::proto::mm::Reply::Error(MmError::NotAllowed)) => {}
        other => return Err(format_text!("Exit from a client: {other:?}")),
    }
    mm::stats().step("stats after the bad requests")?;
    Ok(())
}

/// Pages the many-pages test touches unless told (`pages=`).
const MANY_PAGES: u64 = 20_000;

/// Touches `pages` pages, forks, and reports how mm's own heap grew
/// (`MmHeap`: pages it took from its buddy allocator).
fn many_pages(pages: u64) -> Result<(), Why> {
    let heap = || -> Result<u64, Why> { Ok(snapshot().step("stats")?.0.mm_heap_pages) };
    let (start, free) = (heap()?, free_plus_mine()?);
    let at = mm::mmap(None, pages, RW, false).step("mmap")?;
    let t0 = libsys::syscall::rdtsc();
    for page in 0..pages {
        touch(at + page * 4096, page);
    }
    let touched = heap()?;
    let resident = mm::stats().step("stats")?.resident_pages;
    ensure!(
        resident >= pages,
        "{resident} resident after touching {pages}"
    );
    let child = Process::create("mmtest-big").step("process_create")?;
    mm::fork_as(&child).step("fork_as of the big space")?;
    let t1 = libsys::syscall::rdtsc();
    let (system, _) = snapshot().step("stats")?;
    ensure!(
        system.shared_pages >= pages,
        "{} shared pages after the fork of {pages}",
        system.shared_pages
    );
    let forked = system.mm_heap_pages;
    child.kill().step("kill the child")?;
    ensure!(
        peek(at + (pages - 1) * 4096) == pages - 1,
        "the last page lost its value"
    );
    mm::munmap(at, pages).step("munmap")?;
    libsys::println!(
        "mmtest: {pages} resident pages then a fork: mm's heap took {start} -> {touched} -> {forked} pages from its buddy ({} KiB), {} after; {} Mcycles",
        (forked - start) * 4,
        heap()?,
        (t1 - t0) / 1_000_000
    );
    let after = free_plus_mine()?;
    ensure!(
        after == free,
        "{free} pages free or mm's before, {after} after"
    );
    Ok(())
}

/// Pinned DMA pages, system-wide and this process's.
fn pinned() -> Result<(u64, u64), Why> {
    let (system, mine) = snapshot().step("stats")?;
    Ok((system.dma_pinned_pages, mine.dma_pages))
}

fn dma_memory() -> Result<(), Why> {
    const FOUR_GIB: u64 = 1 << 32;
    let before = pinned()?;
    // 3 pages: a block of 4, as Linux's get_order rounds.
    let (at, phys) = mm::dma_alloc_coherent(3, FOUR_GIB).step("dma_alloc_coherent")?;
    ensure!(
        phys + 4 * 4096 <= FOUR_GIB && phys % (4 * 4096) == 0,
        "block at {phys:#x}: above 4 GiB or not aligned to its size"
    );
    let now = pinned()?;
    ensure!(
        now == (before.0 + 4, before.1 + 4),
        "pinned (system, mine) {before:?} then {now:?}"
    );
    for page in 0..3 {
        let address = at + page * 4096;
        ensure!(
            peek(address) == 0 && peek(address + 4088) == 0,
            "page {page} not zeroed"
        );
        touch(address, 0xd0 + page);
        ensure!(peek(address) == 0xd0 + page, "page {page} not writable");
    }
    let status = mm::status(None).step("status")?;
    ensure!(status.vm_pin == 16, "VmPin {} kB, not 16", status.vm_pin);
    // An ISA device's limit (16 MiB) too.
    let (low, low_phys) = mm::dma_alloc_coherent(1, 16 << 20).step("dma below 16 MiB")?;
    ensure!(low_phys < 16 << 20, "{low_phys:#x} is not below 16 MiB");
    mm::dma_free_coherent(low).step("dma_free_coherent")?;
    let refused = |r: Result<(u64, u64), Error>, want: MmError, what: &str| match r {
        Err(Error::Mm(e)) if e == want => Ok(()),
        other => Err(format_text!("{what}: {other:?}, not {want:?}")),
    };
    refused(
        mm::dma_alloc_coherent(1021, u64::MAX),
        MmError::OverLimit,
        "over 4 MiB",
    )?;
    refused(
        mm::dma_alloc_coherent(0, u64::MAX),
        MmError::InvalidArgument,
        "0 pages",
    )?;
    refused(
        mm::dma_alloc_coherent(1 << 40, u64::MAX),
        MmError::InvalidArgument,
        "huge",
    )?;
    refused(
        mm::dma_alloc_coherent(1, 1 << 20),
        MmError::InvalidArgument,
        "limit 1 MiB",
    )?;
    mm::dma_free_coherent(at).step("dma_free_coherent")?;
    match mm::dma_free_coherent(at) {
        Err(Error::Mm(MmError::NotMapped)) => {}
        other => return Err(format_text!("double free: {other:?}")),
    }
    ensure!(
        pinned()? == before,
        "pinned after the free: {:?}",
        pinned()?
    );
    // A child's block goes when it does.
    let status = Fork::start(child_dma, 0)?.wait()?;
    ensure!(
        status == ProcessStatus::Exited(0),
        "the child ended {status:?} (1: alloc failed, 2: not zero)"
    );
    let after = pinned()?;
    ensure!(
        after == before,
        "pinned {before:?} before the child, {after:?} after"
    );
    Ok(())
}

extern "C" fn child_dma(_: u64, mm_handle: u64) -> ! {
    child_setup(mm_handle);
    let Ok((at, _)) = mm::dma_alloc_coherent(8, u64::MAX) else {
        exit(1)
    };
    if peek(at + 7 * 4096) != 0 {
        exit(2)
    }
    touch(at, 1);
    exit(0)
}

/// A fork child: a process made with `fork_as`, running `entry(arg, mm)`
/// on a stack of its own (in the parent's copy of the address space).
struct Fork {
    process: Process,
    stack: (u64, u64),
}

impl Fork {
    /// Forks this address space and starts `entry(arg, <child's mm handle>)`
    /// in the copy.
    fn start(entry: extern "C" fn(u64, u64) -> !, arg: u64) -> Result<Fork, Why> {
        let stack = mm::mmap(None, CHILD_STACK_PAGES, RW, false).step("mmap a child stack")?;
        let process = Process::create("mmtest-child").step("process_create")?;
        let (_, client, pager) = mm::fork_as(&process).step("fork_as")?;
        let theirs = process
            .give(client.raw(), Rights::SEND)
            .step("give the child its mm handle")?;
        let thread = process.thread_create().step("thread_create")?;
        thread.set_pager(Some(&pager)).step("set_pager")?;
        let top = stack + CHILD_STACK_PAGES * 4096 - 8;
        thread
            .start(entry as *const () as u64, top, arg, u64::from(theirs.0))
            .step("thread_start")?;
        Ok(Fork {
            process,
            stack: (stack, CHILD_STACK_PAGES),
        })
    }

    /// Waits for the child to end; how it ended.
    fn wait(self) -> Result<ProcessStatus, Why> {
        for _ in 0..5000 {
            match self.process.status().step("process_status")? {
                ProcessStatus::Alive => libsys::time::sleep_ms(2),
                ended => {
                    mm::munmap(self.stack.0, self.stack.1).step("munmap the child stack")?;
                    return Ok(ended);
                }
            }
        }
        let _ = self.process.kill();
        Err(format_text!("the child did not end in 10 s"))
    }
}

/// What a fork child must do first: its own thread-local block and IPC
/// buffer (the copy of the parent's page), and its `mm` handle.
// `unsafe` here: a fork child adopts its own thread-local block.
#[allow(unsafe_code)]
fn child_setup(mm_handle: u64) {
    static LOCAL: libsys::ipc::ThreadLocal = libsys::ipc::ThreadLocal::new();
    // SAFETY: a static, this (the child's only) thread's alone.
    let _ = unsafe { libsys::ipc::adopt(&LOCAL, libsys::abi::IPC_BUFFER_ADDR) };
    mm::set_server(Handle(mm_handle as u32));
}

fn exit(status: u64) -> ! {
    libsys::syscall::exit(status)
}

extern "C" fn child_cow(expected: u64, mm_handle: u64) -> ! {
    child_setup(mm_handle);
    let seen = SHARED_GLOBAL.load(Ordering::Relaxed);
    SHARED_GLOBAL.store(2, Ordering::Relaxed);
    let after = SHARED_GLOBAL.load(Ordering::Relaxed);
    exit(if seen == expected && after == 2 { 0 } else { 1 })
}

fn copy_on_write() -> Result<(), Why> {
    SHARED_GLOBAL.store(1, Ordering::Relaxed);
    let fork = Fork::start(child_cow, 1)?;
    let status = fork.wait()?;
    ensure!(
        status == ProcessStatus::Exited(0),
        "the child ended {status:?}"
    );
    let mine = SHARED_GLOBAL.load(Ordering::Relaxed);
    ensure!(mine == 1, "the parent sees {mine} after the child wrote 2");

    // Shared until written: right after a fork, the parent's resident
    // pages are all shared; a write by the parent copies (or, as the last
    // holder, takes over) just that page.
    let before = mm::stats().step("stats")?;
    let fork = Fork::start(child_wait_for_parent, 0)?;
    let shared = mm::stats().step("stats")?;
    ensure!(
        shared.shared_pages > 0 && shared.shared_pages + 32 >= before.resident_pages,
        "after the fork {} of {} resident pages are shared",
        shared.shared_pages,
        before.resident_pages
    );
    SHARED_GLOBAL.store(3, Ordering::Relaxed);
    let wrote = mm::stats().step("stats")?;
    ensure!(
        wrote.cow_copies > shared.cow_copies && wrote.shared_pages < shared.shared_pages,
        "a write to a shared page: copies {} then {}, shared pages {} then {}",
        shared.cow_copies,
        wrote.cow_copies,
        shared.shared_pages,
        wrote.shared_pages
    );
    CHILD_GO.store(1, Ordering::Relaxed);
    // The child's copy of CHILD_GO is its own: it waits for a signal the
    // parent cannot send this way, so it is killed instead.
    let _ = fork.process.kill();
    fork.wait()?;
    ensure!(
        SHARED_GLOBAL.load(Ordering::Relaxed) == 3,
        "the parent's own write was lost"
    );
    Ok(())
}

static CHILD_GO: AtomicU64 = AtomicU64::new(0);

extern "C" fn child_wait_for_parent(_: u64, mm_handle: u64) -> ! {
    child_setup(mm_handle);
    loop {
        libsys::syscall::yield_now();
    }
}

extern "C" fn child_share(token: u64, mm_handle: u64) -> ! {
    child_setup(mm_handle);
    let Ok(at) = mm::accept(token, None) else {
        exit(1)
    };
    if peek(at) != 0xab {
        exit(2)
    }
    touch(at, 0xcd);
    match mm::accept(token, None) {
        Err(Error::Mm(MmError::BadToken)) => exit(0),
        _ => exit(3),
    }
}

fn shared_range() -> Result<(), Why> {
    let at = mm::mmap(None, 2, RW, false).step("mmap")?;
    touch(at, 0xab);
    let token = mm::share(at, 2, true).step("share")?;
    let fork = Fork::start(child_share, token)?;
    let status = fork.wait()?;
    ensure!(
        status == ProcessStatus::Exited(0),
        "the child ended {status:?} (1: accept failed, 2: wrong value, 3: the token worked twice)"
    );
    let seen = peek(at);
    ensure!(
        seen == 0xcd,
        "the parent reads {seen:#x}, not the child's 0xcd"
    );
    mm::munmap(at, 2).step("munmap")?;
    Ok(())
}

extern "C" fn child_forbidden_write(_: u64, mm_handle: u64) -> ! {
    child_setup(mm_handle);
    let Ok(at) = mm::mmap(None, 1, RW, false) else {
        exit(1)
    };
    touch(at, 1);
    if mm::mprotect(at, 1, Protection::READ).is_err() {
        exit(2)
    }
    if peek(at) != 1 {
        exit(3)
    }
    touch(at, 2);
    exit(4)
}

fn forbidden_write() -> Result<(), Why> {
    let status = Fork::start(child_forbidden_write, 0)?.wait()?;
    ensure!(
        status == ProcessStatus::Fault(14),
        "the child ended {status:?}, expected a page fault"
    );
    Ok(())
}

extern "C" fn child_above_break(_: u64, mm_handle: u64) -> ! {
    child_setup(mm_handle);
    let Ok(end) = mm::brk(None) else { exit(1) };
    touch(end + 8 * 4096, 1);
    exit(2)
}

fn above_break() -> Result<(), Why> {
    let status = Fork::start(child_above_break, 0)?.wait()?;
    ensure!(
        status == ProcessStatus::Fault(14),
        "the child ended {status:?}, expected a page fault"
    );
    Ok(())
}

extern "C" fn child_populate(_: u64, mm_handle: u64) -> ! {
    child_setup(mm_handle);
    const CHUNK: u64 = 1024;
    let mut last = 0;
    let mut chunks = 0u64;
    loop {
        match mm::mmap(None, CHUNK, RW, true) {
            Ok(at) => {
                last = at;
                chunks += 1;
            }
            Err(Error::Mm(MmError::NoMemory)) => break,
            Err(_) => exit(1),
        }
    }
    if chunks == 0 {
        exit(2)
    }
    // Recover: give one chunk back, and it can be had again.
    if mm::munmap(last, CHUNK).is_err() {
        exit(3)
    }
    match mm::mmap(None, CHUNK, RW, true) {
        Ok(_) => exit(0),
        Err(_) => exit(4),
    }
}

/// Free pages plus this process's own (plus mm's heap's): what must come back when a child
/// ends (this process's stack may grow meanwhile, and copy-on-write
/// copies of its pages replace the originals).
fn free_plus_mine() -> Result<u64, Why> {
    let (system, mine) = snapshot().step("stats")?;
    // Pages mm's own heap took from its buddy allocator are not free,
    // and come back only when its slabs shrink.
    Ok(system.free_pages + mine.resident_pages + system.mm_heap_pages)
}

fn populate_until_no_memory() -> Result<(), Why> {
    let free = free_plus_mine()?;
    let status = Fork::start(child_populate, 0)?.wait()?;
    ensure!(
        status == ProcessStatus::Exited(0),
        "the child ended {status:?} (2: no chunk at all, 3: munmap failed, 4: no recovery)"
    );
    let after = free_plus_mine()?;
    ensure!(
        after == free,
        "{free} free pages before the child, {after} after it ended"
    );
    Ok(())
}

extern "C" fn child_exhaust(_: u64, mm_handle: u64) -> ! {
    child_setup(mm_handle);
    // Reserve far more than there is, then touch until mm cannot back a
    // page: it kills us.
    let Ok(at) = mm::mmap(None, 1 << 24, RW, false) else {
        exit(1)
    };
    let mut page = 0;
    loop {
        touch(at + page * 4096, page);
        page += 1;
    }
}

fn exhaust() -> Result<(), Why> {
    let free = free_plus_mine()?;
    let status = Fork::start(child_exhaust, 0)?.wait()?;
    ensure!(
        status == ProcessStatus::Fault(14),
        "the child ended {status:?}, expected to be killed at a fault"
    );
    let after = free_plus_mine()?;
    ensure!(
        after == free,
        "{free} free pages before the child, {after} after it was killed"
    );
    // The system is up: mm still answers, and memory can be had.
    let at = mm::mmap(None, 4, RW, true).step("mmap after the exhaustion")?;
    mm::munmap(at, 4).step("munmap")?;
    let _ = Endpoint::create().step("endpoint_create")?;
    Ok(())
}
