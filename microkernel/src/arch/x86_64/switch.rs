//! The context switch: moving the CPU from one thread's kernel stack to
//! another's.
//!
//! A thread that gives up the CPU is always inside the kernel (in
//! `sched::schedule`), so only the callee-saved registers (rbx, rbp,
//! r12–r15) and the stack pointer need saving; everything else was saved by
//! the compiler around the call, and the user registers sit in the trap
//! frame at the top of the thread's kernel stack. `switch_context` pushes
//! the callee-saved registers, stores RSP into the old thread's context,
//! loads the new thread's, pops its registers and returns on its stack.
//!
//! A new thread's stack is prepared to look like one that switched away
//! (see [`prepare`]): its "return address" is `thread_start`, which calls
//! the function `prepare` was given — the scheduler's after-switch work,
//! left in the saved rbx — and then leaves through the trap return path
//! with the frame the thread was created with. (The scheduler hands the
//! function in, so this layer names nothing above it.)

use core::arch::global_asm;

use super::trap::TrapFrame;

global_asm!(
    ".section .text",
    ".global switch_context",
    ".balign 16",
    "switch_context:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "mov [rdi], rsp",
    "mov rsp, rsi",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    "",
    ".global thread_start",
    "thread_start:",
    "call rbx",
    "jmp trap_return",
);

unsafe extern "C" {
    /// Saves the current context's stack pointer at `*save` and resumes the
    /// context whose stack pointer is `resume`.
    pub fn switch_context(save: *mut u64, resume: u64);
    fn thread_start();
}

/// Callee-saved registers pushed by `switch_context`, and its return
/// address.
const SWITCH_FRAME_WORDS: u64 = 7;
/// Where rbx sits in the switch frame (pushed after rbp: `pop rbx` is the
/// fifth pop).
const SWITCH_FRAME_RBX: usize = 4;

/// Lays out a new thread's kernel stack, whose top is `top`: the trap frame
/// it will leave the kernel with at the very top, and below it a switch
/// frame that returns into `thread_start`, which calls `entry` first.
/// Returns the stack pointer to resume the thread with.
///
/// # Safety
/// `top` must be the top of a mapped kernel stack that no one runs on.
pub unsafe fn prepare(top: u64, frame: TrapFrame, entry: extern "C" fn()) -> u64 {
    let frame_at = top - core::mem::size_of::<TrapFrame>() as u64;
    let switch_at = frame_at - SWITCH_FRAME_WORDS * 8;
    // SAFETY: both ranges lie inside the stack, which is ours (contract).
    unsafe {
        (frame_at as *mut TrapFrame).write(frame);
        let words = switch_at as *mut u64;
        for i in 0..6 {
            words.add(i).write(0);
        }
        words.add(SWITCH_FRAME_RBX).write(entry as *const () as u64);
        words.add(6).write(thread_start as *const () as u64);
    }
    switch_at
}
