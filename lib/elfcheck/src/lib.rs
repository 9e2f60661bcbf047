//! Checking an ELF64 executable before any of it is loaded: the one
//! implementation behind the loader's check of the kernel
//! (`boot_core::elf`) and the check of a user program shared by the
//! kernel and `libsys::spawn` (`libsys::elf`). They differ only in their
//! [`Rules`]: where segments may lie, how many there may be, whether a
//! segment may be writable and executable, and whether two segments may
//! share a page.
//!
//! A file passes only if it is a 64-bit little-endian x86_64 `ET_EXEC`
//! (static: no one relocates it; `ET_DYN` gets its own error) with at
//! least one `PT_LOAD` segment of non-zero size, each within the rules'
//! address range and within the file (file size at most memory size),
//! none overlapping another, and an entry point inside an executable
//! segment. Segments of memory size zero are ignored.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt;

use xmas_elf::header::{Class, Machine, Type};
use xmas_elf::program::{ProgramHeader, Type as SegmentType};
use xmas_elf::ElfFile;

/// What a loader accepts beyond the checks every file must pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// The lowest address a segment may start at.
    pub lowest: u64,
    /// One past the highest address a segment may reach.
    pub end: u64,
    /// The most `PT_LOAD` segments a file may have (`None`: any number).
    pub max_segments: Option<usize>,
    /// Refuse a segment that is both writable and executable (W^X).
    pub write_xor_execute: bool,
    /// Segments may not overlap at this granularity: 1 (bytes), or a page
    /// size (no two segments may share a page, because each page gets one
    /// segment's protection).
    pub overlap_granularity: u64,
}

/// One checked `PT_LOAD` segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub mem_size: u64,
    pub file_offset: u64,
    pub file_size: u64,
    pub writable: bool,
    pub executable: bool,
}

impl Segment {
    /// `[start, end)` rounded out to multiples of `granularity` (a power
    /// of two).
    fn span(&self, granularity: u64) -> (u64, u64) {
        let first = self.vaddr & !(granularity - 1);
        let end = (self.vaddr + self.mem_size).div_ceil(granularity) * granularity;
        (first, end)
    }
}

/// A file that passed: its entry point and its segments, in address order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub entry: u64,
    pub segments: Vec<Segment>,
}

/// Why a file was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElfError {
    NotElf(&'static str),
    Not64Bit,
    NotX86_64,
    /// `ET_DYN`: no loader here relocates a program.
    PositionIndependent,
    /// Neither `ET_EXEC` nor `ET_DYN`.
    NotExecutable,
    NoSegments,
    TooManySegments {
        max: usize,
    },
    /// A segment starts below `lowest` or reaches past `end` (or wraps).
    SegmentOutsideRange {
        vaddr: u64,
        lowest: u64,
        end: u64,
    },
    /// A segment's file bytes lie beyond the end of the file, or its file
    /// size exceeds its memory size.
    SegmentOutsideFile {
        vaddr: u64,
    },
    WriteAndExecute {
        vaddr: u64,
    },
    /// Two segments overlap (or share a page, when the rules say so);
    /// `first` is the lower.
    OverlappingSegments {
        first: u64,
        second: u64,
    },
    EntryNotExecutable {
        entry: u64,
    },
    /// `e_phentsize` is not the 56 bytes of an ELF64 program header.
    BadProgramHeaderSize {
        size: u16,
    },
    /// `e_phoff` is not a multiple of 8.
    MisalignedProgramHeaders {
        offset: u64,
    },
    /// The program-header table reaches past the end of the file.
    ProgramHeadersOutsideFile {
        offset: u64,
        count: u16,
    },
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::NotElf(why) => write!(f, "not an ELF file ({why})"),
            ElfError::Not64Bit => write!(f, "not a 64-bit ELF file"),
            ElfError::NotX86_64 => write!(f, "not an x86_64 ELF file"),
            ElfError::PositionIndependent => write!(
                f,
                "position-independent (ET_DYN); link it at a fixed address"
            ),
            ElfError::NotExecutable => write!(f, "not a static executable (ET_EXEC)"),
            ElfError::NoSegments => write!(f, "no loadable segment"),
            ElfError::TooManySegments { max } => {
                write!(f, "more than {max} loadable segments")
            }
            ElfError::SegmentOutsideRange { vaddr, lowest, end } => write!(
                f,
                "segment at {vaddr:#x} lies outside {lowest:#x}..{end:#x}"
            ),
            ElfError::SegmentOutsideFile { vaddr } => {
                write!(f, "segment at {vaddr:#x} has file bytes outside the file")
            }
            ElfError::WriteAndExecute { vaddr } => {
                write!(f, "segment at {vaddr:#x} is writable and executable")
            }
            ElfError::OverlappingSegments { first, second } => {
                write!(f, "segments at {first:#x} and {second:#x} overlap")
            }
            ElfError::EntryNotExecutable { entry } => {
                write!(f, "entry point {entry:#x} is not in an executable segment")
            }
            ElfError::BadProgramHeaderSize { size } => {
                write!(f, "program header size {size} is not {PHENT_SIZE}")
            }
            ElfError::MisalignedProgramHeaders { offset } => {
                write!(f, "program headers at {offset:#x} are not 8-byte aligned")
            }
            ElfError::ProgramHeadersOutsideFile { offset, count } => write!(
                f,
                "{count} program headers at {offset:#x} reach past the end of the file"
            ),
        }
    }
}

/// The size of the ELF64 file header.
const HEADER_SIZE: usize = 64;
/// The size of one ELF64 program header.
const PHENT_SIZE: u16 = 56;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(word)
}

/// The checks `xmas-elf` answers with a panic instead of an error, made
/// on the raw header before it parses anything: the file is long enough
/// for the header and is 64-bit, and the program-header table has
/// 56-byte entries, is 8-byte aligned and lies inside the file. Returns
/// the table's `(e_phoff, e_phnum)`, safe to read by hand.
pub fn program_header_table(image: &[u8]) -> Result<(u64, u16), ElfError> {
    if image.len() < HEADER_SIZE {
        return Err(ElfError::NotElf("shorter than the ELF header"));
    }
    if &image[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf("no ELF magic"));
    }
    if image[4] != 2 {
        return Err(ElfError::Not64Bit);
    }
    let (offset, size, count) = (u64_at(image, 32), u16_at(image, 54), u16_at(image, 56));
    if size != PHENT_SIZE {
        return Err(ElfError::BadProgramHeaderSize { size });
    }
    if !offset.is_multiple_of(8) {
        return Err(ElfError::MisalignedProgramHeaders { offset });
    }
    let table_end = offset.checked_add(u64::from(count) * u64::from(PHENT_SIZE));
    if table_end.is_none_or(|end| end > image.len() as u64) {
        return Err(ElfError::ProgramHeadersOutsideFile { offset, count });
    }
    Ok((offset, count))
}

/// Checks `image` under `rules` (see the crate documentation); the first
/// check that fails is the error. `image` may lie at any address: a
/// misaligned one is checked from an 8-byte-aligned copy (`xmas-elf`
/// asserts the alignment of the structures it reads).
pub fn check(image: &[u8], rules: &Rules) -> Result<Checked, ElfError> {
    program_header_table(image)?;
    if (image.as_ptr() as usize).is_multiple_of(8) {
        return check_parsed(image, rules);
    }
    let mut buffer = alloc::vec![0u8; image.len() + 7];
    let shift = (8 - buffer.as_ptr() as usize % 8) % 8;
    let copy = &mut buffer[shift..shift + image.len()];
    copy.copy_from_slice(image);
    check_parsed(copy, rules)
}

/// [`check`] on an 8-byte-aligned `image` whose raw header passed.
fn check_parsed(image: &[u8], rules: &Rules) -> Result<Checked, ElfError> {
    let elf = ElfFile::new(image).map_err(ElfError::NotElf)?;
    let header = &elf.header;
    if header.pt1.class() != Class::SixtyFour {
        return Err(ElfError::Not64Bit);
    }
    if header.pt2.machine().as_machine() != Machine::X86_64 {
        return Err(ElfError::NotX86_64);
    }
    match header.pt2.type_().as_type() {
        Type::Executable => {}
        Type::SharedObject => return Err(ElfError::PositionIndependent),
        _ => return Err(ElfError::NotExecutable),
    }
    let mut segments = load_segments(&elf, image.len() as u64, rules)?;
    if segments.is_empty() {
        return Err(ElfError::NoSegments);
    }
    segments.sort_unstable_by_key(|s| s.vaddr);
    for pair in segments.windows(2) {
        let (_, end) = pair[0].span(rules.overlap_granularity);
        let (start, _) = pair[1].span(rules.overlap_granularity);
        if start < end {
            return Err(ElfError::OverlappingSegments {
                first: pair[0].vaddr,
                second: pair[1].vaddr,
            });
        }
    }
    let entry = header.pt2.entry_point();
    let executable = segments
        .iter()
        .any(|s| s.executable && (s.vaddr..s.vaddr + s.mem_size).contains(&entry));
    if !executable {
        return Err(ElfError::EntryNotExecutable { entry });
    }
    Ok(Checked { entry, segments })
}

/// The `PT_LOAD` segments of non-zero size, each checked on its own,
/// in file order.
fn load_segments(
    elf: &ElfFile<'_>,
    file_len: u64,
    rules: &Rules,
) -> Result<Vec<Segment>, ElfError> {
    let mut segments = Vec::new();
    for ph in elf.program_iter() {
        let ProgramHeader::Ph64(raw) = ph else {
            return Err(ElfError::Not64Bit);
        };
        if ph.get_type() != Ok(SegmentType::Load) || raw.mem_size == 0 {
            continue;
        }
        let segment = Segment {
            vaddr: raw.virtual_addr,
            mem_size: raw.mem_size,
            file_offset: raw.offset,
            file_size: raw.file_size,
            writable: raw.flags.is_write(),
            executable: raw.flags.is_execute(),
        };
        check_segment(&segment, file_len, rules)?;
        if rules.max_segments == Some(segments.len()) {
            return Err(ElfError::TooManySegments {
                max: segments.len(),
            });
        }
        segments.push(segment);
    }
    Ok(segments)
}

/// The checks of one segment on its own: its addresses, its file bytes,
/// W^X.
fn check_segment(s: &Segment, file_len: u64, rules: &Rules) -> Result<(), ElfError> {
    let in_range = s.vaddr >= rules.lowest
        && s.vaddr
            .checked_add(s.mem_size)
            .is_some_and(|end| end <= rules.end);
    if !in_range {
        return Err(ElfError::SegmentOutsideRange {
            vaddr: s.vaddr,
            lowest: rules.lowest,
            end: rules.end,
        });
    }
    let in_file = s
        .file_offset
        .checked_add(s.file_size)
        .is_some_and(|end| end <= file_len);
    if !in_file || s.file_size > s.mem_size {
        return Err(ElfError::SegmentOutsideFile { vaddr: s.vaddr });
    }
    if rules.write_xor_execute && s.writable && s.executable {
        return Err(ElfError::WriteAndExecute { vaddr: s.vaddr });
    }
    Ok(())
}

/// Minimal ELF64 files for tests (feature `testing`; this crate's own
/// tests, `libsys::elf`'s and `boot_core::elf`'s).
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use alloc::vec::Vec;

    /// One `PT_LOAD` segment: (virtual address, memory size, file size,
    /// flags: 1 = X, 2 = W, 4 = R).
    pub type Seg = (u64, u64, u64, u32);

    /// An ELF64 little-endian file of type `kind` (2 = `ET_EXEC`, 3 =
    /// `ET_DYN`) for `machine` (62 = x86_64) with entry point `entry`:
    /// the header, one program header per segment, then each segment's
    /// file bytes (a marker byte per segment: 0xa0, 0xa1, …).
    pub fn elf(kind: u16, machine: u16, entry: u64, segments: &[Seg]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend([0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend(kind.to_le_bytes());
        out.extend(machine.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        out.extend(entry.to_le_bytes());
        out.extend(64u64.to_le_bytes()); // program headers right after
        out.extend(0u64.to_le_bytes()); // no section headers
        out.extend(0u32.to_le_bytes());
        out.extend(64u16.to_le_bytes());
        out.extend(56u16.to_le_bytes());
        out.extend((segments.len() as u16).to_le_bytes());
        out.extend(64u16.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        let mut file_at = 64 + 56 * segments.len() as u64;
        for &(vaddr, mem, file, flags) in segments {
            out.extend(1u32.to_le_bytes());
            out.extend(flags.to_le_bytes());
            out.extend(file_at.to_le_bytes());
            out.extend(vaddr.to_le_bytes());
            out.extend(vaddr.to_le_bytes());
            out.extend(file.to_le_bytes());
            out.extend(mem.to_le_bytes());
            out.extend(0x1000u64.to_le_bytes());
            file_at += file;
        }
        for (i, &(_, _, file, _)) in segments.iter().enumerate() {
            out.extend(core::iter::repeat_n(0xa0 + i as u8, file as usize));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An x86_64 file of type `kind`.
    fn elf(kind: u16, entry: u64, segments: &[testing::Seg]) -> Vec<u8> {
        testing::elf(kind, 62, entry, segments)
    }

    const LOOSE: Rules = Rules {
        lowest: 0x1000,
        end: 0x1_0000_0000,
        max_segments: None,
        write_xor_execute: false,
        overlap_granularity: 1,
    };

    #[test]
    fn the_rules_decide_what_differs() {
        let rwx = elf(2, 0x2000, &[(0x2000, 0x10, 0x10, 7)]);
        assert!(check(&rwx, &LOOSE).is_ok());
        let strict = Rules {
            write_xor_execute: true,
            ..LOOSE
        };
        assert_eq!(
            check(&rwx, &strict),
            Err(ElfError::WriteAndExecute { vaddr: 0x2000 })
        );
        // Two segments in one page: fine byte-wise, refused page-wise.
        let shared = elf(
            2,
            0x2000,
            &[(0x2000, 0x10, 0x10, 5), (0x2800, 0x10, 0x10, 6)],
        );
        assert!(check(&shared, &LOOSE).is_ok());
        let paged = Rules {
            overlap_granularity: 0x1000,
            ..LOOSE
        };
        assert_eq!(
            check(&shared, &paged),
            Err(ElfError::OverlappingSegments {
                first: 0x2000,
                second: 0x2800
            })
        );
        let one = Rules {
            max_segments: Some(1),
            ..LOOSE
        };
        assert_eq!(
            check(&shared, &one),
            Err(ElfError::TooManySegments { max: 1 })
        );
    }

    #[test]
    fn segments_come_in_address_order_and_empty_ones_are_ignored() {
        let file = elf(
            2,
            0x5000,
            &[
                (0x8000, 0x10, 0, 6),
                (0x9000, 0, 0, 4),
                (0x5000, 0x10, 0x10, 5),
            ],
        );
        let checked = check(&file, &LOOSE).unwrap();
        let at: Vec<u64> = checked.segments.iter().map(|s| s.vaddr).collect();
        assert_eq!(at, [0x5000, 0x8000]);
    }

    #[test]
    fn a_segment_wrapping_past_the_top_is_outside_the_range() {
        let top = Rules {
            end: u64::MAX,
            ..LOOSE
        };
        let file = elf(2, 0x2000, &[(u64::MAX - 0xf, 0x20, 0, 5)]);
        assert!(matches!(
            check(&file, &top),
            Err(ElfError::SegmentOutsideRange { .. })
        ));
    }

    /// A valid one-segment file, the base of the header tests.
    fn valid() -> Vec<u8> {
        elf(2, 0x2000, &[(0x2000, 0x10, 0x10, 5)])
    }

    #[test]
    fn a_program_header_table_past_the_end_is_an_error() {
        let mut file = valid();
        file[56..58].copy_from_slice(&3u16.to_le_bytes());
        assert_eq!(
            check(&file, &LOOSE),
            Err(ElfError::ProgramHeadersOutsideFile {
                offset: 64,
                count: 3
            })
        );
        file[32..40].copy_from_slice(&(u64::MAX - 7).to_le_bytes());
        assert!(matches!(
            check(&file, &LOOSE),
            Err(ElfError::ProgramHeadersOutsideFile { .. })
        ));
    }

    #[test]
    fn a_short_program_header_size_is_an_error() {
        let mut file = valid();
        file[54..56].copy_from_slice(&32u16.to_le_bytes());
        assert_eq!(
            check(&file, &LOOSE),
            Err(ElfError::BadProgramHeaderSize { size: 32 })
        );
    }

    #[test]
    fn a_misaligned_program_header_offset_is_an_error() {
        let mut file = valid();
        file[32..40].copy_from_slice(&68u64.to_le_bytes());
        assert_eq!(
            check(&file, &LOOSE),
            Err(ElfError::MisalignedProgramHeaders { offset: 68 })
        );
    }

    #[test]
    fn a_misaligned_image_is_checked_like_an_aligned_one() {
        let file = valid();
        let expected = check(&file, &LOOSE);
        assert!(expected.is_ok());
        let mut shifted = alloc::vec![0u8; file.len() + 8];
        for shift in 1..8 {
            let start = (8 - shifted.as_ptr() as usize % 8) % 8 + shift;
            shifted[start..start + file.len()].copy_from_slice(&file);
            assert_eq!(check(&shifted[start..start + file.len()], &LOOSE), expected);
        }
    }

    #[test]
    fn a_short_or_32_bit_file_is_an_error() {
        let file = valid();
        assert!(matches!(
            check(&file[..63], &LOOSE),
            Err(ElfError::NotElf(_))
        ));
        let mut thirty_two = file.clone();
        thirty_two[4] = 1;
        assert_eq!(check(&thirty_two, &LOOSE), Err(ElfError::Not64Bit));
    }

    /// A small xorshift generator: the mutations are the same each run.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn random_mutations_never_panic() {
        let base = elf(
            2,
            0x2000,
            &[(0x2000, 0x10, 0x10, 5), (0x4000, 0x2000, 0x8, 6)],
        );
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut storage = alloc::vec![0u8; base.len() + 8];
        for _ in 0..5000 {
            let mut file = base.clone();
            for _ in 0..1 + rng.next() % 8 {
                let at = (rng.next() % file.len() as u64) as usize;
                file[at] = rng.next() as u8;
            }
            if rng.next().is_multiple_of(4) {
                let cut = (rng.next() % 64) as usize;
                file.truncate(file.len() - cut);
            }
            let shift = (rng.next() % 8) as usize;
            storage[shift..shift + file.len()].copy_from_slice(&file);
            let _ = check(&storage[shift..shift + file.len()], &LOOSE);
        }
    }
}
