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
//! core-dumping default action's `WCOREDUMP` bit. Terminal job control
//! (`tostop`): with `TOSTOP`, a background writer stopped by `SIGTTOU`
//! and let through in the foreground, one ignoring `SIGTTOU` let
//! through, an orphaned group's write `EIO`.
//!
//! `fork` and `execve` (libsys::posix): fork returns twice (0 in the
//! child, which sees its parent; the parent waits the child's status);
//! copy-on-write isolation of a static and of the heap; an `execve`
//! keeps the pid and the descriptors without `O_CLOEXEC` and closes the
//! others; a `#!/bin/sh` script runs; a text file and a truncated ELF
//! are `ENOEXEC`, a file without an execute bit `EACCES`, a missing one
//! `ENOENT` — each leaving the caller running its old image; a fork
//! bomb under `RLIMIT_NPROC` 8 as uid 1000 stops at `EAGAIN` with 7
//! children, and forking works again after; 1,002 arguments and a 64
//! KiB environment string reach the new program, 200 KiB is `E2BIG`;
//! a grandchild orphaned by its parent's exit leaves the table when it
//! exits (proc releases init's zombies).
//!
//! `reboot(2)` (`reboot_checks`): as uid 1000 it is `EPERM` even with
//! wrong magic numbers (privilege is checked first) and `geteuid` says
//! 1000; as root, wrong magic and an unknown command are `EINVAL`,
//! `RB_DISABLE_CAD` succeeds and does nothing, and `RB_POWER_OFF` is
//! `ENOSYS`: the posix manifest gives proc no power control (the
//! `poweroff` and `reboot` harness cases run the real thing).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use libsys::errno::Errno;
use libsys::posix::{self, WaitStatus};
use libsys::proto::proc::{Client, ClientError, Pgroup, WNOHANG};
use userland::Tally;

#[path = "proctest/signals.rs"]
mod signals;
#[path = "proctest/tostop.rs"]
mod tostop;

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
    tostop::checks(&mut t);
    // setpgid(0, 0): this process leads a group of its own.
    let me = errno(proc.ids()).map(|ids| ids.pid);
    t.expect_eq("setpgid(0, 0)", errno(proc.setpgid(0, 0)), Ok(()));
    t.expect_eq("getpgid(0) is my pid", errno(proc.getpgid(0)), me);
    fork_and_exec(&mut t);
    orphans(&mut t, &proc);
    reboot_checks(&mut t);
    t.status()
}

/// A grandchild orphaned by its parent's exit goes to init and, when it
/// exits, leaves proc's table at once (init never waits through proc;
/// proc releases init's zombies): the list no longer shows it.
fn orphans(t: &mut Tally, proc: &Client) {
    let Ok((r, w)) = posix::pipe() else {
        t.check("orphans: pipe", Err(format_args!("no pipe")));
        return;
    };
    let middle = in_child(|| match posix::fork() {
        Ok(0) => {
            libsys::time::sleep_ms(200);
            posix::exit(0)
        }
        Ok(grandchild) => match posix::write(w, &grandchild.to_le_bytes()) {
            Ok(8) => 0,
            _ => 2,
        },
        Err(_) => 1,
    });
    let _ = posix::close(w);
    let mut word = [0u8; 8];
    let read = posix::read(r, &mut word);
    let _ = posix::close(r);
    t.expect_eq(
        "orphans: the middle child exited",
        middle,
        Some(WaitStatus::Exited(0)),
    );
    t.expect_eq(
        "orphans: its child's pid came through the pipe",
        read,
        Ok(8),
    );
    let orphan = u64::from_le_bytes(word);
    let mut gone = false;
    for _ in 0..300 {
        if !listed(proc, orphan) {
            gone = true;
            break;
        }
        libsys::time::sleep_ms(10);
    }
    t.expect_eq(
        "an orphan that exits leaves proc's table (no zombie under init)",
        gone,
        true,
    );
}

/// Whether `pid` is in proc's `List` (living or a zombie).
fn listed(proc: &Client, pid: u64) -> bool {
    let mut after = 0;
    while let Ok(page) = proc.list(after) {
        if page.iter().any(|task| task.pid == pid) {
            return true;
        }
        match page.last() {
            Some(last) if last.pid > after => after = last.pid,
            _ => return false,
        }
    }
    false
}

/// `reboot(2)`'s checks, in Linux's order (see the crate documentation).
fn reboot_checks(t: &mut Tally) {
    t.expect_eq("geteuid: root", posix::geteuid(), Ok(0));
    let user = in_child(|| {
        if posix::setuid(1000).is_err() || posix::geteuid() != Ok(1000) {
            return 1;
        }
        match (
            posix::reboot_raw(0, 0, posix::RB_POWER_OFF),
            posix::reboot(posix::RB_AUTOBOOT),
        ) {
            (Err(Errno::EPERM), Err(Errno::EPERM)) => 0,
            _ => 2,
        }
    });
    t.expect_eq(
        "reboot as uid 1000: EPERM, before the magic numbers are looked at",
        user,
        Some(WaitStatus::Exited(0)),
    );
    t.expect_eq(
        "reboot with wrong magic numbers: EINVAL",
        posix::reboot_raw(posix::LINUX_REBOOT_MAGIC1, 1, posix::RB_POWER_OFF),
        Err(Errno::EINVAL),
    );
    t.expect_eq(
        "reboot with an unknown command (and RB_SW_SUSPEND): EINVAL",
        (posix::reboot(0x1234), posix::reboot(posix::RB_SW_SUSPEND)),
        (Err(Errno::EINVAL), Err(Errno::EINVAL)),
    );
    t.expect_eq(
        "reboot(RB_DISABLE_CAD): done, nothing to do",
        posix::reboot(posix::RB_DISABLE_CAD),
        Ok(()),
    );
    t.expect_eq(
        "reboot(RB_POWER_OFF) with no power control in proc: ENOSYS",
        posix::reboot(posix::RB_POWER_OFF),
        Err(Errno::ENOSYS),
    );
}

/// A static the fork children write (copy-on-write).
static COW: AtomicU64 = AtomicU64::new(1);

/// Runs `f` in a fork child, which exits with what it returns; the
/// child's wait status (`None` if the fork or the wait failed).
fn in_child(f: impl FnOnce() -> i32) -> Option<WaitStatus> {
    match posix::fork() {
        Ok(0) => posix::exit(f()),
        Ok(pid) => match posix::waitpid(pid as i64, 0) {
            Ok(Some((waited, status))) if waited == pid => Some(WaitStatus::decode(status)),
            _ => None,
        },
        Err(_) => None,
    }
}

/// Writes `bytes` to a new file `path` with `mode`.
fn put(path: &str, bytes: &[u8], mode: u32) -> Result<(), Errno> {
    let _ = posix::unlink(path);
    let fd = posix::open(
        path,
        posix::O_WRONLY | posix::O_CREAT | posix::O_TRUNC,
        mode,
    )?;
    let written = posix::write(fd, bytes);
    let _ = posix::close(fd);
    written.map(|_| ())
}

/// The bytes of `path`.
fn slurp(path: &str) -> Result<Vec<u8>, Errno> {
    let fd = posix::open(path, posix::O_RDONLY, 0)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match posix::read(fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => {
                let _ = posix::close(fd);
                return Err(e);
            }
        }
    }
    let _ = posix::close(fd);
    Ok(out)
}

fn fork_and_exec(t: &mut Tally) {
    let me = posix::getpid().ok();
    let twice = in_child(|| if posix::getppid().ok() == me { 42 } else { 1 });
    t.expect_eq(
        "fork: 0 in the child, which sees its parent; the parent waits its exit 42",
        twice,
        Some(WaitStatus::Exited(42)),
    );

    COW.store(1, Ordering::Relaxed);
    let mut heap = vec![1u8; 20_000];
    let cow = in_child(|| {
        let saw = COW.load(Ordering::Relaxed) == 1 && heap[19_999] == 1;
        COW.store(2, Ordering::Relaxed);
        heap[19_999] = 2;
        let wrote = COW.load(Ordering::Relaxed) == 2 && heap[19_999] == 2;
        if saw && wrote {
            0
        } else {
            1
        }
    });
    t.expect_eq(
        "copy-on-write: the child sees and writes its own copy",
        cow,
        Some(WaitStatus::Exited(0)),
    );
    t.expect_eq(
        "copy-on-write: the parent's static and heap are unchanged",
        (COW.load(Ordering::Relaxed), heap[19_999]),
        (1, 1),
    );

    let kept = in_child(|| {
        let pid = posix::getpid().unwrap_or(0);
        let arg = format!("{pid}");
        posix::execve("/bin/procchild", &["procchild", "pid", &arg], &[]) as i32 + 100
    });
    t.expect_eq("execve keeps the pid", kept, Some(WaitStatus::Exited(0)));

    let keep = posix::open("/tmp/exec-keep", posix::O_WRONLY | posix::O_CREAT, 0o644);
    let shut = posix::open(
        "/tmp/exec-cloexec",
        posix::O_WRONLY | posix::O_CREAT | posix::O_CLOEXEC,
        0o644,
    );
    if let (Ok(keep), Ok(shut)) = (keep, shut) {
        let fds = in_child(|| {
            let (a, b) = (format!("{keep}"), format!("{shut}"));
            posix::execve("/bin/procchild", &["procchild", "fds", &a, &b], &[]) as i32 + 100
        });
        t.expect_eq(
            "execve keeps a descriptor, closes an O_CLOEXEC one",
            fds,
            Some(WaitStatus::Exited(0)),
        );
        let _ = posix::close(keep);
        let _ = posix::close(shut);
    } else {
        t.check(
            "open the descriptors for execve",
            Err(format_args!("{keep:?} {shut:?}")),
        );
    }

    let script = put("/tmp/exec-script.sh", b"#!/bin/sh\nexit 7\n", 0o755);
    t.expect_eq("write a #!/bin/sh script", script, Ok(()));
    let ran =
        in_child(|| posix::execve("/tmp/exec-script.sh", &["exec-script.sh"], &[]) as i32 + 100);
    t.expect_eq(
        "execve of a #!/bin/sh script runs it (exit 7)",
        ran,
        Some(WaitStatus::Exited(7)),
    );

    let text = put("/tmp/exec-text", b"just some text\n", 0o755);
    let elf = slurp("/bin/true");
    let truncated = elf
        .as_ref()
        .map_err(|e| *e)
        .and_then(|bytes| put("/tmp/exec-cut", &bytes[..bytes.len().min(200)], 0o755));
    let no_x = elf
        .as_ref()
        .map_err(|e| *e)
        .and_then(|bytes| put("/tmp/exec-nox", bytes, 0o644));
    t.expect_eq(
        "write the hostile files",
        (text, truncated, no_x),
        (Ok(()), Ok(()), Ok(())),
    );
    for (path, want, what) in [
        ("/tmp/exec-text", Errno::ENOEXEC, "a text file is ENOEXEC"),
        (
            "/tmp/exec-cut",
            Errno::ENOEXEC,
            "a truncated ELF is ENOEXEC",
        ),
        (
            "/tmp/exec-nox",
            Errno::EACCES,
            "a file without an execute bit is EACCES",
        ),
        (
            "/bin/no-such-program",
            Errno::ENOENT,
            "a missing file is ENOENT",
        ),
    ] {
        // The child reports the errno and then proves its old image still
        // runs (this closure's code, after the failed call).
        let failed = in_child(|| {
            let e = posix::execve(path, &[path], &[]);
            if COW.load(Ordering::Relaxed) == 1 {
                e as i32
            } else {
                100
            }
        });
        let name = format!("execve: {what}, the caller goes on");
        t.expect_eq(&name, failed, Some(WaitStatus::Exited(want as i32)));
    }

    // Issue 20: 1,000 arguments and a 64 KiB environment string; past
    // ARG_MAX, E2BIG and the caller goes on.
    let big = format!("BIG={}", "e".repeat(64 * 1024));
    let many = in_child(|| {
        let mut argv: Vec<&str> = vec!["procchild", "args", "1002"];
        argv.extend(core::iter::repeat_n("x", 999));
        let count = format!("{}", argv.len());
        argv[2] = &count;
        posix::execve("/bin/procchild", &argv, &[&big]) as i32 + 100
    });
    t.expect_eq(
        "execve with 1,002 arguments and a 64 KiB environment string",
        many,
        Some(WaitStatus::Exited(0)),
    );
    let huge = format!("BIG={}", "e".repeat(200 * 1024));
    let too_big = in_child(|| posix::execve("/bin/procchild", &["procchild"], &[&huge]) as i32);
    t.expect_eq(
        "execve past ARG_MAX is E2BIG, the caller goes on",
        too_big,
        Some(WaitStatus::Exited(Errno::E2BIG as i32)),
    );

    let bomb = in_child(|| {
        if posix::set_nproc_limit(8, 8).is_err() || posix::setuid(1000).is_err() {
            return 90;
        }
        let mut kids = Vec::new();
        let mut stopped = false;
        let mut other = 0;
        for _ in 0..64 {
            match posix::fork() {
                Ok(0) => loop {
                    libsys::time::sleep_ms(1000);
                },
                Ok(pid) => kids.push(pid),
                Err(Errno::EAGAIN) => {
                    stopped = true;
                    break;
                }
                Err(e) => {
                    other = e as i32;
                    break;
                }
            }
        }
        for &pid in &kids {
            let _ = posix::kill(pid as i64, 9);
            let _ = posix::waitpid(pid as i64, 0);
        }
        if stopped {
            kids.len() as i32
        } else {
            // Why it stopped otherwise: 100 + the errno (100: never).
            100 + other
        }
    });
    t.expect_eq(
        "a fork bomb under RLIMIT_NPROC 8 (uid 1000) stops at EAGAIN after 7 children",
        bomb,
        Some(WaitStatus::Exited(7)),
    );
    let after = in_child(|| 0);
    t.expect_eq(
        "fork works again after the bomb",
        after,
        Some(WaitStatus::Exited(0)),
    );
    timings();
    for path in [
        "/tmp/exec-keep",
        "/tmp/exec-cloexec",
        "/tmp/exec-script.sh",
        "/tmp/exec-text",
        "/tmp/exec-cut",
        "/tmp/exec-nox",
    ] {
        let _ = posix::unlink(path);
    }
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

/// `fork_exit_wait` and `fork_exec_wait` (`/bin/true`) in TSC ticks,
/// median of 15 (a figure for the log under TCG, not the bench entry's
/// instruction count: that entry runs no `proc`).
fn timings() {
    let median = |f: &dyn Fn() -> bool| -> Option<u64> {
        let mut ticks = Vec::new();
        for _ in 0..15 {
            let start = libsys::syscall::rdtsc();
            if !f() {
                return None;
            }
            ticks.push(libsys::syscall::rdtsc() - start);
        }
        ticks.sort_unstable();
        ticks.get(ticks.len() / 2).copied()
    };
    let exit_wait = median(&|| in_child(|| 0) == Some(WaitStatus::Exited(0)));
    let exec_wait = median(&|| {
        in_child(|| posix::execve("/bin/true", &["true"], &[]) as i32 + 100)
            == Some(WaitStatus::Exited(0))
    });
    let spawn_wait = median(&|| {
        posix::spawn("/bin/true", &["true"], &[], &[], Pgroup::Inherit)
            .ok()
            .and_then(|pid| posix::waitpid(pid as i64, 0).ok().flatten())
            .is_some_and(|(_, s)| s == 0)
    });
    libsys::println!(
        "proctest: TSC ticks (median of 15): fork_exit_wait {exit_wait:?}, fork_exec_wait {exec_wait:?}, spawn_true {spawn_wait:?}"
    );
}
