//! Pipes (pipefs): a 64 KiB ring shared by a read end and a write end.
//!
//! The rules are Linux's (pipe(7)): a write of at most [`PIPE_BUF`] bytes
//! is atomic — all of it goes in at once or, if it does not fit, none; a
//! larger write takes what fits. A write with no reader left is `EPIPE`
//! and raises `SIGPIPE`; a read of an empty pipe with no writer left is end
//! of file. The ring never blocks: it says "nothing could be done" and the
//! core turns that into `EAGAIN` (`O_NONBLOCK`) or a wait that the server
//! answers later. Invariant: `buf.len() <= PIPE_CAPACITY`.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::types::{
    ClientId, Ino, Timespec, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM,
};
use crate::vfs::ReadSink;
use libsys::errno::Errno;

/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;
/// The ring's size (Linux's default 16 pages).
pub const PIPE_CAPACITY: usize = 65536;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PipeRead {
    /// This many bytes were read.
    Data(usize),
    /// Empty and no writer is left: end of file.
    Eof,
    /// Empty while a writer remains: wait or `EAGAIN`.
    Empty,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PipeWrite {
    /// Everything was written.
    All(usize),
    /// This many bytes (possibly 0) were written; the rest must wait for
    /// room.
    Partial(usize),
    /// No reader is left: `EPIPE` and `SIGPIPE`.
    Broken,
}

#[derive(Clone, Debug)]
pub struct Pipe {
    buf: VecDeque<u8>,
    pub readers: u32,
    pub writers: u32,
    /// Clients waiting for data (readers) or room (writers).
    pub read_waiters: Vec<ClientId>,
    pub write_waiters: Vec<ClientId>,
    pub ino: Ino,
    pub ctime: Timespec,
}

impl Pipe {
    pub fn new(ino: Ino, now: Timespec) -> Pipe {
        Pipe {
            buf: VecDeque::new(),
            readers: 1,
            writers: 1,
            read_waiters: Vec::new(),
            write_waiters: Vec::new(),
            ino,
            ctime: now,
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn room(&self) -> usize {
        PIPE_CAPACITY - self.buf.len()
    }

    /// Takes up to `out.len()` bytes.
    pub fn read(&mut self, out: &mut [u8]) -> PipeRead {
        // A slice sink cannot fail.
        self.read_to(&mut { out }).unwrap_or(PipeRead::Data(0))
    }

    /// As [`Pipe::read`], into `out` wherever it puts the bytes; what
    /// `out` refuses (`EFAULT`) stays in the pipe.
    pub fn read_to(&mut self, out: &mut dyn ReadSink) -> Result<PipeRead, Errno> {
        if self.buf.is_empty() {
            return Ok(if self.writers == 0 {
                PipeRead::Eof
            } else {
                PipeRead::Empty
            });
        }
        let n = out.capacity().min(self.buf.len());
        if n == 0 {
            return Ok(PipeRead::Data(0));
        }
        // Two slice copies (the ring's two halves), not a byte loop: a
        // 4 KiB read cost ~40,000 instructions byte by byte.
        let (front, back) = self.buf.as_slices();
        let first = n.min(front.len());
        out.put(0, &front[..first])?;
        if first < n {
            out.put(first, &back[..n - first])?;
        }
        self.buf.drain(..n);
        Ok(PipeRead::Data(n))
    }

    /// Puts in what the pipe rules allow of `data`.
    pub fn write(&mut self, data: &[u8]) -> PipeWrite {
        if self.readers == 0 {
            return PipeWrite::Broken;
        }
        let room = self.room();
        if data.len() <= PIPE_BUF && data.len() > room {
            return PipeWrite::Partial(0);
        }
        let n = data.len().min(room);
        self.buf.extend(&data[..n]);
        if n == data.len() {
            PipeWrite::All(n)
        } else {
            PipeWrite::Partial(n)
        }
    }

    /// `poll` events for the read end (`write_end == false`) or the write end.
    pub fn poll(&self, write_end: bool) -> u16 {
        if write_end {
            let mut ev = 0;
            if self.readers == 0 {
                ev |= POLLERR;
            } else if self.room() >= PIPE_BUF {
                ev |= POLLOUT | POLLWRNORM;
            }
            ev
        } else {
            let mut ev = 0;
            if !self.buf.is_empty() {
                ev |= POLLIN | POLLRDNORM;
            }
            if self.writers == 0 {
                ev |= POLLHUP;
            }
            ev
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes come out in order across the ring's wrap, in reads of any
    /// size, as they went in.
    #[test]
    fn reads_across_the_wrap_keep_the_order() {
        let mut pipe = Pipe::new(Ino::default(), Timespec::default());
        let data: Vec<u8> = (0..PIPE_CAPACITY as u32 * 2)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let (mut written, mut read) = (0, 0);
        let mut out = vec![0u8; 3000];
        for step in 0..40 {
            let chunk = 1000 + step * 97 % 2500;
            if written < data.len() {
                match pipe.write(&data[written..(written + chunk).min(data.len())]) {
                    PipeWrite::All(n) | PipeWrite::Partial(n) => written += n,
                    PipeWrite::Broken => panic!("a reader is there"),
                }
            }
            let want = (700 + step * 131 % 2300).min(out.len());
            if let PipeRead::Data(n) = pipe.read(&mut out[..want]) {
                assert_eq!(&out[..n], &data[read..read + n], "read at {read}");
                read += n;
            }
        }
        while let PipeRead::Data(n) = pipe.read(&mut out) {
            assert_eq!(&out[..n], &data[read..read + n]);
            read += n;
        }
        assert_eq!(read, written);
        assert!(written > PIPE_CAPACITY, "the ring wrapped");
    }
}
