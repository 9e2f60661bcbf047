//! `exit` and `yield`: the calls about the caller's own thread.

use libsys::abi::SysError;

use crate::arch::x86_64::trap::TrapFrame;
use crate::{process, sched};

/// `exit(status)`: ends the calling process. Does not return.
pub fn exit(frame: &mut TrapFrame) -> Result<u64, SysError> {
    process::exit_current(frame.rdi)
}

/// `yield()`: gives up the rest of the time slice.
pub fn yield_now(_: &mut TrapFrame) -> Result<u64, SysError> {
    sched::yield_current();
    Ok(0)
}
