//! The machine the core runs on (`mm::Machine`): mapping, unmapping and
//! protecting pages of the processes `mm` manages are system calls on
//! their handles; zeroing, copying and filling a frame are memory
//! operations through the window where `mm` mapped all its RAM; an image
//! is read through its own read-only window. Both windows are
//! `libsys::mapping::Mapping`s, so this file, like the rest of the
//! binary, has no `unsafe`.
#![forbid(unsafe_code)]

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use libsys::abi::{Handle, Protection, SysError, PAGE_SIZE};
use libsys::handle::{OwnedHandle, Process};
use libsys::mapping::Mapping;
use mm::{ImageId, Machine, MachineError, SpaceId};

/// Where the memory mm manages is mapped in its own address space.
const RAM_WINDOW: u64 = 0x4000_0000_0000;
/// Where ELF images are mapped (read-only).
const IMAGE_WINDOW: u64 = 0x5000_0000_0000;

/// A memory region mm manages, and its window here.
pub(crate) struct Ram {
    pub handle: OwnedHandle,
    pub first_pfn: u64,
    pub pages: u64,
    pub window: Mapping,
}

/// Device memory one process may map (`GiveDevice`).
pub(crate) struct Device {
    pub handle: OwnedHandle,
    pub first_pfn: u64,
    pub pages: u64,
    pub owner: SpaceId,
}

/// An ELF image, mapped here (read-only; unmapped when dropped).
pub(crate) struct Image {
    /// Kept open while a space uses the image; closed with it.
    pub _handle: OwnedHandle,
    pub base: u64,
    pub size: u64,
    pub window: Mapping,
}

/// The machine the core runs on: system calls on the processes' handles,
/// memory operations through the windows.
pub(crate) struct Real {
    pub ram: Vec<Ram>,
    /// Device memory `init` allowed a process (`GiveDevice`).
    pub devices: Vec<Device>,
    pub images: Vec<Option<Image>>,
    /// The process of each space.
    pub spaces: BTreeMap<SpaceId, Process>,
    next_ram: u64,
    next_image: u64,
}

fn failed(_: SysError) -> MachineError {
    MachineError::Failed
}

/// The protection bits the core passes (`PROT_*`, the ABI's).
fn protection(prot: u8) -> Result<Protection, MachineError> {
    Protection::from_bits(u64::from(prot)).ok_or(MachineError::Failed)
}

impl Real {
    /// A machine with no memory yet.
    pub fn new() -> Real {
        Real {
            ram: Vec::new(),
            devices: Vec::new(),
            images: Vec::new(),
            spaces: BTreeMap::new(),
            next_ram: RAM_WINDOW,
            next_image: IMAGE_WINDOW,
        }
    }

    /// Which RAM window holds frame `pfn`, and the frame's page in it.
    fn window_of(&self, pfn: u64) -> (usize, u64) {
        match self
            .ram
            .iter()
            .position(|r| (r.first_pfn..r.first_pfn + r.pages).contains(&pfn))
        {
            Some(i) => (i, pfn - self.ram[i].first_pfn),
            // The core only names frames it was given.
            None => panic!("mm: frame {pfn:#x} is not memory mm manages"),
        }
    }

    /// Frame `pfn`, to write, through its window.
    fn frame(&mut self, pfn: u64) -> &mut [u8; PAGE_SIZE as usize] {
        let (i, page) = self.window_of(pfn);
        match self.ram[i].window.page_mut(page) {
            Some(frame) => frame,
            // Mapped writable and whole in `give`.
            None => panic!("mm: frame {pfn:#x} is outside its window"),
        }
    }

    fn process(&self, space: SpaceId) -> Result<&Process, MachineError> {
        self.spaces.get(&space).ok_or(MachineError::Failed)
    }

    /// Maps `pages` of region `region` into this process at a fresh
    /// window address. RAM (`first_pfn` given) is mapped read-write and
    /// placed so that the address of every frame is congruent to the frame
    /// modulo the largest buddy block (4 MiB): a block aligned physically
    /// is aligned here too, as the heap's slabs need (`heap.rs`); anything
    /// else (an image, a stack) is mapped read-only.
    pub fn map_here(
        &mut self,
        region: Handle,
        pages: u64,
        first_pfn: Option<u64>,
    ) -> Result<Mapping, SysError> {
        const BLOCK: u64 = 1 << (mm::MAX_ORDER - 1);
        let (next, prot) = match first_pfn {
            Some(_) => (&mut self.next_ram, Protection::READ | Protection::WRITE),
            None => (&mut self.next_image, Protection::READ),
        };
        let mut at = *next;
        if let Some(first) = first_pfn {
            let page = at / PAGE_SIZE;
            at = (page + first.wrapping_sub(page) % BLOCK) * PAGE_SIZE;
        }
        let window = Mapping::map(at, region, 0, pages, prot)?;
        // A guard page between mappings.
        *next = at + (pages + 1) * PAGE_SIZE;
        Ok(window)
    }

    /// The first `len` bytes of region `region` (an `Exec`'s initial
    /// stack), copied out through a window mapped for the copy only.
    /// `None` if the region cannot be mapped.
    pub fn read_region(&mut self, region: Handle, len: u64) -> Option<Vec<u8>> {
        let pages = len.div_ceil(PAGE_SIZE).max(1);
        let window = self.map_here(region, pages, None).ok()?;
        Some(window.bytes().get(..len as usize)?.to_vec())
    }

    /// Runs `call` on each run of `[vaddr, vaddr + pages)`: the whole
    /// range first; if the kernel refuses it (a page in it is not mapped),
    /// page by page, skipping the pages it refuses.
    fn each_page(
        &self,
        space: SpaceId,
        vaddr: u64,
        pages: u64,
        call: impl Fn(&Process, u64, u64) -> Result<(), SysError>,
    ) -> Result<(), MachineError> {
        let process = self.process(space)?;
        match call(process, vaddr, pages) {
            Ok(()) => Ok(()),
            Err(SysError::NotFound) => {
                for page in 0..pages {
                    let _ = call(process, vaddr + page * PAGE_SIZE, 1);
                }
                Ok(())
            }
            Err(e) => Err(failed(e)),
        }
    }
}

impl Machine for Real {
    fn map(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pfn: u64,
        prot: u8,
        replace: bool,
    ) -> Result<(), MachineError> {
        let process = self.process(space)?;
        let (region, first_pfn) = match self
            .ram
            .iter()
            .find(|r| (r.first_pfn..r.first_pfn + r.pages).contains(&pfn))
        {
            Some(ram) => (ram.handle.raw(), ram.first_pfn),
            None => self
                .devices
                .iter()
                .find(|d| (d.first_pfn..d.first_pfn + d.pages).contains(&pfn))
                .map(|d| (d.handle.raw(), d.first_pfn))
                .ok_or(MachineError::Failed)?,
        };
        let prot = protection(prot)?;
        let first = pfn - first_pfn;
        if replace {
            process.remap(vaddr, region, first, 1, prot)
        } else {
            process.map(vaddr, region, first, 1, prot)
        }
        .map_err(failed)
    }

    fn map_run(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pfn: u64,
        pages: u64,
        prot: u8,
    ) -> Result<(), MachineError> {
        let process = self.process(space)?;
        let prot = protection(prot)?;
        let (mut vaddr, mut pfn, mut left) = (vaddr, pfn, pages);
        // One call per region the run lies in (RAM given in several
        // regions may be contiguous).
        while left > 0 {
            let (region, first_pfn, end_pfn) = self
                .ram
                .iter()
                .map(|r| (r.handle.raw(), r.first_pfn, r.first_pfn + r.pages))
                .chain(
                    self.devices
                        .iter()
                        .map(|d| (d.handle.raw(), d.first_pfn, d.first_pfn + d.pages)),
                )
                .find(|&(_, first, end)| (first..end).contains(&pfn))
                .ok_or(MachineError::Failed)?;
            let n = left.min(end_pfn - pfn);
            process
                .map(vaddr, region, pfn - first_pfn, n, prot)
                .map_err(failed)?;
            vaddr += n * PAGE_SIZE;
            pfn += n;
            left -= n;
        }
        Ok(())
    }

    fn unmap(&mut self, space: SpaceId, vaddr: u64, pages: u64) -> Result<(), MachineError> {
        self.each_page(space, vaddr, pages, |p, at, n| p.unmap(at, n))
    }

    fn protect(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pages: u64,
        prot: u8,
    ) -> Result<(), MachineError> {
        let prot = protection(prot)?;
        self.each_page(space, vaddr, pages, |p, at, n| p.protect(at, n, prot))
    }

    fn zero(&mut self, pfn: u64) {
        self.frame(pfn).fill(0);
    }

    fn copy(&mut self, from: u64, to: u64) {
        let (source, page) = self.window_of(from);
        let (target, _) = self.window_of(to);
        if source == target {
            let at = |p: u64| (p * PAGE_SIZE) as usize;
            let to_page = to - self.ram[source].first_pfn;
            if let Some(bytes) = self.ram[source].window.bytes_mut() {
                bytes.copy_within(at(page)..at(page + 1), at(to_page));
            }
            return;
        }
        // Two windows: borrow both, one from each side of a split.
        let (low, high) = self.ram.split_at_mut(source.max(target));
        let (a, b) = (&mut low[source.min(target)], &mut high[0]);
        let (src, dst) = if source < target { (a, b) } else { (b, a) };
        let to_page = to - dst.first_pfn;
        if let (Some(s), Some(d)) = (src.window.page_mut(page), dst.window.page_mut(to_page)) {
            d.copy_from_slice(s);
        }
    }

    fn write(&mut self, pfn: u64, at: usize, bytes: &[u8]) {
        let Some(rest) = self.frame(pfn).get_mut(at..) else {
            return;
        };
        let len = bytes.len().min(rest.len());
        rest[..len].copy_from_slice(&bytes[..len]);
    }

    fn image(&self, image: ImageId) -> &[u8] {
        match self.images.get(image as usize) {
            Some(Some(i)) => i.window.bytes().get(..i.size as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}
