//! User exceptions as messages, and the way back to user mode: suspension,
//! signal upcalls and `sigreturn`.
//!
//! An exception a user thread raises (any vector but an NMI or a machine
//! check; a page fault once its pager refused it) becomes a call with
//! label `LABEL_EXCEPTION` (`libsys::abi::exception::ExceptionMessage`) to
//! its process's exception endpoint, made by the kernel on the thread's
//! behalf through `transfer::send` exactly as a page fault's call to the
//! pager is: the thread blocks in it, one exception at a time, its
//! registers held still at the top of its kernel stack where the handler
//! may read and rewrite them (`thread_regs_*`). The reply's label is the
//! verdict: `EXCEPTION_RESUME` runs the thread on from those registers;
//! anything else, no endpoint, or the endpoint's server gone kills the
//! process as before, with the vector in the log.
//!
//! [`return_to_user`] runs on the way out of every system call and trap
//! that finds work flagged on the thread (`Task::set_work`, one byte read
//! on the fast path): a kill exits; a `sigreturn` restores the registers
//! it validated; a suspension parks the thread (blocked on a
//! `wait::Parked` queue, its registers readable and writable) until
//! resumed or killed; a pending upcall writes a `SignalFrame` on the user stack and enters the handler.
//! A frame that cannot be written (the stack is unmapped, full, or the
//! pager refused it) is reported as a page-fault exception flagged
//! `EXCEPTION_UPCALL_FAULT`, which the process server answers with a kill
//! (SIGSEGV). A page fault the pager answered `PAGER_BUS` (a file page
//! past the end of its file) is flagged `EXCEPTION_BUS`, and a process
//! killed for it ends as a bus error (its parent sees `SIGBUS`).

use alloc::sync::Arc;

use libsys::abi::exception::{
    ExceptionMessage, SignalFrame, UserRegs, EXCEPTION_BUS, EXCEPTION_RESUME,
    EXCEPTION_UPCALL_FAULT, LABEL_EXCEPTION, SIGNAL_FRAME_INFO, SIGNAL_FRAME_REGS,
    SIGNAL_FRAME_WORDS,
};
use libsys::abi::ipc::{FAULT_USER, FAULT_WRITE, FOREVER};

use super::pager;
use super::transfer::send;
use crate::arch::x86_64::syscall::SYSCALL_VECTOR;
use crate::arch::x86_64::trap::{self, TrapFrame};
use crate::mem::usercopy::UserSlice;
use crate::obj::process;
use crate::obj::thread::{self, Thread, Upcall};
use crate::sched::wait::{self, Blocked, Parked, WaitQueue};

/// RFLAGS bits a handler is entered without (the System V ABI wants DF
/// clear at a call; TF would single-step the handler).
const HANDLER_CLEARS: u64 = (1 << 10) | (1 << 8);

/// What the exception endpoint answered.
enum Verdict {
    Resume,
    Kill,
}

/// Sends `message` for the current thread `me` to its process's exception
/// endpoint and waits for the verdict. `Kill` without an endpoint, if the
/// thread was killed, or if the server is gone.
fn deliver(me: &Arc<Thread>, message: ExceptionMessage) -> Verdict {
    if me.is_killed() {
        return Verdict::Kill;
    }
    let Some(process) = me.process.as_ref() else {
        return Verdict::Kill;
    };
    let Some((ep, badge)) = process
        .exception
        .lock()
        .as_ref()
        .map(|(r, badge)| (r.endpoint.clone(), *badge))
    else {
        return Verdict::Kill;
    };
    me.control.lock().in_exception = true;
    let words = message.to_words();
    let grant = {
        let mut ipc = me.ipc.lock();
        ipc.fault = Some((LABEL_EXCEPTION, words));
        ipc.grant
    };
    let answer = match super::fast::kernel_call(me, &ep, badge, (LABEL_EXCEPTION, &words), grant) {
        Some(answer) => answer,
        None => send(me, &ep, badge, FOREVER, true),
    };
    me.ipc.lock().fault = None;
    me.control.lock().in_exception = false;
    match answer {
        Ok(label) if label == u64::from(EXCEPTION_RESUME) => Verdict::Resume,
        _ => Verdict::Kill,
    }
}

/// A user exception (`frame` as the CPU left it, `cr2` the faulting
/// address for a page fault, else 0): the exception endpoint decides;
/// returns to resume, or kills the process and does not return.
pub fn user_exception(frame: &TrapFrame, cr2: u64) {
    report(frame, cr2, 0)
}

/// A page fault at `cr2` that the pager called a bus error: reported like
/// any exception, flagged `EXCEPTION_BUS`; killed as a bus error.
pub fn bus_error(frame: &TrapFrame, cr2: u64) {
    report(frame, cr2, EXCEPTION_BUS)
}

fn report(frame: &TrapFrame, cr2: u64, flags: u64) {
    // The thread reference is dropped before the kill path, which never
    // returns: anything it held would leak.
    let verdict = {
        let me = thread::current();
        let message = ExceptionMessage {
            vector: frame.vector as u8,
            error: frame.error_code as u32,
            flags,
            rip: frame.rip,
            rsp: frame.rsp,
            rflags: frame.rflags,
            cr2,
            tid: me.tid,
            pid: me.process.as_ref().map_or(0, |p| p.pid),
        };
        deliver(&me, message)
    };
    if let Verdict::Kill = verdict {
        if flags & EXCEPTION_BUS != 0 {
            process::kill_current_for_bus_error(frame, cr2);
        }
        process::kill_current_for_fault(frame, cr2);
    }
}

/// A trap frame's user registers.
pub fn regs_of(frame: &TrapFrame) -> UserRegs {
    UserRegs {
        rax: frame.rax,
        rbx: frame.rbx,
        rcx: frame.rcx,
        rdx: frame.rdx,
        rsi: frame.rsi,
        rdi: frame.rdi,
        rbp: frame.rbp,
        rsp: frame.rsp,
        r8: frame.r8,
        r9: frame.r9,
        r10: frame.r10,
        r11: frame.r11,
        r12: frame.r12,
        r13: frame.r13,
        r14: frame.r14,
        r15: frame.r15,
        rip: frame.rip,
        rflags: frame.rflags,
    }
}

/// Puts `regs` (validated: `UserRegs::validate`) into `frame`; the
/// segments stay the user's.
pub fn set_regs(frame: &mut TrapFrame, regs: &UserRegs) {
    frame.rax = regs.rax;
    frame.rbx = regs.rbx;
    frame.rcx = regs.rcx;
    frame.rdx = regs.rdx;
    frame.rsi = regs.rsi;
    frame.rdi = regs.rdi;
    frame.rbp = regs.rbp;
    frame.rsp = regs.rsp;
    frame.r8 = regs.r8;
    frame.r9 = regs.r9;
    frame.r10 = regs.r10;
    frame.r11 = regs.r11;
    frame.r12 = regs.r12;
    frame.r13 = regs.r13;
    frame.r14 = regs.r14;
    frame.r15 = regs.r15;
    frame.rip = regs.rip;
    frame.rflags = regs.rflags;
}

/// The work flagged on the current thread on its way back to user mode,
/// `frame` being its user registers (the entry's frame). Returns when the
/// thread may leave a trap; leaves a system call itself (through
/// `iretq`, see `trap::leave_via_iret`); exits the thread if it was
/// killed. The caller holds nothing that needs dropping.
pub fn return_to_user(frame: *mut TrapFrame) {
    loop {
        process::exit_if_killed();
        let me = thread::current();
        // Back to user mode: the call it asked out of (`ipc::unblock`,
        // which flagged this work) is over.
        me.ipc.lock().interrupt = None;
        let mut control = me.control.lock();
        if let Some(regs) = control.restore.take() {
            me.set_work(control.has_work());
            drop(control);
            // SAFETY: `frame` is the current thread's own user frame, which
            // its entry handed down; nothing else writes it while the
            // thread runs. Volatile: another thread may have written it
            // while this one was parked.
            unsafe {
                let mut f = core::ptr::read_volatile(frame);
                set_regs(&mut f, &regs);
                core::ptr::write_volatile(frame, f);
            }
        } else if control.suspended {
            control.parked = true;
            drop(control);
            let parked: Arc<dyn WaitQueue> = Arc::new(Parked);
            let _ = wait::block(&me, Blocked::Notification(parked), FOREVER, None);
            me.control.lock().parked = false;
        } else if let Some(upcall) = control.upcall.take() {
            me.set_work(control.has_work());
            drop(control);
            // SAFETY: as above.
            let mut f = unsafe { core::ptr::read_volatile(frame) };
            match push_frame(&me, &mut f, &upcall) {
                // SAFETY: as above.
                Ok(()) => unsafe { core::ptr::write_volatile(frame, f) },
                Err(address) => {
                    drop(me);
                    f.vector = 14;
                    f.error_code = FAULT_USER | FAULT_WRITE;
                    report(&f, address, EXCEPTION_UPCALL_FAULT);
                }
            }
        } else {
            me.set_work(false);
            drop(control);
            drop(me);
            // SAFETY: `frame` is the current thread's user frame (see
            // above); a system call's leaves through `iretq` so that the
            // registers written meanwhile (RCX and R11 among them) hold.
            unsafe {
                if core::ptr::read_volatile(frame).vector == SYSCALL_VECTOR {
                    trap::leave_via_iret(frame);
                }
            }
            return;
        }
    }
}

/// Writes the signal frame for `upcall` below `f`'s stack pointer and
/// points `f` at the handler. The frame's address (or the stack pointer)
/// if it cannot be written; `f` is then unchanged.
fn push_frame(me: &Thread, f: &mut TrapFrame, upcall: &Upcall) -> Result<(), u64> {
    let at = SignalFrame::place(f.rsp).ok_or(f.rsp)?;
    let frame = SignalFrame {
        return_address: upcall.restorer,
        signo: upcall.signo,
        info: upcall.info,
        regs: regs_of(f),
    };
    let mut bytes = [0u8; SIGNAL_FRAME_WORDS * 8];
    for (chunk, word) in bytes.chunks_exact_mut(8).zip(frame.to_words()) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    let slice = UserSlice::new(at, bytes.len() as u64, bytes.len()).map_err(|_| at)?;
    let process = me.process.as_ref().ok_or(at)?;
    pager::with_user(process, f.rip, |aspace| slice.write(aspace, &bytes)).map_err(|_| at)?;
    f.rip = upcall.handler;
    f.rsp = at;
    f.rdi = upcall.signo;
    f.rsi = at + SIGNAL_FRAME_INFO;
    f.rdx = at + SIGNAL_FRAME_REGS;
    f.rflags &= !HANDLER_CLEARS;
    Ok(())
}
