//! Physical memory: the frame allocator over the memory map's RAM.
//!
//! The allocator (`kcore::frames`) covers the span from the lowest to the
//! highest usable or bootloader-reclaimable byte, with its two bitmaps at
//! the start of the first usable region large enough, reached through the
//! HHDM. It starts with the `usable` entries only: bootloader-reclaimable
//! memory still holds the loader's page tables, the boot stack and the
//! responses. Once the kernel runs on its own page tables and stack and has
//! copied the responses, [`reclaim`] adds those entries too.
//!
//! Every frame the kernel takes for a process (its page tables, its pages,
//! its threads' kernel stacks) is counted against that process, so the
//! self-test can check that a process's death gives back everything.

use kcore::frames::{FrameAllocator, FrameError, FRAME_SIZE};
use libsys::abi::PAGE_SIZE;
use limine::memory_map::EntryType;
use spin::Mutex;

use crate::arch::bootinfo::MemoryEntry;

static FRAMES: Mutex<Option<FrameAllocator<'static>>> = Mutex::new(None);

/// What `init` set up, for the banner.
pub struct Summary {
    pub free_frames: u64,
    pub bitmap_phys: u64,
    pub bitmap_bytes: u64,
}

fn is_allocatable(kind: EntryType) -> bool {
    kind == EntryType::USABLE || kind == EntryType::BOOTLOADER_RECLAIMABLE
}

/// Builds the frame allocator from the memory map, with the usable entries
/// free. Fails (with the reason) when there is no usable memory.
pub fn init(
    map: impl Iterator<Item = MemoryEntry> + Clone,
    hhdm: u64,
) -> Result<Summary, &'static str> {
    let covered = map.clone().filter(|e| is_allocatable(e.entry_type));
    let lowest = covered
        .clone()
        .map(|e| e.base)
        .min()
        .ok_or("no usable memory")?;
    let highest = covered.map(|e| e.end()).max().ok_or("no usable memory")?;
    let words = FrameAllocator::words_needed(lowest, highest);
    let bytes = (words as u64 * 8).div_ceil(FRAME_SIZE) * FRAME_SIZE;
    let usable = map.clone().filter(|e| e.entry_type == EntryType::USABLE);
    let bitmap = usable
        .clone()
        .find(|e| e.length >= bytes)
        .ok_or("no usable region holds the frame bitmap")?;

    // SAFETY: the range is usable RAM (so the HHDM maps it and nothing else
    // uses it), page-aligned, and from now on belongs to the allocator alone:
    // it is reserved below so it is never handed out.
    let bits = unsafe { core::slice::from_raw_parts_mut((hhdm + bitmap.base) as *mut u64, words) };
    let mut frames = FrameAllocator::new(bits, lowest);
    for entry in usable {
        frames.add_free(entry.base, entry.end());
    }
    frames.reserve(bitmap.base, bitmap.base + bytes);
    let free_frames = frames.free_frames();
    *FRAMES.lock() = Some(frames);
    Ok(Summary {
        free_frames,
        bitmap_phys: bitmap.base,
        bitmap_bytes: bytes,
    })
}

/// Hands the bootloader-reclaimable entries to the allocator; returns how
/// many frames that added.
///
/// # Safety
/// Nothing may use bootloader-reclaimable memory any more: not the loader's
/// page tables (CR3 points at the kernel's own), not the boot stack, not the
/// Limine responses (copied into [`crate::arch::bootinfo::BootInfo`]).
pub unsafe fn reclaim(map: impl Iterator<Item = MemoryEntry>) -> u64 {
    let mut guard = FRAMES.lock();
    let Some(frames) = guard.as_mut() else {
        return 0;
    };
    map.filter(|e| e.entry_type == EntryType::BOOTLOADER_RECLAIMABLE)
        .map(|e| frames.add_free(e.base, e.end()))
        .sum()
}

/// Allocates one 4 KiB frame; returns its physical address.
pub fn alloc_frame() -> Result<u64, FrameError> {
    FRAMES
        .lock()
        .as_mut()
        .ok_or(FrameError::OutOfMemory)?
        .alloc()
}

/// Allocates one frame and fills it with zeros.
pub fn alloc_zeroed_frame() -> Result<u64, FrameError> {
    let frame = alloc_frame()?;
    // SAFETY: the frame is RAM the HHDM maps, just allocated: ours alone.
    unsafe {
        core::ptr::write_bytes(
            crate::mem::kspace::phys_to_virt::<u8>(frame),
            0,
            PAGE_SIZE as usize,
        )
    };
    Ok(frame)
}

/// Frees a frame from `alloc_frame`; a double free is an error.
pub fn free_frame(addr: u64) -> Result<(), FrameError> {
    FRAMES
        .lock()
        .as_mut()
        .ok_or(FrameError::NotManaged(addr))?
        .free(addr)
}

/// Takes every free frame but the highest `keep` out of the allocator, as
/// runs (base, pages), for user space (see `boot::initproc`).
pub fn take_user_memory(keep: u64, limit: u64) -> alloc::vec::Vec<(u64, u64)> {
    FRAMES
        .lock()
        .as_mut()
        .map(|frames| frames.take_runs(keep, limit))
        .unwrap_or_default()
}

pub fn free_frames() -> u64 {
    FRAMES.lock().as_ref().map_or(0, |f| f.free_frames())
}
