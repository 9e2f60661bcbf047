//! Masking every I/O APIC input before the kernel starts, as the Limine
//! protocol promises ("Legacy PIC and IO APIC IRQs are all masked").
//!
//! The I/O APICs are found through the ACPI MADT (parsed by
//! `kcore::acpi`); their registers are reached through UEFI's identity
//! map, so this runs before `ExitBootServices`.

use kcore::acpi;

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
    for ioapic in acpi::madt_ioapics(madt) {
        kcore::ioapic::mask_all(&mut Mmio(ioapic.address));
        count += 1;
    }
    count
}

/// An I/O APIC's two registers through UEFI's identity map.
struct Mmio(u64);

impl kcore::ioapic::Registers for Mmio {
    fn read(&mut self, register: u32) -> u32 {
        // SAFETY: IOREGSEL (base) and IOWIN (base + 0x10) of an I/O APIC
        // the MADT names; volatile accesses keep select-then-access order.
        unsafe {
            (self.0 as *mut u32).write_volatile(register);
            ((self.0 + 0x10) as *const u32).read_volatile()
        }
    }
    fn write(&mut self, register: u32, value: u32) {
        // SAFETY: as in `read`.
        unsafe {
            (self.0 as *mut u32).write_volatile(register);
            ((self.0 + 0x10) as *mut u32).write_volatile(value);
        }
    }
}
