//! Signals for programs: `sigaction`, `signal`, `sigprocmask`,
//! `sigpending`, `sigsuspend`, `pause`, `raise`, `alarm`, `nanosleep`, and the
//! names `kill -l` prints. The pure parts (numbers, names, flags) are
//! host-tested; the calls (bare-metal only) go to the process server.
//!
//! **How a handler runs.** `sigaction` registers, with `proc`, this
//! module's entry ([`signal_entry`]) as the handler and the kernel's
//! `sigreturn` trampoline as the restorer (`SA_RESTORER`), and keeps the
//! program's function in a table of its own. When `proc` delivers the
//! signal (the kernel's upcall on the thread's next return to user mode),
//! the entry saves the thread's IPC buffer — the interrupted code may
//! not have read the reply that just came back in it, and the handler may
//! make calls of its own — runs the program's function, tells `proc` the
//! handler is done (`Sigreturn` with the mask the frame saved), puts the
//! IPC buffer back and returns into the restorer, whose `sigreturn`
//! restores every register. A handler is the program's code interrupted
//! anywhere: as in C, it should only set flags (atomics) or make calls
//! (`write`, `kill`), not allocate (the heap's lock may be held).
//!
//! The handler's arguments are `(signo, &info_words, &mut regs)`:
//! `extern "C" fn(i32)` for a plain handler, or take the second argument
//! and decode it with [`SigInfo::from_words`] (`SA_SIGINFO`).

pub use crate::proto::proc::{SigInfo, SIGINFO_WORDS};

/// The signals beyond [`super::SIGHUP`]… that programs name (x86_64).
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGABRT: u32 = 6;
pub const SIGBUS: u32 = 7;
pub const SIGFPE: u32 = 8;
pub const SIGUSR1: u32 = 10;
pub const SIGSEGV: u32 = 11;
pub const SIGUSR2: u32 = 12;
pub const SIGPIPE: u32 = 13;
pub const SIGALRM: u32 = 14;
pub const SIGCHLD: u32 = 17;
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;
pub const SIGWINCH: u32 = 28;

/// `SIG_DFL` and `SIG_IGN` as handler words.
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

/// `sa_flags` (Linux's values).
pub const SA_NOCLDSTOP: u64 = 0x0000_0001;
pub const SA_NOCLDWAIT: u64 = 0x0000_0002;
pub const SA_SIGINFO: u64 = 0x0000_0004;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// `sigprocmask`'s `how`.
pub const SIG_BLOCK: u32 = 0;
pub const SIG_UNBLOCK: u32 = 1;
pub const SIG_SETMASK: u32 = 2;

/// The standard signals' names without `SIG`, by number − 1 (as
/// `kill -l` lists them).
pub const SIGNAL_NAMES: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// The bit of `sig` in a `sigset_t` word.
pub const fn sigmask(sig: u32) -> u64 {
    if sig == 0 || sig > 64 {
        0
    } else {
        1 << (sig - 1)
    }
}

/// `sig`'s name without `SIG` (`None` for a real-time or unknown one).
pub fn signal_name(sig: u32) -> Option<&'static str> {
    SIGNAL_NAMES.get((sig as usize).wrapping_sub(1)).copied()
}

/// A signal by number (1–64), by name (`TERM`, `SIGTERM`, any case), or
/// `RTMIN+n`/`RTMAX-n`.
pub fn signal_by_name(name: &str) -> Option<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(i) = SIGNAL_NAMES.iter().position(|n| *n == bare) {
        return Some(i as u32 + 1);
    }
    let rt = |rest: &str, base: u32, up: bool| -> Option<u32> {
        let n: u32 = if rest.is_empty() {
            0
        } else {
            rest.parse().ok()?
        };
        let sig = if up {
            base.checked_add(n)?
        } else {
            base.checked_sub(n)?
        };
        (34..=64).contains(&sig).then_some(sig)
    };
    if let Some(rest) = bare.strip_prefix("RTMIN") {
        return rt(rest.strip_prefix('+').unwrap_or(rest), 34, true);
    }
    if let Some(rest) = bare.strip_prefix("RTMAX") {
        return rt(rest.strip_prefix('-').unwrap_or(rest), 64, false);
    }
    None
}

/// The lines `kill -l` prints: ` 1) SIGHUP` … eight per line.
pub fn kill_list() -> alloc::string::String {
    use core::fmt::Write;
    let mut out = alloc::string::String::new();
    for (i, name) in SIGNAL_NAMES.iter().enumerate() {
        let _ = write!(out, "{:2}) SIG{:<7}", i + 1, name);
        out.push(if (i + 1) % 8 == 0 { '\n' } else { ' ' });
    }
    let mut out = alloc::string::String::from(out.trim_end());
    out.push('\n');
    out
}

/// What `sigaction` installs.
#[derive(Clone, Copy, Debug)]
pub enum Disposition {
    Default,
    Ignore,
    /// The program's function, called with the signal number.
    Handler(extern "C" fn(i32)),
    /// `SA_SIGINFO`'s kind: also the information words
    /// ([`SigInfo::from_words`]) and the interrupted registers, which
    /// `sigreturn` restores (changed, if the handler changes them; the
    /// kernel validates them).
    Action(extern "C" fn(i32, &[u64; SIGINFO_WORDS], &mut crate::abi::exception::UserRegs)),
}

#[cfg(target_os = "none")]
pub use calls::*;

#[cfg(target_os = "none")]
mod calls {
    use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use super::*;
    use crate::abi::exception::UserRegs;
    use crate::errno::Errno;
    use crate::proto::proc::SigAction;

    /// The program's handler for each signal (an address; 0: none).
    static HANDLERS: [AtomicU64; 64] = [const { AtomicU64::new(0) }; 64];
    /// Whether each signal's handler was installed with `SA_RESTART`.
    static RESTARTS: [AtomicBool; 64] = [const { AtomicBool::new(false) }; 64];
    /// How many handlers without `SA_RESTART` have run (see
    /// [`interrupting_handlers`]).
    static INTERRUPTING: AtomicU64 = AtomicU64::new(0);

    /// How many handlers installed without `SA_RESTART` have run so far in
    /// this process: a call a server answered `ERESTARTSYS` is made again
    /// unless this count moved meanwhile (then it fails `EINTR`), which is
    /// Linux's `-ERESTARTSYS` rule (`super::super::sys::restartable`).
    pub fn interrupting_handlers() -> u64 {
        INTERRUPTING.load(Ordering::Acquire)
    }

    fn procs() -> Result<core::mem::ManuallyDrop<crate::proto::proc::Client>, Errno> {
        super::super::sys::proc_client()
    }

    /// What the kernel enters for every handler this module installed.
    extern "C" fn signal_entry(signo: u64, info: &[u64; SIGINFO_WORDS], regs: &mut UserRegs) {
        let mut saved = [0u8; crate::abi::ipc::PAYLOAD_MAX];
        // SAFETY: this thread's own IPC buffer; the reference ends with
        // the copy, before any call.
        saved.copy_from_slice(unsafe { crate::ipc::buffer() });
        let address = HANDLERS
            .get((signo as usize).wrapping_sub(1))
            .map_or(0, |h| h.load(Ordering::Acquire));
        let restarts = RESTARTS
            .get((signo as usize).wrapping_sub(1))
            .is_some_and(|r| r.load(Ordering::Acquire));
        if !restarts {
            INTERRUPTING.fetch_add(1, Ordering::AcqRel);
        }
        if address > 1 {
            // SAFETY: only `sigaction` stores here, and only the address
            // of an `extern "C" fn(i32)` or of a `Disposition::Action`'s
            // function; calling the former with three arguments is what
            // the System V ABI allows C's handlers.
            let handler: extern "C" fn(u64, &[u64; SIGINFO_WORDS], &mut UserRegs) =
                unsafe { core::mem::transmute::<usize, _>(address as usize) };
            handler(signo, info, regs);
        }
        if let Ok(p) = procs() {
            let _ = p.sigreturn(SigInfo::from_words(info).restore_mask);
        }
        // SAFETY: as above; the calls are over.
        unsafe { crate::ipc::buffer() }.copy_from_slice(&saved);
    }

    /// `sigaction(sig, disposition, flags, mask)`: installs it; the old
    /// disposition's raw handler word (`SIG_DFL`, `SIG_IGN`, or the
    /// program function's address). `EINVAL` for `SIGKILL`, `SIGSTOP`,
    /// a signal out of range or an unknown flag.
    pub fn sigaction(
        sig: u32,
        disposition: Disposition,
        flags: u64,
        mask: u64,
    ) -> Result<u64, Errno> {
        let slot = HANDLERS
            .get((sig as usize).wrapping_sub(1))
            .ok_or(Errno::EINVAL)?;
        let handler = match disposition {
            Disposition::Default => SIG_DFL,
            Disposition::Ignore => SIG_IGN,
            Disposition::Handler(_) | Disposition::Action(_) => signal_entry as *const () as u64,
        };
        let action = SigAction {
            handler,
            flags: flags | SA_RESTORER,
            restorer: crate::exception::restorer(),
            mask,
        };
        let old = procs()?
            .sigaction(sig, Some(action))
            .map_err(|e| e.errno())?;
        if let Some(r) = RESTARTS.get((sig as usize).wrapping_sub(1)) {
            r.store(flags & SA_RESTART != 0, Ordering::Release);
        }
        let previous = slot.swap(
            match disposition {
                Disposition::Handler(f) => f as *const () as u64,
                Disposition::Action(f) => f as *const () as u64,
                _ => 0,
            },
            Ordering::AcqRel,
        );
        Ok(match old.handler {
            SIG_DFL | SIG_IGN => old.handler,
            _ => previous,
        })
    }

    /// `signal(sig, disposition)`: `sigaction` with `SA_RESTART`, as
    /// glibc's BSD semantics.
    pub fn signal(sig: u32, disposition: Disposition) -> Result<u64, Errno> {
        sigaction(sig, disposition, SA_RESTART, 0)
    }

    /// `sigprocmask(how, set)`: the old mask.
    pub fn sigprocmask(how: u32, set: u64) -> Result<u64, Errno> {
        procs()?.sigprocmask(how, set).map_err(|e| e.errno())
    }

    /// The current mask (`sigprocmask(SIG_BLOCK, 0)`).
    pub fn sigmask_now() -> Result<u64, Errno> {
        sigprocmask(SIG_BLOCK, 0)
    }

    /// `sigpending()`: the blocked signals waiting.
    pub fn sigpending() -> Result<u64, Errno> {
        procs()?.sigpending().map_err(|e| e.errno())
    }

    /// `sigsuspend(mask)`: waits, with `mask` as the mask, until a handler
    /// has run; always `EINTR`.
    pub fn sigsuspend(mask: u64) -> Errno {
        match procs().map(|p| p.sigsuspend(mask)) {
            Ok(Ok(())) => Errno::EINTR,
            Ok(Err(e)) => e.errno(),
            Err(e) => e,
        }
    }

    /// `pause()`: waits until a handler has run; always `EINTR`.
    pub fn pause() -> Errno {
        match sigmask_now() {
            Ok(mask) => sigsuspend(mask),
            Err(e) => e,
        }
    }

    /// `raise(sig)`: `kill(getpid(), sig)`.
    pub fn raise(sig: u32) -> Result<(), Errno> {
        let me = super::super::getpid()?;
        super::super::kill(me as i64, sig)
    }

    /// `alarm(seconds)`: `SIGALRM` after that long (0 cancels); the
    /// seconds the previous alarm had left.
    pub fn alarm(seconds: u32) -> Result<u32, Errno> {
        procs()?
            .alarm(seconds)
            .map(|v| v as u32)
            .map_err(|e| e.errno())
    }

    /// `nanosleep(ns)` in the process server: `EINTR` if a handler ran
    /// meanwhile (a stop and continue, or an ignored signal, do not end
    /// it).
    pub fn nanosleep(ns: u64) -> Result<(), Errno> {
        procs()?.nanosleep(ns).map_err(|e| e.errno())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(signal_by_name("TERM"), Some(15));
        assert_eq!(signal_by_name("sigkill"), Some(9));
        assert_eq!(signal_by_name("SIGTSTP"), Some(20));
        assert_eq!(signal_by_name("17"), Some(17));
        assert_eq!(signal_by_name("0"), None);
        assert_eq!(signal_by_name("65"), None);
        assert_eq!(signal_by_name("RTMIN"), Some(34));
        assert_eq!(signal_by_name("RTMIN+2"), Some(36));
        assert_eq!(signal_by_name("RTMAX-1"), Some(63));
        assert_eq!(signal_by_name("RTMAX-40"), None);
        assert_eq!(signal_by_name("NOPE"), None);
        assert_eq!(signal_name(19), Some("STOP"));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(40), None);
        assert_eq!(sigmask(1), 1);
        assert_eq!(sigmask(64), 1 << 63);
        assert_eq!(sigmask(0), 0);
        assert_eq!(sigmask(65), 0);
        for (i, name) in SIGNAL_NAMES.iter().enumerate() {
            assert_eq!(signal_by_name(name), Some(i as u32 + 1));
        }
    }

    #[test]
    fn kill_list_is_eight_per_line() {
        let list = kill_list();
        assert_eq!(list.lines().count(), 4);
        assert!(list.starts_with(" 1) SIGHUP "));
        assert!(list.contains("19) SIGSTOP"));
        assert!(list.ends_with("31) SIGSYS\n"));
    }
}
