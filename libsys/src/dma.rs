//! DMA memory for drivers, as a safe type: [`DmaRegion`] is a block that
//! `mm` allocated physically contiguous, pinned and zeroed
//! ([`crate::mm::dma_alloc_coherent`]), mapped here, with the physical
//! address a device is told.
//!
//! A device reads and writes this memory behind the program's back, so
//! every access is volatile (the compiler neither caches nor drops it)
//! and bounds-checked: an offset or length past the block is
//! [`OutOfBounds`], never a stray access. Dropping the region frees it
//! (`dma_free_coherent`) — the driver must have stopped the device from
//! using it first (a virtio driver resets the device).

use core::ptr;

use crate::mm;

/// An access past the end of a [`DmaRegion`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfBounds;

/// A block of DMA memory: `len` bytes at `at` here, `phys` for the device.
#[derive(Debug)]
pub struct DmaRegion {
    at: u64,
    phys: u64,
    len: u64,
}

impl DmaRegion {
    /// `pages` zeroed pages below physical address `limit`: the errors of
    /// [`mm::dma_alloc_coherent`].
    pub fn alloc(pages: u64, limit: u64) -> Result<DmaRegion, mm::Error> {
        let (at, phys) = mm::dma_alloc_coherent(pages, limit)?;
        Ok(DmaRegion {
            at,
            phys,
            len: pages * crate::abi::PAGE_SIZE,
        })
    }

    /// The physical address of byte 0 (what the device is given).
    pub fn phys(&self) -> u64 {
        self.phys
    }

    /// Its address here, for the system calls that take one (`grant_copy`
    /// copies a client's window straight into it).
    pub fn addr(&self) -> u64 {
        self.at
    }

    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it is empty (never, for an allocated region).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The address of `size` bytes at `offset`, if they are inside and
    /// `align`-aligned.
    fn at(&self, offset: u64, size: u64, align: u64) -> Result<u64, OutOfBounds> {
        let end = offset.checked_add(size).ok_or(OutOfBounds)?;
        if end > self.len || !offset.is_multiple_of(align) {
            return Err(OutOfBounds);
        }
        Ok(self.at + offset)
    }

    /// Reads the `u16` at `offset` (2-aligned).
    pub fn read_u16(&self, offset: u64) -> Result<u16, OutOfBounds> {
        let at = self.at(offset, 2, 2)?;
        // SAFETY: `at` is inside the mapped, pinned block (checked above)
        // and aligned; the block lives as long as `self`.
        Ok(unsafe { ptr::read_volatile(at as *const u16) })
    }

    /// Reads the `u32` at `offset` (4-aligned).
    pub fn read_u32(&self, offset: u64) -> Result<u32, OutOfBounds> {
        let at = self.at(offset, 4, 4)?;
        // SAFETY: as in `read_u16`.
        Ok(unsafe { ptr::read_volatile(at as *const u32) })
    }

    /// Reads the byte at `offset`.
    pub fn read_u8(&self, offset: u64) -> Result<u8, OutOfBounds> {
        let at = self.at(offset, 1, 1)?;
        // SAFETY: as in `read_u16`.
        Ok(unsafe { ptr::read_volatile(at as *const u8) })
    }

    /// Writes the byte at `offset`.
    pub fn write_u8(&mut self, offset: u64, value: u8) -> Result<(), OutOfBounds> {
        let at = self.at(offset, 1, 1)?;
        // SAFETY: as in `read_u16`; `&mut self` is the only writer here.
        unsafe { ptr::write_volatile(at as *mut u8, value) };
        Ok(())
    }

    /// Writes the `u16` at `offset` (2-aligned).
    pub fn write_u16(&mut self, offset: u64, value: u16) -> Result<(), OutOfBounds> {
        let at = self.at(offset, 2, 2)?;
        // SAFETY: as in `write_u8`.
        unsafe { ptr::write_volatile(at as *mut u16, value) };
        Ok(())
    }

    /// Writes the `u32` at `offset` (4-aligned).
    pub fn write_u32(&mut self, offset: u64, value: u32) -> Result<(), OutOfBounds> {
        let at = self.at(offset, 4, 4)?;
        // SAFETY: as in `write_u8`.
        unsafe { ptr::write_volatile(at as *mut u32, value) };
        Ok(())
    }

    /// Writes the `u64` at `offset` (8-aligned).
    pub fn write_u64(&mut self, offset: u64, value: u64) -> Result<(), OutOfBounds> {
        let at = self.at(offset, 8, 8)?;
        // SAFETY: as in `write_u8`.
        unsafe { ptr::write_volatile(at as *mut u64, value) };
        Ok(())
    }

    /// Copies `data` in at `offset`, byte by byte (volatile).
    pub fn copy_in(&mut self, offset: u64, data: &[u8]) -> Result<(), OutOfBounds> {
        let at = self.at(offset, data.len() as u64, 1)?;
        for (i, &b) in data.iter().enumerate() {
            // SAFETY: the whole range was checked above.
            unsafe { ptr::write_volatile((at + i as u64) as *mut u8, b) };
        }
        Ok(())
    }

    /// Copies `out.len()` bytes out from `offset` (volatile).
    pub fn copy_out(&self, offset: u64, out: &mut [u8]) -> Result<(), OutOfBounds> {
        let at = self.at(offset, out.len() as u64, 1)?;
        for (i, b) in out.iter_mut().enumerate() {
            // SAFETY: the whole range was checked above.
            *b = unsafe { ptr::read_volatile((at + i as u64) as *const u8) };
        }
        Ok(())
    }
}

impl Drop for DmaRegion {
    fn drop(&mut self) {
        // A failure means mm no longer knows the block (it died and took
        // it back): nothing left to free.
        let _ = mm::dma_free_coherent(self.at);
    }
}
