//! The generic file read and write through the page cache (Linux's
//! `mm/filemap.c`: `filemap_read`, `generic_perform_write`; LKD 16).
//!
//! Reads copy from cached pages, bringing missing ones in with the file
//! system's `readpage` and reading ahead on sequential access; on an
//! in-memory file system (tmpfs) a missing page is a hole and reads as
//! zeros without being allocated. Writes fill pages — a partly overwritten
//! page inside the file is read first, a whole or past-the-end one is not
//! — mark them dirty and return; writeback happens later (`mountops`).
//!
//! A `readpage` may answer [`PageIo::Pending`]: the store (a disk behind
//! the block server) will deliver the page later through
//! [`Vfs::complete_readpage`]. Until then the page is *in flight*: a
//! caller that needs it is recorded as its waiter and gets `Io::Blocked`
//! with the bytes moved so far, and is among the wake-ups when the page
//! arrives; `readpage` is not asked twice for a page in flight.
//!
//! Errnos: `EFBIG` at or past the file system's maximum size (a write
//! reaching past it is cut), `ENOSPC` when tmpfs is out of pages (after a
//! partial write, the count written), what `readpage` returned (`EIO`).

use libsys::errno::Errno;

use crate::file::{FileId, FileKind};
use crate::fs::PageIo;
use crate::pagecache::DirtyState;
use crate::types::*;
use crate::vfs::{Io, ReadSink, Vfs, ZERO_PAGE};

const PAGE: u64 = PAGE_SIZE as u64;

impl Vfs {
    /// Reads the file `key` (whose attributes the caller has just looked
    /// up) at `pos` for `client` (with the read-ahead state of file
    /// `ra_of`).
    pub(crate) fn file_read(
        &mut self,
        client: ClientId,
        ra_of: Option<FileId>,
        key: InodeKey,
        attr: InodeAttr,
        pos: u64,
        out: &mut dyn ReadSink,
    ) -> Result<Io, Errno> {
        if is_dir(attr.mode) {
            return Err(Errno::EISDIR);
        }
        let sb = self.sb_mut(key.0)?;
        if sb.fs.is_uncached(key.1) {
            let mut buf = alloc::vec![0u8; out.capacity()];
            let n = sb.fs.read(key.1, pos, &mut buf)?;
            out.put(0, &buf[..n.min(buf.len())])?;
            return Ok(Io::Done(n));
        }
        let in_memory = sb.in_memory;
        let want = out.capacity();
        if pos >= attr.size || want == 0 {
            return Ok(Io::Done(0));
        }
        let n = want.min((attr.size - pos) as usize);
        if !in_memory {
            self.read_ahead(ra_of, key, pos, n, attr.size);
        }
        let mut done = 0;
        while done < n {
            let at = pos + done as u64;
            let (index, off) = (at / PAGE, (at % PAGE) as usize);
            let len = (PAGE_SIZE - off).min(n - done);
            // A cached page is the common case: one look-up, then the copy.
            let copied = if let Some(page) = self.pcache.read_page(key, index) {
                out.put(done, &page[off..off + len])
            } else if in_memory {
                out.put(done, &ZERO_PAGE[..len])
            } else {
                match self.get_page(key, index, false) {
                    Ok(true) => {}
                    Ok(false) => {
                        self.wait_for_page(client, key, index);
                        return Ok(Io::Blocked(done));
                    }
                    Err(e) if done == 0 => return Err(e),
                    Err(_) => return Ok(Io::Done(done)),
                }
                let page = self.pcache.read_page(key, index).ok_or(Errno::EIO)?;
                out.put(done, &page[off..off + len])
            };
            match copied {
                Ok(()) => done += len,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        if done < n {
            return Ok(Io::Done(done));
        }
        self.touch_atime(key, &attr)?;
        Ok(Io::Done(n))
    }

    /// Starts reading the pages the file's read-ahead window asks for.
    fn read_ahead(&mut self, ra_of: Option<FileId>, key: InodeKey, pos: u64, n: usize, size: u64) {
        let first = pos / PAGE;
        let last = (pos + n as u64 - 1) / PAGE;
        let ahead = match ra_of.and_then(|f| self.files.get_mut(f)) {
            Some(f) => f.ra.on_read(first, last - first + 1, size.div_ceil(PAGE)),
            None => 0..0,
        };
        for index in ahead {
            // Read-ahead is advice: a failure shows when the page is read.
            let _ = self.get_page(key, index, false);
        }
    }

    /// `relatime`: the access time moves only if it is older than the
    /// last change or a day old, which saves a `write_inode` per read.
    /// `a`: the attributes the read began with (a read changes none).
    fn touch_atime(&mut self, key: InodeKey, a: &InodeAttr) -> Result<(), Errno> {
        let now = self.now;
        if a.atime <= a.mtime || a.atime <= a.ctime || now.sec - a.atime.sec >= 86_400 {
            self.set_attr(key, |a| a.atime = now)?;
        }
        Ok(())
    }

    /// Makes sure page `index` of `key` is cached: `Ok(true)` when it is,
    /// `Ok(false)` while it is in flight. A `fresh` page (about to be
    /// wholly overwritten, or past the end) is zero-filled instead of read.
    fn get_page(&mut self, key: InodeKey, index: u64, fresh: bool) -> Result<bool, Errno> {
        if self.pcache.contains(key, index) {
            return Ok(true);
        }
        if let Some(e) = self.failed_reads.remove(&(key, index)) {
            return Err(e);
        }
        if self.in_flight.contains_key(&(key, index)) {
            return Ok(false);
        }
        let sb = self.supers.get_mut(key.0).ok_or(Errno::ESTALE)?;
        let fs = &mut sb.fs;
        let unevictable = sb.in_memory;
        self.pcache.open_space(key, unevictable);
        let mut pending = false;
        let result = self.pcache.add_page(key, index, &mut |page| {
            if fresh {
                page.fill(0);
                return Ok(());
            }
            match fs.readpage(key.1, index, page)? {
                PageIo::Done => Ok(()),
                PageIo::Pending => {
                    pending = true;
                    // Gives the frame back: the data comes later.
                    Err(Errno::EAGAIN)
                }
            }
        });
        if pending {
            self.in_flight.insert((key, index), alloc::vec::Vec::new());
            return Ok(false);
        }
        match result {
            Ok(()) => Ok(true),
            Err(Errno::ENOMEM) if unevictable => Err(Errno::ENOSPC),
            Err(e) => Err(e),
        }
    }

    fn wait_for_page(&mut self, client: ClientId, key: InodeKey, index: u64) {
        if let Some(waiters) = self.in_flight.get_mut(&(key, index)) {
            if !waiters.contains(&client) {
                waiters.push(client);
            }
        }
    }

    /// A page a file system's `readpage` left pending has arrived (`Ok`
    /// with its bytes; fewer than a page are padded with zeros) or failed
    /// (`Err`, which the next reader of the page gets). Its waiters are
    /// woken. `EINVAL` if no read of that page was in flight.
    pub fn complete_readpage(
        &mut self,
        sb: SbId,
        ino: Ino,
        index: u64,
        data: Result<&[u8], Errno>,
    ) -> Result<(), Errno> {
        let key = (sb, ino);
        let waiters = self.in_flight.remove(&(key, index)).ok_or(Errno::EINVAL)?;
        let result = match data {
            // The inode went meanwhile (unlinked and closed): drop the data.
            Ok(_) if !self.inodes.contains_key(&key) => Ok(()),
            Ok(bytes) => self.pcache.add_page(key, index, &mut |page| {
                let n = bytes.len().min(PAGE_SIZE);
                page[..n].copy_from_slice(&bytes[..n]);
                page[n..].fill(0);
                Ok(())
            }),
            Err(e) => {
                if !waiters.is_empty() {
                    self.failed_reads.insert((key, index), e);
                }
                Ok(())
            }
        };
        self.wake(waiters);
        result
    }

    /// Writes `data` to the file `key` at `pos` for `client`; a non-root
    /// writer clears set-user-ID and set-group-ID.
    pub(crate) fn file_write(
        &mut self,
        client: ClientId,
        key: InodeKey,
        pos: u64,
        data: &[u8],
    ) -> Result<Io, Errno> {
        if data.is_empty() {
            return Ok(Io::Done(0));
        }
        let size = self.attr(key)?.size;
        let sb = self.sb_mut(key.0)?;
        if sb.fs.is_uncached(key.1) {
            return sb.fs.write(key.1, pos, data).map(Io::Done);
        }
        let in_memory = sb.in_memory;
        let max = sb.fs.max_file_size();
        if pos >= max {
            return Err(Errno::EFBIG);
        }
        let n = data.len().min((max - pos).min(usize::MAX as u64) as usize);
        let ticks = self.ticks();
        let mut done = 0;
        let mut blocked = false;
        while done < n {
            let at = pos + done as u64;
            let (index, off) = (at / PAGE, (at % PAGE) as usize);
            let len = (PAGE_SIZE - off).min(n - done);
            let fresh = len == PAGE_SIZE || index * PAGE >= size;
            if let Some(sb) = self.supers.get_mut(key.0) {
                match sb.fs.write_begin(key.1, index, off, off + len) {
                    Ok(()) => {}
                    Err(e) if done == 0 => return Err(e),
                    Err(_) => break,
                }
            }
            match self.get_page(key, index, fresh) {
                Ok(true) => {}
                Ok(false) => {
                    self.wait_for_page(client, key, index);
                    blocked = true;
                    break;
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
            let page = self.pcache.page_mut(key, index).ok_or(Errno::EIO)?;
            page[off..off + len].copy_from_slice(&data[done..done + len]);
            self.pcache.set_dirty(key, index, ticks);
            done += len;
            // Linux's balance_dirty_pages_ratelimited: a long write
            // cleans pages as it goes rather than filling the cache. The
            // size goes first: writeback writes only inside the file.
            if !in_memory && self.pcache.dirty_state() == DirtyState::Throttle {
                self.written(client, key, pos + done as u64)?;
            }
        }
        if done > 0 {
            self.written(client, key, pos + done as u64)?;
        }
        Ok(if blocked {
            Io::Blocked(done)
        } else {
            Io::Done(done)
        })
    }

    /// After a write up to `end`: the size, times and blocks, privileges
    /// dropped, and the dirty limit kept.
    fn written(&mut self, client: ClientId, key: InodeKey, end: u64) -> Result<(), Errno> {
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
        Ok(())
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

    /// `mmap`'s checks on open file `fd` of `client`, for a mapping with
    /// `prot` (`PROT_*`), shared or private: the file's key and the most
    /// protection the mapping may ever have. `EBADF` for no such fd or
    /// one not open for reading (`EACCES` as Linux says: a mapping always
    /// reads); `EACCES` for `PROT_WRITE` on a shared mapping of a file
    /// not open read-write; `ENODEV` for anything but a regular file of a
    /// cached file system.
    pub fn mmap_target(
        &mut self,
        client: ClientId,
        fd: i32,
        prot: u8,
        shared: bool,
    ) -> Result<(InodeKey, u8), Errno> {
        use libsys::proto::mm::{PROT_EXEC, PROT_READ, PROT_WRITE};
        let entry = self.client(client)?.fds.get(fd)?;
        let file = self.file(entry.file)?;
        let FileKind::Inode { key, .. } = file.kind else {
            return Err(Errno::ENODEV);
        };
        let (readable, writable) = (file.readable(), file.writable());
        if !is_reg(self.attr(key)?.mode) || self.sb_mut(key.0)?.fs.is_uncached(key.1) {
            return Err(Errno::ENODEV);
        }
        if !readable || (shared && prot & PROT_WRITE != 0 && !writable) {
            return Err(Errno::EACCES);
        }
        let max_prot = if shared && !writable {
            PROT_READ | PROT_EXEC
        } else {
            PROT_READ | PROT_WRITE | PROT_EXEC
        };
        Ok((key, max_prot))
    }

    /// A file fault's page (the memory server asks, `FilePages`): page
    /// `index` of `key` brought into the cache and lent to file mappings.
    /// `Ok(Some(frame))`; `Ok(None)` while it is in flight (ask again
    /// later); `ENXIO` past the end of the file (the faulting process gets
    /// `SIGBUS`), `ESTALE` if the file is gone, what `readpage` said.
    pub fn lend_page(&mut self, key: InodeKey, index: u64) -> Result<Option<u64>, Errno> {
        let size = self.attr(key)?.size;
        if index >= size.div_ceil(PAGE) {
            return Err(Errno::ENXIO);
        }
        let in_memory = self.sb(key.0)?.in_memory;
        let fresh = in_memory && !self.pcache.contains(key, index);
        if !self.get_page(key, index, fresh)? {
            return Ok(None);
        }
        Ok(self.pcache.lend(key, index))
    }

    /// Page `index` of `key` was written through a shared mapping: dirty,
    /// for writeback as any written page.
    pub fn mapped_write(&mut self, key: InodeKey, index: u64) {
        let now = self.ticks();
        self.pcache.set_dirty(key, index, now);
    }

    /// Writes `key`'s dirty pages back and flushes its file system (what
    /// `msync(MS_SYNC)` asks, as `fsync` of an open file does).
    pub fn writeback_file(&mut self, key: InodeKey) -> Result<(), Errno> {
        if let Some(batch) = self.pcache.writeback_inode(key) {
            self.write_batch(batch)?;
        }
        let attr = self.attr(key)?;
        let fs = self.fs(key.0)?;
        fs.write_inode(key.1, &attr)?;
        fs.sync_fs()
    }
}
