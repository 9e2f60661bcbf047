//! The block device the file system lives on: [`BlockDevice`] reads and
//! writes whole sectors, and [`MemDisk`] is one kept in memory (for tests
//! and RAM disks). The file system asks only for whole file-system blocks,
//! each a run of sectors starting at a multiple of `block_size / sector_size`.

use alloc::vec::Vec;

/// How a device failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceError {
    /// A sector past the end of the device, or a buffer that is not a
    /// whole number of sectors.
    OutOfRange,
    /// The medium reported an error.
    Io,
    /// The device refuses writes.
    ReadOnly,
}

/// A device addressed in sectors of [`BlockDevice::sector_size`] bytes.
pub trait BlockDevice {
    /// Bytes per sector: a power of two from 512 to 4096.
    fn sector_size(&self) -> usize;
    /// Number of sectors on the device.
    fn sector_count(&self) -> u64;
    /// Reads `buf.len() / sector_size` sectors starting at `sector`.
    fn read_sectors(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), DeviceError>;
    /// Writes `buf.len() / sector_size` sectors starting at `sector`.
    fn write_sectors(&mut self, sector: u64, buf: &[u8]) -> Result<(), DeviceError>;
    /// Makes every completed write durable (a cache flush).
    fn flush(&mut self) -> Result<(), DeviceError>;
}

/// A device in memory with 512-byte sectors.
#[derive(Debug, Clone)]
pub struct MemDisk {
    bytes: Vec<u8>,
}

impl MemDisk {
    /// A disk holding `bytes` (its length is rounded down to whole sectors).
    pub fn new(mut bytes: Vec<u8>) -> Self {
        let whole = bytes.len() - bytes.len() % 512;
        bytes.truncate(whole);
        MemDisk { bytes }
    }

    /// The disk's contents.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Gives the contents back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn range(&self, sector: u64, len: usize) -> Result<core::ops::Range<usize>, DeviceError> {
        if !len.is_multiple_of(512) {
            return Err(DeviceError::OutOfRange);
        }
        let start = usize::try_from(sector)
            .ok()
            .and_then(|s| s.checked_mul(512))
            .ok_or(DeviceError::OutOfRange)?;
        let end = start.checked_add(len).ok_or(DeviceError::OutOfRange)?;
        if end > self.bytes.len() {
            return Err(DeviceError::OutOfRange);
        }
        Ok(start..end)
    }
}

impl BlockDevice for MemDisk {
    fn sector_size(&self) -> usize {
        512
    }

    fn sector_count(&self) -> u64 {
        (self.bytes.len() / 512) as u64
    }

    fn read_sectors(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let r = self.range(sector, buf.len())?;
        buf.copy_from_slice(&self.bytes[r]);
        Ok(())
    }

    fn write_sectors(&mut self, sector: u64, buf: &[u8]) -> Result<(), DeviceError> {
        let r = self.range(sector, buf.len())?;
        self.bytes[r].copy_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
}
