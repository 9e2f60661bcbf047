//! The executables the memory server runs programs from: each version of
//! each file (its [`FileKey`]) copied once into pages of the server's
//! `memory=` grant, as a read-only region `mm`'s `Exec` takes. Every
//! process running that program gets the same region, so `mm` knows it
//! as one image (it dedups images by region) and demand-loads its pages
//! from one copy.
//!
//! An entry is never freed: `mm` reads a page of the image whenever one
//! of its processes first touches it, for as long as any of them lives,
//! and does not tell the server when the last one is gone. The cache is
//! therefore bounded ([`CACHE_PAGES_MAX`]): past it, `exec` of a program
//! not cached yet is `ENOMEM`. (A rewritten file is a new key; the old
//! version's pages stay.) Linux's answer, file-backed mappings of the
//! page cache itself, is issue 20's part 2, not done here.

use alloc::collections::BTreeMap;

use libsys::abi::Rights;
use libsys::errno::Errno;
use libsys::handle::MemoryRegion;
use libsys::mem::{Memory, Pages};

use crate::image::FileKey;

/// Pages of the server's grant the cache may hold (8 MiB: 50-odd tools
/// of ~150 KiB).
pub const CACHE_PAGES_MAX: u64 = 2048;

/// One cached executable.
pub struct Cached {
    pub region: MemoryRegion,
    pub size: u64,
}

#[derive(Default)]
pub struct ImageCache {
    entries: BTreeMap<FileKey, Cached>,
    pages: u64,
}

impl ImageCache {
    /// The region holding `bytes`, the file `key` names: the cached one,
    /// or a new copy. `ENOMEM` past [`CACHE_PAGES_MAX`] or the grant.
    pub fn get(&mut self, mem: &mut Memory, key: FileKey, bytes: &[u8]) -> Result<&Cached, Errno> {
        if !self.entries.contains_key(&key) {
            let count = (bytes.len() as u64).div_ceil(4096).max(1);
            if self.pages + count > CACHE_PAGES_MAX {
                return Err(Errno::ENOMEM);
            }
            let pages = copy_in(mem, bytes)?;
            let region = match derive(pages, Rights::READ) {
                Ok(r) => r,
                Err(e) => {
                    mem.free(pages);
                    return Err(e);
                }
            };
            self.pages += count;
            self.entries.insert(
                key,
                Cached {
                    region,
                    size: bytes.len() as u64,
                },
            );
        }
        self.entries.get(&key).ok_or(Errno::ENOMEM)
    }
}

/// `bytes` copied into fresh pages of `mem` (unmapped here after).
pub fn copy_in(mem: &mut Memory, bytes: &[u8]) -> Result<Pages, Errno> {
    let count = (bytes.len() as u64).div_ceil(4096).max(1);
    let (pages, at) = mem.alloc_mapped(count).map_err(|_| Errno::ENOMEM)?;
    // SAFETY: `count` pages were just mapped writable at `at`; `bytes`
    // fits in them.
    #[allow(unsafe_code)]
    unsafe {
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), at as *mut u8, bytes.len())
    };
    let _ = mem.unmap_self(at, count);
    Ok(pages)
}

/// A region of its own for `pages` (of the server's grant) with `rights`.
pub fn derive(pages: Pages, rights: Rights) -> Result<MemoryRegion, Errno> {
    // SAFETY: `pages.region` is the server's own region handle (the
    // `memory=` grant), kept open by `Memory`; ManuallyDrop keeps it from
    // being closed here.
    #[allow(unsafe_code)]
    let own = core::mem::ManuallyDrop::new(MemoryRegion(unsafe {
        libsys::handle::OwnedHandle::from_raw(pages.region)
    }));
    own.derive(pages.first, pages.count, rights)
        .map_err(|_| Errno::ENOMEM)
}
