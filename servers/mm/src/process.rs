//! Making address spaces: `adopt` lays one out from an ELF image (LKD
//! ch. 15's `mm_struct` and its areas, as `exec` builds them), `fork`
//! duplicates one copy-on-write (Linux's `dup_mmap`).
//!
//! Both make every check and take every frame they need before changing
//! anything; a machine error on the way undoes what was done and returns
//! `NoMemory`.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use buddy::PAGE_SIZE;
use libsys::abi::{IPC_BUFFER_ADDR, USER_STACK_TOP};
use libsys::elf;
use libsys::proto::mm::{MmError, ARGS_MAX, PROT_WRITE};

use crate::frames::Frames;
use crate::layout::{PROT_ALL, PROT_RW, STACK_BOTTOM, USER_END};
use crate::machine::{ImageId, Machine, SpaceId};
use crate::mm::{drop_range, map_fresh, protect_pages, Mm};
use crate::space::{page_prot, Area, AreaCursor, AreaKind, Pte, Space};

/// Where a new process starts: what `Reply::Adopted` carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adopted {
    pub id: SpaceId,
    /// The entry point.
    pub entry: u64,
    /// The stack pointer (`args_at - 8`: the slot of a return address).
    pub stack: u64,
    /// Where the argument string is (`rdi`), and its length (`rsi`).
    pub args_at: u64,
    pub args_len: u64,
}

impl Mm {
    /// Takes on a new process, address space `id`, running image `image`
    /// with argument string `args`. Lays out one area per `PT_LOAD`
    /// segment (demand-loaded), the heap (empty, from the first page after
    /// the highest segment), the stack (demand-zero, below
    /// `USER_STACK_TOP`) and the IPC buffer page at `IPC_BUFFER_ADDR`.
    /// The stack's top page, with `args` at its top (16-byte aligned, as
    /// `libsys::spawn` lays it out), and the IPC buffer are populated now.
    ///
    /// Fails with `InvalidArgument` for a bad id or `args` longer than
    /// `ARGS_MAX`, `NotAllowed` for an id in use, `BadImage` if the image
    /// does not pass `libsys::elf::check` or a segment lies on the stack
    /// or IPC buffer, `NoMemory` without two free frames (or if the
    /// machine refuses a mapping). Nothing is left behind on failure.
    pub fn adopt(
        &mut self,
        id: SpaceId,
        image: ImageId,
        args: &str,
        m: &mut dyn Machine,
    ) -> Result<Adopted, MmError> {
        self.check_new_id(id)?;
        if args.len() > ARGS_MAX {
            return Err(MmError::InvalidArgument);
        }
        let (mut space, entry) = lay_out(image, m)?;
        space.by_init = true;
        if self.frames.free_pages() < 2 {
            return Err(MmError::NoMemory);
        }
        let args_at = (USER_STACK_TOP - args.len() as u64) & !0xf;
        let top = USER_STACK_TOP - PAGE_SIZE;
        let populated = map_fresh(id, &mut space, &mut self.frames, top, m).and_then(|pfn| {
            if !args.is_empty() {
                m.write(pfn, (args_at - top) as usize, args.as_bytes());
            }
            map_fresh(id, &mut space, &mut self.frames, IPC_BUFFER_ADDR, m)
        });
        if populated.is_err() {
            drop_range(id, &mut space, &mut self.frames, 0, USER_END, m);
            return Err(MmError::NoMemory);
        }
        self.spaces.insert(id, space);
        self.use_image(image);
        Ok(Adopted {
            id,
            entry,
            stack: args_at - 8,
            args_at,
            args_len: args.len() as u64,
        })
    }

    /// Duplicates address space `parent` into a new one, `child`
    /// (`ForkAs`): the same areas; every resident page of a private area
    /// becomes copy-on-write in both (read-only until written, the frame
    /// shared with one more reference); pages of shared and device areas
    /// stay shared as they are; the IPC buffer page is copied at once
    /// (the kernel writes into it, and a kernel write does not fault).
    /// The stack is copy-on-write like any private area. Pages not yet
    /// resident stay demand-paged in both.
    ///
    /// Fails with `InvalidArgument` for a bad child id, `NotAllowed` if
    /// `parent` is not managed or `child` is in use, `NoMemory` without a
    /// frame for the IPC buffer copy or if the machine refuses a mapping
    /// (then the child is undone; the parent's pages stay copy-on-write,
    /// which costs it at most a take-over fault per page).
    /// O(resident pages × log).
    pub fn fork(
        &mut self,
        parent: SpaceId,
        child: SpaceId,
        m: &mut dyn Machine,
    ) -> Result<(), MmError> {
        self.check_new_id(child)?;
        let source = self.spaces.get_mut(&parent).ok_or(MmError::NotAllowed)?;
        let copies: usize = source
            .areas
            .values()
            .filter(|area| area.kind == AreaKind::IpcBuffer)
            .map(|area| source.pages.range(area.start..area.end).count())
            .sum();
        if copies as u64 > self.frames.free_pages() {
            return Err(MmError::NoMemory);
        }
        let changes = mark_cow(source);
        protect_pages(parent, &changes, m).map_err(|_| MmError::NoMemory)?;
        // DMA memory is pinned to its holder: the child gets no mapping
        // of it (the range is a hole in the child).
        let mut copy = Space {
            areas: source
                .areas
                .iter()
                .filter(|(_, area)| !matches!(area.kind, AreaKind::Dma | AreaKind::PageCache))
                .map(|(&at, &area)| (at, area))
                .collect(),
            pages: BTreeMap::new(),
            faults: 0,
            cow_copies: 0,
            dma: BTreeMap::new(),
            dma_pages: 0,
            by_init: false,
            ..*source
        };
        if copy_pages(child, source, &mut copy, &mut self.frames, m).is_err() {
            drop_range(child, &mut copy, &mut self.frames, 0, USER_END, m);
            return Err(MmError::NoMemory);
        }
        let image = copy.image;
        self.spaces.insert(child, copy);
        self.use_image(image);
        Ok(())
    }
}

/// A space with the image's segments as areas, the heap after them, the
/// stack and the IPC buffer; nothing resident. Returns it and the entry.
pub(crate) fn lay_out(image: ImageId, m: &dyn Machine) -> Result<(Space, u64), MmError> {
    let program = elf::check(m.image(image)).map_err(|_| MmError::BadImage)?;
    let mut space = Space::new(image, 0);
    let mut heap_start = 0;
    for segment in program.segments() {
        let (start, end) = segment.pages();
        if space.overlaps(start, end) {
            return Err(MmError::BadImage);
        }
        space.insert(Area {
            start,
            end,
            prot: segment.prot.bits() as u8,
            max_prot: PROT_ALL,
            kind: AreaKind::Elf(*segment),
        });
        heap_start = heap_start.max(end);
    }
    let fixed = [
        (STACK_BOTTOM, USER_STACK_TOP, PROT_ALL, AreaKind::Stack),
        (
            IPC_BUFFER_ADDR,
            IPC_BUFFER_ADDR + PAGE_SIZE,
            PROT_RW,
            AreaKind::IpcBuffer,
        ),
    ];
    for (start, end, max_prot, kind) in fixed {
        if space.overlaps(start, end) {
            return Err(MmError::BadImage);
        }
        space.insert(Area {
            start,
            end,
            prot: PROT_RW,
            max_prot,
            kind,
        });
    }
    space.heap_start = heap_start;
    space.brk = heap_start;
    Ok((space, program.entry))
}

/// Marks every resident page of a private area copy-on-write, and returns
/// the pages whose protection that changes (they lose WRITE).
fn mark_cow(space: &mut Space) -> alloc::vec::Vec<(u64, u8)> {
    let mut changes = alloc::vec::Vec::new();
    let Space { areas, pages, .. } = space;
    let mut areas = AreaCursor::new(areas);
    for (&vaddr, pte) in pages.iter_mut() {
        let Some(area) = areas.find(vaddr) else {
            continue;
        };
        if !area.is_private() || pte.cow {
            continue;
        }
        pte.cow = true;
        let prot = page_prot(area.prot, true);
        if prot != pte.prot {
            pte.prot = prot;
            changes.push((vaddr, prot));
        }
    }
    changes
}

/// Maps every resident page of `source` into `copy` (space `id`): the
/// same frame with one more reference, or for the IPC buffer a copy.
/// The page map is a clone of the source's (a copy per node of the tree,
/// not an insertion per page) with the few entries that differ changed,
/// and it is mapped a run at a time: contiguous pages on contiguous
/// frames with one protection are one machine call. On failure, `copy`
/// holds exactly the pages whose reference was taken, for the caller to
/// undo.
fn copy_pages(
    id: SpaceId,
    source: &Space,
    copy: &mut Space,
    frames: &mut Frames,
    m: &mut dyn Machine,
) -> Result<(), ()> {
    copy.pages = source.pages.clone();
    let mut areas = AreaCursor::new(&source.areas);
    let mut left_out: Vec<u64> = Vec::new();
    let mut failed_at = None;
    for (&vaddr, pte) in copy.pages.iter_mut() {
        match areas.find(vaddr).map(|area| area.kind) {
            Some(AreaKind::Dma | AreaKind::PageCache) => left_out.push(vaddr),
            Some(AreaKind::IpcBuffer) => {
                let Some(pfn) = frames.alloc() else {
                    failed_at = Some(vaddr);
                    break;
                };
                m.copy(pte.pfn, pfn);
                *pte = Pte {
                    pfn,
                    prot: PROT_RW,
                    cow: false,
                };
            }
            _ => frames.get(pte.pfn),
        }
    }
    for vaddr in left_out {
        copy.pages.remove(&vaddr);
    }
    if let Some(at) = failed_at {
        // No reference was taken from `at` on.
        let _ = copy.pages.split_off(&at);
        return Err(());
    }
    // (first page, first frame, pages, protection) of the run so far.
    let mut run: Option<(u64, u64, u64, u8)> = None;
    for (&vaddr, pte) in &copy.pages {
        debug_assert!(pte.prot & PROT_WRITE == 0 || !pte.cow);
        run = match run {
            Some((first, pfn, count, prot))
                if prot == pte.prot
                    && first + count * PAGE_SIZE == vaddr
                    && pfn + count == pte.pfn =>
            {
                Some((first, pfn, count + 1, prot))
            }
            Some((first, pfn, count, prot)) => {
                m.map_run(id, first, pfn, count, prot).map_err(|_| ())?;
                Some((vaddr, pte.pfn, 1, pte.prot))
            }
            None => Some((vaddr, pte.pfn, 1, pte.prot)),
        };
    }
    if let Some((first, pfn, count, prot)) = run {
        m.map_run(id, first, pfn, count, prot).map_err(|_| ())?;
    }
    Ok(())
}
