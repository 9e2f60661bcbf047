//! `pipe2`, reading and writing pipe ends, their release, and `poll`
//! readiness — the pipe rules of `pipe` applied to clients: a read or write
//! that must wait puts the client on the pipe's wait list and answers
//! `Io::Blocked`; whatever changes the pipe (data, room, an end closed)
//! moves the waiters to the wake-up list the server drains.

use libsys::errno::Errno;

use crate::file::{FdEntry, FileKind, PipeId};
use crate::pipe::{Pipe, PipeRead, PipeWrite};
use crate::types::*;
use crate::vfs::{Io, Vfs};

/// `st_dev` of pipes (pipefs has no superblock of its own here).
pub const PIPEFS_DEV: u64 = 0xffff_0000;

impl Vfs {
    /// `pipe2(flags)`: `(read end, write end)`. `EINVAL` for flags other
    /// than `O_CLOEXEC`, `O_NONBLOCK`, `O_DIRECT`; `EMFILE`, `ENFILE`.
    pub fn pipe2(&mut self, client: ClientId, flags: u32) -> Result<(i32, i32), Errno> {
        if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT) != 0 {
            return Err(Errno::EINVAL);
        }
        let c = self.client(client)?;
        let rfd = c.fds.lowest_free(0, c.nofile)?;
        let wfd = c.fds.lowest_free(rfd as usize + 1, c.nofile)?;
        if self.files.len() + 2 > self.limits.file_max {
            return Err(Errno::ENFILE);
        }
        let ino = self.next_pipe_ino;
        self.next_pipe_ino += 1;
        let pipe = self.pipes.insert(Pipe::new(ino, self.now));
        let status = flags & O_NONBLOCK;
        let r = self.alloc_file(
            FileKind::Pipe {
                pipe,
                write_end: false,
            },
            O_RDONLY | status,
        )?;
        let w = self.alloc_file(
            FileKind::Pipe {
                pipe,
                write_end: true,
            },
            O_WRONLY | status,
        )?;
        let cloexec = flags & O_CLOEXEC != 0;
        let fds = &mut self.client_mut(client)?.fds;
        fds.install(rfd, FdEntry { file: r, cloexec });
        fds.install(wfd, FdEntry { file: w, cloexec });
        Ok((rfd, wfd))
    }

    pub(crate) fn pipe_read(
        &mut self,
        client: ClientId,
        id: PipeId,
        flags: u32,
        buf: &mut dyn crate::vfs::ReadSink,
    ) -> Result<Io, Errno> {
        let pipe = self.pipes.get_mut(id).ok_or(Errno::EBADF)?;
        match pipe.read_to(buf)? {
            PipeRead::Data(n) => {
                // Moved, not taken: the lists keep their room.
                self.wakeups.append(&mut pipe.write_waiters);
                Ok(Io::Done(n))
            }
            PipeRead::Eof => Ok(Io::Done(0)),
            PipeRead::Empty if flags & O_NONBLOCK != 0 => Err(Errno::EAGAIN),
            PipeRead::Empty => {
                if !pipe.read_waiters.contains(&client) {
                    pipe.read_waiters.push(client);
                }
                Ok(Io::Blocked(0))
            }
        }
    }

    /// A write to a pipe; `EPIPE` when no reader is left (the server
    /// raises `SIGPIPE`: see [`Vfs::write_raises_sigpipe`]).
    pub(crate) fn pipe_write(
        &mut self,
        client: ClientId,
        id: PipeId,
        flags: u32,
        data: &[u8],
    ) -> Result<Io, Errno> {
        let pipe = self.pipes.get_mut(id).ok_or(Errno::EBADF)?;
        let result = pipe.write(data);
        let wrote = match result {
            PipeWrite::All(n) | PipeWrite::Partial(n) => n,
            PipeWrite::Broken => return Err(Errno::EPIPE),
        };
        if wrote > 0 {
            self.wakeups.append(&mut pipe.read_waiters);
        }
        match result {
            PipeWrite::Partial(0) if flags & O_NONBLOCK != 0 => Err(Errno::EAGAIN),
            PipeWrite::Partial(n) if flags & O_NONBLOCK != 0 => Ok(Io::Done(n)),
            PipeWrite::Partial(n) => {
                if !pipe.write_waiters.contains(&client) {
                    pipe.write_waiters.push(client);
                }
                Ok(Io::Blocked(n))
            }
            _ => Ok(Io::Done(wrote)),
        }
    }

    /// Whether an error of a write means "raise `SIGPIPE`" (Linux sends it
    /// with every `EPIPE` from a pipe).
    pub fn write_raises_sigpipe(err: Errno) -> bool {
        err == Errno::EPIPE
    }

    pub(crate) fn pipe_release(&mut self, id: PipeId, write_end: bool) {
        let Ok(pipe) = self.pipe(id) else { return };
        let woken = if write_end {
            pipe.writers -= 1;
            if pipe.writers == 0 {
                core::mem::take(&mut pipe.read_waiters)
            } else {
                Default::default()
            }
        } else {
            pipe.readers -= 1;
            if pipe.readers == 0 {
                core::mem::take(&mut pipe.write_waiters)
            } else {
                Default::default()
            }
        };
        let gone = pipe.readers == 0 && pipe.writers == 0;
        self.wake(woken);
        if gone {
            self.pipes.remove(id);
        }
    }

    /// A client stopped waiting (its call was interrupted): forget it.
    pub fn cancel_wait(&mut self, client: ClientId) {
        let ids: alloc::vec::Vec<u32> = self.pipes.iter().map(|(id, _)| id).collect();
        for id in ids {
            if let Some(p) = self.pipes.get_mut(id) {
                p.read_waiters.retain(|&c| c != client);
                p.write_waiters.retain(|&c| c != client);
            }
        }
        for waiters in self.in_flight.values_mut() {
            waiters.retain(|&c| c != client);
        }
        self.fifo_cancel(client);
    }

    /// `poll` events of `fd` (`POLLIN`/`POLLOUT`/`POLLHUP`/`POLLERR`);
    /// files and directories are always ready. `EBADF` if not open (poll
    /// itself reports that as `POLLNVAL`).
    pub fn poll(&mut self, client: ClientId, fd: i32) -> Result<u16, Errno> {
        let entry = self.client(client)?.fds.get(fd)?;
        match self.file(entry.file)?.kind {
            FileKind::Pipe { pipe, write_end } => Ok(self.pipe(pipe)?.poll(write_end)),
            FileKind::Inode { .. } => Ok(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM),
        }
    }

    /// `fstat` of a pipe end.
    pub(crate) fn pipe_stat(&mut self, id: PipeId) -> Result<Stat, Errno> {
        let pipe = self.pipe(id)?;
        Ok(Stat {
            st_dev: PIPEFS_DEV,
            st_ino: pipe.ino,
            st_nlink: 1,
            st_mode: S_IFIFO | 0o600,
            st_blksize: PAGE_SIZE as i64,
            st_atime: pipe.ctime,
            st_mtime: pipe.ctime,
            st_ctime: pipe.ctime,
            ..Stat::default()
        })
    }
}
