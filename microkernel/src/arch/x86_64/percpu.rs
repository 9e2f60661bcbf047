//! Per-CPU data, reached through the GS segment base.
//!
//! While the CPU runs kernel code, `GS.base` points at this CPU's
//! [`PerCpu`]; while it runs user code, the pointer waits in
//! `IA32_KERNEL_GS_BASE` and `GS.base` is the user's (0). Every entry from
//! user mode (the `syscall` entry and the trap stubs, when the interrupted
//! CS is a user one) starts with `swapgs`, and every return to user mode
//! ends with one. The `syscall` entry needs this: it arrives with the user's
//! stack pointer and no free register, and finds the kernel stack at
//! `gs:[KERNEL_RSP]`.
//!
//! There is one CPU today; the layout is per CPU so that more can come.

use core::cell::UnsafeCell;

use x86_64::registers::model_specific::{GsBase, KernelGsBase};
use x86_64::VirtAddr;

/// Offsets the assembly uses; checked against the struct below.
pub const KERNEL_RSP: usize = 8;
pub const USER_RSP: usize = 16;

#[repr(C)]
pub struct PerCpu {
    /// The struct's own address (gs:[0]), so Rust code can find it.
    self_ptr: u64,
    /// Top of the current thread's kernel stack: where a system call's
    /// frame goes.
    kernel_rsp: u64,
    /// The user stack pointer, saved by the `syscall` entry for a moment.
    user_rsp: u64,
}

const _: () = assert!(core::mem::offset_of!(PerCpu, kernel_rsp) == KERNEL_RSP);
const _: () = assert!(core::mem::offset_of!(PerCpu, user_rsp) == USER_RSP);

struct Storage(UnsafeCell<PerCpu>);

// SAFETY: each CPU touches only its own PerCpu (there is one CPU), with
// interrupts disabled in the kernel.
unsafe impl Sync for Storage {}

static CPU0: Storage = Storage(UnsafeCell::new(PerCpu {
    self_ptr: 0,
    kernel_rsp: 0,
    user_rsp: 0,
}));

/// Points GS at this CPU's data (the kernel's view).
pub fn init() {
    let this = CPU0.0.get();
    // SAFETY: boot time, before any user code or system call: nothing else
    // reads the struct.
    unsafe { (*this).self_ptr = this as u64 };
    GsBase::write(VirtAddr::new(this as u64));
    KernelGsBase::write(VirtAddr::new(0));
}

/// Sets the stack the next entry from user mode lands on.
pub fn set_kernel_rsp(top: u64) {
    // SAFETY: only this CPU writes its PerCpu, with interrupts disabled;
    // the `syscall` entry reads it only on this CPU.
    unsafe { (*CPU0.0.get()).kernel_rsp = top };
}
