//! Checking a user program: an ELF64 executable, before any of it is
//! loaded. Used by the kernel (for the processes it starts) and by
//! `libsys::spawn` (for the processes a program builds), so both refuse
//! the same files for the same reasons; the checks themselves are the
//! `elfcheck` crate's, which the loader uses for the kernel too.
//!
//! A program is accepted only if it is 64-bit, x86_64, `ET_EXEC` (static:
//! no one relocates it), has at most [`MAX_SEGMENTS`] `PT_LOAD` segments,
//! each inside the file and inside user space (above page 0, below
//! [`USER_END`]), none writable and executable (W^X), no two sharing a
//! page, and an entry point inside an executable segment.

use elfcheck::Rules;
pub use elfcheck::{program_header_table, ElfError};

use crate::abi::{Protection, PAGE_SIZE};

/// One past the highest user address (the lower canonical half).
pub const USER_END: u64 = 0x0000_8000_0000_0000;
/// The most loadable segments a program may have.
pub const MAX_SEGMENTS: usize = 8;

/// What a user program must satisfy beyond every ELF check.
const USER_PROGRAM: Rules = Rules {
    lowest: PAGE_SIZE,
    end: USER_END,
    max_segments: Some(MAX_SEGMENTS),
    write_xor_execute: true,
    // Each page gets one segment's protection.
    overlap_granularity: PAGE_SIZE,
};

/// One checked `PT_LOAD` segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub mem_size: u64,
    pub offset: u64,
    pub file_size: u64,
    pub prot: Protection,
}

impl Segment {
    /// The page-aligned range `[first, end)` the segment occupies.
    pub fn pages(&self) -> (u64, u64) {
        let first = self.vaddr & !0xfff;
        let end = (self.vaddr + self.mem_size).div_ceil(PAGE_SIZE) * PAGE_SIZE;
        (first, end)
    }

    /// The file bytes of the segment that land in the page at `page`, and
    /// their offset within that page.
    pub fn file_bytes_in_page<'a>(&self, image: &'a [u8], page: u64) -> (&'a [u8], usize) {
        let start = page.max(self.vaddr);
        let stop = (page + PAGE_SIZE).min(self.vaddr + self.file_size);
        if start >= stop {
            return (&[], 0);
        }
        let from = (self.offset + (start - self.vaddr)) as usize;
        let to = (self.offset + (stop - self.vaddr)) as usize;
        (&image[from..to], (start - page) as usize)
    }
}

impl From<&elfcheck::Segment> for Segment {
    fn from(s: &elfcheck::Segment) -> Segment {
        let mut prot = Protection::READ;
        if s.writable {
            prot |= Protection::WRITE;
        }
        if s.executable {
            prot |= Protection::EXEC;
        }
        Segment {
            vaddr: s.vaddr,
            mem_size: s.mem_size,
            offset: s.file_offset,
            file_size: s.file_size,
            prot,
        }
    }
}

/// A checked program: its segments (in address order) and entry point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    segments: [Option<Segment>; MAX_SEGMENTS],
    pub entry: u64,
}

impl Program {
    pub fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.segments.iter().flatten()
    }
}

/// Checks `image` (see the module documentation).
pub fn check(image: &[u8]) -> Result<Program, ElfError> {
    let checked = elfcheck::check(image, &USER_PROGRAM)?;
    let mut segments = [None; MAX_SEGMENTS];
    for (slot, segment) in segments.iter_mut().zip(&checked.segments) {
        *slot = Some(Segment::from(segment));
    }
    Ok(Program {
        segments,
        entry: checked.entry,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An x86_64 file of type `kind` with the given segments (vaddr,
    /// memsz, filesz, flags) and entry point.
    fn elf(segments: &[(u64, u64, u64, u32)], entry: u64, kind: u16) -> Vec<u8> {
        elfcheck::testing::elf(kind, 62, entry, segments)
    }

    const RX: u32 = 5;
    const R: u32 = 4;
    const RW: u32 = 6;
    const RWX: u32 = 7;

    #[test]
    fn accepts_a_program_and_describes_its_segments() {
        let image = elf(
            &[(0x40_0000, 0x100, 0x100, RX), (0x40_1000, 0x2000, 0x10, RW)],
            0x40_0010,
            2,
        );
        let program = check(&image).unwrap();
        assert_eq!(program.entry, 0x40_0010);
        let segments: Vec<_> = program.segments().copied().collect();
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[0].prot, Protection::READ | Protection::EXEC);
        assert_eq!(segments[1].pages(), (0x40_1000, 0x40_3000));
        let (bytes, at) = segments[1].file_bytes_in_page(&image, 0x40_1000);
        assert_eq!((bytes.len(), at), (0x10, 0));
        let (bytes, _) = segments[1].file_bytes_in_page(&image, 0x40_2000);
        assert!(bytes.is_empty(), ".bss has no file bytes");
    }

    #[test]
    fn refuses_what_must_be_refused() {
        let ok = [(0x40_0000, 0x100, 0x100, RX)];
        assert!(matches!(check(b"not an elf"), Err(ElfError::NotElf(_))));
        assert_eq!(
            check(&elf(&ok, 0x40_0000, 3)),
            Err(ElfError::PositionIndependent),
            "ET_DYN"
        );
        assert_eq!(
            check(&elf(&[(0x40_0000, 0x100, 0x100, RWX)], 0x40_0000, 2)),
            Err(ElfError::WriteAndExecute { vaddr: 0x40_0000 })
        );
        assert_eq!(
            check(&elf(&[(0x0, 0x100, 0x100, RX)], 0x10, 2)),
            Err(ElfError::SegmentOutsideRange {
                vaddr: 0,
                lowest: PAGE_SIZE,
                end: USER_END
            }),
            "page 0"
        );
        assert_eq!(
            check(&elf(
                &[(0xffff_8000_0000_0000, 0x100, 0x100, RX)],
                0xffff_8000_0000_0000,
                2
            )),
            Err(ElfError::SegmentOutsideRange {
                vaddr: 0xffff_8000_0000_0000,
                lowest: PAGE_SIZE,
                end: USER_END
            }),
            "kernel half"
        );
        assert_eq!(
            check(&elf(&[(0x40_0000, 0x100, 0x200, RX)], 0x40_0000, 2)),
            Err(ElfError::SegmentOutsideFile { vaddr: 0x40_0000 }),
            "file size over memory size"
        );
        assert_eq!(
            check(&elf(
                &[(0x40_0000, 0x1800, 0x100, RX), (0x40_1000, 0x100, 0x10, R)],
                0x40_0000,
                2
            )),
            Err(ElfError::OverlappingSegments {
                first: 0x40_0000,
                second: 0x40_1000
            })
        );
        assert_eq!(
            check(&elf(&[(0x40_0000, 0x100, 0x100, R)], 0x40_0000, 2)),
            Err(ElfError::EntryNotExecutable { entry: 0x40_0000 })
        );
        let mut truncated = elf(&ok, 0x40_0000, 2);
        truncated.truncate(truncated.len() - 1);
        assert_eq!(
            check(&truncated),
            Err(ElfError::SegmentOutsideFile { vaddr: 0x40_0000 })
        );
        let many: Vec<_> = (0..9)
            .map(|i| (0x40_0000 + i * 0x1000, 0x10, 0x10, RX))
            .collect();
        assert_eq!(
            check(&elf(&many, 0x40_0000, 2)),
            Err(ElfError::TooManySegments { max: MAX_SEGMENTS })
        );
    }
}
