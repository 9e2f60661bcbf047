//! `proctest`'s terminal job-control cases (`tty::jobctl`, `proc`'s
//! `TtyFacts`), on the console with `TOSTOP` set and this process's
//! group in the foreground; each child is `procchild ttou`, which writes
//! a line to its standard output (the console) and exits 0, or with the
//! write's errno:
//!
//! - in a background group it is stopped by `SIGTTOU`; given the
//!   foreground and continued, its write is made again and goes through;
//! - ignoring `SIGTTOU` (`procchild ttou ignore`) it writes at once;
//! - in an orphaned background group (this process's own: its parent is
//!   `init`, which does not count, while the foreground is a sleeping
//!   child's group) its write fails `EIO`.
//!
//! The console's settings and foreground group are put back after.

use libsys::errno::Errno;
use libsys::posix::{self, FileAction, Termios, WaitStatus, O_RDWR, SIGCONT, SIGKILL, TCSANOW};
use libsys::proto::proc::{Pgroup, WUNTRACED};
use userland::Tally;

/// `SIGTTOU`, and `TOSTOP` in `c_lflag`.
const SIGTTOU: u32 = 22;
const TOSTOP: u32 = 0x100;

pub fn checks(t: &mut Tally) {
    let console = posix::open("/dev/console", O_RDWR, 0).and_then(|fd| {
        let saved = posix::tcgetattr(fd)?;
        let foreground = posix::tcgetpgrp(fd)?;
        Ok((fd, saved, foreground))
    });
    let (fd, saved, foreground) = match console {
        Ok(c) => c,
        Err(e) => {
            t.check("tostop: the console", Err(format_args!("{e}")));
            return;
        }
    };
    let me = posix::getpgrp().unwrap_or(0);
    let tostop = Termios {
        lflag: saved.lflag | TOSTOP,
        ..saved
    };
    t.expect_eq(
        "tostop: TOSTOP set, this group in the foreground",
        posix::tcsetattr(fd, TCSANOW, &tostop).and_then(|()| posix::tcsetpgrp(fd, me)),
        Ok(()),
    );
    background_writer(t, fd, me);
    let ignoring = run(fd, &["procchild", "ttou", "ignore"], Pgroup::New, 0);
    t.expect_eq(
        "tostop: a background writer that ignores SIGTTOU writes",
        ignoring,
        Ok(WaitStatus::Exited(0)),
    );
    orphaned_writer(t, fd);
    t.expect_eq(
        "tostop: the console's settings and foreground group put back",
        posix::tcsetpgrp(fd, me)
            .and_then(|()| posix::tcsetattr(fd, TCSANOW, &saved))
            .and_then(|()| posix::tcsetpgrp(fd, foreground)),
        Ok(()),
    );
    let _ = posix::close(fd);
}

/// Starts `/bin/procchild` with `argv`, its standard output the
/// console's `fd`; waits for it with `options`.
fn run(fd: i32, argv: &[&str], group: Pgroup, options: u32) -> Result<WaitStatus, Errno> {
    let pid = spawn(fd, argv, group)?;
    wait(pid, options)
}

fn spawn(fd: i32, argv: &[&str], group: Pgroup) -> Result<u64, Errno> {
    let actions = [FileAction::Dup2 { from: fd, to: 1 }];
    posix::spawn("/bin/procchild", argv, &[], &actions, group)
}

fn wait(pid: u64, options: u32) -> Result<WaitStatus, Errno> {
    let (_, status) = posix::waitpid(pid as i64, options)?.ok_or(Errno::ECHILD)?;
    Ok(WaitStatus::decode(status))
}

/// A background writer stops; in the foreground and continued, it writes.
fn background_writer(t: &mut Tally, fd: i32, me: u64) {
    let pid = match spawn(fd, &["procchild", "ttou"], Pgroup::New) {
        Ok(pid) => pid,
        Err(e) => {
            t.check("tostop: spawn procchild ttou", Err(format_args!("{e}")));
            return;
        }
    };
    let stopped = wait(pid, WUNTRACED);
    t.expect_eq(
        "tostop: a background writer is stopped by SIGTTOU",
        stopped,
        Ok(WaitStatus::Stopped(SIGTTOU)),
    );
    let ended = posix::tcsetpgrp(fd, pid)
        .and_then(|()| posix::kill(pid as i64, SIGCONT))
        .and_then(|()| wait(pid, 0));
    t.expect_eq(
        "tostop: given the foreground and continued, its write goes through",
        ended,
        Ok(WaitStatus::Exited(0)),
    );
    if stopped.is_err() || ended.is_err() {
        let _ = posix::kill(pid as i64, SIGKILL);
        let _ = wait(pid, 0);
    }
    let _ = posix::tcsetpgrp(fd, me);
}

/// A writer in an orphaned background group gets `EIO`.
fn orphaned_writer(t: &mut Tally, fd: i32) {
    let sleeper = match spawn(fd, &["procchild", "sleep"], Pgroup::New) {
        Ok(pid) => pid,
        Err(e) => {
            t.check("tostop: spawn procchild sleep", Err(format_args!("{e}")));
            return;
        }
    };
    let writer = posix::tcsetpgrp(fd, sleeper)
        .and_then(|()| spawn(fd, &["procchild", "ttou"], Pgroup::Inherit));
    let written = writer.and_then(|pid| wait(pid, WUNTRACED));
    t.expect_eq(
        "tostop: a writer in an orphaned background group gets EIO",
        written,
        Ok(WaitStatus::Exited(Errno::EIO.as_i32())),
    );
    if let (Ok(pid), Ok(WaitStatus::Stopped(_))) = (writer, written) {
        let _ = posix::kill(pid as i64, SIGKILL);
        let _ = wait(pid, 0);
    }
    let _ = posix::kill(sleeper as i64, SIGKILL);
    let _ = wait(sleeper, 0);
}
