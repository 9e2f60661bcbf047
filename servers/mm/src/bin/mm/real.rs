//! The machine the core runs on (`mm::Machine`): mapping, unmapping and
//! protecting pages of the processes `mm` manages are system calls on
//! their handles; zeroing, copying and filling a frame are memory
//! operations through the window where `mm` mapped all its RAM; an image
//! is read through its own read-only window.
//!
//! The windows are the one `unsafe` of the binary: a frame is a page of a
//! region mapped here read-write, named by its frame number, which the
//! core only passes for frames it was given. A safe `libsys` API would
//! remove it: a mapped-region type (`Memory::map_window(region, pages,
//! prot) -> Window`) that keeps the mapping alive and hands out each page
//! as `&mut [u8; 4096]` and an image as `&[u8]`.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use libsys::abi::{Handle, SysError, Syscall, MAP_REPLACE};
use libsys::handle::{OwnedHandle, Process};
use libsys::syscall::call6;
use mm::{ImageId, Machine, MachineError, SpaceId};

/// Where the memory mm manages is mapped in its own address space.
const RAM_WINDOW: u64 = 0x4000_0000_0000;
/// Where ELF images are mapped (read-only).
const IMAGE_WINDOW: u64 = 0x5000_0000_0000;

/// A memory region mm manages, and where it is mapped here.
pub(crate) struct Ram {
    pub handle: OwnedHandle,
    pub first_pfn: u64,
    pub pages: u64,
    pub at: u64,
}

/// Device memory one process may map (`GiveDevice`).
pub(crate) struct Device {
    pub handle: OwnedHandle,
    pub first_pfn: u64,
    pub pages: u64,
    pub owner: SpaceId,
}

/// An ELF image, mapped here.
pub(crate) struct Image {
    pub handle: OwnedHandle,
    pub base: u64,
    pub pages: u64,
    pub size: u64,
    pub at: u64,
}

/// The machine the core runs on: system calls on the processes' handles,
/// memory operations through the windows.
pub(crate) struct Real {
    pub me: Handle,
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

impl Real {
    /// A machine with no memory yet, `me` being `mm`'s own process.
    pub fn new(me: Handle) -> Real {
        Real {
            me,
            ram: Vec::new(),
            devices: Vec::new(),
            images: Vec::new(),
            spaces: BTreeMap::new(),
            next_ram: RAM_WINDOW,
            next_image: IMAGE_WINDOW,
        }
    }

    pub fn ram(&self, pfn: u64) -> Option<&Ram> {
        self.ram
            .iter()
            .find(|r| (r.first_pfn..r.first_pfn + r.pages).contains(&pfn))
    }

    /// Where frame `pfn` is mapped here.
    fn window(&self, pfn: u64) -> *mut u8 {
        match self.ram(pfn) {
            Some(r) => (r.at + (pfn - r.first_pfn) * 4096) as *mut u8,
            // The core only names frames it was given.
            None => panic!("mm: frame {pfn:#x} is not memory mm manages"),
        }
    }

    fn process(&self, space: SpaceId) -> Result<Handle, MachineError> {
        self.spaces
            .get(&space)
            .map(|p| p.raw())
            .ok_or(MachineError::Failed)
    }

    /// Maps `pages` of region `region` into this process at a fresh
    /// window address; returns it. RAM (`first_pfn` given) is placed so
    /// that the address of every frame is congruent to the frame modulo
    /// the largest buddy block (4 MiB): a block aligned physically is
    /// aligned here too, as the heap's slabs need (`heap.rs`).
    pub fn map_here(
        &mut self,
        region: Handle,
        pages: u64,
        prot: u64,
        first_pfn: Option<u64>,
    ) -> Result<u64, SysError> {
        const BLOCK: u64 = 1 << (mm::MAX_ORDER - 1);
        let next = if first_pfn.is_some() {
            &mut self.next_ram
        } else {
            &mut self.next_image
        };
        let mut at = *next;
        if let Some(first) = first_pfn {
            let page = at / 4096;
            at = (page + first.wrapping_sub(page) % BLOCK) * 4096;
        }
        call6(
            Syscall::Map,
            [
                u64::from(self.me.0),
                at,
                u64::from(region.0),
                0,
                pages,
                prot,
            ],
        )?;
        // A guard page between mappings.
        *next = at + (pages + 1) * 4096;
        Ok(at)
    }

    /// The first `len` bytes of region `region` (an `Exec`'s initial
    /// stack), copied out through a window mapped for the copy only.
    /// `None` if the region cannot be mapped.
    pub fn read_region(&mut self, region: Handle, len: u64) -> Option<Vec<u8>> {
        let pages = len.div_ceil(4096).max(1);
        let at = self.map_here(region, pages, 1, None).ok()?;
        // SAFETY: `pages` pages of the region were just mapped readable
        // at `at` and stay so until the unmap below; `len` is within them.
        let bytes = unsafe { core::slice::from_raw_parts(at as *const u8, len as usize) }.to_vec();
        let _ = call6(Syscall::Unmap, [u64::from(self.me.0), at, pages, 0, 0, 0]);
        Some(bytes)
    }

    /// Runs `call` on `[vaddr, vaddr + pages)`; if the kernel refuses the
    /// whole range (a page in it is not mapped), page by page, skipping
    /// the pages it refuses.
    fn each_page(
        &self,
        call: Syscall,
        space: SpaceId,
        vaddr: u64,
        pages: u64,
        extra: u64,
    ) -> Result<(), MachineError> {
        let process = u64::from(self.process(space)?.0);
        let args = |at: u64, n: u64| match call {
            Syscall::Protect => [process, at, n, extra, 0, 0],
            _ => [process, at, n, 0, 0, 0],
        };
        match call6(call, args(vaddr, pages)) {
            Ok(_) => Ok(()),
            Err(SysError::NotFound) => {
                for page in 0..pages {
                    let _ = call6(call, args(vaddr + page * 4096, 1));
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
        let (region, first_pfn) = match self.ram(pfn) {
            Some(ram) => (ram.handle.raw(), ram.first_pfn),
            None => self
                .devices
                .iter()
                .find(|d| (d.first_pfn..d.first_pfn + d.pages).contains(&pfn))
                .map(|d| (d.handle.raw(), d.first_pfn))
                .ok_or(MachineError::Failed)?,
        };
        // PROT_* are the ABI's protection bits.
        let flags = u64::from(prot) | if replace { MAP_REPLACE } else { 0 };
        call6(
            Syscall::Map,
            [
                u64::from(process.0),
                vaddr,
                u64::from(region.0),
                pfn - first_pfn,
                1,
                flags,
            ],
        )
        .map(|_| ())
        .map_err(failed)
    }

    fn unmap(&mut self, space: SpaceId, vaddr: u64, pages: u64) -> Result<(), MachineError> {
        self.each_page(Syscall::Unmap, space, vaddr, pages, 0)
    }

    fn protect(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pages: u64,
        prot: u8,
    ) -> Result<(), MachineError> {
        self.each_page(Syscall::Protect, space, vaddr, pages, u64::from(prot))
    }

    fn zero(&mut self, pfn: u64) {
        // SAFETY: the frame is a page of a region mapped read-write here
        // (the window), and the core hands it to no one while it fills it.
        unsafe { core::ptr::write_bytes(self.window(pfn), 0, 4096) }
    }

    fn copy(&mut self, from: u64, to: u64) {
        // SAFETY: as in `zero`; two different frames.
        unsafe { core::ptr::copy_nonoverlapping(self.window(from), self.window(to), 4096) }
    }

    fn write(&mut self, pfn: u64, at: usize, bytes: &[u8]) {
        let len = bytes.len().min(4096usize.saturating_sub(at));
        // SAFETY: as in `zero`; the bytes fit the frame from `at`.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), self.window(pfn).add(at), len) }
    }

    fn image(&self, image: ImageId) -> &[u8] {
        match self.images.get(image as usize) {
            // SAFETY: the image is mapped read-only at `at` for `pages`
            // pages until `take_released_image` lets it go; `size` is
            // within them.
            Some(Some(i)) => unsafe {
                core::slice::from_raw_parts(i.at as *const u8, i.size as usize)
            },
            _ => &[],
        }
    }
}
