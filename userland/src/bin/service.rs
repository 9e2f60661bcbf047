//! `service list | restart NAME | kill NAME`: the servers `init` runs and
//! restarts (its reincarnation server, as MINIX 3's `service` talks to
//! RS).
//!
//! - `list`: each server with its pid, its state (`starting`, `running`,
//!   `restarting`, `failed`, `in-kernel`) and the restarts it has used of
//!   its budget (`-` for one that is never restarted: the memory server),
//!   then the processes `init` spawned for others (drivers), with their
//!   spawner. From the name service's `List`: anyone may ask.
//! - `restart NAME`: kills the server; `init` starts it again at once,
//!   at no cost to its budget. Waits until the new one has registered
//!   and prints both pids.
//! - `kill NAME`: kills it as if it had crashed: `init` restarts it after
//!   its back-off and counts a restart of its budget (given up when the
//!   budget is spent). Waits as `restart` does.
//!
//! Both ask the process server (`posix::kill_server`), which lets only
//! root (effective uid 0) do it (`EPERM` for anyone else) and then asks
//! `init`. `spawned:NAME` names a spawned process (its spawner restarts
//! it). Exit status 0 when the server is back, 1 otherwise.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use libsys::errno::Errno;
use libsys::proto::name::{KillMode, ServerInfo, ServerState};
use userland::tool;

libsys::entry!(main);

const USAGE: &str = "service list | service restart NAME | service kill NAME";
/// How long a killed server may take to come back.
const BACK_WITHIN_MS: u64 = 15_000;

fn main(_: &str) -> u64 {
    tool::help(USAGE);
    let args = tool::args();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let status = match words.as_slice() {
        ["list"] => list(),
        ["restart", name] => kill(name, KillMode::Restart),
        ["kill", name] => kill(name, KillMode::Fail),
        _ => {
            libsys::errln!("usage: {USAGE}");
            2
        }
    };
    tool::exit(status)
}

/// Every entry of the name service's `List`, or exit 1 with why not.
fn servers() -> Vec<ServerInfo> {
    libsys::names::list().unwrap_or_else(|e| {
        tool::exit(tool::complain("service", &format!("the name service: {e}")))
    })
}

fn list() -> i32 {
    libsys::outln!("NAME              PID STATE      RESTARTS");
    for s in servers() {
        let restarts = match (s.spawner, s.restartable) {
            (0, true) => format!("{}/{}", s.restarts, s.budget),
            (0, false) => String::from("-"),
            (spawner, _) => format!("spawned by {spawner}"),
        };
        let pid = match s.pid {
            0 => String::from("-"),
            pid => format!("{pid}"),
        };
        libsys::outln!(
            "{:<14} {:>6} {:<10} {restarts}",
            s.name,
            pid,
            s.state.name()
        );
    }
    0
}

/// The entry `name` names (`spawned:<n>`: the spawned process `n`).
fn find<'a>(all: &'a [ServerInfo], name: &str) -> Option<&'a ServerInfo> {
    match name.strip_prefix("spawned:") {
        Some(spawned) => all.iter().find(|s| s.spawner != 0 && s.name == spawned),
        None => all.iter().find(|s| s.spawner == 0 && s.name == name),
    }
}

/// `restart` and `kill`: checks what can be said without the process
/// server, has it kill the server, and waits for the new one.
fn kill(name: &str, mode: KillMode) -> i32 {
    let all = servers();
    let Some(entry) = find(&all, name) else {
        return tool::complain("service", &format!("{name}: no such server"));
    };
    if !entry.restartable {
        let why = match entry.state {
            ServerState::InKernel => "placed in the kernel: it has no process to restart",
            _ => "the memory server is never restarted: every process it pages would die",
        };
        return tool::complain("service", &format!("{name}: not restartable ({why})"));
    }
    let old = match libsys::posix::kill_server(name, mode) {
        Ok(pid) => pid,
        Err(e) => return tool::complain("service", &format!("{name}: {}", why_not(e))),
    };
    let verb = match mode {
        KillMode::Restart => "restarted",
        KillMode::Fail => "killed and restarted",
    };
    match back(name, old) {
        Ok(new) => {
            libsys::outln!("{name}: {verb} (pid {old} -> pid {new})");
            0
        }
        Err(why) => tool::complain("service", &format!("{name}: pid {old} killed; {why}")),
    }
}

/// What an error of `kill_server` means here.
fn why_not(e: Errno) -> String {
    match e {
        Errno::EPERM => String::from("only root may kill or restart a server"),
        Errno::EBUSY => String::from("the process server cannot restart itself"),
        Errno::ESRCH => String::from("no such server running"),
        Errno::EAGAIN => String::from("restarting already; try again"),
        Errno::EINVAL => String::from("not restartable"),
        Errno::ENOSYS => String::from("the process server may not ask (manifest right `service`)"),
        e => format!("{e}"),
    }
}

/// Waits until `name` runs again under another pid than `old`; its new
/// pid, or why it did not come back.
fn back(name: &str, old: u64) -> Result<u64, String> {
    let start = libsys::time::uptime_ns();
    loop {
        let all = libsys::names::list().map_err(|e| format!("the name service: {e}"))?;
        match find(&all, name) {
            Some(s) if s.state == ServerState::Failed => {
                return Err(format!(
                    "given up by init: its restart budget ({}) is spent",
                    s.budget
                ))
            }
            Some(s) if s.state == ServerState::Running && s.pid != old && s.pid != 0 => {
                return Ok(s.pid)
            }
            // A spawned one is gone from the list until its spawner
            // has it spawned again.
            _ => {}
        }
        if libsys::time::uptime_ns() - start > BACK_WITHIN_MS * 1_000_000 {
            return Err(format!("not back within {} s", BACK_WITHIN_MS / 1000));
        }
        libsys::time::sleep_ms(20);
    }
}
