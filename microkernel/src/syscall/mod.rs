//! System-call dispatch: from the saved registers to a handler and back.
//!
//! The numbers and error codes are `libsys::abi`'s, the one definition
//! both sides share. [`TABLE`] holds one handler per [`Syscall`], built at
//! compile time from an exhaustive `match` (a call without a handler does
//! not compile) and indexed by the number in `rax`: an unknown number is a
//! bounds check and `UnknownSyscall`, never a fault.
//!
//! Each handler follows seL4's decode-then-invoke discipline: it reads its
//! arguments from the frame into a typed struct, checks every one of them
//! (levels, lengths, user pointers through `usercopy`), and only then acts;
//! a failed check returns its error and changes nothing. The result goes
//! back in `rax` (0 or the error code) and `rdx` (the value).
//!
//! On the way out, a thread that was killed meanwhile exits instead of
//! returning, and a pending reschedule (a wake-up, the tick) is honoured.

mod misc;
mod task;

use libsys::abi::{encode_result, SysError, Syscall};

use crate::arch::x86_64::trap::TrapFrame;
use crate::process;
use crate::sched;

/// A handler: the saved user registers in, the call's result out.
type Handler = fn(&mut TrapFrame) -> Result<u64, SysError>;

const fn handler(call: Syscall) -> Handler {
    match call {
        Syscall::Null => misc::null,
        Syscall::Log => misc::log,
        Syscall::Exit => task::exit,
        Syscall::Yield => task::yield_now,
        Syscall::Clock => misc::clock,
        Syscall::LogRead => misc::log_read,
    }
}

const CALLS: usize = Syscall::ALL.len();

/// The dispatch table, in number order.
static TABLE: [Handler; CALLS] = {
    let mut table = [misc::null as Handler; CALLS];
    let mut i = 0;
    while i < CALLS {
        // Numbers are dense from 0, so the number is the index.
        assert!(
            Syscall::ALL[i] as usize == i,
            "system-call numbers must be 0..N in order"
        );
        table[i] = handler(Syscall::ALL[i]);
        i += 1;
    }
    table
};

/// Entered from the `syscall` entry with the caller's registers.
pub extern "C" fn dispatch(frame: &mut TrapFrame) {
    let result = match TABLE.get(frame.rax as usize) {
        Some(handler) => handler(frame),
        None => Err(SysError::UnknownSyscall),
    };
    let (status, value) = encode_result(result);
    frame.rax = status;
    frame.rdx = value;
    process::exit_if_killed();
    sched::preempt_point();
}

/// The calling thread's process, for handlers that need its memory. Only
/// user threads make system calls.
fn caller() -> Result<alloc::sync::Arc<process::Process>, SysError> {
    sched::current()
        .and_then(|t| t.process.clone())
        .ok_or(SysError::InvalidArgument)
}
