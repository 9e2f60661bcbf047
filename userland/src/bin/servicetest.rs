//! `servicetest`: what `top` and `service` stand on, in the `posix` boot.
//!
//! - The kernel's `process_times`: pids in order, this process's CPU time
//!   grows while it spins (and not faster than the clock), a thread's
//!   time stays the process's after the thread ends, no pid past the
//!   last; `/proc/self/stat`'s `utime`, `num_threads` and `starttime`
//!   say the same, and parse with `top`'s own parser.
//! - The name service's `List`: the servers of `manifest.posix` with
//!   their pids, states and budgets; the memory server not restartable.
//! - `KillServer` through the process server: `EPERM` for uid 1000 (the
//!   server keeps its pid), `EBUSY` for `proc`, `EINVAL` for `mm`,
//!   `ESRCH` for no such server; root's `Restart` of `kv` brings it back
//!   under a new pid with its budget untouched, a `Fail` uses a restart of
//!   the budget, and `kv` answers after each.
//! - The tools themselves: `top -b -n 2` writes two frames (header,
//!   columns, itself as root); bad options are usage errors (status 2);
//!   `service list` shows `kv` running; `service restart mm` and `service
//!   restart nosuch` fail with status 1.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use libsys::errno::Errno;
use libsys::posix::{self, FileAction, WaitStatus};
use libsys::proto::name::{KillMode, ServerInfo, ServerState};
use libsys::proto::proc::Pgroup;
use textutil::top;
use userland::Tally;

libsys::entry!(main);

fn main(_args: &str) -> u64 {
    let mut t = Tally::new();
    let me = posix::getpid().unwrap_or(0);
    process_times(&mut t, me);
    proc_stat(&mut t, me);
    let list = listing(&mut t);
    permissions(&mut t);
    if let Some(kv) = list.iter().find(|s| s.name == "kv") {
        restarts(&mut t, kv.pid);
    }
    top_tool(&mut t);
    service_tool(&mut t);
    t.status()
}

/// Spins until `ms` of the clock have passed.
fn spin(ms: u64) {
    let until = libsys::time::uptime_ns() + ms * 1_000_000;
    while libsys::time::uptime_ns() < until {
        core::hint::spin_loop();
    }
}

/// This process's CPU time now (the kernel's).
fn cpu_ns(me: u64) -> Option<u64> {
    let times = libsys::syscall::process_times(me - 1).ok()?;
    let first = *times.entries().first()?;
    (first.pid == me).then_some(first.cpu_ns)
}

fn process_times(t: &mut Tally, me: u64) {
    let all = libsys::syscall::process_times(0);
    let pids: Vec<u64> = all
        .iter()
        .flat_map(|a| a.entries().iter().map(|e| e.pid))
        .collect();
    t.record(
        "process_times(0): pids from 1, ascending",
        match pids.first() {
            Some(1) if pids.windows(2).all(|w| w[0] < w[1]) => Ok(()),
            _ => Err(format!("{pids:?}")),
        },
    );
    t.expect_eq(
        "process_times past every pid: none",
        libsys::syscall::process_times(u64::MAX).map(|a| a.count),
        Ok(0),
    );
    let before = cpu_ns(me);
    let start = libsys::time::uptime_ns();
    spin(300);
    let wall = libsys::time::uptime_ns() - start;
    let after = cpu_ns(me);
    let gained = after.zip(before).map(|(a, b)| a.saturating_sub(b));
    t.record(
        "process_times: spinning 300 ms adds CPU time, at most the clock's",
        match gained {
            // Others may run meanwhile: a third is plenty.
            Some(g) if g >= wall / 3 && g <= wall + 20_000_000 => Ok(()),
            _ => Err(format!("gained {gained:?} ns in {wall} ns")),
        },
    );
    let before = cpu_ns(me);
    let thread = libsys::thread::spawn(|| spin(200));
    let joined = thread.map(|th| th.join());
    let gained = cpu_ns(me).zip(before).map(|(a, b)| a.saturating_sub(b));
    t.record(
        "process_times: an ended thread's time stays the process's",
        match (joined, gained) {
            (Ok(Ok(())), Some(g)) if g >= 60_000_000 => Ok(()),
            (j, g) => Err(format!("join {j:?}, gained {g:?} ns")),
        },
    );
    let mine = libsys::syscall::process_times(me - 1)
        .ok()
        .and_then(|a| a.entries().first().copied());
    t.record(
        "process_times: my threads (one running: this one), my name, a start time before now",
        match mine {
            Some(m)
                if m.pid == me
                    && m.threads >= 1
                    && m.running >= 1
                    && m.name() == "servicetest"
                    && m.start_ns < libsys::time::uptime_ns() =>
            {
                Ok(())
            }
            m => Err(format!("{m:?}")),
        },
    );
}

fn proc_stat(t: &mut Tally, me: u64) {
    let text = slurp("/proc/self/stat").unwrap_or_default();
    let stat = top::parse_stat(&text);
    let up = slurp("/proc/uptime")
        .ok()
        .and_then(|u| top::parse_uptime(&u));
    t.record(
        "/proc/self/stat: the kernel's name (init started me), utime (> 0.3 s spun), threads, start",
        match (&stat, up) {
            (Ok(s), Some(up))
                if s.pid == me
                    && s.comm == "servicetest"
                    && s.utime >= 10
                    && s.stime == 0
                    && s.threads >= 1
                    && s.starttime <= up =>
            {
                Ok(())
            }
            _ => Err(format!("{stat:?}, uptime {up:?}: {text}")),
        },
    );
}

fn listing(t: &mut Tally) -> Vec<ServerInfo> {
    let list = libsys::names::list().unwrap_or_default();
    let find = |name: &str| list.iter().find(|s| s.name == name && s.spawner == 0);
    for name in ["timer", "devmgr", "tty", "vfs", "kv", "proc"] {
        t.record(
            &format!("List: {name} running, restartable, a pid, 0 of 3 restarts"),
            match find(name) {
                Some(s)
                    if s.state == ServerState::Running
                        && s.restartable
                        && s.pid != 0
                        && (s.restarts, s.budget) == (0, 3) =>
                {
                    Ok(())
                }
                s => Err(format!("{s:?}")),
            },
        );
    }
    t.record(
        "List: mm running, not restartable",
        match find("mm") {
            Some(s) if s.state == ServerState::Running && !s.restartable && s.pid != 0 => Ok(()),
            s => Err(format!("{s:?}")),
        },
    );
    let mut pids: Vec<u64> = list.iter().map(|s| s.pid).filter(|&p| p != 0).collect();
    let n = pids.len();
    pids.sort_unstable();
    pids.dedup();
    t.expect_eq("List: no pid twice", pids.len(), n);
    list
}

/// Runs `f` in a child; how the child ended.
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

/// The pid `kv` runs under now, per `List`.
fn kv_now() -> Option<ServerInfo> {
    let list = libsys::names::list().ok()?;
    list.into_iter().find(|s| s.name == "kv" && s.spawner == 0)
}

fn permissions(t: &mut Tally) {
    let before = kv_now().map(|s| s.pid);
    let user = in_child(|| {
        if posix::setuid(1000).is_err() {
            return 1;
        }
        match posix::kill_server("kv", KillMode::Restart) {
            Err(Errno::EPERM) => 0,
            _ => 2,
        }
    });
    t.expect_eq(
        "KillServer as uid 1000: EPERM",
        user,
        Some(WaitStatus::Exited(0)),
    );
    t.expect_eq("and kv keeps its pid", kv_now().map(|s| s.pid), before);
    for (name, errno, why) in [
        ("proc", Errno::EBUSY, "the process server itself"),
        ("mm", Errno::EINVAL, "the memory server is not restartable"),
        ("nosuch", Errno::ESRCH, "no such server"),
        (
            "a-name-longer-than-thirty-two-bytes",
            Errno::ENAMETOOLONG,
            "a name too long",
        ),
    ] {
        t.expect_eq(
            &format!("KillServer {name}: {why}"),
            posix::kill_server(name, KillMode::Restart),
            Err(errno),
        );
    }
}

/// Waits (up to 10 s) until `kv` runs under another pid than `old`.
fn kv_back(old: u64) -> Option<ServerInfo> {
    let start = libsys::time::uptime_ns();
    while libsys::time::uptime_ns() - start < 10_000_000_000 {
        if let Some(s) = kv_now().filter(|s| s.state == ServerState::Running && s.pid != old) {
            return Some(s);
        }
        libsys::time::sleep_ms(20);
    }
    None
}

/// A put and a get through a fresh lookup.
fn kv_answers() -> Result<(), String> {
    let kv = libsys::proto::kv::Client::connect().map_err(|e| format!("connect: {e}"))?;
    kv.put("after", b"restart")
        .map_err(|e| format!("put: {e}"))?;
    match kv.get("after") {
        Ok(v) if &v[..] == b"restart" => Ok(()),
        other => Err(format!("get: {other:?}")),
    }
}

fn restarts(t: &mut Tally, pid: u64) {
    t.expect_eq(
        "KillServer kv (Restart) as root: the pid it had",
        posix::kill_server("kv", KillMode::Restart),
        Ok(pid),
    );
    let back = kv_back(pid);
    t.record(
        "kv back under a new pid, its budget untouched",
        match &back {
            Some(s) if (s.restarts, s.budget) == (0, 3) => Ok(()),
            s => Err(format!("{s:?}")),
        },
    );
    t.record("kv answers after the restart", kv_answers());
    let Some(back) = back else {
        return;
    };
    t.expect_eq(
        "KillServer kv (Fail) as root: the pid it had",
        posix::kill_server("kv", KillMode::Fail),
        Ok(back.pid),
    );
    let again = kv_back(back.pid);
    t.record(
        "kv back again, a restart of its budget used",
        match &again {
            Some(s) if (s.restarts, s.budget) == (1, 3) => Ok(()),
            s => Err(format!("{s:?}")),
        },
    );
    t.record("kv answers after the kill", kv_answers());
}

/// A whole file as text.
fn slurp(path: &str) -> Result<String, Errno> {
    let fd = posix::open(path, posix::O_RDONLY, 0)?;
    let data = posix::read_to_end(fd, 1 << 20);
    posix::close(fd)?;
    Ok(String::from_utf8_lossy(&data?).into_owned())
}

/// Runs `argv` with its standard output and error into `out`; its exit
/// status (`None`: it did not run or end) and what it wrote.
fn run(argv: &[&str], out: &str) -> (Option<i32>, String) {
    let Ok(path) = libsys::proto::vfs::path(out.as_bytes()) else {
        return (None, String::new());
    };
    let actions = [
        FileAction::Open {
            fd: 1,
            path,
            flags: posix::O_WRONLY | posix::O_CREAT | posix::O_TRUNC,
            mode: 0o644,
        },
        FileAction::Dup2 { from: 1, to: 2 },
    ];
    let program = format!("/bin/{}", argv[0]);
    let status = posix::spawn(&program, argv, &[], &actions, Pgroup::Inherit)
        .ok()
        .and_then(|pid| match posix::waitpid(pid as i64, 0) {
            Ok(Some((_, status))) => match WaitStatus::decode(status) {
                WaitStatus::Exited(code) => Some(code),
                _ => None,
            },
            _ => None,
        });
    (status, slurp(out).unwrap_or_default())
}

fn top_tool(t: &mut Tally) {
    let (status, text) = run(&["top", "-b", "-n", "2", "-d", "0.2"], "/tmp/top.out");
    let lines: Vec<&str> = text.lines().collect();
    let count = |f: &dyn Fn(&str) -> bool| lines.iter().filter(|l| f(l)).count();
    t.record(
        "top -b -n 2: two frames, each a header and the columns",
        match (
            status,
            count(&|l| l.starts_with("top - ")),
            count(&|l| l.starts_with("Tasks: ")),
            count(&|l| l.starts_with("KiB Mem :")),
            count(&|l| l == top::COLUMNS),
        ) {
            (Some(0), 2, 2, 2, 2) => Ok(()),
            s => Err(format!("{s:?}: {text}")),
        },
    );
    // Its own line: pid, root, state, figures, `top`.
    let own = lines
        .iter()
        .find(|l| l.ends_with(" top") && l.get(6..14) == Some("root    "));
    t.record(
        "top: a line for itself, as root",
        match own {
            Some(_) => Ok(()),
            None => Err(text.clone()),
        },
    );
    for bad in [
        &["top", "-d", "0"][..],
        &["top", "-d", "x"],
        &["top", "-n", "0"],
        &["top", "extra"],
        &["top", "-z"],
    ] {
        let (status, _) = run(bad, "/tmp/top.err");
        t.expect_eq(&format!("{bad:?}: a usage error"), status, Some(2));
    }
    let (status, text) = run(&["top", "--help"], "/tmp/top.help");
    t.expect_eq(
        "top --help",
        (status, text.starts_with("usage: top")),
        (Some(0), true),
    );
}

fn service_tool(t: &mut Tally) {
    let (status, text) = run(&["service", "list"], "/tmp/service.out");
    let kv = text.lines().find(|l| l.starts_with("kv "));
    t.record(
        "service list: kv running",
        match (status, kv) {
            (Some(0), Some(l)) if l.contains(" running ") => Ok(()),
            _ => Err(format!("{status:?}: {text}")),
        },
    );
    let (status, text) = run(&["service", "restart", "mm"], "/tmp/service.err");
    t.expect_eq(
        "service restart mm: refused (status 1), saying why",
        (status, text.contains("mm: not restartable")),
        (Some(1), true),
    );
    let (status, text) = run(&["service", "restart", "nosuch"], "/tmp/service.err");
    t.expect_eq(
        "service restart nosuch: status 1",
        (status, text.contains("nosuch: no such server")),
        (Some(1), true),
    );
    let (status, _) = run(&["service", "frobnicate"], "/tmp/service.err");
    t.expect_eq("service frobnicate: a usage error", status, Some(2));
}
