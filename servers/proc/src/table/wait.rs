//! `wait4`/`waitpid` (LKD ch. 3: zombies until the parent waits): which
//! children a call matches, what it reports, and reaping — a reaped
//! child's usage joins its parent's `RUSAGE_CHILDREN`. A call that
//! matches living children none of which has changed gets
//! [`WaitOutcome::WouldBlock`]: the server keeps it and tries again at
//! each `Event::ChildChanged` for the caller.

use super::ProcessTable;
use crate::errno::Errno;
use crate::task::{PendingReport, Pid, Rusage, TaskState, TaskStruct};
use crate::wait_status::{self, WCONTINUED, WNOHANG, WUNTRACED};

/// What `wait4` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// A child changed: its pid, its status word (see `wait_status`) and,
    /// if it was reaped, its usage (zero for a stop or continue report).
    Child {
        pid: Pid,
        status: i32,
        rusage: Rusage,
    },
    /// `WNOHANG` and no matching child has changed: `wait4` returns 0.
    NoneReady,
    /// No matching child has changed yet: answer later.
    WouldBlock,
}

/// Which children a `wait4` `pid` argument selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Selector {
    Pid(Pid),
    Any,
    Group(Pid),
}

impl Selector {
    fn matches(self, child: &TaskStruct) -> bool {
        match self {
            Selector::Pid(pid) => child.pid == pid,
            Selector::Any => true,
            Selector::Group(pgid) => child.pgid == pgid,
        }
    }
}

impl ProcessTable {
    /// `wait4(pid, &status, options, &rusage)` by `caller`: `pid > 0` that
    /// child, `-1` any child, `0` any child in the caller's process group,
    /// `< -1` any child in group `-pid`. Options `WNOHANG`, `WUNTRACED`,
    /// `WCONTINUED`; others are `EINVAL`. `ECHILD` if no child matches
    /// (or all were reaped automatically). A zombie is reaped; a stop or
    /// continue is reported once.
    pub fn wait4(&mut self, caller: Pid, pid: i32, options: u32) -> Result<WaitOutcome, Errno> {
        if options & !(WNOHANG | WUNTRACED | WCONTINUED) != 0 {
            return Err(Errno::EINVAL);
        }
        let me = self.live(caller)?;
        let selector = match pid {
            i32::MIN => return Err(Errno::ESRCH),
            1.. => Selector::Pid(pid as Pid),
            -1 => Selector::Any,
            0 => Selector::Group(me.pgid),
            _ => Selector::Group(pid.unsigned_abs()),
        };
        let mut matched = false;
        for child in me.children.clone() {
            let Some(c) = self.tasks.get(&child) else {
                continue;
            };
            if !selector.matches(c) {
                continue;
            }
            matched = true;
            if let Some(outcome) = Self::ready(c, options) {
                return Ok(self.consume(caller, outcome));
            }
        }
        match (matched, options & WNOHANG != 0) {
            (false, _) => Err(Errno::ECHILD),
            (true, true) => Ok(WaitOutcome::NoneReady),
            (true, false) => Ok(WaitOutcome::WouldBlock),
        }
    }

    /// What `child` has to report under `options`, if anything.
    fn ready(child: &TaskStruct, options: u32) -> Option<WaitOutcome> {
        let status = match (child.state, child.report) {
            (TaskState::Zombie, _) => child.exit_status,
            (_, Some(PendingReport::Stopped(sig))) if options & WUNTRACED != 0 => {
                wait_status::stopped(sig)
            }
            (_, Some(PendingReport::Continued)) if options & WCONTINUED != 0 => {
                wait_status::CONTINUED
            }
            _ => return None,
        };
        Some(WaitOutcome::Child {
            pid: child.pid,
            status,
            rusage: Rusage::default(),
        })
    }

    /// Reaps the zombie or clears the report `outcome` describes.
    fn consume(&mut self, caller: Pid, outcome: WaitOutcome) -> WaitOutcome {
        let WaitOutcome::Child { pid, status, .. } = outcome else {
            return outcome;
        };
        let zombie = self.tasks.get(&pid).is_some_and(|c| c.is_zombie());
        if !zombie {
            if let Some(c) = self.tasks.get_mut(&pid) {
                c.report = None;
            }
            return outcome;
        }
        let Some(dead) = self.release(pid) else {
            return outcome;
        };
        let mut rusage = dead.rusage;
        rusage.add(&dead.children_rusage);
        if let Some(parent) = self.tasks.get_mut(&caller) {
            parent.children_rusage.add(&rusage);
        }
        WaitOutcome::Child {
            pid,
            status,
            rusage,
        }
    }
}
