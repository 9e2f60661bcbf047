//! The page tables the kernel starts on (4-level paging).
//!
//! They map, as base revision 3 asks:
//! - the kernel's pages at their linked addresses, each with its segment's
//!   permissions (read-only unless writable, no-execute unless executable);
//! - the higher-half direct map: physical address + HHDM offset for every
//!   usable, bootloader-reclaimable, executable-and-modules and framebuffer
//!   region, in 2 MiB pages, read/write;
//! - and, departing from the protocol only in an unobservable way, the page
//!   holding the loader's hand-off trampoline at its own (identity) address,
//!   since the instruction after `mov cr3` is fetched through the new tables.
//!
//! The tables are built while boot services still run, in loader-data
//! pages (bootloader-reclaimable memory), which UEFI identity-maps: a table's
//! physical address is also a pointer to it.

use boot_core::elf::KernelImage;
use uefi::boot::MemoryType;
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageSize, PageTable, PageTableFlags as Flags,
    PhysFrame, Size2MiB, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

use crate::files::allocate;

/// Hands out zeroed loader-data pages for page tables.
struct TableFrames;

// SAFETY: every frame returned is a fresh, zeroed, page-aligned allocation
// that nothing else uses.
unsafe impl FrameAllocator<Size4KiB> for TableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        let page = allocate(4096, MemoryType::LOADER_DATA)?;
        Some(PhysFrame::containing_address(PhysAddr::new(
            page.as_ptr() as u64
        )))
    }
}

/// What the tables must map.
pub struct Layout<'a> {
    pub hhdm: u64,
    /// Physical (start, end) ranges, 2 MiB aligned.
    pub hhdm_ranges: &'a [(u64, u64)],
    pub kernel: &'a KernelImage,
    pub kernel_phys: u64,
    /// Physical pages to map at their own address, executable.
    pub identity_pages: &'a [u64],
}

/// Builds the tables and returns the physical address of the PML4, or a
/// message saying what could not be mapped.
pub fn build(layout: &Layout) -> Result<u64, &'static str> {
    let pml4_frame = TableFrames
        .allocate_frame()
        .ok_or("out of memory for page tables")?;
    let pml4_addr = pml4_frame.start_address().as_u64();
    // SAFETY: the frame is a fresh zeroed page, identity-mapped (UEFI), so
    // it is a valid empty PageTable; nothing else refers to it.
    let pml4 = unsafe { &mut *(pml4_addr as *mut PageTable) };
    // SAFETY: physical memory is identity-mapped while boot services run,
    // which is what an offset of 0 promises.
    let mut mapper = unsafe { OffsetPageTable::new(pml4, VirtAddr::new(0)) };
    let parents = Flags::PRESENT | Flags::WRITABLE;
    let mut frames = TableFrames;

    let hhdm_flags = Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE;
    for &(start, end) in layout.hhdm_ranges {
        let mut phys = start;
        while phys < end {
            let virt = VirtAddr::try_new(layout.hhdm + phys)
                .map_err(|_| "memory beyond the HHDM's reach")?;
            let page = Page::<Size2MiB>::containing_address(virt);
            let frame = PhysFrame::<Size2MiB>::containing_address(PhysAddr::new(phys));
            // SAFETY: the new tables are not active; mapping into them cannot
            // affect memory the loader is using.
            unsafe {
                mapper.map_to_with_table_flags(page, frame, hhdm_flags, parents, &mut frames)
            }
            .map_err(|_| "cannot map the higher-half direct map")?
            .ignore();
            phys += Size2MiB::SIZE;
        }
    }

    for (virt, perms) in layout.kernel.pages() {
        let mut flags = Flags::PRESENT;
        if perms.writable {
            flags |= Flags::WRITABLE;
        }
        if !perms.executable {
            flags |= Flags::NO_EXECUTE;
        }
        let phys = layout.kernel_phys + layout.kernel.offset_of(virt);
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
        let frame = PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(phys));
        // SAFETY: as above; the frame belongs to the kernel's image.
        unsafe { mapper.map_to_with_table_flags(page, frame, flags, parents, &mut frames) }
            .map_err(|_| "cannot map the kernel")?
            .ignore();
    }

    for &phys in layout.identity_pages {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(phys));
        let frame = PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(phys));
        // SAFETY: as above; the page holds loader code that is never freed
        // before the jump.
        let result = unsafe {
            mapper.map_to_with_table_flags(page, frame, Flags::PRESENT, parents, &mut frames)
        };
        match result {
            Ok(flush) => flush.ignore(),
            // Both trampoline pages may be the same page.
            Err(x86_64::structures::paging::mapper::MapToError::PageAlreadyMapped(_)) => {}
            Err(_) => return Err("cannot map the hand-off trampoline"),
        }
    }
    Ok(pml4_addr)
}
