//! The Limine boot protocol, as the loader sees it: request IDs, the base
//! revision tag, the start/end markers, and the `#[repr(C)]` layouts of the
//! responses we answer.
//!
//! Written from Limine's `PROTOCOL.md`. Pointers inside responses are kept as
//! plain `u64` because the loader computes them (physical address + HHDM
//! offset) rather than pointing at its own memory; every one of them is an
//! HHDM address, except the RSDP address, which base revision 3 makes physical.

/// The first two words of every request ID.
pub const COMMON_MAGIC: [u64; 2] = [0xc7b1dd30df4c8b88, 0x0a82e883a194f07b];

/// The first two words of the base revision tag; the third is the revision.
pub const BASE_REVISION_MAGIC: [u64; 2] = [0xf9562b2d5c95a6c8, 0x6a7b384944536bdc];

/// Marks the start of the region the loader scans for requests.
pub const REQUESTS_START_MARKER: [u64; 4] = [
    0xf6b8f4b39de7d1ae,
    0xfab91a6940fcb9cf,
    0x785c6ed015d3e316,
    0x181e920a7852b9d9,
];

/// Marks the end of the region the loader scans for requests.
pub const REQUESTS_END_MARKER: [u64; 2] = [0xadc0e0531bb10d03, 0x9572709f31764c62];

/// The only base revision this loader implements. Its rules: no identity
/// map, the HHDM covers only usable, bootloader-reclaimable,
/// executable-and-modules and framebuffer memory, and the RSDP address is
/// physical.
pub const SUPPORTED_BASE_REVISION: u64 = 3;

/// Byte offset of `revision` and `response` in every request.
pub const REQUEST_REVISION_OFFSET: usize = 32;
pub const REQUEST_RESPONSE_OFFSET: usize = 40;
/// Byte offset of the first request-specific field.
pub const REQUEST_FIELDS_OFFSET: usize = 48;

/// The requests this loader knows, by the last two words of their ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestKind {
    BootloaderInfo,
    FirmwareType,
    StackSize,
    Hhdm,
    Framebuffer,
    PagingMode,
    Mp,
    MemoryMap,
    EntryPoint,
    ExecutableFile,
    Module,
    Rsdp,
    Smbios,
    EfiSystemTable,
    EfiMemoryMap,
    DateAtBoot,
    ExecutableAddress,
    ExecutableCmdline,
    DeviceTreeBlob,
}

impl RequestKind {
    pub const ALL: [RequestKind; 19] = [
        RequestKind::BootloaderInfo,
        RequestKind::FirmwareType,
        RequestKind::StackSize,
        RequestKind::Hhdm,
        RequestKind::Framebuffer,
        RequestKind::PagingMode,
        RequestKind::Mp,
        RequestKind::MemoryMap,
        RequestKind::EntryPoint,
        RequestKind::ExecutableFile,
        RequestKind::Module,
        RequestKind::Rsdp,
        RequestKind::Smbios,
        RequestKind::EfiSystemTable,
        RequestKind::EfiMemoryMap,
        RequestKind::DateAtBoot,
        RequestKind::ExecutableAddress,
        RequestKind::ExecutableCmdline,
        RequestKind::DeviceTreeBlob,
    ];

    /// The request-specific half of the ID.
    pub const fn id(self) -> [u64; 2] {
        match self {
            RequestKind::BootloaderInfo => [0xf55038d8e2a1202f, 0x279426fcf5f59740],
            RequestKind::FirmwareType => [0x8c2f75d90bef28a8, 0x7045a4688eac00c3],
            RequestKind::StackSize => [0x224ef0460a8e8926, 0xe1cb0fc25f46ea3d],
            RequestKind::Hhdm => [0x48dcf1cb8ad2b852, 0x63984e959a98244b],
            RequestKind::Framebuffer => [0x9d5827dcd881dd75, 0xa3148604f6fab11b],
            RequestKind::PagingMode => [0x95c1a0edab0944cb, 0xa4e5cb3842f7488a],
            RequestKind::Mp => [0x95a67b819a1b857e, 0xa0b61b723b6a73e0],
            RequestKind::MemoryMap => [0x67cf3d9d378a806f, 0xe304acdfc50c3c62],
            RequestKind::EntryPoint => [0x13d86c035a1cd3e1, 0x2b0caa89d8f3026a],
            RequestKind::ExecutableFile => [0xad97e90e83f1ed67, 0x31eb5d1c5ff23b69],
            RequestKind::Module => [0x3e7e279702be32af, 0xca1c4f3bd1280cee],
            RequestKind::Rsdp => [0xc5e77b6b397e7b43, 0x27637845accdcf3c],
            RequestKind::Smbios => [0x9e9046f11e095391, 0xaa4a520fefbde5ee],
            RequestKind::EfiSystemTable => [0x5ceba5163eaaf6d6, 0x0a6981610cf65fcc],
            RequestKind::EfiMemoryMap => [0x7df62a431d6872d5, 0xa4fcdfb3e57306c8],
            RequestKind::DateAtBoot => [0x502746e184c088aa, 0xfbc5ec83e6327893],
            RequestKind::ExecutableAddress => [0x71ba76863cc55f63, 0xb2644a48c516a487],
            RequestKind::ExecutableCmdline => [0x4b161536e598651e, 0xb390ad4a2f1f303a],
            RequestKind::DeviceTreeBlob => [0xb40ddb48fb54bac7, 0x545081493f81ffb7],
        }
    }

    /// The full four-word ID.
    pub const fn full_id(self) -> [u64; 4] {
        let id = self.id();
        [COMMON_MAGIC[0], COMMON_MAGIC[1], id[0], id[1]]
    }

    /// Looks up the request whose ID ends in `id`; `None` for one we do not know.
    pub fn from_id(id: [u64; 2]) -> Option<RequestKind> {
        RequestKind::ALL.into_iter().find(|kind| kind.id() == id)
    }

    /// Whether this loader answers the request. The others are found (so a
    /// duplicate is still caught) but left unanswered, as the protocol says.
    pub const fn is_answered(self) -> bool {
        matches!(
            self,
            RequestKind::BootloaderInfo
                | RequestKind::FirmwareType
                | RequestKind::StackSize
                | RequestKind::Hhdm
                | RequestKind::Framebuffer
                | RequestKind::PagingMode
                | RequestKind::MemoryMap
                | RequestKind::ExecutableFile
                | RequestKind::Module
                | RequestKind::Rsdp
                | RequestKind::ExecutableAddress
                | RequestKind::ExecutableCmdline
        )
    }
}

/// Limine memory-map entry types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum MemmapType {
    Usable = 0,
    Reserved = 1,
    AcpiReclaimable = 2,
    AcpiNvs = 3,
    BadMemory = 4,
    BootloaderReclaimable = 5,
    ExecutableAndModules = 6,
    Framebuffer = 7,
}

impl MemmapType {
    /// Whether base revision 3 maps memory of this type in the HHDM.
    pub const fn in_hhdm(self) -> bool {
        matches!(
            self,
            MemmapType::Usable
                | MemmapType::BootloaderReclaimable
                | MemmapType::ExecutableAndModules
                | MemmapType::Framebuffer
        )
    }

    pub const fn name(self) -> &'static str {
        match self {
            MemmapType::Usable => "usable",
            MemmapType::Reserved => "reserved",
            MemmapType::AcpiReclaimable => "ACPI reclaimable",
            MemmapType::AcpiNvs => "ACPI NVS",
            MemmapType::BadMemory => "bad memory",
            MemmapType::BootloaderReclaimable => "bootloader reclaimable",
            MemmapType::ExecutableAndModules => "executable and modules",
            MemmapType::Framebuffer => "framebuffer",
        }
    }
}

/// `struct limine_memmap_entry`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct MemmapEntry {
    pub base: u64,
    pub length: u64,
    pub kind: MemmapType,
}

impl MemmapEntry {
    pub const fn end(&self) -> u64 {
        self.base + self.length
    }
}

/// Firmware types of the firmware-type response.
pub const FIRMWARE_X86_BIOS: u64 = 0;
pub const FIRMWARE_UEFI32: u64 = 1;
pub const FIRMWARE_UEFI64: u64 = 2;

/// Paging modes of the paging-mode request and response (x86_64).
pub const PAGING_MODE_4LEVEL: u64 = 0;
pub const PAGING_MODE_5LEVEL: u64 = 1;

/// Media types of `struct limine_file`.
pub const MEDIA_GENERIC: u32 = 0;
pub const MEDIA_OPTICAL: u32 = 1;

/// `struct limine_file`, revision 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct File {
    pub revision: u64,
    pub address: u64,
    pub size: u64,
    pub path: u64,
    pub cmdline: u64,
    pub media_type: u32,
    pub unused: u32,
    pub tftp_ip: u32,
    pub tftp_port: u32,
    pub partition_index: u32,
    pub mbr_disk_id: u32,
    pub gpt_disk_uuid: [u8; 16],
    pub gpt_part_uuid: [u8; 16],
    pub part_uuid: [u8; 16],
}

/// `struct limine_framebuffer`, revision 0 (no video-mode list).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Framebuffer {
    pub address: u64,
    pub width: u64,
    pub height: u64,
    pub pitch: u64,
    pub bpp: u16,
    pub memory_model: u8,
    pub red_mask_size: u8,
    pub red_mask_shift: u8,
    pub green_mask_size: u8,
    pub green_mask_shift: u8,
    pub blue_mask_size: u8,
    pub blue_mask_shift: u8,
    pub unused: [u8; 7],
    pub edid_size: u64,
    pub edid: u64,
}

/// The framebuffer memory model the protocol defines.
pub const MEMORY_MODEL_RGB: u8 = 1;

// Layouts the kernel side (the `limine` crate, limine.h) relies on.
const _: () = assert!(core::mem::size_of::<MemmapEntry>() == 24);
const _: () = assert!(core::mem::size_of::<File>() == 112);
const _: () = assert!(core::mem::size_of::<Framebuffer>() == 64);
