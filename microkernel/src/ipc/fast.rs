//! The IPC fast path (seL4's name for it): `call` and `reply_recv` with a
//! register-only message when the partner is already waiting — the case a
//! client and a server talking in a loop are in almost every time.
//!
//! It does what `transfer.rs` does for that case, minus what the case
//! cannot need: no handles to transfer, no timeout to arm (only `FOREVER`
//! takes this path), no second look at the message. A payload of up to a
//! page is copied here too. Any other case — handles, a timeout, no
//! partner waiting, signals pending on a bound notification, a missing IPC
//! buffer, any error
//! — returns `None` before anything has changed, and the general path
//! takes over (and reports the error).
//!
//! Invariants it relies on: one CPU and a non-preemptible kernel, so the
//! partner cannot change state between the check and the hand-off; a
//! thread in an endpoint's receive queue is blocked in `recv` (a kill or a
//! timeout takes it off the queue first).

use alloc::sync::Arc;

use libsys::abi::ipc::{FOREVER, PAYLOAD_MAX};
use libsys::abi::{Handle, ObjectType, Rights, SysError};

use crate::arch::x86_64::trap::TrapFrame;
use crate::obj::endpoint::Endpoint;
use crate::obj::handle::KObject;
use crate::obj::thread::{self, Caller, Thread};
use crate::sched::{self, wait, wait::Blocked};

/// Whether a message in these registers can take the fast path: no
/// handles, no flags (only the payload length may be set in the upper
/// half of the info word), a payload of at most a page, and no timeout.
#[inline(always)]
pub fn simple(frame: &TrapFrame) -> bool {
    frame.rsi >> 45 == 0 && payload(frame) <= PAYLOAD_MAX && frame.rdx == FOREVER
}

/// Whether a `call`'s info word has only grant flags set (and no
/// handles) in its upper bits: a call lending a window may take the fast
/// path too (`grant::resident_window` checks the window).
#[inline(always)]
fn lends(frame: &TrapFrame) -> bool {
    let grant = u64::from(libsys::abi::MsgInfo::GRANT_FLAGS) << 48;
    frame.rsi & grant != 0 && (frame.rsi & !grant) >> 45 == 0
}

/// The payload length a fast-path message carries.
#[inline(always)]
pub fn payload(frame: &TrapFrame) -> usize {
    ((frame.rsi >> 32) & 0x1fff) as usize
}

/// Copies a `length`-byte payload from `from`'s IPC buffer to `to`'s;
/// `false` (nothing copied) if either buffer is not mapped writable.
#[inline(always)]
fn copy_payload(from: &Thread, to: &Thread, length: usize) -> bool {
    if length == 0 {
        return true;
    }
    let (Some(src), Some(dst)) = (from.buffer_phys(), to.buffer_phys()) else {
        return false;
    };
    if src != dst {
        // SAFETY: both are user-writable pages of live processes (checked
        // just now, and nothing runs meanwhile); `length` ≤ one page.
        unsafe { crate::mem::kspace::copy_physical(src, dst, length) };
    }
    true
}

/// Copies the message registers (info, six words) and the badge.
#[inline(always)]
fn copy_message(from: &TrapFrame, to: &mut TrapFrame, badge: u64) {
    to.rsi = from.rsi;
    to.rdx = badge;
    to.r10 = from.r10;
    to.r8 = from.r8;
    to.r9 = from.r9;
    to.r12 = from.r12;
    to.r13 = from.r13;
    to.r14 = from.r14;
}

/// The endpoint `raw` names in `me`'s table with `needed`, and its badge.
#[inline(always)]
fn endpoint(me: &Thread, raw: u64, needed: Rights) -> Option<(Arc<Endpoint>, u64)> {
    let process = me.process.as_ref()?;
    let handles = process.handles.lock();
    let entry = handles
        .get_checked(Handle::from_raw(raw).ok()?, ObjectType::Endpoint, needed)
        .ok()?;
    match &entry.object {
        KObject::Endpoint(r) => Some((r.endpoint.clone(), entry.badge)),
        _ => None,
    }
}

/// Runs `f` on the endpoint `raw` names in `me`'s table with `needed`
/// (under the table's lock: `f` must not take it), and returns what `f`
/// gave with the handle's badge.
#[inline(always)]
fn with_endpoint<R>(
    me: &Thread,
    raw: u64,
    needed: Rights,
    f: impl FnOnce(&Endpoint) -> Option<R>,
) -> Option<(R, u64)> {
    let process = me.process.as_ref()?;
    let handles = process.handles.lock();
    let entry = handles
        .get_checked(Handle::from_raw(raw).ok()?, ObjectType::Endpoint, needed)
        .ok()?;
    match &entry.object {
        KObject::Endpoint(r) => Some((f(&r.endpoint)?, entry.badge)),
        _ => None,
    }
}

/// Blocks the current thread (its IPC state set already) and runs
/// `partner`; returns the result its wait ends with.
#[inline(always)]
fn hand_off(me: &Thread, partner: &Arc<Thread>) -> Result<u64, SysError> {
    sched::block_and_switch_to(partner);
    wait::take_result(me)
}

/// `call` with a waiting receiver (and, lending a window, every page of it
/// already there). One body for both (inlined into the system call's
/// handler: one prologue on the path).
#[inline(always)]
pub fn call(frame: &mut TrapFrame) -> Option<Result<u64, SysError>> {
    thread::with_current(|me| {
        let window = if simple(frame) {
            None
        } else if lends(frame) && payload(frame) <= PAYLOAD_MAX && frame.rdx == FOREVER {
            Some(super::grant::resident_window(me, frame)?)
        } else {
            return None;
        };
        call_from(frame, me, window)
    })
}

#[inline(always)]
fn call_from(
    frame: &mut TrapFrame,
    me: &Thread,
    window: Option<libsys::abi::grant::Window>,
) -> Option<Result<u64, SysError>> {
    // The endpoint is used under the handle table's lock, not counted.
    let (receiver, badge) = with_endpoint(me, frame.rdi, Rights::SEND, |ep| {
        let mut queues = ep.queues.lock();
        let receiver = queues.receivers.pop_front()?;
        if !copy_payload(me, &receiver, payload(frame)) {
            // A buffer is missing: the general path sorts out whose fault.
            queues.receivers.push_front(receiver);
            return None;
        }
        Some(receiver)
    })?;
    // SAFETY: the receiver is blocked in the kernel (its frame is at the
    // top of its kernel stack and nothing else touches it now: one CPU,
    // interrupts off).
    copy_message(frame, unsafe { &mut *receiver.user_frame() }, badge);
    // One lock of our own state: block for the reply and take the reply
    // right to this call (the receiver cannot run before the hand-off).
    // Not a fault call: the kernel makes those through `transfer::send`.
    let seq = {
        let mut mine = me.wait.lock();
        mine.blocked.set(Blocked::Reply);
        mine.result = None;
        mine.seq
    };
    // The one reference to ourselves the path takes: the reply right's.
    let caller = Caller {
        thread: thread::current(),
        fault: false,
        seq,
        grant: window,
    };
    receiver.ipc.lock().reply_to = Some(caller);
    {
        let mut theirs = receiver.wait.lock();
        theirs.blocked = Blocked::No;
        theirs.result = Some(Ok(badge));
    }
    Some(hand_off(me, &receiver))
}

/// The kernel's call on `me`'s behalf (a page fault to the pager, an
/// exception to the exception endpoint: `me`'s IPC state holds the
/// message as `fault` already) when a receiver waits on `ep`: the label
/// and words go straight into the receiver's registers and `me` blocks for
/// the verdict, as `transfer::send` would with no timeout — without its
/// second look at the message, the timer and the general block. `None`,
/// nothing changed, when no receiver waits.
#[inline(always)]
pub fn kernel_call(
    me: &Arc<Thread>,
    ep: &Endpoint,
    badge: u64,
    (label, words): (u32, &[u64; 6]),
    grant: Option<libsys::abi::grant::Window>,
) -> Option<Result<u64, SysError>> {
    let receiver = ep.queues.lock().receivers.pop_front()?;
    // SAFETY: the receiver is blocked in the kernel (see `call_lending`).
    let out = unsafe { &mut *receiver.user_frame() };
    out.rsi = libsys::abi::MsgInfo::new(label).encode();
    out.rdx = badge;
    [out.r10, out.r8, out.r9, out.r12, out.r13, out.r14] = *words;
    let seq = {
        let mut mine = me.wait.lock();
        mine.blocked.set(Blocked::Reply);
        mine.result = None;
        mine.seq
    };
    let mut caller = me.caller(true, seq);
    caller.grant = grant;
    receiver.ipc.lock().reply_to = Some(caller);
    {
        let mut theirs = receiver.wait.lock();
        theirs.blocked = Blocked::No;
        theirs.result = Some(Ok(badge));
    }
    Some(hand_off(me, &receiver))
}

/// `reply_recv` to a waiting caller when no message is queued.
#[inline(always)]
pub fn reply_recv(frame: &mut TrapFrame) -> Option<Result<u64, SysError>> {
    if !simple(frame) {
        return None;
    }
    thread::with_current(|me| reply_recv_from(frame, me))
}

#[inline(always)]
fn reply_recv_from(frame: &TrapFrame, me: &Thread) -> Option<Result<u64, SysError>> {
    // The reply right is taken out here, in the one lock of our IPC state
    // this path needs, and put back if the fast path does not apply.
    let caller = {
        let mut mine = me.ipc.lock();
        // A bound notification with bits set must be returned by this
        // `recv` first (the general path does it). With none set, queuing
        // here is what the general path would do: a later signal finds
        // the thread in `Blocked::Recv` and ends the wait
        // (`deliver_to_bound`). Lock order: our IPC state, then the
        // notification's (the notification never takes a thread's).
        if mine.bound.as_ref().is_some_and(|n| n.pending()) {
            return None;
        }
        mine.reply_to.take()?
    };
    let Some((ep, _)) = endpoint(me, frame.rdi, Rights::RECV) else {
        me.ipc.lock().reply_to = Some(caller);
        return None;
    };
    match answer_and_switch(frame, me, caller, ep, false) {
        Ok(result) => Some(result),
        Err((caller, _)) => {
            me.ipc.lock().reply_to = Some(caller);
            None
        }
    }
}

/// `reply_to_recv`'s fast path: answers `caller` (the right a reply object
/// held, taken out of it already), then receives on `ep`, switching
/// straight to the caller — `reply_recv`'s fast path for a saved right.
/// Gives the right and the endpoint back (`Err`), nothing changed, where
/// that path would not apply.
#[inline(always)]
pub fn reply_saved_recv(
    frame: &TrapFrame,
    me: &Thread,
    caller: Caller,
    ep: Arc<Endpoint>,
) -> Result<Result<u64, SysError>, (Caller, Arc<Endpoint>)> {
    // Bits on the bound notification: see `reply_recv`.
    if !simple(frame) || me.ipc.lock().bound.as_ref().is_some_and(|n| n.pending()) {
        return Err((caller, ep));
    }
    answer_and_switch(frame, me, caller, ep, true)
}

/// Both `reply_recv` fast paths: if `caller` still waits for this very
/// reply, `ep` has no sender queued and the payload is copied, answers the
/// caller (registers and outcome), blocks `me` in `recv` on `ep` and
/// switches to the caller; returns the outcome `me`'s wait ends with.
/// Otherwise gives the right and the endpoint back, nothing changed.
/// `saved`: the right came out of a reply object, whose record of where
/// the call was held (`reply_save` wrote it, `ipc::unblock` reads it) goes
/// as `transfer::reply_to_saved` clears it.
///
/// Lock order: the caller's wait state, then the endpoint's queues (the
/// check that it waits and the answer are one hold of its lock).
#[inline(always)]
fn answer_and_switch(
    frame: &TrapFrame,
    me: &Thread,
    caller: Caller,
    ep: Arc<Endpoint>,
    saved: bool,
) -> Result<Result<u64, SysError>, (Caller, Arc<Endpoint>)> {
    if caller.thread.is_killed() {
        return Err((caller, ep));
    }
    let mut theirs = caller.thread.wait.lock();
    if !matches!(theirs.blocked, Blocked::Reply) || theirs.seq != caller.seq {
        drop(theirs);
        return Err((caller, ep));
    }
    {
        let mut queues = ep.queues.lock();
        let copied = caller.fault || copy_payload(me, &caller.thread, payload(frame));
        if !queues.senders.is_empty() || !copied {
            drop(queues);
            drop(theirs);
            return Err((caller, ep));
        }
        // The one reference to ourselves the path takes: the queue's.
        queues.receivers.push_back(thread::current());
    }
    // A pager's answer to a page fault is its label alone (resume or
    // kill); the faulting thread's registers are left as they were.
    let result = if caller.fault {
        Ok(frame.rsi & 0xffff_ffff)
    } else {
        // SAFETY: the caller is blocked in the kernel, as above.
        copy_message(frame, unsafe { &mut *caller.thread.user_frame() }, 0);
        Ok(0)
    };
    // It was `Reply` (checked above): nothing to drop.
    theirs.blocked.set(Blocked::No);
    theirs.result = Some(result);
    drop(theirs);
    if saved && !caller.fault {
        caller.thread.ipc.lock().held = None;
    }
    {
        let mut mine = me.wait.lock();
        mine.blocked.set(Blocked::Recv(ep));
        mine.result = None;
    }
    Ok(hand_off(me, &caller.thread))
}
