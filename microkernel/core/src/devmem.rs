//! Which physical ranges may become device-memory regions.
//!
//! A driver maps its device's registers (a PCI BAR, the HPET, a
//! framebuffer) through a memory region of kind *device* that the holder of
//! the device-memory control (the first process) takes with
//! `device_region(control, phys, pages)`. The kernel must never let that
//! reach memory it or anyone else relies on, so a range is refused when it
//! touches
//! - RAM of any kind the memory map lists (usable, bootloader-reclaimable,
//!   the kernel and its modules, ACPI tables and NVS, bad memory): those
//!   frames are the kernel's, a process's, or the firmware's;
//! - device registers the kernel drives itself (the local APIC, the
//!   I/O APICs): a process that could write them could take over interrupt
//!   delivery;
//! - addresses beyond what the CPU can address.
//!
//! Everything else — memory-map holes and `reserved` or framebuffer entries
//! — is device memory a driver may be given.

/// Why a range cannot be device memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceRangeError {
    /// Not page-aligned, empty, or past the physical address limit.
    Invalid,
    /// It overlaps RAM or a device the kernel drives.
    Refused,
}

/// Checks `[phys, phys + pages * 4096)` against the `forbidden` ranges
/// (`(start, end)` in bytes, end exclusive) and the highest physical
/// address plus one, `limit`.
pub fn check(
    phys: u64,
    pages: u64,
    forbidden: impl IntoIterator<Item = (u64, u64)>,
    limit: u64,
) -> Result<(), DeviceRangeError> {
    let end = pages
        .checked_mul(4096)
        .and_then(|len| phys.checked_add(len))
        .filter(|&end| pages > 0 && phys.is_multiple_of(4096) && end <= limit)
        .ok_or(DeviceRangeError::Invalid)?;
    if forbidden
        .into_iter()
        .any(|(start, stop)| start < end && phys < stop)
    {
        return Err(DeviceRangeError::Refused);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: u64 = 1 << 40;
    const RAM: [(u64, u64); 2] = [(0, 0x9f000), (0x10_0000, 0x8000_0000)];

    #[test]
    fn holes_and_reserved_ranges_are_device_memory() {
        assert_eq!(check(0xfed0_0000, 1, RAM, LIMIT), Ok(()));
        assert_eq!(check(0xa0000, 0x20, RAM, LIMIT), Ok(()));
        // Right after RAM ends, and ending right where RAM starts.
        assert_eq!(check(0x8000_0000, 4, RAM, LIMIT), Ok(()));
        assert_eq!(check(0xfc000, 4, RAM, LIMIT), Ok(()));
    }

    #[test]
    fn any_overlap_with_a_forbidden_range_is_refused() {
        let refused = Err(DeviceRangeError::Refused);
        assert_eq!(check(0x9e000, 1, RAM, LIMIT), refused);
        assert_eq!(check(0x9e000, 2, RAM, LIMIT), refused);
        assert_eq!(check(0xff000, 2, RAM, LIMIT), refused);
        assert_eq!(check(0x7fff_f000, 1, RAM, LIMIT), refused);
        // A range that swallows RAM whole.
        assert_eq!(check(0, 1 << 20, RAM, LIMIT), refused);
        let lapic = [(0xfee0_0000, 0xfee0_1000)];
        assert_eq!(check(0xfee0_0000, 1, lapic, LIMIT), refused);
        assert_eq!(check(0xfed0_0000, 0x200, lapic, LIMIT), refused);
        assert_eq!(check(0xfee0_1000, 1, lapic, LIMIT), Ok(()));
    }

    #[test]
    fn bad_ranges_are_invalid() {
        let invalid = Err(DeviceRangeError::Invalid);
        assert_eq!(check(0xfed0_0001, 1, RAM, LIMIT), invalid);
        assert_eq!(check(0xfed0_0000, 0, RAM, LIMIT), invalid);
        assert_eq!(check(LIMIT - 4096, 2, RAM, LIMIT), invalid);
        assert_eq!(check(!0xfff, 1, RAM, LIMIT), invalid);
        assert_eq!(check(0x1000, u64::MAX / 4096, RAM, LIMIT), invalid);
        assert_eq!(check(LIMIT - 4096, 1, RAM, LIMIT), Ok(()));
    }
}
