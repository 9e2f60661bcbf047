//! `timertest`: the timer server in the machine (`init` runs it from
//! `manifest.test`, with pages and its own module to start partner
//! processes, the CMOS ports to read the RTC itself, and a handle that can
//! kill `timer`).
//!
//! - the clocks: `CLOCK_REALTIME` within 2 s of the RTC read here,
//!   `CLOCK_MONOTONIC` and jiffies advance with the TSC; a bad clock is a
//!   typed error;
//! - `sleep(100 ms)` returns after at least 100 ms and (median of five)
//!   less than 100 ms + 2 ticks, by the TSC; a sleep interrupted by
//!   another thread returns the time left;
//! - 1,000 timers from four clients (this process and three partner
//!   processes, each on a session of its own) all fire, each client's in
//!   expiry order; `del_timer` on a pending timer keeps it from firing;
//!   periodic timers re-arm; the per-client timer quota;
//! - malformed requests get error replies and the server keeps serving;
//! - killed with a sleeper and timers pending: the sleeper's call and the
//!   next call on the old handle fail with `PeerDied`; `init` restarts the
//!   server; a new look-up finds it with none of the old timers; jiffies
//!   and `CLOCK_MONOTONIC` read after the restart are not below what they
//!   read before it; and `libsys::time::msleep` sleeps through the
//!   restart.
//!
//! A partner is this program started as `timertest partner session=<h>`: it
//! binds a notification of its own, adds 250 timers at `now + 100 + 2 i`
//! jiffies and checks they fire in order; its exit status is the number
//! that fired in order (250 when all did).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use libsys::abi::ipc::FOREVER;
use libsys::abi::{Handle, ProcessStatus, Rights, SysError};
use libsys::format_text;
use libsys::handle::{Endpoint, Notification, Process};
use libsys::ipc::Message;
use libsys::mem::Memory;
use libsys::port::{inb, outb};
use libsys::proto::timer::{
    Client, ClientError, Expiry, Reply, Request, TimerError, CLOCK_MONOTONIC, CLOCK_REALTIME, HZ,
    TICK_NS, TIMERS_PER_CLIENT,
};
use libsys::rpc::{self, RpcError, LABEL_BAD_REQUEST, LABEL_REQUEST};
use libsys::spawn::Builder;
use libsys::time::Instant;
use userland::{wait_exit, want, Tally};

libsys::entry!(main);

type Why = libsys::rt::TextBuf<256>;

/// Timers each of the four clients adds.
const TIMERS_EACH: u64 = 250;
const PARTNERS: usize = 3;

fn main(args: &str) -> u64 {
    let mut words = args.split_whitespace();
    if words.next() == Some("partner") {
        // `session=<h>`: the handle the test gave us, ours to own.
        return match libsys::env::take_handle("session") {
            Some(session) => partner(Endpoint(session)),
            None => 999,
        };
    }
    let mut t = Tally::new();
    let client = match Client::connect() {
        Ok(c) => c,
        Err(e) => {
            t.check("timer: connect", Err(format_args!("{e}")));
            return t.status();
        }
    };
    t.record("timer: clocks, jiffies and the RTC", clocks(&client));
    t.record(
        "timer: sleep(100 ms) takes >= 100 ms and < 100 ms + 2 ticks",
        sleep_precision(),
    );
    t.record(
        "timer: an interrupted sleep returns the time left",
        interrupted_sleep(),
    );
    let notification = match Notification::create() {
        Ok(n) => n,
        Err(e) => {
            t.check("timer: notification", Err(format_args!("{e}")));
            return t.status();
        }
    };
    t.record("timer: bind a notification", bind(&client, &notification));
    t.record(
        "timer: del_timer on a pending timer keeps it from firing; mod_timer",
        del_and_mod(&client, &notification),
    );
    t.record(
        "timer: a periodic timer re-arms",
        periodic(&client, &notification),
    );
    t.record(
        "timer: 1,000 timers from four processes all fire, in order",
        thousand(&client, &notification, args),
    );
    t.record("timer: the per-client timer quota", quota(&client));
    t.record(
        "timer: malformed requests get error replies; the server keeps serving",
        malformed(&client),
    );
    // `kill=<h>` in the arguments, ours to own.
    match libsys::env::take_handle("kill").map(Process) {
        Some(h) => t.record(
            "timer: killed with timers and a sleeper pending: PeerDied, restart, look up again; jiffies and MONOTONIC do not go backwards",
            killed(client, &notification, h),
        ),
        None => libsys::println!("timertest: no kill handle: no restart to test"),
    }
    t.status()
}

fn step<T>(what: &str, result: Result<T, ClientError>) -> Result<T, Why> {
    result.map_err(|e| format_text!("{what}: {e}"))
}

/// The RTC, read here through the CMOS ports `init` gave: seconds since
/// the epoch.
fn read_rtc() -> Result<i64, Why> {
    let ports =
        libsys::env::io_ports(0x70, 2).ok_or_else(|| format_text!("no CMOS ports given"))?;
    ports
        .grant(0x70, 2)
        .map_err(|e| format_text!("open the CMOS ports: {e}"))?;
    let read = |register: u8| {
        outb(0x70, register);
        inb(0x71)
    };
    let readings =
        core::iter::repeat_with(|| timer::rtc::RtcRegisters::read_with(read, None)).take(5000);
    let reading =
        timer::rtc::consistent_reading(readings).map_err(|e| format_text!("RTC: {e:?}"))?;
    reading
        .decode()
        .map(|d| d.to_unix_seconds())
        .map_err(|e| format_text!("RTC: {e:?}"))
}

fn clocks(timer: &Client) -> Result<(), Why> {
    let rtc = read_rtc()?;
    let (sec, nsec) = step("REALTIME", timer.clock_gettime(CLOCK_REALTIME))?;
    if (sec - rtc).abs() > 2 || nsec >= 1_000_000_000 {
        return Err(format_text!("REALTIME {sec}.{nsec:09}, RTC {rtc}"));
    }
    let (m1, n1) = step("MONOTONIC", timer.clock_gettime(CLOCK_MONOTONIC))?;
    let j1 = step("jiffies", timer.jiffies())?;
    let start = Instant::now();
    libsys::time::sleep_ms(50);
    let waited = start.elapsed().as_nanos() as i128;
    let (m2, n2) = step("MONOTONIC", timer.clock_gettime(CLOCK_MONOTONIC))?;
    let j2 = step("jiffies", timer.jiffies())?;
    let monotonic = (m2 - m1) as i128 * 1_000_000_000 + n2 as i128 - n1 as i128;
    if monotonic < waited - 1_000_000 || monotonic > waited + 20_000_000 {
        return Err(format_text!(
            "MONOTONIC moved {monotonic} ns in {waited} ns"
        ));
    }
    let ticks = j2.wrapping_sub(j1) as i128;
    let expected = waited / TICK_NS as i128;
    if (ticks - expected).abs() > 3 {
        return Err(format_text!(
            "jiffies moved {ticks} in {waited} ns at HZ={HZ}"
        ));
    }
    want(
        "a bad clock",
        timer.clock_gettime(7),
        Err(ClientError::Timer(TimerError::InvalidClock)),
    )?;
    let via_libsys = libsys::time::clock_gettime(CLOCK_REALTIME)
        .map_err(|e| format_text!("libsys clock_gettime: {e}"))?;
    if (via_libsys.as_secs() as i64 - rtc).abs() > 2 {
        return Err(format_text!("libsys REALTIME {via_libsys:?}, RTC {rtc}"));
    }
    libsys::println!("timertest: RTC {rtc}, REALTIME {sec}.{nsec:09}, jiffies {j2}");
    Ok(())
}

fn sleep_precision() -> Result<(), Why> {
    let asked = 100_000_000u64;
    let mut took = [0u64; 5];
    for slot in took.iter_mut() {
        let start = Instant::now();
        let left = libsys::time::nanosleep(asked);
        *slot = start.elapsed().as_nanos() as u64;
        want("time left", left, 0)?;
        if *slot < asked {
            return Err(format_text!("slept {} ns, asked {asked}", *slot));
        }
    }
    let mut sorted = took;
    sorted.sort_unstable();
    libsys::println!(
        "timertest: sleep(100 ms) took {:?} us",
        took.map(|ns| ns / 1000)
    );
    if sorted[2] >= asked + 2 * TICK_NS {
        return Err(format_text!(
            "median {} ns, limit {}",
            sorted[2],
            asked + 2 * TICK_NS
        ));
    }
    Ok(())
}

static LEFT: AtomicU64 = AtomicU64::new(u64::MAX);

fn interrupted_sleep() -> Result<(), Why> {
    let sleeper = libsys::thread::spawn(|| {
        LEFT.store(libsys::time::nanosleep(2_000_000_000), Ordering::Relaxed);
    })
    .map_err(|e| format_text!("spawn: {e}"))?;
    libsys::time::msleep(100);
    let woken = libsys::time::interrupt().map_err(|e| format_text!("interrupt: {e}"))?;
    sleeper.join().map_err(|e| format_text!("join: {e}"))?;
    want("sleepers woken", woken, 1)?;
    let left = LEFT.load(Ordering::Relaxed);
    if !(1_700_000_000..2_000_000_000).contains(&left) {
        return Err(format_text!("{left} ns left of 2 s after about 100 ms"));
    }
    Ok(())
}

fn bind(timer: &Client, notification: &Notification) -> Result<(), Why> {
    want(
        "add before bind",
        timer.add_timer(Expiry::After(1), 0, 0),
        Err(ClientError::Timer(TimerError::NotBound)),
    )?;
    step("bind", timer.bind(notification))
}

/// Waits up to `ns` for any of `bits`; the bits seen (all of them).
fn wait_bits(notification: &Notification, ns: u64) -> u64 {
    notification.wait(ns).unwrap_or(0)
}

fn del_and_mod(timer: &Client, notification: &Notification) -> Result<(), Why> {
    let _ = notification.poll();
    let (id, _) = step("add", timer.add_timer(Expiry::After(40_000_000), 0, 5))?;
    want("del pending", timer.del_timer(id), Ok(true))?;
    want(
        "del again",
        timer.del_timer(id),
        Err(ClientError::Timer(TimerError::NoSuchTimer)),
    )?;
    let (keep, _) = step("add", timer.add_timer(Expiry::After(200_000_000), 0, 6))?;
    // Brought forward: was pending.
    want(
        "mod pending",
        timer.mod_timer(keep, Expiry::After(20_000_000)),
        Ok(true),
    )?;
    let start = Instant::now();
    let bits = wait_bits(notification, 1_000_000_000);
    let took = start.elapsed();
    want(
        "the modified timer fired, the deleted one did not",
        bits,
        1 << 6,
    )?;
    if took > Duration::from_millis(150) {
        return Err(format_text!("the modified timer fired after {took:?}"));
    }
    libsys::time::msleep(60);
    want("nothing more", notification.poll().unwrap_or(0), 0)?;
    want(
        "fired: not pending",
        timer.mod_timer(keep, Expiry::After(1_000_000_000)),
        Ok(false),
    )?;
    want("del", timer.del_timer(keep), Ok(true))?;
    let stats = step("stats", timer.stats())?;
    want("no timers left", (stats.pending, stats.timers), (0, 0))
}

fn periodic(timer: &Client, notification: &Notification) -> Result<(), Why> {
    let _ = notification.poll();
    let (id, _) = step("add", timer.add_timer(Expiry::After(1), 2 * TICK_NS, 7))?;
    let mut fired = 0;
    let start = Instant::now();
    while fired < 5 && start.elapsed() < Duration::from_secs(2) {
        if wait_bits(notification, 500_000_000) & 1 << 7 != 0 {
            fired += 1;
        }
    }
    want("del", timer.del_timer(id), Ok(true))?;
    want("fired five times", fired, 5)?;
    let took = start.elapsed();
    if took < Duration::from_nanos(8 * TICK_NS) {
        return Err(format_text!("five periods of 2 ticks in {took:?}"));
    }
    Ok(())
}

/// Adds `TIMERS_EACH` timers at `now + ADD_MARGIN + 2 i` jiffies, in a
/// scrambled order, and waits for them: how many fired in order (stops at
/// the first out of order). The four clients run this at about the same
/// time, so their timers interleave in the server's wheel.
fn fire_in_order(timer: &Client, notification: &Notification) -> Result<u64, Why> {
    let _ = notification.poll();
    // No timer may expire while the others are still being added (it would
    // fire in add order, not expiry order): on a busy host the 250 adds
    // can take a few hundred milliseconds.
    const ADD_MARGIN: u64 = 100;
    let base = step("jiffies", timer.jiffies())?.saturating_add(ADD_MARGIN);
    let mut ids = [0u64; TIMERS_EACH as usize];
    for k in 0..TIMERS_EACH {
        let i = k * 97 % TIMERS_EACH;
        let when = Expiry::At(base.wrapping_add(2 * i));
        let (id, _) = step("add", timer.add_timer(when, 0, (i % 64) as u8))?;
        ids[i as usize] = id;
    }
    let mut next = 0u64;
    let deadline = Instant::now();
    while next < TIMERS_EACH && deadline.elapsed() < Duration::from_secs(10) {
        let bits = wait_bits(notification, 1_000_000_000);
        if bits == 0 {
            continue;
        }
        // The bits must be exactly those of the next timers, in order.
        let count = bits.count_ones() as u64;
        let mut expected = 0u64;
        for i in next..(next + count).min(TIMERS_EACH) {
            expected |= 1 << (i % 64);
        }
        if bits != expected {
            return Err(format_text!(
                "after {next} timers, bits {bits:#x}, expected {expected:#x}"
            ));
        }
        next += count;
    }
    for id in ids {
        let _ = timer.del_timer(id);
    }
    Ok(next)
}

fn thousand(timer: &Client, notification: &Notification, args: &str) -> Result<(), Why> {
    let _ = args;
    let me = libsys::env::self_process().ok_or_else(|| format_text!("no self handle"))?;
    let (region, pages) =
        libsys::env::memory_region().ok_or_else(|| format_text!("no memory= pages"))?;
    let mut mem = Memory::new(me, region, pages);
    let image = libsys::env::own_module().ok_or_else(|| format_text!("no own module"))?;
    let mut partners = Vec::new();
    for _ in 0..PARTNERS {
        let session = step("session", timer.session())?;
        let builder = Builder::new(&mut mem, "timer-partner", image.0, image.1)
            .map_err(|e| format_text!("build a partner: {e}"))?;
        let theirs = builder
            .give(session.raw(), Rights::SEND | Rights::GRANT)
            .map_err(|e| format_text!("give: {e}"))?;
        let child = builder
            .start(format_text!("partner session={}", theirs.0).as_str())
            .map_err(|e| format_text!("start a partner: {e}"))?;
        partners.push(child);
    }
    let mine = fire_in_order(timer, notification)?;
    want("this process's timers fired in order", mine, TIMERS_EACH)?;
    for child in &partners {
        let status = wait_exit(&child.process, Duration::from_secs(20))?;
        want(
            "a partner's timers fired in order",
            status,
            ProcessStatus::Exited(TIMERS_EACH),
        )?;
    }
    let stats = step("stats", timer.stats())?;
    want("none left", stats.timers, 0)?;
    if stats.all_expirations < 4 * TIMERS_EACH {
        return Err(format_text!("{} expirations in all", stats.all_expirations));
    }
    libsys::println!(
        "timertest: 1000 timers fired; late-by histogram (ticks: 0, 1, 2-3, ...) {:?}",
        &stats.late[..6]
    );
    Ok(())
}

/// A partner process: a client of its own through `session`.
fn partner(session: Endpoint) -> u64 {
    let timer = Client::from_endpoint(session);
    let Ok(notification) = Notification::create() else {
        return 1000;
    };
    if timer.bind(&notification).is_err() {
        return 1001;
    }
    match fire_in_order(&timer, &notification) {
        Ok(n) => n,
        Err(why) => {
            libsys::eprintln!("timertest partner: {why}");
            1002
        }
    }
}

fn quota(timer: &Client) -> Result<(), Why> {
    let mut ids = Vec::new();
    for _ in 0..TIMERS_PER_CLIENT {
        let (id, _) = step("add", timer.add_timer(Expiry::After(60_000_000_000), 0, 1))?;
        ids.push(id);
    }
    let over = timer.add_timer(Expiry::After(1), 0, 1);
    for id in ids {
        step("del", timer.del_timer(id))?;
    }
    want(
        "one over the quota",
        over.err(),
        Some(ClientError::Timer(TimerError::TooManyTimers)),
    )?;
    want(
        "a bad bit",
        timer.add_timer(Expiry::After(1), 0, 64).err(),
        Some(ClientError::Timer(TimerError::InvalidBit)),
    )?;
    want(
        "another client's id",
        timer.del_timer(0x1234_5678),
        Err(ClientError::Timer(TimerError::NoSuchTimer)),
    )
}

fn malformed(timer: &Client) -> Result<(), Why> {
    let ep = timer.endpoint();
    let raw = |label: u32, bytes: &[u8], handles: &[Handle]| {
        let length = libsys::ipc::write_payload(bytes)?;
        let msg = Message::new(label)
            .with_payload(length)
            .with_handles(handles);
        ep.call(&msg, FOREVER).map(|m| m.label())
    };
    for bytes in [&[][..], &[0xff, 0xff, 0xff][..], &[2, 0x80][..], &[11][..]] {
        want(
            "garbage",
            raw(LABEL_REQUEST, bytes, &[]),
            Ok(LABEL_BAD_REQUEST),
        )?;
    }
    want("not a request", raw(77, &[1], &[]), Ok(LABEL_BAD_REQUEST))?;
    // A request other than Bind that carries a handle.
    let extra = Notification::create().map_err(|e| format_text!("notification: {e}"))?;
    let mut jiffies = [0u8; 8];
    let n = rpc::encode(&Request::Jiffies, &mut jiffies).map_err(|e| format_text!("{e}"))?;
    want(
        "a handle on Jiffies",
        raw(LABEL_REQUEST, &jiffies[..n], &[extra.raw()]),
        Ok(LABEL_BAD_REQUEST),
    )?;
    // Bind without a handle, and with one that is not a notification.
    want(
        "Bind without a handle",
        rpc::call::<Request, Reply>(ep, &Request::Bind),
        Ok(Reply::Error(TimerError::NoHandle)),
    )?;
    let not_a_notification = Endpoint::create().map_err(|e| format_text!("endpoint: {e}"))?;
    want(
        "Bind with an endpoint",
        rpc::call_with::<Request, Reply>(ep, &Request::Bind, &[not_a_notification.raw()])
            .map(|(r, _)| r),
        Ok(Reply::Error(TimerError::NoHandle)),
    )?;
    want(
        "a session through a session",
        Client::from_endpoint(step("session", timer.session())?)
            .session()
            .err(),
        Some(ClientError::Timer(TimerError::TooManySessions)),
    )?;
    step("still serving", timer.jiffies()).map(|_| ())
}

static SLEEP_RESULT: AtomicU64 = AtomicU64::new(0);
static MSLEEP_TOOK: AtomicU64 = AtomicU64::new(0);

fn killed(timer: Client, notification: &Notification, target: Process) -> Result<(), Why> {
    for i in 0..10 {
        step(
            "add",
            timer.add_timer(Expiry::After(5_000_000_000 + i), 0, 9),
        )?;
    }
    // A sleeper on the stub: it must see the death.
    let raw_sleeper = libsys::thread::spawn(|| {
        let code = match Client::connect() {
            Ok(c) => match c.sleep(5_000_000_000) {
                Err(e) if e.peer_died() => 1,
                Ok(_) => 2,
                Err(_) => 3,
            },
            Err(_) => 4,
        };
        SLEEP_RESULT.store(code, Ordering::Relaxed);
    })
    .map_err(|e| format_text!("spawn: {e}"))?;
    // A sleeper through libsys::time: it sleeps through the restart.
    let msleeper = libsys::thread::spawn(|| {
        let start = Instant::now();
        libsys::time::msleep(400);
        MSLEEP_TOOK.store(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    })
    .map_err(|e| format_text!("spawn: {e}"))?;
    libsys::time::sleep_ms(100);
    let jiffies_before = step("jiffies before the kill", timer.jiffies())?;
    let monotonic_before = step(
        "MONOTONIC before the kill",
        timer.clock_gettime(CLOCK_MONOTONIC),
    )?;
    target.kill().map_err(|e| format_text!("kill: {e}"))?;
    raw_sleeper.join().map_err(|e| format_text!("join: {e}"))?;
    want(
        "the sleeper's call",
        SLEEP_RESULT.load(Ordering::Relaxed),
        1,
    )?;
    want(
        "the next call on the old handle",
        timer.jiffies().err(),
        Some(ClientError::Rpc(RpcError::Sys(SysError::PeerDied))),
    )?;
    let again = Client::connect_within(5_000)
        .map_err(|e| format_text!("look up after the restart: {e}"))?;
    let jiffies_after = step("jiffies after the restart", again.jiffies())?;
    let monotonic_after = step(
        "MONOTONIC after the restart",
        again.clock_gettime(CLOCK_MONOTONIC),
    )?;
    if jiffies_after < jiffies_before || monotonic_after < monotonic_before {
        return Err(format_text!(
            "time went backwards across the restart: jiffies {jiffies_before} -> \
             {jiffies_after}, MONOTONIC {monotonic_before:?} -> {monotonic_after:?}"
        ));
    }
    let stats = step("stats after the restart", again.stats())?;
    want(
        "the old timers are gone",
        (stats.timers, stats.pending),
        (0, 0),
    )?;
    want(
        "not bound any more",
        again.add_timer(Expiry::After(1), 0, 9).err(),
        Some(ClientError::Timer(TimerError::NotBound)),
    )?;
    step("bind again", again.bind(notification))?;
    let _ = notification.poll();
    step(
        "add again",
        again.add_timer(Expiry::After(10_000_000), 0, 9),
    )?;
    want(
        "a re-added timer fires",
        wait_bits(notification, 1_000_000_000),
        1 << 9,
    )?;
    msleeper.join().map_err(|e| format_text!("join: {e}"))?;
    let took = MSLEEP_TOOK.load(Ordering::Relaxed);
    if took < 400_000_000 {
        return Err(format_text!(
            "msleep(400) across the restart took {took} ns"
        ));
    }
    Ok(())
}
