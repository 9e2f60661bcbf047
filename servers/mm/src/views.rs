//! Per-process views (`/proc/<pid>/maps` and the memory fields of
//! `/proc/<pid>/status`, LKD ch. 15's "Memory Areas in Real Life"): what
//! mm knows of an address space, as the lines Linux prints.
//!
//! Who may look: a process at its own space; `init` (the control badge)
//! and the processes it allowed (`AllowViews`: the file server, which
//! checks the reader's rights as Linux's procfs does) at any. Anyone
//! else gets `NotAllowed`, so a process cannot learn another's layout.
//!
//! Costs: `Maps` O(log n + areas returned); `Status` O(n + r log n) for n
//! areas and r resident pages.

use heapless::Vec as Bounded;
use libsys::proto::mm::{MapEntry, MapKind, MemStatus, MmError, CONTROL_BADGE, MAPS_MAX};
use libsys::proto::mm::{PROT_EXEC, PROT_WRITE};

use crate::machine::SpaceId;
use crate::mm::Mm;
use crate::space::{Area, AreaKind, Space};

/// The `maps` kind of an area kind.
fn kind_of(kind: AreaKind) -> MapKind {
    match kind {
        AreaKind::Elf(_) => MapKind::Image,
        AreaKind::Anon => MapKind::Anon,
        AreaKind::Stack => MapKind::Stack,
        AreaKind::Heap => MapKind::Heap,
        AreaKind::Shared => MapKind::Shared,
        AreaKind::Device => MapKind::Device,
        AreaKind::Dma => MapKind::Dma,
        AreaKind::IpcBuffer => MapKind::IpcBuffer,
        AreaKind::File { .. } => MapKind::File,
        AreaKind::PageCache => MapKind::PageCache,
    }
}

/// An area as a `maps` line.
fn entry(area: &Area) -> MapEntry {
    let offset = match area.kind {
        // The offset in the file of the area's first byte.
        AreaKind::Elf(segment) => {
            (segment.offset & !0xfff) + area.start.saturating_sub(segment.vaddr & !0xfff)
        }
        AreaKind::File { index, .. } => index * buddy::PAGE_SIZE,
        _ => 0,
    };
    MapEntry {
        start: area.start,
        end: area.end,
        prot: area.prot,
        shared: !area.is_private() && area.kind != AreaKind::IpcBuffer,
        offset,
        kind: kind_of(area.kind),
    }
}

impl Mm {
    /// Whether `init` let `caller` look at every space (`AllowViews`).
    pub fn is_viewer(&self, caller: SpaceId) -> bool {
        self.viewers.contains(&caller)
    }

    /// The space `caller` asks about: its own (`None`, or its own id),
    /// any for `init`; `NotAllowed` otherwise or for one mm does not
    /// manage.
    fn visible(&self, caller: SpaceId, target: Option<SpaceId>) -> Result<&Space, MmError> {
        let target = target.unwrap_or(caller);
        if caller != CONTROL_BADGE && target != caller && !self.viewers.contains(&caller) {
            return Err(MmError::NotAllowed);
        }
        self.spaces.get(&target).ok_or(MmError::NotAllowed)
    }

    /// `Maps`: up to [`MAPS_MAX`] areas of `target` (`None`: the
    /// caller's) ending above `from`, in address order, and whether more
    /// follow. `NotAllowed` unless it is the caller's own or the caller is `init`.
    pub fn maps(
        &self,
        caller: SpaceId,
        target: Option<SpaceId>,
        from: u64,
    ) -> Result<(Bounded<MapEntry, MAPS_MAX>, bool), MmError> {
        let space = self.visible(caller, target)?;
        let mut areas = Bounded::new();
        let mut more = false;
        for area in space.areas_in(from, u64::MAX) {
            if areas.push(entry(area)).is_err() {
                more = true;
                break;
            }
        }
        Ok((areas, more))
    }

    /// `Status`: the memory fields of `/proc/<pid>/status` for `target`
    /// (`None`: the caller's). `NotAllowed` unless it is the caller's own or the caller is `init`.
    pub fn mem_status(
        &self,
        caller: SpaceId,
        target: Option<SpaceId>,
    ) -> Result<MemStatus, MmError> {
        let space = self.visible(caller, target)?;
        let kib = |pages: u64| pages * 4;
        let mut status = MemStatus::default();
        for area in space.areas.values() {
            let pages = area.pages();
            status.vm_size += kib(pages);
            match area.kind {
                AreaKind::Stack => status.vm_stk += kib(pages),
                AreaKind::Elf(_) if area.prot & PROT_EXEC != 0 => status.vm_exe += kib(pages),
                AreaKind::Elf(_) | AreaKind::Anon | AreaKind::Heap
                    if area.prot & PROT_WRITE != 0 =>
                {
                    status.vm_data += kib(pages)
                }
                _ => {}
            }
        }
        for (&vaddr, pte) in &space.pages {
            let shared = space
                .area(vaddr)
                .is_some_and(|area| area.kind == AreaKind::Shared);
            if shared || self.frames.count(pte.pfn) > 1 && !pte.cow {
                status.rss_shmem += 4;
            } else {
                status.rss_anon += 4;
            }
        }
        status.vm_rss = status.rss_anon + status.rss_shmem;
        status.vm_pte = kib(page_tables(space));
        status.vm_pin = kib(space.dma_pages);
        Ok(status)
    }
}

/// Page-table pages the resident pages need (an x86_64 four-level tree):
/// one last-level table per distinct 2 MiB region, one directory per
/// 1 GiB, one pointer table per 512 GiB. Linux's `VmPTE` counts them.
fn page_tables(space: &Space) -> u64 {
    let mut tables = 0;
    for shift in [21u32, 30, 39] {
        let mut last = None;
        for &vaddr in space.pages.keys() {
            let region = vaddr >> shift;
            if last != Some(region) {
                tables += 1;
                last = Some(region);
            }
        }
    }
    tables
}
