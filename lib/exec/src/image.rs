//! Planning a new address space from an ELF executable (LKD ch. 15's
//! `vm_area_struct`s as `load_elf_binary` makes them). The file is checked
//! in two steps: first the raw header and program-header table, here
//! (the table's entry size, alignment and bounds by
//! `libsys::elf::program_header_table`), before the program headers are
//! read by hand; then `libsys::elf::check`, the same checks the kernel
//! and `spawn` make (class, machine, type, W^X, segments in the file and in user
//! space, no shared pages, entry in an executable segment).
//!
//! Each `PT_LOAD` segment becomes a [`SegmentMap`]: the file pages from
//! `file_offset` mapped at `start` up to `file_end`, then demand-zero
//! pages up to `end`. Text (not writable, and no bss starting inside a
//! file page) is [`Backing::Shared`] with the page cache; everything else is
//! [`Backing::Private`]: copy-on-write, with the bytes from `zero_from`
//! to `file_end` cleared in the private copy (Linux's `padzero`).

use alloc::vec::Vec;

use libsys::abi::Protection;
use libsys::elf::{self, ElfError};

use crate::error::ExecError;

/// The page size of the mappings planned.
pub const PAGE_SIZE: u64 = 4096;
/// The size of one ELF64 program header.
pub const PHENT_SIZE: u16 = 56;
/// The most program headers: the table must fit in a page (as Linux).
pub const MAX_PHDRS: usize = PAGE_SIZE as usize / PHENT_SIZE as usize;

const ELF_HEADER_SIZE: usize = 64;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const ET_EXEC: u16 = 2;

/// Where a program may be placed and how big it may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The lowest address a segment may use (page 0 stays unmapped).
    pub lowest: u64,
    /// One past the highest address a segment may use.
    pub highest: u64,
    /// The most bytes of memory (page-rounded) all segments may take.
    pub max_image_bytes: u64,
}

impl Default for Limits {
    /// Above page 0, below the kernel half, at most 1 GiB.
    fn default() -> Self {
        Limits {
            lowest: PAGE_SIZE,
            highest: elf::USER_END,
            max_image_bytes: 1 << 30,
        }
    }
}

/// How a segment's file pages are mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// The page-cache pages themselves, read-only (program text).
    Shared,
    /// A private copy-on-write view of the file (data).
    Private,
}

/// One planned mapping: `[start, file_end)` from the file at
/// `file_offset`, `[file_end, end)` demand-zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentMap {
    /// The first page (page-aligned `p_vaddr`).
    pub start: u64,
    /// The end of the file-backed pages (page-aligned up).
    pub file_end: u64,
    /// The end of the segment's pages (page-aligned up).
    pub end: u64,
    /// The file offset of the page at `start` (page-aligned).
    pub file_offset: u64,
    /// Where the segment's bss begins inside its last file page
    /// (`p_vaddr + p_filesz`): bytes from here to `file_end` must read as
    /// zero. Equal to `file_end` when there is nothing to clear.
    pub zero_from: u64,
    pub prot: Protection,
    pub backing: Backing,
}

/// The planned address space of a new program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImagePlan {
    pub entry: u64,
    /// The `PT_LOAD` segments, in file order.
    pub segments: Vec<SegmentMap>,
    /// `AT_PHDR`: where the program headers are mapped (0 if in no
    /// segment, as Linux).
    pub phdr: u64,
    /// `AT_PHNUM`.
    pub phnum: u16,
    /// The start of the heap (`brk`): the page after the highest segment.
    pub brk: u64,
}

/// One raw program header, read with every field bounded by the file.
#[derive(Clone, Copy)]
struct RawPhdr {
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(word)
}

const fn page_down(addr: u64) -> u64 {
    addr & !(PAGE_SIZE - 1)
}

/// Checks the ELF header and returns `(e_phoff, e_phnum)` with the table
/// known to lie inside the file.
fn check_header(image: &[u8]) -> Result<(usize, usize), ExecError> {
    if image.len() < 4 || &image[..4] != b"\x7fELF" {
        return Err(ExecError::UnknownFormat);
    }
    if image.len() < ELF_HEADER_SIZE {
        return Err(ExecError::Truncated);
    }
    if image[4] != 2 {
        return Err(ExecError::Not64Bit);
    }
    if image[5] != 1 || image[6] != 1 || u32_at(image, 20) != 1 {
        return Err(ExecError::BadEncoding);
    }
    if u16_at(image, 18) != 62 {
        return Err(ExecError::NotX86_64);
    }
    if u16_at(image, 16) != ET_EXEC {
        return Err(ExecError::NotStaticExecutable);
    }
    let phnum = u16_at(image, 56) as usize;
    if phnum == 0 {
        return Err(ExecError::NoSegments);
    }
    if phnum > MAX_PHDRS {
        return Err(ExecError::TooManyProgramHeaders);
    }
    let (phoff, _) = elf::program_header_table(image).map_err(from_libsys)?;
    Ok((phoff as usize, phnum))
}

fn read_phdrs(image: &[u8], phoff: usize, phnum: usize) -> Vec<RawPhdr> {
    (0..phnum)
        .map(|i| {
            let at = phoff + i * PHENT_SIZE as usize;
            RawPhdr {
                kind: u32_at(image, at),
                offset: u64_at(image, at + 8),
                vaddr: u64_at(image, at + 16),
                filesz: u64_at(image, at + 32),
                memsz: u64_at(image, at + 40),
            }
        })
        .collect()
}

/// The checks `libsys::elf::check` does not make, per loadable segment.
fn check_segment(ph: &RawPhdr, file_len: u64, limits: &Limits) -> Result<u64, ExecError> {
    let vaddr = ph.vaddr;
    if ph.filesz > ph.memsz {
        return Err(ExecError::FileSizeOverMemorySize { vaddr });
    }
    if ph
        .offset
        .checked_add(ph.filesz)
        .is_none_or(|end| end > file_len)
    {
        return Err(ExecError::OffsetPastEnd { vaddr });
    }
    let end = vaddr
        .checked_add(ph.memsz)
        .and_then(|e| e.checked_add(PAGE_SIZE - 1));
    let Some(end) = end
        .map(page_down)
        .filter(|&e| vaddr >= limits.lowest && e <= limits.highest)
    else {
        return Err(ExecError::OutsideUserSpace { vaddr });
    };
    if vaddr % PAGE_SIZE != ph.offset % PAGE_SIZE {
        return Err(ExecError::Misaligned { vaddr });
    }
    Ok(end - page_down(vaddr))
}

fn from_libsys(error: ElfError) -> ExecError {
    match error {
        ElfError::NotElf(_) => ExecError::Truncated,
        ElfError::Not64Bit => ExecError::Not64Bit,
        ElfError::NotX86_64 => ExecError::NotX86_64,
        ElfError::NotExecutable | ElfError::PositionIndependent => ExecError::NotStaticExecutable,
        ElfError::NoSegments => ExecError::NoSegments,
        ElfError::TooManySegments { .. } => ExecError::TooManySegments,
        ElfError::SegmentOutsideRange { vaddr, .. } => ExecError::OutsideUserSpace { vaddr },
        ElfError::SegmentOutsideFile { vaddr } => ExecError::OffsetPastEnd { vaddr },
        ElfError::WriteAndExecute { vaddr } => ExecError::WriteAndExecute { vaddr },
        ElfError::OverlappingSegments { second, .. } => ExecError::Overlapping { vaddr: second },
        ElfError::EntryNotExecutable { entry } => ExecError::EntryNotExecutable { entry },
        ElfError::BadProgramHeaderSize { .. } => ExecError::BadProgramHeaderSize,
        ElfError::MisalignedProgramHeaders { .. } => ExecError::MisalignedProgramHeaders,
        ElfError::ProgramHeadersOutsideFile { .. } => ExecError::Truncated,
    }
}

/// Plans the address space of the ELF executable `image` within
/// `limits`. Errors: see [`ExecError`] (each names the first offending
/// segment).
pub fn plan(image: &[u8], limits: &Limits) -> Result<ImagePlan, ExecError> {
    let (phoff, phnum) = check_header(image)?;
    let phdrs = read_phdrs(image, phoff, phnum);
    if phdrs.iter().any(|ph| ph.kind == PT_INTERP) {
        return Err(ExecError::NeedsInterpreter);
    }
    let mut total: u64 = 0;
    for ph in phdrs.iter().filter(|ph| ph.kind == PT_LOAD && ph.memsz > 0) {
        let size = check_segment(ph, image.len() as u64, limits)?;
        total = total.saturating_add(size);
        if total > limits.max_image_bytes {
            return Err(ExecError::TooLarge { vaddr: ph.vaddr });
        }
    }
    let program = elf::check(image).map_err(from_libsys)?;
    let segments: Vec<SegmentMap> = program.segments().map(segment_map).collect();
    let phdr = phdrs
        .iter()
        .filter(|ph| ph.kind == PT_LOAD && ph.memsz > 0)
        .find(|ph| {
            ph.offset <= phoff as u64 && (phoff as u64) < ph.offset.saturating_add(ph.filesz)
        })
        .map_or(0, |ph| phoff as u64 - ph.offset + ph.vaddr);
    let brk = segments.iter().map(|s| s.end).max().unwrap_or(0);
    Ok(ImagePlan {
        entry: program.entry,
        segments,
        phdr,
        phnum: phnum as u16,
        brk,
    })
}

impl ImagePlan {
    /// The auxiliary-vector facts of this image for a user with these
    /// ids (`AT_SECURE` when real and effective ids differ).
    pub fn aux(&self, uid: u32, euid: u32, gid: u32, egid: u32) -> crate::stack::AuxInfo {
        crate::stack::AuxInfo {
            phdr: self.phdr,
            phnum: self.phnum,
            entry: self.entry,
            uid,
            euid,
            gid,
            egid,
            secure: uid != euid || gid != egid,
        }
    }
}

fn segment_map(s: &elf::Segment) -> SegmentMap {
    let (start, end) = s.pages();
    let file_data_end = s.vaddr + s.file_size;
    let file_end = if s.file_size == 0 {
        start
    } else {
        file_data_end.div_ceil(PAGE_SIZE) * PAGE_SIZE
    };
    // Only a segment with bss must see zeros after its file bytes; a
    // segment that ends in the file shows the rest of its last page as
    // the file has it (as Linux).
    let has_bss = s.mem_size > s.file_size;
    let zero_from = if has_bss { file_data_end } else { file_end };
    let zero_tail = zero_from < file_end;
    let backing = if s.prot.contains(Protection::WRITE) || zero_tail {
        Backing::Private
    } else {
        Backing::Shared
    };
    SegmentMap {
        start,
        file_end,
        end,
        file_offset: page_down(s.offset),
        zero_from,
        prot: s.prot,
        backing,
    }
}
