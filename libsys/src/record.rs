//! Recording a server's IPC for replay on the host (docs/labs/README.md,
//! "Record and replay").
//!
//! A server started with the word `record` among its arguments (the
//! manifest's `-- record`, or `module_cmdline: record` on its boot module,
//! which `init` appends) logs every event of its serving loop
//! ([`crate::server::serve`]) as text lines in the kernel log, which the
//! harness reads from the debug channel:
//!
//! ```text
//! REC kv req <badge> <label> <len>          a request in (payload bytes follow)
//! REC kv now <label> <len>                  its reply at once (bytes follow)
//! REC kv later <token>                      deferred under <token>
//! REC kv deliver <token> <label> ok|gone <len>  a completion sent (bytes follow)
//! REC kv signal <bits>                      notification bits in
//! REC timer tsc <value>                     any other event (`line`)
//! REC kv + <hex>                            up to 64 bytes of the event above
//! ```
//!
//! With `record=<lines>` instead of `record`, the first `<lines>` lines
//! (whole events) are written, then `REC kv end`, and no more.
//!
//! A log record is at most 256 bytes, so payloads go out 64 bytes (128 hex
//! digits) a line. The host tool `lab` (tests/lab) turns the lines into a
//! trace file and replays it against the server's core built for the host.
//!
//! What is recorded is what crosses the server's endpoint: enough to
//! replay a core whose replies depend only on its requests (kv, wait1).
//! A core that also calls out (the timer on the clock, mm on the
//! machine, vfs on a disk) needs those calls recorded too, as [`line`]s;
//! docs/labs/README.md says how, and `timer::record` does it.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Payload bytes per continuation line.
pub const BYTES_PER_LINE: usize = 64;

static ENABLED: AtomicBool = AtomicBool::new(false);
/// The most lines the recording writes (`record=<lines>`).
static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
/// The lines it wrote.
#[cfg(all(feature = "rt", target_os = "none"))]
static WRITTEN: AtomicUsize = AtomicUsize::new(0);
static NAME: spin::Once<heapless::String<16>> = spin::Once::new();

/// What the word `record` among `args` asks: `None` if it is not there,
/// `Some(None)` for `record` (everything), `Some(Some(n))` for
/// `record=<n>`: the first `n` lines, then an `end` line and no more (a
/// busy server's trace kept small; the replay stops at the `end`).
pub fn asked<'a>(args: impl IntoIterator<Item = &'a str>) -> Option<Option<usize>> {
    args.into_iter()
        .find_map(|word| match word.strip_prefix("record") {
            Some("") => Some(None),
            Some(n) => n.strip_prefix('=')?.parse().ok().map(Some),
            None => None,
        })
}

/// Starts recording under `name` (cut to 16 bytes) if the process's
/// arguments hold the word `record` (or `record=<lines>`). Returns
/// whether it records.
pub fn start_if_asked(name: &str) -> bool {
    let Some(limit) = asked(crate::env::argv()) else {
        return false;
    };
    LIMIT.store(limit.unwrap_or(usize::MAX), Ordering::Relaxed);
    let mut short = heapless::String::new();
    for c in name.chars() {
        if short.push(c).is_err() {
            break;
        }
    }
    NAME.call_once(|| short);
    ENABLED.store(true, Ordering::Relaxed);
    true
}

/// Whether this process records. Inlined: a server's hot path checks
/// it before building an event, at the cost of a load and a branch.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The lines of one event: `header` (after `REC <name> `) then `bytes` in
/// continuation lines, each passed to `emit` without its newline. Pure,
/// so the host tests the format the guest writes.
pub fn format_event(name: &str, header: fmt::Arguments, bytes: &[u8], mut emit: impl FnMut(&str)) {
    let mut line = heapless::String::<256>::new();
    let _ = write!(line, "REC {name} {header}");
    emit(line.as_str());
    for chunk in bytes.chunks(BYTES_PER_LINE) {
        let mut line = heapless::String::<256>::new();
        let _ = write!(line, "REC {name} + ");
        for b in chunk {
            let _ = write!(line, "{b:02x}");
        }
        emit(line.as_str());
    }
}

#[cfg(all(feature = "rt", target_os = "none"))]
fn event(header: fmt::Arguments, bytes: &[u8]) {
    let name = NAME.get().map_or("?", |n| n.as_str());
    // Whole events only: one that would pass the limit ends the record.
    let lines = 1 + bytes.len().div_ceil(BYTES_PER_LINE);
    let written = WRITTEN.fetch_add(lines, Ordering::Relaxed);
    if written.saturating_add(lines) > LIMIT.load(Ordering::Relaxed) {
        ENABLED.store(false, Ordering::Relaxed);
        crate::println!("REC {name} end");
        return;
    }
    format_event(name, header, bytes, |line| crate::println!("{line}"));
}

/// Without the program runtime (the kernel's copy, the host) there is
/// no log to write to: nothing is recorded.
#[cfg(not(all(feature = "rt", target_os = "none")))]
fn event(_: fmt::Arguments, _: &[u8]) {}

/// A request in: the caller's badge, the label and the payload.
pub fn request(badge: u64, label: u32, payload: &[u8]) {
    if enabled() {
        event(
            format_args!("req {badge} {label} {}", payload.len()),
            payload,
        );
    }
}

/// The reply sent at once.
pub fn now(label: u32, payload: &[u8]) {
    if enabled() {
        event(format_args!("now {label} {}", payload.len()), payload);
    }
}

/// The request was deferred under `token`.
pub fn later(token: u64) {
    if enabled() {
        event(format_args!("later {token}"), &[]);
    }
}

/// A completion for `token` was sent; `ok` whether its caller got it.
pub fn deliver(token: u64, label: u32, ok: bool, payload: &[u8]) {
    if enabled() {
        let how = if ok { "ok" } else { "gone" };
        event(
            format_args!("deliver {token} {label} {how} {}", payload.len()),
            payload,
        );
    }
}

/// Notification bits came in.
pub fn signal(bits: u64) {
    if enabled() {
        event(format_args!("signal {bits}"), &[]);
    }
}

/// The deferred request `token`'s caller asked out of its call (a signal
/// for it: `UNBLOCK_SIGNAL`), and the core was told.
pub fn interrupt(token: u64) {
    if enabled() {
        event(format_args!("interrupt {token}"), &[]);
    }
}

/// Any other event, one line without payload: a server whose replies
/// depend on more than its requests logs the calls across its core's
/// trait boundary this way (the timer's `tsc`, `pit` and `cmos` lines,
/// `timer::record`), and the events its own loop adds (`bind`, `sig`).
pub fn line(header: fmt::Arguments) {
    if enabled() {
        event(header, &[]);
    }
}

/// Any other event with bytes after it (in `+` lines, as a request's
/// payload): mm's `image` headers, an `adopt`'s arguments; vfs's block
/// reads' sectors, the bytes a request's window lent (`vfs::record`).
pub fn data(header: fmt::Arguments, bytes: &[u8]) {
    if enabled() {
        event(header, bytes);
    }
}

/// Ends the recording here, as the line budget does: `end <why>`, and no
/// more lines (a server that meets a call its record cannot carry, so
/// that what was recorded stays replayable).
pub fn stop(why: fmt::Arguments) {
    if enabled() {
        event(format_args!("end {why}"), &[]);
        ENABLED.store(false, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;

    #[test]
    fn record_or_record_with_a_line_limit_is_asked_for() {
        assert_eq!(asked(["kv", "record"]), Some(None));
        assert_eq!(asked(["record=4000"]), Some(Some(4000)));
        assert_eq!(asked(["kv", "x"]), None);
        assert_eq!(asked(["recorder"]), None);
        assert_eq!(asked(["record=lots"]), None);
    }

    #[test]
    fn an_event_is_a_header_then_lines_of_64_bytes() {
        let bytes: Vec<u8> = (0..130u8).collect();
        let mut lines: Vec<String> = Vec::new();
        format_event("kv", format_args!("req 3 1 {}", bytes.len()), &bytes, |l| {
            lines.push(l.to_string())
        });
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], "REC kv req 3 1 130");
        assert!(lines[1].starts_with("REC kv + 000102"));
        assert_eq!(lines[1].len(), "REC kv + ".len() + 128);
        assert_eq!(lines[3], "REC kv + 8081");
        assert!(
            lines.iter().all(|l| l.len() < 256),
            "a log record is 256 bytes at most"
        );
    }
}
