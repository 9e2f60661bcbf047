//! `getty`: puts a shell on the console and keeps one there (the job of
//! Linux's `agetty` and of init's `respawn` lines in `/etc/inittab`).
//!
//! `init` starts it last in `make run`'s manifest (`program getty getty
//! -- /bin/sh`). It opens `/dev/console` as descriptors 0, 1 and 2 (a
//! process `init` starts has none), then runs the program named in its
//! arguments (default `/bin/sh`) in a process group of its own, gives it
//! the terminal (`tcsetpgrp`) and waits for it. When the shell ends it is
//! started again, unless it keeps dying at once: five ends within a
//! second each, and `getty` gives up with a line saying so.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use libsys::errno::Errno;
use libsys::posix::{self, WaitStatus, O_RDWR};
use libsys::proto::proc::Pgroup;

libsys::entry!(main);

/// Quick deaths in a row after which `getty` stops restarting.
const QUICK_DEATHS_MAX: u32 = 5;
/// A run shorter than this (ms) counts as a quick death.
const QUICK_MS: u64 = 1_000;

/// The environment the shell starts with.
const ENV: &[&str] = &["PATH=/bin:/sbin", "HOME=/", "TERM=vt100", "USER=root"];

fn open_console() -> Result<(), Errno> {
    for want in 0..3 {
        let fd = posix::open("/dev/console", O_RDWR, 0)?;
        if fd != want {
            return Err(Errno::EBADF);
        }
    }
    Ok(())
}

/// Runs `program` once on the console; how it ended.
fn run(program: &str) -> Result<WaitStatus, Errno> {
    let pid = posix::spawn(program, &[program], ENV, &[], Pgroup::New)?;
    // The shell takes the terminal itself too; this covers the window
    // before it does (and a program that is not a shell). `SIGTTOU`
    // blocked: the last shell's group may still hold the terminal.
    let ttou = 1u64 << (posix::SIGTTOU - 1);
    let old = posix::sigprocmask(posix::SIG_BLOCK, ttou);
    let _ = posix::tcsetpgrp(0, pid);
    if let Ok(old) = old {
        let _ = posix::sigprocmask(posix::SIG_SETMASK, old);
    }
    loop {
        match posix::waitpid(pid as i64, 0) {
            Ok(Some((_, status))) => return Ok(WaitStatus::decode(status)),
            Ok(None) | Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

fn main(args: &str) -> u64 {
    let program = args.split_whitespace().next().unwrap_or("/bin/sh");
    if let Err(e) = open_console() {
        libsys::println!("getty: cannot open /dev/console: {e}");
        return 1;
    }
    let mut quick = 0;
    while quick < QUICK_DEATHS_MAX {
        let started = libsys::time::uptime_ns();
        libsys::println!("getty: running {program} on /dev/console");
        match run(program) {
            Ok(status) => {
                libsys::println!("getty: {program} ended ({status:?}); starting it again")
            }
            Err(e) => libsys::println!("getty: cannot run {program}: {e}"),
        }
        quick = if libsys::time::uptime_ns().saturating_sub(started) < QUICK_MS * 1_000_000 {
            quick + 1
        } else {
            0
        };
    }
    libsys::println!("getty: {program} ended {QUICK_DEATHS_MAX} times at once; giving up");
    1
}
