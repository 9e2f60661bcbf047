//! Memory regions: ranges of physical memory that user space can map.
//!
//! At boot the kernel keeps a pool of frames for its own objects (page
//! tables, kernel stacks, the heap) and hands everything else to the first
//! process as regions, one per run of free RAM; each boot module is a
//! region too (read-only), and the first process may take regions of
//! device memory (`device_region`: registers, never RAM; mapped uncached). Whoever holds a region handle can map its pages
//! into an address space it holds (`map`), with no more access than the
//! handle's rights (READ, WRITE, EXEC), and derive handles to parts of it.
//!
//! Region memory never goes back to the kernel: a region is like seL4's
//! untyped memory without revocation. Its frames stay the user's for good,
//! shared by whoever holds handles or mappings; so the kernel never has to
//! ask whether a mapping outlived its region, and a user mapping can never
//! reach the kernel's own frames.

use alloc::sync::Arc;
use libsys::abi::PAGE_SIZE;

use libsys::abi::SysError;

/// What kind of memory a region is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Free RAM.
    Ram,
    /// A boot module's bytes.
    Module,
    /// Device registers (`device_region`): mapped uncached, never RAM.
    Device,
}

#[derive(Debug)]
pub struct Region {
    /// Physical address of the first page.
    pub base: u64,
    pub pages: u64,
    pub kind: RegionKind,
    /// What its maker's account paid for it (none for the kernel's own).
    _charge: Option<kcore::limits::Charge>,
}

impl Region {
    pub fn new(base: u64, pages: u64, kind: RegionKind) -> Arc<Region> {
        Region::charged(base, pages, kind, None)
    }

    /// A region a process made, paid for by `charge`.
    pub fn charged(
        base: u64,
        pages: u64,
        kind: RegionKind,
        charge: Option<kcore::limits::Charge>,
    ) -> Arc<Region> {
        Arc::new(Region {
            base,
            pages,
            kind,
            _charge: charge,
        })
    }

    /// The part `[first, first + pages)` (in pages) as a region of its
    /// own, paid for by `charge`; `InvalidArgument` if it is empty or runs
    /// past the end.
    pub fn derive(
        &self,
        first: u64,
        pages: u64,
        charge: kcore::limits::Charge,
    ) -> Result<Arc<Region>, SysError> {
        let end = first.checked_add(pages).ok_or(SysError::InvalidArgument)?;
        if pages == 0 || end > self.pages {
            return Err(SysError::InvalidArgument);
        }
        let base = self.base + first * PAGE_SIZE;
        Ok(Region::charged(base, pages, self.kind, Some(charge)))
    }
}
