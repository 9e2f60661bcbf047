//! `bio`s: what a client asks of a block device (LKD 14, "the bio
//! structure"), and the block layer's errors.
//!
//! A [`Bio`] names an operation, a starting sector and a list of
//! [`Segment`]s — pieces of the client's shared pages (`bio_vec`s: page,
//! offset, length), never physical addresses. Its tag is the client's, to
//! match the completion. [`Bio::check`] is the decode step: every length
//! and offset is a multiple of the sector size and inside its page, the
//! segment count is bounded, and a flush carries no data.

use alloc::vec::Vec;

/// The sector size of every device here (bytes).
pub const SECTOR_SIZE: u32 = 512;
/// The page size segments live in: the ABI's one definition, as the
/// `u32` a segment's offsets and lengths are counted in.
pub const PAGE_SIZE: u32 = libsys::abi::PAGE_SIZE as u32;

/// What a bio does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Read sectors into the segments.
    Read,
    /// Write the segments to sectors.
    Write,
    /// Make completed writes durable (`REQ_PREFLUSH`); no data.
    Flush,
}

/// One piece of a client page (Linux's `bio_vec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Which of the client's shared pages (an index into its grant).
    pub page: u64,
    /// Byte offset in the page.
    pub offset: u32,
    /// Length in bytes.
    pub len: u32,
}

/// A block I/O: an operation on contiguous sectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bio {
    /// What to do.
    pub op: Op,
    /// The first sector, relative to the device or partition it is
    /// submitted to.
    pub sector: u64,
    /// The data's pieces, in order.
    pub segments: Vec<Segment>,
    /// The client's tag for the completion.
    pub tag: u64,
    /// The partition it was submitted to (0: the whole disk); set by the
    /// block layer when it remaps the sector.
    pub part: u32,
}

/// Everything the block layer refuses or reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlkError {
    /// Sectors past the end of the device or partition.
    OutOfRange,
    /// A segment's offset or length not a multiple of 512, or past its page.
    Unaligned,
    /// A read or write without data, or a flush with data.
    EmptyBio,
    /// More sectors than the queue's `max_sectors`.
    TooLarge,
    /// More segments than the queue's `max_segments`.
    TooManySegments,
    /// `nr_requests` requests already queued.
    QueueFull,
    /// The device was removed.
    DeviceRemoved,
    /// No such partition on the disk.
    NoSuchPartition,
    /// A scheduler name the queue does not know.
    UnknownScheduler,
    /// No request with that id is in flight (completed already?).
    UnknownRequest,
    /// A completion from a driver instance that has since been replaced.
    StaleDriver,
    /// The driver is dead; wait for its restart.
    DriverDead,
    /// The request was re-submitted to restarted drivers too many times.
    RetriesExhausted,
    /// The driver reported an I/O error (its code).
    Io(i32),
}

impl Bio {
    /// A bio of `op` at `sector` over `segments`.
    pub fn new(op: Op, sector: u64, segments: Vec<Segment>, tag: u64) -> Self {
        Bio {
            op,
            sector,
            segments,
            tag,
            part: 0,
        }
    }

    /// Its length in sectors (0 for a flush).
    pub fn sectors(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| u64::from(s.len / SECTOR_SIZE))
            .sum()
    }

    /// Checks the bio's shape against `max_segments` and `max_sectors`.
    /// `EmptyBio`, `Unaligned`, `TooManySegments`, `TooLarge`.
    pub fn check(&self, max_segments: usize, max_sectors: u64) -> Result<(), BlkError> {
        match (self.op, self.segments.is_empty()) {
            (Op::Flush, false) | (Op::Read | Op::Write, true) => return Err(BlkError::EmptyBio),
            _ => {}
        }
        if self.segments.len() > max_segments {
            return Err(BlkError::TooManySegments);
        }
        for s in &self.segments {
            let aligned = s.offset % SECTOR_SIZE == 0 && s.len % SECTOR_SIZE == 0;
            if !aligned || s.len == 0 || s.offset.saturating_add(s.len) > PAGE_SIZE {
                return Err(BlkError::Unaligned);
            }
        }
        if self.sectors() > max_sectors {
            return Err(BlkError::TooLarge);
        }
        Ok(())
    }
}
