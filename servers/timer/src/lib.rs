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
//! - [`service`]: the requests of `libsys::proto::timer` on top of the
//!   wheel and the clocks: per-client timers (by badge, bounded), deferred
//!   sleeps, sessions, statistics; what the binary must do comes out as
//!   events (signal a client's bit, answer a sleeper).
//! - [`tick`]: PIT channel 0 as a one-shot deadline timer.
//!
//! The binary (`main.rs`, feature `main`) holds the PIT (ISA IRQ 0, ports
//! 0x40–0x43) and the RTC (ports 0x70–0x71), which `init` gives it
//! (`server timer timer irq=isa:0 ports=0x40:4,0x70:2`): it reads the RTC
//! at start, keeps jiffies from the TSC, programs the PIT for the next
//! expiry, and serves requests and the interrupt in one receive loop,
//! answering sleeps through saved reply rights (`ipc::save_reply`).
//!
//! # IPC protocol
//!
//! `libsys::proto::timer` (its module documentation has the table):
//! `ClockGettime { clock }` → `Time { sec, nsec }` (`InvalidClock`);
//! `Jiffies` → `Jiffies { jiffies, hz }`; `Sleep { ns }` → `Slept {
//! remaining_ns }` at expiry or when interrupted (`TooManySleepers`);
//! `Interrupt` → `Woken(n)`; `Bind` + a notification handle → `Done`
//! (`NoHandle`); `AddTimer { when, period_ns, bit }` → `Timer { id,
//! expires }` (`NotBound`, `InvalidBit`, `TooManyTimers`, `OutOfMemory`);
//! `ModTimer { id, when }` and `DelTimer { id }` → `Pending(was)`
//! (`NoSuchTimer`); `Stats` → `Stats`; `Session` → `Done` + a handle with a
//! badge of its own (`TooManySessions`). A message that does not decode,
//! or carries handles it should not, gets `LABEL_BAD_REQUEST`; the server
//! keeps serving. When the server dies its clients' timers are gone and
//! their calls fail with `PeerDied`; they look it up again.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod clock;
pub mod jiffies;
pub mod record;
pub mod rtc;
pub mod server;
pub mod service;
pub mod tick;
pub mod wheel;
