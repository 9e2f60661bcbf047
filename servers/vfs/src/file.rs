//! Open files and file-descriptor tables (LKD 13, "The File Object" and
//! "Data Structures Associated with a Process").
//!
//! A [`File`] is one open: flags, the offset, the read-ahead state, and
//! what it reads (an inode through a path, or a pipe end). An [`FdTable`]
//! maps a client's descriptors to files; `dup` and `fork` make several
//! descriptors share one file and so one offset, as in Linux. Invariant:
//! a file's `refs` equals the descriptors (in every table) naming it.

use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::mount::Path;
use crate::readahead::ReadAhead;
use crate::types::InodeKey;

pub type FileId = u32;
pub type PipeId = u32;

/// The most descriptors a table may have whatever the limit (Linux's
/// `nr_open` default).
pub const NR_OPEN: usize = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A file, directory or symlink of a mounted file system.
    Inode { key: InodeKey, path: Path },
    /// One end of a pipe.
    Pipe { pipe: PipeId, write_end: bool },
}

#[derive(Clone, Debug)]
pub struct File {
    pub kind: FileKind,
    /// The access mode and status flags (`O_*`) of the open.
    pub flags: u32,
    pub pos: u64,
    pub refs: u32,
    pub ra: ReadAhead,
    /// A generated file's contents, made at open (procfs, sysfs: see
    /// `FileOperations::snapshot`); reads are served from it.
    pub snapshot: Option<Vec<u8>>,
}

impl File {
    pub fn readable(&self) -> bool {
        matches!(
            self.flags & crate::types::O_ACCMODE,
            crate::types::O_RDONLY | crate::types::O_RDWR
        )
    }
    pub fn writable(&self) -> bool {
        matches!(
            self.flags & crate::types::O_ACCMODE,
            crate::types::O_WRONLY | crate::types::O_RDWR
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdEntry {
    pub file: FileId,
    pub cloexec: bool,
}

/// One client's descriptors.
#[derive(Clone, Debug, Default)]
pub struct FdTable {
    slots: Vec<Option<FdEntry>>,
}

impl FdTable {
    /// The entry of `fd`, or `EBADF`.
    pub fn get(&self, fd: i32) -> Result<FdEntry, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i).copied().flatten())
            .ok_or(Errno::EBADF)
    }

    pub fn get_mut(&mut self, fd: i32) -> Result<&mut FdEntry, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .and_then(|s| s.as_mut())
            .ok_or(Errno::EBADF)
    }

    /// The lowest free descriptor ≥ `min` and below `limit`, or `EMFILE`.
    pub fn lowest_free(&self, min: usize, limit: usize) -> Result<i32, Errno> {
        let limit = limit.min(NR_OPEN);
        let found = (min..limit).find(|&i| self.slots.get(i).is_none_or(|s| s.is_none()));
        found.map(|i| i as i32).ok_or(Errno::EMFILE)
    }

    /// Puts `entry` at `fd` (which the caller checked is below the limit),
    /// returning what was there.
    pub fn install(&mut self, fd: i32, entry: FdEntry) -> Option<FdEntry> {
        let i = fd as usize;
        if self.slots.len() <= i {
            self.slots.resize(i + 1, None);
        }
        self.slots[i].replace(entry)
    }

    pub fn remove(&mut self, fd: i32) -> Option<FdEntry> {
        let slot = self.slots.get_mut(usize::try_from(fd).ok()?)?;
        let entry = slot.take();
        while self.slots.last() == Some(&None) {
            self.slots.pop();
        }
        entry
    }

    /// Every open descriptor and its entry, in order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, FdEntry)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|e| (i as i32, e)))
    }

    pub fn count(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }
}
