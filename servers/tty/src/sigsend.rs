//! Sending the terminal's signals without blocking its loop: the loop
//! queues `kill(-pgrp, sig)` ([`tty::killq`]) and wakes a second thread,
//! which alone calls the process server. The loop never waits for
//! `proc`, so `proc` (or the file server on its behalf) may call the
//! terminal at any time without a deadlock. The thread starts on the
//! first signal; if it cannot start, signals are logged and dropped.

use libsys::semaphore::Semaphore;
use libsys::sync::Mutex;
use libsys::{eprintln, println};
use tty::killq::{KillQueue, Owed, Pushed};

static OWED: Mutex<KillQueue> = Mutex::new(KillQueue::new());
/// One unit per queued signal.
static WORK: Semaphore = Semaphore::new(0);

/// Whether the sending thread runs (the loop's own state).
#[derive(Default)]
pub struct Sender {
    started: Option<bool>,
}

impl Sender {
    /// Queues `kill(-pgrp, sig)`; never blocks.
    pub fn kill_group(&mut self, pgrp: u32, sig: u32) {
        if *self.started.get_or_insert_with(|| libsys::thread::spawn(send_thread).is_ok()) {
            match OWED.lock().push(Owed { pgrp, sig }) {
                Pushed::Queued => WORK.up(),
                Pushed::Merged => {}
                Pushed::Full => println!("tty: too many signals owed: {sig} to -{pgrp} dropped"),
            }
        } else {
            println!("tty: no thread to send signals: {sig} to -{pgrp} dropped");
        }
    }
}

/// The sending thread: one `Kill` per owed signal, in order.
fn send_thread() {
    let mut proc: Option<libsys::proto::proc::Client> = None;
    loop {
        WORK.down();
        let Some(owed) = OWED.lock().pop() else {
            continue;
        };
        if proc.is_none() {
            proc = libsys::proto::proc::Client::connect_within(0).ok();
        }
        let Some(p) = &proc else {
            println!("tty: no process server: signal {} dropped", owed.sig);
            continue;
        };
        if let Err(e) = p.kill(-i64::from(owed.pgrp), owed.sig) {
            eprintln!("tty: kill(-{}, {}): {}", owed.pgrp, owed.sig, e.errno());
        }
    }
}
