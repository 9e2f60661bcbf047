//! Sending signals between processes: `kill` to one process, to a
//! process group, to everyone (`-1`), with Linux's permission rule
//! (`Credentials::may_signal`, and `SIGCONT` within a session), and the
//! process-wide effects of sending: `SIGCONT` (and `SIGKILL`) resume a
//! stopped process even if blocked or ignored.

use alloc::vec::Vec;

use super::{Event, ProcessTable};
use crate::errno::Errno;
use crate::signal::action::si_code;
use crate::signal::{Generated, SigInfo, Signal};
use crate::task::{PendingReport, Pid, TaskState, INIT_PID};

impl ProcessTable {
    /// Sends a signal to one process on proc's own authority (no
    /// permission check): `SIGCHLD`, `SIGALRM`, orphaned-group `SIGHUP`,
    /// and the half of `kill` after its checks. A zombie takes any signal
    /// and nothing happens. `EAGAIN`: its real-time queue is full.
    pub fn send(&mut self, pid: Pid, info: SigInfo) -> Result<Generated, Errno> {
        let task = self.tasks.get_mut(&pid).ok_or(Errno::ESRCH)?;
        if task.is_zombie() {
            return Ok(Generated::Discarded);
        }
        let sig = info.signo;
        let generated = task.signals.generate(info)?;
        let resumes = sig == Signal::SIGCONT || sig == Signal::SIGKILL;
        if resumes && task.state == TaskState::Stopped {
            task.state = TaskState::Running;
            self.events.push(Event::Continued(pid));
            if sig == Signal::SIGCONT {
                task.report = Some(PendingReport::Continued);
                self.notify_parent_cldstop(pid, si_code::CLD_CONTINUED, sig);
            }
        }
        let deliverable = self
            .tasks
            .get(&pid)
            .is_some_and(|t| t.signals.has_deliverable());
        if generated == Generated::Queued && deliverable {
            self.events.push(Event::SignalPending(pid));
        }
        Ok(generated)
    }

    /// `kill(pid, sig)` from `sender`: `pid > 0` that process, `0` the
    /// sender's process group, `-1` every process but init and the
    /// sender, `< -1` the group `-pid`. Signal 0 checks only. Errors:
    /// `EINVAL` (signal out of range), `ESRCH` (no such process or empty
    /// group), `EPERM` (no target may be signalled by the sender),
    /// `EAGAIN` (a real-time queue is full).
    pub fn kill(&mut self, sender: Pid, pid: i32, sig: u32) -> Result<(), Errno> {
        let signal = match sig {
            0 => None,
            n => Some(Signal::new(n)?),
        };
        let me = self.live(sender)?;
        let (my_pgid, my_uid) = (me.pgid, me.cred.uid);
        let info = signal.map(|s| SigInfo::user(s, sender, my_uid));
        match pid {
            i32::MIN => Err(Errno::ESRCH),
            1.. => self.kill_one(sender, pid as Pid, info),
            0 => self.kill_group(sender, my_pgid, info),
            -1 => self.kill_all(sender, info),
            _ => self.kill_group(sender, pid.unsigned_abs(), info),
        }
    }

    /// May `sender` signal `target` with `sig` (Linux's
    /// `check_kill_permission`)? A process the server took in (a server
    /// or program init started: `TaskStruct::adopted`) only by itself
    /// and init, whatever the sender's uid: nothing could carry the
    /// signal out (root ends a server with `service kill`). Init itself
    /// is signalled as on Linux (its default actions are discarded).
    fn may_kill(&self, sender: Pid, target: Pid, sig: Option<Signal>) -> bool {
        let (Some(from), Some(to)) = (self.tasks.get(&sender), self.tasks.get(&target)) else {
            return false;
        };
        if to.adopted && target != INIT_PID && sender != target && sender != INIT_PID {
            return false;
        }
        sender == target
            || from.cred.may_signal(&to.cred)
            || (sig == Some(Signal::SIGCONT) && from.sid == to.sid)
    }

    fn kill_one(&mut self, sender: Pid, target: Pid, info: Option<SigInfo>) -> Result<(), Errno> {
        if !self.tasks.contains_key(&target) {
            return Err(Errno::ESRCH);
        }
        if !self.may_kill(sender, target, info.map(|i| i.signo)) {
            return Err(Errno::EPERM);
        }
        match info {
            Some(info) => self.send(target, info).map(|_| ()),
            None => Ok(()),
        }
    }

    /// Linux's `__kill_pgrp_info`: success if any member took it, else
    /// the last member's error; `ESRCH` for an empty group.
    fn kill_group(&mut self, sender: Pid, pgid: Pid, info: Option<SigInfo>) -> Result<(), Errno> {
        let members: Vec<Pid> = self
            .tasks
            .values()
            .filter(|t| t.pgid == pgid)
            .map(|t| t.pid)
            .collect();
        let mut result = Err(Errno::ESRCH);
        let mut any = false;
        for target in members {
            result = self.kill_one(sender, target, info);
            any |= result.is_ok();
        }
        if any {
            Ok(())
        } else {
            result
        }
    }

    /// Linux's `kill(-1)`: every process but init and the sender — and
    /// here but the processes the server took in (the system's servers
    /// and init's programs, which no signal can end, as Linux's kernel
    /// threads ignore it); `ESRCH` if there is none, otherwise success
    /// unless a send failed for a reason other than permission.
    fn kill_all(&mut self, sender: Pid, info: Option<SigInfo>) -> Result<(), Errno> {
        let targets: Vec<Pid> = self
            .tasks
            .values()
            .filter(|t| t.pid != INIT_PID && t.pid != sender && !t.adopted)
            .map(|t| t.pid)
            .collect();
        if targets.is_empty() {
            return Err(Errno::ESRCH);
        }
        let mut result = Ok(());
        for target in targets {
            match self.kill_one(sender, target, info) {
                Err(Errno::EPERM) | Ok(()) => {}
                Err(other) => result = Err(other),
            }
        }
        result
    }

    /// Sends `info` to every member of process group `pgid` on proc's own
    /// authority (orphaned-group `SIGHUP`/`SIGCONT`, the tty's `SIGINT`).
    /// Returns how many members there were.
    pub fn signal_group(&mut self, pgid: Pid, info: SigInfo) -> usize {
        let members: Vec<Pid> = self
            .tasks
            .values()
            .filter(|t| t.pgid == pgid)
            .map(|t| t.pid)
            .collect();
        for &member in &members {
            // A full real-time queue drops this member's copy, as Linux does.
            let _ = self.send(member, info);
        }
        members.len()
    }
}
