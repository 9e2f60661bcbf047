//! Masking every I/O APIC input before the kernel starts, as the Limine
//! protocol promises ("Legacy PIC and IO APIC IRQs are all masked").
//!
//! The I/O APICs are found through the ACPI MADT (parsed by
//! `boot_core::acpi`); their registers are reached through UEFI's identity
//! map, so this runs before `ExitBootServices`.

use boot_core::acpi;

/// Reads `len` bytes of physical memory.
///
/// # Safety
/// The range must be mapped (UEFI identity-maps all of it) and readable.
unsafe fn phys_bytes(addr: u64, len: usize) -> &'static [u8] {
    // SAFETY: guaranteed by the caller.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
}

/// Reads a whole ACPI table at `addr` if its signature and checksum match.
fn table(addr: u64, signature: &[u8; 4]) -> Option<&'static [u8]> {
    if addr == 0 {
        return None;
    }
    // SAFETY: ACPI tables lie in memory the firmware keeps mapped; we read
    // the header first and then exactly the length it claims.
    let header = unsafe { phys_bytes(addr, acpi::SDT_HEADER_LEN) };
    let len = acpi::table_length(header)?;
    if !(acpi::SDT_HEADER_LEN..=1 << 20).contains(&len) {
        return None;
    }
    // SAFETY: as above.
    let table = unsafe { phys_bytes(addr, len) };
    acpi::is_table(table, signature).then_some(table)
}

/// Masks every redirection entry of every I/O APIC in the MADT and returns
/// how many I/O APICs it found.
pub fn mask_all(rsdp: Option<u64>) -> usize {
    let Some(rsdp) = rsdp else { return 0 };
    // SAFETY: the RSDP comes from the firmware's configuration table.
    let rsdp_bytes = unsafe { phys_bytes(rsdp, 36) };
    let Some((root, xsdt)) = acpi::root_table(rsdp_bytes) else {
        return 0;
    };
    let Some(root) = table(root, if xsdt { b"XSDT" } else { b"RSDT" }) else {
        return 0;
    };
    let Some(madt) = acpi::root_entries(root, xsdt).find_map(|addr| table(addr, b"APIC")) else {
        return 0;
    };
    let mut count = 0;
    for base in acpi::madt_ioapics(madt) {
        // SAFETY: the MADT names this as an I/O APIC's register window.
        unsafe { mask_ioapic(base) };
        count += 1;
    }
    count
}

/// # Safety
/// `base` must be the MMIO base of an I/O APIC, identity-mapped.
unsafe fn mask_ioapic(base: u64) {
    let select = base as *mut u32;
    let window = (base + 0x10) as *mut u32;
    // SAFETY: IOREGSEL/IOWIN are the I/O APIC's two registers; volatile
    // accesses keep the select-then-access order.
    unsafe {
        let read = |reg: u32| {
            select.write_volatile(reg);
            window.read_volatile()
        };
        let write = |reg: u32, value: u32| {
            select.write_volatile(reg);
            window.write_volatile(value);
        };
        // Register 1 (version): bits 16..24 hold the last redirection entry.
        let last = (read(1) >> 16) & 0xff;
        for entry in 0..=last {
            let low = 0x10 + 2 * entry;
            write(low, read(low) | 1 << 16);
        }
    }
}
