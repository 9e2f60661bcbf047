//! The noop scheduler: a FIFO with merging. Requests go to the driver in
//! the order they were made; a new bio is merged into the most recent
//! adjacent request.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::Elevator;
use crate::bio::Bio;
use crate::request::{MergeKind, QueueLimits, Request};

/// FIFO order.
#[derive(Default)]
pub struct Noop {
    queue: VecDeque<Request>,
}

impl Elevator for Noop {
    fn name(&self) -> &'static str {
        "noop"
    }

    fn try_merge(&mut self, bio: Bio, limits: &QueueLimits) -> Result<MergeKind, Bio> {
        for rq in self.queue.iter_mut().rev() {
            if let Some(kind) = rq.merge_kind(&bio, limits) {
                rq.merge(bio, kind);
                return Ok(kind);
            }
        }
        Err(bio)
    }

    fn add_request(&mut self, rq: Request, _now: u64) {
        self.queue.push_back(rq);
    }

    fn dispatch(&mut self, _now: u64) -> Option<Request> {
        self.queue.pop_front()
    }

    fn len(&self) -> usize {
        self.queue.len()
    }

    fn drain(&mut self) -> Vec<Request> {
        self.queue.drain(..).collect()
    }
}
