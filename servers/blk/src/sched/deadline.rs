//! The Deadline I/O scheduler, as LKD 14 describes Linux's.
//!
//! Each direction (reads, writes) keeps its requests twice: sorted by
//! sector, and in a FIFO by arrival, each stamped with an expiry time
//! (`read_expire`, `write_expire`). Dispatching continues the current
//! batch — the next request by sector after the last one, a one-way sweep —
//! for up to `fifo_batch` requests. Then a new batch starts: reads are
//! preferred, unless writes have been passed over `writes_starved` times;
//! in the chosen direction the batch starts at the FIFO's head if that
//! request has expired (or the sweep has run off the end), otherwise the
//! sweep continues. So a request waits at most about its expiry plus a
//! batch, and reads — which a process usually waits on — go first.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;

use super::Elevator;
use crate::bio::{Bio, Op};
use crate::request::{MergeKind, QueueLimits, Request, RequestId};

/// Deadline's tunables (`/sys/block/X/queue/iosched/*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tunables {
    /// A read's expiry after queueing, ms.
    pub read_expire: u64,
    /// A write's expiry, ms.
    pub write_expire: u64,
    /// Requests per batch.
    pub fifo_batch: u32,
    /// Read batches that may pass waiting writes.
    pub writes_starved: u32,
}

impl Default for Tunables {
    /// Linux's defaults: 500 ms, 5 s, 16, 2.
    fn default() -> Self {
        Tunables {
            read_expire: 500,
            write_expire: 5000,
            fifo_batch: 16,
            writes_starved: 2,
        }
    }
}

const READ: usize = 0;
const WRITE: usize = 1;

fn dir(op: Op) -> usize {
    if op == Op::Read {
        READ
    } else {
        WRITE
    }
}

/// The scheduler's state.
pub struct Deadline {
    tunables: Tunables,
    requests: BTreeMap<RequestId, (Request, u64)>,
    sorted: [BTreeSet<(u64, RequestId)>; 2],
    fifo: [VecDeque<RequestId>; 2],
    next: [Option<RequestId>; 2],
    batching: u32,
    starved: u32,
}

impl Deadline {
    /// An empty scheduler with these tunables.
    pub fn new(tunables: Tunables) -> Self {
        Deadline {
            tunables,
            requests: BTreeMap::new(),
            sorted: [BTreeSet::new(), BTreeSet::new()],
            fifo: [VecDeque::new(), VecDeque::new()],
            next: [None, None],
            batching: 0,
            starved: 0,
        }
    }

    /// The request after `id` by sector in its direction.
    fn latter(&self, d: usize, id: RequestId) -> Option<RequestId> {
        let (rq, _) = self.requests.get(&id)?;
        let key = (rq.sector, id);
        self.sorted[d]
            .range((core::ops::Bound::Excluded(key), core::ops::Bound::Unbounded))
            .next()
            .map(|&(_, i)| i)
    }

    fn fifo_expired(&self, d: usize, now: u64) -> bool {
        self.fifo[d]
            .front()
            .and_then(|id| self.requests.get(id))
            .is_some_and(|(_, expires)| now >= *expires)
    }

    fn take(&mut self, d: usize, id: RequestId) -> Option<Request> {
        let latter = self.latter(d, id);
        let (rq, _) = self.requests.remove(&id)?;
        self.sorted[d].remove(&(rq.sector, id));
        self.fifo[d].retain(|&i| i != id);
        self.next = [None, None];
        self.next[d] = latter;
        self.batching += 1;
        Some(rq)
    }
}

impl Elevator for Deadline {
    fn name(&self) -> &'static str {
        "deadline"
    }

    fn try_merge(&mut self, bio: Bio, limits: &QueueLimits) -> Result<MergeKind, Bio> {
        let d = dir(bio.op);
        // Back merge: a request ending at bio.sector; front merge: one
        // starting at its end. The sorted set finds both near bio.sector.
        let end = bio.sector.saturating_add(bio.sectors());
        let candidates: Vec<RequestId> = self.sorted[d]
            .range((0, RequestId(0))..=(end, RequestId(u64::MAX)))
            .rev()
            .map(|&(_, id)| id)
            .collect();
        for id in candidates {
            let Some((rq, _)) = self.requests.get_mut(&id) else {
                continue;
            };
            if let Some(kind) = rq.merge_kind(&bio, limits) {
                let old = (rq.sector, id);
                rq.merge(bio, kind);
                let new = (rq.sector, id);
                self.sorted[d].remove(&old);
                self.sorted[d].insert(new);
                return Ok(kind);
            }
        }
        Err(bio)
    }

    fn add_request(&mut self, rq: Request, now: u64) {
        let d = dir(rq.op);
        let expire = if d == READ {
            self.tunables.read_expire
        } else {
            self.tunables.write_expire
        };
        self.sorted[d].insert((rq.sector, rq.id));
        self.fifo[d].push_back(rq.id);
        self.requests
            .insert(rq.id, (rq, now.saturating_add(expire)));
    }

    fn dispatch(&mut self, now: u64) -> Option<Request> {
        // Continue the batch.
        let next = self.next[WRITE].or(self.next[READ]);
        if let Some(id) = next {
            if self.batching < self.tunables.fifo_batch {
                return self.take(dir(self.requests.get(&id)?.0.op), id);
            }
        }
        let reads = !self.fifo[READ].is_empty();
        let writes = !self.fifo[WRITE].is_empty();
        let d = if reads && !(writes && self.starved >= self.tunables.writes_starved) {
            if writes {
                self.starved += 1;
            }
            READ
        } else if writes {
            self.starved = 0;
            WRITE
        } else {
            return None;
        };
        let id = match self.next[d] {
            Some(id) if !self.fifo_expired(d, now) => id,
            _ => *self.fifo[d].front()?,
        };
        self.batching = 0;
        self.take(d, id)
    }

    fn len(&self) -> usize {
        self.requests.len()
    }

    fn drain(&mut self) -> Vec<Request> {
        self.sorted = [BTreeSet::new(), BTreeSet::new()];
        self.fifo = [VecDeque::new(), VecDeque::new()];
        self.next = [None, None];
        core::mem::take(&mut self.requests)
            .into_values()
            .map(|(rq, _)| rq)
            .collect()
    }
}
