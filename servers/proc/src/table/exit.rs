//! How processes end and stop (LKD ch. 3, "Process Termination"): `exit`
//! makes a zombie, tells the parent (`SIGCHLD`, or an automatic reap when
//! the parent ignores `SIGCHLD` or set `SA_NOCLDWAIT`), hands the
//! children to init, and sends `SIGHUP` then `SIGCONT` to process groups
//! that become orphaned while they have stopped members (POSIX job
//! control, Linux's `kill_orphaned_pgrp`). Signal delivery lives here too,
//! since a default action stops or ends the process.

use alloc::vec::Vec;

use super::{Event, ProcessTable};
use crate::errno::Errno;
use crate::signal::action::{si_code, SA_NOCLDSTOP, SA_NOCLDWAIT};
use crate::signal::{Delivery, HandlerFrame, SigHandler, SigInfo, Signal};
use crate::task::{PendingReport, Pid, TaskState, INIT_PID};
use crate::wait_status;

impl ProcessTable {
    /// `exit`/`_exit` with `code`: see [`ProcessTable::exit_with_status`].
    pub fn exit(&mut self, pid: Pid, code: u8) -> Result<(), Errno> {
        self.exit_with_status(pid, wait_status::exited(code))
    }

    /// Ends a process with the wait status `status` (exited or killed):
    /// it becomes a zombie (or is reaped at once, see the module
    /// documentation), its children go to init, its alarm is cancelled.
    /// `ESRCH` for an unknown or dead process; `EPERM` for init, which
    /// must not end (Linux panics then).
    pub fn exit_with_status(&mut self, pid: Pid, status: i32) -> Result<(), Errno> {
        if pid == INIT_PID {
            return Err(Errno::EPERM);
        }
        let task = self.live_mut(pid)?;
        task.state = TaskState::Zombie;
        task.exit_status = status;
        task.report = None;
        self.set_alarm(pid, None);
        self.events.push(Event::Exited(pid));
        self.reparent_children(pid);
        self.kill_orphaned_pgrp(pid, None);
        self.notify_parent_exit(pid);
        Ok(())
    }

    /// Hands `father`'s children to init; a zombie among them is
    /// reported to init as if it had just died.
    fn reparent_children(&mut self, father: Pid) {
        let Some(task) = self.tasks.get_mut(&father) else {
            return;
        };
        let children = core::mem::take(&mut task.children);
        for &child in &children {
            if let Some(c) = self.tasks.get_mut(&child) {
                c.parent = INIT_PID;
            }
            if let Some(init) = self.tasks.get_mut(&INIT_PID) {
                init.children.push(child);
            }
        }
        for &child in &children {
            self.kill_orphaned_pgrp(child, Some(father));
            if self.tasks.get(&child).is_some_and(|c| c.is_zombie()) {
                self.notify_parent_exit(child);
            }
        }
    }

    /// Would process group `pgid` be orphaned — no member (but `ignoring`,
    /// and not counting zombies) has a parent in another group of the
    /// same session, init not counting (Linux's
    /// `will_become_orphaned_pgrp`)?
    pub fn is_orphaned_pgrp(&self, pgid: Pid, ignoring: Option<Pid>) -> bool {
        !self.tasks.values().any(|t| {
            if t.pgid != pgid || Some(t.pid) == ignoring || t.is_zombie() || t.parent == INIT_PID {
                return false;
            }
            self.tasks
                .get(&t.parent)
                .is_some_and(|p| p.pgid != pgid && p.sid == t.sid)
        })
    }

    fn has_stopped_jobs(&self, pgid: Pid) -> bool {
        self.tasks
            .values()
            .any(|t| t.pgid == pgid && t.state == TaskState::Stopped)
    }

    /// Linux's `kill_orphaned_pgrp(task, parent)`: when `task` exits
    /// (`parent` is `None`: its own parent is the link) or its parent
    /// `parent` exits, `task`'s group may lose its last link to a parent
    /// outside it in the same session; then its stopped members would
    /// never be continued, so the group gets `SIGHUP` and `SIGCONT`.
    fn kill_orphaned_pgrp(&mut self, pid: Pid, parent: Option<Pid>) {
        let Some(task) = self.tasks.get(&pid) else {
            return;
        };
        let (ignoring, parent) = match parent {
            None => (Some(pid), task.parent),
            Some(parent) => (None, parent),
        };
        let Some(p) = self.tasks.get(&parent) else {
            return;
        };
        let pgid = task.pgid;
        if p.pgid != pgid
            && p.sid == task.sid
            && self.is_orphaned_pgrp(pgid, ignoring)
            && self.has_stopped_jobs(pgid)
        {
            self.signal_group(pgid, SigInfo::kernel(Signal::SIGHUP));
            self.signal_group(pgid, SigInfo::kernel(Signal::SIGCONT));
        }
    }

    /// Linux's `do_notify_parent` for a dead child: `SIGCHLD` unless the
    /// parent ignores it; reaped at once if the parent ignores it or set
    /// `SA_NOCLDWAIT`.
    fn notify_parent_exit(&mut self, child: Pid) {
        let Some(c) = self.tasks.get(&child) else {
            return;
        };
        let (parent, status, uid) = (c.parent, c.exit_status, c.cred.uid);
        let Some(p) = self.tasks.get(&parent) else {
            return;
        };
        let action = p.signals.action(Signal::SIGCHLD);
        let ignored = action.handler == SigHandler::Ignore;
        let autoreap = ignored || action.has(SA_NOCLDWAIT);
        if !ignored {
            let (code, value) = if wait_status::wifexited(status) {
                (si_code::CLD_EXITED, wait_status::wexitstatus(status))
            } else if wait_status::wcoredump(status) {
                (si_code::CLD_DUMPED, wait_status::wtermsig(status))
            } else {
                (si_code::CLD_KILLED, wait_status::wtermsig(status))
            };
            let mut info = SigInfo::user(Signal::SIGCHLD, child, uid);
            (info.code, info.status) = (code, value);
            let _ = self.send(parent, info);
        }
        if autoreap {
            self.release(child);
        }
        self.events.push(Event::ChildChanged(parent));
    }

    /// Linux's `do_notify_parent_cldstop`: `SIGCHLD` with `CLD_STOPPED` or
    /// `CLD_CONTINUED` unless the parent ignores it or set
    /// `SA_NOCLDSTOP`; waiting `wait4`s look again either way.
    pub(super) fn notify_parent_cldstop(&mut self, child: Pid, code: i32, sig: Signal) {
        let Some(c) = self.tasks.get(&child) else {
            return;
        };
        let (parent, uid) = (c.parent, c.cred.uid);
        let Some(p) = self.tasks.get(&parent) else {
            return;
        };
        let action = p.signals.action(Signal::SIGCHLD);
        if action.handler != SigHandler::Ignore && !action.has(SA_NOCLDSTOP) {
            let mut info = SigInfo::user(Signal::SIGCHLD, child, uid);
            (info.code, info.status) = (code, sig.number() as i32);
            let _ = self.send(parent, info);
        }
        self.events.push(Event::ChildChanged(parent));
    }

    /// Removes a zombie from the table (and from its parent's children),
    /// returning its descriptor in the `Dead` state.
    pub(super) fn release(&mut self, pid: Pid) -> Option<crate::task::TaskStruct> {
        let mut task = self.tasks.remove(&pid)?;
        if let Some(p) = self.tasks.get_mut(&task.parent) {
            p.children.retain(|&c| c != pid);
        }
        task.state = TaskState::Dead;
        self.events.push(Event::Reaped(pid));
        Some(task)
    }

    /// A fault in the process (the kernel's exception message): forces
    /// `info.signo` on it (see `SignalState::force`).
    pub fn fault(&mut self, pid: Pid, info: SigInfo) -> Result<(), Errno> {
        let task = self.live_mut(pid)?;
        task.signals.force(info)?;
        if task.signals.has_deliverable() {
            self.events.push(Event::SignalPending(pid));
        }
        Ok(())
    }

    /// Delivers the process's pending signals (Linux's `get_signal`):
    /// default actions are carried out here — a stop stops it (a terminal
    /// stop in an orphaned group is discarded), a fatal signal ends it —
    /// until a handler must run, whose frame is returned for the server
    /// to build on the user stack. `Ok(None)`: nothing (more) to do.
    pub fn deliver(&mut self, pid: Pid) -> Result<Option<HandlerFrame>, Errno> {
        loop {
            let task = self.live_mut(pid)?;
            if task.state == TaskState::Stopped {
                return Ok(None);
            }
            let pgid = task.pgid;
            match task.signals.dequeue() {
                None => return Ok(None),
                Some(Delivery::Handler(frame)) => return Ok(Some(frame)),
                Some(Delivery::Terminate { info, core_dump }) => {
                    let status = wait_status::signaled(info.signo.number(), core_dump);
                    self.exit_with_status(pid, status)?;
                    return Ok(None);
                }
                Some(Delivery::Stop(info)) => {
                    if info.signo.is_tty_stop() && self.is_orphaned_pgrp(pgid, None) {
                        continue;
                    }
                    self.stop(pid, info.signo);
                }
            }
        }
    }

    fn stop(&mut self, pid: Pid, sig: Signal) {
        if let Some(task) = self.tasks.get_mut(&pid) {
            task.state = TaskState::Stopped;
            task.report = Some(PendingReport::Stopped(sig.number()));
        }
        self.events.push(Event::Stopped(pid));
        self.notify_parent_cldstop(pid, si_code::CLD_STOPPED, sig);
    }

    /// The pids of `pid`'s children (living and zombie).
    pub fn children(&self, pid: Pid) -> Vec<Pid> {
        self.tasks
            .get(&pid)
            .map(|t| t.children.clone())
            .unwrap_or_default()
    }
}
