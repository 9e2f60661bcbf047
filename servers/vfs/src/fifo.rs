//! FIFOs (named pipes, fifo(7)): an inode of type `S_IFIFO` made by
//! `mknod`/`mkfifo` on any file system that keeps the type (tmpfs,
//! ext2), opened by name, read and written as a pipe — the ring of
//! `pipe`, made at the first open and dropped, with whatever it held,
//! when the last end is closed (Linux's `fs/fifo.c`).
//!
//! Opening follows POSIX: `O_RDONLY` waits until a writer opens, and
//! `O_WRONLY` until a reader does (each is answered later, as a blocked
//! read is: [`OpenIo::Blocked`], then retried on the wake-up); with
//! `O_NONBLOCK` a reader opens at once and a writer without a reader gets
//! `ENXIO`; `O_RDWR` opens at once (Linux's behaviour; POSIX leaves it
//! open). A waiting opener counts as a reader or writer already, so a
//! reader and a writer waiting for each other both get through; it waits
//! for the other side's *open count* to move, so a writer that opens and
//! closes at once still lets the reader through (to read end of file).
//!
//! The open file is a pipe end (`FileKind::Pipe`) plus a record here of
//! the inode and path it holds; `fstat` shows the inode.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::file::{FdEntry, FileId, FileKind, PipeId};
use crate::mount::Path;
use crate::pipe::Pipe;
use crate::types::*;
use crate::vfs::Vfs;

/// A FIFO in use: its ring and how many opens each side has had.
#[derive(Clone, Copy, Debug)]
pub struct FifoState {
    pub pipe: PipeId,
    pub r_counter: u64,
    pub w_counter: u64,
}

/// An open that waits for the other side.
#[derive(Clone, Copy, Debug)]
pub struct FifoWait {
    pub key: InodeKey,
    pub pipe: PipeId,
    /// It waits as a reader (else as a writer).
    pub reader: bool,
    /// The other side's open count when it started waiting.
    pub seen: u64,
}

/// An open file that is a FIFO end: the inode and path it pins.
#[derive(Clone, Copy, Debug)]
pub struct FifoFile {
    pub key: InodeKey,
    pub path: Path,
    /// Opened `O_RDWR`: it counts on both sides.
    pub both: bool,
}

/// The FIFOs of the core.
#[derive(Debug, Default)]
pub struct Fifos {
    pub(crate) open: BTreeMap<InodeKey, FifoState>,
    pub(crate) waits: BTreeMap<ClientId, FifoWait>,
    pub(crate) files: BTreeMap<FileId, FifoFile>,
}

/// What an open came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenIo {
    /// The new descriptor.
    Opened(i32),
    /// A FIFO open waits for the other side: retry on the wake-up.
    Blocked,
}

/// What [`Vfs::fifo_open`] gives the open.
pub(crate) enum FifoOpen {
    /// The end to open: the pipe, and whether it is the write end.
    Ready {
        pipe: PipeId,
        write_end: bool,
    },
    Wait,
}

impl Vfs {
    /// The ring of FIFO `key`, made at its first open.
    fn fifo_state(&mut self, key: InodeKey) -> FifoState {
        if let Some(s) = self.fifos.open.get(&key) {
            return *s;
        }
        let ino = self.next_pipe_ino;
        self.next_pipe_ino += 1;
        let mut pipe = Pipe::new(ino, self.now);
        pipe.readers = 0;
        pipe.writers = 0;
        let state = FifoState {
            pipe: self.pipes.insert(pipe),
            r_counter: 0,
            w_counter: 0,
        };
        self.fifos.open.insert(key, state);
        state
    }

    /// Wakes the openers of `key` waiting for the other side.
    fn fifo_wake(&mut self, key: InodeKey) {
        let who: Vec<ClientId> = self
            .fifos
            .waits
            .iter()
            .filter(|(_, w)| w.key == key)
            .map(|(c, _)| *c)
            .collect();
        self.wake(who);
    }

    /// The FIFO half of `open` for `client`: the end to make a file of,
    /// or wait. A retry of a waiting open finds its record.
    pub(crate) fn fifo_open(
        &mut self,
        client: ClientId,
        key: InodeKey,
        flags: u32,
    ) -> Result<FifoOpen, Errno> {
        let acc = flags & O_ACCMODE;
        if let Some(w) = self.fifos.waits.get(&client).copied() {
            if w.key == key && w.reader == (acc == O_RDONLY) {
                return Ok(self.fifo_recheck(client, w));
            }
            self.fifo_cancel(client);
        }
        let state = self.fifo_state(key);
        let pipe = self.pipe(state.pipe)?;
        let (readers, writers) = (pipe.readers, pipe.writers);
        match acc {
            O_RDONLY => {
                pipe.readers += 1;
                self.fifo_counted(key, true);
                if writers > 0 || flags & O_NONBLOCK != 0 {
                    return Ok(FifoOpen::Ready {
                        pipe: state.pipe,
                        write_end: false,
                    });
                }
                self.fifo_wait(client, key, state.pipe, true, state.w_counter);
                Ok(FifoOpen::Wait)
            }
            O_WRONLY => {
                if readers == 0 && flags & O_NONBLOCK != 0 {
                    self.fifo_drop_if_unused(key);
                    return Err(Errno::ENXIO);
                }
                self.pipe(state.pipe)?.writers += 1;
                self.fifo_counted(key, false);
                if readers > 0 {
                    return Ok(FifoOpen::Ready {
                        pipe: state.pipe,
                        write_end: true,
                    });
                }
                self.fifo_wait(client, key, state.pipe, false, state.r_counter);
                Ok(FifoOpen::Wait)
            }
            _ => {
                let pipe = self.pipe(state.pipe)?;
                pipe.readers += 1;
                pipe.writers += 1;
                self.fifo_counted(key, true);
                self.fifo_counted(key, false);
                Ok(FifoOpen::Ready {
                    pipe: state.pipe,
                    write_end: true,
                })
            }
        }
    }

    /// One more open of `key`'s read side (`reader`) or write side; the
    /// other side's waiters may go on.
    fn fifo_counted(&mut self, key: InodeKey, reader: bool) {
        if let Some(s) = self.fifos.open.get_mut(&key) {
            if reader {
                s.r_counter += 1;
            } else {
                s.w_counter += 1;
            }
        }
        self.fifo_wake(key);
    }

    fn fifo_wait(
        &mut self,
        client: ClientId,
        key: InodeKey,
        pipe: PipeId,
        reader: bool,
        seen: u64,
    ) {
        self.fifos.waits.insert(
            client,
            FifoWait {
                key,
                pipe,
                reader,
                seen,
            },
        );
    }

    /// A waiting open, run again: through if the other side has opened
    /// since it began waiting.
    fn fifo_recheck(&mut self, client: ClientId, w: FifoWait) -> FifoOpen {
        let Some(s) = self.fifos.open.get(&w.key) else {
            self.fifos.waits.remove(&client);
            return FifoOpen::Wait;
        };
        let now = if w.reader { s.w_counter } else { s.r_counter };
        if now == w.seen {
            return FifoOpen::Wait;
        }
        self.fifos.waits.remove(&client);
        FifoOpen::Ready {
            pipe: w.pipe,
            write_end: !w.reader,
        }
    }

    /// Forgets `client`'s waiting open (interrupted, given up, or its
    /// client gone): the side it counted on is let go.
    pub(crate) fn fifo_cancel(&mut self, client: ClientId) {
        let Some(w) = self.fifos.waits.remove(&client) else {
            return;
        };
        if let Ok(pipe) = self.pipe(w.pipe) {
            if w.reader {
                pipe.readers = pipe.readers.saturating_sub(1);
            } else {
                pipe.writers = pipe.writers.saturating_sub(1);
            }
        }
        self.fifo_drop_if_unused(w.key);
    }

    /// Drops `key`'s ring once no end and no waiting open holds it.
    fn fifo_drop_if_unused(&mut self, key: InodeKey) {
        let Some(s) = self.fifos.open.get(&key).copied() else {
            return;
        };
        let unused = self
            .pipes
            .get(s.pipe)
            .is_none_or(|p| p.readers == 0 && p.writers == 0);
        if unused {
            self.pipes.remove(s.pipe);
            self.fifos.open.remove(&key);
        }
    }

    /// Records open file `file` as an end of FIFO `key` (opened through
    /// `path`, with `flags`).
    pub(crate) fn fifo_file_opened(&mut self, file: FileId, key: InodeKey, path: Path, flags: u32) {
        let both = flags & O_ACCMODE == O_RDWR;
        self.fifos.files.insert(file, FifoFile { key, path, both });
    }

    /// The last reference to pipe-end file `id` is gone: the pipe end
    /// goes, and for a FIFO also its other side (`O_RDWR`), the inode
    /// and the path it held.
    pub(crate) fn pipe_file_release(&mut self, id: FileId, pipe: PipeId, write_end: bool) {
        let fifo = self.fifos.files.remove(&id);
        if let Some(f) = fifo.filter(|f| f.both) {
            // The other side first, so the pipe is not freed between.
            if let Ok(p) = self.pipe(pipe) {
                p.readers = p.readers.saturating_sub(1);
                let woken = if p.readers == 0 {
                    core::mem::take(&mut p.write_waiters)
                } else {
                    Vec::new()
                };
                self.wake(woken);
            }
            let _ = f;
        }
        self.pipe_release(pipe, write_end);
        if let Some(f) = fifo {
            if self.pipes.get(pipe).is_none() {
                self.fifos.open.remove(&f.key);
            }
            self.iput(f.key);
            self.path_put(f.path);
        }
    }

    /// Opens FIFO `key` (reached through `path`) as descriptor `fd` of
    /// `client`, or waits.
    pub(crate) fn open_fifo_file(
        &mut self,
        client: ClientId,
        fd: i32,
        key: InodeKey,
        path: Path,
        flags: u32,
    ) -> Result<OpenIo, Errno> {
        let (pipe, write_end) = match self.fifo_open(client, key, flags)? {
            FifoOpen::Ready { pipe, write_end } => (pipe, write_end),
            FifoOpen::Wait => return Ok(OpenIo::Blocked),
        };
        let status = flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
        let file = self.alloc_file(FileKind::Pipe { pipe, write_end }, status);
        let file = match file.and_then(|f| self.iget(key).map(|()| f)) {
            Ok(f) => f,
            Err(e) => {
                self.fifo_uncount(key, pipe, flags);
                return Err(e);
            }
        };
        self.path_get(path);
        self.fifo_file_opened(file, key, path, flags);
        let cloexec = flags & O_CLOEXEC != 0;
        self.client_mut(client)?
            .fds
            .install(fd, FdEntry { file, cloexec });
        Ok(OpenIo::Opened(fd))
    }

    /// Undoes the count of an open that failed after [`Self::fifo_open`].
    fn fifo_uncount(&mut self, key: InodeKey, pipe: PipeId, flags: u32) {
        if let Ok(p) = self.pipe(pipe) {
            let acc = flags & O_ACCMODE;
            if acc != O_WRONLY {
                p.readers = p.readers.saturating_sub(1);
            }
            if acc != O_RDONLY {
                p.writers = p.writers.saturating_sub(1);
            }
        }
        self.fifo_drop_if_unused(key);
    }

    /// The inode a FIFO end's file names (for `fstat`), if it is one.
    pub(crate) fn fifo_key(&self, id: FileId) -> Option<InodeKey> {
        self.fifos.files.get(&id).map(|f| f.key)
    }
}
