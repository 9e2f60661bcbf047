//! Signals carried out (the server half of LKD's `get_signal`, `do_signal`
//! and `do_signal_stop`): what the table decided becomes kernel calls on
//! the process's thread.
//!
//! - **A handler** runs through the kernel's upcall
//!   (`exception::deliver_signal_at`): the program's handler and restorer
//!   addresses, the signal number, and the four `SigInfo` words, the last
//!   of them the mask its `Sigreturn` gives back. Handlers do not nest:
//!   while one is outstanding (delivered, no `Sigreturn` yet), another
//!   signal with a handler waits; a default action (a kill, a stop) does
//!   not wait. Only a process this server created has a thread it holds
//!   (MANAGE): for the others (the servers and tests init started) a
//!   caught signal stays pending.
//! - **A stop** suspends the thread (`thread_suspend`: it stops the next
//!   time it would return to user mode, so a thread blocked in another
//!   server's call stops when that call returns); a continue (`SIGCONT`,
//!   or the `SIGKILL` that ends it) resumes it. Only the process's first
//!   thread is known to the server: a program's further threads
//!   (`libsys::thread`) run on through a stop.
//! - **Blocked calls** kept here answer for the signal as Linux's
//!   `-ERESTARTSYS`/`-ERESTARTNOHAND` do (`procsrv::table::interrupt`):
//!   `Wait` (restartable: `EINTR` after a handler without `SA_RESTART`,
//!   else kept), `Sigsuspend` (`EINTR` once a handler ran) and
//!   `Nanosleep` (`EINTR` after a handler; an ignored signal or a stop
//!   and continue leave it sleeping). A call blocked in *another* server
//!   (a terminal read, a pipe) is not interrupted: the kernel's
//!   unblocking call is not there yet, so the handler runs when that
//!   call returns (the terminal answers its readers `EINTR` itself when
//!   it sends `^C`/`^Z`/`^\`).

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use libsys::abi::SysError;
use libsys::errno::Errno;
use libsys::ipc::SavedReply;
use libsys::proto::proc::{Reply, Request, SigInfo as InfoWords};
use libsys::{eprintln, println};

use procsrv::signal::{BlockedCall, CallOutcome, HandlerFrame, SigHandler, SigSet};
use procsrv::table::Interruption;
use procsrv::Pid;

use crate::serve::{encode, errno};
use crate::{now, Proc};

/// Sleeps longer than a day are refused (`EINVAL`), as `sleep` does.
const SLEEP_MAX_NS: u64 = 86_400 * 1_000_000_000;
/// Calls kept here at most, and per process (one per thread in flight:
/// a process cannot fill the table for the others).
const KEPT_MAX: usize = 256;
const KEPT_PER_PROCESS: usize = 8;

/// A call this module keeps until a signal or a deadline.
struct Kept {
    pid: Pid,
    /// `Some(deadline)` for `Nanosleep`, `None` for `Sigsuspend`.
    until: Option<u64>,
    reply: SavedReply,
}

/// The server's signal bookkeeping.
#[derive(Default)]
pub(crate) struct Signals {
    kept: Vec<Kept>,
    /// Processes with a handler delivered and no `Sigreturn` yet.
    in_handler: BTreeSet<Pid>,
}

impl Proc {
    /// `Sigreturn`, `Sigsuspend`, `Nanosleep`: `None` when the call is
    /// kept.
    #[allow(clippy::type_complexity)]
    pub(crate) fn signal_request(
        &mut self,
        caller: Pid,
        request: Request,
        reply: SavedReply,
    ) -> Result<Option<(Reply, SavedReply)>, (Errno, SavedReply)> {
        let mine = self.signals.kept.iter().filter(|k| k.pid == caller).count();
        let full = mine >= KEPT_PER_PROCESS || self.signals.kept.len() >= KEPT_MAX;
        match request {
            Request::Sigreturn { mask } => {
                self.signals.in_handler.remove(&caller);
                match self.table.sigreturn(caller, SigSet::from_bits(mask)) {
                    Ok(()) => Ok(Some((Reply::Done, reply))),
                    Err(e) => Err((errno(e), reply)),
                }
            }
            Request::Sigsuspend { mask } => {
                if !self.kids.contains_key(&u64::from(caller)) {
                    // No thread to run a handler on: it would never end.
                    return Err((Errno::ENOSYS, reply));
                }
                if full {
                    return Err((Errno::EAGAIN, reply));
                }
                if let Err(e) = self.table.sigsuspend(caller, SigSet::from_bits(mask)) {
                    return Err((errno(e), reply));
                }
                self.signals.kept.push(Kept {
                    pid: caller,
                    until: None,
                    reply,
                });
                Ok(None)
            }
            Request::Nanosleep { ns } => {
                if ns > SLEEP_MAX_NS {
                    return Err((Errno::EINVAL, reply));
                }
                if full {
                    return Err((Errno::EAGAIN, reply));
                }
                self.signals.kept.push(Kept {
                    pid: caller,
                    until: Some(now().saturating_add(ns)),
                    reply,
                });
                Ok(None)
            }
            Request::Alarm { seconds } => match self.table.alarm(caller, seconds, now()) {
                Ok(left) => Ok(Some((Reply::Value(u64::from(left)), reply))),
                Err(e) => Err((errno(e), reply)),
            },
            _ => Err((Errno::EINVAL, reply)),
        }
    }

    /// How long the server may wait for a message: until the earliest
    /// sleeper's deadline or alarm.
    pub(crate) fn next_timeout(&self) -> u64 {
        let sleeper = self.signals.kept.iter().filter_map(|k| k.until).min();
        let earliest = match (sleeper, self.table.next_alarm()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        earliest.map_or(libsys::abi::ipc::FOREVER, |d| {
            d.saturating_sub(now()).max(1)
        })
    }

    /// Sleepers and alarms whose time came: answered, `SIGALRM` sent.
    pub(crate) fn expire_timers(&mut self) {
        // Nothing timed (the usual case): no clock read, no work on the
        // path of every request.
        let sleeping = self.signals.kept.iter().any(|k| k.until.is_some());
        if !sleeping && self.table.next_alarm().is_none() {
            return;
        }
        let t = now();
        if self.table.next_alarm().is_some_and(|d| d <= t) {
            self.table.expire_alarms(t);
        }
        self.wake_sleepers();
        self.carry_out();
    }

    /// Answers the sleepers whose deadline passed.
    pub(crate) fn wake_sleepers(&mut self) {
        let t = now();
        let mut i = 0;
        while i < self.signals.kept.len() {
            if self.signals.kept[i].until.is_some_and(|d| d <= t) {
                let k = self.signals.kept.swap_remove(i);
                let _ = k.reply.reply(&encode(&Reply::Done));
            } else {
                i += 1;
            }
        }
    }

    /// `Event::SignalPending`: delivers `pid`'s next signal, interrupting
    /// the call it has kept here, if any.
    pub(crate) fn signal_pending(&mut self, pid: Pid) {
        let Some(task) = self.table.get(pid).filter(|t| !t.is_zombie()) else {
            return;
        };
        let caught = task
            .signals
            .next_signal()
            .is_some_and(|s| matches!(task.signals.action(s).handler, SigHandler::Handler(_)));
        let has_thread = self.kids.contains_key(&u64::from(pid));
        if caught && (!has_thread || self.signals.in_handler.contains(&pid)) {
            // Stays pending: no thread to run it on, or a handler is
            // running (its `Sigreturn` reports the signal again).
            return;
        }
        // A child that changed answers a kept `Wait` before the signal
        // (its `SIGCHLD` above all) could interrupt it, as in Linux.
        self.retry_waiters(pid);
        let kept = self.signals.kept.iter().position(|k| k.pid == pid);
        let waiting = self.waiters.iter().position(|w| w.caller == pid);
        let kind = match (kept, waiting) {
            (Some(_), _) => Some(BlockedCall::NotAfterHandler),
            (None, Some(_)) => Some(BlockedCall::Restartable),
            (None, None) => None,
        };
        let outcome = match kind {
            Some(kind) => self.table.interrupt(pid, kind),
            None => self.table.deliver(pid).map(|frame| match frame {
                Some(frame) => Interruption::Handler {
                    frame,
                    call: CallOutcome::Restart,
                },
                None => Interruption::KeepWaiting,
            }),
        };
        match outcome {
            Ok(Interruption::Handler { frame, call }) => {
                // The upcall first: the `EINTR` reply wakes the caller,
                // which may run at once (wake-up preemption) and return
                // to user mode before a handler set after it — `pause`
                // ended with the handler not yet run. Set before, the
                // handler runs on that very return, over the reply's
                // registers.
                self.run_handler(pid, &frame);
                if call == CallOutcome::Eintr {
                    self.end_blocked_call(pid, kept, waiting);
                }
            }
            Ok(Interruption::Died) => self.drop_calls(pid),
            Ok(Interruption::KeepWaiting | Interruption::Stopped) | Err(_) => {}
        }
    }

    /// Answers `pid`'s kept call `EINTR`.
    fn end_blocked_call(&mut self, pid: Pid, kept: Option<usize>, waiting: Option<usize>) {
        let reply = match (kept, waiting) {
            (Some(i), _) => Some(self.signals.kept.swap_remove(i).reply),
            (None, Some(i)) => Some(self.waiters.swap_remove(i).reply),
            (None, None) => None,
        };
        if let Some(reply) = reply {
            let _ = reply.reply(&encode(&Reply::Error(Errno::EINTR)));
        }
        let _ = pid;
    }

    /// Builds the handler's frame through the kernel's upcall.
    fn run_handler(&mut self, pid: Pid, frame: &HandlerFrame) {
        let SigHandler::Handler(handler) = frame.action.handler else {
            return;
        };
        let Some(kid) = self.kids.get(&u64::from(pid)) else {
            return;
        };
        let info = frame.info;
        let words = InfoWords {
            signo: u32::from(info.signo.number()),
            code: info.code,
            pid: info.pid,
            uid: info.uid,
            value: if info.addr != 0 {
                info.addr
            } else {
                info.status as u32 as u64
            },
            restore_mask: frame.restore_mask.bits(),
        }
        .to_words();
        let thread = &kid.prepared.child.thread;
        match libsys::exception::deliver_signal_at(
            thread,
            handler,
            frame.action.restorer,
            u64::from(info.signo.number()),
            &words,
        ) {
            Ok(()) => {
                self.signals.in_handler.insert(pid);
            }
            Err(e) => {
                // Undo the handler's mask: the signal is lost, say so.
                eprintln!("proc: {pid}: signal {} not delivered: {e}", words[0] as u32);
                let _ = self.table.sigreturn(pid, frame.restore_mask);
            }
        }
    }

    /// `Event::Stopped`: the process's thread stops.
    pub(crate) fn stop_threads(&mut self, pid: Pid) {
        if let Some(kid) = self.kids.get(&u64::from(pid)) {
            if let Err(e) = libsys::exception::suspend(&kid.prepared.child.thread) {
                report(pid, "suspend", e);
            }
        }
    }

    /// `Event::Continued`: the process's thread runs on.
    pub(crate) fn continue_threads(&mut self, pid: Pid) {
        if let Some(kid) = self.kids.get(&u64::from(pid)) {
            if let Err(e) = libsys::exception::resume(&kid.prepared.child.thread) {
                report(pid, "resume", e);
            }
        }
    }

    /// `Event::Exited`: the process's kept calls and handler state go.
    pub(crate) fn drop_calls(&mut self, pid: Pid) {
        self.signals.kept.retain(|k| k.pid != pid);
        self.signals.in_handler.remove(&pid);
    }

    /// Logs a death with a core flag as Linux's `core dumped`: no core
    /// file is written (there is no place to write one yet).
    pub(crate) fn log_core(&self, pid: Pid, status: i32) {
        if status & 0x80 != 0 && status & 0x7f != 0 {
            let comm = self
                .table
                .get(pid)
                .map(|t| t.cmdline.split(|&b| b == 0).next().unwrap_or(&[]).to_vec())
                .unwrap_or_default();
            println!(
                "proc: {pid} ({}) killed by signal {} (core dumped: not written)",
                core::str::from_utf8(&comm).unwrap_or("?"),
                status & 0x7f
            );
        }
    }
}

fn report(pid: Pid, what: &str, e: SysError) {
    if e != SysError::PeerDied {
        eprintln!("proc: {what} {pid}: {e}");
    }
}

/// The `sigaction` ABI is written twice: by programs through
/// `libsys::posix::signal` and by the table through
/// `procsrv::signal::{action, state}` (the core is host-tested and takes
/// no libsys). The binary, which has both, refuses to build if they ever
/// differ.
const _: () = {
    use libsys::posix::signal as abi;
    use procsrv::signal::{action, state};
    assert!(abi::SIG_DFL == action::SIG_DFL && abi::SIG_IGN == action::SIG_IGN);
    assert!(abi::SA_NOCLDSTOP == action::SA_NOCLDSTOP);
    assert!(abi::SA_NOCLDWAIT == action::SA_NOCLDWAIT);
    assert!(abi::SA_SIGINFO == action::SA_SIGINFO);
    assert!(abi::SA_RESTORER == action::SA_RESTORER);
    assert!(abi::SA_RESTART == action::SA_RESTART);
    assert!(abi::SA_NODEFER == action::SA_NODEFER);
    assert!(abi::SA_RESETHAND == action::SA_RESETHAND);
    assert!(abi::SIG_BLOCK == state::SIG_BLOCK);
    assert!(abi::SIG_UNBLOCK == state::SIG_UNBLOCK);
    assert!(abi::SIG_SETMASK == state::SIG_SETMASK);
};
