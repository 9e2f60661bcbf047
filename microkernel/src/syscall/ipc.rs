//! The IPC calls: endpoints and notifications, and the IPC buffer.
//! `ipc::transfer` does the work; these decode and check.

use libsys::abi::args::{GrantCopy, IpcBufferSet, NotificationBind, OneHandle, Signal, Wait};
use libsys::abi::ipc::{MSG_WORDS, POLL};
use libsys::abi::limits::Resource;
use libsys::abi::{Handle, MsgInfo, ObjectType, Protection, Rights, SysError};

use super::{caller, caller_thread};
use crate::arch::x86_64::trap::TrapFrame;
use crate::ipc::transfer as ipc;
use crate::obj::endpoint::Endpoint;
use crate::obj::handle::{self as kobject, lookup, EndpointRef, KObject};
use crate::obj::notification::Notification;
use crate::obj::reply::Reply;
use crate::obj::thread::{self, Thread};
use crate::sched::wait::WaitQueue;

fn words(frame: &TrapFrame) -> [u64; MSG_WORDS] {
    [
        frame.r10, frame.r8, frame.r9, frame.r12, frame.r13, frame.r14,
    ]
}

fn create(object: KObject, rights: Rights) -> Result<u64, SysError> {
    let process = caller()?;
    let handle = process
        .handles
        .lock()
        .insert(kobject::entry(object, rights, 0))?;
    Ok(u64::from(handle.0))
}

/// `endpoint_create()`: a handle with every endpoint right.
pub fn endpoint_create(_: &mut TrapFrame) -> Result<u64, SysError> {
    let endpoint = Endpoint::charged(caller()?.account.charge(Resource::Endpoints)?);
    let rights = Rights::SEND | Rights::RECV | Rights::GRANT | Rights::MINT;
    create(
        KObject::Endpoint(EndpointRef::new(endpoint, Rights::empty())),
        rights,
    )
}

/// `notification_create()`: a handle with signal and wait rights.
pub fn notification_create(_: &mut TrapFrame) -> Result<u64, SysError> {
    let charge = caller()?.account.charge(Resource::Notifications)?;
    create(
        KObject::Notification(Notification::charged(charge)),
        Rights::SEND | Rights::RECV,
    )
}

fn send_or_call(frame: &mut TrapFrame, call: bool) -> Result<u64, SysError> {
    let info = MsgInfo::decode_sent(frame.rsi)?;
    let timeout = frame.rdx;
    let (me, process) = caller_thread()?;
    let (endpoint, badge, rights) = ipc::endpoint_of(&process, frame.rdi, Rights::SEND)?;
    // A call always waits for its reply: POLL ("do not block at all")
    // cannot be kept, so it is refused rather than left unbounded.
    if call && timeout == POLL {
        return Err(SysError::InvalidArgument);
    }
    let grant = rights.contains(Rights::GRANT);
    let lends = info.flags & MsgInfo::GRANT_FLAGS != 0;
    if lends && !call {
        return Err(SysError::InvalidArgument);
    }
    let plain = MsgInfo {
        flags: info.flags & !MsgInfo::GRANT_FLAGS,
        ..info
    };
    ipc::check_message(&me, plain, grant, &words(frame))?;
    if !lends {
        drop(process);
        return ipc::send(&me, &endpoint, badge, timeout, call);
    }
    // A window lent with the call: checked and faulted in now, kept until
    // the call is delivered (then the reply right holds it).
    crate::ipc::grant::attach(&me, &process, &info, &words(frame), frame.rip)?;
    drop(process);
    let result = ipc::send(&me, &endpoint, badge, timeout, call);
    crate::ipc::grant::detach(&me);
    result
}

/// `send(endpoint, info, timeout, words…)`.
pub fn send(frame: &mut TrapFrame) -> Result<u64, SysError> {
    crate::meter_count!(IpcMessages, 1);
    crate::meter_trace!(IpcSend, frame.rsi);
    send_or_call(frame, false)
}

/// `call(endpoint, info, timeout, words…)`: the reply's registers come back.
pub fn call(frame: &mut TrapFrame) -> Result<u64, SysError> {
    crate::meter_count!(IpcMessages, 1);
    crate::meter_trace!(IpcSend, frame.rsi);
    match crate::ipc::fast::call(frame) {
        Some(result) => result,
        None => call_slow(frame),
    }
}

/// `call` when the fast path does not apply: into an in-kernel core, or
/// the general path. Out of line, so that the fast path's frame stays
/// small.
#[inline(never)]
fn call_slow(frame: &mut TrapFrame) -> Result<u64, SysError> {
    if let Some(result) = crate::ipc::service::call(frame) {
        return result;
    }
    send_or_call(frame, true)
}

/// `recv(endpoint, _, timeout)` → the sender's badge.
pub fn recv(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let timeout = frame.rdx;
    let (me, process) = caller_thread()?;
    let (endpoint, _, _) = ipc::endpoint_of(&process, frame.rdi, Rights::RECV)?;
    drop(process);
    ipc::recv(&me, &endpoint, timeout)
}

/// `reply(info, words…)`: to the caller this thread holds the reply right
/// for (`NotFound` if none, `PeerDied` if it is gone).
pub fn reply(frame: &mut TrapFrame) -> Result<u64, SysError> {
    crate::meter_scope!(Reply);
    crate::meter_count!(IpcMessages, 1);
    crate::meter_trace!(IpcReply, frame.rsi);
    let info = MsgInfo::decode_sent(frame.rsi)?;
    let me = super::sched_current();
    ipc::check_message(&me, info, true, &words(frame))?;
    ipc::reply(&me)
}

/// `reply_save()` → a handle to a reply object holding this thread's
/// reply right (`NotFound` if it holds none).
pub fn reply_save(_: &mut TrapFrame) -> Result<u64, SysError> {
    thread::with_current(|me| {
        let process = me.process.as_ref().ok_or(SysError::InvalidArgument)?;
        // The object and room in the table first, so a failure leaves the
        // right where it was.
        let reply = Reply::prepare(process)?;
        let mut handles = process.handles.lock();
        if handles.len() >= handles.capacity() {
            drop(handles);
            Reply::unprepare(reply, process);
            return Err(SysError::OutOfResources);
        }
        // The right, and where a caller that asks out of its call is then
        // reported (`ipc::unblock`): the notification bound to this thread.
        let (caller, notify) = match ipc::reply_save(me) {
            Ok(saved) => saved,
            Err(e) => {
                drop(handles);
                Reply::unprepare(reply, process);
                return Err(e);
            }
        };
        crate::ipc::unblock::saved(&caller, notify);
        Reply::fill(&reply, caller);
        // The entry holds the object as it is (a reply handle counts
        // nothing: `kobject::entry` would clone it for no gain).
        let handle = handles.insert(kobject::Entry {
            object: KObject::Reply(reply),
            rights: Rights::SEND,
            badge: 0,
        });
        drop(handles);
        handle.map(|h| u64::from(h.0))
    })
}

/// `thread_unblock(thread)` → what was done (`libsys::abi::ipc::Unblocked`):
/// lets the thread out of its call (`ipc::unblock`). MANAGE on the
/// thread, or a thread of the caller's own process.
pub fn thread_unblock(args: OneHandle, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let found = lookup::<Thread>(&process, args.handle, Rights::empty())?;
    let own = found
        .object
        .process
        .as_ref()
        .is_some_and(|p| alloc::sync::Arc::ptr_eq(p, &process));
    if !own && !found.rights.contains(Rights::MANAGE) {
        return Err(SysError::NoRights);
    }
    drop(process);
    Ok(crate::ipc::unblock::unblock(&found.object) as u64)
}

/// `reply_interrupted(reply)` → 1 if the saved caller asked out of this
/// call and still waits, else 0.
pub fn reply_interrupted(args: OneHandle, _: &mut TrapFrame) -> Result<u64, SysError> {
    let process = caller()?;
    let reply = lookup::<crate::obj::reply::Reply>(&process, args.handle, Rights::SEND)?.object;
    Ok(u64::from(reply.interrupted()))
}

/// `reply_to(reply, info, _, words…)`: answers the caller the reply object
/// saved and closes the handle, whatever the outcome.
pub fn reply_to(frame: &mut TrapFrame) -> Result<u64, SysError> {
    crate::meter_scope!(Reply);
    crate::meter_count!(IpcMessages, 1);
    crate::meter_trace!(IpcReply, frame.rsi);
    let info = MsgInfo::decode_sent(frame.rsi)?;
    let (me, process) = caller_thread()?;
    let handle = libsys::abi::Handle::from_raw(frame.rdi)?;
    // Removed under the lock, dropped after it: dropping an unused reply
    // wakes its caller (with PeerDied, if the message below is refused).
    let entry = {
        let mut handles = process.handles.lock();
        handles.get_checked(handle, ObjectType::Reply, Rights::SEND)?;
        handles.remove(handle)?
    };
    let KObject::Reply(reply) = entry.object else {
        return Err(SysError::WrongType);
    };
    let result = match ipc::check_message(&me, info, true, &words(frame)) {
        Ok(()) => match Reply::take_closed(reply, &process) {
            Some(caller) => ipc::reply_saved(&me, caller),
            None => Err(SysError::PeerDied),
        },
        Err(e) => {
            // Unused: dropping it answers its caller (PeerDied).
            drop(reply);
            Err(e)
        }
    };
    drop(process);
    result
}

/// `reply_to_recv(endpoint | reply << 32, info, timeout, words…)`:
/// `reply_to`, then `recv` with a direct switch to the answered caller.
/// The endpoint is checked first; the reply handle is closed whatever the
/// outcome, as `reply_to` closes it.
pub fn reply_to_recv(frame: &mut TrapFrame) -> Result<u64, SysError> {
    crate::meter_scope!(Reply);
    crate::meter_count!(IpcMessages, 1);
    crate::meter_trace!(IpcReply, frame.rsi);
    if crate::ipc::fast::simple(frame) {
        if let Some(result) = thread::with_current(|me| reply_to_recv_simple(frame, me)) {
            return result;
        }
    }
    reply_to_recv_general(frame)
}

/// `reply_to_recv` of a message the fast path could carry (no handles, no
/// flags, no timeout: `fast::simple`): the same checks and outcome as
/// [`reply_to_recv_general`], in one lock of the table and without
/// reference counts on the thread; then `fast::reply_saved_recv`, or the
/// general receive. `None`, nothing changed, for a case it leaves to the
/// general path (a bad handle, a payload without an IPC buffer: the
/// general path reports those).
#[inline(always)]
fn reply_to_recv_simple(frame: &TrapFrame, me: &Thread) -> Option<Result<u64, SysError>> {
    if crate::ipc::fast::payload(frame) > 0 && me.buffer_phys().is_none() {
        return None;
    }
    let process = me.process.as_ref()?;
    let receive = Handle::from_raw(frame.rdi & 0xffff_ffff).ok()?;
    let handle = Handle::from_raw(frame.rdi >> 32).ok()?;
    let (endpoint, entry) = {
        let mut handles = process.handles.lock();
        let found = handles
            .get_checked(receive, ObjectType::Endpoint, Rights::RECV)
            .ok()?;
        let KObject::Endpoint(r) = &found.object else {
            return None;
        };
        let endpoint = r.endpoint.clone();
        handles
            .get_checked(handle, ObjectType::Reply, Rights::SEND)
            .ok()?;
        (endpoint, handles.remove(handle).ok()?)
    };
    // The handle is closed: from here on this is the call's outcome.
    let KObject::Reply(reply) = entry.object else {
        return Some(Err(SysError::WrongType));
    };
    let Some(caller) = Reply::take_closed(reply, process) else {
        return Some(Err(SysError::PeerDied));
    };
    Some(
        match crate::ipc::fast::reply_saved_recv(frame, me, caller, endpoint) {
            Ok(result) => result,
            Err((caller, endpoint)) => {
                ipc::reply_saved_recv(&thread::current(), caller, &endpoint, frame.rdx)
            }
        },
    )
}

/// `reply_to_recv`, every case.
#[inline(never)]
fn reply_to_recv_general(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let info = MsgInfo::decode_sent(frame.rsi)?;
    let timeout = frame.rdx;
    let me = super::sched_current();
    let process = me.process.as_ref().ok_or(SysError::InvalidArgument)?;
    let receive = Handle::from_raw(frame.rdi & 0xffff_ffff)?;
    let handle = Handle::from_raw(frame.rdi >> 32)?;
    // Both handles in one look at the table: the endpoint checked first,
    // then the reply object taken out.
    let (endpoint, entry) = {
        let mut handles = process.handles.lock();
        let found = handles.get_checked(receive, ObjectType::Endpoint, Rights::RECV)?;
        let KObject::Endpoint(r) = &found.object else {
            return Err(SysError::WrongType);
        };
        let endpoint = r.endpoint.clone();
        handles.get_checked(handle, ObjectType::Reply, Rights::SEND)?;
        (endpoint, handles.remove(handle)?)
    };
    let KObject::Reply(reply) = entry.object else {
        return Err(SysError::WrongType);
    };
    let caller = match ipc::check_message(&me, info, true, &words(frame)) {
        Ok(()) => Reply::take_closed(reply, process).ok_or(SysError::PeerDied)?,
        Err(e) => {
            // Unused: dropping it answers its caller (PeerDied).
            drop(reply);
            return Err(e);
        }
    };
    let (caller, endpoint) = match crate::ipc::fast::reply_saved_recv(frame, &me, caller, endpoint)
    {
        Ok(result) => return result,
        Err(back) => back,
    };
    ipc::reply_saved_recv(&me, caller, &endpoint, timeout)
}

/// `reply_recv(endpoint, info, timeout, words…)`.
pub fn reply_recv(frame: &mut TrapFrame) -> Result<u64, SysError> {
    crate::meter_scope!(Reply);
    crate::meter_count!(IpcMessages, 1);
    crate::meter_trace!(IpcReply, frame.rsi);
    match crate::ipc::fast::reply_recv(frame) {
        Some(result) => result,
        None => reply_recv_slow(frame),
    }
}

/// `reply_recv` when the fast path does not apply (out of line, as
/// `call_slow`).
#[inline(never)]
fn reply_recv_slow(frame: &mut TrapFrame) -> Result<u64, SysError> {
    let info = MsgInfo::decode_sent(frame.rsi)?;
    let timeout = frame.rdx;
    let (me, process) = caller_thread()?;
    let (endpoint, _, _) = ipc::endpoint_of(&process, frame.rdi, Rights::RECV)?;
    drop(process);
    ipc::check_message(&me, info, true, &words(frame))?;
    ipc::reply_recv(&me, &endpoint, timeout)
}

fn notification(
    handle: Handle,
    needed: Rights,
) -> Result<alloc::sync::Arc<Notification>, SysError> {
    let process = caller()?;
    Ok(lookup::<Notification>(&process, handle, needed)?.object)
}

/// `signal(notification, bits)`.
pub fn signal(args: Signal, _: &mut TrapFrame) -> Result<u64, SysError> {
    notification(args.notification, Rights::SEND)?.signal(args.bits);
    Ok(0)
}

/// `wait(notification, timeout)` → the bits.
pub fn wait(args: Wait, _: &mut TrapFrame) -> Result<u64, SysError> {
    let timeout = args.timeout_ns;
    let n = notification(args.notification, Rights::RECV)?;
    let me = super::sched_current();
    match n.take_or_queue(&me) {
        Some(bits) => Ok(bits),
        None if timeout == POLL => {
            n.remove(&me);
            Err(SysError::WouldBlock)
        }
        None => ipc::wait_notification(&me, n, timeout),
    }
}

/// `poll(notification)` → the bits (0 if none).
pub fn poll(args: OneHandle, _: &mut TrapFrame) -> Result<u64, SysError> {
    Ok(notification(args.handle, Rights::RECV)?.take())
}

/// `notification_bind(notification, thread)`.
pub fn bind(args: NotificationBind, _: &mut TrapFrame) -> Result<u64, SysError> {
    let n = notification(args.notification, Rights::RECV)?;
    let (me, process) = caller_thread()?;
    // Thread handle 0: the calling thread (a server binding a notification
    // to its own receive loop needs no handle to itself).
    let thread = match args.thread {
        None => me,
        Some(handle) => lookup::<Thread>(&process, handle, Rights::MANAGE)?.object,
    };
    n.bind(&thread)?;
    thread.ipc.lock().bound = Some(n);
    Ok(0)
}

/// `ipc_buffer_set(address)`: a page-aligned, user-writable page (or 0 to
/// have none).
pub fn ipc_buffer_set(args: IpcBufferSet, _: &mut TrapFrame) -> Result<u64, SysError> {
    let (me, process) = caller_thread()?;
    if let Some(address) = args.address {
        let writable = process
            .with_aspace(|aspace| aspace.translate(address))
            .flatten()
            .is_some_and(|m| m.user && m.prot.contains(Protection::WRITE));
        if !writable {
            return Err(SysError::BadAddress);
        }
    }
    me.ipc_buffer.store(
        args.address.unwrap_or(0),
        core::sync::atomic::Ordering::Relaxed,
    );
    Ok(0)
}

/// `grant_copy(reply or 0, direction, offset, buffer, length)` → bytes
/// copied: between the window this thread's caller lent and its own
/// buffer (`ipc::grant`).
pub fn grant_copy(args: GrantCopy, frame: &mut TrapFrame) -> Result<u64, SysError> {
    let (me, process) = caller_thread()?;
    crate::ipc::grant::copy(&me, &process, args, frame.rip)
}
