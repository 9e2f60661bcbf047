//! Sending the terminal's signals without blocking its loop: the loop
//! queues `kill(-pgrp, sig)` ([`tty::killq`]) and wakes a second thread,
//! which alone calls the process server. The loop never waits for
//! `proc`, so `proc` (or the file server on its behalf) may call the
//! terminal at any time without a deadlock. The thread starts on the
//! first signal; if it cannot start, signals are logged and dropped.
//!
//! The same thread does the job-control checks ([`tty::jobctl`]): for a
//! call the loop holds (a read, a write with `TOSTOP`, an attribute
//! change by a process that names itself), it asks `proc` for the
//! caller's [`Facts`], decides, sends the caller's group `SIGTTIN` or
//! `SIGTTOU` when the verdict says so, and hands the verdict back to the
//! loop (a bit on its notification), which carries the call out or fails
//! it.
//!
//! A held write or change keeps the file server's loop waiting (it
//! calls the terminal synchronously), and `proc` may itself be waiting
//! on the file server (reading an executable, copying a file table):
//! asking `proc` then would close a cycle. So the thread asks with a
//! time limit ([`PROC_WAIT_NS`]); past it the call goes ahead unchecked
//! (and a line on the log says so).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use libsys::errno::Errno;
use libsys::handle::Notification;
use libsys::semaphore::Semaphore;
use libsys::sync::Mutex;
use libsys::{eprintln, println};
use tty::jobctl::{decide, Access, Facts, Verdict};
use tty::killq::{KillQueue, Owed, Pushed};

static OWED: Mutex<KillQueue> = Mutex::new(KillQueue::new());
/// One unit per queued signal or check.
static WORK: Semaphore = Semaphore::new(0);
/// Calls to check, oldest first.
static CHECKS: Mutex<VecDeque<Check>> = Mutex::new(VecDeque::new());
/// The verdicts, for the loop: (ticket, verdict).
static VERDICTS: Mutex<Vec<(u64, Verdict)>> = Mutex::new(Vec::new());
/// The loop's notification, and the bit that says `VERDICTS` grew.
static WAKE: Mutex<Option<(Notification, u32)>> = Mutex::new(None);
/// Checks waiting at most (the loop holds as many calls).
pub const CHECKS_MAX: usize = 32;
/// How long the thread waits for `proc` (see the module documentation).
/// The cycle is not rare: `proc` closes an exiting process's files in
/// vfs while vfs waits on the shell taking the terminal back — each time
/// the call waits this long, then goes ahead.
const PROC_WAIT_NS: u64 = 100_000_000;

/// A held call to judge.
#[derive(Clone, Copy, Debug)]
pub struct Check {
    /// The loop's name for the call.
    pub ticket: u64,
    pub pid: u64,
    pub access: Access,
    /// The terminal's foreground group when the call came.
    pub foreground: u32,
}

/// Keeps the loop's notification (for good) to wake it on `bit`.
pub fn keep_wakeup(notification: Notification, bit: u32) {
    *WAKE.lock() = Some((notification, bit));
}

/// The verdicts the thread reached since the last call.
pub fn take_verdicts() -> Vec<(u64, Verdict)> {
    core::mem::take(&mut *VERDICTS.lock())
}

/// Whether the sending thread runs (the loop's own state).
#[derive(Default)]
pub struct Sender {
    started: Option<bool>,
}

impl Sender {
    fn running(&mut self) -> bool {
        *self
            .started
            .get_or_insert_with(|| libsys::thread::spawn(send_thread).is_ok())
    }

    /// Queues `kill(-pgrp, sig)`; never blocks.
    pub fn kill_group(&mut self, pgrp: u32, sig: u32) {
        if self.running() {
            match OWED.lock().push(Owed { pgrp, sig }) {
                Pushed::Queued => WORK.up(),
                Pushed::Merged => {}
                Pushed::Full => println!("tty: too many signals owed: {sig} to -{pgrp} dropped"),
            }
        } else {
            println!("tty: no thread to send signals: {sig} to -{pgrp} dropped");
        }
    }

    /// Queues a job-control check; never blocks. `false` if it cannot be
    /// made (no thread, or [`CHECKS_MAX`] waiting): the caller then
    /// carries the call out unchecked.
    pub fn check(&mut self, check: Check) -> bool {
        if !self.running() {
            return false;
        }
        let mut checks = CHECKS.lock();
        if checks.len() >= CHECKS_MAX {
            return false;
        }
        checks.push_back(check);
        drop(checks);
        WORK.up();
        true
    }
}

/// One check, on the sending thread: the verdict (the signal sent).
fn judge(proc: Option<&libsys::proto::proc::Client>, c: &Check) -> Verdict {
    let Some(proc) = proc else {
        return Verdict::Proceed;
    };
    let sig = c.access.signal();
    let facts = match proc.tty_facts(c.pid, sig, c.foreground, PROC_WAIT_NS) {
        Ok((pgid, same_session, ignored, orphaned)) => Facts {
            pgid: u32::try_from(pgid).unwrap_or(0),
            same_session,
            ignored,
            orphaned,
        },
        // A caller that is gone (killed while its call waited in the
        // file server's queue): failed, so that a dead reader does not
        // take the next line typed.
        Err(libsys::proto::proc::ClientError::Proc(Errno::ESRCH)) => return Verdict::Eio,
        // `proc` busy past the limit, or not there: carried out unchecked.
        Err(e) => {
            println!("tty: no job-control facts for pid {}: {e:?}", c.pid);
            return Verdict::Proceed;
        }
    };
    let verdict = decide(c.access, c.foreground, &facts);
    if let Verdict::Restart { pgrp, sig } = verdict {
        if let Err(e) = proc.kill_within(-i64::from(pgrp), sig, PROC_WAIT_NS) {
            eprintln!("tty: kill(-{pgrp}, {sig}): {}", e.errno());
            return Verdict::Proceed;
        }
    }
    verdict
}

/// The sending thread: the checks first, then one `Kill` per owed
/// signal, in order.
fn send_thread() {
    let mut proc: Option<libsys::proto::proc::Client> = None;
    loop {
        WORK.down();
        if proc.is_none() {
            proc = libsys::proto::proc::Client::connect_within(0).ok();
        }
        let pending = CHECKS.lock().pop_front();
        if let Some(check) = pending {
            let verdict = judge(proc.as_ref(), &check);
            VERDICTS.lock().push((check.ticket, verdict));
            if let Some((wake, bit)) = &*WAKE.lock() {
                let _ = wake.signal(1 << bit);
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
