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
use crate::ipc::grant::{CurrentGrant, ParkedGrant};
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
    #[cfg(feature = "meter")]
    crate::klog::meter::service_call();
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
    let process = me.process.as_ref().ok_or(SysError::InvalidArgument)?;
    // The window lent with the call, checked and faulted in now, before
    // the core runs under the service's lock (as `call` checks it).
    let mut grant = CurrentGrant::for_call(process, &info, &words(frame), frame.rip)?;
    let lent = grant.lent();
    let timeout = frame.rdx;
    let outcome = {
        let page = buffer(me)?;
        let mut keep = || {
            lent.map(|w| {
                alloc::boxed::Box::new(ParkedGrant::new(me.clone(), w))
                    as alloc::boxed::Box<dyn libsys::grant::GrantAccess + Send>
            })
        };
        crate::meter_span!(Work, ServiceEnter, ServiceLeave, info.label);
        service.dispatch(
            me,
            info.label,
            info.length as usize,
            badge,
            page,
            &mut grant,
            &mut keep,
        )
    };
    let (label, length) = run(me, service, outcome, timeout, frame)?;
    set_reply(frame, label, length);
    if let Some(session) = service.take_session() {
        give_session(me, service, session, frame, label, length);
    }
    Ok(0)
}

/// The caller's IPC buffer, where the request is and the reply goes.
fn buffer(me: &Thread) -> Result<&'static mut [u8; PAYLOAD_MAX], SysError> {
    let buffer = me.buffer_phys().ok_or(SysError::BadAddress)?;
    // SAFETY: `buffer_phys` checked that the page is mapped user-writable
    // in the caller's address space; the HHDM maps all RAM; nothing else
    // runs while this system call does (one CPU, interrupts off), and the
    // caller's thread is this one, in the kernel. Each use ends before
    // the thread blocks (when IPC may write the page).
    Ok(unsafe { &mut *crate::mem::kspace::phys_to_virt::<[u8; PAYLOAD_MAX]>(buffer) })
}

/// Takes a request from its outcome to its reply: sleeps while it is
/// deferred, makes the calls out the core asks for it (a
/// kernel-originated call on this thread, whose own call waits anyway)
/// and hands their answers back. A wait that ends otherwise (a timeout,
/// a kill, a call out that failed that way) abandons the token.
fn run(
    me: &alloc::sync::Arc<Thread>,
    service: &alloc::sync::Arc<Service>,
    mut outcome: Outcome,
    timeout: u64,
    frame: &mut TrapFrame,
) -> Result<(u32, usize), SysError> {
    loop {
        outcome = match outcome {
            Outcome::Now(label, length) => return Ok((label, length)),
            Outcome::Later(token) => {
                // Where `thread_unblock` finds this call (`ipc::unblock`).
                me.ipc.lock().held =
                    Some((me.wait.lock().seq, HeldBy::Service(service.clone(), token)));
                // The lock is released: sleep until the core completes us.
                match wait::block(me, Blocked::Reply, timeout, None) {
                    Ok(service::CALL_OUT) => service.resume(me, token, buffer(me)?),
                    Ok(value) => return Ok(service::decode_result(value)),
                    Err(e) => {
                        service.abandon(token);
                        return Err(e);
                    }
                }
            }
            Outcome::Call(token, out) => match call_out(me, &out, timeout, frame) {
                Ok(answer) => service.answered(me, token, Ok(answer), buffer(me)?),
                Err(e @ (SysError::TimedOut | SysError::Interrupted)) => {
                    service.abandon(token);
                    return Err(e);
                }
                Err(e) if me.is_killed() => {
                    service.abandon(token);
                    return Err(e);
                }
                Err(e) => service.answered(me, token, Err(e), buffer(me)?),
            },
        };
    }
}

/// A call out of the kernel: `out` sent as this thread's own `call` (the
/// request in its IPC buffer, no words, no window, no handles) to the
/// connection's endpoint, as the kernel sends a page fault on a
/// thread's behalf; the answer's label and length (its payload in the
/// buffer). The thread's registers are its call's and are set again at
/// its reply.
fn call_out(
    me: &alloc::sync::Arc<Thread>,
    out: &service::Outgoing,
    timeout: u64,
    frame: &mut TrapFrame,
) -> Result<(u32, usize), SysError> {
    if me.is_killed() {
        return Err(SysError::PeerDied);
    }
    let length = out.payload.len().min(PAYLOAD_MAX);
    buffer(me)?[..length].copy_from_slice(&out.payload[..length]);
    set_reply(frame, out.label, length);
    me.ipc.lock().held = None;
    crate::ipc::grant::detach(me);
    crate::ipc::transfer::send(me, &out.endpoint, out.badge, timeout, true)?;
    // SAFETY: this thread's own saved registers, at the top of its kernel
    // stack, which the answer was delivered into (`transfer::deliver`)
    // while it slept; it runs now, in the kernel.
    let answer = unsafe { (*me.user_frame()).rsi };
    let info = MsgInfo::decode(answer)?;
    Ok((info.label, (info.length as usize).min(PAYLOAD_MAX)))
}

/// The message words of a frame, in ABI order.
fn words(frame: &TrapFrame) -> [u64; libsys::abi::ipc::MSG_WORDS] {
    [
        frame.r10, frame.r8, frame.r9, frame.r12, frame.r13, frame.r14,
    ]
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
    let (notification, endpoint) = {
        let handles = process.handles.lock();
        let entry = handles.get(Handle::from_raw(frame.r14)?)?;
        match &entry.object {
            KObject::Notification(n) if entry.rights.contains(Rights::SEND) => {
                (Some(n.clone()), None)
            }
            KObject::Endpoint(e) if entry.rights.contains(Rights::SEND) => {
                (None, Some((e.endpoint.clone(), entry.badge)))
            }
            _ => (None, None),
        }
    };
    let page = buffer(me)?;
    if info.label == libsys::callout::LABEL_CONNECT {
        // A connection for the core's calls out (its name the payload).
        let length = (info.length as usize).min(libsys::callout::NAME_MAX + 1);
        let connected = endpoint
            .ok_or(SysError::WrongType)
            .and_then(|(e, b)| service.connect(badge, &page[..length], e, b));
        let label = match connected {
            Ok(()) => libsys::rpc::LABEL_REPLY,
            Err(_) => libsys::rpc::LABEL_BAD_REQUEST,
        };
        return Ok(Some((label, 0)));
    }
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
