//! `wait1`: the `/dev/wait1` demo driver of the slide deck (a ring buffer
//! where a reader sleeps while it is empty and a writer while it is full)
//! as a server. This is its core: pure logic, no system call, tested on
//! the host. The protocol is `libsys::proto::wait1`; the process that
//! serves it is `main.rs`.
//!
//! How the deck's driver maps onto the server:
//!
//! | `wait1.c` | here |
//! | --- | --- |
//! | `read`/`write` file operations | `Request::Read` / `Request::Write` ([`Wait1::handle`]) |
//! | the ring buffer, `head`/`tail`, one slot unused | [`ring::Ring`] |
//! | a task sleeping in `wait_event_interruptible(wq, …)` | a caller token on a queue of blocked readers or writers here; in the server, the caller's saved reply right (`ipc::save_reply`) |
//! | `wake_up_interruptible(&wq)` after a change | the request handler's `wake_up` on a `libsys::wait::WaitQueue` |
//! | the woken task re-checking its condition and copying the data | [`Wait1::can_wake`] and [`Wait1::wake_next`], run by the bottom half |
//! | a tasklet (bottom half) | work on a `libsys::workqueue` worker that answers the woken callers |
//! | `-EINTR` when a signal ends the sleep | a caller that died or gave up: found when answered, its transfer undone ([`Wakeup::gone`]) |
//!
//! ## IPC protocol
//!
//! | request | reply | errors (`Reply::Error`) |
//! | --- | --- | --- |
//! | `Write { bytes, nonblock }` | `Written(n)`, `n` ≥ 1: the first `n` bytes are in; blocks while full | `EmptyWrite`, `WouldBlock`, `TooManyWaiters` |
//! | `Read { max, nonblock }` | `Data(bytes)`, 1 to `max` bytes; blocks while empty | `ZeroMax`, `TooLarge`, `WouldBlock`, `TooManyWaiters` |
//! | `Stats` | `Stats(Stats)` | — |
//!
//! A message that does not decode (garbage, a write of more than
//! `WRITE_MAX` bytes, a label that is not a request, a request carrying
//! handles) gets `LABEL_BAD_REQUEST`, and the server goes on serving.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod device;
pub mod ring;
pub mod server;
#[cfg(test)]
mod tests;

pub use device::{Handled, Wait1, Wakeup};
pub use server::Wait1Server;
