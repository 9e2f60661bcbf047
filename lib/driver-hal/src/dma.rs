//! DMA memory as a safe type: a [`DmaBuffer`] is a block `mm` allocated
//! physically contiguous, pinned and zeroed (Linux's
//! `dma_alloc_coherent`, `libsys::mm::dma_alloc_coherent`), mapped here,
//! with the physical address a device is told.
//!
//! A device reads and writes this memory behind the program's back, so
//! every access is volatile (the compiler neither caches nor drops it)
//! and checked ([`crate::window::check`]): an offset or length past the
//! block, or a misaligned word, is an [`AccessError`], never a stray
//! access. Dropping the buffer frees it (`dma_free_coherent`) — the driver
//! must have stopped the device from using it first (a virtio driver
//! resets the device).

use core::ptr;

use libsys::mm;

use crate::reg::Width;
use crate::window::{check, AccessError};

/// A block of DMA memory: `len` bytes at `at` here, `phys` for the device.
#[derive(Debug)]
pub struct DmaBuffer {
    at: u64,
    phys: u64,
    len: u64,
}

impl DmaBuffer {
    /// `pages` zeroed pages below physical address `limit`: the errors of
    /// `mm::dma_alloc_coherent`.
    pub fn alloc(pages: u64, limit: u64) -> Result<DmaBuffer, mm::Error> {
        let (at, phys) = mm::dma_alloc_coherent(pages, limit)?;
        Ok(DmaBuffer {
            at,
            phys,
            len: pages * libsys::abi::PAGE_SIZE,
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

    /// Whether it is empty (never, for an allocated buffer).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads the `T` at `offset` (aligned to its width).
    pub fn read<T: Width>(&self, offset: u64) -> Result<T, AccessError> {
        check(self.len, offset, T::BYTES, T::BYTES)?;
        // SAFETY: `offset .. offset + size_of::<T>()` is inside the
        // mapped, pinned block (checked above) and aligned; the block
        // lives as long as `self`. Volatile: the device may have written.
        Ok(unsafe { ptr::read_volatile((self.at + offset) as *const T) })
    }

    /// Writes the `T` at `offset` (aligned to its width).
    pub fn write<T: Width>(&mut self, offset: u64, value: T) -> Result<(), AccessError> {
        check(self.len, offset, T::BYTES, T::BYTES)?;
        // SAFETY: as in `read`; `&mut self` is the only writer here.
        unsafe { ptr::write_volatile((self.at + offset) as *mut T, value) };
        Ok(())
    }

    /// Reads the `u8` at `offset`.
    pub fn read_u8(&self, offset: u64) -> Result<u8, AccessError> {
        self.read(offset)
    }

    /// Reads the `u16` at `offset` (2-aligned).
    pub fn read_u16(&self, offset: u64) -> Result<u16, AccessError> {
        self.read(offset)
    }

    /// Reads the `u32` at `offset` (4-aligned).
    pub fn read_u32(&self, offset: u64) -> Result<u32, AccessError> {
        self.read(offset)
    }

    /// Writes the byte at `offset`.
    pub fn write_u8(&mut self, offset: u64, value: u8) -> Result<(), AccessError> {
        self.write(offset, value)
    }

    /// Writes the `u16` at `offset` (2-aligned).
    pub fn write_u16(&mut self, offset: u64, value: u16) -> Result<(), AccessError> {
        self.write(offset, value)
    }

    /// Writes the `u32` at `offset` (4-aligned).
    pub fn write_u32(&mut self, offset: u64, value: u32) -> Result<(), AccessError> {
        self.write(offset, value)
    }

    /// Writes the `u64` at `offset` (8-aligned).
    pub fn write_u64(&mut self, offset: u64, value: u64) -> Result<(), AccessError> {
        self.write(offset, value)
    }

    /// Copies `data` in at `offset`, eight bytes at a time where it can
    /// (volatile).
    pub fn copy_in(&mut self, offset: u64, data: &[u8]) -> Result<(), AccessError> {
        check(self.len, offset, data.len() as u64, 1)?;
        let at = self.at + offset;
        let mut chunks = data.chunks_exact(8);
        let mut i = 0u64;
        for chunk in &mut chunks {
            let word = u64::from_ne_bytes(chunk.try_into().unwrap_or([0; 8]));
            // SAFETY: the whole range was checked above; an unaligned
            // volatile write is what `write_unaligned` would do, done
            // volatile (x86 allows unaligned stores).
            unsafe { ptr::write_volatile((at + i) as *mut [u8; 8], word.to_ne_bytes()) };
            i += 8;
        }
        for &b in chunks.remainder() {
            // SAFETY: the whole range was checked above.
            unsafe { ptr::write_volatile((at + i) as *mut u8, b) };
            i += 1;
        }
        Ok(())
    }

    /// Copies `out.len()` bytes out from `offset` (volatile).
    pub fn copy_out(&self, offset: u64, out: &mut [u8]) -> Result<(), AccessError> {
        check(self.len, offset, out.len() as u64, 1)?;
        let at = self.at + offset;
        let mut i = 0u64;
        let mut chunks = out.chunks_exact_mut(8);
        for chunk in &mut chunks {
            // SAFETY: the whole range was checked above; `[u8; 8]` has
            // alignment 1.
            let word = unsafe { ptr::read_volatile((at + i) as *const [u8; 8]) };
            chunk.copy_from_slice(&word);
            i += 8;
        }
        for b in chunks.into_remainder() {
            // SAFETY: the whole range was checked above.
            *b = unsafe { ptr::read_volatile((at + i) as *const u8) };
            i += 1;
        }
        Ok(())
    }
}

impl Drop for DmaBuffer {
    fn drop(&mut self) {
        // A failure means mm no longer knows the block (it died and took
        // it back): nothing left to free.
        let _ = mm::dma_free_coherent(self.at);
    }
}
