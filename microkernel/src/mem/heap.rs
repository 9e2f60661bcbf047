//! The kernel heap: `Box`, `Vec` and `Arc` for kernel objects.
//!
//! A first-fit free-list allocator (the `linked_list_allocator` crate, the
//! one blog_os teaches with: small, well kept, and enough for a kernel that
//! allocates only when objects are created or destroyed, never on the IPC
//! or system-call fast paths) over a virtual region of its own,
//! [`kspace::HEAP_BASE`]. The heap starts at [`INITIAL`] bytes and grows by
//! mapping fresh frames at its top when an allocation does not fit, so it
//! is never larger than what the kernel has used at its peak.
//!
//! Interrupt handlers never allocate, and the kernel runs with interrupts
//! off, so the spin lock is never taken twice on one CPU.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use libsys::abi::PAGE_SIZE;

use linked_list_allocator::Heap;
use spin::Mutex;

use crate::mem::kspace;

/// Mapped at start: 1 MiB.
const INITIAL: u64 = 1 << 20;
/// The least the heap grows by at a time: 256 KiB.
const GROW_MIN: u64 = 256 << 10;

pub struct KernelHeap(Mutex<Option<Heap>>);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(Mutex::new(None));

/// Maps the first [`INITIAL`] bytes of the heap region and starts the heap.
pub fn init() -> Result<(), kspace::MapError> {
    kspace::map_fresh(kspace::HEAP_BASE, INITIAL / PAGE_SIZE)?;
    let mut heap = Heap::empty();
    // SAFETY: the region was just mapped, writable, and is used by nothing
    // else; it stays mapped for the kernel's lifetime.
    unsafe { heap.init(kspace::HEAP_BASE as *mut u8, INITIAL as usize) };
    *HEAP.0.lock() = Some(heap);
    Ok(())
}

/// Bytes the heap has mapped, and bytes in use.
pub fn usage() -> (u64, u64) {
    HEAP.0
        .lock()
        .as_ref()
        .map_or((0, 0), |h| (h.size() as u64, h.used() as u64))
}

/// Maps more pages at the heap's top, enough for `layout` at least.
fn grow(heap: &mut Heap, layout: Layout) -> bool {
    let want = (layout.size() + layout.align()) as u64 + 64;
    let bytes = want.max(GROW_MIN).div_ceil(PAGE_SIZE) * PAGE_SIZE;
    let top = heap.top() as u64;
    if top + bytes > kspace::HEAP_BASE + kspace::HEAP_LIMIT {
        return false;
    }
    if kspace::map_fresh(top, bytes / PAGE_SIZE).is_err() {
        return false;
    }
    // SAFETY: the pages right above the heap's top were just mapped and
    // belong to the heap from now on.
    unsafe { heap.extend(bytes as usize) };
    true
}

// SAFETY: the heap hands out each block once (linked_list_allocator keeps
// its own free list), under the lock; blocks are only returned by dealloc.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut guard = self.0.lock();
        let Some(heap) = guard.as_mut() else {
            return core::ptr::null_mut();
        };
        loop {
            if let Ok(block) = heap.allocate_first_fit(layout) {
                return block.as_ptr();
            }
            if !grow(heap, layout) {
                return core::ptr::null_mut();
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let (Some(heap), Some(block)) = (self.0.lock().as_mut(), NonNull::new(ptr)) {
            // SAFETY: the caller returns a block this allocator handed out
            // with this layout (GlobalAlloc's contract).
            unsafe { heap.deallocate(block, layout) };
        }
    }
}
