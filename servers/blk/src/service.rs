//! The block server's logic between the protocol and the devices: which
//! device a request names, whether it is well formed, which transfer slot
//! holds its data, the bio it becomes, and what each completion means for
//! its client — no system call, so it is host-tested; the binary adds the
//! grant copies, the saved replies and the drivers.
//!
//! A `Read` or `Write` goes through it in steps, because the binary must
//! copy a write's data into the slot between the first two:
//! [`Service::begin`] (the decode step: device, count, range, window; a
//! slot), [`Service::submit`] (a bio into the disk's queue, where it may
//! merge), [`Service::dispatch`] (requests for the drivers, within each
//! queue's depth), [`Service::complete`] (a driver's answer: one
//! [`Finished`] per bio, whose slot the binary gives back with
//! [`Service::release`] after the copy to the client). A driver process
//! that dies ([`Service::driver_died`]) leaves its requests here, slots
//! and data untouched, for its restarted instance
//! ([`Service::driver_restarted`]).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use libsys::proto::blk::{
    BlkError as ProtoError, DeviceInfo, DiskStat, Name, Reply, LIST_MAX, SECTOR_SIZE,
    TRANSFER_MAX_SECTORS,
};

use crate::bio::{Bio, BlkError, Op};
use crate::disk::{Completion, Disk};
use crate::request::{QueueLimits, Request, RequestId};
use crate::transfer::{segments, SlotPool};

/// Most requests queued per device (`nr_requests`).
pub const NR_REQUESTS: usize = 64;
/// Most segments in one merged request (each becomes one or fewer
/// device buffers).
pub const MAX_SEGMENTS: usize = 32;

/// The queue limits of a device that takes `queue_depth` requests at once.
pub fn limits(queue_depth: usize) -> QueueLimits {
    QueueLimits {
        max_sectors: u64::from(TRANSFER_MAX_SECTORS),
        max_segments: MAX_SEGMENTS,
        nr_requests: NR_REQUESTS,
        queue_depth: queue_depth.max(1),
    }
}

/// A block device as devmgr's class device (`AddClassDevice`): its
/// `/dev` node comes from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub name: alloc::string::String,
    pub devt: (u32, u32),
    /// `disk` or `partition`.
    pub devtype: &'static str,
    /// The disk's PCI function, or a partition's disk.
    pub parent: Option<alloc::string::String>,
}

/// What the caller lent with its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lent {
    /// The server may write it (a read's destination).
    pub writable: bool,
    pub len: u64,
}

/// A transfer decided on, before its bio is submitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Begun {
    /// The bio's tag (the key of the caller's saved reply).
    pub tag: u64,
    pub dev: usize,
    /// The partition (0: the whole disk); the bio's sector is relative to
    /// it until [`Service::submit`] remaps it.
    pub part: u32,
    /// Its transfer slot (none for a flush).
    pub slot: Option<usize>,
    pub op: Op,
    pub bytes: u64,
}

/// A bio's end, for its client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finished {
    pub begun: Begun,
    pub result: Result<(), ProtoError>,
}

/// The devices and the transfers in progress.
pub struct Service {
    disks: Vec<Disk>,
    slots: SlotPool,
    pending: BTreeMap<u64, Begun>,
    next_tag: u64,
}

impl Default for Service {
    fn default() -> Self {
        Service::new()
    }
}

/// The protocol's error for the block layer's.
pub fn proto_error(e: BlkError) -> ProtoError {
    match e {
        BlkError::OutOfRange => ProtoError::OutOfRange,
        BlkError::QueueFull => ProtoError::QueueFull,
        BlkError::UnknownScheduler => ProtoError::UnknownScheduler,
        BlkError::DeviceRemoved | BlkError::NoSuchPartition => ProtoError::NoSuchDevice,
        BlkError::Unaligned | BlkError::EmptyBio | BlkError::TooLarge => ProtoError::BadCount,
        BlkError::TooManySegments => ProtoError::BadCount,
        BlkError::Io(code) => ProtoError::Io(code),
        // EIO: the driver's death outlived the retries, or a confusion.
        BlkError::UnknownRequest
        | BlkError::StaleDriver
        | BlkError::DriverDead
        | BlkError::RetriesExhausted => ProtoError::Io(-5),
    }
}

impl Service {
    /// No devices yet.
    pub fn new() -> Service {
        Service {
            disks: Vec::new(),
            slots: SlotPool::new(),
            pending: BTreeMap::new(),
            next_tag: 1,
        }
    }

    /// Adds a disk; its index names it to [`Service::dispatch`]'s caller.
    pub fn add(&mut self, mut disk: Disk) -> usize {
        disk.set_index(self.disks.len());
        self.disks.push(disk);
        self.disks.len() - 1
    }

    /// The index of the disk called `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.disks.iter().position(|d| d.name() == name)
    }

    /// The disk and partition (0: the whole disk) called `name` (`vda`,
    /// `vda1`).
    pub fn resolve(&self, name: &str) -> Option<(usize, u32)> {
        if let Some(dev) = self.find(name) {
            return Some((dev, 0));
        }
        self.disks
            .iter()
            .enumerate()
            .find_map(|(dev, d)| d.partition_named(name).map(|part| (dev, part)))
    }

    /// The size in sectors of a disk or partition.
    fn size_of(&self, dev: usize, part: u32) -> Option<u64> {
        let disk = self.disks.get(dev)?;
        if part == 0 {
            Some(disk.capacity())
        } else {
            disk.partition_size(part)
        }
    }

    /// Whether transfers on disk `dev`'s partitions are pending.
    pub fn partitions_busy(&self, dev: usize) -> bool {
        self.pending.values().any(|b| b.dev == dev && b.part != 0)
    }

    /// Sets disk `dev`'s partitions (read from its table); see
    /// [`Disk::set_partitions`]. `NoSuchPartition` for a disk that does
    /// not exist; `QueueFull` (Linux's `EBUSY`) while transfers on its
    /// partitions are pending: a re-read waits for them.
    pub fn set_partitions(
        &mut self,
        dev: usize,
        parts: &[crate::part::Partition],
    ) -> Result<(), BlkError> {
        let busy = self.partitions_busy(dev);
        let disk = self.disks.get_mut(dev).ok_or(BlkError::NoSuchPartition)?;
        if busy {
            return Err(BlkError::QueueFull);
        }
        disk.set_partitions(parts)
    }

    /// Disk `dev`.
    pub fn disk(&self, dev: usize) -> Option<&Disk> {
        self.disks.get(dev)
    }

    /// Transfers begun and not yet released.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Slots in use.
    pub fn slots_in_use(&self) -> usize {
        self.slots.in_use()
    }

    /// Answers the requests that need no device: `List`, `Info`, `Stat`,
    /// `Scheduler`.
    ///
    /// `List` names each disk followed by its partitions (`vda`, `vda1`,
    /// `vda5`, `ram0`).
    pub fn list(&self, start: u32) -> Reply {
        let all: Vec<alloc::string::String> = self
            .disks
            .iter()
            .flat_map(|d| {
                core::iter::once(d.name().into()).chain(d.partitions().into_iter().map(|p| p.0))
            })
            .collect();
        let names = all
            .iter()
            .skip(start as usize)
            .take(LIST_MAX)
            .filter_map(|n| Name::try_from(n.as_str()).ok())
            .collect();
        Reply::Names {
            names,
            total: all.len() as u32,
        }
    }

    /// `Info { dev }`.
    pub fn info(&self, dev: &str) -> Reply {
        match self.resolve(dev).and_then(|(i, p)| self.size_of(i, p)) {
            Some(sectors) => Reply::Info(DeviceInfo {
                sectors,
                sector_size: SECTOR_SIZE,
                max_sectors: TRANSFER_MAX_SECTORS,
            }),
            None => Reply::Error(ProtoError::NoSuchDevice),
        }
    }

    /// `Stat { dev }`.
    pub fn stat(&self, dev: &str) -> Reply {
        let stats = self
            .resolve(dev)
            .and_then(|(i, p)| self.disks.get(i)?.stats_of(p));
        let Some(stats) = stats else {
            return Reply::Error(ProtoError::NoSuchDevice);
        };
        let f = stats.fields();
        Reply::Stat(DiskStat {
            read_ios: f[0],
            read_merges: f[1],
            read_sectors: f[2],
            read_ticks: f[3],
            write_ios: f[4],
            write_merges: f[5],
            write_sectors: f[6],
            write_ticks: f[7],
            in_flight: f[8],
            io_ticks: f[9],
            time_in_queue: f[10],
        })
    }

    /// `Scheduler { dev, set }`.
    pub fn scheduler(&mut self, dev: &str, set: Option<&str>, now: u64) -> Reply {
        let Some(d) = self.find(dev).and_then(|i| self.disks.get_mut(i)) else {
            return Reply::Error(ProtoError::NoSuchDevice);
        };
        if let Some(name) = set {
            if let Err(e) = d.set_scheduler(name, now) {
                return Reply::Error(proto_error(e));
            }
        }
        let text = d.scheduler_attr();
        let text = text.trim_end();
        Reply::Text(heapless::String::try_from(text).unwrap_or_default())
    }

    /// The decode step of a `Read`, `Write` or `Flush` (count 0): the
    /// device (a disk or a partition, whose sectors count from its
    /// start) exists, the count is 1 to 128 sectors, the range is inside
    /// the device, the window is of the right kind and long enough; then
    /// a slot. `NoSuchDevice`, `BadCount`, `OutOfRange`, `NoWindow`,
    /// `Busy`; nothing is held after an error.
    pub fn begin(
        &mut self,
        dev: &str,
        op: Op,
        sector: u64,
        count: u32,
        lent: Option<Lent>,
    ) -> Result<Begun, ProtoError> {
        let (dev, part) = self.resolve(dev).ok_or(ProtoError::NoSuchDevice)?;
        let size = self.size_of(dev, part).ok_or(ProtoError::NoSuchDevice)?;
        let bytes = u64::from(count) * u64::from(SECTOR_SIZE);
        if op != Op::Flush {
            if count == 0 || count > TRANSFER_MAX_SECTORS {
                return Err(ProtoError::BadCount);
            }
            let end = sector.checked_add(u64::from(count));
            if end.is_none_or(|e| e > size) {
                return Err(ProtoError::OutOfRange);
            }
            let fits = lent.is_some_and(|l| l.writable == (op == Op::Read) && l.len >= bytes);
            if !fits {
                return Err(ProtoError::NoWindow);
            }
        }
        let slot = match op {
            Op::Flush => None,
            _ => Some(self.slots.alloc().ok_or(ProtoError::Busy)?),
        };
        let tag = self.next_tag;
        self.next_tag += 1;
        let begun = Begun {
            tag,
            dev,
            part,
            slot,
            op,
            bytes: if op == Op::Flush { 0 } else { bytes },
        };
        self.pending.insert(tag, begun);
        Ok(begun)
    }

    /// Submits begun transfer `tag`'s bio (`sector` as given to `begin`).
    /// On an error the transfer is dropped and its slot freed.
    pub fn submit(&mut self, tag: u64, sector: u64, now: u64) -> Result<(), ProtoError> {
        let begun = *self.pending.get(&tag).ok_or(ProtoError::Io(-5))?;
        let segs = match begun.slot {
            Some(slot) => segments(slot, (begun.bytes / u64::from(SECTOR_SIZE)) as u32),
            None => Vec::new(),
        };
        let bio = Bio::new(begun.op, sector, segs, tag);
        match self.disks[begun.dev].submit_to(begun.part, bio, now) {
            Ok(_) => Ok(()),
            Err(e) => {
                self.abort(tag);
                Err(proto_error(e))
            }
        }
    }

    /// Drops begun transfer `tag` before submission (its data could not
    /// be copied in), freeing its slot.
    pub fn abort(&mut self, tag: u64) {
        if let Some(b) = self.pending.remove(&tag) {
            if let Some(slot) = b.slot {
                self.slots.free(slot);
            }
        }
    }

    /// The requests the drivers may start now: (device, request), each
    /// queue within its depth.
    pub fn dispatch(&mut self, now: u64) -> Vec<(usize, Request)> {
        let mut out = Vec::new();
        for (dev, disk) in self.disks.iter_mut().enumerate() {
            while let Some(rq) = disk.dispatch(now) {
                out.push((dev, rq));
            }
        }
        out
    }

    /// Device `dev`'s driver finished request `id` (`Err(code)`: failed):
    /// one [`Finished`] per bio. The slots stay taken until
    /// [`Service::release`]. A stale or unknown request gives nothing.
    pub fn complete(
        &mut self,
        dev: usize,
        id: RequestId,
        result: Result<(), i32>,
        now: u64,
    ) -> Vec<Finished> {
        let Some(disk) = self.disks.get_mut(dev) else {
            return Vec::new();
        };
        let generation = disk.generation();
        let Ok(done) = disk.complete(id, generation, result, now) else {
            return Vec::new();
        };
        self.finish(&done)
    }

    /// The requests of `completions` this service still waits on, each
    /// with its result (a completion of a request already finished, or
    /// never begun here, is dropped).
    fn finish(&mut self, completions: &[Completion]) -> Vec<Finished> {
        completions
            .iter()
            .filter_map(|c| {
                let begun = self.pending.remove(&c.tag)?;
                Some(Finished {
                    begun,
                    result: c.result.map_err(proto_error),
                })
            })
            .collect()
    }

    /// Device `dev`'s driver died: the requests it held are taken back,
    /// to go first (in their order, with their slots and data as they
    /// are) to the driver's next instance; those that outlived
    /// `MAX_RETRIES` restarts finish with an error (returned). Nothing is
    /// dispatched to `dev` until [`Service::driver_restarted`].
    pub fn driver_died(&mut self, dev: usize, now: u64) -> Vec<Finished> {
        let Some(disk) = self.disks.get_mut(dev) else {
            return Vec::new();
        };
        let failed = disk.driver_died(now);
        self.finish(&failed)
    }

    /// Device `dev`'s driver is up again: [`Service::dispatch`] gives it
    /// what its predecessor held first.
    pub fn driver_restarted(&mut self, dev: usize) {
        if let Some(disk) = self.disks.get_mut(dev) {
            disk.driver_restarted();
        }
    }

    /// The class devices disk `dev` makes (for devmgr): the disk, below
    /// `parent` (its PCI function; none for the RAM disk), then each
    /// partition below the disk.
    pub fn nodes(&self, dev: usize, parent: Option<&str>) -> Vec<Node> {
        let Some(disk) = self.disks.get(dev) else {
            return Vec::new();
        };
        let mut out = alloc::vec![Node {
            name: disk.name().into(),
            devt: disk.devt(),
            devtype: "disk",
            parent: parent.map(Into::into),
        }];
        for (name, number) in disk.partition_numbers() {
            out.push(Node {
                name,
                devt: disk.partition_devt(number),
                devtype: "partition",
                parent: Some(disk.name().into()),
            });
        }
        out
    }

    /// Gives a finished transfer's slot back.
    pub fn release(&mut self, finished: &Finished) {
        if let Some(slot) = finished.begun.slot {
            self.slots.free(slot);
        }
    }
}
