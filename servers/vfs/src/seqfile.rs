//! Generated files (Linux's `seq_file`): a file whose file system
//! answers [`FileOperations::snapshot`](crate::fs::FileOperations::snapshot)
//! has its whole contents made once, at `open`, and kept with the open
//! file; `read` and `pread` at any offset of that open read the same
//! snapshot, so a reader that reads in pieces never sees a line torn
//! between two states. Another open makes a new snapshot.
//!
//! The snapshot is bounded by [`SNAPSHOT_MAX`] (a larger one is cut, as
//! a `seq_file` stops at its buffer's end when a record will not fit).

use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::file::FileId;
use crate::fs::FsContext;
use crate::types::{ClientId, InodeKey};
use crate::vfs::Vfs;

/// The largest snapshot kept for one open (bytes).
pub const SNAPSHOT_MAX: usize = 256 * 1024;

impl Vfs {
    /// What the core tells a generated file about itself and the caller.
    pub(crate) fn fs_context(&self, client: ClientId, open_flags: u32) -> FsContext {
        let (caller_uid, caller_gid) = self
            .client(client)
            .map(|c| (c.cred.uid, c.cred.gid))
            .unwrap_or((u32::MAX, u32::MAX));
        FsContext {
            caller: client,
            caller_uid,
            caller_gid,
            open_flags,
            mounts: self.mounts_text(),
            filesystems: self.filesystems(),
            dentry_state: self.dcache.state(),
            page_cache: self.pcache.stats(),
            nr_files: self.files.len(),
            file_max: self.limits.file_max,
            nr_inodes: self.inodes.len(),
        }
    }

    /// The snapshot of `key` for an open by `client`, if its file system
    /// generates it (`None` for every other file; costs one call to
    /// `is_uncached` for those).
    pub(crate) fn snapshot_at_open(
        &mut self,
        client: ClientId,
        key: InodeKey,
        flags: u32,
    ) -> Result<Option<Vec<u8>>, Errno> {
        if !self.sb(key.0)?.fs.is_uncached(key.1) {
            return Ok(None);
        }
        let ctx = self.fs_context(client, flags);
        match self.fs(key.0)?.snapshot(key.1, &ctx) {
            None => Ok(None),
            Some(Ok(mut data)) => {
                data.truncate(SNAPSHOT_MAX);
                Ok(Some(data))
            }
            Some(Err(e)) => Err(e),
        }
    }

    /// Reads from open file `id`'s snapshot at `pos` (0 at or past its end).
    pub(crate) fn snapshot_read(
        &self,
        id: FileId,
        pos: u64,
        buf: &mut dyn crate::vfs::ReadSink,
    ) -> Result<usize, Errno> {
        let data = self.file(id)?.snapshot.as_deref().unwrap_or(&[]);
        let Ok(pos) = usize::try_from(pos) else {
            return Ok(0);
        };
        if pos >= data.len() {
            return Ok(0);
        }
        let n = buf.capacity().min(data.len() - pos);
        buf.put(0, &data[pos..pos + n])?;
        Ok(n)
    }
}
