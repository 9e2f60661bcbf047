//! A small write-back cache of file-system blocks (a buffer cache in the
//! LKD chapter 14 sense): every metadata and data access of the crate goes
//! through it, so a block is never seen in two states at once. Dirty blocks
//! reach the device on [`BlockCache::flush`] or when evicted; at most
//! `capacity` blocks are held, the least recently used clean one (or, if
//! all are dirty, the least recently used one, after writing it) leaving
//! first.

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

/// How many blocks the cache keeps by default.
pub const DEFAULT_CAPACITY: usize = 256;

struct Buffer {
    data: Vec<u8>,
    dirty: bool,
    last_use: u64,
}

/// The cache. `block_size` is the file system's.
pub struct BlockCache {
    block_size: usize,
    blocks_count: u32,
    capacity: usize,
    clock: u64,
    map: BTreeMap<u32, Buffer>,
}

impl BlockCache {
    /// An empty cache for a volume of `blocks_count` blocks.
    pub fn new(block_size: usize, blocks_count: u32, capacity: usize) -> Self {
        BlockCache {
            block_size,
            blocks_count,
            capacity: capacity.max(8),
            clock: 0,
            map: BTreeMap::new(),
        }
    }

    fn sector_of<D: BlockDevice>(&self, dev: &D, blk: u32) -> Result<u64> {
        if blk >= self.blocks_count {
            return Err(Error::Corrupted("block number outside the volume"));
        }
        let per_block = (self.block_size / dev.sector_size().max(1)) as u64;
        Ok(u64::from(blk) * per_block)
    }

    /// Reads a block straight from the device, bypassing the cache.
    pub fn read_uncached<D: BlockDevice>(
        &self,
        dev: &mut D,
        blk: u32,
        buf: &mut [u8],
    ) -> Result<()> {
        let sector = self.sector_of(dev, blk)?;
        dev.read_sectors(sector, buf)?;
        Ok(())
    }

    /// Writes a block straight to the device, dropping any cached copy's
    /// claim (the caller's bytes win).
    pub fn write_uncached<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        blk: u32,
        buf: &[u8],
    ) -> Result<()> {
        let sector = self.sector_of(dev, blk)?;
        self.map.remove(&blk);
        dev.write_sectors(sector, buf)?;
        Ok(())
    }

    fn make_room<D: BlockDevice>(&mut self, dev: &mut D) -> Result<()> {
        while self.map.len() >= self.capacity {
            let victim = self
                .map
                .iter()
                .min_by_key(|(_, b)| (b.dirty, b.last_use))
                .map(|(k, _)| *k)
                .ok_or(Error::Corrupted("cache bookkeeping"))?;
            if let Some(buf) = self.map.remove(&victim) {
                if buf.dirty {
                    let sector = self.sector_of(dev, victim)?;
                    dev.write_sectors(sector, &buf.data)?;
                }
            }
        }
        Ok(())
    }

    fn load<D: BlockDevice>(&mut self, dev: &mut D, blk: u32, zero: bool) -> Result<&mut Buffer> {
        self.clock += 1;
        let now = self.clock;
        if !self.map.contains_key(&blk) {
            let sector = self.sector_of(dev, blk)?;
            self.make_room(dev)?;
            let mut data = vec![0u8; self.block_size];
            if !zero {
                dev.read_sectors(sector, &mut data)?;
            }
            self.map.insert(
                blk,
                Buffer {
                    data,
                    dirty: zero,
                    last_use: now,
                },
            );
        }
        let buf = self
            .map
            .get_mut(&blk)
            .ok_or(Error::Corrupted("cache bookkeeping"))?;
        buf.last_use = now;
        if zero {
            buf.data.fill(0);
            buf.dirty = true;
        }
        Ok(buf)
    }

    /// The contents of block `blk`. Errors: `Corrupted` for a block past
    /// the volume, `Device` if the read fails.
    pub fn read<D: BlockDevice>(&mut self, dev: &mut D, blk: u32) -> Result<&[u8]> {
        Ok(&self.load(dev, blk, false)?.data)
    }

    /// Block `blk` for changing; it is marked dirty.
    pub fn write<D: BlockDevice>(&mut self, dev: &mut D, blk: u32) -> Result<&mut [u8]> {
        let buf = self.load(dev, blk, false)?;
        buf.dirty = true;
        Ok(&mut buf.data)
    }

    /// Block `blk` zeroed and dirty, without reading it (a new block).
    pub fn zeroed<D: BlockDevice>(&mut self, dev: &mut D, blk: u32) -> Result<&mut [u8]> {
        Ok(&mut self.load(dev, blk, true)?.data)
    }

    /// Drops a freed block's buffer, dirty or not: its contents no longer
    /// matter.
    pub fn forget(&mut self, blk: u32) {
        self.map.remove(&blk);
    }

    /// Writes every dirty block to the device, in block order.
    pub fn flush<D: BlockDevice>(&mut self, dev: &mut D) -> Result<()> {
        let per_block = (self.block_size / dev.sector_size().max(1)) as u64;
        for (blk, buf) in self.map.iter_mut() {
            if buf.dirty {
                dev.write_sectors(u64::from(*blk) * per_block, &buf.data)?;
                buf.dirty = false;
            }
        }
        Ok(())
    }
}
