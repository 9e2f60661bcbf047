//! Requests in flight, per driver instance: the block layer's half of
//! MINIX 3's transparent block-driver recovery.
//!
//! Every request handed to the driver is recorded with the driver
//! instance's generation, in dispatch order. A completion must name a
//! recorded request and come from the current generation: a duplicate or
//! a late answer from a dead instance is refused, so each request
//! completes exactly once. When the driver dies, [`InFlight::driver_died`]
//! takes its requests back, in the order they were dispatched, for the
//! restarted instance to get first; a request that has been through
//! [`MAX_RETRIES`] restarts fails instead of looping forever (a request
//! that kills its driver every time).

use alloc::vec::Vec;

use crate::bio::BlkError;
use crate::request::{Request, RequestId};

/// Restarts a request may live through.
pub const MAX_RETRIES: u32 = 3;

/// The requests the current driver instance holds.
pub struct InFlight {
    generation: u32,
    alive: bool,
    requests: Vec<Request>,
}

impl Default for InFlight {
    fn default() -> Self {
        Self::new()
    }
}

impl InFlight {
    /// Nothing in flight; driver generation 1, alive.
    pub fn new() -> Self {
        InFlight {
            generation: 1,
            alive: true,
            requests: Vec::new(),
        }
    }

    /// The current driver instance's generation.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Whether the driver is up.
    pub fn alive(&self) -> bool {
        self.alive
    }

    /// How many requests the driver holds.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// Whether the driver holds none.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// Records a request handed to the driver (a copy goes to it).
    pub fn dispatched(&mut self, rq: Request) {
        self.requests.push(rq);
    }

    /// Takes back a completed request. `StaleDriver` for an answer from
    /// an older instance, `UnknownRequest` for one not in flight.
    pub fn complete(&mut self, id: RequestId, generation: u32) -> Result<Request, BlkError> {
        if generation != self.generation || !self.alive {
            return Err(BlkError::StaleDriver);
        }
        let at = self
            .requests
            .iter()
            .position(|r| r.id == id)
            .ok_or(BlkError::UnknownRequest)?;
        Ok(self.requests.remove(at))
    }

    /// The driver died: returns its requests in dispatch order, split into
    /// those to re-submit (retries counted) and those out of retries.
    pub fn driver_died(&mut self) -> (Vec<Request>, Vec<Request>) {
        self.alive = false;
        self.generation = self.generation.wrapping_add(1);
        let mut retry = Vec::new();
        let mut failed = Vec::new();
        for mut rq in self.requests.drain(..) {
            rq.retries += 1;
            if rq.retries > MAX_RETRIES {
                failed.push(rq);
            } else {
                retry.push(rq);
            }
        }
        (retry, failed)
    }

    /// A new driver instance is up; returns its generation.
    pub fn driver_restarted(&mut self) -> u32 {
        self.alive = true;
        self.generation
    }

    /// Takes every request out (the device is gone).
    pub fn drain(&mut self) -> Vec<Request> {
        self.requests.drain(..).collect()
    }
}
