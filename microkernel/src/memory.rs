//! Physical memory: the frame allocator over the memory map's usable RAM.
//!
//! The allocator (`kcore::frames`) keeps its two bitmaps at the start of the
//! first usable region large enough, reached through the HHDM. Only `usable`
//! entries are handed out for now: bootloader-reclaimable memory still holds
//! the page tables, stack and responses the kernel runs on, and joins the
//! pool once the kernel has its own.

use kcore::frames::{FrameAllocator, FrameError, FRAME_SIZE};
use limine::memory_map::EntryType;
use spin::Mutex;

use crate::bootinfo::BootInfo;

static FRAMES: Mutex<Option<FrameAllocator<'static>>> = Mutex::new(None);

/// What `init` set up, for the banner.
pub struct Summary {
    pub free_frames: u64,
    pub bitmap_phys: u64,
    pub bitmap_bytes: u64,
}

/// Builds the frame allocator from the memory map. Fails (with the reason)
/// when there is no HHDM or no usable memory.
pub fn init(info: &BootInfo) -> Result<Summary, &'static str> {
    let hhdm = info.hhdm.ok_or("no HHDM response")?;
    let usable = || {
        info.memory_map
            .iter()
            .filter(|e| e.entry_type == EntryType::USABLE)
            .map(|e| (e.base, e.base + e.length))
    };
    let lowest = usable()
        .map(|(start, _)| start)
        .min()
        .ok_or("no usable memory")?;
    let highest = usable()
        .map(|(_, end)| end)
        .max()
        .ok_or("no usable memory")?;
    let words = FrameAllocator::words_needed(lowest, highest);
    let bytes = (words as u64 * 8).div_ceil(FRAME_SIZE) * FRAME_SIZE;
    let (bitmap_phys, _) = usable()
        .find(|(start, end)| end - start >= bytes)
        .ok_or("no usable region holds the frame bitmap")?;

    // SAFETY: the range is usable RAM (so the HHDM maps it and nothing else
    // uses it), page-aligned, and from now on belongs to the allocator alone:
    // it is reserved below so it is never handed out.
    let bits = unsafe { core::slice::from_raw_parts_mut((hhdm + bitmap_phys) as *mut u64, words) };
    let mut frames = FrameAllocator::new(bits, lowest);
    for (start, end) in usable() {
        frames.add_free(start, end);
    }
    frames.reserve(bitmap_phys, bitmap_phys + bytes);
    let free_frames = frames.free_frames();
    *FRAMES.lock() = Some(frames);
    Ok(Summary {
        free_frames,
        bitmap_phys,
        bitmap_bytes: bytes,
    })
}

/// Allocates one 4 KiB frame; returns its physical address.
pub fn alloc_frame() -> Result<u64, FrameError> {
    FRAMES
        .lock()
        .as_mut()
        .ok_or(FrameError::OutOfMemory)?
        .alloc()
}

/// Frees a frame from `alloc_frame`; a double free is an error.
pub fn free_frame(addr: u64) -> Result<(), FrameError> {
    FRAMES
        .lock()
        .as_mut()
        .ok_or(FrameError::NotManaged(addr))?
        .free(addr)
}

pub fn free_frames() -> u64 {
    FRAMES.lock().as_ref().map_or(0, |f| f.free_frames())
}
