//! What the user programs share: the check reporting of the kernel's
//! user-mode tests.
//!
//! A test program logs one line per check (`ok - <name>` or `FAIL - <name>:
//! <why>`) and exits with its tally packed into the status:
//! `passed << 16 | failed`, so the kernel's test runner can add the checks
//! to the boot's total.
#![no_std]

use core::fmt;

extern crate alloc;

pub mod fuzz;
#[cfg(target_os = "none")]
pub mod shutdown;
#[cfg(target_os = "none")]
pub mod tool;

/// A failed check's reason.
pub type Why = libsys::rt::TextBuf<256>;

/// Waits (polling every 5 ms) until `process` has ended, at most `limit`;
/// how it ended, or `Alive` if it had not by then.
pub fn wait_exit(
    process: &libsys::handle::Process,
    limit: core::time::Duration,
) -> Result<libsys::abi::ProcessStatus, Why> {
    let start = libsys::time::Instant::now();
    loop {
        match process.status() {
            Ok(libsys::abi::ProcessStatus::Alive) if start.elapsed() < limit => {
                libsys::time::sleep_ms(5)
            }
            Ok(status) => return Ok(status),
            Err(e) => return Err(libsys::format_text!("status: {e}")),
        }
    }
}

/// `Ok` if `got == expected`, else why not (for `Tally::record`).
pub fn want<T: PartialEq + fmt::Debug>(what: &str, got: T, expected: T) -> Result<(), Why> {
    if got == expected {
        Ok(())
    } else {
        Err(libsys::format_text!(
            "{what}: got {got:?}, expected {expected:?}"
        ))
    }
}

/// Counts checks and logs each.
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
}

impl Tally {
    pub const fn new() -> Tally {
        Tally {
            passed: 0,
            failed: 0,
        }
    }

    /// Records one check: `result` is `Err(why)` when it failed.
    pub fn check(&mut self, name: &str, result: Result<(), fmt::Arguments>) {
        match result {
            Ok(()) => {
                self.passed += 1;
                libsys::println!("ok - {name}");
            }
            Err(why) => {
                self.failed += 1;
                libsys::eprintln!("FAIL - {name}: {why}");
            }
        }
    }

    /// Records a check that failed with `why` if `result` is `Err`.
    pub fn record<E: fmt::Display>(&mut self, name: &str, result: Result<(), E>) {
        match result {
            Ok(()) => self.check(name, Ok(())),
            Err(why) => self.check(name, Err(format_args!("{why}"))),
        }
    }

    /// Records a check whose outcome is `got == want`.
    pub fn expect_eq<T: PartialEq + fmt::Debug>(&mut self, name: &str, got: T, want: T) {
        if got == want {
            self.check(name, Ok(()));
        } else {
            self.check(name, Err(format_args!("got {got:?}, expected {want:?}")));
        }
    }

    /// The exit status that reports this tally.
    pub fn status(&self) -> u64 {
        (self.passed.min(0xffff) << 16) | self.failed.min(0xffff)
    }
}

impl Default for Tally {
    fn default() -> Self {
        Self::new()
    }
}

/// Splits an exit status made by [`Tally::status`] into (passed, failed).
pub fn decode_status(status: u64) -> (u64, u64) {
    ((status >> 16) & 0xffff, status & 0xffff)
}
