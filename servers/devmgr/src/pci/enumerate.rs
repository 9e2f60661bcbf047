//! Enumeration: every function on every bus reachable from bus 0, and the
//! ECAM address computation from an ACPI MCFG entry.
//!
//! [`enumerate`] scans a bus's 32 devices; function 0 answering with its
//! multifunction bit set means functions 1–7 are scanned too. A
//! PCI-to-PCI bridge's secondary bus is scanned in turn (firmware — SeaBIOS
//! or OVMF under QEMU — has numbered the buses). Each bus is scanned at
//! most once, so a bridge that names a bus already seen, bus 0, or a bus
//! not above its own cannot make the scan loop. Every function found gets
//! its header decoded, its BARs sized and its capabilities walked.

use alloc::vec::Vec;

use super::bar::{size_bars, Bar};
use super::caps::{capabilities, Capability, Msi, MsiX, CAP_ID_MSI, CAP_ID_MSIX};
use super::header::{HeaderKind, PciHeader};
use super::{PciAddress, PciError};
use crate::ids::DeviceIdent;
use crate::model::{BusType, DeviceSpec};
use crate::ObjectId;

/// Everything enumeration learns about one function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PciFunction {
    /// Its header.
    pub header: PciHeader,
    /// Its BARs, sized (one entry per slot).
    pub bars: Vec<Option<Bar>>,
    /// Its capabilities list.
    pub capabilities: Vec<Capability>,
    /// Its MSI capability.
    pub msi: Option<Msi>,
    /// Its MSI-X capability.
    pub msix: Option<MsiX>,
}

impl PciFunction {
    /// Reads, sizes and decodes the function at `addr`. `NoFunction`,
    /// `UnknownHeaderType`, `BarOverflow`.
    pub fn probe(access: &mut dyn super::ConfigAccess, addr: PciAddress) -> Result<Self, PciError> {
        let header = PciHeader::read(access, addr)?;
        let bars = size_bars(access, &header)?;
        let caps = header
            .capabilities_ptr
            .map(|p| capabilities(access, addr, p))
            .unwrap_or_default();
        let find = |id| caps.iter().find(|c| c.id == id).map(|c| c.offset);
        let msi = find(CAP_ID_MSI).map(|o| Msi::read(access, addr, o));
        let msix = find(CAP_ID_MSIX).map(|o| MsiX::read(access, addr, o));
        Ok(PciFunction {
            header,
            bars,
            capabilities: caps,
            msi,
            msix,
        })
    }

    /// The device-model registration of this function under `parent` (the
    /// host bridge's device): named by its slot, with its IDs, its IRQ line
    /// (if it has a pin and firmware routed it) and its BARs as resources.
    pub fn device_spec(&self, parent: Option<ObjectId>) -> DeviceSpec {
        let mut spec = DeviceSpec::new(&alloc::format!("{}", self.header.address));
        spec.parent = parent;
        spec.bus = Some(BusType::Pci);
        spec.ident = DeviceIdent::Pci(self.header.ident());
        let h = &self.header;
        if h.interrupt_pin != 0 && h.interrupt_line != 0xFF {
            spec.irq = Some(h.interrupt_line.into());
        }
        spec.resources = self.bars.iter().flatten().map(Bar::resource).collect();
        spec
    }
}

/// Scans every bus of `segment` reachable from bus 0; the functions come
/// sorted by address. Functions whose header cannot be decoded are
/// skipped (a misbehaving device does not hide the others).
pub fn enumerate(access: &mut dyn super::ConfigAccess, segment: u16) -> Vec<PciFunction> {
    let mut seen = [false; 256];
    let mut pending: Vec<u8> = alloc::vec![0];
    let mut found = Vec::new();
    while let Some(bus) = pending.pop() {
        if core::mem::replace(&mut seen[usize::from(bus)], true) {
            continue;
        }
        for device in 0..32 {
            scan_slot(
                access,
                segment,
                bus,
                device,
                &mut found,
                &mut pending,
                &seen,
            );
        }
    }
    found.sort_by_key(|f: &PciFunction| f.header.address);
    found
}

fn scan_slot(
    access: &mut dyn super::ConfigAccess,
    segment: u16,
    bus: u8,
    device: u8,
    found: &mut Vec<PciFunction>,
    pending: &mut Vec<u8>,
    seen: &[bool; 256],
) {
    for function in 0..8 {
        let Ok(addr) = PciAddress::new(segment, bus, device, function) else {
            return;
        };
        let f = match PciFunction::probe(access, addr) {
            Ok(f) => f,
            // No function 0: the slot is empty.
            Err(_) if function == 0 => return,
            Err(_) => continue,
        };
        let multifunction = f.header.multifunction;
        if let HeaderKind::Bridge { secondary_bus, .. } = f.header.kind {
            if secondary_bus > bus && !seen[usize::from(secondary_bus)] {
                pending.push(secondary_bus);
            }
        }
        found.push(f);
        if function == 0 && !multifunction {
            return;
        }
    }
}

/// One allocation entry of the ACPI MCFG table: where a segment's buses'
/// configuration spaces are memory-mapped (ECAM).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct McfgEntry {
    /// Physical base of the window (bus `start_bus`'s space).
    pub base: u64,
    /// The PCI segment group.
    pub segment: u16,
    /// The first bus decoded.
    pub start_bus: u8,
    /// The last bus decoded.
    pub end_bus: u8,
}

impl McfgEntry {
    /// Decodes a 16-byte MCFG allocation entry (base, segment, start and
    /// end bus, reserved). `BadMcfg`.
    pub fn parse(bytes: &[u8]) -> Result<Self, PciError> {
        let b = bytes.get(..16).ok_or(PciError::BadMcfg)?;
        let mut base = [0u8; 8];
        base.copy_from_slice(&b[..8]);
        let entry = McfgEntry {
            base: u64::from_le_bytes(base),
            segment: u16::from_le_bytes([b[8], b[9]]),
            start_bus: b[10],
            end_bus: b[11],
        };
        if entry.end_bus < entry.start_bus {
            return Err(PciError::BadMcfg);
        }
        Ok(entry)
    }

    /// Bytes of the window: 1 MiB per bus.
    pub fn window_size(&self) -> u64 {
        (u64::from(self.end_bus - self.start_bus) + 1) << 20
    }

    /// The physical address of `offset` in `addr`'s configuration space:
    /// base + (bus − start) << 20 | device << 15 | function << 12 | offset.
    /// `NotInSegment`, `BadOffset`.
    pub fn address(&self, addr: PciAddress, offset: u16) -> Result<u64, PciError> {
        if addr.segment() != self.segment
            || addr.bus() < self.start_bus
            || addr.bus() > self.end_bus
        {
            return Err(PciError::NotInSegment);
        }
        if offset >= 4096 {
            return Err(PciError::BadOffset);
        }
        let bus = u64::from(addr.bus() - self.start_bus);
        Ok(self.base
            + (bus << 20
                | u64::from(addr.device()) << 15
                | u64::from(addr.function()) << 12
                | u64::from(offset)))
    }
}
