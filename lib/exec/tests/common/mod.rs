//! An ELF64 executable built byte by byte for the tests (no third-party
//! binaries): a header, program headers, and file bytes where the
//! headers say.

#![allow(dead_code)]

pub const PT_LOAD: u32 = 1;
pub const PT_INTERP: u32 = 3;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const R: u32 = 4;
pub const RW: u32 = 6;
pub const RX: u32 = 5;
pub const RWX: u32 = 7;

#[derive(Clone, Copy, Debug)]
pub struct Phdr {
    pub kind: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

/// Offsets of header fields, for mutations.
pub const E_TYPE: usize = 16;
pub const E_MACHINE: usize = 18;
pub const E_VERSION: usize = 20;
pub const E_ENTRY: usize = 24;
pub const E_PHOFF: usize = 32;
pub const E_PHENTSIZE: usize = 54;
pub const E_PHNUM: usize = 56;

/// The program header `index`'s byte offset in an image from [`elf`].
pub const fn phdr_at(index: usize) -> usize {
    64 + 56 * index
}

/// An ELF64 x86_64 `ET_EXEC` with these program headers (at offset 64)
/// and entry; the file is `len` bytes (0xcc where nothing else is).
pub fn elf(phdrs: &[Phdr], entry: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0xccu8; len.max(64 + 56 * phdrs.len())];
    out[..64].fill(0);
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 2; // ELFCLASS64
    out[5] = 1; // little-endian
    out[6] = 1; // EV_CURRENT
    put16(&mut out, E_TYPE, 2);
    put16(&mut out, E_MACHINE, 62);
    put32(&mut out, E_VERSION, 1);
    put64(&mut out, E_ENTRY, entry);
    put64(&mut out, E_PHOFF, 64);
    put16(&mut out, 52, 64); // e_ehsize
    put16(&mut out, E_PHENTSIZE, 56);
    put16(&mut out, E_PHNUM, phdrs.len() as u16);
    for (i, ph) in phdrs.iter().enumerate() {
        let at = phdr_at(i);
        out[at..at + 56].fill(0);
        put32(&mut out, at, ph.kind);
        put32(&mut out, at + 4, ph.flags);
        put64(&mut out, at + 8, ph.offset);
        put64(&mut out, at + 16, ph.vaddr);
        put64(&mut out, at + 24, ph.vaddr);
        put64(&mut out, at + 32, ph.filesz);
        put64(&mut out, at + 40, ph.memsz);
        put64(&mut out, at + 48, 0x1000);
    }
    out
}

pub fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

pub fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

pub fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

pub const TEXT: Phdr = Phdr {
    kind: PT_LOAD,
    flags: RX,
    offset: 0,
    vaddr: 0x40_0000,
    filesz: 0x200,
    memsz: 0x200,
};
pub const DATA: Phdr = Phdr {
    kind: PT_LOAD,
    flags: RW,
    offset: 0x1010,
    vaddr: 0x40_1010,
    filesz: 0x80,
    memsz: 0x2000,
};
pub const STACK: Phdr = Phdr {
    kind: PT_GNU_STACK,
    flags: RW,
    offset: 0,
    vaddr: 0,
    filesz: 0,
    memsz: 0,
};
pub const ENTRY: u64 = 0x40_0100;
pub const LEN: usize = 0x1090;

/// The valid program every hostile case mutates: text (headers
/// included) at 0x400000, data at 0x401010 with bss to 0x403010, and a
/// `PT_GNU_STACK` header.
pub fn valid() -> Vec<u8> {
    elf(&[TEXT, DATA, STACK], ENTRY, LEN)
}
