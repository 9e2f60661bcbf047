//! `ps`: the process server's table: pid, parent, group, session, uid, state and command of every process.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    tool::help("ps");
    if !tool::args().is_empty() {
        tool::exit(tool::complain("ps", "usage: ps"));
    }
    let tasks = match libsys::posix::processes() {
        Ok(t) => t,
        Err(e) => tool::exit(tool::fail("ps", "process list", e)),
    };
    libsys::outln!("  PID  PPID  PGID   SID   UID S CMD");
    for t in tasks {
        libsys::outln!(
            "{:>5} {:>5} {:>5} {:>5} {:>5} {} {}",
            t.pid,
            t.ppid,
            t.pgid,
            t.sid,
            t.uid,
            char::from(t.state),
            t.comm
        );
    }
    tool::exit(0)
}
