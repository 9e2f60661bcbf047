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
//! buffer (`ipc::service`, the transport): the request is decoded, handled
//! and the reply encoded into the same buffer within that one system call
//! — no second thread, no context switch, no address-space switch. This
//! file is the object a service handle names.
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
use libsys::server::Server;
use spin::Mutex;

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

impl Service {
    /// Runs the core on a request of `length` bytes in `page` (the
    /// caller's IPC buffer) from a handle with `badge`; the reply is
    /// encoded into `page`. Returns the reply's label and length.
    pub fn dispatch(
        &self,
        label: u32,
        length: usize,
        badge: u64,
        page: &mut [u8; PAYLOAD_MAX],
    ) -> (u32, usize) {
        let length = length.min(PAYLOAD_MAX);
        let mut state = self.state.lock();
        let State { core, input } = &mut *state;
        input[..length].copy_from_slice(&page[..length]);
        let reply = core.dispatch(label, &input[..length], badge, page);
        self.calls
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        reply
    }
}
