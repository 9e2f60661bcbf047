//! Programming a function's MSI capability (PCI Local Bus 3.0, 6.8.1), as
//! Linux's `msi_capability_init` does for one vector.
//!
//! The capability's layout depends on its Message Control register (at
//! `offset + 2`): bit 7 says the message address is 64 bits, bit 8 that
//! per-vector mask bits follow.
//!
//! ```text
//! offset + 0x0  ID (0x05) | next | Message Control
//! offset + 0x4  Message Address (low 32 bits; bits 1–0 zero)
//! 32-bit form:  offset + 0x8  Message Data (16 bits)
//! 64-bit form:  offset + 0x8  Message Upper Address
//!               offset + 0xC  Message Data (16 bits)
//! then, with per-vector masking: Mask Bits, Pending Bits (one dword each)
//! ```
//!
//! [`enable`] writes the address and data the kernel gave for the vector
//! (`irq_msi_alloc`), with MSI still off; then turns MSI on with one
//! vector (Multiple Message Enable, bits 6–4, zero) and unmasks vector 0
//! if the function can mask; and sets the command register's Interrupt
//! Disable bit (10), so the function stops asserting its INTx pin.
//! [`disable`] undoes the enable and lets INTx through again.

use super::caps::Msi;
use super::{read_u16, reg, write_u16, ConfigAccess, PciAddress};

/// Message Control: MSI Enable.
pub const CONTROL_ENABLE: u16 = 1 << 0;
/// Message Control: Multiple Message Enable (bits 6–4: log2 of the
/// vectors the function may use).
pub const CONTROL_MME: u16 = 0b111 << 4;
/// Message Control: 64-bit message address.
pub const CONTROL_64BIT: u16 = 1 << 7;
/// Message Control: per-vector masking.
pub const CONTROL_MASKABLE: u16 = 1 << 8;

/// Where the registers of an MSI capability are (offsets into the
/// function's configuration space).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsiLayout {
    /// Message Control (16 bits).
    pub control: u16,
    /// Message Address, low dword.
    pub address_low: u16,
    /// Message Upper Address (64-bit form only).
    pub address_high: Option<u16>,
    /// Message Data (the low half of its dword).
    pub data: u16,
    /// Mask Bits (per-vector masking only).
    pub mask: Option<u16>,
    /// The capability's length in bytes: 10/14 without masking, 20/24
    /// with.
    pub len: u16,
}

impl MsiLayout {
    /// The layout of `msi`.
    pub fn of(msi: &Msi) -> Self {
        let base = u16::from(msi.offset);
        let (address_high, data) = if msi.is_64bit {
            (Some(base + 0x8), base + 0xC)
        } else {
            (None, base + 0x8)
        };
        let mask = msi.per_vector_mask.then_some(data + 0x4);
        let len = match mask {
            Some(mask) => mask + 0x8 - base,
            None => data + 0x2 - base,
        };
        MsiLayout {
            control: base + 2,
            address_low: base + 0x4,
            address_high,
            data,
            mask,
            len,
        }
    }

    /// Whether the dword at `offset` (dword-aligned) holds any of the
    /// capability's registers: what a driver may not write itself (its
    /// messages are devmgr's to program).
    pub fn covers_dword(&self, offset: u16) -> bool {
        let start = self.control - 2;
        offset + 4 > start && offset < start + self.len
    }
}

/// What [`enable`] refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsiError {
    /// A 64-bit message address for a capability with 32-bit addresses
    /// (or one that is not dword-aligned).
    BadAddress,
    /// Message data wider than the register's 16 bits.
    BadData,
}

/// Programs `msi` of `addr` to send `data` to `address` (one vector, MSI
/// on) and disables the function's INTx. `BadAddress`, `BadData`;
/// nothing is written then.
pub fn enable(
    access: &mut dyn ConfigAccess,
    addr: PciAddress,
    msi: &Msi,
    address: u64,
    data: u64,
) -> Result<(), MsiError> {
    let layout = MsiLayout::of(msi);
    if address & 3 != 0 || (layout.address_high.is_none() && address >> 32 != 0) {
        return Err(MsiError::BadAddress);
    }
    let data = u16::try_from(data).map_err(|_| MsiError::BadData)?;
    // Off while the message changes: a half-written one must not fire.
    let control = read_u16(access, addr, layout.control) & !(CONTROL_ENABLE | CONTROL_MME);
    write_u16(access, addr, layout.control, control);
    access.write_dword(addr, layout.address_low, address as u32);
    if let Some(high) = layout.address_high {
        access.write_dword(addr, high, (address >> 32) as u32);
    }
    // The data register's dword: the upper half is reserved (or Extended
    // Message Data, off unless enabled): zero.
    access.write_dword(addr, layout.data, u32::from(data));
    if let Some(mask) = layout.mask {
        // Vector 0 unmasked (the others are not used).
        let bits = access.read_dword(addr, mask);
        access.write_dword(addr, mask, bits & !1);
    }
    write_u16(access, addr, layout.control, control | CONTROL_ENABLE);
    let command = read_u16(access, addr, reg::COMMAND);
    write_u16(
        access,
        addr,
        reg::COMMAND,
        command | reg::COMMAND_INTX_DISABLE,
    );
    Ok(())
}

/// Turns `msi` of `addr` off and INTx back on (the function's driver is
/// gone, or gave MSI up).
pub fn disable(access: &mut dyn ConfigAccess, addr: PciAddress, msi: &Msi) {
    let layout = MsiLayout::of(msi);
    let control = read_u16(access, addr, layout.control);
    write_u16(
        access,
        addr,
        layout.control,
        control & !(CONTROL_ENABLE | CONTROL_MME),
    );
    let command = read_u16(access, addr, reg::COMMAND);
    write_u16(
        access,
        addr,
        reg::COMMAND,
        command & !reg::COMMAND_INTX_DISABLE,
    );
}

/// Whether MSI is on in `msi` of `addr` now (read from the device).
pub fn enabled(access: &mut dyn ConfigAccess, addr: PciAddress, msi: &Msi) -> bool {
    read_u16(access, addr, MsiLayout::of(msi).control) & CONTROL_ENABLE != 0
}
