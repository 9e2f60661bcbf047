//! Page faults (LKD ch. 15; Linux's `handle_mm_fault`): the kernel sends
//! mm every fault of a process it manages, with the x86 error code, and
//! mm maps what should be there or says the process must die.
//!
//! - No page there (demand paging): a fresh frame, zero-filled, or for an
//!   image segment filled with that page's file bytes (zeros past them:
//!   `.bss`), mapped with the area's protection.
//! - A write to a copy-on-write page: if no one else maps the frame any
//!   more, the page is just made writable (taken over); otherwise the
//!   frame is copied into a fresh one, mapped over the old, and the old
//!   frame loses a reference.
//! - An access the area does not allow, or an address in no area: kill.
//! - A page already mapped as the access needs (two threads faulting on
//!   the same page, the second one late): resume.
//!
//! Cost: O(log areas + log resident pages), plus a frame's fill or copy.

use alloc::collections::btree_map::Entry;

use buddy::PAGE_SIZE;
use libsys::proto::mm::{PROT_EXEC, PROT_WRITE};

use crate::frames::Frames;
use crate::layout::page_of;
use crate::machine::{Machine, SpaceId};
use crate::mm::{fill_fresh, map_fresh_in, FaultOutcome, Mm, PageError};
use crate::space::{Area, AreaKind, Pte, Space};

use libsys::abi::ipc::{FAULT_FETCH, FAULT_RESERVED, FAULT_WRITE};

impl Mm {
    /// A page fault of `space` at `addr`, with the x86 error code `error`
    /// (bit 0 present, 1 write, 2 user, 3 reserved bit, 4 instruction
    /// fetch). Returns `Resume` once the page is mapped as the access
    /// needs, or `Kill` with the reason: no such process, an address in
    /// no area, a write to a read-only area, an instruction fetch from a
    /// non-executable one, a corrupt page table, out of memory, or a
    /// machine error.
    pub fn fault(
        &mut self,
        space: SpaceId,
        addr: u64,
        error: u64,
        m: &mut dyn Machine,
    ) -> FaultOutcome {
        let Some(target) = self.spaces.get_mut(&space) else {
            return FaultOutcome::Kill("not a process mm manages");
        };
        let Some(&area) = target.area(addr) else {
            return FaultOutcome::Kill("fault outside any area");
        };
        let write = error & FAULT_WRITE != 0;
        if error & FAULT_RESERVED != 0 {
            return FaultOutcome::Kill("reserved bit set in a page table");
        }
        if write && area.prot & PROT_WRITE == 0 {
            return FaultOutcome::Kill("write to a read-only area");
        }
        if error & FAULT_FETCH != 0 && area.prot & PROT_EXEC == 0 {
            return FaultOutcome::Kill("execute in a non-executable area");
        }
        target.faults += 1;
        let page = page_of(addr);
        // Demand paging, the common case: the page map is searched once,
        // for the page and where its entry goes.
        if !matches!(area.kind, AreaKind::File { .. }) {
            let image = target.image;
            if let Entry::Vacant(slot) = target.pages.entry(page) {
                let served =
                    fill_fresh(space, image, &mut self.frames, &area, page, m).map(|pte| {
                        slot.insert(pte);
                    });
                return self.outcome(served);
            }
        }
        // Not the present bit (0) but the page map says what is there: a
        // thread that faulted on a page another has since mapped is late.
        let resident = target.pages.get(&page).copied();
        let target = if let AreaKind::File { shared, .. } = area.kind {
            match resident {
                None => return self.file_fault(space, area, page, write, m),
                Some(pte) if shared && write && pte.prot & PROT_WRITE == 0 => {
                    self.file_written(&area, page)
                }
                _ => {}
            }
            let Some(target) = self.spaces.get_mut(&space) else {
                return FaultOutcome::Kill("not a process mm manages");
            };
            target
        } else {
            target
        };
        let served = match resident {
            None => map_fresh_in(space, target, &mut self.frames, &area, page, m).map(|_| ()),
            Some(pte) if write && pte.prot & PROT_WRITE == 0 => {
                break_cow(space, target, &mut self.frames, &area, page, pte, m)
            }
            Some(_) => Ok(()),
        };
        self.outcome(served)
    }

    /// What the faulting thread does once the fault was `served`.
    fn outcome(&mut self, served: Result<(), PageError>) -> FaultOutcome {
        match served {
            Ok(()) => FaultOutcome::Resume,
            Err(PageError::NoMemory) => {
                self.alloc_failures += 1;
                FaultOutcome::Kill(PageError::NoMemory.reason())
            }
            Err(e) => FaultOutcome::Kill(e.reason()),
        }
    }
}

/// Gives page `page` (resident as `pte`) a frame of its own, mapped with
/// its area's protection: a copy-on-write page is taken over if its frame
/// has no other mapping, copied if it has; any other page just gets the
/// area's protection. Used by write faults and by `Share` (which must not
/// share a frame another process holds copy-on-write).
pub(crate) fn break_cow(
    id: SpaceId,
    space: &mut Space,
    frames: &mut Frames,
    area: &Area,
    page: u64,
    pte: Pte,
    m: &mut dyn Machine,
) -> Result<(), PageError> {
    debug_assert!(page.is_multiple_of(PAGE_SIZE));
    let mine = Pte {
        pfn: pte.pfn,
        prot: area.prot,
        cow: false,
    };
    if !pte.cow || frames.count(pte.pfn) == 1 {
        if mine.prot != pte.prot {
            m.protect(id, page, 1, mine.prot)
                .map_err(|_| PageError::Machine)?;
        }
        space.pages.insert(page, mine);
        return Ok(());
    }
    // LAB 9 BEGIN: a shared copy-on-write page: copy it, map the copy, drop a reference
    let copy = frames.alloc().ok_or(PageError::NoMemory)?;
    m.copy(pte.pfn, copy);
    if m.map(id, page, copy, area.prot, true).is_err() {
        frames.put(copy);
        // The failed replace may have unmapped the original: put it back,
        // so the page map stays true (best effort: if this fails too, the
        // page faults again and is served from the page map).
        let _ = m.map(id, page, pte.pfn, pte.prot, true);
        return Err(PageError::Machine);
    }
    space.pages.insert(page, Pte { pfn: copy, ..mine });
    frames.put(pte.pfn);
    space.cow_copies += 1;
    Ok(())
    // LAB 9 STUB
    // // The write fault of a shared page is refused: the writer dies.
    // Err(PageError::NoMemory)
    // LAB 9 END
}
