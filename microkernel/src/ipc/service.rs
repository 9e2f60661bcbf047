//! The direct transport of the monolithic placement: a `call` on a
//! service handle runs the server core inside the system call
//! (`obj::service` has the object and docs/monolithic-vs-microkernel.md
//! the story).
//!
//! The caller's IPC buffer holds the request; the core's reply is encoded
//! into the same buffer and the reply's registers are set as a server's
//! reply would set them. A request carrying handles gets
//! `LABEL_BAD_REQUEST`, as `serve` answers one in the process placement.
//!
//! Reply later: a request the core defers leaves the caller asleep in its
//! `call` (blocked on its reply, as if a server thread held the right) with
//! the service's lock released, so the core goes on serving everyone else.
//! When the core completes it — in another caller's request, say — the
//! service writes the reply into this caller's buffer and wakes it; the
//! caller then sets its reply registers here. A caller whose wait ends
//! otherwise (its timeout, a kill) abandons its token, and the core is told.

use libsys::abi::ipc::PAYLOAD_MAX;
use libsys::abi::{Handle, MsgInfo, Rights, SysError};

use crate::arch::x86_64::trap::TrapFrame;
use crate::obj::handle::KObject;
use crate::obj::service::{self, Outcome, Service};
use crate::obj::thread::{self, HeldBy, Thread};
use crate::sched::wait::{self, Blocked};

/// `call` on a service handle: `None` if `frame.rdi` is not one (the IPC
/// paths take the call), else the call's result with the reply in the
/// frame's message registers and the caller's IPC buffer, as a server's
/// reply would be.
pub fn call(frame: &mut TrapFrame) -> Option<Result<u64, SysError>> {
    let me = thread::current();
    let process = me.process.as_ref()?;
    let (service, badge, rights) = {
        let handles = process.handles.lock();
        let raw = Handle::from_raw(frame.rdi).ok()?;
        let entry = handles.get(raw).ok()?;
        let KObject::Service(service) = &entry.object else {
            return None;
        };
        if !entry.rights.contains(Rights::SEND) {
            return Some(Err(SysError::NoRights));
        }
        (service.clone(), entry.badge, entry.rights)
    };
    Some(invoke(&me, &service, badge, rights, frame))
}

fn invoke(
    me: &alloc::sync::Arc<Thread>,
    service: &alloc::sync::Arc<Service>,
    badge: u64,
    rights: Rights,
    frame: &mut TrapFrame,
) -> Result<u64, SysError> {
    let info = MsgInfo::decode_sent(frame.rsi)?;
    if info.handles != 0 {
        // As the IPC path: sending handles needs GRANT.
        if !rights.contains(Rights::GRANT) {
            return Err(SysError::NoRights);
        }
        if info.handles == 1 {
            if let Some((label, length)) = with_handle(me, service, info, badge, frame)? {
                set_reply(frame, label, length);
                return Ok(0);
            }
        }
        // As `serve` answers a request carrying handles (a service has no
        // table to put them in; nothing is transferred).
        set_reply(frame, libsys::rpc::LABEL_BAD_REQUEST, 0);
        return Ok(0);
    }
    // The reply goes into the buffer even when the request has no payload.
    let buffer = me.buffer_phys().ok_or(SysError::BadAddress)?;
    // SAFETY: `buffer_phys` checked that the page is mapped user-writable
    // in the caller's address space; the HHDM maps all RAM; nothing else
    // runs while this system call does (one CPU, interrupts off), and the
    // caller's thread is this one, in the kernel.
    let page = unsafe { &mut *crate::mem::kspace::phys_to_virt::<[u8; PAYLOAD_MAX]>(buffer) };
    match service.dispatch(me, info.label, info.length as usize, badge, page) {
        Outcome::Now(label, length) => {
            set_reply(frame, label, length);
            if let Some(session) = service.take_session() {
                give_session(me, service, session, frame, label, length);
            }
        }
        Outcome::Later(token) => {
            // Where `thread_unblock` finds this call (`ipc::unblock`).
            me.ipc.lock().held =
                Some((me.wait.lock().seq, HeldBy::Service(service.clone(), token)));
            // The lock is released: sleep until the core completes us.
            match wait::block(me, Blocked::Reply, frame.rdx, None) {
                Ok(value) => {
                    let (label, length) = service::decode_result(value);
                    set_reply(frame, label, length);
                }
                Err(e) => {
                    service.abandon(token);
                    return Err(e);
                }
            }
        }
    }
    Ok(0)
}

/// The reply's registers: its label and payload length, no words.
fn set_reply(frame: &mut TrapFrame, label: u32, length: usize) {
    frame.rsi = MsgInfo::new(label).with_payload(length as u16).encode();
    frame.r10 = 0;
    frame.r8 = 0;
    frame.r9 = 0;
    frame.r12 = 0;
    frame.r13 = 0;
    frame.r14 = 0;
}

/// A request carrying one handle (word 5, as the IPC path reads it), for a
/// core that takes one (the timer's `Bind`): the handle must be the
/// caller's (else its lookup error, as a `call` would get); the core sees
/// the notification if it is one the caller may signal. `None` if the core
/// takes no handle with this request.
fn with_handle(
    me: &alloc::sync::Arc<Thread>,
    service: &Service,
    info: MsgInfo,
    badge: u64,
    frame: &TrapFrame,
) -> Result<Option<(u32, usize)>, SysError> {
    let process = me.process.as_ref().ok_or(SysError::InvalidArgument)?;
    let notification = {
        let handles = process.handles.lock();
        let entry = handles.get(Handle::from_raw(frame.r14)?)?;
        match &entry.object {
            KObject::Notification(n) if entry.rights.contains(Rights::SEND) => Some(n.clone()),
            _ => None,
        }
    };
    let buffer = me.buffer_phys().ok_or(SysError::BadAddress)?;
    // SAFETY: as in `invoke`: the caller's own mapped, user-writable IPC
    // buffer, reached through the HHDM while nothing else runs.
    let page = unsafe { &mut *crate::mem::kspace::phys_to_virt::<[u8; PAYLOAD_MAX]>(buffer) };
    Ok(service.with_handle(info.label, info.length as usize, badge, notification, page))
}

/// The reply just set carries a new handle to `service` badged `badge`
/// (the timer's `Session`), in word 5 as a received handle arrives. A
/// caller whose handle table is full gets `LABEL_SERVER_ERROR` instead.
fn give_session(
    me: &alloc::sync::Arc<Thread>,
    service: &alloc::sync::Arc<Service>,
    badge: u64,
    frame: &mut TrapFrame,
    label: u32,
    length: usize,
) {
    let inserted = me.process.as_ref().map(|process| {
        process.handles.lock().insert(crate::obj::handle::Entry {
            object: KObject::Service(service.clone()),
            rights: Rights::SEND | Rights::GRANT,
            badge,
        })
    });
    match inserted {
        Some(Ok(handle)) => {
            let mut info = MsgInfo::new(label).with_payload(length as u16);
            info.handles = 1;
            frame.rsi = info.encode();
            frame.r14 = u64::from(handle.0);
        }
        _ => set_reply(frame, libsys::rpc::LABEL_SERVER_ERROR, 0),
    }
}
