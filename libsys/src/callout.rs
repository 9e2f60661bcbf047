//! Calls out of a core, in a server process: the transport half of
//! [`crate::later::Later::call_out`] that [`crate::server::serve`] uses.
//!
//! A core that must ask another server defers its request and asks for a
//! call out; `serve` looks the target up among the **connections**
//! clients made (a message with label [`LABEL_CONNECT`], the target's
//! name as its payload and one endpoint handle: kept under the sender's
//! badge and that name, at most [`CONNECTIONS_PER_CLIENT`] per client and
//! [`CONNECTIONS_MAX`] in all) and queues the call for the **worker
//! thread**, started at the first call. The worker makes the calls one at
//! a time (a slow target delays the calls out queued behind it, never the
//! serving thread), keeps each answer, and wakes the serving thread with
//! a [`LABEL_CALLOUT_WAKE`] call on its own endpoint; `serve` answers
//! that at once and hands the answers to the core
//! ([`crate::server::Hosted::answered`]). An answer whose token ended
//! meanwhile (its caller was let out or died) is dropped.
//!
//! In the monolithic placement the kernel's transport does the same with
//! a kernel-originated call on the parked caller's thread
//! (`microkernel/src/obj/service.rs`).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;

use crate::abi::ipc::{FOREVER, PAYLOAD_MAX};
use crate::abi::{Rights, SysError};
use crate::handle::Endpoint;
use crate::ipc::{self, Message};
use crate::later::{CallOut, Token};
use crate::semaphore::Semaphore;
use crate::sync::Mutex;

/// A client lends the server an endpoint to call (payload: its name).
pub const LABEL_CONNECT: u32 = 0x7270_0005;
/// The worker thread's wake-up of the serving thread (no payload).
pub const LABEL_CALLOUT_WAKE: u32 = 0x7270_0006;
/// Connections kept at most, all clients together.
pub const CONNECTIONS_MAX: usize = 64;
/// Connections one client may keep.
pub const CONNECTIONS_PER_CLIENT: usize = 4;
/// The longest connection name.
pub const NAME_MAX: usize = 32;

/// The endpoints clients connected, by (badge, name).
#[derive(Default)]
pub struct Connections {
    table: BTreeMap<(u64, String), Endpoint>,
}

impl Connections {
    pub const fn new() -> Connections {
        Connections {
            table: BTreeMap::new(),
        }
    }

    /// Keeps `endpoint` as `badge`'s connection `name` (replacing one of
    /// the same name). `InvalidArgument` for a bad name, `OutOfResources`
    /// past the bounds.
    pub fn connect(&mut self, badge: u64, name: &[u8], endpoint: Endpoint) -> Result<(), SysError> {
        let name = core::str::from_utf8(name).map_err(|_| SysError::InvalidArgument)?;
        if name.is_empty() || name.len() > NAME_MAX {
            return Err(SysError::InvalidArgument);
        }
        // Only an endpoint this process may send on is a connection.
        match endpoint.0.info() {
            Ok((crate::abi::ObjectType::Endpoint, rights)) if rights.contains(Rights::SEND) => {}
            _ => return Err(SysError::WrongType),
        }
        let key = (badge, String::from(name));
        if !self.table.contains_key(&key) {
            let mine = self.table.keys().filter(|(b, _)| *b == badge).count();
            if mine >= CONNECTIONS_PER_CLIENT || self.table.len() >= CONNECTIONS_MAX {
                return Err(SysError::OutOfResources);
            }
        }
        self.table.insert(key, endpoint);
        Ok(())
    }

    fn get(&self, badge: u64, name: &str) -> Option<&Endpoint> {
        self.table.get(&(badge, String::from(name)))
    }
}

/// A call for the worker.
struct Job {
    token: Token,
    target: Endpoint,
    label: u32,
    payload: Vec<u8>,
    /// The serving thread's endpoint, to wake it.
    wake: Endpoint,
}

type Answer = (Token, Result<(u32, Vec<u8>), SysError>);

static JOBS: Mutex<VecDeque<Job>> = Mutex::new(VecDeque::new());
static QUEUED: Semaphore = Semaphore::new(0);
static ANSWERS: Mutex<Vec<Answer>> = Mutex::new(Vec::new());
static WORKER: Mutex<bool> = Mutex::new(false);

/// Starts `call` (from the core, for the endpoint it names among
/// `connections`); `Err` (to be answered to the core at once) if there
/// is no such connection or no worker. `wake` is the serving endpoint,
/// which must carry SEND as well as RECV (the worker wakes it).
pub fn start(connections: &Connections, call: CallOut, wake: &Endpoint) -> Result<(), SysError> {
    let target = connections
        .get(call.client, &call.target)
        .ok_or(SysError::NotFound)?
        .dup(Rights::SEND, None)?;
    let wake = wake.dup(Rights::SEND, None)?;
    if call.payload.len() > PAYLOAD_MAX {
        return Err(SysError::InvalidArgument);
    }
    {
        let mut started = WORKER.lock();
        if !*started {
            crate::thread::spawn(worker)?;
            *started = true;
        }
    }
    JOBS.lock().push_back(Job {
        token: call.token,
        target,
        label: call.label,
        payload: call.payload,
        wake,
    });
    QUEUED.up();
    Ok(())
}

/// The answers that came in, oldest first.
pub fn take_answers() -> Vec<Answer> {
    core::mem::take(&mut *ANSWERS.lock())
}

/// The worker thread: one call at a time, each answer kept and the
/// serving thread woken.
fn worker() {
    let mut answer = [0u8; PAYLOAD_MAX];
    loop {
        QUEUED.down();
        let Some(job) = JOBS.lock().pop_front() else {
            continue;
        };
        let result = ipc::write_payload(&job.payload).and_then(|length| {
            let msg = Message::new(job.label).with_payload(length);
            job.target.call(&msg, FOREVER).map(|reply| {
                let n = ipc::read_payload(reply.info.length.into(), &mut answer);
                (reply.label(), answer[..n].to_vec())
            })
        });
        ANSWERS.lock().push((job.token, result));
        // A serving thread that is gone: nothing to wake.
        let _ = job.wake.call(&Message::new(LABEL_CALLOUT_WAKE), FOREVER);
    }
}
