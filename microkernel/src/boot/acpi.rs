//! Reading the ACPI tables the kernel needs: from the RSDP (the loader's
//! RSDP response) to the root table (XSDT, or RSDT on ACPI 1.0) to the MADT,
//! which describes the interrupt controllers, and to the FADT and the DSDT,
//! which say how to power off and reset (`boot::power`).
//!
//! The parsing is `kcore::acpi` (host-tested); this file maps the tables
//! (firmware memory, read-only) and copies the MADT onto the heap, checked:
//! a table whose length or checksum is wrong is not used. We parse the few
//! fields we need ourselves rather than use the `acpi` crate (or an AML
//! interpreter such as `aml`): three tables and one AML package are all the
//! kernel reads, the parsers are a few hundred lines a student can follow,
//! and the loader shares the MADT's.

use alloc::vec::Vec;

use kcore::acpi::{self, SDT_HEADER_LEN};

use crate::mem::kspace::{self, Kind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcpiError {
    NoRsdp,
    BadRsdp,
    BadRootTable,
    NoMadt,
    NoFadt,
    Unmappable(u64),
}

impl core::fmt::Display for AcpiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AcpiError::NoRsdp => write!(f, "the loader gave no RSDP"),
            AcpiError::BadRsdp => write!(f, "the RSDP's signature or checksum is wrong"),
            AcpiError::BadRootTable => write!(f, "the RSDT/XSDT is not a whole, checksummed table"),
            AcpiError::NoMadt => write!(f, "no MADT"),
            AcpiError::NoFadt => write!(f, "no FADT"),
            AcpiError::Unmappable(phys) => write!(f, "cannot map the table at {phys:#x}"),
        }
    }
}

/// `len` bytes of physical memory, mapped read-only.
fn physical(phys: u64, len: usize) -> Result<&'static [u8], AcpiError> {
    let virt = kspace::map_physical(phys, len as u64, Kind::ReadOnly)
        .map_err(|_| AcpiError::Unmappable(phys))?;
    // SAFETY: the range was just mapped (or was mapped already) and firmware
    // tables are never freed or written by the kernel.
    Ok(unsafe { core::slice::from_raw_parts(virt as *const u8, len) })
}

/// A whole table at `phys` (its header says how long), if it has this
/// signature and a good checksum.
fn table(phys: u64, signature: &[u8; 4]) -> Result<Option<&'static [u8]>, AcpiError> {
    let header = physical(phys, SDT_HEADER_LEN)?;
    let Some(len) = acpi::table_length(header) else {
        return Ok(None);
    };
    if header[..4] != signature[..] || !(SDT_HEADER_LEN..=1 << 20).contains(&len) {
        return Ok(None);
    }
    let whole = physical(phys, len)?;
    Ok(acpi::is_table(whole, signature).then_some(whole))
}

/// The first table with `signature` the root table lists, found from
/// the RSDP at physical address `rsdp`; `None` if none is listed (or
/// none is whole and checksummed).
fn find(rsdp: Option<u64>, signature: &[u8; 4]) -> Result<Option<&'static [u8]>, AcpiError> {
    let rsdp = physical(rsdp.ok_or(AcpiError::NoRsdp)?, 36)?;
    let (root_phys, xsdt) = acpi::root_table(rsdp).ok_or(AcpiError::BadRsdp)?;
    let root_signature = if xsdt { b"XSDT" } else { b"RSDT" };
    let root = table(root_phys, root_signature)?.ok_or(AcpiError::BadRootTable)?;
    for entry in acpi::root_entries(root, xsdt) {
        if let Some(found) = table(entry, signature)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// A copy of the MADT, found from the RSDP at physical address `rsdp`.
pub fn read_madt(rsdp: Option<u64>) -> Result<Vec<u8>, AcpiError> {
    find(rsdp, b"APIC")?
        .map(<[u8]>::to_vec)
        .ok_or(AcpiError::NoMadt)
}

/// The FADT (signature `FACP`), mapped; `NoFadt` if the root table lists
/// none.
pub fn fadt(rsdp: Option<u64>) -> Result<&'static [u8], AcpiError> {
    find(rsdp, b"FACP")?.ok_or(AcpiError::NoFadt)
}

/// The DSDT at `phys` (the FADT's), mapped, if it is whole and
/// checksummed.
pub fn dsdt(phys: u64) -> Result<Option<&'static [u8]>, AcpiError> {
    if phys == 0 {
        return Ok(None);
    }
    table(phys, b"DSDT")
}
