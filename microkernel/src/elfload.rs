//! Loading a user program: an ELF64 executable (a boot module) copied into
//! a new address space.
//!
//! Everything about the file is checked before a page is mapped: 64-bit,
//! x86_64, `ET_EXEC` (static, not position-independent: the kernel does no
//! relocation), every `PT_LOAD` segment inside the file and inside user
//! space, no segment both writable and executable (W^X), no two segments
//! sharing a page, and an entry point inside an executable segment. Then
//! each segment's pages get fresh zeroed frames with the segment's
//! permissions, and the file's bytes are copied in; the rest of a segment
//! (its `.bss`) stays zero.

use alloc::vec::Vec;
use core::fmt;

use libsys::abi::Protection;
use xmas_elf::header::{Class, Machine, Type};
use xmas_elf::program::Type as SegmentType;
use xmas_elf::ElfFile;

use crate::addrspace::{AddrSpace, AsError, USER_END};
use crate::kspace;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    NotElf(&'static str),
    Not64Bit,
    NotX86_64,
    NotExecutable,
    NoSegments,
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
    Map(AsError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotElf(why) => write!(f, "not an ELF file ({why})"),
            LoadError::Not64Bit => write!(f, "not a 64-bit ELF file"),
            LoadError::NotX86_64 => write!(f, "not an x86_64 program"),
            LoadError::NotExecutable => write!(f, "not a static executable (ET_EXEC)"),
            LoadError::NoSegments => write!(f, "no loadable segment"),
            LoadError::SegmentOutOfBounds { vaddr } => {
                write!(
                    f,
                    "segment at {vaddr:#x} lies outside the file or user space"
                )
            }
            LoadError::WriteAndExecute { vaddr } => {
                write!(f, "segment at {vaddr:#x} is writable and executable")
            }
            LoadError::OverlappingSegments { vaddr } => {
                write!(f, "segment at {vaddr:#x} shares a page with another")
            }
            LoadError::EntryNotExecutable { entry } => {
                write!(f, "entry point {entry:#x} is not in an executable segment")
            }
            LoadError::Map(e) => write!(f, "cannot map a segment: {e:?}"),
        }
    }
}

/// One checked `PT_LOAD` segment.
struct Segment {
    vaddr: u64,
    mem_size: u64,
    offset: u64,
    file_size: u64,
    prot: Protection,
}

impl Segment {
    fn pages(&self) -> (u64, u64) {
        let first = self.vaddr & !0xfff;
        let end = (self.vaddr + self.mem_size).div_ceil(4096) * 4096;
        (first, end)
    }
}

/// Checks `image` and returns its segments and entry point.
fn check(image: &[u8]) -> Result<(Vec<Segment>, u64), LoadError> {
    let elf = ElfFile::new(image).map_err(LoadError::NotElf)?;
    let header = &elf.header;
    if header.pt1.class() != Class::SixtyFour {
        return Err(LoadError::Not64Bit);
    }
    if header.pt2.machine().as_machine() != Machine::X86_64 {
        return Err(LoadError::NotX86_64);
    }
    if header.pt2.type_().as_type() != Type::Executable {
        return Err(LoadError::NotExecutable);
    }
    let mut segments: Vec<Segment> = Vec::new();
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
            return Err(LoadError::SegmentOutOfBounds { vaddr });
        }
        let mut prot = Protection::READ;
        if ph.flags().is_write() {
            prot |= Protection::WRITE;
        }
        if ph.flags().is_execute() {
            prot |= Protection::EXEC;
        }
        if prot.contains(Protection::WRITE | Protection::EXEC) {
            return Err(LoadError::WriteAndExecute { vaddr });
        }
        let segment = Segment {
            vaddr,
            mem_size: ph.mem_size(),
            offset: ph.offset(),
            file_size: ph.file_size(),
            prot,
        };
        let (first, end) = segment.pages();
        if segments.iter().any(|s| {
            let (f, e) = s.pages();
            first < e && f < end
        }) {
            return Err(LoadError::OverlappingSegments { vaddr });
        }
        segments.push(segment);
    }
    if segments.is_empty() {
        return Err(LoadError::NoSegments);
    }
    let entry = header.pt2.entry_point();
    let executable = segments.iter().any(|s| {
        s.prot.contains(Protection::EXEC) && (s.vaddr..s.vaddr + s.mem_size).contains(&entry)
    });
    if !executable {
        return Err(LoadError::EntryNotExecutable { entry });
    }
    Ok((segments, entry))
}

/// Loads `image` into `aspace`; returns the entry point. On an error the
/// address space may hold some of the pages (the caller drops it).
pub fn load(aspace: &mut AddrSpace, image: &[u8]) -> Result<u64, LoadError> {
    let (segments, entry) = check(image)?;
    for segment in &segments {
        let (first, end) = segment.pages();
        let file = &image[segment.offset as usize..(segment.offset + segment.file_size) as usize];
        for page in (first..end).step_by(4096) {
            let phys = aspace
                .map_zeroed(page, segment.prot)
                .map_err(LoadError::Map)?;
            // The part of the file that lands in this page.
            let start = page.max(segment.vaddr);
            let stop = (page + 4096).min(segment.vaddr + segment.file_size);
            if start < stop {
                let from = &file[(start - segment.vaddr) as usize..(stop - segment.vaddr) as usize];
                // SAFETY: the frame was just allocated for this page (RAM
                // the HHDM maps); the copy stays inside it.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        from.as_ptr(),
                        kspace::phys_to_virt::<u8>(phys + (start - page)),
                        from.len(),
                    )
                };
            }
        }
    }
    Ok(entry)
}
