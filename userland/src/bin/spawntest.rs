//! The spawn protocol (`libsys::proto::spawn`, served by `init`) from a
//! caller's side, hostile requests included, and devmgr's restart of a
//! driver process it started through it. Run by `init` from the test
//! manifest twice:
//!
//! - `spawntest` (manifest `spawn`, `kill=spawned:kbd`): a child runs
//!   with its arguments, its pid is the kernel's (one pid space), handles
//!   passed reach it (a notification it signals), a root caller's
//!   `run_as` gives the child those credentials; bad requests get their
//!   typed errors — no such module, a module that is no ELF executable,
//!   a path (not served by `init`), `init` itself, an empty name, more
//!   handles than a message carries or than it carried, a bad argument,
//!   an environment, a memory limit too large; the quota of children not
//!   yet reaped, and room again once one is; then the keyboard driver
//!   devmgr started is killed, and devmgr unbinds its device and binds it
//!   again with a new process.
//! - `spawntest2 spawntest -- unprivileged` (no `spawn`): `NotPermitted`.
//!
//! As a child (`child <what>`, started by the first) it signals the
//! notification it was given (`h0=`), or checks its credentials, or
//! waits to be killed.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::time::Duration;

use libsys::abi::ProcessStatus;
use libsys::handle::{Notification, Process};
use libsys::proto::cred::{Client as Cred, Credentials};
use libsys::proto::spawn::{spawn, Arg, ClientError, Image, Spawn, SpawnError};
use libsys::spawn::{my_pid, pid_of};
use userland::{wait_exit, Tally};

libsys::entry!(main);

/// Children of one caller `init` keeps at once (`init::procs::CHILDREN_MAX`).
const CHILDREN_MAX: usize = 8;

fn main(args: &str) -> u64 {
    let words: alloc::vec::Vec<&str> = args.split_whitespace().collect();
    match words.as_slice() {
        ["child", rest @ ..] => child(rest),
        ["unprivileged", ..] => unprivileged(),
        _ => parent(),
    }
}

extern crate alloc;

fn request(module: &str, args: &[&str]) -> Spawn {
    let mut s = Spawn::module(module).unwrap();
    for a in args {
        s.args.push(Arg::try_from(*a).unwrap()).unwrap();
    }
    s
}

fn refused(e: SpawnError) -> Result<(u64, Process), ClientError> {
    Err(ClientError::Refused(e))
}

/// What the spawn gave, without the handle (for comparisons).
fn outcome(r: Result<(u64, Process), ClientError>) -> Result<(), ClientError> {
    r.map(|_| ())
}

fn unprivileged() -> u64 {
    let mut t = Tally::new();
    t.expect_eq(
        "spawn: a caller whose entry lacks `spawn` is NotPermitted",
        outcome(spawn(&request("spawntest", &["child", "args"]), &[])),
        outcome(refused(SpawnError::NotPermitted)),
    );
    t.status()
}

fn parent() -> u64 {
    let mut t = Tally::new();
    // A child runs, with its pid the kernel's.
    match spawn(
        &request("spawntest", &["child", "args", "from", "spawntest"]),
        &[],
    ) {
        Ok((pid, child)) => {
            t.expect_eq(
                "spawn: the pid is the child's kernel pid",
                pid_of(child.raw()),
                Ok(pid),
            );
            t.expect_eq(
                "spawn: the child runs with its arguments and exits 0",
                wait_exit(&child, Duration::from_secs(20)).ok(),
                Some(ProcessStatus::Exited(0)),
            );
        }
        Err(e) => t.check("spawn: a child with arguments", Err(format_args!("{e}"))),
    }
    // A handle passed reaches the child, which signals it.
    let passing = Notification::create().and_then(|n| {
        let mut s = request("spawntest", &["child", "signal"]);
        s.handles = 1;
        Ok((n.dup(libsys::abi::Rights::SEND, None)?, n, s))
    });
    match passing {
        Ok((send, n, s)) => match spawn(&s, &[send.raw()]) {
            Ok((_, child)) => {
                t.expect_eq(
                    "spawn: the child signals the notification it was given",
                    n.wait(20_000_000_000),
                    Ok(1),
                );
                t.expect_eq(
                    "spawn: the child found its badge is its pid",
                    wait_exit(&child, Duration::from_secs(20)).ok(),
                    Some(ProcessStatus::Exited(0)),
                );
            }
            Err(e) => t.check("spawn: with a handle", Err(format_args!("{e}"))),
        },
        Err(e) => t.check("spawn: a notification to pass", Err(format_args!("{e}"))),
    }
    // Root may run its child as someone else.
    let mut s = request("spawntest", &["child", "cred", "1000", "100"]);
    s.run_as = Some((1000, 100));
    match spawn(&s, &[]) {
        Ok((_, child)) => t.expect_eq(
            "spawn: run_as gives the child those credentials",
            wait_exit(&child, Duration::from_secs(20)).ok(),
            Some(ProcessStatus::Exited(0)),
        ),
        Err(e) => t.check("spawn: run_as", Err(format_args!("{e}"))),
    }
    hostile(&mut t);
    quota(&mut t);
    driver_restart(&mut t);
    t.status()
}

/// Bad requests: each its typed error, nothing started.
fn hostile(t: &mut Tally) {
    let cases: [(&str, Spawn, usize, SpawnError); 10] = [
        (
            "no such module",
            request("nosuch", &[]),
            0,
            SpawnError::UnknownImage,
        ),
        (
            "a module that is no executable (the manifest)",
            request("manifest.test", &[]),
            0,
            SpawnError::StartFailed,
        ),
        (
            "init itself",
            request("init", &[]),
            0,
            SpawnError::UnknownImage,
        ),
        (
            "a path (init serves modules only)",
            Spawn {
                image: Image::Path("/bin/hello".try_into().unwrap()),
                ..request("spawntest", &[])
            },
            0,
            SpawnError::UnknownImage,
        ),
        (
            "an empty image name",
            Spawn {
                image: Image::Module("".try_into().unwrap()),
                ..request("spawntest", &[])
            },
            0,
            SpawnError::EmptyImage,
        ),
        (
            "more handles than a message carries",
            Spawn {
                handles: 5,
                ..request("spawntest", &[])
            },
            0,
            SpawnError::BadHandle,
        ),
        (
            "handles said but not carried",
            Spawn {
                handles: 2,
                ..request("spawntest", &[])
            },
            0,
            SpawnError::BadHandle,
        ),
        (
            "an argument with a space",
            request("spawntest", &["a b"]),
            0,
            SpawnError::BadArgument,
        ),
        (
            "an environment (init passes none)",
            {
                let mut s = request("spawntest", &[]);
                s.env.push(Arg::try_from("HOME=/").unwrap()).unwrap();
                s
            },
            0,
            SpawnError::BadEnvironment,
        ),
        (
            "a memory limit too large",
            {
                let mut s = request("spawntest", &[]);
                s.limits.memory_pages = libsys::proto::spawn::MEMORY_PAGES_MAX + 1;
                s
            },
            0,
            SpawnError::BadLimit,
        ),
    ];
    for (what, s, _, want) in cases {
        let name = alloc::format!("spawn: {what} is {want:?}");
        t.expect_eq(&name, outcome(spawn(&s, &[])), outcome(refused(want)));
    }
}

/// The quota of children not yet reaped: full, then room again.
fn quota(t: &mut Tally) {
    // The children before have ended; init reaps each when its death
    // signal comes, which takes a moment.
    libsys::time::sleep_ms(300);
    let mut waiting = alloc::vec::Vec::new();
    let refusal = loop {
        match spawn(&request("spawntest", &["child", "wait"]), &[]) {
            Ok((_, p)) if waiting.len() < CHILDREN_MAX * 2 => waiting.push(p),
            Ok((_, p)) => {
                let _ = p.kill();
                break None;
            }
            Err(e) => break Some(e),
        }
    };
    t.expect_eq(
        "spawn: past the quota of children, TooManyChildren",
        refusal,
        Some(ClientError::Refused(SpawnError::TooManyChildren)),
    );
    t.expect_eq(
        "spawn: the quota is init's CHILDREN_MAX",
        waiting.len(),
        CHILDREN_MAX,
    );
    let Some(first) = waiting.pop() else { return };
    let _ = first.kill();
    let _ = wait_exit(&first, Duration::from_secs(5));
    // init reaps it when its death signal comes: room again, soon.
    let mut again = None;
    for _ in 0..200 {
        match spawn(&request("spawntest", &["child", "wait"]), &[]) {
            Ok((_, p)) => {
                again = Some(p);
                break;
            }
            Err(_) => libsys::time::sleep_ms(10),
        }
    }
    t.check(
        "spawn: a reaped child makes room for another",
        if again.is_some() {
            Ok(())
        } else {
            Err(format_args!("still refused"))
        },
    );
    for p in waiting.iter().chain(again.iter()) {
        let _ = p.kill();
    }
}

/// Kills the keyboard driver devmgr started (`kill=spawned:kbd`): devmgr
/// unbinds the i8042, then binds it again with a new process.
fn driver_restart(t: &mut Tally) {
    let Some(kbd) = libsys::env::take_handle("kill").map(Process) else {
        t.check(
            "kbd: a handle to kill it (kill=spawned:kbd)",
            Err(format_args!("none given")),
        );
        return;
    };
    let devmgr = match libsys::proto::devmgr::Client::connect() {
        Ok(c) => c,
        Err(e) => {
            t.check("kbd: devmgr", Err(format_args!("{e}")));
            return;
        }
    };
    t.record(
        "kbd: subscribe to uevents",
        devmgr.subscribe().map_err(|e| alloc::format!("{e:?}")),
    );
    while let Ok((Some(_), _)) = devmgr.next_uevent() {}
    let old = pid_of(kbd.raw()).unwrap_or(0);
    t.record("kbd: killed", kbd.kill().map_err(|e| alloc::format!("{e}")));
    let mut seen = alloc::vec::Vec::new();
    let start = libsys::time::Instant::now();
    while start.elapsed() < Duration::from_secs(20) && !seen.iter().any(|a| a == "bind") {
        match devmgr.next_uevent() {
            Ok((Some(e), _)) if e.contains("/devices/platform/i8042") => {
                seen.push(alloc::string::String::from(
                    e.split('@').next().unwrap_or(""),
                ));
            }
            Ok((Some(_), _)) => {}
            _ => libsys::time::sleep_ms(20),
        }
    }
    t.expect_eq(
        "kbd: devmgr unbinds the i8042 when its driver dies, then binds it again",
        seen.iter()
            .map(|s| s.as_str())
            .collect::<alloc::vec::Vec<_>>(),
        alloc::vec!["unbind", "bind"],
    );
    let driver = devmgr.read("/sys/devices/platform/i8042/driver");
    t.expect_eq(
        "kbd: the i8042 is bound to its driver again",
        driver.as_ref().map(|d| d.as_str()).ok(),
        Some("i8042\n"),
    );
    libsys::println!("spawntest: kbd pid {old} killed and restarted");
    let _ = devmgr.unsubscribe();
}

fn child(what: &[&str]) -> u64 {
    let me = my_pid().unwrap_or(0);
    match what {
        ["signal", ..] => {
            let Some(n) = libsys::env::take_handle("h0").map(Notification) else {
                return 2;
            };
            if n.signal(1).is_err() {
                return 3;
            }
            match Cred::connect().map(|c| c.caller()) {
                Ok(Ok(pid)) if pid == me => 0,
                _ => 4,
            }
        }
        ["cred", uid, gid, ..] => {
            let want = Credentials::of(uid.parse().unwrap_or(0), gid.parse().unwrap_or(0));
            match Cred::connect().map(|c| c.get(me)) {
                Ok(Ok(c)) if c == want => 0,
                _ => 5,
            }
        }
        ["args", rest @ ..] => {
            if rest == ["from", "spawntest"] {
                0
            } else {
                7
            }
        }
        ["wait", ..] => loop {
            libsys::time::sleep_ms(1000);
        },
        _ => 6,
    }
}
