//! Building the Limine responses and hooking them into the kernel's requests.
//!
//! Responses live in an [`Arena`]: one block of bootloader-reclaimable memory
//! that the loader allocates before it exits boot services. Every pointer
//! stored in a response is the HHDM address of its target (the arena's
//! physical address + the HHDM offset), as the protocol requires; only the
//! RSDP address is physical (base revision 3).
//!
//! The memory-map response is special: its contents are known only after
//! `ExitBootServices`, when nothing may be allocated, so its space is
//! reserved up front ([`Arena::reserve_memmap`]) and filled in later
//! ([`Arena::fill_memmap`]).

use alloc::vec::Vec;
use core::fmt;
use core::mem::{align_of, size_of};

use crate::protocol::{
    File, Framebuffer, MemmapEntry, RequestKind, BASE_REVISION_MAGIC, FIRMWARE_UEFI64,
    MEDIA_OPTICAL, PAGING_MODE_4LEVEL, REQUEST_FIELDS_OFFSET, REQUEST_RESPONSE_OFFSET,
    SUPPORTED_BASE_REVISION,
};
use crate::requests::Requests;

/// The arena ran out of room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArenaFull;

/// A block of memory the responses are written into.
pub struct Arena<'a> {
    mem: &'a mut [u8],
    /// HHDM address of `mem[0]`.
    virt: u64,
    used: usize,
}

/// Space set aside for the memory-map response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemmapSlot {
    response: usize,
    entries: usize,
    pointers: usize,
    pub capacity: usize,
}

/// Plain values that can be written into the arena byte for byte.
///
/// # Safety
/// Implementors must be `#[repr(C)]` (or primitive) with no padding whose
/// contents matter and no pointers into the loader's own memory.
pub unsafe trait Plain: Copy {}
// SAFETY: integers and arrays of them have no padding and no pointers.
unsafe impl Plain for u64 {}
// SAFETY: as above.
unsafe impl<const N: usize> Plain for [u64; N] {}
// SAFETY: #[repr(C)], fields are integers (pointers are stored as u64 addresses).
unsafe impl Plain for File {}
// SAFETY: as above.
unsafe impl Plain for Framebuffer {}
// SAFETY: #[repr(C)]: two u64 and a #[repr(u64)] enum, no padding.
unsafe impl Plain for MemmapEntry {}

impl<'a> Arena<'a> {
    /// An arena over `mem`, whose first byte the kernel will see at `virt`.
    pub fn new(mem: &'a mut [u8], virt: u64) -> Self {
        Arena { mem, virt, used: 0 }
    }

    /// Bytes written so far.
    pub fn used(&self) -> usize {
        self.used
    }

    fn reserve(&mut self, len: usize, align: usize) -> Result<usize, ArenaFull> {
        let start = self.used.next_multiple_of(align);
        let end = start.checked_add(len).ok_or(ArenaFull)?;
        if end > self.mem.len() {
            return Err(ArenaFull);
        }
        self.used = end;
        Ok(start)
    }

    fn write_at<T: Plain>(&mut self, offset: usize, value: &T) {
        let bytes = &mut self.mem[offset..offset + size_of::<T>()];
        // SAFETY: `bytes` is exactly size_of::<T>() long and T is Plain, so
        // copying its bytes is a faithful, unaligned-safe byte copy.
        unsafe { core::ptr::write_unaligned(bytes.as_mut_ptr().cast::<T>(), *value) }
    }

    /// Writes `value` and returns its HHDM address.
    pub fn put<T: Plain>(&mut self, value: &T) -> Result<u64, ArenaFull> {
        let offset = self.reserve(size_of::<T>(), align_of::<T>().max(8))?;
        self.write_at(offset, value);
        Ok(self.virt + offset as u64)
    }

    /// Writes `text` as a NUL-terminated string and returns its HHDM address.
    /// An interior NUL would cut the string short, so it becomes `?`.
    pub fn put_str(&mut self, text: &str) -> Result<u64, ArenaFull> {
        let offset = self.reserve(text.len() + 1, 8)?;
        for (i, byte) in text.bytes().enumerate() {
            self.mem[offset + i] = if byte == 0 { b'?' } else { byte };
        }
        self.mem[offset + text.len()] = 0;
        Ok(self.virt + offset as u64)
    }

    /// Writes an array of addresses and returns its HHDM address.
    pub fn put_pointers(&mut self, pointers: &[u64]) -> Result<u64, ArenaFull> {
        let offset = self.reserve(pointers.len().max(1) * 8, 8)?;
        for (i, pointer) in pointers.iter().enumerate() {
            self.write_at(offset + i * 8, pointer);
        }
        Ok(self.virt + offset as u64)
    }

    /// Sets aside room for a memory map of up to `capacity` entries.
    pub fn reserve_memmap(&mut self, capacity: usize) -> Result<MemmapSlot, ArenaFull> {
        let response = self.reserve(24, 8)?;
        let entries = self.reserve(capacity * size_of::<MemmapEntry>(), 8)?;
        let pointers = self.reserve(capacity * 8, 8)?;
        Ok(MemmapSlot {
            response,
            entries,
            pointers,
            capacity,
        })
    }

    /// Fills a reserved memory map and returns the response's HHDM address.
    /// Never allocates. Fails if `entries` does not fit the reservation.
    pub fn fill_memmap(
        &mut self,
        slot: MemmapSlot,
        entries: &[MemmapEntry],
    ) -> Result<u64, ArenaFull> {
        if entries.len() > slot.capacity {
            return Err(ArenaFull);
        }
        for (i, entry) in entries.iter().enumerate() {
            let at = slot.entries + i * size_of::<MemmapEntry>();
            self.write_at(at, entry);
            self.write_at(slot.pointers + i * 8, &(self.virt + at as u64));
        }
        let response = [0, entries.len() as u64, self.virt + slot.pointers as u64];
        self.write_at(slot.response, &response);
        Ok(self.virt + slot.response as u64)
    }
}

/// A file handed to the kernel (the kernel file itself, or a module).
#[derive(Clone, Copy, Debug)]
pub struct FileSpec<'a> {
    pub phys: u64,
    pub size: u64,
    pub path: &'a str,
    pub cmdline: &'a str,
}

/// Everything the loader knows when it answers the requests.
#[derive(Clone, Copy, Debug)]
pub struct BootFacts<'a> {
    pub loader_name: &'a str,
    pub loader_version: &'a str,
    pub hhdm: u64,
    pub kernel_phys: u64,
    pub kernel_virt: u64,
    pub kernel_file: FileSpec<'a>,
    pub cmdline: &'a str,
    pub modules: &'a [FileSpec<'a>],
    /// Physical address of the ACPI RSDP, if the firmware has one.
    pub rsdp: Option<u64>,
    /// The framebuffer, its `address` still physical.
    pub framebuffer: Option<Framebuffer>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerError {
    ArenaFull,
    /// The kernel asks for an older base revision, whose rules we do not implement.
    BaseRevisionTooOld(u64),
    /// The kernel's paging-mode request rules out 4-level paging.
    FiveLevelPagingRequired,
}

impl From<ArenaFull> for AnswerError {
    fn from(_: ArenaFull) -> Self {
        AnswerError::ArenaFull
    }
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerError::ArenaFull => write!(f, "out of memory for the boot responses"),
            AnswerError::BaseRevisionTooOld(n) => write!(
                f,
                "the kernel asks for Limine base revision {n}; this loader implements revision {SUPPORTED_BASE_REVISION}"
            ),
            AnswerError::FiveLevelPagingRequired => {
                write!(f, "the kernel requires 5-level paging; this loader provides 4-level")
            }
        }
    }
}

fn read_word(image: &[u8], offset: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        image.get(offset..offset + 8)?.try_into().ok()?,
    ))
}

fn write_word(image: &mut [u8], offset: usize, value: u64) {
    image[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
}

/// The stack size the kernel asks for, or `default` without a request.
pub fn requested_stack_size(image: &[u8], requests: &Requests, default: u64) -> u64 {
    requests
        .get(RequestKind::StackSize)
        .and_then(|request| read_word(image, request.offset + REQUEST_FIELDS_OFFSET))
        .map_or(default, |size| size.max(default))
}

/// Checks the base revision and the paging mode before anything is built.
pub fn check(image: &[u8], requests: &Requests) -> Result<(), AnswerError> {
    let revision = requests.requested_base_revision();
    if revision < SUPPORTED_BASE_REVISION {
        return Err(AnswerError::BaseRevisionTooOld(revision));
    }
    if let Some(request) = requests.get(RequestKind::PagingMode) {
        // Revision 1 of the request adds max_mode and min_mode after mode.
        let min_mode_offset = request.offset + REQUEST_FIELDS_OFFSET + 16;
        if request.revision >= 1
            && read_word(image, min_mode_offset).unwrap_or(0) > PAGING_MODE_4LEVEL
        {
            return Err(AnswerError::FiveLevelPagingRequired);
        }
    }
    Ok(())
}

fn put_file(arena: &mut Arena, hhdm: u64, file: &FileSpec) -> Result<u64, ArenaFull> {
    let path = arena.put_str(file.path)?;
    let cmdline = arena.put_str(file.cmdline)?;
    arena.put(&File {
        address: file.phys + hhdm,
        size: file.size,
        path,
        cmdline,
        media_type: MEDIA_OPTICAL,
        ..File::default()
    })
}

/// Answers every request this loader supports except the memory map, by
/// writing response pointers into `image` (the loaded kernel), and marks the
/// base revision tag as supported. Call [`check`] first.
pub fn answer(
    image: &mut [u8],
    requests: &Requests,
    arena: &mut Arena,
    facts: &BootFacts,
) -> Result<(), AnswerError> {
    if let Some((tag, revision)) = requests.base_revision {
        // The loaded revision goes in the second word; the third becomes 0
        // when the requested revision is supported, and is left alone
        // otherwise (a newer kernel then knows it got revision 3 rules).
        write_word(image, tag + 8, SUPPORTED_BASE_REVISION);
        if revision == SUPPORTED_BASE_REVISION {
            write_word(image, tag + 16, 0);
        }
        debug_assert_eq!(read_word(image, tag), Some(BASE_REVISION_MAGIC[0]));
    }

    let hhdm = facts.hhdm;
    for request in &requests.found {
        let response = match request.kind {
            RequestKind::BootloaderInfo => {
                let name = arena.put_str(facts.loader_name)?;
                let version = arena.put_str(facts.loader_version)?;
                arena.put(&[0, name, version])?
            }
            RequestKind::FirmwareType => arena.put(&[0, FIRMWARE_UEFI64])?,
            RequestKind::StackSize => arena.put(&[0u64])?,
            RequestKind::Hhdm => arena.put(&[0, hhdm])?,
            RequestKind::PagingMode => arena.put(&[0, PAGING_MODE_4LEVEL])?,
            RequestKind::ExecutableFile => {
                let file = put_file(arena, hhdm, &facts.kernel_file)?;
                arena.put(&[0, file])?
            }
            RequestKind::Module => {
                let mut pointers = Vec::with_capacity(facts.modules.len());
                for module in facts.modules {
                    pointers.push(put_file(arena, hhdm, module)?);
                }
                let array = arena.put_pointers(&pointers)?;
                arena.put(&[0, pointers.len() as u64, array])?
            }
            RequestKind::Rsdp => match facts.rsdp {
                Some(rsdp) => arena.put(&[0, rsdp])?,
                None => continue,
            },
            RequestKind::ExecutableAddress => {
                arena.put(&[0, facts.kernel_phys, facts.kernel_virt])?
            }
            RequestKind::ExecutableCmdline => {
                let cmdline = arena.put_str(facts.cmdline)?;
                arena.put(&[0, cmdline])?
            }
            RequestKind::Framebuffer => match facts.framebuffer {
                Some(framebuffer) => {
                    let fb = arena.put(&Framebuffer {
                        address: framebuffer.address + hhdm,
                        ..framebuffer
                    })?;
                    let array = arena.put_pointers(&[fb])?;
                    arena.put(&[0, 1, array])?
                }
                None => continue,
            },
            // Answered after ExitBootServices, or not at all.
            _ => continue,
        };
        write_word(image, request.offset + REQUEST_RESPONSE_OFFSET, response);
    }
    Ok(())
}

/// Points the kernel's memory-map request (if any) at `response`.
pub fn answer_memmap(image: &mut [u8], requests: &Requests, response: u64) {
    if let Some(request) = requests.get(RequestKind::MemoryMap) {
        write_word(image, request.offset + REQUEST_RESPONSE_OFFSET, response);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{MemmapType, REQUESTS_END_MARKER, REQUESTS_START_MARKER};
    use crate::requests::scan;

    const HHDM: u64 = 0xffff_8000_0000_0000;
    const ARENA_PHYS: u64 = 0x7000_0000;

    /// Reads what the kernel would read at HHDM address `addr` of the arena.
    struct View<'a>(&'a [u8]);

    impl View<'_> {
        fn word(&self, addr: u64) -> u64 {
            let offset = (addr - HHDM - ARENA_PHYS) as usize;
            u64::from_le_bytes(self.0[offset..offset + 8].try_into().unwrap())
        }
        fn u32(&self, addr: u64) -> u32 {
            let offset = (addr - HHDM - ARENA_PHYS) as usize;
            u32::from_le_bytes(self.0[offset..offset + 4].try_into().unwrap())
        }
        fn string(&self, addr: u64) -> String {
            let offset = (addr - HHDM - ARENA_PHYS) as usize;
            let end = self.0[offset..].iter().position(|&b| b == 0).unwrap();
            String::from_utf8(self.0[offset..offset + end].to_vec()).unwrap()
        }
    }

    fn kernel_image(kinds: &[(RequestKind, u64, &[u64])], revision: u64) -> Vec<u8> {
        let mut words = REQUESTS_START_MARKER.to_vec();
        words.extend([BASE_REVISION_MAGIC[0], BASE_REVISION_MAGIC[1], revision]);
        for (kind, request_revision, fields) in kinds {
            words.extend(kind.full_id());
            words.extend([*request_revision, 0]);
            words.extend(*fields);
        }
        words.extend(REQUESTS_END_MARKER);
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn response_of(image: &[u8], requests: &Requests, kind: RequestKind) -> u64 {
        let offset = requests.get(kind).unwrap().offset + REQUEST_RESPONSE_OFFSET;
        read_word(image, offset).unwrap()
    }

    fn facts<'a>(modules: &'a [FileSpec<'a>]) -> BootFacts<'a> {
        BootFacts {
            loader_name: "microkernel-boot",
            loader_version: "0.1.0",
            hhdm: HHDM,
            kernel_phys: 0x20_0000,
            kernel_virt: 0xffff_ffff_8000_0000,
            kernel_file: FileSpec {
                phys: 0x30_0000,
                size: 12345,
                path: "/boot/kernel",
                cmdline: "test",
            },
            cmdline: "test loglevel=debug",
            modules,
            rsdp: Some(0x7fb7e014),
            framebuffer: Some(Framebuffer {
                address: 0x8000_0000,
                width: 1280,
                height: 800,
                pitch: 5120,
                bpp: 32,
                memory_model: 1,
                red_mask_size: 8,
                red_mask_shift: 16,
                ..Framebuffer::default()
            }),
        }
    }

    #[test]
    fn answers_every_supported_request() {
        let all = [
            (RequestKind::BootloaderInfo, 0, &[][..]),
            (RequestKind::FirmwareType, 0, &[]),
            (RequestKind::StackSize, 0, &[0x10000]),
            (RequestKind::Hhdm, 0, &[]),
            (RequestKind::PagingMode, 1, &[0, 0, 0]),
            (RequestKind::ExecutableFile, 0, &[]),
            (RequestKind::Module, 0, &[0, 0]),
            (RequestKind::Rsdp, 0, &[]),
            (RequestKind::ExecutableAddress, 0, &[]),
            (RequestKind::ExecutableCmdline, 0, &[]),
            (RequestKind::Framebuffer, 0, &[]),
            (RequestKind::Mp, 0, &[0]),
        ];
        let mut image = kernel_image(&all, 3);
        let requests = scan(&image).unwrap();
        check(&image, &requests).unwrap();
        let modules = [
            FileSpec {
                phys: 0x40_0000,
                size: 118,
                path: "/boot/motd.txt",
                cmdline: "motd",
            },
            FileSpec {
                phys: 0x41_0000,
                size: 70001,
                path: "/boot/test/pattern.bin",
                cmdline: "pattern len=70001",
            },
        ];
        let mut mem = vec![0u8; 8192];
        let mut arena = Arena::new(&mut mem, HHDM + ARENA_PHYS);
        answer(&mut image, &requests, &mut arena, &facts(&modules)).unwrap();
        let v = View(&mem);

        // The base revision tag: supported (third word 0), loaded revision 3.
        let tag = requests.base_revision.unwrap().0;
        assert_eq!(read_word(&image, tag + 8), Some(3));
        assert_eq!(read_word(&image, tag + 16), Some(0));

        let info = response_of(&image, &requests, RequestKind::BootloaderInfo);
        assert_eq!(v.string(v.word(info + 8)), "microkernel-boot");
        assert_eq!(v.string(v.word(info + 16)), "0.1.0");
        assert_eq!(
            v.word(response_of(&image, &requests, RequestKind::FirmwareType) + 8),
            FIRMWARE_UEFI64
        );
        assert_eq!(
            v.word(response_of(&image, &requests, RequestKind::Hhdm) + 8),
            HHDM
        );
        assert_eq!(
            v.word(response_of(&image, &requests, RequestKind::PagingMode) + 8),
            PAGING_MODE_4LEVEL
        );
        assert_ne!(response_of(&image, &requests, RequestKind::StackSize), 0);

        let address = response_of(&image, &requests, RequestKind::ExecutableAddress);
        assert_eq!(
            (v.word(address + 8), v.word(address + 16)),
            (0x20_0000, 0xffff_ffff_8000_0000)
        );

        let file = v.word(response_of(&image, &requests, RequestKind::ExecutableFile) + 8);
        assert_eq!(v.word(file + 8), HHDM + 0x30_0000);
        assert_eq!(v.word(file + 16), 12345);
        assert_eq!(v.string(v.word(file + 24)), "/boot/kernel");

        let module_response = response_of(&image, &requests, RequestKind::Module);
        assert_eq!(v.word(module_response + 8), 2);
        let array = v.word(module_response + 16);
        let second = v.word(array + 8);
        assert_eq!(v.word(second + 8), HHDM + 0x41_0000);
        assert_eq!(v.word(second + 16), 70001);
        assert_eq!(v.string(v.word(second + 24)), "/boot/test/pattern.bin");
        assert_eq!(v.string(v.word(second + 32)), "pattern len=70001");
        assert_eq!(v.u32(second + 40), MEDIA_OPTICAL);

        // The RSDP stays physical under base revision 3.
        assert_eq!(
            v.word(response_of(&image, &requests, RequestKind::Rsdp) + 8),
            0x7fb7e014
        );
        let cmdline = response_of(&image, &requests, RequestKind::ExecutableCmdline);
        assert_eq!(v.string(v.word(cmdline + 8)), "test loglevel=debug");

        let fb_response = response_of(&image, &requests, RequestKind::Framebuffer);
        assert_eq!(v.word(fb_response + 8), 1);
        let fb = v.word(v.word(fb_response + 16));
        assert_eq!(
            v.word(fb),
            HHDM + 0x8000_0000,
            "framebuffer address is an HHDM address"
        );
        assert_eq!(
            (v.word(fb + 8), v.word(fb + 16), v.word(fb + 24)),
            (1280, 800, 5120)
        );

        // Requests we do not answer stay untouched.
        assert_eq!(response_of(&image, &requests, RequestKind::Mp), 0);
        assert_eq!(requested_stack_size(&image, &requests, 0x4000), 0x10000);
    }

    #[test]
    fn memory_map_is_filled_after_the_fact() {
        let mut image = kernel_image(&[(RequestKind::MemoryMap, 0, &[])], 3);
        let requests = scan(&image).unwrap();
        let mut mem = vec![0u8; 4096];
        let mut arena = Arena::new(&mut mem, HHDM + ARENA_PHYS);
        let slot = arena.reserve_memmap(8).unwrap();
        let entries = [
            MemmapEntry {
                base: 0x1000,
                length: 0x9f000,
                kind: MemmapType::Usable,
            },
            MemmapEntry {
                base: 0x100000,
                length: 0x1000,
                kind: MemmapType::AcpiNvs,
            },
        ];
        let response = arena.fill_memmap(slot, &entries).unwrap();
        assert_eq!(arena.fill_memmap(slot, &[entries[0]; 9]), Err(ArenaFull));
        answer_memmap(&mut image, &requests, response);
        let v = View(&mem);
        let response = response_of(&image, &requests, RequestKind::MemoryMap);
        assert_eq!(v.word(response + 8), 2);
        let second = v.word(v.word(response + 16) + 8);
        assert_eq!(
            (v.word(second), v.word(second + 8), v.word(second + 16)),
            (0x100000, 0x1000, 3)
        );
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        let image = kernel_image(&[], 2);
        assert_eq!(
            check(&image, &scan(&image).unwrap()),
            Err(AnswerError::BaseRevisionTooOld(2))
        );
        // No tag at all means revision 0.
        let words: Vec<u8> = RequestKind::Hhdm
            .full_id()
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert_eq!(
            check(&words, &scan(&words).unwrap()),
            Err(AnswerError::BaseRevisionTooOld(0))
        );
        // min_mode = 5-level.
        let image = kernel_image(&[(RequestKind::PagingMode, 1, &[1, 1, 1])], 3);
        assert_eq!(
            check(&image, &scan(&image).unwrap()),
            Err(AnswerError::FiveLevelPagingRequired)
        );
    }

    #[test]
    fn a_newer_revision_is_loaded_as_ours_and_left_unsupported() {
        let mut image = kernel_image(&[], 4);
        let requests = scan(&image).unwrap();
        check(&image, &requests).unwrap();
        let mut mem = vec![0u8; 4096];
        let mut arena = Arena::new(&mut mem, HHDM + ARENA_PHYS);
        answer(&mut image, &requests, &mut arena, &facts(&[])).unwrap();
        let tag = requests.base_revision.unwrap().0;
        assert_eq!(read_word(&image, tag + 8), Some(3));
        assert_eq!(read_word(&image, tag + 16), Some(4));
    }

    #[test]
    fn a_full_arena_is_an_error() {
        let mut image = kernel_image(&[(RequestKind::BootloaderInfo, 0, &[])], 3);
        let requests = scan(&image).unwrap();
        let mut mem = vec![0u8; 16];
        let mut arena = Arena::new(&mut mem, HHDM + ARENA_PHYS);
        assert_eq!(
            answer(&mut image, &requests, &mut arena, &facts(&[])),
            Err(AnswerError::ArenaFull)
        );
    }
}
