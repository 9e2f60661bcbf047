//! One process's signal state (LKD's `signal_struct`/`sighand_struct` for
//! a single-threaded process): the 64 dispositions, the blocked mask, the
//! pending set with each signal's `siginfo`, and the mask `sigsuspend`
//! saved. Generation ([`SignalState::generate`]) and delivery
//! ([`SignalState::dequeue`]) follow Linux's `send_signal` and
//! `get_signal`:
//!
//! - an ignored signal is discarded when it is sent, unless it is blocked
//!   (the handler may change before it is unblocked);
//! - a standard signal is pending at most once; a real-time one queues
//!   one `siginfo` per sending, up to [`RT_QUEUE_MAX`] (then `EAGAIN`);
//! - a stop signal discards a pending `SIGCONT` and `SIGCONT` discards
//!   pending stop signals (resuming the process is the table's work);
//! - of the deliverable signals (pending and not blocked), fault signals
//!   go first, then the lowest number;
//! - `SIGKILL` and `SIGSTOP` can be neither caught, blocked nor ignored.

use alloc::vec::Vec;

use super::action::{SigAction, SigHandler, SigInfo, SA_NODEFER, SA_RESETHAND};
use super::number::{DefaultAction, Signal, NSIG};
use super::set::SigSet;
use crate::errno::Errno;

/// How many real-time signals may wait in one process's queue.
pub const RT_QUEUE_MAX: usize = 128;

/// `sigprocmask`'s `how`: add the set to the mask.
pub const SIG_BLOCK: u32 = 0;
/// `sigprocmask`'s `how`: take the set out of the mask.
pub const SIG_UNBLOCK: u32 = 1;
/// `sigprocmask`'s `how`: the set becomes the mask.
pub const SIG_SETMASK: u32 = 2;

/// What sending did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generated {
    /// The signal is now pending.
    Queued,
    /// A standard signal that was pending already: nothing changed.
    AlreadyPending,
    /// Ignored and not blocked: thrown away.
    Discarded,
}

/// What the process must do with the signal [`SignalState::dequeue`]
/// took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Run a handler: build a signal frame on the user stack.
    Handler(HandlerFrame),
    /// Default action: stop (the table stops the process and tells the
    /// parent, or discards a terminal stop in an orphaned group).
    Stop(SigInfo),
    /// Default action: die of the signal.
    Terminate { info: SigInfo, core_dump: bool },
}

/// What the signal frame must hold so that `rt_sigreturn` can undo it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandlerFrame {
    pub info: SigInfo,
    /// The disposition at delivery (before `SA_RESETHAND` reset it).
    pub action: SigAction,
    /// The mask `rt_sigreturn` restores: the one before delivery, or the
    /// one `sigsuspend` replaced.
    pub restore_mask: SigSet,
}

/// The kind of blocking call a signal interrupted (Linux's `-ERESTART*`
/// codes), which decides between `EINTR` and a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockedCall {
    /// `read`, `wait4`, ... (`ERESTARTSYS`): restarted if no handler ran
    /// or the handler has `SA_RESTART`, `EINTR` otherwise.
    Restartable,
    /// `pause`, `sigsuspend`, `nanosleep` (`ERESTARTNOHAND`): `EINTR` if a
    /// handler ran, restarted (keeps sleeping) otherwise.
    NotAfterHandler,
}

/// What becomes of an interrupted blocked call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// Answer the call `EINTR` (or the partial count it has).
    Eintr,
    /// Carry on as if nothing happened (the server keeps the call).
    Restart,
}

/// Decides what a blocked call gets when a signal is dealt with: `handler`
/// is the action whose handler ran, `None` if none did (ignored, stopped
/// and continued).
pub fn after_signal(call: BlockedCall, handler: Option<&SigAction>) -> CallOutcome {
    match (call, handler) {
        (_, None) => CallOutcome::Restart,
        (BlockedCall::Restartable, Some(action)) if action.has(super::action::SA_RESTART) => {
            CallOutcome::Restart
        }
        (_, Some(_)) => CallOutcome::Eintr,
    }
}

/// A process's signal state.
#[derive(Clone, Debug)]
pub struct SignalState {
    actions: [SigAction; NSIG as usize],
    blocked: SigSet,
    pending: SigSet,
    /// The `siginfo` of each pending standard signal (index `sig - 1`).
    standard_info: [Option<SigInfo>; 31],
    /// Queued real-time signals, oldest first.
    realtime: Vec<SigInfo>,
    /// Set by `sigsuspend`: the mask to restore after the handler.
    saved_mask: Option<SigSet>,
    /// pid 1 (Linux's `SIGNAL_UNKILLABLE`): signals whose disposition is
    /// `SIG_DFL` are ignored, so only a handler can see them.
    unkillable: bool,
}

impl Default for SignalState {
    fn default() -> Self {
        SignalState::new()
    }
}

impl SignalState {
    /// Every disposition `SIG_DFL`, nothing blocked or pending.
    pub fn new() -> SignalState {
        SignalState {
            actions: [SigAction::default(); NSIG as usize],
            blocked: SigSet::EMPTY,
            pending: SigSet::EMPTY,
            standard_info: [None; 31],
            realtime: Vec::new(),
            saved_mask: None,
            unkillable: false,
        }
    }

    /// Marks the state as init's (see the field).
    pub fn set_unkillable(&mut self, unkillable: bool) {
        self.unkillable = unkillable;
    }

    /// The child's state at `fork`: dispositions and mask inherited,
    /// nothing pending.
    pub fn fork_copy(&self) -> SignalState {
        SignalState {
            actions: self.actions,
            blocked: self.blocked,
            ..SignalState::new()
        }
    }

    /// At `execve`: caught signals go back to `SIG_DFL` (the handlers are
    /// gone with the old image), ignored ones stay ignored, flags and
    /// handler masks are cleared; the blocked mask and pending signals
    /// are kept.
    pub fn exec_reset(&mut self) {
        for action in self.actions.iter_mut() {
            let handler = match action.handler {
                SigHandler::Ignore => SigHandler::Ignore,
                _ => SigHandler::Default,
            };
            *action = SigAction {
                handler,
                ..SigAction::default()
            };
        }
        self.saved_mask = None;
    }

    pub fn action(&self, sig: Signal) -> SigAction {
        self.actions[sig.number() as usize - 1]
    }

    pub fn blocked(&self) -> SigSet {
        self.blocked
    }

    /// Every pending signal, blocked or not.
    pub fn pending(&self) -> SigSet {
        self.pending
    }

    /// `sigpending`: the pending signals that are blocked.
    pub fn sigpending(&self) -> SigSet {
        self.pending.intersection(self.blocked)
    }

    /// `sigaction`: returns the old disposition, and installs `new` if
    /// given. `EINVAL` for a new action on `SIGKILL` or `SIGSTOP`. A
    /// disposition that ignores throws the signal's pending instances
    /// away, blocked or not (POSIX).
    pub fn sigaction(&mut self, sig: Signal, new: Option<SigAction>) -> Result<SigAction, Errno> {
        let old = self.action(sig);
        if let Some(mut action) = new {
            if sig.is_unblockable() {
                return Err(Errno::EINVAL);
            }
            action.mask = action.mask.difference(SigSet::UNBLOCKABLE);
            self.actions[sig.number() as usize - 1] = action;
            if action.ignores(sig) {
                self.flush(SigSet::of(sig));
            }
        }
        Ok(old)
    }

    /// `sigprocmask(how, set)`: returns the old mask. With no set, `how`
    /// is not looked at (as Linux). `EINVAL` for an unknown `how`.
    /// `SIGKILL` and `SIGSTOP` are silently left out of any mask.
    pub fn sigprocmask(&mut self, how: u32, set: Option<SigSet>) -> Result<SigSet, Errno> {
        let old = self.blocked;
        if let Some(set) = set {
            let new = match how {
                SIG_BLOCK => old.union(set),
                SIG_UNBLOCK => old.difference(set),
                SIG_SETMASK => set,
                _ => return Err(Errno::EINVAL),
            };
            self.blocked = new.difference(SigSet::UNBLOCKABLE);
        }
        Ok(old)
    }

    /// `sigsuspend(mask)`: the mask becomes `mask` until a handler runs;
    /// the old one is restored by that handler's `rt_sigreturn` (it is in
    /// the [`HandlerFrame`]). The call then waits until
    /// [`SignalState::dequeue`] gives a handler (the call's answer is
    /// always `EINTR`), or the process dies or stops.
    pub fn sigsuspend(&mut self, mask: SigSet) {
        if self.saved_mask.is_none() {
            self.saved_mask = Some(self.blocked);
        }
        self.blocked = mask.difference(SigSet::UNBLOCKABLE);
    }

    /// `rt_sigreturn`: restores the mask the frame saved.
    pub fn sigreturn(&mut self, mask: SigSet) {
        self.blocked = mask.difference(SigSet::UNBLOCKABLE);
    }

    /// Would `sig` be thrown away if sent now: ignored and not blocked.
    pub fn discards(&self, sig: Signal) -> bool {
        if self.blocked.contains(sig) {
            return false;
        }
        let action = self.action(sig);
        if self.unkillable && action.handler == SigHandler::Default {
            return true;
        }
        !sig.is_unblockable() && action.ignores(sig)
    }

    /// Sends a signal (the per-process half of Linux's `send_signal`):
    /// see the module documentation. `EAGAIN` if the real-time queue is
    /// full.
    pub fn generate(&mut self, info: SigInfo) -> Result<Generated, Errno> {
        let sig = info.signo;
        if sig.is_stop() {
            self.flush(SigSet::of(Signal::SIGCONT));
        } else if sig == Signal::SIGCONT {
            self.flush(SigSet::STOP);
        }
        if self.discards(sig) {
            return Ok(Generated::Discarded);
        }
        if sig.is_realtime() {
            if self.realtime.len() >= RT_QUEUE_MAX {
                return Err(Errno::EAGAIN);
            }
            self.realtime.push(info);
        } else if self.pending.contains(sig) {
            return Ok(Generated::AlreadyPending);
        } else {
            self.standard_info[sig.number() as usize - 1] = Some(info);
        }
        self.pending.insert(sig);
        Ok(Generated::Queued)
    }

    /// A fault signal raised by the process's own instruction (Linux's
    /// `force_sig_fault`): if it is blocked or ignored, it is unblocked
    /// and reset to `SIG_DFL`, so the process dies of it rather than
    /// faulting forever; init is not spared.
    pub fn force(&mut self, info: SigInfo) -> Result<Generated, Errno> {
        let sig = info.signo;
        let index = sig.number() as usize - 1;
        let blocked = self.blocked.contains(sig);
        if blocked || self.actions[index].handler == SigHandler::Ignore {
            self.actions[index].handler = SigHandler::Default;
            self.blocked.remove(sig);
        }
        if self.actions[index].handler == SigHandler::Default {
            self.unkillable = false;
        }
        self.generate(info)
    }

    /// Is a signal pending that is not blocked (`signal_pending`)?
    pub fn has_deliverable(&self) -> bool {
        !self.pending.difference(self.blocked).is_empty()
    }

    /// The signal delivery would take next: fault signals first, then
    /// the lowest number.
    pub fn next_signal(&self) -> Option<Signal> {
        let ready = self.pending.difference(self.blocked);
        ready
            .intersection(SigSet::SYNCHRONOUS)
            .first()
            .or_else(|| ready.first())
    }

    /// Takes the next deliverable signal and says what to do with it
    /// (Linux's `get_signal`), skipping those whose action is now to
    /// ignore. For a handler, the mask is updated for the handler's run
    /// and `SA_RESETHAND` applied. `None`: nothing to deliver.
    pub fn dequeue(&mut self) -> Option<Delivery> {
        while let Some(sig) = self.next_signal() {
            let info = self.take(sig);
            let action = self.action(sig);
            match action.handler {
                SigHandler::Ignore => continue,
                SigHandler::Handler(_) => return Some(self.enter_handler(info, action)),
                SigHandler::Default if self.unkillable && !sig.is_unblockable() => continue,
                SigHandler::Default => match sig.default_action() {
                    DefaultAction::Ignore | DefaultAction::Continue => continue,
                    DefaultAction::Stop => return Some(Delivery::Stop(info)),
                    DefaultAction::Terminate => {
                        return Some(Delivery::Terminate {
                            info,
                            core_dump: false,
                        })
                    }
                    DefaultAction::CoreDump => {
                        return Some(Delivery::Terminate {
                            info,
                            core_dump: true,
                        })
                    }
                },
            }
        }
        None
    }

    fn enter_handler(&mut self, info: SigInfo, action: SigAction) -> Delivery {
        let sig = info.signo;
        let restore_mask = self.saved_mask.take().unwrap_or(self.blocked);
        let mut mask = self.blocked.union(action.mask);
        if !action.has(SA_NODEFER) {
            mask.insert(sig);
        }
        self.blocked = mask.difference(SigSet::UNBLOCKABLE);
        if action.has(SA_RESETHAND) {
            self.actions[sig.number() as usize - 1] = SigAction::default();
        }
        Delivery::Handler(HandlerFrame {
            info,
            action,
            restore_mask,
        })
    }

    /// Removes one instance of `sig` from the pending set, with its info.
    fn take(&mut self, sig: Signal) -> SigInfo {
        if sig.is_realtime() {
            let at = self.realtime.iter().position(|i| i.signo == sig);
            let info = at.map(|at| self.realtime.remove(at));
            if !self.realtime.iter().any(|i| i.signo == sig) {
                self.pending.remove(sig);
            }
            info.unwrap_or(SigInfo::kernel(sig))
        } else {
            self.pending.remove(sig);
            self.standard_info[sig.number() as usize - 1]
                .take()
                .unwrap_or(SigInfo::kernel(sig))
        }
    }

    /// Throws away every pending instance of the signals in `set`.
    pub fn flush(&mut self, set: SigSet) {
        self.pending = self.pending.difference(set);
        self.realtime.retain(|info| !set.contains(info.signo));
        for (index, slot) in self.standard_info.iter_mut().enumerate() {
            if set.bits() & (1 << index) != 0 {
                *slot = None;
            }
        }
    }
}
