//! Recording the timer core's calls across its hardware boundary, for
//! replay on the host (docs/labs/README.md, "Servers whose replies depend
//! on more than their requests").
//!
//! The timer's replies depend on the clock as much as on its requests:
//! the same `Sleep` answers differently a tick later. So a recording of
//! its requests and replies alone cannot be replayed; what the core read
//! of the machine must be in the record too. [`Recording`] wraps the
//! [`TimerHardware`] the core is given and tells its `log` of every call,
//! in order, between the request events the transport logs:
//!
//! ```text
//! tsc <value>                 an rdtsc, and what it read
//! pit <port> <value>          a write to the PIT (0x40 or 0x43, decimal)
//! cmos <register> <value>     a read of the CMOS RTC, and what it read
//! ```
//!
//! The replay (tests/lab, `lab replay timer`) gives a fresh core a
//! hardware that answers each call from the record, in order, and reports
//! the first call the record does not have.

use core::fmt;

use crate::server::{PitRegister, TimerHardware};

/// A [`TimerHardware`] that logs each call to `log` (one line, without the
/// `REC timer ` prefix) and passes it to `inner`. With no `log` (a timer
/// that is not recording) a call costs one branch more than `inner`'s.
pub struct Recording<H> {
    inner: H,
    log: Option<fn(fmt::Arguments)>,
}

impl<H: TimerHardware> Recording<H> {
    pub fn new(inner: H, log: Option<fn(fmt::Arguments)>) -> Recording<H> {
        Recording { inner, log }
    }

    fn log(&self, line: fmt::Arguments) {
        if let Some(log) = self.log {
            log(line);
        }
    }
}

impl<H: TimerHardware> TimerHardware for Recording<H> {
    fn rdtsc(&self) -> u64 {
        let tsc = self.inner.rdtsc();
        self.log(format_args!("tsc {tsc}"));
        tsc
    }

    fn pit_write(&mut self, register: PitRegister, value: u8) {
        self.log(format_args!("pit {} {value}", register.port()));
        self.inner.pit_write(register, value);
    }

    fn cmos_read(&mut self, register: u8) -> u8 {
        let value = self.inner.cmos_read(register);
        self.log(format_args!("cmos {register} {value}"));
        value
    }
}

/// A call the core made of its hardware, as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HardwareCall {
    /// `rdtsc`, and the value it read.
    Tsc(u64),
    /// A PIT write: the port and the byte.
    Pit(u16, u8),
    /// A CMOS read: the register and the byte it read.
    Cmos(u8, u8),
}

impl fmt::Display for HardwareCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HardwareCall::Tsc(value) => write!(f, "rdtsc (read {value})"),
            HardwareCall::Pit(port, value) => write!(f, "PIT write {value:#04x} to port {port:#x}"),
            HardwareCall::Cmos(register, value) => {
                write!(
                    f,
                    "CMOS read of register {register:#04x} (read {value:#04x})"
                )
            }
        }
    }
}
