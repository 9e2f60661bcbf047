//! Layer 2: the kernel log and the panic handler.
//!
//! Provides `printk!` (log levels, a ring buffer user space reads with
//! `log_read`, early output on COM1) and, in `panic.rs`, the panic handler
//! with its symbolized backtrace. May use: `arch` (the serial port, the
//! clock for timestamps, QEMU's exit device).
//!
//! The kernel log, in the manner of Linux's `printk`.
//!
//! Every message has a level (`libsys::abi::LogLevel`, emerg..debug) and
//! goes into a ring buffer of recent records with sequence numbers
//! (`kcore::logring`), from which user space will read them (`dmesg`).
//! Messages at or above the console level — `info` unless the command line
//! says `loglevel=<name or 0-7>` — are also written to the debug channel
//! (port 0xe9, never handed over) and to COM1; while a user console driver
//! owns COM1 only `err` and above still reach it (`arch::serial`).

#[cfg(feature = "meter")]
pub mod meter;
pub mod panic;

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kcore::logring::LogRing;
use libsys::abi::LogLevel;
use spin::Mutex;

/// Records kept, and the longest message kept whole.
const RECORDS: usize = 256;
const MESSAGE_MAX: usize = 200;

static RING: Mutex<LogRing<RECORDS, MESSAGE_MAX>> = Mutex::new(LogRing::new());
static CONSOLE_LEVEL: AtomicU64 = AtomicU64::new(LogLevel::Info as u64);
/// Set by each new record, taken by whoever signals the log's watchers
/// (`obj::console`): so they hear of new records coalesced.
static NEW_RECORDS: AtomicBool = AtomicBool::new(false);

/// Whether records arrived since the last call.
pub fn take_new_records() -> bool {
    NEW_RECORDS.swap(false, Ordering::AcqRel)
}

/// Sets the console level from `loglevel=` (a name or a number); returns
/// false for a value that is neither.
pub fn set_console_level(value: &str) -> bool {
    match LogLevel::parse(value) {
        Some(level) => {
            CONSOLE_LEVEL.store(level as u64, Ordering::Relaxed);
            true
        }
        None => false,
    }
}

pub fn console_level() -> LogLevel {
    LogLevel::try_from(CONSOLE_LEVEL.load(Ordering::Relaxed)).unwrap_or(LogLevel::Info)
}

/// A message being formatted; longer text is cut when it is stored.
struct Message(heapless::String<MESSAGE_MAX>);

impl Write for Message {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for c in text.chars() {
            if self.0.push(c).is_err() {
                break;
            }
        }
        Ok(())
    }
}

/// Logs one message; returns its sequence number.
pub fn printk(level: LogLevel, args: fmt::Arguments) -> u64 {
    let mut message = Message(heapless::String::new());
    let _ = message.write_fmt(args);
    let seq = RING
        .lock()
        .push(level, crate::arch::time::jiffies(), &message.0);
    NEW_RECORDS.store(true, Ordering::Release);
    if level <= console_level() {
        let line = format_args!("{}\n", message.0);
        if level <= LogLevel::Err {
            crate::arch::serial::print_urgent(line);
        } else {
            crate::arch::serial::_print(line);
        }
    }
    seq
}

/// Calls `f` with each record from sequence number `since` on, until it
/// returns false, and returns how many records before them were lost to
/// the ring's overwriting.
pub fn read_since(since: u64, mut f: impl FnMut(&Record) -> bool) -> u64 {
    let ring = RING.lock();
    let (records, lost) = ring.since(since);
    for record in records {
        if !f(record) {
            break;
        }
    }
    lost
}

/// One record of the ring.
pub type Record = kcore::logring::Record<MESSAGE_MAX>;

/// The sequence number the next message will get.
pub fn next_seq() -> u64 {
    RING.lock().next_seq()
}

#[macro_export]
macro_rules! printk {
    ($level:ident, $($arg:tt)*) => {{
        $crate::klog::printk(libsys::abi::LogLevel::$level, format_args!($($arg)*));
    }};
}

// The cost meter's probes (`meter.rs`): defined here, outside the module
// the feature leaves out, so that they expand to nothing without it.

/// A phase until the end of the enclosing block (nothing without the
/// `meter` feature).
#[macro_export]
macro_rules! meter_scope {
    ($phase:ident) => {
        #[cfg(feature = "meter")]
        let _meter_scope = $crate::klog::meter::Scope::enter(libsys::abi::meter::Phase::$phase);
    };
}

/// A phase and a traced span until the end of the enclosing block
/// (nothing without the `meter` feature).
#[macro_export]
macro_rules! meter_span {
    ($phase:ident, $enter:ident, $leave:ident, $arg:expr) => {
        #[cfg(feature = "meter")]
        let _meter_span = $crate::klog::meter::Span::enter(
            libsys::abi::meter::Phase::$phase,
            libsys::abi::meter::TraceKind::$enter,
            libsys::abi::meter::TraceKind::$leave,
            $arg as u64,
        );
    };
}

/// Counts events (nothing without the `meter` feature).
#[macro_export]
macro_rules! meter_count {
    ($event:ident, $n:expr) => {
        #[cfg(feature = "meter")]
        $crate::klog::meter::count(libsys::abi::meter::Event::$event, $n as u64);
    };
}

/// A trace event (nothing without the `meter` feature).
#[macro_export]
macro_rules! meter_trace {
    ($kind:ident, $arg:expr) => {
        #[cfg(feature = "meter")]
        $crate::klog::meter::trace(libsys::abi::meter::TraceKind::$kind, $arg as u64);
    };
}
