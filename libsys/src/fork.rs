//! `fork` in the calling process: the registers it returns with, twice.
//!
//! The parent's half runs in [`fork_with`]: the trampoline
//! `libsys_fork_enter` pushes the callee-saved registers, records the
//! stack pointer in a [`ForkContext`] on the caller's stack and calls the
//! parent's steps (the process server's `Fork`, `mm`'s `ForkAs`, then
//! `ForkStart`). `ForkAs` copies the address space copy-on-write *after*
//! the context was written, so the child's copy of the stack holds the
//! same context and the same pushed registers. The child's first thread
//! starts at `libsys_fork_child` on that very stack pointer with the
//! context's address in `rdi` and its `mm` handle in `rsi`; it sets up
//! what is per process in libsys ([`child_init`]: its thread-local block
//! and IPC buffer, `@ns`, `@self`, the `mm` handle, and the servers
//! looked up by the parent, whose handle numbers name nothing in the
//! child), pops the registers and returns 0 where the parent returns the
//! child's pid.
//!
//! The child has one thread (the one that forked, as POSIX says); a lock
//! another thread of the parent held at the fork stays held in the child.

use core::arch::global_asm;

use crate::abi::{Handle, IPC_BUFFER_ADDR};

/// What the child's first thread needs from before the copy. `rsp` is
/// written by the trampoline, the rest by the parent's steps before
/// `ForkAs`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct ForkContext {
    /// The stack pointer the child starts with (16-byte aligned).
    pub rsp: u64,
    /// The child's `@ns` and `@self` numbers (0: none).
    pub ns: u64,
    pub me: u64,
}

global_asm!(
    ".globl libsys_fork_enter",
    "libsys_fork_enter:",
    "push rbx",
    "push rbp",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "sub rsp, 8",
    "mov [rdi], rsp",
    "call rsi",
    "add rsp, 8",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbp",
    "pop rbx",
    "ret",
    ".globl libsys_fork_child",
    "libsys_fork_child:",
    "call {init}",
    "xor eax, eax",
    "add rsp, 8",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbp",
    "pop rbx",
    "ret",
    init = sym child_init,
);

extern "C" {
    fn libsys_fork_enter(
        ctx: *mut ForkContext,
        parent: extern "C" fn(*mut ForkContext) -> i64,
    ) -> i64;
    fn libsys_fork_child();
}

/// Where the child's first thread starts.
pub fn child_entry() -> u64 {
    libsys_fork_child as *const () as u64
}

/// Runs `parent(ctx)` (which must make the child start at
/// [`child_entry`] with `ctx.rsp`, `ctx` and its `mm` handle, and return
/// its pid, or a negative errno) and returns what it returned — in the
/// parent. In the child, returns 0.
pub fn fork_with(parent: extern "C" fn(*mut ForkContext) -> i64) -> i64 {
    let mut ctx = ForkContext::default();
    // SAFETY: the trampoline saves and restores every callee-saved
    // register around `parent` as a normal call does; in the child, the
    // same registers come back from the copy of this stack, untouched
    // since the copy was taken below this frame.
    unsafe { libsys_fork_enter(&mut ctx, parent) }
}

/// The child's libsys, set up again before it returns from `fork`.
extern "C" fn child_init(ctx: *const ForkContext, mm: u64) {
    static CHILD_THREAD: crate::ipc::ThreadLocal = crate::ipc::ThreadLocal::new();
    // SAFETY: a static, the child's only thread's; its IPC buffer page
    // is the copy `mm`'s `ForkAs` made at the same address.
    let _ = unsafe { crate::ipc::adopt(&CHILD_THREAD, IPC_BUFFER_ADDR) };
    // SAFETY: `ctx` points at the context in the copy of the parent's
    // stack, written before the copy (see the module documentation).
    let ctx = unsafe { core::ptr::read_volatile(ctx) };
    crate::env::after_fork(ctx.ns as u32, ctx.me as u32);
    crate::mm::set_server(Handle(mm as u32));
    crate::time::after_fork();
    crate::posix::after_fork();
}
