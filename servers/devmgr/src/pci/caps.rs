//! The capabilities list: a chain of (ID, next) pairs in configuration
//! space, starting at the header's capabilities pointer.
//!
//! [`capabilities`] walks it as Linux's `pci_find_capability` does: at
//! most [`CAP_TTL`] entries (48, Linux's `PCI_FIND_CAP_TTL`), pointers
//! below 0x40 end it, and an entry seen twice ends it too — a broken or
//! hostile device cannot make the walk loop. [`Msi::read`] and
//! [`MsiX::read`] decode the two interrupt capabilities a driver chooses
//! between.

use alloc::vec::Vec;

use super::{read_u16, ConfigAccess, PciAddress};

/// Most capabilities walked.
pub const CAP_TTL: usize = 48;
/// Power management.
pub const CAP_ID_PM: u8 = 0x01;
/// Message Signalled Interrupts.
pub const CAP_ID_MSI: u8 = 0x05;
/// Vendor-specific (virtio's configuration structures).
pub const CAP_ID_VNDR: u8 = 0x09;
/// PCI Express.
pub const CAP_ID_EXP: u8 = 0x10;
/// MSI-X.
pub const CAP_ID_MSIX: u8 = 0x11;
/// SATA configuration.
pub const CAP_ID_SATA: u8 = 0x12;

/// One capability: its ID and where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability {
    /// `PCI_CAP_ID_*`.
    pub id: u8,
    /// Its offset in configuration space.
    pub offset: u8,
}

/// Walks the capabilities list from `start` (the header's pointer).
pub fn capabilities(access: &mut dyn ConfigAccess, addr: PciAddress, start: u8) -> Vec<Capability> {
    let mut caps: Vec<Capability> = Vec::new();
    let mut ptr = start & 0xFC;
    while ptr >= 0x40 && caps.len() < CAP_TTL {
        if caps.iter().any(|c| c.offset == ptr) {
            break;
        }
        let word = read_u16(access, addr, ptr.into());
        let id = word as u8;
        if id == 0xFF {
            break;
        }
        caps.push(Capability { id, offset: ptr });
        ptr = (word >> 8) as u8 & 0xFC;
    }
    caps
}

/// The MSI capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Msi {
    /// Where it is.
    pub offset: u8,
    /// Message address is 64 bits.
    pub is_64bit: bool,
    /// Vectors the device can use (1–32).
    pub max_vectors: u8,
    /// Per-vector masking.
    pub per_vector_mask: bool,
    /// Currently enabled.
    pub enabled: bool,
}

impl Msi {
    /// Decodes the MSI capability at `offset`.
    pub fn read(access: &mut dyn ConfigAccess, addr: PciAddress, offset: u8) -> Self {
        let control = read_u16(access, addr, u16::from(offset) + 2);
        let mmc = ((control >> 1) & 7).min(5) as u32;
        Msi {
            offset,
            is_64bit: control & (1 << 7) != 0,
            max_vectors: (1u32 << mmc) as u8,
            per_vector_mask: control & (1 << 8) != 0,
            enabled: control & 1 != 0,
        }
    }
}

/// The MSI-X capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsiX {
    /// Where it is.
    pub offset: u8,
    /// Table entries (1–2048).
    pub table_size: u16,
    /// The BAR holding the vector table.
    pub table_bar: u8,
    /// The table's offset in that BAR.
    pub table_offset: u32,
    /// The BAR holding the pending-bit array.
    pub pba_bar: u8,
    /// The PBA's offset in that BAR.
    pub pba_offset: u32,
    /// Currently enabled.
    pub enabled: bool,
}

impl MsiX {
    /// Decodes the MSI-X capability at `offset`.
    pub fn read(access: &mut dyn ConfigAccess, addr: PciAddress, offset: u8) -> Self {
        let control = read_u16(access, addr, u16::from(offset) + 2);
        let at = |access: &mut dyn ConfigAccess, o: u16| {
            let base = u16::from(offset) + o;
            u32::from(read_u16(access, addr, base))
                | u32::from(read_u16(access, addr, base + 2)) << 16
        };
        let table = at(access, 4);
        let pba = at(access, 8);
        MsiX {
            offset,
            table_size: (control & 0x7FF) + 1,
            table_bar: (table & 7) as u8,
            table_offset: table & !7,
            pba_bar: (pba & 7) as u8,
            pba_offset: pba & !7,
            enabled: control & (1 << 15) != 0,
        }
    }
}
