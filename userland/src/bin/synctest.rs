//! The synchronisation primitives of `libsys` between threads of this
//! process (run by `init` from the test manifest):
//!
//! - wait queues: every ordinary waiter wakes on one `wake_up`; exclusive
//!   waiters wake one per `wake_up`; `wait_event_timeout` times out, or
//!   returns the time left when the condition comes first;
//! - completions: `complete` lets one waiter through, `complete_all` all;
//!   `reinit` and the timeout;
//! - semaphores: never more holders than units; `down_timeout` times out;
//! - the reader–writer lock: readers inside together, a writer alone, a
//!   writer not starved by a stream of readers;
//! - the seqlock: readers never see a half-written pair;
//! - workqueues: work runs on a worker thread; queued twice before it runs
//!   it runs once; `cancel_work_sync` of a pending item prevents it and
//!   waits for a running one; `flush_work` waits; delayed work runs after
//!   its delay; `mod_delayed_work`; the system workqueue;
//! - delayed work kept by the timer server, and (with `kill=timer` in the
//!   manifest) surviving its restart (`synctest/server_timer.rs`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use core::time::Duration;

use libsys::completion::Completion;
use libsys::format_text;
use libsys::rwlock::RwLock;
use libsys::semaphore::Semaphore;
use libsys::seqlock::SeqLock;
use libsys::thread::{spawn, JoinHandle};
use libsys::time::{sleep_ms, uptime_ns};
use libsys::wait::{TimedOut, WaitQueue};
use libsys::workqueue::{cancel_work_sync, flush_work, schedule_work, system_wq, Work, Workqueue};
use userland::Tally;

#[path = "synctest/server_timer.rs"]
mod server_timer;

libsys::entry!(main);

type Why = libsys::rt::TextBuf<256>;

const MS: u64 = 1_000_000;

fn main(_args: &str) -> u64 {
    let mut t = Tally::new();
    t.record(
        "wait: one wake_up wakes every ordinary waiter",
        ordinary_waiters(),
    );
    t.record(
        "wait: exclusive waiters wake one per wake_up",
        exclusive_waiters(),
    );
    t.record(
        "wait: wait_event_timeout times out, or returns the time left",
        wait_timeout(),
    );
    t.record(
        "completion: complete lets one waiter through, complete_all every one",
        completions(),
    );
    t.record(
        "semaphore: no more holders than units; down_timeout times out",
        semaphores(),
    );
    t.record(
        "rwlock: readers together, a writer alone and not starved",
        rwlock(),
    );
    t.record("seqlock: readers never see a torn pair", seqlock());
    match Workqueue::new("synctest", 1) {
        Ok(wq) => {
            t.record("workqueue: work runs on a worker thread", on_worker(&wq));
            t.record(
                "workqueue: queued twice before it runs, it runs once",
                queued_twice(&wq),
            );
            t.record(
                "workqueue: cancel_work_sync prevents a pending item, waits for a running one",
                cancel(&wq),
            );
            t.record("workqueue: flush_work waits for the run", flush(&wq));
            t.record(
                "workqueue: delayed work runs after its delay; mod_delayed_work moves it",
                delayed(&wq),
            );
            t.record(
                "workqueue: delayed work is kept by the timer server",
                server_timer::kept_by_the_server(&wq),
            );
            // `kill=<h>` in the arguments, ours to own.
            match libsys::env::take_handle("kill").map(libsys::handle::Process) {
                Some(h) => t.record(
                    "workqueue: delayed work survives a timer server restart, runs once, not early",
                    server_timer::survives_a_restart(&wq, h),
                ),
                None => libsys::println!("synctest: no kill handle: no timer restart to test"),
            }
            drop(wq);
            t.check("workqueue: destroyed, its threads ended", Ok(()));
        }
        Err(e) => t.check("workqueue: created", Err(format_args!("{e}"))),
    }
    t.record("workqueue: the system workqueue runs work", system());
    t.status()
}

/// Polls `done` every millisecond for up to `ms`; whether it became true.
fn within(ms: u64, done: impl Fn() -> bool) -> bool {
    let end = uptime_ns() + ms * MS;
    while uptime_ns() < end {
        if done() {
            return true;
        }
        sleep_ms(1);
    }
    done()
}

fn threads(n: usize, body: impl Fn(usize) + Send + Sync + 'static) -> Result<Vec<JoinHandle>, Why> {
    let body = Arc::new(body);
    (0..n)
        .map(|i| {
            let body = body.clone();
            spawn(move || body(i)).map_err(|e| format_text!("spawn: {e}"))
        })
        .collect()
}

fn join(handles: Vec<JoinHandle>) -> Result<(), Why> {
    for h in handles {
        h.join().map_err(|e| format_text!("join: {e}"))?;
    }
    Ok(())
}

fn ordinary_waiters() -> Result<(), Why> {
    let shared = Arc::new((WaitQueue::new(), AtomicBool::new(false), AtomicU32::new(0)));
    let s = shared.clone();
    let waiters = threads(3, move |_| {
        s.0.wait_event(|| s.1.load(Ordering::Acquire));
        s.2.fetch_add(1, Ordering::AcqRel);
    })?;
    sleep_ms(30);
    if shared.2.load(Ordering::Acquire) != 0 {
        return Err(format_text!("a waiter passed before the condition"));
    }
    shared.1.store(true, Ordering::Release);
    shared.0.wake_up();
    join(waiters)?;
    match shared.2.load(Ordering::Acquire) {
        3 => Ok(()),
        n => Err(format_text!("{n} of 3 woke")),
    }
}

fn exclusive_waiters() -> Result<(), Why> {
    let shared = Arc::new((WaitQueue::new(), AtomicBool::new(false), AtomicU32::new(0)));
    let s = shared.clone();
    let waiters = threads(3, move |_| {
        s.0.wait_event_exclusive(|| s.1.load(Ordering::Acquire));
        s.2.fetch_add(1, Ordering::AcqRel);
    })?;
    if !within(2000, || shared.0.active()) {
        return Err(format_text!("no waiter went to sleep"));
    }
    sleep_ms(30);
    // The condition is true for all, but only those woken look again.
    shared.1.store(true, Ordering::Release);
    for expect in 1..=2 {
        shared.0.wake_up();
        if !within(2000, || shared.2.load(Ordering::Acquire) >= expect) {
            return Err(format_text!("wake_up {expect} woke no one"));
        }
        sleep_ms(40);
        let woke = shared.2.load(Ordering::Acquire);
        if woke != expect {
            return Err(format_text!("after {expect} wake_up(s), {woke} woke"));
        }
    }
    shared.0.wake_up_all();
    join(waiters)?;
    Ok(())
}

fn wait_timeout() -> Result<(), Why> {
    let wq = Arc::new(WaitQueue::new());
    let start = uptime_ns();
    match wq.wait_event_timeout(|| false, Duration::from_millis(50)) {
        Err(TimedOut) if uptime_ns() - start >= 50 * MS => {}
        Err(TimedOut) => return Err(format_text!("timed out after {} ns", uptime_ns() - start)),
        Ok(_) => return Err(format_text!("a false condition passed")),
    }
    let flag = Arc::new(AtomicBool::new(false));
    let (w, f) = (wq.clone(), flag.clone());
    let setter = spawn(move || {
        sleep_ms(20);
        f.store(true, Ordering::Release);
        w.wake_up();
    })
    .map_err(|e| format_text!("spawn: {e}"))?;
    let left = wq
        .wait_event_timeout(|| flag.load(Ordering::Acquire), Duration::from_secs(5))
        .map_err(|_| format_text!("timed out though the condition came"))?;
    setter.join().map_err(|e| format_text!("join: {e}"))?;
    if left.is_zero() || left > Duration::from_secs(5) {
        return Err(format_text!("time left {left:?}"));
    }
    Ok(())
}

fn completions() -> Result<(), Why> {
    let shared = Arc::new((Completion::new(), AtomicU32::new(0)));
    let s = shared.clone();
    let waiters = threads(3, move |_| {
        s.0.wait_for_completion();
        s.1.fetch_add(1, Ordering::AcqRel);
    })?;
    sleep_ms(30);
    if shared.1.load(Ordering::Acquire) != 0 {
        return Err(format_text!("a waiter passed before complete"));
    }
    shared.0.complete();
    if !within(2000, || shared.1.load(Ordering::Acquire) == 1) {
        return Err(format_text!("complete let no waiter through"));
    }
    sleep_ms(40);
    if shared.1.load(Ordering::Acquire) != 1 {
        return Err(format_text!("complete let more than one through"));
    }
    shared.0.complete_all();
    join(waiters)?;
    // Done for everyone until reinit.
    shared.0.wait_for_completion();
    if !shared.0.done() {
        return Err(format_text!("complete_all wore off"));
    }
    shared.0.reinit();
    if shared
        .0
        .wait_for_completion_timeout(Duration::from_millis(20))
        != Err(TimedOut)
    {
        return Err(format_text!("passed after reinit"));
    }
    // A complete with no one waiting is kept for the next waiter.
    shared.0.complete();
    shared
        .0
        .wait_for_completion_timeout(Duration::from_millis(20))
        .map_err(|_| format_text!("an early complete was lost"))?;
    Ok(())
}

fn semaphores() -> Result<(), Why> {
    let sem = Semaphore::new(2);
    if !(sem.try_down() && sem.try_down()) || sem.try_down() {
        return Err(format_text!("try_down did not count two units"));
    }
    let start = uptime_ns();
    if sem.down_timeout(Duration::from_millis(30)) != Err(TimedOut) {
        return Err(format_text!("down_timeout took a unit that was not there"));
    }
    if uptime_ns() - start < 30 * MS {
        return Err(format_text!("down_timeout returned early"));
    }
    sem.up();
    sem.up();
    // Four threads, two units: never more than two inside. Many passes, so
    // that a waker preempted in the middle of a wake-up is likely to
    // happen at least once (a lost wake-up there once hung this test).
    const PASSES: u32 = 200;
    let shared = Arc::new((sem, AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)));
    let s = shared.clone();
    let workers = threads(4, move |_| {
        for _ in 0..PASSES {
            s.0.down();
            let inside = s.1.fetch_add(1, Ordering::AcqRel) + 1;
            s.2.fetch_max(inside, Ordering::AcqRel);
            libsys::syscall::yield_now();
            s.1.fetch_sub(1, Ordering::AcqRel);
            s.3.fetch_add(1, Ordering::AcqRel);
            s.0.up();
        }
    })?;
    join(workers)?;
    let (most, done) = (
        shared.2.load(Ordering::Acquire),
        shared.3.load(Ordering::Acquire),
    );
    if most > 2 || done != 4 * PASSES || shared.0.count() != 2 {
        return Err(format_text!(
            "{most} inside at most, {done} of {} passes, {} units left",
            4 * PASSES,
            shared.0.count()
        ));
    }
    Ok(())
}

fn rwlock() -> Result<(), Why> {
    // Readers inside together: each waits, holding the lock, until all
    // three are in.
    let shared = Arc::new((RwLock::new((0u64, 0u64)), AtomicU32::new(0)));
    let s = shared.clone();
    let readers = threads(3, move |_| {
        let _guard = s.0.read();
        s.1.fetch_add(1, Ordering::AcqRel);
        within(2000, || s.1.load(Ordering::Acquire) == 3);
    })?;
    if !within(3000, || shared.1.load(Ordering::Acquire) == 3) {
        return Err(format_text!("readers were not inside together"));
    }
    join(readers)?;
    // A writer waits for a reader inside, and readers see whole writes.
    let reader = shared.0.read();
    let (s, wrote) = (shared.clone(), Arc::new(AtomicBool::new(false)));
    let w = wrote.clone();
    let writer = spawn(move || {
        let mut guard = s.0.write();
        guard.0 += 1;
        guard.1 += 1;
        w.store(true, Ordering::Release);
    })
    .map_err(|e| format_text!("spawn: {e}"))?;
    sleep_ms(30);
    if wrote.load(Ordering::Acquire) {
        return Err(format_text!("a writer got in beside a reader"));
    }
    drop(reader);
    writer.join().map_err(|e| format_text!("join: {e}"))?;
    // A stream of overlapping readers does not keep a writer out.
    let stop = Arc::new(AtomicBool::new(false));
    let (s, st) = (shared.clone(), stop.clone());
    let stream = threads(3, move |_| {
        while !st.load(Ordering::Acquire) {
            let guard = s.0.read();
            if guard.0 != guard.1 {
                panic!("torn under the rwlock");
            }
            sleep_ms(2);
            drop(guard);
        }
    })?;
    sleep_ms(20);
    let start = uptime_ns();
    for _ in 0..5 {
        let mut guard = shared.0.write();
        guard.0 += 1;
        guard.1 += 1;
    }
    let took = uptime_ns() - start;
    stop.store(true, Ordering::Release);
    join(stream)?;
    let value = *shared.0.read();
    if value != (6, 6) {
        return Err(format_text!("value {value:?}, expected (6, 6)"));
    }
    if took > 5_000 * MS {
        return Err(format_text!("5 writes among readers took {} ms", took / MS));
    }
    Ok(())
}

fn seqlock() -> Result<(), Why> {
    const WRITES: u64 = 20_000;
    let shared = Arc::new((SeqLock::new((0u64, 0u64)), AtomicU64::new(0)));
    let s = shared.clone();
    let writer = spawn(move || {
        for i in 1..=WRITES {
            s.0.write(|pair| *pair = (i, i));
        }
    })
    .map_err(|e| format_text!("spawn: {e}"))?;
    let s = shared.clone();
    let readers = threads(2, move |_| {
        let mut last = 0;
        while last < WRITES {
            let (a, b) = s.0.read();
            if a != b || a < last {
                s.1.fetch_add(1, Ordering::AcqRel);
                return;
            }
            last = a;
        }
    })?;
    writer.join().map_err(|e| format_text!("join: {e}"))?;
    join(readers)?;
    match shared.1.load(Ordering::Acquire) {
        0 => Ok(()),
        n => Err(format_text!("{n} readers saw a torn or older pair")),
    }
}

/// Work that counts its runs.
fn counting() -> (Work, Arc<AtomicU32>) {
    let runs = Arc::new(AtomicU32::new(0));
    let r = runs.clone();
    let work = Work::new(move || {
        r.fetch_add(1, Ordering::AcqRel);
    });
    (work, runs)
}

/// Work that keeps the (single) worker busy until the completion.
fn blocker() -> (Work, Arc<Completion>, Arc<AtomicBool>) {
    let (release, started) = (
        Arc::new(Completion::new()),
        Arc::new(AtomicBool::new(false)),
    );
    let (r, s) = (release.clone(), started.clone());
    let work = Work::new(move || {
        s.store(true, Ordering::Release);
        r.wait_for_completion();
    });
    (work, release, started)
}

fn on_worker(wq: &Workqueue) -> Result<(), Why> {
    // The work waits for a flag set after queue_work returns: run inline,
    // it would never see it.
    let (go, saw) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (g, s) = (go.clone(), saw.clone());
    let work = Work::new(move || {
        s.store(
            within(2000, || g.load(Ordering::Acquire)),
            Ordering::Release,
        );
    });
    if !wq.queue_work(&work) {
        return Err(format_text!("an idle item was refused"));
    }
    go.store(true, Ordering::Release);
    flush_work(&work);
    if !saw.load(Ordering::Acquire) {
        return Err(format_text!("the work did not run beside its queuer"));
    }
    Ok(())
}

fn queued_twice(wq: &Workqueue) -> Result<(), Why> {
    let (busy, release, started) = blocker();
    wq.queue_work(&busy);
    within(2000, || started.load(Ordering::Acquire));
    let (work, runs) = counting();
    let (first, second) = (wq.queue_work(&work), wq.queue_work(&work));
    release.complete_all();
    wq.flush();
    match (first, second, runs.load(Ordering::Acquire)) {
        (true, false, 1) => Ok(()),
        (a, b, n) => Err(format_text!("queue_work said {a}, {b}; ran {n} times")),
    }
}

fn cancel(wq: &Workqueue) -> Result<(), Why> {
    let (busy, release, started) = blocker();
    wq.queue_work(&busy);
    within(2000, || started.load(Ordering::Acquire));
    let (work, runs) = counting();
    wq.queue_work(&work);
    let was_pending = cancel_work_sync(&work);
    release.complete_all();
    wq.flush();
    sleep_ms(20);
    if !was_pending || runs.load(Ordering::Acquire) != 0 {
        return Err(format_text!(
            "cancel said {was_pending}; the cancelled item ran {} times",
            runs.load(Ordering::Acquire)
        ));
    }
    if cancel_work_sync(&work) {
        return Err(format_text!("an idle item was reported pending"));
    }
    // A running item: cancel returns after its run ended.
    let (done, started) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (d, s) = (done.clone(), started.clone());
    let work = Work::new(move || {
        s.store(true, Ordering::Release);
        sleep_ms(50);
        d.store(true, Ordering::Release);
    });
    wq.queue_work(&work);
    within(2000, || started.load(Ordering::Acquire));
    let pending = cancel_work_sync(&work);
    if pending || !done.load(Ordering::Acquire) {
        return Err(format_text!(
            "cancel of a running item: pending {pending}, run ended {}",
            done.load(Ordering::Acquire)
        ));
    }
    Ok(())
}

fn flush(wq: &Workqueue) -> Result<(), Why> {
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let work = Work::new(move || {
        sleep_ms(50);
        d.store(true, Ordering::Release);
    });
    wq.queue_work(&work);
    if !flush_work(&work) || !done.load(Ordering::Acquire) {
        return Err(format_text!("flush_work returned before the run ended"));
    }
    if flush_work(&work) {
        return Err(format_text!("flush_work of an idle item waited"));
    }
    Ok(())
}

fn delayed(wq: &Workqueue) -> Result<(), Why> {
    let ran_at = Arc::new(AtomicU64::new(0));
    let r = ran_at.clone();
    let work = Work::new(move || r.store(uptime_ns(), Ordering::Release));
    let queued = uptime_ns();
    if !wq.queue_delayed_work(&work, Duration::from_millis(60)) {
        return Err(format_text!("delayed work refused"));
    }
    if wq.queue_delayed_work(&work, Duration::from_millis(1)) {
        return Err(format_text!("pending delayed work accepted again"));
    }
    flush_work(&work);
    let after = ran_at.load(Ordering::Acquire).saturating_sub(queued);
    if after < 60 * MS {
        return Err(format_text!(
            "ran {} ms after queueing, not ≥ 60",
            after / MS
        ));
    }
    // Queued for 10 s, moved to 20 ms: it runs soon.
    ran_at.store(0, Ordering::Release);
    wq.queue_delayed_work(&work, Duration::from_secs(10));
    let start = uptime_ns();
    if !wq.mod_delayed_work(&work, Duration::from_millis(20)) {
        return Err(format_text!("mod_delayed_work did not see it pending"));
    }
    if !within(3000, || ran_at.load(Ordering::Acquire) != 0) {
        return Err(format_text!("the moved item did not run"));
    }
    let after = ran_at.load(Ordering::Acquire) - start;
    if after < 20 * MS {
        return Err(format_text!("the moved item ran early: {} ms", after / MS));
    }
    // Cancelled on its timer: it never runs.
    ran_at.store(0, Ordering::Release);
    wq.queue_delayed_work(&work, Duration::from_millis(20));
    if !cancel_work_sync(&work) {
        return Err(format_text!("cancel did not see the timer pending"));
    }
    sleep_ms(60);
    if ran_at.load(Ordering::Acquire) != 0 {
        return Err(format_text!("cancelled delayed work ran"));
    }
    Ok(())
}

fn system() -> Result<(), Why> {
    system_wq().map_err(|e| format_text!("system_wq: {e}"))?;
    let (work, runs) = counting();
    if !schedule_work(&work) {
        return Err(format_text!("schedule_work refused an idle item"));
    }
    flush_work(&work);
    match runs.load(Ordering::Acquire) {
        1 => Ok(()),
        n => Err(format_text!("ran {n} times")),
    }
}
