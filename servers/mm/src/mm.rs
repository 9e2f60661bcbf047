//! [`Mm`], the memory server's state: the frames of RAM and their
//! reference counts, the device ranges `init` gave, every managed address
//! space, and the share tokens not yet accepted. The operations live in
//! their own files (`process`: adopt, fork; `fault`: page faults;
//! `request`: the protocol; `share`: Share, Accept, MapPhysical); this
//! one holds what they have in common: creation, exit, statistics, the
//! full invariant check, and the page-level helpers that keep the page
//! map, the reference counts and the machine's page tables in step.
//!
//! The order every helper keeps: a frame is referenced (counted) before
//! or as it is mapped, and released only after it is unmapped, so a frame
//! is never back in the buddy allocator while a page table can reach it.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use buddy::{ZoneType, MAX_ORDER, PAGE_SHIFT, PAGE_SIZE};
use libsys::proto::mm::{MmError, ProcessStats, SystemStats, ORDERS, PROT_WRITE, ZONES};

use crate::frames::Frames;
use crate::machine::{ImageId, Machine, SpaceId};
use crate::reclaim::{watermarks, Watermarks};
use crate::space::{page_prot, Area, AreaKind, Pte, Space};

/// What the faulting thread should do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultOutcome {
    /// The page is mapped now: run the instruction again.
    Resume,
    /// The access was not allowed, or could not be served: end the
    /// process, for this reason.
    Kill(&'static str),
    /// A file page past the end of its file (or unreadable): the process
    /// gets `SIGBUS`, for this reason.
    Bus(&'static str),
    /// The page must come from the file server (`filemap.rs`): keep the
    /// fault's reply under this token; [`Mm::take_completions`] names it
    /// once answered.
    Wait(u64),
}

/// A range offered by `Share`, until it is accepted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Offer {
    pub space: SpaceId,
    pub start: u64,
    pub end: u64,
    pub writable: bool,
}

/// The memory server's core: see the crate documentation.
pub struct Mm {
    pub(crate) frames: Frames,
    /// Device memory each address space may map: (pfn `[start, end)`,
    /// the space), as `init` allowed it.
    pub(crate) devices: Vec<(u64, u64, SpaceId)>,
    pub(crate) spaces: BTreeMap<SpaceId, Space>,
    pub(crate) offers: BTreeMap<u64, Offer>,
    tokens_made: u64,
    token_key: u64,
    /// How many spaces use each image.
    pub(crate) images: BTreeMap<ImageId, u32>,
    pub(crate) released: Vec<ImageId>,
    /// DMA blocks their process let go of, held for the device manager,
    /// by first frame.
    pub(crate) dma_held: BTreeMap<u64, crate::dma::HeldBlock>,
    /// Pages of DMA memory pinned (mapped or held).
    pub(crate) dma_pinned: u64,
    /// Allocations refused for want of memory.
    pub(crate) alloc_failures: u64,
    /// Servers that give memory back when asked (`reclaim.rs`).
    pub(crate) shrinkers: crate::reclaim::Shrinkers,
    /// The page cache's frames and the file faults waiting for it.
    pub(crate) files: crate::filemap::FileCache,
    /// Spaces `init` let look at any other (`AllowViews`: the file
    /// server's procfs).
    pub(crate) viewers: alloc::collections::BTreeSet<SpaceId>,
    /// Each zone's watermarks, and their sums (fixed: RAM is given once).
    marks: [Watermarks; ZONES],
    all_marks: Watermarks,
}

/// Why a page could not be made resident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PageError {
    NoMemory,
    /// The image no longer holds the bytes its segment names.
    BadImage,
    /// A device page is missing: device areas are mapped whole.
    NoDevicePage,
    /// The machine refused: the process is gone or broken.
    Machine,
}

impl PageError {
    pub fn reason(self) -> &'static str {
        match self {
            PageError::NoMemory => "out of memory",
            PageError::BadImage => "its image cannot be read",
            PageError::NoDevicePage => "a device page is not mapped",
            PageError::Machine => "the machine refused a mapping",
        }
    }
}

impl Mm {
    /// A memory server for the RAM in `ram`, each `(physical base,
    /// pages)` (several memory regions, in any order). All of it starts
    /// free.
    ///
    /// Fails with `InvalidArgument` for a range past the physical address
    /// space, `NoMemory` when mm's own heap cannot hold the bookkeeping
    /// (16 bytes per page).
    pub fn new(ram: &[(u64, u64)]) -> Result<Mm, MmError> {
        let frames = Frames::new(ram)?;
        let total = frames.total_pages();
        let mut marks = [Watermarks::default(); ZONES];
        for (z, zone) in ZoneType::ALL.into_iter().enumerate().take(ZONES) {
            marks[z] = watermarks(frames.zone_present(zone), total);
        }
        let all_marks = marks.iter().fold(Watermarks::default(), |a, w| Watermarks {
            min: a.min + w.min,
            low: a.low + w.low,
            high: a.high + w.high,
        });
        Ok(Mm {
            frames,
            marks,
            all_marks,
            devices: Vec::new(),
            spaces: BTreeMap::new(),
            offers: BTreeMap::new(),
            tokens_made: 0,
            token_key: 0x6d6d_5f73_6861_7265,
            images: BTreeMap::new(),
            released: Vec::new(),
            dma_held: BTreeMap::new(),
            dma_pinned: 0,
            alloc_failures: 0,
            viewers: Default::default(),
            shrinkers: crate::reclaim::Shrinkers::default(),
            files: crate::filemap::FileCache::default(),
        })
    }

    /// Allows address space `space` to map device memory (`pages` from
    /// `phys`) with `MapPhysical`; no other space may, and the permission
    /// ends with the space. Fails with `InvalidArgument` if `phys` is not
    /// page-aligned or the range overflows, `NotAllowed` if it overlaps RAM
    /// mm manages.
    pub fn add_device(&mut self, phys: u64, pages: u64, space: SpaceId) -> Result<(), MmError> {
        let end = pages
            .checked_mul(PAGE_SIZE)
            .and_then(|len| phys.checked_add(len))
            .filter(|_| phys.is_multiple_of(PAGE_SIZE) && pages > 0)
            .ok_or(MmError::InvalidArgument)?;
        let range = (phys >> PAGE_SHIFT, end >> PAGE_SHIFT);
        if self.frames.overlaps_ram(range.0, range.1) {
            return Err(MmError::NotAllowed);
        }
        self.devices.push((range.0, range.1, space));
        Ok(())
    }

    /// Keys the share tokens (the server passes something unpredictable,
    /// e.g. the time stamp counter at start). Tokens stay distinct
    /// whatever the key.
    pub fn seed_tokens(&mut self, key: u64) {
        self.token_key = key;
    }

    /// Free pages of RAM.
    pub fn free_pages(&self) -> u64 {
        self.frames.free_pages()
    }

    /// Pages of RAM under management.
    pub fn total_pages(&self) -> u64 {
        self.frames.total_pages()
    }

    /// Each zone's `min`/`low`/`high` watermarks, from the pages it
    /// manages (`reclaim.rs`). O(zones).
    pub fn watermarks(&self) -> [Watermarks; ZONES] {
        self.marks
    }

    /// Reclaim: when free memory is below the sum of the zones' `low`
    /// watermarks, asks the registered shrinkers for enough to reach
    /// `high` ([`reclaim::plan`](crate::reclaim::plan)); returns the
    /// (space, notification bit) pairs the server must signal. Call after
    /// each request or fault; O(shrinkers log shrinkers).
    pub fn balance(&mut self) -> Vec<(SpaceId, u8)> {
        if self.shrinkers.is_empty() || self.frames.free_pages() >= self.all_marks.low {
            return Vec::new();
        }
        self.shrinkers
            .balance(self.frames.free_pages(), self.all_marks)
    }

    /// `RegisterShrinker` (the server checked the notification): see
    /// [`Shrinkers::register`](crate::reclaim::Shrinkers::register).
    pub fn register_shrinker(
        &mut self,
        from: SpaceId,
        bit: u8,
        seeks: u32,
    ) -> Result<u32, MmError> {
        if !self.spaces.contains_key(&from) {
            return Err(MmError::NotAllowed);
        }
        self.shrinkers.register(from, bit, seeks)
    }

    /// The shrinkers registered, in order.
    pub fn shrinkers(&self) -> impl Iterator<Item = &crate::reclaim::Shrinker> {
        self.shrinkers.iter()
    }

    /// The handle mm's own heap takes pages from the buddy allocator with
    /// (see `frames.rs`).
    pub fn kernel_pages(&self) -> crate::frames::KernelPages {
        self.frames.kernel_pages()
    }

    /// Keeps the zones' `min` watermarks (summed) free of user
    /// allocations, as Linux keeps them for allocations that cannot wait:
    /// a fault, `Mmap`'s populate or `DmaAlloc` that would go below it
    /// fails (`NoMemory`, or a kill), while mm's own heap may still grow
    /// into it — so a process that takes all memory cannot starve mm. The
    /// server calls it; the core's tests run without a reserve.
    pub fn keep_reserve(&mut self) {
        self.frames.set_reserve(self.all_marks.min);
    }

    /// Whether free memory is below the zones' `low` watermarks (mm then
    /// shrinks its own slabs too).
    pub fn below_low(&self) -> bool {
        self.frames.free_pages() < self.all_marks.low
    }

    /// Whether `space` is an address space mm manages.
    pub fn manages(&self, space: SpaceId) -> bool {
        self.spaces.contains_key(&space)
    }

    /// The process is gone: unmaps and releases every page it had (a
    /// frame is freed when no other mapping refers to it), drops its
    /// share offers and forgets the space. Unmap failures are ignored (a
    /// dead process has no page tables left). Returns false if mm did not
    /// manage `space`. O(resident pages × log).
    pub fn exit(&mut self, space: SpaceId, m: &mut dyn Machine) -> bool {
        self.exit_space(space, true, m)
    }

    /// [`exit`](Self::exit) of a process that is dead, whose page tables
    /// went with it (the kernel drops a dead process's address space
    /// before it tells its watchers): its pages are released without an
    /// unmap call each run. O(resident pages).
    pub fn exit_dead(&mut self, space: SpaceId, m: &mut dyn Machine) -> bool {
        self.exit_space(space, false, m)
    }

    fn exit_space(&mut self, space: SpaceId, unmap: bool, m: &mut dyn Machine) -> bool {
        let Some(mut gone) = self.spaces.remove(&space) else {
            return false;
        };
        self.dma_exit(space, &mut gone, m);
        self.file_exit(space);
        self.shrinkers.unregister(space, None);
        if unmap {
            drop_all(space, &mut gone, &mut self.frames, m);
        } else {
            for pte in core::mem::take(&mut gone.pages).into_values() {
                self.frames.put(pte.pfn);
            }
        }
        self.offers.retain(|_, offer| offer.space != space);
        self.devices.retain(|device| device.2 != space);
        self.unuse_image(gone.image);
        true
    }

    /// An image no address space uses any more (after `exit`), which the
    /// server may let go of; call until `None`.
    pub fn take_released_image(&mut self) -> Option<ImageId> {
        self.released.pop()
    }

    /// `space`'s statistics, or `None` if mm does not manage it.
    /// O(resident pages).
    pub fn stats(&self, space: SpaceId) -> Option<ProcessStats> {
        let space = self.spaces.get(&space)?;
        let shared = space
            .pages
            .values()
            .filter(|pte| self.frames.count(pte.pfn) > 1)
            .count();
        Some(ProcessStats {
            virtual_pages: space.virtual_pages(),
            resident_pages: space.pages.len() as u64,
            shared_pages: shared as u64,
            areas: space.areas.len() as u32,
            faults: space.faults,
            cow_copies: space.cow_copies,
            brk: space.brk,
            dma_pages: space.dma_pages,
            dma_limit: space.dma_limit,
        })
    }

    /// The whole system's memory. O(zones × orders).
    pub fn system_stats(&self) -> SystemStats {
        let mut stats = SystemStats {
            total_pages: self.frames.total_pages(),
            free_pages: self.frames.free_pages(),
            anon_pages: self.frames.used_pages(),
            shared_pages: self.frames.shared_pages(),
            processes: self.spaces.len() as u32,
            dma_pinned_pages: self.dma_pinned,
            alloc_failures: self.alloc_failures,
            shrinkers: self.shrinkers.len() as u32,
            reclaimed_pages: self.shrinkers.reclaimed,
            mm_heap_pages: self.frames.heap_pages(),
            ..SystemStats::default()
        };
        let marks = self.watermarks();
        for (z, zone) in ZoneType::ALL.into_iter().enumerate().take(ZONES) {
            stats.zone_free[z] = self.frames.zone_free(zone);
            stats.watermarks[z] = [marks[z].min, marks[z].low, marks[z].high];
        }
        for (z, zone) in ZoneType::ALL.into_iter().enumerate().take(ZONES) {
            for order in 0..MAX_ORDER.min(ORDERS as u32) {
                let (free, present) = self.frames.zone_info(zone, order);
                stats.buddy[z][order as usize] = free.min(u64::from(u32::MAX)) as u32;
                stats.zone_pages[z] = present;
            }
        }
        stats
    }

    /// The resident pages of `space` (address, what is mapped there), in
    /// address order; empty if mm does not manage it.
    pub fn mappings(&self, space: SpaceId) -> impl Iterator<Item = (u64, Pte)> + '_ {
        self.spaces
            .get(&space)
            .into_iter()
            .flat_map(|space| space.pages.iter().map(|(&vaddr, &pte)| (vaddr, pte)))
    }

    /// The areas of `space`, in address order.
    pub fn areas(&self, space: SpaceId) -> impl Iterator<Item = Area> + '_ {
        self.spaces
            .get(&space)
            .into_iter()
            .flat_map(|space| space.areas.values().copied())
    }

    /// How many mappings refer to frame `pfn` (0: free, or not RAM).
    pub fn refcount(&self, pfn: u64) -> u32 {
        self.frames.count(pfn)
    }

    /// Checks every invariant of the frames, the areas and the page maps
    /// (see `frames.rs` and `space.rs`), and that each frame's count is
    /// exactly the number of pages mapping it, and that a frame mapped
    /// more than once is either copy-on-write everywhere or shared
    /// everywhere. O(pages of RAM + resident pages × log). For tests and
    /// debugging; returns the first broken invariant.
    pub fn check(&self) -> Result<(), &'static str> {
        self.frames.check()?;
        let cached = self.check_files()?;
        // Per frame: mappings, copy-on-write ones, ones in shared areas.
        let mut seen: BTreeMap<u64, (u32, u32, u32)> = BTreeMap::new();
        for space in self.spaces.values() {
            check_areas(space)?;
            for (&vaddr, pte) in &space.pages {
                let area = space.area(vaddr).ok_or("a page outside every area")?;
                // A clean page of a shared file mapping is mapped
                // read-only, so that its first write is seen.
                let clean_file = matches!(area.kind, AreaKind::File { shared: true, .. })
                    && pte.prot == area.prot & !PROT_WRITE;
                if !vaddr.is_multiple_of(PAGE_SIZE)
                    || (pte.prot != page_prot(area.prot, pte.cow) && !clean_file)
                {
                    return Err("a page mapped with the wrong protection");
                }
                if pte.cow && !area.is_private() {
                    return Err("a copy-on-write page in a shared area");
                }
                if !self.frames.is_ram(pte.pfn) {
                    if area.kind != AreaKind::Device {
                        return Err("a page that is neither RAM nor a device");
                    }
                    continue;
                }
                let entry = seen.entry(pte.pfn).or_default();
                entry.0 += 1;
                entry.1 += u32::from(pte.cow);
                entry.2 += u32::from(area.kind == AreaKind::Shared);
            }
        }
        let mut pinned = 0;
        for space in self.spaces.values() {
            for block in space.dma.values() {
                pinned += 1u64 << block.order;
                // The unmapped tail of a block is counted, not mapped.
                for pfn in block.pfn + block.pages..block.pfn + (1 << block.order) {
                    seen.insert(pfn, (1, 0, 0));
                }
            }
        }
        for (&first, held) in &self.dma_held {
            pinned += 1u64 << held.order;
            for pfn in first..first + (1 << held.order) {
                seen.insert(pfn, (1, 0, 0));
            }
        }
        if pinned != self.dma_pinned {
            return Err("DMA pages pinned differ from the blocks");
        }
        let mut references = 0u64;
        for (&pfn, &(count, cow, shared)) in &seen {
            if self.frames.count(pfn) != count {
                return Err("a frame's count differs from its mappings");
            }
            // A page-cache frame is mapped by its owner and by file
            // mappings, shared and copy-on-write alike.
            if count > 1 && cow != count && shared != count && !cached.contains(&pfn) {
                return Err("a frame mapped twice, neither shared nor copy-on-write");
            }
            references += u64::from(count);
        }
        if seen.len() as u64 != self.frames.used_pages() || references != self.frames.references() {
            return Err("a frame counted that no page maps");
        }
        Ok(())
    }

    /// A new space's id must be a valid badge and unused: `InvalidArgument`
    /// for the control badge or one with the pager bit, `NotAllowed` for
    /// one in use.
    pub(crate) fn check_new_id(&self, id: SpaceId) -> Result<(), MmError> {
        use libsys::proto::mm::{CONTROL_BADGE, PAGER_BADGE};
        if id == CONTROL_BADGE || id & PAGER_BADGE != 0 {
            return Err(MmError::InvalidArgument);
        }
        if self.spaces.contains_key(&id) {
            return Err(MmError::NotAllowed);
        }
        Ok(())
    }

    pub(crate) fn use_image(&mut self, image: ImageId) {
        *self.images.entry(image).or_default() += 1;
    }

    fn unuse_image(&mut self, image: ImageId) {
        if let Some(users) = self.images.get_mut(&image) {
            *users -= 1;
            if *users == 0 {
                self.images.remove(&image);
                self.released.push(image);
            }
        }
    }

    /// A fresh share token: a bijective mix of a counter, so tokens never
    /// repeat, keyed so they cannot be guessed from each other.
    pub(crate) fn new_token(&mut self) -> u64 {
        self.tokens_made += 1;
        let mut z = self
            .tokens_made
            .wrapping_add(self.token_key)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn check_areas(space: &Space) -> Result<(), &'static str> {
    let mut previous_end = 0;
    for (&start, area) in &space.areas {
        let aligned = area.start.is_multiple_of(PAGE_SIZE) && area.end.is_multiple_of(PAGE_SIZE);
        if start != area.start || area.start >= area.end || !aligned || start < previous_end {
            return Err("areas misaligned, empty or overlapping");
        }
        if area.prot & !area.max_prot != 0 {
            return Err("an area with more than its maximum protection");
        }
        previous_end = area.end;
    }
    Ok(())
}

/// Makes page `page` of `space` resident: a fresh frame, filled as its
/// area says (zeros, or the image's bytes), mapped with the area's
/// protection. The page must be inside an area and not resident.
pub(crate) fn map_fresh(
    id: SpaceId,
    space: &mut Space,
    frames: &mut Frames,
    page: u64,
    m: &mut dyn Machine,
) -> Result<u64, PageError> {
    let area = *space.area(page).ok_or(PageError::NoDevicePage)?;
    map_fresh_in(id, space, frames, &area, page, m)
}

/// [`map_fresh`] with the page's area found already.
pub(crate) fn map_fresh_in(
    id: SpaceId,
    space: &mut Space,
    frames: &mut Frames,
    area: &Area,
    page: u64,
    m: &mut dyn Machine,
) -> Result<u64, PageError> {
    let pte = fill_fresh(id, space.image, frames, area, page, m)?;
    space.pages.insert(page, pte);
    Ok(pte.pfn)
}

/// A fresh frame for page `page` of `area` in space `id` (whose image is
/// `image`), filled as the area says and mapped with its protection:
/// what the page map must record for it (the caller records it).
pub(crate) fn fill_fresh(
    id: SpaceId,
    image: ImageId,
    frames: &mut Frames,
    area: &Area,
    page: u64,
    m: &mut dyn Machine,
) -> Result<Pte, PageError> {
    debug_assert!(area.contains(page));
    if matches!(
        area.kind,
        AreaKind::Device | AreaKind::Dma | AreaKind::File { .. }
    ) {
        return Err(PageError::NoDevicePage);
    }
    let pfn = frames.alloc().ok_or(PageError::NoMemory)?;
    m.zero(pfn);
    if let AreaKind::Elf(segment) = area.kind {
        if let Err(e) = load_page(m, image, &segment, page, pfn) {
            frames.put(pfn);
            return Err(e);
        }
    }
    if m.map(id, page, pfn, area.prot, false).is_err() {
        frames.put(pfn);
        return Err(PageError::Machine);
    }
    Ok(Pte {
        pfn,
        prot: area.prot,
        cow: false,
    })
}

/// Writes the file bytes `segment` has in page `page` into frame `pfn`
/// (already zeroed).
fn load_page(
    m: &mut dyn Machine,
    image: ImageId,
    segment: &libsys::elf::Segment,
    page: u64,
    pfn: u64,
) -> Result<(), PageError> {
    let mut buffer = [0u8; PAGE_SIZE as usize];
    let (len, at) = {
        let bytes = m.image(image);
        // The image was checked at adopt; it must still hold the segment.
        let in_file = segment
            .offset
            .checked_add(segment.file_size)
            .is_some_and(|end| end <= bytes.len() as u64);
        if !in_file {
            return Err(PageError::BadImage);
        }
        let (file, at) = segment.file_bytes_in_page(bytes, page);
        buffer[..file.len()].copy_from_slice(file);
        (file.len(), at)
    };
    if len > 0 {
        m.write(pfn, at, &buffer[..len]);
    }
    Ok(())
}

/// Unmaps every resident page of `[start, end)` and releases its frame.
/// The areas are the caller's business. Unmap failures are ignored: the
/// machine fails only for a space that is gone, whose page tables
/// reach nothing.
pub(crate) fn drop_range(
    id: SpaceId,
    space: &mut Space,
    frames: &mut Frames,
    start: u64,
    end: u64,
    m: &mut dyn Machine,
) {
    let mut from = start;
    let mut taken = crate::space::PageBatch::new();
    loop {
        space.take_pages(from, end, &mut taken);
        for (vaddr, pages, _) in runs(taken.iter().map(|&(vaddr, _)| (vaddr, 0))) {
            let _ = m.unmap(id, vaddr, pages);
        }
        for (_, pte) in &taken {
            frames.put(pte.pfn);
        }
        match taken.last() {
            Some(&(last, _)) if taken.is_full() => from = last + PAGE_SIZE,
            _ => break,
        }
    }
}

/// Unmaps every resident page of `space` and releases its frame, as
/// [`drop_range`] over all of it, but the page map is taken whole and
/// walked once (no removal per page): O(resident pages).
pub(crate) fn drop_all(id: SpaceId, space: &mut Space, frames: &mut Frames, m: &mut dyn Machine) {
    let pages = core::mem::take(&mut space.pages);
    let mut run: Option<(u64, u64)> = None;
    for &vaddr in pages.keys() {
        run = match run {
            Some((first, count)) if first + count * PAGE_SIZE == vaddr => Some((first, count + 1)),
            Some((first, count)) => {
                let _ = m.unmap(id, first, count);
                Some((vaddr, 1))
            }
            None => Some((vaddr, 1)),
        };
    }
    if let Some((first, count)) = run {
        let _ = m.unmap(id, first, count);
    }
    // Released only once unmapped.
    for pte in pages.into_values() {
        frames.put(pte.pfn);
    }
}

/// Re-protects pages (address, new protection), a run of contiguous
/// pages with the same protection per machine call.
pub(crate) fn protect_pages(
    id: SpaceId,
    changes: &[(u64, u8)],
    m: &mut dyn Machine,
) -> Result<(), crate::machine::MachineError> {
    for (vaddr, pages, prot) in runs(changes.iter().copied()) {
        m.protect(id, vaddr, pages, prot)?;
    }
    Ok(())
}

/// Groups `(page address, value)` pairs, in address order, into runs of
/// contiguous pages with the same value: `(first, pages, value)`.
fn runs(pages: impl Iterator<Item = (u64, u8)>) -> Vec<(u64, u64, u8)> {
    let mut out: Vec<(u64, u64, u8)> = Vec::new();
    for (vaddr, value) in pages {
        match out.last_mut() {
            Some((first, count, v)) if *v == value && *first + *count * PAGE_SIZE == vaddr => {
                *count += 1
            }
            _ => out.push((vaddr, 1, value)),
        }
    }
    out
}
