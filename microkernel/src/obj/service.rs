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
//! server thread, runs the core (`Hosted::request`) on the caller's IPC
//! buffer (`ipc::service`, the transport): the request is decoded, handled
//! and the reply encoded into the same buffer within that one system call
//! — no second thread, no context switch, no address-space switch. This
//! file is the object a service handle names.
//!
//! Reply later: the core is driven through `libsys::server::Hosted`, as
//! in a process. A request it defers leaves its caller asleep in `call`
//! (blocked on its reply; its `Caller` parked here under the token) with
//! the service's lock released; when the core completes the token — in
//! another caller's request — the reply is encoded into the parked
//! caller's own IPC buffer and the caller woken (`deliver`). A caller
//! whose wait ends otherwise (a timeout, a kill) abandons its token and
//! the core is told (`Server::cancelled`); one that asks out of its call
//! (`thread_unblock`) has the core told (`Server::interrupted`), which
//! answers it as it would in a process. So a core hosted here never
//! waits under the lock, and `wait1` (blocked readers and writers) runs
//! here as well as `kv`.
//!
//! What differs from the process placement is only what the transport
//! must: inside the kernel a service cannot be killed or restarted on its
//! own. A request carrying handles gets `LABEL_BAD_REQUEST` in both (the
//! `Server` trait takes none; `serve` closes them, a service never
//! receives them).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use libsys::abi::ipc::PAYLOAD_MAX;
use libsys::abi::SysError;
use libsys::server::{Dispatched, Hosted, Server, Token};
use spin::Mutex;

use super::notification::Notification;
use super::thread::{Caller, Thread};
use crate::sched::wait;

/// A server core behind the same runtime as every transport:
/// [`libsys::server::Hosted`].
pub(super) trait Core: Send {
    fn request(&mut self, label: u32, input: &[u8], badge: u64, output: &mut [u8]) -> Dispatched;
    fn deliver(&mut self, scratch: &mut [u8], send: &mut dyn FnMut(Token, u32, &[u8]) -> bool);
    fn cancel(&mut self, token: Token);
    fn interrupt(&mut self, token: Token);

    /// Signals of the core's interrupt (the timer core's IRQ 0).
    fn signal(&mut self, _bits: u64) {}

    /// A request that carries one handle — `notification`, if it names a
    /// notification the caller may signal: the reply's label and length
    /// in `output`, or `None` if the core takes no handle with this
    /// request (it then gets `LABEL_BAD_REQUEST`, as in a process).
    fn with_handle(
        &mut self,
        _label: u32,
        _input: &[u8],
        _badge: u64,
        _notification: Option<Arc<Notification>>,
        _output: &mut [u8],
    ) -> Option<(u32, usize)> {
        None
    }

    /// The badge of a handle to the service that the reply just made must
    /// carry (the timer's `Session`), once.
    fn take_session(&mut self) -> Option<u64> {
        None
    }
}

impl<S: Server + Send> Core for Hosted<S>
where
    S::Reply: Send,
{
    fn request(&mut self, label: u32, input: &[u8], badge: u64, output: &mut [u8]) -> Dispatched {
        Hosted::request(self, label, input, badge, output)
    }

    fn deliver(&mut self, scratch: &mut [u8], send: &mut dyn FnMut(Token, u32, &[u8]) -> bool) {
        Hosted::deliver(self, scratch, send)
    }

    fn cancel(&mut self, token: Token) {
        Hosted::cancel(self, token)
    }

    fn interrupt(&mut self, token: Token) {
        // Answered already (not live): nothing to interrupt.
        let _ = Hosted::interrupt(self, token);
    }

    fn signal(&mut self, bits: u64) {
        Hosted::signal(self, bits)
    }
}

struct State {
    core: Box<dyn Core>,
    /// The request, copied out of the caller's buffer (the reply is
    /// encoded into that buffer); the scratch page completions are
    /// encoded into.
    input: Box<[u8; PAYLOAD_MAX]>,
    /// The callers whose requests were deferred, by token: each sleeps in
    /// its `call` (blocked on its reply) until the core completes it.
    parked: BTreeMap<Token, Caller>,
}

/// A server core running inside the kernel.
pub struct Service {
    pub name: &'static str,
    state: Mutex<State>,
    /// Requests answered (for `/proc`-style inspection and the tests).
    pub calls: core::sync::atomic::AtomicU64,
    /// Interrupt bits that found the lock held (see [`Service::signal`]).
    deferred_signals: core::sync::atomic::AtomicU64,
}

impl core::fmt::Debug for Service {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Service({})", self.name)
    }
}

impl Service {
    pub(super) fn new(name: &'static str, core: Box<dyn Core>) -> Arc<Service> {
        Arc::new(Service {
            name,
            state: Mutex::new(State {
                core,
                input: Box::new([0; PAYLOAD_MAX]),
                parked: BTreeMap::new(),
            }),
            calls: core::sync::atomic::AtomicU64::new(0),
            deferred_signals: core::sync::atomic::AtomicU64::new(0),
        })
    }
}

/// The server cores the kernel links, by the name they register as.
pub const LINKED: &[&str] = &["kv", "wait1", "timer"];

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
        "kv" => Some(Service::new("kv", Box::new(Hosted::new(kv::Kv::new())))),
        "wait1" => Some(Service::new(
            "wait1",
            Box::new(Hosted::new(wait1::Wait1Server::new())),
        )),
        "timer" => super::service_timer::create(),
        _ => None,
    }
}

/// What a request to a service came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The reply's label and length, in the caller's buffer.
    Now(u32, usize),
    /// Deferred: the caller must sleep on its reply (its `Caller` is
    /// parked under `token`) and hand `token` to [`Service::abandon`] if
    /// it stops waiting.
    Later(Token),
}

/// A completed reply as a wait result: label above, length below.
pub fn encode_result(label: u32, length: usize) -> u64 {
    (u64::from(label) << 32) | length as u64
}

/// The label and length [`encode_result`] packed.
pub fn decode_result(value: u64) -> (u32, usize) {
    ((value >> 32) as u32, (value & 0xffff) as usize)
}

impl Service {
    /// Runs the core on a request of `length` bytes in `page` (the
    /// caller's IPC buffer) from a handle with `badge`, made by thread
    /// `me`: the reply is encoded into `page` now, or the request is
    /// deferred and `me` parked. Completions the core made meanwhile are
    /// delivered before the lock is released.
    pub fn dispatch(
        &self,
        me: &Arc<Thread>,
        label: u32,
        length: usize,
        badge: u64,
        page: &mut [u8; PAYLOAD_MAX],
    ) -> Outcome {
        let length = length.min(PAYLOAD_MAX);
        let mut state = self.state.lock();
        let State {
            core,
            input,
            parked,
        } = &mut *state;
        input[..length].copy_from_slice(&page[..length]);
        self.run_deferred_signals(core.as_mut());
        let outcome = match core.request(label, &input[..length], badge, page) {
            Dispatched::Now(label, length) => Outcome::Now(label, length),
            Dispatched::Later(token) => {
                let seq = me.wait.lock().seq;
                parked.insert(token, me.caller(false, seq));
                Outcome::Later(token)
            }
        };
        deliver(core.as_mut(), input, parked);
        self.calls
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        outcome
    }

    /// The caller parked under `token` asked to be let out of its call
    /// (`thread_unblock`): the core hears it (`Server::interrupted`) and
    /// may answer it now (an `EINTR`, a partial count), delivered before
    /// the lock is released. Nothing if it was answered already.
    pub fn interrupt(&self, token: Token) {
        let mut state = self.state.lock();
        let State {
            core,
            input,
            parked,
        } = &mut *state;
        if parked.contains_key(&token) {
            core.interrupt(token);
            deliver(core.as_mut(), input, parked);
        }
    }

    /// The caller parked under `token` stopped waiting (a timeout, a
    /// kill): its token is cancelled and the core told. Nothing if it was
    /// answered already.
    pub fn abandon(&self, token: Token) {
        let mut state = self.state.lock();
        let State {
            core,
            input,
            parked,
        } = &mut *state;
        if parked.remove(&token).is_some() {
            core.cancel(token);
            deliver(core.as_mut(), input, parked);
        }
    }
}

impl Service {
    /// The core's interrupt (from the IRQ handler, with interrupts off):
    /// the core runs what is due and its completions are delivered. If
    /// the lock is held — never, on one CPU with interrupts off in every
    /// system call, but it costs nothing to be sure — the bits wait for
    /// the next request.
    pub fn signal(&self, bits: u64) {
        let Some(mut state) = self.state.try_lock() else {
            self.deferred_signals
                .fetch_or(bits, core::sync::atomic::Ordering::Relaxed);
            return;
        };
        let State {
            core,
            input,
            parked,
        } = &mut *state;
        core.signal(bits);
        deliver(core.as_mut(), input, parked);
    }

    /// A request of `length` bytes in `page` that carries one handle
    /// (`notification`, if it is a notification the caller may signal):
    /// the reply's label and length, encoded into `page`, or `None` if the
    /// core takes no handle with it.
    pub fn with_handle(
        &self,
        label: u32,
        length: usize,
        badge: u64,
        notification: Option<Arc<Notification>>,
        page: &mut [u8; PAYLOAD_MAX],
    ) -> Option<(u32, usize)> {
        let length = length.min(PAYLOAD_MAX);
        let mut state = self.state.lock();
        let State { core, input, .. } = &mut *state;
        input[..length].copy_from_slice(&page[..length]);
        let answer = core.with_handle(label, &input[..length], badge, notification, page);
        self.calls
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        answer
    }

    /// The badge of the service handle the last reply must carry, once.
    pub fn take_session(&self) -> Option<u64> {
        self.state.lock().core.take_session()
    }

    /// Signals that came while the lock was held, run now.
    fn run_deferred_signals(&self, core: &mut dyn Core) {
        let bits = self
            .deferred_signals
            .swap(0, core::sync::atomic::Ordering::Relaxed);
        if bits != 0 {
            core.signal(bits);
        }
    }
}

/// Wakes each parked caller whose request the core completed, with the
/// reply encoded into its own IPC buffer. A caller no longer waiting (or
/// whose buffer is gone) is reported undelivered to the core.
fn deliver(
    core: &mut dyn Core,
    scratch: &mut [u8; PAYLOAD_MAX],
    parked: &mut BTreeMap<Token, Caller>,
) {
    core.deliver(&mut scratch[..], &mut |token, label, bytes| {
        let Some(caller) = parked.remove(&token) else {
            return false;
        };
        if !caller.is_waiting() {
            return false;
        }
        let Some(buffer) = caller.thread.buffer_phys() else {
            wait::finish(&caller.thread, Err(SysError::BadAddress));
            return false;
        };
        // SAFETY: `buffer_phys` checked that the page is mapped
        // user-writable in the caller's address space; the HHDM maps all
        // RAM; the caller is blocked in its `call`, so nothing else uses
        // its buffer, and nothing else runs (one CPU, interrupts off).
        let page = unsafe { &mut *crate::mem::kspace::phys_to_virt::<[u8; PAYLOAD_MAX]>(buffer) };
        page[..bytes.len()].copy_from_slice(bytes);
        // Answered: the record of where it was parked goes with it.
        caller.thread.ipc.lock().held = None;
        wait::finish(&caller.thread, Ok(encode_result(label, bytes.len())));
        true
    });
}
