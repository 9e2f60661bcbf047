//! The process table (LKD ch. 3: the task list and the process family
//! tree): every process proc knows, keyed by pid, with the operations of
//! the process half of the system-call surface. Each operation checks
//! everything first and changes the table only once it cannot fail; what
//! the server must then do outside the table (stop or resume threads,
//! answer waiting `wait4`s, free a dead process's resources, interrupt a
//! blocked call for a signal) comes out as [`Event`]s, drained with
//! [`ProcessTable::take_events`].
//!
//! The operations live by theme: this file (creation: adopt, `fork`,
//! `execve`; credentials; limits; times; alarms), `exit` (exit, zombies,
//! reparenting, orphaned process groups, signal delivery), `wait`
//! (`wait4`), `session` (process groups and sessions), `kill` (sending
//! signals, permissions), `signals` (`sigaction`, `sigprocmask`,
//! `sigsuspend`, ...) and `interrupt` (a signal meets a blocked call:
//! `EINTR` or restart).

mod exit;
mod interrupt;
mod kill;
mod session;
mod signals;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_signals;
mod wait;

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use crate::cred::Credentials;
use crate::errno::Errno;
use crate::signal::{SigInfo, Signal};
use crate::task::{Pid, Rlimit, Rusage, TaskState, TaskStruct, INIT_PID};

pub use interrupt::Interruption;
pub use session::TtyFacts;
pub use wait::WaitOutcome;

/// What the server must do after a table operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The process has a signal it does not block: deliver it (and
    /// interrupt its blocked call, see `signal::after_signal`).
    SignalPending(Pid),
    /// Stop the process's threads.
    Stopped(Pid),
    /// Resume the process's threads, then deliver what became pending
    /// while it was stopped.
    Continued(Pid),
    /// A child of this process changed (exited, stopped, continued, was
    /// reaped): look at its waiting `wait4` calls again.
    ChildChanged(Pid),
    /// The process exited: release its address space, files and threads.
    Exited(Pid),
    /// The process left the table: its pid may be used again.
    Reaped(Pid),
}

/// `times()`: clock ticks at `USER_HZ`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tms {
    pub utime: u64,
    pub stime: u64,
    pub cutime: u64,
    pub cstime: u64,
}

/// The clock tick of `times()` and `/proc` (`USER_HZ`).
pub const USER_HZ: u64 = 100;
/// `getrusage(RUSAGE_SELF)`.
pub const RUSAGE_SELF: i32 = 0;
/// `getrusage(RUSAGE_CHILDREN)`.
pub const RUSAGE_CHILDREN: i32 = -1;

/// The process table.
#[derive(Debug)]
pub struct ProcessTable {
    tasks: BTreeMap<Pid, TaskStruct>,
    max_tasks: usize,
    events: Vec<Event>,
    /// Every armed alarm as (deadline, pid), earliest first: the same
    /// deadlines as the tasks' `alarm_ns`, kept apart so that the next
    /// one is the set's first element (the server asks before every
    /// receive) and arming or cancelling one is O(log n).
    alarms: BTreeSet<(u64, Pid)>,
}

impl ProcessTable {
    /// An empty table holding at most `max_tasks` processes.
    pub fn new(max_tasks: usize) -> ProcessTable {
        ProcessTable {
            tasks: BTreeMap::new(),
            max_tasks,
            events: Vec::new(),
            alarms: BTreeSet::new(),
        }
    }

    pub fn get(&self, pid: Pid) -> Option<&TaskStruct> {
        self.tasks.get(&pid)
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Every process, in pid order (for `ps` and `/proc`).
    pub fn iter(&self) -> impl Iterator<Item = &TaskStruct> {
        self.tasks.values()
    }

    /// Takes the events the operations since the last call produced.
    pub fn take_events(&mut self) -> Vec<Event> {
        core::mem::take(&mut self.events)
    }

    /// Is `pid` a process's, or still a process group's or session's id
    /// (Linux never gives such a pid to a new process: it would join a
    /// group it never asked for)?
    pub fn pid_in_use(&self, pid: Pid) -> bool {
        self.tasks.contains_key(&pid) || self.tasks.values().any(|t| t.pgid == pid || t.sid == pid)
    }

    /// A living (not zombie) process, or `ESRCH`.
    fn live(&self, pid: Pid) -> Result<&TaskStruct, Errno> {
        self.tasks
            .get(&pid)
            .filter(|t| !t.is_zombie())
            .ok_or(Errno::ESRCH)
    }

    fn live_mut(&mut self, pid: Pid) -> Result<&mut TaskStruct, Errno> {
        self.tasks
            .get_mut(&pid)
            .filter(|t| !t.is_zombie())
            .ok_or(Errno::ESRCH)
    }

    /// Takes in a process proc did not create: init (`parent` 0, pid 1)
    /// or a server or program init started. It joins its parent's
    /// process group and session, and is `adopted` (no default action of
    /// a signal applies to it, and only init or itself may signal it:
    /// the server holds no handle to it). `EEXIST` for a pid in the table,
    /// `EINVAL` for pid 0 or a parentless process other than init,
    /// `ESRCH` for an unknown parent, `EAGAIN` when the table is full.
    pub fn adopt(
        &mut self,
        pid: Pid,
        parent: Pid,
        cred: Credentials,
        cmdline: &[u8],
        now_ns: u64,
    ) -> Result<(), Errno> {
        if pid == 0 || (parent == 0) != (pid == INIT_PID) {
            return Err(Errno::EINVAL);
        }
        if self.pid_in_use(pid) {
            return Err(Errno::EEXIST);
        }
        if self.tasks.len() >= self.max_tasks {
            return Err(Errno::EAGAIN);
        }
        let mut task = TaskStruct::new(pid, parent, cred, cmdline, now_ns);
        // Init, and what it started: the server cannot end them (see
        // `TaskStruct::adopted`), so their default actions are discarded.
        task.adopted = true;
        task.signals.set_unkillable(true);
        if parent != 0 {
            let p = self.live_mut(parent)?;
            p.children.push(pid);
            (task.pgid, task.sid, task.tty) = (p.pgid, p.sid, p.tty);
        }
        self.tasks.insert(pid, task);
        Ok(())
    }

    /// `fork`'s bookkeeping: `child` (a pid the kernel gave the new
    /// process) becomes `parent`'s child with its process group, session,
    /// terminal, credentials, limits, signal dispositions and mask —
    /// not its pending signals, alarm or times. `EAGAIN` when the table
    /// is full or the parent's real uid has `RLIMIT_NPROC` processes
    /// (root is exempt); `EEXIST` for a pid in use (see
    /// [`ProcessTable::pid_in_use`]); `ESRCH` for an unknown parent.
    pub fn fork(&mut self, parent: Pid, child: Pid, now_ns: u64) -> Result<(), Errno> {
        if child == 0 {
            return Err(Errno::EINVAL);
        }
        if self.pid_in_use(child) {
            return Err(Errno::EEXIST);
        }
        let p = self.live(parent)?;
        let owned = self
            .tasks
            .values()
            .filter(|t| t.cred.uid == p.cred.uid)
            .count() as u64;
        if self.tasks.len() >= self.max_tasks || (owned >= p.nproc.cur && !p.cred.is_root()) {
            return Err(Errno::EAGAIN);
        }
        let mut task = TaskStruct::new(child, parent, p.cred.clone(), &p.cmdline, now_ns);
        (task.pgid, task.sid, task.tty, task.nproc) = (p.pgid, p.sid, p.tty, p.nproc);
        task.signals = p.signals.fork_copy();
        self.tasks.insert(child, task);
        self.live_mut(parent)?.children.push(child);
        Ok(())
    }

    /// `execve`'s bookkeeping, once the new image is built: caught
    /// signals reset (see `SignalState::exec_reset`), the command line
    /// replaced, and the parent may no longer move it to another group.
    pub fn exec(&mut self, pid: Pid, cmdline: &[u8]) -> Result<(), Errno> {
        let task = self.live_mut(pid)?;
        task.did_exec = true;
        task.signals.exec_reset();
        task.set_cmdline(cmdline);
        Ok(())
    }

    /// Records that a process blocked in a call (`Sleeping`) or runs
    /// again (`Running`), for `ps`. A stopped process stays stopped.
    pub fn set_sleeping(&mut self, pid: Pid, sleeping: bool) -> Result<(), Errno> {
        let task = self.live_mut(pid)?;
        if task.state != TaskState::Stopped {
            task.state = if sleeping {
                TaskState::Sleeping
            } else {
                TaskState::Running
            };
        }
        Ok(())
    }

    /// `getppid`.
    pub fn getppid(&self, pid: Pid) -> Result<Pid, Errno> {
        Ok(self.live(pid)?.parent)
    }

    /// `setuid` (rules in `Credentials::setuid`).
    pub fn setuid(&mut self, pid: Pid, uid: u32) -> Result<(), Errno> {
        self.live_mut(pid)?.cred.setuid(uid)
    }

    /// `setgid` (rules in `Credentials::setgid`).
    pub fn setgid(&mut self, pid: Pid, gid: u32) -> Result<(), Errno> {
        self.live_mut(pid)?.cred.setgid(gid)
    }

    /// `setrlimit(RLIMIT_NPROC)`: `EINVAL` if `cur > max`, `EPERM` to
    /// raise the hard limit without being root.
    pub fn set_nproc_limit(&mut self, pid: Pid, limit: Rlimit) -> Result<(), Errno> {
        let task = self.live_mut(pid)?;
        if limit.cur > limit.max {
            return Err(Errno::EINVAL);
        }
        if limit.max > task.nproc.max && !task.cred.is_root() {
            return Err(Errno::EPERM);
        }
        task.nproc = limit;
        Ok(())
    }

    /// Charges time and faults the server measured to a process.
    pub fn account(&mut self, pid: Pid, usage: &Rusage) -> Result<(), Errno> {
        self.live_mut(pid)?.rusage.add(usage);
        Ok(())
    }

    /// `times()`: own and reaped children's times in `USER_HZ` ticks.
    pub fn times(&self, pid: Pid) -> Result<Tms, Errno> {
        let task = self.live(pid)?;
        let ticks = |ns: u64| ns / (1_000_000_000 / USER_HZ);
        Ok(Tms {
            utime: ticks(task.rusage.utime_ns),
            stime: ticks(task.rusage.stime_ns),
            cutime: ticks(task.children_rusage.utime_ns),
            cstime: ticks(task.children_rusage.stime_ns),
        })
    }

    /// `getrusage(who)`: `RUSAGE_SELF` or `RUSAGE_CHILDREN`, else `EINVAL`.
    pub fn getrusage(&self, pid: Pid, who: i32) -> Result<Rusage, Errno> {
        let task = self.live(pid)?;
        match who {
            RUSAGE_SELF => Ok(task.rusage),
            RUSAGE_CHILDREN => Ok(task.children_rusage),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `alarm(seconds)`: arms (or with 0 cancels) the process's alarm and
    /// returns the seconds the previous one had left, rounded to the
    /// nearest second but at least 1 if any time was left (as Linux).
    pub fn alarm(&mut self, pid: Pid, seconds: u32, now_ns: u64) -> Result<u32, Errno> {
        let task = self.live(pid)?;
        let left = task
            .alarm_ns
            .map_or(0, |deadline| deadline.saturating_sub(now_ns));
        let (whole, rest) = (left / 1_000_000_000, left % 1_000_000_000);
        let mut previous = whole.min(u32::MAX as u64) as u32;
        if (whole == 0 && rest > 0) || rest >= 500_000_000 {
            previous = previous.saturating_add(1);
        }
        let deadline = (seconds > 0).then(|| now_ns.saturating_add(seconds as u64 * 1_000_000_000));
        self.set_alarm(pid, deadline);
        Ok(previous)
    }

    /// Arms `pid`'s alarm for `deadline` (`None` disarms it), in the task
    /// and in the set of alarms alike.
    fn set_alarm(&mut self, pid: Pid, deadline: Option<u64>) {
        let Some(task) = self.tasks.get_mut(&pid) else {
            return;
        };
        if let Some(old) = core::mem::replace(&mut task.alarm_ns, deadline) {
            self.alarms.remove(&(old, pid));
        }
        if let Some(new) = deadline {
            self.alarms.insert((new, pid));
        }
    }

    /// The earliest armed alarm, for the server's timer: O(1) amortised
    /// (the set's first element).
    pub fn next_alarm(&self) -> Option<u64> {
        self.alarms.first().map(|&(deadline, _)| deadline)
    }

    /// Sends `SIGALRM` to every process whose alarm is due at `now_ns`.
    pub fn expire_alarms(&mut self, now_ns: u64) {
        while let Some(&(deadline, pid)) = self.alarms.first() {
            if deadline > now_ns {
                break;
            }
            self.set_alarm(pid, None);
            // Only a full real-time queue can refuse, and SIGALRM is standard.
            let _ = self.send(pid, SigInfo::kernel(Signal::SIGALRM));
        }
    }
}
