//! The GUID Partition Table (UEFI spec, ch. 5): a header at LBA 1 (and a
//! backup at the disk's last LBA) and an array of partition entries, each
//! guarded by a CRC32.
//!
//! The header is checked before anything in it is used: signature, size
//! (92 bytes to a sector), its CRC32 (computed with the CRC field zeroed),
//! that it says it lives where it was read, the usable range, the entry
//! size and the array's size and place, then the array's CRC32. When the
//! primary header or its array is bad the backup is tried, as Linux does;
//! when both are bad the primary's error is returned. The CRC is the
//! IEEE 802.3 CRC-32 (`CRC_32_ISO_HDLC`) of the `crc` crate: a small,
//! `no_std`, table-driven implementation of exactly the checksum the spec
//! names.

use alloc::string::String;
use alloc::vec::Vec;

use super::{GptError, PartError, PartKind, Partition, SectorSource};

/// Largest entry array read, in bytes (128 entries of 128 bytes is the
/// usual 16 KiB).
pub const MAX_ENTRY_BYTES: u64 = 1 << 20;
/// Highest partition number exposed.
pub const MAX_GPT_PARTITIONS: u32 = 256;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// The IEEE CRC-32 of `bytes`, as GPT uses it.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC32.checksum(bytes)
}

/// A checked GPT header's fields that matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GptHeader {
    /// Where it lives.
    pub my_lba: u64,
    /// Where its twin lives.
    pub alternate_lba: u64,
    /// First sector partitions may use.
    pub first_usable: u64,
    /// Last sector partitions may use (inclusive).
    pub last_usable: u64,
    /// First sector of the entry array.
    pub entries_lba: u64,
    /// Entries in the array.
    pub num_entries: u32,
    /// Bytes per entry.
    pub entry_size: u32,
    /// CRC32 of the array.
    pub entries_crc: u32,
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from(u32_at(b, o)) | u64::from(u32_at(b, o + 4)) << 32
}

/// Checks the header in `sector`, read from `lba` of a disk of `disk`
/// sectors.
pub fn parse_header(sector: &[u8; 512], lba: u64, disk: u64) -> Result<GptHeader, GptError> {
    if &sector[..8] != b"EFI PART" {
        return Err(GptError::Signature);
    }
    let size = u32_at(sector, 12) as usize;
    if !(92..=512).contains(&size) {
        return Err(GptError::HeaderSize);
    }
    let mut copy = [0u8; 512];
    copy[..size].copy_from_slice(&sector[..size]);
    copy[16..20].fill(0);
    if crc32(&copy[..size]) != u32_at(sector, 16) {
        return Err(GptError::HeaderCrc);
    }
    let h = GptHeader {
        my_lba: u64_at(sector, 24),
        alternate_lba: u64_at(sector, 32),
        first_usable: u64_at(sector, 40),
        last_usable: u64_at(sector, 48),
        entries_lba: u64_at(sector, 72),
        num_entries: u32_at(sector, 80),
        entry_size: u32_at(sector, 84),
        entries_crc: u32_at(sector, 88),
    };
    if h.my_lba != lba {
        return Err(GptError::MyLba);
    }
    if h.first_usable > h.last_usable || h.last_usable >= disk {
        return Err(GptError::UsableRange);
    }
    let bytes = u64::from(h.num_entries) * u64::from(h.entry_size);
    let array_sectors = bytes.div_ceil(512);
    let array_fits = h
        .entries_lba
        .checked_add(array_sectors)
        .is_some_and(|end| end <= disk && h.entries_lba >= 2);
    if h.entry_size < 128
        || !h.entry_size.is_multiple_of(8)
        || bytes > MAX_ENTRY_BYTES
        || !array_fits
    {
        return Err(GptError::EntryArray);
    }
    Ok(h)
}

fn read_entries(src: &mut dyn SectorSource, h: &GptHeader) -> Result<Vec<u8>, PartError> {
    let bytes = (u64::from(h.num_entries) * u64::from(h.entry_size)) as usize;
    let mut array = Vec::with_capacity(bytes.next_multiple_of(512));
    let mut sector = [0u8; 512];
    for i in 0..bytes.div_ceil(512) as u64 {
        src.read_sector(h.entries_lba + i, &mut sector)?;
        array.extend_from_slice(&sector);
    }
    array.truncate(bytes);
    if crc32(&array) != h.entries_crc {
        return Err(GptError::EntriesCrc.into());
    }
    Ok(array)
}

fn decode_name(raw: &[u8]) -> String {
    let units = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0);
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

fn partitions(h: &GptHeader, array: &[u8]) -> Result<Vec<Partition>, GptError> {
    let mut parts = Vec::new();
    for (i, e) in array.chunks_exact(h.entry_size as usize).enumerate() {
        let mut type_guid = [0u8; 16];
        type_guid.copy_from_slice(&e[..16]);
        if type_guid == [0; 16] {
            continue;
        }
        let index = i as u32;
        let (first, last) = (u64_at(e, 32), u64_at(e, 40));
        if first > last
            || first < h.first_usable
            || last > h.last_usable
            || index >= MAX_GPT_PARTITIONS
        {
            return Err(GptError::EntryOutOfRange(index));
        }
        let mut unique_guid = [0u8; 16];
        unique_guid.copy_from_slice(&e[16..32]);
        parts.push(Partition {
            number: index + 1,
            start: first,
            sectors: last - first + 1,
            kind: PartKind::Gpt {
                type_guid,
                unique_guid,
                attributes: u64_at(e, 48),
                name: decode_name(&e[56..128]),
            },
        });
    }
    Ok(parts)
}

fn read_at(src: &mut dyn SectorSource, lba: u64) -> Result<Vec<Partition>, PartError> {
    let mut sector = [0u8; 512];
    src.read_sector(lba, &mut sector)?;
    let h = parse_header(&sector, lba, src.sectors())?;
    let array = read_entries(src, &h)?;
    Ok(partitions(&h, &array)?)
}

/// The partitions of a GPT disk: from the primary header, else from the
/// backup at the last sector. The primary's error if both are bad.
pub fn read(src: &mut dyn SectorSource) -> Result<Vec<Partition>, PartError> {
    let primary = read_at(src, 1);
    if primary.is_ok() {
        return primary;
    }
    let last = src.sectors().saturating_sub(1);
    match read_at(src, last) {
        Ok(parts) if last > 1 => Ok(parts),
        _ => primary,
    }
}
