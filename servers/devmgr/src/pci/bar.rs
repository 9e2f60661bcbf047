//! Base Address Registers: sizing and decoding.
//!
//! A BAR's low bits say what it is (bit 0: I/O or memory; bits 2:1: 32- or
//! 64-bit memory; bit 3: prefetchable) and its writable high bits say how
//! big the window is: write all ones, read back, and the bits that stayed
//! zero are the size's. [`size_bars`] does that for each BAR, restoring its
//! value after, with the function's I/O and memory decoding turned off
//! meanwhile so that the transient all-ones address decodes nothing (as
//! Linux's `__pci_read_base`). A 64-bit BAR takes two slots; its upper half
//! is sized with it.

use alloc::vec::Vec;

use super::header::PciHeader;
use super::{read_u16, reg, write_u16, ConfigAccess, PciAddress, PciError};
use crate::model::{
    Resource, IORESOURCE_IO, IORESOURCE_MEM, IORESOURCE_MEM_64, IORESOURCE_PREFETCH,
};

/// A decoded, sized BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bar {
    /// A port range.
    Io {
        /// First port.
        port: u32,
        /// Length in ports.
        size: u32,
    },
    /// A memory range.
    Memory {
        /// Physical base address.
        address: u64,
        /// Length in bytes.
        size: u64,
        /// Reads have no side effects (may be mapped write-combining).
        prefetchable: bool,
        /// The BAR is 64 bits wide (uses the next slot too).
        is_64bit: bool,
    },
}

impl Bar {
    /// The range as a device-model resource (`struct resource`).
    pub fn resource(&self) -> Resource {
        match *self {
            Bar::Io { port, size } => Resource {
                start: port.into(),
                end: u64::from(port) + u64::from(size).saturating_sub(1),
                flags: IORESOURCE_IO,
            },
            Bar::Memory {
                address,
                size,
                prefetchable,
                is_64bit,
            } => {
                let mut flags = IORESOURCE_MEM;
                if prefetchable {
                    flags |= IORESOURCE_PREFETCH;
                }
                if is_64bit {
                    flags |= IORESOURCE_MEM_64;
                }
                Resource {
                    start: address,
                    end: address.saturating_add(size.saturating_sub(1)),
                    flags,
                }
            }
        }
    }
}

/// Writes all ones to the dword at `offset`, reads it back, restores it.
/// Returns (original, read back).
fn probe_dword(access: &mut dyn ConfigAccess, addr: PciAddress, offset: u16) -> (u32, u32) {
    let original = access.read_dword(addr, offset);
    access.write_dword(addr, offset, 0xFFFF_FFFF);
    let sized = access.read_dword(addr, offset);
    access.write_dword(addr, offset, original);
    (original, sized)
}

/// Sizes and decodes the BARs of the function whose header is `header`:
/// one entry per BAR slot, `None` for an unimplemented BAR and for the
/// upper half of a 64-bit one. `BarOverflow` for a 64-bit BAR in the last
/// slot. The function's BARs and command register are as before after.
pub fn size_bars(
    access: &mut dyn ConfigAccess,
    header: &PciHeader,
) -> Result<Vec<Option<Bar>>, PciError> {
    let addr = header.address;
    let count = header.kind.bar_count();
    let command = read_u16(access, addr, reg::COMMAND);
    let decode = reg::COMMAND_IO | reg::COMMAND_MEMORY;
    if command & decode != 0 {
        write_u16(access, addr, reg::COMMAND, command & !decode);
    }
    let result = size_all(access, addr, count);
    if command & decode != 0 {
        write_u16(access, addr, reg::COMMAND, command);
    }
    result
}

fn size_all(
    access: &mut dyn ConfigAccess,
    addr: PciAddress,
    count: u8,
) -> Result<Vec<Option<Bar>>, PciError> {
    let mut bars = Vec::with_capacity(count.into());
    let mut slot = 0;
    while slot < count {
        let offset = reg::BAR0 + 4 * u16::from(slot);
        let (original, sized) = probe_dword(access, addr, offset);
        if sized == 0 || sized == 0xFFFF_FFFF {
            bars.push(None);
            slot += 1;
            continue;
        }
        if original & 1 == 1 {
            let mut mask = sized & !3;
            if mask & 0xFFFF_0000 == 0 {
                // A 16-bit I/O decoder: the upper half reads as zero.
                mask |= 0xFFFF_0000;
            }
            let size = (!mask).wrapping_add(1);
            bars.push((mask & 0xFFFC != 0).then_some(Bar::Io {
                port: original & !3,
                size,
            }));
            slot += 1;
            continue;
        }
        let prefetchable = original & 8 != 0;
        let is_64bit = (original >> 1) & 3 == 2;
        let (mut address, mut mask) = (u64::from(original & !0xF), u64::from(sized & !0xF));
        if is_64bit {
            if slot + 1 >= count {
                return Err(PciError::BarOverflow);
            }
            let (hi, hi_sized) = probe_dword(access, addr, offset + 4);
            address |= u64::from(hi) << 32;
            mask |= u64::from(hi_sized) << 32;
        } else {
            mask |= 0xFFFF_FFFF_0000_0000;
        }
        let bar = (mask != 0xFFFF_FFFF_0000_0000 && mask != 0).then_some(Bar::Memory {
            address,
            size: (!mask).wrapping_add(1),
            prefetchable,
            is_64bit,
        });
        bars.push(bar);
        if is_64bit {
            bars.push(None);
            slot += 2;
        } else {
            slot += 1;
        }
    }
    Ok(bars)
}
