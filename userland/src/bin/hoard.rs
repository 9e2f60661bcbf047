//! `hoard`: a hostile client that tries to take all of a server's
//! resources, and the check that the server's per-client bounds stop it
//! with a typed error while another client is still served (issue 17,
//! "servers defend themselves"). Run by `init` from `manifest.test` with
//! the `spawn` right: the *other* client is a child it has `init` spawn
//! from its own module (`hoard other <server>`), a process of its own with
//! its own badge.
//!
//! - `kv`: [`kv::QUOTA_KEYS`] keys, then `QuotaKeys`; values up to
//!   [`kv::QUOTA_BYTES`], then `QuotaBytes`; the other client puts and
//!   gets a key meanwhile.
//! - `timer`: [`timer::TIMERS_PER_CLIENT`] pending timers, then
//!   `TooManyTimers`; the other client adds a timer and reads jiffies.
//! - `wait1`: [`wait1::WAITERS_PER_CLIENT`] of its threads blocked
//!   reading the empty device, then `TooManyWaiters` for one more; the
//!   other client's blocking read is still queued (the device's 64 slots
//!   are not one client's), and is served in turn when bytes come.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use core::time::Duration;

use libsys::abi::ProcessStatus;
use libsys::format_text;
use libsys::handle::Notification;
use libsys::proto::spawn::{spawn, Arg, Spawn};
use libsys::proto::timer::Expiry;
use libsys::proto::{kv, timer, wait1};
use userland::{wait_exit, Tally, Why};

libsys::entry!(main);

fn main(args: &str) -> u64 {
    let words: Vec<&str> = args.split_whitespace().collect();
    if let ["other", server, ..] = words.as_slice() {
        return other(server);
    }
    let mut t = Tally::new();
    t.record(
        "hoard: kv stops a client at its keys and bytes; another is served",
        hoard_kv(),
    );
    t.record(
        "hoard: timer stops a client at its timers; another is served",
        hoard_timer(),
    );
    t.record(
        "hoard: wait1 stops a client at its share of waiters; another waits and is served",
        hoard_wait1(),
    );
    t.status()
}

/// Has `init` spawn `hoard other <server>` and returns it (the pid and
/// process).
fn spawn_other(server: &str) -> Result<libsys::handle::Process, Why> {
    let mut s = Spawn::module("hoard").ok_or_else(|| format_text!("module name"))?;
    for a in ["other", server] {
        s.args
            .push(Arg::try_from(a).map_err(|_| format_text!("arg"))?)
            .map_err(|_| format_text!("args"))?;
    }
    spawn(&s, &[])
        .map(|(_, p)| p)
        .map_err(|e| format_text!("spawn the other client: {e}"))
}

/// Waits for the other client: it exits 0 when it was served.
fn other_served(process: libsys::handle::Process) -> Result<(), Why> {
    match wait_exit(&process, Duration::from_secs(30))? {
        ProcessStatus::Exited(0) => Ok(()),
        status => Err(format_text!("the other client: {status:?}")),
    }
}

fn key(i: u32) -> alloc::string::String {
    alloc::format!("h{i}")
}

fn hoard_kv() -> Result<(), Why> {
    let kv = kv::Client::connect().map_err(|e| format_text!("connect: {e}"))?;
    for i in 0..kv::QUOTA_KEYS {
        kv.put(&key(i), b"x")
            .map_err(|e| format_text!("put {i}: {e}"))?;
    }
    match kv.put("one-more", b"x") {
        Err(kv::ClientError::Kv(kv::KvError::QuotaKeys)) => {}
        other => {
            return Err(format_text!(
                "key {} past the quota: {other:?}",
                kv::QUOTA_KEYS
            ))
        }
    }
    // Bytes: grow the values until the byte quota refuses one.
    let big = [b'b'; kv::VALUE_MAX];
    let mut refused = false;
    for i in 0..kv::QUOTA_KEYS {
        match kv.put(&key(i), &big) {
            Ok(()) => {}
            Err(kv::ClientError::Kv(kv::KvError::QuotaBytes)) => {
                refused = true;
                break;
            }
            Err(e) => return Err(format_text!("growing value {i}: {e}")),
        }
    }
    let (_, bytes) = kv.stats().map_err(|e| format_text!("stats: {e}"))?;
    if !refused || bytes > kv::QUOTA_BYTES {
        return Err(format_text!("bytes: refused {refused}, holding {bytes}"));
    }
    let served = other_served(spawn_other("kv")?);
    for i in 0..kv::QUOTA_KEYS {
        let _ = kv.delete(&key(i));
    }
    served
}

fn hoard_timer() -> Result<(), Why> {
    let timer = timer::Client::connect().map_err(|e| format_text!("connect: {e}"))?;
    let n = Notification::create().map_err(|e| format_text!("notification: {e}"))?;
    timer.bind(&n).map_err(|e| format_text!("bind: {e}"))?;
    let hour = Expiry::After(3_600_000_000_000);
    let mut ids = Vec::new();
    let result = (|| {
        for i in 0..timer::TIMERS_PER_CLIENT {
            let (id, _) = timer
                .add_timer(hour, 0, 0)
                .map_err(|e| format_text!("timer {i}: {e}"))?;
            ids.push(id);
        }
        match timer.add_timer(hour, 0, 0) {
            Err(timer::ClientError::Timer(timer::TimerError::TooManyTimers)) => {}
            other => {
                return Err(format_text!(
                    "timer {} past the bound: {other:?}",
                    timer::TIMERS_PER_CLIENT
                ))
            }
        }
        other_served(spawn_other("timer")?)
    })();
    for id in ids {
        let _ = timer.del_timer(id);
    }
    result
}

fn hoard_wait1() -> Result<(), Why> {
    let dev = wait1::Client::connect().map_err(|e| format_text!("connect: {e}"))?;
    // Empty it (an earlier test may have left bytes).
    while dev.read_nonblock(wait1::READ_MAX).is_ok() {}
    let mut readers = Vec::new();
    for _ in 0..wait1::WAITERS_PER_CLIENT {
        let h = libsys::thread::spawn(|| {
            if let Ok(d) = wait1::Client::connect() {
                let _ = d.read(1);
            }
        })
        .map_err(|e| format_text!("thread: {e}"))?;
        readers.push(h);
    }
    wait_blocked(&dev, wait1::WAITERS_PER_CLIENT as u32)?;
    let over = dev.read(1);
    let other = spawn_other("wait1")?;
    let admitted = wait_blocked(&dev, wait1::WAITERS_PER_CLIENT as u32 + 1);
    // Bytes for every reader: ours first, then the other's.
    let bytes = [b'w'; wait1::WAITERS_PER_CLIENT + 1];
    let written = dev.write(&bytes);
    for h in readers {
        let _ = h.join();
    }
    let served = other_served(other);
    match over {
        Err(wait1::ClientError::Wait1(wait1::Wait1Error::TooManyWaiters)) => {}
        other => {
            return Err(format_text!(
                "waiter {} past the share: {other:?}",
                wait1::WAITERS_PER_CLIENT
            ))
        }
    }
    admitted.map_err(|e| format_text!("the other client was not queued: {e}"))?;
    written.map_err(|e| format_text!("write: {e}"))?;
    served
}

/// Waits until `n` readers are blocked on the device (at most 10 s).
fn wait_blocked(dev: &wait1::Client, n: u32) -> Result<(), Why> {
    for _ in 0..1000 {
        let stats = dev.stats().map_err(|e| format_text!("stats: {e}"))?;
        if stats.readers_blocked >= n {
            return Ok(());
        }
        libsys::time::sleep_ms(10);
    }
    Err(format_text!("fewer than {n} readers blocked"))
}

/// The other client: one ordinary request of `server`; exit 0 if served.
fn other(server: &str) -> u64 {
    let served = match server {
        "kv" => kv::Client::connect().is_ok_and(|kv| {
            kv.put("other", b"served").is_ok()
                && kv.get("other").is_ok_and(|v| &v[..] == b"served")
                && kv.delete("other").is_ok()
        }),
        "timer" => timer::Client::connect().is_ok_and(|timer| {
            let Ok(n) = Notification::create() else {
                return false;
            };
            timer.bind(&n).is_ok()
                && timer
                    .add_timer(Expiry::After(1_000_000), 0, 1)
                    .is_ok_and(|_| n.wait(2_000_000_000).is_ok())
                && timer.jiffies().is_ok()
        }),
        // A blocking read: queued although the hoarder holds its share,
        // answered when the hoarder writes.
        "wait1" => wait1::Client::connect().is_ok_and(|d| d.read(1).is_ok_and(|b| b.len() == 1)),
        _ => false,
    };
    u64::from(!served)
}
