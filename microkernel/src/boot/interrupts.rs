//! Setting up interrupt delivery: the legacy PICs out of the way, the local
//! APIC on, every I/O APIC input programmed (masked) to its own vector, the
//! ISA lines' polarity and trigger from the MADT's overrides, and the tick.
//!
//! Vectors:
//! - `0x00..0x20`: exceptions;
//! - `0x20..0x30`: the legacy PICs (all lines masked; only strays land here);
//! - [`apic::TIMER_VECTOR`] (`0x30`): the local APIC timer, the tick;
//! - `ioapic::IRQ_VECTOR_BASE + gsi` (`0x40..0xc0`): I/O APIC input `gsi`;
//! - `irq::MSI_VECTOR_BASE..` (`0xc0..0xe0`): message-signalled
//!   interrupts, allocated to drivers (`irq_msi_alloc`);
//! - [`apic::SPURIOUS_VECTOR`] (`0xff`): the local APIC's spurious vector.

use alloc::vec::Vec;
use libsys::abi::PAGE_SIZE;

use kcore::acpi;
use spin::Once;

use crate::arch::time;
use crate::arch::x86_64::{apic, ioapic, pic};
use crate::mem::kspace::{self, Kind};

static MADT: Once<Vec<u8>> = Once::new();

/// What `init` found, for the boot log.
pub struct Summary {
    pub local_apic: u64,
    pub apic_id: u8,
    pub gsis: u32,
    pub calibration: time::Calibration,
}

/// Sets up the controllers and starts the tick. Interrupts stay disabled;
/// the caller enables them once it can take them.
pub fn init(rsdp: Option<u64>) -> Result<Summary, &'static str> {
    pic::remap_and_mask();
    let madt = crate::boot::acpi::read_madt(rsdp).map_err(|_| "no usable ACPI MADT")?;
    let madt = MADT.call_once(|| madt);
    let local_apic = acpi::madt_local_apic(madt).ok_or("the MADT gives no local APIC")?;
    let base = kspace::map_physical(local_apic, PAGE_SIZE, Kind::Mmio)
        .map_err(|_| "cannot map the local APIC")?;
    apic::enable(base);
    let apic_id = apic::id();
    let gsis = ioapic::init(madt, ioapic::IRQ_VECTOR_BASE, apic_id, |phys, len| {
        kspace::map_physical(phys, len, Kind::Mmio)
    })
    .map_err(|_| "cannot map an I/O APIC")?;
    for irq in 0..16 {
        let route = acpi::isa_irq_route(madt, irq);
        // A GSI no I/O APIC serves is left alone; its ISA device is absent.
        let _ = ioapic::configure(route.gsi, route.level_triggered, route.active_low);
    }
    let calibration = time::calibrate();
    time::start_tick(calibration);
    Ok(Summary {
        local_apic,
        apic_id,
        gsis,
        calibration,
    })
}

/// The GSI each ISA IRQ arrives on (the MADT's override or the same
/// number), for `obj::irq`, which answers `irq_get` for ISA lines.
pub fn isa_routes() -> [u32; 16] {
    core::array::from_fn(|irq| {
        let irq = irq as u8;
        MADT.get()
            .map_or(u32::from(irq), |madt| acpi::isa_irq_to_gsi(madt, irq))
    })
}
