//! The protocol (`libsys::proto::mm`): [`Mm::request`] answers every
//! request that carries no handle, and the area requests (LKD ch. 15's
//! `brk`, `mmap`, `munmap`, `mprotect`) live here.
//!
//! Each one checks everything first (arguments, then the areas it
//! touches) and returns an error having changed nothing; only then does it
//! change the areas and the page map, and call the machine. A machine
//! error after that point is answered `NoMemory` (the kernel fails a
//! mapping when it has no memory for page tables, or when the process is
//! gone, whom the answer no longer concerns); mm's records stay
//! consistent either way.

use libsys::proto::mm::{MmError, Reply, Request, CONTROL_BADGE, PAGER_BADGE, PROT_WRITE};

use crate::layout::{
    length, page_up, pages_of, user_prot, user_range, BRK_LIMIT, MMAP_BASE, MMAP_END, PROT_ALL,
};
use crate::machine::{Machine, SpaceId};
use crate::mm::{drop_range, map_fresh, protect_pages, Mm};
use crate::space::{page_prot, Area, AreaKind, Space};

impl Mm {
    /// Answers `request` from the process whose badge is `from` (the
    /// pager bit is ignored; `CONTROL_BADGE` is `init`).
    ///
    /// - Control requests (`Adopt`, `Give`, `Exit`) from anyone but `init`:
    ///   `NotAllowed`. `Exit { id }` of a process mm does not manage:
    ///   `InvalidArgument`.
    /// - Requests that carry handles (`Adopt`, `Give`, `ForkAs`) cannot be
    ///   served without them: `InvalidArgument`. The server calls
    ///   [`adopt`](Mm::adopt), [`add_device`](Mm::add_device) and
    ///   [`fork`](Mm::fork) for them.
    /// - A process request from a badge mm manages no space for (`init`
    ///   included): `NotAllowed`. `SystemStats` is for anyone.
    /// - The rest: see each method.
    pub fn request(&mut self, from: SpaceId, request: Request, m: &mut dyn Machine) -> Reply {
        let from = from & !PAGER_BADGE;
        let control = from == CONTROL_BADGE;
        let answer = match request {
            Request::Adopt { .. }
            | Request::Give
            | Request::GiveDevice { .. }
            | Request::Exit { .. }
            | Request::DmaRelease { .. }
            | Request::AllowViews { .. }
                if !control =>
            {
                Err(MmError::NotAllowed)
            }
            Request::Adopt { .. }
            | Request::Give
            | Request::GiveDevice { .. }
            | Request::ForkAs
            | Request::Exec { .. }
            | Request::RegisterShrinker { .. }
            | Request::RegisterPageCache { .. }
            | Request::MapRegion { .. }
            | Request::SlabInfo => Err(MmError::InvalidArgument),
            Request::MapFile {
                pid,
                at,
                pages,
                prot,
                max_prot,
                shared,
                file,
                index,
            } => self
                .map_file(from, pid, at, pages, prot, max_prot, shared, file, index)
                .map(Reply::Mapped),
            Request::FilePages { answers } => self
                .file_pages(from, &answers, m)
                .map(|(wants, more)| Reply::FileWants { wants, more }),
            Request::FileForget { slot } => self
                .file_forget(from, slot, m)
                .map(|dirty| Reply::Forgot { dirty }),
            Request::FileDirty { file } => self
                .file_dirty(from, file, m)
                .map(|(pages, more)| Reply::Dirty { pages, more }),
            Request::Msync { at, pages } => self.msync(from, at, pages).map(Reply::Files),
            Request::Exit { id } => match self.exit(id, m) {
                true => Ok(Reply::Done),
                false => Err(MmError::InvalidArgument),
            },
            Request::DmaRelease { phys } => self.dma_release(phys).map(|()| Reply::Done),
            Request::AllowViews { id } => {
                self.viewers.insert(id);
                Ok(Reply::Done)
            }
            Request::DmaAlloc { pages, limit, hold } => self
                .dma_alloc(from, pages, limit, hold, m)
                .map(|(at, phys)| Reply::Dma { at, phys }),
            Request::DmaFree { at } => self.dma_free(from, at, m).map(|()| Reply::Done),
            Request::Maps { pid, from: at } => self
                .maps(from, pid, at)
                .map(|(areas, more)| Reply::Maps { areas, more }),
            Request::Status { pid } => self.mem_status(from, pid).map(Reply::Status),
            Request::ShrinkerScan { id } => self.shrinkers.take_scan(from, id).map(Reply::Scan),
            Request::ShrinkerReport { id, count, freed } => self
                .shrinkers
                .report(from, id, count, freed)
                .map(|()| Reply::Done),
            Request::SystemStats => Ok(Reply::System(self.system_stats())),
            Request::Stats => self
                .stats(from)
                .map(Reply::Stats)
                .ok_or(MmError::NotAllowed),
            Request::Brk { end } => self.brk(from, end, m).map(Reply::Brk),
            Request::Mmap {
                at,
                pages,
                prot,
                populate,
            } => self
                .mmap(from, at, pages, prot, populate, m)
                .map(Reply::Mapped),
            Request::Munmap { at, pages } => self.munmap(from, at, pages, m).map(|()| Reply::Done),
            Request::Mprotect { at, pages, prot } => self
                .mprotect(from, at, pages, prot, m)
                .map(|()| Reply::Done),
            Request::Share {
                at,
                pages,
                writable,
            } => self.share(from, at, pages, writable, m).map(Reply::Token),
            Request::Accept { token, at } => self.accept(from, token, at, m).map(Reply::Mapped),
            Request::MapPhysical {
                phys,
                pages,
                at,
                writable,
            } => self
                .map_physical(from, phys, pages, at, writable, m)
                .map(Reply::Mapped),
        };
        answer.unwrap_or_else(Reply::Error)
    }

    /// `Brk`: with `None`, the break; with `Some(end)`, moves it there and
    /// returns it. Growing adds heap pages (demand-zero, read-write) up to
    /// the page above `end`; shrinking unmaps and frees the heap pages
    /// above it. `InvalidArgument` below the heap's start or above
    /// [`BRK_LIMIT`]; `NoMemory` if the heap would run into another area.
    /// O(log areas), plus the pages freed.
    pub fn brk(
        &mut self,
        from: SpaceId,
        end: Option<u64>,
        m: &mut dyn Machine,
    ) -> Result<u64, MmError> {
        let space = self.spaces.get_mut(&from).ok_or(MmError::NotAllowed)?;
        let Some(end) = end else {
            return Ok(space.brk);
        };
        if end < space.heap_start || end > BRK_LIMIT {
            return Err(MmError::InvalidArgument);
        }
        let (old_top, new_top) = (page_up(space.brk), page_up(end));
        if new_top > old_top {
            if space.overlaps(old_top, new_top) {
                return Err(MmError::NoMemory);
            }
            space.grow_heap(old_top, new_top);
        } else if new_top < old_top {
            let heap: alloc::vec::Vec<(u64, u64)> = space
                .areas_in(new_top, old_top)
                .filter(|area| area.kind == AreaKind::Heap)
                .map(|area| (area.start.max(new_top), area.end.min(old_top)))
                .collect();
            for (start, end) in heap {
                remove_range(from, space, &mut self.frames, start, end, m);
            }
        }
        space.brk = end;
        Ok(end)
    }

    /// `Mmap`: a new anonymous area of `pages` pages with `prot` (READ is
    /// implied), at `at` or, without, at the lowest free range in
    /// `[MMAP_BASE, MMAP_END)`. Demand-zero, unless `populate`, which maps
    /// every page now or nothing: `NoMemory` then, with nothing left
    /// mapped. `InvalidArgument` for a bad range or protection (W^X),
    /// `Overlap` if `at` meets an area, `NoSpace` if no range is free.
    /// O(areas), plus the pages populated.
    pub fn mmap(
        &mut self,
        from: SpaceId,
        at: Option<u64>,
        pages: u64,
        prot: u8,
        populate: bool,
        m: &mut dyn Machine,
    ) -> Result<u64, MmError> {
        let prot = user_prot(prot)?;
        let len = length(pages)?;
        let space = self.spaces.get_mut(&from).ok_or(MmError::NotAllowed)?;
        let start = place(space, at, pages)?;
        if populate && pages > self.frames.free_pages() {
            self.alloc_failures += 1;
            return Err(MmError::NoMemory);
        }
        let end = start + len;
        space.insert(Area {
            start,
            end,
            prot,
            max_prot: PROT_ALL,
            kind: AreaKind::Anon,
        });
        if populate {
            for page in pages_of(start, end) {
                if map_fresh(from, space, &mut self.frames, page, m).is_err() {
                    self.alloc_failures += 1;
                    remove_range(from, space, &mut self.frames, start, end, m);
                    return Err(MmError::NoMemory);
                }
            }
        }
        Ok(start)
    }

    /// `Munmap`: removes `[at, at + pages)` from the areas (splitting
    /// those it cuts), unmapping its resident pages and releasing their
    /// frames. The whole range must be inside areas (`NotMapped`
    /// otherwise: a hole means the caller is confused) and must not hold
    /// the IPC buffer (`NotAllowed`). O(log areas + areas and pages
    /// removed).
    pub fn munmap(
        &mut self,
        from: SpaceId,
        at: u64,
        pages: u64,
        m: &mut dyn Machine,
    ) -> Result<(), MmError> {
        let (start, end) = user_range(at, pages)?;
        let space = self.spaces.get_mut(&from).ok_or(MmError::NotAllowed)?;
        space.check_range(start, end, |area| {
            matches!(
                area.kind,
                AreaKind::IpcBuffer | AreaKind::Dma | AreaKind::PageCache
            )
        })?;
        remove_range(from, space, &mut self.frames, start, end, m);
        Ok(())
    }

    /// `Mprotect`: gives `[at, at + pages)` the protection `prot` (READ
    /// implied), splitting the areas it cuts; resident pages are
    /// re-protected, except that a copy-on-write page stays read-only
    /// until it is written. The whole range must be inside areas
    /// (`NotMapped`); `NotAllowed` for the IPC buffer or beyond an area's
    /// maximum (a read-only share or device mapping cannot become
    /// writable, shared memory cannot become executable);
    /// `InvalidArgument` for a bad range or protection (W^X). Making an
    /// image's text writable is allowed: its frames are the process's own.
    /// O(log areas + areas and pages in the range).
    pub fn mprotect(
        &mut self,
        from: SpaceId,
        at: u64,
        pages: u64,
        prot: u8,
        m: &mut dyn Machine,
    ) -> Result<(), MmError> {
        let prot = user_prot(prot)?;
        let (start, end) = user_range(at, pages)?;
        let space = self.spaces.get_mut(&from).ok_or(MmError::NotAllowed)?;
        space.check_range(start, end, |area| {
            matches!(
                area.kind,
                AreaKind::IpcBuffer | AreaKind::Dma | AreaKind::PageCache
            ) || prot & !area.max_prot != 0
        })?;
        space.isolate(start, end);
        for (_, area) in space.areas.range_mut(start..end) {
            area.prot = prot;
        }
        let mut changes = alloc::vec::Vec::new();
        let Space { areas, pages, .. } = space;
        for (&vaddr, pte) in pages.range_mut(start..end) {
            // A clean page of a shared file mapping stays read-only: its
            // first write must be seen (`filemap.rs`).
            let clean_file = pte.prot & PROT_WRITE == 0
                && crate::space::find_area(areas, vaddr)
                    .is_some_and(|a| matches!(a.kind, AreaKind::File { shared: true, .. }));
            let new = if clean_file {
                prot & !PROT_WRITE
            } else {
                page_prot(prot, pte.cow)
            };
            if new != pte.prot {
                pte.prot = new;
                changes.push((vaddr, new));
            }
        }
        protect_pages(from, &changes, m).map_err(|_| MmError::NoMemory)
    }
}

/// Where a new area of `pages` pages goes: at `at` if given (a valid user
/// range meeting no area: `InvalidArgument`, `Overlap`), else the lowest
/// free range of the mmap zone (`NoSpace`).
pub(crate) fn place(space: &Space, at: Option<u64>, pages: u64) -> Result<u64, MmError> {
    match at {
        Some(at) => {
            let (start, end) = user_range(at, pages)?;
            if space.overlaps(start, end) {
                return Err(MmError::Overlap);
            }
            Ok(start)
        }
        None => space
            .find_free(pages, MMAP_BASE, MMAP_END)
            .ok_or(MmError::NoSpace),
    }
}

/// Removes `[start, end)` from the areas and the page map, releasing the
/// frames.
pub(crate) fn remove_range(
    id: SpaceId,
    space: &mut Space,
    frames: &mut crate::frames::Frames,
    start: u64,
    end: u64,
    m: &mut dyn Machine,
) {
    space.isolate(start, end);
    drop_range(id, space, frames, start, end, m);
    space.remove_areas(start, end);
}
