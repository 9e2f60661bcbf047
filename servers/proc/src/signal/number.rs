//! Signal numbers (Linux x86_64: 1–31 standard, 32–64 real-time) and
//! the default action of each, the table of LKD's `sig_kernel_*` masks.

use crate::errno::Errno;

/// The highest signal number (`_NSIG`).
pub const NSIG: u8 = 64;
/// The first real-time signal the kernel knows (`SIGRTMIN`, 32); C
/// libraries keep the first two or three for themselves.
pub const SIGRTMIN: u8 = 32;
/// The last real-time signal (`SIGRTMAX`).
pub const SIGRTMAX: u8 = 64;

/// A valid signal number, 1 to 64. Signal 0 (`kill(pid, 0)`: "may I
/// signal it?") is not a signal; callers handle it before converting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signal(u8);

/// What happens to a process when a signal with `SIG_DFL` is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// The process dies; `wait` sees `WIFSIGNALED`.
    Terminate,
    /// The process dies and "dumps core" (here: a log line); `wait` sees
    /// `WCOREDUMP` too.
    CoreDump,
    /// The process stops until `SIGCONT`.
    Stop,
    /// A stopped process continues (done at generation); nothing else.
    Continue,
    /// Nothing happens; the signal is discarded.
    Ignore,
}

macro_rules! signals {
    ($($name:ident = $num:literal, $action:ident;)*) => {
        impl Signal {
            $(pub const $name: Signal = Signal($num);)*
        }

        /// The C name of a standard signal (`None` for real-time ones).
        fn standard_name(number: u8) -> Option<&'static str> {
            match number {
                $($num => Some(stringify!($name)),)*
                _ => None,
            }
        }

        fn standard_action(number: u8) -> DefaultAction {
            match number {
                $($num => DefaultAction::$action,)*
                _ => DefaultAction::Terminate,
            }
        }
    };
}

signals! {
    SIGHUP = 1, Terminate;
    SIGINT = 2, Terminate;
    SIGQUIT = 3, CoreDump;
    SIGILL = 4, CoreDump;
    SIGTRAP = 5, CoreDump;
    SIGABRT = 6, CoreDump;
    SIGBUS = 7, CoreDump;
    SIGFPE = 8, CoreDump;
    SIGKILL = 9, Terminate;
    SIGUSR1 = 10, Terminate;
    SIGSEGV = 11, CoreDump;
    SIGUSR2 = 12, Terminate;
    SIGPIPE = 13, Terminate;
    SIGALRM = 14, Terminate;
    SIGTERM = 15, Terminate;
    SIGSTKFLT = 16, Terminate;
    SIGCHLD = 17, Ignore;
    SIGCONT = 18, Continue;
    SIGSTOP = 19, Stop;
    SIGTSTP = 20, Stop;
    SIGTTIN = 21, Stop;
    SIGTTOU = 22, Stop;
    SIGURG = 23, Ignore;
    SIGXCPU = 24, CoreDump;
    SIGXFSZ = 25, CoreDump;
    SIGVTALRM = 26, Terminate;
    SIGPROF = 27, Terminate;
    SIGWINCH = 28, Ignore;
    SIGIO = 29, Terminate;
    SIGPWR = 30, Terminate;
    SIGSYS = 31, CoreDump;
}

impl Signal {
    /// The signal numbered `number`; `EINVAL` outside 1..=64.
    pub const fn new(number: u32) -> Result<Signal, Errno> {
        if number >= 1 && number <= NSIG as u32 {
            Ok(Signal(number as u8))
        } else {
            Err(Errno::EINVAL)
        }
    }

    pub const fn number(self) -> u8 {
        self.0
    }

    /// `SIGKILL` and `SIGSTOP`: never caught, blocked or ignored.
    pub const fn is_unblockable(self) -> bool {
        self.0 == Signal::SIGKILL.0 || self.0 == Signal::SIGSTOP.0
    }

    /// A real-time signal (32..=64): queued once per sending.
    pub const fn is_realtime(self) -> bool {
        self.0 >= SIGRTMIN
    }

    /// The stop signals: `SIGSTOP`, `SIGTSTP`, `SIGTTIN`, `SIGTTOU`.
    pub const fn is_stop(self) -> bool {
        self.0 >= Signal::SIGSTOP.0 && self.0 <= Signal::SIGTTOU.0
    }

    /// The stop signals a terminal sends (`SIGTSTP`, `SIGTTIN`,
    /// `SIGTTOU`): discarded for a process in an orphaned process group,
    /// whom nobody could continue.
    pub const fn is_tty_stop(self) -> bool {
        self.is_stop() && self.0 != Signal::SIGSTOP.0
    }

    /// Signals a fault raises in the faulting thread (Linux's
    /// `SYNCHRONOUS_MASK`): delivered before any other pending signal.
    pub const fn is_synchronous(self) -> bool {
        matches!(self.0, 4 | 5 | 7 | 8 | 11 | 31)
    }

    /// What `SIG_DFL` does with this signal.
    pub fn default_action(self) -> DefaultAction {
        standard_action(self.0)
    }

    /// The C name: `SIGINT`, or `SIGRTMIN+3` for real-time signals.
    pub fn name(self) -> SignalName {
        SignalName(self)
    }
}

/// A signal's name for display (`SIGINT`, `SIGRTMIN+3`).
pub struct SignalName(Signal);

impl core::fmt::Display for SignalName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match standard_name(self.0 .0) {
            Some(name) => f.write_str(name),
            None => write!(f, "SIGRTMIN+{}", self.0 .0 - SIGRTMIN),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn range_is_checked() {
        assert_eq!(Signal::new(0), Err(Errno::EINVAL));
        assert_eq!(Signal::new(65), Err(Errno::EINVAL));
        assert_eq!(Signal::new(9), Ok(Signal::SIGKILL));
        assert!(Signal::new(64).unwrap().is_realtime());
        assert!(!Signal::new(31).unwrap().is_realtime());
    }

    #[test]
    fn default_actions_follow_linux() {
        use DefaultAction::*;
        let table = [
            (Signal::SIGHUP, Terminate),
            (Signal::SIGQUIT, CoreDump),
            (Signal::SIGSEGV, CoreDump),
            (Signal::SIGKILL, Terminate),
            (Signal::SIGCHLD, Ignore),
            (Signal::SIGCONT, Continue),
            (Signal::SIGSTOP, Stop),
            (Signal::SIGTSTP, Stop),
            (Signal::SIGTTIN, Stop),
            (Signal::SIGTTOU, Stop),
            (Signal::SIGURG, Ignore),
            (Signal::SIGWINCH, Ignore),
            (Signal::SIGSYS, CoreDump),
            (Signal::new(40).unwrap(), Terminate),
        ];
        for (sig, action) in table {
            assert_eq!(sig.default_action(), action, "{}", sig.name());
        }
    }

    #[test]
    fn classes() {
        assert!(Signal::SIGKILL.is_unblockable() && Signal::SIGSTOP.is_unblockable());
        assert!(!Signal::SIGTSTP.is_unblockable());
        assert!(Signal::SIGSTOP.is_stop() && !Signal::SIGSTOP.is_tty_stop());
        assert!(Signal::SIGTTOU.is_tty_stop() && !Signal::SIGCONT.is_stop());
        assert!(Signal::SIGSEGV.is_synchronous() && !Signal::SIGINT.is_synchronous());
        assert_eq!(format!("{}", Signal::SIGINT.name()), "SIGINT");
        assert_eq!(format!("{}", Signal::new(35).unwrap().name()), "SIGRTMIN+3");
    }
}
