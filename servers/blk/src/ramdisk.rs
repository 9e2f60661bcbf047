//! The RAM disk (Linux's `brd`): a block device whose sectors live in
//! pages of the block server's own memory, allocated on the first write
//! to them (`brd_insert_page`), never before; a read of a sector no write
//! reached returns zeros without allocating. Its size is fixed at
//! creation, which bounds the pages it can ever hold.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;

use crate::bio::{BlkError, PAGE_SIZE, SECTOR_SIZE};

const SECTORS_PER_PAGE: u64 = (PAGE_SIZE / SECTOR_SIZE) as u64;

/// A RAM disk of a fixed number of sectors.
#[derive(Debug)]
pub struct RamDisk {
    sectors: u64,
    pages: BTreeMap<u64, Box<[u8; PAGE_SIZE as usize]>>,
}

impl RamDisk {
    /// A RAM disk of `sectors` 512-byte sectors, no page allocated yet.
    pub fn new(sectors: u64) -> RamDisk {
        RamDisk {
            sectors,
            pages: BTreeMap::new(),
        }
    }

    /// Its size in sectors.
    pub fn capacity(&self) -> u64 {
        self.sectors
    }

    /// Pages allocated so far.
    pub fn pages(&self) -> usize {
        self.pages.len()
    }

    /// Checks that `len` bytes from `sector` are whole sectors inside the
    /// disk: `Unaligned`, `OutOfRange`.
    fn check(&self, sector: u64, len: usize) -> Result<(), BlkError> {
        if !len.is_multiple_of(SECTOR_SIZE as usize) {
            return Err(BlkError::Unaligned);
        }
        let end = sector.checked_add((len / SECTOR_SIZE as usize) as u64);
        if end.is_none_or(|e| e > self.sectors) {
            return Err(BlkError::OutOfRange);
        }
        Ok(())
    }

    /// The (page, byte offset) pieces of `len` bytes from `sector`.
    fn pieces(sector: u64, len: usize) -> impl Iterator<Item = (u64, usize, usize)> {
        let sector_bytes = SECTOR_SIZE as usize;
        (0..len / sector_bytes).map(move |i| {
            let s = sector + i as u64;
            let offset = (s % SECTORS_PER_PAGE) as usize * sector_bytes;
            (s / SECTORS_PER_PAGE, offset, i * sector_bytes)
        })
    }

    /// Reads `out.len()` bytes (whole sectors) from `sector`:
    /// `Unaligned`, `OutOfRange` (nothing read).
    pub fn read(&self, sector: u64, out: &mut [u8]) -> Result<(), BlkError> {
        self.check(sector, out.len())?;
        let n = SECTOR_SIZE as usize;
        for (page, offset, at) in Self::pieces(sector, out.len()) {
            let dst = &mut out[at..at + n];
            match self.pages.get(&page) {
                Some(p) => dst.copy_from_slice(&p[offset..offset + n]),
                None => dst.fill(0),
            }
        }
        Ok(())
    }

    /// Writes `data` (whole sectors) from `sector`, allocating the pages
    /// it reaches for the first time: `Unaligned`, `OutOfRange` (nothing
    /// written).
    pub fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), BlkError> {
        self.check(sector, data.len())?;
        let n = SECTOR_SIZE as usize;
        for (page, offset, at) in Self::pieces(sector, data.len()) {
            let p = self
                .pages
                .entry(page)
                .or_insert_with(|| Box::new([0; PAGE_SIZE as usize]));
            p[offset..offset + n].copy_from_slice(&data[at..at + n]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_come_on_the_first_write_only() {
        let mut ram = RamDisk::new(64);
        let mut out = [0xffu8; 1024];
        ram.read(10, &mut out).unwrap();
        assert!(out.iter().all(|&b| b == 0));
        assert_eq!(ram.pages(), 0);
        let data: alloc::vec::Vec<u8> = (0..1536).map(|i| (i % 251) as u8).collect();
        // Sectors 7..10 straddle pages 0 and 1.
        ram.write(7, &data).unwrap();
        assert_eq!(ram.pages(), 2);
        let mut back = [0u8; 1536];
        ram.read(7, &mut back).unwrap();
        assert_eq!(&back[..], &data[..]);
        let mut one = [0u8; 512];
        ram.read(6, &mut one).unwrap();
        assert!(one.iter().all(|&b| b == 0));
    }

    #[test]
    fn bad_ranges_are_refused_untouched() {
        let mut ram = RamDisk::new(16);
        assert_eq!(ram.write(15, &[1; 1024]), Err(BlkError::OutOfRange));
        assert_eq!(ram.write(u64::MAX, &[1; 512]), Err(BlkError::OutOfRange));
        assert_eq!(ram.write(0, &[1; 100]), Err(BlkError::Unaligned));
        assert_eq!(ram.read(16, &mut [0; 512]), Err(BlkError::OutOfRange));
        assert_eq!(ram.pages(), 0);
        ram.write(15, &[9; 512]).unwrap();
        assert_eq!(ram.pages(), 1);
    }
}
