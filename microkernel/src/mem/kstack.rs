//! Kernel stacks: one per thread, in the kernel-stack region of the kernel
//! half, each with unmapped pages below it.
//!
//! A thread runs on its kernel stack whenever it is in the kernel: on a
//! system call, an interrupt or an exception from user mode the CPU (or the
//! system-call entry) switches to the top of it. The stacks live in slots
//! of [`SLOT_SIZE`] bytes at [`kspace::STACKS_BASE`]; only the top
//! [`STACK_PAGES`] pages of a slot are mapped, so running off the bottom of
//! a stack hits an unmapped guard page (a page fault, then a double fault
//! on its own IST stack, which prints an oops) instead of silently
//! corrupting the neighbour.

use alloc::vec::Vec;
use libsys::abi::PAGE_SIZE;

use spin::Mutex;

use crate::mem::kspace;

/// Mapped pages per stack: 32 KiB.
pub const STACK_PAGES: u64 = 8;
/// Address space per stack, guard included: 64 KiB.
pub const SLOT_SIZE: u64 = 64 << 10;
/// Slots in the region (a 512 GiB PML4 entry holds far more; this bounds
/// the number of threads).
const MAX_SLOTS: usize = 16384;

struct Slots {
    /// Slots given back, reused first.
    free: Vec<usize>,
    /// Slots never used yet start here.
    next: usize,
}

static SLOTS: Mutex<Slots> = Mutex::new(Slots {
    free: Vec::new(),
    next: 0,
});

/// A kernel stack; unmapped and its frames freed when dropped.
#[derive(Debug)]
pub struct KernelStack {
    slot: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoMemory;

impl KernelStack {
    /// Maps a new stack. Fails when the frames or slots run out.
    pub fn new() -> Result<KernelStack, NoMemory> {
        let slot = {
            let mut slots = SLOTS.lock();
            match slots.free.pop() {
                Some(slot) => slot,
                None if slots.next < MAX_SLOTS => {
                    slots.next += 1;
                    slots.next - 1
                }
                None => return Err(NoMemory),
            }
        };
        let stack = KernelStack { slot };
        match kspace::map_fresh(stack.bottom(), STACK_PAGES) {
            Ok(()) => Ok(stack),
            // Dropping `stack` unmaps what is mapped and frees the slot.
            Err(_) => Err(NoMemory),
        }
    }

    /// The lowest mapped address.
    pub fn bottom(&self) -> u64 {
        self.top() - STACK_PAGES * PAGE_SIZE
    }

    /// One past the highest address: the initial stack pointer.
    pub fn top(&self) -> u64 {
        kspace::STACKS_BASE + (self.slot as u64 + 1) * SLOT_SIZE
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        kspace::unmap_and_free(self.bottom(), STACK_PAGES);
        SLOTS.lock().free.push(self.slot);
    }
}
