//! What every test of the core shares: a simulated machine (frames of
//! fake physical memory, a fake page table per address space), a world
//! that plays the CPU and the kernel (an access consults the page table
//! and, like the kernel, sends mm a fault when it misses, then retries),
//! a hand-made ELF image, and a seeded random number generator.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use libsys::proto::mm::{Reply, Request, PROT_EXEC, PROT_READ, PROT_WRITE};
use mm::{FaultOutcome, ImageId, Machine, MachineError, Mm, SpaceId};

pub const PAGE: u64 = 4096;
/// Where the simulated RAM starts (1 MiB, as on a PC).
pub const RAM_BASE: u64 = 0x10_0000;

/// Error code bits the CPU would push.
pub const PF_PRESENT: u64 = 1;
pub const PF_WRITE: u64 = 2;
pub const PF_USER: u64 = 4;
pub const PF_FETCH: u64 = 16;

/// The fake machine. Frames never written hold 0xA5, and a frame keeps
/// its bytes when mm frees it, so a frame mm forgets to zero shows.
#[derive(Default)]
pub struct Sim {
    pub frames: HashMap<u64, Box<[u8; 4096]>>,
    /// (space, page address) → (pfn, prot).
    pub tables: BTreeMap<(SpaceId, u64), (u64, u8)>,
    pub images: HashMap<ImageId, Vec<u8>>,
    /// Fail every `map` once this many have succeeded (None: never).
    pub maps_left: Option<u64>,
    /// Fail the next `map` with `replace`, after unmapping what was there
    /// (as the kernel's `MAP_REPLACE` does when it fails).
    pub fail_next_replace: bool,
    pub copies: u64,
    /// `map_run` calls (each maps a run of pages).
    pub map_runs: u64,
}

impl Sim {
    pub fn frame(&mut self, pfn: u64) -> &mut [u8; 4096] {
        self.frames
            .entry(pfn)
            .or_insert_with(|| Box::new([0xA5; 4096]))
    }
}

impl Machine for Sim {
    fn map(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pfn: u64,
        prot: u8,
        replace: bool,
    ) -> Result<(), MachineError> {
        assert_eq!(vaddr % PAGE, 0, "unaligned map");
        assert!(prot & PROT_READ != 0, "a mapping without READ");
        assert!(
            prot & (PROT_WRITE | PROT_EXEC) != PROT_WRITE | PROT_EXEC,
            "W+X"
        );
        if replace && self.fail_next_replace {
            self.fail_next_replace = false;
            self.tables.remove(&(space, vaddr));
            return Err(MachineError::Failed);
        }
        match &mut self.maps_left {
            Some(0) => return Err(MachineError::Failed),
            Some(left) => *left -= 1,
            None => {}
        }
        let old = self.tables.insert((space, vaddr), (pfn, prot));
        assert!(
            replace || old.is_none(),
            "mm mapped over {vaddr:#x} without replace"
        );
        Ok(())
    }

    fn map_run(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pfn: u64,
        pages: u64,
        prot: u8,
    ) -> Result<(), MachineError> {
        assert!(pages > 0, "an empty run");
        self.map_runs += 1;
        for i in 0..pages {
            self.map(space, vaddr + i * PAGE, pfn + i, prot, false)?;
        }
        Ok(())
    }

    fn unmap(&mut self, space: SpaceId, vaddr: u64, pages: u64) -> Result<(), MachineError> {
        let end = vaddr + pages * PAGE;
        let gone: Vec<_> = self
            .tables
            .range((space, vaddr)..(space, end))
            .map(|(&key, _)| key)
            .collect();
        for key in gone {
            self.tables.remove(&key);
        }
        Ok(())
    }

    fn protect(
        &mut self,
        space: SpaceId,
        vaddr: u64,
        pages: u64,
        prot: u8,
    ) -> Result<(), MachineError> {
        assert!(
            prot & (PROT_WRITE | PROT_EXEC) != PROT_WRITE | PROT_EXEC,
            "W+X"
        );
        for page in 0..pages {
            let entry = self
                .tables
                .get_mut(&(space, vaddr + page * PAGE))
                .expect("mm protected a page it had not mapped");
            entry.1 = prot;
        }
        Ok(())
    }

    fn zero(&mut self, pfn: u64) {
        *self.frame(pfn) = [0; 4096];
    }

    fn copy(&mut self, from: u64, to: u64) {
        self.copies += 1;
        let bytes = *self.frame(from);
        *self.frame(to) = bytes;
    }

    fn write(&mut self, pfn: u64, at: usize, bytes: &[u8]) {
        self.frame(pfn)[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn image(&self, image: ImageId) -> &[u8] {
        self.images.get(&image).map_or(&[], |bytes| bytes)
    }
}

/// The CPU, the kernel and mm together.
pub struct World {
    pub mm: Mm,
    pub sim: Sim,
    /// Spaces created through the world and not exited.
    pub spaces: BTreeSet<SpaceId>,
}

impl World {
    /// A world with `pages` pages of RAM at [`RAM_BASE`] and the test
    /// program as image 1.
    pub fn new(pages: u64) -> World {
        let mut sim = Sim::default();
        sim.images.insert(1, program());
        World {
            mm: Mm::new(&[(RAM_BASE, pages)]).unwrap(),
            sim,
            spaces: BTreeSet::new(),
        }
    }

    pub fn adopt(&mut self, id: SpaceId, args: &str) -> mm::Adopted {
        let adopted = self.mm.adopt(id, 1, args, &mut self.sim).unwrap();
        self.spaces.insert(id);
        adopted
    }

    pub fn fork(&mut self, parent: SpaceId, child: SpaceId) {
        self.mm.fork(parent, child, &mut self.sim).unwrap();
        self.spaces.insert(child);
    }

    pub fn exit(&mut self, id: SpaceId) {
        assert!(self.mm.exit(id, &mut self.sim));
        self.spaces.remove(&id);
        assert!(
            self.sim.tables.range((id, 0)..(id + 1, 0)).next().is_none(),
            "pages left mapped after exit"
        );
    }

    pub fn request(&mut self, from: SpaceId, request: Request) -> Reply {
        self.mm.request(from, request, &mut self.sim)
    }

    /// `Mmap` that must succeed.
    pub fn mmap(&mut self, from: SpaceId, at: Option<u64>, pages: u64, prot: u8) -> u64 {
        match self.request(
            from,
            Request::Mmap {
                at,
                pages,
                prot,
                populate: false,
            },
        ) {
            Reply::Mapped(at) => at,
            other => panic!("mmap: {other:?}"),
        }
    }

    /// Runs one access like the CPU: if the page table does not allow it,
    /// the kernel sends mm the fault, and on `Resume` the access retries.
    fn access(&mut self, space: SpaceId, addr: u64, kind: u64) -> Result<u64, &'static str> {
        let page = addr & !(PAGE - 1);
        for _ in 0..3 {
            let entry = self.sim.tables.get(&(space, page)).copied();
            let allowed = match entry {
                Some((_, prot)) if kind == PF_WRITE => prot & PROT_WRITE != 0,
                Some((_, prot)) if kind == PF_FETCH => prot & PROT_EXEC != 0,
                Some(_) => true,
                None => false,
            };
            if allowed {
                return Ok(entry.unwrap().0);
            }
            let error = PF_USER | kind | u64::from(entry.is_some());
            if let FaultOutcome::Kill(why) = self.mm.fault(space, addr, error, &mut self.sim) {
                return Err(why);
            }
        }
        panic!("mm resumed a fault at {addr:#x} without mapping the page");
    }

    pub fn read(&mut self, space: SpaceId, addr: u64) -> Result<u8, &'static str> {
        let pfn = self.access(space, addr, 0)?;
        Ok(self.sim.frame(pfn)[(addr % PAGE) as usize])
    }

    pub fn write(&mut self, space: SpaceId, addr: u64, byte: u8) -> Result<(), &'static str> {
        let pfn = self.access(space, addr, PF_WRITE)?;
        self.sim.frame(pfn)[(addr % PAGE) as usize] = byte;
        Ok(())
    }

    pub fn exec(&mut self, space: SpaceId, addr: u64) -> Result<(), &'static str> {
        self.access(space, addr, PF_FETCH).map(|_| ())
    }

    /// mm's invariants hold, and the simulated page tables are exactly
    /// mm's page maps.
    pub fn check(&self) {
        self.mm.check().unwrap();
        let mut expected = BTreeMap::new();
        for &space in &self.spaces {
            for (vaddr, pte) in self.mm.mappings(space) {
                expected.insert((space, vaddr), (pte.pfn, pte.prot));
            }
        }
        assert_eq!(
            self.sim.tables, expected,
            "page tables differ from mm's page maps"
        );
        assert_eq!(
            self.mm.free_pages() + self.mm.system_stats().anon_pages,
            self.mm.total_pages()
        );
    }

    pub fn stats(&self, space: SpaceId) -> libsys::proto::mm::ProcessStats {
        self.mm.stats(space).unwrap()
    }
}

/// The test program's text: at 0x40_0000, one page, read-exec; starts
/// with `TEXT` bytes.
pub const TEXT_AT: u64 = 0x40_0000;
pub const TEXT: &[u8] = b"\x90\x90\xc3 the text segment";
/// Its data: at 0x40_1000 + 0x10 (unaligned, as linkers do), 0x30 file
/// bytes, then .bss up to 0x2000 bytes (so over three pages).
pub const DATA_AT: u64 = 0x40_1010;
pub const DATA_LEN: u64 = 0x2000;
pub const ENTRY: u64 = TEXT_AT + 1;

pub fn data_bytes() -> Vec<u8> {
    (0..0x30u8)
        .map(|i| i.wrapping_mul(7).wrapping_add(1))
        .collect()
}

/// A small static executable with two `PT_LOAD` segments.
pub fn program() -> Vec<u8> {
    elf(
        &[
            (TEXT_AT, 0x100, TEXT.to_vec(), 5),
            (DATA_AT, DATA_LEN, data_bytes(), 6),
        ],
        ENTRY,
    )
}

/// An ELF64 x86_64 `ET_EXEC` file: one `PT_LOAD` per (vaddr, memsz, file
/// bytes, flags), file bytes after the program headers.
pub fn elf(segments: &[(u64, u64, Vec<u8>, u32)], entry: u64) -> Vec<u8> {
    let phoff = 64u64;
    let mut file_at = phoff + 56 * segments.len() as u64;
    let mut out = vec![0u8; 64];
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 2; // ELFCLASS64
    out[5] = 1; // little-endian
    out[6] = 1; // EV_CURRENT
    out[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    out[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    out[20..24].copy_from_slice(&1u32.to_le_bytes());
    out[24..32].copy_from_slice(&entry.to_le_bytes());
    out[32..40].copy_from_slice(&phoff.to_le_bytes());
    out[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    out[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    out[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
    for (vaddr, memsz, bytes, flags) in segments {
        let mut header = [0u8; 56];
        header[0..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        header[4..8].copy_from_slice(&flags.to_le_bytes());
        header[8..16].copy_from_slice(&file_at.to_le_bytes());
        header[16..24].copy_from_slice(&vaddr.to_le_bytes());
        header[24..32].copy_from_slice(&vaddr.to_le_bytes()); // p_paddr
        header[32..40].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        header[40..48].copy_from_slice(&memsz.to_le_bytes());
        out.extend_from_slice(&header);
        file_at += bytes.len() as u64;
    }
    for (_, _, bytes, _) in segments {
        out.extend_from_slice(bytes);
    }
    out
}

/// xorshift64*: small, seeded, good enough to drive a test.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
