//! Memory in more than one address space on purpose: `Share` / `Accept`
//! (shared memory between processes, like a `MAP_SHARED` mapping both
//! sides hold) and `MapPhysical` (device memory `init` gave mm).
//!
//! A shared range is resident whole from the moment it is shared, and
//! its frames belong to no one in particular: every mapping of them holds
//! a reference, none is ever copy-on-write (a fork shares them too), and
//! the last mapping to go frees them. Device frames are not RAM: they
//! are mapped directly, never counted, never freed.

use alloc::vec::Vec;

use buddy::{PAGE_SHIFT, PAGE_SIZE};
use libsys::proto::mm::{MmError, PROT_EXEC, PROT_READ, PROT_WRITE};

use crate::fault::break_cow;
use crate::layout::{length, pages_of, user_range, PROT_RW};
use crate::machine::{Machine, SpaceId};
use crate::mm::{map_fresh, Mm, Offer};
use crate::request::{place, remove_range};
use crate::space::{Area, AreaKind, Pte};

impl Mm {
    /// `Share`: offers `[at, at + pages)` of `from`'s memory to another
    /// process, returning the token it will `Accept` with (once). The
    /// range becomes shared areas: every page is made resident now, and a
    /// copy-on-write page gets a frame of its own first, so both sides
    /// see the same frames and no third process does.
    ///
    /// `InvalidArgument` for a bad range; `NotMapped` unless areas cover
    /// it all; `NotAllowed` for the IPC buffer, device memory, executable
    /// areas, or `writable` over a read-only area; `NoMemory` when the
    /// pages to populate do not fit in free memory. O(pages in the range).
    pub fn share(
        &mut self,
        from: SpaceId,
        at: u64,
        pages: u64,
        writable: bool,
        m: &mut dyn Machine,
    ) -> Result<u64, MmError> {
        let (start, end) = user_range(at, pages)?;
        let space = self.spaces.get_mut(&from).ok_or(MmError::NotAllowed)?;
        space.check_range(start, end, |area: &Area| {
            matches!(
                area.kind,
                AreaKind::IpcBuffer
                    | AreaKind::Device
                    | AreaKind::Dma
                    | AreaKind::PageCache
                    | AreaKind::File { .. }
            ) || area.prot & PROT_EXEC != 0
                || (writable && area.prot & PROT_WRITE == 0)
        })?;
        // Counted, not collected: the range may hold every page there is.
        let (mut resident, mut copies) = (0u64, 0u64);
        for pte in space.pages.range(start..end).map(|(_, pte)| pte) {
            resident += 1;
            if pte.cow && self.frames.count(pte.pfn) > 1 {
                copies += 1;
            }
        }
        if pages - resident + copies > self.frames.free_pages() {
            return Err(MmError::NoMemory);
        }
        space.isolate(start, end);
        for page in pages_of(start, end) {
            let done = match space.pages.get(&page).copied() {
                None => map_fresh(from, space, &mut self.frames, page, m).map(|_| ()),
                Some(pte) if pte.cow => {
                    let area = *space.area(page).ok_or(MmError::NotMapped)?;
                    break_cow(from, space, &mut self.frames, &area, page, pte, m)
                }
                Some(_) => Ok(()),
            };
            done.map_err(|_| MmError::NoMemory)?;
        }
        for (_, area) in space.areas.range_mut(start..end) {
            area.kind = AreaKind::Shared;
            area.max_prot &= PROT_RW;
        }
        let token = self.new_token();
        self.offers.insert(
            token,
            Offer {
                space: from,
                start,
                end,
                writable,
            },
        );
        Ok(token)
    }

    /// `Accept`: maps the frames shared with `token` into `from`, at `at`
    /// or at the lowest free range of the mmap zone, writable if the
    /// sharer said so (and never more: `Mprotect` cannot add WRITE to a
    /// read-only share). Returns where. The token is used up by success.
    ///
    /// `BadToken` for a token never given, used, or whose range the sharer
    /// has since unmapped (or exited); `InvalidArgument` or `Overlap` for a
    /// bad `at`; `NoSpace`; `NoMemory` if the machine refuses. O(pages).
    pub fn accept(
        &mut self,
        from: SpaceId,
        token: u64,
        at: Option<u64>,
        m: &mut dyn Machine,
    ) -> Result<u64, MmError> {
        let offer = *self.offers.get(&token).ok_or(MmError::BadToken)?;
        let Some(frames) = self.offered_frames(&offer) else {
            self.offers.remove(&token);
            return Err(MmError::BadToken);
        };
        let prot = if offer.writable { PROT_RW } else { PROT_READ };
        let start = self.map_frames(from, at, &frames, prot, AreaKind::Shared, m)?;
        self.offers.remove(&token);
        Ok(start)
    }

    /// `MapPhysical`: maps device memory `[phys, phys + pages)` into
    /// `from`, at `at` or at the lowest free range of the mmap zone,
    /// read-only or read-write. Returns where. The frames are never
    /// counted or freed.
    ///
    /// `InvalidArgument` for an unaligned `phys`, zero or too many pages;
    /// `NotAllowed` unless the range lies inside device memory `init`
    /// allowed `from` with [`add_device`](Mm::add_device); `Overlap`, `NoSpace`; `NoMemory` if
    /// the machine refuses. O(pages).
    pub fn map_physical(
        &mut self,
        from: SpaceId,
        phys: u64,
        pages: u64,
        at: Option<u64>,
        writable: bool,
        m: &mut dyn Machine,
    ) -> Result<u64, MmError> {
        let end = length(pages)
            .ok()
            .and_then(|len| phys.checked_add(len))
            .filter(|_| phys.is_multiple_of(PAGE_SIZE))
            .ok_or(MmError::InvalidArgument)?;
        let (first, last) = (phys >> PAGE_SHIFT, end >> PAGE_SHIFT);
        let allowed = |&(start, end, space): &(u64, u64, SpaceId)| {
            space == from && start <= first && last <= end
        };
        if !self.devices.iter().any(allowed) {
            return Err(MmError::NotAllowed);
        }
        let frames: Vec<u64> = (first..last).collect();
        let prot = if writable { PROT_RW } else { PROT_READ };
        self.map_frames(from, at, &frames, prot, AreaKind::Device, m)
    }

    /// The frames of an offer's range, if the sharer still has it all,
    /// resident and shared.
    fn offered_frames(&self, offer: &Offer) -> Option<Vec<u64>> {
        let sharer = self.spaces.get(&offer.space)?;
        let all_shared = sharer.covers(offer.start, offer.end)
            && sharer
                .areas_in(offer.start, offer.end)
                .all(|area| area.kind == AreaKind::Shared);
        if !all_shared {
            return None;
        }
        pages_of(offer.start, offer.end)
            .map(|page| sharer.pages.get(&page).map(|pte| pte.pfn))
            .collect()
    }

    /// A new area of `kind` in `from` with `frames` mapped in order, each
    /// with one more reference. Undone whole if the machine refuses.
    fn map_frames(
        &mut self,
        from: SpaceId,
        at: Option<u64>,
        frames: &[u64],
        prot: u8,
        kind: AreaKind,
        m: &mut dyn Machine,
    ) -> Result<u64, MmError> {
        let space = self.spaces.get_mut(&from).ok_or(MmError::NotAllowed)?;
        let count = frames.len() as u64;
        let start = place(space, at, count)?;
        let end = start + count * PAGE_SIZE;
        space.insert(Area {
            start,
            end,
            prot,
            max_prot: prot,
            kind,
        });
        for (page, &pfn) in pages_of(start, end).zip(frames) {
            if m.map(from, page, pfn, prot, false).is_err() {
                remove_range(from, space, &mut self.frames, start, end, m);
                return Err(MmError::NoMemory);
            }
            self.frames.get(pfn);
            let cow = false;
            space.pages.insert(page, Pte { pfn, prot, cow });
        }
        Ok(start)
    }
}
