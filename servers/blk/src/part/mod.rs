//! Partition tables (Linux's `block/partitions/`): the MBR (with its
//! extended partition's chain of logical ones) and the GPT.
//!
//! [`read_partitions`] reads sector 0. No 0x55AA signature: no table. A
//! protective MBR (an entry of type 0xEE) means the disk is GPT and the
//! GPT is read (`gpt.rs`); otherwise the four primary entries, and the
//! logical partitions of an extended one, make the list (`mbr.rs`).
//! Partitions are numbered as Linux does: MBR primaries 1–4 by slot,
//! logical ones from 5, GPT by entry index + 1. Everything read from the
//! disk is checked — bounds, overlaps with the disk's end, CRCs, loops in
//! the logical chain — and a malformed table is a typed [`PartError`],
//! never a panic.

use alloc::string::String;
use alloc::vec::Vec;

use crate::bio::SECTOR_SIZE;

pub mod gpt;
pub mod mbr;

/// Reads whole sectors of the disk being partitioned.
pub trait SectorSource {
    /// The disk's size in sectors.
    fn sectors(&self) -> u64;
    /// Reads sector `lba` into `buf`. `Io` (or any error) on failure.
    fn read_sector(
        &mut self,
        lba: u64,
        buf: &mut [u8; SECTOR_SIZE as usize],
    ) -> Result<(), PartError>;
}

/// A disk image in memory as a [`SectorSource`] (a trailing partial
/// sector is ignored).
pub struct SliceSource<'a>(pub &'a [u8]);

impl SectorSource for SliceSource<'_> {
    fn sectors(&self) -> u64 {
        (self.0.len() / SECTOR_SIZE as usize) as u64
    }

    fn read_sector(&mut self, lba: u64, buf: &mut [u8; 512]) -> Result<(), PartError> {
        let start = usize::try_from(lba)
            .ok()
            .and_then(|l| l.checked_mul(512))
            .ok_or(PartError::Io)?;
        let end = start.checked_add(512).ok_or(PartError::Io)?;
        let src = self.0.get(start..end).ok_or(PartError::Io)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// Which kind of table described the partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableKind {
    /// The MBR ("msdos" label).
    Mbr,
    /// The GUID Partition Table.
    Gpt,
}

/// What a partition entry said besides where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartKind {
    /// An MBR entry.
    Mbr {
        /// The system ID byte (0x83 Linux, 0x05 extended, …).
        system_id: u8,
        /// The active flag.
        bootable: bool,
    },
    /// A GPT entry.
    Gpt {
        /// Partition type GUID, as stored (mixed-endian).
        type_guid: [u8; 16],
        /// Unique partition GUID, as stored.
        unique_guid: [u8; 16],
        /// Attribute bits.
        attributes: u64,
        /// The UTF-16 name, decoded (invalid units become U+FFFD).
        name: String,
    },
}

/// One partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// Its number (`vda1` is 1).
    pub number: u32,
    /// Its first sector.
    pub start: u64,
    /// Its length in sectors.
    pub sectors: u64,
    /// The entry's details.
    pub kind: PartKind,
}

/// Why a table could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartError {
    /// No 0x55AA signature in sector 0 (an unpartitioned disk).
    NoTable,
    /// A sector could not be read.
    Io,
    /// MBR entry `slot` (0–3, or a logical's) ends past the disk's end,
    /// has zero length, or wraps.
    EntryOutOfRange(u32),
    /// Two MBR primary entries overlap.
    Overlap,
    /// An extended partition's chain loops, leaves the extended
    /// partition, lacks a signature, or is too long.
    BadExtendedChain,
    /// More than one extended partition.
    TwoExtended,
    /// No valid GPT header, primary or backup (the primary's problem).
    Gpt(GptError),
}

/// What is wrong with a GPT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GptError {
    /// No `EFI PART` signature.
    Signature,
    /// Header size below 92 or above a sector.
    HeaderSize,
    /// The header's CRC32 does not match.
    HeaderCrc,
    /// The header's own LBA is not where it was read.
    MyLba,
    /// First/last usable LBAs inconsistent or past the disk.
    UsableRange,
    /// Entry size below 128, not a multiple of 8, or the array too big.
    EntryArray,
    /// The entry array's CRC32 does not match.
    EntriesCrc,
    /// Entry `index` lies outside the usable range or ends before it
    /// starts.
    EntryOutOfRange(u32),
}

impl From<GptError> for PartError {
    fn from(e: GptError) -> Self {
        PartError::Gpt(e)
    }
}

/// Reads the disk's partition table. `NoTable` for a disk without one;
/// see [`PartError`] for the rest.
pub fn read_partitions(
    src: &mut dyn SectorSource,
) -> Result<(TableKind, Vec<Partition>), PartError> {
    let mut sector0 = [0u8; 512];
    src.read_sector(0, &mut sector0)?;
    let entries = mbr::primary_entries(&sector0)?;
    if entries
        .iter()
        .any(|e| e.system_id == mbr::TYPE_GPT_PROTECTIVE)
    {
        return Ok((TableKind::Gpt, gpt::read(src)?));
    }
    Ok((TableKind::Mbr, mbr::read(src, &entries)?))
}

/// Linux's partition name: the disk's name and the number, with a `p`
/// between when the disk's name ends in a digit (`vda1`, `ram0p1`).
pub fn partition_name(disk: &str, number: u32) -> String {
    let sep = if disk.ends_with(|c: char| c.is_ascii_digit()) {
        "p"
    } else {
        ""
    };
    alloc::format!("{disk}{sep}{number}")
}
