//! File-backed mappings (LKD ch. 15 and 16: a `vm_area_struct` with a
//! `vm_file`, the `address_space` its pages come from): the page cache's
//! frames are mm's, lent to the file server, and a mapping of a file maps
//! those same frames — one frame per cached page, however many processes
//! map it (`docs/architecture.md`, "File mappings").
//!
//! - **The page cache** is an area of the file server's own space
//!   (`RegisterPageCache`, kind `PageCache`): demand-zero pages like any
//!   others, but never copy-on-write, never unmapped, and not inherited.
//!   The file server keeps cached file pages in its *slots* (slot n is the
//!   page at `base + n × 4 KiB`); the frame behind a slot is what mm lends
//!   to every mapping of that file page.
//! - **The index** (`FileCache::pages`): (file, page index) → the slot and
//!   frame the file server named for it, and whether a shared mapping
//!   wrote it. A fault on a file page in the index is served at once (a
//!   page-table entry for the cached frame); one not in it *waits*.
//! - **Waiting faults never block mm.** The fault's reply is kept by the
//!   server under a token (`FaultOutcome::Wait`); the want is queued and
//!   the file server's notification signalled; the file server asks for
//!   the wants and answers them (`FilePages`), each answer completing a
//!   fault (`take_completions`). mm only ever *signals* the file server;
//!   the file server *calls* mm, which answers at once: no cycle of waits.
//! - **Shared mappings** map a clean page read-only: the first write
//!   faults, marks the index entry dirty and makes the page writable
//!   (Linux's `page_mkwrite`); `FileDirty` hands the dirty pages to the
//!   file server and makes them read-only again. **Private mappings** map
//!   the cached frame copy-on-write: a write copies it (`break_cow`: the
//!   page cache always holds a reference).
//! - **Forgetting** (`FileForget`: eviction, truncation, a file gone):
//!   every mapping of the slot's frame is removed, so the next touch asks
//!   again (and past the end of the file, gets `SIGBUS`). Private copies
//!   stay.
//!
//! Invariants (checked by [`Mm::check`]): an index entry's frame is the
//! page its slot names in the owner's page-cache area; `by_slot` is the
//! inverse of `pages`; waits are at most [`FILE_WAITS_MAX`].
//!
//! Costs: a fault on an indexed page O(log areas + log resident + log
//! indexed); forgetting a slot or collecting dirty pages O(spaces × log)
//! per page (the reverse mapping is found, not kept: no `rmap` to keep in
//! step).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use buddy::PAGE_SIZE;
use libsys::proto::mm::{
    FileAnswer, FileWant, MmError, FILE_BATCH, MSYNC_FILES, PAGE_CACHE_MAX, PROT_READ, PROT_WRITE,
};

use crate::layout::{length, user_prot, user_range, MMAP_BASE, MMAP_END};
use crate::machine::{Machine, SpaceId};
use crate::mm::{FaultOutcome, Mm, PageError};
use crate::space::{Area, AreaKind, Pte, Space};

/// File faults that may wait for the file server at once.
pub const FILE_WAITS_MAX: usize = 256;

/// The file server's page-cache area.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Arena {
    pub space: SpaceId,
    pub base: u64,
    pub pages: u64,
}

/// A cached file page mm knows the frame of.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FilePage {
    pub slot: u64,
    pub pfn: u64,
    /// Written through a shared mapping since the last `FileDirty`.
    pub dirty: bool,
}

/// A fault waiting for the file server.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileWait {
    pub space: SpaceId,
    pub page: u64,
    pub write: bool,
    pub file: u64,
    pub index: u64,
}

/// mm's side of the page cache.
#[derive(Default)]
pub(crate) struct FileCache {
    pub arena: Option<Arena>,
    pub pages: BTreeMap<(u64, u64), FilePage>,
    pub by_slot: BTreeMap<u64, (u64, u64)>,
    pub waits: BTreeMap<u64, FileWait>,
    /// Tokens of waits not yet handed to the file server.
    queued: VecDeque<u64>,
    /// Whether the file server must be signalled (wants were queued
    /// since it last asked).
    signal: bool,
    /// Faults answered, for the server to reply to.
    completions: Vec<(u64, FaultOutcome)>,
    next_token: u64,
}

impl Mm {
    /// `RegisterPageCache`: makes `from`'s page-cache area of `pages`
    /// pages (read-write, demand-zero) and returns its address. Only once,
    /// and only for a process `init` adopted (`NotAllowed`);
    /// `InvalidArgument` for 0 or more than [`PAGE_CACHE_MAX`] pages;
    /// `NoSpace` without room.
    pub fn register_page_cache(&mut self, from: SpaceId, pages: u64) -> Result<u64, MmError> {
        let owner_alive = self
            .files
            .arena
            .is_some_and(|a| self.spaces.contains_key(&a.space));
        let space = self.spaces.get_mut(&from).ok_or(MmError::NotAllowed)?;
        if owner_alive || !space.by_init {
            return Err(MmError::NotAllowed);
        }
        if pages > PAGE_CACHE_MAX {
            return Err(MmError::InvalidArgument);
        }
        let len = length(pages)?;
        let base = space
            .find_free(pages, MMAP_BASE, MMAP_END)
            .ok_or(MmError::NoSpace)?;
        let rw = PROT_READ | PROT_WRITE;
        space.insert(Area {
            start: base,
            end: base + len,
            prot: rw,
            max_prot: rw,
            kind: AreaKind::PageCache,
        });
        self.files = FileCache::default();
        self.files.arena = Some(Arena {
            space: from,
            base,
            pages,
        });
        Ok(base)
    }

    /// Whether `from` owns the page cache.
    fn page_cache_owner(&self, from: SpaceId) -> Result<Arena, MmError> {
        match self.files.arena {
            Some(arena) if arena.space == from => Ok(arena),
            _ => Err(MmError::NotAllowed),
        }
    }

    /// `MapFile` from the page cache's owner: a file area in `pid`'s space
    /// (see the request). `NotAllowed` from anyone else, for `pid` not
    /// managed or the owner itself (its own faults must never wait for
    /// it), or `prot` beyond `max_prot`; `InvalidArgument` for a bad
    /// range, protection or a file index that overflows; `Overlap`,
    /// `NoSpace` as for `Mmap`. O(areas).
    #[allow(clippy::too_many_arguments)]
    pub fn map_file(
        &mut self,
        from: SpaceId,
        pid: SpaceId,
        at: Option<u64>,
        pages: u64,
        prot: u8,
        max_prot: u8,
        shared: bool,
        file: u64,
        index: u64,
    ) -> Result<u64, MmError> {
        let arena = self.page_cache_owner(from)?;
        let prot = user_prot(prot)?;
        let max_prot = max_prot | PROT_READ;
        if pid == arena.space || prot & !max_prot != 0 {
            return Err(MmError::NotAllowed);
        }
        let len = length(pages)?;
        index
            .checked_add(pages)
            .filter(|&end| end <= u64::MAX / PAGE_SIZE)
            .ok_or(MmError::InvalidArgument)?;
        let space = self.spaces.get_mut(&pid).ok_or(MmError::NotAllowed)?;
        let start = crate::request::place(space, at, pages)?;
        space.insert(Area {
            start,
            end: start + len,
            prot,
            max_prot,
            kind: AreaKind::File {
                file,
                index,
                shared,
            },
        });
        Ok(start)
    }

    /// A fault on page `page` (not resident) of file area `area` of
    /// `space`: mapped now if the index has the page, else a wait.
    pub(crate) fn file_fault(
        &mut self,
        space: SpaceId,
        area: Area,
        page: u64,
        write: bool,
        m: &mut dyn Machine,
    ) -> FaultOutcome {
        let Some((file, index, _)) = area.file_page(page) else {
            return FaultOutcome::Kill("not a file mapping");
        };
        if let Some(entry) = self.files.pages.get_mut(&(file, index)) {
            let Some(target) = self.spaces.get_mut(&space) else {
                return FaultOutcome::Kill("not a process mm manages");
            };
            return outcome(map_file_page(
                space,
                target,
                &mut self.frames,
                &area,
                page,
                entry,
                write,
                m,
            ));
        }
        if self.files.arena.is_none() {
            return FaultOutcome::Kill("no file server to read the file");
        }
        if self.files.waits.len() >= FILE_WAITS_MAX {
            return FaultOutcome::Kill("too many file faults waiting");
        }
        self.files.next_token += 1;
        let token = self.files.next_token;
        self.files.waits.insert(
            token,
            FileWait {
                space,
                page,
                write,
                file,
                index,
            },
        );
        self.files.queued.push_back(token);
        self.files.signal = true;
        FaultOutcome::Wait(token)
    }

    /// Whether the file server must be told that faults wait (once per
    /// batch of wants: cleared by the call).
    pub fn take_file_signal(&mut self) -> Option<SpaceId> {
        let arena = self.files.arena?;
        core::mem::take(&mut self.files.signal).then_some(arena.space)
    }

    /// Faults answered since the last call: (token, what the faulting
    /// thread must do). The server replies to each.
    pub fn take_completions(&mut self) -> Vec<(u64, FaultOutcome)> {
        core::mem::take(&mut self.files.completions)
    }

    /// `FilePages` from the page cache's owner: completes the faults
    /// `answers` name (unknown tokens are ignored: a fault of a process
    /// gone), then returns up to [`FILE_BATCH`] waits not yet handed out,
    /// and whether more are left. `NotAllowed` from anyone else.
    pub fn file_pages(
        &mut self,
        from: SpaceId,
        answers: &[FileAnswer],
        m: &mut dyn Machine,
    ) -> Result<(heapless::Vec<FileWant, FILE_BATCH>, bool), MmError> {
        let arena = self.page_cache_owner(from)?;
        for answer in answers {
            let Some(wait) = self.files.waits.remove(&answer.token) else {
                continue;
            };
            let outcome = self.answer_wait(arena, wait, answer.slot, m);
            self.files.completions.push((answer.token, outcome));
        }
        let mut wants = heapless::Vec::new();
        while !wants.is_full() {
            let Some(token) = self.files.queued.pop_front() else {
                break;
            };
            if let Some(w) = self.files.waits.get(&token) {
                let _ = wants.push(FileWant {
                    token,
                    file: w.file,
                    index: w.index,
                });
            }
        }
        Ok((wants, !self.files.queued.is_empty()))
    }

    /// One answer: records the slot's frame in the index and maps it for
    /// the waiting fault.
    fn answer_wait(
        &mut self,
        arena: Arena,
        wait: FileWait,
        slot: Option<u64>,
        m: &mut dyn Machine,
    ) -> FaultOutcome {
        let Some(slot) = slot else {
            return FaultOutcome::Bus("past the end of the file, or unreadable");
        };
        let pfn = slot_frame(&self.spaces, arena, slot);
        let Some(pfn) = pfn else {
            return FaultOutcome::Kill("the file server named no page");
        };
        let key = (wait.file, wait.index);
        if self.files.pages.get(&key).is_some_and(|e| e.slot != slot) {
            let old = self.files.pages[&key].slot;
            self.forget_slot(old, m);
        }
        if let Some(other) = self.files.by_slot.get(&slot).copied() {
            if other != key {
                self.forget_slot(slot, m);
            }
        }
        let entry = self.files.pages.entry(key).or_insert(FilePage {
            slot,
            pfn,
            dirty: false,
        });
        self.files.by_slot.insert(slot, key);
        let Some(target) = self.spaces.get_mut(&wait.space) else {
            return FaultOutcome::Kill("not a process mm manages");
        };
        // The area may have changed while the fault waited: the thread
        // runs again and faults anew if the page is still wanted.
        let same = target
            .area(wait.page)
            .filter(|area| area.file_page(wait.page).map(|f| (f.0, f.1)) == Some(key))
            .copied();
        match same {
            Some(area) if !target.pages.contains_key(&wait.page) => outcome(map_file_page(
                wait.space,
                target,
                &mut self.frames,
                &area,
                wait.page,
                entry,
                wait.write,
                m,
            )),
            _ => FaultOutcome::Resume,
        }
    }

    /// `FileForget` from the page cache's owner: removes every mapping of
    /// `slot`'s frame and its index entry; returns whether a mapping had
    /// written it. `NotAllowed` from anyone else.
    pub fn file_forget(
        &mut self,
        from: SpaceId,
        slot: u64,
        m: &mut dyn Machine,
    ) -> Result<bool, MmError> {
        self.page_cache_owner(from)?;
        Ok(self.forget_slot(slot, m))
    }

    fn forget_slot(&mut self, slot: u64, m: &mut dyn Machine) -> bool {
        let Some(key) = self.files.by_slot.remove(&slot) else {
            return false;
        };
        let Some(entry) = self.files.pages.remove(&key) else {
            return false;
        };
        for (&id, space) in self.spaces.iter_mut() {
            for page in mappings_of(space, key, entry.pfn) {
                space.pages.remove(&page);
                let _ = m.unmap(id, page, 1);
                self.frames.put(entry.pfn);
            }
        }
        entry.dirty
    }

    /// `FileDirty` from the page cache's owner: up to [`FILE_BATCH`]
    /// pages of `file` (any: `None`) written through shared mappings, made
    /// read-only again in every mapping and clean in the index; and
    /// whether more are dirty. `NotAllowed` from anyone else.
    pub fn file_dirty(
        &mut self,
        from: SpaceId,
        file: Option<u64>,
        m: &mut dyn Machine,
    ) -> Result<(heapless::Vec<(u64, u64), FILE_BATCH>, bool), MmError> {
        self.page_cache_owner(from)?;
        let range = match file {
            Some(f) => (f, 0)..=(f, u64::MAX),
            None => (0, 0)..=(u64::MAX, u64::MAX),
        };
        let mut out = heapless::Vec::new();
        let mut more = false;
        for (&key, entry) in self.files.pages.range_mut(range) {
            if !entry.dirty {
                continue;
            }
            if out.is_full() {
                more = true;
                break;
            }
            entry.dirty = false;
            let _ = out.push(key);
            for (&id, space) in self.spaces.iter_mut() {
                for page in mappings_of(space, key, entry.pfn) {
                    if let Some(pte) = space.pages.get_mut(&page) {
                        if pte.prot & PROT_WRITE != 0 {
                            pte.prot &= !PROT_WRITE;
                            let _ = m.protect(id, page, 1, pte.prot);
                        }
                    }
                }
            }
        }
        Ok((out, more))
    }

    /// `Msync`: the files of the shared file mappings in `[at, at +
    /// pages)` (at most [`MSYNC_FILES`]). `InvalidArgument` for a bad
    /// range, `NotMapped` unless areas cover it. O(areas in the range).
    pub fn msync(
        &mut self,
        from: SpaceId,
        at: u64,
        pages: u64,
    ) -> Result<heapless::Vec<u64, MSYNC_FILES>, MmError> {
        let (start, end) = user_range(at, pages)?;
        let space = self.spaces.get(&from).ok_or(MmError::NotAllowed)?;
        space.check_range(start, end, |_| false)?;
        let mut files = heapless::Vec::new();
        for area in space.areas_in(start, end) {
            if let AreaKind::File {
                file, shared: true, ..
            } = area.kind
            {
                if !files.contains(&file) && files.push(file).is_err() {
                    break;
                }
            }
        }
        Ok(files)
    }

    /// A write fault on a resident page of a shared file area: the index
    /// entry becomes dirty (the caller then makes the page writable).
    pub(crate) fn file_written(&mut self, area: &Area, page: u64) {
        if let Some((file, index, true)) = area.file_page(page) {
            if let Some(entry) = self.files.pages.get_mut(&(file, index)) {
                entry.dirty = true;
            }
        }
    }

    /// `space` is gone: if it owned the page cache, the index goes (the
    /// mappings keep their frames until they are unmapped) and every
    /// waiting fault is answered with a kill.
    pub(crate) fn file_exit(&mut self, space: SpaceId) {
        if self.files.arena.is_some_and(|a| a.space == space) {
            let waits = core::mem::take(&mut self.files.waits);
            let mut completions = core::mem::take(&mut self.files.completions);
            completions.extend(
                waits
                    .into_keys()
                    .map(|t| (t, FaultOutcome::Kill("the file server is gone"))),
            );
            self.files = FileCache {
                completions,
                ..FileCache::default()
            };
        }
    }

    /// The frames of the page cache's index (for [`Mm::check`]), with a
    /// check that each is its slot's page.
    pub(crate) fn check_files(&self) -> Result<Vec<u64>, &'static str> {
        let Some(arena) = self.files.arena else {
            return Ok(Vec::new());
        };
        if self.files.by_slot.len() != self.files.pages.len() {
            return Err("the page cache's index and its inverse differ");
        }
        let mut pfns = Vec::new();
        for (key, entry) in &self.files.pages {
            if self.files.by_slot.get(&entry.slot) != Some(key)
                || slot_frame(&self.spaces, arena, entry.slot) != Some(entry.pfn)
            {
                return Err("an indexed file page is not its slot's frame");
            }
            pfns.push(entry.pfn);
        }
        Ok(pfns)
    }

    /// Whether the index holds (file, index): for tests.
    pub fn file_cached(&self, file: u64, index: u64) -> Option<u64> {
        self.files.pages.get(&(file, index)).map(|e| e.pfn)
    }

    /// Faults waiting for the file server.
    pub fn file_waits(&self) -> usize {
        self.files.waits.len()
    }
}

/// The frame behind page-cache slot `slot`, if the slot is in the area and
/// resident.
fn slot_frame(spaces: &BTreeMap<SpaceId, Space>, arena: Arena, slot: u64) -> Option<u64> {
    if slot >= arena.pages {
        return None;
    }
    let owner = spaces.get(&arena.space)?;
    owner
        .pages
        .get(&(arena.base + slot * PAGE_SIZE))
        .map(|pte| pte.pfn)
}

/// The pages of `space` mapping file page `key` with frame `pfn` (its
/// mappings of the cached page, not private copies). O(areas).
fn mappings_of(space: &Space, key: (u64, u64), pfn: u64) -> Vec<u64> {
    let mut out = Vec::new();
    for area in space.areas.values() {
        let AreaKind::File { file, index, .. } = area.kind else {
            continue;
        };
        if file != key.0 || key.1 < index || key.1 - index >= area.pages() {
            continue;
        }
        let page = area.start + (key.1 - index) * PAGE_SIZE;
        if space.pages.get(&page).is_some_and(|pte| pte.pfn == pfn) {
            out.push(page);
        }
    }
    out
}

fn outcome(served: Result<(), PageError>) -> FaultOutcome {
    match served {
        Ok(()) => FaultOutcome::Resume,
        Err(e) => FaultOutcome::Kill(e.reason()),
    }
}

/// Maps the cached frame of `entry` at `page` of file area `area`: shared,
/// writable only for a write (which dirties it); private, copy-on-write —
/// or, for a write, a copy at once.
#[allow(clippy::too_many_arguments)]
fn map_file_page(
    id: SpaceId,
    space: &mut Space,
    frames: &mut crate::frames::Frames,
    area: &Area,
    page: u64,
    entry: &mut FilePage,
    write: bool,
    m: &mut dyn Machine,
) -> Result<(), PageError> {
    let shared = !area.is_private();
    let (pfn, prot, cow) = if shared {
        let prot = if write {
            area.prot
        } else {
            area.prot & !PROT_WRITE
        };
        frames.get(entry.pfn);
        (entry.pfn, prot, false)
    } else if write {
        let copy = frames.alloc().ok_or(PageError::NoMemory)?;
        m.copy(entry.pfn, copy);
        space.cow_copies += 1;
        (copy, area.prot, false)
    } else {
        frames.get(entry.pfn);
        (entry.pfn, area.prot & !PROT_WRITE, true)
    };
    if m.map(id, page, pfn, prot, false).is_err() {
        frames.put(pfn);
        return Err(PageError::Machine);
    }
    if shared && write {
        entry.dirty = true;
    }
    space.pages.insert(page, Pte { pfn, prot, cow });
    Ok(())
}
