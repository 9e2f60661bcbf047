//! Threads of this process.
//!
//! [`spawn`] starts a closure on a new thread (stack and IPC buffer from
//! the heap) and returns a [`JoinHandle`]; [`spawn_raw`] starts an
//! `extern "C"` entry on a stack from a [`Memory`], for programs without a
//! heap. A spawned thread's last act — signalling its joiner and exiting —
//! is two system calls in one assembly block that does not touch the
//! stack, so a joiner may free the stack as soon as it is told.

use alloc::boxed::Box;

use crate::abi::ipc::FOREVER;
use crate::abi::{Handle, SysError, Syscall, PAGE_SIZE};
use crate::handle::{Notification, Process, Thread};
use crate::mem::Memory;

/// Stack pages of a thread: 64 KiB.
pub const STACK_PAGES: u64 = 16;
const STACK_BYTES: usize = (STACK_PAGES * PAGE_SIZE) as usize;

/// Starts a thread of `process` (this one, through a handle with MANAGE)
/// at `entry(arg, buffer)` on a fresh stack, where `buffer` is a fresh IPC
/// buffer page for it to register.
pub fn spawn_raw(
    mem: &mut Memory,
    process: &Process,
    entry: extern "C" fn(u64, u64) -> !,
    arg: u64,
) -> Result<Thread, SysError> {
    let (_, stack) = mem.alloc_mapped(STACK_PAGES)?;
    let (_, buffer) = mem.alloc_mapped(1)?;
    let thread = process.thread_create()?;
    // The entry sees an empty stack with a zero return address.
    let top = stack + STACK_PAGES * PAGE_SIZE - 8;
    thread.start(entry as *const () as u64, top, arg, buffer)?;
    Ok(thread)
}

/// Ends the calling thread.
pub fn exit() -> ! {
    let _ = crate::syscall::call6(Syscall::ThreadExit, [0; 6]);
    unreachable!("thread_exit returned")
}

/// A page-aligned page: a thread's IPC buffer.
#[repr(C, align(4096))]
struct Page([u8; PAGE_SIZE as usize]);
const _: () = assert!(core::mem::align_of::<Page>() == PAGE_SIZE as usize);

/// A thread's stack.
#[repr(C, align(16))]
struct Stack([u8; STACK_BYTES]);

/// What a new thread is handed.
struct Start {
    body: Box<dyn FnOnce() + Send>,
    done: u32,
}

/// A started thread: [`JoinHandle::join`] waits for it to end and frees
/// its stack. Dropping the handle without joining leaves the thread
/// running (its stack is then never freed).
pub struct JoinHandle {
    pub thread: Thread,
    done: Notification,
    stack: Option<Box<Stack>>,
    buffer: Option<Box<Page>>,
}

impl JoinHandle {
    /// Waits for the thread to end.
    pub fn join(mut self) -> Result<(), SysError> {
        self.done.wait(FOREVER)?;
        drop(self.stack.take());
        drop(self.buffer.take());
        Ok(())
    }
}

impl Drop for JoinHandle {
    fn drop(&mut self) {
        // Not joined: the thread may still run on these; leak them.
        if let Some(stack) = self.stack.take() {
            core::mem::forget(stack);
        }
        if let Some(buffer) = self.buffer.take() {
            core::mem::forget(buffer);
        }
    }
}

extern "C" fn trampoline(arg: u64, buffer: u64) -> ! {
    // On this thread's stack, which lives until the thread has exited.
    let local = crate::ipc::ThreadLocal::new();
    // SAFETY: this frame never returns (the thread exits below).
    let _ = unsafe { crate::ipc::adopt(&local, buffer) };
    // SAFETY: `spawn` passed a pointer from `Box::into_raw`, once.
    let start = unsafe { Box::from_raw(arg as *mut Start) };
    let Start { body, done } = *start;
    body();
    // Keeps `local` (and its stack slot) alive up to the exit.
    core::hint::black_box(&local);
    signal_and_exit(done)
}

/// Signals bit 1 of notification `done`, then ends the thread, without
/// touching the stack in between.
fn signal_and_exit(done: u32) -> ! {
    // SAFETY: two system calls with register arguments only; after the
    // second the thread is gone.
    unsafe {
        core::arch::asm!(
            "syscall",
            "mov eax, {exit}",
            "syscall",
            "ud2",
            exit = const Syscall::ThreadExit as u32,
            in("rax") Syscall::Signal as u64,
            in("rdi") u64::from(done),
            in("rsi") 1u64,
            options(noreturn),
        )
    }
}

/// Starts `body` on a new thread of this process (which must have been
/// given a handle to itself: `@self`, see [`crate::env`]).
pub fn spawn(body: impl FnOnce() + Send + 'static) -> Result<JoinHandle, SysError> {
    let me = crate::env::self_process().ok_or(SysError::BadHandle)?;
    // SAFETY: the process's own handle, kept open (ManuallyDrop).
    let process = core::mem::ManuallyDrop::new(unsafe { Process::from_raw(me) });
    let done = Notification::create()?;
    let stack: Box<Stack> = Box::try_new_zeroed_stack()?;
    let buffer: Box<Page> = Box::new(Page([0; PAGE_SIZE as usize]));
    let thread = process.thread_create()?;
    let start = Box::into_raw(Box::new(Start {
        body: Box::new(body),
        done: done.raw().0,
    }));
    let top = stack.0.as_ptr() as u64 + STACK_BYTES as u64 - 8;
    if let Err(e) = thread.start(
        trampoline as *const () as u64,
        top,
        start as u64,
        buffer.0.as_ptr() as u64,
    ) {
        // SAFETY: the thread never started: the box is still ours.
        drop(unsafe { Box::from_raw(start) });
        return Err(e);
    }
    Ok(JoinHandle {
        thread,
        done,
        stack: Some(stack),
        buffer: Some(buffer),
    })
}

trait ZeroedStack {
    fn try_new_zeroed_stack() -> Result<Box<Stack>, SysError>;
}

impl ZeroedStack for Box<Stack> {
    /// A zeroed stack straight on the heap (a 64 KiB value would not fit
    /// on the caller's stack on the way there).
    fn try_new_zeroed_stack() -> Result<Box<Stack>, SysError> {
        let layout = core::alloc::Layout::new::<Stack>();
        // SAFETY: the layout is the type's; zeroed bytes are a valid Stack.
        unsafe {
            let raw = alloc::alloc::alloc_zeroed(layout) as *mut Stack;
            if raw.is_null() {
                return Err(SysError::NoMemory);
            }
            Ok(Box::from_raw(raw))
        }
    }
}

/// A handle to this thread's process, for code that has one.
pub fn self_process() -> Option<Handle> {
    crate::env::self_process()
}
