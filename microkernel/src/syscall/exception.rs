//! The exception and signal calls: `exception_set`, `thread_suspend`,
//! `thread_resume`, `thread_regs_read`, `thread_regs_write`,
//! `signal_deliver` and `sigreturn` (the mechanism is `ipc::exception`).
//!
//! Each decodes (`libsys::abi::exception`'s argument structs), looks up
//! its handles and copies what it needs from the caller's memory before it
//! changes anything. A thread's registers are read or written only while
//! it is stopped — parked by a suspension, or waiting for an exception's
//! verdict — else `WouldBlock`: a thread that runs, or is blocked inside a
//! system call, has registers the kernel is still using.

use libsys::abi::args::OneHandle;
use libsys::abi::exception::{
    ExceptionSet, SignalDeliver, Sigreturn, ThreadRegs, UserRegs, SIGINFO_WORDS, USER_REGS_WORDS,
};
use libsys::abi::{Rights, SysError};

use super::{caller, caller_thread};
use crate::arch::x86_64::trap::TrapFrame;
use crate::ipc::exception::{regs_of, set_regs};
use crate::ipc::pager::with_user;
use crate::mem::usercopy::UserSlice;
use crate::obj::endpoint::Endpoint;
use crate::obj::handle::{lookup, EndpointRef};
use crate::obj::process::Process;
use crate::obj::thread::{Thread, Upcall};
use crate::sched::wait::{self, Blocked};

/// `N` words from the caller's memory at `at` (`BadAddress` if not all
/// readable, after asking the pager).
fn read_words<const N: usize>(at: u64, rip: u64) -> Result<[u64; N], SysError> {
    let process = caller()?;
    let mut bytes = [0u8; 8 * USER_REGS_WORDS];
    let bytes = &mut bytes[..8 * N];
    let slice = UserSlice::new(at, bytes.len() as u64, bytes.len())?;
    with_user(&process, rip, |aspace| slice.read(aspace, bytes))?;
    let mut words = [0u64; N];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut le = [0u8; 8];
        le.copy_from_slice(chunk);
        *word = u64::from_le_bytes(le);
    }
    Ok(words)
}

/// `exception_set(process, endpoint)`.
pub fn exception_set(args: ExceptionSet, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let target = lookup::<Process>(&process, args.process, Rights::MANAGE)?.object;
    let endpoint = match args.endpoint {
        None => None,
        Some(handle) => {
            let found = lookup::<Endpoint>(&process, handle, Rights::SEND)?;
            Some((EndpointRef::new(found.object, Rights::SEND), found.badge))
        }
    };
    let old = core::mem::replace(&mut *target.exception.lock(), endpoint);
    drop(old);
    Ok(0)
}

/// `thread_suspend(thread)`: stops it on its way back to user mode.
pub fn thread_suspend(args: OneHandle, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let thread = lookup::<Thread>(&process, args.handle, Rights::MANAGE)?.object;
    let mut control = thread.control.lock();
    control.suspended = true;
    thread.set_work(true);
    Ok(0)
}

/// `thread_resume(thread)`: lets a suspended thread go on (a parked one
/// is woken).
pub fn thread_resume(args: OneHandle, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let thread = lookup::<Thread>(&process, args.handle, Rights::MANAGE)?.object;
    let mut control = thread.control.lock();
    control.suspended = false;
    let parked = control.parked && matches!(thread.wait.lock().blocked, Blocked::Notification(_));
    drop(control);
    if parked {
        wait::finish(&thread, Ok(0));
    }
    Ok(0)
}

/// `thread_regs_read(thread, out)`.
pub fn regs_read(args: ThreadRegs, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let thread = lookup::<Thread>(&process, args.thread, Rights::MANAGE)?.object;
    let regs = {
        let control = thread.control.lock();
        if !control.stopped() {
            return Err(SysError::WouldBlock);
        }
        // SAFETY: the thread is stopped (parked or waiting for a verdict),
        // so its user frame at the top of its kernel stack holds still;
        // the control lock keeps it stopped while we read.
        regs_of(unsafe { &*thread.user_frame() })
    };
    let mut bytes = [0u8; 8 * USER_REGS_WORDS];
    for (chunk, word) in bytes.chunks_exact_mut(8).zip(regs.to_words()) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    let out = UserSlice::new(args.regs, bytes.len() as u64, bytes.len())?;
    with_user(&process, frame.rip, |aspace| out.write(aspace, &bytes))?;
    Ok(0)
}

/// `thread_regs_write(thread, regs)`: validated first.
pub fn regs_write(args: ThreadRegs, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let words = read_words::<USER_REGS_WORDS>(args.regs, frame.rip)?;
    let regs = UserRegs::from_words(&words).validate()?;
    let process = caller()?;
    let thread = lookup::<Thread>(&process, args.thread, Rights::MANAGE)?.object;
    let control = thread.control.lock();
    if !control.stopped() {
        return Err(SysError::WouldBlock);
    }
    // SAFETY: as in `regs_read`; the stopped thread's frame is read again
    // only once it runs, after we drop the lock.
    set_regs(unsafe { &mut *thread.user_frame() }, &regs);
    Ok(0)
}

/// `signal_deliver(thread, handler, restorer, signo, info)`.
pub fn signal_deliver(args: SignalDeliver, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let info = match args.info {
        0 => [0; SIGINFO_WORDS],
        at => read_words::<SIGINFO_WORDS>(at, frame.rip)?,
    };
    let process = caller()?;
    let thread = lookup::<Thread>(&process, args.thread, Rights::MANAGE)?.object;
    if thread.process.is_none() {
        return Err(SysError::InvalidArgument);
    }
    let mut control = thread.control.lock();
    if control.upcall.is_some() {
        return Err(SysError::Exists);
    }
    control.upcall = Some(Upcall {
        handler: args.handler,
        restorer: args.restorer,
        signo: args.signo,
        info,
    });
    thread.set_work(true);
    Ok(0)
}

/// `sigreturn(regs)`: the registers of a signal frame, validated, become
/// the caller's on its way out (after the result registers are written,
/// so they restore `rax` and `rdx` too).
pub fn sigreturn(args: Sigreturn, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let words = read_words::<USER_REGS_WORDS>(args.regs, frame.rip)?;
    let regs = UserRegs::from_words(&words).validate()?;
    let (me, _) = caller_thread()?;
    me.control.lock().restore = Some(regs);
    me.set_work(true);
    Ok(0)
}
