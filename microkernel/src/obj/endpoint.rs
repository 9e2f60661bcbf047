//! Endpoints: rendezvous points for synchronous IPC (seL4's endpoints).
//!
//! An endpoint holds no messages. It holds the threads waiting on it:
//! either senders (each with the badge of the handle it sent through, and
//! whether it is a `call`) or receivers, never both at once — a sender that
//! finds a receiver waiting hands its message over at once, and the other
//! way round. Messages stay in the blocked sender's registers (its trap
//! frame) and IPC buffer until a receiver takes them (`ipc::transfer`).
//!
//! The endpoint counts the handles that can receive from it. When the last
//! one is closed (the server died, say), every sender waiting on it, and
//! every later one, gets `PeerDied`: no one can ever answer them.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

use kcore::fifo::Fifo;
use kcore::limits::Charge;
use libsys::abi::SysError;
use spin::Mutex;

use super::thread::Thread;
use crate::sched::wait::{self, WaitQueue};
use crate::sched::Task;

/// A sender waiting for a receiver.
#[derive(Debug)]
pub struct PendingSend {
    pub thread: Arc<Thread>,
    /// The badge of the handle it sent through.
    pub badge: u64,
    /// A `call`: the receiver gets a reply right to it.
    pub call: bool,
}

#[derive(Debug, Default)]
pub struct Queues {
    pub senders: VecDeque<PendingSend>,
    /// A `kcore::fifo::Fifo`: the IPC fast path pushes and pops here on
    /// every round trip, inlined.
    pub receivers: Fifo<Arc<Thread>>,
}

#[derive(Debug, Default)]
pub struct Endpoint {
    pub queues: Mutex<Queues>,
    receivers: AtomicUsize,
    /// What its creator's account paid for it (`endpoint_create`).
    _charge: Option<Charge>,
}

impl Endpoint {
    /// One a process made, paid for by `charge`.
    pub fn charged(charge: Charge) -> Arc<Endpoint> {
        Arc::new(Endpoint {
            _charge: Some(charge),
            ..Endpoint::default()
        })
    }

    /// Whether any handle can still receive from this endpoint.
    pub fn has_receivers(&self) -> bool {
        self.receivers.load(Ordering::Relaxed) > 0
    }

    /// A handle was made (see `handle::EndpointRef`).
    pub fn count_handle(&self, receiver: bool, _sender: bool) {
        if receiver {
            self.receivers.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A handle was closed; the last receiving one fails every waiting
    /// sender with `PeerDied`.
    pub fn uncount_handle(&self, receiver: bool, _sender: bool) {
        if receiver && self.receivers.fetch_sub(1, Ordering::Relaxed) == 1 {
            let senders = core::mem::take(&mut self.queues.lock().senders);
            for sender in senders {
                wait::finish(&sender.thread, Err(SysError::PeerDied));
            }
        }
    }
}

impl WaitQueue for Endpoint {
    /// Takes `task` off either queue (a timeout, a kill).
    fn remove(&self, task: &Task) {
        let mut queues = self.queues.lock();
        queues.senders.retain(|s| s.thread.tid != task.tid);
        queues.receivers.retain(|t| t.tid != task.tid);
    }
}
