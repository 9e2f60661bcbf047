//! `echo`: a small core that exercises, in both placements, what a
//! server core reaches through its transport — the caller's **grant
//! window** (now, and kept with a deferred request) and **calls out** to
//! a user-space server (docs/architecture.md, "Grant copy" and "Calls out
//! of the kernel"). `granttest` checks it; `make bench` times `Fill`.
//!
//! | request | reply | errors (`Reply::Error`) |
//! | --- | --- | --- |
//! | `Fill { seed, len }` | `Count(n)`: the first `n` = min(`len`, window) bytes of the caller's write window hold [`pattern`]`(i, seed)` | `NoWindow`, `Fault` |
//! | `Sum` | `Sum(s)`: the sum of the bytes of the caller's read window (at most [`SUM_MAX`] of them) | `NoWindow`, `Fault` |
//! | `Hold { seed }` | deferred: at the next `Release`, the window is filled as `Fill` does and the caller answered `Count(n)` | `NoWindow`, `TooMany` |
//! | `Release` | `Released(k)`: `k` held callers answered | — |
//! | `Relay { value }` | deferred: the caller's connection `relay` is called with `value` (a postcard `u64` request), and its answer `v` is the reply `Relayed(v)` | `Unreachable` (no connection, or the call failed), `BadAnswer`, `Interrupted` (let out of its call) |
//!
//! A connection is made with `libsys::callout::LABEL_CONNECT`, the name
//! `relay` as the payload and one endpoint handle.

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// The name the server registers as.
pub const NAME: &str = "echo";
/// Bytes `Sum` reads at most.
pub const SUM_MAX: usize = 64 * 1024;
/// Callers held at once.
pub const HELD_MAX: usize = 32;
/// The connection `Relay` calls.
pub const RELAY: &str = "relay";

/// The byte `Fill` puts at offset `i`.
pub const fn pattern(i: usize, seed: u8) -> u8 {
    (i as u8).wrapping_mul(13).wrapping_add(seed)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    Fill { seed: u8, len: u32 },
    Sum,
    Hold { seed: u8 },
    Release,
    Relay { value: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum EchoError {
    /// The request lent no window of the kind it needs.
    NoWindow,
    /// A copy through the window failed.
    Fault,
    /// [`HELD_MAX`] callers are held already (or the token table is full).
    TooMany,
    /// No `relay` connection, or the call to it failed.
    Unreachable,
    /// The relay's answer did not decode.
    BadAnswer,
    /// The caller was let out of its call.
    Interrupted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Count(u32),
    Sum(u64),
    Released(u32),
    Relayed(u64),
    Error(EchoError),
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

impl core::fmt::Display for EchoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            EchoError::NoWindow => "no window lent",
            EchoError::Fault => "copy through the window failed",
            EchoError::TooMany => "too many held",
            EchoError::Unreachable => "relay unreachable",
            EchoError::BadAnswer => "bad answer from the relay",
            EchoError::Interrupted => "interrupted",
        })
    }
}
