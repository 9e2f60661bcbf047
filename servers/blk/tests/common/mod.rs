//! Helpers: bios of whole pages, and a simulated device that serves one
//! request at a time on a simulated millisecond clock.
#![allow(dead_code)]

use blk::{Bio, Completion, Disk, Op, QueueLimits, Segment};

/// A bio of `sectors` (a multiple of 8 uses whole pages) at `sector`.
pub fn bio(op: Op, sector: u64, sectors: u32, tag: u64) -> Bio {
    let mut segments = Vec::new();
    let mut left = sectors * 512;
    let mut page = tag * 1000;
    while left > 0 {
        let len = left.min(4096);
        segments.push(Segment {
            page,
            offset: 0,
            len,
        });
        left -= len;
        page += 1;
    }
    Bio::new(op, sector, segments, tag)
}

pub fn disk(capacity: u64) -> Disk {
    Disk::new("vda", 253, 0, capacity, QueueLimits::default())
}

/// One dispatch by the simulated device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    pub op: Op,
    pub sector: u64,
    pub tags: Vec<u64>,
    pub at: u64,
}

/// Runs the disk's queue empty on a device taking `service_ms` per
/// request, one at a time, from `now`; `arrivals` (time, bio) are
/// submitted when the clock reaches them. Returns what was served in
/// order, the completions, and the end time.
pub fn run(
    disk: &mut Disk,
    mut now: u64,
    service_ms: u64,
    mut arrivals: Vec<(u64, Bio)>,
) -> (Vec<Served>, Vec<Completion>, u64) {
    arrivals.sort_by_key(|(t, _)| *t);
    let mut arrivals = std::collections::VecDeque::from(arrivals);
    let mut served = Vec::new();
    let mut done = Vec::new();
    loop {
        while arrivals.front().is_some_and(|(t, _)| *t <= now) {
            let (_, b) = arrivals.pop_front().unwrap();
            disk.submit(b, now).unwrap();
        }
        match disk.dispatch(now) {
            Some(rq) => {
                served.push(Served {
                    op: rq.op,
                    sector: rq.sector,
                    tags: rq.bios.iter().map(|b| b.tag).collect(),
                    at: now,
                });
                now += service_ms;
                let gen = disk.generation();
                done.extend(disk.complete(rq.id, gen, Ok(()), now).unwrap());
            }
            None => match arrivals.front() {
                Some((t, _)) => now = *t,
                None => break,
            },
        }
    }
    (served, done, now)
}
