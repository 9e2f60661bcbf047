//! The timer server's core (LKD chapters 11 and 8): everything it does that
//! needs no hardware, tested on the host with `cargo test -p timer`.
//!
//! - [`jiffies`]: `HZ`, the jiffies count, the wrap-safe comparisons
//!   (`time_after` and friends) and the conversions to and from real time.
//! - [`wheel`]: kernel timers (`add_timer`, `mod_timer`, `del_timer`) on the
//!   hierarchical timer wheel of Linux 2.6, with periodic timers for the
//!   delayed and periodic work of workqueues.
//! - [`rtc`]: decoding the CMOS real-time clock's registers into a date and
//!   seconds since the Unix epoch.
//! - [`clock`]: `CLOCK_REALTIME` and `CLOCK_MONOTONIC` kept from the RTC
//!   reading at boot and the TSC, and jiffies derived from them.
//!
//! The server binary that runs this core behind an IPC loop is not written
//! yet; it will read the RTC and the TSC, hand the readings in, and sleep
//! until [`wheel::TimerWheel::next_expiry`].
//!
//! # IPC protocol
//!
//! None yet: the requests (`add`/`mod`/`del` a timer, `clock_gettime`,
//! `settimeofday`, sleep) will live in `libsys::proto::timer` together with
//! the binary. Every operation here already returns a typed error for bad
//! input (a stale timer handle, an invalid period, a malformed time), which
//! is what a malformed request will get back.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod clock;
pub mod jiffies;
pub mod rtc;
pub mod service;
pub mod tick;
pub mod wheel;
