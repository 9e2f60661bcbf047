//! Checking a user program: an ELF64 executable, before any of it is
//! loaded. Used by the kernel (for the processes it starts) and by
//! `libsys::spawn` (for the processes a program builds), so both refuse
//! the same files for the same reasons.
//!
//! A program is accepted only if it is 64-bit, x86_64, `ET_EXEC` (static:
//! no one relocates it), has at most [`MAX_SEGMENTS`] `PT_LOAD` segments,
//! each inside the file and inside user space (above page 0, below
//! [`USER_END`]), none writable and executable (W^X), no two sharing a
//! page, and an entry point inside an executable segment.

use core::fmt;

use xmas_elf::header::{Class, Machine, Type};
use xmas_elf::program::Type as SegmentType;
use xmas_elf::ElfFile;

use crate::abi::Protection;

/// One past the highest user address (the lower canonical half).
pub const USER_END: u64 = 0x0000_8000_0000_0000;
/// The most loadable segments a program may have.
pub const MAX_SEGMENTS: usize = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElfError {
    NotElf(&'static str),
    Not64Bit,
    NotX86_64,
    NotExecutable,
    NoSegments,
    TooManySegments,
    /// A segment reaches outside the file or outside user space.
    SegmentOutOfBounds {
        vaddr: u64,
    },
    WriteAndExecute {
        vaddr: u64,
    },
    OverlappingSegments {
        vaddr: u64,
    },
    EntryNotExecutable {
        entry: u64,
    },
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::NotElf(why) => write!(f, "not an ELF file ({why})"),
            ElfError::Not64Bit => write!(f, "not a 64-bit ELF file"),
            ElfError::NotX86_64 => write!(f, "not an x86_64 program"),
            ElfError::NotExecutable => write!(f, "not a static executable (ET_EXEC)"),
            ElfError::NoSegments => write!(f, "no loadable segment"),
            ElfError::TooManySegments => write!(f, "more than {MAX_SEGMENTS} loadable segments"),
            ElfError::SegmentOutOfBounds { vaddr } => {
                write!(
                    f,
                    "segment at {vaddr:#x} lies outside the file or user space"
                )
            }
            ElfError::WriteAndExecute { vaddr } => {
                write!(f, "segment at {vaddr:#x} is writable and executable")
            }
            ElfError::OverlappingSegments { vaddr } => {
                write!(f, "segment at {vaddr:#x} shares a page with another")
            }
            ElfError::EntryNotExecutable { entry } => {
                write!(f, "entry point {entry:#x} is not in an executable segment")
            }
        }
    }
}

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
        let end = (self.vaddr + self.mem_size).div_ceil(4096) * 4096;
        (first, end)
    }

    /// The file bytes of the segment that land in the page at `page`, and
    /// their offset within that page.
    pub fn file_bytes_in_page<'a>(&self, image: &'a [u8], page: u64) -> (&'a [u8], usize) {
        let start = page.max(self.vaddr);
        let stop = (page + 4096).min(self.vaddr + self.file_size);
        if start >= stop {
            return (&[], 0);
        }
        let from = (self.offset + (start - self.vaddr)) as usize;
        let to = (self.offset + (stop - self.vaddr)) as usize;
        (&image[from..to], (start - page) as usize)
    }
}

/// A checked program: its segments and entry point.
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
    let elf = ElfFile::new(image).map_err(ElfError::NotElf)?;
    let header = &elf.header;
    if header.pt1.class() != Class::SixtyFour {
        return Err(ElfError::Not64Bit);
    }
    if header.pt2.machine().as_machine() != Machine::X86_64 {
        return Err(ElfError::NotX86_64);
    }
    if header.pt2.type_().as_type() != Type::Executable {
        return Err(ElfError::NotExecutable);
    }
    let mut segments = [None; MAX_SEGMENTS];
    let mut count = 0;
    for ph in elf.program_iter() {
        if ph.get_type() != Ok(SegmentType::Load) || ph.mem_size() == 0 {
            continue;
        }
        let vaddr = ph.virtual_addr();
        let in_file = ph
            .offset()
            .checked_add(ph.file_size())
            .is_some_and(|end| end <= image.len() as u64);
        let in_user = vaddr >= 4096
            && vaddr
                .checked_add(ph.mem_size())
                .is_some_and(|end| end <= USER_END);
        if !in_file || !in_user || ph.file_size() > ph.mem_size() {
            return Err(ElfError::SegmentOutOfBounds { vaddr });
        }
        let mut prot = Protection::READ;
        if ph.flags().is_write() {
            prot |= Protection::WRITE;
        }
        if ph.flags().is_execute() {
            prot |= Protection::EXEC;
        }
        if prot.contains(Protection::WRITE | Protection::EXEC) {
            return Err(ElfError::WriteAndExecute { vaddr });
        }
        let segment = Segment {
            vaddr,
            mem_size: ph.mem_size(),
            offset: ph.offset(),
            file_size: ph.file_size(),
            prot,
        };
        let (first, end) = segment.pages();
        if segments.iter().flatten().any(|s: &Segment| {
            let (f, e) = s.pages();
            first < e && f < end
        }) {
            return Err(ElfError::OverlappingSegments { vaddr });
        }
        if count == MAX_SEGMENTS {
            return Err(ElfError::TooManySegments);
        }
        segments[count] = Some(segment);
        count += 1;
    }
    if count == 0 {
        return Err(ElfError::NoSegments);
    }
    let entry = header.pt2.entry_point();
    let executable = segments.iter().flatten().any(|s| {
        s.prot.contains(Protection::EXEC) && (s.vaddr..s.vaddr + s.mem_size).contains(&entry)
    });
    if !executable {
        return Err(ElfError::EntryNotExecutable { entry });
    }
    Ok(Program { segments, entry })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 executable with the given segments (vaddr, memsz,
    /// filesz, flags) and entry point; file bytes follow the headers.
    fn elf(segments: &[(u64, u64, u64, u32)], entry: u64, kind: u16) -> Vec<u8> {
        let phoff = 64u64;
        let data_at = phoff + 56 * segments.len() as u64;
        let mut out = vec![0u8; 64];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2; // 64-bit
        out[5] = 1; // little-endian
        out[6] = 1; // version
        out[16..18].copy_from_slice(&kind.to_le_bytes());
        out[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86_64
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        out[24..32].copy_from_slice(&entry.to_le_bytes());
        out[32..40].copy_from_slice(&phoff.to_le_bytes());
        out[52..54].copy_from_slice(&64u16.to_le_bytes());
        out[54..56].copy_from_slice(&56u16.to_le_bytes());
        out[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
        let mut file_at = data_at;
        for &(vaddr, memsz, filesz, flags) in segments {
            let mut ph = vec![0u8; 56];
            ph[0..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
            ph[4..8].copy_from_slice(&flags.to_le_bytes());
            ph[8..16].copy_from_slice(&file_at.to_le_bytes());
            ph[16..24].copy_from_slice(&vaddr.to_le_bytes());
            ph[32..40].copy_from_slice(&filesz.to_le_bytes());
            ph[40..48].copy_from_slice(&memsz.to_le_bytes());
            out.extend(ph);
            file_at += filesz;
        }
        let total = file_at as usize;
        out.resize(total, 0xcc);
        out
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
            Err(ElfError::NotExecutable),
            "ET_DYN"
        );
        assert_eq!(
            check(&elf(&[(0x40_0000, 0x100, 0x100, RWX)], 0x40_0000, 2)),
            Err(ElfError::WriteAndExecute { vaddr: 0x40_0000 })
        );
        assert_eq!(
            check(&elf(&[(0x0, 0x100, 0x100, RX)], 0x10, 2)),
            Err(ElfError::SegmentOutOfBounds { vaddr: 0 }),
            "page 0"
        );
        assert_eq!(
            check(&elf(
                &[(0xffff_8000_0000_0000, 0x100, 0x100, RX)],
                0xffff_8000_0000_0000,
                2
            )),
            Err(ElfError::SegmentOutOfBounds {
                vaddr: 0xffff_8000_0000_0000
            }),
            "kernel half"
        );
        assert_eq!(
            check(&elf(&[(0x40_0000, 0x100, 0x200, RX)], 0x40_0000, 2)),
            Err(ElfError::SegmentOutOfBounds { vaddr: 0x40_0000 }),
            "file size over memory size"
        );
        assert_eq!(
            check(&elf(
                &[(0x40_0000, 0x1800, 0x100, RX), (0x40_1000, 0x100, 0x10, R)],
                0x40_0000,
                2
            )),
            Err(ElfError::OverlappingSegments { vaddr: 0x40_1000 })
        );
        assert_eq!(
            check(&elf(&[(0x40_0000, 0x100, 0x100, R)], 0x40_0000, 2)),
            Err(ElfError::EntryNotExecutable { entry: 0x40_0000 })
        );
        let mut truncated = elf(&ok, 0x40_0000, 2);
        truncated.truncate(truncated.len() - 1);
        assert_eq!(
            check(&truncated),
            Err(ElfError::SegmentOutOfBounds { vaddr: 0x40_0000 })
        );
        let many: Vec<_> = (0..9)
            .map(|i| (0x40_0000 + i * 0x1000, 0x10, 0x10, RX))
            .collect();
        assert_eq!(
            check(&elf(&many, 0x40_0000, 2)),
            Err(ElfError::TooManySegments)
        );
    }
}
