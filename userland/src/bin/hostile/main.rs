//! `hostile`: attacks of a hostile program, with valid calls only, that
//! must each end in a typed error (`init` runs it from `manifest.test`).
//!
//! - **Forged notification bit**: 300 calls to each of `kv`, `timer`,
//!   `wait1` and `mm` with the kernel-only `NOTIFICATION` flag set in the
//!   info word (and a handle transferred with each) get `InvalidArgument`
//!   at once, and each server still answers a request afterwards. Before
//!   the fix the kernel passed the flag through: the server took the call
//!   for a notification, never replied (each call here timed out) and
//!   never closed the handle, until its table was full.
//! - **Timeouts mean what they say**: `call` with `POLL` is refused
//!   (`InvalidArgument`) instead of blocking without bound for the reply
//!   (before: it hung when the server was waiting); `send`, `recv`, `wait`
//!   with `POLL` say `WouldBlock` at once; with 50 ms each of `send`,
//!   `recv`, `call` (no receiver) and `wait` returns `TimedOut` within
//!   50 ms and a few ticks, and so does a `call` whose receiver takes the
//!   message and never replies (the reply phase is bounded too).
//! - **No unbounded kernel list**: `process_watch` on one process with a
//!   new notification each time (closed after) is `OutOfResources` after
//!   64; the same notification 10,000 times is fine (its bits are merged).
//!   Before, each call added an entry for good, until kernel memory ran
//!   out (a kernel panic).
//! - **Real time needs a right**: `set_sched` to FIFO or round-robin is
//!   `NotAllowed` (before: any thread could go FIFO and, spinning, freeze
//!   every fair thread).
//! - **Limits, reaping and the scheduling control**: see `limits.rs`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod limits;

use core::time::Duration;

use libsys::abi::ipc::{FOREVER, POLL};
use libsys::abi::{MsgInfo, Rights, SysError, Syscall};
use libsys::handle::{Endpoint, Notification, Process};
use libsys::ipc::Message;
use libsys::rpc::LABEL_REQUEST;
use libsys::syscall::raw;
use libsys::time::Instant;
use userland::Tally;

libsys::entry!(main);

/// Forged calls per server: more than any server's handle table holds.
const FORGED: usize = 300;
/// The timeout the timed checks use.
const TIMEOUT: Duration = Duration::from_millis(50);
/// How late a timed-out call may return: a few ticks of slack.
const SLACK: Duration = Duration::from_millis(60);

fn main(args: &str) -> u64 {
    if args.split_whitespace().any(|word| word == "reap") {
        return limits::child();
    }
    let mut t = Tally::new();
    for server in ["kv", "timer", "wait1", "mm"] {
        forged_notification(&mut t, server);
    }
    polls(&mut t);
    timeouts(&mut t);
    no_realtime(&mut t);
    watch_list_bounded(&mut t);
    limits::raise_refused(&mut t);
    limits::reaping(&mut t);
    limits::realtime(&mut t);
    t.status()
}

/// A raw IPC call `n` on `handle` with info word `info`, words `words`.
fn ipc(n: Syscall, handle: u64, info: u64, timeout: u64, words: [u64; 6]) -> Result<(), SysError> {
    let regs = raw::IpcRegs {
        info,
        rdx: timeout,
        words,
    };
    let (status, _) = libsys::syscall::ipc_unchecked(n, handle, regs);
    libsys::abi::decode_result(status, 0).map(|_| ())
}

fn forged_notification(t: &mut Tally, server: &str) {
    let endpoint = match libsys::names::lookup(server) {
        Ok(e) => e,
        Err(e) => {
            t.check(server, Err(format_args!("lookup: {e}")));
            return;
        }
    };
    let Ok(gift) = Notification::create() else {
        t.check(server, Err(format_args!("notification_create failed")));
        return;
    };
    let forged = MsgInfo {
        flags: MsgInfo::NOTIFICATION,
        ..MsgInfo::new(LABEL_REQUEST)
    };
    let raw = u64::from(endpoint.raw().0);
    let mut first_bad = None;
    for _ in 0..FORGED {
        let mut words = [0; 6];
        words[5] = u64::from(gift.raw().0);
        let result = ipc(
            Syscall::Call,
            raw,
            forged.with_handles(1).encode(),
            100_000_000,
            words,
        );
        let plain = ipc(Syscall::Call, raw, forged.encode(), 100_000_000, [0; 6]);
        if result != Err(SysError::InvalidArgument) || plain != Err(SysError::InvalidArgument) {
            first_bad = Some((result, plain));
            break;
        }
    }
    match first_bad {
        None => t.check(
            "hostile: calls with the forged notification bit: InvalidArgument",
            Ok(()),
        ),
        Some(got) => t.check(
            "hostile: calls with the forged notification bit: InvalidArgument",
            Err(format_args!("{server}: got {got:?}")),
        ),
    }
    // The server still answers (any reply: a malformed request gets one).
    let answer = endpoint.call(&Message::new(LABEL_REQUEST), 2_000_000_000);
    let name = "hostile: the server still answers after the forged calls";
    match answer {
        Ok(_) => t.check(name, Ok(())),
        Err(e) => t.check(name, Err(format_args!("{server}: {e:?}"))),
    }
}

/// `POLL` never blocks, and `call` refuses it.
fn polls(t: &mut Tally) {
    let Ok(kv) = libsys::names::lookup("kv") else {
        t.check("hostile: poll", Err(format_args!("no kv")));
        return;
    };
    let start = Instant::now();
    let call = kv.call(&Message::new(LABEL_REQUEST), POLL);
    t.expect_eq(
        "hostile: call with POLL to a waiting server: InvalidArgument",
        call.map(|_| ()),
        Err(SysError::InvalidArgument),
    );
    let (Ok(ep), Ok(n)) = (Endpoint::create(), Notification::create()) else {
        t.check("hostile: poll", Err(format_args!("create failed")));
        return;
    };
    t.expect_eq(
        "hostile: recv with POLL: WouldBlock",
        ep.recv(POLL).map(|_| ()),
        Err(SysError::WouldBlock),
    );
    t.expect_eq(
        "hostile: send with POLL: WouldBlock",
        ep.send(&Message::new(1), POLL),
        Err(SysError::WouldBlock),
    );
    t.expect_eq(
        "hostile: wait with POLL: WouldBlock",
        n.wait(POLL),
        Err(SysError::WouldBlock),
    );
    let took = start.elapsed();
    let name = "hostile: the POLL calls returned at once";
    if took < SLACK {
        t.check(name, Ok(()));
    } else {
        t.check(name, Err(format_args!("took {took:?}")));
    }
}

/// Checks that `f` returns `TimedOut` within `TIMEOUT` and `SLACK`.
fn timed(t: &mut Tally, name: &str, f: impl FnOnce(u64) -> Result<(), SysError>) {
    let start = Instant::now();
    let result = f(TIMEOUT.as_nanos() as u64);
    let took = start.elapsed();
    if result == Err(SysError::TimedOut) && took >= TIMEOUT && took < TIMEOUT + SLACK {
        t.check(name, Ok(()));
    } else {
        t.check(name, Err(format_args!("got {result:?} after {took:?}")));
    }
}

fn timeouts(t: &mut Tally) {
    let (Ok(ep), Ok(n)) = (Endpoint::create(), Notification::create()) else {
        t.check("hostile: timeouts", Err(format_args!("create failed")));
        return;
    };
    timed(t, "hostile: recv returns by its timeout", |ns| {
        ep.recv(ns).map(|_| ())
    });
    timed(t, "hostile: send returns by its timeout", |ns| {
        ep.send(&Message::new(1), ns)
    });
    timed(
        t,
        "hostile: call returns by its timeout (no receiver)",
        |ns| ep.call(&Message::new(1), ns).map(|_| ()),
    );
    timed(t, "hostile: wait returns by its timeout", |ns| {
        n.wait(ns).map(|_| ())
    });
    // A receiver that takes the call and never answers it.
    let Ok(theirs) = ep.dup(Rights::RECV, None) else {
        t.check("hostile: timeouts", Err(format_args!("dup failed")));
        return;
    };
    let silent = libsys::thread::spawn(move || {
        let _ = theirs.recv(FOREVER);
        // Keeps the reply right unused until the caller gave up.
        libsys::time::sleep(Duration::from_millis(200));
    });
    libsys::time::sleep(Duration::from_millis(20));
    timed(
        t,
        "hostile: call returns by its timeout (the receiver never replies)",
        |ns| ep.call(&Message::new(1), ns).map(|_| ()),
    );
    if let Ok(thread) = silent {
        let _ = thread.join();
    }
}

/// FIFO and round-robin are refused; a normal nice value is not.
fn no_realtime(t: &mut Tally) {
    let Ok(n) = Notification::create() else {
        t.check("hostile: set_sched", Err(format_args!("create failed")));
        return;
    };
    let Ok(n2) = n.dup(Rights::RECV, None) else {
        t.check("hostile: set_sched", Err(format_args!("dup failed")));
        return;
    };
    let Ok(thread) = libsys::thread::spawn(move || {
        let _ = n2.wait(FOREVER);
    }) else {
        t.check("hostile: set_sched", Err(format_args!("spawn failed")));
        return;
    };
    t.expect_eq(
        "hostile: set_sched to FIFO without the right: NotAllowed",
        thread.thread.set_sched(1, 50),
        Err(SysError::NotAllowed),
    );
    t.expect_eq(
        "hostile: set_sched to round-robin without the right: NotAllowed",
        thread.thread.set_sched(2, 1),
        Err(SysError::NotAllowed),
    );
    t.expect_eq(
        "hostile: set_sched to nice 5 is allowed",
        thread.thread.set_sched(0, 5),
        Ok(()),
    );
    let _ = n.signal(1);
    let _ = thread.join();
}

/// `process_watch` cannot grow a kernel list without bound.
fn watch_list_bounded(t: &mut Tally) {
    let Ok(target) = Process::create("watched") else {
        t.check(
            "hostile: process_watch",
            Err(format_args!("process_create failed")),
        );
        return;
    };
    let mut accepted = 0;
    let mut refused = None;
    for _ in 0..1000 {
        let Ok(n) = Notification::create() else {
            break;
        };
        match target.watch(&n, 1) {
            Ok(()) => accepted += 1,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let name = "hostile: process_watch with new notifications: OutOfResources after 64";
    if accepted == 64 && refused == Some(SysError::OutOfResources) {
        t.check(name, Ok(()));
    } else {
        t.check(
            name,
            Err(format_args!("{accepted} accepted, then {refused:?}")),
        );
    }
    let mut same = Ok(());
    if let Ok(n) = Notification::create() {
        // A fresh process: its list is empty.
        if let Ok(other) = Process::create("watched2") {
            for bit in 0..10_000u64 {
                same = other.watch(&n, 1 << (bit % 64));
                if same.is_err() {
                    break;
                }
            }
            let _ = other.kill();
        }
    }
    t.expect_eq(
        "hostile: process_watch through one notification 10,000 times: Ok",
        same,
        Ok(()),
    );
    let _ = target.kill();
}
