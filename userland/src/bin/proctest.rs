//! `proctest`: the process server (`proc`) end to end, in the `posix`
//! boot. `wait4` with no children is `ECHILD`; `/bin/hello` spawned with
//! arguments, started and waited for exits 0; `/bin/procchild exit 3`
//! (its `argv` read from the System V stack) exits 3 in the wait word;
//! a sleeping child gives `WNOHANG` no change, shows in `List`, is
//! killed with `SIGKILL` and waited as `WIFSIGNALED`; a child in a new
//! process group leads it; `setpgid(0, 0)` makes this process a group
//! leader; an unknown path is `ENOENT`; a child's `environ()` holds
//! what `Spawn` gave and its `@ns` is badged with its own pid.
//! Signals (`signals`): handlers, masks and `sigreturn` in a child
//! (`procchild handler`), `EINTR` from `nanosleep` and `pause`
//! (`procchild eintr`), `SIGCHLD` to a handler (`procchild sigchld`),
//! stop and continue with `WUNTRACED`/`WCONTINUED` statuses, and a
//! core-dumping default action's `WCOREDUMP` bit.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::errno::Errno;
use libsys::proto::proc::{Client, ClientError, Pgroup, WNOHANG};
use userland::Tally;

#[path = "proctest/signals.rs"]
mod signals;

libsys::entry!(main);

const SIGKILL: u32 = 9;

/// A call's errno.
fn errno<T>(r: Result<T, ClientError>) -> Result<T, Errno> {
    r.map_err(|e| e.errno())
}

fn main(_args: &str) -> u64 {
    let mut t = Tally::new();
    let proc = match Client::connect_within(10_000) {
        Ok(c) => c,
        Err(e) => {
            t.check("proc: lookup of `proc`", Err(format_args!("{e}")));
            return t.status();
        }
    };
    t.expect_eq(
        "wait: no children is ECHILD",
        errno(proc.wait(-1, WNOHANG)),
        Err(Errno::ECHILD),
    );
    // hello with arguments, exit status 0.
    let run = |path: &[u8], argv: &[&[u8]]| -> Result<(u64, i32), Errno> {
        let pid = errno(proc.spawn(path, argv, &[b"TERM=dumb"], Pgroup::Inherit))?;
        errno(proc.start(pid))?;
        let (waited, status) = errno(proc.wait(pid as i64, 0))?.ok_or(Errno::EIO)?;
        if waited != pid {
            return Err(Errno::EIO);
        }
        Ok((pid, status))
    };
    let hello = run(b"/bin/hello", &[b"hello", b"one", b"two"]);
    t.expect_eq("spawn /bin/hello: exited 0", hello.map(|(_, s)| s), Ok(0));
    let three = run(b"/bin/procchild", &[b"procchild", b"exit", b"3"]);
    t.expect_eq(
        "spawn procchild exit 3: WIFEXITED, WEXITSTATUS 3",
        three.map(|(_, s)| (s & 0x7f, (s >> 8) & 0xff)),
        Ok((0, 3)),
    );
    let env = run(b"/bin/procchild", &[b"procchild", b"env", b"TERM=dumb"]);
    t.expect_eq(
        "the child's environ() has TERM=dumb",
        env.map(|(_, s)| s),
        Ok(0),
    );
    let ns = run(b"/bin/procchild", &[b"procchild", b"ns"]);
    t.expect_eq(
        "the child's @ns is badged with its own pid",
        ns.map(|(_, s)| s),
        Ok(0),
    );
    t.expect_eq(
        "spawn of a missing file is ENOENT",
        errno(proc.spawn(b"/bin/no-such-program", &[], &[], Pgroup::Inherit)),
        Err(Errno::ENOENT),
    );
    sleeper(&mut t, &proc);
    signals::checks(&mut t, &proc);
    // setpgid(0, 0): this process leads a group of its own.
    let me = errno(proc.ids()).map(|ids| ids.pid);
    t.expect_eq("setpgid(0, 0)", errno(proc.setpgid(0, 0)), Ok(()));
    t.expect_eq("getpgid(0) is my pid", errno(proc.getpgid(0)), me);
    t.status()
}

/// A child that sleeps: `WNOHANG`, `List`, a new group, `SIGKILL`.
fn sleeper(t: &mut Tally, proc: &Client) {
    let argv: &[&[u8]] = &[b"procchild", b"sleep"];
    let pid = match errno(proc.spawn(b"/bin/procchild", argv, &[], Pgroup::New)) {
        Ok(pid) => pid,
        Err(e) => {
            t.check("spawn procchild sleep", Err(format_args!("{e:?}")));
            return;
        }
    };
    t.expect_eq("start the sleeper", errno(proc.start(pid)), Ok(()));
    t.expect_eq(
        "wait WNOHANG on a running child: no change",
        errno(proc.wait(pid as i64, WNOHANG)),
        Ok(None),
    );
    t.expect_eq(
        "a child in a new group leads it",
        errno(proc.getpgid(pid)),
        Ok(pid),
    );
    let listed = errno(proc.list(pid - 1)).map(|tasks| {
        tasks
            .iter()
            .find(|task| task.pid == pid)
            .map(|task| task.comm.as_str() == "procchild")
    });
    t.expect_eq("List shows the child as procchild", listed, Ok(Some(true)));
    t.expect_eq(
        "kill SIGKILL",
        errno(proc.kill(pid as i64, SIGKILL)),
        Ok(()),
    );
    t.expect_eq(
        "the killed child waits as WIFSIGNALED by SIGKILL",
        errno(proc.wait(pid as i64, 0)),
        Ok(Some((pid, SIGKILL as i32))),
    );
}
