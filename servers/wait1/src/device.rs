//! The device: the ring and the callers blocked on it, as the deck's
//! `wait1.c` keeps them, without the threads. Where the driver sleeps a
//! task on its wait queue, this core puts an opaque caller token on a
//! queue of blocked readers or writers; after each change the server asks
//! [`Wait1::wake_next`] which blocked caller can go on now, and with what
//! answer.
//!
//! Semantics (those of the deck's `read` and `write`, a request at a time
//! rather than a byte):
//! - `write`: if there is room, put in as much as fits and answer how
//!   much (a short write; the caller writes the rest with another
//!   request, as `Client::write_all` does). While the FIFO is full, block;
//!   a blocked writer then moves its bytes as room appears and is answered
//!   when all are in — or, let out of its call ([`Wait1::interrupt`], a
//!   signal), with how many it moved (a partial count), `Interrupted` if
//!   none.
//! - `read`: while the FIFO is empty, block; then take what is there, up
//!   to `max`.
//! - Blocked callers are served first come, first served, each kind in
//!   its own queue; a new request never overtakes a blocked one of its
//!   kind, so a reader arriving while readers wait waits too.
//! - `nonblock`: `WouldBlock` where the call would block.
//!
//! Invariant once every wake-up has been taken: readers wait only while
//! the FIFO is empty, writers only while it is full.
//!
//! A wake-up is done in two steps so that a caller found gone loses no
//! data: [`Wait1::wake_next`] moves the bytes and hands out the answer;
//! [`Wakeup::delivered`] keeps the move, [`Wakeup::gone`] undoes it
//! exactly (nothing else can have happened in between: the wake-up
//! borrows the device).

use alloc::collections::VecDeque;

use libsys::proto::wait1::{
    Bytes, Data, Reply, Request, Stats, Wait1Error, CAPACITY, READ_MAX, WAITERS_MAX, WRITE_MAX,
};

use crate::ring::Ring;

/// What became of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handled {
    /// Answer it now.
    Reply(Reply),
    /// The caller waits; [`Wait1::wake_next`] will give its answer.
    Blocked,
}

struct Reader<T> {
    caller: T,
    max: usize,
}

struct Writer<T> {
    caller: T,
    /// What is still to go in.
    bytes: Bytes,
    /// What went in already while it waited.
    moved: usize,
}

/// The `/dev/wait1` device; `T` names a blocked caller.
pub struct Wait1<T> {
    ring: Ring,
    readers: VecDeque<Reader<T>>,
    writers: VecDeque<Writer<T>>,
    stats: Stats,
    /// The bytes the last woken writer moved when it was woken (what
    /// [`Wait1::undo`] can take back: earlier moves may be read already).
    last_chunk: usize,
}

impl<T: Copy + PartialEq> Wait1<T> {
    pub fn new() -> Wait1<T> {
        Wait1 {
            ring: Ring::new(),
            readers: VecDeque::new(),
            writers: VecDeque::new(),
            stats: Stats::default(),
            last_chunk: 0,
        }
    }

    /// Carries out `request` from `caller`.
    pub fn handle(&mut self, request: Request, caller: T) -> Handled {
        match request {
            Request::Write { bytes, nonblock } => self.write(&bytes, nonblock, caller),
            Request::Read { max, nonblock } => self.read(max as usize, nonblock, caller),
            Request::Stats => Handled::Reply(Reply::Stats(self.stats())),
        }
    }

    /// The deck's `write`: see the module documentation.
    pub fn write(&mut self, bytes: &[u8], nonblock: bool, caller: T) -> Handled {
        if bytes.is_empty() {
            return error(Wait1Error::EmptyWrite);
        }
        let Ok(bytes) = Bytes::from_slice(bytes) else {
            return error(Wait1Error::TooLarge);
        };
        if self.writers.is_empty() && !self.ring.is_full() {
            let n = self.ring.write(&bytes);
            self.stats.bytes_in += n as u64;
            return Handled::Reply(Reply::Written(n as u32));
        }
        match self.may_block(nonblock) {
            Err(e) => error(e),
            Ok(()) => {
                self.writers.push_back(Writer {
                    caller,
                    bytes,
                    moved: 0,
                });
                Handled::Blocked
            }
        }
    }

    /// The deck's `read`: see the module documentation.
    pub fn read(&mut self, max: usize, nonblock: bool, caller: T) -> Handled {
        if max == 0 {
            return error(Wait1Error::ZeroMax);
        }
        if max > READ_MAX {
            return error(Wait1Error::TooLarge);
        }
        if self.readers.is_empty() && !self.ring.is_empty() {
            return Handled::Reply(Reply::Data(self.take(max)));
        }
        match self.may_block(nonblock) {
            Err(e) => error(e),
            Ok(()) => {
                self.readers.push_back(Reader { caller, max });
                Handled::Blocked
            }
        }
    }

    fn may_block(&mut self, nonblock: bool) -> Result<(), Wait1Error> {
        if nonblock {
            self.stats.would_block += 1;
            Err(Wait1Error::WouldBlock)
        } else if self.readers.len() + self.writers.len() >= WAITERS_MAX {
            Err(Wait1Error::TooManyWaiters)
        } else {
            Ok(())
        }
    }

    /// Up to `max` (≤ READ_MAX) of the oldest bytes.
    fn take(&mut self, max: usize) -> Data {
        let mut out = [0u8; READ_MAX];
        let n = self.ring.read(&mut out[..max]);
        self.stats.bytes_out += n as u64;
        // Cannot fail: n ≤ max ≤ READ_MAX.
        Data::from_slice(&out[..n]).unwrap_or_default()
    }

    /// Whether a blocked caller can go on now (the condition the deck's
    /// sleepers re-check when woken).
    pub fn can_wake(&self) -> bool {
        (!self.readers.is_empty() && !self.ring.is_empty())
            || (!self.writers.is_empty() && !self.ring.is_full())
    }

    /// The next blocked caller that can go on, its transfer done and its
    /// answer ready; `None` if none can. The first blocked reader while
    /// there are bytes, else the first blocked writer while there is room.
    pub fn wake_next(&mut self) -> Option<Wakeup<'_, T>> {
        // LAB 4 BEGIN: wake the first blocked reader (bytes in) or writer (room)
        if !self.ring.is_empty() {
            if let Some(reader) = self.readers.pop_front() {
                let data = self.take(reader.max);
                return Some(Wakeup {
                    caller: reader.caller,
                    reply: Reply::Data(data.clone()),
                    undo: Undo::Read(data),
                    device: self,
                });
            }
        }
        if !self.ring.is_full() {
            if let Some(writer) = self.writers.front_mut() {
                let n = self.ring.write(&writer.bytes);
                self.stats.bytes_in += n as u64;
                if n < writer.bytes.len() {
                    // Part of it: the FIFO is full again, and the rest
                    // waits for more room.
                    writer.moved += n;
                    writer.bytes = Bytes::from_slice(&writer.bytes[n..]).unwrap_or_default();
                    return None;
                }
                let writer = self.writers.pop_front()?;
                self.last_chunk = n;
                return Some(Wakeup {
                    caller: writer.caller,
                    reply: Reply::Written((writer.moved + n) as u32),
                    undo: Undo::Write(n),
                    device: self,
                });
            }
        }
        None
        // LAB 4 STUB
        // // No one is ever woken: blocked callers wait for good.
        // None
        // LAB 4 END
    }

    /// [`Wait1::wake_next`] for a transport that learns only later whether
    /// the answer arrived: the caller and its answer, the transfer done
    /// and counted; [`Wait1::undo`] reverses it if the caller was gone.
    pub fn wake_one(&mut self) -> Option<(T, Reply)> {
        let woken = self.wake_next()?;
        let answer = (woken.caller(), woken.reply().clone());
        woken.delivered();
        Some(answer)
    }

    /// Undoes the transfer of `reply`, the answer [`Wait1::wake_one`] gave
    /// last (no other transfer since), whose caller was gone.
    pub fn undo(&mut self, reply: &Reply) {
        match reply {
            Reply::Data(data) => {
                // Fits: exactly these bytes left the ring last.
                let _ = self.ring.unread(data);
                self.stats.bytes_out -= data.len() as u64;
            }
            Reply::Written(_) => {
                // Only what it moved when woken: bytes it moved while it
                // waited may have been read since (they stay, as a killed
                // writer's do in a pipe).
                let n = self.last_chunk;
                let _ = self.ring.unwrite(n);
                self.stats.bytes_in -= n as u64;
            }
            Reply::Stats(_) | Reply::Error(_) => return,
        }
        self.stats.wakeups -= 1;
        self.stats.gone += 1;
    }

    /// Takes `caller`, which died or gave up before it was woken, off the
    /// blocked queues and counts it gone; whether it was there.
    pub fn forget(&mut self, caller: T) -> bool {
        let was = self.cancel(caller);
        if was {
            self.stats.gone += 1;
        }
        was
    }

    /// `caller` asked to be let out of its blocked call (a signal): it
    /// leaves its queue, and its answer is what it did — a writer that
    /// moved some bytes while it waited says how many (a partial count),
    /// anyone else gets `Interrupted` (`-EINTR`). `None` if it was not
    /// blocked (answered already).
    pub fn interrupt(&mut self, caller: T) -> Option<Reply> {
        if let Some(at) = self.readers.iter().position(|r| r.caller == caller) {
            self.readers.remove(at);
            return Some(Reply::Error(Wait1Error::Interrupted));
        }
        let at = self.writers.iter().position(|w| w.caller == caller)?;
        let writer = self.writers.remove(at)?;
        Some(match writer.moved {
            0 => Reply::Error(Wait1Error::Interrupted),
            moved => Reply::Written(moved as u32),
        })
    }

    /// Takes `caller` off the blocked queues (say its reply right could
    /// not be kept); whether it was there.
    pub fn cancel(&mut self, caller: T) -> bool {
        let before = self.readers.len() + self.writers.len();
        self.readers.retain(|r| r.caller != caller);
        self.writers.retain(|w| w.caller != caller);
        before != self.readers.len() + self.writers.len()
    }

    pub fn stats(&self) -> Stats {
        Stats {
            buffered: self.ring.len() as u32,
            readers_blocked: self.readers.len() as u32,
            writers_blocked: self.writers.len() as u32,
            ..self.stats
        }
    }

    /// Bytes held now (at most [`CAPACITY`]).
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

impl<T: Copy + PartialEq> Default for Wait1<T> {
    fn default() -> Self {
        Self::new()
    }
}

fn error(e: Wait1Error) -> Handled {
    Handled::Reply(Reply::Error(e))
}

enum Undo {
    /// These bytes were read: put them back in front.
    Read(Data),
    /// This many bytes were written: take them back off the end.
    Write(usize),
}

/// A blocked caller woken, its transfer done but not yet final: say
/// whether its answer reached it.
#[must_use = "say whether the answer was delivered"]
pub struct Wakeup<'a, T: Copy + PartialEq> {
    device: &'a mut Wait1<T>,
    caller: T,
    reply: Reply,
    undo: Undo,
}

impl<T: Copy + PartialEq> Wakeup<'_, T> {
    pub fn caller(&self) -> T {
        self.caller
    }

    /// The answer to send it.
    pub fn reply(&self) -> &Reply {
        &self.reply
    }

    /// The caller has its answer: the transfer stands.
    pub fn delivered(self) {
        self.device.stats.wakeups += 1;
    }

    /// The caller gave up or died: the transfer is undone, as if it had
    /// never waited (its bytes stay in the FIFO, in place; what it meant
    /// to write is dropped).
    pub fn gone(self) {
        let device = self.device;
        match self.undo {
            Undo::Read(data) => {
                // Fits: exactly these bytes left the ring just now.
                let _ = device.ring.unread(&data);
                device.stats.bytes_out -= data.len() as u64;
            }
            Undo::Write(n) => {
                let _ = device.ring.unwrite(n);
                device.stats.bytes_in -= n as u64;
            }
        }
        device.stats.gone += 1;
    }
}

const _: () = assert!(WRITE_MAX <= CAPACITY && READ_MAX <= CAPACITY);
