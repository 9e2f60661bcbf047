//! Page faults as messages: a thread's fault becomes a `call` to its pager
//! (the memory server), which maps the page and answers "resume", or
//! answers "kill".
//!
//! The message (label `LABEL_PAGE_FAULT`) is a `libsys::abi::ipc::
//! PageFault`: the faulting address, the CPU's error code, the RIP, and
//! whether the access was the kernel's, for a system call of the thread. The kernel
//! sends it on the thread's behalf through `transfer::send` (the thread's
//! own registers stay as they were), so it queues and hands off like any
//! call. No pager, or "kill", kills the process — unless the
//! access was a system call's ([`with_user`]): then the call fails with
//! `BadAddress` and the process lives on.
//!
//! A pager that is gone may be restarting. When the fault finds no one
//! serving the pager endpoint (`PeerDied`: the pager process died before
//! or while it handled the fault), the thread waits, checking every
//! [`PAGER_ABSENT_POLL_NS`], for the pager to return — the same endpoint
//! served again (a new process holds a receiving handle to it: the
//! restarted pager took over the endpoint), or a new pager set for the
//! thread with `set_pager` — and then sends the fault again. After
//! [`PAGER_ABSENT_TIMEOUT_MS`] without one it gives up: the log says why
//! (`pager gone for 5000 ms`) and the fault is refused as before.

use alloc::sync::Arc;

use libsys::abi::ipc::{
    PageFault, FAULT_PRESENT, FAULT_USER, FAULT_WRITE, FOREVER, LABEL_PAGE_FAULT, PAGER_BUS,
    PAGER_RESUME,
};
use libsys::abi::{SysError, PAGE_SIZE};

use super::transfer::{send, wait_notification};
use crate::arch::time;
use crate::arch::x86_64::trap::TrapFrame;
use crate::mem::addrspace::AddrSpace;
use crate::mem::usercopy::{self, NOTED_PRESENT, NOTED_WRITE};
use crate::obj::endpoint::Endpoint;
use crate::obj::notification::Notification;
use crate::obj::process::Process;
use crate::obj::thread::{self, Thread};

/// Times [`with_user`] asks the pager before it gives up (a pager that
/// answers "resume" without mapping the page).
const FAULT_TRIES: usize = 8;

/// How long a fault waits for a pager that is gone to return.
pub const PAGER_ABSENT_TIMEOUT_MS: u64 = 5000;
/// How often a waiting fault looks for the pager's return.
const PAGER_ABSENT_POLL_NS: u64 = 10_000_000;

/// What a pager answered for a page fault.
pub enum PagerAnswer {
    /// Run the faulting instruction again.
    Resume,
    /// Kill the process (no pager, the pager died, or it said so).
    Kill,
    /// A bus error (`PAGER_BUS`: a file page past the end of its file):
    /// the process gets `SIGBUS` rather than `SIGSEGV`.
    Bus,
}

/// The answer a pager's reply label stands for (anything unknown kills).
fn answer_of(label: u64) -> PagerAnswer {
    match label {
        l if l == u64::from(PAGER_RESUME) => PagerAnswer::Resume,
        l if l == u64::from(PAGER_BUS) => PagerAnswer::Bus,
        _ => PagerAnswer::Kill,
    }
}

/// Sends a page fault at `address` (with the CPU's error code and the
/// faulting `rip`) to the current thread's pager and waits for the answer.
/// `syscall`: the access was the kernel's, for a system call of the thread
/// (the message's fourth word is 1), and a refusal fails the call rather
/// than kill the process.
pub fn page_fault_for(
    me: &Arc<Thread>,
    address: u64,
    error: u64,
    rip: u64,
    syscall: bool,
) -> PagerAnswer {
    let message = PageFault {
        address,
        error,
        rip,
        syscall,
    };
    match ask_pager(me, &message) {
        Some(Ok(label)) => answer_of(label),
        Some(Err((SysError::PeerDied, ep))) => pager_absent(me, &message, &ep),
        _ => PagerAnswer::Kill,
    }
}

/// Sends `message` to the thread's pager (read again each time:
/// `set_pager` may have named a new one) and waits for the answer: the
/// label, or the error with the endpoint it went to; `None` if the thread
/// has no pager or was killed.
#[inline(always)]
fn ask_pager(
    me: &Arc<Thread>,
    message: &PageFault,
) -> Option<Result<u64, (SysError, Arc<Endpoint>)>> {
    if me.is_killed() {
        return None;
    }
    let words = message.to_words();
    // One look at the IPC state: the pager, the fault recorded (a thread in
    // a fault call cannot be unblocked: `ipc::unblock`), the window of a
    // call in progress (`transfer::send` hands it on too).
    let (ep, badge, grant) = {
        let mut ipc = me.ipc.lock();
        let (ep, badge) = ipc
            .pager
            .as_ref()
            .map(|(r, badge)| (r.endpoint.clone(), *badge))?;
        ipc.fault = Some((LABEL_PAGE_FAULT, words));
        (ep, badge, ipc.grant)
    };
    let answer = match super::fast::kernel_call(me, &ep, badge, (LABEL_PAGE_FAULT, &words), grant) {
        Some(answer) => answer,
        None => send(me, &ep, badge, FOREVER, true),
    };
    me.ipc.lock().fault = None;
    Some(answer.map_err(|e| (e, ep)))
}

/// The fault found its pager endpoint unserved (`PeerDied` on `ep`):
/// sends it again until the pager is back or the time is up (see the
/// module documentation). Cold: kept out of the fault's fast path.
#[cold]
#[inline(never)]
fn pager_absent(me: &Arc<Thread>, message: &PageFault, ep: &Arc<Endpoint>) -> PagerAnswer {
    let mut deadline = None;
    let mut ep = ep.clone();
    loop {
        // A killed thread's call ends `PeerDied` too (its pager killed
        // it, say): it is not waiting for a pager, and says nothing.
        if me.is_killed() {
            return PagerAnswer::Kill;
        }
        // Still served (the pager died with the fault in hand, and the
        // endpoint has another receiver): send it again at once.
        if !wait_for_pager(me, &mut deadline, message.address, ep.has_receivers()) {
            return PagerAnswer::Kill;
        }
        match ask_pager(me, message) {
            Some(Ok(label)) => return answer_of(label),
            Some(Err((SysError::PeerDied, to))) => ep = to,
            _ => return PagerAnswer::Kill,
        }
    }
}

/// The pager is gone: sleeps one poll interval (not if the endpoint is
/// `served` again); false once [`PAGER_ABSENT_TIMEOUT_MS`] have passed
/// since the first call for this fault (`deadline` remembers it).
fn wait_for_pager(
    me: &Arc<Thread>,
    deadline: &mut Option<u64>,
    address: u64,
    served: bool,
) -> bool {
    let (name, pid) = me
        .process
        .as_ref()
        .map_or(("?", 0), |p| (p.name.as_str(), p.pid));
    let timeout_jiffies = PAGER_ABSENT_TIMEOUT_MS * time::HZ / 1000;
    let now = time::jiffies();
    let until = *deadline.get_or_insert_with(|| {
        crate::printk!(
            Warning,
            "{name}[{pid}]: pager gone; the fault at {address:#x} waits up to {PAGER_ABSENT_TIMEOUT_MS} ms for one"
        );
        now + timeout_jiffies
    });
    if now >= until {
        crate::printk!(
            Err,
            "{name}[{pid}]: pager gone for {PAGER_ABSENT_TIMEOUT_MS} ms; the fault at {address:#x} is refused"
        );
        return false;
    }
    if served {
        return true;
    }
    let nap = Notification::new();
    if nap.take_or_queue(me).is_none() {
        let _ = wait_notification(me, nap, PAGER_ABSENT_POLL_NS);
    }
    true
}

/// A page fault in user mode: the thread's pager maps the page (the thread
/// runs the instruction again), or, if it refuses (or there is none), the
/// fault goes to the exception endpoint as any exception does.
pub fn page_fault(frame: &TrapFrame, address: u64) {
    // The fault message to the pager (cost meter; nothing without it).
    crate::meter_count!(IpcMessages, 1);
    crate::meter_trace!(IpcSend, address);
    // The thread reference is dropped before the kill path, which never
    // returns: anything it held would leak.
    let answer = {
        let me = thread::current();
        page_fault_for(&me, address, frame.error_code, frame.rip, false)
    };
    match answer {
        PagerAnswer::Resume => {}
        PagerAnswer::Kill => super::exception::user_exception(frame, address),
        PagerAnswer::Bus => super::exception::bus_error(frame, address),
    }
}

/// A system call found a page of the caller's missing or read-only
/// (`noted`: the page with `usercopy::NOTED_*` bits): asks the thread's
/// pager for it as for a fault at `rip` (the instruction after the
/// `syscall`). True if the pager mapped it; false if there is no pager or
/// it refused (the call fails with `BadAddress`; the process lives on).
fn fault_in_for_syscall(noted: u64, rip: u64) -> bool {
    let address = noted & !(PAGE_SIZE - 1);
    let mut error = FAULT_USER;
    if noted & NOTED_WRITE != 0 {
        error |= FAULT_WRITE;
    }
    if noted & NOTED_PRESENT != 0 {
        error |= FAULT_PRESENT;
    }
    let me = thread::current();
    matches!(
        page_fault_for(&me, address, error, rip, true),
        PagerAnswer::Resume
    )
}

/// Runs `access` (checks and copies of the caller's user memory) on
/// `process`'s address space. When it fails with `BadAddress` on a page
/// the pager might map, asks the current thread's pager for that page —
/// as a fault at `rip`, flagged as the kernel's access for a system call —
/// and runs `access` again. `access` must not change anything before its
/// checks pass (it may run several times). `InvalidArgument` if the
/// process has no address space any more.
pub fn with_user<T>(
    process: &Process,
    rip: u64,
    mut access: impl FnMut(&mut AddrSpace) -> Result<T, SysError>,
) -> Result<T, SysError> {
    for _ in 0..FAULT_TRIES {
        usercopy::take_noted();
        let result = process
            .with_aspace(&mut access)
            .ok_or(SysError::InvalidArgument)?;
        let noted = usercopy::take_noted();
        if !matches!(result, Err(SysError::BadAddress))
            || noted == 0
            || !fault_in_for_syscall(noted, rip)
        {
            return result;
        }
    }
    Err(SysError::BadAddress)
}
