//! `timer`, the timer server (LKD chapters 11 and 8): jiffies, the clocks,
//! sleeping and kernel-style timers — the protocol, and the client stub.
//!
//! Clients are told apart by the badge of the handle the name service gave
//! them. A timer fires by setting a bit of the client's own notification:
//! the client hands the server a SEND handle to it once (`Bind`, the
//! handle travelling with the request), then names a bit (0–63) in each
//! `AddTimer`. A `Sleep` is a call the server answers when it expires
//! (a deferred reply: the server goes on serving others meanwhile).
//!
//! | request | reply | errors (`Reply::Error`) |
//! | --- | --- | --- |
//! | `ClockGettime { clock }` | `Time { sec, nsec }` | `InvalidClock` |
//! | `Jiffies` | `Jiffies { jiffies, hz }` | — |
//! | `Sleep { ns }` | `Slept { remaining_ns }` at expiry (0), or earlier when another thread of the client sends `Interrupt` (what was left) | `TooManySleepers` |
//! | `Interrupt` | `Woken(n)`: the client's sleepers woken early | — |
//! | `Bind` + a notification handle | `Done` (replaces an earlier one) | `NoHandle` (none, or not a notification with SEND) |
//! | `AddTimer { when, period_ns, bit }` | `Timer { id, expires }` | `NotBound`, `InvalidBit`, `TooManyTimers`, `OutOfMemory` |
//! | `ModTimer { id, when }` | `Pending(was it pending)`; re-armed | `NoSuchTimer` |
//! | `DelTimer { id }` | `Pending(was it pending)`; the id is freed | `NoSuchTimer` |
//! | `Stats` | `Stats(Stats)` | — |
//! | `Session` | `Done` + a SEND handle to the server with a new badge: a client of its own (own timers, quota and notification), to hand to another process | `TooManySessions` (more than [`SESSIONS_PER_CLIENT`], or asked through a session) |
//!
//! `when` is an absolute jiffy ([`Expiry::At`], which may fire up to a
//! tick earlier than the same time in nanoseconds would) or a delay in
//! nanoseconds ([`Expiry::After`], which never fires early: it is rounded
//! up to whole ticks, plus one for the tick in progress, as `msleep`
//! does). A periodic timer (`period_ns` > 0, rounded up to whole ticks)
//! re-arms itself from its expiry, so it does not drift. A client may hold
//! [`TIMERS_PER_CLIENT`] timers and [`SLEEPERS_PER_CLIENT`] sleeping
//! threads. Ids are the client's own: another client's id is
//! `NoSuchTimer`. Bytes that do not decode get `LABEL_BAD_REQUEST`, as
//! does any request but `Bind` that carries handles (they are closed).
//!
//! When the server dies, every client blocked in `Sleep` gets `PeerDied`,
//! and so does every later call through the old handle; its timers are
//! gone with it. `init` restarts the server; a client looks it up again
//! (`Client::reconnect`), binds again and re-adds its timers.

use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// The server's tick rate: jiffies per second.
pub const HZ: u32 = 250;
/// Nanoseconds per tick.
pub const TICK_NS: u64 = 1_000_000_000 / HZ as u64;
/// `clock_gettime` clocks, numbered as POSIX does.
pub const CLOCK_REALTIME: u32 = 0;
pub const CLOCK_MONOTONIC: u32 = 1;
/// Timers one client may hold at once.
pub const TIMERS_PER_CLIENT: u32 = 512;
/// Threads of one client that may sleep at once.
pub const SLEEPERS_PER_CLIENT: u32 = 32;
/// Sessions one client may open.
pub const SESSIONS_PER_CLIENT: u32 = 8;
/// Badges of sessions have this bit set (`init`'s badges are small).
pub const SESSION_BADGE: u64 = 1 << 48;
/// Buckets of the late-by histogram in `Stats`: bucket 0 counts timers
/// that ran in their tick, bucket `b` those `[2^(b-1), 2^b)` ticks late;
/// the last bucket also counts everything later.
pub const LATE_BUCKETS: usize = 12;

/// When a timer fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Expiry {
    /// At this jiffy (or at once, if it has passed).
    At(u64),
    /// No earlier than this many nanoseconds from now.
    After(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Request {
    ClockGettime {
        clock: u32,
    },
    Jiffies,
    Sleep {
        ns: u64,
    },
    Interrupt,
    Bind,
    AddTimer {
        when: Expiry,
        period_ns: u64,
        bit: u8,
    },
    ModTimer {
        id: u64,
        when: Expiry,
    },
    DelTimer {
        id: u64,
    },
    Stats,
    Session,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum TimerError {
    /// A clock number that is neither `CLOCK_REALTIME` nor `CLOCK_MONOTONIC`.
    InvalidClock,
    /// `AddTimer` before a notification was bound.
    NotBound,
    /// A notification bit above 63.
    InvalidBit,
    /// The client already holds [`TIMERS_PER_CLIENT`] timers.
    TooManyTimers,
    /// The client already has [`SLEEPERS_PER_CLIENT`] threads asleep.
    TooManySleepers,
    /// An id that names none of this client's timers.
    NoSuchTimer,
    /// A period too long for the wheel.
    InvalidPeriod,
    /// `Bind` without a notification handle that can be signalled.
    NoHandle,
    /// The server ran out of memory.
    OutOfMemory,
    /// No more sessions for this client.
    TooManySessions,
}

/// What `Stats` reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Stats {
    /// This client's timers that are pending.
    pub pending: u32,
    /// This client's timers, pending or not.
    pub timers: u32,
    /// This client's threads asleep.
    pub sleepers: u32,
    /// This client's timer expirations (periodic ones count each time).
    pub expirations: u64,
    /// Expirations of every client's timers and sleeps.
    pub all_expirations: u64,
    /// How late every client's timers ran, in ticks (see [`LATE_BUCKETS`]).
    pub late: [u64; LATE_BUCKETS],
    /// The server's jiffies now.
    pub jiffies: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Reply {
    Time { sec: i64, nsec: u32 },
    Jiffies { jiffies: u64, hz: u32 },
    Slept { remaining_ns: u64 },
    Woken(u32),
    Done,
    Timer { id: u64, expires: u64 },
    Pending(bool),
    Stats(Stats),
    Error(TimerError),
}

const _: () = assert!(crate::rpc::fits::<Request>() && crate::rpc::fits::<Reply>());

impl core::fmt::Display for TimerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            TimerError::InvalidClock => "no such clock",
            TimerError::NotBound => "no notification bound",
            TimerError::InvalidBit => "notification bit above 63",
            TimerError::TooManyTimers => "too many timers",
            TimerError::TooManySleepers => "too many sleepers",
            TimerError::NoSuchTimer => "no such timer",
            TimerError::InvalidPeriod => "period too long",
            TimerError::NoHandle => "no notification handle",
            TimerError::OutOfMemory => "out of memory",
            TimerError::TooManySessions => "too many sessions",
        })
    }
}

client_error! {
    /// Why a `timer` call failed: the server said no, or the call failed
    /// (`Rpc(Sys(PeerDied))`: the server died; look it up again).
    Timer(TimerError),
    /// A reply of the wrong kind for the request.
    Unexpected => "unexpected reply",
}

client_stub! {
    /// The client stub: `timer`'s requests as methods. Each call uses the
    /// calling thread's IPC buffer, so threads may share one `Client`.
    server: "timer", error: Timer
}

#[cfg(target_os = "none")]
impl Client {
    /// `clock_gettime(clock)`: seconds and nanoseconds.
    pub fn clock_gettime(&self, clock: u32) -> Result<(i64, u32), ClientError> {
        match self.call(&Request::ClockGettime { clock })? {
            Reply::Time { sec, nsec } => Ok((sec, nsec)),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// The server's jiffies.
    pub fn jiffies(&self) -> Result<u64, ClientError> {
        match self.call(&Request::Jiffies)? {
            Reply::Jiffies { jiffies, .. } => Ok(jiffies),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Sleeps `ns` nanoseconds; returns the time left if another thread
    /// interrupted the sleep (0 otherwise).
    pub fn sleep(&self, ns: u64) -> Result<u64, ClientError> {
        match self.call(&Request::Sleep { ns })? {
            Reply::Slept { remaining_ns } => Ok(remaining_ns),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Wakes this client's sleeping threads early; how many there were.
    pub fn interrupt(&self) -> Result<u32, ClientError> {
        match self.call(&Request::Interrupt)? {
            Reply::Woken(n) => Ok(n),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Hands the server a notification its timers will signal (a SEND
    /// copy of `notification` goes along).
    pub fn bind(&self, notification: &crate::handle::Notification) -> Result<(), ClientError> {
        use crate::abi::Rights;
        let copy = notification
            .dup(Rights::SEND, None)
            .map_err(|e| ClientError::Rpc(crate::rpc::RpcError::Sys(e)))?;
        let result = self.call_with(&Request::Bind, &[copy.raw()]);
        // Ours is closed; the server got its own copy.
        drop(copy);
        match result? {
            (Reply::Done, _) => Ok(()),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// A timer that sets `bit` of the bound notification at `when`, then
    /// every `period_ns` if that is not 0; its id and expiry (a jiffy).
    pub fn add_timer(
        &self,
        when: Expiry,
        period_ns: u64,
        bit: u8,
    ) -> Result<(u64, u64), ClientError> {
        match self.call(&Request::AddTimer {
            when,
            period_ns,
            bit,
        })? {
            Reply::Timer { id, expires } => Ok((id, expires)),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Re-arms timer `id` for `when`; whether it was pending.
    pub fn mod_timer(&self, id: u64, when: Expiry) -> Result<bool, ClientError> {
        match self.call(&Request::ModTimer { id, when })? {
            Reply::Pending(p) => Ok(p),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Deletes timer `id` (it will not fire); whether it was pending.
    pub fn del_timer(&self, id: u64) -> Result<bool, ClientError> {
        match self.call(&Request::DelTimer { id })? {
            Reply::Pending(p) => Ok(p),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// A new session: a handle to the server under a badge of its own,
    /// for another process to be a client of its own.
    pub fn session(&self) -> Result<crate::handle::Endpoint, ClientError> {
        match self.call_with(&Request::Session, &[])? {
            (Reply::Done, msg) => match msg.handles().first() {
                // SAFETY: the kernel just put this handle into our table.
                Some(&raw) => Ok(crate::handle::Endpoint(unsafe {
                    crate::handle::OwnedHandle::from_raw(crate::abi::Handle(raw as u32))
                })),
                None => Err(ClientError::Unexpected),
            },
            _ => Err(ClientError::Unexpected),
        }
    }

    pub fn stats(&self) -> Result<Stats, ClientError> {
        match self.call(&Request::Stats)? {
            Reply::Stats(s) => Ok(s),
            _ => Err(ClientError::Unexpected),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{decode, encode};

    fn every_request() -> [Request; 12] {
        [
            Request::ClockGettime {
                clock: CLOCK_MONOTONIC,
            },
            Request::Jiffies,
            Request::Sleep { ns: u64::MAX },
            Request::Interrupt,
            Request::Bind,
            Request::AddTimer {
                when: Expiry::At(u64::MAX),
                period_ns: 4_000_000,
                bit: 63,
            },
            Request::AddTimer {
                when: Expiry::After(1),
                period_ns: 0,
                bit: 255,
            },
            Request::ModTimer {
                id: u64::MAX,
                when: Expiry::After(u64::MAX),
            },
            Request::DelTimer { id: 7 },
            Request::Stats,
            Request::ClockGettime { clock: u32::MAX },
            Request::Session,
        ]
    }

    fn every_reply() -> [Reply; 10] {
        let stats = Stats {
            pending: u32::MAX,
            timers: 3,
            sleepers: 1,
            expirations: u64::MAX,
            all_expirations: u64::MAX,
            late: [u64::MAX; LATE_BUCKETS],
            jiffies: u64::MAX,
        };
        [
            Reply::Time {
                sec: i64::MIN,
                nsec: 999_999_999,
            },
            Reply::Jiffies {
                jiffies: u64::MAX,
                hz: HZ,
            },
            Reply::Slept { remaining_ns: 5 },
            Reply::Woken(2),
            Reply::Done,
            Reply::Timer {
                id: u64::MAX,
                expires: 1,
            },
            Reply::Pending(true),
            Reply::Stats(stats),
            Reply::Error(TimerError::TooManyTimers),
            Reply::Error(TimerError::OutOfMemory),
        ]
    }

    #[test]
    fn every_message_round_trips() {
        let mut buffer = [0u8; 512];
        for request in every_request() {
            let n = encode(&request, &mut buffer).unwrap();
            assert_eq!(decode::<Request>(&buffer[..n]), Ok(request));
        }
        for reply in every_reply() {
            let n = encode(&reply, &mut buffer).unwrap();
            assert_eq!(decode::<Reply>(&buffer[..n]), Ok(reply));
        }
    }

    #[test]
    fn the_largest_messages_fit_their_bound_and_a_payload() {
        let mut buffer = [0u8; 512];
        for request in every_request() {
            assert!(encode(&request, &mut buffer).unwrap() <= Request::POSTCARD_MAX_SIZE);
        }
        for reply in every_reply() {
            assert!(encode(&reply, &mut buffer).unwrap() <= Reply::POSTCARD_MAX_SIZE);
        }
        const { assert!(Reply::POSTCARD_MAX_SIZE <= crate::abi::ipc::PAYLOAD_MAX) };
    }

    #[test]
    fn garbage_and_truncated_requests_are_errors() {
        assert!(decode::<Request>(&[]).is_err());
        assert!(decode::<Request>(&[10]).is_err(), "no such variant");
        assert!(decode::<Request>(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode::<Request>(&[2, 0x80]).is_err(), "truncated varint");
        assert!(
            decode::<Request>(&[5, 2, 1]).is_err(),
            "no such expiry kind"
        );
        assert!(decode::<Request>(&[1, 0]).is_err(), "a trailing byte");
        let mut buffer = [0u8; 64];
        let n = encode(&Request::DelTimer { id: u64::MAX }, &mut buffer).unwrap();
        assert!(decode::<Request>(&buffer[..n - 1]).is_err(), "truncated id");
    }
}
