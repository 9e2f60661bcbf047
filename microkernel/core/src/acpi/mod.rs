//! Just enough ACPI for interrupt routing: find the MADT from the RSDP and
//! read the local APIC address, the I/O APICs and the interrupt source
//! overrides (which ISA IRQ arrives on which global system interrupt).
//! [`power`] reads the FADT and the DSDT's `\_S5` for power-off and reset.
//!
//! Shared by the loader (which masks every I/O APIC input before the
//! hand-off) and the kernel. Callers read the tables from memory and hand
//! the bytes here; these functions only parse, checking lengths and
//! checksums, and never trust a length that runs past the bytes given.

pub mod power;

/// Size of the common header of every system description table.
pub const SDT_HEADER_LEN: usize = 36;

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn checksum_ok(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)) == 0
}

/// The root table an RSDP points to: (physical address, whether it is the
/// 64-bit XSDT). `rsdp` must hold at least the 36 bytes of an ACPI 2.0 RSDP
/// (20 suffice for 1.0). `None` if the signature or checksum is wrong.
pub fn root_table(rsdp: &[u8]) -> Option<(u64, bool)> {
    if rsdp.get(..8)? != b"RSD PTR " || !checksum_ok(rsdp.get(..20)?) {
        return None;
    }
    let revision = *rsdp.get(15)?;
    if revision >= 2 {
        let length = u32_at(rsdp, 20)? as usize;
        if checksum_ok(rsdp.get(..length.max(36))?) {
            return Some((u64_at(rsdp, 24)?, true));
        }
    }
    Some((u64::from(u32_at(rsdp, 16)?), false))
}

/// The length a table's header claims (read from its first 36 bytes).
pub fn table_length(header: &[u8]) -> Option<usize> {
    Some(u32_at(header, 4)? as usize)
}

/// Whether `table` is a whole, checksummed table with this signature.
pub fn is_table(table: &[u8], signature: &[u8; 4]) -> bool {
    table.len() >= SDT_HEADER_LEN
        && table[..4] == signature[..]
        && table_length(table) == Some(table.len())
        && checksum_ok(table)
}

/// The physical addresses of the tables a root table (RSDT or XSDT) lists.
pub fn root_entries(root: &[u8], xsdt: bool) -> impl Iterator<Item = u64> + '_ {
    let width = if xsdt { 8 } else { 4 };
    let body = root.get(SDT_HEADER_LEN..).unwrap_or(&[]);
    body.chunks_exact(width).map(move |chunk| {
        if xsdt {
            u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]))
        } else {
            u64::from(u32::from_le_bytes(chunk.try_into().unwrap_or([0; 4])))
        }
    })
}

/// The MADT's entries as (type, bytes), stopping at the first malformed one.
fn madt_entries(madt: &[u8]) -> impl Iterator<Item = (u8, &[u8])> + '_ {
    // Entries start after the header, the local APIC address and the flags.
    let mut at = SDT_HEADER_LEN + 8;
    core::iter::from_fn(move || {
        let kind = *madt.get(at)?;
        let len = *madt.get(at + 1)? as usize;
        if len < 2 || at + len > madt.len() {
            return None;
        }
        let entry = &madt[at..at + len];
        at += len;
        Some((kind, entry))
    })
}

/// The physical address of the local APIC the MADT gives (a 64-bit
/// override entry, type 5, wins over the header's 32-bit field).
pub fn madt_local_apic(madt: &[u8]) -> Option<u64> {
    let header = u64::from(u32_at(madt, SDT_HEADER_LEN)?);
    let over = madt_entries(madt).find(|(kind, e)| *kind == 5 && e.len() >= 12);
    Some(over.and_then(|(_, e)| u64_at(e, 4)).unwrap_or(header))
}

/// An I/O APIC: its MMIO address and the first global system interrupt
/// (GSI) it handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoApic {
    pub id: u8,
    pub address: u64,
    pub gsi_base: u32,
}

/// The I/O APICs a MADT describes.
pub fn madt_ioapics(madt: &[u8]) -> impl Iterator<Item = IoApic> + '_ {
    // Type 1: I/O APIC (id, reserved, address, GSI base).
    madt_entries(madt)
        .filter(|(kind, e)| *kind == 1 && e.len() >= 12)
        .map(|(_, e)| IoApic {
            id: e[2],
            address: u64::from(u32_at(e, 4).unwrap_or(0)),
            gsi_base: u32_at(e, 8).unwrap_or(0),
        })
}

/// An interrupt source override: ISA IRQ `irq` arrives on `gsi`, with the
/// MPS polarity/trigger `flags` (0 = the bus's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Override {
    pub irq: u8,
    pub gsi: u32,
    pub flags: u16,
}

/// The interrupt source overrides a MADT lists (type 2).
pub fn madt_overrides(madt: &[u8]) -> impl Iterator<Item = Override> + '_ {
    madt_entries(madt)
        .filter(|(kind, e)| *kind == 2 && e.len() >= 10)
        .map(|(_, e)| Override {
            irq: e[3],
            gsi: u32_at(e, 4).unwrap_or(0),
            flags: u16::from_le_bytes([e[8], e[9]]),
        })
}

/// The GSI an ISA IRQ arrives on: its override, or the same number.
pub fn isa_irq_to_gsi(madt: &[u8], irq: u8) -> u32 {
    isa_irq_route(madt, irq).gsi
}

/// Where and how an ISA IRQ arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IsaRoute {
    pub gsi: u32,
    pub active_low: bool,
    pub level_triggered: bool,
}

/// The route of ISA IRQ `irq`: its override's GSI and signalling (MPS INTI
/// flags: bits 0–1 polarity, 01 high, 11 low; bits 2–3 trigger, 01 edge,
/// 11 level; 00 is the ISA default, edge and active-high), or the same
/// number, edge, active-high.
pub fn isa_irq_route(madt: &[u8], irq: u8) -> IsaRoute {
    match madt_overrides(madt).find(|o| o.irq == irq) {
        Some(o) => IsaRoute {
            gsi: o.gsi,
            active_low: o.flags & 0b11 == 0b11,
            level_triggered: (o.flags >> 2) & 0b11 == 0b11,
        },
        None => IsaRoute {
            gsi: u32::from(irq),
            active_low: false,
            level_triggered: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix_checksum(bytes: &mut [u8], at: usize) {
        bytes[at] = 0;
        let sum = bytes.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        bytes[at] = 0u8.wrapping_sub(sum);
    }

    fn table(signature: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut t = vec![0u8; SDT_HEADER_LEN];
        t[..4].copy_from_slice(signature);
        t.extend_from_slice(body);
        let len = t.len() as u32;
        t[4..8].copy_from_slice(&len.to_le_bytes());
        fix_checksum(&mut t, 9);
        t
    }

    #[test]
    fn finds_the_root_table() {
        let mut rsdp = vec![0u8; 36];
        rsdp[..8].copy_from_slice(b"RSD PTR ");
        rsdp[15] = 2;
        rsdp[16..20].copy_from_slice(&0x1000u32.to_le_bytes());
        rsdp[20..24].copy_from_slice(&36u32.to_le_bytes());
        rsdp[24..32].copy_from_slice(&0x2000u64.to_le_bytes());
        fix_checksum(&mut rsdp[..20], 8);
        fix_checksum(&mut rsdp, 32);
        assert_eq!(root_table(&rsdp), Some((0x2000, true)));

        rsdp[15] = 0;
        fix_checksum(&mut rsdp[..20], 8);
        assert_eq!(root_table(&rsdp), Some((0x1000, false)));

        rsdp[8] ^= 1;
        assert_eq!(root_table(&rsdp), None, "bad checksum");
        assert_eq!(root_table(b"RSD PTX 0123456789012345678"), None);
        assert_eq!(root_table(b"short"), None);
    }

    #[test]
    fn lists_root_entries_and_checks_tables() {
        let mut body = Vec::new();
        body.extend(0x1000u64.to_le_bytes());
        body.extend(0x2000u64.to_le_bytes());
        let xsdt = table(b"XSDT", &body);
        assert!(is_table(&xsdt, b"XSDT"));
        assert!(!is_table(&xsdt, b"RSDT"));
        assert!(!is_table(&xsdt[..40], b"XSDT"), "truncated");
        assert_eq!(
            root_entries(&xsdt, true).collect::<Vec<_>>(),
            [0x1000, 0x2000]
        );
        let rsdt = table(b"RSDT", &[0x00, 0x30, 0, 0, 0x00, 0x40, 0, 0]);
        assert_eq!(
            root_entries(&rsdt, false).collect::<Vec<_>>(),
            [0x3000, 0x4000]
        );
    }

    #[test]
    fn finds_io_apics_and_survives_garbage() {
        let mut body = vec![0x00, 0x00, 0xe0, 0xfe, 1, 0, 0, 0]; // local APIC 0xfee00000, flags
        body.extend([0, 8, 0, 0, 1, 0, 0, 0]); // local APIC
        body.extend([1, 12, 0, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0]); // I/O APIC at 0xfec00000
        body.extend([2, 10, 0, 0, 2, 0, 0, 0, 0, 0]); // interrupt source override
        body.extend([1, 12, 1, 0, 0x00, 0x10, 0xc0, 0xfe, 24, 0, 0, 0]); // second I/O APIC
        let madt = table(b"APIC", &body);
        let addresses: Vec<u64> = madt_ioapics(&madt).map(|io| io.address).collect();
        assert_eq!(addresses, [0xfec0_0000, 0xfec0_1000]);
        let second = madt_ioapics(&madt).nth(1).unwrap();
        assert_eq!((second.id, second.gsi_base), (1, 24));
        assert_eq!(madt_local_apic(&madt), Some(0xfee0_0000));
        assert_eq!(
            madt_overrides(&madt).collect::<Vec<_>>(),
            [Override {
                irq: 0,
                gsi: 2,
                flags: 0
            }]
        );
        assert_eq!(
            isa_irq_to_gsi(&madt, 0),
            2,
            "the PIT's IRQ 0 usually arrives on GSI 2"
        );
        assert_eq!(isa_irq_to_gsi(&madt, 4), 4);
        let sci = {
            let mut body = vec![0x00, 0x00, 0xe0, 0xfe, 1, 0, 0, 0];
            body.extend([2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0]); // IRQ 9, level, active-high
            body.extend([2, 10, 0, 5, 5, 0, 0, 0, 0x0f, 0]); // IRQ 5, level, active-low
            table(b"APIC", &body)
        };
        assert_eq!(
            isa_irq_route(&sci, 9),
            IsaRoute {
                gsi: 9,
                active_low: false,
                level_triggered: true
            }
        );
        assert!(isa_irq_route(&sci, 5).active_low);
        assert!(!isa_irq_route(&sci, 1).level_triggered, "ISA default: edge");

        // A 64-bit local APIC address override (type 5) wins.
        let mut body5 = vec![0x00, 0x00, 0xe0, 0xfe, 1, 0, 0, 0];
        body5.extend([5, 12, 0, 0]);
        body5.extend(0x1_0000_0000u64.to_le_bytes());
        assert_eq!(
            madt_local_apic(&table(b"APIC", &body5)),
            Some(0x1_0000_0000)
        );

        // An entry with length 0 or running past the end stops the walk.
        let mut bad = madt.clone();
        bad[SDT_HEADER_LEN + 8 + 1] = 0;
        assert_eq!(madt_ioapics(&bad).count(), 0);
        let mut cut = madt.clone();
        cut.truncate(madt.len() - 3);
        assert_eq!(
            madt_ioapics(&cut).map(|io| io.address).collect::<Vec<_>>(),
            [0xfec0_0000]
        );
        assert_eq!(madt_ioapics(&[]).count(), 0);
    }
}
