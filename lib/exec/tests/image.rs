//! The exec image builder on a valid program (the exact mappings) and on
//! hostile ones: a table of mutations of the valid file, each with the
//! error it must get, and random corruption that must never panic.

mod common;

use common::*;
use exec::{plan, Backing, ExecError, Limits, SegmentMap};
use libsys::abi::Protection;

#[test]
fn plans_text_data_and_bss() {
    let plan = plan(&valid(), &Limits::default()).unwrap();
    assert_eq!(plan.entry, ENTRY);
    assert_eq!(plan.phdr, 0x40_0040, "headers mapped with the text");
    assert_eq!(plan.phnum, 3);
    assert_eq!(plan.brk, 0x40_4000);
    assert_eq!(
        plan.segments,
        [
            SegmentMap {
                start: 0x40_0000,
                file_end: 0x40_1000,
                end: 0x40_1000,
                file_offset: 0,
                zero_from: 0x40_1000,
                prot: Protection::READ | Protection::EXEC,
                backing: Backing::Shared,
            },
            SegmentMap {
                start: 0x40_1000,
                file_end: 0x40_2000,
                end: 0x40_4000,
                file_offset: 0x1000,
                zero_from: 0x40_1090,
                prot: Protection::READ | Protection::WRITE,
                backing: Backing::Private,
            },
        ]
    );
}

#[test]
fn read_only_segment_with_bss_is_private_and_unmapped_headers_give_phdr_0() {
    let rodata = Phdr {
        kind: PT_LOAD,
        flags: R,
        offset: 0x1010,
        vaddr: 0x50_0010,
        filesz: 0x10,
        memsz: 0x100,
    };
    let text = Phdr {
        offset: 0x2000,
        vaddr: 0x40_0000,
        ..TEXT
    };
    let image = elf(&[text, rodata], ENTRY, 0x2200);
    let plan = plan(&image, &Limits::default()).unwrap();
    assert_eq!(plan.phdr, 0, "no segment holds the headers");
    assert_eq!(
        plan.segments[1].backing,
        Backing::Private,
        "bss inside a file page needs a copy"
    );
    assert_eq!(plan.segments[1].zero_from, 0x50_0020);
}

#[test]
fn zero_sized_and_non_load_headers_are_skipped() {
    let empty = Phdr {
        memsz: 0,
        filesz: 0,
        vaddr: 0x60_0000,
        offset: 0,
        ..DATA
    };
    let image = elf(&[TEXT, empty, STACK], ENTRY, LEN);
    assert_eq!(plan(&image, &Limits::default()).unwrap().segments.len(), 1);
    // Even one whose offset would wrap: nothing of it is mapped.
    let wrapping = Phdr {
        offset: u64::MAX - 7,
        filesz: 16,
        memsz: 0,
        ..DATA
    };
    let image = elf(&[wrapping, TEXT, DATA], ENTRY, LEN);
    let plan = plan(&image, &Limits::default()).unwrap();
    assert_eq!((plan.segments.len(), plan.phdr), (2, 0x40_0040));
}

fn mutated(change: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut image = valid();
    change(&mut image);
    image
}

/// The program header of the data segment (index 1).
const D: usize = phdr_at(1);

#[test]
fn hostile_elfs_get_typed_errors() {
    use ExecError::*;
    let data = DATA.vaddr;
    let cases: Vec<(&str, Vec<u8>, ExecError)> = vec![
        ("empty file", vec![], UnknownFormat),
        ("bad magic", mutated(|b| b[0] = 0), UnknownFormat),
        ("header cut", mutated(|b| b.truncate(40)), Truncated),
        ("32-bit class", mutated(|b| b[4] = 1), Not64Bit),
        ("big-endian", mutated(|b| b[5] = 2), BadEncoding),
        (
            "ELF version 0",
            mutated(|b| put32(b, E_VERSION, 0)),
            BadEncoding,
        ),
        ("i386", mutated(|b| put16(b, E_MACHINE, 3)), NotX86_64),
        (
            "ET_DYN",
            mutated(|b| put16(b, E_TYPE, 3)),
            NotStaticExecutable,
        ),
        (
            "ET_REL",
            mutated(|b| put16(b, E_TYPE, 1)),
            NotStaticExecutable,
        ),
        (
            "phentsize 32",
            mutated(|b| put16(b, E_PHENTSIZE, 32)),
            BadProgramHeaderSize,
        ),
        (
            "phentsize 64",
            mutated(|b| put16(b, E_PHENTSIZE, 64)),
            BadProgramHeaderSize,
        ),
        (
            "no program headers",
            mutated(|b| put16(b, E_PHNUM, 0)),
            NoSegments,
        ),
        (
            "65535 program headers",
            mutated(|b| put16(b, E_PHNUM, 0xffff)),
            TooManyProgramHeaders,
        ),
        (
            "phoff wraps",
            mutated(|b| put64(b, E_PHOFF, u64::MAX - 7)),
            Truncated,
        ),
        (
            "phoff near the end",
            mutated(|b| put64(b, E_PHOFF, LEN as u64 - 16)),
            Truncated,
        ),
        (
            "phoff misaligned",
            mutated(|b| put64(b, E_PHOFF, 65)),
            MisalignedProgramHeaders,
        ),
        (
            "table past the end",
            mutated(|b| b.truncate(phdr_at(2) + 20)),
            Truncated,
        ),
        (
            "PT_INTERP",
            mutated(|b| put32(b, phdr_at(2), PT_INTERP)),
            NeedsInterpreter,
        ),
        (
            "data cut off",
            mutated(|b| b.truncate(0x1000)),
            OffsetPastEnd { vaddr: data },
        ),
        (
            "offset wraps",
            mutated(|b| put64(b, D + 8, u64::MAX - 0xfef)),
            OffsetPastEnd { vaddr: data },
        ),
        (
            "filesz > memsz",
            mutated(|b| put64(b, D + 40, 0x10)),
            FileSizeOverMemorySize { vaddr: data },
        ),
        (
            "kernel half",
            mutated(|b| put64(b, D + 16, 0xffff_8000_0000_1010)),
            OutsideUserSpace {
                vaddr: 0xffff_8000_0000_1010,
            },
        ),
        (
            "just below USER_END",
            mutated(|b| put64(b, D + 16, 0x7fff_ffff_f010)),
            OutsideUserSpace {
                vaddr: 0x7fff_ffff_f010,
            },
        ),
        (
            "memsz wraps",
            mutated(|b| put64(b, D + 40, u64::MAX - 0x100)),
            OutsideUserSpace { vaddr: data },
        ),
        (
            "page 0",
            mutated(|b| put64(b, phdr_at(0) + 16, 0)),
            OutsideUserSpace { vaddr: 0 },
        ),
        (
            "2 GiB of bss",
            mutated(|b| put64(b, D + 40, 2 << 30)),
            TooLarge { vaddr: data },
        ),
        (
            "offset not congruent",
            mutated(|b| put64(b, D + 16, 0x40_1020)),
            Misaligned { vaddr: 0x40_1020 },
        ),
        (
            "overlapping text",
            mutated(|b| put64(b, D + 16, 0x40_0010)),
            Overlapping { vaddr: 0x40_0010 },
        ),
        (
            "writable and executable",
            mutated(|b| put32(b, D + 4, RWX)),
            WriteAndExecute { vaddr: data },
        ),
        (
            "entry in no segment",
            mutated(|b| put64(b, E_ENTRY, 0x50_0000)),
            EntryNotExecutable { entry: 0x50_0000 },
        ),
        (
            "entry in data",
            mutated(|b| put64(b, E_ENTRY, data)),
            EntryNotExecutable { entry: data },
        ),
        (
            "entry 0",
            mutated(|b| put64(b, E_ENTRY, 0)),
            EntryNotExecutable { entry: 0 },
        ),
        ("no PT_LOAD", elf(&[STACK], ENTRY, LEN), NoSegments),
    ];
    for (name, image, expected) in cases {
        assert_eq!(plan(&image, &Limits::default()), Err(expected), "{name}");
        let errno = expected.errno();
        assert!(
            errno == exec::error::ENOEXEC || errno == exec::error::EINVAL,
            "{name}: errno {errno}"
        );
    }
}

#[test]
fn a_misaligned_buffer_is_planned_like_an_aligned_one() {
    let image = valid();
    let mut shifted = vec![0u8; image.len() + 1];
    shifted[1..].copy_from_slice(&image);
    let odd = &shifted[1..];
    assert_ne!(
        odd.as_ptr() as usize % 8,
        0,
        "the allocator aligns a Vec, so one byte in is not"
    );
    assert_eq!(
        plan(odd, &Limits::default()),
        plan(&image, &Limits::default())
    );
}

#[test]
fn too_many_segments() {
    let many: Vec<Phdr> = (0..9u64)
        .map(|i| Phdr {
            kind: PT_LOAD,
            flags: RX,
            offset: 0x1000 * i,
            vaddr: 0x40_0000 + 0x1000 * i,
            filesz: 0x10,
            memsz: 0x10,
        })
        .collect();
    let image = elf(&many, 0x40_0000, 0x9000);
    assert_eq!(
        plan(&image, &Limits::default()),
        Err(ExecError::TooManySegments)
    );
}

#[test]
fn limits_are_the_callers() {
    let below = Limits {
        highest: 0x40_2000,
        ..Limits::default()
    };
    assert_eq!(
        plan(&valid(), &below),
        Err(ExecError::OutsideUserSpace { vaddr: DATA.vaddr })
    );
    let small = Limits {
        max_image_bytes: 0x2000,
        ..Limits::default()
    };
    assert_eq!(
        plan(&valid(), &small),
        Err(ExecError::TooLarge { vaddr: DATA.vaddr })
    );
}

/// Random corruption of the header and program headers (a fixed
/// xorshift sequence): every result is a plan or an error, never a panic.
#[test]
fn random_corruption_never_panics() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let base = valid();
    let header_bytes = phdr_at(3);
    let mut accepted = 0;
    for _ in 0..20_000 {
        let mut image = base.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % header_bytes as u64) as usize;
            image[at] = next() as u8;
        }
        if next() % 8 == 0 {
            image.truncate((next() % base.len() as u64) as usize);
        }
        if plan(&image, &Limits::default()).is_ok() {
            accepted += 1;
        }
    }
    assert!(
        accepted > 0,
        "some corruptions (e.g. of p_align) are harmless"
    );
}
