//! Process address spaces: a PML4 per process whose lower half (entries
//! 0..256) is the process's own and whose upper half is the kernel's,
//! shared (see `kspace.rs`).
//!
//! Invariants:
//! - only user pages live in the lower half, and every leaf there carries
//!   `USER_ACCESSIBLE` and obeys W^X (flags from `kcore::pte`);
//! - a leaf whose frame the address space allocated carries the `OWNED`
//!   software bit, and that frame is freed when the page is unmapped or the
//!   address space dies; page-table pages of the lower half are always
//!   owned; the kernel half's tables are never touched from here;
//! - `frames` counts every frame owned (tables and pages), so a process's
//!   memory can be accounted and its death checked to free it all;
//! - a change to the active address space is flushed from the TLB with
//!   `invlpg`; an inactive one has no TLB entries (one CPU, CR3 reloads
//!   flush the non-global entries).

use kcore::pte::{self, Owner, ProtectionError};
use libsys::abi::Protection;
use libsys::abi::PAGE_SIZE;
use x86_64::registers::control::Cr3;
use x86_64::structures::paging::mapper::{MapToError, TranslateResult};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, Page, PageTable, PageTableFlags as Flags, PhysFrame, Size4KiB,
    Translate,
};
use x86_64::{PhysAddr, VirtAddr};

use crate::mem::frames as memory;
use crate::mem::kspace;

/// One past the highest user address (the lower canonical half): the
/// ABI's definition.
pub use libsys::abi::USER_END;
/// The frame behind this leaf belongs to the address space.
const OWNED: Flags = Flags::BIT_9;
/// The mapping may be made writable by `protect` (the region's handle had
/// WRITE when it was mapped; always set for owned pages).
const MAY_WRITE: Flags = Flags::BIT_52;
/// The mapping may be made executable by `protect`.
const MAY_EXEC: Flags = Flags::BIT_53;
/// What `protect` keeps of a page's flags: the software bits, and the
/// caching of device memory.
const KEPT: Flags = OWNED
    .union(MAY_WRITE)
    .union(MAY_EXEC)
    .union(Flags::NO_CACHE)
    .union(Flags::WRITE_THROUGH);

fn may(max: Protection) -> Flags {
    let mut flags = Flags::empty();
    if max.contains(Protection::WRITE) {
        flags |= MAY_WRITE;
    }
    if max.contains(Protection::EXEC) {
        flags |= MAY_EXEC;
    }
    flags
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsError {
    /// Not a page-aligned address in the user half (or page 0).
    NotUser(u64),
    AlreadyMapped(u64),
    NotMapped(u64),
    NoMemory,
    WriteAndExecute,
    InvalidProtection,
}

impl From<ProtectionError> for AsError {
    fn from(e: ProtectionError) -> Self {
        match e {
            ProtectionError::WriteAndExecute => AsError::WriteAndExecute,
            ProtectionError::Invalid => AsError::InvalidProtection,
        }
    }
}

/// Table frames for the lower half, counted against the address space.
struct CountingFrames<'a>(&'a mut u64);

// SAFETY: frames come zeroed from the frame allocator: unused RAM.
unsafe impl FrameAllocator<Size4KiB> for CountingFrames<'_> {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        let frame = memory::alloc_zeroed_frame().ok()?;
        *self.0 += 1;
        Some(PhysFrame::containing_address(PhysAddr::new(frame)))
    }
}

/// What a user address maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub phys: u64,
    pub prot: Protection,
    pub user: bool,
}

pub struct AddrSpace {
    pml4: u64,
    frames: u64,
    /// User pages mapped (owned or a region's).
    mapped: u64,
}

fn user_page(virt: u64) -> Result<Page<Size4KiB>, AsError> {
    if !virt.is_multiple_of(PAGE_SIZE) || virt == 0 || virt >= USER_END {
        return Err(AsError::NotUser(virt));
    }
    Ok(Page::containing_address(VirtAddr::new(virt)))
}

impl AddrSpace {
    /// An empty address space sharing the kernel half.
    pub fn new() -> Result<AddrSpace, AsError> {
        let pml4 = memory::alloc_zeroed_frame().map_err(|_| AsError::NoMemory)?;
        // SAFETY: both roots are page tables in RAM the HHDM maps; the new
        // one is ours alone, the kernel's upper half is only read.
        unsafe {
            let new = &mut *kspace::phys_to_virt::<PageTable>(pml4);
            let kernel = &*kspace::phys_to_virt::<PageTable>(kspace::kernel_pml4());
            for i in 256..512 {
                new[i] = kernel[i].clone();
            }
        }
        Ok(AddrSpace {
            pml4,
            frames: 1,
            mapped: 0,
        })
    }

    /// Physical address of the PML4 (what CR3 holds while it is active).
    pub fn root(&self) -> u64 {
        self.pml4
    }

    /// Frames this address space owns: its tables and its pages.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// User pages mapped now (owned ones and memory regions' pages).
    pub fn mapped_pages(&self) -> u64 {
        self.mapped
    }

    pub fn is_active(&self) -> bool {
        Cr3::read().0.start_address().as_u64() == self.pml4
    }

    fn mapper(&mut self) -> x86_64::structures::paging::OffsetPageTable<'static> {
        // SAFETY: this address space's root; `&mut self` makes the caller
        // its only user.
        unsafe { kspace::mapper_for(self.pml4) }
    }

    /// Maps a fresh zeroed frame at `virt` with `prot`; returns its physical
    /// address. The frame belongs to the address space.
    pub fn map_zeroed(&mut self, virt: u64, prot: Protection) -> Result<u64, AsError> {
        let page = user_page(virt)?;
        let flags = pte::leaf_flags(prot, Owner::User)? | OWNED | MAY_WRITE | MAY_EXEC;
        if self.translate(virt).is_some() {
            return Err(AsError::AlreadyMapped(virt));
        }
        let phys = memory::alloc_zeroed_frame().map_err(|_| AsError::NoMemory)?;
        let frame = PhysFrame::containing_address(PhysAddr::new(phys));
        let mut mapper = self.mapper();
        let mut tables = 0;
        // SAFETY: a user page that was unmapped, so no reference into it
        // exists; the frame is fresh.
        let result = unsafe {
            mapper.map_to_with_table_flags(
                page,
                frame,
                flags,
                pte::table_flags(Owner::User),
                &mut CountingFrames(&mut tables),
            )
        };
        self.frames += tables;
        match result {
            Ok(flush) => {
                // A new mapping needs no flush (no stale entry can exist),
                // but keep it exact for the active space.
                flush.flush();
                self.frames += 1;
                self.mapped += 1;
                Ok(phys)
            }
            Err(e) => {
                let _ = memory::free_frame(phys);
                Err(match e {
                    MapToError::FrameAllocationFailed => AsError::NoMemory,
                    _ => AsError::AlreadyMapped(virt),
                })
            }
        }
    }

    /// Maps the frame at `phys` (which the address space does not own: a
    /// memory region's page) at `virt` with `prot`; `protect` may later
    /// raise it up to `max` (the region handle's rights). A `device` page
    /// (device memory) is mapped uncached.
    pub fn map_frame(
        &mut self,
        virt: u64,
        phys: u64,
        prot: Protection,
        max: Protection,
        device: bool,
    ) -> Result<(), AsError> {
        let page = user_page(virt)?;
        if !max.contains(prot) {
            return Err(AsError::InvalidProtection);
        }
        let owner = if device {
            Owner::UserDevice
        } else {
            Owner::User
        };
        let flags = pte::leaf_flags(prot, owner)? | may(max);
        // The common case: the tables above the page exist (every page
        // after the first of its 2 MiB) and its entry is empty. The entry
        // is written directly, as the mapper would write it (the lower
        // half's tables always carry the user table flags).
        if let Some(slot) = self.leaf_slot(virt) {
            // SAFETY: the level-1 entry of a user page in this address
            // space's own table (`&mut self`: its only user); an empty
            // entry maps nothing, so writing it affects no other mapping.
            unsafe {
                if *slot == 0 {
                    *slot = (phys & 0x000f_ffff_ffff_f000) | flags.bits();
                    x86_64::instructions::tlb::flush(VirtAddr::new(virt));
                    self.mapped += 1;
                    return Ok(());
                }
            }
        }
        if self.is_mapped(virt) {
            return Err(AsError::AlreadyMapped(virt));
        }
        let frame = PhysFrame::containing_address(PhysAddr::new(phys));
        let mut mapper = self.mapper();
        let mut tables = 0;
        // SAFETY: the user page was unmapped; the frame is user memory (a
        // region's), never the kernel's.
        let result = unsafe {
            mapper.map_to_with_table_flags(
                page,
                frame,
                flags,
                pte::table_flags(Owner::User),
                &mut CountingFrames(&mut tables),
            )
        };
        self.frames += tables;
        match result {
            Ok(flush) => {
                flush.flush();
                self.mapped += 1;
                Ok(())
            }
            Err(MapToError::FrameAllocationFailed) => Err(AsError::NoMemory),
            Err(_) => Err(AsError::AlreadyMapped(virt)),
        }
    }

    /// Unmaps the page at `virt`, freeing its frame if the address space
    /// owns it.
    pub fn unmap(&mut self, virt: u64) -> Result<(), AsError> {
        let page = user_page(virt)?;
        let owned = self
            .leaf_flags(virt)
            .ok_or(AsError::NotMapped(virt))?
            .contains(OWNED);
        let (frame, flush) = self
            .mapper()
            .unmap(page)
            .map_err(|_| AsError::NotMapped(virt))?;
        flush.flush();
        self.mapped -= 1;
        if owned {
            let _ = memory::free_frame(frame.start_address().as_u64());
            self.frames -= 1;
        }
        Ok(())
    }

    /// Whether [`AddrSpace::protect`] would succeed; returns the software
    /// bits the page keeps.
    pub fn can_protect(&self, virt: u64, prot: Protection) -> Result<Flags, AsError> {
        user_page(virt)?;
        let kept = self.leaf_flags(virt).ok_or(AsError::NotMapped(virt))? & KEPT;
        if (prot.contains(Protection::WRITE) && !kept.contains(MAY_WRITE))
            || (prot.contains(Protection::EXEC) && !kept.contains(MAY_EXEC))
        {
            return Err(AsError::InvalidProtection);
        }
        pte::leaf_flags(prot, Owner::User)?;
        Ok(kept)
    }

    /// Changes the protection of the page at `virt`; never beyond what
    /// the page was mapped to allow (`InvalidProtection`).
    pub fn protect(&mut self, virt: u64, prot: Protection) -> Result<(), AsError> {
        let page = user_page(virt)?;
        let kept = self.can_protect(virt, prot)?;
        let flags = pte::leaf_flags(prot, Owner::User)? | kept;
        // SAFETY: the page is a user page of this address space; changing
        // its flags cannot affect the kernel's memory.
        let flush = unsafe { self.mapper().update_flags(page, flags) }
            .map_err(|_| AsError::NotMapped(virt))?;
        flush.flush();
        Ok(())
    }

    fn leaf_flags(&self, virt: u64) -> Option<Flags> {
        // SAFETY: this address space's root, only read.
        let mapper = unsafe { kspace::mapper_for(self.pml4) };
        match mapper.translate(VirtAddr::new(virt)) {
            TranslateResult::Mapped { flags, .. } => Some(flags),
            _ => None,
        }
    }

    /// Whether anything is mapped at user address `virt` (a walk by hand,
    /// as in [`AddrSpace::writable_user_page`]).
    pub fn is_mapped(&self, virt: u64) -> bool {
        self.leaf(virt).is_some()
    }

    /// Where the level-1 entry for user address `virt` is, if the three
    /// tables above it exist (a walk by hand; `None` past a missing table
    /// or a huge page).
    fn leaf_slot(&self, virt: u64) -> Option<*mut u64> {
        if virt >= USER_END {
            return None;
        }
        let mut table = self.pml4;
        for level in (1..4).rev() {
            let index = (virt >> (12 + 9 * level)) & 0x1ff;
            // SAFETY: as in `writable_user_page`.
            let entry = unsafe { *kspace::phys_to_virt::<u64>(table + index * 8) };
            if entry & 1 == 0 || entry & (1 << 7) != 0 {
                return None;
            }
            table = entry & 0x000f_ffff_ffff_f000;
        }
        Some(kspace::phys_to_virt::<u64>(
            table + ((virt >> 12) & 0x1ff) * 8,
        ))
    }

    /// The leaf entry mapping `virt`, if present.
    fn leaf(&self, virt: u64) -> Option<u64> {
        if virt >= USER_END {
            return None;
        }
        let mut table = self.pml4;
        for level in (0..4).rev() {
            let index = (virt >> (12 + 9 * level)) & 0x1ff;
            // SAFETY: as in `writable_user_page`.
            let entry = unsafe { *kspace::phys_to_virt::<u64>(table + index * 8) };
            if entry & 1 == 0 || (level > 0 && entry & (1 << 7) != 0) {
                return None;
            }
            if level == 0 {
                return Some(entry);
            }
            table = entry & 0x000f_ffff_ffff_f000;
        }
        None
    }

    /// The physical address of the user page at `virt` if it is mapped
    /// user-writable: a walk of the four levels by hand, for the IPC paths
    /// (an IPC buffer is checked on every message that carries a payload).
    /// User mappings are 4 KiB pages only, so the walk never meets a huge
    /// page.
    pub fn writable_user_page(&self, virt: u64) -> Option<u64> {
        if virt >= USER_END {
            return None;
        }
        let needed = Flags::PRESENT | Flags::USER_ACCESSIBLE | Flags::WRITABLE;
        let mut table = self.pml4;
        for level in (0..4).rev() {
            let index = (virt >> (12 + 9 * level)) & 0x1ff;
            // SAFETY: `table` is a page-table page of this address space
            // (the root, or an entry's target, all RAM the HHDM maps).
            let entry = unsafe { *kspace::phys_to_virt::<u64>(table + index * 8) };
            let flags = Flags::from_bits_truncate(entry);
            if !flags.contains(needed) || (level > 0 && flags.contains(Flags::HUGE_PAGE)) {
                return None;
            }
            table = entry & 0x000f_ffff_ffff_f000;
        }
        Some(table)
    }

    /// The physical address of the user page at `virt` if it is mapped
    /// for user access (and writable, with `write`): the same hand walk,
    /// for grant copies (`ipc::grant`), which look up the pages of two
    /// address spaces on every copy.
    #[inline]
    pub fn user_page(&self, virt: u64, write: bool) -> Option<u64> {
        if virt >= USER_END {
            return None;
        }
        let mut needed = Flags::PRESENT | Flags::USER_ACCESSIBLE;
        if write {
            needed |= Flags::WRITABLE;
        }
        let mut table = self.pml4;
        for level in (0..4).rev() {
            let index = (virt >> (12 + 9 * level)) & 0x1ff;
            // SAFETY: as in `writable_user_page`.
            let entry = unsafe { *kspace::phys_to_virt::<u64>(table + index * 8) };
            let flags = Flags::from_bits_truncate(entry);
            if !flags.contains(needed) || (level > 0 && flags.contains(Flags::HUGE_PAGE)) {
                return None;
            }
            table = entry & 0x000f_ffff_ffff_f000;
        }
        Some(table)
    }

    /// What user address `virt` maps to, if anything.
    pub fn translate(&self, virt: u64) -> Option<Mapping> {
        if virt >= USER_END {
            return None;
        }
        // SAFETY: this address space's root, only read.
        let mapper = unsafe { kspace::mapper_for(self.pml4) };
        match mapper.translate(VirtAddr::new(virt)) {
            TranslateResult::Mapped {
                frame,
                offset,
                flags,
            } => Some(Mapping {
                phys: frame.start_address().as_u64() + offset,
                prot: pte::protection_of(flags)?,
                user: flags.contains(Flags::USER_ACCESSIBLE),
            }),
            _ => None,
        }
    }
}

/// Frees the owned leaves and the tables under `table` (a lower-half table
/// at `level`: 4 = PML4 ... 1 = page table); returns the frames freed.
///
/// # Safety
/// `table` must be a table of a dead address space that no CPU uses.
unsafe fn free_tables(table: u64, level: u8) -> u64 {
    // SAFETY: per the contract, the table is ours to read and free.
    let entries = unsafe { &*kspace::phys_to_virt::<PageTable>(table) };
    let span = if level == 4 { 256 } else { 512 };
    let mut freed = 0;
    for entry in entries.iter().take(span) {
        if entry.is_unused() || !entry.flags().contains(Flags::PRESENT) {
            continue;
        }
        let phys = entry.addr().as_u64();
        if level == 1 {
            if entry.flags().contains(OWNED) {
                let _ = memory::free_frame(phys);
                freed += 1;
            }
        } else {
            // User mappings are 4 KiB pages only: no huge leaves here.
            // SAFETY: a lower-level table of the same dead space.
            freed += unsafe { free_tables(phys, level - 1) };
            let _ = memory::free_frame(phys);
            freed += 1;
        }
    }
    freed
}

impl Drop for AddrSpace {
    fn drop(&mut self) {
        if self.is_active() {
            // SAFETY: the kernel's tables map everything the kernel uses.
            unsafe { kspace::activate() };
        }
        // SAFETY: the space is no longer active on any CPU (one CPU, just
        // checked) and no one else holds it.
        let freed = unsafe { free_tables(self.pml4, 4) };
        let _ = memory::free_frame(self.pml4);
        debug_assert_eq!(freed + 1, self.frames, "owned-frame count out of step");
    }
}
