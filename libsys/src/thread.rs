//! Threads of this process, started on a stack from a [`Memory`] (raw:
//! an `extern "C"` entry and one argument; closures and thread-local data
//! come with the heap).

use crate::abi::SysError;
use crate::handle::{Process, Thread};
use crate::mem::Memory;

/// Stack pages of a thread started here: 64 KiB.
pub const STACK_PAGES: u64 = 16;

/// Starts a thread of `process` (this one, through a handle with MANAGE)
/// at `entry(arg)`, on a fresh stack; its IPC buffer (a fresh page) is
/// passed as the second argument, for it to register. Returns the thread.
pub fn spawn(
    mem: &mut Memory,
    process: &Process,
    entry: extern "C" fn(u64, u64) -> !,
    arg: u64,
) -> Result<Thread, SysError> {
    let (_, stack) = mem.alloc_mapped(STACK_PAGES)?;
    let (_, buffer) = mem.alloc_mapped(1)?;
    let thread = process.thread_create()?;
    // The entry sees an empty stack with a zero return address.
    let top = stack + STACK_PAGES * 4096 - 8;
    thread.start(entry as usize as u64, top, arg, buffer)?;
    Ok(thread)
}

/// Ends the calling thread.
pub fn exit() -> ! {
    let _ = crate::syscall::call6(crate::abi::Syscall::ThreadExit, [0; 6]);
    unreachable!("thread_exit returned")
}
