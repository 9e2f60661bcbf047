//! Process groups and sessions (POSIX job control; LKD ch. 3's family
//! tree): `setpgid`, `getpgid`, `setsid`, `getsid`, with Linux's rules and
//! errors, and the controlling terminal a session leader takes.

use super::ProcessTable;
use crate::errno::Errno;
use crate::signal::Signal;
use crate::task::Pid;

impl ProcessTable {
    /// `setpgid(pid, pgid)` by `caller` (Linux's rules, in its order):
    /// `pid` 0 means the caller, `pgid` 0 means `pid`; negative `pgid`:
    /// `EINVAL`. The target must be the caller or its child (`ESRCH`); a
    /// child must be in the caller's session (`EPERM`) and not have
    /// exec'd (`EACCES`); a session leader cannot move (`EPERM`); a group
    /// other than the target's own pid must exist in the caller's session
    /// (`EPERM`).
    pub fn setpgid(&mut self, caller: Pid, pid: i32, pgid: i32) -> Result<(), Errno> {
        if pid < 0 || pgid < 0 {
            return Err(Errno::EINVAL);
        }
        let me = self.live(caller)?;
        let my_sid = me.sid;
        let target = if pid == 0 { caller } else { pid as Pid };
        let pgid = if pgid == 0 { target } else { pgid as Pid };
        let t = self.live(target).map_err(|_| Errno::ESRCH)?;
        if target != caller {
            if t.parent != caller {
                return Err(Errno::ESRCH);
            }
            if t.sid != my_sid {
                return Err(Errno::EPERM);
            }
            if t.did_exec {
                return Err(Errno::EACCES);
            }
        }
        if t.is_session_leader() {
            return Err(Errno::EPERM);
        }
        if pgid != target
            && !self
                .tasks
                .values()
                .any(|p| p.pgid == pgid && p.sid == my_sid)
        {
            return Err(Errno::EPERM);
        }
        self.live_mut(target)?.pgid = pgid;
        Ok(())
    }

    /// `getpgid(pid)` (0: the caller). `ESRCH` for an unknown pid.
    pub fn getpgid(&self, caller: Pid, pid: i32) -> Result<Pid, Errno> {
        Ok(self.target(caller, pid)?.pgid)
    }

    /// `getsid(pid)` (0: the caller). `ESRCH` for an unknown pid.
    pub fn getsid(&self, caller: Pid, pid: i32) -> Result<Pid, Errno> {
        Ok(self.target(caller, pid)?.sid)
    }

    fn target(&self, caller: Pid, pid: i32) -> Result<&crate::task::TaskStruct, Errno> {
        match pid {
            0 => self.live(caller),
            1.. => self.tasks.get(&(pid as Pid)).ok_or(Errno::ESRCH),
            _ => Err(Errno::ESRCH),
        }
    }

    /// `setsid()`: the caller leads a new session and a new process group,
    /// both its pid, without a controlling terminal, and the new session
    /// id is returned. `EPERM` if a process group with the caller's pid
    /// exists (it leads one already, or a member outlived it).
    pub fn setsid(&mut self, caller: Pid) -> Result<Pid, Errno> {
        self.live(caller)?;
        if self.tasks.values().any(|t| t.pgid == caller) {
            return Err(Errno::EPERM);
        }
        let me = self.live_mut(caller)?;
        (me.sid, me.pgid, me.tty) = (caller, caller, None);
        Ok(caller)
    }

    /// What a terminal needs to judge a call `pid` makes on it while
    /// `foreground` is its foreground group (the terminal's job control,
    /// Linux's `__tty_check_change`): `pid`'s group, whether `pid` is in
    /// the session of a live member of `foreground`, whether it ignores
    /// or blocks `sig` (or cannot be stopped by it: a process the server
    /// adopted), and whether its group is orphaned. `ESRCH` for a pid
    /// that is not a living process, `EINVAL` for a bad signal.
    pub fn tty_facts(&self, pid: Pid, sig: u32, foreground: Pid) -> Result<TtyFacts, Errno> {
        let sig = Signal::new(sig)?;
        let me = self.live(pid)?;
        let same_session = self
            .tasks
            .values()
            .any(|t| t.pgid == foreground && !t.is_zombie() && t.sid == me.sid);
        let signals = &me.signals;
        Ok(TtyFacts {
            pgid: me.pgid,
            same_session,
            ignored: signals.blocked().contains(sig) || signals.discards(sig),
            orphaned: self.is_orphaned_pgrp(me.pgid, None),
        })
    }

    /// `ioctl(TIOCSCTTY)`'s bookkeeping: a session leader without a
    /// terminal takes `tty` as its controlling terminal; its later
    /// children inherit it. `EPERM` for a process that is not a session
    /// leader or has a terminal already.
    pub fn set_controlling_tty(&mut self, caller: Pid, tty: u32) -> Result<(), Errno> {
        let me = self.live_mut(caller)?;
        if !me.is_session_leader() || me.tty.is_some() {
            return Err(Errno::EPERM);
        }
        me.tty = Some(tty);
        Ok(())
    }
}

/// [`ProcessTable::tty_facts`]' answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TtyFacts {
    pub pgid: Pid,
    pub same_session: bool,
    pub ignored: bool,
    pub orphaned: bool,
}
