//! Memory for programs that manage it themselves (`init`, tests, until the
//! memory server exists): pages from a memory region, and addresses to map
//! them at.
//!
//! A [`Memory`] holds a region handle, hands out runs of its pages
//! (first-fit over a free list kept sorted and merged, so freed runs are
//! reused) and a window of this process's address space to map them in
//! ([`WINDOW`]), and maps pages into this process or another.

use crate::abi::{Handle, Protection, SysError, PAGE_SIZE};
use crate::handle::Process;

/// Where a [`Memory`] maps pages into its own process: 64 TiB from 64 TiB.
pub const WINDOW: (u64, u64) = (0x4000_0000_0000, 0x5000_0000_0000);

/// A run of pages of a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pages {
    pub region: Handle,
    pub first: u64,
    pub count: u64,
}

/// Pages of one region, and this process's window to map them in.
pub struct Memory {
    /// A handle to this process (MAP).
    me: Handle,
    region: Handle,
    pages: u64,
    /// Pages never handed out start here.
    next: u64,
    /// Freed runs (first, count), sorted and merged.
    free: alloc::vec::Vec<(u64, u64)>,
    /// The next free address of the window.
    window: u64,
}

impl Memory {
    /// Pages of `region` (`pages` long), mapped into this process through
    /// `me`, a handle to it with MAP. The handles stay the caller's.
    pub const fn new(me: Handle, region: Handle, pages: u64) -> Memory {
        Memory::new_from(me, region, 0, pages)
    }

    /// As [`Memory::new`], handing out pages from `first` on only (the
    /// pages before are someone else's, the heap's say).
    pub const fn new_from(me: Handle, region: Handle, first: u64, pages: u64) -> Memory {
        Memory {
            me,
            region,
            pages,
            next: if first < pages { first } else { pages },
            free: alloc::vec::Vec::new(),
            window: WINDOW.0,
        }
    }

    /// For the first process: its largest memory region after the pages its
    /// heap took, mapped through its own process handle.
    pub fn from_init(info: &crate::abi::InitInfo) -> Option<Memory> {
        let region = info.regions().iter().max_by_key(|r| r.pages)?;
        Some(Memory::new_from(
            Handle(info.self_process),
            Handle(region.handle),
            crate::heap::INIT_HEAP_PAGES.min(region.pages),
            region.pages,
        ))
    }

    /// The region the pages come from.
    pub fn region(&self) -> Handle {
        self.region
    }

    /// A handle to this process (what `map_self` maps through).
    pub fn me(&self) -> Handle {
        self.me
    }

    /// Pages not handed out.
    pub fn available(&self) -> u64 {
        self.pages - self.next + self.free.iter().map(|r| r.1).sum::<u64>()
    }

    /// `count` contiguous pages; `NoMemory` when no run is long enough.
    pub fn alloc(&mut self, count: u64) -> Result<Pages, SysError> {
        if count == 0 {
            return Err(SysError::InvalidArgument);
        }
        if let Some(i) = self.free.iter().position(|r| r.1 >= count) {
            let (first, len) = self.free[i];
            if len == count {
                self.free.remove(i);
            } else {
                self.free[i] = (first + count, len - count);
            }
            return Ok(Pages {
                region: self.region,
                first,
                count,
            });
        }
        if self.pages - self.next < count {
            return Err(SysError::NoMemory);
        }
        let first = self.next;
        self.next += count;
        Ok(Pages {
            region: self.region,
            first,
            count,
        })
    }

    /// Gives pages back (they must not be mapped anywhere any more).
    pub fn free(&mut self, pages: Pages) {
        if pages.region != self.region || pages.count == 0 {
            return;
        }
        let at = self.free.partition_point(|r| r.0 < pages.first);
        self.free.insert(at, (pages.first, pages.count));
        // Merge with the neighbours.
        if at + 1 < self.free.len() && self.free[at].0 + self.free[at].1 == self.free[at + 1].0 {
            self.free[at].1 += self.free[at + 1].1;
            self.free.remove(at + 1);
        }
        if at > 0 && self.free[at - 1].0 + self.free[at - 1].1 == self.free[at].0 {
            self.free[at - 1].1 += self.free[at].1;
            self.free.remove(at);
        }
        // A run that reaches the never-used part goes back to it.
        if let Some(&(first, count)) = self.free.last() {
            if first + count == self.next {
                self.next = first;
                self.free.pop();
            }
        }
    }

    /// Maps `pages` into `process` at `address`.
    pub fn map_into(
        &self,
        process: &Process,
        address: u64,
        pages: Pages,
        prot: Protection,
    ) -> Result<(), SysError> {
        process.map(address, pages.region, pages.first, pages.count, prot)
    }

    /// Maps `pages` into this process at a fresh window address; returns it.
    pub fn map_self(&mut self, pages: Pages, prot: Protection) -> Result<u64, SysError> {
        let address = self.window;
        let size = pages.count * PAGE_SIZE;
        if address + size > WINDOW.1 {
            return Err(SysError::NoMemory);
        }
        crate::syscall::call6(
            crate::abi::Syscall::Map,
            [
                u64::from(self.me.0),
                address,
                u64::from(pages.region.0),
                pages.first,
                pages.count,
                prot.bits(),
            ],
        )?;
        // One unmapped page between mappings catches overruns.
        self.window += size + PAGE_SIZE;
        Ok(address)
    }

    /// Maps `pages` into this process at a fresh window address, as a
    /// [`Mapping`](crate::mapping::Mapping): lent as a slice, unmapped on
    /// drop. Fails as [`Mapping::map`](crate::mapping::Mapping::map) does,
    /// or with `NoMemory` when the window is used up.
    pub fn map_view(
        &mut self,
        pages: Pages,
        prot: Protection,
    ) -> Result<crate::mapping::Mapping, SysError> {
        let address = self.window;
        let size = pages.count.saturating_mul(PAGE_SIZE);
        if address.saturating_add(size) > WINDOW.1 {
            return Err(SysError::NoMemory);
        }
        let view =
            crate::mapping::Mapping::map(address, pages.region, pages.first, pages.count, prot)?;
        // One unmapped page between mappings catches overruns.
        self.window += size + PAGE_SIZE;
        Ok(view)
    }

    /// Unmaps `count` pages at `address` from this process.
    pub fn unmap_self(&self, address: u64, count: u64) -> Result<(), SysError> {
        crate::syscall::call6(
            crate::abi::Syscall::Unmap,
            [u64::from(self.me.0), address, count, 0, 0, 0],
        )
        .map(|_| ())
    }

    /// `count` fresh pages mapped read-write into this process, zeroed.
    pub fn alloc_mapped(&mut self, count: u64) -> Result<(Pages, u64), SysError> {
        let pages = self.alloc(count)?;
        let address = self.map_self(pages, Protection::READ | Protection::WRITE)?;
        // SAFETY: the range was just mapped writable, and is ours alone.
        unsafe { core::ptr::write_bytes(address as *mut u8, 0, (count * PAGE_SIZE) as usize) };
        Ok((pages, address))
    }
}
