//! The per-process signal calls as table operations, so the server never
//! touches a descriptor directly: `rt_sigaction`, `rt_sigprocmask`,
//! `rt_sigpending`, `rt_sigsuspend`, `rt_sigreturn`. A call that lets a
//! pending signal through (unblocking it) reports `SignalPending`.

use super::{Event, ProcessTable};
use crate::errno::Errno;
use crate::signal::{SigAction, SigSet, Signal};
use crate::task::Pid;

impl ProcessTable {
    /// `sigaction(sig, new, &old)`: `EINVAL` for a signal out of 1..=64
    /// or a new action on `SIGKILL`/`SIGSTOP`.
    pub fn sigaction(
        &mut self,
        pid: Pid,
        sig: u32,
        new: Option<SigAction>,
    ) -> Result<SigAction, Errno> {
        let sig = Signal::new(sig)?;
        self.live_mut(pid)?.signals.sigaction(sig, new)
    }

    /// `sigprocmask(how, set, &old)` (see `SignalState::sigprocmask`).
    pub fn sigprocmask(
        &mut self,
        pid: Pid,
        how: u32,
        set: Option<SigSet>,
    ) -> Result<SigSet, Errno> {
        let old = self.live_mut(pid)?.signals.sigprocmask(how, set)?;
        self.note_deliverable(pid);
        Ok(old)
    }

    /// `sigpending`: the blocked signals waiting.
    pub fn sigpending(&self, pid: Pid) -> Result<SigSet, Errno> {
        Ok(self.live(pid)?.signals.sigpending())
    }

    /// `sigsuspend(mask)`: installs `mask` until a handler runs. The call
    /// is then blocked: the server keeps it and answers `EINTR` when
    /// [`ProcessTable::interrupt`] gives a handler (at once, if a signal
    /// the new mask lets through is pending: `SignalPending`).
    pub fn sigsuspend(&mut self, pid: Pid, mask: SigSet) -> Result<(), Errno> {
        self.live_mut(pid)?.signals.sigsuspend(mask);
        self.note_deliverable(pid);
        Ok(())
    }

    /// `rt_sigreturn`: the handler is done; its frame's mask comes back.
    pub fn sigreturn(&mut self, pid: Pid, mask: SigSet) -> Result<(), Errno> {
        self.live_mut(pid)?.signals.sigreturn(mask);
        self.note_deliverable(pid);
        Ok(())
    }

    fn note_deliverable(&mut self, pid: Pid) {
        if self
            .tasks
            .get(&pid)
            .is_some_and(|t| t.signals.has_deliverable())
        {
            self.events.push(Event::SignalPending(pid));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::system;
    use super::*;
    use crate::signal::state::{SIG_BLOCK, SIG_SETMASK};

    #[test]
    fn calls_check_and_report() {
        let mut t = system();
        let act = SigAction::from_raw(0x40_1000, 0, 0, 0).unwrap();
        assert_eq!(t.sigaction(10, 0, Some(act)), Err(Errno::EINVAL));
        assert_eq!(t.sigaction(10, 65, None), Err(Errno::EINVAL));
        assert_eq!(t.sigaction(10, 9, Some(act)), Err(Errno::EINVAL));
        assert_eq!(t.sigaction(99, 2, None), Err(Errno::ESRCH));
        assert_eq!(t.sigaction(10, 2, Some(act)), Ok(SigAction::default()));
        assert_eq!(t.sigaction(10, 2, None), Ok(act));

        let int = SigSet::of(Signal::SIGINT);
        t.sigprocmask(10, SIG_BLOCK, Some(int)).unwrap();
        t.kill(1, 10, 2).unwrap();
        assert_eq!(t.sigpending(10), Ok(int));
        t.take_events();
        assert_eq!(t.sigprocmask(10, SIG_SETMASK, Some(SigSet::EMPTY)), Ok(int));
        assert_eq!(
            t.take_events(),
            [Event::SignalPending(10)],
            "unblocking lets it through"
        );

        let frame = t.deliver(10).unwrap().unwrap();
        t.kill(1, 10, 2).unwrap();
        assert!(t.take_events().is_empty(), "blocked while its handler runs");
        t.sigreturn(10, frame.restore_mask).unwrap();
        assert_eq!(t.take_events(), [Event::SignalPending(10)]);

        t.deliver(10).unwrap();
        t.sigprocmask(10, SIG_SETMASK, Some(int)).unwrap();
        t.kill(1, 10, 2).unwrap();
        t.take_events();
        t.sigsuspend(10, SigSet::EMPTY).unwrap();
        assert_eq!(
            t.take_events(),
            [Event::SignalPending(10)],
            "already pending: wakes at once"
        );
    }
}
