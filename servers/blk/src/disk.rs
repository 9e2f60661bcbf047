//! A disk (Linux's `gendisk`): its request queue, its partitions, its
//! statistics, and the requests its driver holds.
//!
//! [`Disk::submit_to`] is the decode step of a client's request: the disk
//! is still there, the bio is well formed and within the queue's limits,
//! its sectors lie inside the partition (or disk), and only then is it
//! remapped to disk sectors (`blk_partition_remap`) and queued.
//! [`Disk::dispatch`] hands requests to the driver — first those a dead
//! instance had (in their dispatch order), then the queue's — up to the
//! device's queue depth; [`Disk::complete`] turns the driver's answer into
//! one completion per bio. A driver's death and restart, and the disk's
//! removal, complete or re-submit everything it held, each bio once.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use crate::bio::{Bio, BlkError, Op};
use crate::inflight::InFlight;
use crate::part::{partition_name, Partition};
use crate::queue::{Queued, RequestQueue};
use crate::request::{QueueLimits, Request, RequestId};
use crate::stats::DiskStats;

/// Most partitions a disk exposes (Linux's `DISK_MAX_PARTS`).
pub const MAX_PARTITIONS: usize = 256;
/// Minors a disk spans unless told (virtio-blk's 16: `vda` 254:0,
/// `vda1` 254:1, `vdb` 254:16).
pub const DISK_MINORS: u32 = 16;
/// Linux's `BLOCK_EXT_MAJOR` (259, `blkext`): partitions past a disk's
/// minors.
pub const BLOCK_EXT_MAJOR: u32 = 259;

/// The end of one bio, for its client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The client's tag.
    pub tag: u64,
    /// Done, or why not.
    pub result: Result<(), BlkError>,
}

struct PartEntry {
    number: u32,
    start: u64,
    sectors: u64,
    stats: DiskStats,
}

/// One block device.
pub struct Disk {
    name: String,
    major: u32,
    minor: u32,
    capacity: u64,
    queue: RequestQueue,
    inflight: InFlight,
    redo: VecDeque<Request>,
    stats: DiskStats,
    parts: Vec<PartEntry>,
    removed: bool,
    /// Minors a disk spans (its own and its first partitions').
    minors: u32,
    /// Its partitions past `minors` take minors of [`BLOCK_EXT_MAJOR`]
    /// from here (set by the service: its place × 256, unique).
    ext_base: u32,
}

impl Disk {
    /// A disk `name` (`vda`) of `capacity` sectors, device number
    /// `major:minor`, with `limits` and the `noop` scheduler.
    pub fn new(name: &str, major: u32, minor: u32, capacity: u64, limits: QueueLimits) -> Self {
        Disk {
            name: name.into(),
            major,
            minor,
            capacity,
            queue: RequestQueue::new(limits),
            inflight: InFlight::new(),
            redo: VecDeque::new(),
            stats: DiskStats::default(),
            parts: Vec::new(),
            removed: false,
            minors: DISK_MINORS,
            ext_base: 0,
        }
    }

    /// The same disk spanning `minors` minors: partitions numbered below
    /// take `minor + number`, the others the extended major (a RAM disk
    /// spans 1, as Linux's `brd`).
    pub fn with_minors(mut self, minors: u32) -> Self {
        self.minors = minors.max(1);
        self
    }

    /// Its device number.
    pub fn devt(&self) -> (u32, u32) {
        (self.major, self.minor)
    }

    /// Sets where its extended minors start (`index` × 256: the
    /// service's place for it, which keeps them unique).
    pub fn set_index(&mut self, index: usize) {
        self.ext_base = index as u32 * MAX_PARTITIONS as u32;
    }

    /// Partition `number`'s device number: `major:minor+number` within
    /// the disk's minors, else [`BLOCK_EXT_MAJOR`]`:index*256+number`.
    pub fn partition_devt(&self, number: u32) -> (u32, u32) {
        if number < self.minors {
            (self.major, self.minor + number)
        } else {
            (BLOCK_EXT_MAJOR, self.ext_base + number)
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its size in sectors.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The current driver instance's generation (completions name it).
    pub fn generation(&self) -> u32 {
        self.inflight.generation()
    }

    /// Requests the driver holds.
    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// Requests waiting (queued or to be re-submitted).
    pub fn queued(&self) -> usize {
        self.queue.len() + self.redo.len()
    }

    /// Sets the partitions (from [`crate::part::read_partitions`]).
    /// `OutOfRange` if one passes the disk's end, `NoSuchPartition` for a
    /// number of 0 or over [`MAX_PARTITIONS`]; nothing changes then.
    pub fn set_partitions(&mut self, parts: &[Partition]) -> Result<(), BlkError> {
        for p in parts {
            if p.number == 0 || p.number as usize > MAX_PARTITIONS {
                return Err(BlkError::NoSuchPartition);
            }
            let end = p.start.checked_add(p.sectors).ok_or(BlkError::OutOfRange)?;
            if end > self.capacity {
                return Err(BlkError::OutOfRange);
            }
        }
        self.parts = parts
            .iter()
            .map(|p| PartEntry {
                number: p.number,
                start: p.start,
                sectors: p.sectors,
                stats: DiskStats::default(),
            })
            .collect();
        Ok(())
    }

    /// The partitions' names, first sectors and sizes (`vda1`, …).
    pub fn partitions(&self) -> Vec<(String, u64, u64)> {
        self.parts
            .iter()
            .map(|p| (partition_name(&self.name, p.number), p.start, p.sectors))
            .collect()
    }

    /// The partitions' names and numbers.
    pub fn partition_numbers(&self) -> Vec<(String, u32)> {
        self.parts
            .iter()
            .map(|p| (partition_name(&self.name, p.number), p.number))
            .collect()
    }

    /// The number of the partition called `name` (`vda5` is 5).
    pub fn partition_named(&self, name: &str) -> Option<u32> {
        self.parts
            .iter()
            .find(|p| partition_name(&self.name, p.number) == name)
            .map(|p| p.number)
    }

    /// Partition `part`'s size in sectors.
    pub fn partition_size(&self, part: u32) -> Option<u64> {
        self.parts
            .iter()
            .find(|p| p.number == part)
            .map(|p| p.sectors)
    }

    /// The counters of partition `part` (0: the whole disk).
    pub fn stats_of(&self, part: u32) -> Option<&DiskStats> {
        if part == 0 {
            return Some(&self.stats);
        }
        self.parts
            .iter()
            .find(|p| p.number == part)
            .map(|p| &p.stats)
    }

    fn part_stats(&mut self, part: u32) -> Option<&mut DiskStats> {
        self.parts
            .iter_mut()
            .find(|p| p.number == part)
            .map(|p| &mut p.stats)
    }

    /// Submits a bio to the whole disk. See [`Disk::submit_to`].
    pub fn submit(&mut self, bio: Bio, now: u64) -> Result<Queued, BlkError> {
        self.submit_to(0, bio, now)
    }

    /// Submits a bio to partition `part` (0: the whole disk), its sector
    /// relative to the partition. `DeviceRemoved`, `NoSuchPartition`,
    /// `EmptyBio`, `Unaligned`, `TooManySegments`, `TooLarge`,
    /// `OutOfRange`, `QueueFull`; a refused bio leaves no trace.
    pub fn submit_to(&mut self, part: u32, mut bio: Bio, now: u64) -> Result<Queued, BlkError> {
        if self.removed {
            return Err(BlkError::DeviceRemoved);
        }
        let (start, size) = if part == 0 {
            (0, self.capacity)
        } else {
            let p = self.parts.iter().find(|p| p.number == part);
            p.map(|p| (p.start, p.sectors))
                .ok_or(BlkError::NoSuchPartition)?
        };
        let limits = *self.queue.limits();
        bio.check(limits.max_segments, limits.max_sectors)?;
        if bio.op == Op::Flush {
            bio.sector = 0;
        } else {
            let end = bio.sector.checked_add(bio.sectors());
            if end.is_none_or(|e| e > size) {
                return Err(BlkError::OutOfRange);
            }
            bio.sector += start;
        }
        bio.part = part;
        let op = bio.op;
        let queued = self.queue.submit(bio, now)?;
        if let Queued::Merged(_) = queued {
            self.stats.merged(op);
            if let Some(s) = self.part_stats(part) {
                s.merged(op);
            }
        }
        Ok(queued)
    }

    /// The next request for the driver, if the driver is up, below the
    /// queue depth, and one is ready. A copy stays recorded in flight.
    pub fn dispatch(&mut self, now: u64) -> Option<Request> {
        if self.removed || !self.inflight.alive() {
            return None;
        }
        if self.inflight.len() >= self.queue.limits().queue_depth {
            return None;
        }
        let rq = match self.redo.pop_front() {
            Some(rq) => rq,
            None => self.queue.dispatch(now, self.inflight.len())?,
        };
        self.stats.started(now);
        if let Some(s) = self.part_stats(rq.part) {
            s.started(now);
        }
        self.inflight.dispatched(rq.clone());
        Some(rq)
    }

    /// The driver (instance `generation`) finished request `id`: one
    /// completion per bio, with the driver's error code if it failed.
    /// `StaleDriver`, `UnknownRequest` (already completed).
    pub fn complete(
        &mut self,
        id: RequestId,
        generation: u32,
        result: Result<(), i32>,
        now: u64,
    ) -> Result<Vec<Completion>, BlkError> {
        let rq = self.inflight.complete(id, generation)?;
        let waited = now.saturating_sub(rq.queued_at);
        self.stats.done(rq.op, rq.sectors, waited, now);
        if let Some(s) = self.part_stats(rq.part) {
            s.done(rq.op, rq.sectors, waited, now);
        }
        let result = result.map_err(BlkError::Io);
        Ok(completions(&rq, result))
    }

    /// The driver died: what it held goes back to be re-submitted first,
    /// in dispatch order, to the next instance; requests out of retries
    /// complete with `RetriesExhausted` (returned).
    pub fn driver_died(&mut self, now: u64) -> Vec<Completion> {
        let (retry, failed) = self.inflight.driver_died();
        for rq in retry.iter().chain(failed.iter()) {
            self.stats.requeued(now);
            if let Some(s) = self.part_stats(rq.part) {
                s.requeued(now);
            }
        }
        for rq in retry.into_iter().rev() {
            self.redo.push_front(rq);
        }
        failed
            .iter()
            .flat_map(|rq| completions(rq, Err(BlkError::RetriesExhausted)))
            .collect()
    }

    /// A new driver instance is up; returns the generation its
    /// completions must carry.
    pub fn driver_restarted(&mut self) -> u32 {
        self.inflight.driver_restarted()
    }

    /// The device is gone: everything queued or in flight completes with
    /// `DeviceRemoved` (returned); later submissions get `DeviceRemoved`.
    pub fn remove(&mut self, now: u64) -> Vec<Completion> {
        self.removed = true;
        let mut all: Vec<Request> = self.inflight.drain();
        for _ in &all {
            self.stats.requeued(now);
        }
        all.extend(self.redo.drain(..));
        all.extend(self.queue.drain());
        all.iter()
            .flat_map(|rq| completions(rq, Err(BlkError::DeviceRemoved)))
            .collect()
    }

    /// `/sys/block/X/queue/scheduler`.
    pub fn scheduler_attr(&self) -> String {
        self.queue.scheduler_attr()
    }

    /// Writes `/sys/block/X/queue/scheduler`. `UnknownScheduler`.
    pub fn set_scheduler(&mut self, name: &str, now: u64) -> Result<(), BlkError> {
        self.queue.set_scheduler(name, now)
    }

    /// The whole disk's counters.
    pub fn stats(&self) -> &DiskStats {
        &self.stats
    }

    /// `/sys/block/X/stat`.
    pub fn stat(&self) -> String {
        self.stats.stat_line()
    }

    /// `/sys/block/X/Xn/stat`. `NoSuchPartition`.
    pub fn part_stat(&self, part: u32) -> Result<String, BlkError> {
        let p = self.parts.iter().find(|p| p.number == part);
        p.map(|p| p.stats.stat_line())
            .ok_or(BlkError::NoSuchPartition)
    }

    /// This disk's lines of `/proc/diskstats`: the disk, then each
    /// partition (minor = the disk's + its number).
    pub fn diskstats(&self) -> String {
        let mut s = self
            .stats
            .diskstats_line(self.major, self.minor, &self.name);
        for p in &self.parts {
            let name = partition_name(&self.name, p.number);
            let (major, minor) = self.partition_devt(p.number);
            s.push_str(&p.stats.diskstats_line(major, minor, &name));
        }
        s
    }
}

fn completions(rq: &Request, result: Result<(), BlkError>) -> Vec<Completion> {
    rq.bios
        .iter()
        .map(|b| Completion { tag: b.tag, result })
        .collect()
}
