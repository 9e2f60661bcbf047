//! The request queue of one device (LKD 14, "request queues"): bios come
//! in, are merged or become requests, wait in the I/O scheduler, and go to
//! the driver one request at a time.
//!
//! A flush is a barrier. Requests queued before it are dispatched (and,
//! the caller guarantees by passing the in-flight count, completed) before
//! the flush goes to the driver; bios that arrive while a flush waits are
//! held back, in order, and only join the scheduler once the flush has
//! been dispatched — so nothing merges or is reordered across a flush.
//!
//! Bounded: at most `nr_requests` requests wait (held ones included); a
//! bio that cannot be merged then gets `QueueFull`.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;

use crate::bio::{Bio, BlkError, Op};
use crate::request::{MergeKind, QueueLimits, Request, RequestId};
use crate::sched::{self, Elevator, SCHEDULERS};

/// What became of a submitted bio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queued {
    /// It joined a waiting request.
    Merged(MergeKind),
    /// It became a new request.
    New(RequestId),
}

/// One device's queue.
pub struct RequestQueue {
    limits: QueueLimits,
    elevator: Box<dyn Elevator>,
    /// A flush waiting for the requests before it.
    flush: Option<Request>,
    /// What arrived behind that flush, in order (flushes included).
    held: VecDeque<Request>,
    next_id: u64,
}

impl RequestQueue {
    /// An empty queue with `limits` and the `noop` scheduler.
    pub fn new(limits: QueueLimits) -> Self {
        RequestQueue {
            limits,
            elevator: Box::new(sched::noop::Noop::default()),
            flush: None,
            held: VecDeque::new(),
            next_id: 1,
        }
    }

    /// The queue's limits.
    pub fn limits(&self) -> &QueueLimits {
        &self.limits
    }

    /// Requests waiting (not yet dispatched).
    pub fn len(&self) -> usize {
        self.elevator.len() + self.held.len() + usize::from(self.flush.is_some())
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn new_request(&mut self, bio: Bio, now: u64) -> Request {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        Request::from_bio(id, bio, now)
    }

    /// Queues a bio (checked and remapped by the caller): merges it, or
    /// makes it a request. `QueueFull` when a new request would pass
    /// `nr_requests`; the bio is then not queued.
    pub fn submit(&mut self, bio: Bio, now: u64) -> Result<Queued, BlkError> {
        let barrier = self.flush.is_some();
        let merged = match (bio.op, barrier) {
            (Op::Flush, _) => Err(bio),
            (_, true) => self.merge_held(bio),
            (_, false) => self.elevator.try_merge(bio, &self.limits),
        };
        let bio = match merged {
            Ok(kind) => return Ok(Queued::Merged(kind)),
            Err(bio) => bio,
        };
        if self.len() >= self.limits.nr_requests {
            return Err(BlkError::QueueFull);
        }
        let is_flush = bio.op == Op::Flush;
        let rq = self.new_request(bio, now);
        let id = rq.id;
        if barrier {
            self.held.push_back(rq);
        } else if is_flush {
            self.flush = Some(rq);
        } else {
            self.elevator.add_request(rq, now);
        }
        Ok(Queued::New(id))
    }

    /// Merges with what is held after the last held flush.
    fn merge_held(&mut self, bio: Bio) -> Result<MergeKind, Bio> {
        for rq in self.held.iter_mut().rev() {
            if rq.op == Op::Flush {
                break;
            }
            if let Some(kind) = rq.merge_kind(&bio, &self.limits) {
                rq.merge(bio, kind);
                return Ok(kind);
            }
        }
        Err(bio)
    }

    /// The next request for the driver. A waiting flush goes only when the
    /// scheduler is empty and `in_flight` is 0; then what was held behind
    /// it joins the scheduler (up to the next flush).
    pub fn dispatch(&mut self, now: u64, in_flight: usize) -> Option<Request> {
        if let Some(rq) = self.elevator.dispatch(now) {
            return Some(rq);
        }
        if in_flight > 0 {
            return None;
        }
        let flush = self.flush.take()?;
        while let Some(rq) = self.held.pop_front() {
            if rq.op == Op::Flush {
                self.flush = Some(rq);
                break;
            }
            self.elevator.add_request(rq, now);
        }
        Some(flush)
    }

    /// Takes every waiting request out, in id order (for a removed device).
    pub fn drain(&mut self) -> alloc::vec::Vec<Request> {
        let mut all = self.elevator.drain();
        all.extend(self.flush.take());
        all.extend(self.held.drain(..));
        all.sort_by_key(|r| r.id);
        all
    }

    /// The `scheduler` attribute: every scheduler, the current one in
    /// brackets (`[noop] deadline`).
    pub fn scheduler_attr(&self) -> String {
        let current = self.elevator.name();
        let names: alloc::vec::Vec<String> = SCHEDULERS
            .iter()
            .map(|&n| {
                if n == current {
                    format!("[{n}]")
                } else {
                    n.into()
                }
            })
            .collect();
        format!("{}\n", names.join(" "))
    }

    /// Writing the `scheduler` attribute: switches to the named scheduler
    /// (a trailing newline is ignored), moving the waiting requests over
    /// in arrival order. `UnknownScheduler` leaves the queue as it was.
    pub fn set_scheduler(&mut self, name: &str, now: u64) -> Result<(), BlkError> {
        let name = name.trim_end_matches('\n');
        let mut new = sched::by_name(name).ok_or(BlkError::UnknownScheduler)?;
        let mut moved = self.elevator.drain();
        moved.sort_by_key(|r| r.id);
        for rq in moved {
            new.add_request(rq, now);
        }
        self.elevator = new;
        Ok(())
    }

    /// The current scheduler's name.
    pub fn scheduler(&self) -> &'static str {
        self.elevator.name()
    }
}
