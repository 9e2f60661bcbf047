//! PCI: configuration space, header decoding, capabilities, BAR sizing,
//! enumeration and names (the `pci` bus of the device model).
//!
//! Configuration space is read and written a dword at a time through a
//! [`ConfigAccess`]: the server implements it with the legacy port pair
//! 0xCF8/0xCFC ([`legacy_config_address`]) or with ECAM from the ACPI MCFG
//! table ([`enumerate::McfgEntry::address`]); the tests implement it over
//! recorded configuration-space dumps. Absent functions read as all ones,
//! as on the hardware.
//!
//! - [`header`]: the common header and the type 0 (endpoint) and type 1
//!   (PCI-to-PCI bridge) layouts.
//! - [`caps`]: the capabilities list, walked with loop protection, and
//!   the MSI and MSI-X capabilities.
//! - [`msi`]: programming a function's MSI capability for one vector
//!   (the message the kernel gave), INTx off; and undoing it.
//! - [`bar`]: sizing Base Address Registers (write all ones, read back,
//!   restore) and decoding them: I/O or memory, 32 or 64 bits,
//!   prefetchable.
//! - [`enumerate`]: every function on every bus reachable through bridges.
//! - [`names`]: vendor, device and class names for what QEMU's `pc` and
//!   `q35` machines show, and an `lspci -nn` line.
//! - [`route`]: the GSI a function's INTx pin reaches on `q35` and `pc`.

use core::fmt;

pub mod bar;
pub mod caps;
pub mod enumerate;
pub mod header;
pub mod msi;
pub mod names;
pub mod route;

/// Offsets into the configuration header (`PCI_*` of `pci_regs.h`).
pub mod reg {
    /// Vendor ID (low half) and device ID (high half).
    pub const VENDOR_ID: u16 = 0x00;
    /// Command (low half) and status (high half).
    pub const COMMAND: u16 = 0x04;
    /// Revision, prog-if, subclass, class.
    pub const CLASS_REVISION: u16 = 0x08;
    /// Cache line, latency timer, header type, BIST.
    pub const HEADER_TYPE_DWORD: u16 = 0x0C;
    /// The first Base Address Register.
    pub const BAR0: u16 = 0x10;
    /// Type 1: primary, secondary and subordinate bus numbers.
    pub const BRIDGE_BUSES: u16 = 0x18;
    /// Type 0: subsystem vendor (low) and subsystem ID (high).
    pub const SUBSYSTEM: u16 = 0x2C;
    /// The capabilities pointer (both header types).
    pub const CAPABILITY_LIST: u16 = 0x34;
    /// Interrupt line, pin, min grant, max latency (type 0); for type 1
    /// line, pin and bridge control.
    pub const INTERRUPT: u16 = 0x3C;

    /// Command: respond to I/O space accesses.
    pub const COMMAND_IO: u16 = 1 << 0;
    /// Command: respond to memory space accesses.
    pub const COMMAND_MEMORY: u16 = 1 << 1;
    /// Command: may master the bus (DMA).
    pub const COMMAND_MASTER: u16 = 1 << 2;
    /// Command: legacy INTx disabled.
    pub const COMMAND_INTX_DISABLE: u16 = 1 << 10;
    /// Status: the capabilities list is valid.
    pub const STATUS_CAP_LIST: u16 = 1 << 4;
}

/// Segment, bus, device and function of a PCI function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddress {
    segment: u16,
    bus: u8,
    device: u8,
    function: u8,
}

/// What PCI code refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PciError {
    /// Device over 31 or function over 7.
    BadAddress,
    /// A configuration offset not below 4096 (256 without ECAM) or not
    /// dword-aligned.
    BadOffset,
    /// A bus outside the MCFG entry's range, or another segment.
    NotInSegment,
    /// No function answers at this address (vendor ID 0xFFFF).
    NoFunction,
    /// A header type other than 0, 1 and 2.
    UnknownHeaderType(u8),
    /// A 64-bit BAR in the last BAR slot (no upper half).
    BarOverflow,
    /// An MCFG entry shorter than 16 bytes or with its end bus below its
    /// start bus.
    BadMcfg,
}

impl PciAddress {
    /// Checks and makes an address. `BadAddress`.
    pub fn new(segment: u16, bus: u8, device: u8, function: u8) -> Result<Self, PciError> {
        if device > 31 || function > 7 {
            return Err(PciError::BadAddress);
        }
        Ok(PciAddress {
            segment,
            bus,
            device,
            function,
        })
    }

    /// Its segment (PCI domain).
    pub fn segment(self) -> u16 {
        self.segment
    }
    /// Its bus.
    pub fn bus(self) -> u8 {
        self.bus
    }
    /// Its device (slot), 0–31.
    pub fn device(self) -> u8 {
        self.device
    }
    /// Its function, 0–7.
    pub fn function(self) -> u8 {
        self.function
    }
}

/// Linux's slot name: `0000:00:03.0`.
impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{}",
            self.segment, self.bus, self.device, self.function
        )
    }
}

/// Reads and writes configuration space, one aligned dword at a time.
/// `offset` is below 4096 and a multiple of 4 (callers check with
/// [`check_offset`]); an absent function reads as `0xFFFF_FFFF` and
/// ignores writes.
pub trait ConfigAccess {
    /// The dword at `offset` of `addr`'s configuration space.
    fn read_dword(&mut self, addr: PciAddress, offset: u16) -> u32;
    /// Writes the dword at `offset`.
    fn write_dword(&mut self, addr: PciAddress, offset: u16, value: u32);
}

/// Checks a configuration offset for [`ConfigAccess`]. `BadOffset`.
pub fn check_offset(offset: u16) -> Result<u16, PciError> {
    if offset >= 4096 || !offset.is_multiple_of(4) {
        return Err(PciError::BadOffset);
    }
    Ok(offset)
}

/// The 16 bits at `offset` (any even offset), from its dword.
pub fn read_u16(access: &mut dyn ConfigAccess, addr: PciAddress, offset: u16) -> u16 {
    let dword = access.read_dword(addr, offset & !3);
    (dword >> ((offset & 2) * 8)) as u16
}

/// The byte at `offset`, from its dword.
pub fn read_u8(access: &mut dyn ConfigAccess, addr: PciAddress, offset: u16) -> u8 {
    let dword = access.read_dword(addr, offset & !3);
    (dword >> ((offset & 3) * 8)) as u8
}

/// Writes the 16 bits at `offset` (even) with a read-modify-write of
/// its dword. Status bits written back as read are write-one-to-clear on
/// real hardware: use this only for the command register's own half.
pub fn write_u16(access: &mut dyn ConfigAccess, addr: PciAddress, offset: u16, value: u16) {
    let aligned = offset & !3;
    let shift = (offset & 2) * 8;
    let mut dword = access.read_dword(addr, aligned);
    if aligned == reg::COMMAND {
        // Don't clear the status register's RW1C bits by writing them back.
        dword &= 0x0000_FFFF;
    }
    dword &= !(0xFFFF << shift);
    dword |= u32::from(value) << shift;
    access.write_dword(addr, aligned, dword);
}

/// The value to write to port 0xCF8 for `offset` of `addr` (configuration
/// mechanism #1: enable bit, bus, device, function, register), then read
/// or write the dword at port 0xCFC. Only segment 0 and offsets below 256.
/// `NotInSegment`, `BadOffset`.
pub fn legacy_config_address(addr: PciAddress, offset: u16) -> Result<u32, PciError> {
    if addr.segment != 0 {
        return Err(PciError::NotInSegment);
    }
    if offset >= 256 || !offset.is_multiple_of(4) {
        return Err(PciError::BadOffset);
    }
    Ok(0x8000_0000
        | u32::from(addr.bus) << 16
        | u32::from(addr.device) << 11
        | u32::from(addr.function) << 8
        | u32::from(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let a = PciAddress::new(0, 0, 0x1f, 3).unwrap();
        assert_eq!(alloc::format!("{a}"), "0000:00:1f.3");
        assert_eq!(legacy_config_address(a, 0x10), Ok(0x8000_FB10));
        assert_eq!(legacy_config_address(a, 0x11), Err(PciError::BadOffset));
        assert_eq!(PciAddress::new(0, 0, 32, 0), Err(PciError::BadAddress));
        assert_eq!(PciAddress::new(0, 0, 0, 8), Err(PciError::BadAddress));
    }
}
