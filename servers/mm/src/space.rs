//! One process's address space as mm keeps it (LKD ch. 15, "The Process
//! Address Space"): its memory areas (Linux's `vm_area_struct`s, kept in
//! an ordered map as Linux keeps them in a tree) and its page map (the
//! page table mm keeps for it: which frame is mapped at each resident
//! page, with which protection, and whether it is copy-on-write).
//!
//! Invariants kept here (checked by [`Mm::check`](crate::Mm::check)):
//! - areas are page-aligned, non-empty, disjoint, keyed by their start;
//! - every page in the page map lies inside an area, and its protection
//!   is the area's, without WRITE while the page is copy-on-write;
//! - only private areas (not `Shared`, `Device` or `IpcBuffer`) hold
//!   copy-on-write pages.
//!
//! Costs, for n areas and r resident pages: finding the area of an
//! address, splitting one, inserting one: O(log n); an overlap check:
//! O(log n + areas in the range); finding a free range: O(n); the pages of
//! a range: O(log r + pages in it).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use buddy::PAGE_SIZE;
use libsys::elf::Segment;
use libsys::proto::mm::{MmError, PROT_READ, PROT_WRITE};

use crate::machine::ImageId;

/// What an area is: where its pages come from on a fault and how a fork
/// treats them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AreaKind {
    /// A `PT_LOAD` segment of the process's image: a fault fills the page
    /// with the segment's file bytes, zeros past them (`.bss`).
    Elf(Segment),
    /// `Mmap` memory: demand-zero.
    Anon,
    /// The stack: demand-zero.
    Stack,
    /// The heap between the image and the break: demand-zero.
    Heap,
    /// Shared through `Share` / `Accept`: always resident, never
    /// copy-on-write; a fork shares it too.
    Shared,
    /// Device memory from `MapPhysical`: always resident, never freed.
    Device,
    /// The IPC buffer page: always resident; the kernel writes into it, so
    /// it is never copy-on-write (a fork copies it at once).
    IpcBuffer,
    /// DMA memory (`DmaAlloc`, `dma.rs`): a physically contiguous block,
    /// always resident, pinned (never copy-on-write, never moved), not
    /// inherited by a fork; only `DmaFree` or the process's end removes it.
    Dma,
    /// A mapping of a file (`MapFile`, `filemap.rs`): its pages are the
    /// page cache's frames, asked of the file server on a fault. `index`
    /// is the file page at the area's start (a split moves it on);
    /// `shared` is `MAP_SHARED` (writes reach the page cache), else
    /// `MAP_PRIVATE` (the frame is mapped copy-on-write).
    File { file: u64, index: u64, shared: bool },
    /// The file server's page cache (`RegisterPageCache`): demand-zero,
    /// never copy-on-write, never unmapped: its frames are lent to the
    /// file mappings.
    PageCache,
}

/// A memory area: `[start, end)` with one protection and one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Area {
    pub start: u64,
    pub end: u64,
    /// The `PROT_*` bits (always with READ).
    pub prot: u8,
    /// The most `Mprotect` may give it (Linux's `VM_MAY*`).
    pub max_prot: u8,
    pub kind: AreaKind,
}

impl Area {
    pub fn pages(&self) -> u64 {
        (self.end - self.start) / PAGE_SIZE
    }

    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    /// Whether its frames belong to the process alone (so a fork makes
    /// them copy-on-write).
    pub fn is_private(&self) -> bool {
        !matches!(
            self.kind,
            AreaKind::Shared
                | AreaKind::Device
                | AreaKind::IpcBuffer
                | AreaKind::Dma
                | AreaKind::PageCache
                | AreaKind::File { shared: true, .. }
        )
    }

    /// For a file mapping: (file, the file page at `addr`, shared).
    pub fn file_page(&self, addr: u64) -> Option<(u64, u64, bool)> {
        match self.kind {
            AreaKind::File {
                file,
                index,
                shared,
            } => Some((file, index + (addr - self.start) / PAGE_SIZE, shared)),
            _ => None,
        }
    }

    /// The part of it from `at` on (`at` inside it): for a file mapping,
    /// its first file page moves with its start.
    fn upper(&self, at: u64) -> Area {
        let kind = match self.kind {
            AreaKind::File {
                file,
                index,
                shared,
            } => AreaKind::File {
                file,
                index: index + (at - self.start) / PAGE_SIZE,
                shared,
            },
            kind => kind,
        };
        Area {
            start: at,
            kind,
            ..*self
        }
    }
}

/// Pages [`Space::take_pages`] takes at once.
pub const TAKE_BATCH: usize = 128;

/// A batch of resident pages taken out of a page map: (address, entry).
pub type PageBatch = heapless::Vec<(u64, Pte), TAKE_BATCH>;

/// One resident page: what mm mapped there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pte {
    pub pfn: u64,
    /// The protection it is mapped with now.
    pub prot: u8,
    /// Copy-on-write: the frame may be another process's too, so a write
    /// must copy it (or take it over if it is not).
    pub cow: bool,
}

/// The protection a page of an area with `prot` is mapped with.
pub fn page_prot(area_prot: u8, cow: bool) -> u8 {
    if cow {
        area_prot & !PROT_WRITE
    } else {
        area_prot
    }
}

/// The area of `areas` holding `addr`: O(log n).
pub fn find_area(areas: &BTreeMap<u64, Area>, addr: u64) -> Option<&Area> {
    let (_, area) = areas.range(..=addr).next_back()?;
    area.contains(addr).then_some(area)
}

/// Finds the areas of addresses given in increasing order by walking the
/// areas alongside them: O(pages + areas) for a whole page map, where a
/// [`find_area`] per page costs O(log areas) each (`fork` and `exit`
/// visit every resident page).
pub struct AreaCursor<'a> {
    rest: alloc::collections::btree_map::Values<'a, u64, Area>,
    current: Option<&'a Area>,
}

impl<'a> AreaCursor<'a> {
    pub fn new(areas: &'a BTreeMap<u64, Area>) -> AreaCursor<'a> {
        let mut rest = areas.values();
        let current = rest.next();
        AreaCursor { rest, current }
    }

    /// The area holding `addr`; each address must be above the last one
    /// asked for.
    pub fn find(&mut self, addr: u64) -> Option<&'a Area> {
        while let Some(area) = self.current {
            if area.end > addr {
                break;
            }
            self.current = self.rest.next();
        }
        self.current.filter(|area| area.contains(addr))
    }
}

/// An address space: areas, resident pages, and the rest of what Linux
/// keeps in `mm_struct`.
#[derive(Clone, Debug)]
pub struct Space {
    pub areas: BTreeMap<u64, Area>,
    /// Resident pages by address.
    pub pages: BTreeMap<u64, Pte>,
    /// The image its `Elf` areas load from.
    pub image: ImageId,
    /// Where the heap starts: the first page after the image.
    pub heap_start: u64,
    /// The break (`brk`): the heap is `[heap_start, brk)`, its areas end
    /// at the page boundary above.
    pub brk: u64,
    pub faults: u64,
    pub cow_copies: u64,
    /// Its DMA blocks, by the address they are mapped at.
    pub dma: BTreeMap<u64, DmaBlock>,
    /// Pages of DMA memory charged to it (whole blocks).
    pub dma_pages: u64,
    /// The most DMA pages it may hold.
    pub dma_limit: u64,
    /// `init` adopted it (a server of the manifest): only such a process
    /// may become the page cache's owner.
    pub by_init: bool,
}

/// A block of DMA memory a process holds (`DmaAlloc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaBlock {
    /// Its first frame.
    pub pfn: u64,
    /// The block is 2^order frames (what is charged and pinned).
    pub order: u32,
    /// Pages of it mapped (what the caller asked for).
    pub pages: u64,
    /// Held until the device manager releases it (`DmaRelease`), not
    /// freed when the process lets go of it.
    pub hold: bool,
}

impl Space {
    pub fn new(image: ImageId, heap_start: u64) -> Space {
        Space {
            areas: BTreeMap::new(),
            pages: BTreeMap::new(),
            image,
            heap_start,
            brk: heap_start,
            faults: 0,
            cow_copies: 0,
            dma: BTreeMap::new(),
            dma_pages: 0,
            dma_limit: crate::dma::DMA_LIMIT_PAGES,
            by_init: false,
        }
    }

    /// The area holding `addr` (Linux's `find_vma`, exact).
    pub fn area(&self, addr: u64) -> Option<&Area> {
        find_area(&self.areas, addr)
    }

    /// The areas that meet `[start, end)`, in order.
    pub fn areas_in(&self, start: u64, end: u64) -> impl Iterator<Item = &Area> {
        let first = self.area(start).map_or(start, |area| area.start);
        self.areas
            .range(first..end)
            .map(|(_, area)| area)
            .filter(move |area| area.end > start)
    }

    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.areas_in(start, end).next().is_some()
    }

    /// Whether areas cover every byte of `[start, end)`.
    pub fn covers(&self, start: u64, end: u64) -> bool {
        let mut next = start;
        for area in self.areas_in(start, end) {
            if area.start > next {
                return false;
            }
            next = area.end;
        }
        next >= end
    }

    /// Checks a request's range: areas must cover every byte of
    /// `[start, end)` (else `NotMapped`), and none of them may be one
    /// `refused` says the request must not touch (else `NotAllowed`).
    pub fn check_range(
        &self,
        start: u64,
        end: u64,
        refused: impl Fn(&Area) -> bool,
    ) -> Result<(), MmError> {
        if !self.covers(start, end) {
            return Err(MmError::NotMapped);
        }
        if self.areas_in(start, end).any(refused) {
            return Err(MmError::NotAllowed);
        }
        Ok(())
    }

    /// Cuts the area holding `at` in two there, if `at` is inside it (not
    /// at its start). Pages are unaffected.
    pub fn split(&mut self, at: u64) {
        let Some(&area) = self.area(at) else {
            return;
        };
        if area.start == at {
            return;
        }
        self.areas.insert(area.start, Area { end: at, ..area });
        self.areas.insert(at, area.upper(at));
    }

    /// Splits at both ends so that `[start, end)` is made of whole areas.
    pub fn isolate(&mut self, start: u64, end: u64) {
        self.split(start);
        self.split(end);
    }

    pub fn insert(&mut self, area: Area) {
        debug_assert!(!self.overlaps(area.start, area.end), "areas overlap");
        self.areas.insert(area.start, area);
    }

    /// The starts of the whole areas inside `[start, end)` (after
    /// [`isolate`](Self::isolate)).
    pub fn area_starts(&self, start: u64, end: u64) -> Vec<u64> {
        self.areas.range(start..end).map(|(&at, _)| at).collect()
    }

    /// Removes the areas inside `[start, end)` (after `isolate`).
    pub fn remove_areas(&mut self, start: u64, end: u64) {
        for at in self.area_starts(start, end) {
            self.areas.remove(&at);
        }
    }

    /// Takes up to [`TAKE_BATCH`] resident pages of `[start, end)` (the
    /// lowest) out of the page map into `into` (emptied first). In
    /// batches, into the caller's buffer on its stack: a process with a
    /// million resident pages must not need a 24 MB array to die (mm's own
    /// heap is fixed, and a failed allocation would end mm), and the batch
    /// is never moved (a 3 KiB copy per call).
    pub fn take_pages(&mut self, start: u64, end: u64, into: &mut PageBatch) {
        into.clear();
        for (&vaddr, &pte) in self.pages.range(start..end).take(TAKE_BATCH) {
            // Cannot fail: at most TAKE_BATCH are taken.
            let _ = into.push((vaddr, pte));
        }
        for (vaddr, _) in into.iter() {
            self.pages.remove(vaddr);
        }
    }

    /// The lowest `pages`-page range in `[low, high)` that no area meets,
    /// first fit.
    pub fn find_free(&self, pages: u64, low: u64, high: u64) -> Option<u64> {
        let len = pages.checked_mul(PAGE_SIZE)?;
        let mut candidate = low;
        for area in self.areas.values() {
            if area.end <= candidate {
                continue;
            }
            if area.start >= candidate.checked_add(len)? {
                break;
            }
            candidate = area.end;
        }
        (candidate.checked_add(len)? <= high).then_some(candidate)
    }

    /// Pages its areas span.
    pub fn virtual_pages(&self) -> u64 {
        self.areas.values().map(Area::pages).sum()
    }

    /// A new read-write heap area `[start, end)`, merged with the heap
    /// area that ends at `start` if there is one.
    pub fn grow_heap(&mut self, start: u64, end: u64) {
        let rw = PROT_READ | PROT_WRITE;
        if let Some((_, below)) = self.areas.range_mut(..start).next_back() {
            if below.end == start && below.kind == AreaKind::Heap && below.prot == rw {
                below.end = end;
                return;
            }
        }
        self.insert(Area {
            start,
            end,
            prot: rw,
            max_prot: crate::layout::PROT_ALL,
            kind: AreaKind::Heap,
        });
    }
}
