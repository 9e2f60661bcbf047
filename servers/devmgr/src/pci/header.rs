//! The configuration header: the common first 16 bytes, then the type 0
//! (endpoint) or type 1 (PCI-to-PCI bridge) layout.
//!
//! [`PciHeader::read`] decodes a function's header without changing
//! anything (BAR sizing writes; it lives in `bar.rs`). Class, subclass and
//! programming interface are kept both apart and as Linux's 24-bit
//! `class`; bit 7 of the header type byte says the device is multifunction.

use super::{read_u16, read_u8, reg, ConfigAccess, PciAddress, PciError};
use crate::ids::PciIdent;

/// Which layout follows the common header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderKind {
    /// Type 0: an endpoint, with six BARs and a subsystem ID.
    Endpoint {
        /// Subsystem vendor ID.
        subsystem_vendor: u16,
        /// Subsystem ID.
        subsystem_id: u16,
    },
    /// Type 1: a PCI-to-PCI bridge, with two BARs and bus numbers.
    Bridge {
        /// The bus the bridge sits on.
        primary_bus: u8,
        /// The bus right behind it.
        secondary_bus: u8,
        /// The highest bus behind it.
        subordinate_bus: u8,
    },
    /// Type 2: a CardBus bridge (decoded no further).
    CardBus,
}

impl HeaderKind {
    /// How many BARs this layout has.
    pub fn bar_count(self) -> u8 {
        match self {
            HeaderKind::Endpoint { .. } => 6,
            HeaderKind::Bridge { .. } => 2,
            HeaderKind::CardBus => 1,
        }
    }
}

/// A decoded configuration header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciHeader {
    /// Where it was read.
    pub address: PciAddress,
    /// Vendor ID.
    pub vendor_id: u16,
    /// Device ID.
    pub device_id: u16,
    /// Command register.
    pub command: u16,
    /// Status register.
    pub status: u16,
    /// Revision ID.
    pub revision: u8,
    /// Base class (`0x01` = mass storage).
    pub class: u8,
    /// Subclass (`0x06` = SATA).
    pub subclass: u8,
    /// Programming interface (`0x01` = AHCI).
    pub prog_if: u8,
    /// Header type with the multifunction bit masked off.
    pub header_type: u8,
    /// Bit 7 of the header type byte.
    pub multifunction: bool,
    /// The layout-specific part.
    pub kind: HeaderKind,
    /// Interrupt line (what firmware routed INTx to; 0xFF = none).
    pub interrupt_line: u8,
    /// Interrupt pin: 0 none, 1–4 INTA#–INTD#.
    pub interrupt_pin: u8,
    /// The capabilities pointer, if the status says there is a list.
    pub capabilities_ptr: Option<u8>,
}

impl PciHeader {
    /// Reads the header of `addr`. `NoFunction` if nothing answers,
    /// `UnknownHeaderType` for a type other than 0, 1, 2.
    pub fn read(access: &mut dyn ConfigAccess, addr: PciAddress) -> Result<Self, PciError> {
        let id = access.read_dword(addr, reg::VENDOR_ID);
        let vendor_id = id as u16;
        if vendor_id == 0xFFFF || vendor_id == 0 {
            return Err(PciError::NoFunction);
        }
        let cmd_status = access.read_dword(addr, reg::COMMAND);
        let class_rev = access.read_dword(addr, reg::CLASS_REVISION);
        let header_byte = read_u8(access, addr, reg::HEADER_TYPE_DWORD + 2);
        let header_type = header_byte & 0x7F;
        let kind = match header_type {
            0 => HeaderKind::Endpoint {
                subsystem_vendor: read_u16(access, addr, reg::SUBSYSTEM),
                subsystem_id: read_u16(access, addr, reg::SUBSYSTEM + 2),
            },
            1 => {
                let buses = access.read_dword(addr, reg::BRIDGE_BUSES);
                HeaderKind::Bridge {
                    primary_bus: buses as u8,
                    secondary_bus: (buses >> 8) as u8,
                    subordinate_bus: (buses >> 16) as u8,
                }
            }
            2 => HeaderKind::CardBus,
            t => return Err(PciError::UnknownHeaderType(t)),
        };
        let status = (cmd_status >> 16) as u16;
        let interrupt = access.read_dword(addr, reg::INTERRUPT);
        let capabilities_ptr = (status & reg::STATUS_CAP_LIST != 0 && header_type != 2)
            .then(|| read_u8(access, addr, reg::CAPABILITY_LIST) & 0xFC);
        Ok(PciHeader {
            address: addr,
            vendor_id,
            device_id: (id >> 16) as u16,
            command: cmd_status as u16,
            status,
            revision: class_rev as u8,
            prog_if: (class_rev >> 8) as u8,
            subclass: (class_rev >> 16) as u8,
            class: (class_rev >> 24) as u8,
            header_type,
            multifunction: header_byte & 0x80 != 0,
            kind,
            interrupt_line: interrupt as u8,
            interrupt_pin: (interrupt >> 8) as u8,
            capabilities_ptr,
        })
    }

    /// Linux's 24-bit `class`: base class, subclass, prog-if.
    pub fn class_code(&self) -> u32 {
        u32::from(self.class) << 16 | u32::from(self.subclass) << 8 | u32::from(self.prog_if)
    }

    /// Whether this is a PCI-to-PCI bridge.
    pub fn is_bridge(&self) -> bool {
        matches!(self.kind, HeaderKind::Bridge { .. })
    }

    /// The identity the device model matches drivers against.
    pub fn ident(&self) -> PciIdent {
        let (subvendor, subdevice) = match self.kind {
            HeaderKind::Endpoint {
                subsystem_vendor,
                subsystem_id,
            } => (subsystem_vendor, subsystem_id),
            _ => (0, 0),
        };
        PciIdent {
            vendor: self.vendor_id,
            device: self.device_id,
            subvendor,
            subdevice,
            class: self.class_code(),
            revision: self.revision,
        }
    }
}
