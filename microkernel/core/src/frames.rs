//! The physical frame allocator: one bit per 4 KiB frame.
//!
//! It covers the frames from the lowest to the highest usable address with
//! two bitmaps: in `used` a set bit means "not free" (allocated, or not RAM
//! at all); in `ram` a set bit means the frame is RAM the allocator was
//! given. Both live in memory the caller provides (the kernel carves it out
//! of the first usable region big enough). Allocation is next-fit from a cursor, a 64-bit word at a
//! time; freeing checks that the frame was allocated, so a double free or a
//! free of a frame that is not RAM is an error, not silent corruption.

pub const FRAME_SIZE: u64 = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// No free frame (or no free run of the size asked for).
    OutOfMemory,
    /// The frame is free already, or was never RAM.
    NotAllocated(u64),
    /// The address is outside the memory the allocator covers or unaligned.
    NotManaged(u64),
}

/// Frame allocator over `[base, base + 64 * words.len() * 4 KiB)`.
pub struct FrameAllocator<'a> {
    bits: &'a mut [u64],
    ram: &'a mut [u64],
    /// Physical address of the first frame the bitmap covers.
    base: u64,
    frames: u64,
    free: u64,
    /// Word to start the next search at.
    cursor: usize,
}

impl<'a> FrameAllocator<'a> {
    /// Words of memory (both bitmaps) needed to cover `[lowest, highest)`.
    pub fn words_needed(lowest: u64, highest: u64) -> usize {
        2 * ((highest - lowest) / FRAME_SIZE).div_ceil(64) as usize
    }

    /// An allocator over `memory` (split into the two bitmaps) starting at
    /// `base` (4 KiB aligned), with no RAM yet: add it with
    /// [`FrameAllocator::add_free`].
    pub fn new(memory: &'a mut [u64], base: u64) -> Self {
        let (bits, ram) = memory.split_at_mut(memory.len() / 2);
        bits.fill(u64::MAX);
        ram.fill(0);
        let frames = bits.len() as u64 * 64;
        FrameAllocator {
            bits,
            ram,
            base,
            frames,
            free: 0,
            cursor: 0,
        }
    }

    fn is_ram(&self, frame: u64) -> bool {
        self.ram[(frame / 64) as usize] & (1 << (frame % 64)) != 0
    }

    fn index(&self, addr: u64) -> Result<u64, FrameError> {
        if !addr.is_multiple_of(FRAME_SIZE)
            || addr < self.base
            || (addr - self.base) / FRAME_SIZE >= self.frames
        {
            return Err(FrameError::NotManaged(addr));
        }
        Ok((addr - self.base) / FRAME_SIZE)
    }

    fn is_set(&self, frame: u64) -> bool {
        self.bits[(frame / 64) as usize] & (1 << (frame % 64)) != 0
    }

    fn set(&mut self, frame: u64, used: bool) {
        let word = &mut self.bits[(frame / 64) as usize];
        if used {
            *word |= 1 << (frame % 64);
        } else {
            *word &= !(1 << (frame % 64));
        }
    }

    /// Marks the whole frames inside `[start, end)` free (usable RAM).
    /// Frames outside the covered range are ignored; returns how many were
    /// added.
    pub fn add_free(&mut self, start: u64, end: u64) -> u64 {
        let first = start.div_ceil(FRAME_SIZE) * FRAME_SIZE;
        let mut added = 0;
        let mut addr = first;
        while addr + FRAME_SIZE <= end {
            if let Ok(frame) = self.index(addr) {
                if !self.is_ram(frame) {
                    self.ram[(frame / 64) as usize] |= 1 << (frame % 64);
                    self.set(frame, false);
                    self.free += 1;
                    added += 1;
                }
            }
            addr += FRAME_SIZE;
        }
        added
    }

    /// Marks a range used that is not to be handed out (e.g. the bitmap
    /// itself). Returns how many free frames it took.
    pub fn reserve(&mut self, start: u64, end: u64) -> u64 {
        let mut taken = 0;
        let mut addr = start / FRAME_SIZE * FRAME_SIZE;
        while addr < end {
            if let Ok(frame) = self.index(addr) {
                if !self.is_set(frame) {
                    self.set(frame, true);
                    self.free -= 1;
                    taken += 1;
                }
            }
            addr += FRAME_SIZE;
        }
        taken
    }

    /// Allocates one frame and returns its physical address.
    pub fn alloc(&mut self) -> Result<u64, FrameError> {
        let words = self.bits.len();
        for step in 0..words {
            let i = (self.cursor + step) % words;
            let word = self.bits[i];
            if word != u64::MAX {
                let bit = (!word).trailing_zeros() as u64;
                self.bits[i] |= 1 << bit;
                self.free -= 1;
                self.cursor = i;
                return Ok(self.base + (i as u64 * 64 + bit) * FRAME_SIZE);
            }
        }
        Err(FrameError::OutOfMemory)
    }

    /// Allocates `count` physically contiguous frames whose first address is
    /// a multiple of `align` (a power of two ≥ 4 KiB); returns that address.
    pub fn alloc_contiguous(&mut self, count: u64, align: u64) -> Result<u64, FrameError> {
        let step = (align / FRAME_SIZE).max(1);
        let mut frame = (self.base.div_ceil(align) * align - self.base) / FRAME_SIZE;
        while frame + count <= self.frames {
            match (frame..frame + count).find(|&f| self.is_set(f)) {
                None => {
                    for f in frame..frame + count {
                        self.set(f, true);
                    }
                    self.free -= count;
                    return Ok(self.base + frame * FRAME_SIZE);
                }
                Some(used) => frame = (used / step + 1) * step,
            }
        }
        Err(FrameError::OutOfMemory)
    }

    /// Frees one frame. Fails if it is not allocated or not managed.
    pub fn free(&mut self, addr: u64) -> Result<(), FrameError> {
        let frame = self.index(addr)?;
        if !self.is_set(frame) || !self.is_ram(frame) {
            return Err(FrameError::NotAllocated(addr));
        }
        self.set(frame, false);
        self.free += 1;
        Ok(())
    }

    pub fn free_frames(&self) -> u64 {
        self.free
    }

    /// Takes every free frame except the highest `keep` — at most `limit`
    /// of them — as runs of contiguous frames (base address, frames),
    /// lowest first: the memory the kernel hands to user space. The frames
    /// count as allocated from then on; the `keep` highest stay free for
    /// the kernel.
    pub fn take_runs(&mut self, keep: u64, limit: u64) -> alloc::vec::Vec<(u64, u64)> {
        // The boundary: below it everything free goes, from it up the
        // kernel keeps `keep` free frames.
        let mut kept = 0;
        let mut boundary = self.frames;
        while boundary > 0 && kept < keep {
            boundary -= 1;
            if !self.is_set(boundary) {
                kept += 1;
            }
        }
        let mut runs = alloc::vec::Vec::new();
        let mut frame = 0;
        let mut taken = 0;
        while frame < boundary && taken < limit {
            if self.is_set(frame) {
                frame += 1;
                continue;
            }
            let start = frame;
            while frame < boundary && !self.is_set(frame) && taken < limit {
                taken += 1;
                self.set(frame, true);
                frame += 1;
            }
            self.free -= frame - start;
            runs.push((self.base + start * FRAME_SIZE, frame - start));
        }
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const MIB: u64 = 1 << 20;

    #[test]
    fn hands_out_only_free_ram_and_takes_it_back() {
        let mut bits = vec![0; FrameAllocator::words_needed(0, 8 * MIB)];
        let mut frames = FrameAllocator::new(&mut bits, 0);
        assert_eq!(frames.add_free(0x1000, 0xa0000), 159);
        assert_eq!(
            frames.add_free(MIB + 0x800, 2 * MIB),
            255,
            "a partial first frame is left out"
        );
        assert_eq!(frames.free_frames(), 414);

        let mut seen = HashSet::new();
        while let Ok(addr) = frames.alloc() {
            assert!(seen.insert(addr), "{addr:#x} handed out twice");
            assert!((0x1000..0xa0000).contains(&addr) || (MIB + 0x1000..2 * MIB).contains(&addr));
        }
        assert_eq!(seen.len(), 414);
        assert_eq!(frames.free_frames(), 0);
        for addr in &seen {
            frames.free(*addr).unwrap();
        }
        assert_eq!(frames.free_frames(), 414, "back to where it started");
    }

    #[test]
    fn refuses_bad_frees() {
        let mut bits = vec![0; 4];
        let mut frames = FrameAllocator::new(&mut bits, MIB);
        frames.add_free(MIB, MIB + 64 * FRAME_SIZE);
        let a = frames.alloc().unwrap();
        frames.free(a).unwrap();
        assert_eq!(
            frames.free(a),
            Err(FrameError::NotAllocated(a)),
            "double free"
        );
        assert_eq!(frames.free(0), Err(FrameError::NotManaged(0)));
        assert_eq!(frames.free(MIB + 1), Err(FrameError::NotManaged(MIB + 1)));
        assert_eq!(
            frames.free(MIB + 200 * FRAME_SIZE),
            Err(FrameError::NotManaged(MIB + 200 * FRAME_SIZE))
        );
        // A frame that was never RAM (past the added range) cannot be freed.
        let hole = MIB + 100 * FRAME_SIZE;
        assert_eq!(frames.free(hole), Err(FrameError::NotAllocated(hole)));
    }

    #[test]
    fn reserve_and_contiguous_runs() {
        let mut bits = vec![0; 8];
        let mut frames = FrameAllocator::new(&mut bits, 0);
        frames.add_free(0, 256 * FRAME_SIZE);
        assert_eq!(frames.reserve(0, 3 * FRAME_SIZE), 3);
        let run = frames.alloc_contiguous(16, 64 * 1024).unwrap();
        assert_eq!(run % (64 * 1024), 0);
        assert_eq!(
            run,
            64 * 1024,
            "the first aligned run past the reserved frames"
        );
        assert_eq!(frames.free_frames(), 256 - 3 - 16);
        assert_eq!(
            frames.alloc_contiguous(300, FRAME_SIZE),
            Err(FrameError::OutOfMemory)
        );
        for f in 0..16 {
            frames.free(run + f * FRAME_SIZE).unwrap();
        }
        assert_eq!(frames.free_frames(), 256 - 3);
    }

    #[test]
    fn take_runs_hands_out_all_but_the_highest_kept_frames() {
        let mut bits = vec![0; 8];
        let mut frames = FrameAllocator::new(&mut bits, MIB);
        frames.add_free(MIB, MIB + 100 * FRAME_SIZE);
        frames.add_free(MIB + 120 * FRAME_SIZE, MIB + 200 * FRAME_SIZE);
        let used = frames.alloc().unwrap();
        assert_eq!(used, MIB, "the first frame is taken");
        let runs = frames.take_runs(30, u64::MAX);
        assert_eq!(
            runs,
            [(MIB + FRAME_SIZE, 99), (MIB + 120 * FRAME_SIZE, 50)],
            "a hole and an allocated frame split the runs; the top 30 stay"
        );
        assert_eq!(frames.free_frames(), 30);
        let kept = frames.alloc().unwrap();
        assert!(
            kept >= MIB + 170 * FRAME_SIZE,
            "the kernel keeps the highest frames"
        );
        assert!(
            frames.take_runs(100, u64::MAX).is_empty(),
            "fewer free than kept: nothing to give"
        );
        assert_eq!(frames.free_frames(), 29);
        // A run's frames are allocated: freeing one is allowed (a handback).
        frames.free(MIB + FRAME_SIZE).unwrap();
    }

    #[test]
    fn take_runs_stops_at_the_limit() {
        let mut bits = vec![0; 8];
        let mut frames = FrameAllocator::new(&mut bits, 0);
        frames.add_free(0, 100 * FRAME_SIZE);
        assert_eq!(frames.take_runs(10, 25), [(0, 25)]);
        assert_eq!(frames.free_frames(), 75);
        assert_eq!(
            frames.take_runs(10, u64::MAX),
            [(25 * FRAME_SIZE, 65)],
            "the rest, but the kept"
        );
        assert_eq!(frames.free_frames(), 10);
    }

    #[test]
    fn random_alloc_free_conserves_frames() {
        let mut bits = vec![0; 32];
        let mut frames = FrameAllocator::new(&mut bits, 0);
        let total = frames.add_free(0, 1024 * FRAME_SIZE);
        let mut held = Vec::new();
        let mut seed = 7u64;
        for _ in 0..10_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if seed >> 63 == 0 || held.is_empty() {
                if let Ok(a) = frames.alloc() {
                    assert!(!held.contains(&a));
                    held.push(a);
                }
            } else {
                let i = (seed >> 33) as usize % held.len();
                frames.free(held.swap_remove(i)).unwrap();
            }
            assert_eq!(frames.free_frames() + held.len() as u64, total);
        }
    }
}
