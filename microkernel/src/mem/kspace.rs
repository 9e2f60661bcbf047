//! The kernel's half of every address space, and the page tables that hold
//! it.
//!
//! At boot the kernel runs on the loader's page tables, which live in
//! bootloader-reclaimable memory. [`build`] makes the kernel's own:
//! - the higher-half direct map (HHDM) at the loader's offset, over every
//!   RAM entry of the memory map (and the framebuffer), with 2 MiB pages
//!   where a whole aligned 2 MiB lies in one run of RAM; never executable;
//! - the kernel image, each `PT_LOAD` segment with its own permissions
//!   (text R-X, rodata R, data RW), read from the kernel's ELF file;
//! - a page-directory-pointer table under each of the 256 kernel PML4
//!   entries, allocated up front and never freed. Every process's PML4
//!   copies these 256 entries, so a mapping the kernel adds later (heap,
//!   kernel stacks, device registers) is seen by every address space at
//!   once, without touching any process's tables.
//!
//! Regions of the kernel half (PML4 index in brackets):
//! - `0xffff_8000_0000_0000` HHDM [256..]: physical memory at +offset;
//! - [`HEAP_BASE`] [448]: the kernel heap, grown on demand (`heap.rs`);
//! - [`STACKS_BASE`] [464]: kernel stacks, each below an unmapped guard
//!   (`kstack.rs`);
//! - `0xffff_ffff_8000_0000` [511]: the kernel image.
//!
//! One lock serialises every change to the kernel's tables.

use core::sync::atomic::{AtomicU64, Ordering};
use libsys::abi::PAGE_SIZE;

use kcore::pte::{self, Owner};
use libsys::abi::Protection;
use spin::Mutex;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::mapper::{MapToError, Translate, TranslateResult};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageSize, PageTable, PageTableFlags as Flags,
    PhysFrame, Size2MiB, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};
use xmas_elf::program::Type as SegmentType;
use xmas_elf::ElfFile;

use crate::arch::bootinfo::EarlyBootInfo;
use crate::mem::frames as memory;
use limine::memory_map::EntryType;

pub const HEAP_BASE: u64 = 0xffff_e000_0000_0000;
/// The most address space the heap may grow into: 64 GiB.
pub const HEAP_LIMIT: u64 = 64 << 30;
pub const STACKS_BASE: u64 = 0xffff_e800_0000_0000;

static HHDM_OFFSET: AtomicU64 = AtomicU64::new(0);
/// Physical address of the kernel's PML4 (0 before `build`).
static KERNEL_PML4: AtomicU64 = AtomicU64::new(0);
/// Serialises changes to the kernel's tables.
static LOCK: Mutex<()> = Mutex::new(());

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    NoHhdm,
    NoKernelFile,
    OutOfMemory,
    /// The kernel's ELF file has a writable and executable segment.
    WriteAndExecute(u64),
    /// The virtual address is mapped already, or a huge page is in the way.
    Conflict(u64),
}

/// The HHDM offset: physical address `p` is mapped at `p + hhdm()`.
pub fn hhdm() -> u64 {
    HHDM_OFFSET.load(Ordering::Relaxed)
}

/// The HHDM address of physical address `phys`.
pub fn phys_to_virt<T>(phys: u64) -> *mut T {
    (hhdm() + phys) as *mut T
}

/// Physical address of the kernel's PML4, whose upper half every address
/// space shares.
pub fn kernel_pml4() -> u64 {
    KERNEL_PML4.load(Ordering::Relaxed)
}

/// Copies `length` bytes (at most a page) from physical address `from` to
/// physical address `to`, through the HHDM: `rep movsq` for the whole
/// words, `rep movsb` for the rest. (A string instruction's repetitions
/// each count as one instruction under QEMU's `-icount`, so eight bytes a
/// step is what keeps a 4 KiB IPC payload at 512 of them.)
///
/// # Safety
/// Both ranges must be RAM (or device memory) the HHDM maps, inside one
/// page each, and not in use by anything that could race (one CPU,
/// interrupts off).
pub unsafe fn copy_physical(from: u64, to: u64, length: usize) {
    crate::meter_span!(Copy, CopyEnter, CopyLeave, length);
    crate::meter_count!(BytesCopied, length);
    // SAFETY: per the contract; rep movsb with DF clear (the ABI and the
    // syscall mask keep it clear) copies forward.
    unsafe {
        core::arch::asm!(
            "rep movsq",
            "mov rcx, {tail}",
            "rep movsb",
            tail = in(reg) length % 8,
            inout("rsi") phys_to_virt::<u8>(from) => _,
            inout("rdi") phys_to_virt::<u8>(to) => _,
            inout("rcx") length / 8 => _,
            options(nostack, preserves_flags),
        )
    };
}

/// Page-table pages from the frame allocator, zeroed.
pub struct TableFrames;

// SAFETY: each frame comes from the frame allocator (so it is unused RAM)
// and is zeroed before it is returned.
unsafe impl FrameAllocator<Size4KiB> for TableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        let frame = memory::alloc_zeroed_frame().ok()?;
        Some(PhysFrame::containing_address(PhysAddr::new(frame)))
    }
}

/// A mapper over the page tables rooted at physical address `pml4`.
///
/// # Safety
/// `pml4` must be a page-table root whose tables are all RAM the HHDM maps,
/// and the caller must hold whatever lock serialises changes to it.
pub unsafe fn mapper_for(pml4: u64) -> OffsetPageTable<'static> {
    // SAFETY: per the contract, the root is a page table mapped at
    // hhdm + pml4, and no one else changes it meanwhile.
    unsafe {
        let table = &mut *phys_to_virt::<PageTable>(pml4);
        OffsetPageTable::new(table, VirtAddr::new(hhdm()))
    }
}

fn ram_like(kind: EntryType) -> bool {
    [
        EntryType::USABLE,
        EntryType::BOOTLOADER_RECLAIMABLE,
        EntryType::EXECUTABLE_AND_MODULES,
        EntryType::ACPI_RECLAIMABLE,
        EntryType::ACPI_NVS,
    ]
    .contains(&kind)
}

/// Maps `[start, end)` of physical memory at its HHDM address with 2 MiB
/// pages where they fit and 4 KiB pages at the edges.
fn map_direct(
    mapper: &mut OffsetPageTable,
    start: u64,
    end: u64,
    flags: Flags,
) -> Result<(), MapError> {
    let mut frames = TableFrames;
    let table = pte::table_flags(Owner::Kernel);
    let mut phys = start & !0xfff;
    let end = end.div_ceil(PAGE_SIZE) * PAGE_SIZE;
    while phys < end {
        let virt = VirtAddr::new(hhdm() + phys);
        let result = if phys.is_multiple_of(Size2MiB::SIZE) && phys + Size2MiB::SIZE <= end {
            let page = Page::<Size2MiB>::containing_address(virt);
            let frame = PhysFrame::<Size2MiB>::containing_address(PhysAddr::new(phys));
            // SAFETY: a fresh mapping of RAM at its HHDM address, in tables
            // no CPU uses yet.
            unsafe {
                mapper.map_to_with_table_flags(
                    page,
                    frame,
                    flags | Flags::HUGE_PAGE,
                    table,
                    &mut frames,
                )
            }
            .map(|f| {
                f.ignore();
                Size2MiB::SIZE
            })
            .map_err(|e| map_to_error(e, virt))
        } else {
            let page = Page::<Size4KiB>::containing_address(virt);
            let frame = PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(phys));
            // SAFETY: as above.
            unsafe { mapper.map_to_with_table_flags(page, frame, flags, table, &mut frames) }
                .map(|f| {
                    f.ignore();
                    Size4KiB::SIZE
                })
                .map_err(|e| map_to_error(e, virt))
        };
        phys += result?;
    }
    Ok(())
}

fn map_to_error<S: PageSize>(error: MapToError<S>, virt: VirtAddr) -> MapError {
    match error {
        MapToError::FrameAllocationFailed => MapError::OutOfMemory,
        _ => MapError::Conflict(virt.as_u64()),
    }
}

/// Builds the kernel's page tables (see the module documentation) and
/// returns the physical address of their root. Does not switch to them.
pub fn build(early: &EarlyBootInfo) -> Result<u64, MapError> {
    let hhdm_offset = early.hhdm.ok_or(MapError::NoHhdm)?;
    HHDM_OFFSET.store(hhdm_offset, Ordering::Relaxed);
    let pml4 = memory::alloc_zeroed_frame().map_err(|_| MapError::OutOfMemory)?;
    // SAFETY: a fresh, zeroed root that no CPU uses yet.
    let mut mapper = unsafe { mapper_for(pml4) };

    // The direct map: runs of adjacent RAM entries, then the framebuffer.
    let ram = pte::leaf_flags(Protection::READ | Protection::WRITE, Owner::Kernel)
        .map_err(|_| MapError::Conflict(0))?;
    let mut run: Option<(u64, u64)> = None;
    for entry in early.memory_entries() {
        if entry.entry_type == EntryType::FRAMEBUFFER {
            map_direct(
                &mut mapper,
                entry.base,
                entry.end(),
                ram | Flags::WRITE_THROUGH,
            )?;
            continue;
        }
        if !ram_like(entry.entry_type) {
            continue;
        }
        run = match run {
            Some((start, end)) if end == entry.base => Some((start, entry.end())),
            Some((start, end)) => {
                map_direct(&mut mapper, start, end, ram)?;
                Some((entry.base, entry.end()))
            }
            None => Some((entry.base, entry.end())),
        };
    }
    if let Some((start, end)) = run {
        map_direct(&mut mapper, start, end, ram)?;
    }

    map_kernel_image(&mut mapper, early)?;

    // Every kernel PML4 entry gets its table now, so that process address
    // spaces can share them by copying the root's upper half once.
    // SAFETY: the root is ours (see above); entries 256..512 are the
    // kernel half.
    let root = unsafe { &mut *phys_to_virt::<PageTable>(pml4) };
    for entry in root.iter_mut().skip(256) {
        if entry.is_unused() {
            let table = memory::alloc_zeroed_frame().map_err(|_| MapError::OutOfMemory)?;
            entry.set_addr(PhysAddr::new(table), pte::table_flags(Owner::Kernel));
        }
    }
    KERNEL_PML4.store(pml4, Ordering::Relaxed);
    Ok(pml4)
}

/// Maps each `PT_LOAD` segment of the kernel at its link address, with the
/// permissions its program header gives.
fn map_kernel_image(mapper: &mut OffsetPageTable, early: &EarlyBootInfo) -> Result<(), MapError> {
    let file = early.kernel_file.ok_or(MapError::NoKernelFile)?;
    let (phys_base, virt_base) = early.kernel_address.ok_or(MapError::NoKernelFile)?;
    // SAFETY: the response promises `size` readable bytes at `addr`.
    let bytes = unsafe { core::slice::from_raw_parts(file.addr(), file.size() as usize) };
    let elf = ElfFile::new(bytes).map_err(|_| MapError::NoKernelFile)?;
    let mut frames = TableFrames;
    for segment in elf.program_iter() {
        if segment.get_type() != Ok(SegmentType::Load) {
            continue;
        }
        let mut prot = Protection::READ;
        if segment.flags().is_write() {
            prot |= Protection::WRITE;
        }
        if segment.flags().is_execute() {
            prot |= Protection::EXEC;
        }
        let first = segment.virtual_addr() & !0xfff;
        let flags =
            pte::leaf_flags(prot, Owner::Kernel).map_err(|_| MapError::WriteAndExecute(first))?;
        let end = (segment.virtual_addr() + segment.mem_size()).div_ceil(PAGE_SIZE) * PAGE_SIZE;
        for virt in (first..end).step_by(PAGE_SIZE as usize) {
            let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
            let phys = phys_base + (virt - virt_base);
            let frame = PhysFrame::containing_address(PhysAddr::new(phys));
            // SAFETY: the loader placed the kernel contiguously at
            // phys_base; this maps it where it was linked, in tables no CPU
            // uses yet.
            unsafe {
                mapper
                    .map_to_with_table_flags(
                        page,
                        frame,
                        flags,
                        pte::table_flags(Owner::Kernel),
                        &mut frames,
                    )
                    .map_err(|_| MapError::Conflict(virt))?
                    .ignore()
            };
        }
    }
    Ok(())
}

/// Switches this CPU to the kernel's page tables.
///
/// # Safety
/// [`build`] must have succeeded, and everything the kernel uses from here
/// on (its stack, the data it reads) must be mapped by them: the kernel
/// image and the HHDM are.
pub unsafe fn activate() {
    let frame = PhysFrame::containing_address(PhysAddr::new(kernel_pml4()));
    // SAFETY: per the contract, the new tables map all the kernel uses.
    unsafe { Cr3::write(frame, Cr3Flags::empty()) };
}

/// How a physical range is to be mapped by [`map_physical`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Device registers: uncached, writable, never executable.
    Mmio,
    /// Firmware tables: cached, read-only, never executable.
    ReadOnly,
}

/// The device registers the kernel has mapped for itself (`(start, end)`
/// physical): never given to user space as device memory.
static DEVICES: Mutex<alloc::vec::Vec<(u64, u64)>> = Mutex::new(alloc::vec::Vec::new());

/// The physical ranges of the device registers the kernel drives.
pub fn kernel_devices() -> alloc::vec::Vec<(u64, u64)> {
    DEVICES.lock().clone()
}

/// Maps `[phys, phys + len)` at its HHDM address, the way Linux's `ioremap`
/// gives device memory a kernel address, and returns that address. Pages
/// already mapped (RAM, or a neighbour) are left as they are.
pub fn map_physical(phys: u64, len: u64, kind: Kind) -> Result<u64, MapError> {
    let _guard = LOCK.lock();
    // SAFETY: the kernel's root, under the lock.
    let mut mapper = unsafe { mapper_for(kernel_pml4()) };
    let (prot, owner) = match kind {
        Kind::Mmio => (Protection::READ | Protection::WRITE, Owner::KernelDevice),
        Kind::ReadOnly => (Protection::READ, Owner::Kernel),
    };
    let flags = pte::leaf_flags(prot, owner).map_err(|_| MapError::Conflict(phys))?;
    let first = phys & !0xfff;
    let end = (phys + len.max(1)).div_ceil(PAGE_SIZE) * PAGE_SIZE;
    if kind == Kind::Mmio {
        DEVICES.lock().push((first, end));
    }
    for page_phys in (first..end).step_by(PAGE_SIZE as usize) {
        let virt = VirtAddr::new(hhdm() + page_phys);
        if !matches!(mapper.translate(virt), TranslateResult::NotMapped) {
            continue;
        }
        let page = Page::<Size4KiB>::containing_address(virt);
        let frame = PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(page_phys));
        // SAFETY: the page was unmapped, so no reference into it exists;
        // the frame is device or firmware memory the caller names.
        let result = unsafe {
            mapper.map_to_with_table_flags(
                page,
                frame,
                flags,
                pte::table_flags(owner),
                &mut TableFrames,
            )
        };
        match result {
            Ok(flush) => flush.flush(),
            Err(MapToError::FrameAllocationFailed) => return Err(MapError::OutOfMemory),
            Err(_) => return Err(MapError::Conflict(virt.as_u64())),
        }
    }
    Ok(hhdm() + phys)
}

/// Maps `pages` fresh frames, writable and not executable, at kernel
/// address `virt` (heap growth, kernel stacks). On failure nothing stays
/// mapped.
pub fn map_fresh(virt: u64, pages: u64) -> Result<(), MapError> {
    let guard = LOCK.lock();
    // SAFETY: the kernel's root, under the lock.
    let mut mapper = unsafe { mapper_for(kernel_pml4()) };
    let flags = pte::leaf_flags(Protection::READ | Protection::WRITE, Owner::Kernel)
        .map_err(|_| MapError::Conflict(virt))?;
    for i in 0..pages {
        let addr = virt + i * PAGE_SIZE;
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(addr));
        let mapped = memory::alloc_zeroed_frame()
            .map_err(|_| MapError::OutOfMemory)
            .and_then(|phys| {
                let frame = PhysFrame::containing_address(PhysAddr::new(phys));
                // SAFETY: the address is in a kernel region whose pages are
                // handed out by one owner (heap or stack slots); the frame
                // is fresh.
                unsafe {
                    mapper.map_to_with_table_flags(
                        page,
                        frame,
                        flags,
                        pte::table_flags(Owner::Kernel),
                        &mut TableFrames,
                    )
                }
                .map(|flush| flush.flush())
                .map_err(|_| {
                    let _ = memory::free_frame(phys);
                    MapError::Conflict(addr)
                })
            });
        if let Err(e) = mapped {
            drop(guard);
            unmap_and_free(virt, i);
            return Err(e);
        }
    }
    Ok(())
}

/// Unmaps `pages` pages at kernel address `virt` and frees their frames
/// (pages that are not mapped are skipped).
pub fn unmap_and_free(virt: u64, pages: u64) {
    let _guard = LOCK.lock();
    // SAFETY: the kernel's root, under the lock.
    let mut mapper = unsafe { mapper_for(kernel_pml4()) };
    for i in 0..pages {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt + i * PAGE_SIZE));
        if let Ok((frame, flush)) = mapper.unmap(page) {
            flush.flush();
            let _ = memory::free_frame(frame.start_address().as_u64());
        }
    }
}
