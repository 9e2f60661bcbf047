//! `chaos`: the restart-transparency checker (`make chaos`; a short run in
//! `make test`). It kills restartable servers over and over while client
//! threads load them, and checks that every client saw either success or
//! a documented error — never a wrong answer, never a hang — that each
//! server comes back, that a file copied onto ext2 meanwhile is intact,
//! and that no memory leaked.
//!
//! Arguments: `seed=<n>` (every choice: which server, when, what the
//! clients ask) and `kills=<n>`. Its manifest entry needs the `chaos`
//! right: it kills through the name service's `Kill` and learns a
//! restart from `Pid` (`libsys::proto::name`).
//!
//! One kill: wait until the target runs (its `Pid`), let the clients work
//! for a random 10–150 ms, `Kill` it, then measure the **recovery time**
//! until a new process serves it (a new pid) and answers a real request
//! through a fresh lookup (the keyboard driver: a new pid). Meanwhile the
//! killer watches the clients: one that has not finished a call for
//! [`HANG_MS`] hangs, and fails the run.
//!
//! Printed per target: kills, client requests, errors by kind (`died`:
//! `PeerDied`; `restarting`: lookups answered `Unavailable`;
//! `undocumented`: anything else), wrong answers, recovery median and
//! maximum; then the copies and `mm`'s free pages before and after.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod copy;
mod load;

use alloc::vec::Vec;
use core::sync::atomic::Ordering::Relaxed;

use libsys::names::{self, NameError};
use libsys::proto::{devmgr, kv, timer, wait1};
use libsys::{format_text, println};
use userland::fuzz::{number_arg, Rng};
use userland::{Tally, Why};

use load::{now_ms, COUNTERS, LOADED, STOP, TARGETS};

libsys::entry!(main);

/// A client that finished no call for this long hangs.
const HANG_MS: u64 = 20_000;
/// A server that is not back this long after its kill failed to restart
/// (the keyboard driver's back-off in devmgr reaches 6.4 s).
const RECOVER_MS: u64 = 30_000;
/// Pages `mm` may have fewer free after the run than before (its heap
/// and the servers' may settle differently): a leak of a page per kill
/// shows in the long run.
const LEAK_SLACK_PAGES: i64 = 64;

fn main(args: &str) -> u64 {
    let seed = number_arg(args, "seed").unwrap_or(1);
    let kills = number_arg(args, "kills").unwrap_or(30);
    println!("chaos: seed={seed} kills={kills}");
    let mut t = Tally::new();
    let mut clients = Vec::new();
    for i in 0..LOADED {
        match load::start(i, seed) {
            Ok(h) => clients.push(h),
            Err(e) => t.check("chaos: start the clients", Err(format_args!("{e}"))),
        }
    }
    let copier = libsys::thread::spawn(|| {
        let copies = copy::run();
        *COPIES.lock() = Some(copies);
    });
    // The clients warm up (heaps, lookups) and the first copy fills the
    // page cache before memory is counted.
    let start = now_ms();
    while copy::COPIED.load(Relaxed) == 0 && !copy::DONE.load(Relaxed) && now_ms() - start < HANG_MS
    {
        libsys::time::sleep_ms(10);
    }
    let free_before = free_pages();
    let mut recoveries: [Vec<u64>; TARGETS.len()] = Default::default();
    let result = kill_loop(seed, kills, &mut recoveries);
    t.record(
        "chaos: every kill done, every server back, no client hung",
        result,
    );
    STOP.store(true, Relaxed);
    t.record(
        "chaos: every client and the copy end after the run",
        all_ended(),
    );
    for h in clients {
        let _ = h.join();
    }
    if let Ok(h) = copier {
        let _ = h.join();
    }
    report(&mut t, &recoveries);
    t.record("chaos: every server answers after the run", all_answer());
    let free_after = free_pages();
    println!("chaos: mm free pages before {free_before:?} after {free_after:?}");
    t.record(
        "chaos: no pages leaked",
        leak_check(free_before, free_after),
    );
    t.status()
}

static COPIES: libsys::sync::Mutex<Option<copy::Copies>> = libsys::sync::Mutex::new(None);

/// The kills, in a seeded order.
fn kill_loop(seed: u64, kills: u64, recoveries: &mut [Vec<u64>]) -> Result<(), Why> {
    let mut rng = Rng::new(seed);
    for n in 0..kills {
        let i = rng.below(TARGETS.len() as u64) as usize;
        let target = TARGETS[i];
        let pid = wait_running(target)?;
        let until = now_ms() + 10 + rng.below(140);
        while now_ms() < until {
            hang_check()?;
            libsys::time::sleep_ms(5);
        }
        let killed = match names::kill(target) {
            Ok(p) => p,
            Err(e) => return Err(format_text!("kill {n} ({target}): {e}")),
        };
        if killed != pid {
            return Err(format_text!(
                "kill {n}: {target} was pid {pid}, killed {killed}"
            ));
        }
        let start = now_ms();
        recover(target, killed, start)?;
        let took = now_ms() - start;
        recoveries[i].push(took);
        if n % 50 == 0 || took > 5_000 {
            println!("chaos: kill {n}: {target} (pid {killed}) back in {took} ms");
        }
    }
    Ok(())
}

/// The pid of `target` once it runs (it may still be restarting from
/// the previous kill).
fn wait_running(target: &str) -> Result<u64, Why> {
    let start = now_ms();
    loop {
        hang_check()?;
        match names::pid(target) {
            Ok(pid) => return Ok(pid),
            Err(NameError::Unavailable | NameError::NotFound) if now_ms() - start < RECOVER_MS => {
                libsys::time::sleep_ms(5)
            }
            Err(e) => return Err(format_text!("{target} does not run: {e}")),
        }
    }
}

/// Waits until a new process serves `target` and answers a request.
fn recover(target: &str, killed: u64, start: u64) -> Result<(), Why> {
    loop {
        hang_check()?;
        if now_ms() - start > RECOVER_MS {
            return Err(format_text!(
                "{target} not back {RECOVER_MS} ms after its kill"
            ));
        }
        match names::pid(target) {
            Ok(pid) if pid != killed && answers(target) => return Ok(()),
            Ok(_) | Err(NameError::Unavailable | NameError::NotFound) => {}
            Err(e) => return Err(format_text!("{target} after its kill: {e}")),
        }
        libsys::time::sleep_ms(2);
    }
}

/// Whether `target` answers a real request through a fresh lookup.
fn answers(target: &str) -> bool {
    match target {
        "kv" => kv::Client::connect_within(0).is_ok_and(|c| c.stats().is_ok()),
        "timer" => timer::Client::connect_within(0).is_ok_and(|c| c.jiffies().is_ok()),
        "wait1" => wait1::Client::connect_within(0).is_ok_and(|c| c.stats().is_ok()),
        "devmgr" => devmgr::Client::connect_within(0)
            .is_ok_and(|c| c.list_devices(devmgr::Bus::Pci, 0).is_ok()),
        // The keyboard driver has no request of its own: a new pid.
        _ => true,
    }
}

/// Waits (at most [`HANG_MS`]) until every client and the copier have
/// ended (before joining them: a join has no timeout).
fn all_ended() -> Result<(), Why> {
    let start = now_ms();
    while !(copy::DONE.load(Relaxed) && COUNTERS.iter().take(LOADED).all(|c| c.done.load(Relaxed)))
    {
        hang_check()?;
        if now_ms() - start > HANG_MS {
            return Err(format_text!("not ended {HANG_MS} ms after the run"));
        }
        libsys::time::sleep_ms(10);
    }
    Ok(())
}

/// A client (or the copier) that made no progress for [`HANG_MS`] hangs.
fn hang_check() -> Result<(), Why> {
    let now = now_ms();
    let copied = copy::PROGRESS_MS.load(Relaxed);
    if !copy::DONE.load(Relaxed) && now.saturating_sub(copied) > HANG_MS {
        let step = copy::STEPS[copy::STEP.load(Relaxed) as usize % copy::STEPS.len()];
        return Err(format_text!(
            "the copy hangs in {step}: no file call finished for {} ms",
            now - copied
        ));
    }
    for (i, c) in COUNTERS.iter().enumerate().take(LOADED) {
        let last = c.progress_ms.load(Relaxed);
        if !c.done.load(Relaxed) && now.saturating_sub(last) > HANG_MS {
            return Err(format_text!(
                "the {} client hangs: no call finished for {} ms",
                TARGETS[i],
                now - last
            ));
        }
    }
    Ok(())
}

fn median_max(values: &mut [u64]) -> (u64, u64) {
    values.sort_unstable();
    match values {
        [] => (0, 0),
        v => (v[v.len() / 2], v[v.len() - 1]),
    }
}

/// The per-target lines, and a check per target.
fn report(t: &mut Tally, recoveries: &[Vec<u64>]) {
    let mut all: Vec<u64> = Vec::new();
    for (i, target) in TARGETS.iter().enumerate() {
        let c = &COUNTERS[i];
        let mut r = recoveries[i].clone();
        all.extend(&r);
        let (median, max) = median_max(&mut r);
        let (wrong, undocumented) = (c.wrong.load(Relaxed), c.undocumented.load(Relaxed));
        println!(
            "CHAOS {target}: kills={} requests={} died={} restarting={} undocumented={undocumented} wrong={wrong} recovery_median_ms={median} recovery_max_ms={max}",
            r.len(),
            c.requests.load(Relaxed),
            c.died.load(Relaxed),
            c.restarting.load(Relaxed),
        );
        let name = format_text!("chaos: {target}: no wrong answer, no undocumented error");
        let ok = if wrong + undocumented == 0 {
            Ok(())
        } else {
            Err(format_text!("{wrong} wrong, {undocumented} undocumented"))
        };
        t.record(name.as_str(), ok);
    }
    let (median, max) = median_max(&mut all);
    println!(
        "CHAOS all: kills={} recovery_median_ms={median} recovery_max_ms={max}",
        all.len()
    );
    let copies = COPIES.lock().take().unwrap_or_default();
    println!(
        "CHAOS copy: copies={} bytes={} differed={} failed={:?}",
        copies.done, copies.bytes, copies.differed, copies.failed
    );
    let ok = match copies.failed {
        Some((what, e)) => Err(format_text!("{what}: {e}")),
        None if copies.done == 0 => Err(format_text!("no copy finished")),
        None if copies.differed > 0 => Err(format_text!("{} copies differed", copies.differed)),
        None => Ok(()),
    };
    t.record(
        "chaos: copies onto ext2 under the kills equal the source (cmp)",
        ok,
    );
}

fn all_answer() -> Result<(), Why> {
    for target in TARGETS {
        let start = now_ms();
        while !(names::pid(target).is_ok() && answers(target)) {
            if now_ms() - start > RECOVER_MS {
                return Err(format_text!("{target} does not answer"));
            }
            libsys::time::sleep_ms(10);
        }
    }
    Ok(())
}

fn free_pages() -> Option<u64> {
    libsys::mm::system_stats().ok().map(|s| s.free_pages)
}

fn leak_check(before: Option<u64>, after: Option<u64>) -> Result<(), Why> {
    let (Some(before), Some(after)) = (before, after) else {
        return Err(format_text!(
            "mm statistics: before {before:?}, after {after:?}"
        ));
    };
    let lost = before as i64 - after as i64;
    if lost > LEAK_SLACK_PAGES {
        return Err(format_text!("{lost} pages fewer free after the run"));
    }
    Ok(())
}
