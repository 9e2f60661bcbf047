//! Pages of a memory region mapped into this process, as a value: a
//! [`Mapping`] is made by mapping them (through the runtime's own handle
//! to this process, so the pages are known to be here), lends them as a
//! byte slice borrowed from it, and unmaps them when dropped. It is what a
//! server or a program uses instead of turning an address into a slice
//! with `unsafe` (a boot module, the initial stack of an `Exec`, the
//! memory `mm` hands out, an initramfs).
//!
//! Invariant: while a `Mapping` lives, its pages stay mapped here with the
//! protection it was made with. The kernel keeps the first half: a map
//! without `MAP_REPLACE` is refused whole if any page of the range is
//! mapped already, so a new mapping never lies over memory something else
//! holds references into. The second half is this process's: nothing may
//! unmap or protect the range meanwhile (the raw `Process::unmap` on this
//! process's own handle could; no library code does so for a range it did
//! not map itself).

use core::mem::ManuallyDrop;

use crate::abi::{Handle, Protection, SysError, PAGE_SIZE};
use crate::handle::Process;

/// Pages mapped into this process; unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    address: u64,
    pages: u64,
    writable: bool,
}

/// This process, as the runtime holds it (`@self`, or `init`'s own).
fn me() -> Result<ManuallyDrop<Process>, SysError> {
    let raw = crate::env::self_process().ok_or(SysError::NotFound)?;
    // SAFETY: the runtime's own handle, kept open for the life of the
    // process; ManuallyDrop keeps this copy from closing it.
    Ok(ManuallyDrop::new(unsafe { Process::from_raw(raw) }))
}

impl Mapping {
    /// Maps `pages` pages of `region`, from its page `first`, into this
    /// process at `address` with `prot` (at least `READ`). Fails with the
    /// kernel's error (`Exists` if a page of the range is mapped already,
    /// `BadAddress` outside the user half...), with `InvalidArgument` for
    /// an empty or unreadable mapping or an unaligned address, and with
    /// `NotFound` if the runtime has no handle to this process.
    pub fn map(
        address: u64,
        region: Handle,
        first: u64,
        pages: u64,
        prot: Protection,
    ) -> Result<Mapping, SysError> {
        if pages == 0 || !prot.contains(Protection::READ) || !address.is_multiple_of(PAGE_SIZE) {
            return Err(SysError::InvalidArgument);
        }
        pages
            .checked_mul(PAGE_SIZE)
            .and_then(|len| usize::try_from(len).ok())
            .ok_or(SysError::InvalidArgument)?;
        me()?.map(address, region, first, pages, prot)?;
        Ok(Mapping {
            address,
            pages,
            writable: prot.contains(Protection::WRITE),
        })
    }

    /// Where the pages are mapped.
    pub fn address(&self) -> u64 {
        self.address
    }

    /// How many pages.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `pages` pages are mapped readable at `address` for as
        // long as `self` lives (the module's invariant; `map` checked the
        // length fits a usize); the borrow of `self` keeps it alive and
        // `bytes_mut` from lending them mutably meanwhile.
        unsafe {
            core::slice::from_raw_parts(
                self.address as *const u8,
                (self.pages * PAGE_SIZE) as usize,
            )
        }
    }

    /// The mapped bytes, to write; `None` if they were mapped read-only.
    pub fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        if !self.writable {
            return None;
        }
        // SAFETY: as in `bytes`, mapped writable too; the exclusive borrow
        // of `self` makes this the only reference into them.
        Some(unsafe {
            core::slice::from_raw_parts_mut(
                self.address as *mut u8,
                (self.pages * PAGE_SIZE) as usize,
            )
        })
    }

    /// Page `index` of the mapping, to write; `None` if out of range or
    /// read-only.
    pub fn page_mut(&mut self, index: u64) -> Option<&mut [u8; PAGE_SIZE as usize]> {
        let page = PAGE_SIZE as usize;
        let at = usize::try_from(index).ok()?.checked_mul(page)?;
        self.bytes_mut()?.get_mut(at..at + page)?.try_into().ok()
    }

    /// Keeps the pages mapped for the rest of the process's life and lends
    /// them for as long (an initramfs a server reads to the end).
    pub fn leak(self) -> &'static [u8] {
        let this = ManuallyDrop::new(self);
        // SAFETY: as in `bytes`; the mapping is never unmapped now (its
        // drop will not run), so the pages stay readable for 'static, and
        // no `&mut` can be made (the value is gone).
        unsafe {
            core::slice::from_raw_parts(
                this.address as *const u8,
                (this.pages * PAGE_SIZE) as usize,
            )
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if let Ok(me) = me() {
            let _ = me.unmap(self.address, self.pages);
        }
    }
}
