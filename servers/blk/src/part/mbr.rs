//! The Master Boot Record: four 16-byte entries at byte 446 of sector 0
//! and the 0x55AA signature at 510. An extended partition (type 0x05,
//! 0x0F or 0x85) holds a chain of Extended Boot Records, each describing
//! one logical partition (relative to that EBR) and the next EBR
//! (relative to the extended partition's start).
//!
//! As Linux, the extended partition itself is exposed with a length of 2
//! sectors (enough for tools to see it, too little to clobber the chain
//! through it), and logical partitions are numbered from 5.

use alloc::vec::Vec;

use super::{PartError, PartKind, Partition, SectorSource};

/// The protective entry of a GPT disk.
pub const TYPE_GPT_PROTECTIVE: u8 = 0xEE;
/// Most logical partitions followed.
pub const MAX_LOGICAL: usize = 64;

/// One MBR entry as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MbrEntry {
    /// Its slot (0–3).
    pub slot: u32,
    /// Bit 7: active.
    pub status: u8,
    /// The system ID (0: unused).
    pub system_id: u8,
    /// First LBA.
    pub start: u32,
    /// Length in sectors.
    pub sectors: u32,
}

fn is_extended(system_id: u8) -> bool {
    matches!(system_id, 0x05 | 0x0F | 0x85)
}

fn entry_at(sector: &[u8; 512], slot: u32) -> MbrEntry {
    let o = 446 + 16 * slot as usize;
    let e = &sector[o..o + 16];
    MbrEntry {
        slot,
        status: e[0],
        system_id: e[4],
        start: u32::from_le_bytes([e[8], e[9], e[10], e[11]]),
        sectors: u32::from_le_bytes([e[12], e[13], e[14], e[15]]),
    }
}

/// The used entries of a boot record. `NoTable` without the signature.
pub fn primary_entries(sector: &[u8; 512]) -> Result<Vec<MbrEntry>, PartError> {
    if sector[510] != 0x55 || sector[511] != 0xAA {
        return Err(PartError::NoTable);
    }
    Ok((0..4)
        .map(|s| entry_at(sector, s))
        .filter(|e| e.system_id != 0)
        .collect())
}

fn check_range(e: &MbrEntry, disk: u64, number: u32) -> Result<(), PartError> {
    let end = u64::from(e.start) + u64::from(e.sectors);
    if e.sectors == 0 || e.start == 0 || end > disk {
        return Err(PartError::EntryOutOfRange(number));
    }
    Ok(())
}

/// The partitions of an MBR disk whose primary `entries` were read.
pub fn read(src: &mut dyn SectorSource, entries: &[MbrEntry]) -> Result<Vec<Partition>, PartError> {
    let disk = src.sectors();
    for e in entries {
        check_range(e, disk, e.slot + 1)?;
    }
    for (i, a) in entries.iter().enumerate() {
        for b in &entries[i + 1..] {
            let (a0, a1) = (
                u64::from(a.start),
                u64::from(a.start) + u64::from(a.sectors),
            );
            let (b0, b1) = (
                u64::from(b.start),
                u64::from(b.start) + u64::from(b.sectors),
            );
            if a0 < b1 && b0 < a1 {
                return Err(PartError::Overlap);
            }
        }
    }
    if entries.iter().filter(|e| is_extended(e.system_id)).count() > 1 {
        return Err(PartError::TwoExtended);
    }
    let mut parts = Vec::new();
    for e in entries {
        let extended = is_extended(e.system_id);
        parts.push(Partition {
            number: e.slot + 1,
            start: e.start.into(),
            sectors: if extended {
                u64::from(e.sectors).min(2)
            } else {
                e.sectors.into()
            },
            kind: PartKind::Mbr {
                system_id: e.system_id,
                bootable: e.status & 0x80 != 0,
            },
        });
        if extended {
            read_logical(src, e, &mut parts)?;
        }
    }
    Ok(parts)
}

/// Follows the EBR chain of the extended partition `ext`.
fn read_logical(
    src: &mut dyn SectorSource,
    ext: &MbrEntry,
    parts: &mut Vec<Partition>,
) -> Result<(), PartError> {
    let ext_start = u64::from(ext.start);
    let ext_end = ext_start + u64::from(ext.sectors);
    let mut ebr = ext_start;
    let mut seen: Vec<u64> = Vec::new();
    let mut number = 5;
    loop {
        if seen.contains(&ebr) || seen.len() >= MAX_LOGICAL || ebr >= ext_end {
            return Err(PartError::BadExtendedChain);
        }
        seen.push(ebr);
        let mut sector = [0u8; 512];
        src.read_sector(ebr, &mut sector)?;
        let entries = primary_entries(&sector).map_err(|_| PartError::BadExtendedChain)?;
        let logical = entries.iter().find(|e| !is_extended(e.system_id));
        let next = entries.iter().find(|e| is_extended(e.system_id));
        if let Some(l) = logical {
            let start = ebr + u64::from(l.start);
            let end = start + u64::from(l.sectors);
            if l.sectors == 0 || l.start == 0 || end > ext_end {
                return Err(PartError::EntryOutOfRange(number));
            }
            parts.push(Partition {
                number,
                start,
                sectors: l.sectors.into(),
                kind: PartKind::Mbr {
                    system_id: l.system_id,
                    bootable: l.status & 0x80 != 0,
                },
            });
            number += 1;
        }
        match next {
            Some(n) => ebr = ext_start + u64::from(n.start),
            None => return Ok(()),
        }
    }
}
