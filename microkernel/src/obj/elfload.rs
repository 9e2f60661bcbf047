//! Loading a user program (a boot module) into a new address space.
//!
//! Everything about the file is checked first by `libsys::elf::check` —
//! the same checks `libsys`'s spawner makes, so the kernel and user space
//! refuse the same files. Then each segment's pages get fresh zeroed
//! frames with the segment's permissions, and the file's bytes are copied
//! in; the rest of a segment (its `.bss`) stays zero.

use core::fmt;
use libsys::abi::PAGE_SIZE;

use libsys::elf::{self, ElfError};

use crate::mem::addrspace::{AddrSpace, AsError};
use crate::mem::kspace;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    Elf(ElfError),
    Map(AsError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Elf(e) => write!(f, "{e}"),
            LoadError::Map(e) => write!(f, "cannot map a segment: {e:?}"),
        }
    }
}

/// Loads `image` into `aspace`; returns the entry point. On an error the
/// address space may hold some of the pages (the caller drops it).
pub fn load(aspace: &mut AddrSpace, image: &[u8]) -> Result<u64, LoadError> {
    let program = elf::check(image).map_err(LoadError::Elf)?;
    for segment in program.segments() {
        let (first, end) = segment.pages();
        for page in (first..end).step_by(PAGE_SIZE as usize) {
            let phys = aspace
                .map_zeroed(page, segment.prot)
                .map_err(LoadError::Map)?;
            let (bytes, at) = segment.file_bytes_in_page(image, page);
            // SAFETY: the frame was just allocated for this page (RAM the
            // HHDM maps); the bytes fit in it from `at` (file_bytes_in_page
            // stays inside the page).
            unsafe {
                core::ptr::copy_nonoverlapping(
                    bytes.as_ptr(),
                    kspace::phys_to_virt::<u8>(phys + at as u64),
                    bytes.len(),
                )
            };
        }
    }
    Ok(program.entry)
}
