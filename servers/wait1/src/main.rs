//! The `wait1` server process: the device (`lib.rs`) behind IPC, with the
//! deck's split between a top half and a bottom half.
//!
//! - **Top half: the request handler** (the main thread, the driver's
//!   `read`/`write` methods). It receives a request, changes the ring
//!   (`Wait1::handle`) and answers at once — or, when the caller must
//!   wait (`wait_event_interruptible`), saves the caller's reply right
//!   (`ipc::save_reply`) under the caller's token and goes on serving
//!   everyone else. When the change lets a blocked caller go on, it does
//!   `wake_up` on the device's [`WaitQueue`] (`wake_up_interruptible(&wq)`).
//! - **Bottom half: the work on a workqueue worker** (the tasklet). The
//!   woken callers cannot run themselves: they are blocked in their
//!   `call`, in other processes. What sleeps on the wait queue in their
//!   stead is the bottom half, one work item on the worker of the `wait1`
//!   workqueue (queued once at start; it sleeps in `wait_event` between
//!   batches, so a `wake_up` that comes while it is answering is not lost:
//!   the condition is checked again, as a tasklet scheduled while it runs
//!   runs again). Woken, it takes each caller that can go on now
//!   (`Wait1::wake_next`: the transfer is done then, under the device's
//!   lock), and sends the deferred reply (`SavedReply::reply`) from its
//!   own thread and IPC buffer. So the top half never waits for a slow
//!   batch of answers, and the answers go out in FIFO order.
//! - **A caller that died or gave up.** Nothing tells the server; its
//!   saved reply fails with `PeerDied` when the bottom half uses it. The
//!   transfer is then undone (`Wakeup::gone`: a reader's bytes go back in
//!   front, a writer's come back out) and the next caller is served: the
//!   device is never wedged by a dead waiter, and no byte is lost.
//!
//! Locks: the device's lock is never held across the wait queue's. The
//! top half drops it before `wake_up`; the bottom half's condition takes
//! it inside `wait_event`, which checks conditions outside its own lock.
//! Deferred replies go out under the device's lock (a reply never
//! blocks), so a caller's transfer and its undo see nothing in between.
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

use libsys::abi::ipc::{FOREVER, PAYLOAD_MAX};
use libsys::abi::SysError;
use libsys::eprintln;
use libsys::handle::Endpoint;
use libsys::ipc::{self, Message, SavedReply};
use libsys::proto::wait1::{Reply, Request};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR};
use libsys::sync::Mutex;
use libsys::wait::WaitQueue;
use libsys::workqueue::{Work, Workqueue};
use wait1::{Handled, Wait1};

libsys::entry!(main);

/// The device and its blocked callers' reply rights.
struct Device {
    core: Wait1<u64>,
    /// Reply rights of blocked callers, by token.
    saved: BTreeMap<u64, SavedReply>,
    next_token: u64,
}

/// What the top half and the bottom half share.
struct Shared {
    device: Mutex<Device>,
    /// The deck's `wq`: the bottom half sleeps here until a blocked caller
    /// can go on.
    wq: WaitQueue,
    stopping: AtomicBool,
}

fn main(_args: &str) -> u64 {
    let shared = Arc::new(Shared {
        device: Mutex::new(Device {
            core: Wait1::new(),
            saved: BTreeMap::new(),
            next_token: 0,
        }),
        wq: WaitQueue::new(),
        stopping: AtomicBool::new(false),
    });
    let workqueue = match Workqueue::new("wait1", 1) {
        Ok(wq) => wq,
        Err(e) => {
            eprintln!("wait1: cannot start the workqueue: {e}");
            return 1;
        }
    };
    let bottom_half = Work::new({
        let shared = shared.clone();
        move || bottom_half(&shared)
    });
    workqueue.queue_work(&bottom_half);
    let endpoint = match Endpoint::create() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("wait1: cannot create an endpoint: {e}");
            return 1;
        }
    };
    if let Err(e) = libsys::names::register("wait1", &endpoint) {
        eprintln!("wait1: cannot register: {e}");
        return 2;
    }
    let error = serve(&shared, &endpoint);
    eprintln!("wait1: stopped serving: {error}");
    // Let the bottom half end, so the workqueue can be destroyed.
    shared.stopping.store(true, Ordering::Release);
    shared.wq.wake_up_all();
    drop(workqueue);
    3
}

/// The top half: receives requests for good; returns why receiving failed.
fn serve(shared: &Shared, endpoint: &Endpoint) -> SysError {
    let mut reply: Option<Message> = None;
    loop {
        let received = match reply.take() {
            Some(msg) => endpoint.reply_recv(&msg, FOREVER),
            None => endpoint.recv(FOREVER),
        };
        let mut received = match received {
            Ok(r) => r,
            Err(e) => return e,
        };
        if received.signals().is_some() {
            continue;
        }
        let msg = received.msg;
        if !msg.handles().is_empty() || msg.label() != LABEL_REQUEST {
            // wait1 takes no handles: closed, not kept.
            drop(received.take_handles());
            reply = Some(Message::new(LABEL_BAD_REQUEST));
            continue;
        }
        let mut input = [0u8; PAYLOAD_MAX];
        let n = ipc::read_payload(msg.info.length.into(), &mut input);
        let request = rpc::decode::<Request>(&input[..n]);
        reply = match request {
            Ok(request) => handle(shared, request),
            Err(_) => Some(Message::new(LABEL_BAD_REQUEST)),
        };
    }
}

/// Carries out one request: the answer to send now, or `None` if the
/// caller waits (its reply right saved for the bottom half).
fn handle(shared: &Shared, request: Request) -> Option<Message> {
    let mut device = shared.device.lock();
    let token = device.next_token;
    device.next_token += 1;
    let answer = match device.core.handle(request, token) {
        Handled::Reply(r) => Some(encode(&r)),
        Handled::Blocked => match ipc::save_reply() {
            Ok(saved) => {
                device.saved.insert(token, saved);
                None
            }
            Err(e) => {
                eprintln!("wait1: cannot keep a blocked caller's reply: {e}");
                device.core.cancel(token);
                Some(Message::new(LABEL_SERVER_ERROR))
            }
        },
    };
    let wake = device.core.can_wake();
    drop(device);
    if wake {
        shared.wq.wake_up();
    }
    answer
}

/// The bottom half: sleeps on `wq` until a blocked caller can go on, then
/// answers every one that can, in order. Runs on the workqueue's worker
/// until the server stops.
fn bottom_half(shared: &Shared) {
    loop {
        shared.wq.wait_event(|| {
            shared.stopping.load(Ordering::Acquire) || shared.device.lock().core.can_wake()
        });
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        let mut guard = shared.device.lock();
        let device = &mut *guard;
        while let Some(woken) = device.core.wake_next() {
            let delivered = match device.saved.remove(&woken.caller()) {
                Some(saved) => saved.reply(&encode(woken.reply())).is_ok(),
                None => false,
            };
            if delivered {
                woken.delivered();
            } else {
                // PeerDied: it died or gave up its call. Its bytes stay.
                woken.gone();
            }
        }
    }
}

/// `reply` encoded into this thread's IPC buffer, as a reply message.
fn encode(reply: &Reply) -> Message {
    match rpc::encode_payload(reply) {
        Ok(length) => Message::new(LABEL_REPLY).with_payload(length),
        Err(_) => Message::new(LABEL_SERVER_ERROR),
    }
}
