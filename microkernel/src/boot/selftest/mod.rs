//! The in-kernel test suite, run when the command line has the word `test`.
//!
//! Two parts: the boot checks (`boot.rs`), on the boot thread before
//! scheduling starts, and the user-mode tests (`user.rs`), on a kernel
//! thread once it has: they start the test programs (boot modules), wait
//! for each to end and check how it ended. Every check prints `ok - <name>`
//! or `FAIL - <name>: <why>`; the run ends with the line
//! `<N> passed, <M> failed` that the host harness reads, and leaves QEMU
//! with the result.
#![allow(
    clippy::result_large_err,
    reason = "a failed check's message is a fixed buffer (no heap needed when things break), and the self-tests run once at boot"
)]

mod boot;
mod user;

use alloc::boxed::Box;

pub use boot::EntryState;

use crate::arch::bootinfo::BootInfo;
use crate::arch::qemu::{self, ExitCode};
use crate::println;

/// Why a check failed.
pub type Why = heapless::String<200>;

macro_rules! fail {
    ($($arg:tt)*) => {{
        let mut why = $crate::boot::selftest::Why::new();
        let _ = core::fmt::Write::write_fmt(&mut why, format_args!($($arg)*));
        return Err(why);
    }};
}

macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            fail!($($arg)*);
        }
    };
}

pub(crate) use {ensure, fail};

/// Checks passed and failed so far.
pub struct Tally {
    passed: u32,
    failed: u32,
}

impl Tally {
    pub fn record(&mut self, name: &str, result: Result<(), Why>) {
        match result {
            Ok(()) => {
                self.passed += 1;
                println!("ok - {name}");
            }
            Err(why) => {
                self.failed += 1;
                println!("FAIL - {name}: {why}");
            }
        }
    }

    /// Adds checks counted elsewhere (by a user test program).
    pub fn add(&mut self, passed: u64, failed: u64) {
        self.passed += passed as u32;
        self.failed += failed as u32;
    }
}

/// Runs the boot checks here, then the user-mode tests on a kernel thread
/// of their own; that thread ends the run (and QEMU).
pub fn start(info: &'static BootInfo, entry: EntryState) {
    let mut tally = Box::new(Tally {
        passed: 0,
        failed: 0,
    });
    boot::run(info, entry, &mut tally);
    let arg = Box::into_raw(tally) as u64;
    if crate::obj::thread::Thread::spawn_kernel("ktest", user_tests, arg).is_err() {
        println!("FAIL - start the user-mode tests: no memory for a kernel thread");
        qemu::exit(ExitCode::Failure);
    }
}

extern "C" fn user_tests(arg: u64) -> ! {
    // SAFETY: `start` passed a pointer from `Box::into_raw`, once.
    let mut tally = unsafe { Box::from_raw(arg as *mut Tally) };
    user::run(crate::arch::bootinfo::get(), &mut tally);
    println!("{} passed, {} failed", tally.passed, tally.failed);
    qemu::exit(if tally.failed == 0 {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}
