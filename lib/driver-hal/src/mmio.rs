//! Memory-mapped device registers: an [`MmioRegion`] is device memory
//! (a BAR) that `mm` mapped here uncached (`map_physical`, allowed by the
//! manifest's `device=`; or `map_region` of a region handle devmgr gave
//! the driver), read and written volatile through typed
//! registers ([`crate::reg::Reg`]), each access checked against the
//! region's length and its width's alignment; or, for device memory that
//! behaves as memory (the boot framebuffer the tty server draws on),
//! bounds-checked byte copies into it and within it
//! ([`MmioRegion::write_bytes`], [`MmioRegion::copy_within`]). Dropping
//! the region unmaps it.

use core::ptr;

use libsys::abi::PAGE_SIZE;
use libsys::handle::MemoryRegion;
use libsys::mm;

use crate::reg::{Readable, Reg, Width, Writable};
use crate::window::{check, AccessError};

/// `len` bytes of device memory at physical `phys`, mapped at `at`.
#[derive(Debug)]
pub struct MmioRegion {
    /// The mapping's page-aligned start and its pages (for the unmap).
    mapping: u64,
    pages: u64,
    at: u64,
    phys: u64,
    len: u64,
}

impl MmioRegion {
    /// Maps `len` bytes of device memory at `phys` (any alignment: the
    /// pages around it are mapped). The errors of `mm::map_physical`;
    /// `Mm(InvalidArgument)` for a range that wraps.
    pub fn map(phys: u64, len: u64) -> Result<MmioRegion, mm::Error> {
        let first = phys & !(PAGE_SIZE - 1);
        let end = phys
            .checked_add(len.max(1))
            .and_then(|e| e.checked_add(PAGE_SIZE - 1))
            .ok_or(mm::Error::Mm(libsys::proto::mm::MmError::InvalidArgument))?
            & !(PAGE_SIZE - 1);
        let pages = (end - first) / PAGE_SIZE;
        let mapping = mm::map_physical(first, pages, None, true)?;
        Ok(MmioRegion {
            mapping,
            pages,
            at: mapping + (phys - first),
            phys,
            len,
        })
    }

    /// Maps device-memory `region` (a BAR devmgr gave this driver: the
    /// handle is the right) through `mm`'s `MapRegion`; the region's
    /// first `len` bytes are accessible (all of it when `len` is larger).
    /// The errors of `mm::map_region`; `Mm(InvalidArgument)` if the
    /// handle is no memory region.
    pub fn from_region(region: &MemoryRegion, len: u64) -> Result<MmioRegion, mm::Error> {
        let invalid = mm::Error::Mm(libsys::proto::mm::MmError::InvalidArgument);
        let info = region.info().map_err(|_| invalid)?;
        let mapping = mm::map_region(region, None, true)?;
        Ok(MmioRegion {
            mapping,
            pages: info.pages,
            at: mapping,
            phys: info.base,
            len: len.min(info.pages * PAGE_SIZE),
        })
    }

    /// The physical address of its first byte.
    pub fn phys(&self) -> u64 {
        self.phys
    }

    /// Where its first byte is mapped here.
    pub fn addr(&self) -> u64 {
        self.at
    }

    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads `reg`.
    pub fn try_read<T: Width, A: Readable>(&self, reg: Reg<T, A>) -> Result<T, AccessError> {
        check(self.len, reg.offset(), T::BYTES, T::BYTES)?;
        // SAFETY: inside the mapping (checked above) and aligned; the
        // mapping lives as long as `self`. Volatile: a register read may
        // have side effects and must happen exactly once.
        Ok(unsafe { ptr::read_volatile((self.at + reg.offset()) as *const T) })
    }

    /// Writes `reg`.
    pub fn try_write<T: Width, A: Writable>(
        &mut self,
        reg: Reg<T, A>,
        value: T,
    ) -> Result<(), AccessError> {
        check(self.len, reg.offset(), T::BYTES, T::BYTES)?;
        // SAFETY: as in `try_read`; `&mut self` is the only writer here.
        unsafe { ptr::write_volatile((self.at + reg.offset()) as *mut T, value) };
        Ok(())
    }

    /// Reads `reg`; all ones if it is outside the region.
    pub fn read<T: Width, A: Readable>(&self, reg: Reg<T, A>) -> T {
        self.try_read(reg).unwrap_or(T::ALL_ONES)
    }

    /// Writes `reg`; nothing if it is outside the region.
    pub fn write<T: Width, A: Writable>(&mut self, reg: Reg<T, A>, value: T) {
        let _ = self.try_write(reg, value);
    }

    /// Copies `bytes` to `offset`, as one memory copy: for device memory
    /// that behaves as memory (a framebuffer), never for registers,
    /// whose accesses must be whole and exactly once (use
    /// [`write`](Self::write)). `OutOfBounds` if any byte is outside the
    /// region (nothing is written then).
    pub fn write_bytes(&mut self, offset: u64, bytes: &[u8]) -> Result<(), AccessError> {
        check(self.len, offset, bytes.len() as u64, 1)?;
        // SAFETY: `[offset, offset + len)` is inside the mapping (checked
        // above), which lives as long as `self`; `bytes` is ordinary memory
        // of this process, never the mapping (a `&[u8]` into device memory
        // cannot be made through this type), so the ranges do not overlap.
        unsafe {
            ptr::copy_nonoverlapping(bytes.as_ptr(), (self.at + offset) as *mut u8, bytes.len())
        };
        Ok(())
    }

    /// Copies `len` bytes from `src` to `dst` inside the region (the
    /// ranges may overlap: a memmove), as a framebuffer scrolls.
    /// `OutOfBounds` if either range leaves the region (nothing is copied).
    pub fn copy_within(&mut self, src: u64, dst: u64, len: u64) -> Result<(), AccessError> {
        check(self.len, src, len, 1)?;
        check(self.len, dst, len, 1)?;
        // SAFETY: both ranges are inside the mapping (checked above), which
        // lives as long as `self`; `ptr::copy` allows them to overlap.
        unsafe {
            ptr::copy(
                (self.at + src) as *const u8,
                (self.at + dst) as *mut u8,
                len as usize,
            )
        };
        Ok(())
    }
}

impl Drop for MmioRegion {
    fn drop(&mut self) {
        // A failure means mm no longer knows the mapping (it restarted).
        let _ = mm::munmap(self.mapping, self.pages);
    }
}
