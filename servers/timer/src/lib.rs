//! The timer server's core (LKD chapters 11 and 8): everything it does that
//! needs no hardware, tested on the host with `cargo test -p timer`.
//!
//! - [`jiffies`]: `HZ`, the jiffies count, the wrap-safe comparisons
//!   (`time_after` and friends) and the conversions to and from real time.
#![cfg_attr(not(test), no_std)]

pub mod jiffies;
