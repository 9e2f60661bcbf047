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
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use libsys::abi::ipc::PAYLOAD_MAX;
use libsys::abi::SysError;
use libsys::grant::GrantAccess;
use libsys::server::{CallOut, Dispatched, Hosted, Server, Token};
use spin::Mutex;

use super::endpoint::Endpoint;
use super::notification::Notification;
use super::thread::{Caller, Thread};
use crate::sched::wait;

/// A server core behind the same runtime as every transport:
/// [`libsys::server::Hosted`].
pub(super) trait Core: Send {
    /// One request, with the window its caller lent (`Later::grant`).
    fn request(
        &mut self,
        label: u32,
        input: &[u8],
        badge: u64,
        output: &mut [u8],
        grant: &mut dyn GrantAccess,
    ) -> Dispatched;
    fn deliver(&mut self, scratch: &mut [u8], send: &mut dyn FnMut(Token, u32, &[u8]) -> bool);
    fn cancel(&mut self, token: Token);
    fn interrupt(&mut self, token: Token);

    /// Keeps a deferred request's window with its token.
    fn keep_grant(&mut self, _token: Token, _grant: Box<dyn GrantAccess + Send>) {}

    /// The calls out the core asked for since the last take.
    fn take_calls(&mut self) -> Vec<CallOut> {
        Vec::new()
    }

    /// The answer to `token`'s call out (dropped if the token ended).
    fn answered(&mut self, _token: Token, _answer: Result<(u32, &[u8]), SysError>) {}

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
    fn request(
        &mut self,
        label: u32,
        input: &[u8],
        badge: u64,
        output: &mut [u8],
        grant: &mut dyn GrantAccess,
    ) -> Dispatched {
        Hosted::request_with(self, label, input, badge, output, grant)
    }

    fn keep_grant(&mut self, token: Token, grant: Box<dyn GrantAccess + Send>) {
        self.later.keep_grant(token, grant);
    }

    fn take_calls(&mut self) -> Vec<CallOut> {
        self.later.take_calls()
    }

    fn answered(&mut self, token: Token, answer: Result<(u32, &[u8]), SysError>) {
        // A token that ended meanwhile: the answer finds no one.
        let _ = Hosted::answered(self, token, answer);
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
    /// Calls out the core asked for, each waiting for its caller's
    /// thread to make it (woken with [`CALL_OUT`] if it was parked).
    calls: BTreeMap<Token, Outgoing>,
    /// The endpoints clients connected (`LABEL_CONNECT`), by badge and
    /// name, with the badge of the handle they lent.
    connections: BTreeMap<(u64, String), (Arc<Endpoint>, u64)>,
}

/// A call out, ready to be made by its caller's thread: the endpoint and
/// badge of the connection, the label and the request.
pub struct Outgoing {
    pub endpoint: Arc<Endpoint>,
    pub badge: u64,
    pub label: u32,
    pub payload: Vec<u8>,
}

/// The wait result with which a parked caller is woken to make its
/// request's call out (no reply is this: a reply's label is 32 bits).
pub const CALL_OUT: u64 = u64::MAX;

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
                calls: BTreeMap::new(),
                connections: BTreeMap::new(),
            }),
            calls: core::sync::atomic::AtomicU64::new(0),
            deferred_signals: core::sync::atomic::AtomicU64::new(0),
        })
    }
}

/// The server cores the kernel links, by the name they register as.
pub const LINKED: &[&str] = &["kv", "wait1", "timer", "echo"];

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
        "echo" => Some(Service::new(
            "echo",
            Box::new(Hosted::new(echo::Echo::new())),
        )),
        _ => None,
    }
}

/// What a request to a service came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The reply's label and length, in the caller's buffer.
    Now(u32, usize),
    /// Deferred: the caller must sleep on its reply (its `Caller` is
    /// parked under `token`) and hand `token` to [`Service::abandon`] if
    /// it stops waiting.
    Later(Token),
    /// Deferred, and the core asked for a call out for it: the caller's
    /// thread makes it now, then hands the answer to
    /// [`Service::answered`] (or `token` to [`Service::abandon`]).
    Call(Token, Outgoing),
}

impl core::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Outgoing(label {:#x}, {} bytes)",
            self.label,
            self.payload.len()
        )
    }
}

impl PartialEq for Outgoing {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.endpoint, &other.endpoint)
            && (self.badge, self.label, &self.payload) == (other.badge, other.label, &other.payload)
    }
}

impl Eq for Outgoing {}

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
    /// `me`, which lent `grant` (`keep` makes the version of it a
    /// deferred request keeps): the reply is encoded into `page` now, or
    /// the request is deferred and `me` parked, or a call out is to be
    /// made for it. Completions the core made meanwhile are delivered
    /// before the lock is released.
    #[allow(clippy::too_many_arguments)]
    pub fn dispatch(
        &self,
        me: &Arc<Thread>,
        label: u32,
        length: usize,
        badge: u64,
        page: &mut [u8; PAYLOAD_MAX],
        grant: &mut dyn GrantAccess,
        keep: &mut dyn FnMut() -> Option<Box<dyn GrantAccess + Send>>,
    ) -> Outcome {
        let length = length.min(PAYLOAD_MAX);
        let mut state = self.state.lock();
        let state = &mut *state;
        state.input[..length].copy_from_slice(&page[..length]);
        self.run_deferred_signals(state.core.as_mut());
        let dispatched = state
            .core
            .request(label, &state.input[..length], badge, page, grant);
        self.calls
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        match dispatched {
            Dispatched::Now(label, length) => {
                state.settle(None);
                Outcome::Now(label, length)
            }
            Dispatched::Later(token) => {
                if let Some(kept) = keep() {
                    state.core.keep_grant(token, kept);
                }
                state.finish(me, token, page)
            }
        }
    }

    /// The answer to the call out `me` made for `token` (`Ok`: the
    /// reply's label and length, in `page`, `me`'s IPC buffer): the core
    /// hears it, and the request comes to an outcome as in
    /// [`Service::dispatch`].
    pub fn answered(
        &self,
        me: &Arc<Thread>,
        token: Token,
        answer: Result<(u32, usize), SysError>,
        page: &mut [u8; PAYLOAD_MAX],
    ) -> Outcome {
        let mut state = self.state.lock();
        let state = &mut *state;
        let answer = answer.map(|(label, length)| {
            let length = length.min(PAYLOAD_MAX);
            state.input[..length].copy_from_slice(&page[..length]);
            (label, length)
        });
        let input = &state.input;
        state.core.answered(
            token,
            answer.map(|(label, length)| (label, &input[..length])),
        );
        state.finish(me, token, page)
    }

    /// `me`, parked under `token`, was woken with [`CALL_OUT`]: the call
    /// to make, or (none waiting after all) parked again.
    pub fn resume(&self, me: &Arc<Thread>, token: Token, page: &mut [u8; PAYLOAD_MAX]) -> Outcome {
        let mut state = self.state.lock();
        state.finish(me, token, page)
    }

    /// The caller parked under `token` asked to be let out of its call
    /// (`thread_unblock`): the core hears it (`Server::interrupted`) and
    /// may answer it now (an `EINTR`, a partial count), delivered before
    /// the lock is released. Nothing if it was answered already.
    pub fn interrupt(&self, token: Token) {
        let mut state = self.state.lock();
        if state.parked.contains_key(&token) {
            state.core.interrupt(token);
            state.settle(None);
        }
    }

    /// The caller of `token` stopped waiting (a timeout, a kill, a call
    /// out that failed that way): its token is cancelled and the core
    /// told. Nothing if it was answered already.
    pub fn abandon(&self, token: Token) {
        let mut state = self.state.lock();
        state.parked.remove(&token);
        state.calls.remove(&token);
        // Not live (answered already): nothing happens.
        state.core.cancel(token);
        state.settle(None);
    }

    /// Client `badge` lends `endpoint` (with the badge of its handle) as
    /// its connection `name`, which the core's calls out for it may name
    /// (`LABEL_CONNECT`). `InvalidArgument` for a bad name,
    /// `OutOfResources` past the bounds (those of the process runtime,
    /// `libsys::callout`).
    pub fn connect(
        &self,
        badge: u64,
        name: &[u8],
        endpoint: Arc<Endpoint>,
        endpoint_badge: u64,
    ) -> Result<(), SysError> {
        use libsys::callout::{CONNECTIONS_MAX, CONNECTIONS_PER_CLIENT, NAME_MAX};
        let name = core::str::from_utf8(name).map_err(|_| SysError::InvalidArgument)?;
        if name.is_empty() || name.len() > NAME_MAX {
            return Err(SysError::InvalidArgument);
        }
        let mut state = self.state.lock();
        let key = (badge, String::from(name));
        if !state.connections.contains_key(&key) {
            let mine = state
                .connections
                .keys()
                .filter(|(b, _)| *b == badge)
                .count();
            if mine >= CONNECTIONS_PER_CLIENT || state.connections.len() >= CONNECTIONS_MAX {
                return Err(SysError::OutOfResources);
            }
        }
        state.connections.insert(key, (endpoint, endpoint_badge));
        self.calls
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// The caller whose deferred request an entry is about (the current
/// thread), for what the core does to its token within the entry.
struct Current<'a> {
    token: Token,
    page: &'a mut [u8; PAYLOAD_MAX],
    /// Its completion (label, length), written into `page`.
    answer: Option<(u32, usize)>,
    /// A call out for it.
    call: Option<Outgoing>,
}

impl State {
    /// After an entry into the core on `me`'s deferred `token`: delivers,
    /// starts calls out, and says what `me` does next — take its answer,
    /// make a call, or sleep parked.
    fn finish(&mut self, me: &Arc<Thread>, token: Token, page: &mut [u8; PAYLOAD_MAX]) -> Outcome {
        let mut current = Current {
            token,
            page,
            answer: None,
            // One the core asked for while `me` slept (woken with
            // `CALL_OUT`), if any.
            call: self.calls.remove(&token),
        };
        self.settle(Some(&mut current));
        if let Some((label, length)) = current.answer {
            return Outcome::Now(label, length);
        }
        if let Some(call) = current.call {
            return Outcome::Call(token, call);
        }
        let seq = me.wait.lock().seq;
        self.parked.insert(token, me.caller(false, seq));
        Outcome::Later(token)
    }

    /// Delivers the completions and routes the calls out the core made,
    /// until it makes no more.
    fn settle(&mut self, mut current: Option<&mut Current>) {
        loop {
            deliver(
                self.core.as_mut(),
                &mut self.input,
                &mut self.parked,
                current.as_deref_mut(),
            );
            let calls = self.core.take_calls();
            if calls.is_empty() {
                return;
            }
            for call in calls {
                self.route(call, current.as_deref_mut());
            }
        }
    }

    /// A call out the core asked for: to the current caller's thread if
    /// it is for its token, else to the parked caller's (woken with
    /// [`CALL_OUT`] to make it); refused to the core (`NotFound`: no such
    /// connection; `PeerDied`: no caller to make it) otherwise.
    fn route(&mut self, call: CallOut, current: Option<&mut Current>) {
        let token = call.token;
        let Some((endpoint, badge)) = self
            .connections
            .get(&(call.client, call.target))
            .map(|(e, b)| (e.clone(), *b))
        else {
            self.core.answered(token, Err(SysError::NotFound));
            return;
        };
        let out = Outgoing {
            endpoint,
            badge,
            label: call.label,
            payload: call.payload,
        };
        if let Some(current) = current.filter(|c| c.token == token) {
            current.call = Some(out);
            return;
        }
        match self.parked.remove(&token) {
            Some(caller) if caller.is_waiting() => {
                caller.thread.ipc.lock().held = None;
                self.calls.insert(token, out);
                wait::finish(&caller.thread, Ok(CALL_OUT));
            }
            // Going (its wait ended another way): it abandons the token.
            Some(caller) => {
                self.parked.insert(token, caller);
            }
            None => self.core.answered(token, Err(SysError::PeerDied)),
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
        state.core.signal(bits);
        state.settle(None);
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
/// reply encoded into its own IPC buffer; the current caller's
/// completion goes into its page. A caller no longer waiting (or whose
/// buffer is gone) is reported undelivered to the core.
fn deliver(
    core: &mut dyn Core,
    scratch: &mut [u8; PAYLOAD_MAX],
    parked: &mut BTreeMap<Token, Caller>,
    mut current: Option<&mut Current>,
) {
    core.deliver(&mut scratch[..], &mut |token, label, bytes| {
        if let Some(current) = current.as_deref_mut().filter(|c| c.token == token) {
            current.page[..bytes.len()].copy_from_slice(bytes);
            current.answer = Some((label, bytes.len()));
            current.call = None;
            return true;
        }
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
