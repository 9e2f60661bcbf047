//! The workqueue's delays kept by the timer server: a delayed item's
//! deadline is a pending timer of the server (its statistics for the
//! workqueue's session say so) and the server's expiry runs it; and, with
//! `kill=<handle>` (the manifest's `kill=timer`), delayed work outlives the
//! server being killed: it runs once, not early, and the timer thread
//! finds the restarted server and re-arms on it.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use core::time::Duration;

use libsys::format_text;
use libsys::handle::Process;
use libsys::time::uptime_ns;
use libsys::workqueue::{flush_work, Work, Workqueue, BACKSTOP_NS};

use super::{within, Why, MS};

/// An item that counts its runs and keeps when it last ran.
fn timed() -> (Work, Arc<AtomicU32>, Arc<AtomicU64>) {
    let (runs, at) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU64::new(0)));
    let (r, a) = (runs.clone(), at.clone());
    let work = Work::new(move || {
        a.store(uptime_ns(), Ordering::Release);
        r.fetch_add(1, Ordering::AcqRel);
    });
    (work, runs, at)
}

/// Whether the server holds a pending timer for the workqueue's session.
fn server_pending(wq: &Workqueue) -> bool {
    wq.server_stats().is_some_and(|s| s.pending == 1)
}

pub fn kept_by_the_server(wq: &Workqueue) -> Result<(), Why> {
    let (work, runs, at) = timed();
    let before = wq.clock_stats();
    let queued = uptime_ns();
    wq.queue_delayed_work(&work, Duration::from_millis(150));
    if !within(100, || server_pending(wq)) {
        return Err(format_text!(
            "no pending timer on the server: {:?}, clock {:?}",
            wq.server_stats(),
            wq.clock_stats()
        ));
    }
    if runs.load(Ordering::Acquire) != 0 {
        return Err(format_text!("ran before its delay"));
    }
    flush_work(&work);
    let after = at.load(Ordering::Acquire).saturating_sub(queued);
    if after < 150 * MS {
        return Err(format_text!(
            "ran {} ms after queueing, not ≥ 150",
            after / MS
        ));
    }
    // The server counts the expiry even if the backstop won the race.
    if !within(500, || {
        wq.server_stats()
            .is_some_and(|s| s.expirations >= 1 && s.pending == 0)
    }) {
        return Err(format_text!(
            "the server did not fire it: {:?}",
            wq.server_stats()
        ));
    }
    let clock = wq.clock_stats();
    if clock.server_arms <= before.server_arms {
        return Err(format_text!("not armed on the server: {clock:?}"));
    }
    libsys::println!(
        "synctest: delayed 150 ms ran after {} us, kept by the timer server ({clock:?})",
        after / 1000
    );
    Ok(())
}

pub fn survives_a_restart(wq: &Workqueue, target: Process) -> Result<(), Why> {
    let (first, first_runs, first_at) = timed();
    let (second, second_runs, second_at) = timed();
    let before = wq.clock_stats();
    let queued = uptime_ns();
    wq.queue_delayed_work(&first, Duration::from_millis(300));
    wq.queue_delayed_work(&second, Duration::from_millis(1500));
    if !within(100, || server_pending(wq)) {
        return Err(format_text!(
            "no pending timer on the server: {:?}",
            wq.server_stats()
        ));
    }
    target.kill().map_err(|e| format_text!("kill: {e}"))?;
    // The first runs by the backstop (the dead server cannot fire it).
    flush_work(&first);
    let late = first_at
        .load(Ordering::Acquire)
        .saturating_sub(queued + 300 * MS);
    if first_at.load(Ordering::Acquire) < queued + 300 * MS {
        return Err(format_text!("the first ran before its delay"));
    }
    // The thread finds the restarted server and hands it the second.
    if !within(1000, || {
        wq.clock_stats().connects > before.connects && server_pending(wq)
    }) {
        return Err(format_text!(
            "not re-armed on the restarted server: {:?}, clock {:?}",
            wq.server_stats(),
            wq.clock_stats()
        ));
    }
    if second_runs.load(Ordering::Acquire) != 0 {
        return Err(format_text!("the second ran before its delay"));
    }
    flush_work(&second);
    let second_after = second_at.load(Ordering::Acquire).saturating_sub(queued);
    if second_after < 1500 * MS {
        return Err(format_text!(
            "the second ran after {} ms, not ≥ 1500",
            second_after / MS
        ));
    }
    super::sleep_ms(50);
    let runs = (
        first_runs.load(Ordering::Acquire),
        second_runs.load(Ordering::Acquire),
    );
    if runs != (1, 1) {
        return Err(format_text!("runs {runs:?}, expected one each"));
    }
    let clock = wq.clock_stats();
    if clock.losses <= before.losses {
        return Err(format_text!("the death went unnoticed: {clock:?}"));
    }
    libsys::println!(
        "synctest: across a timer restart: the first ran {} ms late (backstop {} ms), the second after {} ms ({clock:?})",
        late / MS,
        BACKSTOP_NS / MS,
        second_after / MS
    );
    Ok(())
}
