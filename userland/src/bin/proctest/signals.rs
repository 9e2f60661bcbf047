//! `proctest`'s signal cases. Handlers run only in processes the process
//! server created, so the handler cases run in `procchild` children and
//! report through their exit status (0, or the failing check's number,
//! which the child also prints).

use libsys::errno::Errno;
use libsys::proto::proc::{Client, Pgroup, WCONTINUED, WNOHANG, WUNTRACED};
use userland::Tally;

use super::errno;

const SIGQUIT: u32 = 3;
const SIGKILL: u32 = 9;
const SIGUSR1: u32 = 10;
const SIGCONT: u32 = 18;
const SIGSTOP: u32 = 19;
const SIGTSTP: u32 = 20;

pub fn checks(t: &mut Tally, proc: &Client) {
    for (mode, what) in [
        (
            "handler",
            "procchild handler: handlers, masks, sigreturn, SIGKILL uncatchable",
        ),
        (
            "sigchld",
            "procchild sigchld: SIGCHLD with CLD_EXITED reaches a handler",
        ),
    ] {
        let status = spawn(proc, &[b"procchild", mode.as_bytes()], Pgroup::Inherit)
            .and_then(|pid| errno(proc.wait(pid as i64, 0)));
        t.expect_eq(what, status.map(|w| w.map(|(_, s)| s)), Ok(Some(0)));
    }
    let alarm = spawn(proc, &[b"procchild", b"alarm"], Pgroup::Inherit)
        .and_then(|pid| errno(proc.wait(pid as i64, 0)));
    t.expect_eq(
        "procchild alarm: SIGALRM to a handler ends pause, then kills by default",
        alarm.map(|w| w.map(|(_, s)| s)),
        Ok(Some(14)),
    );
    let bad = spawn(proc, &[b"procchild", b"badhandler"], Pgroup::Inherit)
        .and_then(|pid| errno(proc.wait(pid as i64, 0)));
    t.expect_eq(
        "a handler at an unmapped address: the child dies of SIGSEGV",
        bad.map(|w| w.map(|(_, s)| s & 0x7f)),
        Ok(Some(11)),
    );
    t.expect_eq(
        "proc serves on after it",
        errno(proc.ids()).map(|ids| ids.pid > 0),
        Ok(true),
    );
    eintr(t, proc);
    stop_and_continue(t, proc);
}

/// Spawns and starts a child; its pid.
fn spawn(proc: &Client, argv: &[&[u8]], group: Pgroup) -> Result<u64, Errno> {
    let pid = errno(proc.spawn(b"/bin/procchild", argv, &[], group))?;
    errno(proc.start(pid))?;
    Ok(pid)
}

/// `procchild eintr`: once it leads its own group (its handler is in),
/// `SIGUSR1` every 20 ms until it exits; it must see `EINTR` from
/// `nanosleep` and from `pause`.
fn eintr(t: &mut Tally, proc: &Client) {
    let pid = match spawn(proc, &[b"procchild", b"eintr"], Pgroup::Inherit) {
        Ok(pid) => pid,
        Err(e) => {
            t.check("spawn procchild eintr", Err(format_args!("{e:?}")));
            return;
        }
    };
    let mut ready = false;
    for _ in 0..500 {
        if errno(proc.getpgid(pid)) == Ok(pid) {
            ready = true;
            break;
        }
        libsys::time::sleep_ms(10);
    }
    let mut status = None;
    if ready {
        for _ in 0..500 {
            let _ = proc.kill(pid as i64, SIGUSR1);
            if let Ok(Some((_, s))) = errno(proc.wait(pid as i64, WNOHANG)) {
                status = Some(s);
                break;
            }
            libsys::time::sleep_ms(20);
        }
    }
    if status.is_none() {
        let _ = proc.kill(pid as i64, SIGKILL);
        let _ = proc.wait(pid as i64, 0);
    }
    t.expect_eq(
        "procchild eintr: nanosleep and pause end in EINTR when a handler runs",
        status,
        Some(0),
    );
}

/// A sleeping child stopped with `SIGSTOP` and `SIGTSTP` waits as
/// `WIFSTOPPED` (`sig << 8 | 0x7f`), continued as `WIFCONTINUED`
/// (`0xffff`), shows `T` in `List` while stopped; killed by `SIGQUIT`
/// it waits with the core-dump bit (`0x80 | 3`).
fn stop_and_continue(t: &mut Tally, proc: &Client) {
    // In a group of its own, whose parent (this process) is in another
    // group of the session: not orphaned, so SIGTSTP stops it.
    let pid = match spawn(proc, &[b"procchild", b"sleep"], Pgroup::New) {
        Ok(pid) => pid,
        Err(e) => {
            t.check("spawn procchild sleep (stop)", Err(format_args!("{e:?}")));
            return;
        }
    };
    let state = |proc: &Client| {
        errno(proc.list(pid - 1)).map(|tasks| {
            tasks
                .iter()
                .find(|task| task.pid == pid)
                .map(|task| task.state as char)
        })
    };
    for sig in [SIGSTOP, SIGTSTP] {
        t.expect_eq("kill STOP/TSTP", errno(proc.kill(pid as i64, sig)), Ok(()));
        t.expect_eq(
            "waitpid WUNTRACED: WIFSTOPPED with the signal",
            errno(proc.wait(pid as i64, WUNTRACED)),
            Ok(Some((pid, (sig as i32) << 8 | 0x7f))),
        );
        t.expect_eq("List shows it T (stopped)", state(proc), Ok(Some('T')));
        t.expect_eq(
            "no second report of the same stop",
            errno(proc.wait(pid as i64, WUNTRACED | WNOHANG)),
            Ok(None),
        );
        t.expect_eq("kill CONT", errno(proc.kill(pid as i64, SIGCONT)), Ok(()));
        t.expect_eq(
            "waitpid WCONTINUED: WIFCONTINUED",
            errno(proc.wait(pid as i64, WCONTINUED)),
            Ok(Some((pid, 0xffff))),
        );
    }
    t.expect_eq("kill QUIT", errno(proc.kill(pid as i64, SIGQUIT)), Ok(()));
    t.expect_eq(
        "SIGQUIT's default: WIFSIGNALED with WCOREDUMP",
        errno(proc.wait(pid as i64, 0)),
        Ok(Some((pid, 0x80 | SIGQUIT as i32))),
    );
}
