//! `procchild`: the process server test's child. Its `argv` (from the
//! System V stack the process server lays out) says what to do:
//! `procchild exit N` exits with N; `procchild sleep` sleeps until
//! killed (at most ten minutes); `procchild env VAR=VALUE` exits 0 if
//! its environment holds that string, else 1; `procchild ns` exits 0 if
//! the name service's badge on its `@ns` is its own pid (proc minted
//! it), else 1; `procchild pid N` exits 0 if its pid is N (an
//! `execve` keeps the pid), else 1; `procchild fds A B` exits 0 if
//! descriptor A is open and B is closed (`O_CLOEXEC`), else 2 or 3;
//! `procchild args N` exits 0 if it has N arguments and a `BIG=`
//! environment string over 60,000 bytes, else 1; `procchild handler`
//! checks signal handlers (see `signals`: it exits 0, or with the number
//! of the first check that failed); `procchild eintr` installs a
//! `SIGUSR1` handler, leads a new process group (the parent's sign to
//! start sending), then expects `nanosleep` and `pause` to end in
//! `EINTR`; `procchild alarm` checks `alarm` and dies of `SIGALRM`;
//! `procchild badhandler` registers a handler at an unmapped address and
//! raises its signal (it should die of `SIGSEGV`); `procchild term PATH`
//! (the `poweroff` case's background job) says `procchild: waiting for
//! SIGTERM`, waits for one, then writes `caught SIGTERM` to `PATH` and
//! exits 0; `procchild ttou [ignore]` (ignoring `SIGTTOU` first)
//! writes a line to its standard output and exits 0, or with the
//! write's errno; anything else exits 0.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

#[path = "procchild/signals.rs"]
mod signals;

libsys::entry!(main);

fn main(_args: &str) -> u64 {
    let argv = libsys::env::argv();
    match argv.get(1).copied() {
        Some("exit") => argv.get(2).and_then(|n| n.parse().ok()).unwrap_or(1),
        Some("sleep") => {
            for _ in 0..600 {
                libsys::time::sleep_ms(1000);
            }
            0
        }
        Some("env") => {
            let want = argv.get(2).copied().unwrap_or("");
            u64::from(!libsys::env::environ().contains(&want))
        }
        Some("ns") => {
            let pid = libsys::spawn::my_pid().ok();
            let badge = libsys::proto::cred::Client::connect()
                .ok()
                .and_then(|c| c.caller().ok());
            u64::from(pid.is_none() || pid != badge)
        }
        Some("handler") => signals::handler_checks(),
        Some("eintr") => signals::eintr_checks(),
        Some("alarm") => signals::alarm_checks(),
        Some("badhandler") => signals::bad_handler(),
        Some("term") => signals::save_on_term(argv.get(2).copied().unwrap_or("")),
        Some("sigchld") => signals::sigchld_checks(),
        Some("ttou") => {
            if argv.get(2) == Some(&"ignore") {
                let ignore = libsys::posix::Disposition::Ignore;
                let _ = libsys::posix::sigaction(libsys::posix::SIGTTOU, ignore, 0, 0);
            }
            match libsys::posix::write(1, b"procchild: written to the terminal\n") {
                Ok(_) => 0,
                Err(e) => e.as_i32() as u64,
            }
        }
        Some("args") => {
            let want = argv.get(2).and_then(|n| n.parse::<usize>().ok());
            let big = libsys::env::environ()
                .iter()
                .any(|e| e.len() > 60_000 && e.starts_with("BIG="));
            u64::from(want != Some(argv.len()) || !big)
        }
        Some("pid") => {
            let want = argv.get(2).and_then(|n| n.parse::<u64>().ok());
            u64::from(libsys::posix::getpid().ok() != want)
        }
        Some("fds") => {
            let fd = |i: usize| {
                argv.get(i)
                    .and_then(|n| n.parse::<i32>().ok())
                    .unwrap_or(-1)
            };
            if libsys::posix::fstat(fd(2)).is_err() {
                2
            } else if !matches!(
                libsys::posix::fstat(fd(3)),
                Err(libsys::errno::Errno::EBADF)
            ) {
                3
            } else {
                0
            }
        }
        _ => 0,
    }
}
