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
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod jiffies;
pub mod rtc;
pub mod wheel;
