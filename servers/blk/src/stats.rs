//! Disk statistics, in the field order of Linux's `/sys/block/X/stat` and
//! `/proc/diskstats` (Documentation/block/stat.rst).
//!
//! Per direction (read, write, discard, flush): completed I/Os, merges,
//! sectors and the milliseconds they took; then requests in flight, the
//! milliseconds with at least one in flight (`io_ticks`) and the sum of
//! the requests' times (`time_in_queue`). Discards are never issued here
//! and stay 0; their fields keep the format.

use alloc::format;
use alloc::string::String;

use crate::bio::Op;

const READ: usize = 0;
const WRITE: usize = 1;
const DISCARD: usize = 2;
const FLUSH: usize = 3;

fn group(op: Op) -> usize {
    match op {
        Op::Read => READ,
        Op::Write => WRITE,
        Op::Flush => FLUSH,
    }
}

/// One device's (or partition's) counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    ios: [u64; 4],
    merges: [u64; 4],
    sectors: [u64; 4],
    ticks: [u64; 4],
    in_flight: u64,
    io_ticks: u64,
    time_in_queue: u64,
    stamp: u64,
}

impl DiskStats {
    fn update_io_ticks(&mut self, now: u64) {
        if self.in_flight > 0 {
            self.io_ticks += now.saturating_sub(self.stamp);
        }
        self.stamp = now;
    }

    /// A bio merged into a waiting request.
    pub fn merged(&mut self, op: Op) {
        self.merges[group(op)] += 1;
    }

    /// A request went to the driver at `now` (ms).
    pub fn started(&mut self, now: u64) {
        self.update_io_ticks(now);
        self.in_flight += 1;
    }

    /// A request of `sectors` completed at `now`, `waited` ms after it was
    /// queued.
    pub fn done(&mut self, op: Op, sectors: u64, waited: u64, now: u64) {
        self.update_io_ticks(now);
        self.in_flight = self.in_flight.saturating_sub(1);
        let g = group(op);
        self.ios[g] += 1;
        self.sectors[g] += sectors;
        self.ticks[g] += waited;
        self.time_in_queue += waited;
    }

    /// A request left the driver without completing (driver death: it
    /// goes back to the queue and will start again).
    pub fn requeued(&mut self, now: u64) {
        self.update_io_ticks(now);
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Completed reads.
    pub fn read_ios(&self) -> u64 {
        self.ios[READ]
    }
    /// Completed writes.
    pub fn write_ios(&self) -> u64 {
        self.ios[WRITE]
    }
    /// Requests in flight.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// The 17 fields of `/sys/block/X/stat`, in order.
    pub fn fields(&self) -> [u64; 17] {
        let (r, w, d, f) = (READ, WRITE, DISCARD, FLUSH);
        [
            self.ios[r],
            self.merges[r],
            self.sectors[r],
            self.ticks[r],
            self.ios[w],
            self.merges[w],
            self.sectors[w],
            self.ticks[w],
            self.in_flight,
            self.io_ticks,
            self.time_in_queue,
            self.ios[d],
            self.merges[d],
            self.sectors[d],
            self.ticks[d],
            self.ios[f],
            self.ticks[f],
        ]
    }

    /// `/sys/block/X/stat`: the 17 fields, each right-aligned in 8
    /// columns, separated by a space, ending in a newline.
    pub fn stat_line(&self) -> String {
        let mut s = String::new();
        for (i, v) in self.fields().iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&format!("{v:8}"));
        }
        s.push('\n');
        s
    }

    /// A `/proc/diskstats` line: major (4 columns), minor (7), name, then
    /// the 17 fields separated by spaces.
    pub fn diskstats_line(&self, major: u32, minor: u32, name: &str) -> String {
        let mut s = format!("{major:4} {minor:7} {name}");
        for v in self.fields() {
            s.push_str(&format!(" {v}"));
        }
        s.push('\n');
        s
    }
}
