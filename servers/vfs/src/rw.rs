//! The data calls on descriptors: `read`, `write`, `pread`, `pwrite`,
//! `readv`, `writev`, `lseek` (with `SEEK_DATA`/`SEEK_HOLE`) and
//! `getdents64`. The page-cache half of file reads and writes is in
//! `filemap`. Errnos: `EBADF` for a descriptor not open or not open for
//! that direction, `EISDIR` reading a directory, `EINVAL` for a negative
//! offset or whence, `ESPIPE` for `pread`/`pwrite`/`lseek` on a pipe,
//! `ENXIO` for `SEEK_DATA`/`SEEK_HOLE` at the end, `ENOTDIR`/`EINVAL` for
//! `getdents64` on a non-directory or a buffer too small.

use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::dirent::push_dirent;
use crate::file::{FileId, FileKind};
use crate::types::*;
use crate::vfs::{Io, ReadSink, Vfs};

const PAGE: u64 = PAGE_SIZE as u64;

/// The most buffers `readv`/`writev` take (Linux's `UIO_MAXIOV`).
pub const IOV_MAX: usize = 1024;

/// What [`Vfs::read_or_device`] came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// The read was made.
    Io(Io),
    /// The descriptor names a device node (`fmt` `S_IFCHR` or
    /// `S_IFBLK`, device number `rdev`): the server routes it.
    Device { fmt: u32, rdev: u64 },
}

impl Read {
    /// The read's outcome (a device node read as a file: nothing).
    fn io(self) -> Io {
        match self {
            Read::Io(io) => io,
            Read::Device { .. } => Io::Done(0),
        }
    }
}

impl Vfs {
    fn fd_file(&self, client: ClientId, fd: i32) -> Result<FileId, Errno> {
        Ok(self.client(client)?.fds.get(fd)?.file)
    }

    /// `read(fd, buf)`: bytes read (0 at end of file) or, on an empty
    /// pipe with a writer, `Io::Blocked` (`EAGAIN` with `O_NONBLOCK`).
    pub fn read(&mut self, client: ClientId, fd: i32, buf: &mut [u8]) -> Result<Io, Errno> {
        self.read_to(client, fd, &mut { buf })
    }

    /// `read` into `buf`, wherever it puts the bytes (the server: the
    /// caller's window, copied into once from the page cache).
    pub fn read_to(
        &mut self,
        client: ClientId,
        fd: i32,
        buf: &mut dyn ReadSink,
    ) -> Result<Io, Errno> {
        self.read_at(client, fd, None, buf, false).map(Read::io)
    }

    /// `pread(fd, buf, offset)`; the file offset is unchanged. Like
    /// `read`, `Io::Blocked` while a page is read from the store.
    pub fn pread(
        &mut self,
        client: ClientId,
        fd: i32,
        buf: &mut [u8],
        offset: i64,
    ) -> Result<Io, Errno> {
        self.pread_to(client, fd, &mut { buf }, offset)
    }

    /// `pread` into `buf`, as [`Vfs::read_to`].
    pub fn pread_to(
        &mut self,
        client: ClientId,
        fd: i32,
        buf: &mut dyn ReadSink,
        offset: i64,
    ) -> Result<Io, Errno> {
        self.read_at(client, fd, Some(offset), buf, false)
            .map(Read::io)
    }

    /// `read` (`offset` `None`) or `pread` for the server, which routes
    /// device files itself: a character or block device node is not read
    /// but answered [`Read::Device`] (before the access mode is checked,
    /// as the server's device routing always was), so one look-up of the
    /// descriptor, file and inode serves both.
    pub fn read_or_device(
        &mut self,
        client: ClientId,
        fd: i32,
        offset: Option<i64>,
        buf: &mut dyn ReadSink,
    ) -> Result<Read, Errno> {
        self.read_at(client, fd, offset, buf, true)
    }

    fn read_at(
        &mut self,
        client: ClientId,
        fd: i32,
        offset: Option<i64>,
        buf: &mut dyn ReadSink,
        devices: bool,
    ) -> Result<Read, Errno> {
        let id = self.fd_file(client, fd)?;
        let file = self.file(id)?;
        let (readable, flags, snapshot) = (file.readable(), file.flags, file.snapshot.is_some());
        let (key, file_pos) = match file.kind {
            FileKind::Pipe { pipe, .. } => {
                if !readable {
                    return Err(Errno::EBADF);
                }
                if offset.is_some() {
                    return Err(Errno::ESPIPE);
                }
                return Ok(Read::Io(self.pipe_read(client, pipe, flags, buf)?));
            }
            FileKind::Inode { key, .. } => (key, file.pos),
        };
        let attr = self.attr(key)?;
        let fmt = attr.mode & S_IFMT;
        if devices && (fmt == S_IFCHR || fmt == S_IFBLK) {
            return Ok(Read::Device {
                fmt,
                rdev: attr.rdev,
            });
        }
        if !readable {
            return Err(Errno::EBADF);
        }
        // `pread` reads at its offset, with no read-ahead state and the
        // file offset left alone.
        let (pos, ra) = match offset {
            Some(o) => (u64::try_from(o).map_err(|_| Errno::EINVAL)?, None),
            None => (file_pos, Some(id)),
        };
        let io = if snapshot {
            Io::Done(self.snapshot_read(id, pos, buf)?)
        } else {
            self.file_read(client, ra, key, attr, pos, buf)?
        };
        if offset.is_none() {
            self.file_mut(id)?.pos = pos + io.count() as u64;
        }
        Ok(Read::Io(io))
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
                let io = self.file_write(client, key, pos, data)?;
                self.file_mut(id)?.pos = pos + io.count() as u64;
                Ok(io)
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
    ) -> Result<Io, Errno> {
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
