//! Sending the terminal's signals without blocking its loop: the loop
//! queues `kill(-pgrp, sig)` ([`tty::killq`]) and wakes a second thread,
//! which alone calls the process server. The loop never waits for
//! `proc`, so `proc` (or the file server on its behalf) may call the
//! terminal at any time without a deadlock. The thread starts on the
//! first signal; if it cannot start, signals are logged and dropped.
//!
//! The same thread does the job-control check of a read that must wait
//! (Linux's `job_control` in `n_tty_read`): it asks `proc` for the
//! reader's process group and, if that is not the terminal's foreground
//! group, sends the group `SIGTTIN` and tells the loop (a bit on its
//! notification), which answers that reader `EINTR` — its process stops,
//! and sees `EINTR` once continued (no restart: the protocol has no
//! `ERESTARTSYS`). A group that ignores `SIGTTIN` gets the same `EINTR`,
//! not Linux's `EIO`, and a background writer is not checked (`TOSTOP`
//! has no effect).

use alloc::vec::Vec;

use libsys::handle::Notification;
use libsys::semaphore::Semaphore;
use libsys::sync::Mutex;
use libsys::{eprintln, println};
use tty::killq::{KillQueue, Owed, Pushed};

static OWED: Mutex<KillQueue> = Mutex::new(KillQueue::new());
/// One unit per queued signal or check.
static WORK: Semaphore = Semaphore::new(0);
/// Readers to check: (pid, the foreground group when it asked).
static CHECKS: Mutex<Vec<(u64, u32)>> = Mutex::new(Vec::new());
/// Readers found in a background group, for the loop to answer.
static BACKGROUND: Mutex<Vec<u64>> = Mutex::new(Vec::new());
/// The loop's notification, and the bit that says `BACKGROUND` grew.
static WAKE: Mutex<Option<(Notification, u32)>> = Mutex::new(None);
/// Checks waiting at most (as many as readers can wait).
const CHECKS_MAX: usize = 32;

/// Keeps the loop's notification (for good) to wake it on `bit`.
pub fn keep_wakeup(notification: Notification, bit: u32) {
    *WAKE.lock() = Some((notification, bit));
}

/// The readers the sending thread found in a background group.
pub fn take_background() -> Vec<u64> {
    core::mem::take(&mut *BACKGROUND.lock())
}

/// Whether the sending thread runs (the loop's own state).
#[derive(Default)]
pub struct Sender {
    started: Option<bool>,
}

impl Sender {
    /// Queues `kill(-pgrp, sig)`; never blocks.
    pub fn kill_group(&mut self, pgrp: u32, sig: u32) {
        if *self
            .started
            .get_or_insert_with(|| libsys::thread::spawn(send_thread).is_ok())
        {
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

impl Sender {
    /// Asks the thread whether reader `pid` is in foreground group
    /// `pgrp` (see the module documentation); never blocks.
    pub fn check_reader(&mut self, pid: u64, pgrp: u32) {
        if !*self
            .started
            .get_or_insert_with(|| libsys::thread::spawn(send_thread).is_ok())
        {
            return;
        }
        let mut checks = CHECKS.lock();
        if checks.len() < CHECKS_MAX && !checks.contains(&(pid, pgrp)) {
            checks.push((pid, pgrp));
            drop(checks);
            WORK.up();
        }
    }
}

/// A reader's job-control check, on the sending thread.
fn check(proc: &libsys::proto::proc::Client, pid: u64, pgrp: u32) {
    let Ok(pgid) = proc.getpgid(pid) else {
        return;
    };
    if pgid == u64::from(pgrp) {
        return;
    }
    if let Err(e) = proc.kill(-(pgid as i64), libsys::posix::SIGTTIN) {
        eprintln!("tty: SIGTTIN to -{pgid}: {}", e.errno());
    }
    BACKGROUND.lock().push(pid);
    if let Some((wake, bit)) = &*WAKE.lock() {
        let _ = wake.signal(1 << bit);
    }
}

/// The sending thread: one `Kill` per owed signal, in order, and the
/// readers' checks.
fn send_thread() {
    let mut proc: Option<libsys::proto::proc::Client> = None;
    loop {
        WORK.down();
        if proc.is_none() {
            proc = libsys::proto::proc::Client::connect_within(0).ok();
        }
        let pending = CHECKS.lock().pop();
        if let Some((pid, pgrp)) = pending {
            if let Some(p) = &proc {
                check(p, pid, pgrp);
            }
            continue;
        }
        let Some(owed) = OWED.lock().pop() else {
            continue;
        };
        let Some(p) = &proc else {
            println!("tty: no process server: signal {} dropped", owed.sig);
            continue;
        };
        if let Err(e) = p.kill(-i64::from(owed.pgrp), owed.sig) {
            eprintln!("tty: kill(-{}, {}): {}", owed.pgrp, owed.sig, e.errno());
        }
    }
}
