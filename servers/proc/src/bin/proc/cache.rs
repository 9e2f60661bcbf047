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

use libsys::abi::{Protection, Rights, PAGE_SIZE};
use libsys::errno::Errno;
use libsys::handle::{Borrowed, MemoryRegion};
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
            let count = (bytes.len() as u64).div_ceil(PAGE_SIZE).max(1);
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
    let count = (bytes.len() as u64).div_ceil(PAGE_SIZE).max(1);
    let pages = mem.alloc(count).map_err(|_| Errno::ENOMEM)?;
    let copied = mem
        .map_view(pages, Protection::READ | Protection::WRITE)
        .ok()
        .and_then(|mut view| {
            // Fresh pages may hold an earlier user's bytes: zero the tail.
            let target = view.bytes_mut()?;
            target[..bytes.len()].copy_from_slice(bytes);
            target[bytes.len()..].fill(0);
            Some(())
        });
    if copied.is_none() {
        mem.free(pages);
        return Err(Errno::ENOMEM);
    }
    Ok(pages)
}

/// A region of its own for `pages` (of the server's grant) with `rights`.
pub fn derive(pages: Pages, rights: Rights) -> Result<MemoryRegion, Errno> {
    // The server's own region handle (the `memory=` grant), kept open
    // by `Memory`: lent for the call.
    Borrowed::of(pages.region, MemoryRegion)
        .derive(pages.first, pages.count, rights)
        .map_err(|_| Errno::ENOMEM)
}
