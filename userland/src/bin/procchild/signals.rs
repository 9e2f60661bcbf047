//! `procchild`'s signal checks, run in a process the process server
//! created (only those have a thread it can deliver handlers to). Each
//! returns 0, or the number of the first check that failed (and prints
//! which), so `proctest` names it.

use core::sync::atomic::{AtomicU64, Ordering};

use libsys::abi::exception::UserRegs;
use libsys::errno::Errno;
use libsys::posix::{
    self, sigmask, Disposition, SigInfo, SA_NODEFER, SA_RESETHAND, SA_SIGINFO, SIGCHLD,
    SIGINFO_WORDS, SIGUSR1, SIGUSR2, SIG_BLOCK, SIG_DFL, SIG_IGN, SIG_UNBLOCK,
};
use libsys::println;

/// Handler runs, per signal number.
static RUNS: [AtomicU64; 65] = [const { AtomicU64::new(0) }; 65];
/// The info words' first two of the last `SA_SIGINFO` run.
static LAST_INFO: [AtomicU64; 2] = [const { AtomicU64::new(0) }; 2];
/// The mask the handler saw while it ran.
static MASK_INSIDE: AtomicU64 = AtomicU64::new(0);

extern "C" fn count(sig: i32) {
    if let Some(slot) = RUNS.get(sig as usize) {
        slot.fetch_add(1, Ordering::AcqRel);
    }
}

extern "C" fn with_info(sig: i32, info: &[u64; SIGINFO_WORDS], _regs: &mut UserRegs) {
    LAST_INFO[0].store(info[0], Ordering::Release);
    LAST_INFO[1].store(info[1], Ordering::Release);
    // A call from inside the handler (its IPC buffer is the entry's to
    // save): the mask while it runs.
    MASK_INSIDE.store(posix::sigmask_now().unwrap_or(0), Ordering::Release);
    count(sig);
}

fn runs(sig: u32) -> u64 {
    RUNS[sig as usize].load(Ordering::Acquire)
}

/// Counts the checks; remembers the first failure.
struct Checks {
    n: u64,
    failed: u64,
}

impl Checks {
    fn check(&mut self, what: &str, ok: bool) {
        self.n += 1;
        if !ok {
            println!("procchild: check {} failed: {what}", self.n);
            if self.failed == 0 {
                self.failed = self.n;
            }
        }
    }
}

/// Handlers: one runs on `raise` and `sigreturn` resumes the caller, with
/// `SA_SIGINFO`'s sender and the signal blocked inside; a blocked signal
/// is pending, not run, until unblocked; `SIGKILL`/`SIGSTOP` cannot be
/// caught; `SA_RESETHAND` resets; `SIG_IGN` discards.
pub fn handler_checks() -> u64 {
    let mut c = Checks { n: 0, failed: 0 };
    let me = posix::getpid().unwrap_or(0);
    c.check(
        "sigaction(SIGUSR1, SA_SIGINFO handler)",
        posix::sigaction(SIGUSR1, Disposition::Action(with_info), SA_SIGINFO, 0) == Ok(SIG_DFL),
    );
    let raised = posix::raise(SIGUSR1);
    c.check(
        "raise(SIGUSR1) returns Ok after the handler",
        raised == Ok(()),
    );
    c.check("the handler ran once", runs(SIGUSR1) == 1);
    let info = SigInfo::from_words(&[
        LAST_INFO[0].load(Ordering::Acquire),
        LAST_INFO[1].load(Ordering::Acquire),
        0,
        0,
    ]);
    c.check(
        "siginfo: signo 10, SI_USER, my pid",
        info.signo == SIGUSR1 && info.code == 0 && u64::from(info.pid) == me,
    );
    let inside = MASK_INSIDE.load(Ordering::Acquire);
    c.check(
        "SIGUSR1 blocked while its handler ran",
        inside & sigmask(SIGUSR1) != 0,
    );
    c.check(
        "the mask is back after sigreturn",
        posix::sigmask_now().map(|m| m & sigmask(SIGUSR1)) == Ok(0),
    );

    // Blocked: pending, not run; unblocking runs it.
    let _ = posix::sigprocmask(SIG_BLOCK, sigmask(SIGUSR1));
    let _ = posix::raise(SIGUSR1);
    c.check("blocked: the handler did not run", runs(SIGUSR1) == 1);
    c.check(
        "blocked: sigpending has SIGUSR1",
        posix::sigpending().map(|p| p & sigmask(SIGUSR1) != 0) == Ok(true),
    );
    let _ = posix::sigprocmask(SIG_UNBLOCK, sigmask(SIGUSR1));
    c.check("unblocked: the handler ran", runs(SIGUSR1) == 2);
    c.check("unblocked: nothing pending", posix::sigpending() == Ok(0));

    // sa_mask: SIGUSR2 blocked too while the handler runs; SA_NODEFER:
    // the signal itself not.
    let _ = posix::sigaction(
        SIGUSR1,
        Disposition::Action(with_info),
        SA_SIGINFO | SA_NODEFER,
        sigmask(SIGUSR2),
    );
    let _ = posix::raise(SIGUSR1);
    let inside = MASK_INSIDE.load(Ordering::Acquire);
    c.check("sa_mask and SA_NODEFER: ran", runs(SIGUSR1) == 3);
    c.check(
        "sa_mask: SIGUSR2 blocked inside",
        inside & sigmask(SIGUSR2) != 0,
    );
    c.check(
        "SA_NODEFER: SIGUSR1 not blocked inside",
        inside & sigmask(SIGUSR1) == 0,
    );

    // Uncatchable.
    c.check(
        "sigaction(SIGKILL) is EINVAL",
        posix::sigaction(9, Disposition::Handler(count), 0, 0) == Err(Errno::EINVAL),
    );
    c.check(
        "sigaction(SIGSTOP) is EINVAL",
        posix::sigaction(19, Disposition::Ignore, 0, 0) == Err(Errno::EINVAL),
    );
    c.check(
        "sigaction(65) is EINVAL",
        posix::sigaction(65, Disposition::Default, 0, 0) == Err(Errno::EINVAL),
    );
    let _ = posix::sigprocmask(SIG_BLOCK, sigmask(9) | sigmask(19));
    c.check(
        "SIGKILL and SIGSTOP cannot be blocked",
        posix::sigmask_now().map(|m| m & (sigmask(9) | sigmask(19))) == Ok(0),
    );

    // SA_RESETHAND: once, then the default again.
    let _ = posix::sigaction(SIGUSR2, Disposition::Handler(count), SA_RESETHAND, 0);
    let _ = posix::raise(SIGUSR2);
    c.check("SA_RESETHAND: the handler ran", runs(SIGUSR2) == 1);
    c.check(
        "SA_RESETHAND: SIG_DFL after",
        posix::sigaction(SIGUSR2, Disposition::Ignore, 0, 0) == Ok(SIG_DFL),
    );
    // SIG_IGN (installed just above): raising it does nothing.
    c.check("SIG_IGN: raise survives", posix::raise(SIGUSR2) == Ok(()));
    c.check(
        "SIG_IGN reads back",
        posix::sigaction(SIGUSR2, Disposition::Default, 0, 0) == Ok(SIG_IGN),
    );
    c.failed
}

/// `alarm`: the previous alarm's seconds, `SIGALRM` to a handler ending
/// `pause`, then (no handler) the default action kills: the parent sees
/// `WTERMSIG` 14.
pub fn alarm_checks() -> u64 {
    let mut c = Checks { n: 0, failed: 0 };
    let _ = posix::sigaction(posix::SIGALRM, Disposition::Handler(count), 0, 0);
    c.check("alarm(5): none before", posix::alarm(5) == Ok(0));
    c.check("alarm(1): 5 s were left", posix::alarm(1) == Ok(5));
    let before = libsys::time::uptime_ns();
    c.check("pause() ends in EINTR", posix::pause() == Errno::EINTR);
    let waited = libsys::time::uptime_ns().saturating_sub(before);
    c.check("SIGALRM's handler ran", runs(posix::SIGALRM) == 1);
    c.check(
        "after about a second",
        (500_000_000..10_000_000_000).contains(&waited),
    );
    c.check("alarm(0): nothing left", posix::alarm(0) == Ok(0));
    if c.failed != 0 {
        return c.failed;
    }
    let _ = posix::sigaction(posix::SIGALRM, Disposition::Default, 0, 0);
    let _ = posix::alarm(1);
    let _ = posix::pause();
    // Not reached: SIGALRM's default action ends the process.
    100
}

/// A hostile handler: an address where nothing is mapped, registered
/// with the raw protocol. The upcall enters it, the thread faults, and
/// the process dies of it (`SIGSEGV`): nobody else is hurt. Returns
/// only if the signal did not run the handler.
pub fn bad_handler() -> u64 {
    let Ok(proc) = libsys::proto::proc::Client::connect() else {
        return 1;
    };
    let action = libsys::proto::proc::SigAction {
        handler: 0x7fff_dead_0000,
        flags: posix::SA_RESTORER,
        restorer: 0x10,
        mask: 0,
    };
    if proc.sigaction(SIGUSR1, Some(action)).is_err() {
        return 2;
    }
    let _ = posix::raise(SIGUSR1);
    3
}

/// Blocking calls in the server end in `EINTR` when a handler runs: the
/// parent sends `SIGUSR1` over and over once this process leads a group.
pub fn eintr_checks() -> u64 {
    let mut c = Checks { n: 0, failed: 0 };
    c.check(
        "install the SIGUSR1 handler",
        posix::sigaction(SIGUSR1, Disposition::Handler(count), 0, 0).is_ok(),
    );
    c.check("setpgid(0, 0): ready", posix::setpgid(0, 0).is_ok());
    c.check(
        "nanosleep(30 s) ends in EINTR",
        posix::nanosleep(30_000_000_000) == Err(Errno::EINTR),
    );
    c.check("pause() ends in EINTR", posix::pause() == Errno::EINTR);
    c.check("the handler ran (at least twice)", runs(SIGUSR1) >= 2);
    c.failed
}

/// `SIGCHLD` reaches the parent's handler when a child exits, with
/// `CLD_EXITED` and the child's pid.
pub fn sigchld_checks() -> u64 {
    let mut c = Checks { n: 0, failed: 0 };
    let _ = posix::sigaction(SIGCHLD, Disposition::Action(with_info), SA_SIGINFO, 0);
    let pid = posix::spawn(
        "/bin/procchild",
        &["procchild", "exit", "4"],
        &[],
        &[],
        posix::Pgroup::Inherit,
    );
    c.check("spawn a child", pid.is_ok());
    let waited = pid.and_then(|p| posix::waitpid(p as i64, 0));
    c.check(
        "the child exits 4",
        matches!(waited, Ok(Some((_, s))) if s == 4 << 8),
    );
    // The handler runs as the wait returns (or during a later call).
    let _ = posix::getpid();
    c.check("the SIGCHLD handler ran", runs(SIGCHLD) == 1);
    let info = SigInfo::from_words(&[
        LAST_INFO[0].load(Ordering::Acquire),
        LAST_INFO[1].load(Ordering::Acquire),
        0,
        0,
    ]);
    c.check(
        "siginfo: SIGCHLD, CLD_EXITED, the child's pid",
        info.signo == SIGCHLD && info.code == 1 && pid.is_ok_and(|p| u64::from(info.pid) == p),
    );
    c.failed
}

/// `procchild term PATH`: waits for `SIGTERM` (blocked until `sigsuspend`
/// lets it in, so one sent before the wait is not lost), then writes
/// `caught SIGTERM` to `PATH` — a program saving its work when the system
/// goes down — and exits 0; 1 if the file cannot be written.
pub fn save_on_term(path: &str) -> u64 {
    const SIGTERM: u32 = posix::SIGTERM;
    let Ok(old) = posix::sigprocmask(SIG_BLOCK, sigmask(SIGTERM)) else {
        return 1;
    };
    if posix::sigaction(SIGTERM, Disposition::Handler(count), 0, 0).is_err() {
        return 1;
    }
    println!("procchild: waiting for SIGTERM");
    while runs(SIGTERM) == 0 {
        let _ = posix::sigsuspend(old & !sigmask(SIGTERM));
    }
    let written = posix::open(
        path,
        posix::O_WRONLY | posix::O_CREAT | posix::O_TRUNC,
        0o644,
    )
    .and_then(|fd| {
        let n = posix::write(fd, b"caught SIGTERM\n");
        let closed = posix::close(fd);
        n.and(closed)
    });
    match written {
        Ok(()) => 0,
        Err(e) => {
            println!("procchild: cannot write {path}: {e}");
            1
        }
    }
}
