//! `struct sigaction`: what a process asked to happen when a signal
//! arrives (LKD's `k_sigaction`), with the `SA_*` flags it may carry, and
//! `siginfo_t`, what the kernel tells a handler about the signal.

use super::number::Signal;
use super::set::SigSet;
use crate::errno::Errno;

/// `SIG_DFL` as a raw handler word.
pub const SIG_DFL: u64 = 0;
/// `SIG_IGN` as a raw handler word.
pub const SIG_IGN: u64 = 1;

/// `SA_NOCLDSTOP`: no `SIGCHLD` when a child stops or continues.
pub const SA_NOCLDSTOP: u64 = 0x0000_0001;
/// `SA_NOCLDWAIT`: children do not become zombies (they are reaped at
/// exit; `wait` then reports `ECHILD`).
pub const SA_NOCLDWAIT: u64 = 0x0000_0002;
/// `SA_SIGINFO`: the handler takes `(sig, siginfo_t *, ucontext *)`.
pub const SA_SIGINFO: u64 = 0x0000_0004;
/// `SA_RESTORER`: `restorer` is the `sigreturn` trampoline (C libraries
/// always set it on x86_64).
pub const SA_RESTORER: u64 = 0x0400_0000;
/// `SA_RESTART`: a blocked call interrupted by the handler restarts.
pub const SA_RESTART: u64 = 0x1000_0000;
/// `SA_NODEFER`: the signal is not blocked while its handler runs.
pub const SA_NODEFER: u64 = 0x4000_0000;
/// `SA_RESETHAND`: the disposition returns to `SIG_DFL` on delivery.
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// Every flag this system implements. `SA_ONSTACK` is not among them:
/// there is no `sigaltstack`, so asking for it is `EINVAL`, not a silent
/// no-op.
pub const SA_KNOWN: u64 =
    SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_RESTORER | SA_RESTART | SA_NODEFER | SA_RESETHAND;

/// A disposition: the default action, ignore, or a handler's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SigHandler {
    #[default]
    Default,
    Ignore,
    /// A user-space function's address.
    Handler(u64),
}

impl SigHandler {
    pub const fn from_raw(word: u64) -> SigHandler {
        match word {
            SIG_DFL => SigHandler::Default,
            SIG_IGN => SigHandler::Ignore,
            address => SigHandler::Handler(address),
        }
    }

    pub const fn raw(self) -> u64 {
        match self {
            SigHandler::Default => SIG_DFL,
            SigHandler::Ignore => SIG_IGN,
            SigHandler::Handler(address) => address,
        }
    }
}

/// One signal's disposition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SigAction {
    pub handler: SigHandler,
    /// `SA_*` flags, a subset of [`SA_KNOWN`].
    pub flags: u64,
    /// Signals blocked while the handler runs (besides the signal itself,
    /// unless `SA_NODEFER`).
    pub mask: SigSet,
    /// The `sigreturn` trampoline (`SA_RESTORER`).
    pub restorer: u64,
}

impl SigAction {
    /// An action from the words of a `struct sigaction`; `EINVAL` for a
    /// flag this system does not implement.
    pub fn from_raw(
        handler: u64,
        flags: u64,
        mask: u64,
        restorer: u64,
    ) -> Result<SigAction, Errno> {
        if flags & !SA_KNOWN != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(SigAction {
            handler: SigHandler::from_raw(handler),
            flags,
            mask: SigSet::from_bits(mask).difference(SigSet::UNBLOCKABLE),
            restorer,
        })
    }

    pub const fn has(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }

    /// Would a signal with this disposition be thrown away (Linux's
    /// `sig_handler_ignored`): `SIG_IGN`, or `SIG_DFL` of a signal whose
    /// default is to ignore (and `SIGCONT`, whose work is done when it
    /// is sent).
    pub fn ignores(&self, sig: Signal) -> bool {
        use super::number::DefaultAction;
        match self.handler {
            SigHandler::Ignore => true,
            SigHandler::Default => matches!(
                sig.default_action(),
                DefaultAction::Ignore | DefaultAction::Continue
            ),
            SigHandler::Handler(_) => false,
        }
    }
}

/// `si_code` values this system produces.
pub mod si_code {
    /// Sent by `kill`.
    pub const SI_USER: i32 = 0;
    /// Sent by the kernel (here: by proc itself, e.g. orphaned-group
    /// `SIGHUP`).
    pub const SI_KERNEL: i32 = 0x80;
    /// `SIGCHLD`: the child exited.
    pub const CLD_EXITED: i32 = 1;
    /// `SIGCHLD`: the child was killed.
    pub const CLD_KILLED: i32 = 2;
    /// `SIGCHLD`: the child was killed and dumped core.
    pub const CLD_DUMPED: i32 = 3;
    /// `SIGCHLD`: the child stopped.
    pub const CLD_STOPPED: i32 = 5;
    /// `SIGCHLD`: the child continued.
    pub const CLD_CONTINUED: i32 = 6;
    /// `SIGSEGV`: no mapping at the address.
    pub const SEGV_MAPERR: i32 = 1;
    /// `SIGSEGV`: the mapping forbids the access.
    pub const SEGV_ACCERR: i32 = 2;
}

/// `siginfo_t`: what a handler with `SA_SIGINFO` learns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: Signal,
    /// `si_code` (see [`si_code`]).
    pub code: i32,
    /// The sender's pid (or the child's, for `SIGCHLD`); 0 from the kernel.
    pub pid: u32,
    /// The sender's real uid (or the child's).
    pub uid: u32,
    /// `SIGCHLD`: the exit code or signal; otherwise 0.
    pub status: i32,
    /// Fault signals: the faulting address; otherwise 0.
    pub addr: u64,
}

impl SigInfo {
    /// A signal sent by `kill` from `pid` running as real uid `uid`.
    pub const fn user(signo: Signal, pid: u32, uid: u32) -> SigInfo {
        SigInfo {
            signo,
            code: si_code::SI_USER,
            pid,
            uid,
            status: 0,
            addr: 0,
        }
    }

    /// A signal proc sends on its own account.
    pub const fn kernel(signo: Signal) -> SigInfo {
        SigInfo {
            signo,
            code: si_code::SI_KERNEL,
            pid: 0,
            uid: 0,
            status: 0,
            addr: 0,
        }
    }

    /// A fault signal (`SIGSEGV` at `addr`, ...).
    pub const fn fault(signo: Signal, code: i32, addr: u64) -> SigInfo {
        SigInfo {
            signo,
            code,
            pid: 0,
            uid: 0,
            status: 0,
            addr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_words_round_trip() {
        assert_eq!(SigHandler::from_raw(0), SigHandler::Default);
        assert_eq!(SigHandler::from_raw(1), SigHandler::Ignore);
        assert_eq!(
            SigHandler::from_raw(0x40_1000),
            SigHandler::Handler(0x40_1000)
        );
        assert_eq!(SigHandler::Handler(0x40_1000).raw(), 0x40_1000);
    }

    #[test]
    fn unknown_flags_and_unblockable_mask_bits() {
        assert_eq!(
            SigAction::from_raw(0, 0x0800_0000, 0, 0),
            Err(Errno::EINVAL),
            "SA_ONSTACK"
        );
        let act =
            SigAction::from_raw(0x40_1000, SA_RESTART | SA_RESTORER, u64::MAX, 0x40_2000).unwrap();
        assert!(act.has(SA_RESTART) && !act.has(SA_SIGINFO));
        assert!(!act.mask.contains(Signal::SIGKILL) && !act.mask.contains(Signal::SIGSTOP));
        assert!(act.mask.contains(Signal::SIGINT));
    }

    #[test]
    fn which_dispositions_ignore() {
        let dfl = SigAction::default();
        assert!(dfl.ignores(Signal::SIGCHLD) && dfl.ignores(Signal::SIGWINCH));
        assert!(dfl.ignores(Signal::SIGCONT));
        assert!(!dfl.ignores(Signal::SIGTERM) && !dfl.ignores(Signal::SIGTSTP));
        let ign = SigAction {
            handler: SigHandler::Ignore,
            ..SigAction::default()
        };
        assert!(ign.ignores(Signal::SIGTERM));
        let caught = SigAction {
            handler: SigHandler::Handler(0x1000),
            ..SigAction::default()
        };
        assert!(!caught.ignores(Signal::SIGCHLD));
    }
}
