//! A small write-back cache of file-system blocks (a buffer cache in the
//! LKD chapter 14 sense): every metadata and data access of the crate goes
//! through it, so a block is never seen in two states at once. Dirty blocks
//! reach the device on [`BlockCache::flush`] or when evicted; at most
//! `capacity` blocks are held, the least recently used leaving first
//! (written back if dirty). An index from use time to block keeps that
//! choice O(log n).

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
    /// `last_use` → block, for every buffer in `map`.
    lru: BTreeMap<u64, u32>,
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
            lru: BTreeMap::new(),
        }
    }

    fn sector_of<D: BlockDevice>(&self, dev: &D, blk: u32) -> Result<u64> {
        if blk >= self.blocks_count {
            return Err(Error::Corrupted("block number outside the volume"));
        }
        let per_block = (self.block_size / dev.sector_size().max(1)) as u64;
        Ok(u64::from(blk) * per_block)
    }

    fn make_room<D: BlockDevice>(&mut self, dev: &mut D) -> Result<()> {
        while self.map.len() >= self.capacity {
            let Some((_, victim)) = self.lru.pop_first() else {
                return Err(Error::Corrupted("cache bookkeeping"));
            };
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
            self.lru.insert(now, blk);
        }
        let buf = self
            .map
            .get_mut(&blk)
            .ok_or(Error::Corrupted("cache bookkeeping"))?;
        if buf.last_use != now {
            self.lru.remove(&buf.last_use);
            self.lru.insert(now, blk);
            buf.last_use = now;
        }
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
        if let Some(buf) = self.map.remove(&blk) {
            self.lru.remove(&buf.last_use);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::MemDisk;

    #[test]
    fn evicts_least_recently_used_and_writes_back_dirty() {
        let mut dev = MemDisk::new(vec![0u8; 64 * 1024]);
        let mut cache = BlockCache::new(1024, 64, 8);
        for blk in 0..8u32 {
            cache.write(&mut dev, blk).unwrap()[0] = blk as u8 + 1;
        }
        cache.read(&mut dev, 0).unwrap(); // 0 is now the most recent
        cache.read(&mut dev, 20).unwrap(); // evicts 1, the oldest
        assert_eq!(dev.bytes()[1024], 2, "the dirty victim was written back");
        assert_eq!(dev.bytes()[0], 0, "block 0 stayed cached and unwritten");
        assert_eq!(cache.map.len(), 8);
        assert_eq!(cache.lru.len(), 8);
        cache.forget(2);
        cache.flush(&mut dev).unwrap();
        assert_eq!(dev.bytes()[0], 1);
        assert_eq!(
            dev.bytes()[2 * 1024],
            0,
            "a forgotten (freed) block is not written"
        );
        assert!(matches!(cache.read(&mut dev, 64), Err(Error::Corrupted(_))));
    }
}
