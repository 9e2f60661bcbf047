//! Servers placed inside the kernel: the "direct" transport of the
//! monolithic placement (docs/monolithic-vs-microkernel.md).
//!
//! A server's core is a library behind `libsys::server::Server` that makes
//! no system call; its process only runs `libsys::server::serve` around it.
//! With `placement=mono` on the kernel command line the kernel links the
//! same core, and the first process gets, instead of nothing, a handle to
//! a [`Service`] for each one (listed in its `InitInfo.services`). `init`
//! registers that handle under the server's name, so a client's lookup
//! returns a badged copy of it, and the client's stub makes the very same
//! `call` it makes in the microkernel placement. The `call` system call
//! sees a service handle and, instead of queueing the message for a
//! server thread, runs [`libsys::server::dispatch`] on the caller's IPC
//! buffer: the request is decoded, handled and the reply encoded into the
//! same buffer within that one system call — no second thread, no context
//! switch, no address-space switch.
//!
//! What differs from the process placement is only what the transport
//! must: inside the kernel a service cannot be killed or restarted on its
//! own. A request carrying handles gets `LABEL_BAD_REQUEST` in both (the
//! `Server` trait takes none; `serve` closes them, a service never
//! receives them).

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use libsys::abi::ipc::PAYLOAD_MAX;
use libsys::abi::{Handle, MsgInfo, Rights, SysError};
use libsys::server::Server;
use spin::Mutex;

use crate::arch::x86_64::trap::TrapFrame;
use crate::object::KObject;
use crate::sched;

/// A server core behind the same entry point as every transport:
/// [`libsys::server::dispatch`].
trait Core: Send {
    fn dispatch(&mut self, label: u32, input: &[u8], badge: u64, output: &mut [u8])
        -> (u32, usize);
}

impl<S: Server + Send> Core for S {
    fn dispatch(
        &mut self,
        label: u32,
        input: &[u8],
        badge: u64,
        output: &mut [u8],
    ) -> (u32, usize) {
        libsys::server::dispatch(self, label, input, badge, output)
    }
}

struct State {
    core: Box<dyn Core>,
    /// The request, copied out of the caller's buffer (the reply is
    /// encoded into that buffer).
    input: Box<[u8; PAYLOAD_MAX]>,
}

/// A server core running inside the kernel.
pub struct Service {
    pub name: &'static str,
    state: Mutex<State>,
    /// Requests answered (for `/proc`-style inspection and the tests).
    pub calls: core::sync::atomic::AtomicU64,
}

impl core::fmt::Debug for Service {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Service({})", self.name)
    }
}

impl Service {
    fn new(name: &'static str, core: Box<dyn Core>) -> Arc<Service> {
        Arc::new(Service {
            name,
            state: Mutex::new(State {
                core,
                input: Box::new([0; PAYLOAD_MAX]),
            }),
            calls: core::sync::atomic::AtomicU64::new(0),
        })
    }
}

/// The server cores the kernel links, by the name they register as.
pub const LINKED: &[&str] = &["kv"];

/// Creates the services for the first process when the command line asks
/// for the monolithic placement (`placement=mono`); none otherwise.
pub fn for_placement(cmdline_placement: Option<&str>) -> Vec<Arc<Service>> {
    if cmdline_placement != Some("mono") {
        return Vec::new();
    }
    LINKED.iter().filter_map(|name| create(name)).collect()
}

/// A fresh service running the core linked as `name`.
pub fn create(name: &str) -> Option<Arc<Service>> {
    match name {
        "kv" => Some(Service::new("kv", Box::new(kv::Kv::new()))),
        _ => None,
    }
}

/// `call` on a service handle: `None` if `frame.rdi` is not one (the IPC
/// paths take the call), else the call's result with the reply in the
/// frame's message registers and the caller's IPC buffer, as a server's
/// reply would be.
pub fn call(frame: &mut TrapFrame) -> Option<Result<u64, SysError>> {
    let me = sched::current_thread();
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
    me: &crate::thread::Thread,
    service: &Service,
    badge: u64,
    rights: Rights,
    frame: &mut TrapFrame,
) -> Result<u64, SysError> {
    let info = MsgInfo::decode(frame.rsi)?;
    if info.handles != 0 {
        // As the IPC path: sending handles needs GRANT.
        if !rights.contains(Rights::GRANT) {
            return Err(SysError::NoRights);
        }
        // As `serve` answers a request carrying handles (a service has no
        // table to put them in; nothing is transferred).
        set_reply(frame, libsys::rpc::LABEL_BAD_REQUEST, 0);
        return Ok(0);
    }
    // The reply goes into the buffer even when the request has no payload.
    let buffer = crate::ipc::buffer_phys(me).ok_or(SysError::BadAddress)?;
    // SAFETY: `buffer_phys` checked that the page is mapped user-writable
    // in the caller's address space; the HHDM maps all RAM; nothing else
    // runs while this system call does (one CPU, interrupts off), and the
    // caller's thread is this one, in the kernel.
    let page = unsafe { &mut *crate::kspace::phys_to_virt::<[u8; PAYLOAD_MAX]>(buffer) };
    let length = info.length as usize;
    let mut state = service.state.lock();
    let State { core, input } = &mut *state;
    input[..length].copy_from_slice(&page[..length]);
    let (label, reply) = core.dispatch(info.label, &input[..length], badge, page);
    service
        .calls
        .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    set_reply(frame, label, reply);
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
