//! File mappings, the file server's half (`docs/architecture.md`, "File
//! mappings"): the page cache's frames come from the memory server, and
//! this module answers for them.
//!
//! - **Frames.** At start the server asks `mm` for its page cache
//!   (`libsys::mm::register_page_cache`): an area of [`ArenaProvider`]
//!   slots whose frames `mm` lends to every mapping of a cached page. The
//!   core's page cache takes its frames from it (a slot is a `FrameId`);
//!   freeing a slot that mappings map first has `mm` remove them
//!   (`FileForget`: eviction, truncation, a file gone).
//! - **`mmap`** (`Request::Mmap`): the core checks the open file
//!   (`Vfs::mmap_target`), then `mm` maps it into the caller
//!   (`MapFile`), the file named by its key as one number ([`file_id`]).
//! - **Faults.** `mm` never waits for this server: it signals
//!   [`MM_BIT`] of the loop's notification, and the loop asks it which
//!   faults wait and answers them ([`answer_faults`]), with the slot of the
//!   page (read in if it was not cached) or `None` past the end of the
//!   file (the process gets `SIGBUS`).
//! - **Dirty pages.** Pages written through shared mappings are collected
//!   from `mm` (`FileDirty`) on each flusher tick, on `sync`/`fsync` and on
//!   `msync` (`Request::Msync`), and marked dirty in the page cache, so
//!   writeback takes them as any written page.

use alloc::boxed::Box;
use alloc::vec::Vec;

use libsys::eprintln;
use libsys::handle::Notification;
use libsys::mm::{self, Error as MmCallError, PageCacheArena};
use libsys::proto::mm::{FileAnswer, FileWant, MmError, FILE_BATCH};
use libsys::proto::vfs::{Reply, Request};
use libsys::sync::Mutex;
use vfs::pagecache::{FrameId, PageProvider};
use vfs::types::InodeKey;
use vfs::{Errno, VecPageProvider, Vfs};

/// The bit of the loop's notification `mm` sets when file faults wait.
pub const MM_BIT: u8 = 1;

/// Faults whose page was in flight, asked again later.
static PENDING: Mutex<Vec<FileWant>> = Mutex::new(Vec::new());
/// Whether `mm` lends the page cache's frames (else no `mmap`).
static LENT: Mutex<bool> = Mutex::new(false);

/// The page cache's frames: `pages` slots lent by `mm`, or, without it,
/// the heap (and no file mappings). Also binds the loop's notification
/// (returned, for the flusher to use too).
pub fn page_provider(pages: usize) -> (Box<dyn PageProvider>, Option<Notification>) {
    let note = Notification::create()
        .ok()
        .filter(|n| n.bind_current().is_ok());
    let arena = note
        .as_ref()
        .map(|n| mm::register_page_cache(pages as u64, n, MM_BIT));
    match arena {
        Some(Ok(arena)) => {
            *LENT.lock() = true;
            let provider = ArenaProvider {
                arena,
                free: Vec::new(),
                next: 0,
            };
            (Box::new(provider), note)
        }
        other => {
            if let Some(Err(e)) = other {
                eprintln!("vfs: no page cache from mm ({e}): files cannot be mapped");
            }
            (Box::new(VecPageProvider::new(pages)), note)
        }
    }
}

/// Page-cache frames: the slots of the area `mm` made.
pub struct ArenaProvider {
    arena: PageCacheArena,
    free: Vec<FrameId>,
    /// Slots below this have been used.
    next: u64,
}

impl PageProvider for ArenaProvider {
    fn alloc_page(&mut self) -> Option<FrameId> {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None if self.next < self.arena.pages() => {
                self.next += 1;
                self.next - 1
            }
            None => return None,
        };
        self.arena.page_mut(slot).fill(0);
        Some(slot)
    }

    fn free_page(&mut self, frame: FrameId) {
        if frame < self.next {
            self.free.push(frame);
        }
    }

    fn page(&self, frame: FrameId) -> &[u8] {
        self.arena.page(frame)
    }

    fn page_mut(&mut self, frame: FrameId) -> &mut [u8] {
        self.arena.page_mut(frame)
    }

    fn total_pages(&self) -> u64 {
        self.arena.pages()
    }

    fn forget(&mut self, frame: FrameId) -> bool {
        // mm answers at once (it never waits for this server); an error
        // means mm is gone, and its mappings with it.
        mm::file_forget(frame).unwrap_or(false)
    }
}

/// A file's number for `mm`: its superblock and inode in one word (inode
/// numbers past 2^48 cannot be mapped: `ENODEV`).
pub fn file_id(key: InodeKey) -> Result<u64, Errno> {
    if key.1 >> 48 != 0 || key.0 >> 16 != 0 {
        return Err(Errno::ENODEV);
    }
    Ok(u64::from(key.0) << 48 | key.1)
}

fn key_of(file: u64) -> InodeKey {
    ((file >> 48) as u32, file & ((1 << 48) - 1))
}

/// The requests this module answers (`Mmap`, `Msync`); `Sync` and `Fsync`
/// first collect what mappings wrote, then go on to the core (`None`).
pub fn request(vfs: &mut Vfs, badge: u64, request: &Request) -> Option<Reply> {
    let result = match *request {
        Request::Mmap {
            fd,
            at,
            pages,
            prot,
            shared,
            index,
        } => mmap(vfs, badge, fd, at, pages, prot, shared, index).map(Reply::Value),
        Request::Msync { file } => {
            collect_dirty(vfs, Some(file));
            vfs.writeback_file(key_of(file)).map(|()| Reply::Done)
        }
        Request::Sync | Request::Fsync { .. } => {
            collect_dirty(vfs, None);
            return None;
        }
        _ => return None,
    };
    Some(result.unwrap_or_else(Reply::Error))
}

#[allow(clippy::too_many_arguments)]
fn mmap(
    vfs: &mut Vfs,
    badge: u64,
    fd: i32,
    at: Option<u64>,
    pages: u64,
    prot: u8,
    shared: bool,
    index: u64,
) -> Result<u64, Errno> {
    if !*LENT.lock() {
        return Err(Errno::ENODEV);
    }
    let (key, max_prot) = vfs.mmap_target(badge, fd, prot, shared)?;
    let file = file_id(key)?;
    mm::map_file(badge, at, pages, prot, max_prot, shared, file, index).map_err(errno)
}

/// The errno of a refused `MapFile`.
fn errno(e: MmCallError) -> Errno {
    match e {
        MmCallError::Mm(MmError::Overlap) => Errno::EEXIST,
        MmCallError::Mm(MmError::NoSpace | MmError::NoMemory) => Errno::ENOMEM,
        MmCallError::Mm(MmError::NotAllowed) => Errno::EACCES,
        MmCallError::Mm(_) => Errno::EINVAL,
        _ => Errno::EIO,
    }
}

/// Marks dirty in the page cache the pages of `file` (all: `None`) that
/// shared mappings wrote.
pub fn collect_dirty(vfs: &mut Vfs, file: Option<u64>) {
    if !*LENT.lock() {
        return;
    }
    loop {
        let Ok((pages, more)) = mm::file_dirty(file) else {
            return;
        };
        for (file, index) in pages {
            vfs.mapped_write(key_of(file), index);
        }
        if !more {
            return;
        }
    }
}

/// `mm` signalled [`MM_BIT`] (or a page in flight may have come): answers
/// the faults that wait, until none is left.
pub fn answer_faults(vfs: &mut Vfs) {
    let mut answers: heapless::Vec<FileAnswer, FILE_BATCH> = heapless::Vec::new();
    let retry: Vec<FileWant> = core::mem::take(&mut *PENDING.lock());
    for want in retry {
        answer(vfs, want, &mut answers);
        if answers.is_full() {
            answers = send(answers, vfs).unwrap_or_default();
        }
    }
    loop {
        let more = match mm::file_pages(core::mem::take(&mut answers)) {
            Ok((wants, more)) => {
                for want in wants {
                    answer(vfs, want, &mut answers);
                }
                more
            }
            Err(e) => {
                eprintln!("vfs: mm's file faults: {e}");
                return;
            }
        };
        if answers.is_empty() && !more {
            return;
        }
    }
}

/// Sends a full batch of answers, and answers the wants that come back
/// into the batch returned.
fn send(
    answers: heapless::Vec<FileAnswer, FILE_BATCH>,
    vfs: &mut Vfs,
) -> Option<heapless::Vec<FileAnswer, FILE_BATCH>> {
    let (wants, _) = mm::file_pages(answers).ok()?;
    let mut next = heapless::Vec::new();
    for want in wants {
        answer(vfs, want, &mut next);
    }
    Some(next)
}

/// Whether faults wait for pages in flight (the loop retries them after
/// each request).
pub fn pending() -> bool {
    !PENDING.lock().is_empty()
}

fn answer(vfs: &mut Vfs, want: FileWant, answers: &mut heapless::Vec<FileAnswer, FILE_BATCH>) {
    let slot = match vfs.lend_page(key_of(want.file), want.index) {
        Ok(Some(slot)) => Some(slot),
        Ok(None) => {
            PENDING.lock().push(want);
            return;
        }
        Err(_) => None,
    };
    // Never full: at most one answer per want, FILE_BATCH wants a call.
    let _ = answers.push(FileAnswer {
        token: want.token,
        slot,
    });
}
