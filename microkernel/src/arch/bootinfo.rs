//! What the boot loader tells the kernel, through the Limine boot protocol.
//!
//! The requests below are statics the loader finds in the kernel image and
//! answers before the kernel runs (our `boot/` loader or a real Limine: the
//! kernel cannot tell which). They sit between the start and end markers in
//! the `.requests` sections, which the linker script keeps in the writable
//! data segment. After entry they are only read, so shared references are
//! fine.
//!
//! The responses live in bootloader-reclaimable memory, which the kernel
//! takes back once it runs on its own page tables and stack. So they are
//! read in two steps: [`EarlyBootInfo`] in place, for what building the
//! page tables needs, and [`BootInfo`], a copy on the kernel heap, for
//! everything after.

use limine::file::File;
use limine::firmware_type::FirmwareType;
use limine::memory_map::{Entry, EntryType};
use limine::paging;
use limine::request::*;
use limine::BaseRevision;

use alloc::string::String;
use alloc::vec::Vec;

/// Base revision 3: no identity map, HHDM covers only usable, reclaimable,
/// kernel/module and framebuffer memory, the RSDP address is physical.
#[used]
#[unsafe(link_section = ".requests")]
pub static BASE_REVISION: BaseRevision = BaseRevision::new();

#[used]
#[unsafe(link_section = ".requests_start_marker")]
static START_MARKER: RequestsStartMarker = RequestsStartMarker::new();
#[used]
#[unsafe(link_section = ".requests_end_marker")]
static END_MARKER: RequestsEndMarker = RequestsEndMarker::new();

#[used]
#[unsafe(link_section = ".requests")]
static BOOTLOADER_INFO: BootloaderInfoRequest = BootloaderInfoRequest::new();
#[used]
#[unsafe(link_section = ".requests")]
static FIRMWARE_TYPE: FirmwareTypeRequest = FirmwareTypeRequest::new();
#[used]
#[unsafe(link_section = ".requests")]
static HHDM: HhdmRequest = HhdmRequest::new();
#[used]
#[unsafe(link_section = ".requests")]
static MEMORY_MAP: MemoryMapRequest = MemoryMapRequest::new();
#[used]
#[unsafe(link_section = ".requests")]
static EXECUTABLE_FILE: ExecutableFileRequest = ExecutableFileRequest::new();
#[used]
#[unsafe(link_section = ".requests")]
static EXECUTABLE_ADDRESS: ExecutableAddressRequest = ExecutableAddressRequest::new();
#[used]
#[unsafe(link_section = ".requests")]
static EXECUTABLE_CMDLINE: ExecutableCmdlineRequest = ExecutableCmdlineRequest::new();
#[used]
#[unsafe(link_section = ".requests")]
static MODULES: ModuleRequest = ModuleRequest::new();
#[used]
#[unsafe(link_section = ".requests")]
static RSDP: RsdpRequest = RsdpRequest::new();
#[used]
#[unsafe(link_section = ".requests")]
static FRAMEBUFFER: FramebufferRequest = FramebufferRequest::new();
/// 64 KiB: enough for the early kernel; the default is only 16 KiB.
pub const STACK_SIZE: u64 = 64 * 1024;
#[used]
#[unsafe(link_section = ".requests")]
static STACK_SIZE_REQUEST: StackSizeRequest = StackSizeRequest::new().with_size(STACK_SIZE);
#[used]
#[unsafe(link_section = ".requests")]
static PAGING_MODE: PagingModeRequest = PagingModeRequest::new()
    .with_mode(paging::Mode::FOUR_LEVEL)
    .with_max_mode(paging::Mode::FOUR_LEVEL)
    .with_min_mode(paging::Mode::FOUR_LEVEL);

/// The framebuffer: where the kernel sees it (its HHDM address) and its
/// geometry, which the first process gets in its `InitInfo`.
#[derive(Clone, Copy, Debug)]
pub struct Framebuffer {
    pub address: *mut u8,
    /// Physical address of the first pixel.
    pub phys: u64,
    pub width: u64,
    pub height: u64,
    pub pitch: u64,
    pub bpp: u16,
    /// (size, shift) of each colour's mask: red, green, blue.
    pub masks: [(u8, u8); 3],
}

impl Framebuffer {
    /// Its geometry as the first process is given it; all zeros (none)
    /// if a size does not fit the 32-bit fields.
    pub fn geometry(&self) -> libsys::abi::FramebufferInfo {
        let field = |v: u64| u32::try_from(v).ok();
        let (Some(width), Some(height), Some(pitch)) =
            (field(self.width), field(self.height), field(self.pitch))
        else {
            return libsys::abi::FramebufferInfo::default();
        };
        let [red, green, blue] = self.masks;
        libsys::abi::FramebufferInfo {
            phys: self.phys,
            width,
            height,
            pitch,
            bpp: self.bpp,
            red_mask_size: red.0,
            red_mask_shift: red.1,
            green_mask_size: green.0,
            green_mask_shift: green.1,
            blue_mask_size: blue.0,
            blue_mask_shift: blue.1,
            _reserved: 0,
        }
    }
}

/// One memory-map entry, copied out of the loader's response.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MemoryEntry {
    pub base: u64,
    pub length: u64,
    pub entry_type: EntryType,
}

impl MemoryEntry {
    pub fn end(&self) -> u64 {
        self.base + self.length
    }
}

/// A file the loader handed over (the kernel itself or a module). The
/// bytes stay where the loader put them, in executable-and-modules memory
/// that is never reclaimed; the path and command line are copied.
#[derive(Clone, Debug)]
pub struct BootFile {
    pub path: String,
    pub cmdline: String,
    /// Physical address of the first byte.
    pub phys: u64,
    pub size: u64,
    bytes: &'static [u8],
}

impl BootFile {
    fn copy(file: &File, hhdm: u64) -> BootFile {
        // SAFETY: the response promises `size` readable bytes at `addr`, in
        // executable-and-modules memory, which the kernel keeps mapped (in
        // the HHDM) and never reuses.
        let bytes = unsafe { core::slice::from_raw_parts(file.addr(), file.size() as usize) };
        BootFile {
            path: String::from(file.path().to_str().unwrap_or("?")),
            cmdline: String::from(file.string().to_str().unwrap_or("")),
            phys: (file.addr() as u64).wrapping_sub(hhdm),
            size: file.size(),
            bytes,
        }
    }

    pub fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// The last component of the path (`/boot/init` -> `init`).
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// What the loader said, as the kernel needs it before it has a heap: the
/// responses read in place. Valid only until bootloader-reclaimable memory
/// is reclaimed (see `main.rs`), which is why [`BootInfo`] copies it.
pub struct EarlyBootInfo {
    pub hhdm: Option<u64>,
    pub memory_map: &'static [&'static Entry],
    pub kernel_file: Option<&'static File>,
    /// (physical base, virtual base) of the kernel image.
    pub kernel_address: Option<(u64, u64)>,
    pub cmdline: &'static str,
}

impl EarlyBootInfo {
    pub fn read() -> EarlyBootInfo {
        EarlyBootInfo {
            hhdm: HHDM.get_response().map(|r| r.offset()),
            memory_map: MEMORY_MAP.get_response().map_or(&[], |r| r.entries()),
            kernel_file: EXECUTABLE_FILE.get_response().map(|r| r.file()),
            kernel_address: EXECUTABLE_ADDRESS
                .get_response()
                .map(|r| (r.physical_base(), r.virtual_base())),
            cmdline: EXECUTABLE_CMDLINE
                .get_response()
                .and_then(|r| r.cmdline().to_str().ok())
                .unwrap_or(""),
        }
    }

    /// The memory map as owned entries (a fixed-size copy: no heap yet).
    pub fn memory_entries(&self) -> impl Iterator<Item = MemoryEntry> + Clone + '_ {
        self.memory_map.iter().map(|e| MemoryEntry {
            base: e.base,
            length: e.length,
            entry_type: e.entry_type,
        })
    }
}

/// Every response, copied into kernel memory once the heap exists.
/// `None` means the loader did not answer.
pub struct BootInfo {
    pub loader: Option<(String, String)>,
    pub firmware: Option<FirmwareType>,
    pub hhdm: Option<u64>,
    pub memory_map: Vec<MemoryEntry>,
    pub kernel_file: Option<BootFile>,
    /// (physical base, virtual base) of the kernel image.
    pub kernel_address: Option<(u64, u64)>,
    pub cmdline: String,
    pub modules: Vec<BootFile>,
    /// Physical address of the ACPI RSDP.
    pub rsdp: Option<u64>,
    pub framebuffer: Option<Framebuffer>,
    pub stack_size_answered: bool,
    pub paging_mode: Option<paging::Mode>,
}

impl BootInfo {
    /// Copies every response. Must run before bootloader-reclaimable memory
    /// is handed to the frame allocator.
    pub fn copy() -> BootInfo {
        let early = EarlyBootInfo::read();
        let hhdm = early.hhdm.unwrap_or(0);
        BootInfo {
            loader: BOOTLOADER_INFO
                .get_response()
                .map(|r| (String::from(r.name()), String::from(r.version()))),
            firmware: FIRMWARE_TYPE.get_response().map(|r| r.firmware_type()),
            hhdm: early.hhdm,
            memory_map: early.memory_entries().collect(),
            kernel_file: early.kernel_file.map(|f| BootFile::copy(f, hhdm)),
            kernel_address: early.kernel_address,
            cmdline: String::from(early.cmdline),
            modules: MODULES.get_response().map_or(Vec::new(), |r| {
                r.modules()
                    .iter()
                    .map(|f| BootFile::copy(f, hhdm))
                    .collect()
            }),
            rsdp: RSDP.get_response().map(|r| r.address() as u64),
            framebuffer: FRAMEBUFFER
                .get_response()
                .and_then(|r| r.framebuffers().next())
                .map(|fb| Framebuffer {
                    address: fb.addr(),
                    // Base revision 3: the response's address is in the HHDM.
                    phys: (fb.addr() as u64).wrapping_sub(hhdm),
                    width: fb.width(),
                    height: fb.height(),
                    pitch: fb.pitch(),
                    bpp: fb.bpp(),
                    masks: [
                        (fb.red_mask_size(), fb.red_mask_shift()),
                        (fb.green_mask_size(), fb.green_mask_shift()),
                        (fb.blue_mask_size(), fb.blue_mask_shift()),
                    ],
                }),
            stack_size_answered: STACK_SIZE_REQUEST.get_response().is_some(),
            paging_mode: PAGING_MODE.get_response().map(|r| r.mode()),
        }
    }

    /// Whether the command line contains `word` as a whole word.
    pub fn has_word(&self, word: &str) -> bool {
        self.cmdline.split_whitespace().any(|w| w == word)
    }

    /// The value of `key=value` on the command line.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.cmdline
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
    }

    /// The memory-map entry containing physical address `addr`.
    pub fn entry_containing(&self, addr: u64) -> Option<&MemoryEntry> {
        self.memory_map
            .iter()
            .find(|e| e.base <= addr && addr < e.end())
    }

    /// RAM the machine has: every entry that is memory rather than a hole
    /// or a device (all types but reserved, bad memory and framebuffer).
    pub fn total_memory(&self) -> u64 {
        self.sum(|t| {
            !matches!(
                t,
                EntryType::RESERVED | EntryType::BAD_MEMORY | EntryType::FRAMEBUFFER
            )
        })
    }

    /// Memory the kernel may allocate: usable now, or once it is done with
    /// the loader's data (bootloader reclaimable).
    pub fn usable_memory(&self) -> u64 {
        self.sum(|t| matches!(t, EntryType::USABLE | EntryType::BOOTLOADER_RECLAIMABLE))
    }

    fn sum(&self, wanted: impl Fn(EntryType) -> bool) -> u64 {
        self.memory_map
            .iter()
            .filter(|e| wanted(e.entry_type))
            .map(|e| e.length)
            .sum()
    }
}

/// Name of a memory-map entry type, as Limine's documentation spells it.
pub fn entry_type_name(kind: EntryType) -> &'static str {
    match kind {
        EntryType::USABLE => "usable",
        EntryType::RESERVED => "reserved",
        EntryType::ACPI_RECLAIMABLE => "ACPI reclaimable",
        EntryType::ACPI_NVS => "ACPI NVS",
        EntryType::BAD_MEMORY => "bad memory",
        EntryType::BOOTLOADER_RECLAIMABLE => "bootloader reclaimable",
        EntryType::EXECUTABLE_AND_MODULES => "executable and modules",
        EntryType::FRAMEBUFFER => "framebuffer",
        _ => "unknown",
    }
}

pub fn firmware_name(firmware: FirmwareType) -> &'static str {
    match firmware {
        FirmwareType::X86_BIOS => "BIOS",
        FirmwareType::UEFI_32 => "UEFI32",
        FirmwareType::UEFI_64 => "UEFI64",
        FirmwareType::SBI => "SBI",
        _ => "unknown",
    }
}

// SAFETY: the framebuffer pointer is the only non-thread-safe part; it
// names device memory that every CPU may access, and BootInfo is never
// changed after `set`.
unsafe impl Send for BootInfo {}
// SAFETY: as above.
unsafe impl Sync for BootInfo {}

static BOOT_INFO: spin::Once<BootInfo> = spin::Once::new();

/// Keeps the copied boot information for the kernel's lifetime.
pub fn set(info: BootInfo) -> &'static BootInfo {
    BOOT_INFO.call_once(|| info)
}

/// The boot information (after `set`).
pub fn get() -> &'static BootInfo {
    BOOT_INFO
        .get()
        .expect("boot information is set before anything reads it")
}
