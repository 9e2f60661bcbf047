//! `read`, `write`, `pread`, `pwrite`, `readv`, `writev`, `lseek` and
//! `getdents64`, and the
//! generic file read and write through the page cache (Linux's
//! `filemap_read` and `generic_perform_write`, LKD 16).
//!
//! Reads copy from cached pages, bringing missing ones in with the file
//! system's `readpage` and reading ahead on sequential access; on an
//! in-memory file system (tmpfs) a missing page is a hole and reads as
//! zeros without being allocated. Writes fill pages (reading a partly
//! overwritten one first), mark them dirty and return; writeback happens
//! later (`writeback`). Errnos: `EBADF` for a descriptor not open or not
//! open for that direction, `EISDIR` reading a directory, `EINVAL` for a
//! negative offset, `ESPIPE` for `pread`/`pwrite`/`lseek` on a pipe,
//! `EFBIG` past the file system's maximum size, `ENOSPC` when tmpfs is out
//! of pages (after a partial write, the count written).

use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::dirent::push_dirent;
use crate::file::{FileId, FileKind};
use crate::types::*;
use crate::vfs::{Io, Vfs};

const PAGE: u64 = PAGE_SIZE as u64;

/// The most buffers `readv`/`writev` take (Linux's `UIO_MAXIOV`).
pub const IOV_MAX: usize = 1024;

impl Vfs {
    fn fd_file(&self, client: ClientId, fd: i32) -> Result<FileId, Errno> {
        Ok(self.client(client)?.fds.get(fd)?.file)
    }

    /// `read(fd, buf)`: bytes read (0 at end of file) or, on an empty
    /// pipe with a writer, `Io::Blocked` (`EAGAIN` with `O_NONBLOCK`).
    pub fn read(&mut self, client: ClientId, fd: i32, buf: &mut [u8]) -> Result<Io, Errno> {
        let id = self.fd_file(client, fd)?;
        let file = self.file(id)?;
        if !file.readable() {
            return Err(Errno::EBADF);
        }
        match file.kind {
            FileKind::Pipe { pipe, .. } => self.pipe_read(client, pipe, file.flags, buf),
            FileKind::Inode { key, .. } => {
                let pos = file.pos;
                let n = self.file_read(Some(id), key, pos, buf)?;
                self.file_mut(id)?.pos = pos + n as u64;
                Ok(Io::Done(n))
            }
        }
    }

    /// `pread(fd, buf, offset)`; the file offset is unchanged.
    pub fn pread(
        &mut self,
        client: ClientId,
        fd: i32,
        buf: &mut [u8],
        offset: i64,
    ) -> Result<usize, Errno> {
        let id = self.fd_file(client, fd)?;
        let file = self.file(id)?;
        if !file.readable() {
            return Err(Errno::EBADF);
        }
        let FileKind::Inode { key, .. } = file.kind else {
            return Err(Errno::ESPIPE);
        };
        let offset = u64::try_from(offset).map_err(|_| Errno::EINVAL)?;
        self.file_read(None, key, offset, buf)
    }

    /// `write(fd, data)`: bytes written, or for a pipe possibly
    /// `Io::Blocked` (with what was written so far).
    pub fn write(&mut self, client: ClientId, fd: i32, data: &[u8]) -> Result<Io, Errno> {
        let id = self.fd_file(client, fd)?;
        let file = self.file(id)?;
        if !file.writable() {
            return Err(Errno::EBADF);
        }
        match file.kind {
            FileKind::Pipe { pipe, .. } => self.pipe_write(client, pipe, file.flags, data),
            FileKind::Inode { key, .. } => {
                let append = file.flags & O_APPEND != 0;
                let pos = if append {
                    self.attr(key)?.size
                } else {
                    file.pos
                };
                let n = self.file_write(client, key, pos, data)?;
                self.file_mut(id)?.pos = pos + n as u64;
                Ok(Io::Done(n))
            }
        }
    }

    /// `pwrite(fd, data, offset)`; with `O_APPEND` Linux appends anyway.
    pub fn pwrite(
        &mut self,
        client: ClientId,
        fd: i32,
        data: &[u8],
        offset: i64,
    ) -> Result<usize, Errno> {
        let id = self.fd_file(client, fd)?;
        let file = self.file(id)?;
        if !file.writable() {
            return Err(Errno::EBADF);
        }
        let FileKind::Inode { key, .. } = file.kind else {
            return Err(Errno::ESPIPE);
        };
        let offset = u64::try_from(offset).map_err(|_| Errno::EINVAL)?;
        let pos = if file.flags & O_APPEND != 0 {
            self.attr(key)?.size
        } else {
            offset
        };
        self.file_write(client, key, pos, data)
    }

    /// `readv(fd, iov)`: fills the buffers in order and stops at a short
    /// read. `EINVAL` for more than `IOV_MAX` buffers; a pipe that runs dry
    /// after some bytes returns those instead of waiting.
    pub fn readv(&mut self, client: ClientId, fd: i32, iov: &mut [&mut [u8]]) -> Result<Io, Errno> {
        if iov.len() > IOV_MAX {
            return Err(Errno::EINVAL);
        }
        let mut total = 0;
        for buf in iov.iter_mut() {
            match self.read(client, fd, buf) {
                Ok(Io::Done(n)) => {
                    total += n;
                    if n < buf.len() {
                        break;
                    }
                }
                Ok(Io::Blocked(_)) if total > 0 => {
                    self.cancel_wait(client);
                    break;
                }
                Ok(Io::Blocked(_)) => return Ok(Io::Blocked(0)),
                Err(e) if total == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(Io::Done(total))
    }

    /// `writev(fd, iov)`: writes the buffers in order. To a pipe, a total
    /// of at most `PIPE_BUF` bytes is one atomic write, as in Linux.
    pub fn writev(&mut self, client: ClientId, fd: i32, iov: &[&[u8]]) -> Result<Io, Errno> {
        if iov.len() > IOV_MAX {
            return Err(Errno::EINVAL);
        }
        let len: usize = iov.iter().map(|b| b.len()).sum();
        if len <= crate::pipe::PIPE_BUF {
            let joined: Vec<u8> = iov.concat();
            return self.write(client, fd, &joined);
        }
        let mut total = 0;
        for buf in iov {
            match self.write(client, fd, buf) {
                Ok(Io::Done(n)) => {
                    total += n;
                    if n < buf.len() {
                        break;
                    }
                }
                Ok(Io::Blocked(n)) => return Ok(Io::Blocked(total + n)),
                Err(e) if total == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(Io::Done(total))
    }

    /// Reads the file `key` at `pos` (read-ahead state of file `ra_of`).
    fn file_read(
        &mut self,
        ra_of: Option<FileId>,
        key: InodeKey,
        pos: u64,
        buf: &mut [u8],
    ) -> Result<usize, Errno> {
        let attr = self.attr(key)?;
        if is_dir(attr.mode) {
            return Err(Errno::EISDIR);
        }
        let sb = self.sb_mut(key.0)?;
        if sb.fs.is_uncached(key.1) {
            return sb.fs.read(key.1, pos, buf);
        }
        let in_memory = sb.in_memory;
        if pos >= attr.size || buf.is_empty() {
            return Ok(0);
        }
        let n = buf.len().min((attr.size - pos) as usize);
        let first = pos / PAGE;
        let last = (pos + n as u64 - 1) / PAGE;
        if !in_memory {
            let ahead = match ra_of.and_then(|f| self.files.get_mut(f)) {
                Some(f) => {
                    f.ra.on_read(first, last - first + 1, attr.size.div_ceil(PAGE))
                }
                None => 0..0,
            };
            for index in ahead {
                // Read-ahead is advice: a failure shows when the page is read.
                let _ = self.get_page(key, index);
            }
        }
        let mut done = 0;
        while done < n {
            let at = pos + done as u64;
            let (index, off) = (at / PAGE, (at % PAGE) as usize);
            let len = (PAGE_SIZE - off).min(n - done);
            let out = &mut buf[done..done + len];
            if in_memory && !self.pcache.contains(key, index) {
                out.fill(0);
            } else {
                if let Err(e) = self.get_page(key, index) {
                    return if done > 0 { Ok(done) } else { Err(e) };
                }
                let page = self.pcache.read_page(key, index).ok_or(Errno::EIO)?;
                out.copy_from_slice(&page[off..off + len]);
            }
            done += len;
        }
        self.touch_atime(key)?;
        Ok(n)
    }

    /// `relatime`: the access time moves only if it is older than the
    /// last change or a day old, which saves a `write_inode` per read.
    fn touch_atime(&mut self, key: InodeKey) -> Result<(), Errno> {
        let now = self.now;
        let a = self.attr(key)?;
        if a.atime <= a.mtime || a.atime <= a.ctime || now.sec - a.atime.sec >= 86_400 {
            self.set_attr(key, |a| a.atime = now)?;
        }
        Ok(())
    }

    /// Makes sure page `index` of `key` is cached (`readpage` if not).
    fn get_page(&mut self, key: InodeKey, index: u64) -> Result<(), Errno> {
        let sb = self.supers.get_mut(key.0).ok_or(Errno::ESTALE)?;
        let fs = &mut sb.fs;
        let unevictable = sb.in_memory;
        self.pcache.open_space(key, unevictable);
        let result = self
            .pcache
            .add_page(key, index, &mut |page| fs.readpage(key.1, index, page));
        match result {
            Err(Errno::ENOMEM) if unevictable => Err(Errno::ENOSPC),
            r => r,
        }
    }

    /// Writes `data` to the file `key` at `pos`: `EFBIG` at or past the
    /// maximum size (a write reaching past it is cut), `ENOSPC` out of
    /// pages; a non-root writer clears set-user-ID and set-group-ID.
    fn file_write(
        &mut self,
        client: ClientId,
        key: InodeKey,
        pos: u64,
        data: &[u8],
    ) -> Result<usize, Errno> {
        if data.is_empty() {
            return Ok(0);
        }
        let sb = self.sb_mut(key.0)?;
        if sb.fs.is_uncached(key.1) {
            return sb.fs.write(key.1, pos, data);
        }
        let max = sb.fs.max_file_size();
        if pos >= max {
            return Err(Errno::EFBIG);
        }
        let n = data.len().min((max - pos).min(usize::MAX as u64) as usize);
        let ticks = self.ticks();
        let mut done = 0;
        while done < n {
            let at = pos + done as u64;
            let (index, off) = (at / PAGE, (at % PAGE) as usize);
            let len = (PAGE_SIZE - off).min(n - done);
            if let Err(e) = self.get_page(key, index) {
                if done == 0 {
                    return Err(e);
                }
                break;
            }
            let page = self.pcache.page_mut(key, index).ok_or(Errno::EIO)?;
            page[off..off + len].copy_from_slice(&data[done..done + len]);
            self.pcache.set_dirty(key, index, ticks);
            done += len;
        }
        let end = pos + done as u64;
        let now = self.now;
        let root = self.client(client)?.cred.is_root();
        let blocks = self.pcache.nr_pages(key) * (PAGE / 512);
        let in_memory = self.sb(key.0)?.in_memory;
        self.set_attr(key, |a| {
            a.size = a.size.max(end);
            a.mtime = now;
            a.ctime = now;
            if in_memory {
                a.blocks = blocks;
            }
            if !root {
                a.mode &= !S_ISUID;
                if a.mode & 0o010 != 0 {
                    a.mode &= !S_ISGID;
                }
            }
        })?;
        if !in_memory {
            self.balance_dirty_pages();
        }
        Ok(done)
    }

    /// Sets the size of `key` (`do_truncate` after the checks): pages
    /// past it are dropped and the last partial page zeroed past the end.
    pub(crate) fn do_truncate(&mut self, key: InodeKey, size: u64) -> Result<(), Errno> {
        self.pcache.truncate(key, size);
        let now = self.now;
        let blocks = self.pcache.nr_pages(key) * (PAGE / 512);
        let in_memory = self.sb(key.0)?.in_memory;
        self.set_attr(key, |a| {
            a.size = size;
            a.mtime = now;
            a.ctime = now;
            if in_memory {
                a.blocks = blocks;
            }
        })
    }

    /// `lseek(fd, offset, whence)`: the new offset. `ESPIPE` on a pipe,
    /// `EINVAL` for an unknown whence or a negative result, `ENXIO` for
    /// `SEEK_DATA`/`SEEK_HOLE` at or past the end.
    pub fn lseek(
        &mut self,
        client: ClientId,
        fd: i32,
        offset: i64,
        whence: u32,
    ) -> Result<u64, Errno> {
        let id = self.fd_file(client, fd)?;
        let file = self.file(id)?;
        let FileKind::Inode { key, .. } = file.kind else {
            return Err(Errno::ESPIPE);
        };
        let size = self.attr(key)?.size;
        let new = match whence {
            SEEK_SET => Some(offset),
            SEEK_CUR => (file.pos as i64).checked_add(offset),
            SEEK_END => (size as i64).checked_add(offset),
            SEEK_DATA | SEEK_HOLE => {
                if offset < 0 || offset as u64 >= size {
                    return Err(Errno::ENXIO);
                }
                Some(self.seek_data_hole(key, offset as u64, size, whence == SEEK_DATA)? as i64)
            }
            _ => return Err(Errno::EINVAL),
        };
        let new = new.filter(|&n| n >= 0).ok_or(Errno::EINVAL)? as u64;
        let file = self.file_mut(id)?;
        file.pos = new;
        Ok(new)
    }

    /// Where the next data or hole at or after `off` starts: on an
    /// in-memory file system, cached pages are data and the rest holes;
    /// elsewhere everything is data (as Linux's generic fallback).
    fn seek_data_hole(&self, key: InodeKey, off: u64, size: u64, data: bool) -> Result<u64, Errno> {
        if !self.sb(key.0)?.in_memory {
            return Ok(if data { off } else { size });
        }
        let mut index = off / PAGE;
        if data {
            let next = self.pcache.next_page(key, index).ok_or(Errno::ENXIO)?;
            let at = (next * PAGE).max(off);
            return if at >= size {
                Err(Errno::ENXIO)
            } else {
                Ok(at)
            };
        }
        while self.pcache.contains(key, index) {
            index += 1;
        }
        Ok((index * PAGE).max(off).min(size))
    }

    /// `getdents64(fd, count)`: `linux_dirent64` records filling at most
    /// `count` bytes (empty at the end). `ENOTDIR` for a non-directory,
    /// `EINVAL` if the buffer cannot hold the next record.
    pub fn getdents64(
        &mut self,
        client: ClientId,
        fd: i32,
        count: usize,
    ) -> Result<Vec<u8>, Errno> {
        let id = self.fd_file(client, fd)?;
        let file = self.file(id)?;
        let FileKind::Inode { key, path } = file.kind else {
            return Err(Errno::ENOTDIR);
        };
        if !is_dir(self.attr(key)?.mode) {
            return Err(Errno::ENOTDIR);
        }
        let mut pos = file.pos;
        let mut out = Vec::new();
        let mut full = false;
        if pos == 0 {
            full = !push_dirent(&mut out, count, key.1, 1, DT_DIR, b".");
            if !full {
                pos = 1;
            }
        }
        if pos == 1 && !full {
            let root = self.client(client)?.root;
            let up = self.dotdot(root, path);
            let ino = self.dcache.get(up.dentry).inode.unwrap_or(key.1);
            full = !push_dirent(&mut out, count, ino, 2, DT_DIR, b"..");
            if !full {
                pos = 2;
            }
        }
        if !full {
            let fs = self.fs(key.0)?;
            fs.readdir(key.1, pos, &mut |e| {
                if push_dirent(&mut out, count, e.ino, e.next_pos, e.dtype, e.name) {
                    pos = e.next_pos;
                    true
                } else {
                    full = true;
                    false
                }
            })?;
        }
        if out.is_empty() && full {
            return Err(Errno::EINVAL);
        }
        self.file_mut(id)?.pos = pos;
        Ok(out)
    }
}
