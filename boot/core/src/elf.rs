//! Checking a kernel ELF file and planning where its segments go.
//!
//! The loader places the whole virtual span of the kernel's `PT_LOAD`
//! segments (from the first segment's page to the end of the last one) in one
//! physically contiguous block, so that physical = block + (virtual − base)
//! for every byte of the kernel. This module decides that span; the checks
//! of the file, made before a single byte is copied, are the `elfcheck`
//! crate's (the same the kernel makes of a user program), with the
//! kernel's rules.

use alloc::vec::Vec;

use elfcheck::Rules;
pub use elfcheck::{ElfError, Segment};

use crate::memmap::PAGE_SIZE;

/// The protocol requires kernels at or above this address.
pub const KERNEL_MIN_ADDRESS: u64 = 0xffff_ffff_8000_0000;

/// What a kernel must satisfy beyond every ELF check: it lies in the top
/// 2 GiB; segments may share a page (it gets the union of their
/// permissions, see [`KernelImage::pages`]) but not bytes.
const KERNEL: Rules = Rules {
    lowest: KERNEL_MIN_ADDRESS,
    end: u64::MAX,
    max_segments: None,
    write_xor_execute: false,
    overlap_granularity: 1,
};

/// A kernel that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelImage {
    pub entry: u64,
    /// Page-aligned virtual address where the image's span starts.
    pub virt_base: u64,
    /// Bytes in the span (a multiple of the page size).
    pub span: u64,
    /// In address order.
    pub segments: Vec<Segment>,
}

impl KernelImage {
    /// Offset inside the span of a virtual address.
    pub fn offset_of(&self, vaddr: u64) -> u64 {
        vaddr - self.virt_base
    }
}

/// Checks `file` as a Limine-protocol kernel and describes its segments.
///
/// Fails when the file is not a 64-bit x86_64 `ET_EXEC` ELF file, when a
/// segment lies below the kernel area, outside the file or over another one,
/// or when the entry point is not in an executable segment.
pub fn plan(file: &[u8]) -> Result<KernelImage, ElfError> {
    let checked = elfcheck::check(file, &KERNEL)?;
    let segments = checked.segments;
    let virt_base = segments[0].vaddr & !(PAGE_SIZE - 1);
    let last = segments[segments.len() - 1];
    let end = (last.vaddr + last.mem_size).div_ceil(PAGE_SIZE) * PAGE_SIZE;
    Ok(KernelImage {
        entry: checked.entry,
        virt_base,
        span: end - virt_base,
        segments,
    })
}

/// Page protection of one kernel page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageFlags {
    pub writable: bool,
    pub executable: bool,
}

impl KernelImage {
    /// The pages to map: (virtual page address, flags), in address order.
    /// A page shared by two segments gets the union of their permissions;
    /// pages in the span that no segment touches are not mapped.
    pub fn pages(&self) -> Vec<(u64, PageFlags)> {
        let mut pages: Vec<(u64, PageFlags)> = Vec::new();
        for segment in &self.segments {
            let first = segment.vaddr & !(PAGE_SIZE - 1);
            let end = (segment.vaddr + segment.mem_size).div_ceil(PAGE_SIZE) * PAGE_SIZE;
            for page in (first..end).step_by(PAGE_SIZE as usize) {
                let flags = PageFlags {
                    writable: segment.writable,
                    executable: segment.executable,
                };
                match pages.last_mut() {
                    Some((last, last_flags)) if *last == page => {
                        last_flags.writable |= flags.writable;
                        last_flags.executable |= flags.executable;
                    }
                    _ => pages.push((page, flags)),
                }
            }
        }
        pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use elfcheck::testing::{elf as build, Seg};

    const BASE: u64 = KERNEL_MIN_ADDRESS;

    fn kernel(segs: &[Seg]) -> Vec<u8> {
        build(2, 62, BASE + 0x10, segs)
    }

    #[test]
    fn plans_a_good_kernel() {
        let file = kernel(&[
            (BASE, 0x1800, 0x1800, 5),
            (BASE + 0x2000, 0x100, 0x100, 4),
            (BASE + 0x3000, 0x2000, 0x10, 6),
        ]);
        let image = plan(&file).unwrap();
        assert_eq!(image.entry, BASE + 0x10);
        assert_eq!(image.virt_base, BASE);
        assert_eq!(image.span, 0x5000);
        assert_eq!(image.segments.len(), 3);
        assert!(image.segments[0].executable && !image.segments[0].writable);
        assert!(image.segments[2].writable && !image.segments[2].executable);
        let pages = image.pages();
        assert_eq!(pages.len(), 5);
        assert_eq!(
            pages[0],
            (
                BASE,
                PageFlags {
                    writable: false,
                    executable: true
                }
            )
        );
        assert_eq!(
            pages[2],
            (
                BASE + 0x2000,
                PageFlags {
                    writable: false,
                    executable: false
                }
            )
        );
        assert_eq!(
            pages[4],
            (
                BASE + 0x4000,
                PageFlags {
                    writable: true,
                    executable: false
                }
            )
        );
    }

    #[test]
    fn shared_pages_get_the_union_of_permissions() {
        let file = kernel(&[(BASE, 0x800, 0x800, 5), (BASE + 0x800, 0x800, 0x800, 6)]);
        let pages = plan(&file).unwrap().pages();
        assert_eq!(
            pages,
            [(
                BASE,
                PageFlags {
                    writable: true,
                    executable: true
                }
            )]
        );
    }

    #[test]
    fn rejects_bad_files() {
        assert!(matches!(
            plan(b"hello, world, this is not an elf file at all........."),
            Err(ElfError::NotElf(_))
        ));
        assert!(matches!(plan(&[]), Err(ElfError::NotElf(_))));
        let seg = [(BASE, 0x1000, 0x1000, 5)];
        assert_eq!(plan(&build(2, 3, BASE, &seg)), Err(ElfError::NotX86_64));
        assert_eq!(
            plan(&build(3, 62, BASE, &seg)),
            Err(ElfError::PositionIndependent)
        );
        assert_eq!(
            plan(&build(1, 62, BASE, &seg)),
            Err(ElfError::NotExecutable)
        );
        assert_eq!(plan(&build(2, 62, BASE, &[])), Err(ElfError::NoSegments));
        let mut bits32 = kernel(&seg);
        bits32[4] = 1;
        assert!(plan(&bits32).is_err());
    }

    #[test]
    fn rejects_bad_segments() {
        assert_eq!(
            plan(&build(2, 62, 0x401000, &[(0x400000, 0x2000, 0x10, 5)])),
            Err(ElfError::SegmentOutsideRange {
                vaddr: 0x400000,
                lowest: KERNEL_MIN_ADDRESS,
                end: u64::MAX
            })
        );
        assert_eq!(
            plan(&kernel(&[
                (BASE, 0x1000, 0x1000, 5),
                (BASE + 0x800, 0x1000, 0x10, 6)
            ])),
            Err(ElfError::OverlappingSegments {
                first: BASE,
                second: BASE + 0x800
            })
        );
        assert_eq!(
            plan(&kernel(&[(BASE, 0x1000, 0x1000, 6)])),
            Err(ElfError::EntryNotExecutable { entry: BASE + 0x10 })
        );
        // File size larger than memory size.
        assert_eq!(
            plan(&kernel(&[(BASE, 0x10, 0x20, 5)])),
            Err(ElfError::SegmentOutsideFile { vaddr: BASE })
        );
        // File bytes past the end of the file.
        let mut file = kernel(&[(BASE, 0x1000, 0x1000, 5)]);
        file.truncate(file.len() - 1);
        assert_eq!(
            plan(&file),
            Err(ElfError::SegmentOutsideFile { vaddr: BASE })
        );
    }
}
