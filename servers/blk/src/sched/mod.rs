//! I/O schedulers (LKD 14, "I/O schedulers"): what order queued requests
//! go to the driver in, behind one trait, switchable per queue at run time.
//!
//! - [`noop`]: first in, first out, with merging — for devices where
//!   seeking costs nothing (a RAM disk, a virtual disk whose host
//!   schedules anyway).
//! - [`deadline`]: Linux's Deadline scheduler: requests sorted by sector
//!   and served in one-way sweeps in batches, each with an expiry time
//!   (reads 500 ms, writes 5 s) after which it is served first, and reads
//!   preferred over writes but never starving them.
//!
//! An elevator owns the requests it holds; the queue hands it new ones
//! (after offering it the bio to merge) and takes them back one at a time.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::bio::Bio;
use crate::request::{MergeKind, QueueLimits, Request};

pub mod deadline;
pub mod noop;

/// The schedulers a queue can switch between, in the attribute's order.
pub const SCHEDULERS: [&str; 2] = ["noop", "deadline"];

/// An I/O scheduler (Linux's `elevator_type` operations).
pub trait Elevator {
    /// Its name, as in `/sys/block/X/queue/scheduler`.
    fn name(&self) -> &'static str;
    /// Merges `bio` into a queued request if one is adjacent; gives the
    /// bio back otherwise.
    fn try_merge(&mut self, bio: Bio, limits: &QueueLimits) -> Result<MergeKind, Bio>;
    /// Takes a new request.
    fn add_request(&mut self, rq: Request, now: u64);
    /// The next request for the driver, if any (`now`: ms).
    fn dispatch(&mut self, now: u64) -> Option<Request>;
    /// How many requests it holds.
    fn len(&self) -> usize;
    /// Whether it holds none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Gives up every request (when the queue switches scheduler).
    fn drain(&mut self) -> Vec<Request>;
}

/// A scheduler by name, with its default tunables. `None` if unknown.
pub fn by_name(name: &str) -> Option<Box<dyn Elevator>> {
    match name {
        "noop" => Some(Box::new(noop::Noop::default())),
        "deadline" => Some(Box::new(deadline::Deadline::new(
            deadline::Tunables::default(),
        ))),
        _ => None,
    }
}
