//! Synchronous IPC: `send`, `recv`, `call`, `reply`, `reply_recv`, and the
//! page-fault call the kernel makes on a faulting thread's behalf.
//!
//! A message is the registers [`libsys::abi::ipc`] describes, the payload
//! in the sender's IPC buffer, and the handles its last words name. It goes
//! straight from the sender to the receiver — registers from one trap frame
//! to the other, the payload from one IPC buffer page to the other through
//! the HHDM, handles from one table to the other — when both are there;
//! until then the one that came first waits on the endpoint
//! (`obj::endpoint`), its message still in its own registers and buffer.
//!
//! Every check that can fail is made before anything moves: the sender's
//! message (its `MsgInfo`, its payload's buffer, its handles and the right
//! to send them) when it sends, the receiver's buffer and handle table when
//! the message is delivered. A fault on one side is that side's error; the
//! other side is left as it was (a sender whose receiver has a bad buffer
//! stays queued for the next receiver).
//!
//! Hand-offs: a `call` that finds its server waiting, and a `reply_recv`
//! whose server has no next message yet, switch straight to the partner
//! (`sched::block_and_switch_to`) instead of waking it through the run
//! queue. (`fast.rs` is a shorter path still for the commonest of these.)
//!
//! Waiting is the scheduler's (`sched::wait`): a blocked thread records
//! the endpoint queue it waits in, so that a timeout or a kill can take it
//! off; whoever ends the wait writes the outcome, which the thread's system
//! call returns when it runs again.

use alloc::sync::Arc;
use alloc::vec::Vec;

use libsys::abi::ipc::{MAX_HANDLES, MSG_WORDS, POLL};
use libsys::abi::{Handle, MsgInfo, Rights, SysError};

use crate::arch::x86_64::trap::TrapFrame;
use crate::mem::kspace;
use crate::obj::endpoint::{Endpoint, PendingSend};
use crate::obj::handle::{lookup, Entry};
use crate::obj::notification::Notification;
use crate::obj::process::Process;
use crate::obj::thread::{Caller, Thread};
use crate::sched::{self, wait, wait::Blocked};

/// The message words of a frame, in ABI order.
fn words(frame: &TrapFrame) -> [u64; MSG_WORDS] {
    [
        frame.r10, frame.r8, frame.r9, frame.r12, frame.r13, frame.r14,
    ]
}

fn set_words(frame: &mut TrapFrame, words: &[u64; MSG_WORDS]) {
    frame.r10 = words[0];
    frame.r8 = words[1];
    frame.r9 = words[2];
    frame.r12 = words[3];
    frame.r13 = words[4];
    frame.r14 = words[5];
}

/// A thread's saved registers. A thread's trap frame is at the top of its
/// kernel stack while it is in the kernel; IPC touches the frames of the
/// current thread and of threads blocked in the kernel, on the one CPU,
/// with interrupts off — which is what each use below relies on.
fn frame(thread: &Thread) -> *mut TrapFrame {
    thread.user_frame()
}

/// Waits on notification `n` (the caller queued `me` as a waiter).
pub fn wait_notification(
    me: &Arc<Thread>,
    n: Arc<Notification>,
    timeout_ns: u64,
) -> Result<u64, SysError> {
    wait::block(me, Blocked::Notification(n), timeout_ns, None)
}

/// Why a delivery failed, and whose fault it was.
enum Fault {
    Sender(SysError),
    Receiver(SysError),
}

/// Checks that `sender`'s message can be sent at all: a payload needs an
/// IPC buffer, handles need `grant` and must name handles of the sender.
/// Grant flags are refused (`InvalidArgument`): only a `call` lends a
/// window, and `syscall::ipc` checks it there (`ipc::grant`) before it
/// calls this with the flags masked out.
pub fn check_message(
    sender: &Thread,
    info: MsgInfo,
    grant: bool,
    words: &[u64; MSG_WORDS],
) -> Result<(), SysError> {
    if info.flags & MsgInfo::GRANT_FLAGS != 0 {
        return Err(SysError::InvalidArgument);
    }
    if info.length > 0 && sender.buffer_phys().is_none() {
        return Err(SysError::BadAddress);
    }
    if info.handles > 0 {
        if !grant {
            return Err(SysError::NoRights);
        }
        let process = sender.process.as_ref().ok_or(SysError::InvalidArgument)?;
        let handles = process.handles.lock();
        for &word in &words[MSG_WORDS - info.handles as usize..] {
            handles.get(Handle::from_raw(word)?)?;
        }
    }
    Ok(())
}

/// Moves a message from `sender` to `receiver` (see the module
/// documentation): `info` and `words` are the sender's, `badge` the badge
/// of its handle. For a fault message there is no payload and there are no
/// handles.
fn deliver(
    sender: &Thread,
    receiver: &Thread,
    mut info: MsgInfo,
    mut words: [u64; MSG_WORDS],
    badge: u64,
) -> Result<(), Fault> {
    let length = info.length as usize;
    let (mut from, mut to) = (0, 0);
    if length > 0 {
        from = sender
            .buffer_phys()
            .ok_or(Fault::Sender(SysError::BadAddress))?;
        to = receiver
            .buffer_phys()
            .ok_or(Fault::Receiver(SysError::BadAddress))?;
    }
    let count = info.handles as usize;
    if count > 0 {
        let (Some(src), Some(dst)) = (&sender.process, &receiver.process) else {
            return Err(Fault::Sender(SysError::InvalidArgument));
        };
        let mut theirs: Vec<Handle> = Vec::new();
        let mut copies: Vec<Entry> = Vec::new();
        {
            let table = src.handles.lock();
            for &word in &words[MSG_WORDS - count..] {
                let handle = Handle::from_raw(word).map_err(Fault::Sender)?;
                let entry = table.get(handle).map_err(Fault::Sender)?;
                let copy = kcore::handle::derive_entry(entry, entry.rights, None)
                    .map_err(Fault::Sender)?;
                theirs.push(handle);
                copies.push(copy);
            }
        }
        {
            let mut table = dst.handles.lock();
            if table.len() + count > table.capacity() {
                return Err(Fault::Receiver(SysError::OutOfResources));
            }
            for (i, entry) in copies.into_iter().enumerate() {
                // Cannot fail: room was checked above.
                let handle = table.insert(entry).map_err(Fault::Receiver)?;
                words[MSG_WORDS - count + i] = u64::from(handle.0);
            }
        }
        if info.flags & MsgInfo::MOVE_HANDLES != 0 {
            let mut table = src.handles.lock();
            for handle in theirs {
                let _ = table.remove(handle);
            }
        }
    }
    if length > 0 && from != to {
        // SAFETY: both are user pages checked just above (mapped, user,
        // writable), RAM or device memory the HHDM reaches; `length` ≤ one
        // page; distinct pages (a thread sending to itself would copy a
        // page onto itself: skipped).
        unsafe { kspace::copy_physical(from, to, length) };
    }
    // Only the grant flags reach the receiver (they say words 4-5 are the
    // window its caller lent, checked at the call): MOVE_HANDLES is done
    // with, and NOTIFICATION is the kernel's alone (refused at the send).
    info.flags &= MsgInfo::GRANT_FLAGS;
    // SAFETY: see `frame`: the receiver is blocked in the kernel.
    let out = unsafe { &mut *frame(receiver) };
    out.rsi = info.encode();
    set_words(out, &words);
    out.rdx = badge;
    Ok(())
}

/// The message a queued sender is sending: its registers, or the kernel's
/// fault message.
fn pending_message(sender: &Thread) -> (MsgInfo, [u64; MSG_WORDS]) {
    if let Some((label, words)) = sender.ipc.lock().fault {
        return (MsgInfo::new(label), words);
    }
    // SAFETY: see `frame`: the sender is blocked in the kernel (or is the
    // current thread, in the kernel).
    let f = unsafe { &*frame(sender) };
    (MsgInfo::decode(f.rsi).unwrap_or_default(), words(f))
}

/// `send` and `call` (and the fault call): delivers the current thread's
/// message through `ep` with the badge of its handle.
pub fn send(
    me: &Arc<Thread>,
    ep: &Arc<Endpoint>,
    badge: u64,
    timeout_ns: u64,
    call: bool,
) -> Result<u64, SysError> {
    let (info, msg) = pending_message(me);
    loop {
        let receiver = {
            let mut queues = ep.queues.lock();
            match queues.receivers.pop_front() {
                Some(receiver) => receiver,
                None => {
                    if !ep.has_receivers() {
                        return Err(SysError::PeerDied);
                    }
                    if timeout_ns == POLL {
                        return Err(SysError::WouldBlock);
                    }
                    queues.senders.push_back(PendingSend {
                        thread: me.clone(),
                        badge,
                        call,
                    });
                    drop(queues);
                    return wait::block(me, Blocked::Send(ep.clone()), timeout_ns, None);
                }
            }
        };
        match deliver(me, &receiver, info, msg, badge) {
            Ok(()) => {}
            Err(Fault::Sender(e)) => {
                ep.queues.lock().receivers.push_front(receiver);
                return Err(e);
            }
            Err(Fault::Receiver(e)) => {
                abort_recv(&receiver, e);
                continue;
            }
        }
        if call {
            let (fault, grant) = {
                let mine = me.ipc.lock();
                (mine.fault.is_some(), mine.grant)
            };
            let mut caller = me.caller(fault, me.wait.lock().seq);
            caller.grant = grant;
            receiver.ipc.lock().reply_to = Some(caller);
            {
                let mut theirs = receiver.wait.lock();
                theirs.blocked = Blocked::No;
                theirs.result = Some(Ok(badge));
            }
            return wait::block(me, Blocked::Reply, timeout_ns, Some(&receiver));
        }
        wait::finish(&receiver, Ok(badge));
        return Ok(0);
    }
}

/// Ends a receiver's wait with `error` (its buffer or table could not take
/// a message).
fn abort_recv(receiver: &Arc<Thread>, error: SysError) {
    wait::finish(receiver, Err(error));
}

/// `recv`: takes the next message from `ep` (or the bound notification's
/// signals); returns the sender's badge.
pub fn recv(me: &Arc<Thread>, ep: &Arc<Endpoint>, timeout_ns: u64) -> Result<u64, SysError> {
    recv_then_switch(me, ep, timeout_ns, None)
}

fn recv_then_switch(
    me: &Arc<Thread>,
    ep: &Arc<Endpoint>,
    timeout_ns: u64,
    next: Option<Arc<Thread>>,
) -> Result<u64, SysError> {
    if let Some(bits) = take_bound_signals(me) {
        if let Some(next) = next {
            sched::wake(&next);
        }
        return Ok(bits);
    }
    loop {
        let sender = {
            let mut queues = ep.queues.lock();
            match queues.senders.pop_front() {
                Some(sender) => sender,
                None => {
                    if timeout_ns == POLL {
                        drop(queues);
                        if let Some(next) = next {
                            sched::wake(&next);
                        }
                        return Err(SysError::WouldBlock);
                    }
                    queues.receivers.push_back(me.clone());
                    drop(queues);
                    return wait::block(me, Blocked::Recv(ep.clone()), timeout_ns, next.as_ref());
                }
            }
        };
        let (info, msg) = pending_message(&sender.thread);
        match deliver(&sender.thread, me, info, msg, sender.badge) {
            Ok(()) => {}
            Err(Fault::Sender(e)) => {
                wait::finish(&sender.thread, Err(e));
                continue;
            }
            Err(Fault::Receiver(e)) => {
                ep.queues.lock().senders.push_front(sender);
                if let Some(next) = next {
                    sched::wake(&next);
                }
                return Err(e);
            }
        }
        if sender.call {
            let seq = {
                let mut theirs = sender.thread.wait.lock();
                theirs.blocked = Blocked::Reply;
                theirs.seq
            };
            let (fault, grant) = {
                let theirs = sender.thread.ipc.lock();
                (theirs.fault.is_some(), theirs.grant)
            };
            let mut caller = sender.thread.caller(fault, seq);
            caller.grant = grant;
            me.ipc.lock().reply_to = Some(caller);
        } else {
            wait::finish(&sender.thread, Ok(0));
        }
        if let Some(next) = next {
            sched::wake(&next);
        }
        return Ok(sender.badge);
    }
}

/// The bound notification's bits, if any are set: returned by `recv` as a
/// message with the `NOTIFICATION` flag.
fn take_bound_signals(me: &Thread) -> Option<u64> {
    let bound = me.ipc.lock().bound.clone()?;
    let bits = bound.take();
    if bits == 0 {
        return None;
    }
    // SAFETY: see `frame`: `me` is the current thread, in the kernel.
    let f = unsafe { &mut *frame(me) };
    f.rsi = MsgInfo {
        flags: MsgInfo::NOTIFICATION,
        ..MsgInfo::new(0)
    }
    .encode();
    Some(bits)
}

/// Replies to the caller `me` holds the reply right to; returns the caller,
/// made ready but not yet woken (so `reply_recv` can switch to it).
fn reply_to_caller(me: &Arc<Thread>) -> Result<Arc<Thread>, SysError> {
    let caller = me.ipc.lock().reply_to.take().ok_or(SysError::NotFound)?;
    reply_to_saved(me, caller)
}

/// Replies with `me`'s message to `caller` (a reply right `me` held, or
/// one saved in a reply object); returns the caller, made ready but not
/// yet woken.
pub fn reply_to_saved(me: &Arc<Thread>, caller: Caller) -> Result<Arc<Thread>, SysError> {
    if !caller.is_waiting() {
        return Err(SysError::PeerDied);
    }
    if caller.thread.is_killed() {
        // Killed while it waited for this reply (or before it made the
        // call): it must still be let go, to exit.
        wait::finish(&caller.thread, Err(SysError::PeerDied));
        return Err(SysError::PeerDied);
    }
    let (info, msg) = pending_message(me);
    let result = if caller.fault {
        // A pager's answer: only its label counts.
        Ok(u64::from(info.label))
    } else {
        match deliver(me, &caller.thread, info, msg, 0) {
            Ok(()) => Ok(0),
            Err(Fault::Sender(e)) => {
                // The reply right is used up either way: a caller cannot be
                // left waiting on a reply that failed.
                wait::finish(&caller.thread, Err(SysError::PeerDied));
                return Err(e);
            }
            Err(Fault::Receiver(e)) => Err(e),
        }
    };
    // The call is answered: a record of where it was held
    // (`ipc::unblock`) must not outlive it (`seq` stays the same). A
    // fault's caller never has one.
    if !caller.fault {
        caller.thread.ipc.lock().held = None;
    }
    let mut theirs = caller.thread.wait.lock();
    theirs.blocked = Blocked::No;
    theirs.result = Some(result);
    drop(theirs);
    Ok(caller.thread)
}

/// `reply`: answers the last caller.
pub fn reply(me: &Arc<Thread>) -> Result<u64, SysError> {
    let caller = reply_to_caller(me)?;
    sched::wake(&caller);
    Ok(0)
}

/// `reply_save`: moves `me`'s reply right out of the thread (into a reply
/// object, by the caller), with the notification bound to `me` (where an
/// unblock of the caller is reported: `ipc::unblock`); `NotFound` if it
/// holds none.
pub fn reply_save(me: &Thread) -> Result<(Caller, Option<Arc<Notification>>), SysError> {
    let mut ipc = me.ipc.lock();
    let caller = ipc.reply_to.take().ok_or(SysError::NotFound)?;
    Ok((caller, ipc.bound.clone()))
}

/// `reply_to`: answers the caller a reply object saved.
pub fn reply_saved(me: &Arc<Thread>, caller: Caller) -> Result<u64, SysError> {
    let caller = reply_to_saved(me, caller)?;
    sched::wake(&caller);
    Ok(0)
}

/// `reply_to_recv`: answers `caller` (a saved right), then receives on
/// `ep`, switching straight to the caller if no message is waiting. A
/// failed reply returns its error and receives nothing.
pub fn reply_saved_recv(
    me: &Arc<Thread>,
    caller: Caller,
    ep: &Arc<Endpoint>,
    timeout_ns: u64,
) -> Result<u64, SysError> {
    let caller = reply_to_saved(me, caller)?;
    recv_then_switch(me, ep, timeout_ns, Some(caller))
}

/// `reply_recv`: answers the last caller (if any: a failed reply is
/// ignored, as a server loop wants), then receives on `ep`, switching
/// straight to the caller if no message is waiting.
pub fn reply_recv(me: &Arc<Thread>, ep: &Arc<Endpoint>, timeout_ns: u64) -> Result<u64, SysError> {
    let caller = reply_to_caller(me).ok();
    recv_then_switch(me, ep, timeout_ns, caller)
}

/// The endpoint a handle names, with the handle's badge and rights,
/// checked for `needed`.
pub fn endpoint_of(
    process: &Process,
    handle: u64,
    needed: Rights,
) -> Result<(Arc<Endpoint>, u64, Rights), SysError> {
    let found = lookup::<Endpoint>(process, Handle::from_raw(handle)?, needed)?;
    Ok((found.object, found.badge, found.rights))
}

const _: () = assert!(MAX_HANDLES <= MSG_WORDS);
